package httpx_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/fragcache/fragcache/httpx"
)

func ExampleConditionalGet() {
	page := httpx.ConditionalGet(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "Test conditional get response")
	}))

	// The first response gets an ETag: the md5 of the body.
	rr := httptest.NewRecorder()
	page.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/", nil))
	etag := rr.Header().Get("ETag")
	fmt.Println(rr.Code, etag)

	// A client that has it gets a 304 without a body.
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("If-None-Match", etag)
	rr = httptest.NewRecorder()
	page.ServeHTTP(rr, req)
	fmt.Println(rr.Code, rr.Body.Len(), rr.Header().Get("Content-Type") == "")
	// Output:
	// 200 "b4246ffc4f62314ca13147c9d4f76974"
	// 304 0 true
}

func ExampleCondition() {
	updated := time.Date(2007, 10, 21, 23, 21, 47, 0, time.UTC)
	article := httpx.Condition(
		func(r *http.Request) string { return "v42" }, // quoted: "v42"
		func(r *http.Request) time.Time { return updated },
	)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "expensive page")
	}))

	req := httptest.NewRequest(http.MethodGet, "/article", nil)
	rr := httptest.NewRecorder()
	article.ServeHTTP(rr, req)
	fmt.Println(rr.Code, rr.Header().Get("ETag"), rr.Header().Get("Last-Modified"))

	// The handler does not run for a 304 or a 412.
	req.Header.Set("If-Modified-Since", "Sun, 21 Oct 2007 23:21:47 GMT")
	rr = httptest.NewRecorder()
	article.ServeHTTP(rr, req)
	fmt.Println(rr.Code, rr.Body.String() == "")

	put := httptest.NewRequest(http.MethodPut, "/article", nil)
	put.Header.Set("If-Match", `"v41"`)
	rr = httptest.NewRecorder()
	article.ServeHTTP(rr, put)
	fmt.Println(rr.Code)
	// Output:
	// 200 "v42" Sun, 21 Oct 2007 23:21:47 GMT
	// 304 true
	// 412
}

func ExampleVaryOnHeaders() {
	h := httpx.VaryOnHeaders("Accept-Language", "cookie")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Cookie")
		fmt.Fprint(w, "hello")
	}))
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Println(rr.Header().Get("Vary"))
	// Output:
	// Cookie, Accept-Language
}

func ExamplePatchCacheControl() {
	h := http.Header{}
	h.Set("Cache-Control", "must-revalidate,max-age=60,private")

	// Django: patch_cache_control(response, public=True, max_age=30, no_cache="Set-Cookie")
	err := httpx.PatchCacheControl(h, httpx.Public(), httpx.MaxAge(30), httpx.NoCacheField("Set-Cookie"))
	fmt.Println(h.Get("Cache-Control"), err)

	// max-age keeps the minimum of the existing and the new value.
	_ = httpx.PatchCacheControl(h, httpx.MaxAge(300))
	fmt.Println(h.Get("Cache-Control"))
	// Output:
	// must-revalidate, max-age=30, public, no-cache=Set-Cookie <nil>
	// must-revalidate, max-age=30, public, no-cache=Set-Cookie
}

func ExampleNeverCache() {
	h := httpx.NeverCache(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
	}))
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Println(rr.Header().Get("Cache-Control"))
	// Output:
	// max-age=0, no-cache, no-store, must-revalidate, private
}

func ExamplePatchResponseHeadersAt() {
	h := http.Header{}
	now := time.Unix(1700000000, 0)
	_ = httpx.PatchResponseHeadersAt(h, 60, now)
	fmt.Println(h.Get("Expires"))
	fmt.Println(h.Get("Cache-Control"))
	// Output:
	// Tue, 14 Nov 2023 22:14:20 GMT
	// max-age=60
}

func ExampleParseETags() {
	fmt.Printf("%q\n", httpx.ParseETags(`"a",W/"b", c, w/"d"`))
	fmt.Println(httpx.QuoteETag("abc"), httpx.QuoteETag(`W/"x"`))
	// Output:
	// ["\"a\"" "W/\"b\""]
	// "abc" W/"x"
}

func ExampleCompress() {
	page := httpx.Compress()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("ETag", `"v1"`)
		fmt.Fprint(w, strings.Repeat("<p>Hello, compressed world.</p>\n", 20))
	}))

	for _, ae := range []string{"gzip, deflate, br", "gzip", ""} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Accept-Encoding", ae)
		rr := httptest.NewRecorder()
		page.ServeHTTP(rr, req)
		fmt.Printf("%q: encoding=%q vary=%q etag=%s\n", ae,
			rr.Header().Get("Content-Encoding"), rr.Header().Get("Vary"), rr.Header().Get("ETag"))
	}
	// Output:
	// "gzip, deflate, br": encoding="br" vary="Accept-Encoding" etag=W/"v1"
	// "gzip": encoding="gzip" vary="Accept-Encoding" etag=W/"v1"
	// "": encoding="" vary="Accept-Encoding" etag="v1"
}
