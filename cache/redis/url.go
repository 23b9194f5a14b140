package redis

import (
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/fragcache/fragcache/cache"
)

// Open is the cache.Opener for Redis URLs:
//
//	redis://[[username]:password@]host[:port][/db][?options]
//	rediss://…                                  the same over TLS
//	redis://host1:6379;host2:6379/1             a primary and a replica (";" or ",")
//	redis://host1:6379/1;redis://host2:6379/1   the same, spelled as Django's LOCATION
//	redis+cluster://h1:7000;h2:7001;h3:7002     seed nodes of a Redis Cluster (database 0 only)
//	rediss+cluster://…                          the same over TLS (verified against the first seed's name)
//	redis+sentinel://s1;s2;s3[/db]?master=NAME  the master Redis Sentinels name (port 26379 by default)
//
// An empty location is 127.0.0.1:6379 and the port defaults to 6379.
// Credentials in a server's part apply to that server; the others take
// those of the username and password options, or else those of the first
// server that has some. Characters of a password that are special in URLs
// (@ : / ; , ? # %) must be percent-encoded. All servers use the same
// database: a /db on any server applies to all, and two different numbers
// are an error.
//
// Options:
//
//	db             database number (default 0; the same as a /db path)
//	databases      how many databases the server has (default 16): db must be below it
//	username       ACL user name (Redis 6+)
//	password       password (prefer putting it in the URL's user part)
//	dial_timeout   connect timeout (default 1s), e.g. "500ms" or "0.5"
//	read_timeout   reply timeout (default 1s)
//	write_timeout  write timeout (default 1s)
//	op_timeout     bound on each whole operation (default none)
//	pool_size      connections per server (default 10 per GOMAXPROCS)
//	max_retries    retries of a command failing on a broken connection (default 1; 0 for none)
//	django_values  Options.DjangoValues: 1 or 0 (default 0, or 1 with django=); 1 to exchange values with Django
//	near_cache          Options.Near: 1 or 0 (default 0); 1 keeps copies of what is read in process
//	                    memory, invalidated by Redis when anyone changes the key (database 0 only)
//	near_max_bytes      the near cache's memory bound per read server (default 64MiB; at least 64KiB),
//	                    in bytes or with a unit: 512KiB, 64MiB, 1GiB
//	near_max_staleness  how long a copy is served at most after it was fetched, whatever
//	                    happens (default 30s; never unbounded)
//	near_drain_interval how often idle connections are swept for invalidations (default 20ms)
//
// redis+sentinel:// URLs also take:
//
//	master             the name the sentinels monitor the master under (required)
//	replica_reads      1 or 0 (default 0): 1 reads from a replica (SentinelOptions.ReplicaReads)
//	sentinel_username  ACL user name on the sentinels
//	sentinel_password  password on the sentinels
//
// On redis+cluster:// and redis+sentinel:// URLs near_cache=1 is an error
// (see the package documentation), and on redis+cluster:// a database
// other than 0.
//
// The common options timeout, key_prefix, version, key_check, django and
// jitter are the cache's (see cache.Open). Messages about a bad URL never show the
// password (nor the value of the username option).
func Open(u *cache.URL) (cache.Backend, error) {
	forwardGoRedisLogs(u.Logger())
	var (
		useTLS   bool
		cluster  bool
		sentinel *SentinelOptions
		defPort  = "6379"
	)
	switch u.Scheme {
	case "redis":
	case "rediss":
		useTLS = true
	case "redis+cluster":
		cluster = true
	case "rediss+cluster":
		cluster, useTLS = true, true
	case "redis+sentinel":
		sentinel = &SentinelOptions{}
		defPort = DefaultSentinelPort
	default:
		return nil, fmt.Errorf("%w: redis: scheme %q (want redis, rediss, redis+cluster, rediss+cluster or redis+sentinel)", cache.ErrInvalidOption, u.Scheme)
	}
	loc := locationForMessages(u)
	servers, err := parseLocation(u.Scheme, u.Location, loc, defPort)
	if err != nil {
		return nil, err
	}

	var (
		// With django=, values are Django's unless django_values says so.
		opts               = Options{DjangoValues: !u.Django().IsZero()}
		username, password string
		optDB              = -1
		databases          = DefaultDatabases
		retries            = DefaultMaxRetries
		nearOn             bool
		near               NearOptions
	)
	if err := u.Read(
		cache.URLSecret("username", &username),
		cache.URLSecret("password", &password),
		cache.URLInt("db", &optDB, 0, math.MaxInt32),
		cache.URLInt("databases", &databases, 1, math.MaxInt32),
		cache.URLDuration("dial_timeout", &opts.DialTimeout),
		cache.URLDuration("read_timeout", &opts.ReadTimeout),
		cache.URLDuration("write_timeout", &opts.WriteTimeout),
		cache.URLDuration("op_timeout", &opts.OpTimeout),
		cache.URLInt("pool_size", &opts.PoolSize, 1, math.MaxInt32),
		cache.URLInt("max_retries", &retries, 0, 1000),
		cache.URLBool("django_values", &opts.DjangoValues),
		cache.URLBool("near_cache", &nearOn),
		cache.URLSize("near_max_bytes", &near.MaxBytes),
		cache.URLDuration("near_max_staleness", &near.MaxStaleness),
		cache.URLDuration("near_drain_interval", &near.DrainInterval),
	); err != nil {
		return nil, err
	}
	if sentinel != nil {
		if err := u.Read(
			cache.URLString("master", &sentinel.MasterName),
			cache.URLBool("replica_reads", &sentinel.ReplicaReads),
			cache.URLSecret("sentinel_username", &sentinel.Username),
			cache.URLSecret("sentinel_password", &sentinel.Password),
		); err != nil {
			return nil, err
		}
		if sentinel.MasterName == "" {
			return nil, fmt.Errorf("%w: redis+sentinel cache URL %s: master=NAME is required (the name the sentinels monitor)", cache.ErrInvalidOption, loc)
		}
	}
	if nearOn && (cluster || sentinel != nil) {
		return nil, fmt.Errorf("%w: %s cache URL %s: near_cache=1 is not available over Redis %s: go-redis's client-side caching serves one server's connections only", cache.ErrInvalidOption, u.Scheme, loc, map[bool]string{true: "Cluster", false: "Sentinel"}[cluster])
	}
	if !nearOn {
		for _, name := range []string{"near_max_bytes", "near_max_staleness", "near_drain_interval"} {
			if u.Has(name) {
				return nil, fmt.Errorf("%w: redis cache URL: %s without near_cache=1", cache.ErrInvalidOption, name)
			}
		}
	} else {
		if u.Has("near_max_staleness") && near.MaxStaleness == 0 {
			return nil, u.OptionError("near_max_staleness", "a positive duration: a near cache cannot be unbounded")
		}
		opts.Near = &near
	}
	opts.Logger = u.Logger()
	hasUser, hasPass := u.Has("username"), u.Has("password")
	// A duration of 0 is "none", which Options spells -1.
	for name, d := range map[string]*time.Duration{
		"dial_timeout": &opts.DialTimeout, "read_timeout": &opts.ReadTimeout,
		"write_timeout": &opts.WriteTimeout, "op_timeout": &opts.OpTimeout,
	} {
		if u.Has(name) && *d == 0 {
			*d = -1
		}
	}
	if retries == 0 {
		opts.MaxRetries = -1
	} else {
		opts.MaxRetries = retries
	}

	// One database for all servers.
	db := optDB
	for _, s := range servers {
		if s.db < 0 {
			continue
		}
		if db >= 0 && s.db != db {
			return nil, fmt.Errorf("%w: redis cache URL %s names databases %d and %d: all servers must use the same", cache.ErrInvalidOption, loc, db, s.db)
		}
		db = s.db
	}
	if db < 0 {
		db = 0
	}
	if cluster && db != 0 {
		return nil, fmt.Errorf("%w: %s cache URL %s: database %d: Redis Cluster has only database 0", cache.ErrInvalidOption, u.Scheme, loc, db)
	}
	if db >= databases {
		return nil, fmt.Errorf("%w: redis cache URL %s: database %d is out of range: want 0 to %d (set databases=N for a server configured with more)", cache.ErrInvalidOption, loc, db, databases-1)
	}
	if opts.Near != nil {
		if err := opts.Near.check(db); err != nil {
			return nil, fmt.Errorf("redis cache URL %s: %w", loc, err)
		}
	}

	// Credentials: a server's own, else the options', else the first
	// server's that has some.
	defUser, defPass, defSet := username, password, hasUser || hasPass
	if !defSet {
		for _, s := range servers {
			if s.hasAuth {
				defUser, defPass, defSet = s.user, s.pass, true
				break
			}
		}
	}
	if cluster || sentinel != nil {
		opts.Addrs = make([]string, len(servers))
		for i, s := range servers {
			opts.Addrs[i] = s.addr
		}
		opts.Username, opts.Password, opts.DB = defUser, defPass, db
		opts.Cluster, opts.Sentinel = cluster, sentinel
		if useTLS {
			// Cluster nodes are announced by address: verify them
			// against the name of the first seed.
			host, _, _ := net.SplitHostPort(servers[0].addr)
			opts.TLSConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
		return New(opts)
	}
	cos := make([]*goredis.Options, len(servers))
	for i, s := range servers {
		co := &goredis.Options{Addr: s.addr, DB: db, Username: defUser, Password: defPass}
		if s.hasAuth {
			co.Username, co.Password = s.user, s.pass
		}
		if useTLS {
			host, _, _ := net.SplitHostPort(s.addr)
			co.TLSConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
		cos[i] = co
	}
	return newBackend(cos, opts), nil
}

// server is one server of a location.
type server struct {
	addr       string
	user, pass string
	hasAuth    bool
	db         int // -1 when not given
}

// parseLocation splits a location into servers. msgLoc is the location as
// messages may show it.
func parseLocation(scheme, location, msgLoc, defPort string) ([]server, error) {
	if location == "" {
		return []server{{addr: joinHostPort("127.0.0.1", defPort), db: -1}}, nil
	}
	parts := strings.FieldsFunc(location, func(r rune) bool { return r == ';' || r == ',' })
	if len(parts) == 0 {
		return nil, fmt.Errorf("%w: redis cache URL %s names no server", cache.ErrInvalidOption, msgLoc)
	}
	// Parts are shown in messages only when no credentials could be in
	// them (a password holding ";" would be split across parts); msgLoc
	// is redacted.
	secret := strings.Contains(location, "@")
	servers := make([]server, 0, len(parts))
	for n, p := range parts {
		part := p
		bad := func(what string) error {
			if secret && !strings.Contains(part, "@") {
				// Perhaps a piece of a password: show nothing of it.
				return fmt.Errorf("%w: redis cache URL %s: server %d is malformed (a password holding \";\" or \",\" must be percent-encoded)", cache.ErrInvalidOption, msgLoc, n+1)
			}
			if secret {
				return fmt.Errorf("%w: redis cache URL %s: server %d: %s", cache.ErrInvalidOption, msgLoc, n+1, what)
			}
			return fmt.Errorf("%w: redis cache URL %s: server %q: %s", cache.ErrInvalidOption, msgLoc, part, what)
		}
		s := server{db: -1}
		p = strings.TrimSpace(p)
		if sch, rest, ok := strings.Cut(p, "://"); ok {
			if !strings.EqualFold(sch, scheme) {
				return nil, bad(fmt.Sprintf("scheme %q differs from the URL's %q", sch, scheme))
			}
			p = rest
		}
		if at := strings.LastIndexByte(p, '@'); at >= 0 {
			userinfo := p[:at]
			p = p[at+1:]
			user, pass, hasPass := strings.Cut(userinfo, ":")
			var err error
			if s.user, err = url.PathUnescape(user); err != nil {
				return nil, bad("bad percent-encoding in the user name")
			}
			if hasPass {
				if s.pass, err = url.PathUnescape(pass); err != nil {
					return nil, bad("bad percent-encoding in the password")
				}
			}
			s.hasAuth = true
		}
		hostport, path, hasPath := strings.Cut(p, "/")
		if hasPath && path != "" {
			db, err := strconv.Atoi(path)
			if err != nil || db < 0 {
				return nil, bad(fmt.Sprintf("database %q is not a number from 0", path))
			}
			s.db = db
		}
		if hostport == "" {
			hostport = "127.0.0.1"
		}
		host, port, err := splitHostPort(hostport, defPort)
		if err != nil {
			return nil, bad(err.Error())
		}
		s.addr = joinHostPort(host, port)
		servers = append(servers, s)
	}
	return servers, nil
}

// splitHostPort splits "host", "host:port", "[v6]" or "[v6]:port",
// defaulting the port to defPort.
func splitHostPort(hp, defPort string) (host, port string, err error) {
	switch {
	case strings.HasPrefix(hp, "["):
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return "", "", errors.New("unclosed [ in address")
		}
		host, rest := hp[1:end], hp[end+1:]
		switch {
		case rest == "":
			return host, defPort, nil
		case strings.HasPrefix(rest, ":"):
			port = rest[1:]
		default:
			return "", "", errors.New("unexpected text after ] in address")
		}
		return host, port, checkPort(port)
	case strings.Count(hp, ":") > 1:
		return "", "", errors.New("an IPv6 address needs brackets, as in [::1]:6379")
	}
	host, port, hasPort := strings.Cut(hp, ":")
	if !hasPort {
		port = defPort
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return host, port, checkPort(port)
}

func checkPort(port string) error {
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return nil
}

func joinHostPort(host, port string) string { return net.JoinHostPort(host, port) }

// locationForMessages returns the URL as messages show it, quoted, without
// the query, and with cache.Redact's hiding of credentials.
func locationForMessages(u *cache.URL) string {
	return strconv.Quote(cache.Redact(u.Scheme + "://" + u.Location))
}
