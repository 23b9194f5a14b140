package pagecache

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/internal/reexec"
	"github.com/fragcache/fragcache/internal/testserver"
)

// The stampede tests race several OS processes (the test binary started
// again, running TestHelperPageStampede) on one real memcached or Redis,
// each serving one page through its own page cache. Renders are counted
// through the backend itself (Incr on a counter key), so that a render in
// any process counts.

// The environment of a helper process.
const (
	envStampedeURL   = "FRAGCACHE_PAGESTAMPEDE_URL"
	envStampedeMode  = "FRAGCACHE_PAGESTAMPEDE_MODE"  // "burst" or "die"
	envStampedeStart = "FRAGCACHE_PAGESTAMPEDE_START" // Unix nanoseconds of the burst
	envStampedeNonce = "FRAGCACHE_PAGESTAMPEDE_NONCE" // names the page and its counter
	envStampedePage  = "FRAGCACHE_PAGESTAMPEDE_PAGE"  // the page timeout, in seconds
	envStampedeVary  = "FRAGCACHE_PAGESTAMPEDE_VARY"  // the request's Accept-Encoding (the page varies on it)
)

const (
	// stampedeProcs processes of stampedeGoroutines goroutines each
	// request the page at once.
	stampedeProcs      = 4
	stampedeGoroutines = 16
	// stampedeRender is how long a render takes.
	stampedeRender = 200 * time.Millisecond
	// stampedeStartDelay leaves the helper processes time to start.
	stampedeStartDelay = 1500 * time.Millisecond
	// dieExit is the exit code of a helper that died mid-render, and
	// dieTTL the lease TTL of the tests where it does (memcached counts
	// whole seconds: a lease of 1s may lapse at once).
	dieExit = 7
	dieTTL  = 2 * time.Second
)

// stampedePath is the page's path, stampedeCounter its render counter.
func stampedePath(nonce string) string    { return "/stampede/" + nonce }
func stampedeCounter(nonce string) string { return "pagestampede.renders." + nonce }

// stampedeHandler renders the page: it counts the render in the backend,
// takes stampedeRender (or, with die, exits the process mid-render), and
// writes "render <n>", n the render's number.
func stampedeHandler(c *cache.Cache, nonce string, die bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := c.Incr(context.Background(), stampedeCounter(nonce), 1)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if die {
			fmt.Println("pagestampede dying")
			os.Exit(dieExit)
		}
		time.Sleep(stampedeRender)
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Vary", "Accept-Encoding")
		fmt.Fprintf(w, "render %d", n)
	})
}

// stampedeReply is what one request got.
type stampedeReply struct {
	code   int
	took   time.Duration
	status string // Cache-Status
	body   string
}

func (r stampedeReply) String() string {
	return fmt.Sprintf("pagestampede code=%d ms=%d status=%q body=%q", r.code, r.took.Milliseconds(), r.status, r.body)
}

// parseReplies reads the replies a helper process printed.
func parseReplies(out []byte) []stampedeReply {
	var replies []stampedeReply
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var (
			r  stampedeReply
			ms int64
		)
		if _, err := fmt.Sscanf(strings.TrimSpace(sc.Text()), "pagestampede code=%d ms=%d status=%q body=%q", &r.code, &ms, &r.status, &r.body); err == nil {
			r.took = time.Duration(ms) * time.Millisecond
			replies = append(replies, r)
		}
	}
	return replies
}

// getPage requests the page through h.
func getPage(h http.Handler, nonce string) stampedeReply {
	return getVariant(h, nonce, "")
}

// getVariant requests the page through h with an Accept-Encoding header
// (none: "").
func getVariant(h http.Handler, nonce, encoding string) stampedeReply {
	start := time.Now()
	req := httptest.NewRequest(http.MethodGet, stampedePath(nonce), nil)
	req.Host = "stampede.example"
	if encoding != "" {
		req.Header.Set("Accept-Encoding", encoding)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return stampedeReply{code: w.Code, took: time.Since(start), status: w.Header().Get("Cache-Status"), body: w.Body.String()}
}

// burst makes n requests at once through h and returns their replies.
func burst(h http.Handler, nonce string, n int) []stampedeReply {
	return burstVariant(h, nonce, "", n)
}

// burstVariant is burst with an Accept-Encoding header.
func burstVariant(h http.Handler, nonce, encoding string, n int) []stampedeReply {
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		replies []stampedeReply
		start   = make(chan struct{})
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := getVariant(h, nonce, encoding)
			mu.Lock()
			replies = append(replies, r)
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return replies
}

// stampedeSite opens the cache url names and returns it with the page,
// cached for page seconds (die: its render kills the process).
func stampedeSite(t testing.TB, url, nonce string, page int, die bool) (*cache.Cache, *Cache, http.Handler) {
	t.Helper()
	c, err := backends.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	opts := []Option{WithCache(c)}
	p, err := New(append(opts, pageTimeoutOption(cache.Seconds(float64(page))))...)
	if err != nil {
		t.Fatal(err)
	}
	return c, p, p.Handler(stampedeHandler(c, nonce, die))
}

// TestHelperPageStampede is the body of the helper processes: "burst"
// requests the page from stampedeGoroutines goroutines at the agreed
// instant and prints the replies; "die" requests it once, and its render
// exits the process. In a test run not started by the stampede tests it
// skips.
func TestHelperPageStampede(t *testing.T) {
	url := os.Getenv(envStampedeURL)
	if url == "" {
		t.Skip("the helper process of the page stampede tests")
	}
	nonce := os.Getenv(envStampedeNonce)
	page, err := strconv.Atoi(os.Getenv(envStampedePage))
	if err != nil {
		t.Fatalf("%s: %v", envStampedePage, err)
	}
	mode := os.Getenv(envStampedeMode)
	_, _, h := stampedeSite(t, url, nonce, page, mode == "die")
	if mode == "die" {
		getPage(h, nonce)
		t.Fatal("the render did not exit the process")
	}
	start, err := strconv.ParseInt(os.Getenv(envStampedeStart), 10, 64)
	if err != nil {
		t.Fatalf("%s: %v", envStampedeStart, err)
	}
	time.Sleep(time.Until(time.Unix(0, start)))
	for _, r := range burstVariant(h, nonce, os.Getenv(envStampedeVary), stampedeGoroutines) {
		fmt.Println(r)
	}
}

// helperCmd returns the command of a helper process.
func helperCmd(url, mode, nonce string, page int, start time.Time, encoding string) *exec.Cmd {
	return reexec.Command("TestHelperPageStampede", []string{envStampedeURL + "=" + url, envStampedeMode + "=" + mode, envStampedeNonce + "=" + nonce,
		envStampedePage + "=" + strconv.Itoa(page), envStampedeStart + "=" + strconv.FormatInt(start.UnixNano(), 10),
		envStampedeVary + "=" + encoding})
}

// processBurst makes stampedeProcs helper processes request the page at
// once, stampedeGoroutines requests each, and returns every reply.
func processBurst(t *testing.T, url, nonce string, page int, encoding string) []stampedeReply {
	t.Helper()
	start := time.Now().Add(stampedeStartDelay)
	type result struct {
		out []byte
		err error
	}
	results := make(chan result, stampedeProcs)
	for range stampedeProcs {
		cmd := helperCmd(url, "burst", nonce, page, start, encoding)
		go func() {
			out, err := cmd.CombinedOutput()
			results <- result{out, err}
		}()
	}
	var replies []stampedeReply
	for range stampedeProcs {
		r := <-results
		got := parseReplies(r.out)
		if r.err != nil || len(got) != stampedeGoroutines {
			t.Fatalf("helper process: %v, %d replies of %d:\n%s", r.err, len(got), stampedeGoroutines, r.out)
		}
		replies = append(replies, got...)
	}
	return replies
}

// renders returns how many renders the backend counted.
func renders(t *testing.T, c *cache.Cache, nonce string) int {
	t.Helper()
	v, ok, err := c.Get(context.Background(), stampedeCounter(nonce))
	if err != nil || !ok {
		t.Fatalf("render counter: %q, %v, %v", v, ok, err)
	}
	n, err := strconv.Atoi(string(v))
	if err != nil {
		t.Fatalf("render counter %q: %v", v, err)
	}
	return n
}

// TestPageStampedeProcesses races processes on real memcached and Redis
// with a lease and grace on (WithStampede through the URL): a cold page
// requested by 64 requests at once is rendered once across all processes,
// whether its header list is not known (the lease is on the header-list
// key) or is (another variant stored: the lease is on the page key);
// a lease holder that dies mid-render holds nobody beyond the wait bound,
// and the first request after the lease TTL renders the page; a page past
// its freshness is served stale to every request but the one that renders
// it again, once.
func TestPageStampedeProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts other processes")
	}
	servers := []struct {
		name string
		url  func() string
	}{
		{"memcached", func() string { return "memcached://" + testserver.Memcached(t).Addr }},
		{"redis", func() string { return "redis://" + testserver.Redis(t).Addr }},
	}
	for _, srv := range servers {
		base := srv.url()
		t.Run(srv.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range []struct {
				name  string
				query string // URL options
				run   func(t *testing.T, url, nonce string)
			}{
				{"cold", "lease=1", testColdBurst},
				{"cold-variant", "lease=1", testColdVariantBurst},
				{"holder-dies/waiters", "lease=1&lease_ttl=" + dieTTL.String(), testHolderDiesWaiters},
				{"holder-dies/first-after-ttl", "lease=1&lease_ttl=" + dieTTL.String(), testHolderDiesFirstAfterTTL},
				{"grace", "grace=30s", testGraceBurst},
				{"grace/lease", "grace=30s&lease=1", testGraceBurst},
			} {
				t.Run(tc.name, func(t *testing.T) {
					nonce := cache.NewLeaseToken()[:12]
					// A fail-open wrapper answers a call past its operation
					// timeout (100ms) as a miss: on a loaded machine under the
					// race detector, that would be a second render.
					tc.run(t, base+"?op_timeout=2s&"+tc.query, nonce)
				})
			}
		})
	}
}

// setCounter starts the page's render counter at 0.
func setCounter(t *testing.T, c *cache.Cache, nonce string) {
	t.Helper()
	if err := c.Set(context.Background(), stampedeCounter(nonce), []byte("0"), cache.Seconds(600)); err != nil {
		t.Fatal(err)
	}
}

// testColdBurst: 64 concurrent cold requests in 4 processes, one render.
func testColdBurst(t *testing.T, url, nonce string) {
	c, _, h := stampedeSite(t, url, nonce, 60, false)
	setCounter(t, c, nonce)
	replies := processBurst(t, url, nonce, 60, "")
	if n := renders(t, c, nonce); n != 1 {
		t.Errorf("%d renders across %d processes, want 1", n, stampedeProcs)
	}
	stored := 0
	statuses := map[string]int{}
	for _, r := range replies {
		statuses[r.status]++
		if r.code != http.StatusOK || r.body != "render 1" {
			t.Errorf("reply %v, want render 1", r)
		}
		if strings.HasSuffix(r.status, "; stored") {
			stored++
		}
	}
	if stored != 1 {
		t.Errorf("%d replies stored the page, want 1", stored)
	}
	t.Logf("Cache-Status of the replies: %v", statuses)
	if r := getPage(h, nonce); r.status != statusHit || r.body != "render 1" {
		t.Errorf("after the burst: %v, want a hit", r)
	}
}

// testColdVariantBurst: the URL's header list is known (another variant
// is stored), the requested variant is not: 64 concurrent requests in 4
// processes lease its page key, and render it once.
func testColdVariantBurst(t *testing.T, url, nonce string) {
	c, _, h := stampedeSite(t, url, nonce, 60, false)
	setCounter(t, c, nonce)
	if r := getVariant(h, nonce, "gzip"); r.body != "render 1" || !strings.HasSuffix(r.status, "; stored") {
		t.Fatalf("the gzip variant: %v, want it stored", r)
	}
	replies := processBurst(t, url, nonce, 60, "br")
	if n := renders(t, c, nonce); n != 2 {
		t.Errorf("%d renders of the br variant across %d processes, want 1", n-1, stampedeProcs)
	}
	statuses := map[string]int{}
	for _, r := range replies {
		statuses[r.status]++
		if r.code != http.StatusOK || r.body != "render 2" {
			t.Errorf("reply %v, want render 2", r)
		}
	}
	if statuses["fragcache; fwd=vary-miss; stored"] != 1 {
		t.Errorf("Cache-Status of the replies: %v, want one stored", statuses)
	}
	t.Logf("Cache-Status of the replies: %v", statuses)
	if r := getVariant(h, nonce, "gzip"); r.status != statusHit || r.body != "render 1" {
		t.Errorf("the gzip variant after the burst: %v, want a hit", r)
	}
}

// dieHolding starts a helper process whose render, holding the lease,
// exits the process, and returns once it has: when the process took the
// lease at the latest.
func dieHolding(t *testing.T, url, nonce string) time.Time {
	t.Helper()
	out, err := helperCmd(url, "die", nonce, 60, time.Now(), "").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != dieExit {
		t.Fatalf("dying helper: %v, want exit code %d:\n%s", err, dieExit, out)
	}
	return time.Now()
}

// testHolderDiesWaiters: requests arriving while a dead process holds the
// lease wait at most the bound (the lease TTL, dieTTL) before rendering.
func testHolderDiesWaiters(t *testing.T, url, nonce string) {
	c, p, h := stampedeSite(t, url, nonce, 60, false)
	setCounter(t, c, nonce)
	dieHolding(t, url, nonce)
	const bound = dieTTL            // the default wait: the lease TTL
	slack := 800 * time.Millisecond // a noisy machine, the race detector
	for _, r := range burst(h, nonce, 8) {
		if r.code != http.StatusOK || !strings.HasPrefix(r.body, "render ") {
			t.Errorf("reply %v", r)
		}
		if r.took > bound+stampedeRender+slack {
			t.Errorf("a request took %v, beyond the wait bound %v plus a render: %v", r.took, bound, r)
		}
	}
	if st := p.Stats(); st.LeasesLost == 0 {
		t.Errorf("no lease found held by the dead process: %+v", st)
	}
}

// testHolderDiesFirstAfterTTL: once the dead holder's lease lapses, the
// next request renders at once and stores.
func testHolderDiesFirstAfterTTL(t *testing.T, url, nonce string) {
	c, _, h := stampedeSite(t, url, nonce, 60, false)
	setCounter(t, c, nonce)
	died := dieHolding(t, url, nonce)
	// memcached counts whole seconds: its lease may last up to a second
	// longer.
	time.Sleep(time.Until(died.Add(dieTTL + time.Second)))
	r := getPage(h, nonce)
	if r.status != "fragcache; fwd=uri-miss; stored" || r.body != "render 2" {
		t.Errorf("first request after the lease TTL: %v, want it rendered (render 2) and stored", r)
	}
	if r.took > stampedeRender+500*time.Millisecond {
		t.Errorf("first request after the lease TTL took %v: it waited", r.took)
	}
	if r := getPage(h, nonce); r.status != statusHit || r.body != "render 2" {
		t.Errorf("next request: %v, want a hit", r)
	}
}

// testGraceBurst: a page past its freshness (1s) under 64 concurrent
// requests in 4 processes is served stale to all but one, which renders
// it again, once.
func testGraceBurst(t *testing.T, url, nonce string) {
	c, _, h := stampedeSite(t, url, nonce, 1, false)
	setCounter(t, c, nonce)
	if r := getPage(h, nonce); r.body != "render 1" || !strings.HasSuffix(r.status, "; stored") {
		t.Fatalf("first request: %v, want it stored", r)
	}
	// The burst starts stampedeStartDelay from now: past the page's
	// freshness (1s), within its grace.
	before := renders(t, c, nonce)
	replies := processBurst(t, url, nonce, 1, "")
	if n := renders(t, c, nonce) - before; n != 1 {
		t.Errorf("%d renders of the stale page across %d processes, want 1", n, stampedeProcs)
	}
	stale, refreshed, fresh := 0, 0, 0
	for _, r := range replies {
		switch {
		case r.code != http.StatusOK:
			t.Errorf("reply %v", r)
		case r.status == statusStale && r.body == fmt.Sprintf("render %d", before):
			stale++
		case r.status == "fragcache; fwd=stale; stored":
			refreshed++
		case r.status == statusHit && r.body == fmt.Sprintf("render %d", before+1):
			fresh++ // came after the new render landed
		case r.status == statusHit && r.body == fmt.Sprintf("render %d", before):
			// Read while the new render was being stored: the old page
			// with the new page's freshness, which describes another value
			// and counts as none (cache.DecodeFreshness).
			fresh++
		default:
			t.Errorf("reply %v, want the stale page, its new render, or the new render", r)
		}
	}
	if refreshed != 1 || stale < stampedeProcs*stampedeGoroutines/2 {
		t.Errorf("%d stale, %d renders, %d fresh hits; want 1 render, the rest (most of them) stale", stale, refreshed, fresh)
	}
	t.Logf("%d stale, %d renders, %d fresh hits", stale, refreshed, fresh)
	// The new render is served (or, its second of freshness past on a slow
	// machine, rendered again).
	if r := getPage(h, nonce); r.body != fmt.Sprintf("render %d", before+1) && r.status != "fragcache; fwd=stale; stored" {
		t.Errorf("after the burst: %v, want the new render", r)
	}
}
