package httpx

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
)

// This file builds Django's page-cache keys (django.utils.cache:
// _generate_cache_header_key, _generate_cache_key, learn_cache_key's header
// list, _i18n_cache_key_suffix, and HttpRequest.build_absolute_uri).

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
var ErrInvalidHost = errors.New("httpx: invalid host for a page-cache key")

// pageScheme is how the Vary-header values are hashed.
type pageScheme uint8

const (
	// schemeDjango61: netstrings, absent "-," (6.1.3, inferred).
	schemeDjango61 pageScheme = iota
	// schemeLegacy: raw concatenation, absent "-," (5.2.19, 6.0.10,
	// Debian 3.2.25).
	schemeLegacy
	// schemeDjango610: netstrings, absent as empty "0:," (6.1.0–6.1.2).
	schemeDjango610
)

func schemeFor(s cache.KeyScheme) pageScheme {
	if s == cache.KeySchemeLegacy {
		return schemeLegacy
	}
	return schemeDjango61
}

// String names the scheme.
func (s pageScheme) String() string {
	switch s {
	case schemeLegacy:
		return "legacy"
	case schemeDjango610:
		return "6.1.0"
	}
	return "6.1"
}

// PageKeys builds the keys of Django's page cache for requests. Build it
// with NewPageKeys (the zero value has the default options); it is safe for
// concurrent use.
type PageKeys struct {
	cfg keyConfig
	// hkp and pkp are the key beginnings with the prefix:
	// "views.decorators.cache.cache_header.<prefix>." and
	// "views.decorators.cache.cache_page.<prefix>.".
	hkp, pkp string
}

// NewPageKeys returns the key builder for the key options among opts
// (WithKeyPrefix, WithKeyScheme, WithKeySchemeDjango610, WithLanguage,
// WithTimeZone, WithSecureProxySSLHeader, WithForwardedHost; the key scheme
// of WithRegistry). Other options are ignored.
func NewPageKeys(opts ...PageOption) *PageKeys {
	return newPageKeys(newPageConfig(opts).keys)
}

func newPageKeys(cfg keyConfig) *PageKeys {
	return &PageKeys{
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
func (k *PageKeys) AbsoluteURI(r *http.Request) (string, error) {
	var s keyScratch
	uri, ok := k.cfg.appendAbsoluteURI(nil, r, &s)
	if !ok {
		return "", ErrInvalidHost
	}
	return string(uri), nil
}

// HeaderKey returns the key under which the learned Vary-header list of
// r's URL is stored, Django's _generate_cache_header_key:
// views.decorators.cache.cache_header.<prefix>.<md5(absolute URI)>[.<lang>][.<tz>].
func (k *PageKeys) HeaderKey(r *http.Request) (string, error) {
	var s keyScratch
	if !k.urlDigest(r, &s) {
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
func (k *PageKeys) PageKey(r *http.Request, method string, headerList []string) (string, error) {
	var s keyScratch
	if !k.urlDigest(r, &s) {
		return "", ErrInvalidHost
	}
	s.ctx = s.ctx[:0]
	for _, name := range headerList {
		s.ctx = k.cfg.appendVaryValue(s.ctx, r, name, &s)
	}
	return string(k.appendPageKey(nil, &s, r, method)), nil
}

// keyScratch holds the buffers of one key computation.
type keyScratch struct {
	uri  []byte // absolute URI
	path []byte // decoded path
	ctx  []byte // Vary-value digest input
	name []byte // header name being converted
	hkey []byte // header-list key
	pkey []byte // page key
	// url is the hex md5 of the absolute URI.
	url [2 * md5.Size]byte
	// ambiguous is set by appendAbsoluteURI when requests that a handler
	// may tell apart could share the URI: the key does not keep the
	// request target byte for byte (a decoded %XX, an encoded slash, a byte
	// that is not UTF-8, a query byte iri_to_uri encodes or reads as
	// ISO-8859-1, resolved dot segments, an absolute-form target).
	ambiguous bool
	// repeated is set by appendVaryValue when a header it read was sent on
	// more than one line (joined with "," for the key, parsed line by line
	// by net/http).
	repeated bool
}

// urlDigest computes s.url for r; false for an invalid host.
func (k *PageKeys) urlDigest(r *http.Request, s *keyScratch) bool {
	var ok bool
	s.uri, ok = k.cfg.appendAbsoluteURI(s.uri[:0], r, s)
	if !ok {
		return false
	}
	sum := md5.Sum(s.uri)
	hex.Encode(s.url[:], sum[:])
	return true
}

// appendHeaderKey appends the header-list key (s.url must be set).
func (k *PageKeys) appendHeaderKey(dst []byte, s *keyScratch, r *http.Request) []byte {
	if k.hkp == "" { // the zero PageKeys
		dst = append(dst, headerKeyBase+"."...)
	}
	dst = append(dst, k.hkp...)
	dst = append(dst, s.url[:]...)
	return k.cfg.appendSuffix(dst, r)
}

// appendPageKey appends the page key for method (s.url and s.ctx, the
// digest input, must be set).
func (k *PageKeys) appendPageKey(dst []byte, s *keyScratch, r *http.Request, method string) []byte {
	if k.pkp == "" { // the zero PageKeys
		dst = append(dst, pageKeyBase+"."...)
	}
	dst = append(dst, k.pkp...)
	dst = append(dst, method...)
	dst = append(dst, '.')
	dst = append(dst, s.url[:]...)
	dst = append(dst, '.')
	if len(s.ctx) == 0 {
		dst = append(dst, emptyMD5...)
	} else {
		sum := md5.Sum(s.ctx)
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
	for part, i, ok := nextPart(vary, 0); ok; part, i, ok = nextPart(vary, i) {
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
// under the key scheme: the value as a netstring (6.1) or as it is
// (legacy), or the absent marker.
func (c *keyConfig) appendVaryValue(dst []byte, r *http.Request, name string, s *keyScratch) []byte {
	v, ok := metaValue(r, name, s)
	if !ok {
		if c.scheme == schemeDjango610 {
			return append(dst, "0:,"...)
		}
		return append(dst, "-,"...)
	}
	if c.scheme == schemeLegacy {
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
func metaValue(r *http.Request, name string, s *keyScratch) (string, bool) {
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

// schemeOf is HttpRequest.scheme.
func (c *keyConfig) schemeOf(r *http.Request) string {
	if c.proxyHeader != "" {
		if v, ok := requestHeader(r.Header, c.proxyHeader); ok {
			first, _, _ := strings.Cut(v, ",")
			if pyStrip(first) == c.proxyValue {
				return "https"
			}
			return "http"
		}
	}
	if r.TLS != nil {
		return "https"
	}
	if r.RequestURI == "" && r.URL != nil && r.URL.Scheme == "https" {
		return "https"
	}
	return "http"
}

// hostOf is HttpRequest.get_host() without ALLOWED_HOSTS: false when
// Django would raise DisallowedHost for the host's form.
func (c *keyConfig) hostOf(r *http.Request) (string, bool) {
	host := r.Host
	if c.forwardedHost {
		if v, ok := requestHeader(r.Header, "X-Forwarded-Host"); ok {
			host = v
		}
	}
	return host, validHost(host)
}

// validHost is Django's split_domain_port(host) giving a non-empty
// domain: host.lower() fully matches
// ([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(:[0-9]+)? and the domain is not
// just ".".
func validHost(host string) bool {
	domain := host
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		port := host[i+1:]
		if port == "" || !digits(port) {
			// Maybe an IPv6 address without brackets: invalid either way.
			return false
		}
		domain = host[:i]
	}
	if domain == "" {
		return false
	}
	if domain[0] == '[' {
		// \[[a-f0-9]*:[a-f0-9.:]+\]
		if len(domain) < 4 || domain[len(domain)-1] != ']' {
			return false
		}
		in := domain[1 : len(domain)-1]
		colon := strings.IndexByte(in, ':')
		if colon < 0 || colon == len(in)-1 {
			return false
		}
		for i := 0; i < len(in); i++ {
			c := lowerByte(in[i])
			hexDigit := '0' <= c && c <= '9' || 'a' <= c && c <= 'f'
			if !hexDigit && !(i >= colon && (c == ':' || c == '.')) {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(domain); i++ {
		c := lowerByte(domain[i])
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return domain != "."
}

// appendAbsoluteURI appends build_absolute_uri() for r; false when the
// host is invalid.
func (c *keyConfig) appendAbsoluteURI(dst []byte, r *http.Request, s *keyScratch) ([]byte, bool) {
	host, ok := c.hostOf(r)
	if !ok {
		return dst, false
	}
	dst = append(dst, c.schemeOf(r)...)
	dst = append(dst, "://"...)
	dst = append(dst, host...)

	path, raw, origin, query := requestTarget(r)
	if raw {
		s.path = appendUnquote(s.path[:0], path)
	} else {
		s.path = append(s.path[:0], path...)
	}
	start := len(dst)
	dst = appendEscapedPath(dst, s.path)
	escaped := dst[start:]
	// The key keeps the request target unchanged only when the target is
	// already in the form the key writes. Otherwise two different targets
	// (the raw and the percent-encoded form of a byte, an encoded slash, an
	// invalid UTF-8 byte and its "%25XX" spelling) share a key while a
	// handler sees them apart: mark the request ambiguous.
	switch {
	case !origin:
		s.ambiguous = true
	case raw:
		s.ambiguous = string(escaped) != path
	default:
		// A request made in Go: compare with the path a handler escapes.
		s.ambiguous = r.URL == nil || string(escaped) != r.URL.EscapedPath()
	}
	if !s.ambiguous {
		s.ambiguous = queryNormalized(query)
	}
	if !hasDotSegment(escaped) {
		if query != "" {
			dst = append(dst, '?')
			dst = appendIRIQuery(dst, query)
		}
		return dst, true
	}
	// urljoin(scheme://host + path, "//" + full_path): resolve the dot
	// segments; the query ends at the first "#", which starts a fragment.
	s.ambiguous = true
	resolved := resolveDotSegments(s.name[:0], escaped)
	s.name = resolved
	dst = append(dst[:start], resolved...)
	if query != "" {
		q := appendIRIQuery(s.ctx[:0], query)
		s.ctx = q[:0]
		frag := []byte(nil)
		if i := indexByte(q, '#'); i >= 0 {
			q, frag = q[:i], q[i+1:]
		}
		if len(q) > 0 {
			dst = append(dst, '?')
			dst = append(dst, q...)
		}
		if len(frag) > 0 {
			dst = append(dst, '#')
			dst = append(dst, frag...)
		}
	}
	return dst, true
}

// queryNormalized reports whether iri_to_uri changes the raw query q: a
// byte beyond ASCII (read as ISO-8859-1 for the key, as UTF-8 by
// url.ParseQuery) or an ASCII byte it percent-encodes (" < > \ ^ ` { | }
// and the like, whose %XX form gives the same key).
func queryNormalized(q string) bool {
	for i := 0; i < len(q); i++ {
		if !isQuerySafe(q[i]) {
			return true
		}
	}
	return false
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// requestTarget returns the request's path and raw query. From
// r.RequestURI (a server request) the path is still percent-encoded
// (raw=true); from r.URL it is decoded. origin is false for a target not in
// origin form ("/path?query"): the absolute form (http://host/path?q),
// whose scheme and host the key does not keep, or "*".
func requestTarget(r *http.Request) (path string, raw, origin bool, query string) {
	uri := r.RequestURI
	if uri == "" {
		if r.URL == nil {
			return "", false, false, ""
		}
		return r.URL.Path, false, true, r.URL.RawQuery
	}
	origin = uri[0] == '/'
	if !origin {
		// Absolute form (http://host/path?q), or "*".
		if i := strings.Index(uri, "://"); i >= 0 {
			rest := uri[i+3:]
			j := strings.IndexAny(rest, "/?")
			if j < 0 {
				return "", true, false, ""
			}
			uri = rest[j:]
		}
	}
	path, query, _ = strings.Cut(uri, "?")
	return path, true, origin, query
}

// appendUnquote appends Python's unquote_to_bytes(s): %XX sequences are
// decoded, anything else (including a % not followed by two hex digits) is
// kept.
func appendUnquote(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			dst = append(dst, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		dst = append(dst, s[i])
	}
	return dst
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

const upperHex = "0123456789ABCDEF"

func appendPct(dst []byte, b byte) []byte {
	return append(dst, '%', upperHex[b>>4], upperHex[b&15])
}

// Bit sets of the ASCII bytes Python's quote keeps: letters, digits and
// "_.-~" always, plus the safe argument. Bit b of lo is byte b, bit b of hi
// is byte 64+b. Path: escape_uri_path's safe="/:@&+$,-_.!~*'()". Query:
// iri_to_uri's safe="/#%[]=:;$&()+,!?*@'~". TestQuoteSafeSets checks them
// against those lists.
const (
	pathSafeLo  uint64 = 0x7ffffd200000000
	pathSafeHi  uint64 = 0x47fffffe87ffffff
	querySafeLo uint64 = 0xaffffffa00000000
	querySafeHi uint64 = 0x47fffffeafffffff
)

// isPathSafe reports whether escape_uri_path keeps b.
func isPathSafe(b byte) bool { return inSet(b, pathSafeLo, pathSafeHi) }

// isQuerySafe reports whether iri_to_uri keeps b.
func isQuerySafe(b byte) bool { return inSet(b, querySafeLo, querySafeHi) }

func inSet(b byte, lo, hi uint64) bool {
	switch {
	case b < 64:
		return lo>>b&1 != 0
	case b < 128:
		return hi>>(b-64)&1 != 0
	}
	return false
}

// appendEscapedPath appends Django's escape_uri_path(request.path) for the
// decoded path bytes p: request.path is "/" + p with its first "/" removed
// (p itself when it starts with "/"; "/" when empty), invalid UTF-8 bytes
// are first re-percent-encoded (repercent_broken_unicode), and the result is
// quoted.
func appendEscapedPath(dst []byte, p []byte) []byte {
	if len(p) == 0 || p[0] != '/' {
		dst = append(dst, '/')
		if i := indexByte(p, '/'); i >= 0 {
			dst = appendQuotedPath(dst, p[:i])
			p = p[i+1:]
		}
	}
	return appendQuotedPath(dst, p)
}

func appendQuotedPath(dst []byte, p []byte) []byte {
	for i := 0; i < len(p); {
		b := p[i]
		if b < utf8.RuneSelf {
			if isPathSafe(b) {
				dst = append(dst, b)
			} else {
				dst = appendPct(dst, b)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(p[i:])
		if r == utf8.RuneError && n == 1 {
			// repercent_broken_unicode gives "%XX", whose % quote escapes.
			dst = append(dst, "%25"...)
			dst = append(dst, upperHex[b>>4], upperHex[b&15])
			i++
			continue
		}
		for _, c := range p[i : i+n] {
			dst = appendPct(dst, c)
		}
		i += n
	}
	return dst
}

// appendIRIQuery appends iri_to_uri(QUERY_STRING): each byte is an
// ISO-8859-1 character, UTF-8-encoded and quoted.
func appendIRIQuery(dst []byte, q string) []byte {
	for i := 0; i < len(q); i++ {
		b := q[i]
		switch {
		case b >= 0x80:
			dst = appendPct(dst, 0xc0|b>>6)
			dst = appendPct(dst, 0x80|b&0x3f)
		case isQuerySafe(b):
			dst = append(dst, b)
		default:
			dst = appendPct(dst, b)
		}
	}
	return dst
}

// hasDotSegment reports whether the escaped path contains "/./" or "/../",
// which make build_absolute_uri use urljoin.
func hasDotSegment(p []byte) bool {
	for i := 0; i+2 < len(p); i++ {
		if p[i] == '/' && p[i+1] == '.' {
			if p[i+2] == '/' || i+3 < len(p) && p[i+2] == '.' && p[i+3] == '/' {
				return true
			}
		}
	}
	return false
}

// resolveDotSegments appends the path urljoin produces for an absolute
// path p: split on "/", ".." pops a segment (none at the root), "." is
// dropped, a trailing "." or ".." leaves a trailing "/"; an empty result is
// "/", and a result not starting with "/" gets one.
func resolveDotSegments(dst []byte, p []byte) []byte {
	start := len(dst)
	// Segment boundaries: collect the kept segments' spans.
	type span struct{ i, j int }
	var buf [32]span
	kept := buf[:0]
	last := ""
	for i := 0; i <= len(p); {
		j := i + indexByte(p[i:], '/')
		if j < i {
			j = len(p)
		}
		seg := p[i:j]
		switch string(seg) {
		case "..":
			if len(kept) > 0 {
				kept = kept[:len(kept)-1]
			}
		case ".":
		default:
			kept = append(kept, span{i, j})
		}
		last = string(seg)
		i = j + 1
	}
	for n, sp := range kept {
		if n > 0 {
			dst = append(dst, '/')
		}
		dst = append(dst, p[sp.i:sp.j]...)
	}
	if last == "." || last == ".." {
		if len(kept) > 0 {
			dst = append(dst, '/')
		}
	}
	if len(dst) == start {
		return append(dst, '/')
	}
	if dst[start] != '/' {
		dst = append(dst, 0)
		copy(dst[start+1:], dst[start:])
		dst[start] = '/'
	}
	return dst
}
