package templates_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/internal/testserver"
	"github.com/fragcache/fragcache/render"
)

// djangoFragmentsScript renders {% cache %} templates with a real Django on
// shared memcached and Redis servers, and reports what it rendered and the
// Python type of each stored fragment. Input: {"caches": {alias: conf},
// "renders": [[alias, user, x], ...]}.
const djangoFragmentsScript = `
import json, sys
req = json.load(sys.stdin)
import django
caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
for alias, conf in req["caches"].items():
    conf = dict(conf)
    if conf["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
        # Debian 12's redis-py (4.3.4) predates the lib_name argument (5.0)
        # that Django 5.2+ passes to connections; drop it.
        import redis
        class Connection(redis.Connection):
            def __init__(self, *args, lib_name=None, **kwargs):
                super().__init__(*args, **kwargs)
        conf["OPTIONS"] = {"connection_class": Connection}
    caches[alias] = conf
from django.conf import settings
settings.configure(CACHES=caches, TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}])
django.setup()
from django.core.cache import caches as django_caches
from django.core.cache.utils import make_template_fragment_key
from django.template import engines
out = {"version": django.get_version(), "renders": [], "types": []}
for alias, user, x in req["renders"]:
    tpl = engines["django"].from_string(req["template"].replace("ALIAS", alias))
    out["renders"].append(tpl.render({"user": user, "x": x}))
    out["types"].append(type(django_caches[alias].get(make_template_fragment_key("frag", [user]))).__name__)
json.dump(out, sys.stdout)
`

// TestShareFragmentsWithDjango is what a user sharing a cache with a Django
// app does: name the release on the cache URL (django=…) and nothing else.
// Real Django 3.2, 5.2 and 6.1 render {% cache %} fragments on memcached
// and Redis; Go renders the same template and gets Django's fragment,
// invalidates it by name (Django renders again), and stores one that
// Django reads as a str and serves.
func TestShareFragmentsWithDjango(t *testing.T) {
	mc := testserver.Memcached(t)
	rd := testserver.Redis(t)
	const template = `{% load cache %}{% cache 60 frag user using="ALIAS" %}<b>{{ x }}</b>{% endcache %}`
	releases := map[string]string{"3.2": "3.2.25-debian", "5.2": "5.2.19", "6.1": "6.1.1"}
	for i, version := range testserver.DjangoVersions {
		t.Run(version, func(t *testing.T) {
			dj := testserver.NewDjango(t, version)
			redisBackend := "django.core.cache.backends.redis.RedisCache"
			redisLocation := fmt.Sprintf("redis://%s/%d", rd.Addr, i)
			if version == "3.2" {
				redisBackend = "django_redis.cache.RedisCache"
			}
			caches := map[string]any{
				"mc": map[string]any{"BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache", "LOCATION": mc.Addr, "KEY_PREFIX": "v" + version},
				"rd": map[string]any{"BACKEND": redisBackend, "LOCATION": redisLocation},
			}
			run := func(renders [][3]string) (out struct {
				Version string
				Renders []string
				Types   []string
			}) {
				in, _ := json.Marshal(map[string]any{"caches": caches, "renders": renders, "template": template})
				if err := json.Unmarshal(dj.Run(t, djangoFragmentsScript, in), &out); err != nil {
					t.Fatal(err)
				}
				return out
			}

			reg, err := backends.OpenRegistry(map[string]string{
				"default": "memory://",
				"mc":      "memcached://" + mc.Addr + "?key_prefix=v" + version + "&django=" + releases[version],
				"rd":      fmt.Sprintf("redis://%s/%d?django=%s", rd.Addr, i, releases[version]),
			})
			if err != nil {
				t.Fatal(err)
			}
			defer reg.Close()
			rdr, err := render.New(render.Options{Registry: reg, FS: fstest.MapFS{
				"mc.html": {Data: []byte(replaceAlias(template, "mc"))},
				"rd.html": {Data: []byte(replaceAlias(template, "rd"))},
			}})
			if err != nil {
				t.Fatal(err)
			}
			defer rdr.Close()
			goRender := func(alias, user, x string) string {
				b, err := rdr.RenderBytes(httptest.NewRequest("GET", "/", nil), alias+".html", pongo2.Context{"user": user, "x": x})
				if err != nil {
					t.Fatal(err)
				}
				return string(b)
			}

			first := run([][3]string{{"mc", "alice", "django"}, {"rd", "alice", "django"}})
			for _, alias := range []string{"mc", "rd"} {
				// Go hits Django's fragment…
				if got := goRender(alias, "alice", "go"); got != "<b>django</b>" {
					t.Errorf("Django %s, %s: Go rendered %q, want Django's fragment", first.Version, alias, got)
				}
				// …invalidates it by name…
				ok, err := rdr.Fragments().InvalidateFragmentUsing(context.Background(), alias, "frag", "alice")
				if err != nil || !ok {
					t.Errorf("Django %s, %s: InvalidateFragmentUsing = %v, %v", first.Version, alias, ok, err)
				}
				// …and stores one for bob.
				if got := goRender(alias, "bob", "go"); got != "<b>go</b>" {
					t.Errorf("%s: Go rendered %q for bob", alias, got)
				}
			}
			second := run([][3]string{{"mc", "alice", "again"}, {"rd", "alice", "again"}, {"mc", "bob", "django"}, {"rd", "bob", "django"}})
			want := []string{"<b>again</b>", "<b>again</b>", "<b>go</b>", "<b>go</b>"}
			for j, w := range want {
				if second.Renders[j] != w {
					t.Errorf("Django %s, render %d: %q, want %q", second.Version, j, second.Renders[j], w)
				}
			}
			for j := 2; j < 4; j++ {
				if second.Types[j] != "str" {
					t.Errorf("Django %s reads Go's fragment as %s, want str", second.Version, second.Types[j])
				}
			}
		})
	}
}

func replaceAlias(template, alias string) string { return strings.ReplaceAll(template, "ALIAS", alias) }
