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
