package db_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/db"
	"github.com/fragcache/fragcache/internal/testserver"
)

// djangoDBScript runs Django's DatabaseCache on the SQLite file and table
// given on stdin as JSON {"path", "table", "op", "use_tz"}. op "create"
// runs createcachetable; "write" stores a str, an int, a SafeString and a
// {% cache %} fragment; "read" prints the values Go wrote as JSON.
const djangoDBScript = `
import json, sys
args = json.load(sys.stdin)
import django
from django.conf import settings
settings.configure(
    USE_TZ=args["use_tz"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": args["path"]}},
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
	Path  string `json:"path"`
	Table string `json:"table"`
	Op    string `json:"op"`
	UseTZ bool   `json:"use_tz"`
}

func runDjango(t *testing.T, d *testserver.Django, a djangoArgs) []byte {
	t.Helper()
	in, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return d.Run(t, djangoDBScript, in)
}

// TestDjangoInterop shares one SQLite file and table with Django 3.2, 5.2 and 6.1 both
// ways, with use_tz 1 and 0: Django creates the table and writes str, int
// and SafeString values and a {% cache %} fragment; Go reads them and
// invalidates the fragment by name; Go writes str, int, bytes and a
// forever value; Django reads them.
func TestDjangoInterop(t *testing.T) {
	for _, version := range testserver.DjangoVersions {
		t.Run(version, func(t *testing.T) { djangoInterop(t, version) })
	}
}

func djangoInterop(t *testing.T, version string) {
	d := testserver.NewDjango(t, version)
	release := map[string]string{"3.2": "3.2.25-debian", "5.2": "5.2.19", "6.1": "6.1.1"}[version]
	for _, useTZ := range []bool{true, false} {
		name := "use_tz=1"
		if !useTZ {
			name = "use_tz=0"
		}
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "shared.sqlite3")
			a := djangoArgs{Path: path, Table: "my_cache_table", UseTZ: useTZ}
			a.Op = "create"
			runDjango(t, d, a)
			a.Op = "write"
			var w struct{ Rendered string }
			if err := json.Unmarshal(runDjango(t, d, a), &w); err != nil {
				t.Fatal(err)
			}
			tz := "1"
			if !useTZ {
				tz = "0"
			}
			reg, err := db.OpenRegistry(map[string]string{
				"default": "sqlite://" + path + "?table=my_cache_table&django=" + release + "&failopen=0&use_tz=" + tz,
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
