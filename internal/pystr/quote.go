package pystr

import (
	"bytes"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"
)

const lowerhex = "0123456789abcdef"

// AppendQuote appends Python's repr() of the str s to dst, following
// CPython's unicode_repr, and returns the extended buffer. Bytes of s that are
// not valid UTF-8 are read as surrogate escapes and printed as \udcNN (see the
// package documentation). It is AppendRepr for strings, without the boxing.
func AppendQuote(dst []byte, s string) []byte {
	return appendQuoted(dst, s)
}

// AppendQuoteBytes appends Python's repr() of the bytes b to dst (b'...'
// with CPython's bytes_repr escapes) and returns the extended buffer.
func AppendQuoteBytes(dst []byte, b []byte) []byte {
	return appendBytes(dst, b)
}

// pickQuote returns the quote CPython uses: ' unless the text has ' and no ".
func pickQuote(hasSingle, hasDouble bool) byte {
	if hasSingle && !hasDouble {
		return '"'
	}
	return '\''
}

func appendQuoted(dst []byte, s string) []byte {
	quote := pickQuote(strings.IndexByte(s, '\'') >= 0, strings.IndexByte(s, '"') >= 0)
	dst = append(dst, quote)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			dst = appendASCII(dst, c, quote)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			// surrogateescape: the byte stands for U+DC00+byte.
			dst = append(dst, '\\', 'u', 'd', 'c', lowerhex[c>>4], lowerhex[c&0xf])
			i++
			continue
		}
		if unicode.IsPrint(r) {
			dst = append(dst, s[i:i+size]...)
		} else {
			dst = appendEscapedRune(dst, r)
		}
		i += size
	}
	return append(dst, quote)
}

// appendASCII appends one ASCII character as it appears inside a str or
// bytes repr delimited by quote.
func appendASCII(dst []byte, c, quote byte) []byte {
	switch {
	case c == quote || c == '\\':
		return append(dst, '\\', c)
	case c == '\t':
		return append(dst, '\\', 't')
	case c == '\n':
		return append(dst, '\\', 'n')
	case c == '\r':
		return append(dst, '\\', 'r')
	case c < ' ' || c >= 0x7f:
		return append(dst, '\\', 'x', lowerhex[c>>4], lowerhex[c&0xf])
	}
	return append(dst, c)
}

// appendEscapedRune appends \xNN, \uNNNN or \UNNNNNNNN for a non-printable,
// non-ASCII code point.
func appendEscapedRune(dst []byte, r rune) []byte {
	switch {
	case r <= 0xff:
		return append(dst, '\\', 'x', lowerhex[r>>4], lowerhex[r&0xf])
	case r <= 0xffff:
		return append(dst, '\\', 'u',
			lowerhex[r>>12&0xf], lowerhex[r>>8&0xf], lowerhex[r>>4&0xf], lowerhex[r&0xf])
	}
	dst = append(dst, '\\', 'U')
	for shift := 28; shift >= 0; shift -= 4 {
		dst = append(dst, lowerhex[r>>uint(shift)&0xf])
	}
	return dst
}

func appendBytes(dst []byte, b []byte) []byte {
	quote := pickQuote(bytes.IndexByte(b, '\'') >= 0, bytes.IndexByte(b, '"') >= 0)
	dst = append(dst, 'b', quote)
	for _, c := range b {
		dst = appendASCII(dst, c, quote)
	}
	return append(dst, quote)
}

// appendByteArray formats a byte array (e.g. [16]byte) as bytes.
func appendByteArray(dst []byte, rv reflect.Value) []byte {
	b := make([]byte, rv.Len())
	for i := range b {
		b[i] = byte(rv.Index(i).Uint())
	}
	return appendBytes(dst, b)
}
