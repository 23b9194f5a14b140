package cache

import (
	"errors"

	"github.com/fragcache/fragcache/internal/pystr"
)

// Sentinel errors. Every error a Cache or a backend returns for one of these
// conditions satisfies errors.Is with the matching sentinel.
var (
	// ErrNotFound: Incr, Decr, IncrVersion or DecrVersion on a key that is
	// missing or expired (Django's ValueError "Key '…' not found").
	ErrNotFound = errors.New("cache: key not found")
	// ErrNotInteger: Incr or Decr on a value that is not a decimal integer,
	// or whose result would overflow an int64.
	ErrNotInteger = errors.New("cache: value is not an integer or out of range")
	// ErrInvalidKey: a made key that memcached would reject (over 250
	// characters, or holding a control character or a space), returned by
	// caches whose KeyCheck is KeyCheckReject.
	ErrInvalidKey = errors.New("cache: invalid key")
	// ErrValueTooLarge: a value larger than the cache accepts.
	ErrValueTooLarge = errors.New("cache: value too large")
	// ErrInvalidOption: a bad option or option value, from a URL or from code.
	ErrInvalidOption = errors.New("cache: invalid option")
	// ErrUnknownScheme: a cache URL whose scheme no opener handles.
	ErrUnknownScheme = errors.New("cache: unknown URL scheme")
	// ErrUnknownAlias: a Registry has no cache by that name.
	ErrUnknownAlias = errors.New("cache: unknown cache alias")
	// ErrNilContext: a method was called with a nil context.Context.
	ErrNilContext = errors.New("cache: nil context")
	// ErrClosed: the cache was closed.
	ErrClosed = errors.New("cache: closed")
	// ErrForeignValue: Get found a value stored in a format the backend
	// does not turn into bytes, typically a Python pickle Django wrote of a
	// list, a dict or an object (pickles are never executed). It says
	// nothing about the backend's health: fail-open wrappers return it
	// rather than turning it into a miss. Cache.GetRaw hands such a value
	// over undecoded.
	ErrForeignValue = errors.New("cache: value stored in a format this backend does not read")
	// ErrPartialOutage: an operation failed at one server of a backend
	// spread over several (a memcached pool) while other servers serve.
	// The backend isolates such a server itself (cache/memcached marks it
	// down, with a breaker per server), so fail-open wrappers answer the
	// caller as for any failure (a miss, a write not done) without counting
	// it against the whole backend, and GetMany returns the hits of the
	// servers that answered along with such an error.
	ErrPartialOutage = errors.New("cache: some servers failed while others serve")
)

// KeyNotFoundError is the error of Incr, Decr and the version methods on a
// missing key. Its message is Django's: Key ':1:nope' not found. Key is the
// key as the backend's Django counterpart names it: the made key for the
// memory backend, the caller's key otherwise.
type KeyNotFoundError struct {
	Key string
}

// Error returns Django's message, e.g. Key 'nope' not found.
func (e *KeyNotFoundError) Error() string {
	return "Key " + pystr.Repr(e.Key) + " not found"
}

// Is makes errors.Is(err, ErrNotFound) true.
func (e *KeyNotFoundError) Is(target error) bool { return target == ErrNotFound }

// NotIntegerError is the error of Incr and Decr on a value that is not a
// decimal integer, or whose result overflows.
type NotIntegerError struct {
	Key string
}

// Error names the key.
func (e *NotIntegerError) Error() string {
	return "cache: value of key " + pystr.Repr(e.Key) + " is not an integer or out of range"
}

// Is makes errors.Is(err, ErrNotInteger) true.
func (e *NotIntegerError) Is(target error) bool { return target == ErrNotInteger }

// InvalidKeyError describes a made key that memcached would reject, with
// Django's message, e.g.
// Cache key contains characters that will cause errors if used with memcached: ':1:has space'
type InvalidKeyError struct {
	Key     string
	TooLong bool // over 250 characters; otherwise it holds a forbidden character
}

// Error returns Django's warning text for the key.
func (e *InvalidKeyError) Error() string {
	if e.TooLong {
		return "Cache key will cause errors if used with memcached: " + pystr.Repr(e.Key) + " (longer than 250)"
	}
	return "Cache key contains characters that will cause errors if used with memcached: " + pystr.Repr(e.Key)
}

// Is makes errors.Is(err, ErrInvalidKey) true.
func (e *InvalidKeyError) Is(target error) bool { return target == ErrInvalidKey }
