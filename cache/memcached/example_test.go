package memcached_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/cache/memcached"
)

// A cache over two memcached servers shared with a Django application
// (CACHES = {"default": {"BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
// "LOCATION": "10.0.0.1:11211;10.0.0.2:11211"}}): keys land on the servers
// Django uses, and text is stored as a Python str.
func ExampleNew() {
	b, err := memcached.New(memcached.Options{
		Servers:      []string{"10.0.0.1:11211", "10.0.0.2:11211"},
		TextFlags:    true,
		MaxIdleConns: 128,
		Timeout:      200 * time.Millisecond,
	})
	if err != nil {
		log.Fatal(err)
	}
	c, err := cache.New(b)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	ctx := context.Background()
	if err := c.Set(ctx, "greeting", []byte("hello"), cache.Seconds(60)); err != nil {
		log.Print(err) // a server down is an error, not a panic
		return
	}
	v, ok, err := c.Get(ctx, "greeting")
	fmt.Println(string(v), ok, err)
}

// The same through a URL.
func ExampleOpen() {
	c, err := backends.Open("memcached://10.0.0.1:11211;10.0.0.2:11211?text_flags=1&op_timeout=200ms&timeout=600")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	n, err := c.Incr(context.Background(), "hits", 1)
	fmt.Println(n, err)
}

// A pool whose servers refuse connections (nothing listens on ports 1 and
// 2): the server of the key fails, is marked down (at the first failure
// here), and its keys miss without an error while the other server is not
// marked down; Stats().Servers shows each server.
func Example_pool() {
	c, err := backends.Open("memcached://127.0.0.1:1;127.0.0.1:2?server_failure_threshold=1&server_cool_down=1m")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	_, hit, err := c.Get(context.Background(), "sidebar")
	fmt.Println("hit:", hit, "error:", err)
	for _, s := range c.Stats().Servers {
		fmt.Println(s.Server, s.Breaker, "failures:", s.Failures)
	}
	fmt.Println("whole-cache breaker:", c.Stats().Backend.Breaker, "isolated:", c.Stats().Backend.Isolated)
	// Output:
	// hit: false error: <nil>
	// 127.0.0.1:1 open failures: 1
	// 127.0.0.1:2 closed failures: 0
	// whole-cache breaker: closed isolated: 1
}
