package httpx

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"

	"github.com/fragcache/fragcache/internal/httpheader"
)

// compressMinSize is Django's GZipMiddleware threshold: a buffered body
// shorter than this is not worth compressing.
const compressMinSize = 200

// compressMaxBuffer is the largest body Compress buffers before it starts
// compressing as the handler writes (as if the handler had streamed it).
const compressMaxBuffer = 256 << 10

// Compress returns middleware that compresses responses with gzip or
// Brotli, following Django's GZipMiddleware (6.1) rule by rule:
//
//  1. a body shorter than 200 bytes is left alone (only when the handler
//     does not stream: see below);
//  2. a response that has a Content-Encoding header (any value) is left
//     alone;
//  3. otherwise "Accept-Encoding" is added to Vary (PatchVaryHeaders),
//     whether or not this client gets a compressed body;
//  4. the body is compressed only if the client accepts an encoding (see
//     below) and, for a buffered body, only if the result is shorter;
//     Content-Length is then set to the compressed length, a strong ETag
//     is made weak (`"x"` becomes `W/"x"`), and Content-Encoding is set.
//
// A handler that calls Flush streams, like Django's StreamingHttpResponse:
// there is no size threshold, Content-Length is removed, and each Flush
// flushes the compressor and then the underlying writer, so the client gets
// what was written so far. A body that outgrows 256 KiB without a Flush is
// compressed from then on as it is written (without flushing), so that no
// body is held in memory whole; such a body is compressed even when that
// does not make it shorter.
//
// Django ≥ 4.2's BREACH mitigation ("Heal The Breach") is on: each gzip
// body gets a file name of 0 to 99 "a" bytes (a uniformly random length,
// from crypto/rand) in its gzip header, as Django's compress_string and
// compress_sequence write it: a buffered body always has the FNAME flag (an
// empty name is a lone NUL byte), a streamed one only when the length drawn
// is not 0. GzipRandomBytes changes the bound, or turns it off. Brotli has no
// such field: a Brotli body gets no random length (WithoutBrotli sends gzip
// only). The gzip header's mtime is 0, as Django's; its OS byte is 3 (Unix)
// for a buffered body and 255 (unknown) for a streamed one, as Django 6.1
// writes them on Python ≥ 3.11 (gzip.compress through zlib, and GzipFile).
// Django 3.2 writes 255 for both.
//
// # Choosing the encoding
//
// Django gzips when Accept-Encoding matches the regular expression
// \bgzip\b, so it also gzips for "gzip;q=0" or "nogzip-gzip". Compress
// parses the header instead (RFC 9110 §12.5.3; the lines of a repeated
// header are joined with ","): each element is a coding, compared without
// regard to case ("x-gzip" is gzip), with an optional q parameter (0 to 1,
// at most three decimals; a coding with a malformed q is ignored). When a
// coding is listed more than once, its highest q counts. Then:
//
//   - br, when br is listed with q > 0 and q(br) ≥ q(gzip) (or gzip is
//     not listed);
//   - else gzip, when gzip is listed with q > 0;
//   - else identity: the body is sent as the handler wrote it.
//
// A coding the client did not list is never used: "*" is ignored, and an
// absent or empty Accept-Encoding gets identity. q=0 refuses a coding.
//
// # Where Compress deliberately differs from Django
//
//   - Cache-Control: no-transform (a directive named no-transform, any
//     case) leaves the response alone, Vary included.
//   - A 206 Partial Content response, or one with a Content-Range header,
//     is left alone: compressing a range would corrupt it.
//   - Responses that have no body (1xx, 204, 304) are left alone (Django
//     skips them too, as shorter than 200 bytes).
//
// Like Django, Compress looks at no Content-Type: any body that compresses
// to fewer bytes is sent compressed, and one that does not (an image, an
// archive) costs a compression for nothing. Put it on the routes that
// serve text (HTML, JSON, CSS, JavaScript).
//
// A HEAD request is treated as GET's would be: what the handler writes is
// compressed and its headers set (net/http then discards the body); a
// handler that writes no body for HEAD keeps its headers.
//
// # With the page cache
//
// Put Compress inside the page cache, pagecache.Page(…)(httpx.Compress()(h)),
// as Django lists GZipMiddleware after UpdateCacheMiddleware: the page cache
// then stores the compressed response once per variant and serves it
// without compressing again. The variant is keyed on the raw
// Accept-Encoding header, as Django keys it (Vary: Accept-Encoding is
// learned from the response): one stored copy per distinct Accept-Encoding
// string. Outside the page cache, httpx.Compress()(pagecache.Page(…)(h)),
// every hit is compressed again: correct, but slower.
//
// Compressors and buffers are pooled: a response that is not compressed
// costs no compressor, and a compressed one reuses a compressor's memory.
// Hijack, Unwrap (for http.ResponseController) and ReadFrom (sendfile,
// for responses left alone) pass through.
//
// Bad options (a level out of range, a negative GzipRandomBytes) are logged
// at Error level through slog.Default() when the middleware is built, and
// replaced by the defaults.
func Compress(opts ...CompressOption) func(http.Handler) http.Handler {
	c := newCompressor(opts)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cw := c.writer(w, r)
			defer c.release(cw)
			next.ServeHTTP(cw, r)
			cw.finish()
		})
	}
}

// CompressOption configures Compress.
type CompressOption func(*compressConfig)

type compressConfig struct {
	gzipLevel   int
	brotliLevel int
	noBrotli    bool
	randomBytes int
	errs        []string
}

// GzipLevel sets the gzip level, 1 (fastest) to 9 (smallest); the default
// is Django's 6.
func GzipLevel(level int) CompressOption {
	return levelOption("GzipLevel", level, gzip.BestSpeed, gzip.BestCompression, func(c *compressConfig) { c.gzipLevel = level })
}

// BrotliLevel sets the Brotli quality, 0 (fastest) to 11 (smallest); the
// default is 5.
func BrotliLevel(level int) CompressOption {
	return levelOption("BrotliLevel", level, brotli.BestSpeed, brotli.BestCompression, func(c *compressConfig) { c.brotliLevel = level })
}

// levelOption checks a level against [lo, hi] before set applies it.
func levelOption(name string, level, lo, hi int, set func(*compressConfig)) CompressOption {
	return func(c *compressConfig) {
		if level < lo || level > hi {
			c.errs = append(c.errs, fmt.Sprintf("%s(%d): the level must be %d to %d", name, level, lo, hi))
			return
		}
		set(c)
	}
}

// WithoutBrotli makes Compress offer gzip only (Django's choice): a client
// that accepts br and gzip gets gzip, one that accepts only br gets
// identity.
func WithoutBrotli() CompressOption {
	return func(c *compressConfig) { c.noBrotli = true }
}

// GzipRandomBytes sets the bound of the BREACH mitigation's random file
// name, Django's GZipMiddleware.max_random_bytes: the name has 0 to n-1
// bytes. The default is Django's 100; 0 turns the mitigation off (no file
// name at all, as Django with max_random_bytes = 0 and Django 3.2).
func GzipRandomBytes(n int) CompressOption {
	return func(c *compressConfig) {
		if n < 0 || n > 1<<16 {
			c.errs = append(c.errs, fmt.Sprintf("GzipRandomBytes(%d): the bound must be 0 to 65536", n))
			return
		}
		c.randomBytes = n
	}
}

// encoding is a negotiated content coding.
type encoding uint8

const (
	encIdentity encoding = iota
	encGzip
	encBrotli
)

// compressor is one Compress middleware: its configuration and pools.
type compressor struct {
	gzipLevel   int
	brotliLevel int
	noBrotli    bool
	randomBytes int
	// fname is randomBytes "a" bytes followed by a NUL: fname[randomBytes-k:]
	// is a k-byte file name field.
	fname []byte
	// fnameString is randomBytes "a" bytes, for gzip.Header.Name.
	fnameString string
	gzips       sync.Pool // *gzip.Writer
	brotlis     sync.Pool // *brotli.Writer
	writers     sync.Pool // *compressWriter
}

func newCompressor(opts []CompressOption) *compressor {
	cfg := compressConfig{gzipLevel: 6, brotliLevel: 5, randomBytes: 100}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	for _, e := range cfg.errs {
		slog.Default().Error("httpx: Compress: bad option; using the default", slog.String("error", e))
	}
	c := &compressor{
		gzipLevel:   cfg.gzipLevel,
		brotliLevel: cfg.brotliLevel,
		noBrotli:    cfg.noBrotli,
		randomBytes: cfg.randomBytes,
		fname:       append(bytes.Repeat([]byte{'a'}, cfg.randomBytes), 0),
		fnameString: strings.Repeat("a", cfg.randomBytes),
	}
	return c
}

// writer returns a pooled compressWriter for one request.
func (c *compressor) writer(w http.ResponseWriter, r *http.Request) *compressWriter {
	cw, _ := c.writers.Get().(*compressWriter)
	if cw == nil {
		cw = &compressWriter{c: c}
	}
	cw.w = w
	cw.status = http.StatusOK
	cw.enc = negotiate(r.Header["Accept-Encoding"], !c.noBrotli)
	return cw
}

// release returns cw and what it holds to the pools.
func (c *compressor) release(cw *compressWriter) {
	cw.reset()
	c.writers.Put(cw)
}

// randomLen draws the BREACH mitigation's file name length, uniform in
// [0, randomBytes), as Django's secrets.randbelow(max_random_bytes).
func (c *compressor) randomLen() int {
	n := c.randomBytes
	if n <= 1 {
		return 0
	}
	// Rejection sampling on 16 random bits: uniform, no big.Int.
	limit := (1 << 16) / n * n
	var b [2]byte
	for {
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
		v := int(b[0])<<8 | int(b[1])
		if v < limit {
			return v % n
		}
	}
}

// gzipWriter returns a pooled gzip writer reset to dst.
func (c *compressor) gzipWriter(dst io.Writer) *gzip.Writer {
	z, _ := c.gzips.Get().(*gzip.Writer)
	if z == nil {
		z, _ = gzip.NewWriterLevel(dst, c.gzipLevel) // the level was checked
	} else {
		z.Reset(dst)
	}
	return z
}

// brotliWriter returns a pooled Brotli writer reset to dst.
func (c *compressor) brotliWriter(dst io.Writer) *brotli.Writer {
	z, _ := c.brotlis.Get().(*brotli.Writer)
	if z == nil {
		z = brotli.NewWriterLevel(dst, c.brotliLevel)
	} else {
		z.Reset(dst)
	}
	return z
}

// negotiate chooses the encoding for the Accept-Encoding header lines (see
// Compress; the rule is httpheader.NegotiateEncoding's, which staticfiles
// uses too). It does not allocate.
func negotiate(lines []string, brotliOK bool) encoding {
	return encoding(httpheader.NegotiateEncoding(lines, brotliOK, true))
}

// skipCompression reports whether a response is left alone whatever its
// size: one that has Content-Encoding, Cache-Control: no-transform, or is
// a partial (206, Content-Range) response.
func skipCompression(h http.Header, status int) bool {
	if _, ok := h["Content-Encoding"]; ok {
		return true
	}
	if status == http.StatusPartialContent {
		return true
	}
	if _, ok := h["Content-Range"]; ok {
		return true
	}
	return hasCacheDirective(h, "no-transform")
}

// weakenETag makes a strong ETag weak, as Django: a value starting with a
// double quote gets "W/" in front.
func weakenETag(h http.Header) {
	key := httpheader.ETag
	v, ok := h[key]
	if !ok {
		key = "ETag"
		v = h[key]
	}
	if len(v) > 0 && strings.HasPrefix(v[0], `"`) {
		h[key] = []string{"W/" + v[0]}
	}
}

// bufPool holds the buffers of the buffered path.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuf() *bytes.Buffer { return bufPool.Get().(*bytes.Buffer) }

func putBuf(b *bytes.Buffer) {
	if b == nil || b.Cap() > 2*compressMaxBuffer {
		return
	}
	b.Reset()
	bufPool.Put(b)
}
