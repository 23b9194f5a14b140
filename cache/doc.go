// Package cache is Django's cache framework for Go: the API that template
// fragment caching, page caching and application code share, with keys,
// timeouts and values that Django processes sharing the same store agree
// with.
//
// # Backend and Cache
//
// The package splits a cache in two. A Backend is a store addressed by
// made keys (":1:sidebar"): get, set, add, delete, has, touch, clear. Its
// optional interfaces (ManyGetter, ManySetter, ManyDeleter, Incrementer,
// KeyBytesGetter, KeyChecker) let a store do more in one call, and Leaser
// gives it leases; wrappers
// such as cache/failopen's implement Unwrapper, and As finds a backend of a
// given type, or with given methods, beneath them, as errors.As does:
//
//	if rb, ok := cache.As[*redis.Backend](c.Backend()); ok { … }
//
// A Cache, made by New over a Backend, adds Django's semantics: keys made
// as "prefix:version:key" (or by a KeyFunc) and checked as memcached would
// (KeyCheck), a default timeout, versions (Cache.WithVersion is a view at
// another version; IncrVersion moves a key), statistics (Stats),
// single-flight GetOrSet, Incr for backends without an atomic one,
// leases across processes (AcquireLease, on backends implementing Leaser)
// and expiry jitter (WithJitter).
// Values are bytes; Typed stores Go values through a Codec. Options
// (WithKeyPrefix, WithDefaultVersion, WithDefaultTimeout, WithKeyFunc,
// WithKeyCheck, WithLogger, WithMaxValueSize, WithJitter) only record values: New
// checks them and fails with an error wrapping ErrInvalidOption.
//
// # Timeouts
//
// Timeout is Django's timeout argument:
//
//	DefaultTimeout      (the zero value) the cache's default, 300 s unless WithDefaultTimeout
//	Forever             never expires (Django's None)
//	Expired             stored already expired (Django's 0); Seconds(-5) too
//	Seconds(1.5)        seconds from now
//	Duration(time.Hour) the same from a time.Duration
//
// ParseTimeout reads the same from text ("300", "none").
//
// # URLs
//
// Open opens a cache from a URL such as memory://?max_entries=1000,
// file:///var/tmp/fragcache, memcached://10.0.0.1:11211 or
// redis://:secret@10.0.0.1:6379/1?timeout=600&key_prefix=shop, with a
// Schemes map from scheme to Opener. Package cache/backends has the map of
// every built-in backend (and backends.Open). Every URL takes the cache
// options timeout, key_prefix, version, key_check, django and jitter
// (WithJitter); each backend's Opener reads its own with the URL's typed
// getters or, as a table of
// URLOption rows, with URL.Read. Options nobody reads are rejected; errors
// name the option and its value, never the URL; Redact hides the passwords
// of a URL for messages and logs.
//
// # Registry
//
// A Registry maps aliases to caches, like Django's CACHES setting:
// "default", "template_fragments" (the cache of the {% cache %} tag when
// present; see Registry.Fragments) and any other name. OpenRegistry opens
// one from URLs (aliases naming the same memory:// store share it).
// FragmentKey and KeyScheme.FragmentKey make the key of a {% cache %}
// fragment, as Django's make_template_fragment_key does.
//
// # Sharing a cache with Django
//
// WithDjango, or django= on a URL, names the Django release a cache is
// shared with, to the patch level (DjangoRelease): the key scheme of the
// fragments written to it (Cache.KeyScheme, which the {% cache %} tag and
// Registry.InvalidateFragment use), the page-key variant
// (DjangoRelease.PageKeys, which httpx/pagecache uses) and, on a URL, the
// backend's value format (Django's pickles on Redis, its flags on
// memcached). Each alias of a registry keeps its own release.
//
// # Stampede protection
//
// Without options, a missing value is computed once per process (single
// flight): when a hot entry expires, every process sharing the backend
// recomputes it at once. Four tools, each opt-in per cache (URL options,
// WithJitter, WithStampede) or per call (GetOrSetWith with a Stampede),
// prevent that:
//
//   - jitter=f spreads the expiries of entries written together over
//     [t·(1−f), t]. It costs nothing: use it whenever many entries are
//     written at once (a deploy, a warm-up) and would expire together.
//   - lease=1 (Stampede.Lease): on a miss, one process among all takes the
//     backend's lease (memcached add, Redis SET NX PX, a file created
//     exclusively, an in-process map for memory://, which is private to
//     the process) and computes; the others wait for its value, at most
//     the wait bound (the lease TTL, lease_ttl=, 10 s by default), and take
//     it as soon as it lands. A holder that dies holds the lease until its
//     TTL; a waiter whose wait ends computes for itself. A backend that is
//     down gives no lease: every caller computes, as without. Use it for
//     values expensive to compute and read by many processes at once; it
//     costs one round trip more per miss.
//   - grace=d (Stampede.Grace): an entry lives for its timeout plus d, and
//     past its timeout it is served, stale, to every caller while one
//     lease holder recomputes it (GetOrSetWith: in the background, at most
//     once per key per process, cancelled after the lease TTL). Nobody
//     waits at expiry; readers may see a value up to d older than its
//     timeout. Use it for hot values that may be a little stale.
//   - xfetch=1 (Stampede.XFetch, xfetch_beta= its β, default 1): early
//     probabilistic expiry (XFetch, Vattani et al., VLDB 2015): a read
//     recomputes a fresh value shortly before it expires, with a
//     probability growing as expiry nears and with the time the value took
//     to compute, so that hot values are seldom missing at all.
//
// GetEntry, SetEntry and Fill are the parts the {% cache %} tag and the
// page cache are made of; GetOrSetWith (and GetOrSet on a cache with a
// Stampede) puts them together. Stats().Stampede counts leases won, lost
// and expired, waits, stale values served and refreshes.
//
// What Django processes sharing the cache see: values keep Django's format
// under their usual key, so Django reads and deletes them as its own. With
// grace, a value lives for its timeout plus the grace, so Django serves it
// during the grace too. The freshness (until when a value is fresh, and
// how long it took to compute) lives in a side key, "{<made key>}:fresh"
// (FreshKey), next to the lease, "{<made key>}:lease" (LeaseKey): SideKey
// names both, and the braces keep them in the value's Redis Cluster slot;
// memcached hashes a side key too long for it; the memory backend keeps
// the freshness in the entry. A value without a freshness side key (one
// Django wrote), or whose side key describes another value (Django
// overwrote it), is fresh until it expires.
//
// # Invalidating groups
//
// Some changes touch many entries: every variant of a fragment name
// (InvalidateFragmentVariants), every variant of a page's URL
// (pagecache.InvalidateURL), every page and fragment showing an article
// (content tags: DeclareTags, IndexTags, PurgeTag). Each goes through an
// index written when the entries are stored, on a miss, never on a hit
// (Indexer: a Redis set, a memcached item, a file, a map; index.go), and,
// on backends that can enumerate their keys (PrefixDeleter: Redis, the
// memory store), through their keys, so that entries a Django process
// wrote go too. Keys keep Django's shape. An index evicted before its
// entries (memcached's LRU, Redis under an allkeys-* policy) misses them
// until they expire; each backend's documentation says when.
//
// # Errors
//
// Errors satisfy errors.Is with the sentinels ErrNotFound, ErrNotInteger,
// ErrInvalidKey, ErrValueTooLarge, ErrInvalidOption, ErrUnknownScheme,
// ErrUnknownAlias, ErrNilContext and ErrClosed; a miss is not an error.
//
// # Where to go next
//
//   - cache/memory, cache/file, cache/dummy, cache/memcached, cache/redis:
//     the backends, each with New, an Opener named Open, and its Options.
//   - cache/failopen: a wrapper turning a failing backend's errors into
//     misses behind a circuit breaker (failopen.Breaker).
//   - cache/backends: URL schemes of every built-in backend.
//   - cache/cachetest: the conformance suite a Backend must pass.
//   - tags and render: the {% cache %} template tag and renderers using a
//     Registry; httpx: HTTP caching helpers and the page cache.
//   - cmd/fragcache: fragment keys and live caches from the command line.
package cache
