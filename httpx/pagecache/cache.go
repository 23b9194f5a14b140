package pagecache

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/internal/flight"
	"github.com/fragcache/fragcache/internal/httpheader"
	"github.com/fragcache/fragcache/internal/timing"
)

// Cache is a page cache: Django's CacheMiddleware (UpdateCacheMiddleware
// and FetchFromCacheMiddleware) and cache_page for net/http. Build it with
// New and wrap handlers with Handler; Page and Site are shortcuts. The
// package documentation says what is served, what is stored and how
// failures are handled. A Cache is safe for concurrent use, and one Cache
// may wrap several handlers (they then share its statistics and
// coalescing, as Django's middleware instances share the cache).
type Cache struct {
	cfg     *config
	cache   *cache.Cache
	keys    *Keys
	scratch sync.Pool // *keyInputs
	flights flight.Group[*flightResult]
	stats   counters
	// lists remembers header lists for single-read hits (nil: off).
	lists *listMemory
	// sp is the stampede protection (WithStampede); sides says pages are
	// read with their freshness (grace or early expiry), lease that a miss
	// takes the lease. refreshing marks the page keys this process is
	// rendering again (grace, early expiry).
	sp         cache.Stampede
	sides      bool
	lease      bool
	refreshing sync.Map
}

// New returns a page cache configured by opts. It needs WithCache
// or WithRegistry; an unknown alias or a nil cache is an error.
func New(opts ...Option) (*Cache, error) {
	cfg := newConfig(opts)
	c, err := cfg.resolveCache()
	if err != nil {
		return nil, err
	}
	sp, err := cfg.resolveStampede(c)
	if err != nil {
		return nil, err
	}
	if !cfg.coalesceWaitSet {
		if t, ok := cache.As[interface{ OpTimeout() time.Duration }](c.Backend()); ok {
			cfg.coalesceWait = t.OpTimeout()
		}
		if sp.Lease {
			// Waiting is what a lease asks for: the operation timeout is
			// shorter than most renders.
			cfg.coalesceWait = waitBound(sp)
		}
	}
	if d := c.Django(); !cfg.schemeSet && !d.IsZero() {
		// The cache's Django release (django= on its URL) says how that
		// release keys pages.
		cfg.keys.scheme = d.PageKeys()
	}
	p := &Cache{cfg: cfg, cache: c, keys: newKeys(cfg.keys), sp: sp, sides: sp.Sides(), lease: sp.Lease}
	p.scratch.New = func() any { return new(keyInputs) }
	n := cfg.lists
	if !cfg.listsSet && !cache.IsInProcess(c.Backend()) {
		n = DefaultHeaderListMemory
	}
	if n > 0 {
		p.lists = newListMemory(n)
	}
	return p, nil
}

// Keys returns the page cache's key builder (nil for a Cache not built
// by New).
func (p *Cache) Keys() *Keys { return p.keys }

// Cache returns the cache pages are stored in (nil for a Cache not
// built by New).
func (p *Cache) Cache() *cache.Cache { return p.cache }

// Handler returns next wrapped in the page cache. A Cache not built
// by New (the zero value, nil) returns next unchanged.
func (p *Cache) Handler(next http.Handler) http.Handler {
	if next == nil {
		next = http.NotFoundHandler()
	}
	if p == nil || p.cache == nil {
		return next
	}
	return &handler{p: p, next: next}
}

type handler struct {
	p    *Cache
	next http.Handler
}

// Cache-Status members (RFC 9211).
const (
	statusHit          = "fragcache; hit"
	statusMethod       = "fragcache; fwd=method"
	statusBypassPrefix = "fragcache; fwd=bypass; detail="
)

// ServeHTTP serves r from the cache or through the handler.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := h.p
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		p.stats.bypassed.Add(1)
		p.setStatus(w.Header(), statusMethod)
		h.next.ServeHTTP(w, r)
		return
	}
	if len(r.Header[hUpgrade]) > 0 {
		// A protocol switch (WebSocket, h2c): the handler takes over the
		// connection, nothing of it can be replayed.
		h.bypass(w, r, "upgrade")
		return
	}
	if p.cfg.anonOnly && hasCookie(r.Header, p.cfg.anonCookie) {
		h.bypass(w, r, "session")
		return
	}
	s := p.scratch.Get().(*keyInputs)
	defer p.scratch.Put(s)
	if p.cfg.serverTiming {
		// The render's {% cache %} tags record their lookups here too.
		r = r.WithContext(timing.With(r.Context(), &timing.Recorder{}))
		s.lookupStart = time.Now()
	}
	if !s.digestURL(&p.keys.cfg, r) {
		h.bypass(w, r, "host")
		return
	}
	if s.ambiguous {
		// Django's key would merge this request target with another one
		// that a handler may serve differently: leave it alone.
		h.bypass(w, r, "url")
		return
	}
	s.hkey = p.keys.appendHeaderKey(s.hkey[:0], s, r)

	ctx := r.Context()
	m := miss{fwd: "uri-miss"}
	var (
		hl    []byte
		found bool
		err   error
		read  bool       // the header list was read with the page it implies
		pre   prefetched // that page, when the list was the one remembered
	)
	if p.lists != nil {
		if v, ok := p.cache.GetLocalKeyBytes(ctx, s.hkey); ok {
			// A near cache's copy, read without I/O: the page is read
			// alone (most likely a near copy too), sparing the multi-get
			// its allocations.
			hl, found, read = v, true, true
		} else if guess, ok := p.lists.get(s.hkey); ok {
			hl, found, read, err = p.readTogether(ctx, r, s, guess, &pre)
		}
	}
	if !read {
		hl, found, err = p.readList(ctx, s)
	}
	if err != nil {
		p.backendError(ctx, "get", s.hkey, err)
		m.fetchErr = true
		found = false
	} else if p.lists != nil && pre.vals == nil {
		p.rememberList(s.hkey, hl, found)
	}
	if found {
		var names headerNames
		if names, found = learnedNames(hl); found {
			m.listKnown, m.fwd, m.list = true, "miss", hl
			namesAuth := s.setVary(&p.keys.cfg, r, names)
			if len(s.vary) > 0 {
				m.fwd = "vary-miss"
			}
			if s.repeated {
				// A header the page varies on came on several lines: joined
				// for the key, read line by line by the handler.
				h.bypass(w, r, "header")
				return
			}
			// RFC 9111 §3.5: a request with credentials gets a stored page
			// only when the page varies on them or says it may be shared.
			sharedOnly := !namesAuth && len(r.Header[hAuthorization]) > 0
			var rf refresh
			res := p.lookup(w, r, s, http.MethodGet, sharedOnly, &pre, &rf)
			if res == lookupMiss && r.Method == http.MethodHead {
				res = p.lookup(w, r, s, http.MethodHead, sharedOnly, &pre, &rf)
			}
			switch res {
			case lookupServed:
				return
			case lookupRefresh:
				p.runRefresh(w, r, s, h.next, m, &rf)
				return
			case lookupFailed:
				m.fetchErr = true
			}
			if sharedOnly {
				h.bypass(w, r, "authorization")
				return
			}
		}
	}
	p.stats.misses.Add(1)
	if rec := timing.From(r.Context()); p.cfg.serverTiming && rec != nil {
		rec.Record("page", m.fwd, time.Since(s.lookupStart))
	}
	p.serveMiss(w, r, s, h.next, m)
}

// bypass runs the handler for a request the page cache leaves alone.
func (h *handler) bypass(w http.ResponseWriter, r *http.Request, detail string) {
	h.p.stats.bypassed.Add(1)
	h.p.setStatus(w.Header(), statusBypassPrefix+detail)
	h.next.ServeHTTP(w, r)
}

// varyAuthorization is Authorization in a learned header list.
const varyAuthorization = "HTTP_AUTHORIZATION"

const (
	hUpgrade       = "Upgrade"
	hAuthorization = "Authorization"
	hPragma        = "Pragma"
)

// lookupResult is what a lookup did.
type lookupResult uint8

const (
	lookupMiss    lookupResult = iota // nothing usable stored
	lookupServed                      // a stored page was written
	lookupFailed                      // the backend failed
	lookupRefresh                     // the request is to render a stale page again (grace, early expiry)
)

// lookup serves the entry stored under the page key for method (s.url and
// s.vary set). With sharedOnly, an entry is served only when its
// Cache-Control lets a shared cache answer a request with Authorization
// (public, s-maxage or must-revalidate). The entry is taken from pre when
// it was fetched there under that very key (a single-read hit), else read.
// With grace or early expiry (WithStampede), the page's freshness is read
// with it; a page past its freshness (or drawn early) is served stale, or,
// for the one request that takes its lease, left to render again:
// lookupRefresh, with rf set.
func (p *Cache) lookup(w http.ResponseWriter, r *http.Request, s *keyInputs, method string, sharedOnly bool, pre *prefetched, rf *refresh) lookupResult {
	s.pkey = p.keys.appendPageKey(s.pkey[:0], s, r, method)
	ctx := r.Context()
	v, ok, single := pre.value(s.pkey)
	var (
		err error
		fl  cache.Lookup // the freshness, with grace or early expiry
	)
	switch {
	case !single && p.sides:
		fl, err = p.cache.GetEntryKeyBytes(ctx, s.pkey, p.sp)
		v, ok = fl.Value, fl.Hit
	case !single:
		v, ok, err = p.cache.GetKeyBytes(ctx, s.pkey)
	case ok && p.sides:
		fl = cache.Judge(v, pre.meta(s.pkey), p.sp, time.Now())
	}
	if errors.Is(err, cache.ErrForeignValue) {
		// A page Django pickled (an HttpResponse): never read, a miss that
		// storing replaces.
		p.foreignPage(ctx, s.pkey)
		return lookupMiss
	}
	if err != nil {
		p.backendError(ctx, "get", s.pkey, err)
		return lookupFailed
	}
	if !ok {
		return lookupMiss
	}
	e, ok := decodeEntry(v)
	if !ok {
		// Not a page of this package (a page pickled by Django sharing the
		// cache, or a corrupt value): a miss; storing will replace it.
		p.foreignPage(ctx, s.pkey)
		return lookupMiss
	}
	if sharedOnly {
		cc, _ := e.header(httpheader.CacheControl)
		if !sharedWithCredentials(cc) {
			return lookupMiss
		}
	}
	status := statusHit
	if fl.Refresh() {
		if method == r.Method && !sharedOnly {
			// A HEAD request served a GET page does not render it again,
			// nor a request with credentials the page does not vary on
			// (its response would not be the page others get).
			key := string(s.pkey)
			lease, newer, mine := p.startRefresh(ctx, key, v)
			if mine {
				*rf = refresh{key: key, lease: lease, early: !fl.Stale}
				return lookupRefresh
			}
			if newer != nil {
				if ne, ok := decodeEntry(newer); ok {
					e, fl.Stale = ne, false // another process stored it again
				}
			}
		}
		if fl.Stale {
			p.stats.staleServed.Add(1)
			status = statusStale
		}
	}
	p.stats.hits.Add(1)
	if single {
		p.stats.singleReadHits.Add(1)
	}
	if rec := timing.From(r.Context()); p.cfg.serverTiming && rec != nil {
		rec.Record("page", "hit", time.Since(s.lookupStart))
	}
	p.serveEntry(w, r, &e, status)
	return lookupServed
}

// serveEntry writes a stored page (with Age), or the 304 or 412 a
// conditional request gets.
func (p *Cache) serveEntry(w http.ResponseWriter, r *http.Request, e *entryView, status string) {
	if !p.cfg.cacheStatus {
		status = ""
	}
	now := p.cfg.now()
	if e.status >= 200 && e.status <= 299 && hasPreconditions(r.Header) {
		if etag := e.etag(); etag != "" || e.lastModified != 0 {
			switch httpheader.Evaluate(r, etag, e.lastModified, now) {
			case http.StatusNotModified:
				e.writeNotModifiedHeaders(w.Header(), status)
				w.WriteHeader(http.StatusNotModified)
				return
			case http.StatusPreconditionFailed:
				p.setStatus(w.Header(), status)
				httpheader.WritePreconditionFailed(w)
				return
			}
		}
	}
	e.writeHeaders(w.Header(), now.Unix(), status)
	p.setServerTiming(w.Header(), r)
	w.WriteHeader(e.status)
	if r.Method != http.MethodHead && len(e.body) > 0 {
		_, _ = w.Write(e.body)
	}
}

// hasPreconditions reports whether the request has a conditional header.
func hasPreconditions(h http.Header) bool {
	return len(h[httpheader.IfNoneMatch]) > 0 || len(h[httpheader.IfModifiedSince]) > 0 ||
		len(h[httpheader.IfMatch]) > 0 || len(h[httpheader.IfUnmodifiedSince]) > 0
}

// setStatus adds a Cache-Status member when the header is on.
func (p *Cache) setStatus(h http.Header, member string) {
	if p.cfg.cacheStatus && member != "" {
		appendCacheStatus(h, []string{member})
	}
}

// backendError counts and logs a failed cache operation.
// A call the client abandoned (context.Canceled) is not the backend's
// failure: it is logged at Debug level only, and not counted.
func (p *Cache) backendError(ctx context.Context, op string, key []byte, err error) {
	if errors.Is(err, context.Canceled) {
		if p.cfg.logger != nil {
			p.cfg.logger.LogAttrs(ctx, slog.LevelDebug, "pagecache: cache call abandoned: the client went away",
				slog.String("op", op), slog.String("key", string(key)))
		}
		return
	}
	p.stats.errors.Add(1)
	if p.cfg.logger != nil {
		p.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "pagecache: page cache backend error",
			slog.String("op", op), slog.String("key", string(key)), slog.String("error", err.Error()))
	}
}

// foreignPage logs, at debug level, a page key holding something that is
// not a page of this package: a page Django cached, or a corrupt value.
func (p *Cache) foreignPage(ctx context.Context, key []byte) {
	if p.cfg.logger != nil {
		p.cfg.logger.LogAttrs(ctx, slog.LevelDebug, "pagecache: stored value is not a page of this package (a page Django cached?); a miss",
			slog.String("key", string(key)))
	}
}

// setServerTiming sets the Server-Timing header from the request's
// recorder, with WithServerTiming.
func (p *Cache) setServerTiming(h http.Header, r *http.Request) {
	if !p.cfg.serverTiming {
		return
	}
	if v := timing.From(r.Context()).Header(); v != "" {
		h["Server-Timing"] = []string{v}
	}
}
