package render

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
)

// discardWriter is a ResponseWriter that keeps nothing, so benchmarks
// measure the Renderer rather than httptest.ResponseRecorder.
type discardWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) {
	w.n += len(b)
	return len(b), nil
}
func (w *discardWriter) WriteHeader(code int) { w.code = code }

// benchFS is a page like the one of the pongo2 notes: a head and a 50-item
// list, here inside a cached fragment keyed on the user, plus a little
// per-request output outside it.
func benchFS() fstest.MapFS {
	return fstest.MapFS{
		"base.html": {Data: []byte(`<!DOCTYPE html>
<html><head><title>{% block title %}{% endblock %}</title></head>
<body>{% block content %}{% endblock %}</body></html>
`)},
		"list.html": {Data: []byte(`{% extends "base.html" %}{% block title %}Articles{% endblock %}
{% block content %}<p>Hello {{ request.user.username }}, page {{ request.GET.page }}</p>
{% cache 500 articles request.user.username %}<ul>
{% for a in articles %}<li><a href="/articles/{{ a.ID }}/">{{ a.Title }}</a></li>
{% endfor %}</ul>{% endcache %}{% endblock %}
`)},
		"uncached.html": {Data: []byte(`{% extends "base.html" %}{% block title %}Articles{% endblock %}
{% block content %}<p>Hello {{ request.user.username }}, page {{ request.GET.page }}</p>
<ul>
{% for a in articles %}<li><a href="/articles/{{ a.ID }}/">{{ a.Title }}</a></li>
{% endfor %}</ul>{% endblock %}
`)},
	}
}

type article struct {
	ID    int
	Title string
}

func benchData() pongo2.Context {
	list := make([]article, 50)
	for i := range list {
		list[i] = article{ID: i + 1, Title: fmt.Sprintf("Article number %d", i+1)}
	}
	return pongo2.Context{"articles": list}
}

func benchRenderer(b *testing.B) (*Renderer, *http.Request) {
	rd, err := New(Options{FS: benchFS(), User: func(*http.Request) any {
		return map[string]any{"username": "alice", "is_authenticated": true}
	}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rd.Close() })
	return rd, httptest.NewRequest("GET", "/articles/?page=2", nil)
}

// BenchmarkRenderHit renders a page whose 50-item list is a cached
// fragment, on the hit path, to a ResponseWriter.
func BenchmarkRenderHit(b *testing.B) {
	rd, r := benchRenderer(b)
	data := benchData()
	w := &discardWriter{h: http.Header{}}
	rd.Render(w, r, "list.html", data) // fill the fragment cache
	c, _ := rd.Registry().Fragments()
	if _, ok, _ := c.Get(context.Background(), cache.FragmentKey("articles", "alice")); w.code != 200 || !ok {
		b.Fatalf("warm-up: status %d, fragment cached: %v", w.code, ok)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		rd.Render(w, r, "list.html", data)
	}
	if w.code != 200 {
		b.Fatalf("status %d", w.code)
	}
}

// BenchmarkRenderHitStampede is BenchmarkRenderHit with the fragment cache
// under stampede protection (issue 16): a lease and jitter (grace off: the
// hit reads the fragment alone), and a lease and grace (the hit reads the
// fragment's freshness with it). Its figures compare with
// BenchmarkRenderHit's of a commit before stampede protection.
func BenchmarkRenderHitStampede(b *testing.B) {
	for _, bc := range []struct{ name, url string }{
		{"lease-jitter", "memory://?lease=1&jitter=0.1"},
		{"lease-grace", "memory://?lease=1&grace=5s"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			reg, err := backends.OpenRegistry(map[string]string{cache.DefaultAlias: bc.url})
			if err != nil {
				b.Fatal(err)
			}
			defer reg.Close()
			rd, err := New(Options{FS: benchFS(), Registry: reg, User: func(*http.Request) any {
				return map[string]any{"username": "alice", "is_authenticated": true}
			}})
			if err != nil {
				b.Fatal(err)
			}
			defer rd.Close()
			r := httptest.NewRequest("GET", "/articles/?page=2", nil)
			data := benchData()
			w := &discardWriter{h: http.Header{}}
			rd.Render(w, r, "list.html", data) // fill the fragment cache
			c, _ := reg.Fragments()
			if _, ok, _ := c.Get(context.Background(), cache.FragmentKey("articles", "alice")); w.code != 200 || !ok {
				b.Fatalf("warm-up: status %d, fragment cached: %v", w.code, ok)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				clear(w.h)
				rd.Render(w, r, "list.html", data)
			}
			if w.code != 200 {
				b.Fatalf("status %d", w.code)
			}
			for _, st := range rd.Fragments().Stats() {
				if st.Misses != 1 || st.Stale != 0 {
					b.Fatalf("not a hit path: %+v", st)
				}
			}
		})
	}
}

// BenchmarkRenderBytesHit is BenchmarkRenderHit through RenderBytes.
func BenchmarkRenderBytesHit(b *testing.B) {
	rd, r := benchRenderer(b)
	data := benchData()
	if _, err := rd.RenderBytes(r, "list.html", data); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := rd.RenderBytes(r, "list.html", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderUncached renders the same page without the {% cache %}
// tag, for comparison.
func BenchmarkRenderUncached(b *testing.B) {
	rd, r := benchRenderer(b)
	data := benchData()
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		rd.Render(w, r, "uncached.html", data)
	}
	if w.code != 200 {
		b.Fatalf("status %d", w.code)
	}
}

// BenchmarkRenderParallel is BenchmarkRenderHit from GOMAXPROCS goroutines.
func BenchmarkRenderParallel(b *testing.B) {
	rd, r := benchRenderer(b)
	data := benchData()
	rd.Render(&discardWriter{h: http.Header{}}, r, "list.html", data)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			rd.Render(w, r, "list.html", data)
		}
	})
}

// BenchmarkExecuteStrategies compares the ways pongo2 v6 can produce a
// page's bytes, on the hit-path page and on the uncached one: ExecuteBytes
// (what the Renderer uses), ExecuteWriter into a pooled buffer, and
// ExecuteWriterUnbuffered into a pooled buffer. It documents why the
// Renderer keeps no buffer pool of its own: pongo2 always renders into a
// buffer it allocates, except with ExecuteWriterUnbuffered, which copies
// every string it writes.
func BenchmarkExecuteStrategies(b *testing.B) {
	rd, r := benchRenderer(b)
	data := benchData()
	pool := sync.Pool{New: func() any { return new(bytes.Buffer) }}
	for _, page := range []string{"list.html", "uncached.html"} {
		tpl, err := rd.template(page)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := rd.RenderBytes(r, page, data); err != nil {
			b.Fatal(err)
		}
		b.Run(page+"/ExecuteBytes", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				out, err := tpl.ExecuteBytes(ctxOnly(rd.context(r, data)))
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Discard.Write(out)
			}
		})
		b.Run(page+"/ExecuteWriterPooled", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				buf := pool.Get().(*bytes.Buffer)
				buf.Reset()
				if err := tpl.ExecuteWriter(ctxOnly(rd.context(r, data)), buf); err != nil {
					b.Fatal(err)
				}
				_, _ = io.Discard.Write(buf.Bytes())
				pool.Put(buf)
			}
		})
		b.Run(page+"/ExecuteWriterUnbufferedPooled", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				buf := pool.Get().(*bytes.Buffer)
				buf.Reset()
				if err := tpl.ExecuteWriterUnbuffered(ctxOnly(rd.context(r, data)), buf); err != nil {
					b.Fatal(err)
				}
				_, _ = io.Discard.Write(buf.Bytes())
				pool.Put(buf)
			}
		})
	}
}

func ctxOnly(ctx pongo2.Context, _ *renderState) pongo2.Context { return ctx }
