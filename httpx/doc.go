// Package httpx ports the HTTP side of Django's cache framework to net/http,
// except the page cache (package httpx/pagecache):
// the header helpers of django.utils.cache and django.utils.http
// (PatchCacheControl, GetMaxAge, PatchResponseHeaders, AddNeverCacheHeaders,
// PatchVaryHeaders, HasVaryHeader, QuoteETag, ParseETags, HTTPDate,
// ParseHTTPDate), conditional request processing (EvaluatePreconditions) and
// the decorators and middleware built on them (VaryOnHeaders, VaryOnCookie,
// CacheControl, NeverCache, Condition, ETag, LastModified, ConditionalGet),
// and response compression (Compress: Django's GZipMiddleware, plus Brotli).
//
// The results are byte-identical to Django 6.1 (the golden vectors in
// internal/golden are checked by the tests). Where older Django versions
// differ, the newest behaviour is reproduced.
//
// # Header values
//
// Django sees every header value the way its WSGI/ASGI handlers decode it
// from the wire: each byte is one ISO-8859-1 character, and response headers
// are encoded back to ISO-8859-1. This package works on the same model, byte
// by byte: Python's str.strip() whitespace, str.lower() and the regular
// expression class \w are applied to ISO-8859-1 characters. Any byte string,
// including invalid UTF-8, therefore has a defined result, and no input
// makes the package panic.
//
// A request header sent on several lines is joined with "," as Django's
// handlers do (so a duplicated If-Modified-Since is not a valid date). A
// response header held on several lines of an http.Header is read as the
// lines joined with ", ", and a helper that rewrites it writes one line.
//
// # Middleware
//
// Every middleware is a plain func(http.Handler) http.Handler. Those that only
// add headers (VaryOnHeaders, CacheControl, NeverCache, Condition after the
// handler ran) patch the header map just before the handler's response header
// is written, without buffering the body. ConditionalGet has to see the whole
// body to compute an ETag, so it buffers the response; a handler that calls
// Flush streams, and its response then passes through untouched. Compress
// buffers too (up to 256 KiB), so that it can leave short bodies alone and
// send a compressed one with its Content-Length; a handler that calls Flush
// gets its response compressed as it streams.
//
// # Compression and the page cache
//
// Compress belongs inside the page cache, as Django lists GZipMiddleware
// after UpdateCacheMiddleware:
//
//	pagecache.Page(timeout, opts...)(httpx.Compress()(h))
//
// The page cache then learns Vary: Accept-Encoding from the response and
// stores one compressed copy per distinct raw Accept-Encoding header, which
// its hits serve without compressing again. Outside the page cache every
// hit is compressed anew. See Compress for the rules and the BREACH
// mitigation.
//
// # Page cache
//
// Django's page cache (cache_page and the per-site cache middleware) is
// package httpx/pagecache, built on this package's helpers.
package httpx
