package pagecache

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/httpx"
)

// compressPage is a compressible page of about 3 KB.
var compressPage = strings.Repeat("<p>The quick brown fox jumps over the lazy dog.</p>\n", 60)

// pageHandler writes compressPage with an ETag, counting its calls.
func pageHandler(calls *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("ETag", `"page-v1"`)
		_, _ = io.WriteString(w, compressPage)
	})
}

// decoded decodes a body by its Content-Encoding.
func decoded(t *testing.T, ce string, b []byte) string {
	t.Helper()
	var r io.Reader = bytes.NewReader(b)
	switch ce {
	case "":
	case "gzip":
		z, err := gzip.NewReader(r)
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		r = z
	case "br":
		r = brotli.NewReader(r)
	default:
		t.Fatalf("Content-Encoding %q", ce)
	}
	return body(t, r)
}

// compressClients are Accept-Encoding values (nil: no header) and the
// encoding each must get.
var compressClients = []struct {
	ae   []string
	want string
}{
	{nil, ""},
	{[]string{"gzip"}, "gzip"},
	{[]string{"br"}, "br"},
	{[]string{"gzip, deflate, br"}, "br"},
	{[]string{"gzip,deflate,br"}, "br"}, // another raw string: another variant
	{[]string{"br;q=0, gzip"}, "gzip"},
	{[]string{"gzip;q=0"}, ""},
	{[]string{"identity"}, ""},
	{[]string{"deflate"}, ""},
	{[]string{"*"}, ""},
}

func aeRequest(method string, ae []string) *http.Request {
	r := newReq(method, "/compressed/page")
	if ae != nil {
		r.Header["Accept-Encoding"] = ae
	}
	return r
}

// TestCompressInsidePageCache: with Compress inside the page cache
// (Django's order), each distinct raw Accept-Encoding is one stored
// variant, rendered and compressed once; its hits serve the stored bytes
// exactly (the BREACH file name drawn on the miss included: nothing is
// compressed again), and every client gets only an encoding it asked for.
func TestCompressInsidePageCache(t *testing.T) {
	tc := newTestCaches(t)
	var calls atomic.Int64
	h := Page(cache.Seconds(600), tc.opts()...)(httpx.Compress()(pageHandler(&calls)))
	first := map[int][]byte{}
	for round := range 3 {
		for i, c := range compressClients {
			rr := serveReq(h, aeRequest(http.MethodGet, c.ae))
			res := rr.Result()
			status := res.Header.Get("Cache-Status")
			if round == 0 && !strings.Contains(status, "stored") {
				t.Errorf("%q: first request not stored: %q", c.ae, status)
			}
			if round > 0 && status != statusHit {
				t.Errorf("%q round %d: not a hit: %q", c.ae, round, status)
			}
			if got := res.Header.Get("Content-Encoding"); got != c.want {
				t.Errorf("%q round %d: Content-Encoding %q, want %q", c.ae, round, got, c.want)
			}
			if got := res.Header.Get("Vary"); got != "Accept-Encoding" {
				t.Errorf("%q: Vary %q", c.ae, got)
			}
			wantETag := `"page-v1"`
			if c.want != "" {
				wantETag = `W/"page-v1"`
			}
			if got := res.Header.Get("ETag"); got != wantETag {
				t.Errorf("%q: ETag %q, want %q", c.ae, got, wantETag)
			}
			raw := rr.Body.Bytes()
			if cl := res.Header.Get("Content-Length"); cl != itoa(len(raw)) {
				t.Errorf("%q: Content-Length %q for %d bytes", c.ae, cl, len(raw))
			}
			if got := decoded(t, c.want, raw); got != compressPage {
				t.Errorf("%q: wrong page", c.ae)
			}
			if round == 0 {
				first[i] = bytes.Clone(raw)
			} else if !bytes.Equal(raw, first[i]) {
				t.Errorf("%q round %d: a hit's bytes differ from the stored ones", c.ae, round)
			}
		}
	}
	// One render per distinct raw Accept-Encoding.
	if got, want := calls.Load(), int64(len(compressClients)); got != want {
		t.Errorf("%d renders, want %d (one per distinct Accept-Encoding)", got, want)
	}
	// An empty header is a variant of its own (as the page key hashes it),
	// uncompressed.
	for round := range 2 {
		rr := serveReq(h, aeRequest(http.MethodGet, []string{""}))
		if rr.Header().Get("Content-Encoding") != "" || rr.Body.String() != compressPage ||
			(round == 1 && rr.Header().Get("Cache-Status") != statusHit) {
			t.Errorf("empty Accept-Encoding: %v", rr.Header())
		}
	}
	renders := calls.Load()

	// HEAD is served from the GET variant: the encoding's headers, no body.
	rr := serveReq(h, aeRequest(http.MethodHead, []string{"gzip"}))
	if rr.Header().Get("Content-Encoding") != "gzip" || rr.Body.Len() != 0 || rr.Header().Get("Content-Length") != itoa(len(first[1])) {
		t.Errorf("HEAD: %v, %d bytes", rr.Header(), rr.Body.Len())
	}

	// Conditional GET on a hit: the weak ETag of the compressed variant
	// (or the strong one: If-None-Match compares weakly) gets a 304.
	for _, inm := range []string{`W/"page-v1"`, `"page-v1"`} {
		r := aeRequest(http.MethodGet, []string{"gzip"})
		r.Header.Set("If-None-Match", inm)
		rr = serveReq(h, r)
		if rr.Code != http.StatusNotModified || rr.Body.Len() != 0 || rr.Header().Get("ETag") != `W/"page-v1"` {
			t.Errorf("If-None-Match %s: %d %v", inm, rr.Code, rr.Header())
		}
	}
	if got := calls.Load(); got != renders {
		t.Errorf("the handler ran again: %d renders", got)
	}
}

// TestCompressOutsidePageCache: with Compress outside the page cache,
// the page is stored once, uncompressed, and every hit is compressed
// again (a new BREACH file name each time); clients still get only what
// they asked for.
func TestCompressOutsidePageCache(t *testing.T) {
	tc := newTestCaches(t)
	var calls atomic.Int64
	h := httpx.Compress()(Page(cache.Seconds(600), tc.opts()...)(pageHandler(&calls)))
	names := map[string]bool{}
	for round := range 3 {
		for _, c := range compressClients {
			rr := serveReq(h, aeRequest(http.MethodGet, c.ae))
			if round > 0 && rr.Header().Get("Cache-Status") != statusHit {
				t.Errorf("%q: not a hit: %v", c.ae, rr.Header())
			}
			if got := rr.Header().Get("Content-Encoding"); got != c.want {
				t.Errorf("%q: Content-Encoding %q, want %q", c.ae, got, c.want)
			}
			if rr.Header().Get("Vary") != "Accept-Encoding" {
				t.Errorf("%q: Vary %q", c.ae, rr.Header().Get("Vary"))
			}
			if got := decoded(t, c.want, rr.Body.Bytes()); got != compressPage {
				t.Errorf("%q: wrong page", c.ae)
			}
			if c.want == "gzip" {
				b := rr.Body.Bytes()
				names[string(b[10:10+bytes.IndexByte(b[10:], 0)])] = true
			}
		}
	}
	if calls.Load() != 1 {
		t.Errorf("%d renders, want 1", calls.Load())
	}
	if len(names) < 2 {
		t.Errorf("gzip hits were not compressed anew: %d distinct file names", len(names))
	}
}

// TestCompressConditionalGetPageCache: Django's usual stack, page cache
// outermost, then GZip, then ConditionalGet: the strong md5 ETag is made
// weak on the compressed variant, and a client revalidating with it gets
// a 304, from the handler chain on a miss and from the cache on a hit.
func TestCompressConditionalGetPageCache(t *testing.T) {
	tc := newTestCaches(t)
	var calls atomic.Int64
	h := Page(cache.Seconds(600), tc.opts()...)(httpx.Compress()(httpx.ConditionalGet(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_, _ = io.WriteString(w, compressPage)
	}))))
	rr := serveReq(h, aeRequest(http.MethodGet, []string{"gzip"}))
	etag := rr.Header().Get("ETag")
	if !strings.HasPrefix(etag, `W/"`) || rr.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("miss: %v", rr.Header())
	}
	for i := range 2 { // a hit, twice
		r := aeRequest(http.MethodGet, []string{"gzip"})
		r.Header.Set("If-None-Match", etag)
		rr = serveReq(h, r)
		if rr.Code != http.StatusNotModified || rr.Header().Get("ETag") != etag {
			t.Errorf("revalidation %d: %d %v", i, rr.Code, rr.Header())
		}
	}
	// Another client's first request with the tag (a miss for its
	// variant): ConditionalGet answers 304 under Compress.
	r := aeRequest(http.MethodGet, []string{"br"})
	r.Header.Set("If-None-Match", etag)
	rr = serveReq(h, r)
	if rr.Code != http.StatusNotModified || rr.Body.Len() != 0 {
		t.Errorf("br revalidation on a miss: %d %v", rr.Code, rr.Header())
	}
	if calls.Load() != 2 {
		t.Errorf("%d renders, want 2", calls.Load())
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// TestCompressStreamedNotStored: a handler that flushes under Compress
// inside the page cache streams compressed and is never stored.
func TestCompressStreamedNotStored(t *testing.T) {
	tc := newTestCaches(t)
	var calls atomic.Int64
	h := Page(cache.Seconds(600), tc.opts()...)(httpx.Compress()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_, _ = io.WriteString(w, compressPage[:100])
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, compressPage[100:])
	})))
	for range 2 {
		rr := serveReq(h, aeRequest(http.MethodGet, []string{"gzip"}))
		if rr.Header().Get("Content-Encoding") != "gzip" || rr.Header().Get("Content-Length") != "" ||
			!strings.Contains(rr.Header().Get("Cache-Status"), "detail=streamed") {
			t.Errorf("streamed: %v", rr.Header())
		}
		if got := decoded(t, "gzip", rr.Body.Bytes()); got != compressPage {
			t.Error("wrong page")
		}
	}
	if calls.Load() != 2 {
		t.Errorf("%d renders, want 2 (never stored)", calls.Load())
	}
}
