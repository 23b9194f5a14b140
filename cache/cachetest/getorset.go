package cachetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
)

// loader returns a load function giving value and counting its calls.
func loader(value string, calls *atomic.Int32) func(context.Context) ([]byte, error) {
	return func(context.Context) ([]byte, error) {
		if calls != nil {
			calls.Add(1)
		}
		return []byte(value), nil
	}
}

func getOrSet(t testing.TB, c *cache.Cache, key string, load func(context.Context) ([]byte, error), timeout cache.Timeout) string {
	t.Helper()
	v, err := c.GetOrSet(bg, key, load, timeout)
	if err != nil {
		t.Fatalf("GetOrSet(%q): unexpected error: %v", key, err)
	}
	return string(v)
}

func wantGetOrSet(t testing.TB, c *cache.Cache, key string, load func(context.Context) ([]byte, error), want string) {
	t.Helper()
	if got := getOrSet(t, c, key, load, cache.DefaultTimeout); got != want {
		t.Errorf("GetOrSet(%q) (version %d) = %s, want %s", key, c.Version(), show(got), show(want))
	}
}

func (s *suite) testGetOrSet(t *testing.T) {
	c, _ := s.newCache(t)
	var calls atomic.Int32
	wantGet(t, c, "projector", miss)
	wantGetOrSet(t, c, "projector", loader("42", &calls), "42")
	wantGet(t, c, "projector", "42")
	// The value is loaded once.
	wantGetOrSet(t, c, "projector", loader("43", &calls), "42")
	if n := calls.Load(); n != 1 {
		t.Errorf("load called %d times, want 1", n)
	}
	// An empty value is stored and then is a hit (Django: None).
	wantGetOrSet(t, c, "null", loader("", nil), "")
	wantGet(t, c, "null", "")
	wantGetOrSet(t, c, "null", loader("other", nil), "")
}

func (s *suite) testGetOrSetCallable(t *testing.T) {
	c, _ := s.newCache(t)
	wantGetOrSet(t, c, "mykey", loader("value", nil), "value")
	wantGetOrSet(t, c, "mykey", loader("other", nil), "value")
	wantGetOrSet(t, c, "null", func(context.Context) ([]byte, error) { return nil, nil }, "")
	wantGet(t, c, "null", "")
}

func (s *suite) testGetOrSetVersion(t *testing.T) {
	c, _ := s.newCache(t)
	v2 := c.WithVersion(2)
	wantGetOrSet(t, v2, "brian", loader("1979", nil), "1979")
	// Django: get_or_set() without a default is a TypeError; here a nil load
	// function is ErrInvalidOption.
	_, err := c.GetOrSet(bg, "brian", nil, cache.DefaultTimeout)
	wantErrIs(t, "GetOrSet with a nil load function", err, cache.ErrInvalidOption)
	wantGet(t, c, "brian", miss)
	wantGetOrSet(t, c, "brian", loader("42", nil), "42")
	wantGetOrSet(t, v2, "brian", loader("1", nil), "1979")
	wantGet(t, c.WithVersion(3), "brian", miss)
}

// addFails is a backend whose Add stores nothing and reports false, to
// simulate another process winning the race and its value disappearing
// (Django mocks cache.add for this test).
type addFails struct{ cache.Backend }

func (addFails) Add(context.Context, string, []byte, cache.Timeout) (bool, error) { return false, nil }

func (s *suite) testGetOrSetRacing(t *testing.T) {
	c, _ := s.newCache(t)
	r, err := cache.New(addFails{c.Backend()})
	if err != nil {
		t.Fatal(err)
	}
	if got := getOrSet(t, r, "key", loader("default", nil), cache.DefaultTimeout); got != "default" {
		t.Errorf("GetOrSet when add fails = %s, want the loaded value \"default\"", show(got))
	}
}

// A value stored by a concurrent writer while loading wins over the loaded
// one (Django returns get(key, value) after add).
func (s *suite) testGetOrSetWriterWins(t *testing.T) {
	c, _ := s.newCache(t)
	got := getOrSet(t, c, "k", func(ctx context.Context) ([]byte, error) {
		if err := c.Set(ctx, "k", []byte("writer"), cache.DefaultTimeout); err != nil {
			return nil, err
		}
		return []byte("loaded"), nil
	}, cache.DefaultTimeout)
	if got != "writer" {
		t.Errorf("GetOrSet with a concurrent writer = %s, want the writer's \"writer\"", show(got))
	}
	wantGet(t, c, "k", "writer")
}

var errLoad = errors.New("cachetest: load failed")

func (s *suite) testGetOrSetLoadError(t *testing.T) {
	c, _ := s.newCache(t)
	v, err := c.GetOrSet(bg, "k", func(context.Context) ([]byte, error) { return nil, errLoad }, cache.DefaultTimeout)
	if !errors.Is(err, errLoad) || v != nil {
		t.Errorf("GetOrSet with a failing load = %q, %v; want nil and the load's error", v, err)
	}
	wantHas(t, c, "k", false)
	// The error is not remembered.
	wantGetOrSet(t, c, "k", loader("v", nil), "v")
}

// With Expired (or a value that cannot be read back) the loaded value is
// returned and nothing is stored (Django: add returns True, get returns the
// default).
func (s *suite) testGetOrSetExpired(t *testing.T) {
	c, _ := s.newCache(t)
	for _, to := range []cache.Timeout{cache.Expired, cache.Seconds(-1)} {
		var calls atomic.Int32
		if got := getOrSet(t, c, "k", loader("v", &calls), to); got != "v" {
			t.Errorf("GetOrSet(%s) = %s, want the loaded \"v\"", to, show(got))
		}
		wantHas(t, c, "k", false)
		getOrSet(t, c, "k", loader("v", &calls), to)
		if n := calls.Load(); n != 2 {
			t.Errorf("GetOrSet(%s) twice loaded %d times, want 2 (nothing stored)", to, n)
		}
	}
}

type ctxKey struct{}

// The load function sees the caller's context values but not its
// cancellation; a caller whose context ends stops waiting, and the load
// still completes and stores its value.
func (s *suite) testGetOrSetContext(t *testing.T) {
	c, _ := s.newCache(t)
	ctx, cancel := context.WithCancel(context.WithValue(bg, ctxKey{}, "carried"))
	entered, release := make(chan struct{}), make(chan struct{})
	loadErr := make(chan error, 1)
	type result struct {
		v   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := c.GetOrSet(ctx, "k", func(lctx context.Context) ([]byte, error) {
			close(entered)
			var err error
			if got, _ := lctx.Value(ctxKey{}).(string); got != "carried" {
				err = errors.New("load's context lost the caller's value")
			}
			<-release
			if err == nil && lctx.Err() != nil {
				err = errors.New("load's context was cancelled with the caller's: " + lctx.Err().Error())
			}
			loadErr <- err
			return []byte("loaded"), nil
		}, cache.DefaultTimeout)
		done <- result{v, err}
	}()
	timeout := time.After(10 * time.Second)
	select {
	case <-entered:
	case <-timeout:
		t.Fatal("load was not called within 10s")
	}
	cancel()
	select {
	case r := <-done:
		if !errors.Is(r.err, context.Canceled) {
			t.Errorf("GetOrSet whose context was cancelled while loading = %q, %v; want context.Canceled", r.v, r.err)
		}
	case <-timeout:
		close(release)
		t.Fatal("GetOrSet did not return within 10s of its context being cancelled")
	}
	close(release)
	select {
	case err := <-loadErr:
		if err != nil {
			t.Error(err)
		}
	case <-timeout:
		t.Fatal("load did not finish")
	}
	// The load finished for nobody, but its value is there (the next call
	// either joins the flight or hits).
	if got := getOrSet(t, c, "k", func(context.Context) ([]byte, error) {
		return nil, errors.New("second load")
	}, cache.DefaultTimeout); got != "loaded" {
		t.Errorf("GetOrSet after the abandoned load = %s, want \"loaded\"", show(got))
	}
}

// getOrSetFlight runs n goroutines calling GetOrSet on one missing key with
// a load that waits until all n have started, and returns the number of
// loads and the values the goroutines got.
func getOrSetFlight(t *testing.T, c *cache.Cache, n int) (int32, []string) {
	var started, calls atomic.Int32
	load := func(context.Context) ([]byte, error) {
		calls.Add(1)
		deadline := time.Now().Add(10 * time.Second)
		for started.Load() < int32(n) {
			if time.Now().After(deadline) {
				return nil, errors.New("not all goroutines started within 10s")
			}
			time.Sleep(time.Millisecond)
		}
		// Let the last ones reach their wait.
		time.Sleep(20 * time.Millisecond)
		return []byte("loaded"), nil
	}
	var wg sync.WaitGroup
	got := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Add(1)
			v, err := c.GetOrSet(bg, "flight", load, cache.DefaultTimeout)
			if err != nil {
				t.Errorf("goroutine %d: GetOrSet: %v", i, err)
			}
			got[i] = string(v)
		}()
	}
	wg.Wait()
	return calls.Load(), got
}

// 64 goroutines missing one key load it once, and all get the value.
func (s *suite) testGetOrSetSingleFlight(t *testing.T) {
	c, _ := s.newCache(t)
	calls, got := getOrSetFlight(t, c, 64)
	if calls != 1 {
		t.Errorf("64 concurrent GetOrSet of one missing key loaded %d times, want 1", calls)
	}
	for i, v := range got {
		if v != "loaded" {
			t.Errorf("goroutine %d got %s, want \"loaded\"", i, show(v))
		}
	}
	wantGet(t, c, "flight", "loaded")
}
