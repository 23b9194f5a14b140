// Package redis is a cache backend over Redis with the behaviour of Django's
// RedisCache (django.core.cache.backends.redis, Django 4.0+), built on
// github.com/redis/go-redis/v9.
//
// # Commands, as Django sends them
//
//	Set         SET k v EX t; DEL k when the timeout is expired; SET k v (no expiry) for cache.Forever
//	Add         SET k v NX EX t; with an expired timeout SET k v NX, then DEL k when it stored
//	Get         GET k                   GetMany  MGET k1 k2 …
//	Delete      DEL k                   DeleteMany DEL k1 k2 …
//	Has         EXISTS k                Clear    FLUSHDB (the whole database, whatever the key prefix)
//	Touch       EXPIRE k t; EXPIRE k 0 when expired (which deletes); PERSIST k for cache.Forever
//	SetMany     MULTI, MSET k1 v1 …, EXPIRE k t per key (none for Forever), EXEC
//	Incr        one Lua script: EXISTS k, then INCRBY k delta — atomic, unlike Django's two calls
//
// Timeouts are whole seconds, truncated as Django's int(timeout) does:
// Seconds(1.5) lives one second, and a positive timeout below one second
// (Seconds(0.5)) is 0 for Django, which deletes the key. Zero and negative
// timeouts (cache.Expired) delete; cache.Forever stores without expiry.
// There is no 30-day rule: EX takes any number of seconds.
//
// Touch with cache.Forever reports whether the key existed, as the
// cache.Backend contract says; Django's PERSIST alone reports False for a key
// that exists without an expiry.
//
// Incr on a missing key fails with a *KeyNotFoundError whose message is
// Django's, with its trailing period: Key ':1:nope' not found. On a value
// that is not a decimal integer, or when the result would overflow, it fails
// with a *cache.NotIntegerError (errors.Is cache.ErrNotInteger).
//
// Keys are the made keys (":1:k"), never rejected: like Django's Redis
// backend, a cache over this backend only warns about keys memcached would
// refuse (cache.KeyCheckWarn).
//
// # Values and sharing a Redis with Django
//
// Values are stored as the raw bytes given, and read back as such; nothing is
// ever unpickled. Django's RedisSerializer stores a Python int as ASCII
// decimal and pickles everything else, and reads a value back as an int when
// it parses as one, else by unpickling it. So a Django process reading a key
// this backend wrote gets an int when the bytes are a decimal integer (what
// Incr keeps there), and otherwise an unpickling error or garbage. Sharing a
// Redis database with Django therefore works for counters and for
// invalidation — deleting the keys of Django's fragments (see
// cache.FragmentKey) and pages, which only needs the same made keys — but not
// for exchanging other values, unless they are pickled on purpose.
//
// # Several servers
//
// With several servers (a primary and its replicas), writes — Set, Add,
// Delete, DeleteMany, SetMany, Incr, Touch, Clear and DeletePattern — go to
// the first server. Reads — Get, GetMany, Has — go to the first server when
// it is the only one, and otherwise to one of the others chosen uniformly at
// random, as Django's RedisCacheClient does. Replication is Redis's business:
// a read right after a write may miss on a lagging replica.
//
// # Failure
//
// Opening never talks to the servers, so a cache opens while Redis is down;
// operations then fail quickly with an error naming the server (a refused
// connection is not retried, see Options). Every operation honours its
// context's deadline, and errors past it satisfy
// errors.Is(err, context.DeadlineExceeded). A cancellation without a
// deadline is seen before a command is sent, but not while waiting for a
// reply (go-redis watches deadlines only): that wait ends at ReadTimeout,
// with an error wrapping context.Canceled. Wrap the backend with
// cache/failopen (which cache/backends does for redis:// URLs) to turn
// failures into misses behind a circuit breaker.
//
// go-redis logs failed dials through its own process-wide logger
// (redis.SetLogger in go-redis); this package leaves it alone.
//
// # URLs
//
// Open is the cache.Opener for redis:// and rediss:// (TLS) URLs; see Open.
package redis
