// Command fragcache works with the caches of a fragcache (or Django)
// application from the command line: it computes the keys of template
// fragments, and reads, writes, deletes and inspects the entries of a live
// cache.
//
// Usage:
//
//	fragcache key [--django RELEASE | --scheme 6.1|legacy] [--prefix P] [--version V] NAME [VARY...]
//	fragcache invalidate --cache URL [--django RELEASE | --scheme 6.1|legacy] [--prefix P] [--version V] [--timeout D] NAME [VARY...]
//	fragcache get --cache URL [--prefix P] [--version V] [--timeout D] [--raw] KEY
//	fragcache set --cache URL [--prefix P] [--version V] [--timeout D] [--ttl SECONDS|none] KEY VALUE|-
//	fragcache delete --cache URL [--prefix P] [--version V] [--timeout D] KEY...
//	fragcache clear --cache URL [--timeout D] [-y]
//	fragcache stats --cache URL [--timeout D]
//	fragcache help [COMMAND]
//	fragcache COMMAND -h
//
// # Fragment keys
//
// The key command prints the key of the {% cache %} fragment NAME with the
// vary-on values VARY: the fragment key, as Django's
// make_template_fragment_key gives it (template.cache.NAME.<md5>), and the
// made key the cache backend stores (PREFIX:VERSION:template.cache.…, as
// Django's default KEY_FUNCTION makes it), one per line and labelled:
//
//	$ fragcache key sidebar alice
//	fragment key: template.cache.sidebar.<md5 hex>
//	made key: :1:template.cache.sidebar.<md5 hex>
//
// The invalidate command deletes that fragment from a live cache and
// prints its keys and whether an entry was deleted ("deleted: yes" or
// "deleted: no (no such entry)", with exit status 3, as delete has).
//
// VARY arguments are strings. That loses nothing: Django turns every
// vary-on value into a string with Python's str() before hashing it, so the
// integer 1 and the string "1" give the same key. Write a value as str()
// prints it: 1, 2.5, True, False, None (Python's None; a template variable
// that does not exist resolves to "", not None), [1, 'a'] for a list.
//
// --django names the Django release sharing the cache (5.2.19, 4.2, 6.1,
// 3.2.25-debian…), which picks the fragment key scheme: 6.1's for 6.1 and
// later, the legacy one for 3.2 to 6.0. --scheme (6.1 or legacy) says the
// same thing in the old way. invalidate takes the release from the cache
// URL's django= when neither is given, and warns when it deletes nothing
// but finds an entry under the other scheme.
//
// # Live caches
//
// Every command but key works on the cache opened from the URL of --cache
// with the backends of package cache/backends (file:///var/tmp/fragcache,
// memcached://127.0.0.1:11211, redis://127.0.0.1:6379/0, …). When --cache
// is not given, the URL comes from the environment variable
// FRAGCACHE_CACHE:
//
//	export FRAGCACHE_CACHE='file:///var/tmp/fragcache?key_prefix=site'
//	fragcache get sidebar
//
// The key prefix and version come from the URL (…?key_prefix=site&version=2);
// --prefix and --version, when given, override them. A KEY on the command
// line is the caller's key: the cache stores PREFIX:VERSION:KEY. --timeout
// (default 10s) bounds the cache operations. A memory:// or dummy:// URL
// opens a cache private to this process, so it is always empty (the
// commands warn). The built-in memcached and Redis caches fail open,
// turning errors into misses; the commands read the fail-open wrapper's
// counters and report such a hidden error as an error (status 1), never
// as a miss or a success.
//
// get prints the value stored under KEY: as text when it is valid UTF-8
// without control characters other than tab, CR and LF (with a newline
// added when it lacks one), else as a hex dump (hexdump -C style). --raw
// writes the exact bytes instead.
//
// set stores VALUE under KEY, or the bytes read from stdin when VALUE is
// "-", for --ttl seconds, or forever with --ttl none; without --ttl, for
// the cache's default timeout (the URL's timeout option, else 300 s).
//
// delete deletes each KEY, printing "deleted: KEY" on stdout for those that
// were there and "not found" on stderr for the others.
//
// clear removes every entry of the cache. It asks "Clear every entry of
// URL? [y/N]" (passwords hidden) on stderr and reads the answer from stdin,
// unless -y is given; when stdin is not a terminal and -y is not given, it
// refuses. Like Django's cache.clear(), it ignores the key prefix:
// memcached empties every server (flush_all) and Redis the whole database
// (FLUSHDB), other applications' entries included, and a file cache
// removes every cache file of its directory; the command warns about it.
//
// stats describes the cache, one "label: value" line each: the URL
// (passwords hidden), the backend's kind and Go type, key prefix, version
// and default timeout; whether a look-up of one key that is never written
// (fragcache.stats.probe) succeeds; what the backend tells about itself
// through optional methods — the circuit breaker's state and counters of a
// fail-open wrapper (and then the wrapped backend), the servers and DBSIZE
// of Redis, the servers and a ping of memcached, the directory and the
// number and size of the cache files of a file cache, Len() int,
// Bytes() int64 and Stats() map[string]string of any backend that has them
// (the memory store's entries and bytes); and the cache's operation
// counters, which count this process's operations only (a cache keeps no
// history across processes). A failed probe, ping or count makes the exit
// status 1.
//
// Flags may come before or after the arguments ("fragcache get KEY --cache
// URL"). "--" ends the flags: a NAME, KEY, VARY value or VALUE that starts
// with "-" goes after it ("fragcache key sidebar -- -1" hashes "-1").
//
// # Exit status
//
//	0  success (including "help" and "-h")
//	1  operational error: the cache could not be opened or reached, an
//	   operation failed or timed out, stats found a failure, or clear was
//	   not confirmed
//	2  usage error: unknown command or flag, missing or extra arguments,
//	   missing --cache (and FRAGCACHE_CACHE), a bad --django, --scheme, --ttl or
//	   --timeout, a malformed cache URL (unknown scheme, unknown option, bad
//	   option value), a key the cache rejects, or clear without -y when
//	   stdin is not a terminal
//	3  not found: get of a missing key, delete of a KEY that was not there
//	   (the others are deleted all the same), or an invalidate that deleted
//	   nothing
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
