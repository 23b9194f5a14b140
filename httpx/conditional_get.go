package httpx

import (
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/fragcache/fragcache/internal/httpheader"
	"github.com/fragcache/fragcache/internal/recorder"
)

// ConditionalGet is middleware that handles conditional GET requests like
// Django's ConditionalGetMiddleware. It buffers the handler's response and,
// for GET requests only:
//
//  1. adds a strong ETag, `"<md5 hex of the body>"`, unless the response
//     has an ETag header already, has an empty body, or has a Cache-Control
//     directive named no-store (any case, with or without a value);
//  2. if the response then has an ETag or a Last-Modified that parses, and
//     its status is 2xx, evaluates the request as EvaluatePreconditions
//     does. A 304 keeps only Cache-Control, Content-Location, Date, ETag,
//     Expires, Last-Modified, Vary and Set-Cookie of the handler's headers,
//     and no body; a 412 replaces the response with an empty one whose only
//     header is Content-Type "text/html; charset=utf-8".
//
// Other methods, HEAD included, pass through unbuffered and untouched (a
// HEAD body is empty, so no accurate ETag can be computed; an unsafe
// request is too late to refuse). A handler that calls Flush streams: what
// it wrote so far is sent, and the rest of the response passes through
// untouched (Django's StreamingHttpResponse gets no ETag either; unlike
// Django, a streamed response with its own ETag is not turned into a 304).
func ConditionalGet(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		rec := recorder.New(w)
		next.ServeHTTP(rec, r)
		if rec.PassedThrough() {
			return
		}
		h := rec.Header()
		if _, ok := httpheader.ETagHeader(h); !ok && len(rec.Body()) > 0 && needsETag(h) {
			h[httpheader.ETag] = []string{bodyETag(rec.Body())}
		}
		etag, _ := httpheader.ETagHeader(h)
		var lm int64
		if v := h[httpheader.LastModified]; len(v) > 0 && v[0] != "" {
			lm, _ = httpheader.ParseDateOK(v[0], time.Now())
		}
		if (etag != "" || lm != 0) && rec.Status() >= 200 && rec.Status() <= 299 {
			switch httpheader.Evaluate(r, etag, lm, time.Now()) {
			case http.StatusNotModified:
				dst := rec.Replace()
				httpheader.CopyNotModified(dst, h)
				w.WriteHeader(http.StatusNotModified)
				return
			case http.StatusPreconditionFailed:
				rec.Replace()
				httpheader.WritePreconditionFailed(w)
				return
			}
		}
		rec.Commit()
	})
}

// needsETag is Django 6.1's ConditionalGetMiddleware.needs_etag: false when
// a Cache-Control directive name is no-store.
func needsETag(h http.Header) bool { return !hasCacheDirective(h, "no-store") }

// hasCacheDirective reports whether a Cache-Control directive of the
// response is named name (any case, with or without a value).
func hasCacheDirective(h http.Header, name string) bool {
	v, _ := httpheader.ResponseHeader(h, httpheader.CacheControl)
	for part, i, ok := httpheader.NextPart(v, 0); ok; part, i, ok = httpheader.NextPart(v, i) {
		n, _, _ := strings.Cut(part, "=")
		if httpheader.LowerEqual(httpheader.Strip(n), name) {
			return true
		}
	}
	return false
}

// bodyETag is Django's set_response_etag value: the quoted md5 hex digest.
func bodyETag(body []byte) string {
	sum := md5.Sum(body)
	var b [2 + 2*md5.Size]byte
	b[0], b[len(b)-1] = '"', '"'
	hex.Encode(b[1:len(b)-1], sum[:])
	return string(b[:])
}
