package pagecache

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	coderws "github.com/coder/websocket"
	"github.com/gorilla/websocket"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/httpx"
)

// The hardening battery: request targets that Django's key merges, protocol
// switches, credentials and responses that are stale when made. Requests
// go through a real net/http server over raw TCP, so that the bytes of the
// request target are exactly the attacker's.

// rawResponse is a response read off the wire.
type rawResponse struct {
	status int
	header http.Header
	body   string
}

// rawGet sends one request with the target as it is and reads the response.
func rawGet(t *testing.T, addr, target string, header ...string) rawResponse {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: example.com\r\n", target)
	for _, h := range header {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%q: %v", target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

const (
	bypassURL    = "fragcache; fwd=bypass; detail=url"
	storedStatus = "fragcache; fwd=uri-miss; stored"
)

func TestHardeningQueryXSS(t *testing.T) {
	// A handler keeping the query in its next-page link. Django's key quotes
	// the raw bytes " < > \ ^ ` { | } and leaves % alone, so the raw and the
	// encoded query share a key while the handler reflects each as sent.
	tc := newTestCaches(t)
	var calls atomic.Int32
	search := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		fmt.Fprintf(w, `<a href="/search?%s&amp;page=2">next</a>`, r.URL.RawQuery)
	})
	srv := httptest.NewServer(Site(tc.opts()...)(search))
	defer srv.Close()
	addr := srv.Listener.Addr().String()

	const raw = `/search?q=<script>alert(1)</script>"`
	const encoded = `/search?q=%3Cscript%3Ealert(1)%3C/script%3E%22`
	// The attacker's raw request is left alone: neither looked up nor stored.
	a := rawGet(t, addr, raw)
	if a.status != 200 || a.header.Get("Cache-Status") != bypassURL {
		t.Fatalf("raw query: %d %q", a.status, a.header.Get("Cache-Status"))
	}
	if !strings.Contains(a.body, "<script>") {
		t.Fatalf("the handler saw %q", a.body)
	}
	// Every visitor with the encoded form gets their own page, from the
	// cache on the second visit.
	for i, want := range []string{storedStatus, statusHit} {
		v := rawGet(t, addr, encoded)
		if v.header.Get("Cache-Status") != want {
			t.Errorf("visit %d: Cache-Status %q, want %q", i, v.header.Get("Cache-Status"), want)
		}
		if strings.Contains(v.body, "<script>") || !strings.Contains(v.body, "%3Cscript%3E") {
			t.Errorf("visit %d: the victim got %q", i, v.body)
		}
	}
	// The raw form again, with the encoded page stored: still the handler.
	if a := rawGet(t, addr, raw); a.header.Get("Cache-Status") != bypassURL || !strings.Contains(a.body, "<script>") {
		t.Errorf("raw query after: %q %q", a.header.Get("Cache-Status"), a.body)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("handler ran %d times, want 3", n)
	}

	// Each byte the key percent-encodes: the raw form bypasses, the encoded
	// form is cached.
	for _, c := range []byte("\"<>\\^`{|}") {
		rawT := fmt.Sprintf("/b?q=a%cz", c)
		encT := fmt.Sprintf("/b?q=a%%%02Xz", c)
		if got := rawGet(t, addr, rawT); got.status != 200 || got.header.Get("Cache-Status") != bypassURL {
			t.Errorf("%q: %d %q", rawT, got.status, got.header.Get("Cache-Status"))
		}
		rawGet(t, addr, encT)
		if got := rawGet(t, addr, encT); got.header.Get("Cache-Status") != statusHit || !strings.Contains(got.body, encT[len("/b?"):]) {
			t.Errorf("%q: %q %q", encT, got.header.Get("Cache-Status"), got.body)
		}
	}
}

func TestHardeningTargetForms(t *testing.T) {
	// Request targets the key does not keep byte for byte are left alone;
	// the form the key writes is cached. Table: target, cached.
	tc := newTestCaches(t)
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "target=%s", r.RequestURI)
	})
	srv := httptest.NewServer(Site(tc.opts()...)(echo))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	tests := []struct {
		target string
		cached bool
	}{
		{"/files/%FF", false},  // invalid UTF-8: the key writes %25FF
		{"/files/%25FF", true}, // the key's own form
		{"/caf%C3%A9", true},
		{"/caf%c3%a9", false}, // lower-case hex: the key writes upper case
		{"/a%41", false},      // an encoded letter
		{"/a%2Fb", false},     // an encoded slash
		{"/x/../a", false},    // dot segments
		{"/p;x=1", false},     // escape_uri_path encodes ; and =
		{"/p%3Bx%3D1", true},
		{"/q?a=%zz", true}, // iri_to_uri keeps %
		{"/q?b=caf\xc3\xa9", false},
		{"/q?b=caf%C3%A9", true},
		{"http://example.com/abs", false}, // absolute form
		{"/abs", true},
	}
	for _, tt := range tests {
		first := rawGet(t, addr, tt.target)
		second := rawGet(t, addr, tt.target)
		if first.status != 200 {
			t.Errorf("%q: status %d", tt.target, first.status)
			continue
		}
		wantStatus := bypassURL
		if tt.cached {
			wantStatus = statusHit
		}
		if got := second.header.Get("Cache-Status"); got != wantStatus {
			t.Errorf("%q: second Cache-Status %q, want %q", tt.target, got, wantStatus)
		}
		if second.body != "target="+tt.target {
			t.Errorf("%q: got the page of %q", tt.target, second.body)
		}
	}
	// /files/%FF and /files/%25FF share Django's key: each gets its own page
	// in either order.
	for _, target := range []string{"/files/%25FF", "/files/%FF", "/files/%25FF"} {
		if got := rawGet(t, addr, target); got.body != "target="+target {
			t.Errorf("%q got %q", target, got.body)
		}
	}
}

func TestHardeningRequestsMadeInGo(t *testing.T) {
	// A request built in Go (no RequestURI) is compared with the path a
	// handler escapes: the encoded slash and the absolute form of httptest
	// bypass, a plain path is cached.
	tc := newTestCaches(t)
	view := newHelloWorld()
	h := Site(tc.opts()...)(view)
	for _, tt := range []struct {
		build  func() *http.Request
		status string
	}{
		{func() *http.Request { r, _ := http.NewRequest("GET", "http://example.com/a%2Fb", nil); return r }, bypassURL},
		{func() *http.Request { return httptest.NewRequest("GET", "http://example.com/abs", nil) }, bypassURL},
		{func() *http.Request {
			r, _ := http.NewRequest("GET", "http://example.com/caf%C3%A9?x=1", nil)
			return r
		}, statusHit},
	} {
		serveReq(h, tt.build())
		rr := serveReq(h, tt.build())
		if got := rr.Header().Get("Cache-Status"); got != tt.status {
			t.Errorf("%s: %q, want %q", tt.build().URL, got, tt.status)
		}
	}
}

func TestHardeningRepeatedHeaders(t *testing.T) {
	// Two Cookie lines and one joined line share a key (WSGI joins them)
	// while r.Cookie parses them differently: a request with a Vary-listed
	// header on several lines is left alone; other headers may repeat.
	tc := newTestCaches(t)
	h := Site(tc.opts()...)(httpx.VaryOnCookie(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := r.Cookie("b")
		fmt.Fprintf(w, "b=%v", c)
	})))
	srv := httptest.NewServer(h)
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	rawGet(t, addr, "/c", "Cookie: a=1,b=2") // learns Vary: Cookie, stores
	if got := rawGet(t, addr, "/c", "Cookie: a=1,b=2"); got.header.Get("Cache-Status") != statusHit {
		t.Errorf("joined: %q", got.header.Get("Cache-Status"))
	}
	two := rawGet(t, addr, "/c", "Cookie: a=1", "Cookie: b=2")
	if two.header.Get("Cache-Status") != "fragcache; fwd=bypass; detail=header" || two.body != "b=b=2" {
		t.Errorf("two lines: %q %q", two.header.Get("Cache-Status"), two.body)
	}
	// Not listed in Vary: repeated lines do not matter.
	if got := rawGet(t, addr, "/c", "Cookie: a=1,b=2", "X-Other: 1", "X-Other: 2"); got.header.Get("Cache-Status") != statusHit {
		t.Errorf("unlisted repeated header: %q", got.header.Get("Cache-Status"))
	}
	// Before the header list is learned, a response whose Vary lists the
	// repeated header is not stored.
	two = rawGet(t, addr, "/d", "Cookie: a=1", "Cookie: b=2")
	if got := two.header.Get("Cache-Status"); got != "fragcache; fwd=uri-miss; detail=header" {
		t.Errorf("two lines, list unknown: %q", got)
	}
}

func TestHardeningAuthorization(t *testing.T) {
	// RFC 9111 §3.5: after an anonymous request, a request with credentials
	// is answered from the cache only by a page that varies on Authorization
	// or may be shared (public, s-maxage, must-revalidate).
	tests := []struct {
		cacheControl string
		shared       bool
	}{
		{"", false},
		{"max-age=60", false},
		{"public", true},
		{"Public, max-age=60", true},
		{"s-maxage=60", true},
		{"must-revalidate", true},
	}
	for _, tt := range tests {
		t.Run(tt.cacheControl, func(t *testing.T) {
			tc := newTestCaches(t)
			view := &personal{decorate: func(w http.ResponseWriter, r *http.Request) {
				if tt.cacheControl != "" {
					w.Header().Set("Cache-Control", tt.cacheControl)
				}
			}}
			h := Site(tc.opts()...)(view)
			serveReq(h, get("/p")) // anonymous, stored
			for _, auth := range []string{"Bearer alice", "Bearer bob"} {
				r := get("/p")
				r.Header.Set("Authorization", auth)
				rr := serveReq(h, r)
				if tt.shared {
					if rr.Header().Get("Cache-Status") != statusHit {
						t.Errorf("%s: %q", auth, rr.Header().Get("Cache-Status"))
					}
					continue
				}
				if !sees(rr.Body.String(), "", auth) {
					t.Errorf("%s got %q", auth, rr.Body.String())
				}
				if got := rr.Header().Get("Cache-Status"); got != "fragcache; fwd=bypass; detail=authorization" {
					t.Errorf("%s: Cache-Status %q", auth, got)
				}
			}
			// The anonymous page is still there.
			if rr := serveReq(h, get("/p")); rr.Header().Get("Cache-Status") != statusHit || !sees(rr.Body.String(), "", "") {
				t.Errorf("anonymous: %q %q", rr.Header().Get("Cache-Status"), rr.Body.String())
			}
		})
	}

	// A page that varies on Authorization is found by the same credentials.
	tc := newTestCaches(t)
	view := &personal{}
	h := Site(tc.opts()...)(view)
	for round := range 2 {
		r := get("/me")
		r.Header.Set("Authorization", "Bearer alice")
		rr := serveReq(h, r)
		if !sees(rr.Body.String(), "", "Bearer alice") || (round == 1) != (rr.Header().Get("Cache-Status") == statusHit) {
			t.Errorf("round %d: %q %q", round, rr.Header().Get("Cache-Status"), rr.Body.String())
		}
	}
}

// upgraders are WebSocket servers of both libraries: each echoes one
// message.
var upgraders = map[string]http.HandlerFunc{
	"gorilla": func(w http.ResponseWriter, r *http.Request) {
		conn, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		mt, msg, err := conn.ReadMessage()
		if err == nil {
			_ = conn.WriteMessage(mt, msg)
		}
	},
	"coder": func(w http.ResponseWriter, r *http.Request) {
		conn, err := coderws.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer conn.CloseNow()
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		mt, msg, err := conn.Read(ctx)
		if err == nil {
			_ = conn.Write(ctx, mt, msg)
		}
	},
}

func TestHardeningWebSockets(t *testing.T) {
	// WebSocket handshakes of both libraries work behind Site and
	// Page, with gorilla and coder clients, and leave nothing stored.
	for name, upgrade := range upgraders {
		for _, mw := range []string{"Site", "Page"} {
			t.Run(name+"/"+mw, func(t *testing.T) {
				tc := newTestCaches(t)
				var h http.Handler
				if mw == "Site" {
					h = Site(tc.opts()...)(upgrade)
				} else {
					h = Page(60, tc.opts()...)(upgrade)
				}
				srv := httptest.NewServer(h)
				defer srv.Close()
				url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				for i := range 2 {
					// gorilla client
					c, resp, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
					if err != nil {
						t.Fatalf("gorilla dial %d: %v", i, err)
					}
					// gorilla writes its own 101 on the hijacked connection,
					// without the headers set on the ResponseWriter.
					if got := resp.Header.Get("Cache-Status"); name == "coder" && got != "fragcache; fwd=bypass; detail=upgrade" {
						t.Errorf("Cache-Status %q", got)
					}
					if err := c.WriteMessage(websocket.TextMessage, []byte("hi")); err != nil {
						t.Fatal(err)
					}
					if _, msg, err := c.ReadMessage(); err != nil || string(msg) != "hi" {
						t.Fatalf("gorilla echo %q %v", msg, err)
					}
					c.Close()
					// coder client
					cc, _, err := coderws.Dial(ctx, url, nil)
					if err != nil {
						t.Fatalf("coder dial %d: %v", i, err)
					}
					if err := cc.Write(ctx, coderws.MessageText, []byte("yo")); err != nil {
						t.Fatal(err)
					}
					if _, msg, err := cc.Read(ctx); err != nil || string(msg) != "yo" {
						t.Fatalf("coder echo %q %v", msg, err)
					}
					cc.CloseNow()
				}
				if n := len(tc.stores["default"].Keys()); n != 0 {
					t.Errorf("%d keys stored", n)
				}
			})
		}
	}
}

func TestHardeningHijack(t *testing.T) {
	// A handler that hijacks a plain GET (no Upgrade header) and writes its
	// own response, through http.Hijacker or http.ResponseController: it
	// works every time and nothing is stored.
	hijackers := map[string]func(w http.ResponseWriter) (net.Conn, *bufio.ReadWriter, error){
		"Hijacker": func(w http.ResponseWriter) (net.Conn, *bufio.ReadWriter, error) {
			return w.(http.Hijacker).Hijack()
		},
		"ResponseController": func(w http.ResponseWriter) (net.Conn, *bufio.ReadWriter, error) {
			rc := http.NewResponseController(w)
			if err := rc.SetWriteDeadline(time.Now().Add(5 * time.Second)); err != nil {
				return nil, nil, err
			}
			return rc.Hijack()
		},
	}
	for name, hijack := range hijackers {
		t.Run(name, func(t *testing.T) {
			tc := newTestCaches(t)
			var calls atomic.Int32
			h := Site(tc.opts()...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := calls.Add(1)
				w.Header().Set("X-Before", "1") // dropped: the handler writes its own response
				conn, brw, err := hijack(w)
				if err != nil {
					http.Error(w, err.Error(), 500)
					return
				}
				defer conn.Close()
				fmt.Fprintf(brw, "HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\ncall %d\n", n)
				_ = brw.Flush()
			}))
			srv := httptest.NewServer(h)
			defer srv.Close()
			for i := 1; i <= 3; i++ {
				got := rawGet(t, srv.Listener.Addr().String(), "/h")
				if got.body != fmt.Sprintf("call %d\n", i) {
					t.Errorf("request %d got %q", i, got.body)
				}
			}
			if n := len(tc.stores["default"].Keys()); n != 0 {
				t.Errorf("%d keys stored", n)
			}
		})
	}

	// A handler that sets 101 and then hijacks (as coder/websocket does)
	// gets the status line sent before the connection is handed over.
	tc := newTestCaches(t)
	h := Site(tc.opts()...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Upgrade", "x-test")
		w.Header().Set("Connection", "Upgrade")
		w.WriteHeader(http.StatusSwitchingProtocols)
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("switched")
		_ = brw.Flush()
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(conn, "GET /up HTTP/1.1\r\nHost: example.com\r\n\r\n") // no Upgrade: not bypassed
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(br)
	if resp.StatusCode != 101 || resp.Header.Get("Upgrade") != "x-test" || string(rest) != "switched" {
		t.Errorf("101 then hijack: %d %v %q", resp.StatusCode, resp.Header, rest)
	}
	if n := len(tc.stores["default"].Keys()); n != 0 {
		t.Errorf("%d keys stored", n)
	}
}

// ctxBackend fails every read with the caller's context error, as network
// backends do when the client goes away.
type ctxBackend struct{ cache.Backend }

func (b ctxBackend) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("redis: GET: %w", err)
	}
	return b.Backend.Get(ctx, key)
}

func TestClientGoneIsNotABackendError(t *testing.T) {
	// A client that went away cancels the request's context: the cache
	// call fails with context.Canceled, which is neither counted nor logged
	// above Debug.
	tc := newTestCaches(t)
	c, err := cache.New(ctxBackend{tc.stores["default"]})
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	pc, err := New(WithCache(c), WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	serveReq(pc.Handler(newHelloWorld()), get("/gone").WithContext(ctx))
	if st := pc.Stats(); st.Errors != 0 {
		t.Errorf("a client that went away counted as a backend error: %+v", st)
	}
	if strings.Contains(logged.String(), "level=WARN") || strings.Contains(logged.String(), "level=ERROR") {
		t.Errorf("logged above Debug: %q", logged.String())
	}
}

func TestCoalescingWaitIsBounded(t *testing.T) {
	// The leader's render is stuck; a follower waits WithCoalescingWait,
	// then renders the page itself and does not store it. The leader's
	// response is stored when it finishes.
	tc := newTestCaches(t)
	release := make(chan struct{})
	var calls atomic.Int32
	view := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			<-release // the leader
		}
		fmt.Fprint(w, "page")
	})
	joined := make(chan struct{}, 1)
	p, err := New(tc.opts(WithCoalescingWait(50*time.Millisecond), func(c *config) { c.onJoin = func() { joined <- struct{}{} } })...)
	if err != nil {
		t.Fatal(err)
	}
	h := p.Handler(view)
	leader := make(chan *httptest.ResponseRecorder)
	go func() { leader <- serveReq(h, get("/slow")) }()
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- serveReq(h, get("/slow")) }()
	<-joined
	rr := <-done
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("the follower waited %v", el)
	}
	if got := rr.Header().Get("Cache-Status"); got != "fragcache; fwd=uri-miss; detail=wait-timeout" || rr.Body.String() != "page" {
		t.Errorf("follower: %q %q", got, rr.Body.String())
	}
	close(release)
	if got := (<-leader).Header().Get("Cache-Status"); got != storedStatus {
		t.Errorf("leader: %q", got)
	}
	if st := p.Stats(); st.CoalesceTimeouts != 1 || st.Stored != 1 {
		t.Errorf("stats %+v", st)
	}
	// The default bound is the fail-open wrapper's operation timeout.
	if _, err := New(tc.opts(WithCoalescingWait(-1))...); !errors.Is(err, cache.ErrInvalidOption) {
		t.Errorf("WithCoalescingWait(-1): %v", err)
	}
}

func TestCoalescingWaitDefault(t *testing.T) {
	c, err := backends.Open("redis://127.0.0.1:1?op_timeout=123ms")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := New(WithCache(c))
	if err != nil {
		t.Fatal(err)
	}
	if p.cfg.coalesceWait != 123*time.Millisecond {
		t.Errorf("default wait %v, want the cache's op_timeout", p.cfg.coalesceWait)
	}
	tc := newTestCaches(t)
	if p, _ := New(tc.opts()...); p.cfg.coalesceWait != 0 {
		t.Errorf("memory cache: wait %v, want none", p.cfg.coalesceWait)
	}
}

func TestStoreFailedIsTold(t *testing.T) {
	// A fail-open cache that cannot reach its server answers the store as
	// done: the page cache says the store failed, and counts it.
	c, err := backends.Open("redis://127.0.0.1:1?dial_timeout=50ms")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pc, err := New(WithCache(c))
	if err != nil {
		t.Fatal(err)
	}
	rr := serveReq(pc.Handler(newHelloWorld()), get("/down"))
	if got := rr.Header().Get("Cache-Status"); got != "fragcache; fwd=uri-miss; detail=store-failed" {
		t.Errorf("Cache-Status %q", got)
	}
	if st := pc.Stats(); st.Stored != 0 || st.Errors != 1 {
		t.Errorf("stats %+v", st)
	}
	if st := c.Stats(); st.Sets != 0 || st.Errors == 0 {
		t.Errorf("cache stats %+v: a swallowed store counted as a set", st)
	}
	// Every stats view shows the breaker and the backend's failures.
	if st := pc.Stats(); st.Backend.Breaker != "closed" || st.Backend.Failures == 0 {
		t.Errorf("page cache stats do not show the backend's health: %+v", st.Backend)
	}
	tc := newTestCaches(t)
	if st := tc.def().Stats(); st.Backend != (cache.BackendHealth{}) {
		t.Errorf("memory cache: %+v", st.Backend)
	}
}
