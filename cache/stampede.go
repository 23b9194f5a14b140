package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// This file is stampede protection: what happens when a value that many
// processes read is missing, or about to be.
//
// Without it, a value is computed once per process (single flight): when a
// hot entry expires, every process sharing the backend recomputes it at
// the same moment. Stampede chooses, per cache (URL options), per fragment
// name (tags.Options) and per call (GetOrSetWith), among four tools:
//
//   - jitter (WithJitter, jitter=): spread the expiries of entries written
//     together, so that they do not expire together. Costs nothing; use it
//     whenever many entries are written at once (a deploy, a warm-up).
//   - a lease (Stampede.Lease, lease=1): on a miss, one process among all
//     takes the backend's lease (memcached add, Redis SET NX PX, a file
//     created exclusively, a map in process for memory) and computes; the
//     others wait for its value, up to a bound, and take it as soon as it
//     lands. One extra round trip per miss; use it for values that are
//     expensive to compute and read by many processes at once.
//   - grace (Stampede.Grace, grace=): an entry is kept for its timeout plus
//     the grace, and past its timeout it is served, stale, to everyone while
//     the lease holder recomputes it (Varnish grace, HTTP
//     stale-while-revalidate). Nobody waits, even at expiry; readers may see
//     a value up to the grace older than its timeout. The freshness lives in
//     a side key read in the same round trip as the value.
//   - early expiry (Stampede.XFetch, xfetch=1): XFetch (Vattani,
//     Chierichetti, Lowenstein, VLDB 2015) recomputes a value shortly before
//     it expires, with a probability growing as expiry nears and with the
//     time the value took to compute, so that it is seldom missing at all.
//     It reads the same side key as grace.
//
// Values keep Django's format: a Django process sharing the cache reads
// and deletes them as its own. With grace on, a value lives for its timeout
// plus the grace, so Django processes serve it during the grace too. A
// value without a freshness key (one Django wrote), or whose freshness key
// describes another value, is fresh until it expires.

// Stampede configures the stampede protection of what a cache computes
// (GetOrSetWith, the {% cache %} tag, the page cache). Its zero value is
// the protection of a cache without options: single flight within the
// process only.
type Stampede struct {
	// Lease makes one process among all those sharing the backend compute
	// a missing value, while the others wait for it (URL lease=1).
	Lease bool
	// LeaseTTL is how long a lease is held at most: a holder that dies
	// holds it until then (URL lease_ttl=; 0 means DefaultLeaseTTL).
	LeaseTTL time.Duration
	// Wait bounds how long a reader waits for another holder's value:
	// past it, it computes the value for its own use and stores it only if
	// it can then take the lease. 0 means the lease TTL, which also
	// bounds it (the holder's lease lapses by then). The {% cache %}
	// tag and the page cache use their coalescing wait here.
	Wait time.Duration
	// Grace keeps entries for their timeout plus Grace, serving them stale
	// past their timeout while one holder recomputes them (URL grace=).
	Grace time.Duration
	// XFetch turns early probabilistic expiry on (URL xfetch=1), with
	// XFetchBeta its β (URL xfetch_beta=; 0 means 1.0): above 1 favours
	// earlier refreshes.
	XFetch     bool
	XFetchBeta float64
}

// DefaultLeaseTTL is the lease TTL of a Stampede without one.
const DefaultLeaseTTL = 10 * time.Second

// FreshKind is the kind of the side key (SideKey) holding a value's
// freshness; FreshKey(madeKey) is its key.
const FreshKind = "fresh"

// FreshKey returns the key of the freshness of the value under madeKey:
// SideKey(madeKey, FreshKind).
func FreshKey(madeKey string) string { return SideKey(madeKey, FreshKind) }

// IsSideKey reports whether key is a side key made by SideKey for a lease,
// a freshness or an index of fragment variants (VariantsKind). Backends
// that hash keys they cannot take (memcached) hash side keys always: no
// Django process reads them.
func IsSideKey(key string) bool {
	return strings.HasSuffix(key, ":"+FreshKind) || strings.HasSuffix(key, ":lease") ||
		strings.HasSuffix(key, ":"+VariantsKind)
}

// On reports whether s protects across processes in any way (a lease,
// grace or early expiry).
func (s Stampede) On() bool { return s.Lease || s.Grace > 0 || s.XFetch }

// Sides reports whether reads under s need the freshness side key: with
// grace or early expiry.
func (s Stampede) Sides() bool { return s.Grace > 0 || s.XFetch }

func (s Stampede) leaseTTL() time.Duration {
	if s.LeaseTTL > 0 {
		return s.LeaseTTL
	}
	return DefaultLeaseTTL
}

func (s Stampede) waitBound() time.Duration {
	if s.Wait > 0 && s.Wait < s.leaseTTL() {
		return s.Wait
	}
	return s.leaseTTL()
}

func (s Stampede) beta() float64 {
	if s.XFetchBeta > 0 {
		return s.XFetchBeta
	}
	return 1
}

// Check reports the first invalid field, with an error wrapping
// ErrInvalidOption: a negative duration, or a β that is not a positive
// finite number.
func (s Stampede) Check() error {
	switch {
	case s.LeaseTTL < 0:
		return fmt.Errorf("%w: Stampede.LeaseTTL %v: want 0 (the default, %v) or more", ErrInvalidOption, s.LeaseTTL, DefaultLeaseTTL)
	case s.Wait < 0:
		return fmt.Errorf("%w: Stampede.Wait %v: want 0 (the lease TTL) or more", ErrInvalidOption, s.Wait)
	case s.Grace < 0:
		return fmt.Errorf("%w: Stampede.Grace %v: want 0 (off) or more", ErrInvalidOption, s.Grace)
	case s.XFetchBeta < 0 || math.IsNaN(s.XFetchBeta) || math.IsInf(s.XFetchBeta, 0):
		return fmt.Errorf("%w: Stampede.XFetchBeta %v: want a positive number (0: 1.0)", ErrInvalidOption, s.XFetchBeta)
	}
	return nil
}

// String returns the URL options that give s, such as
// "lease=1&lease_ttl=10s&grace=30s"; "" for the zero Stampede.
func (s Stampede) String() string {
	var parts []string
	if s.Lease {
		parts = append(parts, "lease=1")
	}
	if s.LeaseTTL > 0 {
		parts = append(parts, "lease_ttl="+s.LeaseTTL.String())
	}
	if s.Grace > 0 {
		parts = append(parts, "grace="+s.Grace.String())
	}
	if s.XFetch {
		parts = append(parts, "xfetch=1")
	}
	if s.XFetchBeta > 0 {
		parts = append(parts, "xfetch_beta="+strconv.FormatFloat(s.XFetchBeta, 'g', -1, 64))
	}
	return strings.Join(parts, "&")
}

// WithStampede sets the stampede protection of the cache's own GetOrSet,
// and the default of the {% cache %} tags and page caches using it (each
// may set its own). URLs take it as lease=, lease_ttl=, grace=, xfetch= and
// xfetch_beta=. An invalid field makes New fail; Wait is not a cache-wide
// setting (each user of the cache has its own) and is ignored here.
func WithStampede(s Stampede) Option {
	return func(c *config) { c.stampede = s }
}

// Stampede returns the cache's stampede protection (WithStampede).
func (c *Cache) Stampede() Stampede { return c.policy }

// StampedeStats counts what stampede protection did for a cache.
type StampedeStats struct {
	// LeasesWon counts the leases this process took to compute a value;
	// LeasesLost those it found held by another; LeasesExpired the leases
	// that lapsed before their holder released them (it computed for
	// longer than the lease TTL, and another may have computed too).
	LeasesWon, LeasesLost, LeasesExpired uint64
	// Waits counts reads that waited for another holder's value and got
	// it, and WaitTime their total time; WaitTimeouts those that stopped
	// waiting at the bound and computed for their own use.
	Waits, WaitTimeouts uint64
	WaitTime            time.Duration
	// StaleServed counts values served past their freshness, within their
	// grace, while another read recomputed them.
	StaleServed uint64
	// EarlyRefreshes counts values recomputed before they expired by early
	// expiry (XFetch); Refreshes counts every recomputation of a value
	// still present (grace and early), BackgroundRefreshes those that ran
	// in the background (GetOrSetWith).
	EarlyRefreshes, Refreshes, BackgroundRefreshes uint64
}

// stampedeCounters are the counters behind StampedeStats.
type stampedeCounters struct {
	won, lost, expired, waits, waitTimeouts, waitNanos atomic.Uint64
	stale, early, refreshes, background                atomic.Uint64
}

func (s *stampedeCounters) stats() StampedeStats {
	return StampedeStats{
		LeasesWon: s.won.Load(), LeasesLost: s.lost.Load(), LeasesExpired: s.expired.Load(),
		Waits: s.waits.Load(), WaitTimeouts: s.waitTimeouts.Load(), WaitTime: time.Duration(s.waitNanos.Load()),
		StaleServed: s.stale.Load(), EarlyRefreshes: s.early.Load(), Refreshes: s.refreshes.Load(),
		BackgroundRefreshes: s.background.Load(),
	}
}

// Freshness is what a freshness side key says of a value: until when it
// is fresh, and how long it took to compute (XFetch's δ).
type Freshness struct {
	Until time.Time
	Took  time.Duration
	sum   uint32 // CRC-32C of the value it describes
}

// freshTag opens every encoded Freshness.
const freshTag = "fc1:"

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// EncodeFreshness returns the side-key value describing value: fresh until
// until, computed in took. It is ASCII:
// "fc1:<until, Unix ms>:<took, µs>:<CRC-32C of value, hex>".
func EncodeFreshness(value []byte, until time.Time, took time.Duration) []byte {
	b := make([]byte, 0, 48)
	b = append(b, freshTag...)
	b = strconv.AppendInt(b, until.UnixMilli(), 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, took.Microseconds(), 10)
	b = append(b, ':')
	return strconv.AppendUint(b, uint64(crc32.Checksum(value, crcTable)), 16)
}

// DecodeFreshness reads a side-key value for value, and reports whether it
// is well formed and describes value (same checksum): a freshness key left
// by an older value, after a Django process rewrote the value, describes
// another value and is ignored.
func DecodeFreshness(meta, value []byte) (Freshness, bool) {
	s, ok := strings.CutPrefix(string(meta), freshTag)
	if !ok {
		return Freshness{}, false
	}
	f := strings.SplitN(s, ":", 3)
	if len(f) != 3 {
		return Freshness{}, false
	}
	until, err1 := strconv.ParseInt(f[0], 10, 64)
	took, err2 := strconv.ParseInt(f[1], 10, 64)
	sum, err3 := strconv.ParseUint(f[2], 16, 32)
	if err1 != nil || err2 != nil || err3 != nil || took < 0 {
		return Freshness{}, false
	}
	if uint32(sum) != crc32.Checksum(value, crcTable) {
		return Freshness{}, false
	}
	return Freshness{Until: time.UnixMilli(until), Took: time.Duration(took) * time.Microsecond, sum: uint32(sum)}, true
}

// FreshnessKeeper is implemented by backends that keep a value's
// freshness (EncodeFreshness) in the value's own entry rather than in a
// side key (the memory backend). SetFreshness stores value with its
// freshness; a later plain Set drops the freshness. GetFreshness returns
// both (fresh nil when the entry has none).
type FreshnessKeeper interface {
	GetFreshness(ctx context.Context, key string) (value, fresh []byte, ok bool, err error)
	SetFreshness(ctx context.Context, key string, value, fresh []byte, timeout Timeout) error
}

// Lookup is what a read under a Stampede found.
type Lookup struct {
	// Value is the value found (read-only), and Hit whether one was.
	Value []byte
	Hit   bool
	// Stale says the value is past its freshness (within its grace).
	Stale bool
	// Early says the value is fresh but early expiry chose this read to
	// recompute it.
	Early bool

	meta []byte // the freshness side-key value read with Value, if any
}

// Refresh reports whether the value found should be recomputed: it is
// stale, or early expiry chose this read.
func (l Lookup) Refresh() bool { return l.Hit && (l.Stale || l.Early) }

// Judge returns the Lookup of a value found with its freshness side-key
// value meta (nil when there is none) under s at now: stale past the
// freshness, early when XFetch draws it, fresh otherwise (and always
// without a freshness describing the value).
func Judge(value, meta []byte, s Stampede, now time.Time) Lookup {
	l := Lookup{Value: value, Hit: true, meta: meta}
	if meta == nil {
		return l
	}
	f, ok := DecodeFreshness(meta, value)
	if !ok {
		return l
	}
	if !now.Before(f.Until) {
		l.Stale = true
		return l
	}
	if s.XFetch && f.Took > 0 {
		// XFetch: refresh when now − δ·β·ln(rand) ≥ expiry.
		gap := -float64(f.Took) * s.beta() * math.Log(1-rand.Float64())
		if gap >= float64(f.Until.Sub(now)) {
			l.Early = true
		}
	}
	return l
}

// GetEntry reads key under s: with grace or early expiry (s.Sides), the
// value and its freshness side key in one round trip (one multi-get);
// otherwise the value alone, as Get. It is counted as Get is.
func (c *Cache) GetEntry(ctx context.Context, key string, s Stampede) (Lookup, error) {
	if !s.Sides() {
		v, ok, err := c.Get(ctx, key)
		return Lookup{Value: v, Hit: ok}, err
	}
	if c.observer == nil {
		return c.getEntry(ctx, key, s)
	}
	start := time.Now()
	l, err := c.getEntry(ctx, key, s)
	c.observer(c.name, "get", time.Since(start), err)
	return l, err
}

func (c *Cache) getEntry(ctx context.Context, key string, s Stampede) (Lookup, error) {
	mk, err := c.key(ctx, key)
	if err != nil {
		return Lookup{}, err
	}
	v, meta, ok, err := c.readWithFreshness(ctx, mk)
	if _, ok, err = c.counted(v, ok, err); !ok {
		return Lookup{}, err
	}
	return Judge(v, meta, s, time.Now()), nil
}

// GetEntryKeyBytes is GetEntry with the key given as bytes: without side
// keys, GetKeyBytes (no allocation on a memory hit).
func (c *Cache) GetEntryKeyBytes(ctx context.Context, key []byte, s Stampede) (Lookup, error) {
	if !s.Sides() {
		v, ok, err := c.GetKeyBytes(ctx, key)
		return Lookup{Value: v, Hit: ok}, err
	}
	return c.GetEntry(ctx, string(key), s)
}

// GetManyWithFreshness is GetMany reading too, in the same round trip
// (one multi-get; on the memory backend, from the entries), the freshness
// side keys (FreshKey) of the keys listed in judged, each of which must be
// in keys: vals holds the values found, and metas the freshness side-key
// values found for judged keys, both keyed by the caller's keys. Judge
// tells a value's Lookup from its meta (absent: fresh). Only the values
// are counted as hits and misses, as GetMany counts them. It is for
// callers that read several keys at once and judge some of them under a
// Stampede with grace or early expiry (the page cache's single-read hit:
// the header list, and the page with its freshness).
func (c *Cache) GetManyWithFreshness(ctx context.Context, keys, judged []string) (vals, metas map[string][]byte, err error) {
	if len(judged) == 0 {
		vals, err = c.GetMany(ctx, keys)
		return vals, nil, err
	}
	if err := c.usable(ctx); err != nil {
		return nil, nil, err
	}
	start := time.Now()
	vals, metas, err = c.getManyWithFreshness(ctx, keys, judged)
	if c.observer != nil {
		c.observer(c.name, "get_many", time.Since(start), err)
	}
	return vals, metas, err
}

func (c *Cache) getManyWithFreshness(ctx context.Context, keys, judged []string) (vals, metas map[string][]byte, err error) {
	vals = make(map[string][]byte, len(keys))
	metas = make(map[string][]byte, len(judged))
	made := make(map[string]string, len(keys)+len(judged)) // made key → caller's key
	fresh := make(map[string]string, len(judged))          // freshness side key → caller's key
	mks := make([]string, 0, len(keys)+len(judged))
	for _, k := range keys {
		mk, err := c.key(ctx, k)
		if err != nil {
			return nil, nil, err
		}
		if _, dup := made[mk]; !dup {
			mks = append(mks, mk)
		}
		made[mk] = k
	}
	for _, k := range judged {
		mk, err := c.key(ctx, k)
		if err != nil {
			return nil, nil, err
		}
		if _, in := made[mk]; !in {
			return nil, nil, fmt.Errorf("%w: GetManyWithFreshness: judged key %q is not among the keys", ErrInvalidOption, k)
		}
		fresh[FreshKey(mk)] = k
	}
	values := len(mks)
	if fk, isFK := c.backend.(FreshnessKeeper); isFK {
		// The freshness is in the entries: read each key with it.
		for _, mk := range mks {
			v, meta, ok, err := fk.GetFreshness(ctx, mk)
			if err != nil {
				return nil, nil, c.fail(err)
			}
			if ok {
				vals[made[mk]] = v
				if meta != nil {
					if _, j := fresh[FreshKey(mk)]; j {
						metas[made[mk]] = meta
					}
				}
			}
		}
	} else {
		for fk := range fresh {
			mks = append(mks, fk)
		}
		var found map[string][]byte
		if mg, ok := c.backend.(ManyGetter); ok {
			if found, err = mg.GetMany(ctx, mks); err != nil {
				return nil, nil, c.fail(err)
			}
		} else {
			found = make(map[string][]byte, len(mks))
			for _, mk := range mks {
				v, ok, err := c.backend.Get(ctx, mk)
				if err != nil {
					return nil, nil, c.fail(err)
				}
				if ok {
					found[mk] = v
				}
			}
		}
		for mk, v := range found {
			if k, ok := made[mk]; ok {
				vals[k] = v
			} else if k, ok := fresh[mk]; ok {
				metas[k] = v
			}
		}
	}
	c.stats.hits.Add(uint64(len(vals)))
	c.stats.misses.Add(uint64(values - len(vals)))
	return vals, metas, nil
}

// readWithFreshness reads the value under the made key mk and its
// freshness, in one round trip where the backend can.
func (c *Cache) readWithFreshness(ctx context.Context, mk string) (v, meta []byte, ok bool, err error) {
	if fk, isFK := c.backend.(FreshnessKeeper); isFK {
		return fk.GetFreshness(ctx, mk)
	}
	fk := FreshKey(mk)
	if mg, isMG := c.backend.(ManyGetter); isMG {
		found, err := mg.GetMany(ctx, []string{mk, fk})
		if err != nil {
			return nil, nil, false, err
		}
		v, ok = found[mk]
		return v, found[fk], ok, nil
	}
	if v, ok, err = c.backend.Get(ctx, mk); err != nil || !ok {
		return nil, nil, false, err
	}
	meta, _, _ = c.backend.Get(ctx, fk) // no freshness: fresh
	return v, meta, true, nil
}

// SetEntry stores value under key for timeout as a computed value under s:
// with grace or early expiry, for the (jittered) timeout plus the grace,
// with its freshness (the jittered timeout from now, and took, the time it
// took to compute) in the side key, in one multi-set; otherwise as Set.
func (c *Cache) SetEntry(ctx context.Context, key string, value []byte, timeout Timeout, s Stampede, took time.Duration) error {
	if !s.Sides() {
		return c.Set(ctx, key, value, timeout)
	}
	if c.observer == nil {
		return c.setEntry(ctx, key, value, timeout, s, took)
	}
	start := time.Now()
	err := c.setEntry(ctx, key, value, timeout, s, took)
	c.observer(c.name, "set", time.Since(start), err)
	return err
}

// never is the freshness of a value stored Forever: it never goes stale.
var never = time.UnixMilli(math.MaxInt64)

func (c *Cache) setEntry(ctx context.Context, key string, value []byte, timeout Timeout, s Stampede, took time.Duration) error {
	t := c.writeTimeout(timeout)
	if t <= 0 {
		// Expired stores nothing.
		return c.setExact(ctx, key, value, t)
	}
	mk, err := c.key(ctx, key)
	if err != nil {
		return err
	}
	if err := c.checkSize(key, value); err != nil {
		return c.fail(err)
	}
	// Forever is fresh forever, and its freshness says so: a freshness
	// left by an earlier write of the same value must not make it stale.
	life, until := t, never
	if t != Forever {
		until = time.Now().Add(t.Duration())
		if g := Duration(s.Grace); s.Grace > 0 && life < Forever-g {
			life += g
		}
	}
	meta := EncodeFreshness(value, until, took)
	entries := []Entry{{Key: mk, Value: value}, {Key: FreshKey(mk), Value: meta}}
	var sw Swallowed
	if c.swallows {
		ctx = WithSwallowed(ctx, &sw)
	}
	if fk, ok := c.backend.(FreshnessKeeper); ok {
		if err := fk.SetFreshness(ctx, mk, value, meta, life); err != nil {
			return c.fail(err)
		}
	} else if ms, ok := c.backend.(ManySetter); ok {
		failed, err := ms.SetMany(ctx, entries, life)
		if err != nil {
			return c.fail(err)
		}
		if len(failed) > 0 && sw.Count() == 0 {
			// A fail-open wrapper that could not reach the backend
			// reports every key failed and swallows it: counted below,
			// not an error, as Set.
			return c.fail(fmt.Errorf("cache: storing %q with its freshness: %d of 2 keys not stored", key, len(failed)))
		}
	} else {
		for _, e := range entries {
			if err := c.backend.Set(ctx, e.Key, e.Value, life); err != nil {
				return c.fail(err)
			}
		}
	}
	if sw.Count() > 0 {
		c.stats.errors.Add(1)
		return nil
	}
	c.stats.sets.Add(1)
	c.indexVariant(ctx, key, life)
	return nil
}

// setExact is Set with a timeout already resolved and jittered (Set
// itself, after writeTimeout).
func (c *Cache) setExact(ctx context.Context, key string, value []byte, t Timeout) error {
	mk, err := c.key(ctx, key)
	if err != nil {
		return err
	}
	if err := c.checkSize(key, value); err != nil {
		return c.fail(err)
	}
	var sw Swallowed
	if c.swallows {
		ctx = WithSwallowed(ctx, &sw)
	}
	if err := c.backend.Set(ctx, mk, value, t); err != nil {
		return c.fail(err)
	}
	if sw.Count() > 0 {
		c.stats.errors.Add(1) // a fail-open wrapper stored nothing
		return nil
	}
	c.stats.sets.Add(1)
	c.indexVariant(ctx, key, t)
	return nil
}

// Computed is what a compute function of Fill returns: the value, and
// whether it may be stored (a fragment too large to keep is used, not
// stored).
type Computed struct {
	Value []byte
	Store bool
}

// Compute computes a value for Fill.
type Compute func(ctx context.Context) (Computed, error)

// Source says where the value Fill returns came from.
type Source uint8

const (
	// FromCompute: this caller computed the value, and stored it when it
	// could.
	FromCompute Source = iota
	// FromWait: another holder's value, which landed while this caller
	// waited.
	FromWait
	// FromStale: the stale (or early) value looked up, served while
	// another holder recomputes it.
	FromStale
	// FromAlone: computed after the wait ended, for this caller only (not
	// stored: another holder has the lease).
	FromAlone
)

// String returns "computed", "waited", "stale" or "alone".
func (s Source) String() string {
	switch s {
	case FromCompute:
		return "computed"
	case FromWait:
		return "waited"
	case FromStale:
		return "stale"
	case FromAlone:
		return "alone"
	}
	return "Source(" + strconv.Itoa(int(s)) + ")"
}

// Fill provides the value of key after l, a GetEntry under s that missed
// or found a value to refresh (l.Refresh), and says where it came from:
//
//   - A refresh: unless this process is already refreshing key, the caller
//     takes the lease (whatever s.Lease says: grace and early expiry are
//     made of it) and recomputes and stores the value; when another holder
//     has the lease, or the backend gives none, it gets l.Value back
//     (FromStale).
//   - A miss with s.Lease: the caller that takes the lease computes and
//     stores; the others wait for its value with a bounded back-off
//     (s.Wait, else the lease TTL) and take it as soon as it lands
//     (FromWait), or take the lease if it lapses (a holder that died); a
//     caller whose wait ends computes for itself (FromAlone) and stores
//     only if it then takes the lease. A backend that fails, or a fail-open
//     wrapper that cannot reach it, gives no lease: the caller computes and
//     stores as without one.
//   - A miss without s.Lease: compute and store.
//
// Fill is the cross-process part: callers coalesce their own concurrent
// misses first (single flight), and call it from the flight's leader.
// Stores go through SetEntry. A compute error is returned as it is, and
// the lease released.
func (c *Cache) Fill(ctx context.Context, key string, l Lookup, s Stampede, timeout Timeout, compute Compute) ([]byte, Source, error) {
	if l.Refresh() {
		return c.refresh(ctx, key, l, s, timeout, compute)
	}
	if !s.Lease || c.leaser == nil {
		v, err := c.computeStore(ctx, key, s, timeout, compute)
		return v, FromCompute, err
	}
	lease, got, down := c.countedLease(ctx, key, s)
	switch {
	case down:
		v, err := c.computeStore(ctx, key, s, timeout, compute)
		return v, FromCompute, err
	case got:
		return c.holdAndCompute(ctx, key, lease, s, timeout, compute, true)
	}
	return c.wait(ctx, key, s, timeout, compute)
}

// refresh recomputes a stale or early value as the lease holder, or
// returns it when another holder (or another read of this process) does.
func (c *Cache) refresh(ctx context.Context, key string, l Lookup, s Stampede, timeout Timeout, compute Compute) ([]byte, Source, error) {
	mk := c.MakeKey(key)
	if _, busy := c.refreshing.LoadOrStore(mk, struct{}{}); busy {
		c.servedStale(l)
		return l.Value, FromStale, nil
	}
	defer c.refreshing.Delete(mk)
	v, src, err := c.refreshHeld(ctx, key, l, s, timeout, compute, false)
	if src == FromStale {
		c.servedStale(l)
	}
	return v, src, err
}

// refreshHeld is refresh once this process's refresh of key is marked:
// it takes the lease and recomputes, or returns l.Value (FromStale).
// background says it runs in the background (counted so once it
// recomputes).
func (c *Cache) refreshHeld(ctx context.Context, key string, l Lookup, s Stampede, timeout Timeout, compute Compute, background bool) ([]byte, Source, error) {
	var lease *Lease
	if c.leaser != nil {
		var got bool
		if lease, got, _ = c.countedLease(ctx, key, s); !got {
			return l.Value, FromStale, nil
		}
		// Another process may have refreshed the value between this
		// caller's read and its lease (taken once that holder released
		// it): take its value rather than compute it again.
		if v, ok := c.refreshedMeanwhile(ctx, key, l, s); ok {
			c.release(lease)
			return v, FromWait, nil
		}
	}
	c.stampede.refreshes.Add(1)
	if l.Early {
		c.stampede.early.Add(1)
	}
	if background {
		c.stampede.background.Add(1)
	}
	return c.holdAndCompute(ctx, key, lease, s, timeout, compute, false)
}

// refreshedMeanwhile reads key again and returns its value when its
// freshness changed since l was read and it is now fresh.
func (c *Cache) refreshedMeanwhile(ctx context.Context, key string, l Lookup, s Stampede) ([]byte, bool) {
	if !s.Sides() {
		return nil, false
	}
	mk, err := c.key(ctx, key)
	if err != nil {
		return nil, false
	}
	v, meta, ok, err := c.readWithFreshness(ctx, mk)
	if err != nil || !ok || meta == nil || bytes.Equal(meta, l.meta) {
		return nil, false
	}
	if f, ok := DecodeFreshness(meta, v); !ok || !time.Now().Before(f.Until) {
		return nil, false
	}
	return v, true
}

func (c *Cache) servedStale(l Lookup) {
	if l.Stale {
		c.stampede.stale.Add(1)
	}
}

// countedLease is tryLease counting a lease found held (LeasesLost): once
// per Fill, not on each retry of a wait.
func (c *Cache) countedLease(ctx context.Context, key string, s Stampede) (lease *Lease, got, down bool) {
	lease, got, down = c.tryLease(ctx, key, s)
	if !got && !down {
		c.stampede.lost.Add(1)
	}
	return lease, got, down
}

// tryLease takes the lease on key: got when this caller has it, down when
// the backend gave no answer (an error, or a fail-open wrapper that could
// not reach it), counted as Stats errors. A lease won is counted
// (LeasesWon); one found held is not (see countedLease).
func (c *Cache) tryLease(ctx context.Context, key string, s Stampede) (lease *Lease, got, down bool) {
	mk, err := c.key(ctx, key)
	if err != nil {
		return nil, false, true
	}
	var sw Swallowed
	lctx := ctx
	if c.swallows {
		lctx = WithSwallowed(ctx, &sw)
	}
	token := NewLeaseToken()
	lk := LeaseKey(mk)
	start := time.Now()
	got, err = c.leaser.AcquireLease(lctx, lk, token, s.leaseTTL())
	if err != nil || sw.Count() > 0 {
		if !errors.Is(err, context.Canceled) {
			c.stats.errors.Add(1)
		}
		return nil, false, true
	}
	if !got {
		return nil, false, false
	}
	c.stampede.won.Add(1)
	return &Lease{c: c, key: lk, token: token, expires: start.Add(s.leaseTTL())}, true, false
}

// holdAndCompute computes and stores the value as the holder of lease (nil
// without leases), then releases it. recheck reads the value first: it
// may have landed between the caller's miss and its lease.
func (c *Cache) holdAndCompute(ctx context.Context, key string, lease *Lease, s Stampede, timeout Timeout, compute Compute, recheck bool) ([]byte, Source, error) {
	if lease != nil {
		defer c.release(lease)
	}
	if recheck {
		if mk, err := c.key(ctx, key); err == nil {
			if v, ok, err := c.backend.Get(ctx, mk); err == nil && ok {
				return v, FromWait, nil
			}
		}
	}
	v, err := c.computeStore(ctx, key, s, timeout, compute)
	return v, FromCompute, err
}

// release gives a lease up, counting one that lapsed first (and not one
// a failing backend, or a fail-open wrapper that could not reach it, did
// not release: that is counted as an error).
func (c *Cache) release(l *Lease) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var sw Swallowed
	if c.swallows {
		ctx = WithSwallowed(ctx, &sw)
	}
	ok, err := c.leaser.ReleaseLease(ctx, l.key, l.token)
	switch {
	case err != nil || sw.Count() > 0:
		c.stats.errors.Add(1)
	case !ok:
		c.stampede.expired.Add(1)
	}
}

// computeStore computes the value and stores it (SetEntry) if it may be.
func (c *Cache) computeStore(ctx context.Context, key string, s Stampede, timeout Timeout, compute Compute) ([]byte, error) {
	start := time.Now()
	r, err := compute(ctx)
	if err != nil {
		return nil, err
	}
	if r.Store {
		// A failed store is counted; the value is good.
		_ = c.SetEntry(ctx, key, r.Value, timeout, s, time.Since(start))
	}
	return r.Value, nil
}

// Back-off of a wait for another holder's value: the first poll after
// waitFirst, each next one after twice the last, at most waitMax.
const (
	waitFirst = 5 * time.Millisecond
	waitMax   = 50 * time.Millisecond
)

// wait waits for the lease holder's value (see Fill).
func (c *Cache) wait(ctx context.Context, key string, s Stampede, timeout Timeout, compute Compute) ([]byte, Source, error) {
	mk, err := c.key(ctx, key)
	if err != nil {
		return nil, FromCompute, err
	}
	start := time.Now()
	deadline := start.Add(s.waitBound())
	step := waitFirst
	t := time.NewTimer(step)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, FromWait, ctx.Err()
		case <-t.C:
		}
		var sw Swallowed
		pctx := ctx
		if c.swallows {
			pctx = WithSwallowed(ctx, &sw)
		}
		v, ok, err := c.backend.Get(pctx, mk)
		if err != nil || sw.Count() > 0 {
			break // the backend went away: compute alone
		}
		if ok {
			c.stampede.waits.Add(1)
			c.stampede.waitNanos.Add(uint64(time.Since(start)))
			return v, FromWait, nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		// The holder may have died: its lease lapses after the TTL.
		if lease, got, down := c.tryLease(ctx, key, s); got {
			return c.holdAndCompute(ctx, key, lease, s, timeout, compute, true)
		} else if down {
			break
		}
		step = min(2*step, waitMax, left)
		t.Reset(step)
	}
	c.stampede.waitTimeouts.Add(1)
	start = time.Now()
	r, err := compute(ctx)
	if err != nil {
		return nil, FromAlone, err
	}
	if r.Store {
		if lease, got, _ := c.tryLease(ctx, key, s); got {
			_ = c.SetEntry(ctx, key, r.Value, timeout, s, time.Since(start))
			c.release(lease)
			return r.Value, FromCompute, nil
		}
	}
	return r.Value, FromAlone, nil
}

// GetOrSetWith is GetOrSet under the stampede protection s (the cache's
// own is Stampede): with a lease, one process among all computes a
// missing value and the others wait for it (see Fill); with grace or
// early expiry, a value due for a refresh is returned at once and
// recomputed in the background, at most once per key per process, by the
// holder of the lease, with a context cancelled after the lease TTL.
// Concurrent calls in one process share one computation, as with
// GetOrSet. Stored values keep Django's format. An invalid s is an error
// wrapping ErrInvalidOption.
func (c *Cache) GetOrSetWith(ctx context.Context, key string, load func(context.Context) ([]byte, error), timeout Timeout, s Stampede) ([]byte, error) {
	if load == nil {
		return nil, fmt.Errorf("%w: GetOrSetWith needs a load function", ErrInvalidOption)
	}
	if err := s.Check(); err != nil {
		return nil, err
	}
	if !s.On() {
		return c.getOrSet(ctx, key, load, timeout)
	}
	l, err := c.GetEntry(ctx, key, s)
	if err != nil {
		return nil, err
	}
	compute := func(ctx context.Context) (Computed, error) {
		v, err := load(ctx)
		return Computed{Value: v, Store: err == nil}, err
	}
	if l.Hit {
		if l.Refresh() {
			c.refreshInBackground(ctx, key, l, s, timeout, compute)
		}
		return l.Value, nil
	}
	mk := c.MakeKey(key)
	ch := c.group.DoChan(mk, func() (any, error) {
		fctx := context.WithoutCancel(ctx)
		if !s.Lease || c.leaser == nil {
			// Another flight may have stored the value since our miss (a
			// lease holder looks again itself). Not counted: the caller's
			// read was.
			if v, ok, err := c.backend.Get(fctx, mk); err == nil && ok {
				return v, nil
			}
		}
		v, _, err := c.Fill(fctx, key, l, s, timeout, compute)
		return v, err
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.([]byte), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// refreshInBackground recomputes a value due for a refresh in a goroutine,
// unless this process already is, and counts l as served stale. The
// refresh keeps ctx's values, not its cancellation: it is cancelled after
// the lease TTL.
func (c *Cache) refreshInBackground(ctx context.Context, key string, l Lookup, s Stampede, timeout Timeout, compute Compute) {
	c.servedStale(l)
	mk := c.MakeKey(key)
	if _, busy := c.refreshing.LoadOrStore(mk, struct{}{}); busy {
		return
	}
	ctx = context.WithoutCancel(ctx)
	go func() {
		defer c.refreshing.Delete(mk)
		ctx, cancel := context.WithTimeout(ctx, s.leaseTTL())
		defer cancel()
		// A failed refresh leaves the value to its grace, and the next
		// read past it tries again; the error was counted where it arose.
		_, _, _ = c.refreshHeld(ctx, key, l, s, timeout, compute, true)
	}()
}
