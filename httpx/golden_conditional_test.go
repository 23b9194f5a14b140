package httpx

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fragcache/fragcache/internal/golden"
)

// conditionalVectors mirrors conditional__django-*.json (golden/conditional.py).
type conditionalVectors struct {
	AutoETag struct {
		Body string `json:"body"`
		ETag string `json:"etag"`
	} `json:"auto_etag_for_body"`
	Middleware []struct {
		Case           string            `json:"case"`
		Method         string            `json:"method"`
		RequestHeaders map[string]string `json:"request_headers"`
		ViewStatus     int               `json:"view_status"`
		ViewHeaders    map[string]string `json:"view_headers"`
		Result         djangoResult      `json:"result"`
	} `json:"middleware"`
	Decorator []struct {
		View           string            `json:"view"`
		Method         string            `json:"method"`
		RequestHeaders map[string]string `json:"request_headers"`
		Result         djangoResult      `json:"result"`
	} `json:"decorator"`
}

type djangoResult struct {
	Status    int               `json:"status"`
	Headers   map[string]string `json:"headers"`
	SetCookie []string          `json:"set_cookie"`
	Body      *string           `json:"body"` // absent for streaming responses
}

func loadConditional(t *testing.T) conditionalVectors {
	t.Helper()
	var v conditionalVectors
	if err := golden.Decode("conditional", golden.Newest, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// djangoHTML is the Content-Type of Django's HttpResponse.
const djangoHTML = "text/html; charset=utf-8"

// serve runs h on a request and returns the response.
func serve(h http.Handler, method string, reqHeaders map[string]string) *http.Response {
	req := httptest.NewRequest(method, "/", nil)
	for k, v := range reqHeaders {
		req.Header.Set(k, v)
	}
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, req)
	return rr.Result()
}

// checkResult compares a Go response with Django's, headers compared by
// canonical name; Set-Cookie is compared with Django's cookie list.
func checkResult(t *testing.T, label string, res *http.Response, want djangoResult) {
	t.Helper()
	if res.StatusCode != want.Status {
		t.Errorf("%s: status %d, want %d", label, res.StatusCode, want.Status)
	}
	got := map[string]string{}
	for k, v := range res.Header {
		if k == "Set-Cookie" {
			continue
		}
		if len(v) != 1 {
			t.Errorf("%s: header %s has %d lines", label, k, len(v))
		}
		got[k] = v[0]
	}
	wantH := map[string]string{}
	for k, v := range want.Headers {
		wantH[http.CanonicalHeaderKey(k)] = v
	}
	if diff := cmp.Diff(wantH, got); diff != "" {
		t.Errorf("%s: headers (-django +go):\n%s", label, diff)
	}
	if diff := cmp.Diff(want.SetCookie, res.Header.Values("Set-Cookie")); diff != "" {
		t.Errorf("%s: Set-Cookie (-django +go):\n%s", label, diff)
	}
	if want.Body != nil {
		buf := make([]byte, 1024)
		n, _ := res.Body.Read(buf)
		if string(buf[:n]) != *want.Body {
			t.Errorf("%s: body %q, want %q", label, buf[:n], *want.Body)
		}
	}
}

func TestGoldenConditionalGetMiddleware(t *testing.T) {
	v := loadConditional(t)
	if got := bodyETag([]byte(v.AutoETag.Body)); got != v.AutoETag.ETag {
		t.Fatalf("bodyETag = %s, want %s", got, v.AutoETag.ETag)
	}
	if len(v.Middleware) != 38 {
		t.Errorf("%d middleware vectors, want 38", len(v.Middleware))
	}
	for _, c := range v.Middleware {
		body := v.AutoETag.Body
		switch c.Case {
		case "empty body: no ETag":
			body = ""
		}
		view := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Type", djangoHTML)
			for k, val := range c.ViewHeaders {
				h.Set(k, val)
			}
			if c.Case == "304 preserves Set-Cookie" {
				http.SetCookie(w, &http.Cookie{Name: "key", Value: "value", Path: "/"})
			}
			w.WriteHeader(c.ViewStatus)
			_, _ = w.Write([]byte(body))
			if c.Case == "streaming: no ETag" {
				w.(http.Flusher).Flush()
			}
		})
		res := serve(ConditionalGet(view), c.Method, c.RequestHeaders)
		checkResult(t, c.Case, res, c.Result)
	}
}

func TestGoldenConditionDecorator(t *testing.T) {
	v := loadConditional(t)
	const etag = `"b4246ffc4f62314ca13147c9d4f76974"`
	lastModified := time.Date(2007, 10, 21, 23, 21, 47, 0, time.UTC)
	constETag := func(s string) func(*http.Request) string { return func(*http.Request) string { return s } }
	lm := func(*http.Request) time.Time { return lastModified }

	view := func(preset string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", djangoHTML)
			if preset != "" {
				w.Header().Set("ETag", preset)
			}
			_, _ = w.Write([]byte(v.AutoETag.Body))
		})
	}
	views := map[string]http.Handler{
		"both":           Condition(constETag(etag), lm)(view("")),
		"unquoted":       ETag(constETag(etag[1 : len(etag)-1]))(view("")),
		"weak":           Condition(constETag("W/"+etag), nil)(view("")),
		"last_modified":  LastModified(lm)(view("")),
		"etag_none":      Condition(constETag(""), nil)(view("")),
		"view_sets_etag": Condition(constETag(etag), nil)(view(`"from-view"`)),
	}
	if len(v.Decorator) != 22 {
		t.Errorf("%d decorator vectors, want 22", len(v.Decorator))
	}
	for i, c := range v.Decorator {
		h, ok := views[c.View]
		if !ok {
			t.Fatalf("unknown view %q", c.View)
		}
		res := serve(h, c.Method, c.RequestHeaders)
		want := c.Result
		if c.Method == http.MethodHead {
			want.Body = nil
		}
		checkResult(t, c.View+" "+c.Method+" "+string(rune('a'+i)), res, want)
	}
}
