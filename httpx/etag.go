package httpx

import "github.com/fragcache/fragcache/internal/httpheader"

// QuoteETag returns s unchanged if it is already an entity tag
// (`"…"` or `W/"…"`), else s wrapped in double quotes. Like Django's
// quote_etag it escapes nothing: `"a` becomes `""a"`, and a lowercase
// `w/"a"` is not recognised as weak and becomes `"w/"a""`.
func QuoteETag(s string) string {
	if httpheader.IsETag(s) {
		return s
	}
	return `"` + s + `"`
}

// ParseETags parses the value of an If-Match or If-None-Match header as
// Django's parse_etags does. A value that is "*" after stripping gives
// []string{"*"}. Otherwise the comma-separated parts are stripped, and only
// those that are entity tags (`"…"` or `W/"…"`) are kept, in order;
// unquoted, lowercase-w/ and otherwise malformed parts are dropped silently.
// Commas inside quotes are not special (`"a,b"` gives no tag at all). The
// result is nil when no tag is left.
func ParseETags(s string) []string {
	if httpheader.Strip(s) == "*" {
		return []string{"*"}
	}
	var tags []string
	for part, i, ok := httpheader.NextPart(s, 0); ok; part, i, ok = httpheader.NextPart(s, i) {
		if httpheader.IsETag(part) {
			tags = append(tags, part)
		}
	}
	return tags
}
