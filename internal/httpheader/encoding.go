package httpheader

import "strings"

// Encoding is a content coding NegotiateEncoding chooses.
type Encoding uint8

// The codings, in the order httpx's encoding constants follow.
const (
	Identity Encoding = iota
	Gzip
	Brotli
)

// NegotiateEncoding chooses the content coding of a response from the
// request's Accept-Encoding header lines, among those offered (identity
// always is): Brotli when brotliOK and the header lists br with q > 0 and
// q(br) >= q(gzip) (or gzip is not offered), else Gzip when gzipOK and it
// lists gzip (or x-gzip) with q > 0, else Identity. Names are
// case-insensitive; an element without q= has q 1, one with a malformed q
// counts as refused; "*" is not a request for either coding, so a client
// never gets a coding it did not list. httpx.Compress and staticfiles'
// handler share this rule. It does not allocate.
func NegotiateEncoding(lines []string, brotliOK, gzipOK bool) Encoding {
	qgz, qbr := -1, -1
	for _, line := range lines {
		for len(line) > 0 {
			var elem string
			if i := strings.IndexByte(line, ','); i >= 0 {
				elem, line = line[:i], line[i+1:]
			} else {
				elem, line = line, ""
			}
			coding, params, _ := strings.Cut(elem, ";")
			coding = trimOWS(coding)
			var q int
			switch {
			case strings.EqualFold(coding, "gzip"), strings.EqualFold(coding, "x-gzip"):
				q = qOf(params)
				qgz = max(qgz, q)
			case strings.EqualFold(coding, "br"):
				q = qOf(params)
				qbr = max(qbr, q)
			}
		}
	}
	switch {
	case brotliOK && qbr > 0 && (qbr >= qgz || !gzipOK):
		return Brotli
	case gzipOK && qgz > 0:
		return Gzip
	}
	return Identity
}

// qOf returns the q parameter of an Accept-Encoding element's parameters
// in thousandths: 1000 without one, -1 when it is malformed.
func qOf(params string) int {
	q := 1000
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		name, value, ok := strings.Cut(p, "=")
		if !ok || !strings.EqualFold(trimOWS(name), "q") {
			continue
		}
		q = parseQ(trimOWS(value))
	}
	return q
}

// parseQ parses an RFC 9110 qvalue ("0", "0.5", "1.000") into thousandths,
// or -1.
func parseQ(s string) int {
	if s == "" || (s[0] != '0' && s[0] != '1') {
		return -1
	}
	v := int(s[0]-'0') * 1000
	if len(s) == 1 {
		return v
	}
	if s[1] != '.' || len(s) > 5 {
		return -1
	}
	scale := 100
	for i := 2; i < len(s); i++ {
		if !IsDigit(s[i]) {
			return -1
		}
		v += int(s[i]-'0') * scale
		scale /= 10
	}
	if v > 1000 {
		return -1
	}
	return v
}

// trimOWS strips spaces and tabs (HTTP's optional whitespace).
func trimOWS(s string) string {
	return strings.Trim(s, " \t")
}
