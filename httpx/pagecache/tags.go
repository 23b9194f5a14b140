package pagecache

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/fragcache/fragcache/cache"
)

// This file is the page cache's part of group invalidation: the content
// tags a page declares (WithSurrogateKeys, cache.DeclareTags, the
// {% cachetag %} of its fragments), and the index of every stored variant
// of a URL (InvalidateURL).

// takeTags returns the content tags of a recorded response: those of the
// tag header (removed from h unless kept) and those declared in set while
// the handler ran. An invalid tag is logged and left out.
func (p *Cache) takeTags(r *http.Request, h http.Header, set *cache.TagSet) []string {
	vs := h[p.cfg.tagHeader]
	if len(vs) > 0 && !p.cfg.keepTagHeader {
		delete(h, p.cfg.tagHeader)
	}
	for _, v := range vs {
		for _, t := range strings.Fields(v) {
			if err := cache.CheckTag(t); err != nil {
				if p.cfg.logger != nil {
					p.cfg.logger.LogAttrs(r.Context(), slog.LevelWarn, "pagecache: a content tag in the response is not valid; left out",
						slog.String("header", p.cfg.tagHeader), slog.String("error", err.Error()))
				}
				continue
			}
			set.Add(t)
		}
	}
	return set.Tags()
}

// urlGroup appends the key naming every stored variant of s's URL (its
// header-list key without the language and time-zone suffixes): the group
// of cache.Cache.IndexVariants.
func (k *Keys) appendURLGroup(dst []byte, s *keyInputs) []byte {
	if k.hkp == "" { // the zero Keys
		dst = append(dst, headerKeyBase+"."...)
	}
	dst = append(dst, k.hkp...)
	return append(dst, s.url[:]...)
}

// appendPagePrefix appends the beginning of the page keys of method:
// "views.decorators.cache.cache_page.<prefix>.<method>.".
func (k *Keys) appendPagePrefix(dst []byte, method string) []byte {
	if k.pkp == "" { // the zero Keys
		dst = append(dst, pageKeyBase+"."...)
	}
	dst = append(dst, k.pkp...)
	dst = append(dst, method...)
	return append(dst, '.')
}

// index records a page just stored, for life: under its URL's group (both
// its keys, for InvalidateURL) and under each of its content tags (for
// cache.Cache.PurgeTag). A failure is logged and counted: the page is
// stored, only a later group deletion may miss it.
//
// The header list is indexed only when it was missing (a uri-miss): one
// index write per stored page otherwise.
func (p *Cache) index(ctx context.Context, s *keyInputs, listWasMissing bool, tags []string, life cache.Timeout) {
	group := string(p.keys.appendURLGroup(nil, s))
	keys := []string{string(s.pkey)}
	if listWasMissing {
		keys = append(keys, string(s.hkey))
	}
	if err := p.cache.IndexVariants(ctx, group, keys, life); err != nil {
		p.backendError(ctx, "index", s.pkey, err)
	}
	if len(tags) > 0 {
		if err := p.cache.IndexTags(ctx, string(s.pkey), tags, life); err != nil {
			p.backendError(ctx, "index", s.pkey, err)
		}
	}
}

// InvalidateURL deletes every stored variant of the page at an absolute
// URL: every Vary variant, for GET and HEAD, under every language and time
// zone suffix, and the header lists; it returns how many entries it
// deleted. Variants this package stored are found through an index written
// with them (on every backend that keeps indexes: memory, file, memcached,
// Redis); on backends that can enumerate their keys (Redis, the memory
// store), variants a Django process stored are found too. On memcached and
// the file backend, a variant only Django stored is not found.
//
// Unlike Invalidate, it needs no request headers: the URL alone names
// every variant. The options are those of the page cache that stored the
// pages (WithCache or WithRegistry and WithAlias, WithKeyPrefix…).
func InvalidateURL(ctx context.Context, rawURL string, opts ...Option) (int, error) {
	p, err := New(opts...)
	if err != nil {
		return 0, err
	}
	return p.InvalidateURL(ctx, rawURL)
}

// InvalidateURL is the package's InvalidateURL for the pages of p.
func (p *Cache) InvalidateURL(ctx context.Context, rawURL string) (int, error) {
	if p == nil || p.cache == nil {
		return 0, errNoCache
	}
	r, err := invalidationRequest(ctx, rawURL, nil)
	if err != nil {
		return 0, err
	}
	var s keyInputs
	if !s.digestURL(&p.keys.cfg, r) {
		return 0, ErrInvalidHost
	}
	group := string(p.keys.appendURLGroup(nil, &s))
	pagePrefix := func(method string) string {
		b := p.keys.appendPagePrefix(nil, method)
		b = append(b, s.url[:]...)
		return string(append(b, '.'))
	}
	get, head := p.cache.MakeKey(pagePrefix(http.MethodGet)), p.cache.MakeKey(pagePrefix(http.MethodHead))
	hk := p.cache.MakeKey(group)
	match := func(mk string) bool {
		switch {
		case strings.HasPrefix(mk, get):
			return validPageRest(mk[len(get):])
		case strings.HasPrefix(mk, head):
			return validPageRest(mk[len(head):])
		case strings.HasPrefix(mk, hk):
			rest := mk[len(hk):]
			return rest == "" || rest[0] == '.'
		}
		return false
	}
	return p.cache.DeleteVariants(ctx, group, match, pagePrefix(http.MethodGet), pagePrefix(http.MethodHead), group)
}

// validPageRest reports whether rest, what follows "<method>.<url md5>."
// in a page key, is a vary digest (32 lowercase hexadecimal digits) and
// the language and time-zone suffixes (each "." and more).
func validPageRest(rest string) bool {
	if len(rest) < 32 {
		return false
	}
	for i := 0; i < 32; i++ {
		if c := rest[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return len(rest) == 32 || rest[32] == '.'
}
