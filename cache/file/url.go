package file

import (
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/fragcache/fragcache/cache"
)

// Open is the cache.Opener for file URLs:
//
//	file:///var/tmp/fragcache?max_entries=300&cull_frequency=3&max_value_size=1MiB
//
// The directory is the URL's path, percent-decoded; it must be absolute
// (file:///abs/path, or file://localhost/abs/path) and not the root. The options are
// max_entries (a positive integer, default 300), cull_frequency (a
// non-negative integer, default 3; 0 clears everything when full, as
// Django's CULL_FREQUENCY 0 does) and max_value_size (a size such as
// "512KiB"; default and 0: no limit).
func Open(u *cache.URL) (cache.Backend, error) {
	dir, err := dirFromURL(u)
	if err != nil {
		return nil, err
	}
	opts := Options{Dir: dir}
	if err := u.Read(
		cache.URLInt("max_entries", &opts.MaxEntries, 1, math.MaxInt32),
		cache.URLInt("cull_frequency", &opts.CullFrequency, 0, math.MaxInt32),
		cache.URLSize("max_value_size", &opts.MaxValueSize),
	); err != nil {
		return nil, err
	}
	if u.Has("cull_frequency") && opts.CullFrequency == 0 {
		opts.CullFrequency = CullAll
	}
	return New(opts)
}

// dirFromURL returns the absolute directory a file URL names.
func dirFromURL(u *cache.URL) (string, error) {
	loc := u.Location
	if rest, ok := strings.CutPrefix(loc, "localhost/"); ok {
		loc = "/" + rest
	}
	if loc == "" || loc == "/" {
		return "", fmt.Errorf("%w: cache URL %q has no directory: want file:///absolute/path", cache.ErrInvalidOption, u.Redacted())
	}
	if !strings.HasPrefix(loc, "/") {
		return "", fmt.Errorf("%w: cache URL %q: directory %q is not an absolute path: want file:///absolute/path (three slashes)", cache.ErrInvalidOption, u.Redacted(), loc)
	}
	dir, err := url.PathUnescape(loc)
	if err != nil {
		return "", fmt.Errorf("%w: cache URL %q: bad escape in path: %w", cache.ErrInvalidOption, u.Redacted(), err)
	}
	if strings.IndexByte(dir, 0) >= 0 {
		return "", fmt.Errorf("%w: cache URL %q: path holds a NUL byte", cache.ErrInvalidOption, u.Redacted())
	}
	// file:///C:/dir on Windows.
	if len(dir) >= 3 && dir[0] == '/' && dir[2] == ':' && filepath.IsAbs(dir[1:]) {
		dir = dir[1:]
	}
	if !filepath.IsAbs(dir) {
		return "", fmt.Errorf("%w: cache URL %q: directory %q is not an absolute path", cache.ErrInvalidOption, u.Redacted(), dir)
	}
	return filepath.Clean(dir), nil
}
