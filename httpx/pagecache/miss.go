package pagecache

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/httpx"
	"github.com/fragcache/fragcache/internal/httpheader"
	"github.com/fragcache/fragcache/internal/recorder"
)

// This file is the miss path: the handler runs into a recorder, the
// response is checked against the storing rules (rules.go), stored, and sent.

// miss describes a missed lookup.
type miss struct {
	fwd         string // uri-miss, vary-miss or miss
	listKnown   bool
	fetchErr    bool
	waitTimeout bool // a follower that stopped waiting for the leader
	// list is the header list read (listKnown), for a lease waiter's result.
	list []byte
	// leaseRetake: a request that stopped waiting for another process's
	// render (awaitLease) stores its response only if it takes the lease
	// on leaseKey.
	leaseRetake bool
	leaseKey    string
}

// serveMiss runs the handler for a missed page, coalescing concurrent
// misses of the same page.
func (p *Cache) serveMiss(w http.ResponseWriter, r *http.Request, s *keyInputs, next http.Handler, m miss) {
	if m.fetchErr {
		p.run(w, r, s, next, m)
		return
	}
	if !p.cfg.coalesce {
		p.fill(w, r, s, next, m)
		return
	}
	key := p.flightKey(r, s, m)
	f, leader := p.flights.Join(key)
	if !leader {
		if p.cfg.onJoin != nil {
			p.cfg.onJoin()
		}
		var timeout <-chan time.Time
		if wait := p.cfg.coalesceWait; wait > 0 {
			t := time.NewTimer(wait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-f.Done():
		case <-r.Context().Done():
			return // the client went away
		case <-timeout:
			// The leader is slow (or stuck on a cache that is): render
			// this request alone, and leave storing to the leader.
			p.stats.coalesceTimeouts.Add(1)
			m.waitTimeout = true
			p.run(w, r, s, next, m)
			return
		}
		if res := f.Result(); res != nil && res.method == r.Method && p.sameVariant(r, s, res) {
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
	defer func() { p.flights.Finish(key, f, res) }()
	res = p.fill(w, r, s, next, m)
}

// flightKey is the coalescing key: the page key when the header list is
// known (it holds the Vary values); otherwise the header-list key plus a
// digest of every request header, so that requests differing in any header
// never wait for each other's response.
func (p *Cache) flightKey(r *http.Request, s *keyInputs, m miss) string {
	if m.listKnown {
		s.pkey = p.keys.appendPageKey(s.pkey[:0], s, r, r.Method)
		return "p" + string(s.pkey)
	}
	return "u" + r.Method + " " + string(s.hkey) + " " + requestHeaderDigest(r)
}

// sameVariant reports whether r's page key, under the leader's learned
// header list, is the key the leader stored its page under.
func (p *Cache) sameVariant(r *http.Request, s *keyInputs, res *flightResult) bool {
	s.setVary(&p.keys.cfg, r, namesOf(res.list))
	if s.repeated {
		return false
	}
	s.pkey = p.keys.appendPageKey(s.pkey[:0], s, r, r.Method)
	return string(s.pkey) == res.pageKey
}

// run runs the handler into a recorder, stores the response when the
// rules allow it, and sends it. It returns what was stored, for coalesced
// requests.
func (p *Cache) run(w http.ResponseWriter, r *http.Request, s *keyInputs, next http.Handler, m miss) *flightResult {
	// One cache budget for the handler's render: a cache that failed the
	// lookup, or fails one of the render's calls, is not waited for again
	// by this request (see cache.Budget).
	budget := &cache.Budget{}
	if m.fetchErr {
		budget.Fail(p.cache.Backend())
	}
	// The content tags the handler and its fragments declare (tags.go).
	ctx, tagSet := cache.WithTags(cache.WithBudget(r.Context(), budget))
	r = r.WithContext(ctx)
	start := time.Now()
	rec := p.record(w, r, next, m.fwd)
	took := time.Since(start)
	if rec.PassedThrough() {
		// Streamed, too large or hijacked: already sent as it was written.
		p.stats.notStored.Add(1)
		return nil
	}
	h := rec.Header()
	canonicalizeHeader(h)
	tags := p.takeTags(r, h, tagSet)
	timeout, now, detail := p.prepare(r, s, rec, m)
	if detail == "" && m.leaseRetake {
		// This request stopped waiting for another process's render: it
		// stores its own only as the lease's new holder.
		lease, got, _ := p.tryLease(r.Context(), m.leaseKey)
		if !got {
			detail = "wait-timeout"
		} else {
			defer p.releaseLease(lease)
		}
	}
	var res *flightResult
	if detail == "" {
		res, detail = p.store(r, s, rec, timeout, now, took, tags, m.fwd == "uri-miss")
	}
	fwd := "fragcache; fwd=" + m.fwd
	p.setServerTiming(h, r) // after the store: never stored
	if detail != "" {
		p.stats.notStored.Add(1)
		p.setStatus(h, fwd+"; detail="+detail)
		rec.Commit()
		return nil
	}
	p.stats.stored.Add(1)
	p.setStatus(h, fwd+"; stored")
	p.reply(w, r, rec, res, now)
	return res
}

// record runs the handler into a recorder. A response the recorder has to
// pass through (streamed, too large) gets its Cache-Status first.
func (p *Cache) record(w http.ResponseWriter, r *http.Request, next http.Handler, fwd string) *recorder.Recorder {
	rec := recorder.New(w)
	rec.MaxBody = p.cfg.maxBody
	rec.OnPassThrough = func() {
		if !p.cfg.keepTagHeader {
			delete(rec.Header(), p.cfg.tagHeader)
		}
		if p.cfg.cacheStatus {
			detail := "too-large"
			if rec.Flushed() {
				detail = "streamed"
			}
			appendCacheStatus(rec.Header(), []string{"fragcache; fwd=" + fwd + "; detail=" + detail})
		}
	}
	next.ServeHTTP(rec, r)
	return rec
}

// prepare applies the storing rules to a recorded response, in Django's
// order and then this package's own, and patches its headers as Django's
// UpdateCacheMiddleware does (Expires, max-age, Vary: Authorization,
// Content-Length). It returns the storage timeout in seconds and the time
// the headers were patched at, or the reason the response is not stored
// (the Cache-Status detail).
func (p *Cache) prepare(r *http.Request, s *keyInputs, rec *recorder.Recorder, m miss) (timeout int, now time.Time, detail string) {
	h := rec.Header()
	if rec.Status() != http.StatusOK && rec.Status() != http.StatusNotModified {
		return 0, now, "status"
	}
	if _, ok := h[httpheader.SetCookie]; ok {
		return 0, now, "set-cookie"
	}
	if d := refusedDirective(h); d != "" {
		return 0, now, d
	}
	if httpx.HasVaryHeader(h, "*") {
		return 0, now, "vary"
	}
	now = p.cfg.now()
	if d := expiredAtOnce(h, now); d != "" {
		return 0, now, d
	}
	timeout, ok := p.timeoutFor(h)
	if !ok {
		return 0, now, "max-age"
	}
	if hasTrailers(h) {
		return 0, now, "trailers"
	}
	if r.Context().Err() != nil {
		return 0, now, "canceled"
	}
	_, hadExpires := h[httpheader.Expires]
	if err := httpx.PatchResponseHeadersAt(h, timeout, now); err != nil {
		// Django raises (ValueError for an unreadable max-age): leave the
		// response as the handler made it.
		if !hadExpires {
			delete(h, httpheader.Expires)
		}
		if p.cfg.logger != nil {
			p.cfg.logger.LogAttrs(r.Context(), slog.LevelWarn, "pagecache: cannot patch the response headers",
				slog.String("url", string(s.uri)), slog.String("error", err.Error()))
		}
		return 0, now, "headers"
	}
	if _, ok := httpheader.RequestHeader(r.Header, hAuthorization); ok && !hasCCDirective(h, "public") {
		httpx.PatchVaryHeaders(h, hAuthorization)
	}
	if rec.Status() != http.StatusOK {
		return 0, now, "status"
	}
	if timeout <= 0 {
		return 0, now, "timeout"
	}
	p.completeHeaders(r, rec)
	if m.fetchErr {
		return 0, now, "backend-error"
	}
	if m.waitTimeout {
		return 0, now, "wait-timeout"
	}
	return timeout, now, ""
}

// store writes the learned header list (learn_cache_key) and the page for
// timeout seconds. It returns what was stored, or the reason nothing was.
func (p *Cache) store(r *http.Request, s *keyInputs, rec *recorder.Recorder, timeout int, now time.Time, took time.Duration, tags []string, listWasMissing bool) (*flightResult, string) {
	h := rec.Header()
	vary, hasVary := httpheader.ResponseHeader(h, httpheader.Vary)
	list := HeaderList(vary, p.keys.cfg.language != nil)
	if hasVary && concatenated(p.keys.cfg.scheme) && !slices.Equal(list, legacyHeaderList(vary, p.keys.cfg.language != nil)) {
		// Django 6.0 and older would learn another list for this Vary
		// (padding, empty tokens): storing 6.1's list under their keys
		// would not be what they read, and theirs can merge users.
		return nil, "vary-tokens"
	}
	s.setVary(&p.keys.cfg, r, namesOf(list))
	if s.repeated {
		return nil, "header"
	}
	s.pkey = p.keys.appendPageKey(s.pkey[:0], s, r, r.Method)
	page := storedPage{status: rec.Status(), header: storedHeader(h), body: rec.Body()}
	if ma, ok := httpx.GetMaxAge(h); ok {
		if ex, ok := httpheader.ParseDateOK(responseHeaderValue(h, httpheader.Expires), now); ok {
			page.maxAge, page.expires, page.ageKnown = int64(ma), ex, true
		}
	}
	if v := h[httpheader.LastModified]; len(v) > 0 && v[0] != "" {
		page.lastModified, _ = httpheader.ParseDateOK(v[0], now)
	}
	entry := page.encode()
	t := cache.Seconds(float64(timeout))
	var sw cache.Swallowed
	ctx := cache.WithSwallowed(context.WithoutCancel(r.Context()), &sw)
	hl := encodeHeaderList(list)
	var err error
	if p.sides {
		// With grace, the list lives as long as the page; the page's
		// freshness goes in its side key (cache.Cache.SetEntry).
		err = p.cache.Set(ctx, string(s.hkey), hl, cache.Seconds(float64(timeout)+p.sp.Grace.Seconds()))
		if err == nil {
			err = p.cache.SetEntry(ctx, string(s.pkey), entry, t, p.sp, took)
		}
	} else {
		err = p.cache.Set(ctx, string(s.hkey), hl, t)
		if err == nil {
			err = p.cache.Set(ctx, string(s.pkey), entry, t)
		}
	}
	switch {
	case errors.Is(err, cache.ErrValueTooLarge):
		return nil, "too-large"
	case err != nil:
		p.backendError(r.Context(), "set", s.pkey, err)
		return nil, "backend-error"
	case sw.Count() > 0:
		// A fail-open cache answered the store as done, but stored
		// nothing: say so, and do not hand the page to waiting requests
		// as stored.
		p.stats.errors.Add(1)
		return nil, "store-failed"
	}
	life := t
	if p.sides {
		life = cache.Seconds(float64(timeout) + p.sp.Grace.Seconds())
	}
	p.index(ctx, s, listWasMissing, tags, life)
	if p.lists != nil {
		p.lists.put(s.hkey, hl)
	}
	return &flightResult{method: r.Method, list: list, pageKey: string(s.pkey), entry: entry,
		lastModified: page.lastModified}, ""
}

// reply sends a response just stored: a 304 or 412 when the request's
// preconditions say so (evaluated against the stored headers), else the
// response as recorded.
func (p *Cache) reply(w http.ResponseWriter, r *http.Request, rec *recorder.Recorder, res *flightResult, now time.Time) {
	h := rec.Header()
	etag, _ := httpheader.ETagHeader(h)
	if (etag != "" || res.lastModified != 0) && hasPreconditions(r.Header) {
		switch httpheader.Evaluate(r, etag, res.lastModified, now) {
		case http.StatusNotModified:
			dst := rec.Replace()
			httpheader.CopyNotModified(dst, h)
			if v, ok := h[hCacheStatus]; ok {
				dst[hCacheStatus] = v
			}
			w.WriteHeader(http.StatusNotModified)
			return
		case http.StatusPreconditionFailed:
			dst := rec.Replace()
			if v, ok := h[hCacheStatus]; ok {
				dst[hCacheStatus] = v
			}
			httpheader.WritePreconditionFailed(w)
			return
		}
	}
	rec.Commit()
}

// completeHeaders sets what net/http would add to the buffered response, so
// that a hit and a miss carry the same headers: Content-Type (sniffed when
// the handler set none) and Content-Length.
func (p *Cache) completeHeaders(r *http.Request, rec *recorder.Recorder) {
	h := rec.Header()
	n := len(rec.Body())
	if _, ok := h[httpheader.ContentType]; !ok && n > 0 {
		h[httpheader.ContentType] = []string{http.DetectContentType(rec.Body())}
	}
	if n > 0 || r.Method != http.MethodHead {
		h[hContentLength] = []string{strconv.Itoa(n)}
	}
}
