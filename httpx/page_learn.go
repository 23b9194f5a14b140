package httpx

import (
	"context"
	"net/http"
	"strings"

	"github.com/fragcache/fragcache/cache"
)

// GetCacheKey is Django's get_cache_key(request, key_prefix, method,
// cache): it reads the header list learned for r's URL and returns the key
// of the page stored for method (http.MethodGet when ""). ok is false when
// no header list is stored (nothing was cached for the URL). The cache is
// c, or the one the options name when c is nil; the key options (prefix,
// scheme, language…) must be those of the page cache that stored the page.
// A header list pickled by Django is read too.
func GetCacheKey(ctx context.Context, c *cache.Cache, r *http.Request, method string, opts ...PageOption) (key string, ok bool, err error) {
	cfg := newPageConfig(opts)
	if c == nil {
		if c, err = cfg.resolveCache(); err != nil {
			return "", false, err
		}
	}
	if method == "" {
		method = http.MethodGet
	}
	k := newPageKeys(cfg.keys)
	hk, err := k.HeaderKey(r)
	if err != nil {
		return "", false, err
	}
	v, found, err := c.Get(ctx, hk)
	if err != nil || !found {
		return "", false, err
	}
	list, valid := decodeHeaderList(v)
	if !valid {
		return "", false, nil
	}
	key, err = k.PageKey(r, method, list)
	return key, err == nil, err
}

// LearnCacheKey is Django's learn_cache_key(request, response,
// cache_timeout, key_prefix, cache): it stores the header list of the
// response's Vary header (respHeader; Accept-Language left out with
// WithLanguage) under r's header-list key for timeout, and returns the page
// key for r's method (upper-cased). cache.DefaultTimeout is Django's None:
// WithSeconds (600). The cache is c, or the one the options name when c is
// nil.
func LearnCacheKey(ctx context.Context, c *cache.Cache, r *http.Request, respHeader http.Header, timeout cache.Timeout, opts ...PageOption) (string, error) {
	cfg := newPageConfig(opts)
	var err error
	if c == nil {
		if c, err = cfg.resolveCache(); err != nil {
			return "", err
		}
	}
	if timeout == cache.DefaultTimeout {
		timeout = cache.Seconds(float64(cfg.cacheSeconds))
	}
	k := newPageKeys(cfg.keys)
	hk, err := k.HeaderKey(r)
	if err != nil {
		return "", err
	}
	list := HeaderList(responseHeaderValue(respHeader, hVary), cfg.keys.language != nil)
	if err := c.Set(ctx, hk, encodeHeaderList(list), timeout); err != nil {
		return "", err
	}
	return k.PageKey(r, strings.ToUpper(r.Method), list)
}
