package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/file"
	"github.com/fragcache/fragcache/cache/memcached"
	"github.com/fragcache/fragcache/cache/redis"
)

func clearCommand() *command {
	c := &command{
		name:     "clear",
		synopsis: "remove every entry of a cache, after confirmation",
		usage:    "fragcache clear --cache URL [--timeout D] [-y]",
		help: `Remove every entry of the cache at URL. Unless -y is given, it asks on
stderr for confirmation ("Clear every entry of URL? [y/N]", the URL's
passwords hidden) and reads the answer from stdin: y or yes clears,
anything else exits with status 1 without clearing. When stdin is not a
terminal (a pipe, a file, /dev/null), there is no one to ask: without -y
the command refuses with status 2.

Clearing ignores the key prefix and version, as Django's cache.clear()
does: memcached empties every server of the URL (flush_all) and Redis the
whole database (FLUSHDB), other applications' entries included; a file
cache removes every cache file in its directory. --cache defaults to
$` + cacheEnv + `.
`,
	}
	c.setup = func(fs *flag.FlagSet) func([]string, stdio) int {
		cf := defineCacheFlags(fs)
		yes := fs.Bool("y", false, "clear without asking for confirmation")
		return func(args []string, std stdio) int {
			if code := cf.check(c, std.stderr); code != exitOK {
				return code
			}
			if len(args) > 0 {
				return usageError(std.stderr, c, fmt.Sprintf("unexpected argument %q: clear takes none", args[0]))
			}
			if !*yes && !isInteractive(std.stdin) {
				return usageError(std.stderr, c, "stdin is not a terminal, so no one can confirm: pass -y to clear without confirmation")
			}
			cc, code := cf.open(c, std.stderr)
			if code != exitOK {
				return code
			}
			defer cc.Close()
			u, _ := cf.source()
			shown := cache.Redact(u)
			if !cf.warnPrivate(c, std.stderr, "there is nothing to clear") {
				clearScope(c, std.stderr, cc.Backend())
			}
			if !*yes && !confirm(std.stdin, std.stderr, "Clear every entry of "+shown+"?") {
				fmt.Fprintln(std.stderr, "fragcache clear: not cleared")
				return exitError
			}
			ctx, cancel := cf.context()
			defer cancel()
			if err := cc.Clear(ctx); err != nil {
				return cf.opError(c, std.stderr, "clearing "+shown, err)
			}
			fmt.Fprintf(std.stdout, "cleared: %s\n", shown)
			return exitOK
		}
	}
	return c
}

// clearScope warns on stderr about what clearing the backend removes
// besides the cache's own entries.
func clearScope(c *command, stderr io.Writer, b cache.Backend) {
	if mb, ok := cache.As[*memcached.Backend](b); ok {
		fmt.Fprintf(stderr, "fragcache %s: warning: memcached's clear is flush_all: it empties the whole of every server (%s), whatever the key prefix, other applications' entries included\n", c.name, strings.Join(mb.Servers(), ", "))
	} else if _, ok := cache.As[*redis.Backend](b); ok {
		fmt.Fprintf(stderr, "fragcache %s: warning: Redis's clear is FLUSHDB: it empties the whole database, whatever the key prefix, other applications' keys included\n", c.name)
	} else if fs, ok := cache.As[*file.Store](b); ok {
		fmt.Fprintf(stderr, "fragcache %s: note: this removes every cache file in %s, whatever the key prefix\n", c.name, fs.Dir())
	}
}

// confirm asks question on stderr and reads the answer from stdin: true for
// y or yes, in any case.
func confirm(stdin io.Reader, stderr io.Writer, question string) bool {
	fmt.Fprintf(stderr, "%s [y/N] ", question)
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(stderr)
		return false
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true
	}
	return false
}
