package main

import (
	"flag"
	"fmt"

	"github.com/fragcache/fragcache/cache"
)

func invalidateCommand() *command {
	c := &command{
		name:     "invalidate",
		synopsis: "delete a {% cache %} fragment from a live cache",
		usage:    "fragcache invalidate --cache URL [--django RELEASE | --scheme 6.1|legacy] [--prefix P] [--version V] [--timeout D] [--templates DIR --template T] (NAME [VARY...] | --all NAME | --tag TAG)",
		help: `Delete the {% cache %} fragment NAME with vary-on values VARY from the
cache at URL, and print its keys and whether an entry was deleted. The key
prefix and version come from the URL (?key_prefix=P&version=V) unless
--prefix or --version is given; the key scheme from the Django release of
the URL (?django=5.2.19) unless --django or --scheme is given. When nothing
is deleted but an entry exists under the other key scheme, a warning says
so: the cache is then likely shared with another Django release. Exit
status 3 when nothing was deleted, as for delete. A fragment that is not there is not an
error (exit status 0). URLs: file:///var/tmp/fragcache,
memcached://127.0.0.1:11211, redis://127.0.0.1:6379/0 and those of any
other backend built in (memory:// and dummy:// are private to this
process, so they never hold anything). --cache defaults to $` + cacheEnv + `.

With --all, delete every variant of the fragment NAME (every vary-on
value) and print how many entries were deleted: on Redis every variant,
those a Django app wrote included (SCAN); on memcached and file:// the
variants fragcache wrote, which it indexes when it stores them (a
variant only Django wrote cannot be found there). Exit status 3 when
nothing was deleted.

With --tag TAG, delete every fragment and page that declared the content
tag TAG ({% cachetag %}, a Surrogate-Key header, cache.DeclareTags), as
PurgeTag does, and print how many entries were deleted. Exit status 3
when nothing was deleted.

` + varyHelp,
	}
	c.setup = func(fs *flag.FlagSet) func([]string, stdio) int {
		cf := defineCacheFlags(fs)
		kf := defineKeyFlags(fs, true)
		all := fs.Bool("all", false, "delete every variant of the fragment NAME (no VARY values)")
		tag := fs.String("tag", "", "delete every fragment and page that declared the content `tag` (no NAME)")
		return func(args []string, std stdio) int {
			if code := cf.check(c, std.stderr); code != exitOK {
				return code
			}
			if *all {
				return invalidateAll(c, cf, kf, args, std)
			}
			if isSet(fs, "tag") {
				return purgeTag(c, cf, kf, *tag, args, std)
			}
			if _, code := kf.keyScheme(c, std.stderr, cache.KeySchemeDjango61); code != exitOK {
				return code
			}
			cc, code := cf.open(c, std.stderr, kf.overrides()...)
			if code != exitOK {
				return code
			}
			defer cc.Close()
			scheme, code := kf.keyScheme(c, std.stderr, cc.KeyScheme())
			if code != exitOK {
				return code
			}
			fk, code := kf.fragment(c, args, std.stderr, scheme)
			if code != exitOK {
				return code
			}
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
				return exitOK
			}
			fmt.Fprintln(std.stdout, "deleted: no (no such entry)")
			code = exitNotFound
			other := cache.KeySchemeLegacy
			if scheme == cache.KeySchemeLegacy {
				other = cache.KeySchemeDjango61
			}
			if ok, err := cc.Has(ctx, other.FragmentKey(args[0], anys(args[1:])...)); err == nil && ok {
				fmt.Fprintf(std.stderr, "fragcache %s: warning: an entry exists under the %s key scheme (%s): the cache is likely shared with another Django release; give it with --django (or django= in the URL)\n",
					c.name, other, cc.MakeKey(other.FragmentKey(args[0], anys(args[1:])...)))
			}
			return code
		}
	}
	return c
}

// invalidateAll is invalidate --all NAME.
func invalidateAll(c *command, cf cacheFlags, kf keyFlags, args []string, std stdio) int {
	if len(args) != 1 {
		return usageError(std.stderr, c, "--all takes one fragment NAME and no VARY values")
	}
	cc, code := cf.open(c, std.stderr, kf.overrides()...)
	if code != exitOK {
		return code
	}
	defer cc.Close()
	cf.warnPrivate(c, std.stderr, "there is nothing to delete")
	ctx, cancel := cf.context()
	defer cancel()
	n, err := cc.InvalidateFragmentVariants(ctx, args[0])
	fmt.Fprintf(std.stdout, "variants: %s.*\n", cc.MakeKey(cache.FragmentKeyPrefix+args[0]))
	if err != nil {
		return cf.opError(c, std.stderr, fmt.Sprintf("deleting the variants of %q", args[0]), err)
	}
	fmt.Fprintf(std.stdout, "deleted: %d\n", n)
	if n == 0 {
		return exitNotFound
	}
	return exitOK
}

// purgeTag is invalidate --tag TAG.
func purgeTag(c *command, cf cacheFlags, kf keyFlags, tag string, args []string, std stdio) int {
	if len(args) != 0 {
		return usageError(std.stderr, c, "--tag takes no NAME or VARY values")
	}
	if err := cache.CheckTag(tag); err != nil {
		return usageError(std.stderr, c, fmt.Sprintf("bad --tag: %v", err))
	}
	cc, code := cf.open(c, std.stderr, kf.overrides()...)
	if code != exitOK {
		return code
	}
	defer cc.Close()
	cf.warnPrivate(c, std.stderr, "there is nothing to delete")
	ctx, cancel := cf.context()
	defer cancel()
	n, err := cc.PurgeTag(ctx, tag)
	if err != nil {
		return cf.opError(c, std.stderr, fmt.Sprintf("purging the content tag %q", tag), err)
	}
	fmt.Fprintf(std.stdout, "deleted: %d\n", n)
	if n == 0 {
		return exitNotFound
	}
	return exitOK
}
