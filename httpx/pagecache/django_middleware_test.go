package pagecache

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/httpx"
)

// Ports of Django's tests/cache/tests.py page-cache tests (CacheUtils,
// PrefixedCacheUtils, CacheHEADTest, CacheI18nTest, PrefixedCacheI18nTest,
// CacheMiddlewareTest, TestWithTemplateResponse) and of
// tests/decorators' test_cache_page. Django's settings become options;
// time.sleep becomes the fake clock.

// cacheUtilsSettings: CACHE_MIDDLEWARE_KEY_PREFIX="settingsprefix",
// CACHE_MIDDLEWARE_SECONDS=1, USE_I18N=False, host www.example.com.
func cacheUtilsCases(t *testing.T, prefixed bool) {
	tc := newTestCaches(t)
	if prefixed {
		// PrefixedCacheUtils: the cache's KEY_PREFIX changes only the
		// backend keys, not the page keys.
		tc.add(t, "prefixed", cache.WithKeyPrefix("cacheprefix"))
	}
	c := tc.def()
	if prefixed {
		c = tc.caches["prefixed"]
	}
	ctx := context.Background()
	opts := []Option{WithKeyPrefix("settingsprefix"), WithSeconds(1)}
	req := func(method, target, host string) *http.Request {
		r := newReq(method, target)
		r.Host = host
		return r
	}

	t.Run("test_get_cache_key", func(t *testing.T) {
		r := req(http.MethodGet, "/cache/test/", "www.example.com")
		if _, ok, err := GetCacheKey(ctx, r, "", append(opts, WithCache(c))...); ok || err != nil {
			t.Fatalf("before learning: ok=%v err=%v", ok, err)
		}
		if _, err := LearnCacheKey(ctx, r, http.Header{}, cache.DefaultTimeout, append(opts, WithCache(c))...); err != nil {
			t.Fatal(err)
		}
		key, ok, err := GetCacheKey(ctx, r, "", append(opts, WithCache(c))...)
		want := "views.decorators.cache.cache_page.settingsprefix.GET.18a03f9c9649f7d684af5db3524f5c99.d41d8cd98f00b204e9800998ecf8427e"
		if key != want || !ok || err != nil {
			t.Errorf("GetCacheKey = %q %v %v, want %q", key, ok, err, want)
		}
		// A specified key_prefix is taken into account.
		local := append(opts[:1:1], WithKeyPrefix("localprefix"))
		if _, err := LearnCacheKey(ctx, r, http.Header{}, cache.DefaultTimeout, append(local, WithCache(c))...); err != nil {
			t.Fatal(err)
		}
		key, _, _ = GetCacheKey(ctx, r, "", append(local, WithCache(c))...)
		if want := strings.Replace(want, "settingsprefix", "localprefix", 1); key != want {
			t.Errorf("with key prefix: %q, want %q", key, want)
		}
		if prefixed {
			if ok, _ := c.Has(ctx, "views.decorators.cache.cache_header.settingsprefix.18a03f9c9649f7d684af5db3524f5c99"); !ok {
				t.Error("header list not stored under the cache's prefix")
			}
			if got := c.MakeKey("x"); got != "cacheprefix:1:x" {
				t.Errorf("backend key %q", got)
			}
		}
	})
	t.Run("test_get_cache_key_with_query", func(t *testing.T) {
		r := req(http.MethodGet, "/cache/test/?test=1", "www.example.com")
		if _, ok, _ := GetCacheKey(ctx, r, "", append(opts, WithCache(c))...); ok {
			t.Fatal("found before learning")
		}
		if _, err := LearnCacheKey(ctx, r, http.Header{}, cache.DefaultTimeout, append(opts, WithCache(c))...); err != nil {
			t.Fatal(err)
		}
		key, _, _ := GetCacheKey(ctx, r, "", append(opts, WithCache(c))...)
		want := "views.decorators.cache.cache_page.settingsprefix.GET.beaf87a9a99ee81c673ea2d67ccbec2a.d41d8cd98f00b204e9800998ecf8427e"
		if key != want {
			t.Errorf("GetCacheKey = %q, want %q", key, want)
		}
	})
	t.Run("test_cache_key_varies_by_url", func(t *testing.T) {
		r1 := req(http.MethodGet, "/cache/test/", "sub-1.example.com")
		r2 := req(http.MethodGet, "/cache/test/", "sub-2.example.com")
		for _, r := range []*http.Request{r1, r2} {
			if _, err := LearnCacheKey(ctx, r, http.Header{}, cache.DefaultTimeout, append(opts, WithCache(c))...); err != nil {
				t.Fatal(err)
			}
		}
		k1, _, _ := GetCacheKey(ctx, r1, "", append(opts, WithCache(c))...)
		k2, _, _ := GetCacheKey(ctx, r2, "", append(opts, WithCache(c))...)
		if k1 == k2 || k1 == "" {
			t.Errorf("keys %q and %q", k1, k2)
		}
	})
	t.Run("test_learn_cache_key", func(t *testing.T) {
		// A HEAD request with Vary: Pony; the GET key hashes the absent
		// Pony header. Upstream (≤6.0.9) expected d41d8… (absent skipped);
		// with the absent-header marker it is md5("-,") (6.1.3, 5.2.19) or
		// md5("0:,") (6.1.0–6.1.2).
		for _, sc := range []struct {
			opt  Option
			want string
		}{
			{WithKeyScheme(cache.KeySchemeDjango61), "4792b9bac48c3f0441b0d9b0d7af8f2c"},
			{WithKeyScheme(cache.KeySchemeLegacy), "4792b9bac48c3f0441b0d9b0d7af8f2c"},
			{WithDjango("6.1.1"), "3b59035bd3b34e30981dc990dd93acbb"},
		} {
			r := req(http.MethodHead, "/cache/test/", "www.example.com")
			o := append(opts[:2:2], sc.opt)
			learned, err := LearnCacheKey(ctx, r, http.Header{"Vary": {"Pony"}}, cache.DefaultTimeout, append(o, WithCache(c))...)
			if err != nil {
				t.Fatal(err)
			}
			want := "views.decorators.cache.cache_page.settingsprefix.GET.18a03f9c9649f7d684af5db3524f5c99." + sc.want
			if got, _, _ := GetCacheKey(ctx, r, http.MethodGet, append(o, WithCache(c))...); got != want {
				t.Errorf("GetCacheKey = %q, want %q", got, want)
			}
			if learned != strings.Replace(want, ".GET.", ".HEAD.", 1) {
				t.Errorf("learned %q (a HEAD request learns a HEAD key)", learned)
			}
		}
	})
}

func TestDjangoCacheUtils(t *testing.T)         { cacheUtilsCases(t, false) }
func TestDjangoPrefixedCacheUtils(t *testing.T) { cacheUtilsCases(t, true) }

// TestDjangoTemplateResponseKeys ports TestWithTemplateResponse's key tests
// (the request has Django's default host, testserver).
func TestDjangoTemplateResponseKeys(t *testing.T) {
	tc := newTestCaches(t)
	ctx := context.Background()
	opts := []Option{WithKeyPrefix("settingsprefix")}
	for _, c := range []struct{ target, want string }{
		{"/cache/test/", "views.decorators.cache.cache_page.settingsprefix.GET.58a0a05c8a5620f813686ff969c26853.d41d8cd98f00b204e9800998ecf8427e"},
		{"/cache/test/?test=1", "views.decorators.cache.cache_page.settingsprefix.GET.0f1c2d56633c943073c4569d9a9502fe.d41d8cd98f00b204e9800998ecf8427e"},
	} {
		r := get(c.target)
		if _, ok, _ := GetCacheKey(ctx, r, "", append(opts, WithCache(tc.def()))...); ok {
			t.Fatal("found before learning")
		}
		if _, err := LearnCacheKey(ctx, r, http.Header{}, cache.DefaultTimeout, append(opts, WithCache(tc.def()))...); err != nil {
			t.Fatal(err)
		}
		if got, _, _ := GetCacheKey(ctx, r, "", append(opts, WithCache(tc.def()))...); got != c.want {
			t.Errorf("%s: %q, want %q", c.target, got, c.want)
		}
	}
}

// TestDjangoCacheHEAD ports CacheHEADTest (CACHE_MIDDLEWARE_SECONDS=60,
// CACHE_MIDDLEWARE_KEY_PREFIX="test").
func TestDjangoCacheHEAD(t *testing.T) {
	tests := []struct {
		name  string
		first string // method that stores
	}{
		{"test_head_caches_correctly", http.MethodHead},
		{"test_head_with_cached_get", http.MethodGet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := newTestCaches(t)
			view := newHelloWorld()
			h := Site(tc.opts(WithSeconds(60), WithKeyPrefix("test"))...)(view)
			view.call(h, newReq(tt.first, "/cache/test/"), "content")
			rr := view.call(h, newReq(http.MethodHead, "/cache/test/"), "other")
			if view.calls.Load() != 1 || rr.Header().Get("Cache-Status") != statusHit {
				t.Fatalf("HEAD not served from the cache: %d calls, %v", view.calls.Load(), rr.Header())
			}
			if rr.Header().Get("Content-Length") != "19" {
				t.Errorf("Content-Length %q", rr.Header().Get("Content-Length"))
			}
			// The stored content is the first response's.
			key := "views.decorators.cache.cache_page.test." + tt.first + "." + md5hex("http://testserver/cache/test/") + "." + emptyMD5
			v, ok, err := tc.def().Get(context.Background(), key)
			if !ok || err != nil {
				t.Fatalf("no entry under %s", key)
			}
			e, ok := decodeEntry(v)
			if !ok || string(e.body) != "Hello World content" {
				t.Errorf("stored body %q", e.body)
			}
		})
	}
}

// TestDjangoCacheI18n ports CacheI18nTest and PrefixedCacheI18nTest
// (CACHE_MIDDLEWARE_KEY_PREFIX="settingsprefix"); Django's active language
// is the value the WithLanguage function returns.
func TestDjangoCacheI18n(t *testing.T) {
	for _, prefixed := range []bool{false, true} {
		name := "CacheI18nTest"
		if prefixed {
			name = "PrefixedCacheI18nTest"
		}
		t.Run(name, func(t *testing.T) { cacheI18nCases(t, prefixed) })
	}
}

func cacheI18nCases(t *testing.T, prefixed bool) {
	tc := newTestCaches(t)
	c := tc.def()
	if prefixed {
		tc.add(t, "prefixed", cache.WithKeyPrefix("cacheprefix"))
		c = tc.caches["prefixed"]
	}
	ctx := context.Background()
	base := []Option{WithKeyPrefix("settingsprefix")}
	en := WithLanguage(func(*http.Request) string { return "en" })
	chicago := WithTimeZone(func(*http.Request) string { return "America/Chicago" })

	t.Run("test_cache_key_i18n_translation", func(t *testing.T) {
		o := append(base[:1:1], en)
		r := get("/cache/test/")
		key, err := LearnCacheKey(ctx, r, http.Header{}, cache.DefaultTimeout, append(o, WithCache(c))...)
		if err != nil || !strings.HasSuffix(key, ".en") {
			t.Fatalf("key %q %v lacks the language", key, err)
		}
		if key2, _, _ := GetCacheKey(ctx, r, "", append(o, WithCache(c))...); key2 != key {
			t.Errorf("get %q != learn %q", key2, key)
		}
	})
	t.Run("test_cache_key_i18n_translation_accept_language", func(t *testing.T) {
		o := append(base[:1:1], en)
		r := get("/cache/test/")
		r.Header.Set("Accept-Encoding", "gzip;q=1.0, identity; q=0.5, *;q=0")
		key, _ := LearnCacheKey(ctx, r, http.Header{"Vary": {"accept-encoding"}}, cache.DefaultTimeout, append(o, WithCache(c))...)
		if !strings.HasSuffix(key, ".en") {
			t.Fatalf("key %q lacks the language", key)
		}
		for _, tt := range []struct{ acceptLanguage, vary string }{
			{"en-us", "cookie, accept-language, accept-encoding"},
			{"en-US", "cookie, accept-encoding, accept-language"},
			{"en-US,en;q=0.8", "accept-encoding, accept-language, cookie"},
			{"en-US,en;q=0.8,ko;q=0.6", "accept-language, cookie, accept-encoding"},
			{"ko-kr,ko;q=0.8,en-us;q=0.5,en;q=0.3 ", "accept-encoding, cookie, accept-language"},
			{"ko-KR,ko;q=0.8,en-US;q=0.6,en;q=0.4", "accept-language, accept-encoding, cookie"},
			{"ko;q=1.0,en;q=0.5", "cookie, accept-language, accept-encoding"},
			{"ko, en", "cookie, accept-encoding, accept-language"},
			{"ko-KR, en-US", "accept-encoding, accept-language, cookie"},
		} {
			r := get("/cache/test/")
			r.Header.Set("Accept-Language", tt.acceptLanguage)
			r.Header.Set("Accept-Encoding", "gzip;q=1.0, identity; q=0.5, *;q=0")
			k1, _ := LearnCacheKey(ctx, r, http.Header{"Vary": {tt.vary}}, cache.DefaultTimeout, append(o, WithCache(c))...)
			k2, _, _ := GetCacheKey(ctx, r, "", append(o, WithCache(c))...)
			// Django's reference key was learned without Cookie in Vary; the
			// request has no Cookie, so with an absent-header marker the
			// digest changes once Cookie is listed. Check that Accept-Language
			// never matters: the key is the one learned with Cookie, Accept-
			// Encoding and no Accept-Language.
			ref := get("/cache/test/")
			ref.Header.Set("Accept-Encoding", "gzip;q=1.0, identity; q=0.5, *;q=0")
			want, _ := mustNewKeys(t, o...).PageKey(ref, http.MethodGet, []string{"HTTP_ACCEPT_ENCODING", "HTTP_COOKIE"})
			if k1 != want || k2 != want {
				t.Errorf("Accept-Language %q, Vary %q: learn %q get %q, want %q", tt.acceptLanguage, tt.vary, k1, k2, want)
			}
		}
	})
	t.Run("test_cache_key_i18n_timezone", func(t *testing.T) {
		o := append(base[:1:1], chicago)
		r := get("/cache/test/")
		key, _ := LearnCacheKey(ctx, r, http.Header{}, cache.DefaultTimeout, append(o, WithCache(c))...)
		if !strings.HasSuffix(key, ".America/Chicago") {
			t.Fatalf("key %q lacks the time zone", key)
		}
		if key2, _, _ := GetCacheKey(ctx, r, "", append(o, WithCache(c))...); key2 != key {
			t.Errorf("get %q != learn %q", key2, key)
		}
	})
	t.Run("test_cache_key_no_i18n", func(t *testing.T) {
		r := get("/cache/test/")
		key, _ := LearnCacheKey(ctx, r, http.Header{}, cache.DefaultTimeout, append(base, WithCache(c))...)
		if strings.HasSuffix(key, ".en") || strings.Contains(key, "Chicago") ||
			!strings.HasSuffix(key, ".d41d8cd98f00b204e9800998ecf8427e") {
			t.Errorf("key %q", key)
		}
	})
	t.Run("test_middleware", func(t *testing.T) {
		// CACHE_MIDDLEWARE_KEY_PREFIX="test", CACHE_MIDDLEWARE_SECONDS=60,
		// USE_I18N=True.
		var lang atomicString
		lang.Store("en")
		o := []Option{WithCache(c), WithClock(tc.clock.Now), WithKeyPrefix("test"), WithSeconds(60),
			WithLanguage(func(*http.Request) string { return lang.Load() })}
		view := newHelloWorld()
		h := Site(o...)(view)
		// The query string distinguishes entries.
		rr := view.call(h, get("/cache/test/?foo=bar&other=true"), "Check for cache with QUERY_STRING")
		if rr.Header().Get("Cache-Status") == statusHit {
			t.Fatal("first access hit")
		}
		rr = view.call(h, get("/cache/test/?foo=bar&other=true"), "changed")
		if rr.Body.String() != "Hello World Check for cache with QUERY_STRING" {
			t.Errorf("not cached: %q", rr.Body.String())
		}
		rr = view.call(h, get("/cache/test/?foo=bar&somethingelse=true"), "else")
		if rr.Body.String() != "Hello World else" {
			t.Errorf("different query hit: %q", rr.Body.String())
		}
		// Per-language entries.
		lang.Store("en")
		view.call(h, get("/cache/test/"), "Hello world!")
		lang.Store("es")
		view.call(h, get("/cache/test/"), "Hola mundo!")
		lang.Store("en")
		if rr := view.call(h, get("/cache/test/"), "x"); rr.Body.String() != "Hello World Hello world!" {
			t.Errorf("en: %q", rr.Body.String())
		}
		lang.Store("es")
		if rr := view.call(h, get("/cache/test/"), "x"); rr.Body.String() != "Hello World Hola mundo!" {
			t.Errorf("es: %q", rr.Body.String())
		}
	})
	t.Run("test_middleware_doesnt_cache_streaming_response", func(t *testing.T) {
		o := []Option{WithCache(c), WithClock(tc.clock.Now), WithKeyPrefix("test"), WithSeconds(60)}
		calls := 0
		h := Site(o...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			_, _ = w.Write([]byte("Check for cache with streaming content."))
			w.(http.Flusher).Flush()
		}))
		serveReq(h, get("/cache/test/stream"))
		rr := serveReq(h, get("/cache/test/stream"))
		if calls != 2 || rr.Header().Get("Cache-Status") != "fragcache; fwd=uri-miss; detail=streamed" {
			t.Errorf("streaming response cached: %d calls, %q", calls, rr.Header().Get("Cache-Status"))
		}
	})
}

// TestDjangoCacheMiddleware ports CacheMiddlewareTest:
// CACHE_MIDDLEWARE_ALIAS="other", CACHE_MIDDLEWARE_KEY_PREFIX="middlewareprefix",
// CACHE_MIDDLEWARE_SECONDS=30; caches "default" and "other" (TIMEOUT 1).
func TestDjangoCacheMiddleware(t *testing.T) {
	setup := func(t *testing.T) *testCaches {
		tc := newTestCaches(t)
		tc.add(t, "other", cache.WithDefaultTimeout(cache.Seconds(1)))
		reg, err := cache.NewRegistry(tc.caches)
		if err != nil {
			t.Fatal(err)
		}
		tc.reg = reg
		return tc
	}
	middlewareOpts := func(tc *testCaches, more ...Option) []Option {
		return tc.opts(append([]Option{WithAlias("other"), WithKeyPrefix("middlewareprefix"), WithSeconds(30)}, more...)...)
	}

	t.Run("test_constructor", func(t *testing.T) {
		tc := setup(t)
		// As middleware: the settings.
		m, err := New(middlewareOpts(tc)...)
		if err != nil {
			t.Fatal(err)
		}
		if m.cfg.cacheSeconds != 30 || m.cfg.keys.prefix != "middlewareprefix" || m.cfg.alias != "other" ||
			m.Cache() != tc.caches["other"] || m.cfg.pageTimeout != nil {
			t.Errorf("middleware: %+v", m.cfg)
		}
		// As a decorator with defaults: prefix "", alias default.
		d, err := New(tc.opts(pageTimeoutOption(cache.Seconds(3)))...)
		if err != nil {
			t.Fatal(err)
		}
		if d.cfg.keys.prefix != "" || d.cfg.alias != cache.DefaultAlias || d.Cache() != tc.def() {
			t.Errorf("decorator defaults: %+v", d.cfg)
		}
		// WithAlias("") is Django's cache_alias=None.
		d2, _ := New(tc.opts(WithAlias(""))...)
		if d2.Cache() != tc.def() {
			t.Error(`WithAlias("") is not "default"`)
		}
		// Custom values.
		d3, _ := New(tc.opts(WithSeconds(60), WithAlias("other"), WithKeyPrefix("foo"))...)
		if d3.cfg.cacheSeconds != 60 || d3.cfg.keys.prefix != "foo" || d3.Cache() != tc.caches["other"] {
			t.Errorf("custom: %+v", d3.cfg)
		}
		// An unknown alias is an error; Page then passes through.
		if _, err := New(tc.opts(WithAlias("nonexistent"))...); err == nil ||
			err.Error() != "The connection 'nonexistent' doesn't exist." {
			t.Errorf("unknown alias: %v", err)
		}
		if _, err := New(); err == nil {
			t.Error("no cache: no error")
		}
		view := newHelloWorld()
		var logged bytes.Buffer
		h := Page(cache.Seconds(3), WithAlias("nonexistent"), WithRegistry(tc.reg),
			WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))(view)
		view.call(h, get("/view/"), "1")
		rr := view.call(h, get("/view/"), "2")
		if rr.Body.String() != "Hello World 2" || view.calls.Load() != 2 {
			t.Error("misconfigured Page does not pass through")
		}
		// It cannot go unnoticed: an Error line when built, and every
		// response says so.
		if got := rr.Header().Get("Cache-Status"); got != "fragcache; fwd=bypass; detail=misconfigured" {
			t.Errorf("misconfigured Page: Cache-Status %q", got)
		}
		if !strings.Contains(logged.String(), "level=ERROR") || !strings.Contains(logged.String(), "nonexistent") {
			t.Errorf("misconfigured Page logged %q", logged.String())
		}
	})
	t.Run("test_middleware", func(t *testing.T) {
		tc := setup(t)
		view := newHelloWorld()
		mw := Site(middlewareOpts(tc)...)(view)
		prefix := Site(middlewareOpts(tc, WithKeyPrefix("prefix1"))...)(view)
		timeout := Site(middlewareOpts(tc, WithSeconds(1))...)(view)

		view.call(mw, get("/view/"), "1")
		if rr := view.call(mw, get("/view/"), "2"); rr.Body.String() != "Hello World 1" {
			t.Errorf("repeat: %q", rr.Body.String())
		}
		// The same request through a different prefix won't hit.
		if rr := view.call(prefix, get("/view/"), "3"); rr.Body.String() != "Hello World 3" {
			t.Errorf("other prefix: %q", rr.Body.String())
		}
		// The timeout doesn't change the key.
		if rr := view.call(timeout, get("/view/"), "4"); rr.Body.String() != "Hello World 1" {
			t.Errorf("other timeout: %q", rr.Body.String())
		}
	})
	t.Run("test_view_decorator", func(t *testing.T) {
		tc := setup(t)
		view := newHelloWorld()
		defaultView := Page(cache.Seconds(3), tc.opts()...)(view)
		defaultWithPrefix := Page(cache.Seconds(3), tc.opts(WithKeyPrefix("prefix1"))...)(view)
		explicitDefault := Page(cache.Seconds(3), tc.opts(WithAlias("default"))...)(view)
		explicitDefaultWithPrefix := Page(cache.Seconds(3), tc.opts(WithAlias("default"), WithKeyPrefix("prefix1"))...)(view)
		otherView := Page(cache.Seconds(1), tc.opts(WithAlias("other"))...)(view)
		otherWithPrefix := Page(cache.Seconds(1), tc.opts(WithAlias("other"), WithKeyPrefix("prefix2"))...)(view)
		steps := []struct {
			h     http.Handler
			value string
			want  string
		}{
			{defaultView, "1", "1"},
			{defaultView, "2", "1"},
			{explicitDefault, "3", "1"},
			{explicitDefaultWithPrefix, "4", "4"},
			{explicitDefaultWithPrefix, "5", "4"},
			{defaultWithPrefix, "6", "4"},
			{otherView, "7", "7"},
			{otherView, "8", "7"},
			{otherWithPrefix, "9", "9"},
			{nil, "", ""}, // time.sleep(2)
			{defaultView, "11", "1"},
			{defaultWithPrefix, "12", "4"},
			{explicitDefault, "13", "1"},
			{explicitDefaultWithPrefix, "14", "4"},
			{otherView, "15", "15"},
			{otherWithPrefix, "16", "16"},
		}
		for _, s := range steps {
			if s.h == nil {
				tc.advance(2 * time.Second)
				continue
			}
			if rr := view.call(s.h, get("/view/"), s.value); rr.Body.String() != "Hello World "+s.want {
				t.Errorf("value %s: %q, want Hello World %s", s.value, rr.Body.String(), s.want)
			}
		}
	})
	t.Run("test_cache_page_timeout", func(t *testing.T) {
		for _, tt := range []struct{ maxAge, pageTimeout int }{{1, 3}, {3, 1}} {
			tc := setup(t)
			view := newHelloWorld()
			h := Page(cache.Seconds(float64(tt.pageTimeout)), tc.opts()...)(httpx.CacheControl(httpx.MaxAge(tt.maxAge))(view))
			if rr := view.call(h, get("/view/"), "1"); rr.Body.String() != "Hello World 1" {
				t.Fatal(rr.Body.String())
			}
			tc.advance(time.Second)
			want := "Hello World 2"
			if tt.pageTimeout > tt.maxAge {
				want = "Hello World 1"
			}
			if rr := view.call(h, get("/view/"), "2"); rr.Body.String() != want {
				t.Errorf("max_age %d page_timeout %d: %q, want %q", tt.maxAge, tt.pageTimeout, rr.Body.String(), want)
			}
		}
	})
	t.Run("test_cache_control_not_cached", func(t *testing.T) {
		for _, cc := range []string{"private", "no-cache", "no-store"} {
			tc := setup(t)
			view := newHelloWorld()
			h := Page(cache.Seconds(3), tc.opts()...)(httpx.CacheControl(httpx.Flag(cc))(view))
			view.call(h, get("/view/"), "1")
			if rr := view.call(h, get("/view/"), "2"); rr.Body.String() != "Hello World 2" {
				t.Errorf("%s cached", cc)
			}
		}
	})
	t.Run("test_sensitive_cookie_not_cached", func(t *testing.T) {
		// A CSRF cookie set on a cookie-less request prevents caching (the
		// CSRF view varies on Cookie; the page cache refuses any Set-Cookie).
		tc := setup(t)
		calls := 0
		csrfView := httpx.VaryOnCookie(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			http.SetCookie(w, &http.Cookie{Name: "csrftoken", Value: "secret-token", Path: "/"})
			_, _ = w.Write([]byte("secret-token"))
		}))
		h := Site(middlewareOpts(tc)...)(csrfView)
		serveReq(h, get("/view/"))
		rr := serveReq(h, get("/view/"))
		if calls != 2 || len(tc.stores["other"].Keys()) != 0 {
			t.Errorf("cached: %d calls, keys %v", calls, tc.stores["other"].Keys())
		}
		if rr.Header().Get("Cache-Status") != "fragcache; fwd=uri-miss; detail=set-cookie" {
			t.Errorf("Cache-Status %q", rr.Header().Get("Cache-Status"))
		}
	})
	t.Run("test_304_response_has_http_caching_headers_but_not_cached", func(t *testing.T) {
		tc := setup(t)
		calls := 0
		h := Page(cache.Seconds(2), tc.opts()...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			w.WriteHeader(http.StatusNotModified)
		}))
		serveReq(h, get("/view/"))
		rr := serveReq(h, get("/view/"))
		if calls != 2 || rr.Code != http.StatusNotModified {
			t.Fatalf("%d calls, status %d", calls, rr.Code)
		}
		if rr.Header().Get("Cache-Control") != "max-age=2" || rr.Header().Get("Expires") == "" {
			t.Errorf("headers %v", rr.Header())
		}
	})
	t.Run("test_per_thread", func(t *testing.T) {
		// Go has no per-thread cache objects: one Cache serves
		// concurrent requests safely (run with -race).
		tc := setup(t)
		view := newHelloWorld()
		h := Site(middlewareOpts(tc)...)(view)
		done := make(chan struct{})
		for i := 0; i < 8; i++ {
			go func() {
				defer func() { done <- struct{}{} }()
				for j := 0; j < 20; j++ {
					rr := serveReq(h, get("/view/"))
					if rr.Code != http.StatusOK {
						t.Errorf("status %d", rr.Code)
					}
				}
			}()
		}
		for i := 0; i < 8; i++ {
			<-done
		}
	})
	t.Run("test_cache_control_max_age", func(t *testing.T) {
		tc := setup(t)
		tc.clock.unix.Store(1468749600) // Sun, 17 Jul 2016 10:00:00 GMT
		view := newHelloWorld()
		h := Page(cache.Seconds(2), tc.opts()...)(view)
		rr := view.call(h, get("/view/"), "1")
		if rr.Header().Get("Expires") != "Sun, 17 Jul 2016 10:00:02 GMT" ||
			rr.Header().Get("Cache-Control") != "max-age=2" || rr.Header().Get("Age") != "" {
			t.Errorf("first response: %v", rr.Header())
		}
		tc.advance(time.Second)
		rr = view.call(h, get("/view/"), "1")
		if rr.Header().Get("Expires") != "Sun, 17 Jul 2016 10:00:02 GMT" ||
			rr.Header().Get("Cache-Control") != "max-age=2" || rr.Header().Get("Age") != "1" {
			t.Errorf("cached response: %v", rr.Header())
		}
	})
}

// TestDjangoDecoratorCachePage ports tests/decorators' test_cache_page:
// cache_page works on a plain view, with and without a key prefix.
func TestDjangoDecoratorCachePage(t *testing.T) {
	tc := newTestCaches(t)
	view := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("response")) })
	for _, h := range []http.Handler{
		Page(cache.Seconds(123), tc.opts()...)(view),
		Page(cache.Seconds(123), tc.opts(WithKeyPrefix("test"))...)(view),
	} {
		for range 2 {
			if rr := serveReq(h, get("/")); rr.Body.String() != "response" {
				t.Errorf("body %q", rr.Body.String())
			}
		}
	}
	keys := tc.stores[cache.DefaultAlias].Keys()
	if len(keys) != 4 {
		t.Errorf("stored %v", keys)
	}
}
