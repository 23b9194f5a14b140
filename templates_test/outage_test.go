package templates_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/httpx/pagecache"
	"github.com/fragcache/fragcache/internal/testserver"
	"github.com/fragcache/fragcache/render"
)

// lockedBuffer collects log lines from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestOutageUnderLoad is the deploy path: a site whose pages (Redis) and
// fragments (memcached) are cached serves a steady load while both servers
// hang (SIGSTOP) and come back. Every request is answered; once the
// breakers are open a request costs about its own render (the slowest
// waits at most the operation timeouts of the probes it carries, or of a
// coalescing wait); each backend logs one line when its breaker opens and
// one when it closes; the stats show the failures.
func TestOutageUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("an outage of a few seconds under load")
	}
	for _, mode := range []string{"hang", "kill"} {
		t.Run(mode, func(t *testing.T) { outageUnderLoad(t, mode) })
	}
}

// outageUnderLoad runs the outage: the servers hang (SIGSTOP, then
// SIGCONT) or are killed and restarted empty.
func outageUnderLoad(t *testing.T, mode string) {
	mc := testserver.Memcached(t)
	rd := testserver.Redis(t)
	const (
		opTimeout = 100 * time.Millisecond
		renderFor = 20 * time.Millisecond
		breaker   = "op_timeout=100ms&failure_threshold=3&cool_down=300ms"
	)
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	reg, err := backends.OpenRegistry(map[string]string{
		"default":            "redis://" + rd.Addr + "/0?dial_timeout=100ms&read_timeout=100ms&write_timeout=100ms&" + breaker,
		"template_fragments": "memcached://" + mc.Addr + "?" + breaker,
	}, cache.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	rdr, err := render.New(render.Options{Registry: reg, Logger: logger, FS: fstest.MapFS{
		"p.html": {Data: []byte(`{% load cache %}<h1>{{ n }}</h1>{% cache 60 side n %}{{ slow() }}{% endcache %}`)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=1")
		rdr.Render(w, r, "p.html", pongo2.Context{"n": r.URL.Query().Get("n"), "slow": func() string {
			time.Sleep(renderFor)
			return "side"
		}})
	})
	pc, err := pagecache.New(pagecache.WithRegistry(reg), pagecache.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(pc.Handler(page))
	defer srv.Close()

	type sample struct {
		at      time.Time
		latency time.Duration
		status  int
	}
	var mu sync.Mutex
	var samples []sample
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				resp, err := client.Get(fmt.Sprintf("%s/p?n=%d", srv.URL, (g+i)%5))
				s := sample{at: start, latency: time.Since(start)}
				if err == nil {
					s.status = resp.StatusCode
					resp.Body.Close()
				}
				mu.Lock()
				samples = append(samples, s)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(700 * time.Millisecond)
	if mode == "hang" {
		mc.Hang()
		rd.Hang()
	} else {
		mc.Stop()
		rd.Stop()
	}
	hangAt := time.Now()
	time.Sleep(2 * time.Second)
	if mode == "hang" {
		mc.Resume()
		rd.Resume()
	} else {
		mc.Restart()
		rd.Restart()
	}
	resumeAt := time.Now()
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	wg.Wait()

	// Every request answered.
	var during []time.Duration
	for _, s := range samples {
		if s.status != http.StatusOK {
			t.Fatalf("a request failed during the test: %+v", s)
		}
		// Once the breakers have opened (a few operation timeouts after
		// the hang) until the servers are back.
		if s.at.After(hangAt.Add(500*time.Millisecond)) && s.at.Add(s.latency).Before(resumeAt) {
			during = append(during, s.latency)
		}
	}
	if len(during) < 20 {
		t.Fatalf("only %d requests during the outage", len(during))
	}
	slices.Sort(during)
	median, worst := during[len(during)/2], during[len(during)-1]
	t.Logf("%d requests during the outage: median %v, worst %v (render %v, op timeout %v)", len(during), median, worst, renderFor, opTimeout)
	if median > 4*renderFor { // about one render; 4× leaves room for a loaded CI machine
		t.Errorf("during the outage the median request took %v, more than 4× the render (%v)", median, renderFor)
	}
	// The slowest waits for the probes it carries (a page lookup and a
	// fragment lookup) or a coalescing wait, never for the whole outage.
	if limit := 2*opTimeout + 2*renderFor + 300*time.Millisecond; worst > limit {
		t.Errorf("during the outage a request took %v, more than %v", worst, limit)
	}

	// One line when each breaker opens, one when it closes.
	out := logs.String()
	for _, backend := range []string{"redis://" + rd.Addr, "memcached://" + mc.Addr} {
		var opens, closes int
		for _, line := range strings.Split(out, "\n") {
			if !strings.Contains(line, backend) {
				continue
			}
			if strings.Contains(line, "circuit open") {
				opens++
			}
			if strings.Contains(line, "circuit closed") {
				closes++
			}
		}
		if opens < 1 || opens > 2 || closes < 1 {
			t.Errorf("%s: %d open and %d closed lines; want one each:\n%s", backend, opens, closes, out)
		}
	}
	for _, alias := range []string{"default", "template_fragments"} {
		c, _ := reg.Cache(alias)
		if st := c.Stats(); st.Backend.Failures == 0 || st.Backend.Breaker != "closed" {
			t.Errorf("%s: stats do not show the outage, or the breaker is not closed again: %+v", alias, st.Backend)
		}
	}
}

// TestOutageOnsetOneTimeoutPerRequest: before the breaker has seen enough
// failures to open, a render whose fragments all live on a hung cache
// waits one operation timeout, not one per fragment (cache.Budget).
func TestOutageOnsetOneTimeoutPerRequest(t *testing.T) {
	mc := testserver.Memcached(t)
	const opTimeout = 150 * time.Millisecond
	reg, err := backends.OpenRegistry(map[string]string{
		"default": "memcached://" + mc.Addr + "?op_timeout=150ms&failure_threshold=1000",
	}, cache.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	rdr, err := render.New(render.Options{Registry: reg, Logger: slog.New(slog.DiscardHandler), FS: fstest.MapFS{
		"p.html": {Data: []byte(`{% load cache %}{% cache 60 a %}a{% endcache %}{% cache 60 b %}b{% endcache %}{% cache 60 c %}c{% endcache %}{% cache 60 d %}d{% endcache %}`)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	if _, err := rdr.RenderBytes(httptest.NewRequest(http.MethodGet, "/", nil), "p.html", nil); err != nil {
		t.Fatal(err)
	}
	mc.Hang()
	defer mc.Resume()
	start := time.Now()
	out, err := rdr.RenderBytes(httptest.NewRequest(http.MethodGet, "/", nil), "p.html", nil)
	el := time.Since(start)
	if err != nil || string(out) != "abcd" {
		t.Fatalf("render: %q, %v", out, err)
	}
	t.Logf("4 fragments on a hung memcached: %v (op timeout %v)", el, opTimeout)
	if el > 2*opTimeout {
		t.Errorf("the render waited %v: more than one operation timeout (%v) for 4 fragments", el, opTimeout)
	}
}
