// Command server is fragcache's side of the Django-vs-fragcache benchmark
// (examples/bench/run.sh): the pages of examples/bench/templates rendered
// with render.Renderer,
//
//	GET /articles/?page=N             list.html: one {% cache %} fragment
//	                                  around the whole list of articles
//	GET /articles/collection/?page=N  collection.html: one {% cache %}
//	                                  fragment per article, none around
//	                                  the loop
//	GET /hot/                         hot.html: one fragment with a 1 s
//	                                  timeout whose render costs -hot-delay
//	                                  (the stampede benchmark,
//	                                  examples/bench/stampede.sh)
//	GET /stats/hot                    the hot fragment's renders by this
//	                                  process (JSON: start and end, Unix ns)
//
// in one of three modes:
//
//	-mode none       the {% cache %} tags use dummy:// (Django's DummyCache)
//	-mode fragment   the {% cache %} tags use -cache
//	-mode page       as fragment, and the handler is wrapped in
//	                 pagecache.Page(60 s) on -cache (Django's cache_page(60))
//
// Each "query" (the page's articles, the sidebar) sleeps -db-delay. On the
// list page both run only when the template reads them, inside their
// {% cache %} fragments, as lazy Django QuerySets would; on the collection
// page the view runs the articles query before rendering, every time.
//
//	go run ./examples/bench/server -mode fragment -cache memcached://127.0.0.1:11211
//	go run ./examples/bench/server -gen-data examples/bench/data/articles.json
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	iofs "io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/db"
	"github.com/fragcache/fragcache/httpx/pagecache"
	"github.com/fragcache/fragcache/render"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8001", "address to listen on")
	mode := flag.String("mode", "fragment", "none, fragment or page")
	cacheURL := flag.String("cache", "memory://", "cache URL for the fragment and page modes")
	templates := flag.String("templates", "examples/bench/templates", "template directory")
	data := flag.String("data", "examples/bench/data/articles.json", "dataset (JSON)")
	delay := flag.Duration("db-delay", 2*time.Millisecond, "simulated cost of one database query")
	genData := flag.String("gen-data", "", "write the dataset to this file and exit")
	noPrefetch := flag.Bool("no-prefetch", false, "read each {% cache %} fragment on its own (render.Options.NoPrefetch), to measure what prefetching saves")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	twoReads := flag.Bool("two-read-hits", false, "page mode: read a page hit's header list, then the page (pagecache.WithHeaderListMemory(0)), to measure the single-read hit")
	hotDelay := flag.Duration("hot-delay", 100*time.Millisecond, "cost of a render of the hot fragment of GET /hot/")
	flag.Parse()

	if *genData != "" {
		if err := os.WriteFile(*genData, Generate().encode(), 0o644); err != nil {
			fatal(err)
		}
		return
	}
	ds, err := LoadDataset(*data)
	if err != nil {
		fatal(err)
	}
	app, err := newApp(config{Mode: *mode, CacheURL: *cacheURL, Templates: os.DirFS(*templates), Data: ds, Delay: *delay, NoPrefetch: *noPrefetch, TwoReadHits: *twoReads, HotDelay: *hotDelay})
	if err != nil {
		fatal(err)
	}
	defer app.Close()

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	srv := &http.Server{Addr: *addr, Handler: app, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Shutdown(context.Background())
	}()
	slog.Info("bench server listening", "addr", *addr, "mode", *mode, "cache", *cacheURL)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench server:", err)
	os.Exit(1)
}

type config struct {
	Mode      string // none, fragment, page
	CacheURL  string
	Templates iofs.FS
	Data      Dataset
	Delay     time.Duration
	// NoPrefetch turns the Renderer's fragment prefetch off.
	NoPrefetch bool
	// TwoReadHits turns the page cache's single-read hit off.
	TwoReadHits bool
	// HotDelay is the cost of a render of GET /hot/'s fragment.
	HotDelay time.Duration
}

// hotRenders records the renders of the hot fragment.
type hotRenders struct {
	mu      sync.Mutex
	renders [][2]int64 // start, end: Unix nanoseconds
}

// render renders the hot fragment's costly part: it sleeps delay and
// returns the render's identity, "<pid>-<start, Unix ns>".
func (h *hotRenders) render(delay time.Duration) string {
	start := time.Now()
	time.Sleep(delay)
	end := time.Now()
	h.mu.Lock()
	h.renders = append(h.renders, [2]int64{start.UnixNano(), end.UnixNano()})
	h.mu.Unlock()
	return fmt.Sprintf("%d-%d", os.Getpid(), start.UnixNano())
}

// ServeHTTP writes the renders recorded so far as JSON.
func (h *hotRenders) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	h.mu.Lock()
	b, err := json.Marshal(map[string]any{"renders": h.renders})
	h.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// app serves GET /articles/?page=N and GET /articles/collection/?page=N.
type app struct {
	http.Handler
	rd  *render.Renderer
	reg *cache.Registry
}

func (a *app) Close() error {
	return errors.Join(a.rd.Close(), a.reg.Close())
}

func newApp(cfg config) (*app, error) {
	url := cfg.CacheURL
	switch cfg.Mode {
	case "none":
		url = "dummy://"
	case "fragment", "page":
	default:
		return nil, fmt.Errorf("unknown mode %q (none, fragment or page)", cfg.Mode)
	}
	// db.OpenRegistry: the built-in backends and the database ones
	// (sqlite://, postgres://), whose table is created when missing.
	reg, err := db.OpenRegistry(map[string]string{cache.DefaultAlias: url})
	if err != nil {
		return nil, err
	}
	if c, err := reg.Default(); err == nil {
		if b, ok := cache.As[*db.Backend](c.Backend()); ok {
			if err := b.CreateTable(context.Background()); err != nil {
				reg.Close()
				return nil, err
			}
		}
	}
	rd, err := render.New(render.Options{FS: cfg.Templates, Registry: reg, NoPrefetch: cfg.NoPrefetch})
	if err != nil {
		reg.Close()
		return nil, err
	}
	vals := cfg.Data.values()
	query := func() {
		if cfg.Delay > 0 {
			time.Sleep(cfg.Delay)
		}
	}
	// pageNumber reads ?page= (1 without it); false after a 400.
	pageNumber := func(w http.ResponseWriter, r *http.Request) (int, bool) {
		s := r.URL.Query().Get("page")
		if s == "" {
			return 1, true
		}
		page, err := strconv.Atoi(s)
		if err != nil {
			http.Error(w, "bad page", http.StatusBadRequest)
			return 0, false
		}
		return page, true
	}
	list := func(w http.ResponseWriter, r *http.Request) {
		page, ok := pageNumber(w, r)
		if !ok {
			return
		}
		rd.Render(w, r, "list.html", pongo2.Context{
			"page":      page,
			"next_page": page + 1,
			// Called by the template only when it renders them (pongo2
			// calls a function value, as Django calls a callable).
			"articles": func() []map[string]any { query(); return vals.page(page) },
			"sidebar":  func() map[string]any { query(); return vals.sidebar },
		})
	}
	// collection pays the articles query before rendering, once per
	// request, as a Django view doing list(qs) does, and passes a plain
	// slice: each article is its own {% cache %} fragment, with none
	// around the loop, so the loop always runs.
	collection := func(w http.ResponseWriter, r *http.Request) {
		page, ok := pageNumber(w, r)
		if !ok {
			return
		}
		query()
		rd.Render(w, r, "collection.html", pongo2.Context{
			"page":      page,
			"next_page": page + 1,
			"articles":  vals.page(page),
			"sidebar":   func() map[string]any { query(); return vals.sidebar },
		})
	}
	// hot is a page with one hot fragment (timeout 1 s) whose render is
	// costly: the stampede benchmark.
	hr := &hotRenders{}
	hot := func(w http.ResponseWriter, r *http.Request) {
		rd.Render(w, r, "hot.html", pongo2.Context{
			"hot":     func() string { return hr.render(cfg.HotDelay) },
			"sidebar": func() map[string]any { query(); return vals.sidebar },
		})
	}
	mux := http.NewServeMux()
	mux.Handle("GET /stats/hot", hr)
	for pattern, h := range map[string]http.Handler{
		"GET /articles/":            http.HandlerFunc(list),
		"GET /articles/collection/": http.HandlerFunc(collection),
		"GET /hot/":                 http.HandlerFunc(hot),
	} {
		if cfg.Mode == "page" {
			opts := []pagecache.Option{pagecache.WithRegistry(reg)}
			if cfg.TwoReadHits {
				opts = append(opts, pagecache.WithHeaderListMemory(0))
			}
			h = pagecache.Page(cache.Seconds(60), opts...)(h)
		}
		mux.Handle(pattern, h)
	}
	return &app{Handler: mux, rd: rd, reg: reg}, nil
}
