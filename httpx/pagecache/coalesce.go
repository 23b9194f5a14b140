package pagecache

import (
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
)

// Concurrent misses of one page are coalesced (flight.Group): the first
// request (the leader) runs the handler; the others wait for it and, if the
// leader's response was stored and their own page key under the learned
// header list is the leader's, are served that response. Otherwise they
// run the handler themselves: a response is never shared between requests
// whose Vary-listed headers differ, nor when it was not stored.

// flightResult is what a leader stored (nil: nothing).
type flightResult struct {
	method  string
	list    []string
	pageKey string
	entry   []byte
	// lastModified is the stored Last-Modified, Unix seconds (0: none).
	lastModified int64
}

// requestHeaderDigest is the md5 of every header of r (names sorted, each
// line kept) and its host: requests with any header differing get
// different digests, so that they are never coalesced before the page's
// Vary headers are known.
func requestHeaderDigest(r *http.Request) string {
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		names = append(names, k)
	}
	slices.Sort(names)
	h := md5.New()
	buf := make([]byte, 0, 256)
	buf = appendNetstring(buf, r.Host)
	for _, k := range names {
		vs := r.Header[k]
		buf = appendNetstring(buf, k)
		buf = appendNetstring(buf, strconv.Itoa(len(vs)))
		for _, v := range vs {
			buf = appendNetstring(buf, v)
		}
		_, _ = h.Write(buf)
		buf = buf[:0]
	}
	_, _ = h.Write(buf)
	return hex.EncodeToString(h.Sum(nil))
}

func appendNetstring(b []byte, s string) []byte {
	b = append(b, strconv.Itoa(len(s))...)
	b = append(b, ':')
	b = append(b, s...)
	return append(b, ',')
}
