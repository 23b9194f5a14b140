package file

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fragcache/fragcache/cache"
)

// CullAll, as Options.CullFrequency, removes every cache file when the
// directory is full (Django's CULL_FREQUENCY 0).
const CullAll = -1

// Defaults, as in Django.
const (
	// DefaultMaxEntries is the number of files at which Set culls when
	// Options.MaxEntries is 0 (Django's MAX_ENTRIES).
	DefaultMaxEntries = 300
	// DefaultCullFrequency is the fraction (1/3) of files culled when
	// Options.CullFrequency is 0 (Django's CULL_FREQUENCY).
	DefaultCullFrequency = 3
)

// Suffix ends the name of every cache file (Django's cache_suffix).
const Suffix = ".djcache"

// Temporary files are named tmpPrefix + random + tmpSuffix: hidden, and not
// ending in Suffix, so that they are never counted, culled or cleared.
const (
	tmpPrefix = ".fragcache-"
	tmpSuffix = ".tmp"
)

// Options configures a Store. Only Dir is required; the zero value of every
// other field gives Django's defaults.
type Options struct {
	// Dir is the cache directory (Django's LOCATION). A relative path is
	// made absolute against the working directory when the store is
	// created. The directory is created if missing.
	Dir string
	// MaxEntries is the number of cache files at which Set culls (Django's
	// MAX_ENTRIES). 0 means DefaultMaxEntries; it must not be negative.
	MaxEntries int
	// CullFrequency: when full, Set removes count/CullFrequency files
	// chosen at random (Django's CULL_FREQUENCY). 0 means
	// DefaultCullFrequency; CullAll removes every cache file, as Django's
	// CULL_FREQUENCY 0 does. Other negative values are errors.
	CullFrequency int
	// MaxValueSize is the largest value Set and Add store, in bytes; a
	// larger one is an error wrapping cache.ErrValueTooLarge and nothing is
	// written. 0 means no limit; it must not be negative.
	MaxValueSize int64
	// Now is the clock used for deadlines and expiry. nil means time.Now.
	// It must be safe for concurrent use.
	Now func() time.Time
	// MaxIndexMembers bounds each index file (see Store.IndexAdd). 0
	// means cache.MaxIndexMembers; it must not be negative. A smaller
	// bound is for tests.
	MaxIndexMembers int
}

// Store is a cache.Backend keeping one file per key in a directory, as
// Django's FileBasedCache does; see the package documentation. It is safe
// for concurrent use by several goroutines and by several processes sharing
// the directory.
type Store struct {
	dir           string
	prefix        string // dir + separator
	maxEntries    int
	cullFrequency int
	maxValueSize  int64
	maxIndex      int
	now           func() time.Time
	closed        atomic.Bool
}

// Store implements cache.Backend, and of the optional interfaces only
// cache.InProcess, cache.Leaser (lease.go) and cache.Indexer (index.go):
// the Cache's fallbacks for the others are what Django's FileBasedCache
// does.
var (
	_ cache.Backend   = (*Store)(nil)
	_ cache.InProcess = (*Store)(nil)
)

// New returns a store over opts.Dir, creating the directory (mode 0700 at
// every level created) if it is missing. Invalid options are errors wrapping
// cache.ErrInvalidOption that name the option.
func New(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, fmt.Errorf("%w: file cache: Options.Dir is empty: want the cache directory", cache.ErrInvalidOption)
	}
	if strings.IndexByte(opts.Dir, 0) >= 0 {
		return nil, fmt.Errorf("%w: file cache: Options.Dir %q holds a NUL byte", cache.ErrInvalidOption, opts.Dir)
	}
	switch {
	case opts.MaxEntries < 0:
		return nil, fmt.Errorf("%w: file cache: Options.MaxEntries is %d: want 0 (the default, %d) or more", cache.ErrInvalidOption, opts.MaxEntries, DefaultMaxEntries)
	case opts.MaxEntries == 0:
		opts.MaxEntries = DefaultMaxEntries
	}
	switch {
	case opts.CullFrequency < CullAll:
		return nil, fmt.Errorf("%w: file cache: Options.CullFrequency is %d: want 0 (the default, %d), a positive number or CullAll (-1)", cache.ErrInvalidOption, opts.CullFrequency, DefaultCullFrequency)
	case opts.CullFrequency == 0:
		opts.CullFrequency = DefaultCullFrequency
	}
	if opts.MaxValueSize < 0 {
		return nil, fmt.Errorf("%w: file cache: Options.MaxValueSize is %d: want 0 (no limit) or more", cache.ErrInvalidOption, opts.MaxValueSize)
	}
	if opts.MaxIndexMembers < 0 {
		return nil, fmt.Errorf("%w: file cache: Options.MaxIndexMembers is %d: want 0 (the default, %d) or more", cache.ErrInvalidOption, opts.MaxIndexMembers, cache.MaxIndexMembers)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("%w: file cache: Options.Dir %q: %w", cache.ErrInvalidOption, opts.Dir, err)
	}
	s := &Store{
		dir:           dir,
		prefix:        dir + string(filepath.Separator),
		maxEntries:    opts.MaxEntries,
		cullFrequency: opts.CullFrequency,
		maxValueSize:  opts.MaxValueSize,
		maxIndex:      opts.MaxIndexMembers,
		now:           opts.Now,
	}
	if err := mkdirAll(dir); err != nil {
		return nil, fmt.Errorf("file cache: creating the cache directory: %w", err)
	}
	return s, nil
}

// Dir returns the absolute path of the cache directory.
func (s *Store) Dir() string { return s.dir }

// FileName returns the name of the file holding madeKey in the directory:
// hex(md5(madeKey)) + Suffix, as Django names it.
func FileName(madeKey string) string {
	var b fileName
	b.set(madeKey)
	return string(b[:])
}

// fileName holds a cache file's name, built without allocating.
type fileName [2*md5.Size + len(Suffix)]byte

func (b *fileName) set(madeKey string) {
	sum := md5.Sum([]byte(madeKey))
	hex.Encode(b[:], sum[:])
	copy(b[2*md5.Size:], Suffix)
}

// path returns the path of the file holding key.
func (s *Store) path(key string) string {
	var b fileName
	b.set(key)
	return s.prefix + string(b[:])
}

// check fails for a nil or done context and after Close.
func (s *Store) check(ctx context.Context) error {
	if ctx == nil {
		return cache.ErrNilContext
	}
	if s.closed.Load() {
		return cache.ErrClosed
	}
	return ctx.Err()
}

// deadline computes the absolute expiry of a value stored now. A
// DefaultTimeout (which a cache.Cache never passes) counts as Django's
// default of 300 seconds.
func (s *Store) deadline(t cache.Timeout) (int64, bool) {
	if t == cache.DefaultTimeout {
		t = cache.Seconds(300)
	}
	return t.Deadline(s.now())
}

// Get returns the value stored under key. A missing, expired, empty or
// corrupt file is a miss; the last three are removed.
func (s *Store) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.check(ctx); err != nil {
		return nil, false, err
	}
	_, v, ok, err := s.load(s.path(key), true)
	if err != nil || !ok {
		return nil, false, err
	}
	return v, true, nil
}

// Has reports whether key has an unexpired file. It reads the file's header
// only; an expired or corrupt file is removed.
func (s *Store) Has(ctx context.Context, key string) (bool, error) {
	if err := s.check(ctx); err != nil {
		return false, err
	}
	_, _, ok, err := s.load(s.path(key), false)
	return ok, err
}

// Set writes value under key, culling first if the directory is full.
func (s *Store) Set(ctx context.Context, key string, value []byte, timeout cache.Timeout) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if s.maxValueSize > 0 && int64(len(value)) > s.maxValueSize {
		return fmt.Errorf("%w: file cache: %d bytes for key %q (limit %d)", cache.ErrValueTooLarge, len(value), key, s.maxValueSize)
	}
	deadline, never := s.deadline(timeout)
	path := s.path(key)
	if err := s.cull(ctx); err != nil {
		return err
	}
	return s.write(path, encode(deadline, never, value))
}

// Add writes value under key if key has no unexpired file, and reports
// whether it did. As in Django it is Has followed by Set, not atomic.
func (s *Store) Add(ctx context.Context, key string, value []byte, timeout cache.Timeout) (bool, error) {
	ok, err := s.Has(ctx, key)
	if err != nil || ok {
		return false, err
	}
	if err := s.Set(ctx, key, value, timeout); err != nil {
		return false, err
	}
	return true, nil
}

// Touch gives key a new deadline, keeping its value, and reports whether the
// key had an unexpired file. The file is rewritten through a temporary file
// and a rename.
func (s *Store) Touch(ctx context.Context, key string, timeout cache.Timeout) (bool, error) {
	if err := s.check(ctx); err != nil {
		return false, err
	}
	path := s.path(key)
	buf, _, ok, err := s.load(path, true)
	if err != nil || !ok {
		return false, err
	}
	deadline, never := s.deadline(timeout)
	putHeader(buf, deadline, never, buf[headerLen:])
	if err := s.write(path, buf); err != nil {
		return false, err
	}
	return true, nil
}

// Delete removes key's file and reports whether there was one.
func (s *Store) Delete(ctx context.Context, key string) (bool, error) {
	if err := s.check(ctx); err != nil {
		return false, err
	}
	return remove(s.path(key))
}

// Clear removes every cache file ("*.djcache") and index file
// ("*.djindex") in the directory, keeping the directory and every other
// file. A missing directory is not an error.
func (s *Store) Clear(ctx context.Context) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	names, err := s.list()
	if err != nil {
		return err
	}
	if err := s.removeAll(ctx, names); err != nil {
		return err
	}
	var indexes []string
	err = listDir(s.dir, func(name []byte) {
		if isIndexFile(name) {
			indexes = append(indexes, string(name))
		}
	})
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("file cache: %w", err)
	}
	for _, name := range indexes {
		if err := s.removeIndex(s.prefix + name); err != nil {
			return err
		}
	}
	return nil
}

// Close marks the store closed: later calls fail with cache.ErrClosed. The
// files stay. It holds no other resources and is safe to call twice.
func (s *Store) Close() error {
	s.closed.Store(true)
	return nil
}

// load reads the file at path. With withValue it reads the whole file and
// returns its contents (buf) and the value (buf[headerLen:]); otherwise only
// the header. ok is false on a miss: the file is missing, or it was expired
// or corrupt and has been removed.
func (s *Store) load(path string, withValue bool) (buf, value []byte, ok bool, err error) {
	buf, size, id, short, err := readFile(path, withValue)
	switch {
	case err != nil && errors.Is(err, fs.ErrNotExist):
		return nil, nil, false, nil
	case err != nil:
		return nil, nil, false, fmt.Errorf("file cache: %w", err)
	case short:
		return nil, nil, false, discard(path, id)
	}
	h, good := parseHeader(buf, size)
	if !good || withValue && !h.checkValue(buf[headerLen:]) || h.expired(s.now().UnixNano()) {
		return nil, nil, false, discard(path, id)
	}
	return buf, buf[headerLen:], true, nil
}

const maxInt = int64(^uint(0) >> 1)

var errNotRegular = errors.New("not a regular file")

// discard removes path if it is still the file id that was read, so that a
// fresh file renamed over it meanwhile survives. A file already gone is not
// an error.
func discard(path string, id fileID) error {
	same, err := sameFile(path, id)
	if err != nil {
		return fmt.Errorf("file cache: %w", err)
	}
	if !same {
		return nil
	}
	_, err = remove(path)
	return err
}

// write writes data to a temporary file in the directory and renames it to
// path, creating the directory first if it has gone. The temporary file is
// removed on every error.
func (s *Store) write(path string, data []byte) error {
	tmp, err := writeTemp(s.dir, data)
	if err != nil && errors.Is(err, fs.ErrNotExist) {
		if err := mkdirAll(s.dir); err != nil {
			return fmt.Errorf("file cache: creating the cache directory: %w", err)
		}
		tmp, err = writeTemp(s.dir, data)
	}
	if err != nil {
		return fmt.Errorf("file cache: writing %s: %w", path, err)
	}
	if err := rename(tmp, path); err != nil {
		unlink(tmp)
		return fmt.Errorf("file cache: writing %s: %w", path, err)
	}
	return nil
}

// isCacheFile reports whether a directory entry is a cache file: named
// "*.djcache" and not beginning with "." (Python's glob skips those).
func isCacheFile(name []byte) bool {
	n := len(name)
	// A comparison with a converted []byte does not allocate.
	return n > len(Suffix) && name[0] != '.' && string(name[n-len(Suffix):]) == Suffix
}

// count returns the number of cache files in the directory; a missing
// directory has none.
func (s *Store) count() (int, error) {
	n := 0
	err := listDir(s.dir, func(name []byte) {
		if isCacheFile(name) {
			n++
		}
	})
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		return 0, fmt.Errorf("file cache: %w", err)
	}
	return n, nil
}

// list returns the names of the cache files in the directory, in directory
// order. A missing directory has none.
func (s *Store) list() ([]string, error) {
	var names []string
	err := listDir(s.dir, func(name []byte) {
		if isCacheFile(name) {
			names = append(names, string(name))
		}
	})
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("file cache: %w", err)
	}
	return names, nil
}

// cull makes room before a write, as Django's _cull does: with MaxEntries
// cache files or more, it removes count/CullFrequency of them at random, or
// all of them with CullAll.
func (s *Store) cull(ctx context.Context) error {
	// Counting allocates nothing; the names are listed only to cull.
	if n, err := s.count(); err != nil || n < s.maxEntries {
		return err
	}
	names, err := s.list()
	if err != nil || len(names) < s.maxEntries {
		return err
	}
	n := len(names)
	if s.cullFrequency != CullAll {
		n = len(names) / s.cullFrequency
		// Choose n names at random: a partial Fisher-Yates shuffle.
		for i := 0; i < n; i++ {
			j := i + rand.IntN(len(names)-i)
			names[i], names[j] = names[j], names[i]
		}
	}
	return s.removeAll(ctx, names[:n])
}

// removeAll removes the named cache files. Files already gone and
// directories (listed when the file system does not report entry types) are
// skipped.
func (s *Store) removeAll(ctx context.Context, names []string) error {
	for i, name := range names {
		if i%64 == 63 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		path := s.prefix + name
		if _, err := remove(path); err != nil {
			if fi, serr := os.Lstat(path); serr == nil && fi.IsDir() {
				continue
			}
			return err
		}
	}
	return nil
}

// remove unlinks the file at path and reports whether it did; a missing file
// is not an error. Unlike os.Remove it never removes a directory.
func remove(path string) (bool, error) {
	err := unlink(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("file cache: %w", err)
}

// mkdirAll creates dir and any missing parents, giving every directory it
// creates mode 0700 whatever the umask (as Django's _createdir does by
// setting the umask). Existing directories are left as they are.
func mkdirAll(dir string) error {
	var missing []string
	for p := dir; ; {
		fi, err := os.Stat(p)
		if err == nil {
			if !fi.IsDir() {
				return &fs.PathError{Op: "mkdir", Path: p, Err: errNotDir}
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		missing = append(missing, p)
		parent := filepath.Dir(p)
		if parent == p {
			break
		}
		p = parent
	}
	for i := len(missing) - 1; i >= 0; i-- {
		p := missing[i]
		if err := os.Mkdir(p, 0o700); err != nil {
			if errors.Is(err, fs.ErrExist) {
				// Created meanwhile by someone else, who sets its mode.
				if fi, serr := os.Stat(p); serr == nil && fi.IsDir() {
					continue
				}
			}
			return err
		}
		if err := os.Chmod(p, 0o700); err != nil {
			return err
		}
	}
	return nil
}

var errNotDir = errors.New("not a directory")

// InProcess implements cache.InProcess: reads are file reads, with no
// network round trip to save (and no GetMany to save it with).
func (s *Store) InProcess() bool { return true }
