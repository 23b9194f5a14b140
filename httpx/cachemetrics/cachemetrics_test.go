package cachemetrics_test

import (
	"context"
	"encoding/json"
	"expvar"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/cache/memcached"
	"github.com/fragcache/fragcache/httpx/cachedebug"
	"github.com/fragcache/fragcache/httpx/cachemetrics"
	"github.com/fragcache/fragcache/httpx/pagecache"
	"github.com/fragcache/fragcache/tags"
)

func TestCollector(t *testing.T) {
	reg, err := backends.OpenRegistry(map[string]string{
		"default": "memory://",
		"down":    "redis://127.0.0.1:1/0?dial_timeout=50ms&failure_threshold=1&cool_down=1m",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	ctx := context.Background()
	def, _ := reg.Default()
	def.Set(ctx, "k", []byte("v"), cache.Forever)
	def.Get(ctx, "k")
	def.Get(ctx, "nope")
	down, _ := reg.Cache("down")
	down.Get(ctx, "k") // the breaker opens
	frags, _ := tags.New(reg, tags.Options{})
	pc, _ := pagecache.New(pagecache.WithRegistry(reg))

	col := cachemetrics.NewCollector(reg, cachedebug.WithFragments(frags), cachedebug.WithPageCache("site", pc))
	pr := prometheus.NewPedanticRegistry()
	if err := pr.Register(col); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP fragcache_cache_breaker_open 1 while the circuit breaker skips the backend (open or half-open), else 0.
# TYPE fragcache_cache_breaker_open gauge
fragcache_cache_breaker_open{alias="down"} 1
# HELP fragcache_cache_hits_total Cache lookups that found a value.
# TYPE fragcache_cache_hits_total counter
fragcache_cache_hits_total{alias="default"} 1
fragcache_cache_hits_total{alias="down"} 0
# HELP fragcache_cache_misses_total Cache lookups that found nothing.
# TYPE fragcache_cache_misses_total counter
fragcache_cache_misses_total{alias="default"} 1
fragcache_cache_misses_total{alias="down"} 1
`
	if err := testutil.GatherAndCompare(pr, strings.NewReader(want),
		"fragcache_cache_breaker_open", "fragcache_cache_hits_total", "fragcache_cache_misses_total"); err != nil {
		t.Error(err)
	}
	for _, name := range []string{"fragcache_page_hits_total", "fragcache_page_leases_won_total", "fragcache_page_waited_total",
		"fragcache_page_stale_served_total", "fragcache_page_refreshes_total", "fragcache_page_wait_seconds_total"} {
		if n, err := testutil.GatherAndCount(pr, name); err != nil || n != 1 {
			t.Errorf("page metric %s: %d, %v", name, n, err)
		}
	}

	if err := cachemetrics.PublishExpvar("fragcache_test", reg); err != nil {
		t.Fatal(err)
	}
	var rep cachedebug.Report
	if err := json.Unmarshal([]byte(expvar.Get("fragcache_test").String()), &rep); err != nil || len(rep.Caches) != 2 {
		t.Errorf("expvar: %v, %+v", err, rep)
	}
	if err := cachemetrics.PublishExpvar("fragcache_test", reg); err == nil {
		t.Error("publishing a name twice is not an error")
	}
}

func TestLatency(t *testing.T) {
	lat := cachemetrics.NewLatency()
	reg, err := backends.OpenRegistry(map[string]string{"default": "memory://", "other": "memory://o"}, cache.WithObserver(lat.Observe))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	ctx := context.Background()
	def, _ := reg.Default()
	def.Set(ctx, "k", []byte("v"), cache.Forever)
	def.Get(ctx, "k")
	def.GetKeyBytes(ctx, []byte("k"))
	other, _ := reg.Cache("other")
	other.Delete(ctx, "k")
	pr := prometheus.NewPedanticRegistry()
	pr.MustRegister(lat)
	n, err := testutil.GatherAndCount(pr, "fragcache_cache_operation_seconds")
	if err != nil || n != 3 { // default/set, default/get, other/delete
		t.Errorf("%d series, %v", n, err)
	}
	mfs, _ := pr.Gather()
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["alias"] == "default" && labels["op"] == "get" && m.GetHistogram().GetSampleCount() != 2 {
				t.Errorf("default/get: %d samples, want 2 (Get and GetKeyBytes)", m.GetHistogram().GetSampleCount())
			}
		}
	}
	if def.Name() != "default" || other.Name() != "other" {
		t.Errorf("names %q %q", def.Name(), other.Name())
	}
}

// TestCollectorNear checks the near cache's metrics (memcached with
// local_ttl needs no server to report them).
func TestCollectorNear(t *testing.T) {
	reg, err := backends.OpenRegistry(map[string]string{
		"default": "memory://",
		"near":    "memcached://127.0.0.1:1?local_ttl=2s&local_max_bytes=1MiB",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	pr := prometheus.NewPedanticRegistry()
	if err := pr.Register(cachemetrics.NewCollector(reg)); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP fragcache_near_max_bytes Bound on the near cache's bytes.
# TYPE fragcache_near_max_bytes gauge
fragcache_near_max_bytes{alias="near",mode="ttl"} 1.048576e+06
# HELP fragcache_near_max_staleness_seconds How long a near-cache copy may be served after it was fetched.
# TYPE fragcache_near_max_staleness_seconds gauge
fragcache_near_max_staleness_seconds{alias="near",mode="ttl"} 2
# HELP fragcache_near_hits_total Lookups the near cache (copies in process memory) answered.
# TYPE fragcache_near_hits_total counter
fragcache_near_hits_total{alias="near",mode="ttl"} 0
`
	if err := testutil.GatherAndCompare(pr, strings.NewReader(want),
		"fragcache_near_max_bytes", "fragcache_near_max_staleness_seconds", "fragcache_near_hits_total"); err != nil {
		t.Error(err)
	}
}

// TestCollectorStampede checks the stampede protection's metrics: for a
// cache with it, and not for one without that never used it.
func TestCollectorStampede(t *testing.T) {
	reg, err := backends.OpenRegistry(map[string]string{
		"default": "memory://",
		"guarded": "memory://?lease=1&grace=30s",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	g, _ := reg.Cache("guarded")
	load := func(context.Context) ([]byte, error) { return []byte("v"), nil }
	if _, err := g.GetOrSet(context.Background(), "k", load, cache.Seconds(60)); err != nil {
		t.Fatal(err)
	}
	pr := prometheus.NewPedanticRegistry()
	if err := pr.Register(cachemetrics.NewCollector(reg)); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP fragcache_stampede_leases_won_total Leases this process took to compute a missing or stale value.
# TYPE fragcache_stampede_leases_won_total counter
fragcache_stampede_leases_won_total{alias="guarded"} 1
# HELP fragcache_stampede_stale_served_total Values served past their freshness, within their grace, while another read recomputed them.
# TYPE fragcache_stampede_stale_served_total counter
fragcache_stampede_stale_served_total{alias="guarded"} 0
# HELP fragcache_stampede_wait_seconds_total Time spent in the waits that got another holder's value.
# TYPE fragcache_stampede_wait_seconds_total counter
fragcache_stampede_wait_seconds_total{alias="guarded"} 0
`
	if err := testutil.GatherAndCompare(pr, strings.NewReader(want),
		"fragcache_stampede_leases_won_total", "fragcache_stampede_stale_served_total", "fragcache_stampede_wait_seconds_total"); err != nil {
		t.Error(err)
	}
	for _, name := range []string{"leases_lost", "leases_expired", "waits", "wait_timeouts", "refreshes", "early_refreshes", "background_refreshes"} {
		if n, err := testutil.GatherAndCount(pr, "fragcache_stampede_"+name+"_total"); err != nil || n != 1 {
			t.Errorf("fragcache_stampede_%s_total: %d series, %v; want 1 (guarded only)", name, n, err)
		}
	}
}

// TestCollectorServers checks each server's metrics, on a memcached pool
// of two servers that refuse connections (marked down after three failed
// pings each).
func TestCollectorServers(t *testing.T) {
	reg, err := backends.OpenRegistry(map[string]string{"pool": "memcached://127.0.0.1:1;127.0.0.1:2"})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	c, _ := reg.Cache("pool")
	b, _ := cache.As[*memcached.Backend](c.Backend())
	for range 3 {
		if err := b.Ping(context.Background()); err == nil {
			t.Fatal("ping of closed ports succeeded")
		}
	}
	pr := prometheus.NewPedanticRegistry()
	if err := pr.Register(cachemetrics.NewCollector(reg)); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP fragcache_server_breaker_open 1 while a server's own breaker skips it (open or half-open), else 0; only servers of a pool.
# TYPE fragcache_server_breaker_open gauge
fragcache_server_breaker_open{alias="pool",server="127.0.0.1:1"} 1
fragcache_server_breaker_open{alias="pool",server="127.0.0.1:2"} 1
# HELP fragcache_server_failures_total Operations that failed at one server, timeouts included.
# TYPE fragcache_server_failures_total counter
fragcache_server_failures_total{alias="pool",server="127.0.0.1:1"} 3
fragcache_server_failures_total{alias="pool",server="127.0.0.1:2"} 3
# HELP fragcache_server_marked_down_total Times a server was marked down by its own breaker.
# TYPE fragcache_server_marked_down_total counter
fragcache_server_marked_down_total{alias="pool",server="127.0.0.1:1"} 1
fragcache_server_marked_down_total{alias="pool",server="127.0.0.1:2"} 1
`
	if err := testutil.GatherAndCompare(pr, strings.NewReader(want),
		"fragcache_server_breaker_open", "fragcache_server_failures_total", "fragcache_server_marked_down_total"); err != nil {
		t.Error(err)
	}
}
