package pagecache

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/memory"
)

// TestLoadWrk compares, with wrk on loopback, a page-cache hit of a ~10 KB
// page (memory backend) with a handler writing the same pre-rendered bytes
// and headers, in the same run: 32 connections, rounds alternating between
// the two servers. It runs only when FRAGCACHE_WRK is set (and wrk is
// installed: apt-get install -y wrk):
//
//	FRAGCACHE_WRK=1 go test ./httpx -run TestLoadWrk -v
//
// FRAGCACHE_WRK_DURATION sets each round's length (default 5s),
// FRAGCACHE_WRK_ROUNDS the number of rounds per server (default 3), and
// FRAGCACHE_WRK_MIN a ratio below which the test fails (default: report
// only; loopback figures on a shared machine are noisy).
func TestLoadWrk(t *testing.T) {
	if os.Getenv("FRAGCACHE_WRK") == "" {
		t.Skip("set FRAGCACHE_WRK=1 to run the wrk comparison")
	}
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		t.Skip("wrk is not installed")
	}
	dur := envOr("FRAGCACHE_WRK_DURATION", "5s")
	if _, err := time.ParseDuration(dur); err != nil {
		t.Fatalf("FRAGCACHE_WRK_DURATION: %v", err)
	}
	rounds, _ := strconv.Atoi(envOr("FRAGCACHE_WRK_ROUNDS", "3"))

	mc, err := memory.NewCache(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	page := benchPage()
	cached := httptest.NewServer(Page(cache.Seconds(3600), WithCache(mc))(benchHandler(page, "")))
	defer cached.Close()
	// The baseline sends the headers a hit has, pre-rendered.
	resp, err := http.Get(cached.URL + "/page")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	expires, cc := resp.Header.Get("Expires"), resp.Header.Get("Cache-Control")
	cl := strconv.Itoa(len(page))
	raw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"text/html; charset=utf-8"}
		h["Content-Length"] = []string{cl}
		h["Expires"] = []string{expires}
		h["Cache-Control"] = []string{cc}
		h["Age"] = []string{"0"}
		_, _ = w.Write(page)
	}))
	defer raw.Close()
	if r, _ := http.Get(cached.URL + "/page"); r == nil || r.Header.Get("Cache-Status") != statusHit {
		t.Fatal("the cached server does not hit")
	} else {
		r.Body.Close()
	}

	rps := regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	run := func(url string) float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, wrk, "-t2", "-c32", "-d"+dur, "--latency", url).CombinedOutput()
		if err != nil {
			t.Fatalf("wrk: %v\n%s", err, out)
		}
		m := rps.FindSubmatch(out)
		if m == nil {
			t.Fatalf("no Requests/sec in:\n%s", out)
		}
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		return v
	}
	var c, r []float64
	for i := 0; i < rounds; i++ {
		r = append(r, run(raw.URL+"/page"))
		c = append(c, run(cached.URL+"/page"))
	}
	slices.Sort(c)
	slices.Sort(r)
	mc2, mr := c[len(c)/2], r[len(r)/2]
	ratio := mc2 / mr
	t.Logf("wrk -t2 -c32 -d%s, %d rounds each (sorted req/s): page-cache hit %s; pre-rendered handler %s",
		dur, rounds, fmtRates(c), fmtRates(r))
	t.Logf("median: page-cache hit %.0f req/s, pre-rendered %.0f req/s, ratio %.3f", mc2, mr, ratio)
	if min, err := strconv.ParseFloat(os.Getenv("FRAGCACHE_WRK_MIN"), 64); err == nil && ratio < min {
		t.Errorf("ratio %.3f below %.2f", ratio, min)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func fmtRates(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf("%.0f", x)
	}
	return strings.Join(s, " ")
}
