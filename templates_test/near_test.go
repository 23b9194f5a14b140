package templates_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"testing/fstest"
	"time"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/internal/testserver"
	"github.com/fragcache/fragcache/render"
)

// Environment of the helper process of TestNearCacheAcrossProcesses.
const (
	envNearURL  = "FRAGCACHE_NEAR_HELPER_URL"
	envNearHTML = "FRAGCACHE_NEAR_HELPER_HTML"
)

// TestHelperProcessNearWriter is process B: another Go process writing the
// fragment on the shared Redis. It runs only as a helper.
func TestHelperProcessNearWriter(t *testing.T) {
	url := os.Getenv(envNearURL)
	if url == "" {
		t.Skip("helper process of TestNearCacheAcrossProcesses")
	}
	c, err := backends.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Set(context.Background(), c.KeyScheme().FragmentKey("sidebar"), []byte(os.Getenv(envNearHTML)), cache.Seconds(600)); err != nil {
		t.Fatal(err)
	}
}

// djangoNearScript sets or deletes the sidebar fragment as a Django app
// does: the cache API with make_template_fragment_key, a SafeString value.
const djangoNearScript = `
import json, sys
req = json.load(sys.stdin)
import django
conf = dict(req["cache"])
if conf["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    import redis
    class Connection(redis.Connection):
        def __init__(self, *args, lib_name=None, **kwargs):
            super().__init__(*args, **kwargs)
    conf["OPTIONS"] = {"connection_class": Connection}
from django.conf import settings
settings.configure(CACHES={"default": conf})
django.setup()
from django.core.cache import cache
from django.core.cache.utils import make_template_fragment_key
from django.utils.safestring import mark_safe
key = make_template_fragment_key("sidebar")
for op, html in req["ops"]:
    if op == "set":
        cache.set(key, mark_safe(html), 600)
    else:
        cache.delete(key)
print(json.dumps(django.get_version()))
`

// TestNearCacheAcrossProcesses is issue 14's deploy path: process A (this
// test) renders a {% cache %} fragment from Redis with the near cache, so
// repeated renders hit process memory; then another Go process, the CLI
// and real Django 3.2, 5.2 and 6.1 rewrite or delete the fragment on the
// same Redis, and A's next renders show the change, pushed by Redis's
// invalidation. The time until A sees each change is logged.
func TestNearCacheAcrossProcesses(t *testing.T) {
	rd := testserver.Redis(t)
	cli := buildCLI(t)
	releases := map[string]string{"3.2": "3.2.25-debian", "5.2": "5.2.19", "6.1": "6.1.1"}
	var seen []time.Duration
	for _, version := range testserver.DjangoVersions {
		t.Run(version, func(t *testing.T) {
			prefix := "near" + version
			url := "redis://" + rd.Addr + "?near_cache=1&key_prefix=" + prefix + "&django=" + releases[version]
			reg, err := backends.OpenRegistry(map[string]string{"default": url})
			if err != nil {
				t.Fatal(err)
			}
			defer reg.Close()
			rdr, err := render.New(render.Options{Registry: reg, FS: fstest.MapFS{
				"page.html": {Data: []byte(`{% load cache %}{% cache 600 sidebar %}<p>{{ x }}</p>{% endcache %}`)},
			}})
			if err != nil {
				t.Fatal(err)
			}
			defer rdr.Close()
			c, _ := reg.Default()
			renderX := func(x string) string {
				b, err := rdr.RenderBytes(httptest.NewRequest("GET", "/", nil), "page.html", pongo2.Context{"x": x})
				if err != nil {
					t.Fatal(err)
				}
				return string(b)
			}
			// nearAgain renders until a render is a near hit (a fetch right
			// after this process's own write can be dropped by that
			// write's invalidation, so it may take two fetches).
			nearAgain := func(want string) {
				t.Helper()
				for range 3 {
					h := c.Stats().Near.Hits
					if got := renderX("other"); got != want {
						t.Fatalf("render %q, want %q", got, want)
					}
					if c.Stats().Near.Hits == h+1 {
						return
					}
				}
				t.Fatalf("no near hit in 3 renders of %q: %+v", want, c.Stats().Near)
			}
			// A renders and stores the fragment, then hits its near copy.
			if got := renderX("a"); got != "<p>a</p>" {
				t.Fatalf("first render %q", got)
			}
			nearAgain("<p>a</p>")
			// until waits for A's render to show want, and records how long
			// that took.
			until := func(who, x, want string) {
				t.Helper()
				start := time.Now()
				for renderX(x) != want {
					if time.Since(start) > 3*time.Second {
						t.Fatalf("after %s: A still renders %q, want %q", who, renderX(x), want)
					}
					time.Sleep(time.Millisecond)
				}
				d := time.Since(start)
				seen = append(seen, d)
				t.Logf("%s's change seen by A after %v", who, d)
				// And A keeps the new fragment near again.
				nearAgain(want)
			}

			// Real Django rewrites the fragment, then deletes it.
			dj := testserver.NewDjango(t, version)
			djCache := map[string]any{"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://" + rd.Addr + "/0", "KEY_PREFIX": prefix}
			if version == "3.2" {
				djCache["BACKEND"] = "django_redis.cache.RedisCache"
			}
			runDjango := func(ops ...[2]string) {
				in, _ := json.Marshal(map[string]any{"cache": djCache, "ops": ops})
				dj.Run(t, djangoNearScript, in)
			}
			runDjango([2]string{"set", "<p>from Django " + version + "</p>"})
			until("Django "+version+" set", "c", "<p>from Django "+version+"</p>")
			runDjango([2]string{"delete", ""})
			until("Django "+version+" delete", "d", "<p>d</p>")

			// Another Go process rewrites it.
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessNearWriter$", "-test.count=1")
			cmd.Env = append(os.Environ(), envNearURL+"=redis://"+rd.Addr+"?key_prefix="+prefix+"&django="+releases[version], envNearHTML+"=<p>from B</p>")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("process B: %v\n%s", err, out)
			}
			until("process B", "e", "<p>from B</p>")

			// The CLI invalidates it.
			out, err := exec.Command(cli, "invalidate", "--cache", "redis://"+rd.Addr+"?key_prefix="+prefix+"&django="+releases[version], "sidebar").CombinedOutput()
			if err != nil {
				t.Fatalf("fragcache invalidate: %v\n%s", err, out)
			}
			until("the CLI", "f", "<p>f</p>")
		})
	}
	sort.Slice(seen, func(i, j int) bool { return seen[i] < seen[j] })
	if len(seen) > 0 {
		t.Logf("changes by other processes seen after: median %v, max %v (%d changes)", seen[len(seen)/2], seen[len(seen)-1], len(seen))
	}
}

// buildCLI builds cmd/fragcache into a temporary directory.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fragcache")
	cmd := exec.Command("go", "build", "-o", bin, "../cmd/fragcache")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/fragcache: %v\n%s", err, out)
	}
	return bin
}
