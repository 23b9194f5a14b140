// Package dummy is a backend that stores nothing, like Django's DummyCache:
// useful to run an application with caching off while keeping every cache
// call in place. Keys are still made and checked.
//
// Get always misses, Add reports true, Delete, Has and Touch report false,
// SetMany reports no failed key, and Incr fails with a *cache.KeyNotFoundError,
// so Cache.IncrVersion fails the same way.
package dummy

import (
	"context"

	"github.com/fragcache/fragcache/cache"
)

// Backend stores nothing. Its zero value is ready to use.
type Backend struct{}

// Backend implements cache.Backend, cache.Incrementer and cache.InProcess.
var (
	_ cache.Backend     = (*Backend)(nil)
	_ cache.Incrementer = (*Backend)(nil)
	_ cache.InProcess   = (*Backend)(nil)
)

// New returns a Backend.
func New() *Backend { return &Backend{} }

// Open is the cache.Opener for dummy:// URLs (no options).
func Open(*cache.URL) (cache.Backend, error) { return New(), nil }

// Get implements cache.Backend: always a miss.
func (*Backend) Get(context.Context, string) ([]byte, bool, error) { return nil, false, nil }

// Set implements cache.Backend: stores nothing.
func (*Backend) Set(context.Context, string, []byte, cache.Timeout) error { return nil }

// Add implements cache.Backend: reports true, as Django's DummyCache does.
func (*Backend) Add(context.Context, string, []byte, cache.Timeout) (bool, error) {
	return true, nil
}

// Delete implements cache.Backend: reports false.
func (*Backend) Delete(context.Context, string) (bool, error) { return false, nil }

// Has implements cache.Backend: reports false.
func (*Backend) Has(context.Context, string) (bool, error) { return false, nil }

// Touch implements cache.Backend: reports false.
func (*Backend) Touch(context.Context, string, cache.Timeout) (bool, error) { return false, nil }

// Incr implements cache.Incrementer: the key is never found (the error names
// the caller's key, as Django's DummyCache does).
func (*Backend) Incr(context.Context, string, int64) (int64, error) { return 0, cache.ErrNotFound }

// Clear implements cache.Backend.
func (*Backend) Clear(context.Context) error { return nil }

// Close implements cache.Backend.
func (*Backend) Close() error { return nil }

// InProcess implements cache.InProcess: nothing leaves the process.
func (*Backend) InProcess() bool { return true }
