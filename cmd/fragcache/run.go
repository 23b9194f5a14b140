package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/cache/dummy"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // operational error
	exitUsage = 2 // usage error
)

// command is a subcommand.
type command struct {
	name     string
	synopsis string // one line, for the command list
	usage    string // the usage line
	help     string // what it does, before the flags
	// setup defines the flags on fs and returns the function that runs the
	// command with the positional arguments once the flags are parsed.
	setup func(fs *flag.FlagSet) func(args []string, stdout, stderr io.Writer) int
}

func commands() []*command {
	return []*command{keyCommand(), invalidateCommand()}
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
		"Exit status: 0 success, 1 operational error, 2 usage error.\n")
}

// commandUsage writes a command's usage and flags.
func commandUsage(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\nFlags:\n", c.usage, c.help)
	out := fs.Output()
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(out)
}

// run runs the command line args (without the program name) and returns
// the exit code.
func run(args []string, stdout, stderr io.Writer) int {
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
		return runCommand(c, args[1:], stdout, stderr)
	}
}

func runCommand(c *command, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported below, help goes to stdout
	fs.Usage = func() {}
	exec := c.setup(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			commandUsage(stdout, c, fs)
			return exitOK
		}
		return usageError(stderr, c, fs, err.Error())
	}
	return exec(fs.Args(), stdout, stderr)
}

// usageError reports a usage error, with the command's usage line, and
// returns exitUsage.
func usageError(stderr io.Writer, c *command, _ *flag.FlagSet, msg string) int {
	fmt.Fprintf(stderr, "fragcache %s: %s\nUsage: %s\nRun \"fragcache help %s\" for details.\n", c.name, msg, c.usage, c.name)
	return exitUsage
}

// keyFlags are the flags that choose a key.
type keyFlags struct {
	scheme  *string
	prefix  *string
	version *int
}

func defineKeyFlags(fs *flag.FlagSet, overrides bool) keyFlags {
	prefixHelp, versionHelp := "the cache's key prefix (Django's KEY_PREFIX)", "the cache's version (Django's VERSION)"
	if overrides {
		prefixHelp += ", instead of the URL's key_prefix"
		versionHelp += ", instead of the URL's version"
	}
	return keyFlags{
		scheme:  fs.String("scheme", "6.1", "the fragment key `scheme`: 6.1 (Django 6.1 and later) or legacy (Django 3.2 to 6.0)"),
		prefix:  fs.String("prefix", "", prefixHelp),
		version: fs.Int("version", 1, versionHelp),
	}
}

// fragment checks the positional arguments and returns the fragment key.
func (kf keyFlags) fragment(c *command, fs *flag.FlagSet, args []string, stderr io.Writer) (string, int) {
	scheme, err := cache.ParseKeyScheme(*kf.scheme)
	if err != nil {
		return "", usageError(stderr, c, fs, fmt.Sprintf("bad --scheme %q: want 6.1 or legacy", *kf.scheme))
	}
	if len(args) == 0 {
		return "", usageError(stderr, c, fs, "missing NAME")
	}
	name, vary := args[0], args[1:]
	if name == "" {
		return "", usageError(stderr, c, fs, "NAME is empty")
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' }) {
		fmt.Fprintf(stderr, "fragcache %s: warning: NAME %q holds white space; a {%% cache %%} tag cannot write such a name\n", c.name, name)
	}
	for _, v := range vary {
		if looksLikeFlag(fs, v) {
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
	c.setup = func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) int {
		kf := defineKeyFlags(fs, false)
		return func(args []string, stdout, stderr io.Writer) int {
			fk, code := kf.fragment(c, fs, args, stderr)
			if code != exitOK {
				return code
			}
			cc, err := cache.New(dummy.New(), cache.WithKeyPrefix(*kf.prefix), cache.WithVersion(*kf.version))
			if err != nil {
				fmt.Fprintf(stderr, "fragcache key: %v\n", err)
				return exitError
			}
			mk := cc.MakeKey(fk)
			printKeys(stdout, fk, mk)
			warnKey(stderr, c, mk)
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
error. URLs: file:///var/tmp/fragcache, memcached://127.0.0.1:11211, and
those of any other backend built in (memory:// and dummy:// are private to
this process, so they never hold anything).

` + varyHelp,
	}
	c.setup = func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) int {
		url := fs.String("cache", "", "the cache `URL`, e.g. file:///var/tmp/fragcache?key_prefix=site (required)")
		kf := defineKeyFlags(fs, true)
		timeout := fs.Duration("timeout", 10*time.Second, "give up on the cache after this `duration`")
		return func(args []string, stdout, stderr io.Writer) int {
			if *url == "" {
				return usageError(stderr, c, fs, "missing --cache URL")
			}
			if *timeout <= 0 {
				return usageError(stderr, c, fs, "--timeout must be positive")
			}
			fk, code := kf.fragment(c, fs, args, stderr)
			if code != exitOK {
				return code
			}
			var opts []cache.Option
			fs.Visit(func(f *flag.Flag) {
				switch f.Name {
				case "prefix":
					opts = append(opts, cache.WithKeyPrefix(*kf.prefix))
				case "version":
					opts = append(opts, cache.WithVersion(*kf.version))
				}
			})
			cc, err := backends.Open(*url, opts...)
			if err != nil {
				if errors.Is(err, cache.ErrInvalidOption) || errors.Is(err, cache.ErrUnknownScheme) {
					return usageError(stderr, c, fs, fmt.Sprintf("bad --cache URL: %v", err))
				}
				fmt.Fprintf(stderr, "fragcache invalidate: opening the cache: %v\n", err)
				return exitError
			}
			defer cc.Close()
			if scheme, _, _ := strings.Cut(*url, "://"); scheme == "memory" || scheme == "dummy" {
				fmt.Fprintf(stderr, "fragcache invalidate: warning: a %s:// cache lives inside one process; this one is new and empty, so there is nothing to delete\n", scheme)
			}
			mk := cc.MakeKey(fk)
			ctx, cancel := context.WithTimeout(context.Background(), *timeout)
			defer cancel()
			deleted, err := cc.Delete(ctx, fk)
			printKeys(stdout, fk, mk)
			if err != nil {
				fmt.Fprintf(stderr, "fragcache invalidate: deleting %q: %v\n", mk, err)
				return exitError
			}
			if deleted {
				fmt.Fprintln(stdout, "deleted: yes")
			} else {
				fmt.Fprintln(stdout, "deleted: no (no such entry)")
			}
			return exitOK
		}
	}
	return c
}
