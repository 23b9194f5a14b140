package httpx

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestEvaluatePreconditionsEdges(t *testing.T) {
	lm := time.Date(2007, 10, 21, 23, 21, 47, 0, time.UTC)
	tests := []struct {
		name   string
		method string
		header http.Header
		etag   string
		lm     time.Time
		want   int
	}{
		{"no conditions", "GET", nil, `"a"`, lm, 0},
		{"duplicate INM lines joined", "GET", http.Header{"If-None-Match": {`"x"`, `"a"`}}, `"a"`, lm, 304},
		{"duplicate IMS lines are no date", "GET", http.Header{"If-Modified-Since": {lastModifiedStr, lastModifiedStr}}, "", lm, 0},
		{"IMS with trailing newline", "GET", http.Header{"If-Modified-Since": {lastModifiedStr + "\n"}}, "", lm, 304},
		{"latin-1 NBSP stripped", "GET", http.Header{"If-None-Match": {"\xa0\"a\"\x85"}}, `"a"`, lm, 304},
		{"UTF-8 NBSP is not whitespace", "GET", http.Header{"If-None-Match": {"\u00a0\"a\""}}, `"a"`, lm, 0},
		{"IUS at the epoch is ignored", "GET", http.Header{"If-Unmodified-Since": {"Thu, 01 Jan 1970 00:00:00 GMT"}}, "", lm, 0},
		{"Last-Modified at the epoch is none", "GET", http.Header{"If-Modified-Since": {lastModifiedStr}}, "", time.Unix(0, 0), 0},
		{"pre-epoch Last-Modified", "GET", http.Header{"If-Modified-Since": {"Wed, 31 Dec 1969 23:59:59 GMT"}}, "", time.Unix(-1, 0), 304},
		{"fraction truncated toward zero", "GET", http.Header{"If-Unmodified-Since": {lastModifiedStr}}, "", time.Unix(-1, 5e8), 412},
		{"If-Match with only junk is absent", "GET", http.Header{"If-Match": {"junk"}, "If-Unmodified-Since": {expiredLastModifiedStr}}, `"a"`, lm, 412},
		{"INM with only junk is absent", "GET", http.Header{"If-None-Match": {"junk"}, "If-Modified-Since": {lastModifiedStr}}, `"a"`, lm, 304},
		{"empty INM", "GET", http.Header{"If-None-Match": {""}}, `"a"`, lm, 0},
		{"weak compare strips W and / chars", "GET", http.Header{"If-None-Match": {`W/"a"`}}, `WW//"a"`, lm, 304},
		{"unquoted response ETag never matches", "GET", http.Header{"If-None-Match": {`"eggs"`}}, `eggs`, lm, 0},
		{"If-Match star without ETag", "POST", http.Header{"If-Match": {"*"}}, "", lm, 412},
		{"INM on DELETE", "DELETE", http.Header{"If-None-Match": {`"a"`}}, `"a"`, lm, 412},
		{"IMS ignored on POST", "POST", http.Header{"If-Modified-Since": {lastModifiedStr}}, "", lm, 0},
		{"huge INM", "GET", http.Header{"If-None-Match": {strings.Repeat(`"x", `, 100000) + `"a"`}}, `"a"`, lm, 304},
		{"invalid UTF-8", "GET", http.Header{"If-None-Match": {"\"\xff\xfe\""}}, "\"\xff\xfe\"", lm, 304},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, "/", nil)
		r.Header = tt.header
		if r.Header == nil {
			r.Header = http.Header{}
		}
		if got := EvaluatePreconditions(r, tt.etag, tt.lm); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestParseHTTPDateEdges(t *testing.T) {
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want int64 // -1: error
	}{
		{"Sun, 06 Nov 1994 08:49:37 GMT", 784111777},
		{"Sun, 06 Nov 1994 08:49:37 GMT\n", 784111777},
		{"Sun, 06 Nov 1994 08:49:37 GMT\n\n", -1},
		{" Sun, 06 Nov 1994 08:49:37 GMT", -1},
		{"Sun, 06 NOV 1994 08:49:37 GMT", 784111777},
		{"Sun, 06 Nov 1994 08:49:37 gmt", -1},
		{"\xc0\xe9_, 06 Nov 1994 08:49:37 GMT", 784111777}, // \w in ISO-8859-1
		{"\xd7ab, 06 Nov 1994 08:49:37 GMT", -1},           // × is not \w
		{"S\u00e9n, 06 Nov 1994 08:49:37 GMT", -1},         // 4 ISO-8859-1 characters
		{"Sun, 29 Feb 2000 00:00:00 GMT", 951782400},
		{"Sun, 29 Feb 1900 00:00:00 GMT", -1},
		{"Sun, 06 Nov 1994 24:00:00 GMT", -1},
		{"Sun, 06 Nov 1994 23:59:60 GMT", -1},
		{"Sun, 06 Nov 0000 08:49:37 GMT", -1},
		{"Mon, 01 Jan 0001 00:00:00 GMT", -62135596800},
		{"Fri, 31 Dec 9999 23:59:59 GMT", 253402300799},
		{"Sun, 06 Xyz 1994 08:49:37 GMT", -1},
		{"Sun, ०६ Nov 1994 08:49:37 GMT", -1},
		{"Caturday, 06-Nov-94 08:49:37 GMT", 784111777},
		{"Sunda, 06-Nov-94 08:49:37 GMT", -1},
		{"Wednesdays, 06-Nov-94 08:49:37 GMT", -1},
		{"Friday, 01-Jan-77 00:00:00 GMT", 220924800},  // 77 - 26 > 50: previous century
		{"Friday, 01-Jan-76 00:00:00 GMT", 3345062400}, // 2076
		{"Sun Nov 06 08:49:37 1994", 784111777},
		{"Sun Nov  6 08:49:37 1994\n", 784111777},
		{"Sun Nov 6 08:49:37 1994", -1},
		{"Sun Nov  6 08:49:37 1994 GMT", -1},
		{"Sun Nov  0 08:49:37 1994", -1},
	}
	for _, tt := range tests {
		got, err := ParseHTTPDateAt(tt.in, now)
		if tt.want == -1 {
			if err == nil {
				t.Errorf("ParseHTTPDateAt(%q) = %v, want error", tt.in, got)
			}
			continue
		}
		if err != nil || got.Unix() != tt.want {
			t.Errorf("ParseHTTPDateAt(%q) = %d, %v; want %d", tt.in, got.Unix(), err, tt.want)
		}
	}
	var de *HTTPDateError
	if _, err := ParseHTTPDate("garbage"); err == nil || !errors.As(err, &de) || !de.BadFormat {
		t.Errorf("garbage: %v", err)
	}
	if _, err := ParseHTTPDate("Mon, 32 Oct 2010 16:56:23 GMT"); err == nil || !errors.As(err, &de) || de.BadFormat {
		t.Errorf("day 32: %v", err)
	}
	if _, ok := ParseHTTPDateSafe("Mon, 32 Oct 2010 16:56:23 GMT"); ok {
		t.Error("safe: day 32 ok")
	}
	if got, ok := ParseHTTPDateSafe(lastModifiedStr); !ok || got.Unix() != 1193008907 {
		t.Errorf("safe: %v %v", got, ok)
	}
}

func TestNoAllocations(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("If-None-Match", `"a", W/"b", "c"`)
	r.Header.Set("If-Modified-Since", lastModifiedStr)
	h := http.Header{"Vary": {"Accept-Encoding, Cookie"}, "Cache-Control": {"public, max-age=60"}}
	lm := time.Unix(1193008907, 0)
	allocs := testing.AllocsPerRun(100, func() {
		_ = EvaluatePreconditions(r, `"c"`, lm)
		_ = HasVaryHeader(h, "cookie")
		_, _ = GetMaxAge(h)
		_, _ = ParseHTTPDateSafe(lastModifiedStr)
	})
	if allocs != 0 {
		t.Errorf("%v allocations", allocs)
	}
}
