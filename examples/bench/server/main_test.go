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

// TestModes: each mode serves each page the same, twice (miss then hit),
// without the simulated query cost.
func TestModes(t *testing.T) {
	ds, err := LoadDataset("../data/articles.json")
	if err != nil {
		t.Fatal(err)
	}
	pages := []struct{ name, path string }{
		{"list", "/articles/?page=1"},
		{"collection", "/articles/collection/?page=1"},
	}
	want := map[string][]byte{}
	for _, mode := range []string{"none", "fragment", "page"} {
		a, err := newApp(config{Mode: mode, CacheURL: "memory://", Templates: os.DirFS("../templates"), Data: ds})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(a)
		for _, p := range pages {
			for i := 0; i < 2; i++ {
				resp, err := http.Get(srv.URL + p.path)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("%s, %s page: status %d: %s", mode, p.name, resp.StatusCode, body)
				}
				if want[p.name] == nil {
					want[p.name] = body
					if n := len(body); n < 9000 || n > 12000 {
						t.Errorf("%s page is %d bytes, want about 10 KB", p.name, n)
					}
				} else if !bytes.Equal(body, want[p.name]) {
					t.Errorf("%s, %s page, request %d: the page differs from the uncached one", mode, p.name, i+1)
				}
				if mode == "page" && i == 1 && resp.Header.Get("Cache-Status") != "fragcache; hit" {
					t.Errorf("page mode, %s page: second request not a page-cache hit: %q", p.name, resp.Header.Get("Cache-Status"))
				}
			}
		}
		if mode == "fragment" {
			// The collection page: one fragment per article, each a miss
			// then a hit; the sidebar, rendered by the list page, a hit twice.
			n := uint64(len(ds.values().page(1)))
			seen := 0
			for _, st := range a.rd.Fragments().Stats() {
				if st.Name == "article" || st.Name == "sidebar" {
					seen++
				}
				switch {
				case st.Name == "article" && (st.Misses != n || st.Hits != n):
					t.Errorf("fragment mode: article fragments %+v, want %d misses and %d hits", st, n, n)
				case st.Name == "sidebar" && (st.Misses != 1 || st.Hits != 3):
					t.Errorf("fragment mode: sidebar fragment %+v, want 1 miss and 3 hits", st)
				}
			}
			if seen != 2 {
				t.Errorf("fragment mode: %d of the article and sidebar fragments in the stats, want 2", seen)
			}
		}
		srv.Close()
		a.Close()
	}
	if bytes.Equal(want["list"], want["collection"]) {
		t.Error("the list and collection pages are the same bytes")
	}
	if _, err := newApp(config{Mode: "bogus", Templates: os.DirFS("../templates"), Data: ds}); err == nil {
		t.Error("unknown mode accepted")
	}
}
