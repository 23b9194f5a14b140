package httpx

import (
	"net/http"
	"time"
)

// NeverCache is middleware that marks every response as never to be cached,
// like Django's @never_cache: AddNeverCacheHeaders runs on the handler's
// response just before its header is sent (Expires now unless set;
// Cache-Control "max-age=0, no-cache, no-store, must-revalidate, private"
// merged into the handler's directives, dropping "public").
//
// Where Django raises ValueError (a max-age the handler set that int()
// cannot read), the middleware replaces it with max-age=0.
func NeverCache(next http.Handler) http.Handler {
	return headerMiddleware(neverCacheHook)(next)
}

func neverCacheHook(h http.Header) { _ = addNeverCacheHeaders(h, time.Now(), true) }
