package httpx

import (
	"net/http"
	"strings"

	"github.com/fragcache/fragcache/internal/httpheader"
)

// PatchVaryHeaders adds headers to the Vary header as Django 6.1's
// patch_vary_headers does. The existing value is split on commas, each part
// stripped and empty parts dropped; each new header (stripped) whose
// lowercase form is not among the existing ones is appended, keeping its
// spelling. New headers are compared with the existing ones only, so
// PatchVaryHeaders(h, "Accept", "accept") on an empty header gives
// "Accept, accept". Blank new headers are ignored. If "*" is among the result, Vary becomes exactly "*";
// otherwise the parts are joined with ", ". The header is always set, to ""
// when there is nothing to list.
func PatchVaryHeaders(h http.Header, headers ...string) {
	existing, _ := httpheader.ResponseHeader(h, httpheader.Vary)
	var b strings.Builder
	star := false
	add := func(part string) {
		if part == "*" {
			star = true
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(part)
	}
	for part, i, ok := httpheader.NextPart(existing, 0); ok; part, i, ok = httpheader.NextPart(existing, i) {
		add(part)
	}
	for _, nh := range headers {
		nh = httpheader.Strip(nh)
		if nh != "" && !hasPart(existing, nh) {
			add(nh)
		}
	}
	if star {
		h[httpheader.Vary] = []string{"*"}
		return
	}
	h[httpheader.Vary] = []string{b.String()}
}

// hasPart reports whether one of the stripped comma-separated parts of list
// equals name case-insensitively.
func hasPart(list, name string) bool {
	for part, i, ok := httpheader.NextPart(list, 0); ok; part, i, ok = httpheader.NextPart(list, i) {
		if httpheader.LowerEqual(part, name) {
			return true
		}
	}
	return false
}

// HasVaryHeader reports whether the Vary header lists name, as Django 6.1's
// has_vary_header does: false without a Vary header; otherwise a
// case-insensitive comparison of the stripped name with each stripped part
// (so " * " lists "*").
func HasVaryHeader(h http.Header, name string) bool {
	v, ok := httpheader.ResponseHeader(h, httpheader.Vary)
	if !ok {
		return false
	}
	return hasPart(v, httpheader.Strip(name))
}
