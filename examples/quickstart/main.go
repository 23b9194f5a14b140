// Command quickstart is the smallest fragcache app: a net/http server whose
// slow "database" answers are cached with Django's get_or_set semantics on
// the embedded in-memory cache (or any cache URL given with -cache).
//
//	go run ./examples/quickstart            # http://127.0.0.1:8000/
//	go run ./examples/quickstart -cache file:///tmp/fragcache-demo
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8000", "address to listen on")
	cacheURL := flag.String("cache", "memory://", "cache URL (memory://, file:///path, dummy://)")
	delay := flag.Duration("db-delay", 200*time.Millisecond, "simulated database latency")
	flag.Parse()

	c, err := backends.Open(*cacheURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(2)
	}
	defer c.Close()

	srv := &http.Server{Addr: *addr, Handler: newApp(c, *delay), ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Shutdown(context.Background())
	}()
	slog.Info("quickstart listening", "url", "http://"+*addr+"/", "cache", *cacheURL)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// newApp returns the handler: "/" shows a slow computation, cached for 30 s;
// "/invalidate" (POST) deletes it; "/stats" shows the cache counters.
func newApp(c *cache.Cache, delay time.Duration) http.Handler {
	mux := http.NewServeMux()
	report := cache.NewTyped[string](c, cache.JSONCodec{})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		v, err := report.GetOrSet(r.Context(), "report", func(ctx context.Context) (string, error) {
			select { // the slow database query
			case <-time.After(delay):
			case <-ctx.Done():
				return "", ctx.Err()
			}
			return "report computed at " + time.Now().Format(time.TimeOnly), nil
		}, cache.Seconds(30))
		if err != nil {
			http.Error(w, "cache error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>fragcache quickstart</title>
<p>%s</p><p>served in %s</p>
<form method="post" action="/invalidate"><button>Invalidate</button></form>
<p><a href="/stats">cache stats</a></p>
`, html.EscapeString(v), time.Since(start).Round(time.Microsecond))
	})
	mux.HandleFunc("POST /invalidate", func(w http.ResponseWriter, r *http.Request) {
		if _, err := c.Delete(r.Context(), "report"); err != nil {
			http.Error(w, "cache error", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		s := c.Stats()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "hits %d\nmisses %d\nsets %d\ndeletes %d\nerrors %d\nhit rate %s%%\n",
			s.Hits, s.Misses, s.Sets, s.Deletes, s.Errors, strconv.FormatFloat(100*s.HitRate(), 'f', 1, 64))
	})
	return mux
}
