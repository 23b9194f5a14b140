package pagecache

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/internal/testserver"
)

// graceSite is a page whose render can be held (hold) until the test lets
// it go, and which counts its renders.
type graceSite struct {
	renders atomic.Int64
	hold    chan struct{} // nil: renders do not wait
	entered chan struct{}
}

func (s *graceSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.renders.Add(1)
	if s.hold != nil {
		s.entered <- struct{}{}
		<-s.hold
	}
	time.Sleep(2 * time.Millisecond) // a render takes time (XFetch's δ)
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "render %d", n)
}

// TestPageGrace: past its freshness a page is served stale, with the
// single read of a hit (the freshness rides in the multi-get), while one
// request renders it again; then the new page is a fresh hit. On memory,
// memcached and Redis.
func TestPageGrace(t *testing.T) {
	rcs := readCounters(t)
	backendsToTry := []readCounter{{name: "memory", url: "memory://"}}
	backendsToTry = append(backendsToTry, rcs...)
	for _, rc := range backendsToTry {
		for _, mode := range []struct {
			name  string
			opts  []Option
			reads int // of a hit
		}{
			// On memory, the header-list memory is off unless given, and
			// the freshness is in the entry.
			{"single-read", []Option{WithHeaderListMemory(DefaultHeaderListMemory)}, 1},
			{"two-reads", []Option{WithHeaderListMemory(0)}, 2}, // the list, then the page with its freshness
		} {
			testPageGrace(t, rc, mode.name, mode.reads, mode.opts)
		}
	}
}

func testPageGrace(t *testing.T, rc readCounter, mode string, wantReads int, opts []Option) {
	t.Run(rc.name+"/"+mode, func(t *testing.T) {
		url := rc.url + "?grace=30s"
		if rc.name != "memory" {
			url += "&op_timeout=2s"
		}
		p := openPageCache(t, url, "grace_"+rc.name+"_"+mode, append(opts, pageTimeoutOption(cache.Seconds(1)))...)
		site := &graceSite{}
		h := p.Handler(site)
		reads := func(f func()) int {
			if rc.reads == nil {
				f()
				return -1
			}
			before := rc.reads()
			f()
			return rc.reads() - before
		}
		req := func() *http.Request { return newReq("GET", "/grace/page") }
		if rr := serveReq(h, req()); rr.Header().Get("Cache-Status") != "fragcache; fwd=uri-miss; stored" {
			t.Fatalf("first request: %v", rr.Header())
		}
		var rr = serveReq(h, req())
		n := reads(func() { rr = serveReq(h, req()) })
		if rr.Header().Get("Cache-Status") != statusHit || rr.Body.String() != "render 1" {
			t.Fatalf("fresh hit: %v %q", rr.Header(), rr.Body)
		}
		if rc.reads != nil && n != wantReads {
			t.Errorf("a fresh hit read the server %d times, want %d (the page with its freshness in one multi-get)", n, wantReads)
		}
		time.Sleep(1100 * time.Millisecond)

		// A request renders the page again, held in its handler...
		site.hold, site.entered = make(chan struct{}), make(chan struct{})
		done := make(chan string)
		go func() {
			rr := serveReq(h, req())
			done <- rr.Header().Get("Cache-Status") + " " + rr.Body.String()
		}()
		<-site.entered
		// ... while the others are served the stale page, with one read.
		n = reads(func() { rr = serveReq(h, req()) })
		if rr.Header().Get("Cache-Status") != statusStale || rr.Body.String() != "render 1" {
			t.Errorf("during the render: %v %q, want the stale page", rr.Header(), rr.Body)
		}
		if rc.reads != nil && n != wantReads {
			t.Errorf("a stale hit read the server %d times, want %d", n, wantReads)
		}
		if age, exp := rr.Header().Get("Age"), rr.Header().Get("Expires"); age == "" || exp == "" {
			t.Errorf("stale page without its stored headers: %v", rr.Header())
		}
		close(site.hold)
		if got := <-done; got != "fragcache; fwd=stale; stored render 2" {
			t.Errorf("the render: %q", got)
		}
		site.hold = nil
		if rr := serveReq(h, req()); rr.Header().Get("Cache-Status") != statusHit || rr.Body.String() != "render 2" {
			t.Errorf("after the render: %v %q, want a fresh hit", rr.Header(), rr.Body)
		}
		st := p.Stats()
		if st.StaleServed != 1 || st.Refreshes != 1 || st.EarlyRefreshes != 0 || st.LeasesWon != 1 {
			t.Errorf("stats %+v", st)
		}
	})
}

// TestPageXFetch: with early expiry and a huge β, every hit of a fresh
// page is drawn to render it again, as the lease holder.
func TestPageXFetch(t *testing.T) {
	p := openPageCache(t, "memory://?xfetch=1&xfetch_beta=1e9", "xfetch", pageTimeoutOption(cache.Seconds(60)))
	site := &graceSite{}
	h := p.Handler(site)
	for i, want := range []string{"fragcache; fwd=uri-miss; stored", "fragcache; fwd=stale; stored"} {
		if rr := serveReq(h, newReq("GET", "/xfetch")); rr.Header().Get("Cache-Status") != want || rr.Body.String() != fmt.Sprintf("render %d", i+1) {
			t.Errorf("request %d: %v %q, want %q", i, rr.Header(), rr.Body, want)
		}
	}
	if st := p.Stats(); st.Refreshes != 1 || st.EarlyRefreshes != 1 || st.StaleServed != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestWithStampede: the option's validation, its default (the cache's),
// and the waits it sets.
func TestWithStampede(t *testing.T) {
	open := func(url string) *cache.Cache {
		c, err := backends.Open(url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	mem, leased, dummy := open("memory://"), open("memory://?lease=1&lease_ttl=3s"), open("dummy://")
	for _, tc := range []struct {
		name     string
		opts     []Option
		err      bool
		want     cache.Stampede
		coalesce time.Duration
	}{
		{"none", []Option{WithCache(mem)}, false, cache.Stampede{}, 0},
		{"the cache's", []Option{WithCache(leased)}, false, cache.Stampede{Lease: true, LeaseTTL: 3 * time.Second}, 3 * time.Second},
		{"its own", []Option{WithCache(leased), WithStampede(cache.Stampede{Grace: time.Minute})}, false, cache.Stampede{Grace: time.Minute}, 0},
		{"a lease and a coalescing wait", []Option{WithCache(mem), WithStampede(cache.Stampede{Lease: true}), WithCoalescingWait(300 * time.Millisecond)}, false,
			cache.Stampede{Lease: true, Wait: 300 * time.Millisecond}, 300 * time.Millisecond},
		{"a lease and a wait", []Option{WithCache(mem), WithStampede(cache.Stampede{Lease: true, Wait: time.Second})}, false,
			cache.Stampede{Lease: true, Wait: time.Second}, time.Second},
		{"negative grace", []Option{WithCache(mem), WithStampede(cache.Stampede{Grace: -time.Second})}, true, cache.Stampede{}, 0},
		{"negative wait", []Option{WithCache(mem), WithStampede(cache.Stampede{Wait: -time.Second})}, true, cache.Stampede{}, 0},
		{"negative beta", []Option{WithCache(mem), WithStampede(cache.Stampede{XFetch: true, XFetchBeta: -1})}, true, cache.Stampede{}, 0},
		{"a lease without leases", []Option{WithCache(dummy), WithStampede(cache.Stampede{Lease: true})}, true, cache.Stampede{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(tc.opts...)
			if tc.err {
				if !errors.Is(err, cache.ErrInvalidOption) {
					t.Fatalf("New: %v, want ErrInvalidOption", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.sp != tc.want || p.cfg.coalesceWait != tc.coalesce {
				t.Errorf("stampede %+v, coalescing wait %v; want %+v, %v", p.sp, p.cfg.coalesceWait, tc.want, tc.coalesce)
			}
		})
	}
}

// TestPageLeaseBackendDown: with a lease and the backend down, the
// fail-open cache gives no lease: every request renders at once, as
// without one, and nobody waits for a render that will never be stored.
func TestPageLeaseBackendDown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	srv := testserver.Memcached(t)
	c, err := backends.Open("memcached://" + srv.Addr + "?lease=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	p, err := New(WithCache(c), pageTimeoutOption(cache.Seconds(60)))
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	site := &graceSite{}
	h := p.Handler(site)
	start := time.Now()
	replies := burst(h, "down", 8)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("8 requests with the backend down took %v: they waited for a lease", took)
	}
	for _, r := range replies {
		if r.code != http.StatusOK || !strings.HasPrefix(r.body, "render ") || strings.Contains(r.status, "waited") {
			t.Errorf("reply %v", r)
		}
	}
	if st := p.Stats(); st.LeasesWon != 0 || st.Waited != 0 || st.WaitTimeouts != 0 {
		t.Errorf("stats %+v: a lease from a backend that is down", st)
	}
}
