package pagecache

import (
	"context"
	"net/http"
	"strings"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/internal/httpheader"
)

// GetCacheKey is Django's get_cache_key(request, key_prefix, method,
// cache): it reads the header list learned for r's URL and returns the key
// of the page stored for method (http.MethodGet when ""). ok is false when
// no header list is stored (nothing was cached for the URL). A header list
// pickled by Django is read too. It is New(opts...).GetCacheKey.
func GetCacheKey(ctx context.Context, r *http.Request, method string, opts ...Option) (key string, ok bool, err error) {
	p, err := New(opts...)
	if err != nil {
		return "", false, err
	}
	return p.GetCacheKey(ctx, r, method)
}

// GetCacheKey is the package's GetCacheKey for the pages of p: the key
// options must be those of the page cache that stored the page.
func (p *Cache) GetCacheKey(ctx context.Context, r *http.Request, method string) (key string, ok bool, err error) {
	if p == nil || p.cache == nil {
		return "", false, errNoCache
	}
	if method == "" {
		method = http.MethodGet
	}
	hk, err := p.keys.HeaderKey(r)
	if err != nil {
		return "", false, err
	}
	list, found, err := readHeaderList(ctx, p.cache, hk)
	if err != nil || !found {
		return "", false, err
	}
	key, err = p.keys.PageKey(r, method, list)
	return key, err == nil, err
}

// LearnCacheKey is Django's learn_cache_key(request, response,
// cache_timeout, key_prefix, cache): it stores the header list of the
// response's Vary header (respHeader; Accept-Language left out with
// WithLanguage) under r's header-list key for timeout, and returns the page
// key for r's method (upper-cased). cache.DefaultTimeout is Django's None:
// WithSeconds (600). It is New(opts...).LearnCacheKey.
func LearnCacheKey(ctx context.Context, r *http.Request, respHeader http.Header, timeout cache.Timeout, opts ...Option) (string, error) {
	p, err := New(opts...)
	if err != nil {
		return "", err
	}
	return p.LearnCacheKey(ctx, r, respHeader, timeout)
}

// LearnCacheKey is the package's LearnCacheKey for the pages of p.
func (p *Cache) LearnCacheKey(ctx context.Context, r *http.Request, respHeader http.Header, timeout cache.Timeout) (string, error) {
	if p == nil || p.cache == nil {
		return "", errNoCache
	}
	if timeout == cache.DefaultTimeout {
		timeout = cache.Seconds(float64(p.cfg.cacheSeconds))
	}
	hk, err := p.keys.HeaderKey(r)
	if err != nil {
		return "", err
	}
	list := HeaderList(responseHeaderValue(respHeader, httpheader.Vary), p.keys.cfg.language != nil)
	if err := p.cache.Set(ctx, hk, encodeHeaderList(list), timeout); err != nil {
		return "", err
	}
	return p.keys.PageKey(r, strings.ToUpper(r.Method), list)
}
