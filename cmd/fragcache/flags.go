package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/db"
	"github.com/fragcache/fragcache/cache/failopen"
	"github.com/fragcache/fragcache/cache/memory"
	"github.com/fragcache/fragcache/render"
	"github.com/fragcache/fragcache/tags"
	goredis "github.com/redis/go-redis/v9"
)

// cacheEnv is the environment variable --cache defaults to.
const cacheEnv = "FRAGCACHE_CACHE"

// cacheFlags are the flags of the commands that open a live cache: --cache
// (defaulting to $FRAGCACHE_CACHE) and --timeout.
type cacheFlags struct {
	fs      *flag.FlagSet
	url     *string
	timeout *time.Duration
}

func defineCacheFlags(fs *flag.FlagSet) cacheFlags {
	return cacheFlags{
		fs:      fs,
		url:     fs.String("cache", "", "the cache `URL`, e.g. file:///var/tmp/fragcache?key_prefix=site (required; default $"+cacheEnv+")"),
		timeout: fs.Duration("timeout", 10*time.Second, "give up on the cache after this `duration`"),
	}
}

// source returns the cache URL and where it came from: --cache when given,
// else $FRAGCACHE_CACHE.
func (cf cacheFlags) source() (url, from string) {
	if isSet(cf.fs, "cache") {
		return *cf.url, "--cache"
	}
	return os.Getenv(cacheEnv), cacheEnv
}

// check reports the usage errors of the cache flags: a missing URL or a
// timeout that is not positive. It returns exitOK when there are none.
func (cf cacheFlags) check(c *command, stderr io.Writer) int {
	url, from := cf.source()
	if url == "" {
		if from == "--cache" {
			return usageError(stderr, c, "empty --cache URL")
		}
		return usageError(stderr, c, "missing --cache URL (or $"+cacheEnv+")")
	}
	if *cf.timeout <= 0 {
		return usageError(stderr, c, "--timeout must be positive")
	}
	return exitOK
}

// open opens the cache, with opts applied after the URL's options. A
// malformed URL is a usage error; a cache that cannot be opened, an
// operational one. Call check first.
func (cf cacheFlags) open(c *command, stderr io.Writer, opts ...cache.Option) (*cache.Cache, int) {
	url, from := cf.source()
	cc, err := db.Open(url, opts...) // the built-in backends and sqlite://
	// The commands report errors themselves: keep go-redis quiet (opening a
	// redis:// cache forwards its lines to slog otherwise).
	goredis.SetLogger(quietRedis{})
	if err != nil {
		if errors.Is(err, cache.ErrInvalidOption) || errors.Is(err, cache.ErrUnknownScheme) {
			return nil, usageError(stderr, c, fmt.Sprintf("bad %s URL: %v", from, err))
		}
		fmt.Fprintf(stderr, "fragcache %s: opening the cache: %v\n", c.name, err)
		return nil, exitError
	}
	return cc, exitOK
}

// context returns the context of the cache operations: --timeout from now.
func (cf cacheFlags) context() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), *cf.timeout)
}

// scheme returns the lower-cased scheme of the cache URL.
func (cf cacheFlags) scheme() string {
	url, _ := cf.source()
	scheme, _, _ := strings.Cut(url, "://")
	return strings.ToLower(scheme)
}

// warnPrivate warns, when the cache URL is memory:// or dummy://, that the
// cache lives and dies with this process; consequence says what that means
// for the command. It reports whether it warned.
func (cf cacheFlags) warnPrivate(c *command, stderr io.Writer, consequence string) bool {
	switch scheme := cf.scheme(); scheme {
	case "memory", "dummy":
		fmt.Fprintf(stderr, "fragcache %s: warning: a %s:// cache lives inside one process; this one is new and empty, so %s\n", c.name, scheme, consequence)
		return true
	}
	return false
}

// opError reports the failure of a cache operation on what (e.g. "getting
// \"k\"") and returns its exit code: a key the cache rejects is a usage
// error, anything else an operational one.
func (cf cacheFlags) opError(c *command, stderr io.Writer, what string, err error) int {
	if ike := (*cache.InvalidKeyError)(nil); errors.As(err, &ike) {
		return usageError(stderr, c, fmt.Sprintf("%s: %v", what, err))
	}
	if errors.Is(err, context.DeadlineExceeded) {
		fmt.Fprintf(stderr, "fragcache %s: %s: %v (gave up after --timeout %v)\n", c.name, what, err, *cf.timeout)
		return exitError
	}
	fmt.Fprintf(stderr, "fragcache %s: %s: %v\n", c.name, what, err)
	return exitError
}

// isSet reports whether the flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// prefixFlags are --prefix and --version.
type prefixFlags struct {
	fs      *flag.FlagSet
	prefix  *string
	version *int
}

// definePrefixFlags defines --prefix and --version. With overrides they
// override the cache URL's key_prefix and version, and only when given.
func definePrefixFlags(fs *flag.FlagSet, overrides bool) prefixFlags {
	prefixHelp, versionHelp := "the cache's key prefix (Django's KEY_PREFIX)", "the cache's version (Django's VERSION)"
	if overrides {
		prefixHelp += ", instead of the URL's key_prefix"
		versionHelp += ", instead of the URL's version"
	}
	return prefixFlags{
		fs:      fs,
		prefix:  fs.String("prefix", "", prefixHelp),
		version: fs.Int("version", 1, versionHelp),
	}
}

// overrides returns the cache options of the flags given on the command
// line, to apply after the URL's.
func (pf prefixFlags) overrides() []cache.Option {
	var opts []cache.Option
	if isSet(pf.fs, "prefix") {
		opts = append(opts, cache.WithKeyPrefix(*pf.prefix))
	}
	if isSet(pf.fs, "version") {
		opts = append(opts, cache.WithDefaultVersion(*pf.version))
	}
	return opts
}

// keyFlags are the flags that choose a fragment's key.
type keyFlags struct {
	django    *string
	scheme    *string
	templates *string
	template  *string
	prefixFlags
}

func defineKeyFlags(fs *flag.FlagSet, overrides bool) keyFlags {
	return keyFlags{
		django:      fs.String("django", "", "the Django `release` sharing the cache, e.g. 5.2.19, 4.2 or 6.1 (its fragment key scheme; default: the cache URL's django=, else 6.1 and later)"),
		scheme:      fs.String("scheme", "", "the fragment key `scheme`, another way to say --django: 6.1 (Django 6.1 and later) or legacy (Django 3.2 to 6.0)"),
		templates:   fs.String("templates", "", "the template `directory` of a site rendering with template digests on (tags.Options.TemplateDigests); with --template"),
		template:    fs.String("template", "", "the `name` of the template (in --templates) holding the {% cache %} tag NAME: its template digest is added as the last VARY value"),
		prefixFlags: definePrefixFlags(fs, overrides),
	}
}

// keyScheme returns the key scheme the flags choose, or def when neither
// --django nor --scheme is given; ok is false (after a usage message) for a
// bad or contradictory value.
func (kf keyFlags) keyScheme(c *command, stderr io.Writer, def cache.KeyScheme) (cache.KeyScheme, int) {
	scheme := def
	if isSet(kf.fs, "django") {
		d, err := cache.ParseDjangoRelease(*kf.django)
		if err != nil {
			return 0, usageError(stderr, c, fmt.Sprintf("bad --django %q: want a Django release such as 5.2.19, 4.2, 6.1 or 3.2.25-debian", *kf.django))
		}
		scheme = d.KeyScheme()
	}
	if isSet(kf.fs, "scheme") {
		s, err := cache.ParseKeyScheme(*kf.scheme)
		if err != nil || *kf.scheme == "" {
			return 0, usageError(stderr, c, fmt.Sprintf("bad --scheme %q: want 6.1 or legacy", *kf.scheme))
		}
		if isSet(kf.fs, "django") && s != scheme {
			return 0, usageError(stderr, c, fmt.Sprintf("--scheme %s contradicts --django %s (whose scheme is %s)", *kf.scheme, *kf.django, scheme))
		}
		scheme = s
	}
	return scheme, exitOK
}

// overrides returns the cache options of the flags given on the command
// line, to apply after the URL's.
func (kf keyFlags) overrides() []cache.Option {
	opts := kf.prefixFlags.overrides()
	if isSet(kf.fs, "django") {
		opts = append(opts, cache.WithDjango(*kf.django))
	}
	return opts
}

// fragment checks the positional arguments and returns the fragment key
// under scheme.
func (kf keyFlags) fragment(c *command, args []string, stderr io.Writer, scheme cache.KeyScheme) (string, int) {
	if len(args) == 0 {
		return "", usageError(stderr, c, "missing NAME")
	}
	name, vary := args[0], args[1:]
	if name == "" {
		return "", usageError(stderr, c, "NAME is empty")
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' }) {
		fmt.Fprintf(stderr, "fragcache %s: warning: NAME %q holds white space; a {%% cache %%} tag cannot write such a name\n", c.name, name)
	}
	values := anys(vary)
	if *kf.templates != "" || *kf.template != "" {
		if *kf.templates == "" || *kf.template == "" {
			return "", usageError(stderr, c, "--templates and --template go together")
		}
		d, err := templateDigest(*kf.templates, *kf.template, name)
		if err != nil {
			fmt.Fprintf(stderr, "fragcache %s: %v\n", c.name, err)
			return "", exitUsage
		}
		values = append(values, d)
	}
	return scheme.FragmentKey(name, values...), exitOK
}

// templateDigest returns the template digest of the fragment name in the
// template tpl of the directory dir.
func templateDigest(dir, tpl, name string) (string, error) {
	st, err := memory.New(memory.Options{})
	if err != nil {
		return "", err
	}
	c, err := cache.New(st)
	if err != nil {
		return "", err
	}
	reg, err := cache.NewRegistry(map[string]*cache.Cache{cache.DefaultAlias: c})
	if err != nil {
		return "", err
	}
	rd, err := render.New(render.Options{FS: os.DirFS(dir), Registry: reg, TagOptions: tags.Options{TemplateDigests: true}})
	if err != nil {
		return "", err
	}
	defer rd.Close()
	t, err := rd.Template(tpl)
	if err != nil {
		return "", fmt.Errorf("template %q in %s: %w", tpl, dir, err)
	}
	return tags.TemplateDigest(t, name)
}

// anys returns the VARY strings as the vary values of a fragment key.
func anys(vary []string) []any {
	out := make([]any, len(vary))
	for i, v := range vary {
		out[i] = v
	}
	return out
}

const varyHelp = `With --templates DIR --template T, the template digest of the {% cache %}
tag NAME in the template T of DIR is added as the last VARY value: the key
that a site rendering with template digests on (tags.Options.TemplateDigests)
writes for the fragment.

VARY values are strings: Django turns every vary-on value into a string
with Python's str() before hashing it, so the integer 1 and the string "1"
give the same key. Write values as str() prints them: 1, 2.5, True, None,
[1, 'a']. A template variable that does not exist resolves to "" (pass '').
Flags may come anywhere; a VARY value that starts with "-" (such as -1)
goes after "--", which ends the flags: fragcache key -- sidebar -1.
`

// keyCommandFlags are the flags of the commands on keys: the cache flags,
// and --prefix and --version overriding the URL's.
type keyCommandFlags struct {
	cacheFlags
	prefixFlags
}

func defineKeyCommandFlags(fs *flag.FlagSet) keyCommandFlags {
	return keyCommandFlags{defineCacheFlags(fs), definePrefixFlags(fs, true)}
}

// open opens the cache with the --prefix and --version overrides.
func (kf keyCommandFlags) open(c *command, stderr io.Writer) (*cache.Cache, int) {
	return kf.cacheFlags.open(c, stderr, kf.overrides()...)
}

const keysHelp = `KEY is the caller's key: the cache stores it as PREFIX:VERSION:KEY, the
prefix and version coming from the URL (?key_prefix=P&version=V) unless
--prefix or --version is given. --cache defaults to $` + cacheEnv + `.
Flags may come anywhere; a KEY or VALUE that starts with "-" goes after "--".

The built-in memcached:// and redis:// caches fail open (unless the URL
says failopen=0): they turn errors into misses. These commands read the
fail-open wrapper's counters and report such a swallowed error as an
error (status 1), never as a miss or a success.
`

// keyArgs checks the positional arguments of a command on keys: want of
// them, or with variadic at least want, all KEYs; without variadic only the
// first is a KEY (set's VALUE follows it). KEYs must not be empty. what
// names the arguments in messages, e.g. "KEY VALUE".
func keyArgs(c *command, fs *flag.FlagSet, args []string, want int, variadic bool, what string, stderr io.Writer) int {
	switch {
	case len(args) < want:
		return usageError(stderr, c, "missing "+what)
	case len(args) > want && !variadic:
		return usageError(stderr, c, fmt.Sprintf("too many arguments: want %s, got %d arguments", what, len(args)))
	}
	keys := args
	if !variadic {
		keys = args[:1]
	}
	for _, k := range keys {
		if k == "" {
			return usageError(stderr, c, "KEY is empty")
		}
	}
	return exitOK
}

// swallowed returns a function that reports the failures a fail-open
// wrapper in cc has swallowed since swallowed was called, or nil. A command
// must not report a miss, a store or a delete that was really a cache it
// could not reach.
func swallowed(cc *cache.Cache) func() error {
	bs, ok := cache.As[failopen.Breaker](cc.Backend())
	if !ok {
		return func() error { return nil }
	}
	before := bs.Stats()
	return func() error {
		after := bs.Stats()
		switch {
		case after.Failures > before.Failures:
			return fmt.Errorf("%s (an error the fail-open wrapper hid)", after.LastError)
		case after.ShortCircuited > before.ShortCircuited:
			return errors.New("the cache keeps failing: its circuit breaker is open, so the call was skipped")
		}
		return nil
	}
}

// isInteractive reports whether r is a terminal a person can answer
// questions at: a terminal value, or a character device other than the
// null device.
func isInteractive(r io.Reader) bool {
	if t, ok := r.(terminal); ok {
		return t.IsTerminal()
	}
	f, ok := r.(*os.File)
	if !ok || f == nil {
		return false
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	if null, err := os.Stat(os.DevNull); err == nil && os.SameFile(fi, null) {
		return false
	}
	return true
}

// terminal is implemented by stdin readers that know whether a person is
// typing at them. Tests use it to stand for a terminal.
type terminal interface {
	IsTerminal() bool
}

// byteCount formats n bytes.
func byteCount(n int) string {
	if n == 1 {
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}
