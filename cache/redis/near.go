package redis

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe" // go:linkname, and peek keys without copies

	goredis "github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/fragcache/fragcache/cache"
)

// Defaults of NearOptions.
const (
	// DefaultNearMaxBytes bounds the memory of a near cache (per read
	// server). A reply larger than a sixteenth of it is never kept.
	DefaultNearMaxBytes = 64 << 20
	// DefaultNearMaxStaleness bounds how long a copy is served after it
	// was fetched, whatever happens to invalidations.
	DefaultNearMaxStaleness = 30 * time.Second
	// DefaultNearDrainInterval is how often idle connections are swept
	// for invalidations.
	DefaultNearDrainInterval = 20 * time.Millisecond
	// nearMinBytes is the smallest MaxBytes accepted.
	nearMinBytes = 64 << 10
	// nearMaxExpiries bounds the table of known expiries; past it the
	// table and the copies it covers are dropped.
	nearMaxExpiries = 1 << 20
	// nearGetManyConcurrency bounds the GETs GetMany runs at once for
	// keys the near cache does not hold.
	nearGetManyConcurrency = 8
)

// NearOptions turns on the near cache: repeated reads served from process
// memory, kept honest by Redis's server-assisted client-side caching
// (RESP3 CLIENT TRACKING, through go-redis's ClientSideCacheConfig). See
// the package documentation, "Near cache".
type NearOptions struct {
	// MaxBytes bounds the memory each read server's near cache uses (an
	// estimate). 0 means DefaultNearMaxBytes; at least 64 KiB. A reply
	// larger than MaxBytes/16 is never kept.
	MaxBytes int64
	// MaxStaleness bounds how long a copy is served after it was fetched,
	// even when no invalidation arrives (a lost connection, a hung
	// server, an open breaker). 0 means DefaultNearMaxStaleness; it cannot
	// be unbounded.
	MaxStaleness time.Duration
	// DrainInterval is how often go-redis reads the invalidations waiting
	// on idle connections (a busy connection reads them with its next
	// reply): about the longest an invalidation waits to be applied. 0
	// means DefaultNearDrainInterval. Each sweep costs a little CPU, idle
	// or not.
	DrainInterval time.Duration
}

// check validates the options and fills in the defaults.
func (o *NearOptions) check(db int) error {
	if db != 0 {
		return fmt.Errorf("%w: redis: the near cache works on database 0 only (go-redis keeps no client-side cache for database %d); use db=0 or near_cache=0", cache.ErrInvalidOption, db)
	}
	switch {
	case o.MaxBytes == 0:
		o.MaxBytes = DefaultNearMaxBytes
	case o.MaxBytes < nearMinBytes:
		return fmt.Errorf("%w: redis: near cache size %d bytes is below the least, 64 KiB", cache.ErrInvalidOption, o.MaxBytes)
	}
	switch {
	case o.MaxStaleness == 0:
		o.MaxStaleness = DefaultNearMaxStaleness
	case o.MaxStaleness < 0:
		return fmt.Errorf("%w: redis: near cache staleness bound %v must be positive: a near cache cannot be unbounded", cache.ErrInvalidOption, o.MaxStaleness)
	}
	switch {
	case o.DrainInterval == 0:
		o.DrainInterval = DefaultNearDrainInterval
	case o.DrainInterval < time.Millisecond || o.DrainInterval > o.MaxStaleness:
		return fmt.Errorf("%w: redis: near cache drain interval %v must be from 1ms to the staleness bound %v", cache.ErrInvalidOption, o.DrainInterval, o.MaxStaleness)
	}
	return nil
}

// Near cache states.
const (
	nearPending int32 = iota // no connection made yet
	nearOn                   // the server tracks keys
	nearOff                  // the server does not: no near hits
)

// nearCache is the near cache of a Backend: go-redis's client-side cache
// on each read server's client, read directly on the hit path.
type nearCache struct {
	readers  []*nearReader
	opts     NearOptions
	logger   *slog.Logger
	state    atomic.Int32
	offWhy   atomic.Pointer[string]
	exp      expiries
	hits     atomic.Uint64
	misses   atomic.Uint64
	expiredN atomic.Uint64
}

// nearReader is one read server's client-side cache.
type nearReader struct {
	lc     *goredis.LocalCache
	prefix string // go-redis's namespace of this client's cache keys
	client *goredis.Client
}

// newNearCache configures the read servers' go-redis options for
// client-side caching. readers are the options of the servers reads go to.
func newNearCache(opts NearOptions, readers []*goredis.Options, logger *slog.Logger) *nearCache {
	if logger == nil {
		logger = slog.Default()
	}
	n := &nearCache{opts: opts, logger: logger}
	n.exp.init()
	for _, co := range readers {
		cfg := goredis.CacheConfig{
			MaxMemoryBytes: opts.MaxBytes,
			MaxStaleness:   opts.MaxStaleness,
			DrainInterval:  opts.DrainInterval,
		}
		r := &nearReader{
			lc: goredis.NewLocalCache(cfg),
			// go-redis's cscNamespacePrefix: database, then the
			// length-prefixed ACL user name.
			prefix: "0\x00" + strconv.Itoa(len(co.Username)) + ":" + co.Username + "\x00",
		}
		// The cache is ours (ClientSideCache, so that GetLocal reads it);
		// go-redis reads the drain interval from the config.
		co.ClientSideCacheConfig = &cfg
		co.Protocol = 3
		co.ClientSideCache = r.lc
		addr := co.Addr
		co.OnConnect = func(ctx context.Context, cn *goredis.Conn) error {
			n.learn(ctx, addr, cn)
			return nil
		}
		n.readers = append(n.readers, r)
	}
	return n
}

// learn asks a new connection whether the server tracks its keys, and
// records (and logs, once) what it says. A server that cannot (Redis
// before 6, RESP3 refused, CLIENT TRACKING refused by an ACL) turns the
// near cache off: go-redis has then stopped caching too.
func (n *nearCache) learn(ctx context.Context, addr string, cn *goredis.Conn) {
	if n.state.Load() == nearOff {
		return
	}
	on, why := trackingInfo(ctx, cn)
	if on {
		n.state.CompareAndSwap(nearPending, nearOn)
		return
	}
	if why != "" {
		n.turnOff(ctx, why, addr)
	}
}

// trackingInfo runs CLIENT TRACKINGINFO on a new connection: on reports
// tracking on; otherwise why says why the near cache cannot work, or is
// empty when this connection does not tell (a pipeline connection, a Redis
// 6.0 without the command, an ACL refusing it).
func trackingInfo(ctx context.Context, cn *goredis.Conn) (on bool, why string) {
	v, err := cn.Do(ctx, "CLIENT", "TRACKINGINFO").Result()
	if err != nil {
		if strings.Contains(err.Error(), "NOPROTO") || strings.Contains(err.Error(), "unknown command") {
			return false, "the server does not support client tracking (Redis 6 or later is needed)"
		}
		return false, ""
	}
	var flags []any
	switch m := v.(type) {
	case map[any]any:
		flags, _ = m["flags"].([]any)
	case []any:
		// A flat list of names and values: the connection fell back to
		// RESP2 (HELLO 3 refused), and go-redis turned its cache off.
		return false, "the connection speaks RESP2 (HELLO 3 was refused): client tracking needs RESP3 (Redis 6 or later)"
	}
	for _, f := range flags {
		if f == "on" {
			return true, ""
		}
	}
	// Off on a RESP3 connection: one of go-redis's pipeline connections,
	// which it never tracks (pipelines bypass the near cache), or a
	// refused CLIENT TRACKING ON, which go-redis reports through its log
	// (see nearCtxKey).
	return false, ""
}

// nearCtxKey marks the contexts of a near cache's commands, so that
// go-redis's log line saying it turned client-side caching off (a CLIENT
// TRACKING ON refused, say by an ACL) reaches the near cache whose
// connection it was.
type nearCtxKey struct{}

// goRedisDisabled is called with go-redis's log lines: its message that
// it turned client-side caching off turns the near cache of ctx off.
func goRedisDisabled(ctx context.Context, msg string) {
	const prefix = "csc: disabling client-side caching: "
	if ctx == nil || !strings.HasPrefix(msg, prefix) {
		return
	}
	if n, ok := ctx.Value(nearCtxKey{}).(*nearCache); ok {
		n.turnOff(ctx, "go-redis turned client-side caching off: "+strings.TrimPrefix(msg, prefix), "")
	}
}

// turnOff turns the near cache off for good, logging why once.
func (n *nearCache) turnOff(ctx context.Context, why, addr string) {
	n.offWhy.Store(&why)
	if n.state.Swap(nearOff) == nearOff {
		return
	}
	n.dropAll()
	attrs := []slog.Attr{}
	if addr != "" {
		attrs = append(attrs, slog.String("server", addr))
	}
	n.logger.LogAttrs(ctx, slog.LevelWarn, "redis: near cache off: "+why, attrs...)
}

// active reports whether near hits may be served.
func (n *nearCache) active() bool { return n != nil && n.state.Load() != nearOff }

// appendPeekKey appends go-redis's cache key of GET key on r: its
// namespace, then the command as RESP.
func (r *nearReader) appendPeekKey(buf []byte, key string) []byte {
	buf = append(buf, r.prefix...)
	buf = append(buf, "*2\r\n$3\r\nget\r\n$"...)
	buf = strconv.AppendInt(buf, int64(len(key)), 10)
	buf = append(buf, "\r\n"...)
	buf = append(buf, key...)
	return append(buf, "\r\n"...)
}

// peekBufs holds the buffers peek keys are built in.
var peekBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// getCopy returns r's copy of GET key, the reply's bytes as go-redis holds
// them (read-only).
func (r *nearReader) getCopy(ctx context.Context, key string) ([]byte, bool) {
	bp := peekBufs.Get().(*[]byte)
	buf := r.appendPeekKey((*bp)[:0], key)
	// The key string lives only during the call: getShared looks it up
	// and, for a copy past its staleness bound, deletes it from its maps,
	// never keeping it (go-redis v9.23.0's cacheShard.get and
	// removeEntryLocked).
	raw, ok := localCacheGetShared(r.lc, ctx, unsafe.String(&buf[0], len(buf)))
	*bp = buf
	peekBufs.Put(bp)
	return raw, ok
}

// Outcomes of a near lookup.
const (
	nearUnknown = iota // not held: ask the server
	nearValue          // held: the value
	nearAbsent         // held: the key does not exist
)

// localCacheGetShared is go-redis's (*LocalCache).getShared: Get without
// the copy, the bytes of the entry itself. go-redis replaces an entry's
// bytes and never modifies them, so they may be handed out read-only, as
// cache.Backend's Get does with what it returns. go-redis is pinned in
// go.mod; TestNearHitsAndInvalidation fails if this stops finding copies.
//
//go:linkname localCacheGetShared github.com/redis/go-redis/v9.(*LocalCache).getShared
func localCacheGetShared(c *goredis.LocalCache, ctx context.Context, cacheKey string) ([]byte, bool)

// lookup returns the copy of GET key held for any read server. A copy
// past the key's known expiry is dropped and unknown.
func (n *nearCache) lookup(ctx context.Context, key string) ([]byte, int) {
	for _, r := range n.readers {
		raw, ok := r.getCopy(ctx, key)
		if !ok {
			continue
		}
		v, outcome := parseReply(raw)
		if outcome == nearUnknown {
			continue
		}
		if outcome == nearValue && n.exp.expired(key) {
			// Redis deletes an expired key when it is read or found by
			// its expiry sweep, and only then tells the client: a copy
			// must not outlive the key's timeout meanwhile.
			n.expiredN.Add(1)
			n.drop(key)
			return nil, nearUnknown
		}
		return v, outcome
	}
	return nil, nearUnknown
}

// parseReply reads a cached RESP reply to GET: a bulk string, or a null.
func parseReply(raw []byte) ([]byte, int) {
	if len(raw) < 3 {
		return nil, nearUnknown
	}
	switch raw[0] {
	case '_':
		return nil, nearAbsent
	case '$':
		end := indexCRLF(raw)
		if end < 0 {
			return nil, nearUnknown
		}
		size, err := strconv.Atoi(string(raw[1:end]))
		if err != nil {
			return nil, nearUnknown
		}
		if size < 0 {
			return nil, nearAbsent
		}
		start := end + 2
		if len(raw) != start+size+2 {
			return nil, nearUnknown
		}
		return raw[start : start+size : start+size], nearValue
	}
	return nil, nearUnknown
}

func indexCRLF(b []byte) int {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == '\r' && b[i+1] == '\n' {
			return i
		}
	}
	return -1
}

// learnExpiry records when a value just fetched into the near cache
// expires (PTTL), so that its copy is not served past it.
func (n *nearCache) learnExpiry(ctx context.Context, c goredis.Cmdable, key string) {
	ms, err := c.PTTL(ctx, key).Result()
	switch {
	case err != nil:
		// Unknown expiry: the copy must not be trusted beyond the
		// server's next word on it.
		n.drop(key)
	case ms < 0:
		n.exp.forget(key) // no expiry (or gone: an invalidation follows)
	default:
		if !n.exp.set(key, nanotime()+int64(ms)) {
			n.dropAll() // table full: start again
		}
	}
}

// drop removes the copies of keys (this process wrote them: their
// invalidations are on the way, but a read right after the write must not
// wait for them).
func (n *nearCache) drop(keys ...string) {
	if n == nil {
		return
	}
	for _, r := range n.readers {
		for _, k := range keys {
			r.lc.DeleteByRedisKey(r.prefix + k)
		}
	}
	for _, k := range keys {
		n.exp.forget(k)
	}
}

// dropAll empties the near cache.
func (n *nearCache) dropAll() {
	if n == nil {
		return
	}
	for _, r := range n.readers {
		r.lc.Flush()
	}
	n.exp.clear()
}

// stats reports the near cache.
func (n *nearCache) stats() cache.NearStats {
	st := cache.NearStats{
		Mode:         "tracking",
		Hits:         n.hits.Load(),
		Misses:       n.misses.Load(),
		MaxBytes:     n.opts.MaxBytes * int64(len(n.readers)),
		MaxStaleness: n.opts.MaxStaleness,
	}
	switch n.state.Load() {
	case nearPending:
		st.State = "pending"
	case nearOn:
		st.State = "on"
	default:
		why := "unknown"
		if p := n.offWhy.Load(); p != nil {
			why = *p
		}
		st.State = "off: " + why
	}
	for _, r := range n.readers {
		cs := r.client.CSCStats()
		st.Entries += cs.Entries
		st.Bytes += cs.MemoryUsageBytes
		st.Invalidations += r.client.CSCRefreshStats().Invalidations
	}
	return st
}

// expiries is a sharded table of the expiry times of keys held in the
// near cache.
type expiries struct {
	shards [32]expShard
	n      atomic.Int64
	seed   maphash.Seed
}

type expShard struct {
	mu sync.RWMutex
	m  map[string]int64 // nanotime
}

func (e *expiries) init() {
	e.seed = maphash.MakeSeed()
	for i := range e.shards {
		e.shards[i].m = make(map[string]int64)
	}
}

func (e *expiries) shard(key string) *expShard {
	return &e.shards[maphash.String(e.seed, key)%uint64(len(e.shards))]
}

// expired reports whether key's known expiry has passed.
func (e *expiries) expired(key string) bool {
	if e.n.Load() == 0 {
		return false
	}
	s := e.shard(key)
	s.mu.RLock()
	at, ok := s.m[key]
	s.mu.RUnlock()
	return ok && nanotime() >= at
}

// nanotime is the runtime's monotonic clock: half the cost of time.Now,
// which reads the wall clock too, on the near hit path.
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// set records key's expiry; false when the table is full.
func (e *expiries) set(key string, at int64) bool {
	s := e.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[key]; !ok {
		if e.n.Load() >= nearMaxExpiries {
			return false
		}
		e.n.Add(1)
	}
	s.m[key] = at
	return true
}

func (e *expiries) forget(key string) {
	if e.n.Load() == 0 {
		return
	}
	s := e.shard(key)
	s.mu.Lock()
	if _, ok := s.m[key]; ok {
		delete(s.m, key)
		e.n.Add(-1)
	}
	s.mu.Unlock()
}

func (e *expiries) clear() {
	for i := range e.shards {
		s := &e.shards[i]
		s.mu.Lock()
		e.n.Add(-int64(len(s.m)))
		clear(s.m)
		s.mu.Unlock()
	}
}

// GetLocal implements cache.LocalGetter: the near cache's copy of key,
// decoded as Get decodes it, without I/O. It is false without a near
// cache.
func (b *Backend) GetLocal(ctx context.Context, key string) ([]byte, bool) {
	if !b.near.active() {
		return nil, false
	}
	v, outcome := b.near.lookup(ctx, key)
	if outcome != nearValue {
		return nil, false // a miss is counted by the Get that follows
	}
	b.near.hits.Add(1)
	d, err := b.decode(key, v)
	if err != nil {
		return nil, false
	}
	return d, true
}

// NearStats implements cache.NearReporter: the zero NearStats without a
// near cache.
func (b *Backend) NearStats() cache.NearStats {
	if b.near == nil {
		return cache.NearStats{}
	}
	return b.near.stats()
}

// readNear is GET through the near cache: a held copy, else GET on a read
// server (which go-redis keeps) and the key's expiry.
func (b *Backend) readNear(ctx context.Context, key string) ([]byte, bool, error) {
	if v, outcome := b.nearLookup(ctx, key); outcome != nearUnknown {
		return v, outcome == nearValue, nil
	}
	return b.readServer(ctx, key)
}

// nearLookup is lookup, counted.
func (b *Backend) nearLookup(ctx context.Context, key string) ([]byte, int) {
	n := b.near
	if !n.active() {
		return nil, nearUnknown
	}
	v, outcome := n.lookup(ctx, key)
	if outcome == nearUnknown {
		n.misses.Add(1)
	} else {
		n.hits.Add(1)
	}
	return v, outcome
}

// getManyNear is GetMany through the near cache: held copies, then one GET
// per other key (run concurrently), so that each key is kept on its own;
// an MGET reply would be kept only for its exact list of keys.
func (b *Backend) getManyNear(ctx context.Context, keys []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(keys))
	var rest []string
	for _, k := range keys {
		switch v, outcome := b.nearLookup(ctx, k); outcome {
		case nearValue:
			d, err := b.decode(k, v)
			if err != nil {
				return nil, err
			}
			out[k] = d
		case nearUnknown:
			rest = append(rest, k)
		}
	}
	if len(rest) == 0 {
		return out, nil
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(nearGetManyConcurrency)
	for _, k := range rest {
		g.Go(func() error {
			v, ok, err := b.readServer(gctx, k)
			if err != nil || !ok {
				return err
			}
			d, err := b.decode(k, v)
			if err != nil {
				return err
			}
			mu.Lock()
			out[k] = d
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// readServer is readNear without the near lookup (done by the caller).
func (b *Backend) readServer(ctx context.Context, key string) ([]byte, bool, error) {
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	c, i := b.reader()
	s, err := c.Get(ctx, key).Result()
	if err != nil {
		if err == goredis.Nil {
			return nil, false, nil
		}
		return nil, false, b.fail(ctx, "GET", i, err)
	}
	v := readOnlyBytes(s)
	if b.near.active() {
		b.near.learnExpiry(ctx, c, key)
	}
	return v, true, nil
}
