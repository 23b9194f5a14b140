package cache

import (
	"context"
	"time"
	"unsafe"

	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"golang.org/x/sync/singleflight"
)

// Cache is a cache with Django's semantics over a Backend: keys are made as
// "prefix:version:key" (or by a KeyFunc) and checked with memcached's rules,
// timeouts follow Django (see Timeout), a miss is not an error, and a stored
// empty value is a hit. Values are bytes; Typed adds encoded values.
//
// Values returned by Get, GetMany and GetOrSet may share memory with the
// store: treat them as read-only (copy them with bytes.Clone to modify them).
// Values passed in are never retained, so callers may reuse their buffers.
//
// A Cache is safe for concurrent use. WithVersion returns a view sharing the
// same backend and statistics.
type Cache struct {
	*core
	version int
	// kp is "prefix:version:" for the default key function.
	kp string
}

type core struct {
	backend        Backend
	prefix         string
	defaultTimeout Timeout
	keyFunc        KeyFunc
	keyCheck       KeyCheck
	logger         *slog.Logger
	maxValueSize   int
	django         DjangoRelease
	name           string   // WithName: the registry alias
	observer       Observer // WithObserver; nil: no clock reads
	jitter         float64  // WithJitter; 0: timeouts are sent as given
	leaser         Leaser   // the backend as a Leaser; nil without leases
	policy         Stampede // WithStampede
	refreshing     sync.Map // made key → struct{}: refreshes under way (stampede.go)
	stampede       stampedeCounters
	indexer        Indexer // the backend as an Indexer (index.go), or nil
	index          indexCounters
	scheme         KeyScheme // django.KeyScheme(), read on every fragment hit
	bytesGetter    KeyBytesGetter
	local          LocalGetter // a near cache among the backends (As), or nil
	inProcess      bool        // IsInProcess(backend)
	swallows       bool        // the backend may answer a failed store as done
	group          singleflight.Group
	stats          counters
	closed         atomic.Bool
	bufs           sync.Pool // *[]byte for made keys
}

// New returns a Cache over backend, configured by opts. It fails, with an
// error wrapping ErrInvalidOption, on a nil backend or an invalid option.
func New(backend Backend, opts ...Option) (*Cache, error) {
	if backend == nil {
		return nil, fmt.Errorf("%w: nil backend", ErrInvalidOption)
	}
	cfg := config{version: 1, defaultTimeout: Seconds(300)}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if !cfg.keyCheckSet {
		if kc, ok := backend.(KeyChecker); ok {
			cfg.keyCheck = kc.KeyCheck()
		}
	}
	co := &core{
		backend:        backend,
		prefix:         cfg.prefix,
		defaultTimeout: cfg.defaultTimeout,
		keyFunc:        cfg.keyFunc,
		keyCheck:       cfg.keyCheck,
		logger:         cfg.logger,
		maxValueSize:   cfg.maxValueSize,
		django:         cfg.release,
		name:           cfg.name,
		observer:       cfg.observer,
		jitter:         cfg.jitter,
		leaser:         leaserOf(backend),
		policy:         cfg.stampede,
		indexer:        indexerOf(backend),
		scheme:         cfg.release.KeyScheme(),
	}
	if co.policy.Lease && co.leaser == nil {
		return nil, fmt.Errorf("%w: WithStampede: a lease (lease=1) on a %T backend, which has no leases", ErrInvalidOption, backend)
	}
	co.bytesGetter, _ = backend.(KeyBytesGetter)
	co.local = nearOf(backend)
	co.inProcess = IsInProcess(backend)
	if sw, ok := As[Swallower](backend); ok {
		co.swallows = sw.Swallows()
	}
	co.bufs.New = func() any { b := make([]byte, 0, 256); return &b }
	return co.view(cfg.version), nil
}

func (co *core) view(version int) *Cache {
	return &Cache{core: co, version: version, kp: co.prefix + ":" + strconv.Itoa(version) + ":"}
}

// Name returns the cache's name (WithName): its alias in a registry opened
// from URLs, "" otherwise.
func (c *Cache) Name() string { return c.name }

// Django returns the Django release the cache is shared with (WithDjango,
// or the URL option django=); the zero DjangoRelease when none was named.
func (c *Cache) Django() DjangoRelease { return c.django }

// KeyScheme returns the scheme of the fragment keys written to this cache:
// that of its Django release (KeySchemeDjango61 when none was named).
func (c *Cache) KeyScheme() KeyScheme { return c.scheme }

// nearOf returns the near cache among backend and those it wraps, or nil:
// a LocalGetter whose backend reports a near cache (NearReporter with a
// Mode), as redis:// without near_cache=1 has the method but no copies.
func nearOf(backend Backend) LocalGetter {
	lg, ok := As[LocalGetter](backend)
	if !ok {
		return nil
	}
	if nr, ok := As[NearReporter](backend); ok && nr.NearStats().Mode == "" {
		return nil
	}
	return lg
}

// Near reports whether the cache keeps copies in process memory (a near
// cache: redis:// with near_cache=1, memcached:// with local_ttl=). Its
// hits cost no round trip, so readers do not batch its reads.
func (c *Cache) Near() bool { return c.local != nil }

// InProcess reports whether the cache's backend serves every operation in
// process (IsInProcess: memory, file, dummy). Readers that batch reads to
// save round trips (the {% cache %} prefetch, the page cache's single-read
// hit) do so only for the other caches.
func (c *Cache) InProcess() bool { return c.inProcess }

// WithVersion returns a view of the cache whose keys use version v (Django's
// version= argument). It shares the backend, options and statistics.
func (c *Cache) WithVersion(v int) *Cache {
	if v == c.version {
		return c
	}
	return c.view(v)
}

// Version returns the version the cache's keys use.
func (c *Cache) Version() int { return c.version }

// KeyPrefix returns the key prefix.
func (c *Cache) KeyPrefix() string { return c.prefix }

// DefaultTimeout returns the timeout DefaultTimeout stands for.
func (c *Cache) DefaultTimeout() Timeout { return c.defaultTimeout }

// Backend returns the backend.
func (c *Cache) Backend() Backend { return c.backend }

// MakeKey returns the key the backend stores for key at the cache's version
// (Django's make_key), e.g. ":1:key".
func (c *Cache) MakeKey(key string) string {
	if c.keyFunc != nil {
		return c.keyFunc(key, c.prefix, c.version)
	}
	return c.kp + key
}

// AppendMakeKey appends the made key for key to dst.
func (c *Cache) AppendMakeKey(dst []byte, key string) []byte {
	if c.keyFunc != nil {
		return append(dst, c.keyFunc(key, c.prefix, c.version)...)
	}
	return append(append(dst, c.kp...), key...)
}

// CheckKey reports the problem memcached would have with a made key, or nil:
// an *InvalidKeyError with Django's message.
func CheckKey(madeKey string) error {
	return checkKey(madeKey)
}

func checkKey[K string | []byte](k K) error {
	const maxLen = 250
	tooLong := false
	if len(k) > maxLen { // bytes ≥ characters: count characters only then
		switch v := any(k).(type) {
		case string:
			tooLong = utf8.RuneCountInString(v) > maxLen
		case []byte:
			tooLong = utf8.RuneCount(v) > maxLen
		}
	}
	if tooLong {
		return &InvalidKeyError{Key: string(k), TooLong: true}
	}
	for i := 0; i < len(k); i++ {
		if b := k[i]; b <= ' ' || b == 0x7f {
			return &InvalidKeyError{Key: string(k)}
		}
	}
	return nil
}

// validate applies the key check to a made key.
func validate[K string | []byte](co *core, k K) error {
	if co.keyCheck == KeyCheckOff {
		return nil
	}
	err := checkKey(k)
	if err == nil {
		return nil
	}
	if co.keyCheck == KeyCheckReject {
		co.stats.errors.Add(1)
		return err
	}
	if co.logger != nil {
		co.logger.Warn(err.Error(), slog.String("key", string(k)))
	}
	return nil
}

// key makes and checks a key.
func (c *Cache) key(ctx context.Context, key string) (string, error) {
	if err := c.usable(ctx); err != nil {
		return "", err
	}
	mk := c.MakeKey(key)
	return mk, validate(c.core, mk)
}

func (c *Cache) usable(ctx context.Context) error {
	if ctx == nil {
		return ErrNilContext
	}
	if c.closed.Load() {
		return ErrClosed
	}
	return nil
}

// writeTimeout resolves the default and applies the jitter (WithJitter):
// the timeout a write sends the backend.
func (c *Cache) writeTimeout(t Timeout) Timeout {
	if t == DefaultTimeout {
		t = c.defaultTimeout
	}
	if c.jitter == 0 {
		return t
	}
	return Jitter(t, c.jitter, rand.Int64N)
}

// Jitter returns t spread as WithJitter(f) spreads it, drawing with n, a
// function returning a uniform integer in [0, max) such as
// math/rand/v2.Int64N: uniform in [t·(1−f), t] for a positive timeout,
// never below one second when t is at least one second; Forever, Expired,
// negative timeouts and DefaultTimeout are returned unchanged, and so is
// every timeout when f is not in (0, 1).
func Jitter(t Timeout, f float64, n func(max int64) int64) Timeout {
	if t <= 0 || t == Forever || !(f > 0 && f < 1) {
		return t
	}
	span := int64(float64(t) * f) // < t
	if span <= 0 {
		return t
	}
	j := t - Timeout(n(span+1))
	if floor := Timeout(time.Second); t >= floor && j < floor {
		j = floor
	}
	return j
}

func (c *Cache) checkSize(key string, value []byte) error {
	if c.maxValueSize > 0 && len(value) > c.maxValueSize {
		return fmt.Errorf("%w: %d bytes for key %q (limit %d)", ErrValueTooLarge, len(value), key, c.maxValueSize)
	}
	return nil
}

func (c *Cache) fail(err error) error {
	if err != nil {
		c.stats.errors.Add(1)
	}
	return err
}

// Get returns the value stored under key and true, or nil and false on a
// miss. A miss is not an error. The value is read-only.
func (c *Cache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if c.observer == nil {
		return c.get(ctx, key)
	}
	start := time.Now()
	v, ok, err := c.get(ctx, key)
	c.observer(c.name, "get", time.Since(start), err)
	return v, ok, err
}

func (c *Cache) get(ctx context.Context, key string) ([]byte, bool, error) {
	if c.bytesGetter != nil && c.keyFunc == nil {
		if err := c.usable(ctx); err != nil {
			return nil, false, err
		}
		bp := c.bufs.Get().(*[]byte)
		mk := append(append((*bp)[:0], c.kp...), key...)
		v, ok, err := c.getBytes(ctx, mk)
		*bp = mk
		c.bufs.Put(bp)
		return v, ok, err
	}
	mk, err := c.key(ctx, key)
	if err != nil {
		return nil, false, err
	}
	v, ok, err := c.backend.Get(ctx, mk)
	return c.counted(v, ok, err)
}

// GetRaw returns the value stored under key as the backend holds it (see
// RawGetter): on memcached, and on Redis with django_values=1, a value Get
// refuses — a pickle Django wrote of a list, say — comes back undecoded
// with Raw.Pickle set, for a caller that reads that shape with a
// restricted decoder (the page cache reads Django's learned header lists
// so). On other backends it is Get. It is counted as Get is.
func (c *Cache) GetRaw(ctx context.Context, key string) (Raw, bool, error) {
	mk, err := c.key(ctx, key)
	if err != nil {
		return Raw{}, false, err
	}
	rg, ok := c.backend.(RawGetter)
	if !ok {
		v, found, err := c.counted(c.backend.Get(ctx, mk))
		return Raw{Bytes: v}, found, err
	}
	raw, found, err := rg.GetRaw(ctx, mk)
	if _, found, err = c.counted(raw.Bytes, found, err); !found {
		return Raw{}, false, err
	}
	return raw, true, nil
}

// GetKeyBytes is Get with the key given as bytes. It does not retain key, and
// on backends that implement KeyBytesGetter (the memory backend) a hit costs
// no allocation, which is what the template tag's hit path uses.
func (c *Cache) GetKeyBytes(ctx context.Context, key []byte) ([]byte, bool, error) {
	if c.observer == nil {
		return c.getKeyBytes(ctx, key)
	}
	start := time.Now()
	v, ok, err := c.getKeyBytes(ctx, key)
	c.observer(c.name, "get", time.Since(start), err)
	return v, ok, err
}

func (c *Cache) getKeyBytes(ctx context.Context, key []byte) ([]byte, bool, error) {
	if err := c.usable(ctx); err != nil {
		return nil, false, err
	}
	if c.keyFunc != nil || c.bytesGetter == nil {
		mk, err := c.key(ctx, string(key))
		if err != nil {
			return nil, false, err
		}
		v, ok, err := c.backend.Get(ctx, mk)
		return c.counted(v, ok, err)
	}
	bp := c.bufs.Get().(*[]byte)
	mk := append(append((*bp)[:0], c.kp...), key...)
	v, ok, err := c.getBytes(ctx, mk)
	*bp = mk
	c.bufs.Put(bp)
	return v, ok, err
}

// GetLocalKeyBytes returns the copy of key's value that the backend keeps
// in process memory (a near cache: LocalGetter, found among wrapped
// backends with As), without any I/O, or false when it holds none (or has
// no near cache). A copy found is counted as a hit; a miss is not counted,
// the read that follows counts itself. It does not retain key. The page
// cache asks it before batching reads to save a round trip: a near copy
// costs none.
func (c *Cache) GetLocalKeyBytes(ctx context.Context, key []byte) ([]byte, bool) {
	if c.local == nil || c.usable(ctx) != nil {
		return nil, false
	}
	var v []byte
	var ok bool
	if c.keyFunc != nil {
		mk, err := c.key(ctx, string(key))
		if err != nil {
			return nil, false
		}
		v, ok = c.local.GetLocal(ctx, mk)
	} else {
		bp := c.bufs.Get().(*[]byte)
		mk := append(append((*bp)[:0], c.kp...), key...)
		v, ok = c.local.GetLocal(ctx, unsafe.String(unsafe.SliceData(mk), len(mk)))
		*bp = mk
		c.bufs.Put(bp)
	}
	if ok {
		c.stats.hits.Add(1)
	}
	return v, ok
}

func (c *Cache) getBytes(ctx context.Context, mk []byte) ([]byte, bool, error) {
	if err := validate(c.core, mk); err != nil {
		return nil, false, err
	}
	v, ok, err := c.bytesGetter.GetKeyBytes(ctx, mk)
	return c.counted(v, ok, err)
}

func (c *Cache) counted(v []byte, ok bool, err error) ([]byte, bool, error) {
	switch {
	case err != nil:
		c.stats.errors.Add(1)
		return nil, false, err
	case ok:
		c.stats.hits.Add(1)
	default:
		c.stats.misses.Add(1)
	}
	return v, ok, nil
}

// Set stores value under key for timeout.
func (c *Cache) Set(ctx context.Context, key string, value []byte, timeout Timeout) error {
	if c.observer == nil {
		return c.set(ctx, key, value, timeout)
	}
	start := time.Now()
	err := c.set(ctx, key, value, timeout)
	c.observer(c.name, "set", time.Since(start), err)
	return err
}

func (c *Cache) set(ctx context.Context, key string, value []byte, timeout Timeout) error {
	return c.setExact(ctx, key, value, c.writeTimeout(timeout))
}

// Add stores value under key only if the key is absent or expired, and
// reports whether it did. With the timeout Expired it reports true and stores
// nothing retrievable, as Django does.
func (c *Cache) Add(ctx context.Context, key string, value []byte, timeout Timeout) (bool, error) {
	if c.observer == nil {
		return c.add(ctx, key, value, timeout)
	}
	start := time.Now()
	ok, err := c.add(ctx, key, value, timeout)
	c.observer(c.name, "add", time.Since(start), err)
	return ok, err
}

func (c *Cache) add(ctx context.Context, key string, value []byte, timeout Timeout) (bool, error) {
	mk, err := c.key(ctx, key)
	if err != nil {
		return false, err
	}
	if err := c.checkSize(key, value); err != nil {
		return false, c.fail(err)
	}
	var sw Swallowed
	if c.swallows {
		ctx = WithSwallowed(ctx, &sw)
	}
	t := c.writeTimeout(timeout)
	added, err := c.backend.Add(ctx, mk, value, t)
	if err != nil {
		return false, c.fail(err)
	}
	if sw.Count() > 0 {
		c.stats.errors.Add(1)
	}
	if added {
		c.stats.sets.Add(1)
		c.indexVariant(ctx, key, t)
	}
	return added, nil
}

// GetOrSet returns the value under key; on a miss it calls load, adds the
// result with timeout and returns what the cache then holds, so that the value
// of a concurrent writer wins, as in Django's get_or_set. If the value cannot
// be read back (timeout Expired, or a backend that stores nothing) the loaded
// value is returned.
//
// Concurrent misses of one key in one process call load once (single-flight)
// and share its result. load runs with a context that keeps ctx's values but
// not its cancellation, so that one caller giving up does not fail the
// others; a caller whose ctx is done stops waiting with ctx.Err(). A load
// error is returned and nothing is stored.
//
// A cache with stampede protection (WithStampede, or lease=, grace= or
// xfetch= on its URL) applies it: GetOrSet is then GetOrSetWith with the
// cache's Stampede.
func (c *Cache) GetOrSet(ctx context.Context, key string, load func(context.Context) ([]byte, error), timeout Timeout) ([]byte, error) {
	if c.policy.On() {
		return c.GetOrSetWith(ctx, key, load, timeout, c.policy)
	}
	return c.getOrSet(ctx, key, load, timeout)
}

// getOrSet is GetOrSet within the process: single flight, Add.
func (c *Cache) getOrSet(ctx context.Context, key string, load func(context.Context) ([]byte, error), timeout Timeout) ([]byte, error) {
	if load == nil {
		return nil, fmt.Errorf("%w: GetOrSet needs a load function", ErrInvalidOption)
	}
	v, ok, err := c.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	if ok {
		return v, nil
	}
	mk := c.MakeKey(key)
	ch := c.group.DoChan(mk, func() (any, error) {
		lctx := context.WithoutCancel(ctx)
		// Another flight may have stored the value since our miss. These
		// look-ups are not counted: the caller's Get above was.
		if v, ok, err := c.backend.Get(lctx, mk); err == nil && ok {
			return v, nil
		}
		val, err := load(lctx)
		if err != nil {
			return nil, err
		}
		if _, err := c.Add(lctx, key, val, timeout); err != nil {
			return val, nil // the value is good; storing it failed (counted)
		}
		if got, ok, err := c.backend.Get(lctx, mk); err == nil && ok {
			return got, nil
		}
		return val, nil
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

// GetMany returns the values of the keys that are present, keyed by the
// caller's keys. Missing keys are absent from the map.
func (c *Cache) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	if c.observer == nil {
		return c.getMany(ctx, keys)
	}
	start := time.Now()
	m, err := c.getMany(ctx, keys)
	c.observer(c.name, "get_many", time.Since(start), err)
	return m, err
}

func (c *Cache) getMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	if err := c.usable(ctx); err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	made := make(map[string]string, len(keys)) // made key → caller's key
	mks := make([]string, 0, len(keys))
	for _, k := range keys {
		mk, err := c.key(ctx, k)
		if err != nil {
			return nil, err
		}
		if _, dup := made[mk]; !dup {
			mks = append(mks, mk)
		}
		made[mk] = k
	}
	if mg, ok := c.backend.(ManyGetter); ok {
		found, err := mg.GetMany(ctx, mks)
		if err != nil {
			return nil, c.fail(err)
		}
		for mk, v := range found {
			if k, ok := made[mk]; ok {
				out[k] = v
			}
		}
	} else {
		for _, mk := range mks {
			v, ok, err := c.backend.Get(ctx, mk)
			if err != nil {
				return nil, c.fail(err)
			}
			if ok {
				out[made[mk]] = v
			}
		}
	}
	c.stats.hits.Add(uint64(len(out)))
	c.stats.misses.Add(uint64(len(mks) - len(out)))
	return out, nil
}

// SetMany stores every entry of items for timeout and returns the caller's
// keys that could not be stored (only memcached reports any; the others
// return nil or an error).
func (c *Cache) SetMany(ctx context.Context, items map[string][]byte, timeout Timeout) ([]string, error) {
	if c.observer == nil {
		return c.setMany(ctx, items, timeout)
	}
	start := time.Now()
	failed, err := c.setMany(ctx, items, timeout)
	c.observer(c.name, "set_many", time.Since(start), err)
	return failed, err
}

func (c *Cache) setMany(ctx context.Context, items map[string][]byte, timeout Timeout) ([]string, error) {
	if err := c.usable(ctx); err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, nil
	}
	t := c.writeTimeout(timeout)
	entries := make([]Entry, 0, len(items))
	made := make(map[string]string, len(items))
	for k, v := range items {
		mk, err := c.key(ctx, k)
		if err != nil {
			return nil, err
		}
		if err := c.checkSize(k, v); err != nil {
			return nil, c.fail(err)
		}
		made[mk] = k
		entries = append(entries, Entry{Key: mk, Value: v})
	}
	var failed []string
	if ms, ok := c.backend.(ManySetter); ok {
		f, err := ms.SetMany(ctx, entries, t)
		if err != nil {
			return nil, c.fail(err)
		}
		for _, mk := range f {
			failed = append(failed, made[mk])
		}
	} else {
		for _, e := range entries {
			if err := c.backend.Set(ctx, e.Key, e.Value, t); err != nil {
				return nil, c.fail(err)
			}
		}
	}
	c.stats.sets.Add(uint64(len(entries) - len(failed)))
	c.stats.errors.Add(uint64(len(failed)))
	if c.indexer != nil {
		for _, e := range entries {
			if k := made[e.Key]; strings.HasPrefix(k, FragmentKeyPrefix) && !slices.Contains(failed, k) {
				c.indexVariant(ctx, k, t)
			}
		}
	}
	return failed, nil
}

// Delete removes key and reports whether something was removed.
func (c *Cache) Delete(ctx context.Context, key string) (bool, error) {
	if c.observer == nil {
		return c.delete(ctx, key)
	}
	start := time.Now()
	ok, err := c.delete(ctx, key)
	c.observer(c.name, "delete", time.Since(start), err)
	return ok, err
}

func (c *Cache) delete(ctx context.Context, key string) (bool, error) {
	mk, err := c.key(ctx, key)
	if err != nil {
		return false, err
	}
	ok, err := c.backend.Delete(ctx, mk)
	if err != nil {
		return false, c.fail(err)
	}
	if ok {
		c.stats.deletes.Add(1)
	}
	return ok, nil
}

// DeleteMany removes the keys.
func (c *Cache) DeleteMany(ctx context.Context, keys []string) error {
	if err := c.usable(ctx); err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	mks := make([]string, 0, len(keys))
	for _, k := range keys {
		mk, err := c.key(ctx, k)
		if err != nil {
			return err
		}
		mks = append(mks, mk)
	}
	if md, ok := c.backend.(ManyDeleter); ok {
		if err := md.DeleteMany(ctx, mks); err != nil {
			return c.fail(err)
		}
		c.stats.deletes.Add(uint64(len(mks)))
		return nil
	}
	for _, mk := range mks {
		ok, err := c.backend.Delete(ctx, mk)
		if err != nil {
			return c.fail(err)
		}
		if ok {
			c.stats.deletes.Add(1)
		}
	}
	return nil
}

// Has reports whether key is present and unexpired (Django's has_key and
// "key in cache"). A stored empty value counts.
func (c *Cache) Has(ctx context.Context, key string) (bool, error) {
	mk, err := c.key(ctx, key)
	if err != nil {
		return false, err
	}
	ok, err := c.backend.Has(ctx, mk)
	return ok, c.fail(err)
}

// Touch gives key a new timeout and reports whether the key existed.
// Touch with Expired expires the key; Forever makes it permanent.
func (c *Cache) Touch(ctx context.Context, key string, timeout Timeout) (bool, error) {
	mk, err := c.key(ctx, key)
	if err != nil {
		return false, err
	}
	ok, err := c.backend.Touch(ctx, mk, c.writeTimeout(timeout))
	return ok, c.fail(err)
}

// Incr adds delta to the decimal integer stored under key and returns the
// result. A missing key is a *KeyNotFoundError (errors.Is ErrNotFound); a
// value that is not an integer is an error wrapping ErrNotInteger. Backends
// without an atomic increment use Get and Set at the default timeout, as
// Django's BaseCache does.
func (c *Cache) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	mk, err := c.key(ctx, key)
	if err != nil {
		return 0, err
	}
	if inc, ok := c.backend.(Incrementer); ok {
		n, err := inc.Incr(ctx, mk, delta)
		if err != nil {
			if err == ErrNotFound {
				err = &KeyNotFoundError{Key: key}
			}
			return 0, c.fail(err)
		}
		c.stats.sets.Add(1)
		return n, nil
	}
	v, ok, err := c.backend.Get(ctx, mk)
	if err != nil {
		return 0, c.fail(err)
	}
	if !ok {
		return 0, c.fail(&KeyNotFoundError{Key: key})
	}
	n, err := AddDecimal(v, delta)
	if err != nil {
		return 0, c.fail(&NotIntegerError{Key: key})
	}
	if err := c.backend.Set(ctx, mk, strconv.AppendInt(nil, n, 10), c.defaultTimeout); err != nil {
		return 0, c.fail(err)
	}
	c.stats.sets.Add(1)
	return n, nil
}

// Decr subtracts delta; see Incr.
func (c *Cache) Decr(ctx context.Context, key string, delta int64) (int64, error) {
	if delta == math.MinInt64 {
		return 0, c.fail(&NotIntegerError{Key: key})
	}
	return c.Incr(ctx, key, -delta)
}

// AddDecimal parses v as a decimal integer (optional sign, surrounding ASCII
// spaces allowed, as Python's int() does) and adds delta, failing with
// ErrNotInteger on anything else or on overflow. Backends use it to
// implement Incr.
func AddDecimal(v []byte, delta int64) (int64, error) {
	s := string(trimSpace(v))
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || s == "" || s[0] == '+' && len(s) == 1 {
		return 0, ErrNotInteger
	}
	r := n + delta
	if (delta > 0 && r < n) || (delta < 0 && r > n) {
		return 0, ErrNotInteger
	}
	return r, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// IncrVersion moves key from the cache's version to version+delta and
// returns the new version (Django's incr_version). The value is stored at the
// default timeout. A missing key is a *KeyNotFoundError.
func (c *Cache) IncrVersion(ctx context.Context, key string, delta int) (int, error) {
	v, ok, err := c.Get(ctx, key)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, c.fail(&KeyNotFoundError{Key: key})
	}
	nv := c.version + delta
	next := c.WithVersion(nv)
	if err := next.Set(ctx, key, v, DefaultTimeout); err != nil {
		return 0, err
	}
	if _, err := c.Delete(ctx, key); err != nil {
		return 0, err
	}
	return nv, nil
}

// DecrVersion moves key to version-delta; see IncrVersion.
func (c *Cache) DecrVersion(ctx context.Context, key string, delta int) (int, error) {
	return c.IncrVersion(ctx, key, -delta)
}

// Clear removes everything from the backend. Like Django, memcached and
// Redis clear the whole server (database), whatever the key prefix.
func (c *Cache) Clear(ctx context.Context) error {
	if err := c.usable(ctx); err != nil {
		return err
	}
	return c.fail(c.backend.Clear(ctx))
}

// Close closes the backend. Later calls fail with ErrClosed, on every view
// of the cache. Closing twice is not an error.
func (c *Cache) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	return c.backend.Close()
}
