package failopen_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/failopen"
	"github.com/fragcache/fragcache/cache/memory"
)

// down is a backend whose server is unreachable.
type down struct{ calls int }

var errDown = errors.New("dial tcp 10.0.0.7:6379: connect: connection refused")

func (d *down) Get(context.Context, string) ([]byte, bool, error) {
	d.calls++
	return nil, false, errDown
}
func (d *down) Set(context.Context, string, []byte, cache.Timeout) error {
	d.calls++
	return errDown
}
func (d *down) Add(context.Context, string, []byte, cache.Timeout) (bool, error) {
	d.calls++
	return false, errDown
}
func (d *down) Delete(context.Context, string) (bool, error) { d.calls++; return false, errDown }
func (d *down) Has(context.Context, string) (bool, error)    { d.calls++; return false, errDown }
func (d *down) Touch(context.Context, string, cache.Timeout) (bool, error) {
	d.calls++
	return false, errDown
}
func (d *down) Clear(context.Context) error { d.calls++; return errDown }
func (d *down) Incr(context.Context, string, int64) (int64, error) {
	d.calls++
	return 0, errDown
}
func (d *down) Close() error { return nil }

func Example() {
	ctx := context.Background()
	backend := &down{}
	w, err := failopen.New(backend, failopen.WithFailureThreshold(3), failopen.WithCoolDown(10*time.Second))
	if err != nil {
		fmt.Println(err)
		return
	}
	c, _ := cache.New(w)
	defer c.Close()

	// A fragment lookup misses instead of failing, and storing the
	// rendered fragment is skipped.
	for i := range 5 {
		_, hit, err := c.Get(ctx, "template.cache.sidebar.d41d8cd98f00b204e9800998ecf8427e")
		fmt.Println("get", i, "hit:", hit, "err:", err, "state:", w.State())
	}
	fmt.Println("set err:", c.Set(ctx, "k", []byte("<ul>…</ul>"), cache.DefaultTimeout))

	// After three failures the breaker opened: the backend saw no more
	// calls.
	s := w.Stats()
	fmt.Println("backend calls:", backend.calls)
	fmt.Println("failures:", s.Failures, "short-circuited:", s.ShortCircuited, "dropped writes:", s.DroppedWrites)
	fmt.Println("last error:", s.LastError)

	// Counters cannot fail open.
	_, err = c.Incr(ctx, "hits", 1)
	fmt.Println("incr:", err)
	// Output:
	// get 0 hit: false err: <nil> state: closed
	// get 1 hit: false err: <nil> state: closed
	// get 2 hit: false err: <nil> state: open
	// get 3 hit: false err: <nil> state: open
	// get 4 hit: false err: <nil> state: open
	// set err: <nil>
	// backend calls: 3
	// failures: 3 short-circuited: 3 dropped writes: 1
	// last error: dial tcp 10.0.0.7:6379: connect: connection refused
	// incr: failopen: circuit open: cache backend skipped
}

// Opener wraps the backends an application opens by URL; the URL can then
// tune the breaker or turn it off with failopen=0.
func ExampleOpener() {
	schemes := cache.Schemes{"memory": failopen.Opener(memory.Open)}
	c, err := cache.Open("memory://frags?failure_threshold=10&cool_down=30s&op_timeout=50ms", schemes)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	w := c.Backend().(failopen.Wrapper)
	fmt.Printf("%T over %T, %v\n", w, w.Unwrap(), w.State())
	// Output: *failopen.IncrBackend over *memory.Store, closed
}

// A debug page reads the breaker of each cache through cache.As, which
// finds it under any other wrapper.
func ExampleBreaker() {
	w, err := failopen.New(&down{}, failopen.WithFailureThreshold(1))
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := cache.New(w)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	c.Get(context.Background(), "k")
	if br, ok := cache.As[failopen.Breaker](c.Backend()); ok {
		s := br.Stats()
		fmt.Println(s.State, s.Failures, s.Opens)
	}
	// Output: open 1 1
}
