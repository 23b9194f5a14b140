package httpx

import "strings"

// isETag reports whether s matches Django's ETAG_MATCH: an optional
// uppercase "W/", then a double-quoted string without inner double quotes,
// covering the whole of s.
func isETag(s string) bool {
	s = strings.TrimPrefix(s, "W/")
	return len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' &&
		strings.IndexByte(s[1:len(s)-1], '"') < 0
}

// QuoteETag returns s unchanged if it is already an entity tag
// (`"…"` or `W/"…"`), else s wrapped in double quotes. Like Django's
// quote_etag it escapes nothing: `"a` becomes `""a"`, and a lowercase
// `w/"a"` is not recognised as weak and becomes `"w/"a""`.
func QuoteETag(s string) string {
	if isETag(s) {
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
	if pyStrip(s) == "*" {
		return []string{"*"}
	}
	var tags []string
	for part, i, ok := nextPart(s, 0); ok; part, i, ok = nextPart(s, i) {
		if isETag(part) {
			tags = append(tags, part)
		}
	}
	return tags
}

// etagList is a parsed If-Match or If-None-Match header, evaluated without
// allocating.
type etagList string

// empty reports whether the header holds no usable tag (Django: the parsed
// list is empty, so the condition is ignored).
func (l etagList) empty() bool {
	s := string(l)
	if pyStrip(s) == "*" {
		return false
	}
	for part, i, ok := nextPart(s, 0); ok; part, i, ok = nextPart(s, i) {
		if isETag(part) {
			return false
		}
	}
	return true
}

// star reports whether the parsed list is exactly ["*"].
func (l etagList) star() bool { return pyStrip(string(l)) == "*" }

// containsStrong reports whether target is one of the tags (exact string
// membership, Django's `target_etag in etags`).
func (l etagList) containsStrong(target string) bool {
	s := string(l)
	for part, i, ok := nextPart(s, 0); ok; part, i, ok = nextPart(s, i) {
		if isETag(part) && part == target {
			return true
		}
	}
	return false
}

// containsWeak reports whether target matches one of the tags after
// Python's strip("W/") on both sides, which removes the characters 'W' and
// '/' from both ends.
func (l etagList) containsWeak(target string) bool {
	target = stripWSlash(target)
	s := string(l)
	for part, i, ok := nextPart(s, 0); ok; part, i, ok = nextPart(s, i) {
		if isETag(part) && stripWSlash(part) == target {
			return true
		}
	}
	return false
}

// stripWSlash is Python's s.strip("W/").
func stripWSlash(s string) string {
	return strings.Trim(s, "W/")
}

// ifMatchPasses is Django's _if_match_passes.
func ifMatchPasses(target string, l etagList) bool {
	switch {
	case target == "":
		// No ETag: there can't be a match.
		return false
	case l.star():
		// Any current representation, even a weak one, matches "*".
		return true
	case strings.HasPrefix(target, "W/"):
		// A weak ETag can never strongly match another ETag.
		return false
	}
	return l.containsStrong(target)
}

// ifNoneMatchPasses is Django's _if_none_match_passes.
func ifNoneMatchPasses(target string, l etagList) bool {
	switch {
	case target == "":
		return true
	case l.star():
		return false
	}
	return !l.containsWeak(target)
}
