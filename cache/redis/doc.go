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
// Django's RedisSerializer stores a Python int as ASCII decimal and pickles
// everything else with pickle.HIGHEST_PROTOCOL (5); it reads a value back
// as an int when int() parses it, else with pickle.loads. Its {% cache %}
// tag stores each rendered fragment as a pickled SafeString. (django-redis,
// the usual choice before Django 4.0, does the same with protocol 4.)
//
// By default this backend stores values as the raw bytes given and reads
// them back as such. A Django process reading a key this backend wrote then
// gets an int when the bytes are a decimal integer (what Incr keeps there),
// and otherwise an unpickling error or garbage; and this backend reads
// Django's fragments as pickle bytes. Without the option, a shared database
// works only for counters and for invalidation — deleting the keys of
// Django's fragments (see cache.FragmentKey) and pages, which only needs
// the same made keys. Raw is the default because a Go-only deployment may
// store arbitrary bytes, some of which could look like a pickle.
//
// To exchange values with Django, set Options.DjangoValues (URL
// django_values=1) on every Go process using the database. Writes are then
// what Django writes for the same kind of value: an integer in Python's
// decimal form raw (so INCRBY, Incr, and Django's incr keep working), valid
// UTF-8 text as a pickled str, other bytes as pickled bytes. Reads decode
// Django's pickles of str, SafeString, bytes, bytearray and int (protocols 2
// to 5) into text, bytes and decimal digits, with a restricted decoder
// (package internal/pickle) that builds plain values itself and never
// imports, calls or constructs anything a stream names: a pickle in a
// shared cache cannot run code here. A pickle of any other value (a float,
// True, a dict, an object) is a *ForeignValueError wrapping
// ErrForeignValue, never a silent miss. Only values starting with 0x80 and
// a byte from 2 to 5 (the PROTO opcode and the protocol every pickle of
// protocol 2 and later starts with) are decoded, and a malformed one reads
// as its bytes: text and integers stored raw before the option was turned
// on still read unchanged, as no UTF-8 text and no integer starts with
// 0x80. With the option on, every value the backend writes is a pickle or
// a decimal integer, so what it wrote is never ambiguous. A fragment
// this backend writes as a str renders in Django exactly like the
// SafeString Django itself stores, since {% cache %} returns the cached
// value as it is and a template does not escape a node's output.
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
// # Redis Cluster
//
// With Options.Cluster (URL redis+cluster://h1:7000;h2:7001;h3:7002, or
// rediss+cluster:// for TLS) the servers are seed nodes of a Redis
// Cluster, reached through go-redis's ClusterClient, which learns the
// slot map from them and sends each command to the master owning its
// key's slot. Every operation keeps its single-server semantics:
//
//   - Single-key commands (Get, Set, Add, Delete, Has, Touch, Incr, leases,
//     index sets) are the same commands, sent to the key's master.
//   - GetMany, SetMany and DeleteMany send one GET, SET k v EX t or DEL
//     per key in a go-redis cluster pipeline: one pipeline per master
//     involved, all concurrently, so the call costs about one round trip
//     (MGET, MSET and DEL of several keys fail across slots). SetMany is
//     then not one transaction: every SET is sent, and an error reports
//     the first that failed.
//   - Clear runs FLUSHDB on every master, concurrently; DeletePattern and
//     DeletePrefix (and so name-wide invalidations) SCAN every master in
//     turn and delete what matches.
//   - The database must be 0 (a Cluster has no other), and the near cache
//     is refused: go-redis's client-side caching serves one server's
//     connections only.
//   - A key's side keys, its lease "{K}:lease" and freshness "{K}:fresh"
//     (cache.SideKey), are hash-tagged by the key: Redis hashes only the
//     part between the braces, K, so they live in K's slot, on K's
//     master, and move with it. (A made key holding a tag of its own,
//     "{…}", keeps its side keys without braces, hashed by the same tag.)
//
// go-redis reloads its slot map on MOVED and ASK replies and otherwise
// once a minute; this backend also asks for a reload (run in the
// background, coalesced) whenever a command fails, so that when a master
// dies its keys hit again within a few hundred milliseconds of a replica
// taking over, without a restart. Until then they fail, which the
// fail-open wrapper turns into misses. A GetMany (a page's fragment
// prefetch) whose keys live partly on the dead master returns the other
// masters' hits with an error wrapping cache.ErrPartialOutage, which the
// wrapper answers with those hits without counting it against the
// Cluster's one breaker: the other masters' fragments keep hitting. With the Cluster's default
// cluster-require-full-coverage yes, every node refuses commands from when
// the master is marked failed until the failover ends.
//
// # Redis Sentinel
//
// With Options.Sentinel (URL
// redis+sentinel://s1:26379;s2:26379;s3:26379[/db]?master=NAME) the
// servers are sentinels (port 26379 by default) and commands go to the
// master they name, through go-redis's failover client, which asks them
// again when the master changes (it subscribes to their switch-master
// announcements and drops the old master's connections). With
// SentinelOptions.ReplicaReads (replica_reads=1) reads go to a replica
// through a second failover client reading from replicas only (the
// master when none is up), as Django's multi-server cache reads from
// replicas. The near cache is refused. Credentials in the URL's user part
// are the data servers'; sentinel_username and sentinel_password are the
// sentinels'.
//
// # Near cache
//
// With Options.Near (URL near_cache=1, with near_max_bytes and
// near_max_staleness) the backend keeps what it reads in process memory
// and serves repeated reads from there, while Redis tells it when a key it
// holds changes: Redis's server-assisted client-side caching (RESP3 CLIENT
// TRACKING), implemented by go-redis (Options.ClientSideCache, a
// LocalCache per read server). go-redis's API for it is experimental; this
// package keeps it behind its own option and go.mod pins go-redis.
//
//   - Any client's write or delete of a key (another process, Django, the
//     CLI) makes Redis push an invalidation and the copy is dropped: at the
//     connection's next reply when it is busy, and within about
//     NearOptions.DrainInterval (20ms) when it is idle, go-redis sweeping
//     idle connections that often (each sweep costs a little CPU). This process's own writes drop its copies at once
//     (and the next read or two of a key it wrote go to Redis: the write's
//     own invalidation may drop the first copy fetched after it).
//   - A copy is never served past the key's timeout: the key's PTTL is read
//     when a value is fetched, since Redis announces an expired key only
//     when it deletes it. Nor is it served more than
//     NearOptions.MaxStaleness after it was fetched, whatever happens to
//     invalidations; go-redis also drops the copies a connection fetched
//     when that connection closes.
//   - A missing key is kept as missing: reading it again costs no round
//     trip until someone writes it.
//   - GetLocal (cache.LocalGetter) reads a copy without I/O, so that the
//     fail-open wrapper serves near hits before its breaker and operation
//     timeout, and goes on serving them, within the bounds above, while
//     the breaker is open.
//   - GetMany serves held keys and sends one GET per other key
//     (concurrently): go-redis keeps an MGET reply only for its exact list
//     of keys. Pipelines, transactions and Lua scripts bypass the cache;
//     here they are writes (SetMany, Incr, Touch with Forever), whose
//     copies are dropped.
//   - It needs RESP3 (Redis 6 or later) and database 0: New and Open
//     refuse another database. Each new connection asks the server
//     (CLIENT TRACKINGINFO) whether it tracks keys; a server that refuses
//     RESP3, or tracking (go-redis then turns its cache off), turns the
//     near cache off, logged once at Warn, and reads go to Redis as
//     without it. NearStats says which.
//   - With replicas, the copies are of the replica reads: Redis sends
//     invalidations for replicated writes to the replica's clients,
//     also after a resynchronisation (tested).
//   - A reply larger than MaxBytes/16 is never kept (go-redis's cache is
//     sharded 16 ways).
//
// NearStats (cache.NearReporter) reports hits, misses, invalidations
// received, entries and bytes.
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
// Open is the cache.Opener for redis:// and rediss:// (TLS) URLs, and for
// redis+cluster://, rediss+cluster:// and redis+sentinel:// ones; see Open.
//
// # go-redis's own log lines
//
// go-redis logs through one process-wide logger (to stderr by default,
// about 20 lines a second while a server is down). The first Open of a
// redis:// URL forwards those lines to the cache's logger
// (cache.WithLogger, else slog.Default()) at Warn level, at most one line
// per 10 s with the number dropped. To keep a logger of your own, call
// goredis.SetLogger after opening the first cache.
package redis
