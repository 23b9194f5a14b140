package templates_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/internal/reexec"
	"github.com/fragcache/fragcache/internal/testserver"
	"github.com/fragcache/fragcache/render"
)

// This file is issue 16's multi-process tests: several OS processes (the
// test binary started again, running TestHelperProcessStampede) render one
// {% cache %} fragment at the same instants on one real memcached or Redis,
// with a 200 ms body that counts its renders on the backend itself (incr).

// Environment of the helper processes.
const (
	envStURL     = "FRAGCACHE_STAMPEDE_URL"     // the cache URL
	envStMode    = "FRAGCACHE_STAMPEDE_MODE"    // burst, victim or load
	envStStart   = "FRAGCACHE_STAMPEDE_START"   // Unix nanoseconds of the first request
	envStUntil   = "FRAGCACHE_STAMPEDE_UNTIL"   // load: Unix nanoseconds of the last request's start
	envStCounter = "FRAGCACHE_STAMPEDE_COUNTER" // the key the body increments
	envStTimeout = "FRAGCACHE_STAMPEDE_TIMEOUT" // the fragment's timeout, seconds
)

const (
	// stProcs helper processes run stGoroutines goroutines each.
	stProcs      = 4
	stGoroutines = 16
	// stRender is how long a render of the body takes.
	stRender = 200 * time.Millisecond
	// stStartDelay leaves the helper processes time to start.
	stStartDelay = 2500 * time.Millisecond
	// stTemplate is the page: one fragment whose body is costly.
	stTemplate = `{% load cache %}<p>{% cache timeout hot %}{{ work.Render }}{% endcache %}</p>`
)

// stWork is the page's data: its Render sleeps stRender and counts the
// render on the backend (or, for the victim, says it holds the lease and
// sleeps until killed).
type stWork struct {
	c       *cache.Cache
	counter string
	victim  bool
}

// Render renders the costly part of the fragment: "r<pid>-<Unix ns>".
func (w *stWork) Render() string {
	start := time.Now()
	if w.victim {
		fmt.Printf("stampede holding=%d\n", start.UnixNano())
		time.Sleep(time.Minute) // until killed
	}
	if _, err := w.c.Incr(context.Background(), w.counter, 1); err != nil {
		fmt.Printf("stampede error=%q\n", err.Error())
	}
	time.Sleep(stRender)
	return fmt.Sprintf("r%d-%d", os.Getpid(), start.UnixNano())
}

// stRequest is one page request of a helper: when it started, how long it
// took and the fragment it got.
type stRequest struct {
	start time.Time
	took  time.Duration
	out   string
}

// TestHelperProcessStampede is a helper process of the stampede tests. It
// runs only as one.
func TestHelperProcessStampede(t *testing.T) {
	url := os.Getenv(envStURL)
	if url == "" {
		t.Skip("helper process of the stampede tests")
	}
	num := func(env string) int64 {
		n, err := strconv.ParseInt(os.Getenv(env), 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", env, err)
		}
		return n
	}
	start := time.Unix(0, num(envStStart))
	rdr, reg := stRenderer(t, url)
	c, _ := reg.Default()
	mode := os.Getenv(envStMode)
	work := &stWork{c: c, counter: os.Getenv(envStCounter), victim: mode == "victim"}
	data := pongo2.Context{"work": work, "timeout": num(envStTimeout)}
	// Parse the page, and open connections for every goroutine, before
	// the start, so that all start together.
	if err := rdr.Preload("page.html"); err != nil {
		t.Fatal(err)
	}
	var warm sync.WaitGroup
	for range stGoroutines {
		warm.Add(1)
		go func() { defer warm.Done(); _, _, _ = c.Get(context.Background(), "warm-up") }()
	}
	warm.Wait()
	var mu sync.Mutex
	report := func(r stRequest) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Printf("stampede start=%d took=%d out=%s\n", r.start.UnixNano(), r.took, r.out)
	}
	request := func() {
		s := time.Now()
		b, err := rdr.RenderBytes(httptest.NewRequest("GET", "/", nil), "page.html", data)
		if err != nil {
			t.Error(err)
			return
		}
		report(stRequest{start: s, took: time.Since(s), out: string(b)})
	}
	time.Sleep(time.Until(start))
	switch mode {
	case "victim":
		request() // never returns: the parent kills the process
	case "burst":
		var wg sync.WaitGroup
		for range stGoroutines {
			wg.Add(1)
			go func() { defer wg.Done(); request() }()
		}
		wg.Wait()
	case "load":
		until := time.Unix(0, num(envStUntil))
		var wg sync.WaitGroup
		for range stGoroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(until) {
					request()
					time.Sleep(40 * time.Millisecond)
				}
			}()
		}
		wg.Wait()
	default:
		t.Fatalf("mode %q", mode)
	}
}

// stHelper is a started helper process.
type stHelper struct {
	cmd  *exec.Cmd
	out  chan string // its stdout, line by line, closed at its end
	done chan error  // its exit
	errb strings.Builder
}

// startHelper starts a helper process in mode, whose first request is at
// start.
func startHelper(t *testing.T, url, mode, counter string, timeout int, start, until time.Time) *stHelper {
	t.Helper()
	cmd := reexec.Command("TestHelperProcessStampede", []string{envStURL + "=" + url, envStMode + "=" + mode, envStCounter + "=" + counter,
		envStTimeout + "=" + strconv.Itoa(timeout), envStStart + "=" + strconv.FormatInt(start.UnixNano(), 10),
		envStUntil + "=" + strconv.FormatInt(until.UnixNano(), 10)}, "-test.v")
	h := &stHelper{cmd: cmd, out: make(chan string, 4096), done: make(chan error, 1)}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &h.errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			h.out <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, stdout)
		close(h.out)
		h.done <- cmd.Wait()
	}()
	return h
}

// results collects the requests a helper reported, and fails t on any
// other "stampede" line (an error) or a failed exit.
func (h *stHelper) results(t *testing.T) []stRequest {
	t.Helper()
	var reqs []stRequest
	var lines []string
	for line := range h.out {
		lines = append(lines, line)
		var start, took int64
		var out string
		if _, err := fmt.Sscanf(line, "stampede start=%d took=%d out=%s", &start, &took, &out); err == nil {
			reqs = append(reqs, stRequest{start: time.Unix(0, start), took: time.Duration(took), out: out})
		} else if strings.HasPrefix(line, "stampede ") {
			t.Errorf("helper: %s", line)
		}
	}
	if err := <-h.done; err != nil {
		t.Errorf("helper process: %v\n%s\n%s", err, strings.Join(lines, "\n"), h.errb.String())
	}
	return reqs
}

// stServers are the real servers of the stampede tests, one of each per
// test binary.
type stServers struct {
	mc, rd *testserver.Server
}

// urls returns the cache URL of each server, with opts and a key prefix
// of its own. The operation timeout is 2s rather than the fail-open
// wrapper's 100ms: 4 processes of 16 goroutines under the race detector on
// a small machine can delay a call past 100ms, and the circuit breaker
// would then turn reads into misses, which is not what these tests test.
// (The lease wait does not follow the operation timeout.)
func (s stServers) urls(prefix, opts string) map[string]string {
	return map[string]string{
		"memcached": "memcached://" + s.mc.Addr + "?op_timeout=2s&key_prefix=" + prefix + "&" + opts,
		"redis":     "redis://" + s.rd.Addr + "?op_timeout=2s&key_prefix=" + prefix + "&" + opts,
	}
}

// TestStampedeAcrossProcesses is issue 16's tests on real servers, one
// memcached and one Redis for all: cold misses, a lease holder killed,
// grace under concurrent load, and sharing with real Django.
func TestStampedeAcrossProcesses(t *testing.T) {
	srv := newStServers(t)
	t.Run("cold", func(t *testing.T) { stampedeColdMissAcrossProcesses(t, srv) })
	t.Run("killed", func(t *testing.T) { stampedeHolderKilled(t, srv) })
	t.Run("grace", func(t *testing.T) { stampedeGraceAcrossProcesses(t, srv) })
	t.Run("grace-load", func(t *testing.T) { stampedeGraceUnderLoad(t, srv) })
	t.Run("django", func(t *testing.T) { stampedeDjangoShares(t, srv) })
}

func newStServers(t *testing.T) stServers {
	if testing.Short() {
		t.Skip("starts other processes")
	}
	return stServers{mc: testserver.Memcached(t), rd: testserver.Redis(t)}
}

// counterOf opens url and returns its cache (closed with the test), with
// the render counter under key set to 0.
func counterOf(t *testing.T, url, key string) *cache.Cache {
	t.Helper()
	c, err := backends.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Set(context.Background(), key, []byte("0"), cache.Forever); err != nil {
		t.Fatal(err)
	}
	return c
}

func renders(t *testing.T, c *cache.Cache, key string) int64 {
	t.Helper()
	n, err := c.Incr(context.Background(), key, 0)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// fragmentOf returns the page a stored fragment gives, "" when none is.
func fragmentOf(t *testing.T, c *cache.Cache) string {
	t.Helper()
	v, ok, err := c.Get(context.Background(), c.KeyScheme().FragmentKey("hot"))
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return ""
	}
	return "<p>" + string(v) + "</p>"
}

// latencies returns the median and the largest latency of reqs.
func latencies(reqs []stRequest) (median, max time.Duration) {
	d := make([]time.Duration, len(reqs))
	for i, r := range reqs {
		d[i] = r.took
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	if len(d) == 0 {
		return 0, 0
	}
	return d[len(d)/2], d[len(d)-1]
}

// stampedeColdMissAcrossProcesses: 4 processes × 16 goroutines miss
// one fragment at the same instant, on real memcached and Redis with
// lease=1 and the default wait and lease TTL: the body (200 ms) runs once
// across all processes (counted by the backend), and every request gets
// that render's fragment.
func stampedeColdMissAcrossProcesses(t *testing.T, srv stServers) {
	for name, url := range srv.urls("cold", "lease=1") {
		t.Run(name, func(t *testing.T) {
			counter := "renders.cold"
			c := counterOf(t, url, counter)
			start := time.Now().Add(stStartDelay)
			var hs []*stHelper
			for range stProcs {
				hs = append(hs, startHelper(t, url, "burst", counter, 600, start, start))
			}
			var reqs []stRequest
			for _, h := range hs {
				reqs = append(reqs, h.results(t)...)
			}
			if len(reqs) != stProcs*stGoroutines {
				t.Fatalf("%d requests reported, want %d", len(reqs), stProcs*stGoroutines)
			}
			if n := renders(t, c, counter); n != 1 {
				t.Errorf("%d renders across %d processes × %d goroutines, want exactly 1", n, stProcs, stGoroutines)
			}
			want := fragmentOf(t, c)
			for _, r := range reqs {
				if r.out != want {
					t.Errorf("a request got %q, want the stored %q", r.out, want)
					break
				}
			}
			median, max := latencies(reqs)
			t.Logf("%d requests: latency median %v, max %v", len(reqs), median, max)
		})
	}
}

// stampedeHolderKilled: the process holding the lease on a missing
// fragment is killed mid-render (lease_ttl=1s). Requests from 3 other
// processes × 16 goroutines meanwhile wait at most the wait bound (the
// lease TTL here) each; the first request after the lease lapses takes it
// and renders the fragment, which everyone gets afterwards.
func stampedeHolderKilled(t *testing.T, srv stServers) {
	const ttl = time.Second
	for name, url := range srv.urls("killed", "lease=1&lease_ttl=1s") {
		t.Run(name, func(t *testing.T) {
			counter := "renders.killed"
			c := counterOf(t, url, counter)
			start := time.Now().Add(stStartDelay)
			until := start.Add(2*ttl + 1500*time.Millisecond)
			victim := startHelper(t, url, "victim", counter, 600, start, start)
			var loads []*stHelper
			for range stProcs - 1 {
				loads = append(loads, startHelper(t, url, "load", counter, 600, start.Add(100*time.Millisecond), until))
			}
			// Kill the victim as soon as it renders, holding the lease.
			var held time.Time
			for line := range victim.out {
				var ns int64
				if _, err := fmt.Sscanf(line, "stampede holding=%d", &ns); err == nil {
					held = time.Unix(0, ns)
					break
				}
			}
			if held.IsZero() {
				t.Fatalf("the victim did not render: %v\n%s", <-victim.done, victim.errb.String())
			}
			if err := victim.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			var reqs []stRequest
			for _, h := range loads {
				reqs = append(reqs, h.results(t)...)
			}
			if len(reqs) < (stProcs-1)*stGoroutines {
				t.Fatalf("%d requests reported", len(reqs))
			}
			stored := fragmentOf(t, c)
			if stored == "" {
				t.Fatal("no fragment stored after the lease lapsed")
			}
			// The stored render started after the lease lapsed: on Redis at
			// its TTL, on memcached (whose clock ticks once a second) within a
			// second of it.
			ns, _ := strconv.ParseInt(stored[strings.IndexByte(stored, '-')+1:len(stored)-len("</p>")], 10, 64)
			renderedAfter := time.Unix(0, ns).Sub(held)
			lo, hi := ttl-50*time.Millisecond, ttl+300*time.Millisecond
			if name == "memcached" {
				lo, hi = 0, 2*ttl+300*time.Millisecond
			}
			if renderedAfter < lo || renderedAfter > hi {
				t.Errorf("the stored fragment was rendered %v after the victim took the lease, want within [%v, %v]", renderedAfter, lo, hi)
			}
			// Nobody waits beyond the bound: the wait (the lease TTL), and
			// a render of its own.
			bound := ttl + stRender + 500*time.Millisecond
			landed := time.Unix(0, ns).Add(stRender + 100*time.Millisecond)
			var before, after int
			for _, r := range reqs {
				if r.took > bound {
					t.Errorf("a request started %v after the lease took %v, beyond the bound %v", r.start.Sub(held), r.took, bound)
				}
				if r.start.After(landed) {
					after++
					if r.out != stored {
						t.Errorf("a request started after the fragment was stored got %q, want %q", r.out, stored)
					}
				} else {
					before++
				}
			}
			n := renders(t, c, counter)
			median, max := latencies(reqs)
			t.Logf("%d requests (%d before the new fragment landed, %d after): latency median %v, max %v; %d renders; stored fragment rendered %v after the lease was taken",
				len(reqs), before, after, median, max, n, renderedAfter)
			if after == 0 {
				t.Errorf("no request after the new fragment landed")
			}
		})
	}
}

// stampedeGraceAcrossProcesses: a fragment past its timeout (1 s),
// within its grace, read by 4 processes × 16 goroutines at once: all but
// one request get the stale fragment at once, one renders it again (once
// across all processes), and the next burst gets the new fragment without
// rendering.
func stampedeGraceAcrossProcesses(t *testing.T, srv stServers) {
	for name, url := range srv.urls("grace", "lease=1&grace=60s") {
		t.Run(name, func(t *testing.T) {
			counter := "renders.grace"
			c := counterOf(t, url, counter)
			// The first render, in this process.
			rdr, _ := stRenderer(t, url)
			b, err := rdr.RenderBytes(httptest.NewRequest("GET", "/", nil), "page.html", pongo2.Context{"work": &stWork{c: c, counter: counter}, "timeout": 1})
			if err != nil {
				t.Fatal(err)
			}
			stale := string(b)
			start := time.Now().Add(stStartDelay) // past the 1 s timeout
			burst := func(start time.Time) []stRequest {
				var hs []*stHelper
				for range stProcs {
					hs = append(hs, startHelper(t, url, "burst", counter, 1, start, start))
				}
				var reqs []stRequest
				for _, h := range hs {
					reqs = append(reqs, h.results(t)...)
				}
				if len(reqs) != stProcs*stGoroutines {
					t.Fatalf("%d requests reported, want %d", len(reqs), stProcs*stGoroutines)
				}
				return reqs
			}
			reqs := burst(start)
			if n := renders(t, c, counter); n != 2 {
				t.Errorf("%d renders in all, want 2 (the first, and one refresh across all processes)", n-1)
			}
			fresh := fragmentOf(t, c)
			if fresh == stale || fresh == "" {
				t.Fatalf("the fragment was not replaced: %q", fresh)
			}
			var nStale, nFresh int
			for _, r := range reqs {
				switch r.out {
				case stale:
					nStale++
					if r.took > stRender {
						t.Errorf("a stale read took %v", r.took)
					}
				case fresh:
					nFresh++
				default:
					t.Errorf("a request got %q, neither the stale %q nor the new %q", r.out, stale, fresh)
				}
			}
			median, max := latencies(reqs)
			t.Logf("%d requests: %d stale, %d new; latency median %v, max %v", len(reqs), nStale, nFresh, median, max)
			if nStale != len(reqs)-1 || nFresh != 1 {
				t.Errorf("%d requests served stale and %d the new fragment, want %d and 1", nStale, nFresh, len(reqs)-1)
			}
			// The new fragment is fresh for a second: a burst now hits it.
			// A second burst, past the new fragment's timeout: again one
			// refresh at most, and everyone gets the new fragment or the
			// next one.
			reqs = burst(time.Now().Add(stStartDelay / 2))
			if n := renders(t, c, counter); n > 3 {
				t.Errorf("%d renders in all after a second burst, want at most 3", n)
			}
			next := fragmentOf(t, c)
			for _, r := range reqs {
				if r.out != fresh && r.out != next {
					t.Errorf("second burst: a request got %q, want %q or %q", r.out, fresh, next)
				}
			}
		})
	}
}

// renderedAt returns the instant the fragment in a page was rendered
// (stWork.Render's "r<pid>-<Unix ns>").
func renderedAt(t *testing.T, page string) time.Time {
	t.Helper()
	i, j := strings.IndexByte(page, '-'), strings.LastIndex(page, "</p>")
	if i < 0 || j < i {
		t.Fatalf("no render in %q", page)
	}
	ns, err := strconv.ParseInt(page[i+1:j], 10, 64)
	if err != nil {
		t.Fatalf("no render in %q: %v", page, err)
	}
	return time.Unix(0, ns)
}

// stampedeGraceUnderLoad: 4 processes × 16 goroutines request a page
// continuously for 3.5 s while its fragment (timeout 1 s, grace 60 s)
// expires again and again: each expiry is refreshed by one render across
// all processes (renders are at least about the timeout apart; two
// processes that read the same stale fragment do not both refresh it),
// and no request waits for a render but the refreshing one's.
func stampedeGraceUnderLoad(t *testing.T, srv stServers) {
	for name, url := range srv.urls("graceload", "lease=1&grace=60s") {
		t.Run(name, func(t *testing.T) {
			counter := "renders.graceload"
			c := counterOf(t, url, counter)
			rdr, _ := stRenderer(t, url)
			if _, err := rdr.RenderBytes(httptest.NewRequest("GET", "/", nil), "page.html", pongo2.Context{"work": &stWork{c: c, counter: counter}, "timeout": 1}); err != nil {
				t.Fatal(err)
			}
			start := time.Now().Add(stStartDelay)
			until := start.Add(3500 * time.Millisecond)
			var hs []*stHelper
			for range stProcs {
				hs = append(hs, startHelper(t, url, "load", counter, 1, start, until))
			}
			var reqs []stRequest
			for _, h := range hs {
				reqs = append(reqs, h.results(t)...)
			}
			versions := map[string]bool{}
			for _, r := range reqs {
				versions[r.out] = true
				if bound := stRender + 500*time.Millisecond; r.took > bound {
					t.Errorf("a request took %v, beyond a render and some slack (%v)", r.took, bound)
				}
			}
			var at []time.Time
			for v := range versions {
				at = append(at, renderedAt(t, v))
			}
			sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
			for i := 1; i < len(at); i++ {
				if d := at[i].Sub(at[i-1]); d < 800*time.Millisecond {
					t.Errorf("two renders %v apart (at %v and %v after the first): one expiry refreshed twice", d, at[i-1].Sub(at[0]), at[i].Sub(at[0]))
				}
			}
			n := renders(t, c, counter)
			if n != int64(len(at)) && n != int64(len(at))+1 { // the first render may have been served to nobody
				t.Errorf("%d renders counted by the backend, %d seen by the requests", n, len(at))
			}
			median, max := latencies(reqs)
			t.Logf("%d requests, %d renders seen (%d counted); latency median %v, max %v", len(reqs), len(at), n, median, max)
		})
	}
}

// djangoStampedeScript renders a {% cache %} template with real Django
// and deletes fragments by name, as a Django app does. Input: {"caches":
// {alias: conf}, "template": …, "ops": [["render", alias, user, x] |
// ["delete", alias, user]]}; output: the renders.
const djangoStampedeScript = `
import json, sys
req = json.load(sys.stdin)
import django
caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
for alias, conf in req["caches"].items():
    conf = dict(conf)
    if conf["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
        import redis
        class Connection(redis.Connection):
            def __init__(self, *args, lib_name=None, **kwargs):
                super().__init__(*args, **kwargs)
        conf["OPTIONS"] = {"connection_class": Connection}
    caches[alias] = conf
from django.conf import settings
settings.configure(CACHES=caches, TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}])
django.setup()
from django.core.cache import caches as django_caches
from django.core.cache.utils import make_template_fragment_key
from django.template import engines
out = []
for op in req["ops"]:
    if op[0] == "render":
        tpl = engines["django"].from_string(req["template"].replace("ALIAS", op[1]))
        out.append(tpl.render({"user": op[2], "x": op[3]}))
    else:
        out.append(str(django_caches[op[1]].delete(make_template_fragment_key("frag", [op[2]]))))
json.dump(out, sys.stdout)
`

// stampedeDjangoShares: with lease, grace and jitter on, real Django
// 3.2, 5.2 and 6.1 read the fragments Go wrote (Django renders the same
// template and gets Go's bytes), and Django's invalidation
// (cache.delete(make_template_fragment_key(…))) makes Go render again: the
// freshness side key left behind does not keep the value alive.
func stampedeDjangoShares(t *testing.T, srv stServers) {
	const template = `{% load cache %}{% cache 60 frag user using="ALIAS" %}<b>{{ x }}</b>{% endcache %}`
	releases := map[string]string{"3.2": "3.2.25-debian", "5.2": "5.2.19", "6.1": "6.1.1"}
	const opts = "lease=1&grace=30s&jitter=0.3"
	for i, version := range testserver.DjangoVersions {
		t.Run(version, func(t *testing.T) {
			dj := testserver.NewDjango(t, version)
			prefix := "st" + strings.ReplaceAll(version, ".", "")
			redisBackend := "django.core.cache.backends.redis.RedisCache"
			if version == "3.2" {
				redisBackend = "django_redis.cache.RedisCache"
			}
			caches := map[string]any{
				"mc": map[string]any{"BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache", "LOCATION": srv.mc.Addr, "KEY_PREFIX": prefix},
				"rd": map[string]any{"BACKEND": redisBackend, "LOCATION": fmt.Sprintf("redis://%s/%d", srv.rd.Addr, i), "KEY_PREFIX": prefix},
			}
			django := func(ops ...[]string) []string {
				in, _ := json.Marshal(map[string]any{"caches": caches, "template": template, "ops": ops})
				var out []string
				if err := json.Unmarshal(dj.Run(t, djangoStampedeScript, in), &out); err != nil {
					t.Fatal(err)
				}
				return out
			}
			reg, err := backends.OpenRegistry(map[string]string{
				"default": "memory://",
				"mc":      "memcached://" + srv.mc.Addr + "?key_prefix=" + prefix + "&django=" + releases[version] + "&" + opts,
				"rd":      fmt.Sprintf("redis://%s/%d?key_prefix=%s&django=%s&%s", srv.rd.Addr, i, prefix, releases[version], opts),
			})
			if err != nil {
				t.Fatal(err)
			}
			defer reg.Close()
			rdr, err := render.New(render.Options{Registry: reg, FS: fstest.MapFS{
				"mc.html": {Data: []byte(replaceAlias(template, "mc"))},
				"rd.html": {Data: []byte(replaceAlias(template, "rd"))},
			}})
			if err != nil {
				t.Fatal(err)
			}
			defer rdr.Close()
			goRender := func(alias, x string) string {
				b, err := rdr.RenderBytes(httptest.NewRequest("GET", "/", nil), alias+".html", pongo2.Context{"user": "alice", "x": x})
				if err != nil {
					t.Fatal(err)
				}
				return string(b)
			}
			for _, alias := range []string{"mc", "rd"} {
				c, _ := reg.Cache(alias)
				if s := c.Stampede(); !s.Lease || s.Grace != 30*time.Second {
					t.Fatalf("%s: stampede %+v", alias, s)
				}
				if got := goRender(alias, "go"); got != "<b>go</b>" {
					t.Fatalf("%s: Go rendered %q", alias, got)
				}
			}
			// Django reads Go's fragments, then deletes them by name.
			out := django(
				[]string{"render", "mc", "alice", "django"}, []string{"render", "rd", "alice", "django"},
				[]string{"delete", "mc", "alice"}, []string{"delete", "rd", "alice"})
			want := []string{"<b>go</b>", "<b>go</b>", "True", "True"}
			if strings.Join(out, "|") != strings.Join(want, "|") {
				t.Errorf("Django %s: %q, want %q (Go's fragments, then deleted)", version, out, want)
			}
			// Go renders again after Django's invalidation, and Django
			// reads the new fragment.
			for _, alias := range []string{"mc", "rd"} {
				if got := goRender(alias, "again"); got != "<b>again</b>" {
					t.Errorf("%s: after Django's delete Go rendered %q, want a new render", alias, got)
				}
			}
			out = django([]string{"render", "mc", "alice", "django"}, []string{"render", "rd", "alice", "django"})
			if strings.Join(out, "|") != "<b>again</b>|<b>again</b>" {
				t.Errorf("Django %s after Go's new render: %q", version, out)
			}
		})
	}
}

// stRenderer returns a Renderer of stTemplate as page.html over a registry
// whose default cache is url, both closed when t ends.
func stRenderer(t *testing.T, url string) (*render.Renderer, *cache.Registry) {
	t.Helper()
	reg, err := backends.OpenRegistry(map[string]string{"default": url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	rdr, err := render.New(render.Options{Registry: reg, FS: fstest.MapFS{"page.html": {Data: []byte(stTemplate)}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdr.Close() })
	return rdr, reg
}
