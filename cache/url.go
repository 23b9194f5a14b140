package cache

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// URL is a parsed cache URL such as memory://sidebar?max_entries=1000,
// file:///var/tmp/fragcache, memcached://10.0.0.1:11211;10.0.0.2:11211 or
// redis://:secret@127.0.0.1:6379/1. It is what an Opener receives.
//
// The part between "://" and "?" is kept verbatim in Location (memcached and
// Redis locations list several servers, which net/url would reject). Query
// options are read with the typed getters, which record what was read: Open
// rejects any option nobody read, naming it.
type URL struct {
	// Raw is the URL as given.
	Raw string
	// Scheme is the lower-cased scheme, e.g. "memory".
	Scheme string
	// Location is everything between "://" and "?" or "#", unescaped only
	// where the opener chooses to.
	Location string
	// Shared lets the openers of one OpenRegistry call share state, such as
	// two aliases naming the same in-memory store. It is nil for Open.
	Shared map[string]any

	query url.Values
	read  map[string]bool
}

// ParseURL splits a cache URL into scheme, location and query options. It
// fails, wrapping ErrInvalidOption, on a missing scheme, a malformed query or
// an option given twice.
func ParseURL(raw string) (*URL, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || scheme == "" {
		return nil, fmt.Errorf("%w: cache URL %q has no scheme (want e.g. memory://, file:///path, memcached://host:port, redis://host:port/db)", ErrInvalidOption, Redact(raw))
	}
	for i, r := range scheme {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.')) {
			return nil, fmt.Errorf("%w: cache URL %q: bad scheme %q", ErrInvalidOption, Redact(raw), scheme)
		}
	}
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest = rest[:i]
	}
	loc, rawQuery, _ := strings.Cut(rest, "?")
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, fmt.Errorf("%w: cache URL %q: bad query: %v", ErrInvalidOption, Redact(raw), err)
	}
	for name, vals := range q {
		if len(vals) > 1 {
			return nil, fmt.Errorf("%w: cache URL %q: option %q given %d times", ErrInvalidOption, Redact(raw), name, len(vals))
		}
	}
	return &URL{Raw: raw, Scheme: strings.ToLower(scheme), Location: loc, query: q, read: map[string]bool{}}, nil
}

// Has reports whether the option is present, and marks it read.
func (u *URL) Has(name string) bool {
	u.read[name] = true
	_, ok := u.query[name]
	return ok
}

// String returns the option's value, or def when it is absent.
func (u *URL) String(name, def string) string {
	u.read[name] = true
	if v, ok := u.query[name]; ok {
		return v[0]
	}
	return def
}

func (u *URL) bad(name, value, want string) error {
	return fmt.Errorf("%w: %s=%q in cache URL %q: want %s", ErrInvalidOption, name, value, u.redacted(), want)
}

// Int returns the option as an integer within [min, max], or def when absent.
func (u *URL) Int(name string, def, min, max int) (int, error) {
	v, ok := u.value(name)
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		return def, u.bad(name, v, fmt.Sprintf("an integer from %d to %d", min, max))
	}
	return n, nil
}

// Bool returns the option as a boolean (1/0, true/false, yes/no, on/off), or
// def when absent.
func (u *URL) Bool(name string, def bool) (bool, error) {
	v, ok := u.value(name)
	if !ok {
		return def, nil
	}
	switch strings.ToLower(v) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return def, u.bad(name, v, "true or false")
}

// Duration returns the option as a duration: a Go duration ("150ms", "2s")
// or a plain number of seconds ("1.5"). It must not be negative.
func (u *URL) Duration(name string, def time.Duration) (time.Duration, error) {
	v, ok := u.value(name)
	if !ok {
		return def, nil
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if f < 0 || math.IsNaN(f) || f > float64(math.MaxInt64)/1e9 {
			return def, u.bad(name, v, "a non-negative duration")
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return def, u.bad(name, v, `a non-negative duration such as "1.5" (seconds) or "200ms"`)
	}
	return d, nil
}

// Size returns the option as a byte count: a number with an optional unit
// B, K/KB (1000), KiB (1024), M/MB, MiB, G/GB, GiB, case-insensitive, e.g.
// "64MiB". It must not be negative.
func (u *URL) Size(name string, def int64) (int64, error) {
	v, ok := u.value(name)
	if !ok {
		return def, nil
	}
	n, err := ParseSize(v)
	if err != nil {
		return def, u.bad(name, v, `a size such as "65536", "64KiB" or "64MiB"`)
	}
	return n, nil
}

// Timeout returns the option as a Django timeout: seconds ("300", "1.5"),
// "0" (expired at once), or "none"/"forever" (never expires).
func (u *URL) Timeout(name string, def Timeout) (Timeout, error) {
	v, ok := u.value(name)
	if !ok {
		return def, nil
	}
	t, err := ParseTimeout(v)
	if err != nil {
		return def, u.bad(name, v, `seconds ("300", "1.5") or "none"`)
	}
	return t, nil
}

func (u *URL) value(name string) (string, bool) {
	u.read[name] = true
	v, ok := u.query[name]
	if !ok {
		return "", false
	}
	return v[0], true
}

// Unread returns the options no getter has read, sorted.
func (u *URL) Unread() []string {
	var names []string
	for name := range u.query {
		if !u.read[name] {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// CheckAllRead returns an error naming the first option nobody read.
func (u *URL) CheckAllRead() error {
	if unread := u.Unread(); len(unread) > 0 {
		return fmt.Errorf("%w: unknown option %q in cache URL %q", ErrInvalidOption, unread[0], u.redacted())
	}
	return nil
}

// redacted is the URL for messages, without passwords.
func (u *URL) redacted() string { return Redact(u.Raw) }

// Redact returns a cache URL fit for messages and logs: the password of
// every server's user information and the values of password, secret and
// token query options are replaced by "xxxxx". It works on malformed URLs
// too.
func Redact(raw string) string {
	rest, frag, hasFrag := strings.Cut(raw, "#")
	loc, query, hasQuery := strings.Cut(rest, "?")
	scheme, loc, ok := strings.Cut(loc, "://")
	if !ok {
		return raw
	}
	loc = userinfoPassword.ReplaceAllString(loc, "${1}${2}:xxxxx@")
	out := scheme + "://" + loc
	if hasQuery {
		opts := strings.Split(query, "&")
		for i, o := range opts {
			name, _, hasValue := strings.Cut(o, "=")
			n, err := url.QueryUnescape(name)
			if err != nil {
				n = name
			}
			switch strings.ToLower(n) {
			case "password", "secret", "token":
				if hasValue {
					opts[i] = name + "=xxxxx"
				}
			}
		}
		out += "?" + strings.Join(opts, "&")
	}
	if hasFrag {
		out += "#" + frag
	}
	return out
}

// userinfoPassword matches the user:password@ part of a server in a cache
// URL's location, which may list several servers separated by ";" or ",",
// each perhaps with its own scheme://.
var userinfoPassword = regexp.MustCompile(`(^|[/;,])([^:@/;,?#]*):[^@/;,?#]*@`)

// ParseSize parses a byte count such as "65536", "64KiB", "1.5MB" or "2g".
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') && t[i-1] != '.' {
		i--
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult := float64(1)
	switch unit {
	case "", "b":
	case "k", "kb":
		mult = 1e3
	case "kib":
		mult = 1 << 10
	case "m", "mb":
		mult = 1e6
	case "mib":
		mult = 1 << 20
	case "g", "gb":
		mult = 1e9
	case "gib":
		mult = 1 << 30
	default:
		return 0, fmt.Errorf("%w: size %q: unknown unit %q", ErrInvalidOption, s, unit)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || math.IsNaN(f) || f*mult >= math.MaxInt64 {
		return 0, fmt.Errorf("%w: size %q", ErrInvalidOption, s)
	}
	return int64(f * mult), nil
}

// ParseTimeout parses a Django timeout in seconds: "300", "1.5", "0"
// (Expired), a negative number (expired), or "none"/"forever" (Forever).
func ParseTimeout(s string) (Timeout, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "none", "forever":
		return Forever, nil
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return DefaultTimeout, fmt.Errorf("%w: timeout %q", ErrInvalidOption, s)
	}
	return Seconds(f), nil
}

// Opener opens a backend from a parsed URL. It reads its options with the
// URL's getters; Open rejects the options it leaves unread.
type Opener func(u *URL) (Backend, error)

// Schemes maps URL schemes to openers. Package cache/backends provides one
// with every built-in backend; an application may add its own.
type Schemes map[string]Opener

// Open opens a cache from a URL with the given openers. Besides the
// backend's own options, every URL accepts:
//
//	timeout     the default timeout in seconds, or "none" (default 300)
//	key_prefix  Django's KEY_PREFIX (default "")
//	version     Django's VERSION (default 1)
//	key_check   warn, reject or off (see KeyCheck; the backend's choice by default)
//
// Options given in opts apply after those of the URL.
func Open(rawURL string, schemes Schemes, opts ...Option) (*Cache, error) {
	u, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	return openParsed(u, schemes, opts)
}

func openParsed(u *URL, schemes Schemes, opts []Option) (*Cache, error) {
	opener := schemes[u.Scheme]
	if opener == nil {
		known := make([]string, 0, len(schemes))
		for s := range schemes {
			known = append(known, s+"://")
		}
		sort.Strings(known)
		return nil, fmt.Errorf("%w: %q in cache URL %q (known: %s)", ErrUnknownScheme, u.Scheme, u.redacted(), strings.Join(known, ", "))
	}
	common, err := commonOptions(u)
	if err != nil {
		return nil, err
	}
	b, err := opener(u)
	if err != nil {
		return nil, err
	}
	if err := u.CheckAllRead(); err != nil {
		b.Close()
		return nil, err
	}
	c, err := New(b, append(common, opts...)...)
	if err != nil {
		b.Close()
		return nil, err
	}
	return c, nil
}

func commonOptions(u *URL) ([]Option, error) {
	var opts []Option
	if u.Has("timeout") {
		t, err := u.Timeout("timeout", DefaultTimeout)
		if err != nil {
			return nil, err
		}
		opts = append(opts, WithDefaultTimeout(t))
	}
	if u.Has("key_prefix") {
		opts = append(opts, WithKeyPrefix(u.String("key_prefix", "")))
	}
	if u.Has("version") {
		v, err := u.Int("version", 1, math.MinInt32, math.MaxInt32)
		if err != nil {
			return nil, err
		}
		opts = append(opts, WithVersion(v))
	}
	if u.Has("key_check") {
		v := u.String("key_check", "")
		kc, err := ParseKeyCheck(v)
		if err != nil {
			return nil, u.bad("key_check", v, "warn, reject or off")
		}
		opts = append(opts, WithKeyCheck(kc))
	}
	return opts, nil
}
