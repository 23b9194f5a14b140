package pagecache

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/cache/memory"
	"github.com/fragcache/fragcache/httpx"
	"github.com/fragcache/fragcache/internal/testserver"
)

// discardWriter is a reusable http.ResponseWriter for benchmarks.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.status = code }
func (w *discardWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

// runHits measures b.N requests of req through h, reporting the page's
// size as throughput and the allocations.
func runHits(b *testing.B, h http.Handler, w *discardWriter, req *http.Request, size int) {
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

// benchPage is a ~10 KB HTML page.
func benchPage() []byte {
	var b strings.Builder
	b.WriteString("<!doctype html><html><head><title>bench</title></head><body>\n")
	for b.Len() < 10*1024-20 {
		b.WriteString("<p>The quick brown fox jumps over the lazy dog.</p>\n")
	}
	b.WriteString("</body></html>\n")
	return []byte(b.String())
}

func benchHandler(page []byte, vary string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if vary != "" {
			w.Header().Set("Vary", vary)
		}
		_, _ = w.Write(page)
	})
}

// BenchmarkPageCacheHit measures a page-cache hit of a ~10 KB page from the
// memory backend, through a reusable ResponseWriter (so that only the page
// cache's own work is counted). Target: ≤ 2 µs and ≤ 6 allocations.
func BenchmarkPageCacheHit(b *testing.B) {
	for _, bc := range []struct {
		name, vary string
	}{
		{"plain", ""},
		{"vary-accept-encoding-cookie", "Accept-Encoding, Cookie"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			mc, err := memory.NewCache(memory.Options{SweepInterval: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer mc.Close()
			page := benchPage()
			h := Page(cache.Seconds(600), WithCache(mc))(benchHandler(page, bc.vary))
			req := httptest.NewRequest(http.MethodGet, "/articles/2026/06/page?id=42", nil) // origin form, as a server gets it
			req.Header.Set("Accept", "text/html,application/xhtml+xml")
			req.Header.Set("Accept-Encoding", "gzip, deflate, br")
			req.Header.Set("User-Agent", "bench/1.0")
			req.Header.Set("Cookie", "theme=dark; lang=en")
			w := &discardWriter{h: make(http.Header)}
			h.ServeHTTP(w, req) // miss: stores
			clear(w.h)
			h.ServeHTTP(w, req)
			if w.n != 2*len(page) || w.h.Get("Cache-Status") != statusHit {
				b.Fatalf("not a hit: %d bytes, %v", w.n, w.h)
			}
			runHits(b, h, w, req, len(page))
		})
	}
}

// BenchmarkPrerendered is the baseline: a handler writing the same
// pre-rendered bytes with the same headers.
func BenchmarkPrerendered(b *testing.B) {
	page := benchPage()
	cl := "10240"
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = []string{"text/html; charset=utf-8"}
		w.Header()["Content-Length"] = []string{cl}
		_, _ = w.Write(page)
	})
	req := httptest.NewRequest(http.MethodGet, "http://example.com/articles/2026/06/page?id=42", nil)
	w := &discardWriter{h: make(http.Header)}
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for range b.N {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

// BenchmarkPageCacheHitNear is a page-cache hit on memory:// and on Redis
// with the near cache (backends.Open: the fail-open wrapper included),
// side by side.
func BenchmarkPageCacheHitNear(b *testing.B) {
	srv := testserver.Redis(b)
	for _, url := range []string{"memory://", "redis://" + srv.Addr + "?near_cache=1"} {
		name, _, _ := strings.Cut(url, ":")
		b.Run(name, func(b *testing.B) {
			c, err := backends.Open(url)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			page := benchPage()
			h := Page(cache.Seconds(600), WithCache(c))(benchHandler(page, "Accept-Encoding"))
			req := httptest.NewRequest(http.MethodGet, "/articles/2026/06/page?id=42", nil)
			req.Header.Set("Accept-Encoding", "gzip, deflate, br")
			w := &discardWriter{h: make(http.Header)}
			for range 4 { // stores, then fetches into the near cache
				clear(w.h)
				h.ServeHTTP(w, req)
			}
			if w.h.Get("Cache-Status") != statusHit {
				b.Fatalf("not a hit: %v", w.h)
			}
			runHits(b, h, w, req, len(page))
		})
	}
}

// BenchmarkPageCacheHitRemote is a page-cache hit on Redis and memcached
// (local servers, no near cache) with the header-list memory (one
// multi-get per hit) and without it (the header list, then the page).
func BenchmarkPageCacheHitRemote(b *testing.B) {
	rd, mc := testserver.Redis(b), testserver.Memcached(b)
	for _, url := range []string{"redis://" + rd.Addr, "memcached://" + mc.Addr} {
		for _, mem := range []int{DefaultHeaderListMemory, 0} {
			name, _, _ := strings.Cut(url, ":")
			name += map[bool]string{true: "/single-read", false: "/two-reads"}[mem > 0]
			b.Run(name, func(b *testing.B) {
				c, err := backends.Open(url)
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				page := benchPage()
				h := Page(cache.Seconds(600), WithCache(c), WithHeaderListMemory(mem), WithKeyPrefix(name))(benchHandler(page, "Accept-Encoding"))
				req := httptest.NewRequest(http.MethodGet, "/articles/2026/06/page?id=42", nil)
				req.Header.Set("Accept-Encoding", "gzip, deflate, br")
				w := &discardWriter{h: make(http.Header)}
				for range 2 {
					clear(w.h)
					h.ServeHTTP(w, req)
				}
				if w.h.Get("Cache-Status") != statusHit {
					b.Fatalf("not a hit: %v", w.h)
				}
				runHits(b, h, w, req, len(page))
			})
		}
	}
}

// BenchmarkPageCacheHitGrace is a page-cache hit with stampede protection
// (lease=1&grace=60s on the cache's URL: the page's freshness is read with
// it) against the same hit without, on memory://, Redis and memcached
// (single-read hits on the servers).
func BenchmarkPageCacheHitGrace(b *testing.B) {
	rd, mc := testserver.Redis(b), testserver.Memcached(b)
	for _, base := range []string{"memory://", "redis://" + rd.Addr, "memcached://" + mc.Addr} {
		for _, opts := range []string{"", "?lease=1&grace=60s"} {
			name, _, _ := strings.Cut(base, ":")
			name += map[bool]string{true: "/off", false: "/grace"}[opts == ""]
			b.Run(name, func(b *testing.B) {
				c, err := backends.Open(base + opts)
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				page := benchPage()
				h := Page(cache.Seconds(600), WithCache(c), WithKeyPrefix(name))(benchHandler(page, "Accept-Encoding"))
				req := httptest.NewRequest(http.MethodGet, "/articles/2026/06/page?id=42", nil)
				req.Header.Set("Accept-Encoding", "gzip, deflate, br")
				w := &discardWriter{h: make(http.Header)}
				for range 2 {
					clear(w.h)
					h.ServeHTTP(w, req)
				}
				if w.h.Get("Cache-Status") != statusHit {
					b.Fatalf("not a hit: %v", w.h)
				}
				runHits(b, h, w, req, len(page))
			})
		}
	}
}

// BenchmarkPageCacheHitCompressed compares page-cache hits of the ~10 KB
// page on memory:// (issue 19): uncompressed (the handler's Vary:
// Accept-Encoding, no compression), with httpx.Compress inside the page
// cache (the stored gzip or br variant served as stored), and with
// Compress outside it (every hit compressed again: the slower order).
// Goal: the inside hits ≥ 0.9× the uncompressed hit.
func BenchmarkPageCacheHitCompressed(b *testing.B) {
	page := benchPage()
	for _, bc := range []struct {
		name, ae, ce string
		build        func(c *cache.Cache) http.Handler
	}{
		{"uncompressed", "gzip, deflate, br", "", func(c *cache.Cache) http.Handler {
			return Page(cache.Seconds(600), WithCache(c))(benchHandler(page, "Accept-Encoding"))
		}},
		{"inside-gzip", "gzip, deflate", "gzip", func(c *cache.Cache) http.Handler {
			return Page(cache.Seconds(600), WithCache(c))(httpx.Compress()(benchHandler(page, "")))
		}},
		{"inside-br", "gzip, deflate, br", "br", func(c *cache.Cache) http.Handler {
			return Page(cache.Seconds(600), WithCache(c))(httpx.Compress()(benchHandler(page, "")))
		}},
		{"outside-gzip", "gzip, deflate", "gzip", func(c *cache.Cache) http.Handler {
			return httpx.Compress()(Page(cache.Seconds(600), WithCache(c))(benchHandler(page, "")))
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			mc, err := memory.NewCache(memory.Options{SweepInterval: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer mc.Close()
			h := bc.build(mc)
			req := httptest.NewRequest(http.MethodGet, "/articles/2026/06/page?id=42", nil)
			req.Header.Set("Accept", "text/html,application/xhtml+xml")
			req.Header.Set("Accept-Encoding", bc.ae)
			req.Header.Set("User-Agent", "bench/1.0")
			w := &discardWriter{h: make(http.Header)}
			h.ServeHTTP(w, req) // miss: stores
			clear(w.h)
			h.ServeHTTP(w, req)
			if w.h.Get("Cache-Status") != statusHit || w.h.Get("Content-Encoding") != bc.ce {
				b.Fatalf("not a %q hit: %v", bc.ce, w.h)
			}
			runHits(b, h, w, req, len(page))
		})
	}
}

// BenchmarkPageCacheHitCompressedInterleaved measures the uncompressed,
// inside-gzip and inside-br hits of BenchmarkPageCacheHitCompressed in
// alternating blocks of 64 requests within one loop, so that the three see
// the same machine load; it reports each one's median ns per hit over the
// blocks (robust to load spikes on a shared machine) and the speed of each
// compressed hit relative to the uncompressed one (goal ≥ 0.9).
func BenchmarkPageCacheHitCompressedInterleaved(b *testing.B) {
	page := benchPage()
	mc, err := memory.NewCache(memory.Options{SweepInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer mc.Close()
	type variant struct {
		name, ae, ce string
		h            http.Handler
		req          *http.Request
		w            *discardWriter
		blocks       []float64 // ns per hit of each block
	}
	vs := []*variant{
		{name: "uncompressed", ae: "gzip, deflate, br", h: Page(cache.Seconds(600), WithCache(mc), WithKeyPrefix("u"))(benchHandler(page, "Accept-Encoding"))},
		{name: "gzip", ae: "gzip, deflate", ce: "gzip", h: Page(cache.Seconds(600), WithCache(mc), WithKeyPrefix("c"))(httpx.Compress()(benchHandler(page, "")))},
		{name: "br", ae: "gzip, deflate, br", ce: "br", h: Page(cache.Seconds(600), WithCache(mc), WithKeyPrefix("c"))(httpx.Compress()(benchHandler(page, "")))},
	}
	for _, v := range vs {
		v.req = httptest.NewRequest(http.MethodGet, "/articles/2026/06/page?id=42", nil)
		v.req.Header.Set("Accept", "text/html,application/xhtml+xml")
		v.req.Header.Set("Accept-Encoding", v.ae)
		v.req.Header.Set("User-Agent", "bench/1.0")
		v.w = &discardWriter{h: make(http.Header)}
		v.h.ServeHTTP(v.w, v.req)
		clear(v.w.h)
		v.h.ServeHTTP(v.w, v.req)
		if v.w.h.Get("Cache-Status") != statusHit || v.w.h.Get("Content-Encoding") != v.ce {
			b.Fatalf("%s: not a %q hit: %v", v.name, v.ce, v.w.h)
		}
	}
	const block = 64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += block {
		n := min(block, b.N-i)
		for _, v := range vs {
			start := time.Now()
			for range n {
				clear(v.w.h)
				v.h.ServeHTTP(v.w, v.req)
			}
			v.blocks = append(v.blocks, float64(time.Since(start).Nanoseconds())/float64(n))
		}
	}
	b.StopTimer()
	median := func(x []float64) float64 {
		slices.Sort(x)
		return x[len(x)/2]
	}
	for _, v := range vs {
		b.ReportMetric(median(v.blocks), v.name+"-ns/hit")
	}
	for _, v := range vs[1:] {
		b.ReportMetric(median(vs[0].blocks)/median(v.blocks), v.name+"/uncompressed-speed")
	}
}
