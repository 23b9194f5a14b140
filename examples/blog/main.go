// Command blog is a demo site for fragcache: a blog of 5,000 generated
// articles whose Django-syntax templates cache fragments with
// {% cache %}, whose article pages answer conditional requests with 304,
// and whose edit form invalidates exactly the cached fragments that show
// the edited article. See README.md.
//
//	go run ./examples/blog                          # http://127.0.0.1:8000/
//	go run ./examples/blog -cache file:///tmp/blog-cache
//	go run ./examples/blog -cache memcached://127.0.0.1:11211
//	go run ./examples/blog -cache redis://127.0.0.1:6379/0
//	go run ./examples/blog -cache dummy://          # no caching, for comparison
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/db"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8000", "address to listen on")
	cacheURL := flag.String("cache", "memory://", "cache URL: memory://, file:///dir, memcached://host:11211, redis://host:6379, sqlite:///abs/file.db?table=T, postgres://user:pw@host/db?table=T, dummy://")
	fragmentsURL := flag.String("fragments-cache", "", "cache URL for template fragments (default: the -cache URL)")
	delay := flag.Duration("db-delay", 2*time.Millisecond, "simulated latency of each store query")
	debug := flag.Bool("debug", false, "log every request and show template errors in 500 pages")
	flag.Parse()

	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if err := run(*addr, *cacheURL, *fragmentsURL, *delay, *debug, logger); err != nil {
		fmt.Fprintln(os.Stderr, "blog:", err)
		os.Exit(1)
	}
}

// run serves the blog until SIGINT or SIGTERM, then shuts down gracefully.
func run(addr, cacheURL, fragmentsURL string, delay time.Duration, debug bool, logger *slog.Logger) error {
	caches, err := openCaches(cacheURL, fragmentsURL, logger)
	if err != nil {
		return err
	}
	defer caches.Close()

	app, err := NewApp(Config{Caches: caches, Store: NewStore(delay), Debug: debug, Logger: logger})
	if err != nil {
		return err
	}
	defer app.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Addr: addr, Handler: app.Handler(), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	logger.Info("blog listening", "url", "http://"+addr+"/", "cache", cache.Redact(cacheURL), "db-delay", delay)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// openCaches opens Django's two usual aliases: "default" and
// "template_fragments" (the {% cache %} tag's), from the same URL unless
// fragmentsURL is given. Two aliases with the same memory:// URL share one
// store.
func openCaches(cacheURL, fragmentsURL string, logger *slog.Logger) (*cache.Registry, error) {
	if fragmentsURL == "" {
		fragmentsURL = cacheURL
	}
	// The logger reaches the fail-open wrappers: an unreachable memcached,
	// Redis or database is logged (rate-limited, without the password).
	// db.OpenRegistry opens the built-in backends and the database ones
	// (sqlite://, postgres://).
	reg, err := db.OpenRegistry(map[string]string{
		cache.DefaultAlias:   cacheURL,
		cache.FragmentsAlias: fragmentsURL,
	}, cache.WithLogger(logger))
	if err != nil {
		return nil, err
	}
	// A database cache's table is created when missing, as
	// fragcache createcachetable would.
	for _, alias := range []string{cache.DefaultAlias, cache.FragmentsAlias} {
		c, err := reg.Cache(alias)
		if err != nil {
			continue
		}
		if b, ok := cache.As[*db.Backend](c.Backend()); ok {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := b.CreateTable(ctx)
			cancel()
			if err != nil {
				logger.Warn("creating the cache table failed; the cache fails open", "alias", alias, "error", err)
			}
		}
	}
	return reg, nil
}
