// Package cachemetrics exports fragcache's counters to Prometheus (on
// github.com/prometheus/client_golang) and to expvar: per cache alias
// (hits, misses, sets, deletes, errors, the circuit breaker's state and
// the backend's failures, each server's breaker and counters, labelled
// server, for backends that report them (memcached), the near cache's
// counters for backends with one, labelled by its mode, and the stampede
// protection's counters for caches with it or that used it), per
// {% cache %} fragment name, and per page cache. It is a package of its own so that programs that do not import it
// do not link the Prometheus client.
//
//	prometheus.MustRegister(cachemetrics.NewCollector(reg,
//		cachedebug.WithFragments(renderer.Fragments()), cachedebug.WithPageCache("site", pages)))
//	err := cachemetrics.PublishExpvar("fragcache", reg, cachedebug.WithFragments(renderer.Fragments()))
//
// The collector reads the same counters as the debug page (package
// httpx/cachedebug) when Prometheus scrapes: it costs the request path
// nothing. Latency histograms are not collected.
package cachemetrics

import (
	"expvar"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/httpx/cachedebug"
)

// Collector is a prometheus.Collector of a registry's caches and the
// fragments and page caches given with the cachedebug options.
type Collector struct {
	reg  *cache.Registry
	opts []cachedebug.Option
}

// NewCollector returns the collector; register it with prometheus.
func NewCollector(reg *cache.Registry, opts ...cachedebug.Option) *Collector {
	return &Collector{reg: reg, opts: opts}
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("fragcache_"+name, help, labels, nil)
}

var (
	cacheOps = map[string]*prometheus.Desc{
		"hits":    desc("cache_hits_total", "Cache lookups that found a value.", "alias"),
		"misses":  desc("cache_misses_total", "Cache lookups that found nothing.", "alias"),
		"sets":    desc("cache_sets_total", "Values stored.", "alias"),
		"deletes": desc("cache_deletes_total", "Keys deleted.", "alias"),
		"errors":  desc("cache_errors_total", "Failed cache operations, stores a fail-open cache swallowed included.", "alias"),
	}
	breakerOpen     = desc("cache_breaker_open", "1 while the circuit breaker skips the backend (open or half-open), else 0.", "alias")
	backendFailures = desc("cache_backend_failures_total", "Backend operations that failed, timeouts included.", "alias")
	shortCircuited  = desc("cache_short_circuited_total", "Calls the open breaker answered without the backend.", "alias")
	isolated        = desc("cache_isolated_failures_total", "Calls that failed at some of the backend's servers while others served (not counted against the breaker).", "alias")
	serverOps       = map[string]*prometheus.Desc{
		"keys":     desc("server_keys_total", "Keys asked of or written to one server of a backend.", "alias", "server"),
		"failures": desc("server_failures_total", "Operations that failed at one server, timeouts included.", "alias", "server"),
		"skipped":  desc("server_short_circuited_total", "Keys skipped while their server was marked down.", "alias", "server"),
		"opens":    desc("server_marked_down_total", "Times a server was marked down by its own breaker.", "alias", "server"),
		"replayed": desc("server_replayed_writes_total", "Missed writes replayed as deletes on a server back from an outage.", "alias", "server"),
	}
	serverDown = desc("server_breaker_open", "1 while a server's own breaker skips it (open or half-open), else 0; only servers of a pool.", "alias", "server")
	nearOps    = map[string]*prometheus.Desc{
		"hits":          desc("near_hits_total", "Lookups the near cache (copies in process memory) answered.", "alias", "mode"),
		"misses":        desc("near_misses_total", "Lookups the near cache passed to the server.", "alias", "mode"),
		"stale":         desc("near_stale_hits_total", "Near-cache hits served while the backend was unreachable.", "alias", "mode"),
		"invalidations": desc("near_invalidations_total", "Near-cache copies dropped because their key changed.", "alias", "mode"),
	}
	nearEntries      = desc("near_entries", "Copies the near cache holds.", "alias", "mode")
	nearBytes        = desc("near_bytes", "Estimated bytes the near cache holds.", "alias", "mode")
	nearMaxBytes     = desc("near_max_bytes", "Bound on the near cache's bytes.", "alias", "mode")
	nearMaxStaleness = desc("near_max_staleness_seconds", "How long a near-cache copy may be served after it was fetched.", "alias", "mode")
	stampedeOps      = map[string]*prometheus.Desc{
		"leases_won":           desc("stampede_leases_won_total", "Leases this process took to compute a missing or stale value.", "alias"),
		"leases_lost":          desc("stampede_leases_lost_total", "Leases found held by another holder.", "alias"),
		"leases_expired":       desc("stampede_leases_expired_total", "Leases that lapsed before their holder released them.", "alias"),
		"waits":                desc("stampede_waits_total", "Reads that waited for another holder's value and got it.", "alias"),
		"wait_seconds":         desc("stampede_wait_seconds_total", "Time spent in the waits that got another holder's value.", "alias"),
		"wait_timeouts":        desc("stampede_wait_timeouts_total", "Waits that ended at their bound and computed for their own use.", "alias"),
		"stale_served":         desc("stampede_stale_served_total", "Values served past their freshness, within their grace, while another read recomputed them.", "alias"),
		"refreshes":            desc("stampede_refreshes_total", "Recomputations of a value still present (grace and early expiry).", "alias"),
		"early_refreshes":      desc("stampede_early_refreshes_total", "Values recomputed before they expired by early expiry (XFetch).", "alias"),
		"background_refreshes": desc("stampede_background_refreshes_total", "Refreshes that ran in the background (GetOrSetWith).", "alias"),
	}
	fragmentOps = map[string]*prometheus.Desc{
		"hits":          desc("fragment_hits_total", "{% cache %} renders served from the cache.", "name"),
		"misses":        desc("fragment_misses_total", "{% cache %} lookups that found nothing.", "name"),
		"renders":       desc("fragment_renders_total", "Executions of a {% cache %} body.", "name"),
		"errors":        desc("fragment_errors_total", "{% cache %} backend errors.", "name"),
		"wait_timeouts": desc("fragment_wait_timeouts_total", "Renders that stopped waiting for a concurrent render.", "name"),
		"unresolved":    desc("fragment_unresolved_vary_on_total", "Vary-on arguments that did not resolve.", "name"),
		"waited":        desc("fragment_waited_total", "Misses served the fragment another process rendered while they waited (a lease).", "name"),
		"stale":         desc("fragment_stale_served_total", "Fragments served past their freshness, within their grace.", "name"),
	}
	pageOps = map[string]*prometheus.Desc{
		"hits":       desc("page_hits_total", "Requests answered from the page cache.", "cache"),
		"misses":     desc("page_misses_total", "Requests looked up and not found.", "cache"),
		"stored":     desc("page_stored_total", "Responses stored.", "cache"),
		"not_stored": desc("page_not_stored_total", "Missed responses not stored.", "cache"),
		"coalesced":  desc("page_coalesced_total", "Requests answered with a concurrent request's response.", "cache"),
		"bypassed":   desc("page_bypassed_total", "Requests the page cache left alone.", "cache"),
		"errors":     desc("page_errors_total", "Page-cache backend errors.", "cache"),
		// Stampede protection (pagecache.WithStampede).
		"leases_won":      desc("page_leases_won_total", "Leases taken to render a page (a miss or a refresh).", "cache"),
		"leases_lost":     desc("page_leases_lost_total", "Leases found held by another process or request.", "cache"),
		"leases_expired":  desc("page_leases_expired_total", "Leases that lapsed before their render was done.", "cache"),
		"waited":          desc("page_waited_total", "Requests served the page another process rendered while they waited.", "cache"),
		"wait_timeouts":   desc("page_lease_wait_timeouts_total", "Requests that stopped waiting for another process's render.", "cache"),
		"stale_served":    desc("page_stale_served_total", "Pages served past their freshness, within their grace.", "cache"),
		"refreshes":       desc("page_refreshes_total", "Pages rendered again while still stored (stale or drawn early).", "cache"),
		"early_refreshes": desc("page_early_refreshes_total", "Pages rendered again early (XFetch).", "cache"),
	}
	pageWaitSeconds = desc("page_wait_seconds_total", "Time requests waited for another process's render of a page.", "cache")
)

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range []map[string]*prometheus.Desc{cacheOps, nearOps, stampedeOps, fragmentOps, pageOps, serverOps} {
		for _, d := range m {
			ch <- d
		}
	}
	ch <- breakerOpen
	ch <- backendFailures
	ch <- shortCircuited
	ch <- isolated
	ch <- serverDown
	ch <- nearEntries
	ch <- nearBytes
	ch <- nearMaxBytes
	ch <- nearMaxStaleness
	ch <- pageWaitSeconds
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	rep := cachedebug.Snapshot(c.reg, c.opts...)
	counter := func(d *prometheus.Desc, v uint64, label string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), label)
	}
	for _, cr := range rep.Caches {
		s := cr.Stats
		counter(cacheOps["hits"], s.Hits, cr.Alias)
		counter(cacheOps["misses"], s.Misses, cr.Alias)
		counter(cacheOps["sets"], s.Sets, cr.Alias)
		counter(cacheOps["deletes"], s.Deletes, cr.Alias)
		counter(cacheOps["errors"], s.Errors, cr.Alias)
		if s.Backend.Breaker != "" {
			open := 0.0
			if s.Backend.Breaker != "closed" {
				open = 1
			}
			ch <- prometheus.MustNewConstMetric(breakerOpen, prometheus.GaugeValue, open, cr.Alias)
			counter(backendFailures, s.Backend.Failures, cr.Alias)
			counter(shortCircuited, s.Backend.ShortCircuited, cr.Alias)
			counter(isolated, s.Backend.Isolated, cr.Alias)
		}
		for _, sv := range s.Servers {
			sc := func(d *prometheus.Desc, v uint64) {
				ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), cr.Alias, sv.Server)
			}
			sc(serverOps["keys"], sv.Keys)
			sc(serverOps["failures"], sv.Failures)
			sc(serverOps["skipped"], sv.ShortCircuited)
			sc(serverOps["opens"], sv.Opens)
			sc(serverOps["replayed"], sv.Replayed)
			if sv.Breaker != "" {
				down := 0.0
				if sv.Breaker != "closed" {
					down = 1
				}
				ch <- prometheus.MustNewConstMetric(serverDown, prometheus.GaugeValue, down, cr.Alias, sv.Server)
			}
		}
		if n := s.Near; n.Mode != "" {
			nc := func(d *prometheus.Desc, v uint64) {
				ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), cr.Alias, n.Mode)
			}
			gauge := func(d *prometheus.Desc, v float64) {
				ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, cr.Alias, n.Mode)
			}
			nc(nearOps["hits"], n.Hits)
			nc(nearOps["misses"], n.Misses)
			nc(nearOps["stale"], n.Stale)
			nc(nearOps["invalidations"], n.Invalidations)
			gauge(nearEntries, float64(n.Entries))
			gauge(nearBytes, float64(n.Bytes))
			gauge(nearMaxBytes, float64(n.MaxBytes))
			gauge(nearMaxStaleness, n.MaxStaleness.Seconds())
		}
		if st := s.Stampede; cr.Stampede != "" || st != (cache.StampedeStats{}) {
			counter(stampedeOps["leases_won"], st.LeasesWon, cr.Alias)
			counter(stampedeOps["leases_lost"], st.LeasesLost, cr.Alias)
			counter(stampedeOps["leases_expired"], st.LeasesExpired, cr.Alias)
			counter(stampedeOps["waits"], st.Waits, cr.Alias)
			ch <- prometheus.MustNewConstMetric(stampedeOps["wait_seconds"], prometheus.CounterValue, st.WaitTime.Seconds(), cr.Alias)
			counter(stampedeOps["wait_timeouts"], st.WaitTimeouts, cr.Alias)
			counter(stampedeOps["stale_served"], st.StaleServed, cr.Alias)
			counter(stampedeOps["refreshes"], st.Refreshes, cr.Alias)
			counter(stampedeOps["early_refreshes"], st.EarlyRefreshes, cr.Alias)
			counter(stampedeOps["background_refreshes"], st.BackgroundRefreshes, cr.Alias)
		}
	}
	for _, f := range rep.Fragments {
		counter(fragmentOps["hits"], f.Hits, f.Name)
		counter(fragmentOps["misses"], f.Misses, f.Name)
		counter(fragmentOps["renders"], f.Renders, f.Name)
		counter(fragmentOps["errors"], f.Errors, f.Name)
		counter(fragmentOps["wait_timeouts"], f.WaitTimeouts, f.Name)
		counter(fragmentOps["unresolved"], f.Unresolved, f.Name)
		counter(fragmentOps["waited"], f.Waited, f.Name)
		counter(fragmentOps["stale"], f.Stale, f.Name)
	}
	for _, p := range rep.Pages {
		s := p.Stats
		counter(pageOps["hits"], s.Hits, p.Name)
		counter(pageOps["misses"], s.Misses, p.Name)
		counter(pageOps["stored"], s.Stored, p.Name)
		counter(pageOps["not_stored"], s.NotStored, p.Name)
		counter(pageOps["coalesced"], s.Coalesced, p.Name)
		counter(pageOps["bypassed"], s.Bypassed, p.Name)
		counter(pageOps["errors"], s.Errors, p.Name)
		counter(pageOps["leases_won"], s.LeasesWon, p.Name)
		counter(pageOps["leases_lost"], s.LeasesLost, p.Name)
		counter(pageOps["leases_expired"], s.LeasesExpired, p.Name)
		counter(pageOps["waited"], s.Waited, p.Name)
		counter(pageOps["wait_timeouts"], s.WaitTimeouts, p.Name)
		counter(pageOps["stale_served"], s.StaleServed, p.Name)
		counter(pageOps["refreshes"], s.Refreshes, p.Name)
		counter(pageOps["early_refreshes"], s.EarlyRefreshes, p.Name)
		ch <- prometheus.MustNewConstMetric(pageWaitSeconds, prometheus.CounterValue, s.WaitTime.Seconds(), p.Name)
	}
}

// PublishExpvar publishes the same counters as an expvar variable (under
// /debug/vars): the debug page's JSON report. A name already published is
// an error (expvar.Publish would panic).
func PublishExpvar(name string, reg *cache.Registry, opts ...cachedebug.Option) error {
	if expvar.Get(name) != nil {
		return fmt.Errorf("cachemetrics: expvar %q is already published", name)
	}
	expvar.Publish(name, expvar.Func(func() any { return cachedebug.Snapshot(reg, opts...) }))
	return nil
}

// Latency is an opt-in histogram of cache operation durations, by cache
// alias and operation (get, set, add, get_many, set_many, delete). Feed it
// with cache.WithObserver(l.Observe) when opening the caches (two clock
// reads per operation), and register it:
//
//	lat := cachemetrics.NewLatency()
//	reg, err := backends.OpenRegistry(urls, cache.WithObserver(lat.Observe))
//	prometheus.MustRegister(lat)
type Latency struct {
	hist *prometheus.HistogramVec
}

// NewLatency returns a latency histogram with buckets from 50µs to 2.5s.
func NewLatency() *Latency {
	return &Latency{hist: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "fragcache_cache_operation_seconds",
		Help:    "Duration of cache operations, by alias and operation.",
		Buckets: prometheus.ExponentialBuckets(50e-6, 2.5, 12),
	}, []string{"alias", "op"})}
}

// Observe records one operation; it is a cache.Observer.
func (l *Latency) Observe(alias, op string, d time.Duration, _ error) {
	l.hist.WithLabelValues(alias, op).Observe(d.Seconds())
}

// Describe implements prometheus.Collector.
func (l *Latency) Describe(ch chan<- *prometheus.Desc) { l.hist.Describe(ch) }

// Collect implements prometheus.Collector.
func (l *Latency) Collect(ch chan<- prometheus.Metric) { l.hist.Collect(ch) }
