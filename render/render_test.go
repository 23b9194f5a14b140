package render

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/tags"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"nil FS", Options{}, "FS is nil"},
		{"bad global", Options{FS: fstest.MapFS{}, Globals: pongo2.Context{"a-b": 1}}, `"a-b"`},
		{"empty global", Options{FS: fstest.MapFS{}, Globals: pongo2.Context{"": 1}}, `""`},
		{"bad tag options", Options{FS: fstest.MapFS{}, TagOptions: tags.Options{MaxFragmentBytes: -1}}, "MaxFragmentBytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd, err := New(tt.opts)
			if err == nil {
				rd.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %s", err, tt.want)
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	fsys := fstest.MapFS{"page.html": {Data: []byte(`héllo {{ name }}`)}}
	tests := []struct {
		name        string
		opts        Options
		method      string
		status      int
		preset      string // Content-Type set by the handler
		wantCT      string
		wantBody    string
		wantHeadLen int
	}{
		{"default", Options{}, "GET", 200, "", "text/html; charset=utf-8", "héllo <b>", 0},
		{"status", Options{}, "GET", 404, "", "text/html; charset=utf-8", "héllo <b>", 0},
		{"content type option", Options{ContentType: "application/xml"}, "GET", 200, "", "application/xml", "héllo <b>", 0},
		{"handler content type", Options{}, "GET", 200, "text/plain", "text/plain", "héllo <b>", 0},
		{"head", Options{}, "HEAD", 200, "", "text/html; charset=utf-8", "", len("héllo &lt;b&gt;")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.FS = fsys
			rd := mustNew(t, tt.opts)
			w := httptest.NewRecorder()
			if tt.preset != "" {
				w.Header().Set("Content-Type", tt.preset)
			}
			r := httptest.NewRequest(tt.method, "/", nil)
			rd.RenderStatus(w, r, tt.status, "page.html", pongo2.Context{"name": "<b>"})
			if w.Code != tt.status {
				t.Errorf("status %d, want %d", w.Code, tt.status)
			}
			if got := w.Header().Get("Content-Type"); got != tt.wantCT {
				t.Errorf("Content-Type %q, want %q", got, tt.wantCT)
			}
			wantLen := w.Body.Len()
			if tt.method == "HEAD" {
				if w.Body.Len() != 0 {
					t.Errorf("HEAD body %q", w.Body)
				}
				wantLen = tt.wantHeadLen
			} else if want := strings.Replace(tt.wantBody, "<b>", "&lt;b&gt;", 1); w.Body.String() != want {
				t.Errorf("body %q, want %q", w.Body, want)
			}
			if got := w.Header().Get("Content-Length"); got != strconv.Itoa(wantLen) {
				t.Errorf("Content-Length %q, want %d", got, wantLen)
			}
		})
	}
}

// writeCounter counts WriteHeader and Write calls.
type writeCounter struct {
	httptest.ResponseRecorder
	headers, writes int
}

func (w *writeCounter) WriteHeader(code int) { w.headers++; w.ResponseRecorder.WriteHeader(code) }
func (w *writeCounter) Write(b []byte) (int, error) {
	w.writes++
	return w.ResponseRecorder.Write(b)
}

func TestWritesOnce(t *testing.T) {
	big := strings.Repeat("{% for i in items %}<li>{{ i }}</li>{% endfor %}", 20)
	rd := mustNew(t, Options{FS: fstest.MapFS{"page.html": {Data: []byte(big)}}})
	items := make([]int, 500)
	w := &writeCounter{ResponseRecorder: *httptest.NewRecorder()}
	rd.Render(w, httptest.NewRequest("GET", "/", nil), "page.html", pongo2.Context{"items": items})
	if w.headers != 1 || w.writes != 1 {
		t.Errorf("WriteHeader called %d times, Write %d times; want 1 and 1", w.headers, w.writes)
	}
	if w.Body.Len() < 100000 {
		t.Errorf("body only %d bytes", w.Body.Len())
	}
}

type secretHolder struct{ secret string }

func TestErrors(t *testing.T) {
	fsys := fstest.MapFS{
		"syntax.html":     {Data: []byte("ok\nPARTIAL {% if %}\n")},
		"runtime.html":    {Data: []byte("PARTIAL\n\n{{ fail() }}")},
		"panic.html":      {Data: []byte("PARTIAL\n{{ boom() }}")},
		"field.html":      {Data: []byte("PARTIAL {{ obj[\"secret\"] }}")},
		"inc.html":        {Data: []byte("PARTIAL {% include \"broken_inc.html\" %}")},
		"broken_inc.html": {Data: []byte("x\ny\n{% if %}")},
		"user.html":       {Data: []byte("PARTIAL {{ request.user.username }}")},
	}
	data := pongo2.Context{
		"fail": func() (string, error) { return "", errors.New("<b>boom</b>") },
		"boom": func() string { panic("kaboom <i>") },
		"obj":  secretHolder{"s"},
	}
	tests := []struct {
		name     string
		template string
		logWants []string // in the log line
		dbgWants string   // in the debug body (escaped)
	}{
		{"syntax", "syntax.html", []string{"template=syntax.html", "file=syntax.html", "line=2"}, "syntax.html"},
		{"runtime", "runtime.html", []string{"template=runtime.html", "line=3", "boom"}, "&lt;b&gt;boom&lt;/b&gt;"},
		{"panic", "panic.html", []string{"template=panic.html", "panic", "kaboom", "stack="}, "kaboom &lt;i&gt;"},
		{"unexported field", "field.html", []string{"template=field.html", "panic"}, "panic"},
		{"include error", "inc.html", []string{"template=inc.html", "broken_inc.html", "line=3"}, "broken_inc.html"},
		{"unknown template", "nope.html", []string{"template not found", "template=nope.html"}, "nope.html"},
		{"user hook panic", "user.html", []string{"template=user.html", "hook failed"}, "hook failed"},
	}
	for _, debug := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/debug=%v", tt.name, debug), func(t *testing.T) {
				logger, logs := newLogger()
				rd := mustNew(t, Options{FS: fsys, Debug: debug, Logger: logger,
					User: func(*http.Request) any { panic("hook failed") }})
				w := httptest.NewRecorder()
				w.Header().Set("Cache-Control", "max-age=600")
				rd.Render(w, httptest.NewRequest("GET", "/x", nil), tt.template, data)
				if w.Code != http.StatusInternalServerError {
					t.Fatalf("status %d, want 500; body %q", w.Code, w.Body)
				}
				b := w.Body.String()
				if strings.Contains(b, "PARTIAL") {
					t.Errorf("partial output written: %q", b)
				}
				if got := w.Header().Get("Content-Length"); got != strconv.Itoa(len(b)) {
					t.Errorf("Content-Length %q for %d bytes", got, len(b))
				}
				if got := w.Header().Get("Cache-Control"); got != "no-store" {
					t.Errorf("Cache-Control %q, want no-store", got)
				}
				if debug {
					if !strings.Contains(b, tt.dbgWants) {
						t.Errorf("debug body %q does not contain %q", b, tt.dbgWants)
					}
					if strings.Contains(b, "<b>boom") || strings.Contains(b, "<i>") {
						t.Errorf("debug body not escaped: %q", b)
					}
				} else if b != "Internal Server Error\n" {
					t.Errorf("body %q, want only Internal Server Error", b)
				}
				log := logs.String()
				for _, s := range append(tt.logWants, "level=ERROR", "path=/x") {
					if !strings.Contains(log, s) {
						t.Errorf("log %q does not contain %q", log, s)
					}
				}
			})
		}
	}
}

func TestRenderBytes(t *testing.T) {
	rd := mustNew(t, Options{FS: fstest.MapFS{
		"page.html":  {Data: []byte(`[{{ request.path }}|{{ request.user.username }}|{{ request.user.is_authenticated }}|{{ x }}]`)},
		"panic.html": {Data: []byte(`{{ boom() }}`)},
	}})
	b, err := rd.RenderBytes(nil, "page.html", pongo2.Context{"x": 1})
	if err != nil || string(b) != "[||False|1]" {
		t.Errorf("nil request: %q, %v", b, err)
	}
	b, err = rd.RenderBytes(httptest.NewRequest("GET", "/p", nil), "page.html", nil)
	if err != nil || string(b) != "[/p||False|]" {
		t.Errorf("request: %q, %v", b, err)
	}
	_, err = rd.RenderBytes(nil, "panic.html", pongo2.Context{"boom": func() string { panic(io.EOF) }})
	var e *Error
	if !errors.As(err, &e) || !e.Panic || !errors.Is(err, io.EOF) || len(e.Stack) == 0 {
		t.Errorf("panic: %#v", err)
	}
}

func TestDataNotModified(t *testing.T) {
	rd := mustNew(t, Options{FS: fstest.MapFS{"p.html": {Data: []byte(`{{ a }}`)}}})
	data := pongo2.Context{"a": 1}
	get(rd, "/", "p.html", data)
	if len(data) != 1 {
		t.Errorf("data modified: %v", data)
	}
}

func TestGlobals(t *testing.T) {
	rd := mustNew(t, Options{
		FS:      fstest.MapFS{"p.html": {Data: []byte(`{{ site }} {{ a }}`)}},
		Globals: pongo2.Context{"site": "S", "a": "global"},
	})
	if w := get(rd, "/", "p.html", map[string]any{"a": "data"}); body(w) != "S data" {
		t.Errorf("got %q", w.Body)
	}
}

func TestRequestFields(t *testing.T) {
	fsys := fstest.MapFS{}
	tests := []struct{ expr, want string }{
		{"request.path", "/a b/c"},
		{"request.path_info", "/a b/c"},
		{"request.method", "POST"},
		{"request.GET.page", "3"},
		{"request.GET.q", "x y"},
		{"request.GET.missing", ""},
		{"request.COOKIES.sid", "abc"},
		{"request.COOKIES.nope", ""},
		{"request.META.HTTP_HOST", "example.com:8080"},
		{"request.META.SERVER_NAME", "example.com"},
		{"request.META.SERVER_PORT", "8080"},
		{"request.META.REMOTE_ADDR", "192.0.2.1"},
		{"request.META.REQUEST_METHOD", "POST"},
		{"request.META.QUERY_STRING", "page=2&amp;page=3&amp;q=x+y"},
		{"request.META.HTTP_USER_AGENT", "test-agent"},
		{"request.META.HTTP_X_MULTI", "a,b"},
		{"request.META.CONTENT_TYPE", "text/plain"},
		{"request.headers.user_agent", "test-agent"},
		{"request.headers.host", "example.com:8080"},
		{"request.get_full_path", "/a%20b/c?page=2&amp;page=3&amp;q=x+y"},
		{"request.get_host", "example.com:8080"},
		{"request.scheme", "http"},
		{"request.is_secure", "False"},
		{"request.user.username", ""},
		{"request.user.is_authenticated", "False"},
		{"request.user.is_anonymous", "True"},
	}
	for i, tt := range tests {
		fsys[fmt.Sprintf("t%d.html", i)] = &fstest.MapFile{Data: []byte("{{ " + tt.expr + " }}")}
	}
	fsys["loop.html"] = &fstest.MapFile{Data: []byte(`{% for k, v in request.GET sorted %}{{ k }}={{ v }};{% endfor %}`)}
	fsys["ifs.html"] = &fstest.MapFile{Data: []byte(`{% if request.GET.page == "3" and request.method == "POST" %}yes{% endif %}`)}
	fsys["only.html"] = &fstest.MapFile{Data: []byte(`[{% include "inc.html" with a=1 only %}]`)}
	fsys["inc.html"] = &fstest.MapFile{Data: []byte(`{{ request.path }}{{ request.user.username }}{{ request.user.is_authenticated }}`)}
	fsys["scheme.html"] = &fstest.MapFile{Data: []byte(`{{ request.scheme }} {{ request.is_secure }}`)}
	rd := mustNew(t, Options{FS: fsys})
	newReq := func() *http.Request {
		r := httptest.NewRequest("POST", "http://example.com:8080/a%20b/c?page=2&page=3&q=x+y", strings.NewReader("body"))
		r.RemoteAddr = "192.0.2.1:1234"
		r.Header.Set("User-Agent", "test-agent")
		r.Header.Set("Content-Type", "text/plain")
		r.Header.Add("X-Multi", "a")
		r.Header.Add("X-Multi", "b")
		r.AddCookie(&http.Cookie{Name: "sid", Value: "abc"})
		return r
	}
	for i, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			b, err := rd.RenderBytes(newReq(), fmt.Sprintf("t%d.html", i), nil)
			if err != nil || string(b) != tt.want {
				t.Errorf("{{ %s }} = %q, %v; want %q", tt.expr, b, err, tt.want)
			}
		})
	}
	for name, want := range map[string]string{"loop.html": "page=3;q=x y;", "ifs.html": "yes", "only.html": "[False]"} {
		b, err := rd.RenderBytes(newReq(), name, nil)
		if err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", name, b, err, want)
		}
	}
	r := newReq()
	r.TLS = &tls.ConnectionState{}
	if b, _ := rd.RenderBytes(r, "scheme.html", nil); string(b) != "https True" {
		t.Errorf("TLS scheme %q", b)
	}
}

func TestRequestContext(t *testing.T) {
	type key struct{}
	rd := mustNew(t, Options{
		FS: fstest.MapFS{"p.html": {Data: []byte(`{{ probe()|safe }}`)}},
		Globals: pongo2.Context{"probe": func(ec *pongo2.ExecutionContext) string {
			ctx, ok := ec.Public[tags.RequestContextKey].(context.Context)
			if !ok {
				return "no context"
			}
			v, _ := ctx.Value(key{}).(string)
			return fmt.Sprintf("%s %v", v, ctx.Err())
		}},
	})
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "val"))
	r := httptest.NewRequest("GET", "/", nil).WithContext(ctx)
	if b, err := rd.RenderBytes(r, "p.html", nil); string(b) != "val <nil>" {
		t.Errorf("got %q %v", b, err)
	}
	cancel()
	if b, err := rd.RenderBytes(r, "p.html", nil); string(b) != "val context canceled" {
		t.Errorf("after cancel: got %q %v", b, err)
	}
	if b, err := rd.RenderBytes(nil, "p.html", nil); string(b) != " <nil>" {
		t.Errorf("nil request: got %q %v", b, err)
	}
}

func TestUserHook(t *testing.T) {
	fsys := fstest.MapFS{
		"p.html":    {Data: []byte(`{{ request.user.username }}|{{ request.user.is_authenticated }}|{% if request.user.is_authenticated %}in{% else %}out{% endif %}`)},
		"none.html": {Data: []byte(`static`)},
	}
	var calls atomic.Int32
	users := map[string]map[string]any{"alice": {"username": "alice", "is_authenticated": true}}
	hook := func(r *http.Request) any {
		calls.Add(1)
		if u, ok := users[r.URL.Query().Get("u")]; ok {
			return u
		}
		return nil
	}
	tests := []struct {
		name string
		hook func(*http.Request) any
		url  string
		want string
	}{
		{"no hook", nil, "/?u=alice", "|False|out"},
		{"hook user", hook, "/?u=alice", "alice|True|in"},
		{"hook nil", hook, "/?u=bob", "|False|out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls.Store(0)
			rd := mustNew(t, Options{FS: fsys, User: tt.hook})
			if w := get(rd, tt.url, "p.html", nil); body(w) != tt.want {
				t.Errorf("got %q, want %q", w.Body, tt.want)
			}
			if tt.hook != nil && calls.Load() != 1 {
				t.Errorf("hook called %d times, want 1", calls.Load())
			}
			get(rd, tt.url, "none.html", nil)
			if tt.hook != nil && calls.Load() != 1 {
				t.Errorf("hook called for a template that does not read request.user")
			}
		})
	}
}

// TestCacheTagUser checks {% cache 500 sidebar request.user.username %}:
// one entry per user, under Django's key.
func TestCacheTagUser(t *testing.T) {
	fsys := fstest.MapFS{
		"p.html": {Data: []byte(`<{% cache 500 sidebar request.user.username %}{{ n }}:{{ request.user.username }}{% endcache %}>`)},
	}
	rd := mustNew(t, Options{FS: fsys, User: func(r *http.Request) any {
		if u := r.URL.Query().Get("u"); u != "" {
			return map[string]any{"username": u, "is_authenticated": true}
		}
		return nil
	}})
	steps := []struct {
		url  string
		n    int
		want string
	}{
		{"/?u=alice", 1, "<1:alice>"},
		{"/?u=bob", 2, "<2:bob>"},
		{"/?u=alice", 3, "<1:alice>"},
		{"/", 4, "<4:>"},
		{"/", 5, "<4:>"},
		{"/?u=bob", 6, "<2:bob>"},
	}
	for i, st := range steps {
		if w := get(rd, st.url, "p.html", map[string]any{"n": st.n}); body(w) != st.want {
			t.Errorf("step %d: %d %q, want %q", i, w.Code, w.Body, st.want)
		}
	}
	c, err := rd.Registry().Fragments()
	if err != nil {
		t.Fatal(err)
	}
	for user, want := range map[string]string{"alice": "1:alice", "bob": "2:bob", "": "4:"} {
		v, ok, err := c.Get(context.Background(), cache.FragmentKey("sidebar", user))
		if err != nil || !ok || string(v) != want {
			t.Errorf("cache entry for %q: %q %v %v, want %q", user, v, ok, err, want)
		}
	}
	ok, err := rd.Fragments().InvalidateFragment(context.Background(), "sidebar", "alice")
	if !ok || err != nil {
		t.Fatalf("InvalidateFragment: %v %v", ok, err)
	}
	if w := get(rd, "/?u=alice", "p.html", map[string]any{"n": 7}); body(w) != "<7:alice>" {
		t.Errorf("after invalidation: %q", w.Body)
	}
}

func TestConcurrentRenders(t *testing.T) {
	fsys := fstest.MapFS{
		"base.html": {Data: []byte(`<html>{% block content %}{% endblock %}</html>`)},
		"page.html": {Data: []byte(`{% extends "base.html" %}{% block content %}` +
			`{% cache 500 side request.user.username %}side:{{ request.user.username }}{% endcache %}` +
			`|{% include "partials/item.html" %}|{{ request.GET.i }}{% endblock %}`)},
		"partials/item.html": {Data: []byte(`item:{{ request.path }}`)},
		"plain.html":         {Data: []byte(`plain {{ n }}`)},
	}
	rd := mustNew(t, Options{FS: fsys, User: func(r *http.Request) any {
		return map[string]any{"username": r.URL.Query().Get("u")}
	}})
	const goroutines, iterations = 64, 30
	var wg sync.WaitGroup
	errs := make(chan string, goroutines*iterations)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < iterations; i++ {
				u := "u" + strconv.Itoa(g%8)
				url := fmt.Sprintf("/p%d?u=%s&i=%d", g, u, i)
				want := fmt.Sprintf("<html>side:%s|item:/p%d|%d</html>", u, g, i)
				name := "page.html"
				if i%3 == 2 {
					name, want = "plain.html", fmt.Sprintf("plain %d", i)
				}
				if w := get(rd, url, name, map[string]any{"n": i}); w.Code != 200 || w.Body.String() != want {
					errs <- fmt.Sprintf("%s %s: %d %q, want %q", url, name, w.Code, w.Body, want)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestTwoRenderers(t *testing.T) {
	fsys := fstest.MapFS{"p.html": {Data: []byte(`[{% cache 500 box %}{{ who }}{% endcache %}]`)}}
	regA, err := backends.OpenRegistry(map[string]string{"default": "memory://"})
	if err != nil {
		t.Fatal(err)
	}
	defer regA.Close()
	rdA := mustNew(t, Options{FS: fsys, Registry: regA})
	rdB := mustNew(t, Options{FS: fsys}) // its own memory registry
	if rdA.Registry() == rdB.Registry() {
		t.Fatal("renderers share a registry")
	}
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(2)
		go func() { defer wg.Done(); get(rdA, "/", "p.html", map[string]any{"who": "A"}) }()
		go func() { defer wg.Done(); get(rdB, "/", "p.html", map[string]any{"who": "B"}) }()
	}
	wg.Wait()
	for i := 0; i < 3; i++ {
		if w := get(rdA, "/", "p.html", map[string]any{"who": "x"}); body(w) != "[A]" {
			t.Errorf("A: %q", w.Body)
		}
		if w := get(rdB, "/", "p.html", map[string]any{"who": "y"}); body(w) != "[B]" {
			t.Errorf("B: %q", w.Body)
		}
	}
	key := cache.FragmentKey("box")
	for _, tc := range []struct {
		rd   *Renderer
		want string
	}{{rdA, "A"}, {rdB, "B"}} {
		c, _ := tc.rd.Registry().Fragments()
		if v, ok, _ := c.Get(context.Background(), key); !ok || string(v) != tc.want {
			t.Errorf("registry holds %q %v, want %q", v, ok, tc.want)
		}
	}
	// Closing one leaves the other working; a registry passed in stays open.
	if err := rdB.Close(); err != nil {
		t.Fatal(err)
	}
	cB, _ := rdB.Registry().Default()
	if _, _, err := cB.Get(context.Background(), key); !errors.Is(err, cache.ErrClosed) {
		t.Errorf("own registry not closed: %v", err)
	}
	if err := rdA.Close(); err != nil {
		t.Fatal(err)
	}
	cA, _ := regA.Default()
	if _, _, err := cA.Get(context.Background(), key); err != nil {
		t.Errorf("registry passed in was closed: %v", err)
	}
	if w := get(rdA, "/", "p.html", nil); body(w) != "[A]" {
		t.Errorf("A after Close: %q", w.Body)
	}
}

func TestPreload(t *testing.T) {
	rd := mustNew(t, Options{FS: fstest.MapFS{
		"a.html": {Data: []byte(`a`)},
		"b.html": {Data: []byte(`{% if %}`)},
	}})
	if err := rd.Preload("a.html"); err != nil {
		t.Errorf("Preload(a): %v", err)
	}
	err := rd.Preload("a.html", "b.html", "c.html")
	var e *Error
	if !errors.As(err, &e) || e.Name != "b.html" || e.Line != 1 {
		t.Errorf("Preload(a, b, c) = %v", err)
	}
}
