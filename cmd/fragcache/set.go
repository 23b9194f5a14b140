package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/fragcache/fragcache/cache"
)

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
