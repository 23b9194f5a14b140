package pagecache

import (
	"log/slog"
	"net/http"

	"github.com/fragcache/fragcache/cache"
)

// Page is Django's cache_page decorator: middleware that caches the
// responses of the handler it wraps for timeout (see Cache for the
// rules). The cache comes from WithCache, or WithRegistry and WithAlias
// ("default" unless given); the key prefix is "" unless WithKeyPrefix is
// given (cache_page ignores CACHE_MIDDLEWARE_KEY_PREFIX and ALIAS, and so
// does Page: there are no such globals here).
//
// The timeout is Django's page_timeout, in whole seconds (rounded up):
//
//   - a positive timeout is how long pages are stored, even when the
//     response's max-age is longer or shorter; the header keeps the smaller
//     max-age (Django's patch_response_headers);
//   - cache.Expired (Django's 0) or a negative timeout adds
//     "Cache-Control: max-age=0" and Expires=now and stores nothing;
//   - cache.DefaultTimeout (Django's None) uses the response's max-age, or
//     WithSeconds (600) without one;
//   - a response that is stale when made (max-age=0, s-maxage=0,
//     Pragma: no-cache, an Expires not after Date) is never stored, whatever
//     the timeout: Django's cache_page stores it for its timeout;
//   - cache.Forever, or anything longer than a year, is a year.
//
// Without a usable cache (no WithCache or WithRegistry, an unknown alias),
// the middleware passes requests through, logs the problem at Error level
// when it is built (through WithLogger, else slog.Default()) and marks
// every response "Cache-Status: fragcache; fwd=bypass;
// detail=misconfigured", so it cannot go unnoticed; use New to get the
// error instead.
func Page(timeout cache.Timeout, opts ...Option) func(http.Handler) http.Handler {
	opts = append(opts[:len(opts):len(opts)], pageTimeoutOption(timeout))
	return middleware(opts)
}

// middleware builds the middleware, or a pass-through one when the
// options do not give a cache.
func middleware(opts []Option) func(http.Handler) http.Handler {
	p, err := New(opts...)
	if err != nil {
		cfg := newConfig(opts)
		l := cfg.logger
		if l == nil {
			l = slog.Default()
		}
		l.Error("pagecache: page cache disabled: every response passes through uncached", slog.String("error", err.Error()))
		return func(next http.Handler) http.Handler {
			if next == nil {
				next = http.NotFoundHandler()
			}
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if cfg.cacheStatus {
					appendCacheStatus(w.Header(), []string{statusBypassPrefix + "misconfigured"})
				}
				next.ServeHTTP(w, r)
			})
		}
	}
	return p.Handler
}

// Site is Django's per-site cache (UpdateCacheMiddleware plus
// FetchFromCacheMiddleware, i.e. CacheMiddleware without a page timeout):
// middleware for a whole mux that caches every cacheable GET and HEAD
// response (see Cache for the rules) for the response's max-age, or
// WithSeconds (Django's CACHE_MIDDLEWARE_SECONDS, 600) without one. The
// cache comes from WithCache, or WithRegistry and WithAlias (Django's
// CACHE_MIDDLEWARE_ALIAS, "default"); WithKeyPrefix is
// CACHE_MIDDLEWARE_KEY_PREFIX ("").
//
// Put it outside every middleware that adds Vary, Cache-Control or
// Set-Cookie headers (sessions, CSRF, httpx.VaryOnCookie, compression), as
// Django puts UpdateCacheMiddleware first: it must see the final response.
//
// Without a usable cache the middleware passes requests through, as
// Page does.
func Site(opts ...Option) func(http.Handler) http.Handler {
	return middleware(opts)
}
