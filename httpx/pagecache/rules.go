package pagecache

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/httpx"
	"github.com/fragcache/fragcache/internal/httpheader"
)

// This file holds what decides whether a response is stored, and for how
// long.

// sharedWithCredentials reports whether a Cache-Control value has public,
// s-maxage or must-revalidate: RFC 9111 §3.5's directives that let a
// shared cache answer a request with Authorization from a stored response.
func sharedWithCredentials(cc string) bool {
	return directiveIn(cc, "public", "s-maxage", "must-revalidate") != ""
}

// directiveIn returns the first directive of a Cache-Control value that is
// one of names (any case, with or without a value, Django 6.1's
// split_directive_names), or "".
func directiveIn(cc string, names ...string) string {
	for part, i, ok := httpheader.NextPart(cc, 0); ok; part, i, ok = httpheader.NextPart(cc, i) {
		name, _, _ := strings.Cut(part, "=")
		name = httpheader.Strip(name)
		for _, d := range names {
			if httpheader.LowerEqual(name, d) {
				return d
			}
		}
	}
	return ""
}

// timeoutFor is Django's choice of timeout: the page timeout, else the
// response's max-age (0: not cached, ok false), else cacheSeconds.
func (p *Cache) timeoutFor(h http.Header) (int, bool) {
	if p.cfg.pageTimeout != nil {
		return timeoutSeconds(*p.cfg.pageTimeout), true
	}
	if ma, ok := httpx.GetMaxAge(h); ok {
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
	cc, _ := httpheader.ResponseHeader(h, httpheader.CacheControl)
	for part, i, ok := httpheader.NextPart(cc, 0); ok; part, i, ok = httpheader.NextPart(cc, i) {
		name, value, hasValue := strings.Cut(part, "=")
		name = httpheader.Strip(name)
		if !hasValue || !(httpheader.LowerEqual(name, "max-age") || httpheader.LowerEqual(name, "s-maxage")) {
			continue
		}
		value = strings.Trim(httpheader.Strip(value), `"`)
		if n, err := strconv.Atoi(value); err == nil && n <= 0 {
			return strings.ToLower(name)
		}
	}
	for _, line := range h[hPragma] {
		for part, i, ok := httpheader.NextPart(line, 0); ok; part, i, ok = httpheader.NextPart(line, i) {
			if httpheader.LowerEqual(httpheader.Strip(part), "no-cache") {
				return "pragma"
			}
		}
	}
	if v, ok := httpheader.ResponseHeader(h, httpheader.Expires); ok {
		date := now.Unix()
		if d, ok := httpheader.ResponseHeader(h, httpheader.Date); ok {
			if t, ok := httpheader.ParseDateOK(d, now); ok {
				date = t
			}
		}
		if t, ok := httpheader.ParseDateOK(v, now); !ok || t <= date {
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
	v, _ := httpheader.ResponseHeader(h, httpheader.CacheControl)
	return directiveIn(v, "private", "no-cache", "no-store")
}

// hasCCDirective reports whether Cache-Control has a directive of that name.
func hasCCDirective(h http.Header, directive string) bool {
	v, _ := httpheader.ResponseHeader(h, httpheader.CacheControl)
	return directiveIn(v, directive) != ""
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

// responseHeaderValue is httpheader.ResponseHeader's value.
func responseHeaderValue(h http.Header, key string) string {
	v, _ := httpheader.ResponseHeader(h, key)
	return v
}

// hop-by-hop and per-response headers never stored.
func storedHeader(h http.Header) http.Header {
	out := make(http.Header, len(h))
	var conn []string
	for _, v := range h["Connection"] {
		for part, i, ok := httpheader.NextPart(v, 0); ok; part, i, ok = httpheader.NextPart(v, i) {
			conn = append(conn, http.CanonicalHeaderKey(part))
		}
	}
	for k, v := range h {
		switch k {
		case "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Te", "Trailer",
			"Transfer-Encoding", "Upgrade", httpheader.SetCookie, hAge, hCacheStatus:
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
