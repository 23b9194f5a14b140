package main

import (
	"flag"
	"fmt"
)

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
