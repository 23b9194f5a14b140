package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/dummy"
	"github.com/fragcache/fragcache/cache/failopen"
	"github.com/fragcache/fragcache/cache/file"
	"github.com/fragcache/fragcache/cache/memcached"
	"github.com/fragcache/fragcache/cache/memory"
	"github.com/fragcache/fragcache/cache/near"
	"github.com/fragcache/fragcache/cache/redis"
	goredis "github.com/redis/go-redis/v9"
)

func statsCommand() *command {
	c := &command{
		name:     "stats",
		synopsis: "describe a cache and check that it answers",
		usage:    "fragcache stats --cache URL [--timeout D]",
		help: `Describe the cache at URL, one "label: value" line each:

  cache             the URL, passwords hidden
  backend           the backend's kind and Go type
  key prefix        the URL's key_prefix, quoted
  version           the URL's version
  default timeout   the URL's timeout, else 300s
  probe             whether a look-up of one key that is never written
                    (` + probeKey + `) succeeded
                    through the cache, and how long it took
  ...               what the backend tells about itself (below)
  counters          hits, misses, sets, deletes and errors; they count this
                    process's operations only (a Cache keeps no history), so
                    only a failed probe can make one (errors) non-zero
  stampede          for a cache with stampede protection (lease=, grace=,
                    xfetch=): its options, then leases won, lost and expired,
                    waits (and their time), wait timeouts, stale values
                    served and refreshes (early, background), this process
                    only
  near cache        for a cache keeping copies in process memory
                    (memcached:// with local_ttl=, redis:// with near_cache=1):
                    its mode ("ttl" or "tracking"), state, counters, size
                    and the longest a copy is served (this process only)

A backend's own lines, when it has the methods:
  fail-open wrapper (memcached:// and redis:// unless failopen=0): the
    circuit breaker's state and counters, then the wrapped backend
  redis: servers, database, and its DBSIZE (every key, whatever the prefix)
  memcached: servers, whether every server answers a ping, then a line
    per server: its breaker (a pool of two or more servers has one per
    server: a failing server is marked down and only its keys miss), the
    keys asked of it, failures, keys skipped while it was marked down,
    writes it missed (replayed as deletes when it is back) and its last
    error, this process only
  file: the directory, and the number and size of its cache files
  memory: entries and bytes (a memory:// cache is private to this process,
    so it is always empty here)
  any backend with Len() int, Bytes() int64 or Stats() map[string]string:
    those values

A failed probe, ping or count is printed as "failed: …" and makes the exit
status 1, after all lines are printed. --cache defaults to $` + cacheEnv + `.
`,
	}
	c.setup = func(fs *flag.FlagSet) func([]string, stdio) int {
		cf := defineCacheFlags(fs)
		return func(args []string, std stdio) int {
			if code := cf.check(c, std.stderr); code != exitOK {
				return code
			}
			if len(args) > 0 {
				return usageError(std.stderr, c, fmt.Sprintf("unexpected argument %q: stats takes none", args[0]))
			}
			cc, code := cf.open(c, std.stderr)
			if code != exitOK {
				return code
			}
			defer cc.Close()
			cf.warnPrivate(c, std.stderr, "what it shows says nothing about the cache of another process")
			ctx, cancel := cf.context()
			defer cancel()
			u, _ := cf.source()
			r := &report{w: std.stdout}
			r.line("cache", "%s", cache.Redact(u))
			r.line("backend", "%s", backendKind(cc.Backend()))
			r.line("key prefix", "%q", cc.KeyPrefix())
			r.line("version", "%d", cc.Version())
			r.line("default timeout", "%s", timeoutString(cc.DefaultTimeout()))
			probe(ctx, r, cc)
			describe(ctx, r, cc.Backend())
			s := cc.Stats()
			r.line("counters", "hits %d, misses %d, sets %d, deletes %d, errors %d (this process only)", s.Hits, s.Misses, s.Sets, s.Deletes, s.Errors)
			if st := cc.Stampede(); st.On() {
				r.line("stampede", "%s", stampedeLine(st, s.Stampede))
			}
			if n := s.Near; n.Mode != "" {
				r.line("near cache", "%s, %s: hits %d, misses %d, stale hits %d, invalidations %d, %d entries, %d of %d bytes, max staleness %v (this process only)",
					n.Mode, n.State, n.Hits, n.Misses, n.Stale, n.Invalidations, n.Entries, n.Bytes, n.MaxBytes, n.MaxStaleness)
			}
			if r.failed {
				return exitError
			}
			return exitOK
		}
	}
	return c
}

// report writes the "label: value" lines of stats and remembers whether a
// check failed.
type report struct {
	w      io.Writer
	failed bool
}

func (r *report) line(label, format string, args ...any) {
	fmt.Fprintf(r.w, "%s: %s\n", label, fmt.Sprintf(format, args...))
}

func (r *report) fail(label string, err error) {
	r.failed = true
	r.line(label, "failed: %v", err)
}

// probeKey is the key stats looks up to check that the cache answers. It is
// never written.
const probeKey = "fragcache.stats.probe"

// probe looks up probeKey through the whole cache (wrappers included) and
// reports whether the cache answered.
func probe(ctx context.Context, r *report, cc *cache.Cache) {
	check := swallowed(cc)
	start := time.Now()
	_, err := cc.Has(ctx, probeKey)
	took := time.Since(start).Round(time.Microsecond)
	if err == nil {
		err = check()
	}
	if err != nil {
		r.fail("probe", err)
		return
	}
	r.line("probe", "ok (looked up %s in %v)", cc.MakeKey(probeKey), took)
}

// The optional methods of backends stats reports on.
type (
	lener      interface{ Len() int }
	byteser    interface{ Bytes() int64 }
	direr      interface{ Dir() string }
	serverer   interface{ Servers() []string }
	pinger     interface{ Ping(context.Context) error }
	extraStats interface{ Stats() map[string]string }
)

// timeoutString formats a default timeout.
func timeoutString(t cache.Timeout) string {
	switch {
	case t.IsForever():
		return "none (values never expire)"
	case t.IsExpired():
		return "0 (values expire at once)"
	}
	return t.Duration().String()
}

// backendKind names a backend for people, with its Go type.
func backendKind(b cache.Backend) string {
	var kind string
	switch b.(type) {
	case *memory.Store:
		kind = "memory (in-process LRU)"
	case *file.Store:
		kind = "file (Django's FileBasedCache format)"
	case *memcached.Backend:
		kind = "memcached"
	case *redis.Backend:
		kind = "redis"
	case *dummy.Backend:
		kind = "dummy (stores nothing)"
	case failopen.Wrapper:
		kind = "fail-open wrapper (circuit breaker)"
	case near.Wrapper:
		kind = "near cache (local copies for at most local_ttl)"
	default:
		return fmt.Sprintf("%T", b)
	}
	return fmt.Sprintf("%s (%T)", kind, b)
}

// describe reports on b and the backends it wraps, through their optional
// methods.
func describe(ctx context.Context, r *report, b cache.Backend) {
	for depth := 0; b != nil; depth++ {
		if depth > 0 {
			r.line("wrapped backend", "%s", backendKind(b))
		}
		describeOne(ctx, r, b)
		b = cache.Unwrap(b)
	}
}

func describeOne(ctx context.Context, r *report, b cache.Backend) {
	if bs, ok := b.(failopen.Breaker); ok {
		s := bs.Stats()
		state := s.State.String()
		if !s.OpenUntil.IsZero() {
			state += fmt.Sprintf(" until %s", s.OpenUntil.Format(time.RFC3339))
		}
		r.line("breaker", "%s", state)
		r.line("breaker failures", "%d in a row, %d in all (%d timeouts)", s.ConsecutiveFailures, s.Failures, s.Timeouts)
		r.line("breaker short-circuited", "%d", s.ShortCircuited)
		r.line("breaker dropped writes", "%d", s.DroppedWrites)
		r.line("breaker opens", "%d", s.Opens)
		if s.LastError != "" {
			r.line("breaker last error", "%s (at %s)", s.LastError, s.LastErrorAt.Format(time.RFC3339))
		}
		if s.Isolated != 0 {
			r.line("breaker isolated", "%d (failures of some servers while others served: not counted against the breaker)", s.Isolated)
		}
	}
	if rc, ok := b.(*redis.Backend); ok {
		r.line("servers", "%s", strings.Join(rc.Servers(), "; "))
		if cl := rc.Cluster(); cl != nil {
			// DBSIZE of every master, summed: the Cluster's keys.
			var (
				mu    sync.Mutex
				total int64
				addrs []string
			)
			err := cl.ForEachMaster(ctx, func(ctx context.Context, m *goredis.Client) error {
				n, err := m.DBSize(ctx).Result()
				mu.Lock()
				defer mu.Unlock()
				total += n
				addrs = append(addrs, m.Options().Addr)
				return err
			})
			if err != nil {
				r.fail("keys in the cluster", err)
			} else {
				sort.Strings(addrs)
				r.line("masters", "%s", strings.Join(addrs, ", "))
				r.line("keys in the cluster", "%d (DBSIZE of every master: every key, whatever the prefix)", total)
			}
		} else if clients := rc.Clients(); len(clients) > 0 {
			r.line("database", "%d", clients[0].Options().DB)
			if n, err := clients[0].DBSize(ctx).Result(); err != nil {
				r.fail("keys in database", err)
			} else {
				r.line("keys in database", "%d (DBSIZE on %s: every key, whatever the prefix)", n, rc.Servers()[0])
			}
		}
	} else if s, ok := b.(serverer); ok {
		r.line("servers", "%s", strings.Join(s.Servers(), ", "))
	}
	if p, ok := b.(pinger); ok {
		if err := p.Ping(ctx); err != nil {
			r.fail("ping", err)
		} else {
			r.line("ping", "ok (every server answered)")
		}
	}
	if sr, ok := b.(cache.ServerReporter); ok {
		for _, s := range sr.ServerStats() {
			r.line("server "+s.Server, "%s", serverLine(s))
		}
	}
	if d, ok := b.(direr); ok {
		dir := d.Dir()
		r.line("directory", "%s", dir)
		if n, size, err := countCacheFiles(dir); err != nil {
			r.fail("cache files", err)
		} else {
			r.line("cache files", "%d (%d bytes; every prefix; expired entries count until read or culled)", n, size)
		}
	}
	if l, ok := b.(lener); ok {
		r.line("entries", "%d (expired ones included until removed)", l.Len())
	}
	if bs, ok := b.(byteser); ok {
		r.line("bytes", "%d", bs.Bytes())
	}
	if es, ok := b.(extraStats); ok {
		stats := es.Stats()
		names := make([]string, 0, len(stats))
		for name := range stats {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			r.line(name, "%s", stats[name])
		}
	}
}

// countCacheFiles returns the number and total size of the cache files in
// dir, counted as the file backend counts them for culling: names ending in
// file.Suffix and not starting with ".".
func countCacheFiles(dir string) (n int, size int64, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, 0, nil
		}
		return 0, 0, err
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, file.Suffix) || len(name) == len(file.Suffix) || name[0] == '.' {
			continue
		}
		n++
		if info, err := e.Info(); err == nil {
			size += info.Size()
		}
	}
	return n, size, nil
}

// serverLine describes one server of a backend (cache.ServerStats).
func serverLine(s cache.ServerStats) string {
	var b strings.Builder
	switch s.Breaker {
	case "":
		b.WriteString("no breaker of its own (one server: the fail-open wrapper's covers it)")
	case "open":
		fmt.Fprintf(&b, "marked down until %s (its keys miss)", s.OpenUntil.Format(time.RFC3339))
	default:
		fmt.Fprintf(&b, "breaker %s", s.Breaker)
	}
	fmt.Fprintf(&b, "; keys %d, failures %d, skipped %d, marked down %d times", s.Keys, s.Failures, s.ShortCircuited, s.Opens)
	switch {
	case s.Pending < 0:
		b.WriteString("; missed too many writes to replay: flushed when back")
	case s.Pending > 0:
		fmt.Fprintf(&b, "; %d missed writes to replay when back", s.Pending)
	}
	if s.Replayed != 0 || s.Flushes != 0 {
		fmt.Fprintf(&b, "; replayed %d, flushed %d times", s.Replayed, s.Flushes)
	}
	if s.LastError != "" {
		fmt.Fprintf(&b, "; last error %s (at %s)", s.LastError, s.LastErrorAt.Format(time.RFC3339))
	}
	b.WriteString(" (this process only)")
	return b.String()
}

// stampedeLine describes a cache's stampede protection and its counters.
func stampedeLine(st cache.Stampede, s cache.StampedeStats) string {
	return fmt.Sprintf("%s: leases won %d, lost %d, expired %d; waits %d (%v), wait timeouts %d; stale served %d; refreshes %d (early %d, background %d) (this process only)",
		st, s.LeasesWon, s.LeasesLost, s.LeasesExpired, s.Waits, s.WaitTime, s.WaitTimeouts, s.StaleServed, s.Refreshes, s.EarlyRefreshes, s.BackgroundRefreshes)
}
