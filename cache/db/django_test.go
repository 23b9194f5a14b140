package db_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/db"
	"github.com/fragcache/fragcache/internal/testserver"
)

// djangoDBScript runs Django's DatabaseCache on the database and table
// given on stdin as JSON {"database", "table", "op", "use_tz"}, database
// being Django's DATABASES["default"]. op "create"
// runs createcachetable; "write" stores a str, an int, a SafeString and a
// {% cache %} fragment; "read" prints the values Go wrote as JSON.
const djangoDBScript = `
import json, os, sys, time
args = json.load(sys.stdin)
# What Django's settings module does with TIME_ZONE (settings.configure
# does not): the process runs in the zone its datetimes are naive in.
os.environ["TZ"] = args["time_zone"]
time.tzset()
import django
from django.conf import settings
settings.configure(
    USE_TZ=args["use_tz"],
    TIME_ZONE=args["time_zone"],
    DATABASES={"default": args["database"]},
    CACHES={"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": args["table"]}},
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
)
django.setup()
from django.core.cache import cache
from django.core.management import call_command
op = args["op"]
if op == "create":
    call_command("createcachetable")
elif op == "write":
    from django.utils.safestring import mark_safe
    from django.template import engines
    cache.set("dj_str", "h\u00e9llo <b>", 300)
    cache.set("dj_int", 42, None)
    cache.set("dj_safe", mark_safe("<i>safe</i>"), 300)
    t = engines["django"].from_string("{% load cache %}{% cache 500 sidebar user %}<p>side {{ user }}</p>{% endcache %}")
    print(json.dumps({"rendered": t.render({"user": "alice"})}))
elif op == "read":
    out = {}
    for k in ["go_str", "go_int", "go_bytes", "go_forever", "go_gone"]:
        v = cache.get(k, "MISSING")
        out[k] = [type(v).__name__, v.decode("latin1") if isinstance(v, bytes) else v]
    out["has_go_str"] = cache.has_key("go_str")
    print(json.dumps(out))
`

type djangoArgs struct {
	Database map[string]string `json:"database"`
	Table    string            `json:"table"`
	Op       string            `json:"op"`
	UseTZ    bool              `json:"use_tz"`
	// TimeZone is Django's TIME_ZONE: the zone Go runs in, which Django
	// must share with use_tz=0.
	TimeZone string `json:"time_zone"`
}

// localZone returns the name of the time zone this process runs in: $TZ,
// else /etc/localtime's, else UTC.
func localZone() string {
	if tz := os.Getenv("TZ"); tz != "" {
		return strings.TrimPrefix(tz, ":")
	}
	if target, err := os.Readlink("/etc/localtime"); err == nil {
		if _, name, ok := strings.Cut(target, "zoneinfo/"); ok {
			return name
		}
	}
	return "UTC"
}

// sqliteDatabase is Django's DATABASES entry for the SQLite file path.
func sqliteDatabase(path string) map[string]string {
	return map[string]string{"ENGINE": "django.db.backends.sqlite3", "NAME": path}
}

// postgresDatabase is Django's DATABASES entry for database name of pg.
func postgresDatabase(pg *testserver.Postgres, name string) map[string]string {
	return map[string]string{
		"ENGINE": "django.db.backends.postgresql", "NAME": name,
		"USER": testserver.PostgresUser, "PASSWORD": testserver.PostgresPassword,
		"HOST": pg.Host, "PORT": strconv.Itoa(pg.Port),
	}
}

func runDjango(t *testing.T, d *testserver.Django, a djangoArgs) []byte {
	t.Helper()
	in, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return d.Run(t, djangoDBScript, in)
}

// TestDjangoInterop shares one SQLite file and table with Django 3.2, 5.2
// and 6.1 both ways, with use_tz 1 and 0: Django creates the table and
// writes str, int and SafeString values and a {% cache %} fragment; Go
// reads them and invalidates the fragment by name; Go writes str, int,
// bytes and a forever value; Django reads them.
func TestDjangoInterop(t *testing.T) {
	for _, version := range testserver.DjangoVersions {
		t.Run(version, func(t *testing.T) {
			djangoInterop(t, version, func(t *testing.T, useTZ string) (map[string]string, string) {
				path := filepath.Join(t.TempDir(), "shared.sqlite3")
				return sqliteDatabase(path), "sqlite://" + path + "?use_tz=" + useTZ
			})
		})
	}
}

// TestDjangoInteropPostgres is TestDjangoInterop on a real PostgreSQL,
// with Django 3.2 and Debian's psycopg2. (Django 5.2 and 6.1 need a
// psycopg2 ≥ 2.9.9 or psycopg ≥ 3.1.12 for their Python ≥ 3.12, which
// Debian 12 does not package.)
func TestDjangoInteropPostgres(t *testing.T) {
	pg := testserver.SharedPostgres(t)
	djangoInterop(t, "3.2", func(t *testing.T, useTZ string) (map[string]string, string) {
		name := pg.CreateDatabase(t)
		return postgresDatabase(pg, name), pg.URL(name, "use_tz="+useTZ)
	})
}

// djangoInterop runs the interop test with Django version on the
// database newDB returns for each use_tz ("1", "0"): Django's DATABASES
// entry, and the cache URL (without table) Go opens.
func djangoInterop(t *testing.T, version string, newDB func(t *testing.T, useTZ string) (map[string]string, string)) {
	d := testserver.NewDjango(t, version)
	release := map[string]string{"3.2": "3.2.25-debian", "5.2": "5.2.19", "6.1": "6.1.1"}[version]
	for _, useTZ := range []bool{true, false} {
		name := "use_tz=1"
		if !useTZ {
			name = "use_tz=0"
		}
		t.Run(name, func(t *testing.T) {
			tz := "1"
			if !useTZ {
				tz = "0"
			}
			database, cacheURL := newDB(t, tz)
			a := djangoArgs{Database: database, Table: "my_cache_table", UseTZ: useTZ, TimeZone: localZone()}
			a.Op = "create"
			runDjango(t, d, a)
			a.Op = "write"
			var w struct{ Rendered string }
			if err := json.Unmarshal(runDjango(t, d, a), &w); err != nil {
				t.Fatal(err)
			}
			reg, err := db.OpenRegistry(map[string]string{
				"default": cacheURL + "&table=my_cache_table&django=" + release + "&failopen=0",
			})
			if err != nil {
				t.Fatal(err)
			}
			defer reg.Close()
			c, err := reg.Default()
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range map[string]string{"dj_str": "h\u00e9llo <b>", "dj_int": "42", "dj_safe": "<i>safe</i>"} {
				got, ok, err := c.Get(bg, k)
				if err != nil || !ok || string(got) != want {
					t.Errorf("Get(%s) = %q, %v, %v; want %q", k, got, ok, err, want)
				}
				if ok, err := c.Has(bg, k); err != nil || !ok {
					t.Errorf("Has(%s) = %v, %v", k, ok, err)
				}
			}
			fkey := c.KeyScheme().FragmentKey("sidebar", "alice") // the release's scheme
			got, ok, err := c.Get(bg, fkey)
			if err != nil || !ok || string(got) != w.Rendered || !strings.Contains(w.Rendered, "side alice") {
				t.Errorf("fragment %s = %q, %v, %v; want Django's %q", fkey, got, ok, err, w.Rendered)
			}
			if deleted, err := reg.InvalidateFragment(bg, "sidebar", "alice"); err != nil || !deleted {
				t.Errorf("InvalidateFragment(sidebar, alice) = %v, %v; want true", deleted, err)
			}
			if _, ok, _ := c.Get(bg, fkey); ok {
				t.Error("the fragment survived InvalidateFragment")
			}

			for k, v := range map[string]string{"go_str": "gr\u00fc\u00df <p>", "go_int": "-17", "go_gone": "x"} {
				if err := c.Set(bg, k, []byte(v), cache.Seconds(300)); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.Set(bg, "go_bytes", []byte{0xff, 0x00, 'a'}, cache.Seconds(300)); err != nil {
				t.Fatal(err)
			}
			if err := c.Set(bg, "go_forever", []byte("007"), cache.Forever); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Touch(bg, "go_gone", cache.Expired); err != nil {
				t.Fatal(err)
			}
			a.Op = "read"
			var r map[string]any
			if err := json.Unmarshal(runDjango(t, d, a), &r); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{
				"go_str":     []any{"str", "gr\u00fc\u00df <p>"},
				"go_int":     []any{"int", float64(-17)},
				"go_bytes":   []any{"bytes", "\u00ff\u0000a"},
				"go_forever": []any{"str", "007"},
				"go_gone":    []any{"str", "MISSING"},
				"has_go_str": true,
			}
			gotJSON, _ := json.Marshal(r)
			wantJSON, _ := json.Marshal(want)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("Django read %s\nwant %s", gotJSON, wantJSON)
			}
		})
	}
}
