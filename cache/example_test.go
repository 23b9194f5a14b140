package cache_test

import (
	"context"
	"fmt"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/cache/memory"
)

func Example() {
	ctx := context.Background()
	c, err := memory.NewCache(memory.Options{MaxEntries: 1000}, cache.WithKeyPrefix("shop"))
	if err != nil {
		panic(err)
	}
	defer c.Close()

	c.Set(ctx, "greeting", []byte("hello"), cache.Seconds(60))
	v, ok, _ := c.Get(ctx, "greeting")
	fmt.Printf("%s %v\n", v, ok)

	_, ok, _ = c.Get(ctx, "missing") // a miss is not an error
	fmt.Println(ok)

	added, _ := c.Add(ctx, "greeting", []byte("bonjour"), cache.DefaultTimeout)
	fmt.Println(added) // the key exists: Add stores nothing

	c.Set(ctx, "visits", []byte("41"), cache.Forever)
	n, _ := c.Incr(ctx, "visits", 1)
	fmt.Println(n, c.MakeKey("visits"))
	// Output:
	// hello true
	// false
	// false
	// 42 shop:1:visits
}

func ExampleCache_GetOrSet() {
	ctx := context.Background()
	c, _ := memory.NewCache(memory.Options{})
	defer c.Close()

	load := func(context.Context) ([]byte, error) {
		fmt.Println("computing")
		return []byte("expensive result"), nil
	}
	for i := 0; i < 2; i++ {
		v, _ := c.GetOrSet(ctx, "report", load, cache.Seconds(300))
		fmt.Println(string(v))
	}
	// Output:
	// computing
	// expensive result
	// expensive result
}

func ExampleCache_WithVersion() {
	ctx := context.Background()
	c, _ := memory.NewCache(memory.Options{})
	defer c.Close()

	c.Set(ctx, "menu", []byte("v1 menu"), cache.DefaultTimeout)
	newVersion, _ := c.IncrVersion(ctx, "menu", 1)
	v, ok, _ := c.WithVersion(newVersion).Get(ctx, "menu")
	_, old, _ := c.Get(ctx, "menu")
	fmt.Println(newVersion, string(v), ok, old)
	// Output: 2 v1 menu true false
}

func ExampleNewTyped() {
	type Article struct {
		Title string
		Tags  []string
	}
	ctx := context.Background()
	c, _ := memory.NewCache(memory.Options{})
	defer c.Close()

	articles := cache.NewTyped[Article](c, cache.JSONCodec{})
	articles.Set(ctx, "article:1", Article{"Caching in Go", []string{"go", "django"}}, cache.Seconds(60))
	a, ok, err := articles.Get(ctx, "article:1")
	fmt.Println(a.Title, a.Tags, ok, err)
	// Output: Caching in Go [go django] true <nil>
}

func ExampleOpen() {
	c, err := backends.Open("memory://?max_entries=1000&timeout=60&key_prefix=app")
	if err != nil {
		panic(err)
	}
	defer c.Close()
	fmt.Println(c.MakeKey("k"), c.DefaultTimeout())

	_, err = backends.Open("memory://?max_entrys=1000")
	fmt.Println(err)
	// Output:
	// app:1:k 1m0s
	// cache: invalid option: unknown option "max_entrys" in memory cache URL (known: cull_frequency, django, grace, jitter, key_check, key_prefix, lease, lease_ttl, max_bytes, max_entries, sweep_interval, timeout, version, xfetch, xfetch_beta)
}

func ExampleOpenRegistry() {
	reg, err := backends.OpenRegistry(map[string]string{
		"default":            "memory://",
		"template_fragments": "memory://fragments?max_entries=5000",
	})
	if err != nil {
		panic(err)
	}
	defer reg.Close()
	frags, _ := reg.Fragments() // what {% cache %} uses without using=
	def, _ := reg.Default()
	fmt.Println(frags != def, reg.Aliases())
	_, err = reg.Cache("sessions")
	fmt.Println(err)
	// Output:
	// true [default template_fragments]
	// The connection 'sessions' doesn't exist.
}

// logged is a backend wrapper, as cache/failopen's is: it implements
// cache.Unwrapper.
type logged struct{ cache.Backend }

func (l logged) Unwrap() cache.Backend { return l.Backend }

// Finding the backend under a wrapper, as errors.As finds an error in a
// chain.
func ExampleAs() {
	store, err := memory.New(memory.Options{})
	if err != nil {
		panic(err)
	}
	c, err := cache.New(logged{store})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	c.Set(context.Background(), "k", []byte("v"), cache.DefaultTimeout)
	if ms, ok := cache.As[*memory.Store](c.Backend()); ok {
		fmt.Println("entries in the memory store:", ms.Len())
	}
	// Output: entries in the memory store: 1
}

// An Opener declares its query options in one table: adding an option is
// adding a row. Options nobody reads are rejected by Open, and messages
// name the option, never the URL.
func ExampleURL_Read() {
	open := func(u *cache.URL) (cache.Backend, error) {
		opts := memory.Options{MaxEntries: 100}
		var warm bool
		if err := u.Read(
			cache.URLInt("max_entries", &opts.MaxEntries, 1, 1<<20),
			cache.URLDuration("sweep_interval", &opts.SweepInterval),
			cache.URLBool("warm", &warm),
		); err != nil {
			return nil, err
		}
		return memory.New(opts)
	}
	schemes := cache.Schemes{"lru": open}
	c, err := cache.Open("lru://?max_entries=10&warm=yes&timeout=60", schemes)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.DefaultTimeout())
	c.Close()
	_, err = cache.Open("lru://:pw@h?max_entries=lots", schemes)
	fmt.Println(err)
	// Output:
	// 1m0s
	// cache: invalid option: max_entries="lots" in lru cache URL: want an integer from 1 to 1048576
}

// Walking a chain of wrappers one backend at a time, as a debug page
// describing each layer does.
func ExampleUnwrap() {
	store, err := memory.New(memory.Options{})
	if err != nil {
		panic(err)
	}
	defer store.Close()
	for b := cache.Backend(logged{logged{store}}); b != nil; b = cache.Unwrap(b) {
		fmt.Printf("%T\n", b)
	}
	// Output:
	// cache_test.logged
	// cache_test.logged
	// *memory.Store
}

// An opener that parses an option itself reports a bad value with
// OptionError, which names the option and its value but never the URL, and
// hides secret values.
func ExampleURL_OptionError() {
	u, err := cache.ParseURL("lru://:pw@host?mode=fastest&token=T0K")
	if err != nil {
		panic(err)
	}
	if mode := u.String("mode", "fast"); mode != "fast" && mode != "slow" {
		fmt.Println(u.OptionError("mode", "fast or slow"))
	}
	fmt.Println(u.OptionError("token", "a token of 40 characters"))
	fmt.Println(u.Redacted())
	// Output:
	// cache: invalid option: mode="fastest" in lru cache URL: want fast or slow
	// cache: invalid option: token=xxxxx in lru cache URL: want a token of 40 characters
	// lru://:xxxxx@host?mode=fastest&token=xxxxx
}

func ExampleCache_AcquireLease() {
	ctx := context.Background()
	c, err := memory.NewCache(memory.Options{})
	if err != nil {
		panic(err)
	}
	defer c.Close()

	// On a miss, one caller takes the lease and recomputes; the others
	// (in this process or, on memcached, Redis or a shared directory,
	// in any process) find it held.
	lease, ok, err := c.AcquireLease(ctx, "report", 10*time.Second)
	fmt.Println(ok, err, lease.Key())
	_, ok, _ = c.AcquireLease(ctx, "report", 10*time.Second)
	fmt.Println(ok) // held

	c.Set(ctx, "report", []byte("…"), cache.Seconds(300))
	released, _ := lease.Release(ctx)
	fmt.Println(released)
	// Output:
	// true <nil> {:1:report}:lease
	// false
	// true
}

func ExampleWithJitter() {
	// Each positive timeout written becomes uniform in [t·0.9, t]: 60 s
	// fragments written together expire over six seconds, not at once.
	c, err := backends.Open("memory://?jitter=0.1")
	if err != nil {
		panic(err)
	}
	defer c.Close()
	c2, err := memory.NewCache(memory.Options{}, cache.WithJitter(0.1))
	if err != nil {
		panic(err)
	}
	defer c2.Close()
	_, err = memory.NewCache(memory.Options{}, cache.WithJitter(1))
	fmt.Println(err)
	// Output:
	// cache: invalid option: WithJitter(1): want a fraction f with 0 <= f < 1
}
