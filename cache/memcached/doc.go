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
// an error (connection refused at once, or after Options.Timeout). When a
// command fails on a connection the server has closed (after a restart,
// all idle connections are such), the backend drops its idle connections
// and, for commands that may safely run twice (all but Add and Incr), tries
// once more on a new connection.
//
// gomemcache takes no context. The backend checks the context before each
// operation, and between the commands of SetMany and DeleteMany, but cannot
// interrupt a command under way: Options.Timeout (default 500 ms) bounds
// connecting and each read or write, and so each call.
package memcached
