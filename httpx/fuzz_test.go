package httpx

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fragcache/fragcache/internal/httpheader"
)

// Seed corpora live in testdata/fuzz/<FuzzName>/; the f.Add seeds below are
// the golden inputs.

func FuzzParseETags(f *testing.F) {
	for _, s := range []string{"", "*", " * ", `"a"`, `W/"a"`, `w/"a"`, "a", `"a", "b"`, `"a",W/"b", c`,
		`"a,b"`, `"""`, `"a" "b"`, ` "a" `, `"é"`, "\xa0\"a\"\x85", ",,,", `W/`, `""`} {
		f.Add(s, `"a"`)
	}
	f.Fuzz(func(t *testing.T, s, target string) {
		tags := ParseETags(s)
		l := httpheader.ETagList(s)
		if l.Empty() != (len(tags) == 0) {
			t.Fatalf("empty() = %v for %q (tags %q)", l.Empty(), s, tags)
		}
		star := len(tags) == 1 && tags[0] == "*" && httpheader.Strip(s) == "*"
		if l.Star() != star {
			t.Fatalf("star() = %v for %q", l.Star(), s)
		}
		strong, weak := false, false
		for _, tag := range tags {
			if tag != "*" && !httpheader.IsETag(tag) {
				t.Fatalf("ParseETags(%q) returned %q", s, tag)
			}
			if tag != "*" && QuoteETag(tag) != tag {
				t.Fatalf("QuoteETag(%q) changed a valid tag", tag)
			}
			if !star {
				strong = strong || tag == target
				weak = weak || strings.Trim(tag, "W/") == strings.Trim(target, "W/")
			}
		}
		if !star && (l.ContainsStrong(target) != strong || l.ContainsWeak(target) != weak) {
			t.Fatalf("contains(%q) in %q disagrees with ParseETags", target, s)
		}
		if q := QuoteETag(target); !httpheader.IsETag(q) && strings.Count(target, `"`) == 0 {
			t.Fatalf("QuoteETag(%q) = %q is not a tag", target, q)
		}
	})
}

func FuzzParseHTTPDate(f *testing.F) {
	for _, s := range []string{"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
		"Sun Nov  6 08:49:37 1994", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 6 Nov 1994 08:49:37 GMT",
		"sun, 06 nov 1994 08:49:37 GMT", "Xyz, 06 Nov 1994 08:49:37 GMT", "Mon, 32 Oct 2010 16:56:23 GMT",
		"Tuesday, 31-Dec-69 23:59:59 GMT", "Thursday, 01-Jan-70 00:00:00 GMT", "", "garbage",
		"Fri, 31 Dec 9999 23:59:59 GMT\n", "Mon, 01 Jan 0001 00:00:00 GMT"} {
		f.Add(s, int64(1700000000))
	}
	f.Fuzz(func(t *testing.T, s string, nowUnix int64) {
		now := time.Unix(nowUnix%(1<<40), 0)
		got, err := ParseHTTPDateAt(s, now)
		sec, ok := httpheader.ParseDateOK(s, now)
		if (err == nil) != ok || ok && got.Unix() != sec {
			t.Fatalf("forms disagree on %q: %v %v / %d %v", s, got, err, sec, ok)
		}
		if err != nil {
			return
		}
		if y := got.Year(); y < 1 || y > 9999 {
			t.Fatalf("%q parsed to year %d", s, y)
		}
		// A parsed date formats to an RFC 1123 date that parses back to it.
		back, err := ParseHTTPDateAt(HTTPDate(got), now)
		if err != nil || !back.Equal(got) {
			t.Fatalf("%q: round trip %v → %q → %v, %v", s, got, HTTPDate(got), back, err)
		}
	})
}

func FuzzPatchCacheControl(f *testing.F) {
	f.Add("must-revalidate,max-age=60,private", "public", "", 30)
	f.Add("max-age=abc", "", "", 30)
	f.Add("no-cache=Set-Cookie,no-cache=Link", "no_cache", "Custom", -1)
	f.Add("  public ,  max-age=5  ", "private", "", 99999)
	f.Add(`private="Set-Cookie", max-age=10`, "s_maxage", "10", 20)
	f.Add("max-age=99999999999999999999999999", "", "", 1)
	f.Add("max-age=-0_1, max-age", "x", "y", 0)
	f.Fuzz(func(t *testing.T, initial, name, value string, maxAge int) {
		ds := []Directive{MaxAge(maxAge)}
		if name != "" {
			if value == "" {
				ds = append(ds, Flag(name))
			} else {
				ds = append(ds, Value(name, value))
			}
		}
		h := http.Header{"Cache-Control": {initial}}
		err := PatchCacheControl(h, ds...)
		if err != nil {
			if h.Get("Cache-Control") != initial {
				t.Fatalf("header changed on error")
			}
			// The lenient form used by the middleware never fails.
			if err := patchCacheControl(h, ds, true); err != nil {
				t.Fatal(err)
			}
		}
		// The min rule: never more than what was asked for, unless another
		// directive named max-age came after it.
		if got, ok := GetMaxAge(h); ok && got > maxAge && !httpheader.LowerEqual(directiveName(name), "max-age") {
			t.Fatalf("max-age %d > %d in %q", got, maxAge, h.Get("Cache-Control"))
		}
	})
}

func FuzzPatchVaryHeaders(f *testing.F) {
	f.Add("Cookie    ,     Accept-Encoding", "Accept-Encoding", "cookie")
	f.Add("*", "Accept-Language", "Cookie")
	f.Add("Cookie,", " Accept ", "")
	f.Add("", "Accept", "accept")
	f.Add(" * ", "\xc0", "\xe0")
	f.Fuzz(func(t *testing.T, initial, a, b string) {
		h := http.Header{"Vary": {initial}}
		PatchVaryHeaders(h, a, b)
		out := h.Get("Vary")
		for _, n := range []string{a, b} {
			if out != "*" && httpheader.Strip(n) != "" && !strings.Contains(httpheader.Strip(n), ",") && !HasVaryHeader(h, n) {
				t.Fatalf("%q + %q, %q = %q lacks %q", initial, a, b, out, n)
			}
		}
		// Patching again with the same headers changes nothing.
		PatchVaryHeaders(h, a, b)
		if h.Get("Vary") != out && !strings.Contains(a+b, ",") {
			t.Fatalf("not idempotent: %q → %q", out, h.Get("Vary"))
		}
	})
}

// FuzzConditionalGet drives the middleware with arbitrary request and
// response validators: it must never panic and only ever answer 200, 304 or
// 412.
func FuzzConditionalGet(f *testing.F) {
	f.Add(`"a"`, "", lastModifiedStr, "", `"a"`, lastModifiedStr, "body")
	f.Add("*", "*", "garbage", "Sunday, 21-Oct-07 23:21:47 GMT", "", "", "")
	f.Fuzz(func(t *testing.T, inm, im, ims, ius, etag, lm, body string) {
		h := ConditionalGet(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if etag != "" {
				w.Header()["Etag"] = []string{etag}
			}
			if lm != "" {
				w.Header()["Last-Modified"] = []string{lm}
			}
			_, _ = w.Write([]byte(body))
		}))
		r := httptest.NewRequest("GET", "/", nil)
		r.Header = http.Header{"If-None-Match": {inm}, "If-Match": {im}, "If-Modified-Since": {ims}, "If-Unmodified-Since": {ius}}
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, r)
		switch rr.Code {
		case 200, 304, 412:
		default:
			t.Fatalf("status %d", rr.Code)
		}
	})
}
