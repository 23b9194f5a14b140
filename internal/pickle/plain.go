package pickle

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
