// Package backends opens caches from URLs with every backend fragcache
// ships, so an application switches backends by changing a URL:
//
//	memory://[name]?max_entries=300&cull_frequency=3&max_bytes=64MiB
//	file:///var/tmp/fragcache?max_entries=300&cull_frequency=3&max_value_size=1MiB
//	dummy://
//	memcached://host:11211;host2:11211?op_timeout=500ms&max_idle_conns=64&selector=django&hash_long_keys=0&text_flags=0&server_failure_threshold=3&server_cool_down=5s
//	redis://[[user]:password@]host:6379[/db][;replica:6379…]?dial_timeout=1s&pool_size=20   (rediss:// for TLS)
//	redis+cluster://[[user]:password@]h1:7000;h2:7001;h3:7002?pool_size=20                   (rediss+cluster:// for TLS)
//	redis+sentinel://[[user]:password@]s1:26379;s2:26379;s3:26379[/db]?master=NAME&replica_reads=1
//
// sqlite:///abs/path/file.db?table=my_cache_table is in package cache/db,
// which a program imports to use it (db.With(Schemes()), db.OpenRegistry),
// so that programs on other backends link no database driver.
//
// memcached://…?local_ttl=2s&local_max_bytes=64MiB keeps process-local
// copies of values for at most local_ttl (see cache/near): another
// process's writes are then seen up to local_ttl late; off by default.
//
// memcached and Redis caches fail open (see cache/failopen): errors and
// timeouts become misses behind a circuit breaker, tuned by
// failure_threshold=5&cool_down=5s&op_timeout=100ms, or turned off by
// failopen=0.
//
// Every URL also takes the cache options timeout, key_prefix, version,
// key_check, django and jitter (see cache.Open). Unknown options and bad values are errors that
// name them.
package backends

import (
	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/dummy"
	"github.com/fragcache/fragcache/cache/failopen"
	"github.com/fragcache/fragcache/cache/file"
	"github.com/fragcache/fragcache/cache/memcached"
	"github.com/fragcache/fragcache/cache/memory"
	"github.com/fragcache/fragcache/cache/redis"
)

// Schemes returns a new map from URL scheme to opener for every built-in
// backend. Add entries to it to open backends of your own.
func Schemes() cache.Schemes {
	return cache.Schemes{
		"memory":    memory.Open,
		"file":      file.Open,
		"dummy":     dummy.Open,
		"memcached": failopen.Opener(memcached.Open),
		"redis":     failopen.Opener(redis.Open),
		"rediss":    failopen.Opener(redis.Open),

		"redis+cluster":  failopen.Opener(redis.Open),
		"rediss+cluster": failopen.Opener(redis.Open),
		"redis+sentinel": failopen.Opener(redis.Open),
	}
}

// Open opens one cache from a URL with the built-in backends.
func Open(rawURL string, opts ...cache.Option) (*cache.Cache, error) {
	return cache.Open(rawURL, Schemes(), opts...)
}

// OpenRegistry opens a cache per alias from URLs with the built-in backends,
// e.g. {"default": "memory://", "template_fragments": "memory://frags"}.
func OpenRegistry(urls map[string]string, opts ...cache.Option) (*cache.Registry, error) {
	return cache.OpenRegistry(urls, Schemes(), opts...)
}
