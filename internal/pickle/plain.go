package pickle

import "unicode/utf8"

// IsCanonicalInt reports whether v is an integer exactly as Python's
// str(int) writes it (an optional "-", no leading zeros, no "+" or spaces),
// short enough for Python's int() (4300 digits by default). Django's
// memcached and Redis backends store Python ints in this form, unpickled.
func IsCanonicalInt(v []byte) bool {
	d := v
	if len(d) > 0 && d[0] == '-' {
		d = d[1:]
	}
	if len(d) == 0 || len(d) > 4300 || d[0] == '0' && (len(d) > 1 || len(v) > 1) {
		return false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// PlainBytes returns the bytes a cache hands out for v when it holds a
// plain value Django stores in caches: the UTF-8 text of a str or
// SafeString, the contents of bytes or bytearray, the decimal digits of an
// int. ok is false for other kinds (bool, float, None).
func (v Value) PlainBytes() (b []byte, ok bool) {
	switch v.Kind {
	case KindStr:
		return []byte(v.Str), true
	case KindBytes, KindByteArray:
		if v.Bytes == nil {
			return []byte{}, true
		}
		return v.Bytes, true
	case KindInt:
		if v.Int == nil {
			return []byte("0"), true
		}
		return v.Int.Append(nil, 10), true
	}
	return nil, false
}

// PlainPayload returns, without copying, the contents of a pickle that is
// one str or bytes value as Python writes it: an optional PROTO (2 to 5),
// an optional FRAME, one SHORT_BINUNICODE, BINUNICODE, BINUNICODE8,
// SHORT_BINBYTES, BINBYTES or BINBYTES8, an optional MEMOIZE, and STOP,
// with nothing after. A str's payload must be valid UTF-8 (Python's
// surrogates go to Decode). ok is false for every other pickle; Decode
// reads those. When ok, the result equals Decode(data)'s PlainBytes and
// aliases data.
func PlainPayload(data []byte) (payload []byte, ok bool) {
	p := data
	if len(p) >= 2 && p[0] == opProto {
		if p[1] < 2 || p[1] > highestProtocol {
			return nil, false
		}
		p = p[2:]
	}
	if len(p) >= 9 && p[0] == opFrame {
		if n := le(p[1:9]); n > uint64(len(p)-9) {
			return nil, false
		}
		p = p[9:]
	}
	if len(p) < 2 {
		return nil, false
	}
	var width int
	str := false
	switch p[0] {
	case opShortBinUnicode:
		width, str = 1, true
	case opBinUnicode:
		width, str = 4, true
	case opBinUnicode8:
		width, str = 8, true
	case opShortBinBytes:
		width = 1
	case opBinBytes:
		width = 4
	case opBinBytes8:
		width = 8
	default:
		return nil, false
	}
	p = p[1:]
	if len(p) < width {
		return nil, false
	}
	n := le(p[:width])
	p = p[width:]
	if n > uint64(len(p)) {
		return nil, false
	}
	payload, p = p[:n], p[n:]
	if len(p) > 0 && p[0] == opMemoize {
		p = p[1:]
	}
	if len(p) != 1 || p[0] != opStop {
		return nil, false
	}
	if str && !utf8.Valid(payload) {
		return nil, false
	}
	return payload, true
}

// le reads a little-endian unsigned integer of 1 to 8 bytes.
func le(b []byte) uint64 {
	var n uint64
	for i := len(b) - 1; i >= 0; i-- {
		n = n<<8 | uint64(b[i])
	}
	return n
}
