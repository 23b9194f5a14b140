package pagecache

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fragcache/fragcache/cache"
)

// neverStored is one way to meet a rule of README's "What is never stored"
// list: handler makes the page, setup sends what must come first (and may
// store), send sends one request of the kind the rule names.
type neverStored struct {
	name    string
	mw      func(tc *testCaches) func(http.Handler) http.Handler // nil: Site
	handler func(w http.ResponseWriter, r *http.Request)         // nil: a plain page
	setup   func(t *testing.T, h http.Handler)
	send    func(t *testing.T, h http.Handler) // nil: GET /x
}

// setHeader is a handler that sets one response header and writes a page.
func setHeader(key string, values ...string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header()[key] = values
		fmt.Fprint(w, "page")
	}
}

// sendGet sends a GET /x changed by edit.
func sendGet(edit func(r *http.Request)) func(t *testing.T, h http.Handler) {
	return func(t *testing.T, h http.Handler) {
		r := get("/x")
		edit(r)
		serveReq(h, r)
	}
}

// sendRaw sends one raw request target through a real server.
func sendRaw(target string, header ...string) func(t *testing.T, h http.Handler) {
	return func(t *testing.T, h http.Handler) {
		srv := httptest.NewServer(h)
		defer srv.Close()
		rawGet(t, srv.Listener.Addr().String(), target, header...)
	}
}

func cachePage(timeout cache.Timeout) func(tc *testCaches) func(http.Handler) http.Handler {
	return func(tc *testCaches) func(http.Handler) http.Handler { return Page(timeout, tc.opts()...) }
}

// neverStoredRules are the cases of each line of README's list, by the
// line's text.
var neverStoredRules = map[string][]neverStored{
	"a request other than `GET` or `HEAD`": {
		{name: "POST", send: func(t *testing.T, h http.Handler) { serveReq(h, newReq("POST", "/x")) }},
		{name: "PUT", send: func(t *testing.T, h http.Handler) { serveReq(h, newReq("PUT", "/x")) }},
	},
	"a response whose status is not 200": {
		{name: "404", handler: func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }},
		{name: "203", handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(203) }},
		{name: "304", handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(304) }},
	},
	"a response that sets a cookie (Django stores it and replays the cookie to every client)": {
		{name: "Set-Cookie", handler: setHeader("Set-Cookie", "a=1")},
		{name: "Set-Cookie with Vary: Cookie", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", "Cookie")
			setHeader("Set-Cookie", "a=1")(w, r)
		}},
		{name: "set-cookie", handler: setHeader("set-cookie", "a=1")},
	},
	"`Cache-Control` with `private`, `no-cache` or `no-store`": {
		{name: "private", handler: setHeader("Cache-Control", "private")},
		{name: "no-cache", handler: setHeader("Cache-Control", `no-cache="Set-Cookie"`)},
		{name: "no-store", handler: setHeader("Cache-Control", "max-age=60", "No-Store")},
	},
	"`Vary: *`": {
		{name: "*", handler: setHeader("Vary", "Cookie, *")},
	},
	"`Cache-Control` with `max-age=0` or `s-maxage=0`, even under a `pagecache.Page` timeout (Django's `cache_page` stores it)": {
		{name: "max-age=0", handler: setHeader("Cache-Control", "max-age=0")},
		{name: "s-maxage=0", handler: setHeader("Cache-Control", "public, s-maxage=0")},
		{name: "Page max-age=0", mw: cachePage(cache.Seconds(300)), handler: setHeader("Cache-Control", "max-age=0")},
		{name: "Page s-maxage=0", mw: cachePage(cache.Seconds(300)), handler: setHeader("Cache-Control", `max-age=60, s-maxage="0"`)},
	},
	"`Pragma: no-cache`": {
		{name: "Pragma", handler: setHeader("Pragma", "no-cache")},
		{name: "Page Pragma", mw: cachePage(cache.Seconds(300)), handler: setHeader("Pragma", "x, No-Cache")},
	},
	"an `Expires` that is not after `Date`, or is not a valid date": {
		{name: "past", handler: setHeader("Expires", "Sun, 06 Nov 1994 08:49:37 GMT")},
		{name: "0", mw: cachePage(cache.Seconds(300)), handler: setHeader("Expires", "0")},
		{name: "equal to Date", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Date", "Sun, 06 Nov 2050 08:49:37 GMT")
			setHeader("Expires", "Sun, 06 Nov 2050 08:49:37 GMT")(w, r)
		}},
	},
	"a page timeout of 0 or less (`cache.Expired`), or `WithSeconds(0)` for a response without `max-age`": {
		{name: "Expired", mw: cachePage(cache.Expired)},
		{name: "negative", mw: cachePage(cache.Seconds(-5))},
		{name: "WithSeconds(0)", mw: func(tc *testCaches) func(http.Handler) http.Handler {
			return Site(tc.opts(WithSeconds(0))...)
		}},
	},
	"a streamed response (the handler called `Flush`)": {
		{name: "Flush", handler: func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "a")
			w.(http.Flusher).Flush()
			fmt.Fprint(w, "b")
		}},
	},
	"a body over `WithMaxBodySize` (1 MiB by default)": {
		{name: "1 MiB + 1", handler: func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write(make([]byte, DefaultMaxBodySize+1))
		}},
		{name: "WithMaxBodySize(3)", mw: func(tc *testCaches) func(http.Handler) http.Handler {
			return Site(tc.opts(WithMaxBodySize(3))...)
		}},
	},
	"a response with trailers": {
		{name: "Trailer", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", "X-Sum")
			fmt.Fprint(w, "page")
			w.Header().Set("X-Sum", "1")
		}},
		{name: "TrailerPrefix", handler: setHeader(http.TrailerPrefix+"X-Sum", "1")},
	},
	"a response to a client that went away before the handler finished": {
		{name: "canceled", send: func(t *testing.T, h http.Handler) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r := get("/x").WithContext(context.WithValue(ctx, cancelKey{}, cancel))
			serveReq(h, r)
		}, handler: func(w http.ResponseWriter, r *http.Request) {
			if cancel, ok := r.Context().Value(cancelKey{}).(context.CancelFunc); ok {
				cancel()
			}
			fmt.Fprint(w, "page")
		}},
	},
	"a hijacked connection, and every request with `Upgrade` (WebSocket), which passes straight through": {
		{name: "Upgrade", send: sendGet(func(r *http.Request) {
			r.Header.Set("Upgrade", "websocket")
			r.Header.Set("Connection", "Upgrade")
		})},
		{name: "hijack", send: sendRaw("/x"), handler: func(w http.ResponseWriter, r *http.Request) {
			conn, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			_, _ = brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			_ = brw.Flush()
		}},
	},
	"the response to a request with `Authorization` for a URL whose learned Vary headers lack `Authorization` (a stored page with `public`, `s-maxage` or `must-revalidate` may still answer it: RFC 9111 §3.5)": {
		{name: "after an anonymous page", setup: func(t *testing.T, h http.Handler) { serveReq(h, get("/x")) },
			send: sendGet(func(r *http.Request) { r.Header.Set("Authorization", "Bearer alice") })},
		{name: "no page stored", setup: func(t *testing.T, h http.Handler) {
			serveReq(h, get("/x"))
			serveReq(h, get("/x?"+strings.Repeat("a", 3))) // another URL
		}, send: sendGet(func(r *http.Request) { r.Header.Set("Authorization", "Basic eDp5") })},
	},
	"a request whose target Django's key normalizes: `%2F`, an encoded letter, lower-case or invalid UTF-8 escapes, dot segments, a query byte that `iri_to_uri` encodes (`\"` `<` `>` `\\` `^` `` ` `` `{` `|` `}`) or reads as ISO-8859-1, an absolute-form target": {
		{name: "%2F", send: sendRaw("/a%2Fb")},
		{name: "encoded letter", send: sendRaw("/%61")},
		{name: "lower-case escape", send: sendRaw("/caf%c3%a9")},
		{name: "invalid UTF-8", send: sendRaw("/files/%FF")},
		{name: "dot segments", send: sendRaw("/a/./b")},
		{name: "query bytes", send: sendRaw("/x?q=\"<>\\^`{|}")},
		{name: "query beyond ASCII", send: sendRaw("/x?q=caf\xc3\xa9")},
		{name: "absolute form", send: sendRaw("http://example.com/x")},
	},
	"a request that sends a header the page varies on on more than one line": {
		{name: "Cookie", handler: setHeader("Vary", "Cookie"), send: sendGet(func(r *http.Request) {
			r.Header["Cookie"] = []string{"a=1", "b=2"}
		})},
		{name: "learned", handler: setHeader("Vary", "Accept-Encoding"),
			setup: func(t *testing.T, h http.Handler) { serveReq(h, get("/x")) },
			send: sendGet(func(r *http.Request) {
				r.Header["Accept-Encoding"] = []string{"gzip", "br"}
			})},
	},
	"under the legacy key scheme (Django ≤ 6.0), a `Vary` that those versions split into other names than 6.1 does (`Cookie,`, ` Cookie`, `A,,B`, an empty `Vary`): they would learn `HTTP_ COOKIE`, which no request matches": {
		{name: "Cookie,", mw: legacySite, handler: setHeader("Vary", "Cookie,")},
		{name: " Cookie", mw: legacySite, handler: setHeader("Vary", " Cookie")},
		{name: "A,,B", mw: legacySite, handler: setHeader("Vary", "A,,B")},
		{name: "empty", mw: legacySite, handler: setHeader("Vary", "")},
	},
	"a request with a host Django rejects (`DisallowedHost`)": {
		{name: "bad host", send: sendGet(func(r *http.Request) { r.Host = "bad host" })},
		{name: "bad port", send: sendGet(func(r *http.Request) { r.Host = "example.com:x" })},
	},
	"with `WithAnonymousOnly`, a request carrying the session cookie": {
		{name: "sessionid", mw: func(tc *testCaches) func(http.Handler) http.Handler {
			return Site(tc.opts(WithAnonymousOnly(""))...)
		}, send: sendGet(func(r *http.Request) { r.Header.Set("Cookie", "sessionid=abc") })},
	},
}

type cancelKey struct{}

// legacySite is Site under the legacy key scheme.
func legacySite(tc *testCaches) func(http.Handler) http.Handler {
	return Site(tc.opts(WithKeyScheme(cache.KeySchemeLegacy))...)
}

// TestReadmeNeverStored checks README's list of what the page cache never
// stores against the code: every line has cases, every case a line, and in
// each case the handler runs for every request and no key is written.
func TestReadmeNeverStored(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, list, ok := strings.Cut(string(readme), "<!-- never-stored -->\n")
	list, _, ok2 := strings.Cut(list, "<!-- /never-stored -->")
	if !ok || !ok2 {
		t.Fatal("README.md has no never-stored list")
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
		rule, ok := strings.CutPrefix(line, "- ")
		if !ok {
			t.Errorf("not a list line: %q", line)
			continue
		}
		seen[rule] = true
		cases := neverStoredRules[rule]
		if len(cases) == 0 {
			t.Errorf("README line without a test: %q", rule)
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) { checkNeverStored(t, c) })
		}
	}
	for rule := range neverStoredRules {
		if !seen[rule] {
			t.Errorf("tested rule missing from README: %q", rule)
		}
	}
}

func checkNeverStored(t *testing.T, c neverStored) {
	tc := newTestCaches(t)
	var calls atomic.Int32
	page := c.handler
	if page == nil {
		page = func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "page") }
	}
	mw := Site(tc.opts()...)
	if c.mw != nil {
		mw = c.mw(tc)
	}
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		page(w, r)
	}))
	if c.setup != nil {
		c.setup(t, h)
	}
	before := slices.Sorted(slices.Values(tc.stores[cache.DefaultAlias].Keys()))
	n := calls.Load()
	send := c.send
	if send == nil {
		send = sendGet(func(*http.Request) {})
	}
	send(t, h)
	send(t, h)
	if got := calls.Load() - n; got != 2 {
		t.Errorf("the handler ran %d times for 2 requests", got)
	}
	if after := slices.Sorted(slices.Values(tc.stores[cache.DefaultAlias].Keys())); !slices.Equal(before, after) {
		t.Errorf("keys %q became %q", before, after)
	}
}
