package httpheader

import (
	"net/http"
	"strings"
)

// This file holds the character-level rules of Python's str methods, applied
// to header values as ISO-8859-1 text (see the package documentation).

// IsSpace reports whether b, read as an ISO-8859-1 character, is
// whitespace for Python's str.isspace (and so for str.strip()).
func IsSpace(b byte) bool {
	switch b {
	case '\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f, ' ', 0x85, 0xa0:
		return true
	}
	return false
}

// IsIntSpace reports whether int() skips b around a number. int() strips
// Python whitespace except the separators 0x1c-0x1f.
func IsIntSpace(b byte) bool {
	return IsSpace(b) && (b < 0x1c || b > 0x1f)
}

// Strip is Python's str.strip() with no argument.
func Strip(s string) string {
	i, j := 0, len(s)
	for i < j && IsSpace(s[i]) {
		i++
	}
	for j > i && IsSpace(s[j-1]) {
		j--
	}
	return s[i:j]
}

// LowerByte is Python's str.lower() of one ISO-8859-1 character: A-Z and
// À-Þ (except ×) map to their lowercase forms, every other byte is kept.
func LowerByte(b byte) byte {
	if 'A' <= b && b <= 'Z' || 0xc0 <= b && b <= 0xde && b != 0xd7 {
		return b + 0x20
	}
	return b
}

// Lower is Python's str.lower() on ISO-8859-1 text. It does not allocate
// when s has no uppercase character.
func Lower(s string) string {
	i := 0
	for i < len(s) && LowerByte(s[i]) == s[i] {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		b[i] = LowerByte(b[i])
	}
	return string(b)
}

// LowerEqual reports whether Lower(a) == Lower(b), without allocating.
func LowerEqual(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if LowerByte(a[i]) != LowerByte(b[i]) {
			return false
		}
	}
	return true
}

// IsWordByte reports whether b, read as an ISO-8859-1 character, matches
// the \w class of Python's re module on str patterns (alphanumerics as
// str.isalnum() sees them, and '_').
func IsWordByte(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9', b == '_':
		return true
	case b == 0xaa, b == 0xb2, b == 0xb3, b == 0xb5, b == 0xb9, b == 0xba,
		0xbc <= b && b <= 0xbe:
		return true
	case 0xc0 <= b && b != 0xd7 && b != 0xf7:
		return true
	}
	return false
}

// NextPart is one step of Django 6.1's split_header_value(value, ","): it
// returns the next stripped, non-empty comma-separated part of s[i:] and the
// index to continue from. ok is false when no part is left.
func NextPart(s string, i int) (part string, next int, ok bool) {
	for i <= len(s) {
		j := strings.IndexByte(s[i:], ',')
		if j < 0 {
			j = len(s)
		} else {
			j += i
		}
		part = Strip(s[i:j])
		i = j + 1
		if part != "" {
			return part, i, true
		}
	}
	return "", i, false
}

// RequestHeader returns a request header as Django's request.META holds
// it: the lines of a repeated header joined with ",", as the WSGI and ASGI
// handlers do. present is false when the header is absent.
func RequestHeader(h http.Header, key string) (value string, present bool) {
	v, ok := h[key]
	switch {
	case !ok || len(v) == 0:
		return "", false
	case len(v) == 1:
		return v[0], true
	}
	return strings.Join(v, ","), true
}

// ResponseHeader returns a response header, the lines of a repeated header
// joined with ", ". present is false when the header is absent.
func ResponseHeader(h http.Header, key string) (value string, present bool) {
	v, ok := h[key]
	switch {
	case !ok || len(v) == 0:
		return "", false
	case len(v) == 1:
		return v[0], true
	}
	return strings.Join(v, ", "), true
}

// ETagHeader returns the response's ETag (the first line). It also finds
// the header stored under the non-canonical key "ETag", a spelling Go code
// uses to keep the usual capitalisation on the wire.
func ETagHeader(h http.Header) (value string, present bool) {
	v, ok := h["Etag"]
	if !ok {
		v, ok = h["ETag"]
	}
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[0], true
}

// keys used with direct map access; they are already canonical.
const (
	CacheControl      = "Cache-Control"
	ContentLocation   = "Content-Location"
	ContentType       = "Content-Type"
	Date              = "Date"
	ETag              = "Etag"
	Expires           = "Expires"
	IfMatch           = "If-Match"
	IfModifiedSince   = "If-Modified-Since"
	IfNoneMatch       = "If-None-Match"
	IfUnmodifiedSince = "If-Unmodified-Since"
	LastModified      = "Last-Modified"
	SetCookie         = "Set-Cookie"
	Vary              = "Vary"
)
