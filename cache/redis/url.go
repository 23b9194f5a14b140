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
//	django_values  Options.DjangoValues: 1 or 0 (default 0); 1 to exchange values with Django
//
// The common options timeout, key_prefix, version and key_check are the
// cache's (see cache.Open). Messages about a bad URL never show the
// password. For a URL with a password option, Open itself rejects options
// no one has read (rather than cache.Open, whose message shows the query),
// so wrappers must read their options before calling Open, as
// cache/failopen's Opener does.
func Open(u *cache.URL) (cache.Backend, error) {
	useTLS := false
	switch u.Scheme {
	case "redis":
	case "rediss":
		useTLS = true
	default:
		return nil, fmt.Errorf("%w: redis: scheme %q (want redis or rediss)", cache.ErrInvalidOption, u.Scheme)
	}
	loc := locationForMessages(u)
	servers, err := parseLocation(u.Scheme, u.Location, loc)
	if err != nil {
		return nil, err
	}

	var opts Options
	o := optReader{u: u, loc: loc}
	username, hasUser := o.str("username")
	password, hasPass := o.str("password")
	optDB := o.int("db", -1, 0, math.MaxInt32)
	databases := o.int("databases", DefaultDatabases, 1, math.MaxInt32)
	opts.DialTimeout = o.duration("dial_timeout")
	opts.ReadTimeout = o.duration("read_timeout")
	opts.WriteTimeout = o.duration("write_timeout")
	opts.OpTimeout = o.duration("op_timeout")
	opts.PoolSize = o.int("pool_size", 0, 1, math.MaxInt32)
	retries := o.int("max_retries", DefaultMaxRetries, 0, 1000)
	opts.DjangoValues = o.bool("django_values")
	if o.err != nil {
		return nil, o.err
	}
	if retries == 0 {
		opts.MaxRetries = -1
	} else {
		opts.MaxRetries = retries
	}
	if hasPass {
		// cache.Open's message for an unknown option shows the query, and
		// so the password: reject unknown options here instead.
		if unread := u.Unread(); len(unread) > 0 {
			return nil, fmt.Errorf("%w: unknown option %q in redis cache URL %s", cache.ErrInvalidOption, unread[0], loc)
		}
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
	if db >= databases {
		return nil, fmt.Errorf("%w: redis cache URL %s: database %d is out of range: want 0 to %d (set databases=N for a server configured with more)", cache.ErrInvalidOption, loc, db, databases-1)
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
func parseLocation(scheme, location, msgLoc string) ([]server, error) {
	if location == "" {
		return []server{{addr: "127.0.0.1:6379", db: -1}}, nil
	}
	parts := strings.FieldsFunc(location, func(r rune) bool { return r == ';' || r == ',' })
	if len(parts) == 0 {
		return nil, fmt.Errorf("%w: redis cache URL %s names no server", cache.ErrInvalidOption, msgLoc)
	}
	// Parts are shown in messages only when no credentials could be in
	// them (a password holding ";" would be split across parts).
	secret := strings.Contains(location, "@")
	servers := make([]server, 0, len(parts))
	for n, p := range parts {
		shown := strconv.Quote(p)
		if secret {
			if at := strings.LastIndexByte(p, '@'); at >= 0 {
				shown = strconv.Quote("xxxxx" + p[at:])
			} else {
				shown = ""
			}
		}
		bad := func(what string) error {
			if shown == "" {
				// Perhaps a piece of a password: show nothing of it.
				return fmt.Errorf("%w: redis cache URL %s: server %d is malformed (a password holding \";\" or \",\" must be percent-encoded)", cache.ErrInvalidOption, msgLoc, n+1)
			}
			return fmt.Errorf("%w: redis cache URL %s: server %s: %s", cache.ErrInvalidOption, msgLoc, shown, what)
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
		host, port, err := splitHostPort(hostport)
		if err != nil {
			return nil, bad(err.Error())
		}
		s.addr = joinHostPort(host, port)
		servers = append(servers, s)
	}
	return servers, nil
}

// splitHostPort splits "host", "host:port", "[v6]" or "[v6]:port",
// defaulting the port to 6379.
func splitHostPort(hp string) (host, port string, err error) {
	switch {
	case strings.HasPrefix(hp, "["):
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return "", "", errors.New("unclosed [ in address")
		}
		host, rest := hp[1:end], hp[end+1:]
		switch {
		case rest == "":
			return host, "6379", nil
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
		port = "6379"
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
// the query. When the location holds credentials, each server's part shows
// only what follows its "@" (as xxxxx@host:port/db); a part without "@"
// then shows as "?", since it may be a piece of a password holding an
// unencoded ";" or ",".
func locationForMessages(u *cache.URL) string {
	loc := u.Location
	if strings.Contains(loc, "@") {
		parts := strings.FieldsFunc(loc, func(r rune) bool { return r == ';' || r == ',' })
		for i, p := range parts {
			if at := strings.LastIndexByte(p, '@'); at >= 0 {
				parts[i] = "xxxxx" + p[at:]
			} else {
				parts[i] = "?"
			}
		}
		loc = strings.Join(parts, ";")
	}
	return strconv.Quote(u.Scheme + "://" + loc)
}

// optReader reads options with the URL's String getter and parses them
// itself, so that its messages show only the option (cache.URL's typed
// getters show the whole URL, query included).
type optReader struct {
	u   *cache.URL
	loc string
	err error
}

func (o *optReader) str(name string) (string, bool) {
	if !o.u.Has(name) {
		return "", false
	}
	return o.u.String(name, ""), true
}

func (o *optReader) bad(name, value, want string) {
	if o.err == nil {
		shown := strconv.Quote(value)
		if name == "password" || name == "username" {
			shown = "(hidden)"
		}
		o.err = fmt.Errorf("%w: %s=%s in redis cache URL %s: want %s", cache.ErrInvalidOption, name, shown, o.loc, want)
	}
}

func (o *optReader) int(name string, def, min, max int) int {
	v, ok := o.str(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < min || n > max {
		o.bad(name, v, fmt.Sprintf("an integer from %d to %d", min, max))
		return def
	}
	return n
}

// bool reads 1/0, true/false, yes/no or on/off; absent is false.
func (o *optReader) bool(name string) bool {
	v, ok := o.str(name)
	if !ok {
		return false
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true
	case "0", "false", "no", "off":
		return false
	}
	o.bad(name, v, "1 or 0")
	return false
}

// duration reads a Go duration ("150ms") or seconds ("1.5"); "0" means no
// timeout, which is returned as -1 (Options' "none").
func (o *optReader) duration(name string) time.Duration {
	v, ok := o.str(name)
	if !ok {
		return 0
	}
	s := strings.TrimSpace(v)
	var d time.Duration
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f < 0 || math.IsNaN(f) || f > float64(math.MaxInt64)/1e9 {
			o.bad(name, v, `a non-negative duration such as "1.5" (seconds) or "200ms"`)
			return 0
		}
		d = time.Duration(f * float64(time.Second))
	} else {
		var err error
		d, err = time.ParseDuration(s)
		if err != nil || d < 0 {
			o.bad(name, v, `a non-negative duration such as "1.5" (seconds) or "200ms"`)
			return 0
		}
	}
	if d == 0 {
		return -1
	}
	return d
}
