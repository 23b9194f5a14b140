package httpx

import (
	"net/http"
	"time"

	"github.com/fragcache/fragcache/internal/httpheader"
)

// Condition returns middleware that answers conditional requests before the
// handler runs, like Django's @condition(etag_func, last_modified_func).
// Either function may be nil. They should be cheap look-ups: they run for
// every request, and a 304 or 412 answer skips the handler entirely.
//
// etagFunc returns the resource's ETag, quoted or not (an unquoted value is
// quoted with QuoteETag, making it strong); "" means no ETag. (Django's
// etag_func can return "" to mean the ETag `""`; return `""` for that.)
// lastModifiedFunc returns the time of the last change, the zero Time for
// none; it is used in whole seconds.
//
// The request is evaluated as EvaluatePreconditions does. A 304 has no body
// and no Content-Type; a 412 has an empty body and Content-Type
// "text/html; charset=utf-8". For GET and HEAD, Last-Modified (when set)
// and ETag are then added to the response unless it already has them: to
// the 304 and 412 answers too, and to the handler's response just before
// its header is sent.
func Condition(etagFunc func(*http.Request) string, lastModifiedFunc func(*http.Request) time.Time) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var lm int64
			if lastModifiedFunc != nil {
				lm = httpheader.Timestamp(lastModifiedFunc(r))
			}
			etag := ""
			if etagFunc != nil {
				if e := etagFunc(r); e != "" {
					etag = QuoteETag(e)
				}
			}
			safe := r.Method == http.MethodGet || r.Method == http.MethodHead
			switch httpheader.Evaluate(r, etag, lm, time.Now()) {
			case http.StatusNotModified:
				if safe {
					setValidators(w.Header(), etag, lm)
				}
				w.WriteHeader(http.StatusNotModified)
				return
			case http.StatusPreconditionFailed:
				w.Header()[httpheader.ContentType] = []string{"text/html; charset=utf-8"}
				if safe {
					setValidators(w.Header(), etag, lm)
				}
				w.WriteHeader(http.StatusPreconditionFailed)
				return
			}
			if !safe || (etag == "" && lm == 0) {
				next.ServeHTTP(w, r)
				return
			}
			hw := &hookWriter{w: w, before: func(h http.Header) { setValidators(h, etag, lm) }}
			next.ServeHTTP(hw, r)
			hw.finish()
		})
	}
}

// ETag returns Condition(etagFunc, nil), like Django's @etag.
func ETag(etagFunc func(*http.Request) string) func(http.Handler) http.Handler {
	return Condition(etagFunc, nil)
}

// LastModified returns Condition(nil, lastModifiedFunc), like Django's
// @last_modified.
func LastModified(lastModifiedFunc func(*http.Request) time.Time) func(http.Handler) http.Handler {
	return Condition(nil, lastModifiedFunc)
}

// setValidators is the end of Django's condition decorator: Last-Modified
// if the resource has one and the response does not, and ETag likewise.
func setValidators(h http.Header, etag string, lm int64) {
	if _, ok := h[httpheader.LastModified]; !ok && lm != 0 {
		h[httpheader.LastModified] = []string{HTTPDate(time.Unix(lm, 0))}
	}
	if _, ok := httpheader.ETagHeader(h); !ok && etag != "" {
		h[httpheader.ETag] = []string{etag}
	}
}
