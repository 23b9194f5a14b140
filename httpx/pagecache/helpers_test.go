package pagecache

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/memory"
)

// testCaches builds memory caches on a shared fake clock: "default" and
// any other aliases named, each with its own store.
type testCaches struct {
	clock  *fakeClock
	stores map[string]*memory.Store
	caches map[string]*cache.Cache
	reg    *cache.Registry
}

func newTestCaches(t testing.TB, aliases ...string) *testCaches {
	t.Helper()
	tc := &testCaches{clock: newFakeClock(1700000000), stores: map[string]*memory.Store{}, caches: map[string]*cache.Cache{}}
	for _, a := range append([]string{cache.DefaultAlias}, aliases...) {
		tc.add(t, a)
	}
	reg, err := cache.NewRegistry(tc.caches)
	if err != nil {
		t.Fatal(err)
	}
	tc.reg = reg
	t.Cleanup(func() { _ = reg.Close() })
	return tc
}

func (tc *testCaches) add(t testing.TB, alias string, opts ...cache.Option) {
	t.Helper()
	s, err := memory.New(memory.Options{SweepInterval: -1, Now: tc.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cache.New(s, opts...)
	if err != nil {
		t.Fatal(err)
	}
	tc.stores[alias], tc.caches[alias] = s, c
}

// def returns the default cache.
func (tc *testCaches) def() *cache.Cache { return tc.caches[cache.DefaultAlias] }

// opts returns the options that use these caches and their clock.
func (tc *testCaches) opts(more ...Option) []Option {
	return append([]Option{WithRegistry(tc.reg), WithClock(tc.clock.Now)}, more...)
}

// helloWorld is Django's hello_world_view: it writes "Hello World <value>"
// with the value the test sets before each request, and counts its calls.
type helloWorld struct {
	value atomic.Value
	calls atomic.Int64
}

func newHelloWorld() *helloWorld {
	h := &helloWorld{}
	h.value.Store("")
	return h
}

func (h *helloWorld) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.calls.Add(1)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "Hello World %s", h.value.Load().(string))
}

// call sets the view's value and serves r (a fresh copy each time).
func (h *helloWorld) call(handler http.Handler, r *http.Request, value string) *httptest.ResponseRecorder {
	h.value.Store(value)
	rr := httptest.NewRecorder()
	handler.ServeHTTP(rr, r.Clone(r.Context()))
	return rr
}

// get returns a server-style GET request for target ("/path?query") on
// host testserver.
func get(target string) *http.Request {
	return newReq(http.MethodGet, target)
}

func newReq(method, target string) *http.Request {
	r := httptest.NewRequest(method, "http://testserver"+target, nil)
	r.RequestURI = target
	return r
}

// serveReq sends r through h and returns the recorder.
func serveReq(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, r)
	return rr
}

// body reads a response body.
func body(t testing.TB, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// advance moves the shared clock.
func (tc *testCaches) advance(d time.Duration) { tc.clock.Advance(d) }

// atomicString is a string read and written concurrently.
type atomicString struct{ v atomic.Value }

func (s *atomicString) Store(x string) { s.v.Store(x) }

func (s *atomicString) Load() string {
	x, _ := s.v.Load().(string)
	return x
}

// mustNewKeys is NewKeys for options that are valid.
func mustNewKeys(t testing.TB, opts ...Option) *Keys {
	t.Helper()
	k, err := NewKeys(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
