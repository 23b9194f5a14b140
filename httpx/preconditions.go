package httpx

import (
	"net/http"
	"time"

	"github.com/fragcache/fragcache/internal/httpheader"
)

// EvaluatePreconditions evaluates the request's conditional headers against
// a resource with the given ETag and Last-Modified time, as Django's
// get_conditional_response does (RFC 9110 §13.2.2 order). It returns
// http.StatusPreconditionFailed (412), http.StatusNotModified (304), or 0
// when the request should be served normally. It does not allocate.
//
// etag is the response's ETag header value, used verbatim ("" means none;
// an unquoted value never matches). A zero lastModified, or one at the Unix
// epoch (Django's falsy 0), means none; it is compared in whole seconds,
// truncated toward zero as Python's int(dt.timestamp()).
//
//  1. If-Match (its parsed tag list non-empty) fails → 412. With no ETag it
//     fails; "*" passes; a weak ETag fails; otherwise exact membership.
//  2. If-Unmodified-Since, only without If-Match tags, when it parses: a
//     resource without Last-Modified, or modified later, → 412.
//  3. If-None-Match (non-empty) matches, by weak comparison or "*" with an
//     ETag present → 304 for GET and HEAD, 412 for other methods.
//  4. If-Modified-Since, only without If-None-Match tags, only for GET and
//     HEAD, when it parses and Last-Modified is set and not later → 304.
//
// Malformed tags and unparsable dates are ignored. The caller applies
// Django's first rule: a response whose status is not 2xx is never turned
// into 304 or 412. Django logs a warning for every 412; this package logs
// nothing.
func EvaluatePreconditions(r *http.Request, etag string, lastModified time.Time) int {
	return httpheader.Evaluate(r, etag, httpheader.Timestamp(lastModified), time.Now())
}
