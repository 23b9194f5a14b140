package pagecache

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/fragcache/fragcache/internal/httpheader"
)

// This file ports Django's request.build_absolute_uri() for the page keys:
// scheme and host, escape_uri_path of the decoded path, iri_to_uri of the
// raw query, and urljoin's dot-segment resolution. It also tells when the
// key would not keep the request target byte for byte.

// schemeOf is HttpRequest.scheme.
func (c *keyConfig) schemeOf(r *http.Request) string {
	if c.proxyHeader != "" {
		if v, ok := httpheader.RequestHeader(r.Header, c.proxyHeader); ok {
			first, _, _ := strings.Cut(v, ",")
			if httpheader.Strip(first) == c.proxyValue {
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
		if v, ok := httpheader.RequestHeader(r.Header, "X-Forwarded-Host"); ok {
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
		if port == "" || !httpheader.Digits(port) {
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
			c := httpheader.LowerByte(in[i])
			hexDigit := '0' <= c && c <= '9' || 'a' <= c && c <= 'f'
			if !hexDigit && !(i >= colon && (c == ':' || c == '.')) {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(domain); i++ {
		c := httpheader.LowerByte(domain[i])
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return domain != "."
}

// appendAbsoluteURI appends build_absolute_uri() for r; false when the
// host is invalid.
func (c *keyConfig) appendAbsoluteURI(dst []byte, r *http.Request, s *keyInputs) ([]byte, bool) {
	host, ok := c.hostOf(r)
	if !ok {
		return dst, false
	}
	dst = append(dst, c.schemeOf(r)...)
	dst = append(dst, "://"...)
	dst = append(dst, host...)

	path, raw, origin, query := requestTarget(r)
	if raw {
		s.path = httpheader.AppendUnquote(s.path[:0], path)
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
		q := appendIRIQuery(s.vary[:0], query)
		s.vary = q[:0]
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

const upperHex = "0123456789ABCDEF"

func appendPct(dst []byte, b byte) []byte {
	return append(dst, '%', upperHex[b>>4], upperHex[b&15])
}

// Bit sets of the ASCII bytes Python's quote keeps: letters, httpheader.Digits and
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
