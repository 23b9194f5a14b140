package failopen_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/cache/failopen"
	"github.com/fragcache/fragcache/cache/memory"
	"github.com/fragcache/fragcache/cache/redis"
	"github.com/fragcache/fragcache/internal/testserver"
)

func TestMain(m *testing.M) {
	// go-redis logs every refused dial; the outage tests make many.
	goredis.SetLogger(quietLogger{})
	os.Exit(m.Run())
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

var redisSchemes = cache.Schemes{"redis": failopen.Opener(redis.Open)}

// load runs workers doing Set and Get against c until stop is closed, and
// records the slowest call and any error.
type load struct {
	worst  atomic.Int64 // nanoseconds
	errs   atomic.Int64
	hits   atomic.Int64
	calls  atomic.Int64
	lastOK atomic.Int64 // Unix nanoseconds of the last hit
	stop   chan struct{}
	wg     sync.WaitGroup
}

func startLoad(t *testing.T, c *cache.Cache, workers int) *load {
	l := &load{stop: make(chan struct{})}
	for w := range workers {
		l.wg.Go(func() {
			key := []string{"a", "b", "c", "d"}[w%4]
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				start := time.Now()
				err := c.Set(bg, key, []byte("v"), cache.DefaultTimeout)
				_, ok, err2 := c.Get(bg, key)
				el := time.Since(start)
				l.calls.Add(2)
				if err != nil || err2 != nil {
					l.errs.Add(1)
					t.Errorf("Set/Get failed instead of failing open: %v / %v", err, err2)
				}
				if ok {
					l.hits.Add(1)
					l.lastOK.Store(time.Now().UnixNano())
				}
				for {
					old := l.worst.Load()
					if int64(el) <= old || l.worst.CompareAndSwap(old, int64(el)) {
						break
					}
				}
				time.Sleep(200 * time.Microsecond)
			}
		})
	}
	return l
}

func (l *load) finish() {
	close(l.stop)
	l.wg.Wait()
}

func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// TestRedisOutage stops a real Redis under load: Get and Set keep
// returning (a miss, nil) within the operation timeout, the breaker opens,
// and after a restart hits resume once the cool-down has passed.
func TestRedisOutage(t *testing.T) {
	srv := testserver.Redis(t)
	const opTimeout = 100 * time.Millisecond
	c, err := cache.Open("redis://"+srv.Addr+"?op_timeout=100ms&cool_down=1s&failure_threshold=3", redisSchemes)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w := c.Backend().(failopen.Wrapper)

	l := startLoad(t, c, 4)
	waitFor(t, "hits before the outage", 2*time.Second, func() bool { return l.hits.Load() > 50 })

	srv.Stop()
	opened := waitFor(t, "breaker opening", 2*time.Second, func() bool { return w.State() != failopen.Closed })
	t.Logf("breaker opened %v after Stop", opened)
	time.Sleep(300 * time.Millisecond)
	hitsDown := l.hits.Load()
	time.Sleep(300 * time.Millisecond)
	if l.hits.Load() != hitsDown {
		t.Error("hits while the server was down")
	}

	srv.Restart()
	restarted := time.Now()
	back := waitFor(t, "hits after the restart", 5*time.Second, func() bool { return l.lastOK.Load() > restarted.UnixNano() })
	t.Logf("hits resumed %v after Restart (cool-down 1s + jitter)", back)
	l.finish()

	s := w.Stats()
	t.Logf("calls %d, worst Set+Get %v, stats %+v", l.calls.Load(), time.Duration(l.worst.Load()), s)
	if worst := time.Duration(l.worst.Load()); worst > 2*opTimeout+200*time.Millisecond {
		t.Errorf("worst Set+Get took %v, want under two op timeouts (%v) plus slack", worst, 2*opTimeout)
	}
	if l.errs.Load() != 0 {
		t.Errorf("%d errors reached callers", l.errs.Load())
	}
	if s.Opens == 0 || s.ShortCircuited == 0 || s.Failures == 0 || s.State != failopen.Closed {
		t.Errorf("stats %+v: want the breaker to have opened, short-circuited and closed again", s)
	}
	if back > 3*time.Second {
		t.Errorf("hits resumed only %v after the restart", back)
	}
}

// TestHungRedis: a server that accepts connections and never answers (a
// hung or black-holed Redis) costs each call at most the op timeout until
// the breaker opens, then nothing.
func TestHungRedis(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	conns.Go(func() {
		for {
			cn, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open = append(open, cn)
			mu.Unlock()
		}
	})
	defer func() {
		l.Close()
		mu.Lock()
		for _, cn := range open {
			cn.Close()
		}
		mu.Unlock()
		conns.Wait()
	}()

	c, err := cache.Open("redis://"+l.Addr().String()+"?op_timeout=50ms&cool_down=1h&failure_threshold=3&read_timeout=10s&max_retries=0", redisSchemes)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w := c.Backend().(failopen.Wrapper)
	for i := range 3 {
		start := time.Now()
		_, ok, err := c.Get(bg, "k")
		el := time.Since(start)
		if ok || err != nil {
			t.Errorf("Get %d = %v, %v; want a miss", i, ok, err)
		}
		if el < 50*time.Millisecond || el > 300*time.Millisecond {
			t.Errorf("Get %d took %v with a 50ms op timeout", i, el)
		}
	}
	if s := w.Stats(); s.State != failopen.Open || s.Timeouts != 3 {
		t.Errorf("stats %+v: want 3 timeouts and an open breaker", s)
	}
	start := time.Now()
	for range 1000 {
		c.Get(bg, "k")
		c.Set(bg, "k", nil, cache.DefaultTimeout)
	}
	if el := time.Since(start); el > 50*time.Millisecond {
		t.Errorf("2000 calls with the breaker open took %v", el)
	}
}

// TestOpenBreakerOverhead: with the backend down and the breaker open, a
// Cache.Get through the wrapper costs at most 50µs more than a miss of the
// memory backend (it costs about 100ns).
func TestOpenBreakerOverhead(t *testing.T) {
	if raceEnabled {
		t.Skip("timing under the race detector")
	}
	down, mem := openDown(t), openMemory(t)
	measure := func(c *cache.Cache) time.Duration {
		const n = 20000
		start := time.Now()
		for range n {
			if _, ok, err := c.Get(bg, "k"); ok || err != nil {
				t.Fatal(ok, err)
			}
		}
		return time.Since(start) / n
	}
	measure(down)
	measure(mem)
	d, m := measure(down), measure(mem)
	t.Logf("open breaker Get %v, memory miss %v", d, m)
	if d-m > 50*time.Microsecond {
		t.Errorf("open breaker Get costs %v more than a memory miss", d-m)
	}
}

// openDown opens a fail-open cache over a Redis nobody listens on, with
// its breaker open.
func openDown(t testing.TB) *cache.Cache {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, err := cache.Open("redis://"+addr+"?cool_down=1h&failure_threshold=1", redisSchemes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.Get(bg, "k")
	if st := c.Backend().(failopen.Wrapper).State(); st != failopen.Open {
		t.Fatalf("breaker %v", st)
	}
	return c
}

func openMemory(t testing.TB) *cache.Cache {
	store, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cache.New(store)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// BenchmarkOpenBreakerGet compares Cache.Get through the wrapper of a
// Redis that is down, with the breaker open, with a memory backend miss.
func BenchmarkOpenBreakerGet(b *testing.B) {
	b.Run("failopen_redis_down", func(b *testing.B) {
		c := openDown(b)
		b.ReportAllocs()
		for b.Loop() {
			c.Get(bg, "k")
		}
	})
	b.Run("memory_miss", func(b *testing.B) {
		c := openMemory(b)
		b.ReportAllocs()
		for b.Loop() {
			c.Get(bg, "k")
		}
	})
	b.Run("failopen_redis_down_parallel", func(b *testing.B) {
		c := openDown(b)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Get(bg, "k")
			}
		})
	})
}

// BenchmarkClosedOverhead measures what the wrapper adds to a healthy
// backend (the memory store): the operation timeout's context and the
// breaker's bookkeeping.
func BenchmarkClosedOverhead(b *testing.B) {
	for _, wrap := range []bool{false, true} {
		name := map[bool]string{false: "memory", true: "failopen_memory"}[wrap]
		b.Run(name, func(b *testing.B) {
			store, _ := memory.New(memory.Options{})
			var be cache.Backend = store
			if wrap {
				be, _ = failopen.New(store)
			}
			c, _ := cache.New(be)
			defer c.Close()
			c.Set(bg, "k", []byte("v"), cache.Forever)
			b.ReportAllocs()
			for b.Loop() {
				c.Get(bg, "k")
			}
		})
	}
}

// TestOpenLoggerReachesTheWrapper: the logger given to Open (and
// OpenRegistry) is the fail-open wrapper's, so a dead server is logged
// without configuring the wrapper, and never with the password.
func TestOpenLoggerReachesTheWrapper(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, nil))
	for _, url := range []string{"redis://:s3cr3t@127.0.0.1:1?dial_timeout=50ms", "memcached://127.0.0.1:1?op_timeout=50ms"} {
		buf.Reset()
		c, err := backends.Open(url, cache.WithLogger(logger))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok, err := c.Get(bg, "k"); ok || err != nil {
			t.Errorf("%s: Get = %v, %v; want a miss", url, ok, err)
		}
		c.Close()
		mu.Lock()
		out := buf.String()
		mu.Unlock()
		if !strings.Contains(out, "failing open") || strings.Contains(out, "s3cr3t") {
			t.Errorf("%s: log %q", url, out)
		}
	}
}
