// Package pagecache is Django's page cache for net/http: cache_page
// (Page), the per-site cache middleware (Site: UpdateCacheMiddleware plus
// FetchFromCacheMiddleware), get_cache_key and learn_cache_key
// (GetCacheKey, LearnCacheKey) and the invalidation of a page
// (Invalidate), storing whole responses in a cache.Cache under Django's
// page keys (Keys, HeaderList), so that keys match those of Django
// processes sharing the cache: those of the Django release named on the
// cache (django= on its URL, cache.WithDjango) or with WithDjango.
// The storing rules are those of the newest Django with every security fix,
// made stricter where Django replays data to other clients or merges
// requests a Go handler tells apart.
//
//	mux.Handle("GET /authors/{id}", pagecache.Page(cache.Seconds(300), pagecache.WithRegistry(reg))(authorPage))
//	site := pagecache.Site(pagecache.WithRegistry(reg))(mux)
//
// The header helpers and small middleware it builds on (Vary,
// Cache-Control, conditional GET) are package httpx.
//
// # Where things are
//
//   - cache.go: Cache, New and the hit path (lookup, Age, 304/412);
//     single.go: single-read hits (the header-list memory, the multi-get);
//   - miss.go: the miss path (record, prepare, store, reply) and coalescing
//     (coalesce.go); rules.go: what is stored, and for how long;
//   - keys.go: Keys and HeaderList; request.go: the key inputs of one
//     request; absuri.go: Django's build_absolute_uri and when the key would
//     merge request targets;
//   - entry.go and headerlist.go: the stored formats (plain bytes, never
//     code; a header list pickled by Django is read too);
//   - stampede.go: protection against stampedes across processes
//     (leases, grace, early expiry);
//   - tags.go: content tags (WithSurrogateKeys, cache.DeclareTags, the
//     {% cachetag %} of the page's fragments), indexed with each stored
//     page for cache.Registry.PurgeTag, and InvalidateURL (every variant
//     of a URL, through an index written with each page and, on Redis and
//     the memory store, enumeration);
//   - options.go, middleware.go (Page, Site), learn.go, invalidate.go,
//     stats.go.
//
// # Serving from the cache (FetchFromCacheMiddleware)
//
// Only GET and HEAD requests are looked up. Requests are passed to the
// handler untouched (Cache-Status fwd=bypass, with a detail naming the
// rule) when the page cache could not tell them apart safely, or must not
// answer them:
//
//   - upgrade: the request has an Upgrade header (WebSocket, h2c); the
//     handler may hijack the connection, and nothing of it is stored;
//   - host: an invalid host (Django's DisallowedHost);
//   - url: the request target is not byte for byte what Django's key
//     writes, so that another target shares its key while a handler sees
//     the two apart: a percent-encoded byte the key decodes (%2F, an
//     encoded letter, lower-case hex), a byte that is not UTF-8 (the key
//     writes %25XX, the spelling of another path), /./ or /../ segments, a
//     query byte iri_to_uri percent-encodes (" < > \ ^ ` { | }, whose
//     encoded form gives the same key: a handler reflecting the raw query
//     would otherwise plant its page for every visitor) or reads as
//     ISO-8859-1 (bytes beyond ASCII), or an absolute-form target
//     (http://host/path, which httptest.NewRequest makes of a full URL:
//     give it the path and set Host). Keys of every other request are
//     Django's;
//   - header: a header the learned list names was sent on several lines,
//     which the key joins with "," while net/http keeps the lines apart (two
//     Cookie lines and one joined line parse differently);
//   - authorization: the request has Authorization and the learned list
//     does not name it; only a stored page whose Cache-Control has public,
//     s-maxage or must-revalidate answers it (RFC 9111 §3.5), and the
//     handler's response is not stored;
//   - session: a session cookie, with WithAnonymousOnly.
//
// The learned Vary-header list of the URL is read from the header-list key;
// without it the request is a miss. Otherwise the page key is computed from
// the request's values of those headers, and the GET entry is looked up,
// then, for HEAD, the HEAD entry (a HEAD request may be answered from a GET
// entry, never the reverse). On a memcached or Redis cache the list and the
// entry are usually fetched together, with one read (see Single-read
// hits). A hit is written without running the handler,
// with an Age header (max(0, max-age − (Expires − now))). A conditional
// request (If-None-Match, If-Modified-Since, If-Match, If-Unmodified-Since)
// is evaluated against the stored ETag and Last-Modified as
// EvaluatePreconditions does: a 304 carries only Django's header subset
// (Cache-Control, Content-Location, Date, ETag, Expires, Last-Modified,
// Vary).
//
// # Single-read hits
//
// Read one after the other, the header list and the page cost a hit two
// round trips to memcached or Redis. So the page cache remembers, in this
// process, the header list it last read or stored for each header-list key
// (WithHeaderListMemory: DefaultHeaderListMemory lists, an arbitrary one
// forgotten when full; on by default unless the backend is in process,
// cache.IsInProcess, where a round trip is free). For a URL it remembers a
// list of, the page keys that list implies for the request (GET's, and
// HEAD's for HEAD) are fetched together with the header-list key in one
// GetMany: one multi-get line on memcached, one MGET on Redis. The list
// fetched is then compared, byte for byte, with the one remembered:
//
//   - the same: the page keys are computed from the fetched list, as
//     without the memory, and a fetched entry is used only under the very
//     key computed (else it is read): one read for the hit, or for the
//     miss of the request's variant (Stats.SingleReadHits);
//   - another list (the site changed its Vary, another process or Django
//     stored another one), or none: the prefetched entries are dropped and
//     the fetched list is used as the first read would have been: a second
//     read fetches the page it implies, and the memory learns the list; no
//     list is a miss (Stats.ListGuessesWrong counts both);
//   - the multi-get failed on a value Django pickled (memcached and Redis
//     with django_values=1 fail the whole call on one): the list is read
//     alone as without the memory, Django's pickled list included, and the
//     URL forgotten until this package's list is stored again.
//
// It never serves the wrong variant: the page served is always the one
// stored under the key derived from the header list read in the same
// request, as Django's get_cache_key derives it, so it is exactly what the
// two reads would have served at the moment of the multi-get. The memory
// only chooses which page keys to fetch with the list; a wrong guess costs
// the fetch of an unused entry and a second read, never a wrong answer,
// which is why it needs no expiry and is not shared between processes.
// The Authorization rule, the repeated-header bypass, HEAD, coalescing,
// Server-Timing and the failure handling are those of the two reads (a
// failed multi-get is a failed read of the header list: a miss).
//
// With a near cache (memcached's local_ttl, Redis's near_cache=1) a header
// list held as a near copy is read without I/O
// (cache.Cache.GetLocalKeyBytes), and the page alone after it, most often
// a near copy too: no round trip at all, and no multi-get (whose
// allocations would be the only cost). The multi-get runs only when the
// list is not a near copy; Redis's near cache then reads each key it does
// not hold with its own GET, concurrently (one round trip of latency, two
// commands).
//
// # Coalescing
//
// While the handler runs for a missed page, other requests for the same
// page variant (the same page key, or, before the header list is learned,
// the same request headers) wait for its response instead of running the
// handler again (WithCoalescing). A waiting request gives up after
// WithCoalescingWait (by default the cache's operation timeout: 500ms on
// memcached, none on memory://) or its own deadline, renders the page
// itself and does not store it (Cache-Status detail=wait-timeout), so a
// stuck render or a stuck cache costs each request at most its own render.
//
// # Stampedes across processes
//
// Coalescing works within one process. A site runs many processes on one
// memcached or Redis, and when a hot page is missing or expires, each of
// them renders it at the same moment. WithStampede (by default the
// cache's own stampede protection: lease=, lease_ttl=, grace=, xfetch=
// and xfetch_beta= on its URL, cache.Cache.Stampede) adds the cache's
// tools to the page cache:
//
//   - a lease (lease=1): the request that leads this process's requests
//     for a missed page takes the backend's lease (memcached add, Redis
//     SET NX PX; see cache.Cache.AcquireLease) on the page key, or on the
//     header-list key while the URL's header list is not known (its first
//     render, or after the list expired: the page key is not known yet).
//     The holder reads once more (the page may have landed meanwhile),
//     runs the handler and stores the page. A request that finds the lease
//     held polls for the page with a bounded back-off (5ms doubling to
//     50ms, as cache.Cache.Fill) and serves it as soon as it lands
//     (Cache-Status "fragcache; fwd=uri-miss; collapsed; detail=waited",
//     with the fwd of its miss; its own process's waiters get it too,
//     "collapsed"), and takes the lease if it lapses (a holder that died). The wait is bounded by the
//     cache.Stampede's Wait, else WithCoalescingWait, else the lease TTL
//     (lease_ttl=, 10s by default); with a lease, the waits of coalescing
//     default to that bound too. Past it a request renders its own
//     response and stores it only if it can then take the lease
//     (otherwise detail=wait-timeout). A backend that gives no lease
//     (down, behind the fail-open wrapper) lets each request render as
//     without one. The lease costs a miss one more round trip, the holder
//     one more read; hits are unchanged. Requests with an Authorization
//     header, while the header list is not known, render without the
//     lease. A lease on the header-list key covers the URL's first render
//     only: a waiting request whose variant (Vary values) is another one
//     renders its own once the holder is done.
//   - grace (grace=): a page and its header list are kept for their
//     timeout plus the grace, and the page's freshness (until when it is
//     fresh) is written in its side key (cache.FreshKey), read in the same
//     round trip as the page: the single-read hit's multi-get gets one
//     more key, the two-read path reads the page and its freshness with
//     one multi-get (on memory://, the freshness is in the entry). Past
//     its freshness, a page is served stale to every request
//     (Cache-Status "fragcache; hit; detail=stale", its headers as stored:
//     Expires and max-age say it is stale, and Age grows past max-age),
//     while the one request that takes the lease renders the page for its
//     own response and stores it ("fwd=stale; stored"); a process renders
//     it once at a time. Nobody waits, even at expiry. A page without a
//     freshness key (stored without grace, or by Django), or whose
//     freshness describes another value, is fresh until it expires. Django
//     processes sharing the cache serve pages during the grace too, as
//     fresh ones.
//   - early expiry (xfetch=1, xfetch_beta=): XFetch draws, on each hit,
//     whether to render the page again before its freshness ends, with a
//     probability growing as the end nears and with the time its render
//     took (kept in the same side key); the request drawn renders it as the
//     lease holder, the others get the page as usual.
//
// Only a GET request renders a stale GET page again (a HEAD request is
// served it), and never a request with credentials the page does not vary
// on. Stats counts leases won, lost and expired, waits and their time,
// stale pages served and refreshes. Without WithStampede and without
// options on the cache's URL, nothing of this runs: a hit reads and
// allocates as before.
//
// # Storing (UpdateCacheMiddleware, newest Django with every security fix)
//
// On a miss the handler runs into a buffer (the response is sent once it is
// complete). The response is left exactly as the handler made it, and is
// not stored, when:
//
//   - its status is neither 200 nor 304;
//   - the handler streamed it (called Flush), or its body outgrew
//     WithMaxBodySize: it is then sent as it is written;
//   - it sets a cookie (Set-Cookie), whatever its Vary header says: see
//     below;
//   - Cache-Control has a directive named private, no-cache or no-store (any
//     case, with or without a value);
//   - Vary lists "*";
//   - it is stale when made: Cache-Control max-age=0 or s-maxage=0,
//     Pragma: no-cache, or an Expires that is not after Date (or not a
//     valid date). Django's cache_page stores such a response when it has a
//     page timeout (its timeout wins for storage), and replays it with
//     max-age=0 to every client; this page cache never does;
//   - the page timeout, or WithSeconds for a response without max-age, is 0
//     or less;
//   - it has trailers, or the client went away before the handler
//     finished;
//   - the handler hijacked the connection (the wrapped writer implements
//     http.Hijacker and is reachable by http.ResponseController);
//   - the request carried a header its Vary lists on several lines;
//   - under the legacy key scheme (sharing with Django 6.0 or older), its
//     Vary is one those versions split into other names than 6.1 does
//     ("Cookie,", " Cookie", "A,,B", an empty Vary: they keep padding and
//     empty tokens, learning names like "HTTP_ COOKIE" that no request
//     header matches, which would give every user one page).
//
// Otherwise Expires (if absent) and Cache-Control max-age (the smaller of
// the handler's and the timeout) are set, and a request with an
// Authorization header makes the response Vary on Authorization unless
// Cache-Control has public. A 200 is then stored:
// its header list (learned from Vary; Accept-Language left out with
// WithLanguage) under the header-list key, the page under the page key for
// the request's method, both for the timeout. The timeout is the page
// timeout (Page), else the response's max-age, else WithSeconds
// (600): a page timeout wins over max-age for storage, while the header
// shows the smaller of the two.
//
// Stored pages keep the status, the headers the handler set (without
// hop-by-hop headers, Set-Cookie, Age and Cache-Status) and the body, in a
// small binary format of this package: decoding a stored value never runs
// code. Content-Length (and Content-Type, as net/http would sniff it) are
// set on stored and fresh responses alike.
//
// # Cookies
//
// Django stores a response that sets a cookie unless it varies on Cookie,
// and replays the cookie to every client that gets the cached page
// (golden vector 18 of the middleware rules). This page cache never stores
// such a response: a Set-Cookie header is never replayed to another client.
// WithAnonymousOnly also leaves alone every request that carries a session
// cookie.
//
// A handler that adds Vary: Cookie only when the request has a cookie is a
// trap (Django has it too): an anonymous request teaches the URL an empty
// header list, after which requests with cookies are answered with the
// anonymous page. Vary on Cookie on every response of such a URL, or use
// WithAnonymousOnly.
//
// # Failures
//
// A cache is an optimisation: when the backend fails, the handler runs and
// its response goes out (without being stored); the error is counted in
// Stats and logged with WithLogger. A misconfigured Cache (no cache)
// cannot be built; Page and Site then pass requests through.
//
// # Order
//
// The page cache must see the response as it will be sent: wrap it around
// everything that adds Vary, Cache-Control or Set-Cookie headers (Django's
// UpdateCacheMiddleware comes first in MIDDLEWARE for this reason).
// Headers that outer handlers set on the http.ResponseWriter before calling
// it are neither seen nor stored.
//
// # Compression
//
// httpx.Compress goes inside the page cache, as Django lists
// GZipMiddleware after UpdateCacheMiddleware:
//
//	pagecache.Page(cache.Seconds(300), pagecache.WithRegistry(reg))(httpx.Compress()(authorPage))
//
// The page cache learns Vary: Accept-Encoding from the compressed response
// and stores one variant per distinct raw Accept-Encoding header (its bytes
// are hashed into the page key, as Django hashes them: "gzip, br" and
// "gzip,br" are two variants, and an absent header differs from an empty
// one), each rendered and compressed once; a hit serves the stored
// compressed bytes, so it costs what an uncompressed hit costs. A client
// only ever gets the variant of its own header, hence an encoding it asked
// for. With Compress outside the page cache, one uncompressed page is
// stored and every hit is compressed again: correct, but slower.
package pagecache
