package redis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	goredis "github.com/redis/go-redis/v9"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/internal/pickle"
	"github.com/fragcache/fragcache/internal/pystr"
)

// Defaults for Options fields left zero. A cache should fail fast: the
// caller can always render what it wanted to fetch.
const (
	// DefaultDialTimeout bounds connecting to a server.
	DefaultDialTimeout = time.Second
	// DefaultReadTimeout bounds waiting for a reply on a connection.
	DefaultReadTimeout = time.Second
	// DefaultWriteTimeout bounds writing a command on a connection.
	DefaultWriteTimeout = time.Second
	// DefaultMaxRetries is how many times a command that failed on a broken
	// connection is retried (once: a connection the server closed, say
	// after a restart, is replaced without failing the caller).
	DefaultMaxRetries = 1
	// DefaultScanCount is the COUNT hint of the SCAN calls DeletePattern
	// makes, and the most keys it deletes with one DEL.
	DefaultScanCount = 1000
	// DefaultDatabases is the number of databases a server has unless
	// configured otherwise (Redis's "databases 16"): db must be below it.
	DefaultDatabases = 16
)

// Options configures a Backend made by New.
type Options struct {
	// Addrs lists the servers as "host:port" (the port defaults to 6379).
	// Writes go to Addrs[0]. Reads go to Addrs[0] when it is the only
	// server, and otherwise to one of Addrs[1:] chosen at random, as
	// Django does. Empty means "127.0.0.1:6379".
	Addrs []string
	// Username and Password authenticate on every server (AUTH; Username
	// for Redis 6 ACL users).
	Username, Password string
	// DB is the database number selected on every server.
	DB int
	// TLSConfig, if not nil, makes the connections use TLS.
	TLSConfig *tls.Config
	// DialTimeout, ReadTimeout and WriteTimeout bound connecting, reading
	// a reply and writing a command. Zero means the Default… constants; a
	// negative value means no timeout.
	DialTimeout, ReadTimeout, WriteTimeout time.Duration
	// PoolSize is the number of connections kept per server. Zero means
	// go-redis's default (10 per GOMAXPROCS).
	PoolSize int
	// MaxRetries is how many times a command failing on a network error is
	// retried. Zero means DefaultMaxRetries; negative means never.
	MaxRetries int
	// OpTimeout, if positive, bounds every operation, on top of the
	// caller's context deadline.
	OpTimeout time.Duration
	// ScanCount is the COUNT hint of DeletePattern's SCAN calls. Zero
	// means DefaultScanCount.
	ScanCount int
	// DjangoValues stores values as Django's RedisSerializer would store
	// the same kind of Python value, so that a Django process sharing the
	// database reads them with its pickle.loads, and reads Django's values
	// back as bytes. Writes: an integer written as Python's str() writes it
	// ("42", "-7"; no "+", no leading zero, no "-0", at most 4300 digits)
	// is stored as it is, as Django stores an int (so Incr still works on
	// it); any other valid UTF-8, the empty value included, is stored as
	// pickle.dumps(str, 5), and anything else as pickle.dumps(bytes, 5).
	// Reads: a value that starts as pickles of protocols 2 to 5 do (the
	// PROTO opcode 0x80, then a byte from 2 to 5; no UTF-8 text and no
	// decimal integer starts with 0x80) is decoded by a restricted decoder
	// that never runs code: a str or a Django SafeString (what {% cache %}
	// stores) reads as its UTF-8 text, bytes or bytearray as their bytes,
	// an int as its decimal digits; a pickle of anything else (a float, a
	// bool, None, a dict, an object) is a *ForeignValueError. Every other
	// value, and one that is truncated or otherwise malformed, reads as its
	// bytes.
	//
	// Without DjangoValues, values are stored and read as raw bytes: a
	// database shared with Django then exchanges only integers. Turning it
	// on for a database that already holds raw values is safe for text and
	// integers, which never look like pickles. A raw binary value written
	// before, starting with 0x80 and a byte from 2 to 5, may read as what
	// it holds as a pickle, or fail with a *ForeignValueError when it uses
	// opcodes the decoder refuses.
	DjangoValues bool
	// Near, if not nil, turns on the near cache: reads served from process
	// memory, invalidated by the server when any client changes a key it
	// holds (see the package documentation, "Near cache"). It needs
	// database 0.
	Near *NearOptions
	// Logger receives the backend's own messages (the near cache's
	// state). nil means slog.Default().
	Logger *slog.Logger
	// Cluster makes Addrs the seed nodes of a Redis Cluster, reached
	// through go-redis's ClusterClient (see the package documentation,
	// "Redis Cluster"). DB must be 0, Near nil and Sentinel nil.
	Cluster bool
	// Sentinel, if not nil, makes Addrs the addresses of Redis Sentinels
	// (the port defaults to 26379) that name the master, reached through
	// go-redis's failover client (see the package documentation, "Redis
	// Sentinel"). Near must be nil.
	Sentinel *SentinelOptions
}

// SentinelOptions configures a Backend over a master found through Redis
// Sentinel (Options.Sentinel).
type SentinelOptions struct {
	// MasterName is the name the sentinels monitor the master under
	// ("sentinel monitor NAME …"). Required.
	MasterName string
	// ReplicaReads sends reads (Get, GetMany, Has) to a replica the
	// sentinels list, chosen at random per connection (the master when
	// none is up), as Django's multi-server Redis cache reads from
	// replicas; writes go to the master. A read right after a write may
	// miss on a lagging replica.
	ReplicaReads bool
	// Username and Password authenticate on the sentinels (not on the
	// data servers, which take Options.Username and Options.Password).
	Username, Password string
}

// DefaultSentinelPort is the port of a sentinel address given without one.
const DefaultSentinelPort = "26379"

// Backend is the Redis backend. It implements cache.Backend and the
// optional cache.ManyGetter, cache.ManySetter, cache.ManyDeleter,
// cache.Incrementer and cache.Leaser. It is safe for concurrent use.
type Backend struct {
	// clients[0] takes writes; reads go to clients[0] if it is alone,
	// otherwise to clients[1:]. Over a Cluster, clients holds the one
	// *goredis.ClusterClient, also in cluster; otherwise each is a
	// *goredis.Client (a failover client over Sentinel).
	clients   []goredis.UniversalClient
	cluster   *goredis.ClusterClient // nil unless Options.Cluster
	names     []string               // server addresses for messages
	opTimeout time.Duration
	scanCount int
	django    bool       // Options.DjangoValues
	near      *nearCache // nil without Options.Near

	incr    *goredis.Script
	touch   *goredis.Script
	release *goredis.Script
	index   *goredis.Script
	members *goredis.Script

	closeOnce sync.Once
	closeErr  error
}

// Backend implements cache.Backend and these optional interfaces.
var (
	_ cache.Backend       = (*Backend)(nil)
	_ cache.ManyGetter    = (*Backend)(nil)
	_ cache.ManySetter    = (*Backend)(nil)
	_ cache.ManyDeleter   = (*Backend)(nil)
	_ cache.Incrementer   = (*Backend)(nil)
	_ cache.Leaser        = (*Backend)(nil)
	_ cache.Indexer       = (*Backend)(nil)
	_ cache.PrefixDeleter = (*Backend)(nil)
)

// Lua scripts. KEYS[1] is the made key.
const (
	// incrScript is Django's incr (EXISTS, then INCRBY) made atomic. A
	// missing key gives a nil reply. The result is read back with GET, as
	// a string: Lua turns INCRBY's integer reply into a double, which
	// loses precision beyond 2^53.
	incrScript = `if redis.call('exists', KEYS[1]) == 1 then redis.call('incrby', KEYS[1], ARGV[1]) return redis.call('get', KEYS[1]) else return false end`
	// persistScript is touch with no timeout: PERSIST, reporting whether
	// the key exists (PERSIST alone reports 0 for a key without expiry).
	persistScript = `if redis.call('exists', KEYS[1]) == 1 then redis.call('persist', KEYS[1]) return 1 else return 0 end`
	// releaseScript deletes a lease only if it still holds the caller's
	// token (ARGV[1]): compare and delete in one step.
	releaseScript = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`
	// indexAddScript adds ARGV[1] to the set KEYS[1] unless it holds
	// ARGV[3] members already (then it returns -1), and keeps the set at
	// least ARGV[2] seconds (0: without expiry), never shortening its life:
	// a set without expiry keeps none, and one with an expiry is extended
	// with EXPIRE GT (Redis 7) or made permanent.
	// membersScript returns the members of the set KEYS[1].
	membersScript  = `return redis.call('smembers', KEYS[1])`
	indexAddScript = `if redis.call('sismember', KEYS[1], ARGV[1]) == 0 and redis.call('scard', KEYS[1]) >= tonumber(ARGV[3]) then return -1 end
local fresh = redis.call('exists', KEYS[1]) == 0
redis.call('sadd', KEYS[1], ARGV[1])
local secs = tonumber(ARGV[2])
if secs == 0 then redis.call('persist', KEYS[1])
elseif fresh then redis.call('expire', KEYS[1], secs)
elseif redis.call('ttl', KEYS[1]) >= 0 then redis.call('expire', KEYS[1], secs, 'GT') end
return 1`
)

// New returns a Backend over the servers opts names: one server and its
// replicas, a Redis Cluster (Options.Cluster) or a master found through
// Redis Sentinel (Options.Sentinel). It does not connect: connections are
// made by the first operations, so New succeeds while the servers are down.
func New(opts Options) (*Backend, error) {
	if opts.DB < 0 {
		return nil, fmt.Errorf("%w: redis: negative database number %d", cache.ErrInvalidOption, opts.DB)
	}
	if opts.PoolSize < 0 {
		return nil, fmt.Errorf("%w: redis: negative pool size %d", cache.ErrInvalidOption, opts.PoolSize)
	}
	if opts.ScanCount < 0 {
		return nil, fmt.Errorf("%w: redis: negative scan count %d", cache.ErrInvalidOption, opts.ScanCount)
	}
	if err := opts.checkMode(); err != nil {
		return nil, err
	}
	defPort := "6379"
	if opts.Sentinel != nil {
		defPort = DefaultSentinelPort
	}
	addrs := make([]string, 0, len(opts.Addrs))
	for _, a := range opts.Addrs {
		addr, err := normalizeAddr(a, defPort)
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, addr)
	}
	if len(addrs) == 0 {
		addrs = []string{joinHostPort("127.0.0.1", defPort)}
	}
	if opts.Near != nil {
		near := *opts.Near
		if err := near.check(opts.DB); err != nil {
			return nil, err
		}
		opts.Near = &near
	}
	if opts.Cluster || opts.Sentinel != nil {
		var tc *tls.Config
		if opts.TLSConfig != nil {
			tc = opts.TLSConfig.Clone()
		}
		return newHABackend(addrs, &goredis.Options{Username: opts.Username, Password: opts.Password, DB: opts.DB, TLSConfig: tc}, opts), nil
	}
	cos := make([]*goredis.Options, len(addrs))
	for i, addr := range addrs {
		cos[i] = &goredis.Options{
			Addr:     addr,
			Username: opts.Username,
			Password: opts.Password,
			DB:       opts.DB,
		}
		if opts.TLSConfig != nil {
			cos[i].TLSConfig = opts.TLSConfig.Clone()
		}
	}
	return newBackend(cos, opts), nil
}

// checkMode checks what Cluster and Sentinel require of the other options.
func (opts *Options) checkMode() error {
	what := ""
	switch {
	case opts.Cluster && opts.Sentinel != nil:
		return fmt.Errorf("%w: redis: Cluster and Sentinel are exclusive", cache.ErrInvalidOption)
	case opts.Cluster:
		what = "Redis Cluster"
		if opts.DB != 0 {
			return fmt.Errorf("%w: redis: database %d on Redis Cluster, which has only database 0", cache.ErrInvalidOption, opts.DB)
		}
	case opts.Sentinel != nil:
		what = "Redis Sentinel"
		if opts.Sentinel.MasterName == "" {
			return fmt.Errorf("%w: redis: Sentinel without a master name (master=NAME)", cache.ErrInvalidOption)
		}
	default:
		return nil
	}
	if opts.Near != nil {
		return fmt.Errorf("%w: redis: the near cache (near_cache=1) is not available over %s: go-redis's client-side caching serves one server's connections only", cache.ErrInvalidOption, what)
	}
	return nil
}

// NewWithClients returns a Backend over clients made by the caller: writes
// go to primary, reads to primary when there are no replicas, otherwise to
// one of the replicas at random. The Backend sets nothing on the clients;
// give them Options.ContextTimeoutEnabled so that operations honour their
// contexts' deadlines. Close closes the clients. A nil client is an error
// wrapping cache.ErrInvalidOption. Values are stored as raw bytes (see
// Options.DjangoValues).
func NewWithClients(primary *goredis.Client, replicas ...*goredis.Client) (*Backend, error) {
	clients := append([]*goredis.Client{primary}, replicas...)
	for i, c := range clients {
		if c == nil {
			return nil, fmt.Errorf("%w: redis: client %d is nil", cache.ErrInvalidOption, i)
		}
	}
	b := newScripts(&Backend{
		clients:   make([]goredis.UniversalClient, len(clients)),
		names:     make([]string, len(clients)),
		scanCount: DefaultScanCount,
	})
	for i, c := range clients {
		b.clients[i] = c
		b.names[i] = c.Options().Addr
	}
	return b, nil
}

// newScripts sets b's Lua scripts and returns b.
func newScripts(b *Backend) *Backend {
	b.incr = goredis.NewScript(incrScript)
	b.touch = goredis.NewScript(persistScript)
	b.release = goredis.NewScript(releaseScript)
	b.index = goredis.NewScript(indexAddScript)
	b.members = goredis.NewScript(membersScript)
	return b
}

// newBase returns a Backend without clients, with what opts says of the
// rest.
func (opts *Options) newBase() *Backend {
	b := newScripts(&Backend{
		opTimeout: opts.OpTimeout,
		scanCount: opts.ScanCount,
		django:    opts.DjangoValues,
	})
	if b.scanCount == 0 {
		b.scanCount = DefaultScanCount
	}
	return b
}

// settings are the connection settings Options gives every client, with
// the package's defaults filled in.
type settings struct {
	dial, read, write time.Duration
	poolSize          int
	retries           int
}

func (opts *Options) settings() settings {
	s := settings{
		dial:     orDefault(opts.DialTimeout, DefaultDialTimeout),
		read:     orDefault(opts.ReadTimeout, DefaultReadTimeout),
		write:    orDefault(opts.WriteTimeout, DefaultWriteTimeout),
		poolSize: opts.PoolSize,
		retries:  opts.MaxRetries,
	}
	switch {
	case opts.MaxRetries == 0:
		s.retries = DefaultMaxRetries
	case opts.MaxRetries < 0:
		s.retries = -1
	}
	return s
}

// newBackend makes the clients from per-server go-redis options, filling in
// what opts says and the package defaults. opts.Near has been checked.
func newBackend(cos []*goredis.Options, opts Options) *Backend {
	b := opts.newBase()
	b.clients = make([]goredis.UniversalClient, len(cos))
	b.names = make([]string, len(cos))
	set := opts.settings()
	for _, co := range cos {
		co.DialTimeout, co.ReadTimeout, co.WriteTimeout = set.dial, set.read, set.write
		co.PoolSize, co.MaxRetries = set.poolSize, set.retries
		// One dial attempt per command: go-redis would otherwise retry a
		// refused connection five times, 100 ms apart.
		co.DialerRetries = 1
		co.ContextTimeoutEnabled = true
	}
	if opts.Near != nil {
		// The read servers keep copies; the primary, when it only takes
		// writes, has nothing to keep.
		readers := cos
		if len(cos) > 1 {
			readers = cos[1:]
		}
		b.near = newNearCache(*opts.Near, readers, opts.Logger)
	}
	plain := make([]*goredis.Client, len(cos))
	for i, co := range cos {
		plain[i] = goredis.NewClient(co)
		b.clients[i] = plain[i]
		b.names[i] = co.Addr
	}
	if b.near != nil {
		for i, r := range b.near.readers {
			r.client = plain[len(plain)-len(b.near.readers)+i]
		}
	}
	return b
}

// newHABackend makes the client of a Cluster (opts.Cluster: addrs are
// seeds) or the failover clients of a Sentinel setup (addrs are
// sentinels): the master's, and with ReplicaReads a second one reading
// from replicas. base holds the credentials, database and TLS settings.
// opts has been checked (checkMode).
func newHABackend(addrs []string, base *goredis.Options, opts Options) *Backend {
	b := opts.newBase()
	set := opts.settings()
	list := strings.Join(addrs, ",")
	if opts.Cluster {
		b.cluster = goredis.NewClusterClient(&goredis.ClusterOptions{
			Addrs:    addrs,
			Username: base.Username, Password: base.Password,
			TLSConfig:   base.TLSConfig,
			DialTimeout: set.dial, ReadTimeout: set.read, WriteTimeout: set.write,
			PoolSize: set.poolSize, MaxRetries: set.retries,
			DialerRetries:         1,
			ContextTimeoutEnabled: true,
			// go-redis's request/response policies route keyless and
			// multi-shard commands; every command sent through this
			// client has a key (Clear and the SCANs go to each master
			// explicitly), and legacy routing by the first key costs
			// a cluster Get the same allocations as a single server's
			// (four fewer).
			DisableRoutingPolicies: true,
		})
		b.clients = []goredis.UniversalClient{b.cluster}
		b.names = []string{"Redis Cluster " + list}
		return b
	}
	s := opts.Sentinel
	failover := func(replicas bool) *goredis.Client {
		return goredis.NewFailoverClient(&goredis.FailoverOptions{
			MasterName:       s.MasterName,
			SentinelAddrs:    addrs,
			SentinelUsername: s.Username, SentinelPassword: s.Password,
			ReplicaOnly: replicas,
			Username:    base.Username, Password: base.Password,
			DB:          base.DB,
			TLSConfig:   base.TLSConfig,
			DialTimeout: set.dial, ReadTimeout: set.read, WriteTimeout: set.write,
			PoolSize: set.poolSize, MaxRetries: set.retries,
			DialerRetries:         1,
			ContextTimeoutEnabled: true,
		})
	}
	b.clients = []goredis.UniversalClient{failover(false)}
	b.names = []string{fmt.Sprintf("master %q (sentinels %s)", s.MasterName, list)}
	if s.ReplicaReads {
		b.clients = append(b.clients, failover(true))
		b.names = append(b.names, fmt.Sprintf("a replica of %q (sentinels %s)", s.MasterName, list))
	}
	return b
}

// orDefault maps 0 to def and a negative duration to go-redis's "no
// timeout" (-1).
func orDefault(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return -1
	}
	return d
}

// normalizeAddr adds the default port defPort to a host.
func normalizeAddr(a, defPort string) (string, error) {
	if a == "" {
		return "", fmt.Errorf("%w: redis: empty server address", cache.ErrInvalidOption)
	}
	host, port, err := splitHostPort(a, defPort)
	if err != nil {
		return "", fmt.Errorf("%w: redis: server address %q: %v", cache.ErrInvalidOption, a, err)
	}
	return joinHostPort(host, port), nil
}

// Clients returns the go-redis clients, the primary first, for commands
// the Backend does not offer: over Sentinel, the failover client of the
// master, then with replica reads the one of the replicas. Over a Cluster
// it returns nil: see Cluster. The Backend owns them: do not close them.
func (b *Backend) Clients() []*goredis.Client {
	if b.cluster != nil {
		return nil
	}
	out := make([]*goredis.Client, len(b.clients))
	for i, c := range b.clients {
		out[i] = c.(*goredis.Client)
	}
	return out
}

// Servers describes where the backend sends commands, for people: each
// server's address; "Redis Cluster h1:7000, …" (the seed nodes) over a
// Cluster; `master "NAME" (sentinels …)` over Sentinel, then the replica
// reads when ReplicaReads.
func (b *Backend) Servers() []string { return append([]string(nil), b.names...) }

// Cluster returns the go-redis cluster client of a Backend over a Redis
// Cluster (Options.Cluster), else nil. The Backend owns it: do not close it.
func (b *Backend) Cluster() *goredis.ClusterClient { return b.cluster }

// writer returns the client writes go to.
func (b *Backend) writer() goredis.UniversalClient { return b.clients[0] }

// reader returns the client a read goes to and its index: the only server,
// or a random one of the replicas (Django's _get_connection_pool_index).
func (b *Backend) reader() (goredis.UniversalClient, int) {
	if len(b.clients) == 1 {
		return b.clients[0], 0
	}
	i := 1 + rand.IntN(len(b.clients)-1)
	return b.clients[i], i
}

// ctx applies the operation timeout, and marks the context of a near
// cache's command (see nearCtxKey).
func (b *Backend) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	if b.near != nil {
		ctx = context.WithValue(ctx, nearCtxKey{}, b.near)
	}
	if b.opTimeout > 0 {
		return context.WithTimeout(ctx, b.opTimeout)
	}
	return ctx, noCancel
}

func noCancel() {}

// fail wraps an error of a command sent to server i. When ctx is done the
// error also wraps ctx.Err(), so that errors.Is(err,
// context.DeadlineExceeded) holds after go-redis reports the deadline as a
// network timeout.
func (b *Backend) fail(ctx context.Context, cmd string, i int, err error) error {
	if b.cluster != nil && !errors.Is(err, goredis.ErrClosed) {
		// go-redis reloads the slot map on MOVED and ASK replies, and
		// otherwise once a minute: a master that died keeps its slots,
		// and its keys keep failing, after a replica took over. Any
		// failure asks for a reload, which go-redis runs in the
		// background, at most one at a time and 200ms apart.
		b.cluster.ReloadState(ctx)
	}
	return failOn(ctx, cmd, b.names[i], err)
}

// failOn is fail for a server named name.
func failOn(ctx context.Context, cmd, name string, err error) error {
	if errors.Is(err, goredis.ErrClosed) {
		return fmt.Errorf("redis %s on %s: %w (%w)", cmd, name, cache.ErrClosed, err)
	}
	ctxErr := ctx.Err()
	if ctxErr == nil {
		// The connection's deadline, set from the context's, may fire
		// just before the context's own timer.
		if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
			ctxErr = context.DeadlineExceeded
		}
	}
	if ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("redis %s on %s: %w (%w)", cmd, name, ctxErr, err)
	}
	return fmt.Errorf("redis %s on %s: %w", cmd, name, err)
}

// seconds maps a timeout reaching the backend to Django's
// get_backend_timeout for Redis: forever, or max(0, int(seconds)).
func seconds(t cache.Timeout) (secs int64, forever bool) {
	if t == cache.Forever {
		return 0, true
	}
	if t <= 0 {
		return 0, false
	}
	return int64(t) / int64(time.Second), false
}

// Get returns the value stored under key (GET on a read server), decoded
// as Options.DjangoValues says.
func (b *Backend) Get(ctx context.Context, key string) ([]byte, bool, error) {
	v, ok, err := b.read(ctx, key)
	if err != nil || !ok {
		return nil, false, err
	}
	if v, err = b.decode(key, v); err != nil {
		return nil, false, err
	}
	return v, true, nil
}

// read is GET on a read server (through the near cache when there is
// one): the stored bytes.
func (b *Backend) read(ctx context.Context, key string) ([]byte, bool, error) {
	if b.near != nil {
		return b.readNear(ctx, key)
	}
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	c, i := b.reader()
	v, err := c.Get(ctx, key).Result()
	if err != nil {
		if err == goredis.Nil {
			return nil, false, nil
		}
		return nil, false, b.fail(ctx, "GET", i, err)
	}
	return readOnlyBytes(v), true, nil
}

// readOnlyBytes returns the bytes of a reply string without copying them:
// go-redis hands replies over as strings, and values a backend returns are
// read-only for their callers (cache.Backend), so the bytes may be the
// string's own.
func readOnlyBytes(s string) []byte {
	if s == "" {
		return []byte{}
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// GetRaw implements cache.RawGetter: the stored bytes, undecoded. With
// Options.DjangoValues everything but a decimal integer is Django's pickle
// (Raw.Pickle); without it values are raw bytes.
func (b *Backend) GetRaw(ctx context.Context, key string) (cache.Raw, bool, error) {
	v, ok, err := b.read(ctx, key)
	if err != nil || !ok {
		return cache.Raw{}, false, err
	}
	return cache.Raw{Bytes: v, Pickle: b.django && looksPickled(v)}, true, nil
}

// GetMany returns the values of the keys present (one MGET on a read
// server), decoded as Get decodes them: a value Get fails on fails the
// whole call.
func (b *Backend) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	if b.near != nil {
		return b.getManyNear(ctx, keys)
	}
	if b.cluster != nil {
		return b.getManyCluster(ctx, keys)
	}
	out := make(map[string][]byte, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	c, i := b.reader()
	vals, err := c.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, b.fail(ctx, "MGET", i, err)
	}
	for j, v := range vals {
		if s, ok := v.(string); ok && j < len(keys) {
			d, err := b.decode(keys[j], readOnlyBytes(s))
			if err != nil {
				return nil, err
			}
			out[keys[j]] = d
		}
	}
	return out, nil
}

// encode returns the bytes stored for value (see Options.DjangoValues).
func (b *Backend) encode(value []byte) []byte {
	switch {
	case !b.django || pickle.IsCanonicalInt(value):
		return value
	case utf8.Valid(value):
		return pickle.EncodeString(string(value))
	}
	return pickle.EncodeBytes(value)
}

// protoOpcode is the pickle opcode every stream of protocol 2 and later
// starts with, followed by the protocol number: Django pickles with
// protocol 5, django-redis with 4.
const protoOpcode = 0x80

// looksPickled reports whether stored starts as a pickle of protocol 2 to
// 5 does. No UTF-8 text and no decimal integer does.
func looksPickled(stored []byte) bool {
	return len(stored) >= 2 && stored[0] == protoOpcode && stored[1] >= 2 && stored[1] <= 5
}

// decode returns the value stored bytes stand for (see
// Options.DjangoValues). The result never shares memory with a pickle.
func (b *Backend) decode(key string, stored []byte) ([]byte, error) {
	if !b.django || !looksPickled(stored) {
		return stored, nil
	}
	v, err := pickle.Decode(stored)
	switch {
	case errors.Is(err, pickle.ErrMalformed):
		return stored, nil // not a pickle: raw bytes
	case err != nil:
		return nil, &ForeignValueError{Key: key, Err: err}
	}
	if b, ok := v.PlainBytes(); ok {
		return b, nil
	}
	return nil, &ForeignValueError{Key: key, Python: v.Kind.String()}
}

// Set stores value under key: SET k v EX seconds, SET k v for Forever, DEL k
// when the timeout is under a second or expired.
func (b *Backend) Set(ctx context.Context, key string, value []byte, timeout cache.Timeout) error {
	defer b.near.drop(key)
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	c := b.writer()
	secs, forever := seconds(timeout)
	if !forever && secs == 0 {
		if err := c.Del(ctx, key).Err(); err != nil {
			return b.fail(ctx, "DEL", 0, err)
		}
		return nil
	}
	if err := c.Set(ctx, key, b.encode(value), time.Duration(secs)*time.Second).Err(); err != nil {
		return b.fail(ctx, "SET", 0, err)
	}
	return nil
}

// Add stores value under key if it is absent: SET k v NX EX seconds. With a
// timeout under a second or expired it does what Django does: SET k v NX,
// then DEL k if that stored, reporting whether it stored.
func (b *Backend) Add(ctx context.Context, key string, value []byte, timeout cache.Timeout) (bool, error) {
	defer b.near.drop(key)
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	c := b.writer()
	secs, forever := seconds(timeout)
	ok, err := c.SetNX(ctx, key, b.encode(value), time.Duration(secs)*time.Second).Result()
	if err != nil {
		return false, b.fail(ctx, "SET NX", 0, err)
	}
	if ok && !forever && secs == 0 {
		if err := c.Del(ctx, key).Err(); err != nil {
			return false, b.fail(ctx, "DEL", 0, err)
		}
	}
	return ok, nil
}

// Delete removes key (DEL) and reports whether it existed.
func (b *Backend) Delete(ctx context.Context, key string) (bool, error) {
	defer b.near.drop(key)
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	n, err := b.writer().Del(ctx, key).Result()
	if err != nil {
		return false, b.fail(ctx, "DEL", 0, err)
	}
	return n > 0, nil
}

// DeleteMany removes the keys with one DEL (over a Cluster, one DEL per
// key, pipelined to each master concurrently).
func (b *Backend) DeleteMany(ctx context.Context, keys []string) error {
	_, err := b.DeleteManyCounted(ctx, keys)
	return err
}

// DeleteManyCounted implements cache.ManyDeleteCounter with one DEL (over a
// Cluster, as DeleteMany does).
func (b *Backend) DeleteManyCounted(ctx context.Context, keys []string) (int, error) {
	defer b.near.drop(keys...)
	if len(keys) == 0 {
		return 0, nil
	}
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	if b.cluster != nil {
		return b.delCluster(ctx, b.cluster, keys)
	}
	n, err := b.writer().Del(ctx, keys...).Result()
	if err != nil {
		return 0, b.fail(ctx, "DEL", 0, err)
	}
	return int(n), nil
}

// Has reports whether key exists (EXISTS on a read server).
func (b *Backend) Has(ctx context.Context, key string) (bool, error) {
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	c, i := b.reader()
	n, err := c.Exists(ctx, key).Result()
	if err != nil {
		return false, b.fail(ctx, "EXISTS", i, err)
	}
	return n > 0, nil
}

// Touch gives key a new timeout and reports whether it existed: EXPIRE k
// seconds, EXPIRE k 0 (which deletes) when the timeout is under a second or
// expired, and PERSIST for Forever.
func (b *Backend) Touch(ctx context.Context, key string, timeout cache.Timeout) (bool, error) {
	defer b.near.drop(key)
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	c := b.writer()
	secs, forever := seconds(timeout)
	if forever {
		n, err := b.touch.Run(ctx, c, []string{key}).Int64()
		if err != nil {
			return false, b.fail(ctx, "PERSIST", 0, err)
		}
		return n == 1, nil
	}
	ok, err := c.Expire(ctx, key, time.Duration(secs)*time.Second).Result()
	if err != nil {
		return false, b.fail(ctx, "EXPIRE", 0, err)
	}
	return ok, nil
}

// Clear removes every key of the database (FLUSHDB on the write server;
// over a Cluster on every master, concurrently), whatever the key prefix,
// as Django does.
func (b *Backend) Clear(ctx context.Context) error {
	defer b.near.dropAll()
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	if b.cluster != nil {
		err := b.cluster.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error {
			if err := c.FlushDB(ctx).Err(); err != nil {
				return fmt.Errorf("master %s: %w", c.Options().Addr, err)
			}
			return nil
		})
		if err != nil {
			return b.fail(ctx, "FLUSHDB", 0, err)
		}
		return nil
	}
	if err := b.writer().FlushDB(ctx).Err(); err != nil {
		return b.fail(ctx, "FLUSHDB", 0, err)
	}
	return nil
}

// SetMany stores the entries in one transaction: MSET, then EXPIRE per key
// (none for Forever), as Django's set_many does. Over a Cluster, where a
// transaction cannot span slots, it sends SET k v EX t per key, pipelined
// to each master concurrently: all are sent, and an error reports the
// first that failed. With a timeout under a
// second or expired the keys are deleted, which is what MSET followed by
// EXPIRE 0 leaves. It never reports failed keys: it stores all or returns an
// error.
func (b *Backend) SetMany(ctx context.Context, entries []cache.Entry, timeout cache.Timeout) ([]string, error) {
	if b.near != nil {
		defer func() {
			for _, e := range entries {
				b.near.drop(e.Key)
			}
		}()
	}
	if len(entries) == 0 {
		return nil, nil
	}
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	c := b.writer()
	secs, forever := seconds(timeout)
	if !forever && secs == 0 {
		keys := make([]string, len(entries))
		for i, e := range entries {
			keys[i] = e.Key
		}
		if b.cluster != nil {
			_, err := b.delCluster(ctx, b.cluster, keys)
			return nil, err
		}
		if err := c.Del(ctx, keys...).Err(); err != nil {
			return nil, b.fail(ctx, "DEL", 0, err)
		}
		return nil, nil
	}
	if b.cluster != nil {
		return nil, b.setManyCluster(ctx, entries, time.Duration(secs)*time.Second)
	}
	pairs := make([]any, 0, 2*len(entries))
	for _, e := range entries {
		pairs = append(pairs, e.Key, b.encode(e.Value))
	}
	_, err := c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.MSet(ctx, pairs...)
		if !forever {
			ttl := time.Duration(secs) * time.Second
			for _, e := range entries {
				p.Expire(ctx, e.Key, ttl)
			}
		}
		return nil
	})
	if err != nil {
		return nil, b.fail(ctx, "MSET", 0, err)
	}
	return nil, nil
}

// Incr adds delta to the integer stored under key, atomically: one script
// runs Django's EXISTS check and INCRBY. A missing key is a
// *KeyNotFoundError; a value that is not a decimal integer, or a result
// overflowing an int64, is a *cache.NotIntegerError. The key keeps its
// expiry.
func (b *Backend) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	defer b.near.drop(key)
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	s, err := b.incr.Run(ctx, b.writer(), []string{key}, delta).Text()
	if err != nil {
		if err == goredis.Nil {
			return 0, &KeyNotFoundError{Key: key}
		}
		if msg := err.Error(); strings.Contains(msg, "not an integer or out of range") || strings.Contains(msg, "would overflow") {
			return 0, fmt.Errorf("%w (redis: %v)", &cache.NotIntegerError{Key: key}, err)
		}
		return 0, b.fail(ctx, "INCRBY", 0, err)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("redis INCRBY on %s: unexpected result %q: %w", b.names[0], s, err)
	}
	return n, nil
}

// AcquireLease implements cache.Leaser with SET key token NX PX ttl on the
// write server: the lease lasts ttl to the millisecond (rounded up), and
// its value is the token as it is, whatever Options.DjangoValues says.
func (b *Backend) AcquireLease(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("%w: redis: lease ttl %v is not positive", cache.ErrInvalidOption, ttl)
	}
	ttl = (ttl + time.Millisecond - 1).Truncate(time.Millisecond)
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	ok, err := b.writer().SetNX(ctx, key, token, ttl).Result()
	if err != nil {
		return false, b.fail(ctx, "SET NX PX", 0, err)
	}
	return ok, nil
}

// ReleaseLease implements cache.Leaser with a script that deletes the
// lease only if it still holds token, atomically.
func (b *Backend) ReleaseLease(ctx context.Context, key, token string) (bool, error) {
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	n, err := b.release.Run(ctx, b.writer(), []string{key}, token).Int64()
	if err != nil {
		return false, b.fail(ctx, "EVALSHA", 0, err)
	}
	return n == 1, nil
}

// DeletePattern deletes the keys matching a Redis glob pattern on made keys,
// as django-redis's delete_pattern does, and returns how many it deleted. It
// walks the write server's keys (every master's, one after the other, over
// a Cluster) with SCAN MATCH pattern COUNT n (never KEYS,
// which blocks the server) and deletes them in batches of at most n, so a
// large database is neither blocked nor loaded into memory at once.
//
// The pattern is matched against made keys: build it from the cache's key
// making, e.g. EscapePattern(c.MakeKey("views.")) + "*" for every key
// starting with "views." at the cache's prefix and version, or
// c.MakeKey("views.*") when the prefix holds none of *?[]\. Keys written
// during the walk may be missed or deleted.
func (b *Backend) DeletePattern(ctx context.Context, pattern string) (int, error) {
	return b.scanDelete(ctx, pattern, nil)
}

// scanDelete is DeletePattern deleting only the keys for which match
// reports true (nil: every key matching pattern).
func (b *Backend) scanDelete(ctx context.Context, pattern string, match func(string) bool) (int, error) {
	if b.cluster != nil {
		return b.scanDeleteCluster(ctx, pattern, match)
	}
	return b.scanDeleteOn(ctx, b.writer(), b.names[0], pattern, match)
}

// scanDeleteOn is scanDelete on one server, c, named name.
// Over a Cluster keys are deleted one per DEL (pipelined), as a DEL of
// keys of several slots fails.
func (b *Backend) scanDeleteOn(ctx context.Context, c goredis.UniversalClient, name string, pattern string, match func(string) bool) (int, error) {
	var (
		cursor  uint64
		deleted int
		batch   []string
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		var (
			n   int
			err error
		)
		if b.cluster != nil {
			n, err = b.delCluster(ctx, c, batch)
		} else {
			var n64 int64
			n64, err = c.Del(ctx, batch...).Result()
			n = int(n64)
			b.near.drop(batch...)
			if err != nil {
				err = failOn(ctx, "DEL", name, err)
			}
		}
		if err != nil {
			return err
		}
		deleted += n
		batch = batch[:0]
		return nil
	}
	for {
		keys, next, err := c.Scan(ctx, cursor, pattern, int64(b.scanCount)).Result()
		if err != nil {
			return deleted, failOn(ctx, "SCAN", name, err)
		}
		for _, k := range keys {
			if match != nil && !match(k) {
				continue
			}
			batch = append(batch, k)
			if len(batch) >= b.scanCount {
				if err := flush(); err != nil {
					return deleted, err
				}
			}
		}
		cursor = next
		if cursor == 0 {
			break
		}
	}
	if err := flush(); err != nil {
		return deleted, err
	}
	return deleted, nil
}

// IndexAdd implements cache.Indexer with a Redis set, added to and kept
// alive by one script (SADD; EXPIRE GT, so that the set lives at least as
// long as the longest-lived entry it lists). A full set drops the members
// whose keys are gone (SMEMBERS, EXISTS, SREM) and is tried once more.
// Redis evicts a set as any key under maxmemory with an allkeys policy;
// with volatile-* policies a set without expiry is never evicted.
func (b *Backend) IndexAdd(ctx context.Context, key, member string, timeout cache.Timeout) error {
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	secs, forever := seconds(timeout)
	if !forever && secs == 0 {
		return nil // an entry stored already expired: nothing to index
	}
	if forever {
		secs = 0
	}
	for try := 0; ; try++ {
		n, err := b.index.Run(ctx, b.writer(), []string{key}, member, secs, cache.MaxIndexMembers).Int64()
		if err != nil {
			return b.fail(ctx, "EVALSHA", 0, err)
		}
		if n >= 0 {
			return nil
		}
		if try > 0 {
			return fmt.Errorf("%w: redis: %q holds %d live keys", cache.ErrIndexFull, key, cache.MaxIndexMembers)
		}
		if err := b.compactIndex(ctx, key); err != nil {
			return err
		}
	}
}

// compactIndex removes from the set key the members whose keys are gone.
func (b *Backend) compactIndex(ctx context.Context, key string) error {
	c := b.writer()
	members, err := b.smembers(ctx, key)
	if err != nil {
		return err
	}
	// PTTL, not EXISTS: go-redis's client-side cache (near_cache=1) may
	// answer EXISTS from memory, and PTTL is not cacheable.
	ttls := make([]*goredis.DurationCmd, len(members))
	if _, err := c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, m := range members {
			ttls[i] = p.PTTL(ctx, m)
		}
		return nil
	}); err != nil {
		return b.fail(ctx, "PTTL", 0, err)
	}
	var gone []any
	for i, e := range ttls {
		if e.Val() == -2 { // go-redis reports a missing key as -2 (ns)
			gone = append(gone, members[i])
		}
	}
	if len(gone) == 0 {
		return nil
	}
	if err := c.SRem(ctx, key, gone...).Err(); err != nil {
		return b.fail(ctx, "SREM", 0, err)
	}
	return nil
}

// IndexMembers implements cache.Indexer with SMEMBERS.
func (b *Backend) IndexMembers(ctx context.Context, key string) ([]string, error) {
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	return b.smembers(ctx, key)
}

// smembers returns the members of the set key on the write server, read
// by a script: go-redis's client-side cache (near_cache=1) may answer a
// plain SMEMBERS from memory, with what the set held before a write.
func (b *Backend) smembers(ctx context.Context, key string) ([]string, error) {
	m, err := b.members.Run(ctx, b.writer(), []string{key}).StringSlice()
	if err != nil && err != goredis.Nil {
		return nil, b.fail(ctx, "EVALSHA", 0, err)
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

// IndexDelete implements cache.Indexer with DEL.
func (b *Backend) IndexDelete(ctx context.Context, key string) error {
	_, err := b.Delete(ctx, key)
	return err
}

// DeletePrefix implements cache.PrefixDeleter as DeletePattern does
// (SCAN MATCH, DEL in batches): every key starting with prefix (its glob
// characters escaped) that match accepts, those a Django process wrote
// included.
func (b *Backend) DeletePrefix(ctx context.Context, prefix string, match func(key string) bool) (int, error) {
	return b.scanDelete(ctx, EscapePattern(prefix)+"*", match)
}

// EscapePattern escapes the characters special to Redis glob patterns
// (* ? [ ] \) so that s matches itself in DeletePattern.
func EscapePattern(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			sb.WriteByte('\\')
		}
		sb.WriteByte(s[i])
	}
	return sb.String()
}

// Close closes the connections to every server. Later operations fail
// with an error wrapping cache.ErrClosed. Closing twice is not an error.
func (b *Backend) Close() error {
	b.closeOnce.Do(func() {
		var errs []error
		for _, c := range b.clients {
			if err := c.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		b.closeErr = errors.Join(errs...)
	})
	return b.closeErr
}

// ErrForeignValue is wrapped by the error of reading, with
// Options.DjangoValues, a Python pickle of anything but a str, a Django
// SafeString, bytes, a bytearray or an int: a float, a bool, None, a dict, a
// list, an object, a stream naming any other global. Pickles are never
// executed: such values are refused, not loaded.
// It is cache.ErrForeignValue, so that callers of any backend can test for
// it.
var ErrForeignValue = cache.ErrForeignValue

// ForeignValueError is the error of reading a value this backend does not
// read. It satisfies errors.Is(err, ErrForeignValue).
type ForeignValueError struct {
	// Key is the made key.
	Key string
	// Python is the Python type of a pickle that decoded to a value this
	// backend does not return ("bool", "float", "None"); empty otherwise.
	Python string
	// Err is why the pickle was refused by the restricted decoder (a dict,
	// a list, an object, a global other than Django's SafeString); nil
	// when Python is set.
	Err error
}

// Error names the key and what it holds.
func (e *ForeignValueError) Error() string {
	if e.Python != "" {
		return fmt.Sprintf("redis: key %q holds a Python pickle of %s, not text, bytes or an int, which this backend does not read", e.Key, e.Python)
	}
	return fmt.Sprintf("redis: key %q holds a Python pickle this backend does not read (pickles are never executed): %v", e.Key, e.Err)
}

// Is makes errors.Is(err, ErrForeignValue) true.
func (e *ForeignValueError) Is(target error) bool { return target == ErrForeignValue }

// Unwrap returns Err.
func (e *ForeignValueError) Unwrap() error { return e.Err }

// KeyNotFoundError is the error of Incr on a missing key. Its message is
// Django's Redis backend's, which names the made key and ends with a
// period: Key ':1:nope' not found.
type KeyNotFoundError struct {
	// Key is the made key.
	Key string
}

// Error returns Django's message.
func (e *KeyNotFoundError) Error() string {
	return "Key " + pystr.Repr(e.Key) + " not found."
}

// Is makes errors.Is(err, cache.ErrNotFound) true.
func (e *KeyNotFoundError) Is(target error) bool { return target == cache.ErrNotFound }
