// Package cachedebug is a debug page for fragcache's caches, mounted in one
// line as net/http/pprof is:
//
//	mux.Handle("GET /debug/cache", cachedebug.Handler(reg,
//		cachedebug.WithFragments(renderer.Fragments()), cachedebug.WithPageCache(pages)))
//
// It shows every alias of the registry with its URL (passwords redacted),
// its counters and hit rate, and the health of its backend (the circuit
// breaker's state and failures, the latest errors) and, for a memcached
// pool, of each of its servers; the {% cache %} tag's
// counters and hit rate per fragment name; the page cache's counters; and
// the latest invalidations by name. "?format=json" gives the same as JSON. The page
// reads counters only: it costs the cache nothing. Like pprof, it tells
// about the site's internals: mount it where only operators reach it.
package cachedebug

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strconv"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/failopen"
	"github.com/fragcache/fragcache/httpx/pagecache"
	"github.com/fragcache/fragcache/tags"
)

// Option configures Handler.
type Option func(*handler)

// WithFragments adds the {% cache %} tag's counters per fragment name.
func WithFragments(f *tags.Fragments) Option { return func(h *handler) { h.frags = f } }

// WithPageCache adds a page cache's counters, under a name (several page
// caches may be added).
func WithPageCache(name string, p *pagecache.Cache) Option {
	return func(h *handler) { h.pages = append(h.pages, namedPages{name, p}) }
}

type namedPages struct {
	name string
	p    *pagecache.Cache
}

type handler struct {
	reg   *cache.Registry
	frags *tags.Fragments
	pages []namedPages
}

// Handler returns the debug page of reg's caches.
func Handler(reg *cache.Registry, opts ...Option) http.Handler {
	h := &handler{reg: reg}
	for _, o := range opts {
		if o != nil {
			o(h)
		}
	}
	return h
}

// Report is what the page shows; "?format=json" writes it as JSON.
type Report struct {
	Caches        []CacheReport
	Fragments     []FragmentReport
	Pages         []PageReport
	Invalidations []cache.Invalidation
}

// CacheReport is one alias.
type CacheReport struct {
	Alias   string
	URL     string // redacted
	Backend string // the backend's Go type
	Stats   cache.Stats
	HitRate string
	// Stampede is the cache's stampede protection as URL options (such as
	// "lease=1&grace=30s"), or "" without; Stats.Stampede counts what it
	// did.
	Stampede string
	// RecentErrors are the backend's latest failures, newest first (for a
	// fail-open backend).
	RecentErrors []failopen.TimedError
}

// FragmentReport is one fragment name.
type FragmentReport struct {
	tags.FragmentStats
	HitRate string
}

// PageReport is one page cache.
type PageReport struct {
	Name    string
	Stats   pagecache.Stats
	HitRate string
}

// Snapshot returns what the page shows, for other views of the same
// counters (package httpx/cachemetrics).
func Snapshot(reg *cache.Registry, opts ...Option) Report {
	h := Handler(reg, opts...).(*handler)
	return h.report()
}

// report gathers the page's data.
func (h *handler) report() Report {
	var r Report
	if h.reg != nil {
		for _, alias := range h.reg.Aliases() {
			c, err := h.reg.Cache(alias)
			if err != nil {
				continue
			}
			st := c.Stats()
			cr := CacheReport{Alias: alias, URL: h.reg.URL(alias),
				Backend: typeName(c.Backend()), Stats: st, HitRate: percent(st.Hits, st.Hits+st.Misses),
				Stampede: c.Stampede().String()}
			if re, ok := cache.As[interface{ RecentErrors() []failopen.TimedError }](c.Backend()); ok {
				cr.RecentErrors = re.RecentErrors()
			}
			r.Caches = append(r.Caches, cr)
		}
		r.Invalidations = h.reg.RecentInvalidations()
	}
	if h.frags != nil {
		for _, f := range h.frags.Stats() {
			r.Fragments = append(r.Fragments, FragmentReport{f, percent(f.Hits, f.Hits+f.Misses)})
		}
	}
	for _, p := range h.pages {
		st := p.p.Stats()
		r.Pages = append(r.Pages, PageReport{Name: p.name, Stats: st, HitRate: percent(st.Hits, st.Hits+st.Misses)})
	}
	return r
}

// ServeHTTP writes the page, or JSON with ?format=json. Responses are never
// cached.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	rep := h.report()
	if r.URL.Query().Get("format") == "json" {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = page.Execute(w, rep)
}

// typeName is the backend's Go type, e.g. *failopen.Backend.
func typeName(b cache.Backend) string { return fmt.Sprintf("%T", b) }

func percent(part, whole uint64) string {
	if whole == 0 {
		return "–"
	}
	return strconv.FormatFloat(100*float64(part)/float64(whole), 'f', 1, 64) + "%"
}

var page = template.Must(template.New("cache").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Cache</title>
<style>body{font:14px sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}td:first-child,th:first-child{text-align:left}.bad{color:#b00}</style>
</head><body>
<h1>Caches</h1>
<table><tr><th>alias</th><th>URL</th><th>backend</th><th>hits</th><th>misses</th><th>hit rate</th><th>sets</th><th>deletes</th><th>errors</th><th>breaker</th><th>backend failures</th><th>last error</th></tr>
{{range .Caches}}<tr><td>{{.Alias}}</td><td>{{.URL}}</td><td>{{.Backend}}</td><td>{{.Stats.Hits}}</td><td>{{.Stats.Misses}}</td><td>{{.HitRate}}</td><td>{{.Stats.Sets}}</td><td>{{.Stats.Deletes}}</td><td>{{.Stats.Errors}}</td><td{{if eq .Stats.Backend.Breaker "open"}} class="bad"{{end}}>{{or .Stats.Backend.Breaker "none"}}</td><td>{{.Stats.Backend.Failures}} ({{.Stats.Backend.ShortCircuited}} skipped{{if .Stats.Backend.Isolated}}, {{.Stats.Backend.Isolated}} isolated to some servers{{end}})</td><td>{{if .Stats.Backend.LastError}}{{.Stats.Backend.LastErrorAt.Format "15:04:05"}} {{.Stats.Backend.LastError}}{{end}}</td></tr>
{{end}}</table>
{{$servers := false}}{{range .Caches}}{{if .Stats.Servers}}{{$servers = true}}{{end}}{{end}}
{{if $servers}}<h1>Servers</h1>
<table><tr><th>alias</th><th>server</th><th>breaker</th><th>keys</th><th>failures</th><th>skipped keys</th><th>marked down</th><th>missed writes</th><th>replayed</th><th>flushes</th><th>last error</th></tr>
{{range $c := .Caches}}{{range .Stats.Servers}}<tr><td>{{$c.Alias}}</td><td>{{.Server}}</td><td{{if eq .Breaker "open"}} class="bad"{{end}}>{{if eq .Breaker "open"}}open until {{.OpenUntil.Format "15:04:05"}}{{else}}{{or .Breaker "none (one server)"}}{{end}}</td><td>{{.Keys}}</td><td>{{.Failures}}</td><td>{{.ShortCircuited}}</td><td>{{.Opens}}</td><td>{{if lt .Pending 0}}too many: flush when back{{else}}{{.Pending}}{{end}}</td><td>{{.Replayed}}</td><td>{{.Flushes}}</td><td>{{if .LastError}}{{.LastErrorAt.Format "15:04:05"}} {{.LastError}}{{end}}</td></tr>
{{end}}{{end}}</table>{{end}}
{{$near := false}}{{range .Caches}}{{if .Stats.Near.Mode}}{{$near = true}}{{end}}{{end}}
{{if $near}}<h1>Near caches</h1>
<table><tr><th>alias</th><th>mode</th><th>state</th><th>hits</th><th>misses</th><th>stale hits</th><th>invalidations</th><th>entries</th><th>bytes</th><th>max bytes</th><th>max staleness</th></tr>
{{range .Caches}}{{if .Stats.Near.Mode}}<tr><td>{{.Alias}}</td><td>{{.Stats.Near.Mode}}</td><td>{{.Stats.Near.State}}</td><td>{{.Stats.Near.Hits}}</td><td>{{.Stats.Near.Misses}}</td><td>{{.Stats.Near.Stale}}</td><td>{{.Stats.Near.Invalidations}}</td><td>{{.Stats.Near.Entries}}</td><td>{{.Stats.Near.Bytes}}</td><td>{{.Stats.Near.MaxBytes}}</td><td>{{.Stats.Near.MaxStaleness}}</td></tr>
{{end}}{{end}}</table>{{end}}
{{$stampede := false}}{{range .Caches}}{{if or .Stampede .Stats.Stampede.LeasesWon .Stats.Stampede.LeasesLost .Stats.Stampede.StaleServed .Stats.Stampede.Refreshes}}{{$stampede = true}}{{end}}{{end}}
{{if $stampede}}<h1>Stampede protection</h1>
<table><tr><th>alias</th><th>options</th><th>leases won</th><th>leases lost</th><th>leases expired</th><th>waits</th><th>wait time</th><th>wait timeouts</th><th>stale served</th><th>refreshes</th><th>early</th><th>background</th></tr>
{{range .Caches}}{{if or .Stampede .Stats.Stampede.LeasesWon .Stats.Stampede.LeasesLost .Stats.Stampede.StaleServed .Stats.Stampede.Refreshes}}<tr><td>{{.Alias}}</td><td>{{or .Stampede "none"}}</td><td>{{.Stats.Stampede.LeasesWon}}</td><td>{{.Stats.Stampede.LeasesLost}}</td><td>{{.Stats.Stampede.LeasesExpired}}</td><td>{{.Stats.Stampede.Waits}}</td><td>{{.Stats.Stampede.WaitTime}}</td><td{{if .Stats.Stampede.WaitTimeouts}} class="bad"{{end}}>{{.Stats.Stampede.WaitTimeouts}}</td><td>{{.Stats.Stampede.StaleServed}}</td><td>{{.Stats.Stampede.Refreshes}}</td><td>{{.Stats.Stampede.EarlyRefreshes}}</td><td>{{.Stats.Stampede.BackgroundRefreshes}}</td></tr>
{{end}}{{end}}</table>{{end}}
{{if .Fragments}}<h1>Fragments</h1>
<table><tr><th>name</th><th>hits</th><th>misses</th><th>hit rate</th><th>renders</th><th>errors</th><th>store skips</th><th>wait timeouts</th><th>waited (lease)</th><th>stale served</th><th>unresolved vary-on</th></tr>
{{range .Fragments}}<tr><td>{{.Name}}</td><td>{{.Hits}}</td><td>{{.Misses}}</td><td>{{.HitRate}}</td><td>{{.Renders}}</td><td>{{.Errors}}</td><td>{{.StoreSkips}}</td><td>{{.WaitTimeouts}}</td><td>{{.Waited}}</td><td>{{.Stale}}</td><td{{if .Unresolved}} class="bad"{{end}}>{{.Unresolved}}</td></tr>
{{end}}</table>{{end}}
{{if .Pages}}<h1>Page caches</h1>
<table><tr><th>name</th><th>hits</th><th>misses</th><th>hit rate</th><th>stored</th><th>not stored</th><th>coalesced</th><th>wait timeouts</th><th>bypassed</th><th>errors</th></tr>
{{range .Pages}}<tr><td>{{.Name}}</td><td>{{.Stats.Hits}}</td><td>{{.Stats.Misses}}</td><td>{{.HitRate}}</td><td>{{.Stats.Stored}}</td><td>{{.Stats.NotStored}}</td><td>{{.Stats.Coalesced}}</td><td>{{.Stats.CoalesceTimeouts}}</td><td>{{.Stats.Bypassed}}</td><td>{{.Stats.Errors}}</td></tr>
{{end}}</table>
<h2>Page stampede protection</h2>
<table><tr><th>name</th><th>leases won</th><th>leases lost</th><th>leases expired</th><th>waited</th><th>wait time</th><th>wait timeouts</th><th>stale served</th><th>refreshes</th><th>early refreshes</th></tr>
{{range .Pages}}<tr><td>{{.Name}}</td><td>{{.Stats.LeasesWon}}</td><td>{{.Stats.LeasesLost}}</td><td>{{.Stats.LeasesExpired}}</td><td>{{.Stats.Waited}}</td><td>{{.Stats.WaitTime}}</td><td>{{.Stats.WaitTimeouts}}</td><td>{{.Stats.StaleServed}}</td><td>{{.Stats.Refreshes}}</td><td>{{.Stats.EarlyRefreshes}}</td></tr>
{{end}}</table>{{end}}
<h1>Recent errors</h1>
{{$any := false}}{{range .Caches}}{{if .RecentErrors}}{{$any = true}}{{end}}{{end}}
{{if $any}}<table><tr><th>at</th><th>alias</th><th>op</th><th>error</th></tr>
{{range $c := .Caches}}{{range .RecentErrors}}<tr><td>{{.At.Format "15:04:05.000"}}</td><td>{{$c.Alias}}</td><td>{{.Op}}</td><td>{{.Err}}</td></tr>
{{end}}{{end}}</table>{{else}}<p>None.</p>{{end}}
<h1>Latest invalidations</h1>
{{if .Invalidations}}<table><tr><th>at</th><th>alias</th><th>name</th><th>key</th><th>deleted</th><th>error</th></tr>
{{range .Invalidations}}<tr><td>{{.At.Format "15:04:05"}}</td><td>{{or .Alias "(fragments)"}}</td><td>{{.Name}}</td><td>{{.Key}}</td><td>{{.Deleted}}{{if .Variants}} ({{.Variants}} variants){{end}}</td><td>{{.Err}}</td></tr>
{{end}}</table>{{else}}<p>None yet.</p>{{end}}
</body></html>
`))
