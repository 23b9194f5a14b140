package memcached

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/internal/pickle"
)

// Defaults.
const (
	// DefaultServer is the server used when Options.Servers is empty.
	DefaultServer = "127.0.0.1:11211"
	// DefaultMaxIdleConns is the number of idle connections kept per
	// server when Options.MaxIdleConns is 0. gomemcache's own default of 2
	// makes a busy client open and close a connection for most requests,
	// and time out under load.
	DefaultMaxIdleConns = 64
	// DefaultTimeout bounds each network operation (connect, or one read
	// or write) when Options.Timeout is 0.
	DefaultTimeout = 500 * time.Millisecond
	// MaxRelativeExpiration is the longest expiry memcached reads as
	// relative: 30 days in seconds. Longer timeouts are sent as an absolute
	// Unix time, as Django does.
	MaxRelativeExpiration = 2592000
)

// The memcached flags pymemcache's serde writes and reads (see
// pymemcache.serde). Django's PyMemcacheCache stores bytes with FlagBytes,
// str with FlagText, int with FlagInteger and everything else pickled with
// FlagPickle.
const (
	FlagBytes      uint32 = 0      // bytes, stored as they are
	FlagPickle     uint32 = 1 << 0 // a Python pickle: decoded as data, never run (see Backend.Get)
	FlagInteger    uint32 = 1 << 1 // a Python int, in decimal
	FlagLong       uint32 = 1 << 2 // a Python 2 long, in decimal
	FlagCompressed uint32 = 1 << 3 // python-memcached's compression: not read here
	FlagText       uint32 = 1 << 4 // a Python str, in UTF-8
)

// hashedPrefixMax is how many bytes of an over-long or malformed key a
// hashed key keeps (see Options.HashLongKeys).
const hashedPrefixMax = 160

// setManyConcurrency is how many Set or Delete commands SetMany and
// DeleteMany keep in flight at once.
const setManyConcurrency = 8

// ErrForeignValue is wrapped by the error of reading a value this backend
// does not decode: one stored with flags other than FlagBytes, FlagPickle,
// FlagInteger, FlagLong and FlagText, or a Python pickle (FlagPickle) of
// anything but a str, a Django SafeString, bytes, a bytearray or an int —
// say a dict, a float, True or an object — or of something the restricted
// decoder refuses. Pickles are never executed (see the package documentation).
// It is cache.ErrForeignValue, so that callers of any backend can test for
// it.
var ErrForeignValue = cache.ErrForeignValue

// FlagsError is the error of reading a value this backend does not read.
// It satisfies errors.Is(err, ErrForeignValue).
type FlagsError struct {
	Key   string // the made key
	Flags uint32
	// Python is the Python type of a pickle (FlagPickle) that decoded to a
	// value this backend does not return ("bool", "float", "None"); empty
	// otherwise.
	Python string
	// Err is why a pickle (FlagPickle) could not be decoded: a stream
	// Python could load but the restricted decoder refuses (a dict, a list,
	// any object, any global but Django's SafeString) or one that is not a
	// valid pickle. nil otherwise.
	Err error
}

// Error names the key, the flags and, for a pickle, what it holds.
func (e *FlagsError) Error() string {
	what := ""
	switch {
	case e.Flags == FlagPickle && e.Python != "":
		what = " (a Python pickle of " + e.Python + ", not text, bytes or an int)"
	case e.Flags == FlagPickle && e.Err != nil:
		what = " (a Python pickle that is not read: " + e.Err.Error() + "; pickles are never executed)"
	case e.Flags == FlagPickle:
		what = " (a Python pickle)"
	case e.Flags&FlagCompressed != 0:
		what = " (compressed)"
	}
	return fmt.Sprintf("memcached: key %q holds a value with flags %d%s, which this backend does not read", e.Key, e.Flags, what)
}

// Is makes errors.Is(err, ErrForeignValue) true.
func (e *FlagsError) Is(target error) bool { return target == ErrForeignValue }

// Unwrap returns Err.
func (e *FlagsError) Unwrap() error { return e.Err }

// Options configures a Backend. The zero value talks to DefaultServer.
type Options struct {
	// Servers lists the servers as Django's LOCATION does: "host:port",
	// "host" (port 11211), "[ipv6]:port", "unix:/path/to/socket" or
	// "/path/to/socket". Empty means DefaultServer. A server listed twice
	// is an error.
	Servers []string
	// Selector chooses the server of each key: SelectorDjango (the default,
	// as Django's PyMemcacheCache) or SelectorGomemcache. It matters only
	// with several servers.
	Selector Selector
	// MaxIdleConns is the number of idle connections kept per server.
	// 0 means DefaultMaxIdleConns. Set it above the number of concurrent
	// requests you expect per server.
	MaxIdleConns int
	// Timeout bounds connecting to a server and each read or write of an
	// operation. 0 means DefaultTimeout.
	Timeout time.Duration
	// HashLongKeys stores a key memcached cannot take — over 250 bytes, or
	// holding a byte from 0x00 to 0x20 or 0x7f — under a hashed key: the
	// longest prefix of the key of at most 160 bytes that holds only
	// acceptable bytes and ends on a UTF-8 character boundary, then "#",
	// then the 64 hexadecimal digits of the SHA-256 of the whole key. For
	// ":1:" + 300 × "k" that is ":1:kkk…k" (160 bytes) + "#" + hex. Other
	// keys are stored as they are, so Django reads and writes them as
	// usual; a Django application cannot use the hashed ones (it rejects
	// such keys).
	//
	// With HashLongKeys the backend's KeyCheck is cache.KeyCheckWarn
	// instead of cache.KeyCheckReject: every key works, and a cache with a
	// logger logs Django's warning for keys a Django peer would reject.
	HashLongKeys bool
	// TextFlags writes values with the flags that make Django read them as
	// Python values rather than bytes: an integer written as Python's str()
	// writes it ("0", "-7", "42": no "+", no leading zero, no "-0", at most
	// 4300 digits) with FlagInteger (Django reads an int), any other valid
	// UTF-8 with FlagText (a str; the empty value too), and anything else
	// with FlagBytes (bytes). Without it every value is written with
	// FlagBytes, which Django reads as bytes. Either way this backend reads
	// all three back as the same bytes. Note that TextFlags cannot tell
	// bytes that happen to be valid UTF-8 from text: Django reads them as a
	// str.
	//
	// TextFlags is what sharing values with Django needs: the URL option
	// django_values, which the Redis backend takes for the same purpose, is
	// another name for it. Reading needs no option: flags say what a value
	// is, and Django's pickles of text, bytes and ints are always read (see
	// Get).
	TextFlags bool
	// DialContext, if not nil, opens connections, e.g. with TLS for a
	// memcached started with --enable-ssl (see memcache.Client.DialContext).
	// network is "tcp" or "unix".
	DialContext func(ctx context.Context, network, address string) (net.Conn, error)
	// Now is the clock used to turn timeouts over 30 days into absolute
	// Unix times, and to compute the deadlines of indexes. nil means
	// time.Now.
	Now func() time.Time
	// MaxIndexMembers bounds each index (see Backend.IndexAdd). 0 means
	// cache.MaxIndexMembers; it must not be negative. A smaller bound is
	// for tests.
	MaxIndexMembers int
	// ServerFailureThreshold is the number of consecutive failures that
	// mark one server of a pool (two servers or more) down: its keys are
	// then skipped, without a network round trip, for ServerCoolDown, after
	// which one operation probes it (see the package documentation). 0
	// means DefaultServerFailureThreshold; it must not be negative.
	ServerFailureThreshold int
	// ServerCoolDown is how long a server marked down is skipped before a
	// probe. 0 means DefaultServerCoolDown; it must not be negative.
	ServerCoolDown time.Duration
	// Logger receives a Warn line when a server fails (at most one per
	// server every DefaultServerLogInterval, with the number of failures
	// not logged since) and when a server of a pool is marked down, and an
	// Info line when it is back. nil logs nothing. Open uses the cache's
	// logger.
	Logger *slog.Logger
}

// Backend is a cache.Backend over memcached servers, compatible with
// Django's PyMemcacheCache. Create it with New or Open; it is safe for
// concurrent use.
type Backend struct {
	servers   []*server // in the order of sel.nodes
	breakers  breakerConfig
	sel       *selector
	now       func() time.Time
	hashKeys  bool
	textFlags bool
	maxIndex  int // Options.MaxIndexMembers
	dial      func(ctx context.Context, network, address string) (net.Conn, error)

	closed atomic.Bool
	mu     sync.Mutex
	conns  map[*trackedConn]struct{} // open connections, closed by Close
}

// Backend implements cache.Backend and these optional interfaces.
var (
	_ cache.Backend     = (*Backend)(nil)
	_ cache.ManyGetter  = (*Backend)(nil)
	_ cache.ManySetter  = (*Backend)(nil)
	_ cache.ManyDeleter = (*Backend)(nil)
	_ cache.Incrementer = (*Backend)(nil)
	_ cache.KeyChecker  = (*Backend)(nil)
	_ cache.Leaser      = (*Backend)(nil)
)

// New returns a Backend for the servers in opts. It does not connect:
// connections are opened by the first operations that need them, so New
// succeeds while a server is down, and operations on its keys then fail.
func New(opts Options) (*Backend, error) {
	if opts.MaxIdleConns < 0 {
		return nil, fmt.Errorf("%w: memcached MaxIdleConns %d is negative", cache.ErrInvalidOption, opts.MaxIdleConns)
	}
	if opts.Timeout < 0 {
		return nil, fmt.Errorf("%w: memcached Timeout %v is negative", cache.ErrInvalidOption, opts.Timeout)
	}
	if opts.MaxIndexMembers < 0 {
		return nil, fmt.Errorf("%w: memcached MaxIndexMembers %d is negative", cache.ErrInvalidOption, opts.MaxIndexMembers)
	}
	if opts.ServerFailureThreshold < 0 || opts.ServerFailureThreshold > 1<<30 {
		return nil, fmt.Errorf("%w: memcached ServerFailureThreshold %d: want 1 to %d, or 0 for the default", cache.ErrInvalidOption, opts.ServerFailureThreshold, 1<<30)
	}
	if opts.ServerCoolDown < 0 {
		return nil, fmt.Errorf("%w: memcached ServerCoolDown %v is negative", cache.ErrInvalidOption, opts.ServerCoolDown)
	}
	if opts.Selector != SelectorDjango && opts.Selector != SelectorGomemcache {
		return nil, fmt.Errorf("%w: memcached %v", cache.ErrInvalidOption, opts.Selector)
	}
	servers := opts.Servers
	if len(servers) == 0 {
		servers = []string{DefaultServer}
	}
	sel := &selector{kind: opts.Selector}
	seen := map[string]bool{}
	for _, s := range servers {
		n, err := parseServer(s)
		if err != nil {
			return nil, err
		}
		if seen[n.name] {
			return nil, fmt.Errorf("%w: memcached server %q listed twice", cache.ErrInvalidOption, n.name)
		}
		seen[n.name] = true
		sel.nodes = append(sel.nodes, n)
	}
	b := &Backend{
		sel:       sel,
		now:       opts.Now,
		hashKeys:  opts.HashLongKeys,
		textFlags: opts.TextFlags,
		maxIndex:  opts.MaxIndexMembers,
		dial:      opts.DialContext,
		conns:     map[*trackedConn]struct{}{},
		breakers: breakerConfig{
			threshold: int32(opts.ServerFailureThreshold),
			coolDown:  opts.ServerCoolDown,
			logEvery:  DefaultServerLogInterval,
			logger:    opts.Logger,
		},
	}
	if b.breakers.threshold == 0 {
		b.breakers.threshold = DefaultServerFailureThreshold
	}
	if b.breakers.coolDown == 0 {
		b.breakers.coolDown = DefaultServerCoolDown
	}
	if b.now == nil {
		b.now = time.Now
	}
	if b.dial == nil {
		var d net.Dialer // gomemcache's ctx carries the connect timeout
		b.dial = d.DialContext
	}
	for _, n := range sel.nodes {
		b.servers = append(b.servers, b.newServer(n, &opts, len(sel.nodes) > 1))
	}
	return b, nil
}

// Servers returns the servers' names as the Django selector hashes them,
// e.g. "127.0.0.1:11211" or "/run/memcached.sock", in the order given.
func (b *Backend) Servers() []string {
	names := make([]string, len(b.sel.nodes))
	for i, n := range b.sel.nodes {
		names[i] = n.name
	}
	return names
}

// ServerFor returns the name (as Servers does) of the server that holds the
// made key key.
func (b *Backend) ServerFor(key string) string {
	k, err := b.wireKey(key)
	if err != nil {
		k = key
	}
	if len(b.sel.nodes) == 1 {
		return b.sel.nodes[0].name
	}
	return b.sel.nodes[b.sel.pick(k)].name
}

// KeyCheck implements cache.KeyChecker: cache.KeyCheckReject, as Django's
// memcached backends raise InvalidCacheKey, or cache.KeyCheckWarn with
// Options.HashLongKeys, which can store any key.
func (b *Backend) KeyCheck() cache.KeyCheck {
	if b.hashKeys {
		return cache.KeyCheckWarn
	}
	return cache.KeyCheckReject
}

// Expiration returns the expiry memcached is sent for t at now, as Django's
// BaseMemcachedCache.get_backend_timeout computes it: Forever is 0 (never),
// a timeout under one second (Expired, 0.5 s, any negative one above -1 s)
// is -1 and other negative ones their whole seconds (all expired at once),
// a positive timeout its whole seconds (1.5 s is 1), and one over 30 days
// (MaxRelativeExpiration; exactly 30 days stays relative) the absolute Unix
// time now + seconds. An absolute time past what memcached's 32-bit expiry
// holds (January 2038) is sent as 0, never expiring. DefaultTimeout, which
// a Cache never passes, is read as Django's default of 300 seconds.
func Expiration(t cache.Timeout, now time.Time) int32 {
	switch t {
	case cache.Forever:
		return 0
	case cache.Expired:
		return -1
	case cache.DefaultTimeout:
		t = cache.Seconds(300)
	}
	secs := int64(t) / int64(time.Second) // truncated toward zero, as int()
	switch {
	case secs == 0:
		return -1
	case int64(t) > MaxRelativeExpiration*int64(time.Second):
		abs := secs + now.Unix()
		if abs > math.MaxInt32 || abs < secs {
			return 0
		}
		return int32(abs)
	case secs < math.MinInt32:
		return math.MinInt32
	}
	return int32(secs)
}

func (b *Backend) expiration(t cache.Timeout) int32 { return Expiration(t, b.now()) }

// Lifetime returns how long memcached keeps a value stored with timeout
// t, at least and at most: timeouts are sent as whole seconds (see
// Expiration), and memcached's clock ticks once a second, so a value stored
// for n seconds expires between n-1 and n seconds later (n+1 is allowed
// for the tick's lag). Forever never expires (math.MaxInt64 both). It is
// the near.Options.Lifetime of memcached: a local copy of a value is kept
// no longer than the value surely lives.
func Lifetime(t cache.Timeout) (min, max time.Duration) {
	switch {
	case t == cache.Forever:
		return math.MaxInt64, math.MaxInt64
	case t == cache.DefaultTimeout:
		t = cache.Seconds(300)
	case t.IsExpired():
		return 0, 0
	}
	secs := int64(t) / int64(time.Second)
	if secs < 1 {
		return 0, 0
	}
	return time.Duration(secs-1) * time.Second, time.Duration(secs+1) * time.Second
}

// flags returns the flags v is written with.
func (b *Backend) flags(v []byte) uint32 {
	if !b.textFlags {
		return FlagBytes
	}
	if pickle.IsCanonicalInt(v) {
		return FlagInteger
	}
	if utf8.Valid(v) {
		return FlagText
	}
	return FlagBytes
}

// value returns the bytes of an item, or a *FlagsError for a value this
// backend does not read.
func value(key string, it *memcache.Item) ([]byte, error) {
	switch it.Flags {
	case FlagBytes, FlagInteger, FlagLong, FlagText:
		return it.Value, nil
	case FlagPickle:
		return pickled(key, it.Value)
	}
	return nil, &FlagsError{Key: key, Flags: it.Flags}
}

// pickled reads a value pymemcache pickled (flag 1) with the restricted
// decoder of package pickle, which builds plain values and never imports,
// calls or constructs anything the stream names. A str or a Django
// SafeString (what {% cache %} stores for a fragment) reads as its UTF-8
// text, bytes and bytearray as their bytes, an int as its decimal digits.
// Anything else is a *FlagsError.
func pickled(key string, data []byte) ([]byte, error) {
	v, err := pickle.Decode(data)
	if err != nil {
		return nil, &FlagsError{Key: key, Flags: FlagPickle, Err: err}
	}
	if b, ok := v.PlainBytes(); ok {
		return b, nil
	}
	return nil, &FlagsError{Key: key, Flags: FlagPickle, Python: v.Kind.String()}
}

// legalKey reports whether memcached (and gomemcache) accept key.
func legalKey(key string) bool {
	if len(key) > 250 {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] <= ' ' || key[i] == 0x7f {
			return false
		}
	}
	return true
}

// wireKey returns the key sent to memcached for the made key key: key
// itself, its hashed form with HashLongKeys, or an *cache.InvalidKeyError.
func (b *Backend) wireKey(key string) (string, error) {
	if legalKey(key) {
		return key, nil
	}
	if b.hashKeys || cache.IsSideKey(key) {
		// No Django process reads side keys: hashing them is always safe.
		return HashedKey(key), nil
	}
	if err := cache.CheckKey(key); err != nil {
		return "", err
	}
	// Up to 250 characters but more than 250 bytes: Django lets it
	// through, and pymemcache then fails on it.
	return "", &cache.InvalidKeyError{Key: key, TooLong: true}
}

// HashedKey returns the key Options.HashLongKeys stores key under when
// memcached cannot take it: its acceptable prefix of at most 160 bytes, "#"
// and the hexadecimal SHA-256 of key.
func HashedKey(key string) string {
	n := 0
	for n < len(key) && n < hashedPrefixMax && key[n] > ' ' && key[n] != 0x7f {
		n++
	}
	for n > 0 && n < len(key) && !utf8.RuneStart(key[n]) {
		n-- // do not split a character
	}
	sum := sha256.Sum256([]byte(key))
	buf := make([]byte, 0, n+1+2*len(sum))
	buf = append(buf, key[:n]...)
	buf = append(buf, '#')
	buf = hex.AppendEncode(buf, sum[:])
	return string(buf)
}

// ready fails for a nil or done context and after Close. gomemcache has no
// context support: a context is checked before the operation (and between
// the commands of SetMany and DeleteMany), and Options.Timeout bounds each
// network step of the call itself.
func (b *Backend) ready(ctx context.Context) error {
	if ctx == nil {
		return cache.ErrNilContext
	}
	if b.closed.Load() {
		return fmt.Errorf("memcached: %w", cache.ErrClosed)
	}
	return ctx.Err()
}

// opError wraps an error of gomemcache for an operation on key.
func opError(op, key string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, memcache.ErrMalformedKey) {
		return &cache.InvalidKeyError{Key: key, TooLong: len(key) > 250}
	}
	if tooLarge(err) {
		return fmt.Errorf("memcached: %s %q: %w (the server refused it: object too large for cache)", op, key, cache.ErrValueTooLarge)
	}
	return fmt.Errorf("memcached: %s %q: %w", op, key, err)
}

// tooLarge reports whether err is memcached's answer to a value over its
// item size (-I): "SERVER_ERROR object too large for cache". gomemcache
// reports it only as an unexpected response line.
func tooLarge(err error) bool {
	return strings.Contains(err.Error(), "object too large for cache")
}

// refused reports whether err is the server declining to store one item
// (as opposed to a network or protocol failure).
func refused(err error) bool {
	return errors.Is(err, memcache.ErrNotStored) || strings.Contains(err.Error(), "SERVER_ERROR")
}

// staleConn reports whether err is what a command gets on a connection the
// server has closed: after a server restart, every idle connection is such.
func staleConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// Get implements cache.Backend. A Python pickle (FlagPickle) of a str, a
// SafeString, bytes or an int reads as its text, bytes or digits; any other
// pickle, and a value with flags the backend does not read, is a
// *FlagsError wrapping ErrForeignValue.
func (b *Backend) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := b.ready(ctx); err != nil {
		return nil, false, err
	}
	k, err := b.wireKey(key)
	if err != nil {
		return nil, false, err
	}
	var it *memcache.Item
	err = b.do(ctx, "get", k, true, func(c *memcache.Client) (err error) { it, err = c.Get(k); return err })
	if err != nil {
		if err == memcache.ErrCacheMiss {
			return nil, false, nil
		}
		return nil, false, opError("get", key, err)
	}
	v, err := value(key, it)
	if err != nil {
		return nil, false, err
	}
	return v, true, nil
}

// GetRaw implements cache.RawGetter: the stored bytes, undecoded, with
// Raw.Pickle set for a Python pickle (FlagPickle). A value with flags the
// backend does not know is still a *FlagsError.
func (b *Backend) GetRaw(ctx context.Context, key string) (cache.Raw, bool, error) {
	if err := b.ready(ctx); err != nil {
		return cache.Raw{}, false, err
	}
	k, err := b.wireKey(key)
	if err != nil {
		return cache.Raw{}, false, err
	}
	var it *memcache.Item
	err = b.do(ctx, "get", k, true, func(c *memcache.Client) (err error) { it, err = c.Get(k); return err })
	if err != nil {
		if err == memcache.ErrCacheMiss {
			return cache.Raw{}, false, nil
		}
		return cache.Raw{}, false, opError("get", key, err)
	}
	switch it.Flags {
	case FlagBytes, FlagInteger, FlagLong, FlagText:
		return cache.Raw{Bytes: it.Value}, true, nil
	case FlagPickle:
		return cache.Raw{Bytes: it.Value, Pickle: true}, true, nil
	}
	return cache.Raw{}, false, &FlagsError{Key: key, Flags: it.Flags}
}

// Set implements cache.Backend. A value over the server's item size (1 MiB
// unless memcached runs with -I) is an error wrapping cache.ErrValueTooLarge,
// and memcached has then already removed the value stored before, as
// Django's test_memcached_deletes_key_on_failed_set expects.
func (b *Backend) Set(ctx context.Context, key string, value []byte, timeout cache.Timeout) error {
	if err := b.ready(ctx); err != nil {
		return err
	}
	k, err := b.wireKey(key)
	if err != nil {
		return err
	}
	it := memcache.Item{Key: k, Value: value, Flags: b.flags(value), Expiration: b.expiration(timeout)}
	return opError("set", key, b.doWrite(ctx, "set", k, true, func(c *memcache.Client) error { return c.Set(&it) }))
}

// Add implements cache.Backend with memcached's add. With an expired
// timeout it reports true and stores nothing retrievable, as Django does.
func (b *Backend) Add(ctx context.Context, key string, value []byte, timeout cache.Timeout) (bool, error) {
	if err := b.ready(ctx); err != nil {
		return false, err
	}
	k, err := b.wireKey(key)
	if err != nil {
		return false, err
	}
	return b.add(ctx, &memcache.Item{Key: k, Value: value, Flags: b.flags(value), Expiration: b.expiration(timeout)}, key)
}

// add sends add for it (whose made key is key, for messages): true when
// stored, false when the key exists.
func (b *Backend) add(ctx context.Context, it *memcache.Item, key string) (bool, error) {
	switch err := b.doWrite(ctx, "add", it.Key, false, func(c *memcache.Client) error { return c.Add(it) }); err {
	case nil:
		return true, nil
	case memcache.ErrNotStored:
		return false, nil
	default:
		return false, opError("add", key, err)
	}
}

// Delete implements cache.Backend.
func (b *Backend) Delete(ctx context.Context, key string) (bool, error) {
	if err := b.ready(ctx); err != nil {
		return false, err
	}
	k, err := b.wireKey(key)
	if err != nil {
		return false, err
	}
	switch err := b.doWrite(ctx, "delete", k, true, func(c *memcache.Client) error { return c.Delete(k) }); err {
	case nil:
		return true, nil
	case memcache.ErrCacheMiss:
		return false, nil
	default:
		return false, opError("delete", key, err)
	}
}

// Has implements cache.Backend with a get, as Django's has_key does. A key
// holding a value the backend does not read (a pickled dict, say) is
// present.
func (b *Backend) Has(ctx context.Context, key string) (bool, error) {
	if err := b.ready(ctx); err != nil {
		return false, err
	}
	k, err := b.wireKey(key)
	if err != nil {
		return false, err
	}
	switch err := b.do(ctx, "get", k, true, func(c *memcache.Client) error { _, err := c.Get(k); return err }); err {
	case nil:
		return true, nil
	case memcache.ErrCacheMiss:
		return false, nil
	default:
		return false, opError("get", key, err)
	}
}

// Touch implements cache.Backend with memcached's touch: Expired expires
// the key (and reports true if it existed), Forever makes it permanent.
func (b *Backend) Touch(ctx context.Context, key string, timeout cache.Timeout) (bool, error) {
	if err := b.ready(ctx); err != nil {
		return false, err
	}
	k, err := b.wireKey(key)
	if err != nil {
		return false, err
	}
	exp := b.expiration(timeout)
	switch err := b.doWrite(ctx, "touch", k, true, func(c *memcache.Client) error { return c.Touch(k, exp) }); err {
	case nil:
		return true, nil
	case memcache.ErrCacheMiss:
		return false, nil
	default:
		return false, opError("touch", key, err)
	}
}

// Incr implements cache.Incrementer with memcached's incr, or decr for a
// negative delta: the server clamps a decrement at 0 (36 - 100 gives 0)
// and keeps the entry's flags and expiry. A missing key is a
// *cache.KeyNotFoundError naming the made key, as Django's memcached
// backends do (Key ':1:nope' not found). A value memcached cannot read as
// an unsigned 64-bit integer (negative numbers included) is an error
// wrapping cache.ErrNotInteger, and so is a result above math.MaxInt64
// (memcached wraps at 2^64 and has then stored it).
func (b *Backend) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	if err := b.ready(ctx); err != nil {
		return 0, err
	}
	k, err := b.wireKey(key)
	if err != nil {
		return 0, err
	}
	var n uint64
	err = b.do(ctx, "incr", k, false, func(c *memcache.Client) (err error) {
		if delta >= 0 {
			n, err = c.Increment(k, uint64(delta))
		} else {
			n, err = c.Decrement(k, uint64(-(delta+1))+1)
		}
		return err
	})
	switch {
	case err == memcache.ErrCacheMiss:
		return 0, &cache.KeyNotFoundError{Key: key}
	case err != nil && strings.Contains(err.Error(), "non-numeric value"):
		return 0, fmt.Errorf("%w (memcached: cannot increment or decrement non-numeric value)", &cache.NotIntegerError{Key: key})
	case err != nil:
		return 0, opError("incr", key, err)
	case n > math.MaxInt64:
		return 0, fmt.Errorf("%w (memcached stored %d)", &cache.NotIntegerError{Key: key}, n)
	}
	return int64(n), nil
}

// leaseKey returns the key a side entry (a lease, an index) is stored
// under: the side key itself, or its hashed form (HashedKey) when memcached
// cannot take it, whatever Options.HashLongKeys says. No Django process
// reads side keys, so hashing them is always safe, and a made key of up to
// 250 bytes always has a lease and an index.
func leaseKey(key string) string {
	if legalKey(key) {
		return key
	}
	return HashedKey(key)
}

// leaseExpiration returns the memcached expiry of a lease of ttl: its
// whole seconds rounded up (at least one). memcached's clock ticks once a
// second, so the lease lapses up to a second sooner than ttl or later.
func (b *Backend) leaseExpiration(ttl time.Duration) int32 {
	secs := (ttl + time.Second - 1) / time.Second
	return Expiration(cache.Timeout(secs*time.Second), b.now())
}

// AcquireLease implements cache.Leaser with memcached's add, which stores
// only when the key is absent: the token is stored for ttl rounded up to
// whole seconds.
func (b *Backend) AcquireLease(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	if err := b.ready(ctx); err != nil {
		return false, err
	}
	if ttl <= 0 {
		return false, fmt.Errorf("%w: memcached: lease ttl %v is not positive", cache.ErrInvalidOption, ttl)
	}
	return b.add(ctx, &memcache.Item{Key: leaseKey(key), Value: []byte(token), Flags: FlagBytes, Expiration: b.leaseExpiration(ttl)}, key)
}

// ReleaseLease implements cache.Leaser: gets, then, if the lease holds
// token, cas with an expiry of -1, which memcached stores already expired.
// That is a delete conditional on the lease being unchanged since the
// gets (memcached has no compare-and-delete, and gomemcache no delete
// with a cas id): a lease that expired and was taken by another holder
// between the two commands has another cas id, and survives.
func (b *Backend) ReleaseLease(ctx context.Context, key, token string) (bool, error) {
	if err := b.ready(ctx); err != nil {
		return false, err
	}
	k := leaseKey(key)
	var it *memcache.Item
	err := b.do(ctx, "gets", k, true, func(c *memcache.Client) (err error) { it, err = c.Get(k); return err })
	switch {
	case err == memcache.ErrCacheMiss:
		return false, nil
	case err != nil:
		return false, opError("gets", key, err)
	case string(it.Value) != token:
		return false, nil
	}
	it.Expiration = -1
	switch err := b.do(ctx, "cas", k, false, func(c *memcache.Client) error { return c.CompareAndSwap(it) }); err {
	case nil:
		return true, nil
	case memcache.ErrCASConflict, memcache.ErrNotStored, memcache.ErrCacheMiss:
		return false, nil
	default:
		return false, opError("cas", key, err)
	}
}

// Clear implements cache.Backend with flush_all on every server. Like
// Django's, it empties the servers whatever the cache's key prefix, and so
// removes other applications' data on a shared server too. A server of a
// pool that the flush does not reach makes Clear fail, and is flushed
// when it answers again, before its keys are served.
func (b *Backend) Clear(ctx context.Context) error {
	if err := b.ready(ctx); err != nil {
		return err
	}
	if err := b.eachServer(ctx, "flush_all", true, (*memcache.Client).FlushAll); err != nil {
		return fmt.Errorf("memcached: flush_all: %w", err)
	}
	return nil
}

// Ping checks that every server answers (memcached's version command).
func (b *Backend) Ping(ctx context.Context) error {
	if err := b.ready(ctx); err != nil {
		return err
	}
	if err := b.eachServer(ctx, "version", false, (*memcache.Client).Ping); err != nil {
		return fmt.Errorf("memcached: ping: %w", err)
	}
	return nil
}

// GetMany implements cache.ManyGetter with one multi-get per server, the
// servers queried concurrently: a round trip per server, whatever the
// number of keys. When some servers of a pool fail (or are marked down,
// or do not answer before ctx is done) while others answer, it returns
// the hits of those that answered with an error satisfying
// errors.Is(err, cache.ErrPartialOutage) that names the failed servers: a
// fail-open wrapper then serves the hits, and only the failed servers'
// keys miss.
func (b *Backend) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	if err := b.ready(ctx); err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	wire := make([]string, len(keys))
	var orig map[string]string // wire key → made key, when they differ
	for i, key := range keys {
		k, err := b.wireKey(key)
		if err != nil {
			return nil, err
		}
		wire[i] = k
		if k != key {
			if orig == nil {
				orig = map[string]string{}
			}
			orig[k] = key
		}
	}
	items, err := b.getMulti(ctx, wire)
	if err != nil && !errors.Is(err, cache.ErrPartialOutage) {
		return nil, fmt.Errorf("memcached: get_many of %d keys: %w", len(keys), err)
	}
	if err != nil {
		err = fmt.Errorf("memcached: get_many of %d keys: %w", len(keys), err)
	}
	for k, it := range items {
		key := k
		if o, ok := orig[k]; ok {
			key = o
		}
		v, verr := value(key, it)
		if verr != nil {
			return nil, verr
		}
		out[key] = v
	}
	return out, err
}

// SetMany implements cache.ManySetter. gomemcache has no multi-set, so it
// sends one set per entry, several at a time. The keys whose value the
// server refused (too large, out of memory) are returned as failed, as
// Django's set_many returns them; a network failure is an error. When only
// some servers of a pool fail, their keys are returned as failed too, with
// an error satisfying errors.Is(err, cache.ErrPartialOutage).
func (b *Backend) SetMany(ctx context.Context, entries []cache.Entry, timeout cache.Timeout) ([]string, error) {
	if err := b.ready(ctx); err != nil {
		return nil, err
	}
	exp := b.expiration(timeout)
	items := make([]memcache.Item, len(entries))
	for i, e := range entries {
		k, err := b.wireKey(e.Key)
		if err != nil {
			return nil, err
		}
		items[i] = memcache.Item{Key: k, Value: e.Value, Flags: b.flags(e.Value), Expiration: exp}
	}
	errs := b.each(ctx, len(items), func(i int) error {
		return b.doWrite(ctx, "set", items[i].Key, true, func(c *memcache.Client) error { return c.Set(&items[i]) })
	})
	var failed []string
	var partial error
	for i, err := range errs {
		switch {
		case err == nil:
		case refused(err):
			failed = append(failed, entries[i].Key)
		case errors.Is(err, cache.ErrPartialOutage):
			failed = append(failed, entries[i].Key)
			if partial == nil {
				partial = opError("set", entries[i].Key, err)
			}
		default:
			if ctxErr := ctx.Err(); ctxErr != nil && err == ctxErr {
				return nil, err
			}
			return nil, opError("set", entries[i].Key, err)
		}
	}
	return failed, partial
}

// DeleteMany implements cache.ManyDeleter with one delete per key, several
// at a time (gomemcache has no multi-delete).
func (b *Backend) DeleteMany(ctx context.Context, keys []string) error {
	_, err := b.DeleteManyCounted(ctx, keys)
	return err
}

// DeleteManyCounted implements cache.ManyDeleteCounter: DeleteMany,
// counting the keys memcached deleted (it reports a missing one).
func (b *Backend) DeleteManyCounted(ctx context.Context, keys []string) (int, error) {
	if err := b.ready(ctx); err != nil {
		return 0, err
	}
	wire := make([]string, len(keys))
	for i, key := range keys {
		k, err := b.wireKey(key)
		if err != nil {
			return 0, err
		}
		wire[i] = k
	}
	var deleted atomic.Int64
	errs := b.each(ctx, len(wire), func(i int) error {
		err := b.doWrite(ctx, "delete", wire[i], true, func(c *memcache.Client) error { return c.Delete(wire[i]) })
		switch err {
		case nil:
			deleted.Add(1)
		case memcache.ErrCacheMiss:
			return nil
		}
		return err
	})
	for i, err := range errs {
		if err != nil {
			if err == ctx.Err() {
				return int(deleted.Load()), err
			}
			return int(deleted.Load()), opError("delete", keys[i], err)
		}
	}
	return int(deleted.Load()), nil
}

// each runs f(0) … f(n-1), setManyConcurrency at a time, and returns their
// errors. Once ctx is done the calls not yet started report ctx.Err().
func (b *Backend) each(ctx context.Context, n int, f func(i int) error) []error {
	errs := make([]error, n)
	if n == 1 {
		errs[0] = f(0)
		return errs
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < min(n, setManyConcurrency); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := ctx.Err(); err != nil {
					errs[i] = err
					continue
				}
				errs[i] = f(i)
			}
		}()
	}
	wg.Wait()
	return errs
}

// Close implements cache.Backend: it closes every connection, idle or in
// use (operations in flight then fail), and later operations fail with
// cache.ErrClosed. It is safe to call twice.
func (b *Backend) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	var err error
	for _, s := range b.servers {
		err = errors.Join(err, s.client.Close())
	}
	b.mu.Lock()
	conns := b.conns
	b.conns = nil
	b.mu.Unlock()
	for c := range conns {
		c.Conn.Close()
	}
	if err != nil {
		return fmt.Errorf("memcached: close: %w", err)
	}
	return nil
}

// trackedConn is a connection the Backend closes on Close.
type trackedConn struct {
	net.Conn
	b    *Backend
	once sync.Once
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.b.mu.Lock()
		delete(c.b.conns, c)
		c.b.mu.Unlock()
	})
	return err
}

func (b *Backend) dialTracked(ctx context.Context, network, address string) (net.Conn, error) {
	if b.closed.Load() {
		return nil, cache.ErrClosed
	}
	nc, err := b.dial(ctx, network, address)
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: nc, b: b}
	b.mu.Lock()
	if b.conns == nil { // closed meanwhile
		b.mu.Unlock()
		nc.Close()
		return nil, cache.ErrClosed
	}
	b.conns[tc] = struct{}{}
	b.mu.Unlock()
	return tc, nil
}
