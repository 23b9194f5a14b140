// Package stampedetest checks stampede protection across OS processes,
// for the backends' tests: the test binary is started again as helper
// processes (running one test function that calls Helper), each with
// several goroutines calling Cache.GetOrSetWith on one key at an agreed
// instant, and the loads are counted through the backend itself (Incr on
// a counter key) and by the processes' reports.
//
//	func TestHelperStampedeProcess(t *testing.T) { stampedetest.Helper(t, open) }
//
//	func TestStampedeProcesses(t *testing.T) {
//		stampedetest.Run(t, stampedetest.Config{Helper: "TestHelperStampedeProcess", URL: url, Open: open})
//	}
//
// Run checks three scenarios, each against the cache the URL names (which
// must take lease=, lease_ttl= and grace= as every scheme does):
//
//   - cold: Procs processes × Goroutines goroutines miss one key at once,
//     with a load of Load and the default wait and lease TTL: exactly one
//     load across all processes, and every caller gets its value.
//   - killed: a process takes the lease and is killed while it computes;
//     the callers that wait for it compute once the lease lapses (the first
//     call after the lease TTL), and none waits beyond the bound.
//   - grace: a value past its timeout, within its grace, is served stale
//     at once to every caller under concurrent load, and recomputed once
//     across the processes.
package stampedetest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/internal/reexec"
)

// The environment of a helper process.
const (
	envURL      = "FRAGCACHE_STAMPEDETEST_URL"
	envScenario = "FRAGCACHE_STAMPEDETEST_SCENARIO" // "calls" or "holder"
	envStart    = "FRAGCACHE_STAMPEDETEST_START"    // Unix nanoseconds of the first call
	envNonce    = "FRAGCACHE_STAMPEDETEST_NONCE"    // makes the keys of one run unique
	envRounds   = "FRAGCACHE_STAMPEDETEST_ROUNDS"   // calls per goroutine
)

const (
	// Procs is the number of helper processes calling.
	Procs = 4
	// Goroutines call at once in each process.
	Goroutines = 16
	// Load is how long a load takes.
	Load = 200 * time.Millisecond
	// startDelay leaves the helper processes time to start.
	startDelay = 2 * time.Second
	// roundGap separates the rounds of calls of the grace scenario.
	roundGap = 100 * time.Millisecond
	// slack is what a noisy machine may add to a bounded duration.
	slack = 2 * time.Second
	// KilledLeaseTTL is the lease TTL of the killed scenario (its URL
	// gets lease_ttl=2s).
	KilledLeaseTTL = 2 * time.Second
	// holderLead is how long before the callers' instant the doomed
	// holder takes the lease.
	holderLead = KilledLeaseTTL / 2
)

// Open opens the cache a URL names.
type Open func(url string) (*cache.Cache, error)

// Config describes a backend to Run.
type Config struct {
	// Helper names the test function calling Helper.
	Helper string
	// URL names the cache, without the stampede options Run adds
	// (lease=, lease_ttl=, grace=): a URL with a query or not.
	URL string
	// Open opens the cache a URL names, in this process and the helpers.
	Open Open
	// AtomicIncr: concurrent Incr calls never lose an update, so that the
	// counter key counts every load (not the file backend, whose Incr is a
	// read and a write: its count is checked against the processes'
	// reports only when one load is expected).
	AtomicIncr bool
	// Coarse: the backend's expiries tick in whole seconds (memcached), so
	// that a lease of the killed scenario lapses up to a second early or
	// late, and a caller may end its wait before it lapses (and compute
	// for itself: one load per process at most).
	Coarse bool
}

type keys struct{ value, counter, marker string }

func keysOf(nonce string) keys {
	p := "stampedetest." + nonce + "."
	return keys{p + "v", p + "n", p + "m"}
}

// Helper is the body of the helper processes' test function. In a test
// run not started by Run it skips.
func Helper(t *testing.T, open Open) {
	url := os.Getenv(envURL)
	if url == "" {
		t.Skip("the helper process of stampedetest.Run")
	}
	start, err := strconv.ParseInt(os.Getenv(envStart), 10, 64)
	if err != nil {
		t.Fatalf("%s: %v", envStart, err)
	}
	rounds, _ := strconv.Atoi(os.Getenv(envRounds))
	c, err := open(url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	k := keysOf(os.Getenv(envNonce))
	ctx := context.Background()
	time.Sleep(time.Until(time.Unix(0, start)))
	if os.Getenv(envScenario) == "holder" {
		// Take the lease and die computing: the parent kills this process
		// once the marker is stored.
		_, err := c.GetOrSetWith(ctx, k.value, func(ctx context.Context) ([]byte, error) {
			fmt.Printf("stampedetest holding at=%d\n", time.Now().UnixNano())
			if err := c.Set(ctx, k.marker, []byte("1"), cache.Seconds(60)); err != nil {
				return nil, err
			}
			time.Sleep(time.Minute)
			return []byte("holder"), nil
		}, cache.Seconds(60), c.Stampede())
		t.Fatalf("the holder was not killed: %v", err)
	}
	load := func(ctx context.Context) ([]byte, error) {
		fmt.Printf("stampedetest load at=%d\n", time.Now().UnixNano())
		if _, err := c.Incr(ctx, k.counter, 1); err != nil {
			return nil, fmt.Errorf("counting a load: %w", err)
		}
		time.Sleep(Load)
		return []byte("new"), nil
	}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		out bytes.Buffer
	)
	for range Goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range max(rounds, 1) {
				time.Sleep(time.Until(time.Unix(0, start).Add(time.Duration(r) * roundGap)))
				begin := time.Now()
				v, err := c.GetOrSetWith(ctx, k.value, load, cache.Seconds(60), c.Stampede())
				d := time.Since(begin)
				mu.Lock()
				if err != nil {
					fmt.Fprintf(&out, "stampedetest error round=%d %v\n", r, err)
				} else {
					fmt.Fprintf(&out, "stampedetest call round=%d dur=%d value=%s\n", r, d, v)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// A refresh may still run in the background of this process: let it
	// land before exiting (an exiting process would leave its lease to
	// lapse, as a dying one does).
	if c.Stampede().Grace > 0 {
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if l, err := c.GetEntry(ctx, k.value, c.Stampede()); err == nil && l.Hit && !l.Stale {
				break
			}
		}
	}
	os.Stdout.Write(out.Bytes())
}

// report is what the helper processes printed.
type report struct {
	loads []time.Time // when each load started
	calls []call
	errs  []string
}

type call struct {
	round int
	dur   time.Duration
	value string
}

func parse(t *testing.T, out []byte, r *report) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		var (
			at, dur int64
			round   int
			value   string
		)
		switch {
		case strings.HasPrefix(line, "stampedetest error"):
			r.errs = append(r.errs, line)
		case strings.HasPrefix(line, "stampedetest load"):
			if _, err := fmt.Sscanf(line, "stampedetest load at=%d", &at); err == nil {
				r.loads = append(r.loads, time.Unix(0, at))
			}
		case strings.HasPrefix(line, "stampedetest call"):
			if _, err := fmt.Sscanf(line, "stampedetest call round=%d dur=%d value=%s", &round, &dur, &value); err == nil {
				r.calls = append(r.calls, call{round, time.Duration(dur), value})
			}
		}
	}
}

// env is what a helper process's environment adds (see reexec.Command).
func env(url, scenario, nonce string, start time.Time, rounds int) []string {
	return []string{envURL + "=" + url, envScenario + "=" + scenario, envNonce + "=" + nonce,
		envStart + "=" + strconv.FormatInt(start.UnixNano(), 10), envRounds + "=" + strconv.Itoa(rounds)}
}

// callers starts Procs calling processes and returns their reports once
// they are done.
func callers(t *testing.T, cfg Config, url, nonce string, start time.Time, rounds int) report {
	t.Helper()
	results := reexec.Start(cfg.Helper, Procs, func(int) []string {
		return env(url, "calls", nonce, start, rounds)
	}, "-test.v")
	var r report
	for range Procs {
		res := <-results
		if res.Err != nil {
			t.Errorf("helper process: %v\n%s", res.Err, res.Out)
		}
		parse(t, res.Out, &r)
	}
	for _, e := range r.errs {
		t.Error(e)
	}
	if want := Procs * Goroutines * max(rounds, 1); len(r.calls) != want {
		t.Errorf("%d calls reported, want %d", len(r.calls), want)
	}
	return r
}

func withQuery(url, q string) string {
	if strings.Contains(url, "?") {
		return url + "&" + q
	}
	return url + "?" + q
}

// Run runs the three scenarios as subtests of t.
func Run(t *testing.T, cfg Config) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts other processes")
	}
	t.Run("cold", func(t *testing.T) { cold(t, cfg) })
	t.Run("killed", func(t *testing.T) { killed(t, cfg) })
	t.Run("grace", func(t *testing.T) { grace(t, cfg) })
}

// prepare opens the cache in this process and zeroes the counter.
func prepare(t *testing.T, cfg Config, url string) (*cache.Cache, keys, string) {
	t.Helper()
	c, err := cfg.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	nonce := cache.NewLeaseToken()[:12]
	k := keysOf(nonce)
	if err := c.Set(context.Background(), k.counter, []byte("0"), cache.Seconds(600)); err != nil {
		t.Fatal(err)
	}
	return c, k, nonce
}

// counted returns the counter key's value.
func counted(t *testing.T, c *cache.Cache, k keys) int64 {
	t.Helper()
	n, err := c.Incr(context.Background(), k.counter, 0)
	if err != nil {
		t.Fatalf("reading the load counter: %v", err)
	}
	return n
}

func checkLoads(t *testing.T, cfg Config, c *cache.Cache, k keys, r report, want int) {
	t.Helper()
	if len(r.loads) != want {
		t.Errorf("%d loads reported by the processes, want %d", len(r.loads), want)
	}
	if n := counted(t, c, k); (cfg.AtomicIncr || want == 1) && n != int64(len(r.loads)) {
		t.Errorf("the backend counted %d loads, the processes reported %d", n, len(r.loads))
	}
}

func cold(t *testing.T, cfg Config) {
	url := withQuery(cfg.URL, "lease=1")
	c, k, nonce := prepare(t, cfg, url)
	r := callers(t, cfg, url, nonce, time.Now().Add(startDelay), 1)
	checkLoads(t, cfg, c, k, r, 1)
	bound := Load + slack
	var longest time.Duration
	for _, cl := range r.calls {
		if cl.value != "new" {
			t.Errorf("a call got %q, want the loaded value", cl.value)
		}
		longest = max(longest, cl.dur)
	}
	if longest > bound {
		t.Errorf("the longest call took %v, want at most %v", longest, bound)
	}
	t.Logf("%d processes × %d goroutines: %d load, longest call %v",
		Procs, Goroutines, len(r.loads), longest)
}

func killed(t *testing.T, cfg Config) {
	url := withQuery(cfg.URL, "lease=1&lease_ttl="+KilledLeaseTTL.String())
	c, k, nonce := prepare(t, cfg, url)
	start := time.Now().Add(startDelay)
	holder := reexec.Command(cfg.Helper, env(url, "holder", nonce, start.Add(-holderLead), 1))
	var hout bytes.Buffer
	holder.Stdout, holder.Stderr = &hout, &hout
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill the holder once it computes (it stored the marker).
	killedAt := make(chan time.Time, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		defer holder.Wait()
		for deadline := time.Now().Add(startDelay + 10*time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if _, ok, _ := c.Get(context.Background(), k.marker); ok {
				holder.Process.Kill()
				killedAt <- time.Now()
				return
			}
		}
		holder.Process.Kill()
		close(killedAt)
	}()
	r := callers(t, cfg, url, nonce, start, 1)
	at, ok := <-killedAt
	<-exited // hout is complete
	if !ok {
		t.Fatalf("the holder never computed:\n%s", hout.String())
	}
	var leaseAt time.Time
	for _, line := range strings.Split(hout.String(), "\n") {
		var ns int64
		if _, err := fmt.Sscanf(strings.TrimSpace(line), "stampedetest holding at=%d", &ns); err == nil {
			leaseAt = time.Unix(0, ns) // the lease was taken just before
		}
	}
	if leaseAt.IsZero() {
		t.Fatalf("the holder did not report its lease:\n%s", hout.String())
	}
	if at.After(start) {
		t.Logf("the holder was killed %v after the callers started (a slow machine)", at.Sub(start))
	}
	want := 1
	if cfg.Coarse {
		want = 0 // checked below: 1 to Procs
	}
	if want == 1 {
		checkLoads(t, cfg, c, k, r, 1)
	} else if n := len(r.loads); n < 1 || n > Procs {
		t.Errorf("%d loads, want 1 to %d (a whole-second lease may outlast a wait)", n, Procs)
	}
	if len(r.loads) > 0 {
		first := r.loads[0]
		for _, l := range r.loads {
			if l.Before(first) {
				first = l
			}
		}
		early, late := 50*time.Millisecond, slack
		if cfg.Coarse {
			early, late = time.Second+50*time.Millisecond, time.Second+slack
		}
		since := first.Sub(leaseAt)
		if since < KilledLeaseTTL-early || since > KilledLeaseTTL+late {
			t.Errorf("the first load started %v after the dead holder's lease, want about the lease TTL %v", since, KilledLeaseTTL)
		}
		t.Logf("dead holder's lease at %v; first load %v later", leaseAt.Format("15:04:05.000"), since)
	}
	// Nobody waits beyond the bound (the lease TTL), then a load.
	bound := KilledLeaseTTL + Load + slack
	var longest time.Duration
	for _, cl := range r.calls {
		if cl.value != "new" {
			t.Errorf("a call got %q, want a loaded value", cl.value)
		}
		longest = max(longest, cl.dur)
	}
	if longest > bound {
		t.Errorf("the longest call took %v, want at most the wait bound %v + the load %v (+ %v slack)", longest, KilledLeaseTTL, Load, slack)
	}
	t.Logf("longest call %v (bound %v + load %v)", longest, KilledLeaseTTL, Load)
}

func grace(t *testing.T, cfg Config) {
	url := withQuery(cfg.URL, "lease=1&grace=1h")
	c, k, nonce := prepare(t, cfg, url)
	// Stale from a second on; the callers come after startDelay.
	if err := c.SetEntry(context.Background(), k.value, []byte("old"), cache.Seconds(1), c.Stampede(), Load); err != nil {
		t.Fatal(err)
	}
	const rounds = 5
	r := callers(t, cfg, url, nonce, time.Now().Add(startDelay), rounds)
	checkLoads(t, cfg, c, k, r, 1)
	stale, fresh := 0, 0
	var longest time.Duration
	for _, cl := range r.calls {
		switch cl.value {
		case "old":
			stale++
		case "new":
			fresh++
		default:
			t.Errorf("a call got %q", cl.value)
		}
		if cl.round == 0 && cl.value != "old" {
			t.Errorf("a first-round call got %q, want the stale value at once", cl.value)
		}
		longest = max(longest, cl.dur)
	}
	// Stale values are served at once: nobody waits for the load.
	if bound := Load; longest >= bound+slack/2 {
		t.Errorf("the longest call took %v: stale values are served without waiting", longest)
	}
	l, err := c.GetEntry(context.Background(), k.value, c.Stampede())
	if err != nil || string(l.Value) != "new" || l.Stale {
		t.Errorf("after the refresh: %+v, %v; want the new value, fresh", l, err)
	}
	t.Logf("%d stale, %d fresh values served; longest call %v; 1 refresh", stale, fresh, longest)
}
