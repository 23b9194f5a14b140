// Command fragcache works with the template fragment caches of a fragcache
// (or Django) application from the command line.
//
// Usage:
//
//	fragcache key [--scheme 6.1|legacy] [--prefix P] [--version V] NAME [VARY...]
//	fragcache invalidate --cache URL [--scheme 6.1|legacy] [--prefix P] [--version V] [--timeout D] NAME [VARY...]
//	fragcache help [COMMAND]
//	fragcache COMMAND -h
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
// The invalidate command deletes that fragment from a live cache opened
// from a URL with the backends of package cache/backends
// (file:///var/tmp/fragcache, memcached://127.0.0.1:11211, and redis://…
// once that backend is built in), and prints whether an entry was deleted. The key prefix and version come from the URL
// (…?key_prefix=site&version=2); --prefix and --version, when given,
// override them. A memory:// or dummy:// URL opens a cache private to this
// process, so there is never anything to delete there.
//
// VARY arguments are strings. That loses nothing: Django turns every
// vary-on value into a string with Python's str() before hashing it, so the
// integer 1 and the string "1" give the same key. Write a value as str()
// prints it: 1, 2.5, True, False, None (Python's None; a template variable
// that does not exist resolves to "", not None), [1, 'a'] for a list.
//
// --scheme picks the hashing scheme of the Django versions sharing the
// cache: 6.1 (the default; Django 6.1 and later) or legacy (Django 3.2 to
// 6.0).
//
// Flags come before NAME: everything after NAME is a VARY value, even if it
// starts with "-" (so "fragcache key f -1" hashes "-1"). Use "--" before a
// NAME that starts with "-".
//
// Exit status:
//
//	0  success (including "help", "-h", and an invalidate that found nothing)
//	1  operational error: the cache could not be opened or reached, or the
//	   delete failed
//	2  usage error: unknown command or flag, missing NAME or --cache, a bad
//	   --scheme, or a malformed cache URL (unknown scheme, unknown option,
//	   bad option value)
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
