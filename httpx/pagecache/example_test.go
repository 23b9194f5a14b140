package pagecache_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/memory"
	"github.com/fragcache/fragcache/httpx"
	"github.com/fragcache/fragcache/httpx/pagecache"
)

func ExamplePage() {
	c, _ := memory.NewCache(memory.Options{})
	defer c.Close()

	n := 0
	article := pagecache.Page(cache.Seconds(60), pagecache.WithCache(c))(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			n++
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprintf(w, "rendered %d time(s)", n)
		}))

	for range 3 {
		rr := httptest.NewRecorder()
		article.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/articles/42", nil))
		fmt.Println(rr.Body.String(), "|", rr.Header().Get("Cache-Control"), "|", rr.Header().Get("Cache-Status"))
	}
	// Output:
	// rendered 1 time(s) | max-age=60 | fragcache; fwd=uri-miss; stored
	// rendered 1 time(s) | max-age=60 | fragcache; hit
	// rendered 1 time(s) | max-age=60 | fragcache; hit
}

func ExampleSite() {
	c, _ := memory.NewCache(memory.Options{})
	defer c.Close()
	reg, _ := cache.NewRegistry(map[string]*cache.Cache{cache.DefaultAlias: c})

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "home")
	})
	mux.HandleFunc("/account", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private")
		fmt.Fprint(w, "your account")
	})
	mux.Handle("/news", httpx.VaryOnCookie(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "news for ", r.Header.Get("Cookie"))
	})))
	// The site cache wraps everything, as Django's UpdateCacheMiddleware
	// comes first: it sees every Vary and Cache-Control header.
	site := pagecache.Site(pagecache.WithRegistry(reg), pagecache.WithKeyPrefix("site1"), pagecache.WithSeconds(300))(mux)

	get := func(path, cookie string) {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		rr := httptest.NewRecorder()
		site.ServeHTTP(rr, r)
		fmt.Printf("%-8s %-12s %-26q %s\n", path, cookie, rr.Body.String(), rr.Header().Get("Cache-Status"))
	}
	get("/", "")
	get("/", "")
	get("/account", "")
	get("/news", "lang=en")
	get("/news", "lang=fr")
	get("/news", "lang=en")
	// Output:
	// /                     "home"                     fragcache; fwd=uri-miss; stored
	// /                     "home"                     fragcache; hit
	// /account              "your account"             fragcache; fwd=uri-miss; detail=private
	// /news    lang=en      "news for lang=en"         fragcache; fwd=uri-miss; stored
	// /news    lang=fr      "news for lang=fr"         fragcache; fwd=vary-miss; stored
	// /news    lang=en      "news for lang=en"         fragcache; hit
}

func ExampleInvalidate() {
	c, _ := memory.NewCache(memory.Options{})
	defer c.Close()

	version := "v1"
	page := pagecache.Site(pagecache.WithCache(c))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Accept-Language")
		fmt.Fprint(w, "price list ", version)
	}))
	get := func() string {
		// A server gets the path as the request target (origin form) and the
		// host in Host; a target with the scheme and host (absolute form,
		// which httptest.NewRequest makes of a full URL) is never cached.
		r := httptest.NewRequest(http.MethodGet, "/prices", nil)
		r.Host = "shop.example"
		r.Header.Set("Accept-Language", "fr")
		rr := httptest.NewRecorder()
		page.ServeHTTP(rr, r)
		return rr.Body.String()
	}
	fmt.Println(get())
	version = "v2"
	fmt.Println(get()) // still cached

	// Delete the page a French client gets (Django: build a request and
	// cache.delete(get_cache_key(request))).
	deleted, err := pagecache.Invalidate(context.Background(), "http://shop.example/prices",
		http.Header{"Accept-Language": {"fr"}}, pagecache.WithCache(c))
	fmt.Println(deleted, err)
	fmt.Println(get())
	// Output:
	// price list v1
	// price list v1
	// true <nil>
	// price list v2
}

func ExampleKeys() {
	keys, _ := pagecache.NewKeys(pagecache.WithKeyPrefix("settingsprefix"))
	r := httptest.NewRequest(http.MethodGet, "http://www.example.com/cache/test/?test=1", nil)
	uri, _ := keys.AbsoluteURI(r)
	hk, _ := keys.HeaderKey(r)
	pk, _ := keys.PageKey(r, http.MethodGet, pagecache.HeaderList("", false))
	fmt.Println(uri)
	fmt.Println(hk)
	fmt.Println(pk)
	fmt.Println(pagecache.HeaderList("Cookie, accept-encoding", false))
	// Output:
	// http://www.example.com/cache/test/?test=1
	// views.decorators.cache.cache_header.settingsprefix.beaf87a9a99ee81c673ea2d67ccbec2a
	// views.decorators.cache.cache_page.settingsprefix.GET.beaf87a9a99ee81c673ea2d67ccbec2a.d41d8cd98f00b204e9800998ecf8427e
	// [HTTP_ACCEPT_ENCODING HTTP_COOKIE]
}

// ExamplePage_compressed puts httpx.Compress inside the page cache, Django's
// order: each Accept-Encoding value is a variant of its own, rendered and
// compressed once, then served as stored.
func ExamplePage_compressed() {
	c, _ := memory.NewCache(memory.Options{})
	defer c.Close()

	n := 0
	page := pagecache.Page(cache.Seconds(60), pagecache.WithCache(c))(httpx.Compress()(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			n++
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, strings.Repeat("<p>A page worth compressing.</p>\n", 20))
		})))

	for _, ae := range []string{"gzip", "gzip, deflate, br", "", "gzip", "gzip, deflate, br", ""} {
		r := httptest.NewRequest(http.MethodGet, "/articles/42", nil)
		r.Header.Set("Accept-Encoding", ae)
		rr := httptest.NewRecorder()
		page.ServeHTTP(rr, r)
		fmt.Printf("%-19q %-5q %s\n", ae, rr.Header().Get("Content-Encoding"), rr.Header().Get("Cache-Status"))
	}
	fmt.Println("renders:", n)
	// Output:
	// "gzip"              "gzip" fragcache; fwd=uri-miss; stored
	// "gzip, deflate, br" "br"  fragcache; fwd=vary-miss; stored
	// ""                  ""    fragcache; fwd=vary-miss; stored
	// "gzip"              "gzip" fragcache; hit
	// "gzip, deflate, br" "br"  fragcache; hit
	// ""                  ""    fragcache; hit
	// renders: 3
}
