// Package memcached is a cache backend for memcached servers, built on
// github.com/bradfitz/gomemcache, that behaves as Django's PyMemcacheCache
// and shares servers with it: a Go application and a Django application
// pointed at the same servers read each other's entries.
//
//	b, err := memcached.New(memcached.Options{Servers: []string{"10.0.0.1:11211", "10.0.0.2:11211"}})
//	c, err := cache.New(b)
//
// or, through cache/backends, with a URL:
//
//	memcached://10.0.0.1:11211;10.0.0.2:11211?op_timeout=200ms&max_idle_conns=128
//
// # Django compatibility
//
// Keys are Django's made keys (":1:sidebar"), sent as their UTF-8 bytes.
// Like Django's memcached backends the backend rejects keys memcached
// cannot take (KeyCheck is cache.KeyCheckReject, with Django's messages);
// Options.HashLongKeys stores them under a hashed key instead.
//
// Timeouts are sent as Django computes them (see Expiration): Forever as 0,
// whole seconds otherwise, expired ones as -1 or negative, and timeouts over
// 30 days as an absolute Unix time. Entries therefore live whole seconds:
// 1.5 s lives one second, and 0.5 s is already expired.
//
// Values are written with pymemcache's flags. By default every value is
// written with flag 0 (FlagBytes), which Django reads as bytes. With
// Options.TextFlags (URL text_flags=1, or its other name django_values=1),
// valid UTF-8 text is written with flag 16 (FlagText), which Django reads as
// str, and integers with flag 2 (FlagInteger), read as int; Incr keeps a
// value's flags. That is all a Django peer needs to use what this backend
// writes: a fragment written as a str renders exactly like the SafeString
// Django would have stored, since {% cache %} returns the cached value as
// it is and a template does not escape a node's output.
//
// Values Django writes as bytes, str or int (flags 0, 16, 2, and 4 for
// Python 2's long) read back as their bytes: the UTF-8 text, or the decimal
// digits. Anything else Django stores is a Python pickle (flag 1): above
// all a SafeString, which is what {% cache %} stores for every fragment it
// renders. Pickles are read by package internal/pickle, a restricted
// decoder that builds plain values itself and never imports, calls or
// constructs anything a stream names, so a pickle in a shared cache cannot
// run code here. A pickled str or SafeString reads as its UTF-8 text (a
// fragment Django rendered reads as exactly its HTML), pickled bytes or
// bytearray as the bytes, a pickled int as its decimal digits. Any other
// pickle — a float, True, None, a dict, a list, a model instance, anything
// naming another global — makes Get and GetMany fail with a *FlagsError
// wrapping ErrForeignValue, so that the mismatch shows instead of passing
// as a miss. Reading takes no option: the flags say what each value is.
//
// With several servers, SelectorDjango (the default) places each key on the
// server pymemcache's HashClient would choose (rendezvous hashing with
// murmur3), as long as both sides list the same servers under the same
// names; SelectorGomemcache places keys as a plain gomemcache client does.
//
// # Pools: one server failing
//
// With two servers or more (a pool), each server has its own breaker,
// counters and log limiter, so that a failing server costs only the keys
// that live on it. After Options.ServerFailureThreshold (URL
// server_failure_threshold, default 3) consecutive failures a server is
// marked down: operations on its keys fail at once with an error wrapping
// ErrServerDown, without a round trip, for Options.ServerCoolDown (URL
// server_cool_down, default 5 s); then one operation probes it (the others
// are still skipped) and, if the server answers, its keys are served
// again. A single server has no breaker of its own: the fail-open
// wrapper's covers it.
//
// An operation that failed at, or skipped, one server while another server
// of the pool is not marked down returns a *ServerError whose Partial is
// set, and errors.Is(err, cache.ErrPartialOutage) is true. The fail-open
// wrapper of memcached:// URLs (cache/failopen) answers it as any failure
// (a miss, a write not done) but counts it in its Stats.Isolated only, not
// against its own breaker: with one server of three down, two thirds of
// the keys still hit, the rest miss, no error reaches the caller, and the
// whole-cache breaker stays closed. When every server fails, the errors
// are no longer partial and the whole-cache breaker opens as with one
// server. GetMany sends one multi-get per server concurrently and returns
// the hits of the servers that answered; the servers that did not answer
// before ctx is done (the fail-open wrapper's op_timeout) count as failed,
// so a hung server (one that accepts connections and answers nothing)
// delays a GetMany by at most the operation timeout until it is marked
// down, and the other servers' keys not at all.
//
// Cache.Stats().Servers reports each server (cache.ServerStats): its
// breaker, keys, failures, keys skipped while marked down, last error and
// missed writes; so do fragcache stats, the debug page (httpx/cachedebug)
// and the Prometheus metrics (httpx/cachemetrics, label server).
//
// # Pools: dead servers' keys miss, they do not move
//
// pymemcache's HashClient, which Django's PyMemcacheCache uses, removes a
// server from its ring after retry_attempts (2) failed retries
// retry_timeout (1 s) apart, for dead_timeout (60 s), and remaps its keys
// to the other servers (rendezvous hashing over the rest: this selector
// over the remaining servers, checked against pymemcache). This backend
// does not: a dead server's keys miss until it is back. Remapping would
// make every process decide on its own, at its own moment, where a key
// lives, so that two processes (two Go instances, a Go and a Django
// process) would write, read and delete a key on different servers during
// an outage; and a remapped key still has its old value on the dead
// server, served again when it comes back. Missing costs 1/N of the keys
// for the outage and keeps every process's placement the same.
//
// What that means for invalidations shared with Django during an outage:
//
//   - A delete (or a set, add or touch) of this process whose server is
//     down does not reach it. The backend remembers the keys of such
//     writes (up to 10,000 per server; past that it flushes the server
//     instead) and deletes them on the server when its probe succeeds,
//     before any of its keys is served again: a server that was
//     unreachable rather than restarted (a network partition, a hang, an
//     overload) serves none of the values this process replaced or
//     deleted meanwhile; a Clear that misses a server fails, and the
//     server is flushed when it is back. A restarted server is empty
//     anyway. Only writes
//     that reach this backend are remembered: with every server down the
//     fail-open wrapper's breaker opens and skips the backend, and the
//     writes it skips are not.
//   - Django's deletes during the outage are not replayed by this
//     process. With Django's defaults, pymemcache raises the first failure
//     of each retry (a 500 unless the view catches it; OPTIONS
//     ignore_exc=True turns failures into misses), then, about three
//     seconds into the outage, removes the dead server and sends its keys'
//     reads, sets and deletes to another server for 60 s. The dead server,
//     once back, still holds the values Django deleted meanwhile, and
//     serves them to every process, Go and Django, until they expire; and
//     a later outage of the same server can bring back what Django wrote
//     on the substitute. So a value shared with Django may be stale after
//     an outage for up to its timeout.
//   - Recommended: give Django the same behaviour as Go, keys missing
//     rather than moving, with OPTIONS {"ignore_exc": True,
//     "retry_attempts": 10**9}: pymemcache then never removes a server,
//     answers its keys as misses (retrying it every retry_timeout), raises
//     nothing, and Go and Django agree on every key's server at all times
//     (both checked against pymemcache by TestPool). Bound the staleness
//     Django's dropped deletes can leave by the timeouts of shared values,
//     or flush a server that was unreachable when it is back.
//
// With Django's rendezvous hashing, adding a server to a pool of N-1, or
// removing one of N, moves about 1/N of the keys, all to or from that
// server; SelectorGomemcache's crc32 modulo moves most keys (24.9% and
// 75.1% from 3 to 4 servers: BENCHMARKS.md, "memcached pools").
//
// # Operations
//
// GetMany is one multi-get per server, the servers queried concurrently.
// SetMany and DeleteMany send one command per key, eight at a time, since
// gomemcache has no pipelining. Incr and Decr are memcached's incr and decr:
// atomic, clamped at 0, keeping the entry's expiry; a missing key is an
// error naming the made key, as in Django. Has is a get. Clear is flush_all
// on every server and ignores the key prefix, as in Django.
//
// A value over the server's item size (1 MiB unless memcached runs with -I)
// makes Set and Add fail with an error wrapping cache.ErrValueTooLarge; the
// server has then already removed the key's previous value, as Django's
// test_memcached_deletes_key_on_failed_set expects. SetMany reports such
// keys as failed.
//
// # Fragment variant indexes
//
// memcached cannot list its keys, so Cache.InvalidateFragmentVariants finds
// the variants of a {% cache %} fragment name through an index this backend
// writes when a Go process stores a variant (Backend.IndexAdd, paid on a
// miss, never on a hit): one item under the side key
// "{:1:template.cache.NAME}:variants" (hashed when memcached cannot take
// it, as every side key), holding the variants' made keys one per line. A
// store reads the index (one get, whose size grows with the number of
// variants); a variant already listed costs nothing more, a new one is
// appended with memcached's append (no compare-and-swap, so processes
// adding variants at once never conflict). The index records its deadline
// (the latest of its variants', rounded up to the minute; forever if one
// of them is) and is given that expiry, raised with a compare-and-swap
// when a longer-lived variant comes and never lowered: it lives as long as
// the variants it lists, and then goes. An index holds at most
// cache.MaxIndexMembers variants (Options.MaxIndexMembers), and no more
// than memcached's item size (1 MiB by default: some 15,000 keys of 70
// bytes); when full, the variants that are gone are dropped, and if it is
// still full the store succeeds but the variant is not indexed (counted in
// Stats().Index.Errors and logged).
//
// The limits: a variant only a Django process wrote is listed in no index
// and is not found (memcached cannot enumerate keys; Redis can). And an
// index is an item like any other: memcached's LRU may evict it while the
// variants it lists live (or a server restart empties it), and then
// InvalidateFragmentVariants misses those variants, which expire by their
// own timeouts. Writers racing past the bound may each add one variant
// over it.
//
// # Local copies (local_ttl)
//
// memcached has no way to tell a client that a value changed. The URL
// option local_ttl (off by default) wraps the backend with package
// cache/near, which keeps a process-local copy of each value read or
// written for at most local_ttl (bounded in memory by local_max_bytes,
// 64 MiB by default) and answers hits from it. The bound is plain: a write
// or delete by another process is seen by this one up to local_ttl after
// it happened. This process's own writes and deletes drop its copies at
// once, and a copy of a value it wrote never outlives the value (see
// Lifetime). In code: near.New(b, near.Options{TTL: 2 * time.Second,
// Lifetime: memcached.Lifetime}).
//
// # Connections, timeouts and contexts
//
// New does not connect; connections are opened on demand and kept, up to
// Options.MaxIdleConns (default 64, well above gomemcache's 2) idle ones per
// server. A server that is down makes the operations on its keys fail with
// an error (connection refused at once, or after Options.Timeout; in a
// pool, at once while it is marked down). When a
// command fails on a connection the server has closed (after a restart,
// all idle connections are such), the backend drops its idle connections
// and, for commands that may safely run twice (all but Add and Incr), tries
// once more on a new connection.
//
// gomemcache takes no context. The backend checks the context before each
// operation, and between the commands of SetMany and DeleteMany, but cannot
// interrupt a command under way: Options.Timeout (default 500 ms) bounds
// connecting and each read or write, and so each call. GetMany over
// several servers returns when ctx is done, with what the servers that
// answered sent (see Pools).
package memcached
