package pagecache

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/internal/testserver"
)

// readCounter counts the read commands a cache server received.
type readCounter struct {
	name  string
	url   string // the cache URL, through the counting proxy for memcached
	reads func() int
	reset func()
}

// readCounters returns a counter per server: Redis's INFO commandstats (GET
// and MGET calls), memcached's get and gets command lines counted by a
// proxy (memcached's cmd_get counts keys).
func readCounters(t *testing.T) []readCounter {
	t.Helper()
	mc, rd := testserver.Memcached(t), testserver.Redis(t)
	proxy := testserver.CountingProxy(t, mc.Addr)
	client := goredis.NewClient(&goredis.Options{Addr: rd.Addr})
	t.Cleanup(func() { _ = client.Close() })
	ctx := context.Background()
	redisReads := func() int {
		info, err := client.Info(ctx, "commandstats").Result()
		if err != nil {
			t.Fatalf("INFO commandstats: %v", err)
		}
		n := 0
		for _, line := range strings.Split(info, "\n") {
			name, rest, ok := strings.Cut(strings.TrimSpace(line), ":calls=")
			if !ok || (name != "cmdstat_get" && name != "cmdstat_mget") {
				continue
			}
			calls, _, _ := strings.Cut(rest, ",")
			c, err := strconv.Atoi(calls)
			if err != nil {
				t.Fatalf("INFO commandstats: %q", line)
			}
			n += c
		}
		return n
	}
	return []readCounter{
		{"memcached", "memcached://" + proxy.Addr, func() int { return proxy.Count("get", "gets") }, proxy.Reset},
		{"redis", "redis://" + rd.Addr, redisReads, func() {
			if err := client.ConfigResetStat(ctx).Err(); err != nil {
				t.Fatalf("CONFIG RESETSTAT: %v", err)
			}
		}},
	}
}

// varyingSite is a page whose Vary the test changes: Accept-Encoding, then
// Accept-Encoding and Cookie. Its body names the cookie it was made for.
type varyingSite struct {
	cookie atomic.Bool // vary on Cookie too
	calls  atomic.Int64
}

func (s *varyingSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.calls.Add(1)
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Vary", "Accept-Encoding")
	if s.cookie.Load() {
		w.Header().Set("Vary", "Accept-Encoding, Cookie")
	}
	fmt.Fprintf(w, "page for cookie %q", r.Header.Get("Cookie"))
}

// openPageCache returns a page cache on url (a fresh process, as far as
// the page cache's memory goes) with the key prefix.
func openPageCache(t *testing.T, url, prefix string, opts ...Option) *Cache {
	t.Helper()
	c, err := backends.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	pc, err := New(append([]Option{WithCache(c), WithKeyPrefix(prefix)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return pc
}

func cookieReq(method, cookie string) *http.Request {
	r := newReq(method, "/single/page?x=1")
	r.Header.Set("Accept-Encoding", "gzip")
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	return r
}

// TestSingleReadHitCommands: a hit costs one read command of the server
// (one MGET, one multi-get line) once the page cache knows the URL's header
// list, from storing it or from a first hit; a fresh process's first hit
// costs two. Without the memory every hit costs two.
func TestSingleReadHitCommands(t *testing.T) {
	for _, rc := range readCounters(t) {
		t.Run(rc.name, func(t *testing.T) {
			site := &varyingSite{}
			prefix := "single_" + rc.name
			a := openPageCache(t, rc.url, prefix).Handler(site)
			steps := []struct {
				name      string
				h         http.Handler
				method    string
				status    string
				wantReads int
			}{
				// A miss reads the header list; on memcached, storing also
				// reads the URL's variant index twice (its header list and
				// page are indexed with gets, then append: InvalidateURL).
				{"first request: a miss reads the header list", a, "GET", "fragcache; fwd=uri-miss; stored", map[bool]int{true: 3, false: 1}[rc.name == "memcached"]},
				{"a hit after storing", a, "GET", statusHit, 1},
				{"again", a, "GET", statusHit, 1},
				{"HEAD from the GET entry", a, "HEAD", statusHit, 1},
			}
			fresh := openPageCache(t, rc.url, prefix).Handler(site)
			steps = append(steps, []struct {
				name      string
				h         http.Handler
				method    string
				status    string
				wantReads int
			}{
				{"a fresh process: two reads", fresh, "GET", statusHit, 2},
				{"then one", fresh, "GET", statusHit, 1},
				{"HEAD in the fresh process", fresh, "HEAD", statusHit, 1},
			}...)
			off := openPageCache(t, rc.url, prefix, WithHeaderListMemory(0)).Handler(site)
			for i := range 2 {
				steps = append(steps, struct {
					name      string
					h         http.Handler
					method    string
					status    string
					wantReads int
				}{fmt.Sprintf("without the memory (%d)", i), off, "GET", statusHit, 2})
			}
			for _, st := range steps {
				rc.reset()
				rr := serveReq(st.h, cookieReq(st.method, "a=1"))
				if got := rr.Header().Get("Cache-Status"); got != st.status {
					t.Fatalf("%s: Cache-Status %q, want %q", st.name, got, st.status)
				}
				if got := rc.reads(); got != st.wantReads {
					t.Errorf("%s: %d read commands, want %d", st.name, got, st.wantReads)
				}
			}
			if site.calls.Load() != 1 {
				t.Errorf("handler ran %d times", site.calls.Load())
			}
		})
	}
}

// TestSingleReadVaryChange: when the stored header list is no longer the
// one remembered (the site now varies on Cookie too, and another process
// stored the new list), the page fetched under the old list's key (still
// stored) is never served: the page is looked up under the new list, and a
// request with another cookie is a miss.
func TestSingleReadVaryChange(t *testing.T) {
	for _, rc := range readCounters(t) {
		t.Run(rc.name, func(t *testing.T) {
			ctx := context.Background()
			site := &varyingSite{}
			prefix := "vary_change_" + rc.name
			pa := openPageCache(t, rc.url, prefix)
			a := pa.Handler(site)
			for i, want := range []string{"fragcache; fwd=uri-miss; stored", statusHit} {
				if got := serveReq(a, cookieReq("GET", "a=1")).Header().Get("Cache-Status"); got != want {
					t.Fatalf("request %d: Cache-Status %q, want %q", i, got, want)
				}
			}
			oldKey, ok, err := pa.GetCacheKey(ctx, cookieReq("GET", "a=2"), http.MethodGet)
			if err != nil || !ok {
				t.Fatalf("GetCacheKey: %v %v", ok, err)
			}

			// The deploy: the site varies on Cookie too. The header list
			// expires (deleted here), and another process stores the new one.
			site.cookie.Store(true)
			hk, _ := pa.Keys().HeaderKey(cookieReq("GET", ""))
			if _, err := pa.Cache().Delete(ctx, hk); err != nil {
				t.Fatal(err)
			}
			b := openPageCache(t, rc.url, prefix).Handler(site)
			if got := serveReq(b, cookieReq("GET", "a=2")).Header().Get("Cache-Status"); got != "fragcache; fwd=uri-miss; stored" {
				t.Fatalf("the other process: Cache-Status %q", got)
			}
			if _, ok, _ := pa.Cache().Get(ctx, oldKey); !ok {
				t.Fatal("the old variant is gone: the test would prove nothing")
			}

			tests := []struct {
				cookie, status string
				guessWrong     uint64
			}{
				{"a=3", "fragcache; fwd=vary-miss; stored", 1}, // the old list's page is fetched, and dropped
				{"a=2", statusHit, 1},                          // the other process's page, under the new list
				{"a=3", statusHit, 1},
				{"a=1", "fragcache; fwd=vary-miss; stored", 1},
			}
			for _, tt := range tests {
				rr := serveReq(a, cookieReq("GET", tt.cookie))
				want := fmt.Sprintf("page for cookie %q", tt.cookie)
				if got := rr.Body.String(); got != want {
					t.Errorf("cookie %s: body %q, want %q", tt.cookie, got, want)
				}
				if got := rr.Header().Get("Cache-Status"); got != tt.status {
					t.Errorf("cookie %s: Cache-Status %q, want %q", tt.cookie, got, tt.status)
				}
				if got := pa.Stats().ListGuessesWrong; got != tt.guessWrong {
					t.Errorf("cookie %s: ListGuessesWrong = %d, want %d", tt.cookie, got, tt.guessWrong)
				}
			}
			// The memory learned the new list: hits cost one read again.
			rc.reset()
			if got := serveReq(a, cookieReq("GET", "a=2")).Header().Get("Cache-Status"); got != statusHit {
				t.Fatalf("Cache-Status %q", got)
			}
			if got := rc.reads(); got != 1 {
				t.Errorf("%d read commands after learning the new list, want 1", got)
			}
			if st := pa.Stats(); st.Errors != 0 || st.SingleReadHits != 4 || st.Hits != 4 {
				t.Errorf("stats %+v, want 4 hits, all single reads, no errors", st)
			}
		})
	}
}

// TestSingleReadDjangoList: a real Django (3.2, 5.2, 6.1) caches the page
// of a URL whose header list this process remembers, once that list has
// expired: Django's pickled list (Vary: Cookie) replaces it, and Django's
// page is a pickled HttpResponse, while this process's page for the old
// list is still stored.
// The multi-get fails on the pickle (memcached, Redis with django_values=1)
// or fetches a list that is not the one remembered (Redis with
// django_values=0): either way the page cache reads Django's list, finds
// Django's page key, and treats the page as a miss, without a backend
// error; it never serves its own page for the old list.
func TestSingleReadDjangoList(t *testing.T) {
	mc := testserver.Memcached(t)
	rd := testserver.Redis(t)
	for _, version := range testserver.DjangoVersions {
		t.Run(version, func(t *testing.T) {
			dj := testserver.NewDjango(t, version)
			release := map[string]string{"3.2": "3.2.25-debian", "5.2": "5.2.19", "6.1": "6.1.1"}[version]
			type server struct{ url, backend, addr string }
			servers := []server{
				{"memcached://" + mc.Addr + "?django=" + release, "memcached", mc.Addr},
				{"redis://" + rd.Addr + "?django=" + release, "redis", rd.Addr},
				{"redis://" + rd.Addr + "?django_values=0&django=" + release, "redis", rd.Addr},
			}
			var jobs []map[string]any
			var pcs []*Cache
			site := &varyingSite{}
			for i, srv := range servers {
				prefix := fmt.Sprintf("single_dj%s_%d", strings.ReplaceAll(version, ".", ""), i)
				pc := openPageCache(t, srv.url, prefix)
				pcs = append(pcs, pc)
				// This process stores the page (Vary: Accept-Encoding) and
				// remembers its list.
				for j, want := range []string{"fragcache; fwd=uri-miss; stored", statusHit} {
					if got := serveReq(pc.Handler(site), djangoReq("sessionid=a")).Header().Get("Cache-Status"); got != want {
						t.Fatalf("%s: request %d: Cache-Status %q, want %q", srv.url, j, got, want)
					}
				}
				// The list expires (Django cannot read this package's
				// format), and Django learns its own.
				hk, _ := pc.Keys().HeaderKey(djangoReq(""))
				if _, err := pc.Cache().Delete(context.Background(), hk); err != nil {
					t.Fatal(err)
				}
				jobs = append(jobs, map[string]any{
					"cache": djangoCaches(version, srv.backend, srv.addr), "prefix": prefix, "vary": "Cookie",
					"path": "/dj/page?x=1", "headers": map[string]string{"HTTP_COOKIE": "sessionid=a"},
				})
			}
			in, _ := json.Marshal(jobs)
			var out []djangoAnswer
			if err := json.Unmarshal(dj.Run(t, djangoPageScript, in), &out); err != nil || len(out) != len(jobs) {
				t.Fatalf("Django's answer: %v (%d answers)", err, len(out))
			}
			site.cookie.Store(true) // the site now varies on Cookie, as Django's page
			for i, pc := range pcs {
				if out[i].Rendered != 1 {
					t.Fatalf("%s: Django rendered %d times", servers[i].url, out[i].Rendered)
				}
				// Django's key is what this process now computes.
				if key, ok, err := pc.GetCacheKey(context.Background(), djangoReq("sessionid=a"), http.MethodGet); err != nil || !ok || key != out[i].Key {
					t.Errorf("%s: GetCacheKey = %q %v %v, Django's %q", servers[i].url, key, ok, err, out[i].Key)
				}
				for _, cookie := range []string{"sessionid=a", "sessionid=b"} {
					rr := serveReq(pc.Handler(site), djangoReq(cookie))
					if got, want := rr.Header().Get("Cache-Status"), "fragcache; fwd=vary-miss; stored"; got != want {
						t.Errorf("%s, cookie %s: Cache-Status %q, want %q", servers[i].url, cookie, got, want)
					}
					if got, want := rr.Body.String(), fmt.Sprintf("page for cookie %q", cookie); got != want {
						t.Errorf("%s, cookie %s: body %q, want %q", servers[i].url, cookie, got, want)
					}
				}
				if st := pc.Stats(); st.Errors != 0 || st.ListGuessesWrong != 1 {
					t.Errorf("%s: stats %+v, want no errors and one wrong guess", servers[i].url, st)
				}
			}
		})
	}
}

// djangoReq is the request Django's script makes, with a cookie.
func djangoReq(cookie string) *http.Request {
	r := newReq("GET", "/dj/page?x=1")
	r.Header.Set("Cookie", cookie)
	return r
}

// TestSingleReadSameResponses: the same requests give byte-identical
// responses with the header-list memory on and off, on memory:// (the
// memory forced on) and on Redis and memcached (on by default): hits,
// misses, HEAD, conditional requests, Authorization, a Vary change.
func TestSingleReadSameResponses(t *testing.T) {
	urls := []string{"memory://"}
	for _, rc := range readCounters(t) {
		urls = append(urls, rc.url)
	}
	clock := newFakeClock(1700000000)
	for _, url := range urls {
		name, _, _ := strings.Cut(url, ":")
		t.Run(name, func(t *testing.T) {
			run := func(prefix string, opts ...Option) []string {
				site := &varyingSite{}
				c, err := backends.Open(url)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				pc, err := New(append([]Option{WithCache(c), WithKeyPrefix(prefix), WithClock(clock.Now)}, opts...)...)
				if err != nil {
					t.Fatal(err)
				}
				// Another process, which stores the page after the deploy.
				other, err := New(WithCache(c), WithKeyPrefix(prefix), WithClock(clock.Now))
				if err != nil {
					t.Fatal(err)
				}
				h := pc.Handler(site)
				var out []string
				for i, st := range []struct {
					method, cookie string
					header         http.Header
					varyCookie     bool
				}{
					{"GET", "a=1", nil, false},
					{"GET", "a=1", nil, false},
					{"HEAD", "a=1", nil, false},
					{"HEAD", "a=2", nil, false},
					{"GET", "a=1", http.Header{"If-None-Match": {"*"}}, false},
					{"GET", "a=1", http.Header{"Authorization": {"Basic eDp5"}}, false},
					{"GET", "a=2", nil, true}, // through the other process
					{"GET", "a=3", nil, true},
					{"GET", "a=2", nil, true},
					{"GET", "a=3", nil, true},
					{"GET", "a=2", http.Header{"Accept-Encoding": {"br"}}, true},
					{"HEAD", "a=3", nil, true},
				} {
					site.cookie.Store(st.varyCookie)
					if i == 6 {
						// The deploy: the old list expires.
						hk, _ := pc.Keys().HeaderKey(cookieReq("GET", ""))
						if _, err := pc.Cache().Delete(context.Background(), hk); err != nil {
							t.Fatal(err)
						}
					}
					r := cookieReq(st.method, st.cookie)
					for k, v := range st.header {
						r.Header[k] = v
					}
					rr := httptest.NewRecorder()
					if i == 6 {
						other.Handler(site).ServeHTTP(rr, r)
					} else {
						h.ServeHTTP(rr, r)
					}
					out = append(out, fmt.Sprintf("%d %v %q", rr.Code, rr.Header(), rr.Body.String()))
				}
				if st := pc.Stats(); st.Errors != 0 {
					t.Errorf("%s: errors %+v", prefix, st)
				}
				return out
			}
			on := run("same_on_"+name, WithHeaderListMemory(16))
			off := run("same_off_"+name, WithHeaderListMemory(0))
			for i := range on {
				if on[i] != off[i] {
					t.Errorf("request %d:\nwith the memory    %s\nwithout the memory %s", i, on[i], off[i])
				}
			}
		})
	}
}

// TestListMemoryBound: the memory keeps at most about n lists (a shard's
// share, rounded up), replaces a changed list, and forgets.
func TestListMemoryBound(t *testing.T) {
	tests := []struct{ n, keys, max int }{
		{1, 100, listShards},
		{16, 1000, 16},
		{100, 1000, 7 * listShards},
		{4096, 10, 10},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.n), func(t *testing.T) {
			l := newListMemory(tt.n)
			list := encodeHeaderList([]string{"HTTP_COOKIE"})
			for i := range tt.keys {
				l.put([]byte(strconv.Itoa(i)), list)
			}
			if got := l.len(); got > tt.max || got == 0 {
				t.Errorf("%d lists remembered, want 1 to %d", got, tt.max)
			}
			k := []byte("k")
			l.put(k, list)
			other := encodeHeaderList([]string{"HTTP_ACCEPT"})
			l.put(k, other)
			if v, ok := l.get(k); !ok || string(v) != string(other) {
				t.Errorf("get = %q %v, want the new list", v, ok)
			}
			l.forget(k)
			if _, ok := l.get(k); ok {
				t.Error("forgotten list still remembered")
			}
		})
	}
}

// TestHeaderListMemoryOption: the default depends on whether the backend is
// in process; a negative size is an error.
func TestHeaderListMemoryOption(t *testing.T) {
	tc := newTestCaches(t)
	tests := []struct {
		name   string
		opts   []Option
		wantOn bool
	}{
		{"memory:// by default", nil, false},
		{"memory:// forced on", []Option{WithHeaderListMemory(8)}, true},
		{"off", []Option{WithHeaderListMemory(0)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pc, err := New(tc.opts(tt.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			if on := pc.lists != nil; on != tt.wantOn {
				t.Errorf("memory on = %v, want %v", on, tt.wantOn)
			}
		})
	}
	if _, err := New(tc.opts(WithHeaderListMemory(-1))...); err == nil {
		t.Error("WithHeaderListMemory(-1) accepted")
	}
	rd := testserver.Redis(t)
	if pc := openPageCache(t, "redis://"+rd.Addr, "opt"); pc.lists == nil {
		t.Error("Redis: memory off by default")
	}
}

// TestSingleReadNear: with a near cache (memcached's local_ttl, Redis's
// near_cache=1) a hit whose header list is a near copy reads nothing from
// the server (no multi-get: the page is read alone, from the near cache
// too); once the near copies are gone (local_ttl past, or dropped by
// Redis's invalidation after another process rewrote the page) the
// remembered list makes the hit one round trip: one multi-get line on
// memcached, and on Redis, whose near cache reads the keys it does not hold
// with a GET each, concurrently, two GETs and no MGET.
func TestSingleReadNear(t *testing.T) {
	rcs := readCounters(t)
	tests := []struct {
		name, url           string
		rc                  readCounter
		firstReads          int // the hit after storing: memcached keeps copies of what it wrote, Redis does not
		coldReads           int
		rewrite             bool // drop the near copies by rewriting from another process
		waitForNearToExpire time.Duration
	}{
		{"memcached local_ttl", rcs[0].url + "?local_ttl=300ms", rcs[0], 0, 1, false, 400 * time.Millisecond},
		{"redis near_cache", rcs[1].url + "?near_cache=1", rcs[1], 2, 2, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			site := &varyingSite{}
			prefix := "near_" + strings.Fields(tt.name)[0]
			pa := openPageCache(t, tt.url, prefix)
			a := pa.Handler(site)
			serve := func(what string, wantReads int) {
				t.Helper()
				tt.rc.reset()
				rr := serveReq(a, cookieReq("GET", "a=1"))
				if got := rr.Header().Get("Cache-Status"); got != statusHit {
					t.Fatalf("%s: Cache-Status %q", what, got)
				}
				if got := rr.Body.String(); got != `page for cookie "a=1"` {
					t.Fatalf("%s: body %q", what, got)
				}
				if got := tt.rc.reads(); got != wantReads {
					t.Errorf("%s: %d read commands, want %d", what, got, wantReads)
				}
			}
			if got := serveReq(a, cookieReq("GET", "a=1")).Header().Get("Cache-Status"); got != "fragcache; fwd=uri-miss; stored" {
				t.Fatalf("first request: Cache-Status %q", got)
			}
			serve("the hit after storing", tt.firstReads)
			serve("warm", 0)
			if tt.rewrite {
				other := openPageCache(t, tt.url, prefix)
				if _, err := other.Invalidate(context.Background(), "http://testserver/single/page?x=1",
					http.Header{"Accept-Encoding": {"gzip"}}); err != nil {
					t.Fatal(err)
				}
				if got := serveReq(other.Handler(site), cookieReq("GET", "a=1")).Header().Get("Cache-Status"); got != "fragcache; fwd=vary-miss; stored" {
					t.Fatalf("other process: Cache-Status %q", got)
				}
				time.Sleep(100 * time.Millisecond) // the invalidation messages
			}
			time.Sleep(tt.waitForNearToExpire)
			before := pa.Stats().SingleReadHits
			serve("near copies gone", tt.coldReads)
			if got := pa.Stats().SingleReadHits; got != before+1 {
				t.Errorf("SingleReadHits %d, want %d", got, before+1)
			}
			serve("warm once more", 0)
		})
	}
}
