package pagecache

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/internal/testserver"
)

// djangoPageScript makes a real Django cache pages with cache_page on shared
// memcached and Redis servers, one per job, or tells afterwards whether it
// serves them from the cache. It reads a JSON list of jobs and prints, per
// job, Django's version, how many times the view ran and get_cache_key.
const djangoPageScript = `
import json, sys
jobs = json.load(sys.stdin)
import django
caches = {}
for i, job in enumerate(jobs):
    conf = dict(job["cache"])
    if conf["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
        # Debian 12's redis-py (4.3.4) predates the lib_name argument (5.0)
        # that Django 5.2+ passes to connections; drop it. Nothing on the
        # wire changes.
        import redis
        class Connection(redis.Connection):
            def __init__(self, *args, lib_name=None, **kwargs):
                super().__init__(*args, **kwargs)
        conf["OPTIONS"] = {"connection_class": Connection}
    caches["c%d" % i] = conf
caches["default"] = caches["c0"]
from django.conf import settings
settings.configure(CACHES=caches, ALLOWED_HOSTS=["testserver"], SECRET_KEY="x",
    USE_I18N=False, USE_TZ=False, ROOT_URLCONF=__name__, MIDDLEWARE=[])
urlpatterns = []
django.setup()
from django.core.cache import caches as django_caches
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.cache import get_cache_key
from django.views.decorators.cache import cache_page

out = []
for i, job in enumerate(jobs):
    calls = []
    def view(request, job=job, calls=calls):
        calls.append(1)
        r = HttpResponse("django page")
        if job["vary"]:
            r["Vary"] = job["vary"]
        return r
    cached = cache_page(300, key_prefix=job["prefix"], cache="c%d" % i)(view)
    request = lambda: RequestFactory().get(job["path"], **job["headers"])
    cached(request())
    out.append({"version": django.get_version(), "rendered": len(calls),
                "key": get_cache_key(request(), key_prefix=job["prefix"], cache=django_caches["c%d" % i])})
print(json.dumps(out))
`

// djangoCaches are the cache settings of Django version for a server.
func djangoCaches(version, backend, addr string) map[string]any {
	switch {
	case backend == "memcached":
		return map[string]any{"BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache", "LOCATION": addr}
	case version == "3.2": // Django 3.2 has no Redis backend: django-redis
		return map[string]any{"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://" + addr + "/0"}
	}
	return map[string]any{"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://" + addr}
}

// djangoPage is one page a Django caches in TestDjangoCachedPages.
type djangoPage struct {
	url, backend, addr, vary, prefix string
}

// djangoAnswer is the script's answer for one job.
type djangoAnswer struct {
	Version  string
	Rendered int
	Key      string
}

// TestDjangoCachedPages: pages a real Django (3.2, 5.2, 6.1) cached with
// cache_page on memcached and Redis (the learned header list is a pickled
// list of str, [] without Vary) are found by GetCacheKey under Django's own
// key and deleted by Invalidate, after which Django renders them again; the
// page cache reads Django's header list and treats its pickled page as a
// miss, without a backend error.
func TestDjangoCachedPages(t *testing.T) {
	mc := testserver.Memcached(t)
	rd := testserver.Redis(t)
	for _, version := range testserver.DjangoVersions {
		t.Run(version, func(t *testing.T) {
			dj := testserver.NewDjango(t, version)
			// The knob a user sets: the release on the cache URL, and
			// nothing else (Debian's 3.2.25 and 5.2.19 hash an absent header
			// as "-,", 6.1.1 as an empty one).
			release := map[string]string{"3.2": "3.2.25-debian", "5.2": "5.2.19", "6.1": "6.1.1"}[version]
			var opts []Option
			var pages []djangoPage
			var jobs []map[string]any
			for _, srv := range []struct{ url, backend, addr string }{
				{"memcached://" + mc.Addr + "?django=" + release, "memcached", mc.Addr},
				{"redis://" + rd.Addr + "?django=" + release, "redis", rd.Addr},
				{"redis://" + rd.Addr + "?django_values=0&django=" + release, "redis", rd.Addr},
			} {
				for i, vary := range []string{"", "Cookie", "Cookie, Accept-Encoding"} {
					pg := djangoPage{srv.url, srv.backend, srv.addr, vary, fmt.Sprintf("v%s_%s_%d_%d", version, srv.backend, len(pages), i)}
					pages = append(pages, pg)
					jobs = append(jobs, map[string]any{
						"cache": djangoCaches(version, pg.backend, pg.addr), "prefix": pg.prefix, "vary": vary,
						"path": "/dj/page?x=1", "headers": map[string]string{"HTTP_COOKIE": "sessionid=a"},
					})
				}
			}
			in, _ := json.Marshal(jobs)
			run := func() []djangoAnswer {
				var out []djangoAnswer
				if err := json.Unmarshal(dj.Run(t, djangoPageScript, in), &out); err != nil || len(out) != len(pages) {
					t.Fatalf("Django's answer: %v (%d answers)", err, len(out))
				}
				return out
			}
			first := run()
			again := run() // Django now serves every page from the cache
			for i, pg := range pages {
				if first[i].Rendered != 1 || again[i].Rendered != 0 || first[i].Key == "" {
					t.Fatalf("%+v: Django did not cache the page: %+v then %+v", pg, first[i], again[i])
				}
			}
			for i, pg := range pages {
				c, err := backends.Open(pg.url)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				o := append(opts[:len(opts):len(opts)], WithCache(c), WithKeyPrefix(pg.prefix))
				r := newReq("GET", "/dj/page?x=1")
				r.Header.Set("Cookie", "sessionid=a")
				key, ok, err := GetCacheKey(context.Background(), r, http.MethodGet, o...)
				if err != nil || !ok || key != first[i].Key {
					t.Errorf("%+v, Django %s: GetCacheKey = %q, %v, %v; Django's key %q", pg, first[i].Version, key, ok, err, first[i].Key)
					continue
				}
				deleted, err := Invalidate(context.Background(), "http://testserver/dj/page?x=1",
					http.Header{"Cookie": {"sessionid=a"}}, o...)
				if err != nil || !deleted {
					t.Errorf("%+v: Invalidate = %v, %v", pg, deleted, err)
				}
			}
			// Django renders every page again, and caches it again.
			for i, a := range run() {
				if a.Rendered != 1 {
					t.Errorf("%+v: after Invalidate Django rendered %d times", pages[i], a.Rendered)
				}
			}
			// InvalidateURL, with no request headers: on Redis it finds
			// every variant Django stored (SCAN), header list included; on
			// memcached it finds only what fragcache indexed (none here).
			for _, pg := range pages {
				c, err := backends.Open(pg.url)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				n, err := InvalidateURL(context.Background(), "http://testserver/dj/page?x=1",
					append(opts[:len(opts):len(opts)], WithCache(c), WithKeyPrefix(pg.prefix))...)
				want := 2 // Django's header list and page
				if pg.backend == "memcached" {
					want = 0
				}
				if err != nil || n != want {
					t.Errorf("%+v: InvalidateURL = %d, %v; want %d", pg, n, err, want)
				}
			}
			for i, a := range run() {
				if want := map[bool]int{true: 1, false: 0}[pages[i].backend == "redis"]; a.Rendered != want {
					t.Errorf("%+v: after InvalidateURL Django rendered %d times, want %d", pages[i], a.Rendered, want)
				}
			}
			// The page cache reads Django's header lists, and its pages (a
			// pickled HttpResponse) as misses, without a backend error.
			for _, pg := range pages {
				c, err := backends.Open(pg.url)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				pc, err := New(append(opts[:len(opts):len(opts)], WithCache(c), WithKeyPrefix(pg.prefix))...)
				if err != nil {
					t.Fatal(err)
				}
				r := newReq("GET", "/dj/page?x=1")
				r.Header.Set("Cookie", "sessionid=a")
				rr := serveReq(pc.Handler(newHelloWorld()), r)
				want := "fragcache; fwd=vary-miss; stored"
				if pg.vary == "" {
					want = "fragcache; fwd=miss; stored"
				}
				if got := rr.Header().Get("Cache-Status"); got != want {
					t.Errorf("%+v: Go request on Django's page: Cache-Status %q, want %q", pg, got, want)
				}
				if st := pc.Stats(); st.Errors != 0 {
					t.Errorf("%+v: backend errors: %+v", pg, st)
				}
			}
		})
	}
}
