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
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/cache/dummy"
)

// Exit codes.
const (
	exitOK       = 0
	exitError    = 1 // operational error
	exitUsage    = 2 // usage error
	exitNotFound = 3 // get or delete of a key that is not in the cache
)

// stdio is a command's standard streams.
type stdio struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// command is a subcommand.
type command struct {
	name     string
	synopsis string // one line, for the command list
	usage    string // the usage line
	help     string // what it does, before the flags
	// setup defines the flags on fs and returns the function that runs the
	// command with the positional arguments once the flags are parsed.
	setup func(fs *flag.FlagSet) func(args []string, std stdio) int
}

func commands() []*command {
	return []*command{
		keyCommand(), invalidateCommand(),
		getCommand(), setCommand(), deleteCommand(),
		clearCommand(), statsCommand(),
	}
}

func findCommand(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

const varyHelp = `VARY values are strings: Django turns every vary-on value into a string
with Python's str() before hashing it, so the integer 1 and the string "1"
give the same key. Write values as str() prints them: 1, 2.5, True, None,
[1, 'a']. A template variable that does not exist resolves to "" (pass '').
Flags go before NAME; every argument after NAME is a VARY value.
`

// mainUsage is the usage of the program.
func mainUsage(w io.Writer) {
	fmt.Fprint(w, "fragcache works with the template fragment caches of fragcache and Django.\n\nUsage:\n\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %s\n", c.usage)
	}
	fmt.Fprint(w, "  fragcache help [COMMAND]\n\nCommands:\n\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.synopsis)
	}
	fmt.Fprint(w, "  help        show this help, or a command's\n\n"+
		"Run \"fragcache COMMAND -h\" for a command's flags.\n"+
		"--cache defaults to $"+cacheEnv+".\n"+
		"Exit status: 0 success, 1 operational error, 2 usage error, 3 key not found.\n")
}

// commandUsage writes a command's usage and flags.
func commandUsage(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\nFlags:\n", c.usage, c.help)
	out := fs.Output()
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(out)
}

// run runs the command line args (without the program name) with the
// given standard streams and returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "fragcache: no command\n\n")
		mainUsage(stderr)
		return exitUsage
	}
	switch name := args[0]; name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && name == "help" {
			c := findCommand(args[1])
			if c == nil {
				fmt.Fprintf(stderr, "fragcache help: unknown command %q\n\n", args[1])
				mainUsage(stderr)
				return exitUsage
			}
			fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
			c.setup(fs)
			commandUsage(stdout, c, fs)
			return exitOK
		}
		mainUsage(stdout)
		return exitOK
	default:
		c := findCommand(name)
		if c == nil {
			fmt.Fprintf(stderr, "fragcache: unknown command %q\n\n", name)
			mainUsage(stderr)
			return exitUsage
		}
		return runCommand(c, args[1:], stdio{stdin, stdout, stderr})
	}
}

func runCommand(c *command, args []string, std stdio) int {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported below, help goes to stdout
	fs.Usage = func() {}
	exec := c.setup(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			commandUsage(std.stdout, c, fs)
			return exitOK
		}
		return usageError(std.stderr, c, err.Error())
	}
	return exec(fs.Args(), std)
}

// usageError reports a usage error, with the command's usage line, and
// returns exitUsage.
func usageError(stderr io.Writer, c *command, msg string) int {
	fmt.Fprintf(stderr, "fragcache %s: %s\nUsage: %s\nRun \"fragcache help %s\" for details.\n", c.name, msg, c.usage, c.name)
	return exitUsage
}

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
	cc, err := backends.Open(url, opts...)
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
	scheme *string
	prefixFlags
}

func defineKeyFlags(fs *flag.FlagSet, overrides bool) keyFlags {
	return keyFlags{
		scheme:      fs.String("scheme", "6.1", "the fragment key `scheme`: 6.1 (Django 6.1 and later) or legacy (Django 3.2 to 6.0)"),
		prefixFlags: definePrefixFlags(fs, overrides),
	}
}

// fragment checks the positional arguments and returns the fragment key.
func (kf keyFlags) fragment(c *command, args []string, stderr io.Writer) (string, int) {
	scheme, err := cache.ParseKeyScheme(*kf.scheme)
	if err != nil {
		return "", usageError(stderr, c, fmt.Sprintf("bad --scheme %q: want 6.1 or legacy", *kf.scheme))
	}
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
	for _, v := range vary {
		if looksLikeFlag(kf.fs, v) {
			fmt.Fprintf(stderr, "fragcache %s: warning: %q comes after NAME, so it is a VARY value, not a flag; put flags before NAME\n", c.name, v)
		}
	}
	anys := make([]any, len(vary))
	for i, v := range vary {
		anys[i] = v
	}
	return scheme.FragmentKey(name, anys...), exitOK
}

// looksLikeFlag reports whether arg is one of fs's flags (-x, --x, --x=v).
func looksLikeFlag(fs *flag.FlagSet, arg string) bool {
	if !strings.HasPrefix(arg, "-") {
		return false
	}
	name := strings.TrimLeft(arg, "-")
	name, _, _ = strings.Cut(name, "=")
	return name != "" && (fs.Lookup(name) != nil || name == "h" || name == "help")
}

func printKeys(w io.Writer, fragmentKey, madeKey string) {
	fmt.Fprintf(w, "fragment key: %s\nmade key: %s\n", fragmentKey, madeKey)
}

func warnKey(stderr io.Writer, c *command, madeKey string) {
	if err := cache.CheckKey(madeKey); err != nil {
		fmt.Fprintf(stderr, "fragcache %s: warning: %v\n", c.name, err)
	}
}

func keyCommand() *command {
	c := &command{
		name:     "key",
		synopsis: "print the cache key of a {% cache %} fragment",
		usage:    "fragcache key [--scheme 6.1|legacy] [--prefix P] [--version V] NAME [VARY...]",
		help: `Print the key of the {% cache %} fragment NAME with vary-on values VARY:
the fragment key (template.cache.NAME.<md5>, as Django's
make_template_fragment_key gives it) and the made key the cache stores
(PREFIX:VERSION:fragment key, Django's default KEY_FUNCTION).

` + varyHelp,
	}
	c.setup = func(fs *flag.FlagSet) func([]string, stdio) int {
		kf := defineKeyFlags(fs, false)
		return func(args []string, std stdio) int {
			fk, code := kf.fragment(c, args, std.stderr)
			if code != exitOK {
				return code
			}
			cc, err := cache.New(dummy.New(), cache.WithKeyPrefix(*kf.prefix), cache.WithDefaultVersion(*kf.version))
			if err != nil {
				fmt.Fprintf(std.stderr, "fragcache key: %v\n", err)
				return exitError
			}
			mk := cc.MakeKey(fk)
			printKeys(std.stdout, fk, mk)
			warnKey(std.stderr, c, mk)
			return exitOK
		}
	}
	return c
}

func invalidateCommand() *command {
	c := &command{
		name:     "invalidate",
		synopsis: "delete a {% cache %} fragment from a live cache",
		usage:    "fragcache invalidate --cache URL [--scheme 6.1|legacy] [--prefix P] [--version V] [--timeout D] NAME [VARY...]",
		help: `Delete the {% cache %} fragment NAME with vary-on values VARY from the
cache at URL, and print its keys and whether an entry was deleted. The key
prefix and version come from the URL (?key_prefix=P&version=V) unless
--prefix or --version is given. A fragment that is not there is not an
error (exit status 0). URLs: file:///var/tmp/fragcache,
memcached://127.0.0.1:11211, redis://127.0.0.1:6379/0 and those of any
other backend built in (memory:// and dummy:// are private to this
process, so they never hold anything). --cache defaults to $` + cacheEnv + `.

` + varyHelp,
	}
	c.setup = func(fs *flag.FlagSet) func([]string, stdio) int {
		cf := defineCacheFlags(fs)
		kf := defineKeyFlags(fs, true)
		return func(args []string, std stdio) int {
			if code := cf.check(c, std.stderr); code != exitOK {
				return code
			}
			fk, code := kf.fragment(c, args, std.stderr)
			if code != exitOK {
				return code
			}
			cc, code := cf.open(c, std.stderr, kf.overrides()...)
			if code != exitOK {
				return code
			}
			defer cc.Close()
			cf.warnPrivate(c, std.stderr, "there is nothing to delete")
			mk := cc.MakeKey(fk)
			ctx, cancel := cf.context()
			defer cancel()
			check := swallowed(cc)
			deleted, err := cc.Delete(ctx, fk)
			if err == nil {
				err = check()
			}
			printKeys(std.stdout, fk, mk)
			if err != nil {
				return cf.opError(c, std.stderr, fmt.Sprintf("deleting %q", mk), err)
			}
			if deleted {
				fmt.Fprintln(std.stdout, "deleted: yes")
			} else {
				fmt.Fprintln(std.stdout, "deleted: no (no such entry)")
			}
			return exitOK
		}
	}
	return c
}
