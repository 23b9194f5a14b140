package httpx

import "net/http"

// VaryOnCookie is middleware that adds "Cookie" to the response's Vary
// header, like Django's @vary_on_cookie.
func VaryOnCookie(next http.Handler) http.Handler {
	return headerMiddleware(varyOnCookieHook)(next)
}

func varyOnCookieHook(h http.Header) { PatchVaryHeaders(h, "Cookie") }
