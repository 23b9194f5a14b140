package pagecache

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"testing"

	"github.com/fragcache/fragcache/cache"
)

func TestInvalidatePage(t *testing.T) {
	tc := newTestCaches(t)
	ctx := context.Background()
	view := &personal{decorate: func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Vary", "Accept-Encoding") }}
	p, err := New(tc.opts()...)
	if err != nil {
		t.Fatal(err)
	}
	h := p.Handler(view)
	req := func(method, ae string) *http.Request {
		r := newReq(method, "/p?x=1")
		if ae != "" {
			r.Header.Set("Accept-Encoding", ae)
		}
		return r
	}
	serveReq(h, req("HEAD", "gzip")) // a HEAD entry (HEAD first: GET never reads it)
	serveReq(h, req("GET", "gzip"))
	serveReq(h, req("GET", "br"))
	if n := len(tc.stores[cache.DefaultAlias].Keys()); n != 4 {
		t.Fatalf("%d keys", n)
	}

	ok, err := Invalidate(ctx, "http://testserver/p?x=1", http.Header{"accept-encoding": {"gzip"}}, WithCache(tc.def()))
	if !ok || err != nil {
		t.Fatalf("Invalidate = %v, %v", ok, err)
	}
	if rr := serveReq(h, req("GET", "gzip")); rr.Header().Get("Cache-Status") == statusHit {
		t.Error("gzip variant still cached")
	}
	if rr := serveReq(h, req("GET", "br")); rr.Header().Get("Cache-Status") != statusHit {
		t.Error("br variant was deleted")
	}
	if n := len(tc.stores[cache.DefaultAlias].Keys()); n != 4-2+1 {
		t.Errorf("%d keys after (GET and HEAD gzip deleted, GET gzip stored again)", n)
	}
	// Nothing there: false. Through the options, and through the Cache.
	if ok, err := Invalidate(ctx, "http://testserver/p?x=1", http.Header{"Accept-Encoding": {"zstd"}}, WithRegistry(tc.reg)); ok || err != nil {
		t.Errorf("absent variant: %v %v", ok, err)
	}
	if ok, err := p.Invalidate(ctx, "http://testserver/p?x=1", http.Header{"Accept-Encoding": {"br"}}); !ok || err != nil {
		t.Errorf("Cache.Invalidate: %v %v", ok, err)
	}
	if ok, _ := Invalidate(ctx, "https://testserver/p?x=1", http.Header{"Accept-Encoding": {"gzip"}}, WithCache(tc.def())); ok {
		t.Error("https URL deleted the http page")
	}
	if ok, _ := Invalidate(ctx, "http://testserver/never", nil, WithCache(tc.def())); ok {
		t.Error("unknown URL")
	}
	for _, bad := range []string{"/p", "ftp://x/p", "http:///p", "http://[::1/p", "http://bad host/"} {
		if _, err := Invalidate(ctx, bad, nil, WithCache(tc.def())); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if _, err := Invalidate(ctx, "http://testserver/", nil); err == nil {
		t.Error("no cache: no error")
	}
}

func TestInvalidatePageLearnedByDjango(t *testing.T) {
	// A header list pickled by Django (protocol 5, ["HTTP_ACCEPT_ENCODING",
	// "HTTP_COOKIE"]) and a page stored under the key Django computed.
	tc := newTestCaches(t)
	ctx := context.Background()
	pickled, _ := hex.DecodeString("8005952a000000000000005d94288c14485454505f4143434550545f454e434f44494e47948c0b485454505f434f4f4b494594652e")
	url := md5hex("http://www.example.com/cache/test/")
	headerKey := "views.decorators.cache.cache_header.site." + url
	pageKey := "views.decorators.cache.cache_page.site.GET." + url + "." + md5hex("4:gzip,-,")
	_ = tc.def().Set(ctx, headerKey, pickled, cache.DefaultTimeout)
	_ = tc.def().Set(ctx, pageKey, []byte("a pickled HttpResponse"), cache.DefaultTimeout)
	ok, err := Invalidate(ctx, "http://www.example.com/cache/test/", http.Header{"Accept-Encoding": {"gzip"}}, WithKeyPrefix("site"), WithCache(tc.def()))
	if !ok || err != nil {
		t.Fatalf("Invalidate = %v %v", ok, err)
	}
	if has, _ := tc.def().Has(ctx, pageKey); has {
		t.Error("page still there")
	}
	// GetCacheKey reads the pickled list too.
	r := newReq("GET", "/cache/test/")
	r.Host = "www.example.com"
	r.Header.Set("Accept-Encoding", "gzip")
	if k, ok, _ := GetCacheKey(ctx, r, "", WithKeyPrefix("site"), WithCache(tc.def())); !ok || k != pageKey {
		t.Errorf("GetCacheKey = %q %v", k, ok)
	}
	// The page cache treats Django's page as a miss and replaces it.
	h := Site(tc.opts(WithKeyPrefix("site"))...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "go page")
	}))
	_ = tc.def().Set(ctx, pageKey, []byte("a pickled HttpResponse"), cache.DefaultTimeout)
	if rr := serveReq(h, r); rr.Body.String() != "go page" || rr.Header().Get("Cache-Status") != "fragcache; fwd=vary-miss; stored" {
		t.Errorf("%q %q", rr.Body.String(), rr.Header().Get("Cache-Status"))
	}
}
