package httpheader

import (
	"strconv"
	"strings"
)

// PreferredEncoding chooses the content coding of a response from the
// request's Accept-Encoding values (all of its header lines) and the codings
// on offer: "br" when br is offered and q(br) > 0 and q(br) >= q(gzip), else
// "gzip" when it is offered and q(gzip) > 0, else "" (identity). A coding's
// q is that of its own entry (names are case-insensitive), else that of "*",
// else 0; an entry without q= has q 1, one with an invalid q is ignored.
func PreferredEncoding(values []string, brOffered, gzipOffered bool) string {
	qbr, qgz, qany := -1.0, -1.0, -1.0
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			q := 1.0
			valid := true
			for p := range strings.SplitSeq(params, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
					continue
				}
				f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
				if err != nil || f < 0 || f > 1 {
					valid = false
					break
				}
				q = f
			}
			if !valid {
				continue
			}
			switch coding {
			case "br":
				qbr = max(qbr, q)
			case "gzip", "x-gzip":
				qgz = max(qgz, q)
			case "*":
				qany = max(qany, q)
			}
		}
	}
	if qbr < 0 {
		qbr = max(qany, 0)
	}
	if qgz < 0 {
		qgz = max(qany, 0)
	}
	if brOffered && qbr > 0 && (qbr >= qgz || !gzipOffered) {
		return "br"
	}
	if gzipOffered && qgz > 0 {
		return "gzip"
	}
	return ""
}
