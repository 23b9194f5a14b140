package tags

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/memory"
)

// This file tests the {% cache %} tag under stampede protection
// (Options.Stampede, the cache's lease=/grace= options) on the memory
// backend, with the real clock: freshness is kept in real time.

// stEnv is one "process" of a stampede test: a Fragments over a cache on a
// memory store that other stEnvs may share (the memory backend's leases
// are shared by every cache over one store).
type stEnv struct {
	c     *cache.Cache
	frags *Fragments
	set   *pongo2.TemplateSet
}

func newStEnv(t *testing.T, store cache.Backend, s cache.Stampede, opts Options) *stEnv {
	t.Helper()
	c, err := cache.New(store, cache.WithStampede(s))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	reg, err := cache.NewRegistry(map[string]*cache.Cache{cache.DefaultAlias: c})
	if err != nil {
		t.Fatal(err)
	}
	f, err := New(reg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return &stEnv{c: c, frags: f, set: newSet(t, f)}
}

func newStore(t *testing.T) *memory.Store {
	t.Helper()
	store, err := memory.New(memory.Options{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	return store
}

func (e *stEnv) tpl(t *testing.T, src string) *pongo2.Template {
	t.Helper()
	tpl, err := e.set.FromString(src)
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func (e *stEnv) stats(name string) FragmentStats {
	for _, s := range e.frags.Stats() {
		if s.Name == name {
			return s
		}
	}
	return FragmentStats{Name: name}
}

// stored returns the value stored for the fragment name (no vary-on).
func (e *stEnv) stored(t *testing.T, name string) (string, bool) {
	t.Helper()
	v, ok, err := e.c.Get(context.Background(), e.c.KeyScheme().FragmentKey(name))
	if err != nil {
		t.Fatal(err)
	}
	return string(v), ok
}

// holdLease takes the lease on the fragment name as another process
// would, and returns its release.
func (e *stEnv) holdLease(t *testing.T, name string) func() {
	t.Helper()
	l, ok, err := e.c.AcquireLease(context.Background(), e.c.KeyScheme().FragmentKey(name), time.Minute)
	if err != nil || !ok {
		t.Fatalf("AcquireLease(%s) = %v, %v", name, ok, err)
	}
	return func() { l.Release(context.Background()) }
}

// short is the timeout of the fragments that are to expire in a test.
const short = 150 * time.Millisecond

// TestStampedePerNameOverridesCache: Options.Stampede's entry for a
// fragment name replaces its cache's protection, and names without an entry
// keep the cache's. With grace, a fragment read past its timeout is a
// (stale) hit that the reading render re-renders as the lease holder;
// without, a miss.
func TestStampedePerNameOverridesCache(t *testing.T) {
	grace := cache.Stampede{Grace: time.Minute}
	for _, tc := range []struct {
		name       string
		cache      cache.Stampede
		opts       map[string]cache.Stampede
		graceNames []string // the names read with grace
	}{
		{"cache none, f grace", cache.Stampede{}, map[string]cache.Stampede{"f": grace}, []string{"f"}},
		{"cache grace, f none", grace, map[string]cache.Stampede{"f": {}}, []string{"g"}},
		{"cache grace, g lease", grace, map[string]cache.Stampede{"g": {Lease: true}}, []string{"f"}},
		{"cache grace, no entries", grace, nil, []string{"f", "g"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newStEnv(t, newStore(t), tc.cache, Options{Stampede: tc.opts})
			tpl := e.tpl(t, `{% cache t f %}f{{ n }}{% endcache %}{% cache t g %}g{{ n }}{% endcache %}`)
			ctx := pongo2.Context{"t": cache.Duration(short), "n": 1}
			if out, err := tpl.Execute(ctx); err != nil || out != "f1g1" {
				t.Fatalf("first render: %q, %v", out, err)
			}
			time.Sleep(short + 50*time.Millisecond)
			ctx["n"] = 2
			if out, err := tpl.Execute(ctx); err != nil || out != "f2g2" {
				t.Fatalf("render past the timeout: %q, %v", out, err)
			}
			for _, name := range []string{"f", "g"} {
				withGrace := slices.Contains(tc.graceNames, name)
				st := e.stats(name)
				wantMisses := uint64(2)
				if withGrace {
					wantMisses = 1 // the second read found the stale fragment
				}
				if st.Misses != wantMisses || st.Renders != 2 {
					t.Errorf("%s (grace %v): %+v, want %d misses and 2 renders", name, withGrace, st, wantMisses)
				}
			}
		})
	}
}

// TestStampedeGraceServesStale: a fragment past its timeout, within its
// grace, is served stale to every concurrent render while the one that
// took the lease re-renders it; then the new fragment is served.
func TestStampedeGraceServesStale(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cache cache.Stampede
		opts  map[string]cache.Stampede
	}{
		{"grace on the cache", cache.Stampede{Grace: time.Minute}, nil},
		{"grace and lease by name", cache.Stampede{}, map[string]cache.Stampede{"f": {Lease: true, Grace: time.Minute}}},
		{"grace and early expiry", cache.Stampede{Grace: time.Minute, XFetch: true}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newStEnv(t, newStore(t), tc.cache, Options{Stampede: tc.opts})
			tpl := e.tpl(t, `{% cache t f %}{{ body() }}{% endcache %}`)
			var bodies atomic.Int32
			entered := make(chan struct{})
			release := make(chan struct{})
			body := func(v string, block bool) func() string {
				return func() string {
					bodies.Add(1)
					if block {
						close(entered)
						<-release
					}
					return v
				}
			}
			if out, err := tpl.Execute(pongo2.Context{"t": cache.Duration(short), "body": body("v1", false)}); err != nil || out != "v1" {
				t.Fatalf("first render: %q, %v", out, err)
			}
			time.Sleep(short + 50*time.Millisecond)
			holder := make(chan string)
			go func() {
				out, err := tpl.Execute(pongo2.Context{"t": cache.Duration(time.Minute), "body": body("v2", true)})
				if err != nil {
					t.Error(err)
				}
				holder <- out
			}()
			<-entered
			const readers = 8
			var wg sync.WaitGroup
			for range readers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					start := time.Now()
					out, err := tpl.Execute(pongo2.Context{"t": cache.Duration(time.Minute), "body": body("v3", false)})
					if err != nil || out != "v1" {
						t.Errorf("concurrent render: %q, %v; want the stale v1", out, err)
					}
					if d := time.Since(start); d > time.Second {
						t.Errorf("a stale read took %v", d)
					}
				}()
			}
			wg.Wait()
			close(release)
			if out := <-holder; out != "v2" {
				t.Errorf("the holder rendered %q, want v2", out)
			}
			if out, err := tpl.Execute(pongo2.Context{"t": cache.Duration(time.Minute), "body": body("v4", false)}); err != nil || out != "v2" {
				t.Errorf("after the refresh: %q, %v; want v2", out, err)
			}
			if n := bodies.Load(); n != 2 {
				t.Errorf("%d bodies rendered, want 2", n)
			}
			st := e.stats("f")
			if st.Stale != readers || st.Renders != 2 || st.Misses != 1 || st.Hits != readers+2 {
				t.Errorf("stats %+v, want %d stale, 2 renders, 1 miss, %d hits", st, readers, readers+2)
			}
			if ss := e.c.Stats().Stampede; ss.StaleServed != readers || ss.Refreshes != 1 {
				t.Errorf("cache stampede stats %+v", ss)
			}
		})
	}
}

// TestStampedeNestedNeverWaits: a {% cache %} tag rendered inside another
// fragment's body does not wait for a lease another process holds on its
// fragment (two templates nesting fragments in opposite orders could wait
// on each other); at the top level the same tag waits up to its bound.
func TestStampedeNestedNeverWaits(t *testing.T) {
	const wait = 400 * time.Millisecond
	for _, tc := range []struct {
		name  string
		cache cache.Stampede
		opts  map[string]cache.Stampede
	}{
		{"lease by name", cache.Stampede{}, map[string]cache.Stampede{"inner": {Lease: true, Wait: wait}}},
		{"lease on the cache", cache.Stampede{Lease: true}, nil},
		{"lease and grace on the cache", cache.Stampede{Lease: true, Grace: time.Minute}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newStEnv(t, newStore(t), tc.cache, Options{Stampede: tc.opts, CoalescingWait: wait})
			release := e.holdLease(t, "inner")
			defer release()

			top := e.tpl(t, `{% cache 60 inner %}in{{ n }}{% endcache %}`)
			start := time.Now()
			if out, err := top.Execute(pongo2.Context{"n": 1}); err != nil || out != "in1" {
				t.Fatalf("top-level render: %q, %v", out, err)
			}
			if d := time.Since(start); d < wait {
				t.Errorf("the top-level tag waited %v for the held lease, want about %v", d, wait)
			}
			if _, ok := e.stored(t, "inner"); ok {
				t.Errorf("a render that stopped waiting stored its fragment while another held the lease")
			}

			nested := e.tpl(t, `{% cache 60 outer %}[{% cache 60 inner %}in{{ n }}{% endcache %}]{% endcache %}`)
			start = time.Now()
			if out, err := nested.Execute(pongo2.Context{"n": 2}); err != nil || out != "[in2]" {
				t.Fatalf("nested render: %q, %v", out, err)
			}
			if d := time.Since(start); d > wait/2 {
				t.Errorf("the nested tag took %v: it waited for the lease", d)
			}
			if st := e.stats("inner"); st.WaitTimeouts != 1 || st.Waited != 0 || st.Renders != 2 {
				t.Errorf("inner stats %+v, want 1 wait timeout (the top-level render) and 2 renders", st)
			}
		})
	}
}

// TestStampedeRenderErrorThroughFill: a body failing under a lease, or
// while refreshing a stale fragment, fails the render with the body's
// error (as without protection), stores nothing and releases the lease.
func TestStampedeRenderErrorThroughFill(t *testing.T) {
	for _, tc := range []struct {
		name  string
		s     cache.Stampede
		stale bool // store a fragment that is stale when the failing render reads it
	}{
		{"lease, miss", cache.Stampede{Lease: true}, false},
		{"lease and grace, miss", cache.Stampede{Lease: true, Grace: time.Minute}, false},
		{"grace, refresh", cache.Stampede{Grace: time.Minute}, true},
		{"lease and grace, refresh", cache.Stampede{Lease: true, Grace: time.Minute}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newStEnv(t, newStore(t), tc.s, Options{CoalescingWait: 5 * time.Second})
			tpl := e.tpl(t, `{% cache t f %}{% if bad %}{{ "x"|fail }}{% else %}ok{{ n }}{% endif %}{% endcache %}`)
			if tc.stale {
				if out, err := tpl.Execute(pongo2.Context{"t": cache.Duration(short), "n": 0}); err != nil || out != "ok0" {
					t.Fatalf("first render: %q, %v", out, err)
				}
				time.Sleep(short + 50*time.Millisecond)
			}
			_, err := tpl.Execute(pongo2.Context{"t": cache.Duration(time.Minute), "bad": true})
			if err == nil || !strings.Contains(err.Error(), "filter failed") {
				t.Fatalf("failing render: error %v, want the filter's", err)
			}
			if v, ok := e.stored(t, "f"); tc.stale && v != "ok0" || !tc.stale && ok {
				t.Errorf("after the failure the cache holds %q (%v)", v, ok)
			}
			// The lease was released: the next render takes it at once.
			start := time.Now()
			if out, err := tpl.Execute(pongo2.Context{"t": cache.Duration(time.Minute), "n": 1}); err != nil || out != "ok1" {
				t.Fatalf("render after the failure: %q, %v", out, err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("the render after the failure took %v: the lease was kept", d)
			}
			if v, _ := e.stored(t, "f"); v != "ok1" {
				t.Errorf("stored %q, want ok1", v)
			}
			if st := e.stats("f"); st.Errors != 0 {
				t.Errorf("a render error counted as a backend error: %+v", st)
			}
		})
	}
}

// TestStampedeMaxFragmentBytes: under stampede protection too, a body
// larger than MaxFragmentBytes is written but not stored, whether it was
// rendered for a miss or to refresh a stale fragment (which stays).
func TestStampedeMaxFragmentBytes(t *testing.T) {
	for _, s := range []cache.Stampede{
		{Lease: true},
		{Grace: time.Minute},
		{Lease: true, Grace: time.Minute, XFetch: true},
	} {
		t.Run(s.String(), func(t *testing.T) {
			e := newStEnv(t, newStore(t), s, Options{MaxFragmentBytes: 8})
			tpl := e.tpl(t, `{% cache t f %}{{ body }}{% endcache %}`)
			big := "0123456789abcdef"
			for i := range 2 {
				if out, err := tpl.Execute(pongo2.Context{"t": cache.Duration(time.Minute), "body": big}); err != nil || out != big {
					t.Fatalf("render %d: %q, %v", i, out, err)
				}
			}
			if _, ok := e.stored(t, "f"); ok {
				t.Errorf("a body larger than MaxFragmentBytes was stored")
			}
			if st := e.stats("f"); st.StoreSkips != 2 || st.Renders != 2 {
				t.Errorf("stats %+v, want 2 store skips and 2 renders", st)
			}
			if s.Grace == 0 {
				return
			}
			// A small fragment goes stale; its refresh is too large.
			if out, err := tpl.Execute(pongo2.Context{"t": cache.Duration(short), "body": "small"}); err != nil || out != "small" {
				t.Fatalf("small render: %q, %v", out, err)
			}
			time.Sleep(short + 50*time.Millisecond)
			if out, err := tpl.Execute(pongo2.Context{"t": cache.Duration(time.Minute), "body": big}); err != nil || out != big {
				t.Fatalf("refresh: %q, %v", out, err)
			}
			if v, _ := e.stored(t, "f"); v != "small" {
				t.Errorf("after a refresh too large to store the cache holds %q, want the stale fragment", v)
			}
			if st := e.stats("f"); st.StoreSkips != 3 {
				t.Errorf("stats %+v, want 3 store skips", st)
			}
		})
	}
}

// TestStampedeWaitedCounted: two processes (two Fragments over one memory
// store, whose leases they share) miss one fragment at once under a lease:
// one renders, the other waits for its fragment and counts it as Waited.
func TestStampedeWaitedCounted(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cache cache.Stampede
		opts  map[string]cache.Stampede
	}{
		{"lease on the cache", cache.Stampede{Lease: true}, nil},
		{"lease by name", cache.Stampede{}, map[string]cache.Stampede{"f": {Lease: true}}},
		{"lease and grace by name", cache.Stampede{}, map[string]cache.Stampede{"f": {Lease: true, Grace: time.Minute}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := newStore(t)
			a := newStEnv(t, store, tc.cache, Options{Stampede: tc.opts})
			b := newStEnv(t, store, tc.cache, Options{Stampede: tc.opts})
			const src = `{% cache 60 f %}{{ body() }}{% endcache %}`
			entered, release := make(chan struct{}), make(chan struct{})
			done := make(chan string)
			go func() {
				out, err := a.tpl(t, src).Execute(pongo2.Context{"body": func() string {
					close(entered)
					<-release
					return "from a"
				}})
				if err != nil {
					t.Error(err)
				}
				done <- out
			}()
			<-entered
			var bodyB atomic.Int32
			got := make(chan string)
			go func() {
				out, err := b.tpl(t, src).Execute(pongo2.Context{"body": func() string { bodyB.Add(1); return "from b" }})
				if err != nil {
					t.Error(err)
				}
				got <- out
			}()
			time.Sleep(100 * time.Millisecond) // b is waiting
			close(release)
			if out := <-done; out != "from a" {
				t.Errorf("a rendered %q", out)
			}
			if out := <-got; out != "from a" {
				t.Errorf("b rendered %q, want a's fragment", out)
			}
			if n := bodyB.Load(); n != 0 {
				t.Errorf("b rendered the body %d times", n)
			}
			if st := b.stats("f"); st.Waited != 1 || st.Renders != 0 || st.Misses != 1 {
				t.Errorf("b's stats %+v, want 1 waited, 0 renders, 1 miss", st)
			}
			if st := a.stats("f"); st.Waited != 0 || st.Renders != 1 {
				t.Errorf("a's stats %+v, want 1 render", st)
			}
			// (LeasesLost counts every try: the first, then one per poll.)
			if ss := b.c.Stats().Stampede; ss.LeasesLost < 1 || ss.LeasesWon != 0 || ss.Waits != 1 {
				t.Errorf("b's cache stampede stats %+v", ss)
			}
		})
	}
}

// hookStore is a memory store whose AcquireLease first calls hook (when
// set), to order two processes' refreshes.
type hookStore struct {
	*memory.Store
	hook func()
}

func (h *hookStore) AcquireLease(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	if h.hook != nil {
		h.hook()
	}
	return h.Store.AcquireLease(ctx, key, token, ttl)
}

// TestStampedeGraceRefreshedOnce: process A reads a stale fragment, and
// before A takes the lease, process B reads it stale too, refreshes it and
// releases its lease. A then takes the free lease: it finds the fragment
// B stored, fresh, and serves it rather than render it a second time.
func TestStampedeGraceRefreshedOnce(t *testing.T) {
	hs := &hookStore{Store: newStore(t)}
	s := cache.Stampede{Lease: true, Grace: time.Minute}
	a, b := newStEnv(t, hs, s, Options{}), newStEnv(t, hs, s, Options{})
	const src = `{% cache t f %}{{ body() }}{% endcache %}`
	var bodies atomic.Int32
	body := func(v string) func() string { return func() string { bodies.Add(1); return v } }
	if out, err := a.tpl(t, src).Execute(pongo2.Context{"t": cache.Duration(short), "body": body("v1")}); err != nil || out != "v1" {
		t.Fatalf("first render: %q, %v", out, err)
	}
	time.Sleep(short + 50*time.Millisecond)
	paused, resume := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	hs.hook = func() {
		if first.CompareAndSwap(false, true) {
			close(paused)
			<-resume
		}
	}
	got := make(chan string)
	go func() {
		out, err := a.tpl(t, src).Execute(pongo2.Context{"t": cache.Duration(time.Minute), "body": body("from a")})
		if err != nil {
			t.Error(err)
		}
		got <- out
	}()
	<-paused // A read the stale fragment and is about to take the lease
	if out, err := b.tpl(t, src).Execute(pongo2.Context{"t": cache.Duration(time.Minute), "body": body("from b")}); err != nil || out != "from b" {
		t.Fatalf("B's refresh: %q, %v", out, err)
	}
	close(resume)
	if out := <-got; out != "from b" {
		t.Errorf("A rendered %q, want B's refreshed fragment", out)
	}
	if n := bodies.Load(); n != 2 {
		t.Errorf("%d bodies rendered, want 2 (the first render and one refresh)", n)
	}
	if v, _ := a.stored(t, "f"); v != "from b" {
		t.Errorf("stored %q", v)
	}
}
