package httpx

import "net/http"

// SiteCache is Django's per-site cache (UpdateCacheMiddleware plus
// FetchFromCacheMiddleware, i.e. CacheMiddleware without a page timeout):
// middleware for a whole mux that caches every cacheable GET and HEAD
// response (see PageCache for the rules) for the response's max-age, or
// WithSeconds (Django's CACHE_MIDDLEWARE_SECONDS, 600) without one. The
// cache comes from WithCache, or WithRegistry and WithAlias (Django's
// CACHE_MIDDLEWARE_ALIAS, "default"); WithKeyPrefix is
// CACHE_MIDDLEWARE_KEY_PREFIX ("").
//
// Put it outside every middleware that adds Vary, Cache-Control or
// Set-Cookie headers (sessions, CSRF, VaryOnCookie, compression), as
// Django puts UpdateCacheMiddleware first: it must see the final response.
//
// Without a usable cache the middleware passes requests through, as
// CachePage does.
func SiteCache(opts ...PageOption) func(http.Handler) http.Handler {
	return pageMiddleware(opts)
}
