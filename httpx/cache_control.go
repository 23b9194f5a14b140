package httpx

import (
	"net/http"
	"slices"
)

// CacheControl returns middleware that patches the response's Cache-Control
// header with the directives, like Django's @cache_control(**kwargs):
// PatchCacheControl runs on the handler's response just before its header
// is sent. With no directives and no Cache-Control from the handler, the
// header is sent empty, as Django's @cache_control() does.
//
// Where Django raises ValueError (a MaxAge directive meeting a max-age the
// handler set that int() cannot read, turning the response into a 500),
// the middleware replaces the unreadable max-age with the new one.
func CacheControl(directives ...Directive) func(http.Handler) http.Handler {
	directives = slices.Clone(directives)
	return headerMiddleware(func(h http.Header) { _ = patchCacheControl(h, directives, true) })
}
