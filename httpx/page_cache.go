package httpx

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fragcache/fragcache/cache"
)

// PageCache is Django's page cache (UpdateCacheMiddleware and
// FetchFromCacheMiddleware, CacheMiddleware, cache_page) for net/http. Build
// it with NewPageCache and wrap handlers with Handler; CachePage and
// SiteCache are shortcuts. A PageCache is safe for concurrent use, and one
// PageCache may wrap several handlers (they then share its statistics and
// coalescing, as Django's middleware instances share the cache).
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
// entry, never the reverse). A hit is written without running the handler,
// with an Age header (max(0, max-age − (Expires − now))). A conditional
// request (If-None-Match, If-Modified-Since, If-Match, If-Unmodified-Since)
// is evaluated against the stored ETag and Last-Modified as
// EvaluatePreconditions does: a 304 carries only Django's header subset
// (Cache-Control, Content-Location, Date, ETag, Expires, Last-Modified,
// Vary).
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
//   - the request carried a header its Vary lists on several lines.
//
// Otherwise Expires (if absent) and Cache-Control max-age (the smaller of
// the handler's and the timeout) are set, and a request with an
// Authorization header makes the response Vary on Authorization unless
// Cache-Control has public. A 200 is then stored:
// its header list (learned from Vary; Accept-Language left out with
// WithLanguage) under the header-list key, the page under the page key for
// the request's method, both for the timeout. The timeout is the page
// timeout (CachePage), else the response's max-age, else WithSeconds
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
// Stats and logged with WithLogger. A misconfigured PageCache (no cache)
// cannot be built; CachePage and SiteCache then pass requests through.
//
// # Order
//
// The page cache must see the response as it will be sent: wrap it around
// everything that adds Vary, Cache-Control or Set-Cookie headers (Django's
// UpdateCacheMiddleware comes first in MIDDLEWARE for this reason).
// Headers that outer handlers set on the http.ResponseWriter before calling
// it are neither seen nor stored.
type PageCache struct {
	cfg     *pageConfig
	cache   *cache.Cache
	keys    *PageKeys
	scratch sync.Pool // *keyScratch
	flights flightGroup
	stats   pageCounters
}

// NewPageCache returns a page cache configured by opts. It needs WithCache
// or WithRegistry; an unknown alias or a nil cache is an error.
func NewPageCache(opts ...PageOption) (*PageCache, error) {
	cfg := newPageConfig(opts)
	c, err := cfg.resolveCache()
	if err != nil {
		return nil, err
	}
	p := &PageCache{cfg: cfg, cache: c, keys: newPageKeys(cfg.keys)}
	p.scratch.New = func() any { return new(keyScratch) }
	return p, nil
}

// Keys returns the page cache's key builder (nil for a PageCache not built
// by NewPageCache).
func (p *PageCache) Keys() *PageKeys { return p.keys }

// Cache returns the cache pages are stored in (nil for a PageCache not
// built by NewPageCache).
func (p *PageCache) Cache() *cache.Cache { return p.cache }

// Handler returns next wrapped in the page cache. A PageCache not built
// by NewPageCache (the zero value, nil) returns next unchanged.
func (p *PageCache) Handler(next http.Handler) http.Handler {
	if next == nil {
		next = http.NotFoundHandler()
	}
	if p == nil || p.cache == nil {
		return next
	}
	return &pageHandler{p: p, next: next}
}

type pageHandler struct {
	p    *PageCache
	next http.Handler
}

// Cache-Status members (RFC 9211).
const (
	statusHit          = "fragcache; hit"
	statusMethod       = "fragcache; fwd=method"
	statusBypassPrefix = "fragcache; fwd=bypass; detail="
)

// ServeHTTP serves r from the cache or through the handler.
func (h *pageHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
	s := p.scratch.Get().(*keyScratch)
	defer p.scratch.Put(s)
	if !p.keys.urlDigest(r, s) {
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
	hl, found, err := p.cache.GetKeyBytes(ctx, s.hkey)
	if err != nil {
		p.backendError(ctx, "get", s.hkey, err)
		m.fetchErr = true
		found = false
	}
	if found {
		var list []string
		it, native := nativeHeaderList(hl)
		if !native {
			list, found = decodeHeaderList(hl) // a list pickled by Django
		}
		if found {
			m.listKnown, m.fwd = true, "miss"
			s.ctx, s.repeated = s.ctx[:0], false
			varyAuth := false
			if native {
				for name, ok := it.next(); ok; name, ok = it.next() {
					s.ctx = p.keys.cfg.appendVaryValue(s.ctx, r, bytesString(name), s)
					varyAuth = varyAuth || string(name) == varyAuthorization
					m.fwd = "vary-miss"
				}
			} else {
				for _, name := range list {
					s.ctx = p.keys.cfg.appendVaryValue(s.ctx, r, name, s)
					varyAuth = varyAuth || name == varyAuthorization
					m.fwd = "vary-miss"
				}
			}
			if s.repeated {
				// A header the page varies on came on several lines: joined
				// for the key, read line by line by the handler.
				h.bypass(w, r, "header")
				return
			}
			// RFC 9111 §3.5: a request with credentials gets a stored page
			// only when the page varies on them or says it may be shared.
			sharedOnly := !varyAuth && len(r.Header[hAuthorization]) > 0
			res := p.lookup(w, r, s, http.MethodGet, sharedOnly)
			if res == lookupMiss && r.Method == http.MethodHead {
				res = p.lookup(w, r, s, http.MethodHead, sharedOnly)
			}
			switch res {
			case lookupServed:
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
	p.serveMiss(w, r, s, h.next, m)
}

// bypass runs the handler for a request the page cache leaves alone.
func (h *pageHandler) bypass(w http.ResponseWriter, r *http.Request, detail string) {
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

// miss describes a missed lookup.
type miss struct {
	fwd       string // uri-miss, vary-miss or miss
	listKnown bool
	fetchErr  bool
}

// lookupResult is what a lookup did.
type lookupResult uint8

const (
	lookupMiss   lookupResult = iota // nothing usable stored
	lookupServed                     // a stored page was written
	lookupFailed                     // the backend failed
)

// lookup serves the entry stored under the page key for method (s.url and
// s.ctx set). With sharedOnly, an entry is served only when its
// Cache-Control lets a shared cache answer a request with Authorization
// (public, s-maxage or must-revalidate).
func (p *PageCache) lookup(w http.ResponseWriter, r *http.Request, s *keyScratch, method string, sharedOnly bool) lookupResult {
	s.pkey = p.keys.appendPageKey(s.pkey[:0], s, r, method)
	ctx := r.Context()
	v, ok, err := p.cache.GetKeyBytes(ctx, s.pkey)
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
		if p.cfg.logger != nil {
			p.cfg.logger.LogAttrs(ctx, slog.LevelDebug, "httpx: page cache: stored value is not a page",
				slog.String("key", string(s.pkey)))
		}
		return lookupMiss
	}
	if sharedOnly {
		cc, _ := e.header(hCacheControl)
		if !sharedWithCredentials(cc) {
			return lookupMiss
		}
	}
	p.stats.hits.Add(1)
	p.serveEntry(w, r, &e, statusHit)
	return lookupServed
}

// sharedWithCredentials reports whether a Cache-Control value has public,
// s-maxage or must-revalidate: RFC 9111 §3.5's directives that let a
// shared cache answer a request with Authorization from a stored response.
func sharedWithCredentials(cc string) bool {
	for part, i, ok := nextPart(cc, 0); ok; part, i, ok = nextPart(cc, i) {
		name, _, _ := strings.Cut(part, "=")
		name = pyStrip(name)
		if lowerEqual(name, "public") || lowerEqual(name, "s-maxage") || lowerEqual(name, "must-revalidate") {
			return true
		}
	}
	return false
}

// serveEntry writes a stored page (with Age), or the 304 or 412 a
// conditional request gets.
func (p *PageCache) serveEntry(w http.ResponseWriter, r *http.Request, e *entryView, status string) {
	if !p.cfg.cacheStatus {
		status = ""
	}
	now := p.cfg.now()
	if e.status >= 200 && e.status <= 299 && hasPreconditions(r.Header) {
		if etag := e.etag(); etag != "" || e.lastModified != 0 {
			switch evaluate(r, etag, e.lastModified, now) {
			case http.StatusNotModified:
				e.writeNotModifiedHeaders(w.Header(), status)
				w.WriteHeader(http.StatusNotModified)
				return
			case http.StatusPreconditionFailed:
				p.setStatus(w.Header(), status)
				writePreconditionFailed(w)
				return
			}
		}
	}
	e.writeHeaders(w.Header(), now.Unix(), status)
	w.WriteHeader(e.status)
	if r.Method != http.MethodHead && len(e.body) > 0 {
		_, _ = w.Write(e.body)
	}
}

// hasPreconditions reports whether the request has a conditional header.
func hasPreconditions(h http.Header) bool {
	return len(h[hIfNoneMatch]) > 0 || len(h[hIfModifiedSince]) > 0 ||
		len(h[hIfMatch]) > 0 || len(h[hIfUnmodifiedSince]) > 0
}

// setStatus adds a Cache-Status member when the header is on.
func (p *PageCache) setStatus(h http.Header, member string) {
	if p.cfg.cacheStatus && member != "" {
		appendCacheStatus(h, []string{member})
	}
}

// serveMiss runs the handler for a missed page, coalescing concurrent
// misses of the same page.
func (p *PageCache) serveMiss(w http.ResponseWriter, r *http.Request, s *keyScratch, next http.Handler, m miss) {
	if !p.cfg.coalesce || m.fetchErr {
		p.run(w, r, s, next, m)
		return
	}
	key := p.flightKey(r, s, m)
	f, leader := p.flights.join(key)
	if !leader {
		if p.cfg.onJoin != nil {
			p.cfg.onJoin()
		}
		select {
		case <-f.done:
		case <-r.Context().Done():
			return // the client went away
		}
		if res := f.res; res != nil && res.method == r.Method && p.sameVariant(r, s, res) {
			if e, ok := decodeEntry(res.entry); ok {
				p.stats.coalesced.Add(1)
				p.serveEntry(w, r, &e, "fragcache; fwd="+m.fwd+"; collapsed")
				return
			}
		}
		// The leader's response was not stored, or is another variant: run
		// the handler for this request.
		p.run(w, r, s, next, m)
		return
	}
	var res *flightResult
	defer func() { p.flights.finish(key, f, res) }()
	res = p.run(w, r, s, next, m)
}

// flightKey is the coalescing key: the page key when the header list is
// known (it holds the Vary values); otherwise the header-list key plus a
// digest of every request header, so that requests differing in any header
// never wait for each other's response.
func (p *PageCache) flightKey(r *http.Request, s *keyScratch, m miss) string {
	if m.listKnown {
		s.pkey = p.keys.appendPageKey(s.pkey[:0], s, r, r.Method)
		return "p" + string(s.pkey)
	}
	return "u" + r.Method + " " + string(s.hkey) + " " + requestHeaderDigest(r)
}

// sameVariant reports whether r's page key, under the leader's learned
// header list, is the key the leader stored its page under.
func (p *PageCache) sameVariant(r *http.Request, s *keyScratch, res *flightResult) bool {
	s.ctx, s.repeated = s.ctx[:0], false
	for _, name := range res.list {
		s.ctx = p.keys.cfg.appendVaryValue(s.ctx, r, name, s)
	}
	if s.repeated {
		return false
	}
	s.pkey = p.keys.appendPageKey(s.pkey[:0], s, r, r.Method)
	return string(s.pkey) == res.pageKey
}

// run runs the handler into a recorder, stores the response if it may, and
// sends it. It returns what was stored, for coalesced requests.
func (p *PageCache) run(w http.ResponseWriter, r *http.Request, s *keyScratch, next http.Handler, m miss) *flightResult {
	rec := newRecorder(w)
	rec.maxBody = p.cfg.maxBody
	if p.cfg.cacheStatus {
		rec.onPassThrough = func() {
			detail := "too-large"
			if rec.flushed {
				detail = "streamed"
			}
			appendCacheStatus(rec.Header(), []string{"fragcache; fwd=" + m.fwd + "; detail=" + detail})
		}
	}
	next.ServeHTTP(rec, r)
	if rec.passedThrough() {
		p.stats.notStored.Add(1)
		return nil
	}
	h := rec.Header()
	canonicalizeHeader(h)
	fwd := "fragcache; fwd=" + m.fwd
	skip := func(detail string) *flightResult {
		p.stats.notStored.Add(1)
		p.setStatus(h, fwd+"; detail="+detail)
		rec.commit()
		return nil
	}

	// Django's checks, in order, then this package's own.
	if rec.status != http.StatusOK && rec.status != http.StatusNotModified {
		return skip("status")
	}
	if _, ok := h[hSetCookie]; ok {
		return skip("set-cookie")
	}
	if d := refusedDirective(h); d != "" {
		return skip(d)
	}
	if HasVaryHeader(h, "*") {
		return skip("vary")
	}
	if d := expiredAtOnce(h, p.cfg.now()); d != "" {
		return skip(d)
	}
	timeout, ok := p.timeoutFor(h)
	if !ok {
		return skip("max-age")
	}
	if hasTrailers(h) {
		return skip("trailers")
	}
	if r.Context().Err() != nil {
		return skip("canceled")
	}

	now := p.cfg.now()
	_, hadExpires := h[hExpires]
	if err := patchResponseHeaders(h, timeout, now, false); err != nil {
		// Django raises (ValueError for an unreadable max-age): leave the
		// response as the handler made it.
		if !hadExpires {
			delete(h, hExpires)
		}
		if p.cfg.logger != nil {
			p.cfg.logger.LogAttrs(r.Context(), slog.LevelWarn, "httpx: page cache: cannot patch the response headers",
				slog.String("url", string(s.uri)), slog.String("error", err.Error()))
		}
		return skip("headers")
	}
	if _, ok := requestHeader(r.Header, "Authorization"); ok && !hasCCDirective(h, "public") {
		PatchVaryHeaders(h, "Authorization")
	}
	if rec.status != http.StatusOK {
		return skip("status")
	}
	if timeout <= 0 {
		return skip("timeout")
	}
	p.completeHeaders(r, rec)
	if m.fetchErr {
		return skip("backend-error")
	}

	// learn_cache_key, then the page.
	list := HeaderList(responseHeaderValue(h, hVary), p.keys.cfg.language != nil)
	s.ctx, s.repeated = s.ctx[:0], false
	for _, name := range list {
		s.ctx = p.keys.cfg.appendVaryValue(s.ctx, r, name, s)
	}
	if s.repeated {
		return skip("header")
	}
	s.pkey = p.keys.appendPageKey(s.pkey[:0], s, r, r.Method)
	page := storedPage{status: rec.status, header: storedHeader(h), body: rec.body.Bytes()}
	if ma, ok := GetMaxAge(h); ok {
		if ex, ok := parseHTTPDateSafeAt(responseHeaderValue(h, hExpires), now); ok {
			page.maxAge, page.expires, page.ageKnown = int64(ma), ex, true
		}
	}
	if v := h[hLastModified]; len(v) > 0 && v[0] != "" {
		page.lastModified, _ = parseHTTPDateSafeAt(v[0], now)
	}
	entry := page.encode()
	t := cache.Seconds(float64(timeout))
	sctx := context.WithoutCancel(r.Context())
	err := p.cache.Set(sctx, string(s.hkey), encodeHeaderList(list), t)
	if err == nil {
		err = p.cache.Set(sctx, string(s.pkey), entry, t)
	}
	var res *flightResult
	if err != nil {
		if errors.Is(err, cache.ErrValueTooLarge) {
			p.stats.notStored.Add(1)
			p.setStatus(h, fwd+"; detail=too-large")
		} else {
			p.backendError(r.Context(), "set", s.pkey, err)
			p.stats.notStored.Add(1)
			p.setStatus(h, fwd+"; detail=backend-error")
		}
	} else {
		p.stats.stored.Add(1)
		p.setStatus(h, fwd+"; stored")
		res = &flightResult{method: r.Method, list: list, pageKey: string(s.pkey), entry: entry}
	}

	// Answer a conditional request from the headers just stored.
	if res != nil {
		etag, _ := etagHeader(h)
		if (etag != "" || page.lastModified != 0) && hasPreconditions(r.Header) {
			switch evaluate(r, etag, page.lastModified, now) {
			case http.StatusNotModified:
				dst := rec.replace()
				copyNotModifiedHeaders(dst, h)
				if v, ok := h[hCacheStatus]; ok {
					dst[hCacheStatus] = v
				}
				w.WriteHeader(http.StatusNotModified)
				return res
			case http.StatusPreconditionFailed:
				dst := rec.replace()
				if v, ok := h[hCacheStatus]; ok {
					dst[hCacheStatus] = v
				}
				writePreconditionFailed(w)
				return res
			}
		}
	}
	rec.commit()
	return res
}

// timeoutFor is Django's choice of timeout: the page timeout, else the
// response's max-age (0: not cached, ok false), else cacheSeconds.
func (p *PageCache) timeoutFor(h http.Header) (int, bool) {
	if p.cfg.pageTimeout != nil {
		return timeoutSeconds(*p.cfg.pageTimeout), true
	}
	if ma, ok := GetMaxAge(h); ok {
		if ma == 0 {
			return 0, false
		}
		return ma, true
	}
	return p.cfg.cacheSeconds, true
}

// expiredAtOnce returns why a response is stale as soon as it is made, or
// "": Cache-Control max-age=0 or s-maxage=0, Pragma: no-cache, or an
// Expires that is not after Date (now when the handler set no valid Date;
// an Expires that is not a valid date is in the past, RFC 9111 §5.3).
// Django's cache_page stores such a response when it has a page timeout;
// this page cache never does.
func expiredAtOnce(h http.Header, now time.Time) string {
	cc, _ := responseHeader(h, hCacheControl)
	for part, i, ok := nextPart(cc, 0); ok; part, i, ok = nextPart(cc, i) {
		name, value, hasValue := strings.Cut(part, "=")
		name = pyStrip(name)
		if !hasValue || !(lowerEqual(name, "max-age") || lowerEqual(name, "s-maxage")) {
			continue
		}
		value = strings.Trim(pyStrip(value), `"`)
		if n, err := strconv.Atoi(value); err == nil && n <= 0 {
			return strings.ToLower(name)
		}
	}
	for _, line := range h[hPragma] {
		for part, i, ok := nextPart(line, 0); ok; part, i, ok = nextPart(line, i) {
			if lowerEqual(pyStrip(part), "no-cache") {
				return "pragma"
			}
		}
	}
	if v, ok := responseHeader(h, hExpires); ok {
		date := now.Unix()
		if d, ok := responseHeader(h, hDate); ok {
			if t, ok := parseHTTPDateSafeAt(d, now); ok {
				date = t
			}
		}
		if t, ok := parseHTTPDateSafeAt(v, now); !ok || t <= date {
			return "expires"
		}
	}
	return ""
}

// maxPageSeconds caps page timeouts: one year, for cache.Forever.
const maxPageSeconds = 365 * 24 * 3600

// timeoutSeconds converts a page timeout to whole seconds (rounded up):
// expired and negative timeouts are 0, Forever and anything longer than a
// year is a year.
func timeoutSeconds(t cache.Timeout) int {
	switch {
	case t == cache.Forever:
		return maxPageSeconds
	case t.IsExpired():
		return 0
	}
	d := t.Duration()
	s := int64(d / time.Second)
	if d%time.Second != 0 {
		s++
	}
	return int(min(s, maxPageSeconds))
}

// refusedDirective returns the first Cache-Control directive named
// private, no-cache or no-store (Django 6.1's split_directive_names, which
// lowercases names), or "".
func refusedDirective(h http.Header) string {
	v, _ := responseHeader(h, hCacheControl)
	for part, i, ok := nextPart(v, 0); ok; part, i, ok = nextPart(v, i) {
		name, _, _ := strings.Cut(part, "=")
		name = pyStrip(name)
		for _, d := range [...]string{"private", "no-cache", "no-store"} {
			if lowerEqual(name, d) {
				return d
			}
		}
	}
	return ""
}

// hasDirective2 reports whether Cache-Control has a directive of that name.
func hasCCDirective(h http.Header, directive string) bool {
	v, _ := responseHeader(h, hCacheControl)
	for part, i, ok := nextPart(v, 0); ok; part, i, ok = nextPart(v, i) {
		name, _, _ := strings.Cut(part, "=")
		if lowerEqual(pyStrip(name), directive) {
			return true
		}
	}
	return false
}

// canonicalizeHeader merges keys that are not in canonical form into their
// canonical key. A handler may set h["set-cookie"] directly, which net/http
// sends as it is: the checks must see it. "ETag" keeps its spelling.
func canonicalizeHeader(h http.Header) {
	for k, v := range h {
		ck := http.CanonicalHeaderKey(k)
		if ck == k || k == "ETag" {
			continue
		}
		delete(h, k)
		h[ck] = append(h[ck], v...)
	}
}

// hasTrailers reports whether the response declares or sets trailers.
func hasTrailers(h http.Header) bool {
	if _, ok := h["Trailer"]; ok {
		return true
	}
	for k := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			return true
		}
	}
	return false
}

// responseHeaderValue is responseHeader's value.
func responseHeaderValue(h http.Header, key string) string {
	v, _ := responseHeader(h, key)
	return v
}

// completeHeaders sets what net/http would add to the buffered response, so
// that a hit and a miss carry the same headers: Content-Type (sniffed when
// the handler set none) and Content-Length.
func (p *PageCache) completeHeaders(r *http.Request, rec *recorder) {
	h := rec.Header()
	n := rec.body.Len()
	if _, ok := h[hContentType]; !ok && n > 0 {
		h[hContentType] = []string{http.DetectContentType(rec.body.Bytes())}
	}
	if n > 0 || r.Method != http.MethodHead {
		h[hContentLength] = []string{strconv.Itoa(n)}
	}
}

// hop-by-hop and per-response headers never stored.
func storedHeader(h http.Header) http.Header {
	out := make(http.Header, len(h))
	var conn []string
	for _, v := range h["Connection"] {
		for part, i, ok := nextPart(v, 0); ok; part, i, ok = nextPart(v, i) {
			conn = append(conn, http.CanonicalHeaderKey(part))
		}
	}
	for k, v := range h {
		switch k {
		case "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Te", "Trailer",
			"Transfer-Encoding", "Upgrade", hSetCookie, hAge, hCacheStatus:
			continue
		}
		skip := false
		for _, c := range conn {
			if c == k {
				skip = true
				break
			}
		}
		if !skip {
			out[k] = v
		}
	}
	return out
}

// hasCookie reports whether a Cookie header of the request names the
// cookie (with or without a value).
func hasCookie(h http.Header, name string) bool {
	for _, line := range h["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimLeft(part, " \t")
			if rest, ok := strings.CutPrefix(part, name); ok {
				rest = strings.TrimLeft(rest, " \t")
				if rest == "" || rest[0] == '=' {
					return true
				}
			}
		}
	}
	return false
}

// backendError counts and logs a failed cache operation.
func (p *PageCache) backendError(ctx context.Context, op string, key []byte, err error) {
	p.stats.errors.Add(1)
	if p.cfg.logger != nil {
		p.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "httpx: page cache backend error",
			slog.String("op", op), slog.String("key", string(key)), slog.String("error", err.Error()))
	}
}

// pageTimeoutOption is CachePage's page timeout.
func pageTimeoutOption(t cache.Timeout) PageOption {
	return func(p *pageConfig) {
		if t == cache.DefaultTimeout {
			p.pageTimeout = nil
			return
		}
		p.pageTimeout = &t
	}
}
