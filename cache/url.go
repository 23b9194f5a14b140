package cache

import (
	"fmt"
	"log/slog"
	"math"
	"net/url"
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
// options are read with the typed getters (Bool, Int, Float, Duration, Size,
// Timeout, String), or all at once from a table with Read; either way the
// URL records what was read, and Open rejects any option nobody read,
// naming it.
//
// Errors about an option name the option, its value and what was wanted,
// never the whole URL, and never the value of a secret option (password,
// secret, token, or one declared with URLSecret).
type URL struct {
	// Raw is the URL as given. It may hold passwords: show Redacted instead.
	Raw string
	// Scheme is the lower-cased scheme, e.g. "memory".
	Scheme string
	// Location is everything between "://" and "?" or "#", unescaped only
	// where the opener chooses to.
	Location string
	// Shared lets the openers of one OpenRegistry call share state, such as
	// two aliases naming the same in-memory store. It is nil for Open.
	Shared map[string]any

	query  url.Values
	read   map[string]bool
	secret map[string]bool
	django DjangoRelease
	logger *slog.Logger
}

// Logger returns the logger of the cache being opened: WithLogger among
// the options Open or OpenRegistry was given, else slog.Default(). Openers
// give it to what they build (the fail-open wrapper logs failures and
// breaker transitions through it), so that one logger reaches every layer.
func (u *URL) Logger() *slog.Logger {
	if u.logger == nil {
		return slog.Default()
	}
	return u.logger
}

// Django returns the Django release the cache is shared with: the URL's
// django= option, else WithDjango among the options Open was given; the
// zero DjangoRelease for none. Openers follow it for the value format
// (Django's pickles on Redis, Django's flags on memcached) unless the URL
// sets that option itself.
func (u *URL) Django() DjangoRelease { return u.django }

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
		return nil, fmt.Errorf("%w: %s cache URL: bad query: %v", ErrInvalidOption, scheme, err)
	}
	for name, vals := range q {
		if len(vals) > 1 {
			return nil, fmt.Errorf("%w: option %q given %d times in %s cache URL", ErrInvalidOption, name, len(vals), scheme)
		}
	}
	return &URL{Raw: raw, Scheme: strings.ToLower(scheme), Location: loc, query: q, read: map[string]bool{}, secret: map[string]bool{}}, nil
}

// Redacted returns the URL fit for messages and logs (see Redact).
func (u *URL) Redacted() string { return Redact(u.Raw) }

// Has reports whether the option is present, and marks it read.
func (u *URL) Has(name string) bool {
	u.read[name] = true
	_, ok := u.query[name]
	return ok
}

// String returns the option's value, or def when it is absent.
func (u *URL) String(name, def string) string {
	if v, ok := u.value(name); ok {
		return v
	}
	return def
}

// OptionError returns the error for a bad value of the option name: it
// wraps ErrInvalidOption and names the option, its value (hidden for a
// secret option) and want, what a good value looks like, e.g.
//
//	cache: invalid option: selector="x" in memcached cache URL: want django or gomemcache
//
// Openers use it for the options they parse themselves.
func (u *URL) OptionError(name, want string) error {
	v := u.query[name]
	value := ""
	if len(v) > 0 {
		value = v[0]
	}
	shown := strconv.Quote(value)
	if u.secret[name] || isSecretOption(name) {
		shown = "xxxxx"
	}
	return fmt.Errorf("%w: %s=%s in %s cache URL: want %s", ErrInvalidOption, name, shown, u.Scheme, want)
}

// Int returns the option as an integer within [min, max], or def when absent.
func (u *URL) Int(name string, def, min, max int) (int, error) {
	v, ok := u.value(name)
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < min || n > max {
		return def, u.OptionError(name, fmt.Sprintf("an integer from %d to %d", min, max))
	}
	return n, nil
}

// Float returns the option as a finite number within [min, max], or def
// when absent.
func (u *URL) Float(name string, def, min, max float64) (float64, error) {
	v, ok := u.value(name)
	if !ok {
		return def, nil
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < min || f > max {
		return def, u.OptionError(name, fmt.Sprintf("a number from %g to %g", min, max))
	}
	return f, nil
}

// Bool returns the option as a boolean (1/0, true/false, yes/no, on/off,
// in any case), or def when absent.
func (u *URL) Bool(name string, def bool) (bool, error) {
	v, ok := u.value(name)
	if !ok {
		return def, nil
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return def, u.OptionError(name, "1 or 0 (true or false)")
}

// Duration returns the option as a duration: a Go duration ("150ms", "2s")
// or a plain number of seconds ("1.5"). It must not be negative; what 0
// means is the opener's choice.
func (u *URL) Duration(name string, def time.Duration) (time.Duration, error) {
	v, ok := u.value(name)
	if !ok {
		return def, nil
	}
	d, err := parseDuration(v)
	if err != nil {
		return def, u.OptionError(name, `a non-negative duration such as "1.5" (seconds) or "200ms"`)
	}
	return d, nil
}

// parseDuration parses a non-negative Go duration or number of seconds.
func parseDuration(v string) (time.Duration, error) {
	s := strings.TrimSpace(v)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f < 0 || math.IsNaN(f) || f > float64(math.MaxInt64)/1e9 {
			return 0, ErrInvalidOption
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, ErrInvalidOption
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
		return def, u.OptionError(name, `a size such as "65536", "64KiB" or "64MiB"`)
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
		return def, u.OptionError(name, `seconds ("300", "1.5") or "none"`)
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

// CheckAllRead returns an error naming the first option nobody read, and
// the options that were read (the ones the openers know).
func (u *URL) CheckAllRead() error {
	unread := u.Unread()
	if len(unread) == 0 {
		return nil
	}
	known := make([]string, 0, len(u.read))
	for name := range u.read {
		known = append(known, name)
	}
	sort.Strings(known)
	return fmt.Errorf("%w: unknown option %q in %s cache URL (known: %s)", ErrInvalidOption, unread[0], u.Scheme, strings.Join(known, ", "))
}

// A URLOption is one row of an opener's table of query options: the
// option's name, and how URL.Read parses its value into a variable. The
// variable's value before Read is the default, kept when the option is
// absent. Make rows with URLBool, URLInt, URLFloat, URLDuration, URLSize,
// URLTimeout, URLString, URLSecret and URLFunc:
//
//	opts := Options{MaxEntries: 300}
//	err := u.Read(
//		cache.URLInt("max_entries", &opts.MaxEntries, 1, math.MaxInt32),
//		cache.URLDuration("sweep_interval", &opts.SweepInterval),
//	)
//
// A new option is then one more row.
type URLOption struct {
	name   string
	secret bool
	read   func(u *URL) error
}

// Name returns the option's name.
func (o URLOption) Name() string { return o.name }

// Read reads the options of a table into their variables, in order, and
// returns the first error. Every option of the table counts as read, given
// or not, so Open accepts them.
func (u *URL) Read(table ...URLOption) error {
	for _, o := range table {
		if o.secret {
			u.secret[o.name] = true
		}
	}
	for _, o := range table {
		if err := o.read(u); err != nil {
			return err
		}
	}
	return nil
}

// URLBool is a row for a boolean option (see URL.Bool).
func URLBool(name string, dst *bool) URLOption {
	return URLOption{name: name, read: func(u *URL) (err error) { *dst, err = u.Bool(name, *dst); return }}
}

// URLInt is a row for an integer option within [min, max] (see URL.Int).
func URLInt(name string, dst *int, min, max int) URLOption {
	return URLOption{name: name, read: func(u *URL) (err error) { *dst, err = u.Int(name, *dst, min, max); return }}
}

// URLFloat is a row for a number within [min, max] (see URL.Float).
func URLFloat(name string, dst *float64, min, max float64) URLOption {
	return URLOption{name: name, read: func(u *URL) (err error) { *dst, err = u.Float(name, *dst, min, max); return }}
}

// URLDuration is a row for a non-negative duration (see URL.Duration).
func URLDuration(name string, dst *time.Duration) URLOption {
	return URLOption{name: name, read: func(u *URL) (err error) { *dst, err = u.Duration(name, *dst); return }}
}

// URLSize is a row for a byte count (see URL.Size).
func URLSize(name string, dst *int64) URLOption {
	return URLOption{name: name, read: func(u *URL) (err error) { *dst, err = u.Size(name, *dst); return }}
}

// URLTimeout is a row for a Django timeout (see URL.Timeout).
func URLTimeout(name string, dst *Timeout) URLOption {
	return URLOption{name: name, read: func(u *URL) (err error) { *dst, err = u.Timeout(name, *dst); return }}
}

// URLString is a row for a string option.
func URLString(name string, dst *string) URLOption {
	return URLOption{name: name, read: func(u *URL) error { *dst = u.String(name, *dst); return nil }}
}

// URLSecret is a row for a string option whose value no message shows,
// such as a password.
func URLSecret(name string, dst *string) URLOption {
	o := URLString(name, dst)
	o.secret = true
	return o
}

// URLFunc is a row for an option the opener parses itself: parse receives
// the value when the option is given, and an error from it becomes
// URL.OptionError(name, want).
func URLFunc(name, want string, parse func(value string) error) URLOption {
	return URLOption{name: name, read: func(u *URL) error {
		v, ok := u.value(name)
		if !ok {
			return nil
		}
		if parse(v) != nil {
			return u.OptionError(name, want)
		}
		return nil
	}}
}

// isSecretOption reports whether the value of a query option is a secret
// that messages and Redact hide.
func isSecretOption(name string) bool {
	switch strings.ToLower(name) {
	case "password", "secret", "token":
		return true
	}
	return false
}

// Redact returns a cache URL fit for messages and logs: the password of
// every server's user information and the values of password, secret and
// token query options are replaced by "xxxxx". It works on malformed URLs
// too: when a server's part lacks an "@" but a later one has it, the
// password may hold an unencoded ";" or ",", so such parts show as "?" and
// every user information as "xxxxx". It is the one redaction helper of the
// project: use it for any message that shows a cache URL or its location.
func Redact(raw string) string {
	rest, frag, hasFrag := strings.Cut(raw, "#")
	loc, query, hasQuery := strings.Cut(rest, "?")
	scheme, loc, ok := strings.Cut(loc, "://")
	if !ok {
		return raw
	}
	out := scheme + "://" + redactLocation(loc)
	if hasQuery {
		opts := strings.Split(query, "&")
		for i, o := range opts {
			name, _, hasValue := strings.Cut(o, "=")
			n, err := url.QueryUnescape(name)
			if err != nil {
				n = name
			}
			if isSecretOption(n) && hasValue {
				opts[i] = name + "=xxxxx"
			}
		}
		out += "?" + strings.Join(opts, "&")
	}
	if hasFrag {
		out += "#" + frag
	}
	return out
}

// redactLocation hides the passwords of a location that may list several
// servers, separated by ";" or ",", each perhaps with its own scheme://.
func redactLocation(loc string) string {
	if !strings.Contains(loc, "@") {
		return loc
	}
	var parts []string
	var seps []byte
	start := 0
	for i := 0; i < len(loc); i++ {
		if loc[i] == ';' || loc[i] == ',' {
			parts, seps = append(parts, loc[start:i]), append(seps, loc[i])
			start = i + 1
		}
	}
	parts = append(parts, loc[start:])
	last := -1 // the last part with an "@"
	for i, p := range parts {
		if strings.Contains(p, "@") {
			last = i
		}
	}
	ambiguous := false // a part before the last "@" may be a piece of a password
	for _, p := range parts[:last] {
		if p != "" && !strings.Contains(p, "@") {
			ambiguous = true
		}
	}
	var sb strings.Builder
	for i, p := range parts {
		at := strings.LastIndexByte(p, '@')
		switch {
		case at < 0 && ambiguous && i < last && p != "":
			sb.WriteString("?")
		case at < 0:
			sb.WriteString(p)
		default:
			prefix, userinfo := "", p[:at]
			if s, rest, ok := strings.Cut(userinfo, "://"); ok {
				prefix, userinfo = s+"://", rest
			}
			user, _, hasPass := strings.Cut(userinfo, ":")
			switch {
			case ambiguous:
				userinfo = "xxxxx"
			case hasPass:
				userinfo = user + ":xxxxx"
			}
			sb.WriteString(prefix + userinfo + p[at:])
		}
		if i < len(seps) {
			sb.WriteByte(seps[i])
		}
	}
	return sb.String()
}

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
//	django      the Django release sharing the cache, e.g. 5.2.19, 4.2, 6.1.2 or
//	            3.2.25-debian (see WithDjango): fragment keys, page keys and
//	            values as that release makes and reads them
//	jitter      f with 0 <= f < 1 (default 0, off): each positive timeout t
//	            written becomes uniform in [t·(1−f), t], never below 1 s when
//	            t >= 1 s (see WithJitter)
//	lease       1 or 0 (default 0): one process among all computes a missing
//	            value, the others wait for it (see Stampede)
//	lease_ttl   how long a lease is held at most, as 10s (default 10s)
//	grace       serve values this long past their timeout while one process
//	            recomputes them, as 30s (default 0, off)
//	xfetch      1 or 0 (default 0): early probabilistic expiry (XFetch)
//	xfetch_beta XFetch's β, a positive number (default 1.0)
//
// Options given in opts apply after those of the URL, except WithDjango: a
// URL's django= wins, so that each alias of a registry keeps its release.
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
		return nil, fmt.Errorf("%w: %q (known: %s)", ErrUnknownScheme, u.Scheme, strings.Join(known, ", "))
	}
	common, err := commonOptions(u)
	if err != nil {
		return nil, err
	}
	// What the openers need of the options: the logger, and a release
	// given as an option (to OpenRegistry, say), which applies to the
	// backend's value format too.
	var cfg config
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	u.logger = cfg.logger
	if !u.Has("django") {
		if cfg.django != "" {
			if u.django, err = ParseDjangoRelease(cfg.django); err != nil {
				return nil, fmt.Errorf("WithDjango: %w", err)
			}
		}
	}
	b, err := opener(u)
	if err != nil {
		return nil, err
	}
	if err := u.CheckAllRead(); err != nil {
		b.Close()
		return nil, err
	}
	all := append(common, opts...)
	if u.Has("django") {
		// Each alias keeps its own release: the URL's wins over a
		// registry-wide WithDjango.
		all = append(all, WithDjango(u.django.String()))
	}
	c, err := New(b, all...)
	if err != nil {
		b.Close()
		return nil, err
	}
	return c, nil
}

// commonOptions reads the options every URL accepts, and returns those
// given as Options.
func commonOptions(u *URL) ([]Option, error) {
	var (
		timeout  Timeout
		prefix   string
		version  int
		keyCheck KeyCheck
		django   string
		jitter   float64
		stampede Stampede
	)
	if err := u.Read(
		URLFunc("django", "a Django release such as 5.2.19, 6.1 or 3.2.25-debian", func(v string) (err error) {
			django = v
			u.django, err = ParseDjangoRelease(v)
			return err
		}),
		URLTimeout("timeout", &timeout),
		URLString("key_prefix", &prefix),
		URLInt("version", &version, math.MinInt32, math.MaxInt32),
		URLFunc("key_check", "warn, reject or off", func(v string) (err error) {
			keyCheck, err = ParseKeyCheck(v)
			return err
		}),
		URLFunc("jitter", "a fraction f with 0 <= f < 1, such as 0.1", func(v string) error {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || !(f >= 0 && f < 1) {
				return ErrInvalidOption
			}
			jitter = f
			return nil
		}),
		URLBool("lease", &stampede.Lease),
		URLDuration("lease_ttl", &stampede.LeaseTTL),
		URLDuration("grace", &stampede.Grace),
		URLBool("xfetch", &stampede.XFetch),
		URLFloat("xfetch_beta", &stampede.XFetchBeta, math.SmallestNonzeroFloat64, math.MaxFloat64),
	); err != nil {
		return nil, err
	}
	var opts []Option
	if u.Has("timeout") {
		opts = append(opts, WithDefaultTimeout(timeout))
	}
	if u.Has("key_prefix") {
		opts = append(opts, WithKeyPrefix(prefix))
	}
	if u.Has("version") {
		opts = append(opts, WithDefaultVersion(version))
	}
	if u.Has("key_check") {
		opts = append(opts, WithKeyCheck(keyCheck))
	}
	if u.Has("django") {
		opts = append(opts, WithDjango(django))
	}
	if u.Has("jitter") {
		opts = append(opts, WithJitter(jitter))
	}
	if u.Has("xfetch_beta") && !stampede.XFetch {
		return nil, fmt.Errorf("%w: xfetch_beta=%v without xfetch=1 does nothing", ErrInvalidOption, stampede.XFetchBeta)
	}
	if stampede != (Stampede{}) {
		if err := stampede.Check(); err != nil {
			return nil, err
		}
		opts = append(opts, WithStampede(stampede))
	}
	return opts, nil
}
