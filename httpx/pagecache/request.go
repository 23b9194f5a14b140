package pagecache

import (
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"time"
)

// keyInputs is what the keys of one request are made of, and the buffers
// they are built in: the absolute URI and its digest, the Vary values of a
// learned header list, and the two keys. One is taken from a pool per
// request.
type keyInputs struct {
	uri  []byte // absolute URI
	path []byte // decoded path
	vary []byte // the digest input of the Vary values
	name []byte // header name being converted
	hkey []byte // header-list key
	pkey []byte // page key
	// gkey and headKey are the GET and HEAD page keys a remembered header
	// list implies, fetched with it (single-read hits).
	gkey, headKey []byte
	// url is the hex md5 of the absolute URI.
	url [2 * md5.Size]byte
	// ambiguous is set by appendAbsoluteURI when requests that a handler
	// may tell apart could share the URI: the key does not keep the
	// request target byte for byte (a decoded %XX, an encoded slash, a byte
	// that is not UTF-8, a query byte iri_to_uri encodes or reads as
	// ISO-8859-1, resolved dot segments, an absolute-form target).
	ambiguous bool
	// repeated is set by appendVaryValue when a header it read was sent on
	// more than one line (joined with "," for the key, parsed line by line
	// by net/http).
	repeated bool
	// lookupStart is when the lookup began, with WithServerTiming.
	lookupStart time.Time
}

// digestURL computes s.uri and s.url for r; false for an invalid host.
func (s *keyInputs) digestURL(c *keyConfig, r *http.Request) bool {
	var ok bool
	s.uri, ok = c.appendAbsoluteURI(s.uri[:0], r, s)
	if !ok {
		return false
	}
	sum := md5.Sum(s.uri)
	hex.Encode(s.url[:], sum[:])
	return true
}

// setVary computes s.vary, the digest input of r's values of the headers a
// learned header list names, and sets s.repeated when one of them came on
// several lines. It reports whether the list names Authorization.
func (s *keyInputs) setVary(c *keyConfig, r *http.Request, names headerNames) (namesAuthorization bool) {
	s.vary, s.repeated = s.vary[:0], false
	for name, ok := names.next(); ok; name, ok = names.next() {
		s.vary = c.appendVaryValue(s.vary, r, name, s)
		namesAuthorization = namesAuthorization || name == varyAuthorization
	}
	return namesAuthorization
}
