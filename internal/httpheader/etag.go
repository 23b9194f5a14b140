package httpheader

import (
	"strings"
)

// IsETag reports whether s matches Django's ETAG_MATCH: an optional
// uppercase "W/", then a double-quoted string without inner double quotes,
// covering the whole of s.
func IsETag(s string) bool {
	s = strings.TrimPrefix(s, "W/")
	return len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' &&
		strings.IndexByte(s[1:len(s)-1], '"') < 0
}

// ETagList is a parsed If-Match or If-None-Match header, evaluated without
// allocating.
type ETagList string

// empty reports whether the header holds no usable tag (Django: the parsed
// list is empty, so the condition is ignored).
func (l ETagList) Empty() bool {
	s := string(l)
	if Strip(s) == "*" {
		return false
	}
	for part, i, ok := NextPart(s, 0); ok; part, i, ok = NextPart(s, i) {
		if IsETag(part) {
			return false
		}
	}
	return true
}

// star reports whether the parsed list is exactly ["*"].
func (l ETagList) Star() bool { return Strip(string(l)) == "*" }

// containsStrong reports whether target is one of the tags (exact string
// membership, Django's `target_etag in etags`).
func (l ETagList) ContainsStrong(target string) bool {
	s := string(l)
	for part, i, ok := NextPart(s, 0); ok; part, i, ok = NextPart(s, i) {
		if IsETag(part) && part == target {
			return true
		}
	}
	return false
}

// containsWeak reports whether target matches one of the tags after
// Python's strip("W/") on both sides, which removes the characters 'W' and
// '/' from both ends.
func (l ETagList) ContainsWeak(target string) bool {
	target = stripWSlash(target)
	s := string(l)
	for part, i, ok := NextPart(s, 0); ok; part, i, ok = NextPart(s, i) {
		if IsETag(part) && stripWSlash(part) == target {
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
func ifMatchPasses(target string, l ETagList) bool {
	switch {
	case target == "":
		// No ETag: there can't be a match.
		return false
	case l.Star():
		// Any current representation, even a weak one, matches "*".
		return true
	case strings.HasPrefix(target, "W/"):
		// A weak ETag can never strongly match another ETag.
		return false
	}
	return l.ContainsStrong(target)
}

// ifNoneMatchPasses is Django's _if_none_match_passes.
func ifNoneMatchPasses(target string, l ETagList) bool {
	switch {
	case target == "":
		return true
	case l.Star():
		return false
	}
	return !l.ContainsWeak(target)
}
