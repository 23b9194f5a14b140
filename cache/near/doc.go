// Package near keeps process-local copies of a shared cache's values for a
// bounded time: an opt-in layer for backends whose server cannot tell a
// process that a value changed (memcached has no invalidation push; Redis
// has one, used by cache/redis's near_cache=1 instead).
//
//	b, err := memcached.New(memcached.Options{Servers: servers})
//	nb, err := near.New(b, near.Options{TTL: 2 * time.Second, Lifetime: memcached.Lifetime})
//	c, err := cache.New(nb)
//
// or, through cache/backends, memcached://host:11211?local_ttl=2s.
//
// # The staleness bound
//
// A value read from the server, or written by this process, is kept in
// process memory for at most Options.TTL and served from there without a
// round trip. What that costs is staleness, with a plain bound:
//
//   - A write or delete by another process (another Go process, Django,
//     the fragcache CLI) is seen by this process at most TTL after it
//     happened: until then this process may go on serving the copy it
//     held. Choose a TTL the application can serve old values for.
//   - This process never sees its own stale data: every method that
//     changes the server (Set, Add, SetMany, Delete, DeleteMany, Touch,
//     Incr, Clear) drops the copies of its keys before it calls the wrapped
//     backend and again when that returns, and a Get that raced with such a
//     write does not keep what it fetched.
//   - A copy of a value this process wrote never outlives the value's own
//     timeout: a Set with a 1 s timeout under a 10 s TTL keeps its copy for
//     at most the least lifetime Options.Lifetime gives that timeout (for
//     memcached, whose clock ticks in whole seconds, memcached.Lifetime: a
//     second less than the timeout), and keeps none until the value is
//     surely gone. The bound is remembered for the key, so a copy read
//     back after the write, or after a Touch, is held no longer either,
//     unless the byte bound evicted the key's record. A value another process wrote is held for TTL, since
//     its timeout cannot be known: a copy may outlive it by up to TTL.
//   - Misses are not kept: a key absent from the server is asked for again
//     on every lookup.
//
// A fail-open wrapper (cache/failopen) reads the copies first, through
// cache.LocalGetter, and goes on serving them while the server is
// unreachable, still for at most TTL after each was fetched, then misses.
//
// # Memory
//
// The copies live in 64 shards, each bounded to a 64th of Options.MaxBytes
// (DefaultMaxBytes, 64 MiB, when zero), counting keys, values and a fixed
// overhead per entry. A shard over its share evicts arbitrary entries; a
// value larger than a shard's share is not kept. Expired copies are removed
// when looked up or evicted.
//
// # Bytes
//
// Values are copied when they are kept, so a caller may reuse the slices it
// passes to Set. Get returns the kept copy itself, shared by every caller,
// following cache.Backend's rule that values returned by Get are read-only:
// clone it to modify it.
//
// # Optional interfaces
//
// The wrapper implements cache.LocalGetter, cache.NearReporter (Mode
// "ttl"), cache.Unwrapper, cache.RawGetter (always read from the wrapped
// backend: it is for tools that must see the server), and cache.ManyGetter,
// cache.ManySetter, cache.ManyDeleter, cache.KeyBytesGetter and
// cache.KeyChecker whatever the wrapped backend implements, falling back to
// the single-key methods as cache.Cache would. cache.Incrementer cannot be
// emulated without the cache's default timeout, so New returns a type with
// Incr (IncrBackend) only when the wrapped backend has one.
package near
