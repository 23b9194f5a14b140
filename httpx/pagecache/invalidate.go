package pagecache

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"

	"github.com/fragcache/fragcache/cache"
)

// Invalidate deletes the page stored for an absolute URL and the request
// headers a client would send (only the Vary-listed ones matter: Cookie,
// Accept-Encoding…), for both GET and HEAD, and reports whether something
// was deleted. It is what Django users do by building a request and
// calling cache.delete(get_cache_key(request)), and it is
// New(opts...).Invalidate.
//
// The options name the cache (WithCache, or WithRegistry and WithAlias) and
// the key options (WithKeyPrefix, WithKeyScheme, WithLanguage…), which must
// be those of the page cache that stored the page; the language and
// time-zone functions get the request built here. The learned header list
// is kept: other variants of the page stay cached. Pages learned by Django
// (a pickled header list) are found too.
//
// rawURL must be absolute (scheme and host); its path and query are taken
// as a request line would carry them ("/caf%C3%A9?q=1").
func Invalidate(ctx context.Context, rawURL string, header http.Header, opts ...Option) (bool, error) {
	p, err := New(opts...)
	if err != nil {
		return false, err
	}
	return p.Invalidate(ctx, rawURL, header)
}

// Invalidate is the package's Invalidate for the pages of p.
func (p *Cache) Invalidate(ctx context.Context, rawURL string, header http.Header) (bool, error) {
	if p == nil || p.cache == nil {
		return false, errNoCache
	}
	return invalidate(ctx, p.cache, p.keys, rawURL, header)
}

func invalidate(ctx context.Context, c *cache.Cache, k *Keys, rawURL string, header http.Header) (bool, error) {
	r, err := invalidationRequest(ctx, rawURL, header)
	if err != nil {
		return false, err
	}
	hk, err := k.HeaderKey(r)
	if err != nil {
		return false, err
	}
	list, found, err := readHeaderList(ctx, c, hk)
	if err != nil || !found {
		return false, err
	}
	deleted := false
	for _, method := range [...]string{http.MethodGet, http.MethodHead} {
		key, err := k.PageKey(r, method, list)
		if err != nil {
			return deleted, err
		}
		d, err := c.Delete(ctx, key)
		if err != nil {
			return deleted, err
		}
		deleted = deleted || d
	}
	return deleted, nil
}

// invalidationRequest builds the GET request a client would send for
// rawURL with header.
func invalidationRequest(ctx context.Context, rawURL string, header http.Header) (*http.Request, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("pagecache: invalidate page: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("pagecache: invalidate page: %q is not an absolute http(s) URL", rawURL)
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("pagecache: invalidate page: %w", err)
	}
	for k, vs := range header {
		r.Header[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	if h := r.Header.Get("Host"); h != "" {
		r.Host = h
		r.Header.Del("Host")
	}
	// The request line: the path as the client sends it, so that %2F and
	// raw bytes are decoded exactly as a server would.
	r.RequestURI = u.EscapedPath()
	if r.RequestURI == "" {
		r.RequestURI = "/"
	}
	if u.RawQuery != "" || u.ForceQuery {
		r.RequestURI += "?" + u.RawQuery
	}
	if u.Scheme == "https" {
		r.TLS = &tls.ConnectionState{} // what makes a server request https
	}
	return r, nil
}
