package redis_test

import (
	"context"
	"fmt"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/cache/redis"
)

// Opening a Redis cache by URL: a primary and a replica, database 1. The
// cache opens even when the servers are down; with cache/backends,
// failures then become misses.
func Example() {
	c, err := backends.Open("redis://:s3cret@10.0.0.1:6379;10.0.0.2:6379/1?timeout=600&key_prefix=shop")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	fmt.Println(c.MakeKey("sidebar"), c.DefaultTimeout())
	// Output: shop:1:sidebar 10m0s
}

// Deleting every cached view of a prefix, as django-redis's
// delete_pattern does.
func ExampleBackend_DeletePattern() {
	ctx := context.Background()
	c, err := backends.Open("redis://127.0.0.1:6379/0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	// The Redis backend is under the fail-open wrapper: cache.As finds it.
	if rb, ok := cache.As[*redis.Backend](c.Backend()); ok {
		n, err := rb.DeletePattern(ctx, redis.EscapePattern(c.MakeKey("views."))+"*")
		fmt.Println(n, err)
	}
}

// Opening a cache over a Redis Cluster by its seed nodes, and over the
// master three sentinels name, reading from its replica. Neither connects
// at open; with cache/backends both fail open.
func Example_clusterAndSentinel() {
	for _, url := range []string{
		"redis+cluster://:s3cret@10.0.0.1:7000;10.0.0.2:7001;10.0.0.3:7002?key_prefix=shop",
		"redis+sentinel://10.0.0.1;10.0.0.2;10.0.0.3/1?master=mymaster&replica_reads=1&key_prefix=shop",
		"redis+cluster://10.0.0.1:7000/1",
		"redis+cluster://10.0.0.1:7000?near_cache=1",
	} {
		c, err := backends.Open(url)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(c.MakeKey("sidebar"), cache.LeaseKey(c.MakeKey("sidebar")))
		c.Close()
	}
	// Output:
	// shop:1:sidebar {shop:1:sidebar}:lease
	// shop:1:sidebar {shop:1:sidebar}:lease
	// cache: invalid option: redis+cluster cache URL "redis+cluster://10.0.0.1:7000/1": database 1: Redis Cluster has only database 0
	// cache: invalid option: redis+cluster cache URL "redis+cluster://10.0.0.1:7000": near_cache=1 is not available over Redis Cluster: go-redis's client-side caching serves one server's connections only
}
