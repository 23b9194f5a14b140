package httpheader

import (
	"net/http"
	"time"
)

// Timestamp is Django's int(dt.timestamp()) for a set time, 0 for none.
func Timestamp(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	sec := t.Unix()
	if sec < 0 && t.Nanosecond() > 0 {
		sec++ // int() truncates toward zero
	}
	return sec
}

// Evaluate is get_conditional_response without the response; lm is epoch
// seconds, 0 meaning none; now decides the century of two-digit years.
func Evaluate(r *http.Request, etag string, lm int64, now time.Time) int {
	ifMatch, _ := RequestHeader(r.Header, IfMatch)
	ifNoneMatch, _ := RequestHeader(r.Header, IfNoneMatch)
	im, inm := ETagList(ifMatch), ETagList(ifNoneMatch)
	imEmpty, inmEmpty := im.Empty(), inm.Empty()
	safe := r.Method == http.MethodGet || r.Method == http.MethodHead

	// Step 1: If-Match.
	if !imEmpty && !ifMatchPasses(etag, im) {
		return http.StatusPreconditionFailed
	}
	// Step 2: If-Unmodified-Since.
	if imEmpty {
		if ius := requestDate(r, IfUnmodifiedSince, now); ius != 0 && !(lm != 0 && lm <= ius) {
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
		if ims := requestDate(r, IfModifiedSince, now); ims != 0 && lm != 0 && lm <= ims {
			return http.StatusNotModified
		}
	}
	return 0
}

// requestDate is `value and parse_http_date_safe(value)`: 0 when the header
// is absent, empty or not a date (and, as in Django, for the epoch itself).
func requestDate(r *http.Request, key string, now time.Time) int64 {
	v, _ := RequestHeader(r.Header, key)
	if v == "" {
		return 0
	}
	sec, ok := ParseDateOK(v, now)
	if !ok {
		return 0
	}
	return sec
}

// CopyNotModified copies into dst the headers Django's _not_modified
// keeps from the full response for the 304: Cache-Control,
// Content-Location, Date, ETag, Expires, Last-Modified, Vary, and all
// cookies (Set-Cookie).
func CopyNotModified(dst, src http.Header) {
	keys := [...]string{CacheControl, ContentLocation, Date, ETag, Expires, LastModified, Vary, SetCookie}
	for _, k := range keys {
		if v, ok := src[k]; ok {
			dst[k] = v
		} else if k == ETag {
			if v, ok := src["ETag"]; ok {
				dst[k] = v
			}
		}
	}
}

// WritePreconditionFailed writes Django's _precondition_failed response: a
// 412 with an empty body and only Content-Type: text/html; charset=utf-8.
func WritePreconditionFailed(w http.ResponseWriter) {
	w.Header()[ContentType] = []string{"text/html; charset=utf-8"}
	w.WriteHeader(http.StatusPreconditionFailed)
}
