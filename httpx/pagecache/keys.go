package pagecache

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/internal/httpheader"
)

// This file builds Django's page-cache keys (django.utils.cache:
// _generate_cache_header_key, _generate_cache_key, learn_cache_key's header
// list, _i18n_cache_key_suffix) from a request's key inputs (request.go)
// and its absolute URI (absuri.go).

// emptyMD5 is md5(""), the digest of no Vary values.
const emptyMD5 = "d41d8cd98f00b204e9800998ecf8427e"

// Key prefixes of Django's page cache.
const (
	headerKeyBase = "views.decorators.cache.cache_header."
	pageKeyBase   = "views.decorators.cache.cache_page."
)

// ErrInvalidHost is returned for a request whose host Django would reject
// as invalid (DisallowedHost): not a domain name or bracketed IPv6 address
// with an optional numeric port. The page cache leaves such requests
// alone.
var ErrInvalidHost = errors.New("pagecache: invalid host for a page-cache key")

// variantFor is the page-key variant of a fragment key scheme.
func variantFor(s cache.KeyScheme) cache.PageKeyVariant {
	if s == cache.KeySchemeLegacy {
		return cache.PageKeysConcatMarked
	}
	return cache.PageKeysNetstrings
}

// concatenated reports whether a variant concatenates the values (Django
// 6.0 and older).
func concatenated(v cache.PageKeyVariant) bool {
	return v == cache.PageKeysConcatMarked || v == cache.PageKeysConcat
}

// Keys builds the keys of Django's page cache for requests. Build it
// with NewKeys (the zero value has the default options); it is safe for
// concurrent use.
type Keys struct {
	cfg keyConfig
	// hkp and pkp are the key beginnings with the prefix:
	// "views.decorators.cache.cache_header.<prefix>." and
	// "views.decorators.cache.cache_page.<prefix>.".
	hkp, pkp string
}

// NewKeys returns the key builder of the key options among opts
// (WithKeyPrefix, WithKeyScheme, WithDjango, WithLanguage,
// WithTimeZone, WithSecureProxySSLHeader, WithForwardedHost; the key scheme
// of the cache WithCache or WithRegistry names, by its Django release). An
// invalid option is an error, as with New; a Keys needs no cache.
func NewKeys(opts ...Option) (*Keys, error) {
	cfg := newConfig(opts)
	if cfg.err != nil {
		return nil, cfg.err
	}
	if !cfg.schemeSet && (cfg.cache != nil || cfg.registry != nil) {
		c, err := cfg.resolveCache()
		if err != nil {
			return nil, err
		}
		if d := c.Django(); !d.IsZero() {
			cfg.keys.scheme = d.PageKeys()
		}
	}
	return newKeys(cfg.keys), nil
}

func newKeys(cfg keyConfig) *Keys {
	return &Keys{
		cfg: cfg,
		hkp: headerKeyBase + cfg.prefix + ".",
		pkp: pageKeyBase + cfg.prefix + ".",
	}
}

// AbsoluteURI returns Django's request.build_absolute_uri() for r, the URL
// whose md5 is in both page keys:
//
//   - scheme: https when r.TLS is set (or, for a request made by a client,
//     r.URL.Scheme is https), or as WithSecureProxySSLHeader says;
//   - host: r.Host (or X-Forwarded-Host with WithForwardedHost), its case and
//     port kept as given; an invalid host gives ErrInvalidHost;
//   - path: the request's percent-decoded path, from r.RequestURI when set
//     (so that http.StripPrefix and URL rewrites do not change the key), else
//     r.URL.Path, re-escaped as Django's escape_uri_path does: %2F becomes /,
//     a literal % becomes %25, non-ASCII UTF-8 is percent-encoded and a byte
//     that is not UTF-8 becomes %25XX;
//   - query: the raw query (r.RequestURI's or r.URL.RawQuery) through
//     Django's iri_to_uri, each byte read as ISO-8859-1 as WSGI does (so a raw
//     UTF-8 é becomes %C3%83%C2%A9); "?" only when the query is not empty;
//   - dot segments (/./, /../) are resolved as Python's urljoin does; a path
//     without them is kept as it is (//double stays).
func (k *Keys) AbsoluteURI(r *http.Request) (string, error) {
	var s keyInputs
	uri, ok := k.cfg.appendAbsoluteURI(nil, r, &s)
	if !ok {
		return "", ErrInvalidHost
	}
	return string(uri), nil
}

// HeaderKey returns the key under which the learned Vary-header list of
// r's URL is stored, Django's _generate_cache_header_key:
// views.decorators.cache.cache_header.<prefix>.<md5(absolute URI)>[.<lang>][.<tz>].
func (k *Keys) HeaderKey(r *http.Request) (string, error) {
	var s keyInputs
	if !s.digestURL(&k.cfg, r) {
		return "", ErrInvalidHost
	}
	return string(k.appendHeaderKey(nil, &s, r)), nil
}

// PageKey returns the key of the page stored for r and method with the
// given learned header list (as HeaderList returns it), Django's
// _generate_cache_key:
// views.decorators.cache.cache_page.<prefix>.<method>.<md5(absolute URI)>.<md5(values)>[.<lang>][.<tz>].
// The values are r's headers named by the list (HTTP_ACCEPT_ENCODING is
// Accept-Encoding), hashed as the key scheme says.
func (k *Keys) PageKey(r *http.Request, method string, headerList []string) (string, error) {
	var s keyInputs
	if !s.digestURL(&k.cfg, r) {
		return "", ErrInvalidHost
	}
	s.setVary(&k.cfg, r, namesOf(headerList))
	return string(k.appendPageKey(nil, &s, r, method)), nil
}

// appendHeaderKey appends the header-list key (s.url must be set).
func (k *Keys) appendHeaderKey(dst []byte, s *keyInputs, r *http.Request) []byte {
	if k.hkp == "" { // the zero Keys
		dst = append(dst, headerKeyBase+"."...)
	}
	dst = append(dst, k.hkp...)
	dst = append(dst, s.url[:]...)
	return k.cfg.appendSuffix(dst, r)
}

// appendPageKey appends the page key for method (s.url and s.vary, the
// digest input, must be set).
func (k *Keys) appendPageKey(dst []byte, s *keyInputs, r *http.Request, method string) []byte {
	if k.pkp == "" { // the zero Keys
		dst = append(dst, pageKeyBase+"."...)
	}
	dst = append(dst, k.pkp...)
	dst = append(dst, method...)
	dst = append(dst, '.')
	dst = append(dst, s.url[:]...)
	dst = append(dst, '.')
	if len(s.vary) == 0 {
		dst = append(dst, emptyMD5...)
	} else {
		sum := md5.Sum(s.vary)
		var h [2 * md5.Size]byte
		hex.Encode(h[:], sum[:])
		dst = append(dst, h[:]...)
	}
	return k.cfg.appendSuffix(dst, r)
}

// appendSuffix appends Django's _i18n_cache_key_suffix.
func (c *keyConfig) appendSuffix(dst []byte, r *http.Request) []byte {
	if c.language != nil {
		dst = append(dst, '.')
		dst = append(dst, c.language(r)...)
	}
	if c.timeZone != nil {
		dst = append(dst, '.')
		dst = append(dst, c.timeZone(r)...)
	}
	return dst
}

// HeaderList returns the header list learn_cache_key stores for a
// response's Vary header value (the lines of a repeated header joined with
// ", "), as Django 6.1 builds it: each stripped, non-empty comma-separated
// name is upper-cased (Python's str.upper, the value read as ISO-8859-1),
// "-" becomes "_", "HTTP_" is prepended, and the list is sorted.
// Accept-Language is left out when i18n is true (Django's USE_I18N; the
// page cache passes true with WithLanguage). "*" gives "HTTP_*", which no
// request header matches. An empty Vary gives an empty, non-nil list.
func HeaderList(vary string, i18n bool) []string {
	list := []string{}
	var b []byte
	for part, i, ok := httpheader.NextPart(vary, 0); ok; part, i, ok = httpheader.NextPart(vary, i) {
		b = append(b[:0], "HTTP_"...)
		b = appendPyUpper(b, part)
		name := b[len("HTTP_"):]
		for j := range name {
			if name[j] == '-' {
				name[j] = '_'
			}
		}
		if i18n && string(name) == "ACCEPT_LANGUAGE" {
			continue
		}
		list = append(list, string(b))
	}
	sort.Strings(list)
	return list
}

// legacyHeaderList is the header list Django 6.0 and older learn for a
// response's Vary header value (present): tokens split by the regular
// expression cc_delim_re = \s*,\s* (Python's Unicode whitespace, the value
// read as ISO-8859-1), so that padding at either end of the value stays on
// the first or last token and empty tokens stay, each upper-cased with "-"
// as "_" and "HTTP_" prepended (Accept-Language left out when i18n), and
// sorted. Where it differs from HeaderList, a page Go stored under the
// legacy key scheme would not have the header list those Django versions
// would learn: " Cookie" becomes "HTTP_ COOKIE", which no request header
// matches, so every user would share the page.
func legacyHeaderList(vary string, i18n bool) []string {
	list := []string{}
	add := func(token string) {
		b := appendPyUpper([]byte("HTTP_"), token)
		name := b[len("HTTP_"):]
		for j := range name {
			if name[j] == '-' {
				name[j] = '_'
			}
		}
		if i18n && string(name) == "ACCEPT_LANGUAGE" {
			return
		}
		list = append(list, string(b))
	}
	start := 0 // start of the current token
	for i := 0; i < len(vary); i++ {
		if vary[i] != ',' {
			continue
		}
		// The separator: the whitespace right before the comma (not before
		// start, which an earlier separator consumed), the comma, and the
		// whitespace after it.
		end := i
		for end > start && httpheader.IsSpace(vary[end-1]) {
			end--
		}
		add(vary[start:end])
		j := i + 1
		for j < len(vary) && httpheader.IsSpace(vary[j]) {
			j++
		}
		start, i = j, j-1
	}
	add(vary[start:])
	sort.Strings(list)
	return list
}

// appendPyUpper appends Python's s.upper() of s read as ISO-8859-1, encoded
// as UTF-8 (so that byte order is Python's code-point order).
func appendPyUpper(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case 'a' <= b && b <= 'z':
			dst = append(dst, b-0x20)
		case b < 0x80:
			dst = append(dst, b)
		case b == 0xb5: // µ → GREEK CAPITAL LETTER MU
			dst = utf8.AppendRune(dst, 0x39c)
		case b == 0xdf: // ß → SS
			dst = append(dst, 'S', 'S')
		case b == 0xff: // ÿ → LATIN CAPITAL LETTER Y WITH DIAERESIS
			dst = utf8.AppendRune(dst, 0x178)
		case 0xe0 <= b && b != 0xf7:
			dst = utf8.AppendRune(dst, rune(b-0x20))
		default:
			dst = utf8.AppendRune(dst, rune(b))
		}
	}
	return dst
}

// appendVaryValue appends the digest input of one header-list name for r
// under the page-key variant: the value as a netstring (6.1) or as it is
// (6.0 and older), or what an absent header hashes as ("-,", "0:," in
// 6.1.0–6.1.2, nothing in upstream releases before the CVE-2026-113593
// fix).
func (c *keyConfig) appendVaryValue(dst []byte, r *http.Request, name string, s *keyInputs) []byte {
	v, ok := metaValue(r, name, s)
	if !ok {
		switch c.scheme {
		case cache.PageKeysNetstringsEmptyAbsent:
			return append(dst, "0:,"...)
		case cache.PageKeysConcat:
			return dst
		}
		return append(dst, "-,"...)
	}
	if concatenated(c.scheme) {
		return appendLatin1UTF8(dst, v)
	}
	dst = strconv.AppendInt(dst, int64(latin1UTF8Len(v)), 10)
	dst = append(dst, ':')
	dst = appendLatin1UTF8(dst, v)
	return append(dst, ',')
}

// metaValue returns request.META[name] for a header-list name: the request
// header HTTP_X_Y stands for (X-Y), the lines of a repeated header joined
// with ",". HTTP_HOST is r.Host. As under WSGI and ASGI, HTTP_CONTENT_TYPE
// and HTTP_CONTENT_LENGTH never exist (Django has CONTENT_TYPE instead),
// and a name that no header name upper-cases to (lowercase letters, "-",
// bytes that are not token characters) is absent; a header spelled with
// "_" is not looked up, as WSGI servers drop those.
func metaValue(r *http.Request, name string, s *keyInputs) (string, bool) {
	rest, ok := strings.CutPrefix(name, "HTTP_")
	if !ok || rest == "" {
		return "", false
	}
	switch rest {
	case "HOST":
		return r.Host, r.Host != ""
	case "CONTENT_TYPE", "CONTENT_LENGTH":
		return "", false
	}
	b := s.name[:0]
	upper := true
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		switch {
		case c == '_':
			b = append(b, '-')
			upper = true
			continue
		case 'A' <= c && c <= 'Z':
			if !upper {
				c += 0x20
			}
		case '0' <= c && c <= '9', strings.IndexByte("!#$%&'*+.^`|~", c) >= 0:
		default:
			s.name = b
			return "", false
		}
		b = append(b, c)
		upper = false
	}
	s.name = b
	v := r.Header[string(b)] // no allocation for the conversion
	switch len(v) {
	case 0:
		return "", false
	case 1:
		return v[0], true
	}
	s.repeated = true
	return strings.Join(v, ","), true
}

// latin1UTF8Len is the length of s read as ISO-8859-1 and encoded as
// UTF-8: Python's META value .encode().
func latin1UTF8Len(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			n++
		}
	}
	return n
}

// appendLatin1UTF8 appends s read as ISO-8859-1, encoded as UTF-8.
func appendLatin1UTF8(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x80 {
			dst = append(dst, b)
		} else {
			dst = append(dst, 0xc0|b>>6, 0x80|b&0x3f)
		}
	}
	return dst
}
