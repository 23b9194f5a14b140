package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/dummy"
)

func keyCommand() *command {
	c := &command{
		name:     "key",
		synopsis: "print the cache key of a {% cache %} fragment",
		usage:    "fragcache key [--django RELEASE | --scheme 6.1|legacy] [--prefix P] [--version V] [--templates DIR --template T] NAME [VARY...]",
		help: `Print the key of the {% cache %} fragment NAME with vary-on values VARY:
the fragment key (template.cache.NAME.<md5>, as Django's
make_template_fragment_key gives it) and the made key the cache stores
(PREFIX:VERSION:fragment key, Django's default KEY_FUNCTION).

` + varyHelp,
	}
	c.setup = func(fs *flag.FlagSet) func([]string, stdio) int {
		kf := defineKeyFlags(fs, false)
		return func(args []string, std stdio) int {
			scheme, code := kf.keyScheme(c, std.stderr, cache.KeySchemeDjango61)
			if code != exitOK {
				return code
			}
			fk, code := kf.fragment(c, args, std.stderr, scheme)
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

func printKeys(w io.Writer, fragmentKey, madeKey string) {
	fmt.Fprintf(w, "fragment key: %s\nmade key: %s\n", fragmentKey, madeKey)
}

func warnKey(stderr io.Writer, c *command, madeKey string) {
	if err := cache.CheckKey(madeKey); err != nil {
		fmt.Fprintf(stderr, "fragcache %s: warning: %v\n", c.name, err)
	}
}
