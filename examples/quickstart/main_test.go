package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache/backends"
)

func TestApp(t *testing.T) {
	c, err := backends.Open("memory://")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv := httptest.NewServer(newApp(c, 50*time.Millisecond))
	defer srv.Close()
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	body := func(resp *http.Response, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	first := body(client.Get(srv.URL + "/"))
	start := time.Now()
	second := body(client.Get(srv.URL + "/"))
	if time.Since(start) > 40*time.Millisecond {
		t.Error("second request was not served from the cache")
	}
	line := func(s string) string { return strings.SplitN(strings.SplitN(s, "<p>", 2)[1], "</p>", 2)[0] }
	if line(first) != line(second) {
		t.Errorf("cached report differs: %q vs %q", line(first), line(second))
	}
	resp, err := client.Post(srv.URL+"/invalidate", "", nil)
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("invalidate: %v %v", resp, err)
	}
	resp.Body.Close()
	stats := body(client.Get(srv.URL + "/stats"))
	for _, want := range []string{"hits 1", "misses 1", "deletes 1"} {
		if !strings.Contains(stats, want) {
			t.Errorf("stats %q lacks %q", stats, want)
		}
	}
}
