package pagecache

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fragcache/fragcache/httpx"
	"github.com/fragcache/fragcache/internal/testserver"
)

// djangoGzipCacheScript serves a sequence of requests through real
// Django's UpdateCacheMiddleware, GZipMiddleware and
// FetchFromCacheMiddleware (the documented order) on LocMemCache, and
// prints, per request, whether the view ran and the response's
// Content-Encoding, Vary and ETag.
const djangoGzipCacheScript = `
import json, sys
import django
from django.conf import settings
settings.configure(SECRET_KEY="x", ALLOWED_HOSTS=["testserver"], USE_I18N=False, USE_TZ=False,
    ROOT_URLCONF=__name__, CACHE_MIDDLEWARE_SECONDS=300,
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
    MIDDLEWARE=["django.middleware.cache.UpdateCacheMiddleware",
                "django.middleware.gzip.GZipMiddleware",
                "django.middleware.cache.FetchFromCacheMiddleware"])
from django.http import HttpResponse
from django.urls import path
calls = []
def view(request):
    calls.append(1)
    r = HttpResponse(PAGE)
    r["ETag"] = '"page-v1"'
    return r
urlpatterns = [path("page", view)]
django.setup()
from django.test import Client
out = []
for ae in json.load(sys.stdin):
    extra = {} if ae is None else {"HTTP_ACCEPT_ENCODING": ae}
    n = len(calls)
    r = Client().get("/page", **extra)
    out.append({"ran": len(calls) > n, "ce": r.get("Content-Encoding", ""), "vary": r.get("Vary", ""),
                "etag": r.get("ETag", "")})
print(json.dumps(out))
`

// TestDjangoGzipPageCacheVariants: the same sequence of Accept-Encoding
// values through real Django 6.1's cache middleware around GZipMiddleware
// and through pagecache.Site around httpx.Compress(WithoutBrotli()) (so
// that encodings agree with Django's \bgzip\b on these values): the view
// runs for the same requests (one variant per distinct raw header; 6.1.1
// hashes an absent header as an empty one), and every response, miss or
// hit, has the same Content-Encoding, Vary and ETag.
func TestDjangoGzipPageCacheVariants(t *testing.T) {
	dj := testserver.NewDjango(t, "6.1")
	s := func(v string) *string { return &v }
	seq := []*string{nil, s("gzip"), s("gzip, deflate, br"), s("gzip,deflate,br"), s("identity"),
		s("gzip"), nil, s("gzip, deflate, br"), s(""), s("deflate, gzip"), s("gzip,deflate,br"), s(""), s("identity")}
	in, _ := json.Marshal(seq)
	script := strings.Replace(djangoGzipCacheScript, "PAGE)", `"`+strings.ReplaceAll(compressPage, "\n", `\n`)+`")`, 1)
	var want []struct {
		Ran            bool
		CE, Vary, ETag string
	}
	if err := json.Unmarshal(dj.Run(t, script, in), &want); err != nil {
		t.Fatal(err)
	}
	tc := newTestCaches(t)
	var calls atomic.Int64
	h := Site(tc.opts(WithDjango("6.1.1"), WithSeconds(300))...)(httpx.Compress(httpx.WithoutBrotli())(pageHandler(&calls)))
	for i, ae := range seq {
		r := newReq(http.MethodGet, "/page")
		if ae != nil {
			r.Header.Set("Accept-Encoding", *ae)
		}
		before := calls.Load()
		rr := serveReq(h, r)
		ran := calls.Load() > before
		name := "<none>"
		if ae != nil {
			name = *ae
		}
		w := want[i]
		if ran != w.Ran || rr.Header().Get("Content-Encoding") != w.CE || rr.Header().Get("Vary") != w.Vary || rr.Header().Get("ETag") != w.ETag {
			t.Errorf("request %d (%q): ran %v, %q %q %q; Django: ran %v, %q %q %q", i, name, ran,
				rr.Header().Get("Content-Encoding"), rr.Header().Get("Vary"), rr.Header().Get("ETag"),
				w.Ran, w.CE, w.Vary, w.ETag)
		}
	}
}
