package httpx

import (
	"net/http"
	"slices"
)

// VaryOnHeaders returns middleware that adds headers to the response's Vary
// header, like Django's @vary_on_headers: PatchVaryHeaders runs on the
// handler's response just before its header is sent, for every method and
// status.
func VaryOnHeaders(headers ...string) func(http.Handler) http.Handler {
	headers = slices.Clone(headers)
	return headerMiddleware(func(h http.Header) { PatchVaryHeaders(h, headers...) })
}
