package pagecache

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fragcache/fragcache/cache"
)

// Seed corpora live in testdata/fuzz/<FuzzName>/ (the golden requests and
// what earlier fuzzing runs kept); the f.Add seeds below are the edges.

// FuzzPageKey feeds arbitrary request lines, hosts, header values and
// Vary headers to the page-key builder. It must not panic, and:
//   - the absolute URI is ASCII, starts with scheme://host and has no raw
//     space or control character;
//   - the header key ends with md5(URI), the page key holds the method, the
//     URL digest and a 32-hex digest;
//   - a request line and the r.URL that net/url parses from it give the
//     same URI;
//   - the header list is sorted, every name starts with HTTP_, and
//     Accept-Language is dropped with i18n;
//   - the key schemes agree when no Vary header is listed.
func FuzzPageKey(f *testing.F) {
	for _, s := range []struct{ target, host, a, vary string }{
		{"/", "testserver", "", ""},
		{"/cache/test/?test=1", "www.example.com", "gzip", "Accept-Encoding"},
		{"/a%2Fb/", "example.com:8080", "", "X-A, Cookie"},
		{"/a/../b/?q=a b&r=\xe9#frag", "WWW.Example.COM", "\xff", " * "},
		{"//double", "[::1]:80", "x", "x-a,,x-a"},
		{"/100%25/%FF/caf\xc3\xa9/./x/..", "a.b.", "é", "ÿ, ß, µ, Accept-Language"},
		{"http://h/p?x", "h", "", "Host, Content-Type"},
		{"*", "", "", ""},
		{"/%zz%2", "bad host", "", "HTTP_X"},
	} {
		f.Add(s.target, s.host, s.a, s.vary, true)
	}
	f.Fuzz(func(t *testing.T, target, host, a, vary string, i18n bool) {
		r := &http.Request{Method: http.MethodGet, Host: host, RequestURI: target, URL: &url.URL{},
			Header: http.Header{"X-A": {a}, "Cookie": {a + "=1"}}}
		k := mustNewKeys(t, WithKeyPrefix("p"))
		uri, err := k.AbsoluteURI(r)
		if err != nil {
			if validHost(host) {
				t.Fatalf("valid host %q refused", host)
			}
			return
		}
		if !strings.HasPrefix(uri, "http://"+host) {
			t.Fatalf("URI %q does not start with the host %q", uri, host)
		}
		for i := 0; i < len(uri); i++ {
			if uri[i] <= ' ' || uri[i] >= 0x7f {
				t.Fatalf("URI %q has byte %#x", uri, uri[i])
			}
		}
		hk, _ := k.HeaderKey(r)
		if hk != "views.decorators.cache.cache_header.p."+md5hex(uri) {
			t.Fatalf("header key %q for %q", hk, uri)
		}
		list := HeaderList(vary, i18n)
		if !slices.IsSorted(list) {
			t.Fatalf("unsorted %q", list)
		}
		for _, name := range list {
			if !strings.HasPrefix(name, "HTTP_") || !utf8.ValidString(name) || i18n && name == "HTTP_ACCEPT_LANGUAGE" {
				t.Fatalf("name %q in %q", name, list)
			}
		}
		for _, sc := range []cache.PageKeyVariant{cache.PageKeysNetstrings, cache.PageKeysConcatMarked, cache.PageKeysNetstringsEmptyAbsent} {
			k.cfg.scheme = sc
			pk, err := k.PageKey(r, "GET", list)
			if err != nil || !strings.HasPrefix(pk, "views.decorators.cache.cache_page.p.GET."+md5hex(uri)+".") ||
				len(pk) != len("views.decorators.cache.cache_page.p.GET.")+32+1+32 {
				t.Fatalf("page key %q %v", pk, err)
			}
			if len(list) == 0 && !strings.HasSuffix(pk, emptyMD5) {
				t.Fatalf("no headers, digest %q", pk)
			}
		}
		// The same request as net/url parses it.
		if u, err := url.ParseRequestURI(target); err == nil && strings.HasPrefix(target, "/") {
			r2 := &http.Request{Method: http.MethodGet, Host: host, URL: u, Header: r.Header}
			uri2, err := k.AbsoluteURI(r2)
			if err != nil || uri2 != uri {
				t.Fatalf("request line %q gives %q, r.URL gives %q", target, uri, uri2)
			}
		}
	})
}

// FuzzPageEntry decodes arbitrary stored values: no panic, and what
// decodes re-encodes to an equivalent page.
func FuzzPageEntry(f *testing.F) {
	p := storedPage{status: 200, header: http.Header{"Content-Type": {"text/html"}, "Date": nil, "X": {"a", "b"}},
		body: []byte("hello"), maxAge: 600, expires: 1700000600, ageKnown: true, lastModified: 1}
	f.Add(p.encode())
	f.Add([]byte(entryMagic))
	f.Add(encodeHeaderList([]string{"HTTP_A"}))
	f.Add([]byte("\x80\x05]\x94."))
	f.Fuzz(func(t *testing.T, v []byte) {
		if l, ok := decodeHeaderList(v); ok {
			for range l {
			}
		}
		e, ok := decodeEntry(v)
		if !ok {
			return
		}
		h := http.Header{}
		e.writeHeaders(h, 1700000000, "s")
		e.writeNotModifiedHeaders(http.Header{}, "s")
		_ = e.etag()
		back := storedPage{status: e.status, header: http.Header{}, body: e.body, maxAge: e.maxAge,
			expires: e.expires, ageKnown: e.ageKnown, lastModified: e.lastModified}
		vals := make([]string, e.nValues)
		e.each(vals, func(name string, vs []string) bool {
			back.header[name] = append(back.header[name], vs...)
			return true
		})
		e2, ok := decodeEntry(back.encode())
		if !ok || e2.status != e.status || !bytes.Equal(e2.body, e.body) || e2.maxAge != e.maxAge ||
			e2.expires != e.expires || e2.lastModified != e.lastModified || e2.ageKnown != e.ageKnown {
			t.Fatalf("re-encoded page differs: %+v vs %+v", e2, e)
		}
	})
}

// FuzzPageCacheRequest sends arbitrary requests through a page cache: no
// panic, and every response is the one its own request target and headers
// produce. The handler echoes the raw request target, the method and the
// headers its Vary lists, so a hit that one request stored for another
// target (a key collision) is caught: two targets are sent in turn, twice.
func FuzzPageCacheRequest(f *testing.F) {
	f.Add("GET", "/p?q=1", "/p?q=%31", "testserver", `"x"`, "Sun, 06 Nov 1994 08:49:37 GMT", "Cookie", "a=1")
	f.Add("HEAD", "/%FF/../x", "/%25FF/../x", "H:1", `W/"x", *`, "garbage", "*", "")
	f.Add("GET", "//x", "/x", "[::1]", `"""`, "Sunday, 06-Nov-94 08:49:37 GMT", " Accept-Encoding ,", "\xff")
	f.Add("GET", `/s?q=<x>"`, "/s?q=%3Cx%3E%22", "example.com", "", "", "", "")
	f.Add("GET", "/files/%FF", "/files/%25FF", "example.com", "", "", "Cookie", "a=1")
	f.Add("GET", "http://example.com/a", "/a", "example.com", "", "", "", "")
	f.Fuzz(func(t *testing.T, method, target1, target2, host, inm, ims, vary, cookie string) {
		if method != "GET" && method != "HEAD" {
			method = "POST"
		}
		mc := newFuzzCache(t)
		h := Site(WithCache(mc), WithAnonymousOnly(""))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", vary)
			w.Header().Set("ETag", `"x"`)
			w.Header().Set("Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT")
			_, _ = w.Write([]byte(fuzzEcho(r)))
		}))
		for i := range 4 {
			target := target1
			if i%2 == 1 {
				target = target2
			}
			r := &http.Request{Method: method, Host: host, RequestURI: target, URL: &url.URL{},
				Header: http.Header{"If-None-Match": {inm}, "If-Modified-Since": {ims}, "Cookie": {cookie}}}
			want := fuzzEcho(r)
			rr := newDiscardRecorder()
			h.ServeHTTP(rr, r)
			switch rr.status {
			case 0, 200:
				if method != "HEAD" && rr.body.String() != want {
					t.Fatalf("request %d for %q got the page of another request:\n%q\nwant\n%q", i, target, rr.body.String(), want)
				}
			case 304, 412:
			default:
				t.Fatalf("status %d", rr.status)
			}
		}
	})
}

// fuzzEcho is the page FuzzPageCacheRequest's handler makes for r: its raw
// target and every request header.
func fuzzEcho(r *http.Request) string {
	return fmt.Sprintf("%s %q %q %v", r.Method, r.RequestURI, r.Host, r.Header)
}

func newFuzzCache(t *testing.T) *cache.Cache {
	tc := newTestCaches(t)
	return tc.def()
}

// discardRecorder records status and body only.
type discardRecorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func newDiscardRecorder() *discardRecorder { return &discardRecorder{h: http.Header{}} }

func (d *discardRecorder) Header() http.Header { return d.h }
func (d *discardRecorder) WriteHeader(code int) {
	if d.status == 0 {
		d.status = code
	}
}
func (d *discardRecorder) Write(p []byte) (int, error) {
	if d.status == 0 {
		d.status = 200
	}
	return d.body.Write(p)
}
