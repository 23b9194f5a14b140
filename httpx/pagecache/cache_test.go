package pagecache

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/memory"
)

func TestPageCacheStatus(t *testing.T) {
	// Cache-Status (RFC 9211) for every path through the page cache.
	type step struct {
		method, target string
		header         http.Header
		want           string
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		opts    []Option
		steps   []step
	}{
		{"stored then hit", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "x") }, nil, []step{
			{"GET", "/a", nil, "fragcache; fwd=uri-miss; stored"},
			{"GET", "/a", nil, "fragcache; hit"},
			{"HEAD", "/a", nil, "fragcache; hit"},
			{"POST", "/a", nil, "fragcache; fwd=method"},
			{"PUT", "/a", nil, "fragcache; fwd=method"},
		}},
		{"vary miss", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", "Accept-Encoding")
			fmt.Fprint(w, "x")
		}, nil, []step{
			{"GET", "/a", http.Header{"Accept-Encoding": {"gzip"}}, "fragcache; fwd=uri-miss; stored"},
			{"GET", "/a", http.Header{"Accept-Encoding": {"br"}}, "fragcache; fwd=vary-miss; stored"},
			{"GET", "/a", http.Header{"Accept-Encoding": {"br"}}, "fragcache; hit"},
			{"HEAD", "/a", http.Header{"Accept-Encoding": {"zstd"}}, "fragcache; fwd=vary-miss; stored"},
		}},
		{"status", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) }, nil, []step{
			{"GET", "/a", nil, "fragcache; fwd=uri-miss; detail=status"},
		}},
		{"304", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotModified) }, nil, []step{
			{"GET", "/a", nil, "fragcache; fwd=uri-miss; detail=status"},
		}},
		{"private", func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Cache-Control", "Private") }, nil, []step{
			{"GET", "/a", nil, "fragcache; fwd=uri-miss; detail=private"},
		}},
		{"no-store", func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Cache-Control", "no-store=x") }, nil, []step{
			{"GET", "/a", nil, "fragcache; fwd=uri-miss; detail=no-store"},
		}},
		{"vary star", func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Vary", "*") }, nil, []step{
			{"GET", "/a", nil, "fragcache; fwd=uri-miss; detail=vary"},
		}},
		{"max-age 0", func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Cache-Control", "max-age=0") }, nil, []step{
			{"GET", "/a", nil, "fragcache; fwd=uri-miss; detail=max-age"},
		}},
		{"bad max-age", func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Cache-Control", "max-age=abc") }, nil, []step{
			{"GET", "/a", nil, "fragcache; fwd=uri-miss; detail=headers"},
		}},
		{"timeout 0", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "x") }, []Option{WithSeconds(0)}, []step{
			{"GET", "/a", nil, "fragcache; fwd=uri-miss; detail=timeout"},
		}},
		{"set-cookie", func(w http.ResponseWriter, r *http.Request) { http.SetCookie(w, &http.Cookie{Name: "a", Value: "b"}) }, nil, []step{
			{"GET", "/a", nil, "fragcache; fwd=uri-miss; detail=set-cookie"},
		}},
		{"trailers", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", "X-Sum")
			fmt.Fprint(w, "x")
			w.Header().Set("X-Sum", "1")
		}, nil, []step{
			{"GET", "/a", nil, "fragcache; fwd=uri-miss; detail=trailers"},
		}},
		{"streamed", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "x")
			w.(http.Flusher).Flush()
		}, nil, []step{
			{"GET", "/a", nil, "fragcache; fwd=uri-miss; detail=streamed"},
		}},
		{"too large", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, strings.Repeat("x", 100)) },
			[]Option{WithMaxBodySize(10)}, []step{
				{"GET", "/a", nil, "fragcache; fwd=uri-miss; detail=too-large"},
			}},
		{"bypass", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "x") }, []Option{WithAnonymousOnly("sid")}, []step{
			{"GET", "/a", http.Header{"Cookie": {"sid=1"}}, "fragcache; fwd=bypass; detail=session"},
			{"GET", "/a%2Fb", nil, "fragcache; fwd=bypass; detail=url"},
		}},
		{"off", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "x") }, []Option{WithCacheStatus(false)}, []step{
			{"GET", "/a", nil, ""},
			{"GET", "/a", nil, ""},
			{"POST", "/a", nil, ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := newTestCaches(t)
			h := Site(tc.opts(tt.opts...)...)(tt.handler)
			for i, s := range tt.steps {
				r := newReq(s.method, s.target)
				for k, v := range s.header {
					r.Header[k] = v
				}
				rr := serveReq(h, r)
				if got := rr.Header().Get("Cache-Status"); got != s.want {
					t.Errorf("step %d: Cache-Status %q, want %q", i, got, s.want)
				}
			}
		})
	}
}

func TestPageCacheInvalidHost(t *testing.T) {
	tc := newTestCaches(t)
	view := &personal{}
	h := Site(tc.opts()...)(view)
	for _, host := range []string{"", "bad host", "a,b", "host:", "[::1", "é.example"} {
		r := get("/x")
		r.Host = host
		if rr := serveReq(h, r); rr.Header().Get("Cache-Status") != "fragcache; fwd=bypass; detail=host" {
			t.Errorf("host %q: %q", host, rr.Header().Get("Cache-Status"))
		}
	}
	// Case and port are kept: four hosts, four entries.
	for _, host := range []string{"example.com", "EXAMPLE.com", "example.com:8080", "[::1]:80"} {
		r := get("/x")
		r.Host = host
		serveReq(h, r)
		serveReq(h, r)
	}
	if view.count() != 6+4 {
		t.Errorf("handler ran %d times", view.count())
	}
}

func TestPageCacheConditional(t *testing.T) {
	// Conditional requests are answered from the stored headers, on a hit and
	// on the miss that stores the page; 304s carry Django's subset.
	tc := newTestCaches(t)
	lm := "Sun, 21 Oct 2007 23:21:47 GMT"
	n := 0
	h := Site(tc.opts()...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Last-Modified", lm)
		w.Header().Set("Content-Language", "en")
		w.Header().Set("Vary", "Accept-Encoding")
		fmt.Fprint(w, "hello")
	}))
	tests := []struct {
		name   string
		header http.Header
		status int
	}{
		{"miss with matching INM", http.Header{"If-None-Match": {`"v1"`}}, 304},
		{"hit with matching INM", http.Header{"If-None-Match": {`"v1"`}}, 304},
		{"weak INM", http.Header{"If-None-Match": {`W/"v1"`}}, 304},
		{"INM list", http.Header{"If-None-Match": {`"a", "v1"`}}, 304},
		{"INM star", http.Header{"If-None-Match": {"*"}}, 304},
		{"INM other", http.Header{"If-None-Match": {`"v2"`}}, 200},
		{"malformed INM", http.Header{"If-None-Match": {`"""`}}, 200},
		{"unquoted INM", http.Header{"If-None-Match": {"v1"}}, 200},
		{"IMS equal", http.Header{"If-Modified-Since": {lm}}, 304},
		{"IMS later", http.Header{"If-Modified-Since": {"Mon, 18 Oct 2010 16:56:23 GMT"}}, 304},
		{"IMS earlier", http.Header{"If-Modified-Since": {"Sat, 20 Oct 2007 23:21:47 GMT"}}, 200},
		{"IMS garbage", http.Header{"If-Modified-Since": {"garbage"}}, 200},
		{"IMS invalid date", http.Header{"If-Modified-Since": {"Mon, 32 Oct 2010 16:56:23 GMT"}}, 200},
		{"IMS duplicated", http.Header{"If-Modified-Since": {lm, lm}}, 200},
		{"INM mismatch wins over IMS", http.Header{"If-None-Match": {`"x"`}, "If-Modified-Since": {lm}}, 200},
		{"If-Match mismatch", http.Header{"If-Match": {`"x"`}}, 412},
		{"If-Match match", http.Header{"If-Match": {`"v1"`}}, 200},
		{"IUS earlier", http.Header{"If-Unmodified-Since": {"Sat, 20 Oct 2007 23:21:47 GMT"}}, 412},
		{"huge INM", http.Header{"If-None-Match": {strings.Repeat(`"x", `, 20000) + `"v1"`}}, 304},
	}
	for _, tt := range tests {
		r := get("/c")
		for k, v := range tt.header {
			r.Header[k] = v
		}
		rr := serveReq(h, r)
		if rr.Code != tt.status {
			t.Errorf("%s: status %d, want %d", tt.name, rr.Code, tt.status)
			continue
		}
		switch tt.status {
		case 304:
			if rr.Body.Len() != 0 || rr.Header().Get("Content-Type") != "" || rr.Header().Get("Content-Length") != "" ||
				rr.Header().Get("Content-Language") != "" || rr.Header().Get("ETag") != `"v1"` ||
				rr.Header().Get("Last-Modified") != lm || rr.Header().Get("Vary") != "Accept-Encoding" ||
				rr.Header().Get("Expires") == "" || rr.Header().Get("Cache-Control") != "max-age=600" {
				t.Errorf("%s: 304 headers %v", tt.name, rr.Header())
			}
		case 412:
			if rr.Header().Get("Content-Type") != "text/html; charset=utf-8" || rr.Body.Len() != 0 || rr.Header().Get("ETag") != "" {
				t.Errorf("%s: 412 %v", tt.name, rr.Header())
			}
		case 200:
			if rr.Body.String() != "hello" || rr.Header().Get("Content-Language") != "en" {
				t.Errorf("%s: %q %v", tt.name, rr.Body.String(), rr.Header())
			}
		}
		if !strings.HasPrefix(rr.Header().Get("Cache-Status"), "fragcache; ") {
			t.Errorf("%s: Cache-Status %q", tt.name, rr.Header().Get("Cache-Status"))
		}
	}
	if n != 1 {
		t.Errorf("handler ran %d times", n)
	}
}

func TestPageCacheHitHeaders(t *testing.T) {
	// A hit carries the same headers as the miss (plus Age), Content-Length
	// included; HEAD gets no body; hop-by-hop headers are not stored.
	tc := newTestCaches(t)
	page := strings.Repeat("<p>hello</p>", 500)
	h := Site(tc.opts()...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "X-Hop")
		w.Header().Set("X-Hop", "1")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("X-Kept", "yes")
		w.Header()["Date"] = nil // suppress Date
		fmt.Fprint(w, page)
	}))
	miss := serveReq(h, get("/p"))
	tc.advance(7 * time.Second)
	hit := serveReq(h, get("/p"))
	head := serveReq(h, newReq(http.MethodHead, "/p"))
	if miss.Header().Get("Content-Type") != "text/html; charset=utf-8" || miss.Header().Get("Content-Length") != fmt.Sprint(len(page)) {
		t.Errorf("miss headers %v", miss.Header())
	}
	for _, k := range []string{"Content-Type", "Content-Length", "Expires", "Cache-Control", "X-Kept"} {
		if miss.Header().Get(k) != hit.Header().Get(k) || hit.Header().Get(k) != head.Header().Get(k) {
			t.Errorf("%s: miss %q hit %q head %q", k, miss.Header().Get(k), hit.Header().Get(k), head.Header().Get(k))
		}
	}
	if _, ok := hit.Header()["Date"]; !ok {
		t.Error("Date suppression (nil) not kept")
	}
	for _, k := range []string{"Connection", "X-Hop", "Keep-Alive"} {
		if _, ok := hit.Header()[k]; ok {
			t.Errorf("hop-by-hop %s stored", k)
		}
	}
	if hit.Header().Get("Age") != "7" || miss.Header().Get("Age") != "" {
		t.Errorf("Age: miss %q hit %q", miss.Header().Get("Age"), hit.Header().Get("Age"))
	}
	if hit.Body.String() != page || head.Body.Len() != 0 {
		t.Errorf("bodies: %d %d", hit.Body.Len(), head.Body.Len())
	}
	// Past the Expires date the entry is gone (timeout 600).
	tc.advance(600 * time.Second)
	if rr := serveReq(h, get("/p")); rr.Header().Get("Cache-Status") == statusHit {
		t.Error("expired page served")
	}
}

func TestPageCacheMaxBody(t *testing.T) {
	tc := newTestCaches(t)
	big := strings.Repeat("x", 4096)
	h := Site(tc.opts(WithMaxBodySize(1000))...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 4; i++ {
			fmt.Fprint(w, big[:1024])
		}
	}))
	rr := serveReq(h, get("/big"))
	if rr.Body.String() != big || len(tc.stores[cache.DefaultAlias].Keys()) != 0 {
		t.Errorf("got %d bytes, stored %v", rr.Body.Len(), tc.stores[cache.DefaultAlias].Keys())
	}
	// A cache that refuses large values: counted as not stored, not as an error.
	tc2 := newTestCaches(t)
	tc2.add(t, "small", cache.WithMaxValueSize(100))
	reg, _ := cache.NewRegistry(tc2.caches)
	p, err := New(WithRegistry(reg), WithAlias("small"))
	if err != nil {
		t.Fatal(err)
	}
	rr = serveReq(p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, big) })), get("/big"))
	if rr.Body.String() != big || rr.Header().Get("Cache-Status") != "fragcache; fwd=uri-miss; detail=too-large" {
		t.Errorf("%q", rr.Header().Get("Cache-Status"))
	}
	if st := p.Stats(); st.Errors != 0 || st.NotStored != 1 {
		t.Errorf("stats %+v", st)
	}
}

// failingBackend wraps a memory store and fails the operations selected.
type failingBackend struct {
	*memory.Store
	failGet, failSet atomic.Bool
}

var errBackendDown = errors.New("backend down")

func (f *failingBackend) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if f.failGet.Load() {
		return nil, false, errBackendDown
	}
	return f.Store.Get(ctx, key)
}

func (f *failingBackend) GetKeyBytes(ctx context.Context, key []byte) ([]byte, bool, error) {
	if f.failGet.Load() {
		return nil, false, errBackendDown
	}
	return f.Store.GetKeyBytes(ctx, key)
}

func (f *failingBackend) Set(ctx context.Context, key string, v []byte, t cache.Timeout) error {
	if f.failSet.Load() {
		return errBackendDown
	}
	return f.Store.Set(ctx, key, v, t)
}

func TestPageCacheBackendErrors(t *testing.T) {
	// Backend errors never fail a request: the handler runs and its
	// response goes out; the errors are counted and logged.
	s, _ := memory.New(memory.Options{SweepInterval: -1})
	fb := &failingBackend{Store: s}
	c, err := cache.New(fb)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var logs bytes.Buffer
	p, err := New(WithCache(c), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	view := &personal{}
	h := p.Handler(view)

	fb.failSet.Store(true)
	rr := serveReq(h, get("/e"))
	if rr.Code != 200 || !sees(rr.Body.String(), "", "") || rr.Header().Get("Cache-Status") != "fragcache; fwd=uri-miss; detail=backend-error" {
		t.Errorf("set failure: %d %q %q", rr.Code, rr.Body.String(), rr.Header().Get("Cache-Status"))
	}
	fb.failSet.Store(false)
	serveReq(h, get("/e")) // stored
	fb.failGet.Store(true)
	rr = serveReq(h, get("/e"))
	if rr.Code != 200 || view.count() != 3 || rr.Header().Get("Cache-Status") != "fragcache; fwd=uri-miss; detail=backend-error" {
		t.Errorf("get failure: %d calls, %q", view.count(), rr.Header().Get("Cache-Status"))
	}
	fb.failGet.Store(false)
	if rr := serveReq(h, get("/e")); rr.Header().Get("Cache-Status") != statusHit {
		t.Errorf("after recovery: %q", rr.Header().Get("Cache-Status"))
	}
	if st := p.Stats(); st.Errors != 2 || st.Hits != 1 || st.Stored != 1 {
		t.Errorf("stats %+v", st)
	}
	if !strings.Contains(logs.String(), "backend down") {
		t.Errorf("not logged: %s", logs.String())
	}
}

func TestPageCacheCanceledAndPanics(t *testing.T) {
	tc := newTestCaches(t)
	// A request whose client went away before the handler finished: the
	// (possibly partial) response is not stored.
	h := Site(tc.opts()...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "partial")
	}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rr := serveReq(h, get("/c").WithContext(ctx))
	if rr.Header().Get("Cache-Status") != "fragcache; fwd=uri-miss; detail=canceled" {
		t.Errorf("%q", rr.Header().Get("Cache-Status"))
	}
	// A handler that panics: the panic goes on (net/http's business), and
	// requests waiting for it run the handler themselves.
	var joined sync.WaitGroup
	release := make(chan struct{})
	var calls atomic.Int32
	p, _ := New(tc.opts(func(c *config) { c.onJoin = joined.Done })...)
	ph := p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			<-release
			panic(http.ErrAbortHandler)
		}
		fmt.Fprint(w, "ok")
	}))
	joined.Add(1)
	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		serveReq(ph, get("/panic"))
	}()
	for p.flights.Len() == 0 {
		time.Sleep(time.Millisecond)
	}
	got := make(chan string, 1)
	go func() { got <- serveReq(ph, get("/panic")).Body.String() }()
	joined.Wait()
	close(release)
	if v := <-panicked; v != http.ErrAbortHandler {
		t.Errorf("panic value %v", v)
	}
	if b := <-got; b != "ok" {
		t.Errorf("follower got %q", b)
	}
	// A follower whose client goes away stops waiting.
	joined.Add(1)
	release2 := make(chan struct{})
	ph2 := p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release2
		fmt.Fprint(w, "late")
	}))
	go serveReq(ph2, get("/slow"))
	for p.flights.Len() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- serveReq(ph2, get("/slow").WithContext(ctx2)) }()
	joined.Wait()
	cancel2()
	if rr := <-done; rr.Body.Len() != 0 {
		t.Errorf("gone follower got %q", rr.Body.String())
	}
	close(release2)
}

func TestPageCacheRegistrySchemeAndProxyOptions(t *testing.T) {
	tc := newTestCaches(t)
	r := get("/v")
	r.Header.Set("X-A", "x")
	hdr := []string{"HTTP_X_A"}
	tc.add(t, "legacy", cache.WithDjango("5.2.19"))
	legacyReg, err := cache.NewRegistry(map[string]*cache.Cache{"default": tc.caches["legacy"]})
	if err != nil {
		t.Fatal(err)
	}
	legacy := mustNewKeys(t, WithRegistry(legacyReg))
	if k, _ := legacy.PageKey(r, "GET", hdr); !strings.HasSuffix(k, "."+md5hex("x")) {
		t.Errorf("the cache's Django release not used: %s", k)
	}
	// An explicit scheme wins over the cache's release.
	explicit := mustNewKeys(t, WithRegistry(legacyReg), WithKeyScheme(cache.KeySchemeDjango61))
	if k, _ := explicit.PageKey(r, "GET", hdr); !strings.HasSuffix(k, "."+md5hex("1:x,")) {
		t.Errorf("explicit scheme not used: %s", k)
	}
	k := mustNewKeys(t, WithSecureProxySSLHeader("X-Forwarded-Proto", "https"), WithForwardedHost())
	for _, tt := range []struct {
		proto, fwdHost, want string
	}{
		{"https", "", "https://testserver/v"},
		{" https , http", "", "https://testserver/v"},
		{"http", "", "http://testserver/v"},
		{"HTTPS", "", "http://testserver/v"},
		{"", "proxy.example:8443", "http://proxy.example:8443/v"},
	} {
		r := get("/v")
		if tt.proto != "" {
			r.Header.Set("X-Forwarded-Proto", tt.proto)
		}
		if tt.fwdHost != "" {
			r.Header.Set("X-Forwarded-Host", tt.fwdHost)
		}
		if got, _ := k.AbsoluteURI(r); got != tt.want {
			t.Errorf("%+v: %q", tt, got)
		}
	}
	r = get("/v")
	r.Header["X-Forwarded-Host"] = []string{""}
	if _, err := k.AbsoluteURI(r); !errors.Is(err, ErrInvalidHost) {
		t.Errorf("empty X-Forwarded-Host: %v", err)
	}
}

func TestPageCacheDuplicatedAndHugeHeaders(t *testing.T) {
	tc := newTestCaches(t)
	view := &personal{decorate: func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Vary", "Accept-Encoding, X-A") }}
	h := Site(tc.opts()...)(view)
	// Two lines of a Vary-listed header would be joined with "," as WSGI
	// does (the key of the joined line) while net/http hands them to the
	// handler line by line: such a request is left alone, before and after
	// the header list is learned.
	r := get("/d")
	r.Header.Set("Accept-Encoding", "gzip,br")
	serveReq(h, r)
	if rr := serveReq(h, r); rr.Header().Get("Cache-Status") != statusHit {
		t.Errorf("joined line: %q", rr.Header().Get("Cache-Status"))
	}
	r = get("/d")
	r.Header["Accept-Encoding"] = []string{"gzip", "br"}
	if rr := serveReq(h, r); rr.Header().Get("Cache-Status") != "fragcache; fwd=bypass; detail=header" {
		t.Errorf("two lines: %q", rr.Header().Get("Cache-Status"))
	}
	// A huge header value and non-ASCII bytes have a defined key.
	r = get("/d")
	r.Header.Set("X-A", strings.Repeat("é\xff", 1<<16))
	serveReq(h, r)
	if rr := serveReq(h, r); rr.Header().Get("Cache-Status") != statusHit {
		t.Errorf("huge header: %q", rr.Header().Get("Cache-Status"))
	}
	k := mustNewKeys(t)
	a, _ := k.PageKey(r, "GET", []string{"HTTP_X_A"})
	r.Header.Set("X-A", strings.Repeat("é\xff", 1<<16)+"!")
	b, _ := k.PageKey(r, "GET", []string{"HTTP_X_A"})
	if a == b {
		t.Error("huge values collide")
	}
}

func TestTimeoutSeconds(t *testing.T) {
	for _, tt := range []struct {
		in   cache.Timeout
		want int
	}{
		{cache.Seconds(60), 60},
		{cache.Seconds(1.2), 2},
		{cache.Seconds(0.001), 1},
		{cache.Expired, 0},
		{cache.Seconds(-5), 0},
		{cache.Forever, maxPageSeconds},
		{cache.Duration(400 * 24 * time.Hour), maxPageSeconds},
	} {
		if got := timeoutSeconds(tt.in); got != tt.want {
			t.Errorf("timeoutSeconds(%v) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestQuoteSafeSets(t *testing.T) {
	always := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~"
	for _, set := range []struct {
		name string
		in   func(byte) bool
		safe string
	}{
		{"path", isPathSafe, always + "/:@&+$,-_.!~*'()"},
		{"query", isQuerySafe, always + "/#%[]=:;$&()+,!?*@'~"},
	} {
		for b := 0; b < 256; b++ {
			want := b < 128 && strings.IndexByte(set.safe, byte(b)) >= 0
			if set.in(byte(b)) != want {
				t.Errorf("%s: byte %#x safe = %v", set.name, b, !want)
			}
		}
	}
}

// Django's pickled header lists (pickle.dumps(list, protocol=p)).
func TestDecodePickledHeaderList(t *testing.T) {
	long := "HTTP_X_" + strings.Repeat("A", 300)
	tests := []struct {
		hex  string
		want []string
	}{
		{"80025d71002e", []string{}},
		{"80025d7100285814000000485454505f4143434550545f454e434f44494e477101580b000000485454505f434f4f4b49457102652e", []string{"HTTP_ACCEPT_ENCODING", "HTTP_COOKIE"}},
		{"80035d71005814000000485454505f4143434550545f454e434f44494e477101612e", []string{"HTTP_ACCEPT_ENCODING"}},
		{"80045d942e", []string{}},
		{"8004951b000000000000005d948c14485454505f4143434550545f454e434f44494e4794612e", []string{"HTTP_ACCEPT_ENCODING"}},
		{"80055d942e", []string{}},
		{"8005952a000000000000005d94288c14485454505f4143434550545f454e434f44494e47948c0b485454505f434f4f4b494594652e", []string{"HTTP_ACCEPT_ENCODING", "HTTP_COOKIE"}},
		{"80059511000000000000005d948c0a485454505fc38954c38994612e", []string{"HTTP_ÉTÉ"}},
		{"8005953d010000000000005d945833010000" + hex.EncodeToString([]byte(long)) + "94612e", []string{long}},
	}
	for _, tt := range tests {
		b, _ := hex.DecodeString(tt.hex)
		got, ok := decodeHeaderList(b)
		if !ok || strings.Join(got, "|") != strings.Join(tt.want, "|") || got == nil {
			t.Errorf("%s: %q %v", tt.hex, got, ok)
		}
		// Every truncation is refused.
		for i := 0; i < len(b); i++ {
			if _, ok := decodeHeaderList(b[:i]); ok {
				t.Errorf("%s: truncated to %d accepted", tt.hex, i)
			}
		}
	}
	for _, bad := range []string{
		"", "2e", "80055d942e2e", "8005285d942e", "80055d948c0241422e", // strings not appended
		"80054b012e",                     // an int
		"8005637379730a73797374656d0a2e", // GLOBAL: never executed, refused
		"80055d948c01ff94612e",           // invalid UTF-8
		"80055d945dff2e",                 // second list
	} {
		b, _ := hex.DecodeString(bad)
		if l, ok := decodeHeaderList(b); ok {
			t.Errorf("%s accepted: %q", bad, l)
		}
	}
	// The native format round-trips.
	for _, l := range [][]string{{}, {"HTTP_A"}, {"HTTP_ACCEPT_ENCODING", "HTTP_COOKIE", "HTTP_\x00\xff"}} {
		got, ok := decodeHeaderList(encodeHeaderList(l))
		if !ok || strings.Join(got, "|") != strings.Join(l, "|") {
			t.Errorf("round trip %q: %q", l, got)
		}
	}
}

func TestEntryRoundTrip(t *testing.T) {
	p := storedPage{
		status:       200,
		header:       http.Header{"Content-Type": {"text/html"}, "X-Multi": {"a", "b"}, "Date": nil, "Etag": {`"e"`}},
		body:         []byte("hello"),
		maxAge:       600,
		expires:      1700000600,
		ageKnown:     true,
		lastModified: 1192999307,
	}
	enc := p.encode()
	e, ok := decodeEntry(enc)
	if !ok || e.status != 200 || string(e.body) != "hello" || !e.ageKnown || e.maxAge != 600 ||
		e.expires != 1700000600 || e.lastModified != 1192999307 || e.etag() != `"e"` {
		t.Fatalf("decoded %+v", e)
	}
	h := http.Header{}
	e.writeHeaders(h, 1700000010, "s")
	if h.Get("Age") != "10" || strings.Join(h["X-Multi"], ",") != "a,b" || h.Get("Cache-Status") != "s" {
		t.Errorf("headers %v", h)
	}
	if v, ok := h["Date"]; !ok || len(v) != 0 {
		t.Errorf("Date %v %v", v, ok)
	}
	for i := 0; i < len(enc); i++ {
		if _, ok := decodeEntry(enc[:i]); ok {
			t.Errorf("truncated to %d accepted", i)
		}
	}
	bad := bytes.Clone(enc)
	bad[entryFixed] = 0xff // the header count
	if _, ok := decodeEntry(bad); ok {
		t.Error("corrupt header count accepted")
	}
}

func TestZeroValues(t *testing.T) {
	var k Keys
	r := get("/")
	if hk, _ := k.HeaderKey(r); hk != "views.decorators.cache.cache_header..b5268943f8305b7b1216f7b0efe65a96" {
		t.Errorf("zero Keys header key %q", hk)
	}
	if pk, _ := k.PageKey(r, "GET", nil); pk != "views.decorators.cache.cache_page..GET.b5268943f8305b7b1216f7b0efe65a96."+emptyMD5 {
		t.Errorf("zero Keys page key %q", pk)
	}
	var p *Cache
	view := &personal{}
	if h := p.Handler(view); h != http.Handler(view) {
		t.Error("nil Cache wraps")
	}
	if _, err := (&Cache{}).Invalidate(context.Background(), "http://h/", nil); err == nil {
		t.Error("zero Cache invalidates")
	}
	if st := (&Cache{}).Stats(); st.HitRate() != 0 {
		t.Error("hit rate")
	}
}
