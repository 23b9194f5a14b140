package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

// TestDataFile: data/articles.json is the generator's output (regenerate it
// with go run ./examples/bench/server -gen-data examples/bench/data/articles.json).
func TestDataFile(t *testing.T) {
	b, err := os.ReadFile("../data/articles.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, Generate().encode()) {
		t.Fatal("data/articles.json is not the generator's output: regenerate it")
	}
}

// TestModes: each mode serves the same page, twice (miss then hit), without
// the simulated query cost.
func TestModes(t *testing.T) {
	ds, err := LoadDataset("../data/articles.json")
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	for _, mode := range []string{"none", "fragment", "page"} {
		a, err := newApp(config{Mode: mode, CacheURL: "memory://", Templates: os.DirFS("../templates"), Data: ds})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(a)
		for i := 0; i < 2; i++ {
			resp, err := http.Get(srv.URL + "/articles/?page=1")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("%s: status %d: %s", mode, resp.StatusCode, body)
			}
			if want == nil {
				want = body
				if n := len(body); n < 9000 || n > 12000 {
					t.Errorf("page is %d bytes, want about 10 KB", n)
				}
			} else if !bytes.Equal(body, want) {
				t.Errorf("%s, request %d: the page differs from the uncached one", mode, i+1)
			}
			if mode == "page" && i == 1 && resp.Header.Get("Cache-Status") != "fragcache; hit" {
				t.Errorf("page mode: second request not a page-cache hit: %q", resp.Header.Get("Cache-Status"))
			}
		}
		srv.Close()
		a.Close()
	}
	if _, err := newApp(config{Mode: "bogus", Templates: os.DirFS("../templates"), Data: ds}); err == nil {
		t.Error("unknown mode accepted")
	}
}
