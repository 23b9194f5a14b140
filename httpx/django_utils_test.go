package httpx

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Ports of Django's tests/cache/tests.py CacheUtils and of the decorator
// tests (django-cache.md §6.3, §6.6).

// CacheUtils.test_patch_vary_headers.
func TestDjangoPatchVaryHeaders(t *testing.T) {
	none := "\x00none"
	tests := []struct {
		initial string
		add     []string
		want    string
	}{
		{none, []string{"Accept-Encoding"}, "Accept-Encoding"},
		{"Accept-Encoding", []string{"accept-encoding"}, "Accept-Encoding"},
		{"Accept-Encoding", []string{"ACCEPT-ENCODING"}, "Accept-Encoding"},
		{"Cookie", []string{"Accept-Encoding"}, "Cookie, Accept-Encoding"},
		{"Cookie, Accept-Encoding", []string{"Accept-Encoding"}, "Cookie, Accept-Encoding"},
		{"Cookie, Accept-Encoding", []string{"Accept-Encoding", "cookie"}, "Cookie, Accept-Encoding"},
		{none, []string{"Accept-Encoding", "COOKIE"}, "Accept-Encoding, COOKIE"},
		{"Cookie,     Accept-Encoding", []string{"Accept-Encoding", "cookie"}, "Cookie, Accept-Encoding"},
		{"Cookie    ,     Accept-Encoding", []string{"Accept-Encoding", "cookie"}, "Cookie, Accept-Encoding"},
		{"*", []string{"Accept-Language", "Cookie"}, "*"},
		{"Accept-Language, Cookie", []string{"*"}, "*"},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.initial != none {
			h.Set("Vary", tt.initial)
		}
		PatchVaryHeaders(h, tt.add...)
		if got := h.Get("Vary"); got != tt.want {
			t.Errorf("%q + %q = %q, want %q", tt.initial, tt.add, got, tt.want)
		}
	}
}

// ccParts splits a Cache-Control value into its parts, for comparing as a
// set as Django's test does.
func ccParts(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ", ")
}

// CacheUtils.test_patch_cache_control.
func TestDjangoPatchCacheControl(t *testing.T) {
	none := "\x00none"
	tests := []struct {
		initial string
		ds      []Directive
		want    []string
	}{
		{none, []Directive{Private()}, []string{"private"}},
		{"", []Directive{Private()}, []string{"private"}},
		// no-cache.
		{"", []Directive{Value("no_cache", "Set-Cookie")}, []string{"no-cache=Set-Cookie"}},
		{"", []Directive{Value("no-cache", "Set-Cookie")}, []string{"no-cache=Set-Cookie"}},
		{"no-cache=Set-Cookie", []Directive{Flag("no_cache")}, []string{"no-cache"}},
		{"no-cache=Set-Cookie,no-cache=Link", []Directive{NoCache()}, []string{"no-cache"}},
		{"no-cache=Set-Cookie", []Directive{NoCacheField("Link")}, []string{"no-cache=Set-Cookie", "no-cache=Link"}},
		{"no-cache=Set-Cookie,no-cache=Link", []Directive{NoCacheField("Custom")},
			[]string{"no-cache=Set-Cookie", "no-cache=Link", "no-cache=Custom"}},
		// private and public are mutually exclusive.
		{"private", []Directive{Private()}, []string{"private"}},
		{"private", []Directive{Public()}, []string{"public"}},
		{"public", []Directive{Public()}, []string{"public"}},
		{"public", []Directive{Private()}, []string{"private"}},
		{"must-revalidate,max-age=60,private", []Directive{Public()}, []string{"must-revalidate", "max-age=60", "public"}},
		{"must-revalidate,max-age=60,public", []Directive{Private()}, []string{"must-revalidate", "max-age=60", "private"}},
		{"must-revalidate,max-age=60", []Directive{Public()}, []string{"must-revalidate", "max-age=60", "public"}},
	}
	sorted := cmpopts.SortSlices(func(a, b string) bool { return a < b })
	for _, tt := range tests {
		h := http.Header{}
		if tt.initial != none {
			h.Set("Cache-Control", tt.initial)
		}
		if err := PatchCacheControl(h, tt.ds...); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, ccParts(h.Get("Cache-Control")), sorted); diff != "" {
			t.Errorf("%q + %v (-want +got):\n%s", tt.initial, tt.ds, diff)
		}
	}
}

func TestPatchCacheControlEdges(t *testing.T) {
	tests := []struct {
		name    string
		initial []string // header lines; nil = absent
		ds      []Directive
		want    string
		wantErr bool
	}{
		{"bare max-age is int(True)", []string{"max-age"}, []Directive{MaxAge(30)}, "max-age=1", false},
		{"existing normalised by int()", []string{"max-age=+0_0_5"}, []Directive{MaxAge(30)}, "max-age=5", false},
		{"int() strips", []string{"max-age= 7\xa0"}, []Directive{MaxAge(30)}, "max-age=7", false},
		{"new wins", []string{"max-age=060"}, []Directive{MaxAge(30)}, "max-age=30", false},
		{"huge existing", []string{"max-age=999999999999999999999999"}, []Directive{MaxAge(30)}, "max-age=30", false},
		{"huge negative existing", []string{"max-age=-999999999999999999999999"}, []Directive{MaxAge(30)},
			"max-age=-999999999999999999999999", false},
		{"19 httpheader.Digits", []string{"max-age=9223372036854775808"}, []Directive{MaxAge(maxInt)},
			"max-age=9223372036854775807", false},
		{"empty value", []string{"max-age="}, []Directive{MaxAge(30)}, "", true},
		{"separator not int space", []string{"max-age=\x1c5"}, []Directive{MaxAge(30)}, "", true},
		{"double underscore", []string{"max-age=1__0"}, []Directive{MaxAge(30)}, "", true},
		{"bypass min rule", []string{"max-age=abc"}, []Directive{Value("max-age", "60")}, "max-age=60", false},
		{"no directives, no header", nil, nil, "", false},
		{"lines joined", []string{"public", "max-age=10"}, []Directive{MaxAge(5)}, "public, max-age=5", false},
		{"last duplicate wins, first position", []string{"a=1, b, a=2"}, nil, "a=2, b", false},
		{"no-cache dedupe", []string{"no-cache=x, no-cache=x"}, []Directive{NoCacheField("x")}, "no-cache=x", false},
		{"bare no-cache wins", []string{"no-cache"}, []Directive{NoCacheField("x")}, "no-cache", false},
		{"name stripped and lowered", []string{" Max-Age =5"}, nil, "max-age=5", false},
		{"kwarg case kept", nil, []Directive{Flag("Public")}, "Public", false},
		{"both private and public kwargs", nil, []Directive{Private(), Public()}, "private, public", false},
		{"private with value removed by public", []string{`private="Set-Cookie", max-age=10`}, []Directive{Public()},
			"max-age=10, public", false},
		{"latin-1 lowercase", []string{"\xc0B=1"}, nil, "\xe0b=1", false},
		{"quoted commas split", []string{`no-cache="a, b"`}, []Directive{NoCache()}, `no-cache, b"`, false},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.initial != nil {
			h["Cache-Control"] = tt.initial
		}
		err := PatchCacheControl(h, tt.ds...)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: error %v, want error %v", tt.name, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if got := h["Cache-Control"]; len(got) != 1 || got[0] != tt.want {
			t.Errorf("%s: %q + %v = %q, want %q", tt.name, tt.initial, tt.ds, got, tt.want)
		}
	}
}

func TestGetMaxAgeEdges(t *testing.T) {
	tests := []struct {
		cc     string
		want   int
		wantOK bool
	}{
		{"max-age", 1, true},
		{"max-age=999999999999999999999", maxInt, true},
		{"max-age=-999999999999999999999", minInt, true},
		{"max-age=1_000", 1000, true},
		{"MAX-AGE = 4", 4, true},
		{"max-age=4, max-age", 1, true},
		{"max-age=5,, ,", 5, true},
		{"max-age=0x10", 0, false},
	}
	for _, tt := range tests {
		got, ok := GetMaxAge(http.Header{"Cache-Control": {tt.cc}})
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("GetMaxAge(%q) = %d, %v; want %d, %v", tt.cc, got, ok, tt.want, tt.wantOK)
		}
	}
	if _, ok := GetMaxAge(http.Header{}); ok {
		t.Error("GetMaxAge without header: ok")
	}
}

func TestPatchResponseHeadersEdges(t *testing.T) {
	now := time.Unix(1700000000, 0)
	h := http.Header{}
	err := PatchResponseHeadersAt(h, maxInt, now)
	if _, ok := err.(*ExpiresRangeError); !ok || len(h) != 0 {
		t.Errorf("huge timeout: err %v, header %v", err, h)
	}
	h = http.Header{"Cache-Control": {"max-age=zz"}}
	err = PatchResponseHeadersAt(h, 5, now)
	if _, ok := err.(*MaxAgeError); !ok {
		t.Errorf("bad max-age: err %v", err)
	}
	// As in Django, Expires was set before patch_cache_control raised.
	if h.Get("Expires") != "Tue, 14 Nov 2023 22:13:25 GMT" || h.Get("Cache-Control") != "max-age=zz" {
		t.Errorf("bad max-age: header %v", h)
	}
	// Largest timeout still formattable.
	h = http.Header{}
	if err := PatchResponseHeadersAt(h, maxHTTPDateUnix-1700000000, now); err != nil ||
		h.Get("Expires") != "Fri, 31 Dec 9999 23:59:59 GMT" {
		t.Errorf("max timeout: %v %v", err, h)
	}
}

// NeverCacheDecoratorTest.
func TestDjangoNeverCache(t *testing.T) {
	neverCached := []string{"max-age=0", "no-cache", "no-store", "must-revalidate", "private"}
	sorted := cmpopts.SortSlices(func(a, b string) bool { return a < b })

	// test_never_cache_decorator_headers: time.time() mocked to 1167616461.0.
	h := http.Header{}
	if err := AddNeverCacheHeadersAt(h, time.Unix(1167616461, 0)); err != nil {
		t.Fatal(err)
	}
	if got := h.Get("Expires"); got != "Mon, 01 Jan 2007 01:54:21 GMT" {
		t.Errorf("Expires = %q", got)
	}
	if diff := cmp.Diff(neverCached, ccParts(h.Get("Cache-Control")), sorted); diff != "" {
		t.Errorf("Cache-Control (-want +got):\n%s", diff)
	}

	// test_never_cache_decorator_expires_not_overridden, through the middleware.
	handler := NeverCache(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Expires", "tomorrow")
		w.Header().Set("Cache-Control", "public, max-age=60")
	}))
	res := serve(handler, http.MethodGet, nil)
	if got := res.Header.Get("Expires"); got != "tomorrow" {
		t.Errorf("Expires = %q, want tomorrow", got)
	}
	if got := res.Header.Get("Cache-Control"); got != "max-age=0, no-cache, no-store, must-revalidate, private" {
		t.Errorf("Cache-Control = %q", got)
	}

	// Expires = now when the handler sets none.
	before := time.Now().Add(-time.Second)
	res = serve(NeverCache(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("x"))
	})), http.MethodPost, nil)
	exp, err := ParseHTTPDate(res.Header.Get("Expires"))
	if err != nil || exp.Before(before.Truncate(time.Second)) || exp.After(time.Now()) {
		t.Errorf("Expires = %q (%v)", res.Header.Get("Expires"), err)
	}

	// An unreadable max-age set by the handler (Django: ValueError).
	res = serve(NeverCache(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=never")
	})), http.MethodGet, nil)
	if got := res.Header.Get("Cache-Control"); got != "max-age=0, no-cache, no-store, must-revalidate, private" {
		t.Errorf("Cache-Control = %q", got)
	}
}

// CacheControlDecoratorTest.
func TestDjangoCacheControlDecorator(t *testing.T) {
	noop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})

	// test_cache_control_empty_decorator: Cache-Control: "".
	res := serve(CacheControl()(noop), http.MethodGet, nil)
	if got, ok := res.Header["Cache-Control"]; !ok || len(got) != 1 || got[0] != "" {
		t.Errorf("empty decorator: Cache-Control %q, present %v", got, ok)
	}

	// test_cache_control_full_decorator.
	res = serve(CacheControl(MaxAge(123), Private(), Public(), Value("custom", "456"))(noop), http.MethodGet, nil)
	want := []string{"max-age=123", "private", "public", "custom=456"}
	sorted := cmpopts.SortSlices(func(a, b string) bool { return a < b })
	if diff := cmp.Diff(want, ccParts(res.Header.Get("Cache-Control")), sorted); diff != "" {
		t.Errorf("full decorator (-want +got):\n%s", diff)
	}

	// The handler's own directives are merged, max-age takes the minimum.
	res = serve(CacheControl(MaxAge(60), Public())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private, max-age=10")
		w.WriteHeader(http.StatusTeapot)
	})), http.MethodGet, nil)
	if got := res.Header.Get("Cache-Control"); got != "max-age=10, public" || res.StatusCode != http.StatusTeapot {
		t.Errorf("merge: %d %q", res.StatusCode, got)
	}
}

// VaryOnHeadersTests / VaryOnCookieTests.
func TestDjangoVaryDecorators(t *testing.T) {
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("hello"))
	})
	res := serve(VaryOnHeaders("Header", "Another-header")(hello), http.MethodGet, nil)
	if got := res.Header.Get("Vary"); got != "Header, Another-header" {
		t.Errorf("vary_on_headers: Vary %q", got)
	}
	res = serve(VaryOnCookie(hello), http.MethodGet, nil)
	if got := res.Header.Get("Vary"); got != "Cookie" {
		t.Errorf("vary_on_cookie: Vary %q", got)
	}
	// Merged with the handler's Vary, case-insensitively.
	res = serve(VaryOnCookie(VaryOnHeaders("Accept-Encoding")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "cookie")
	}))), http.MethodGet, nil)
	if got := res.Header.Get("Vary"); got != "cookie, Accept-Encoding" {
		t.Errorf("merged: Vary %q", got)
	}
}

func TestHeaderMiddlewareStreaming(t *testing.T) {
	// The hook runs before the header is sent, even when the handler
	// flushes or uses ReadFrom, and exactly once.
	calls := 0
	mw := headerMiddleware(func(h http.Header) { calls++; h.Set("X-Hook", "1") })
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Error(err)
		}
		if _, err := io.Copy(w, strings.NewReader("a")); err != nil { // through ReadFrom
			t.Error(err)
		}
	}))
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/", nil))
	if calls != 1 || rr.Header().Get("X-Hook") != "1" || !rr.Flushed {
		t.Errorf("calls %d, header %v, flushed %v", calls, rr.Header(), rr.Flushed)
	}
}
