package near_test

import (
	"context"
	"fmt"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/memcached"
	"github.com/fragcache/fragcache/cache/memory"
	"github.com/fragcache/fragcache/cache/near"
)

func ExampleNew() {
	inner, err := memory.New(memory.Options{}) // memcached.New(...) in real use
	if err != nil {
		panic(err)
	}
	b, err := near.New(inner, near.Options{TTL: 2 * time.Second, Lifetime: memcached.Lifetime})
	if err != nil {
		panic(err)
	}
	c, err := cache.New(b)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	_ = c.Set(context.Background(), "greeting", []byte("hello"), cache.DefaultTimeout)
	v, _, _ := c.Get(context.Background(), "greeting") // served from process memory
	fmt.Printf("%s\n", v)
	s := c.Stats().Near
	fmt.Println(s.Mode, s.Hits, s.Entries, s.MaxStaleness)
	// Output:
	// hello
	// ttl 1 1 2s
}
