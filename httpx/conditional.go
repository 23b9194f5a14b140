package httpx

import (
	"net/http"
	"time"
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
	return evaluate(r, etag, pyTimestamp(lastModified), time.Now())
}

// pyTimestamp is Django's int(dt.timestamp()) for a set time, 0 for none.
func pyTimestamp(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	sec := t.Unix()
	if sec < 0 && t.Nanosecond() > 0 {
		sec++ // int() truncates toward zero
	}
	return sec
}

// evaluate is get_conditional_response without the response; lm is epoch
// seconds, 0 meaning none; now decides the century of two-digit years.
func evaluate(r *http.Request, etag string, lm int64, now time.Time) int {
	ifMatch, _ := requestHeader(r.Header, hIfMatch)
	ifNoneMatch, _ := requestHeader(r.Header, hIfNoneMatch)
	im, inm := etagList(ifMatch), etagList(ifNoneMatch)
	imEmpty, inmEmpty := im.empty(), inm.empty()
	safe := r.Method == http.MethodGet || r.Method == http.MethodHead

	// Step 1: If-Match.
	if !imEmpty && !ifMatchPasses(etag, im) {
		return http.StatusPreconditionFailed
	}
	// Step 2: If-Unmodified-Since.
	if imEmpty {
		if ius := requestDate(r, hIfUnmodifiedSince, now); ius != 0 && !(lm != 0 && lm <= ius) {
			return http.StatusPreconditionFailed
		}
	}
	// Step 3: If-None-Match.
	if !inmEmpty && !ifNoneMatchPasses(etag, inm) {
		if safe {
			return http.StatusNotModified
		}
		return http.StatusPreconditionFailed
	}
	// Step 4: If-Modified-Since.
	if inmEmpty && safe {
		if ims := requestDate(r, hIfModifiedSince, now); ims != 0 && lm != 0 && lm <= ims {
			return http.StatusNotModified
		}
	}
	return 0
}

// requestDate is `value and parse_http_date_safe(value)`: 0 when the header
// is absent, empty or not a date (and, as in Django, for the epoch itself).
func requestDate(r *http.Request, key string, now time.Time) int64 {
	v, _ := requestHeader(r.Header, key)
	if v == "" {
		return 0
	}
	sec, ok := parseHTTPDateSafeAt(v, now)
	if !ok {
		return 0
	}
	return sec
}

// copyNotModifiedHeaders copies into dst the headers Django's _not_modified
// keeps from the full response for the 304: Cache-Control,
// Content-Location, Date, ETag, Expires, Last-Modified, Vary, and all
// cookies (Set-Cookie).
func copyNotModifiedHeaders(dst, src http.Header) {
	keys := [...]string{hCacheControl, hContentLocation, hDate, hETag, hExpires, hLastModified, hVary, hSetCookie}
	for _, k := range keys {
		if v, ok := src[k]; ok {
			dst[k] = v
		} else if k == hETag {
			if v, ok := src["ETag"]; ok {
				dst[k] = v
			}
		}
	}
}

// writePreconditionFailed writes Django's _precondition_failed response: a
// 412 with an empty body and only Content-Type: text/html; charset=utf-8.
func writePreconditionFailed(w http.ResponseWriter) {
	w.Header()[hContentType] = []string{"text/html; charset=utf-8"}
	w.WriteHeader(http.StatusPreconditionFailed)
}
