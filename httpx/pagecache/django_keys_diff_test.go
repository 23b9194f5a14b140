package pagecache

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/fragcache/fragcache/cache"
)

// TestDjangoAbsoluteURIDifferential replays testdata/django_page_keys-3.2.25.json:
// 400 random paths, queries, hosts and header values run through Debian's
// Django 3.2.25 by testdata/gen_django_page_keys.py (build_absolute_uri,
// get_host's validation, _generate_cache_key with an absent header hashed
// as "-,"). Each case is checked twice: from the request line
// (r.RequestURI, as a server request) and from r.URL (as a request built
// in code).
func TestDjangoAbsoluteURIDifferential(t *testing.T) {
	b, err := os.ReadFile("testdata/django_page_keys-3.2.25.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Cases []struct {
			Path, Query, Host, Scheme, URI, Key string
			XA                                  *string `json:"x_a"`
			XB                                  *string `json:"x_b"`
		}
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	k := mustNewKeys(t, WithKeyPrefix("p"), WithKeyScheme(cache.KeySchemeLegacy))
	failed := 0
	for i, c := range v.Cases {
		path, _ := hex.DecodeString(c.Path)
		query, _ := hex.DecodeString(c.Query)
		for _, fromLine := range []bool{true, false} {
			r := &http.Request{Method: http.MethodGet, Host: c.Host, Header: http.Header{},
				URL: &url.URL{Path: string(path), RawQuery: string(query)}}
			if fromLine {
				r.URL = &url.URL{}
				r.RequestURI = pctEncodeAll(path)
				if len(query) > 0 {
					r.RequestURI += "?" + string(query)
				}
			}
			if c.Scheme == "https" {
				r.TLS = tlsState()
			}
			if c.XA != nil {
				r.Header["X-A"] = []string{latin1(*c.XA)}
			}
			if c.XB != nil {
				r.Header["X-B"] = []string{latin1(*c.XB)}
			}
			uri, err := k.AbsoluteURI(r)
			key, _ := k.PageKey(r, http.MethodGet, []string{"HTTP_X_A", "HTTP_X_B"})
			switch {
			case c.URI == "invalid":
				if !errors.Is(err, ErrInvalidHost) {
					t.Errorf("case %d (host %q): want an invalid host, got %q %v", i, c.Host, uri, err)
					failed++
				}
			case err != nil || uri != c.URI || key != c.Key:
				t.Errorf("case %d (line %v) path %q query %q host %q:\n got  %q %v\n      %q\n want %q\n      %q",
					i, fromLine, path, query, c.Host, uri, err, key, c.URI, c.Key)
				failed++
			}
		}
	}
	t.Logf("Django 3.2.25 differential: %d/%d checks", 2*len(v.Cases)-failed, 2*len(v.Cases))
}

// pctEncodeAll percent-encodes every byte but ASCII letters and httpheader.Digits, so
// that decoding gives b back exactly.
func pctEncodeAll(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			s.WriteByte(c)
			continue
		}
		s.WriteByte('%')
		s.WriteByte(upperHex[c>>4])
		s.WriteByte(upperHex[c&15])
	}
	return s.String()
}

// latin1 turns a string of code points below 256 (a WSGI header value) into
// the bytes received.
func latin1(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		b = append(b, byte(r))
	}
	return string(b)
}
