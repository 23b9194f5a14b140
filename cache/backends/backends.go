// Package backends opens caches from URLs with every backend fragcache
// ships, so an application switches backends by changing a URL:
//
//	memory://[name]?max_entries=300&cull_frequency=3&max_bytes=64MiB
//	file:///var/tmp/fragcache?max_entries=300&cull_frequency=3
//	dummy://
//
// Every URL also takes the cache options timeout, key_prefix, version and
// key_check (see cache.Open). Unknown options and bad values are errors that
// name them.
package backends

import (
	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/dummy"
	"github.com/fragcache/fragcache/cache/file"
	"github.com/fragcache/fragcache/cache/memory"
)

// Schemes returns a new map from URL scheme to opener for every built-in
// backend. Add entries to it to open backends of your own.
func Schemes() cache.Schemes {
	return cache.Schemes{
		"memory": memory.Open,
		"file":   file.Open,
		"dummy":  dummy.Open,
	}
}

// Open opens one cache from a URL with the built-in backends.
func Open(rawURL string, opts ...cache.Option) (*cache.Cache, error) {
	return cache.Open(rawURL, Schemes(), opts...)
}

// OpenRegistry opens a cache per alias from URLs with the built-in backends,
// e.g. {"default": "memory://", "template_fragments": "memory://frags"}.
func OpenRegistry(urls map[string]string, opts ...cache.Option) (*cache.Registry, error) {
	return cache.OpenRegistry(urls, Schemes(), opts...)
}
