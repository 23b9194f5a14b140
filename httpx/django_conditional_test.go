package httpx

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// Port of Django's tests/conditional_processing/tests.py (django-cache.md
// §6.4) and of ConditionalGetMiddlewareTest (§6.5).

const (
	fullResponse           = "Test conditional get response"
	lastModifiedStr        = "Sun, 21 Oct 2007 23:21:47 GMT"
	lastModifiedNewerStr   = "Mon, 18 Oct 2010 16:56:23 GMT"
	lastModifiedInvalidStr = "Mon, 32 Oct 2010 16:56:23 GMT"
	expiredLastModifiedStr = "Sat, 20 Oct 2007 23:21:47 GMT"
	etagValue              = `"b4246ffc4f62314ca13147c9d4f76974"`
	weakETag               = `W/"b4246ffc4f62314ca13147c9d4f76974"`
	expiredETag            = `"7fae4cd4b0f81e7d2914700043aa8ed6"`
)

// conditionalURLs are the views of tests/conditional_processing/views.py.
func conditionalURLs() map[string]http.Handler {
	lm := time.Date(2007, 10, 21, 23, 21, 47, 0, time.UTC)
	lmf := func(*http.Request) time.Time { return lm }
	et := func(s string) func(*http.Request) string { return func(*http.Request) string { return s } }
	index := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(fullResponse))
	})
	return map[string]http.Handler{
		"/condition/":                Condition(et(etagValue), lmf)(index),
		"/condition/last_modified/":  Condition(nil, lmf)(index),
		"/condition/last_modified2/": LastModified(lmf)(index),
		"/condition/etag/":           Condition(et(etagValue), nil)(index),
		"/condition/etag2/":          ETag(et(etagValue))(index),
		"/condition/unquoted_etag/":  Condition(et(strings.Trim(etagValue, `"`)), nil)(index),
		"/condition/weak_etag/":      Condition(et(weakETag), nil)(index),
		"/condition/no_etag/":        Condition(et(""), nil)(index),
	}
}

func TestDjangoConditionalProcessing(t *testing.T) {
	const (
		full   = http.StatusOK
		notMod = http.StatusNotModified
		failed = http.StatusPreconditionFailed
	)
	type hdr = map[string]string
	tests := []struct {
		name, method, path string
		headers            hdr
		want               int
		checkLM, checkETag bool // for full responses
	}{
		{"without_conditions", "GET", "/condition/", nil, full, true, true},
		{"without_conditions PUT", "PUT", "/condition/", nil, full, false, false},

		{"if_modified_since", "GET", "/condition/", hdr{"If-Modified-Since": lastModifiedStr}, notMod, false, false},
		{"if_modified_since PUT", "PUT", "/condition/", hdr{"If-Modified-Since": lastModifiedStr}, full, false, false},
		{"if_modified_since newer", "GET", "/condition/", hdr{"If-Modified-Since": lastModifiedNewerStr}, notMod, false, false},
		{"if_modified_since invalid", "GET", "/condition/", hdr{"If-Modified-Since": lastModifiedInvalidStr}, full, true, true},
		{"if_modified_since expired", "GET", "/condition/", hdr{"If-Modified-Since": expiredLastModifiedStr}, full, true, true},

		{"if_unmodified_since", "GET", "/condition/", hdr{"If-Unmodified-Since": lastModifiedStr}, full, true, true},
		{"if_unmodified_since newer", "GET", "/condition/", hdr{"If-Unmodified-Since": lastModifiedNewerStr}, full, true, true},
		{"if_unmodified_since invalid", "GET", "/condition/", hdr{"If-Unmodified-Since": lastModifiedInvalidStr}, full, true, true},
		{"if_unmodified_since expired", "GET", "/condition/", hdr{"If-Unmodified-Since": expiredLastModifiedStr}, failed, false, false},

		{"if_none_match", "GET", "/condition/", hdr{"If-None-Match": etagValue}, notMod, false, false},
		{"if_none_match PUT", "PUT", "/condition/", hdr{"If-None-Match": etagValue}, failed, false, false},
		{"if_none_match expired", "GET", "/condition/", hdr{"If-None-Match": expiredETag}, full, true, true},
		{"if_none_match several", "GET", "/condition/", hdr{"If-None-Match": etagValue + ", " + expiredETag}, notMod, false, false},

		{"weak_if_none_match", "GET", "/condition/", hdr{"If-None-Match": weakETag}, notMod, false, false},
		{"weak_if_none_match PUT", "PUT", "/condition/", hdr{"If-None-Match": weakETag}, failed, false, false},
		{"weak_if_none_match several", "GET", "/condition/", hdr{"If-None-Match": weakETag + ", " + expiredETag}, notMod, false, false},
		{"weak_if_none_match weak view", "GET", "/condition/weak_etag/", hdr{"If-None-Match": etagValue}, notMod, false, false},
		{"weak_if_none_match weak view PUT", "PUT", "/condition/weak_etag/", hdr{"If-None-Match": etagValue}, failed, false, false},

		{"all_if_none_match", "GET", "/condition/", hdr{"If-None-Match": "*"}, notMod, false, false},
		{"all_if_none_match PUT", "PUT", "/condition/", hdr{"If-None-Match": "*"}, failed, false, false},
		{"all_if_none_match no etag", "GET", "/condition/no_etag/", hdr{"If-None-Match": "*"}, full, false, false},

		{"if_match", "PUT", "/condition/", hdr{"If-Match": etagValue}, full, false, false},
		{"if_match expired", "PUT", "/condition/", hdr{"If-Match": expiredETag}, failed, false, false},

		{"weak_if_match", "PUT", "/condition/", hdr{"If-Match": weakETag}, failed, false, false},
		{"weak_if_match weak view", "PUT", "/condition/weak_etag/", hdr{"If-Match": etagValue}, failed, false, false},
		{"weak_if_match weak both", "PUT", "/condition/weak_etag/", hdr{"If-Match": weakETag}, failed, false, false},

		{"all_if_match", "GET", "/condition/", hdr{"If-Match": "*"}, full, true, true},
		{"all_if_match no etag", "GET", "/condition/no_etag/", hdr{"If-Match": "*"}, failed, false, false},

		{"both_headers 1", "GET", "/condition/", hdr{"If-None-Match": etagValue, "If-Modified-Since": lastModifiedStr}, notMod, false, false},
		{"both_headers 2", "GET", "/condition/", hdr{"If-None-Match": etagValue, "If-Modified-Since": expiredLastModifiedStr}, notMod, false, false},
		{"both_headers 3", "GET", "/condition/", hdr{"If-None-Match": expiredETag, "If-Modified-Since": lastModifiedStr}, full, true, true},
		{"both_headers 4", "GET", "/condition/", hdr{"If-None-Match": expiredETag, "If-Modified-Since": expiredLastModifiedStr}, full, true, true},

		{"both_headers_2 1", "GET", "/condition/", hdr{"If-Match": etagValue, "If-Unmodified-Since": lastModifiedStr}, full, true, true},
		{"both_headers_2 2", "GET", "/condition/", hdr{"If-Match": etagValue, "If-Unmodified-Since": expiredLastModifiedStr}, full, true, true},
		{"both_headers_2 3", "GET", "/condition/", hdr{"If-Match": expiredETag, "If-Unmodified-Since": expiredLastModifiedStr}, failed, false, false},
		{"both_headers_2 4", "GET", "/condition/", hdr{"If-Match": expiredETag, "If-Unmodified-Since": lastModifiedStr}, failed, false, false},

		{"single_condition_1 lm", "GET", "/condition/last_modified/", hdr{"If-Modified-Since": lastModifiedStr}, notMod, false, false},
		{"single_condition_1 etag", "GET", "/condition/etag/", hdr{"If-Modified-Since": lastModifiedStr}, full, false, true},
		{"single_condition_2 etag", "GET", "/condition/etag/", hdr{"If-None-Match": etagValue}, notMod, false, false},
		{"single_condition_2 lm", "GET", "/condition/last_modified/", hdr{"If-None-Match": etagValue}, full, true, false},
		{"single_condition_3", "GET", "/condition/last_modified/", hdr{"If-Modified-Since": expiredLastModifiedStr}, full, true, false},
		{"single_condition_4", "GET", "/condition/etag/", hdr{"If-None-Match": expiredETag}, full, false, true},
		{"single_condition_5 lm2", "GET", "/condition/last_modified2/", hdr{"If-Modified-Since": lastModifiedStr}, notMod, false, false},
		{"single_condition_5 etag2", "GET", "/condition/etag2/", hdr{"If-Modified-Since": lastModifiedStr}, full, false, true},
		{"single_condition_6 etag2", "GET", "/condition/etag2/", hdr{"If-None-Match": etagValue}, notMod, false, false},
		{"single_condition_6 lm2", "GET", "/condition/last_modified2/", hdr{"If-None-Match": etagValue}, full, true, false},
		{"single_condition_7 lm", "GET", "/condition/last_modified/", hdr{"If-Unmodified-Since": expiredLastModifiedStr}, failed, false, false},
		{"single_condition_7 etag", "GET", "/condition/etag/", hdr{"If-Unmodified-Since": expiredLastModifiedStr}, failed, false, false},
		{"single_condition_8", "GET", "/condition/last_modified/", hdr{"If-Unmodified-Since": lastModifiedStr}, full, true, false},
		{"single_condition_9 lm2", "GET", "/condition/last_modified2/", hdr{"If-Unmodified-Since": expiredLastModifiedStr}, failed, false, false},
		{"single_condition_9 etag2", "GET", "/condition/etag2/", hdr{"If-Unmodified-Since": expiredLastModifiedStr}, failed, false, false},
		{"single_condition_head", "HEAD", "/condition/", hdr{"If-Modified-Since": lastModifiedStr}, notMod, false, false},

		{"unquoted", "GET", "/condition/unquoted_etag/", nil, full, false, true},
		{"unquoted_if_none_match", "GET", "/condition/unquoted_etag/", hdr{"If-None-Match": etagValue}, notMod, false, false},
		{"unquoted_if_none_match unquoted", "GET", "/condition/unquoted_etag/", hdr{"If-None-Match": strings.Trim(etagValue, `"`)}, full, false, true},
		{"invalid_etag", "GET", "/condition/", hdr{"If-None-Match": `"""`}, full, true, true},
	}
	urls := conditionalURLs()
	for _, tt := range tests {
		res := serve(urls[tt.path], tt.method, tt.headers)
		if res.StatusCode != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, res.StatusCode, tt.want)
			continue
		}
		buf := make([]byte, 100)
		n, _ := res.Body.Read(buf)
		switch tt.want {
		case full:
			if string(buf[:n]) != fullResponse {
				t.Errorf("%s: body %q", tt.name, buf[:n])
			}
			if tt.checkLM && res.Header.Get("Last-Modified") != lastModifiedStr {
				t.Errorf("%s: Last-Modified %q", tt.name, res.Header.Get("Last-Modified"))
			}
			if tt.checkETag && res.Header.Get("ETag") != etagValue {
				t.Errorf("%s: ETag %q", tt.name, res.Header.Get("ETag"))
			}
			if tt.method == "PUT" && (res.Header.Get("ETag") != "" || res.Header.Get("Last-Modified") != "") {
				t.Errorf("%s: validators on PUT: %v", tt.name, res.Header)
			}
		case notMod:
			if n != 0 || res.Header.Get("Content-Type") != "" {
				t.Errorf("%s: 304 with body %q / Content-Type %q", tt.name, buf[:n], res.Header.Get("Content-Type"))
			}
		}
	}
}

// Port of tests/middleware/tests.py ConditionalGetMiddlewareTest.
func TestDjangoConditionalGetMiddleware(t *testing.T) {
	type view struct {
		status  int
		headers map[string]string
		body    string
		stream  bool
	}
	ok := func(h map[string]string) view { return view{200, h, "content", false} }
	tests := []struct {
		name     string
		method   string
		req      map[string]string
		view     view
		want     int
		wantETag string // "-" = no ETag header
		wantHdr  map[string]string
	}{
		{"calculates_etag", "GET", nil, ok(nil), 200, bodyETag([]byte("content")), nil},
		{"wont_overwrite_etag", "GET", nil, ok(map[string]string{"ETag": "eggs"}), 200, "eggs", nil},
		{"no_etag_streaming_response", "GET", nil, view{200, nil, "content", true}, 200, "-", nil},
		{"no_etag_response_empty_content", "GET", nil, view{200, nil, "", false}, 200, "-", nil},
		{"no_etag_no_store_cache", "GET", nil, ok(map[string]string{"Cache-Control": "No-Cache, No-Store, Max-age=0"}), 200, "-", nil},
		{"etag_extended_cache_control", "GET", nil, ok(map[string]string{"Cache-Control": `my-directive="my-no-store"`}), 200, bodyETag([]byte("content")), nil},
		{"if_none_match_and_no_etag", "GET", map[string]string{"If-None-Match": "spam"}, view{200, nil, "", false}, 200, "-", nil},
		{"no_if_none_match_and_etag", "GET", nil, ok(map[string]string{"ETag": "eggs"}), 200, "eggs", nil},
		{"if_none_match_and_same_etag", "GET", map[string]string{"If-None-Match": `"spam"`}, ok(map[string]string{"ETag": `"spam"`}), 304, `"spam"`, nil},
		{"if_none_match_and_different_etag", "GET", map[string]string{"If-None-Match": "spam"}, ok(map[string]string{"ETag": "eggs"}), 200, "eggs", nil},
		{"if_none_match_and_redirect", "GET", map[string]string{"If-None-Match": `"spam"`},
			view{301, map[string]string{"ETag": `"spam"`, "Location": "/"}, "content", false}, 301, `"spam"`, nil},
		{"if_none_match_and_client_error", "GET", map[string]string{"If-None-Match": `"spam"`},
			view{400, map[string]string{"ETag": `"spam"`}, "content", false}, 400, `"spam"`, nil},
		{"if_modified_since_and_no_last_modified", "GET", map[string]string{"If-Modified-Since": "Sat, 12 Feb 2011 17:38:44 GMT"},
			view{200, nil, "", false}, 200, "-", nil},
		{"no_if_modified_since_and_last_modified", "GET", nil,
			view{200, map[string]string{"Last-Modified": "Sat, 12 Feb 2011 17:38:44 GMT"}, "", false}, 200, "-", nil},
		{"if_modified_since_and_same_last_modified", "GET", map[string]string{"If-Modified-Since": "Sat, 12 Feb 2011 17:38:44 GMT"},
			view{200, map[string]string{"Last-Modified": "Sat, 12 Feb 2011 17:38:44 GMT"}, "", false}, 304, "-", nil},
		{"if_modified_since_and_last_modified_in_the_past", "GET", map[string]string{"If-Modified-Since": "Sat, 12 Feb 2011 17:38:44 GMT"},
			view{200, map[string]string{"Last-Modified": "Sat, 12 Feb 2011 17:35:44 GMT"}, "", false}, 304, "-", nil},
		{"if_modified_since_and_last_modified_in_the_future", "GET", map[string]string{"If-Modified-Since": "Sat, 12 Feb 2011 17:38:44 GMT"},
			view{200, map[string]string{"Last-Modified": "Sat, 12 Feb 2011 17:41:44 GMT"}, "", false}, 200, "-", nil},
		{"if_modified_since_and_redirect", "GET", map[string]string{"If-Modified-Since": "Sat, 12 Feb 2011 17:38:44 GMT"},
			view{301, map[string]string{"Last-Modified": "Sat, 12 Feb 2011 17:35:44 GMT", "Location": "/"}, "", false}, 301, "-", nil},
		{"if_modified_since_and_client_error", "GET", map[string]string{"If-Modified-Since": "Sat, 12 Feb 2011 17:38:44 GMT"},
			view{400, map[string]string{"Last-Modified": "Sat, 12 Feb 2011 17:35:44 GMT"}, "", false}, 400, "-", nil},
		{"not_modified_headers", "GET", map[string]string{"If-None-Match": `"spam"`}, ok(map[string]string{
			"Date": "Sat, 12 Feb 2011 17:35:44 GMT", "Last-Modified": "Sat, 12 Feb 2011 17:35:44 GMT",
			"Expires": "Sun, 13 Feb 2011 17:35:44 GMT", "Vary": "Cookie", "Cache-Control": "public",
			"Content-Location": "/alt", "Content-Language": "en", "ETag": `"spam"`}), 304, `"spam"`,
			map[string]string{"Date": "Sat, 12 Feb 2011 17:35:44 GMT", "Last-Modified": "Sat, 12 Feb 2011 17:35:44 GMT",
				"Expires": "Sun, 13 Feb 2011 17:35:44 GMT", "Vary": "Cookie", "Cache-Control": "public",
				"Content-Location": "/alt", "Content-Language": "", "Content-Type": ""}},
		{"no_unsafe", "PUT", map[string]string{"If-Match": `"other"`}, ok(nil), 200, "-", nil},
		{"no_head", "HEAD", nil, ok(nil), 200, "-", nil},
	}
	for _, tt := range tests {
		h := ConditionalGet(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			for k, v := range tt.view.headers {
				w.Header()[http.CanonicalHeaderKey(k)] = []string{v}
			}
			w.WriteHeader(tt.view.status)
			_, _ = w.Write([]byte(tt.view.body))
			if tt.view.stream {
				w.(http.Flusher).Flush()
				_, _ = w.Write([]byte(" more"))
			}
		}))
		res := serve(h, tt.method, tt.req)
		if res.StatusCode != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, res.StatusCode, tt.want)
		}
		etag, has := res.Header["Etag"]
		switch {
		case tt.wantETag == "-" && has:
			t.Errorf("%s: unexpected ETag %q", tt.name, etag)
		case tt.wantETag != "-" && (!has || etag[0] != tt.wantETag):
			t.Errorf("%s: ETag %q, want %q", tt.name, etag, tt.wantETag)
		}
		for k, v := range tt.wantHdr {
			if got := res.Header.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", tt.name, k, got, v)
			}
		}
	}
}

// ETagGZipMiddlewareTest: a compressing middleware outside ConditionalGet
// turns the strong ETag weak; a later request with that weak ETag still gets
// a 304 (weak comparison).
func TestDjangoETagGZip(t *testing.T) {
	weakening := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(&weakenWriter{ResponseWriter: w}, r)
		})
	}
	content := strings.Repeat("a", 200)
	h := weakening(ConditionalGet(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(content))
	})))
	res := serve(h, http.MethodGet, nil)
	etag := res.Header.Get("ETag")
	if !strings.HasPrefix(etag, `W/"`) {
		t.Fatalf("ETag %q not weakened", etag)
	}
	if res = serve(h, http.MethodGet, map[string]string{"If-None-Match": etag}); res.StatusCode != http.StatusNotModified {
		t.Errorf("weak If-None-Match: status %d, want 304", res.StatusCode)
	}
}

// weakenWriter makes a strong ETag weak when the header is written, as
// Django's GZipMiddleware does.
type weakenWriter struct {
	http.ResponseWriter
	done bool
}

func (w *weakenWriter) weaken() {
	if w.done {
		return
	}
	w.done = true
	if e := w.Header().Get("ETag"); strings.HasPrefix(e, `"`) {
		w.Header().Set("ETag", "W/"+e)
	}
}

func (w *weakenWriter) WriteHeader(code int) { w.weaken(); w.ResponseWriter.WriteHeader(code) }

func (w *weakenWriter) Write(p []byte) (int, error) { w.weaken(); return w.ResponseWriter.Write(p) }
