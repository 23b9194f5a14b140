package main

import (
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/fragcache/fragcache/cache"
)

const keysHelp = `KEY is the caller's key: the cache stores it as PREFIX:VERSION:KEY, the
prefix and version coming from the URL (?key_prefix=P&version=V) unless
--prefix or --version is given. --cache defaults to $` + cacheEnv + `.
Flags go before KEY.

The built-in memcached:// and redis:// caches fail open (unless the URL
says failopen=0): they turn errors into misses. These commands read the
fail-open wrapper's counters and report such a swallowed error as an
error (status 1), never as a miss or a success.
`

// keyArgs checks the positional arguments of a command on keys: want of
// them, or with variadic at least want, all KEYs; without variadic only the
// first is a KEY (set's VALUE follows it). KEYs must not be empty; KEYs after
// the first that look like flags are warned about. what names the arguments
// in messages, e.g. "KEY VALUE".
func keyArgs(c *command, fs *flag.FlagSet, args []string, want int, variadic bool, what string, stderr io.Writer) int {
	switch {
	case len(args) < want:
		return usageError(stderr, c, "missing "+what)
	case len(args) > want && !variadic:
		msg := fmt.Sprintf("too many arguments: want %s, got %d arguments", what, len(args))
		for _, a := range args[want:] {
			if looksLikeFlag(fs, a) {
				msg += fmt.Sprintf("; %q comes after %s, so it is not read as a flag: put flags first", a, strings.Fields(what)[0])
				break
			}
		}
		return usageError(stderr, c, msg)
	}
	keys := args
	if !variadic {
		keys = args[:1]
	}
	for i, k := range keys {
		if k == "" {
			return usageError(stderr, c, "KEY is empty")
		}
		if i > 0 && looksLikeFlag(fs, k) {
			fmt.Fprintf(stderr, "fragcache %s: warning: %q comes after the first KEY, so it is a KEY, not a flag; put flags first\n", c.name, k)
		}
	}
	return exitOK
}

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

// isText reports whether v is printed as text: valid UTF-8 without control
// characters other than tab, newline and carriage return (NUL, escape
// sequences and the like would garble a terminal).
func isText(v []byte) bool {
	if !utf8.Valid(v) {
		return false
	}
	for _, r := range string(v) {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return false
		}
	}
	return true
}

func getCommand() *command {
	c := &command{
		name:     "get",
		synopsis: "print the value stored under a key",
		usage:    "fragcache get --cache URL [--prefix P] [--version V] [--timeout D] [--raw] KEY",
		help: `Print the value stored under KEY in the cache at URL. A text value (valid
UTF-8 without control characters other than tab, CR and LF) is printed as
is, with a newline added if it does not end with one; any other value is
printed as a hex dump (hexdump -C style), with a note on stderr. --raw
writes the value's exact bytes instead, with nothing added: use it to pipe
a value to a file or another program. A stored empty value is a hit.

A key that is not in the cache prints "not found" on stderr and exits
with status 3, so a script can tell a miss from an error (status 1).

` + keysHelp,
	}
	c.setup = func(fs *flag.FlagSet) func([]string, stdio) int {
		kf := defineKeyCommandFlags(fs)
		raw := fs.Bool("raw", false, "write the value's exact bytes to stdout, with nothing added")
		return func(args []string, std stdio) int {
			if code := kf.check(c, std.stderr); code != exitOK {
				return code
			}
			if code := keyArgs(c, fs, args, 1, false, "KEY", std.stderr); code != exitOK {
				return code
			}
			key := args[0]
			cc, code := kf.open(c, std.stderr)
			if code != exitOK {
				return code
			}
			defer cc.Close()
			cf := kf.cacheFlags
			cf.warnPrivate(c, std.stderr, "it holds nothing")
			ctx, cancel := cf.context()
			defer cancel()
			mk := cc.MakeKey(key)
			check := swallowed(cc)
			v, ok, err := cc.Get(ctx, key)
			if err == nil {
				err = check()
			}
			if err != nil {
				return cf.opError(c, std.stderr, fmt.Sprintf("getting %q", mk), err)
			}
			warnKey(std.stderr, c, mk)
			if !ok {
				fmt.Fprintf(std.stderr, "fragcache get: not found: %s (made key %s)\n", key, mk)
				return exitNotFound
			}
			switch {
			case *raw:
				_, err = std.stdout.Write(v)
			case isText(v):
				_, err = std.stdout.Write(v)
				if err == nil && (len(v) == 0 || v[len(v)-1] != '\n') {
					_, err = io.WriteString(std.stdout, "\n")
				}
			default:
				fmt.Fprintf(std.stderr, "fragcache get: the value is binary (%s): a hex dump follows; --raw writes the bytes\n", byteCount(len(v)))
				_, err = io.WriteString(std.stdout, hex.Dump(v))
			}
			if err != nil {
				fmt.Fprintf(std.stderr, "fragcache get: writing the value: %v\n", err)
				return exitError
			}
			return exitOK
		}
	}
	return c
}

// byteCount formats n bytes.
func byteCount(n int) string {
	if n == 1 {
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}

// ttlString describes how long a value stored with t lives.
func ttlString(t cache.Timeout) string {
	switch {
	case t.IsForever():
		return "never expires"
	case t.IsExpired():
		return "expired at once (the cache's default timeout is 0: nothing is retrievable)"
	}
	return "expires in " + t.Duration().String()
}

func setCommand() *command {
	c := &command{
		name:     "set",
		synopsis: "store a value under a key",
		usage:    "fragcache set --cache URL [--prefix P] [--version V] [--timeout D] [--ttl SECONDS|none] KEY VALUE|-",
		help: `Store VALUE under KEY in the cache at URL and print what was stored. A
VALUE of "-" reads the value from stdin, byte for byte (to store the
one-character value "-", pipe it: printf - | fragcache set KEY -).

--ttl is the time to live in seconds ("300", "1.5") or "none" (never
expires); without it the cache's default timeout applies (the URL's
timeout option, else 300 seconds). It must be positive: use delete to
remove a key.

` + keysHelp,
	}
	c.setup = func(fs *flag.FlagSet) func([]string, stdio) int {
		kf := defineKeyCommandFlags(fs)
		ttlFlag := fs.String("ttl", "", "the time to live: `SECONDS` or none (default: the cache's default timeout)")
		return func(args []string, std stdio) int {
			cf := kf.cacheFlags
			if code := cf.check(c, std.stderr); code != exitOK {
				return code
			}
			ttl := cache.DefaultTimeout
			if isSet(fs, "ttl") {
				t, err := cache.ParseTimeout(*ttlFlag)
				if err != nil || t.IsExpired() {
					return usageError(std.stderr, c, fmt.Sprintf("bad --ttl %q: want a positive number of seconds or none", *ttlFlag))
				}
				ttl = t
			}
			if code := keyArgs(c, fs, args, 2, false, "KEY VALUE", std.stderr); code != exitOK {
				return code
			}
			key, value := args[0], []byte(args[1])
			if args[1] == "-" {
				if isInteractive(std.stdin) {
					fmt.Fprintln(std.stderr, "fragcache set: reading the value from stdin; end it with Ctrl-D")
				}
				var err error
				if value, err = io.ReadAll(std.stdin); err != nil {
					fmt.Fprintf(std.stderr, "fragcache set: reading the value from stdin: %v\n", err)
					return exitError
				}
			}
			cc, code := kf.open(c, std.stderr)
			if code != exitOK {
				return code
			}
			defer cc.Close()
			cf.warnPrivate(c, std.stderr, "the value is lost when this command exits")
			ctx, cancel := cf.context()
			defer cancel()
			mk := cc.MakeKey(key)
			check := swallowed(cc)
			err := cc.Set(ctx, key, value, ttl)
			if err == nil {
				err = check()
			}
			if err != nil {
				return cf.opError(c, std.stderr, fmt.Sprintf("setting %q", mk), err)
			}
			warnKey(std.stderr, c, mk)
			if ttl == cache.DefaultTimeout {
				ttl = cc.DefaultTimeout()
			}
			fmt.Fprintf(std.stdout, "stored: %s (made key %s, %s, %s)\n", key, mk, byteCount(len(value)), ttlString(ttl))
			return exitOK
		}
	}
	return c
}

func deleteCommand() *command {
	c := &command{
		name:     "delete",
		synopsis: "delete keys",
		usage:    "fragcache delete --cache URL [--prefix P] [--version V] [--timeout D] KEY...",
		help: `Delete each KEY from the cache at URL, in order, printing "deleted: KEY" on
stdout for each key that was there, and "not found: KEY" on stderr for
each one that was not. The exit status is 3 when at least one KEY was not
found (the others are deleted all the same), 0 when all were. The first
error stops the command with status 1.

` + keysHelp,
	}
	c.setup = func(fs *flag.FlagSet) func([]string, stdio) int {
		kf := defineKeyCommandFlags(fs)
		return func(args []string, std stdio) int {
			cf := kf.cacheFlags
			if code := cf.check(c, std.stderr); code != exitOK {
				return code
			}
			if code := keyArgs(c, fs, args, 1, true, "KEY...", std.stderr); code != exitOK {
				return code
			}
			cc, code := kf.open(c, std.stderr)
			if code != exitOK {
				return code
			}
			defer cc.Close()
			cf.warnPrivate(c, std.stderr, "there is nothing to delete")
			ctx, cancel := cf.context()
			defer cancel()
			code = exitOK
			for _, key := range args {
				mk := cc.MakeKey(key)
				check := swallowed(cc)
				deleted, err := cc.Delete(ctx, key)
				if err == nil {
					err = check()
				}
				if err != nil {
					return cf.opError(c, std.stderr, fmt.Sprintf("deleting %q", mk), err)
				}
				warnKey(std.stderr, c, mk)
				if deleted {
					fmt.Fprintf(std.stdout, "deleted: %s\n", key)
				} else {
					fmt.Fprintf(std.stderr, "fragcache delete: not found: %s (made key %s)\n", key, mk)
					code = exitNotFound
				}
			}
			return code
		}
	}
	return c
}
