package cache

import "context"

// Backend is a store addressed by made keys (the keys after the key function,
// e.g. ":1:sidebar"). A Cache adds Django's semantics on top: key making and
// validation, versions, default timeouts, statistics, single-flight GetOrSet.
//
// Backends follow two rules about bytes. A value passed to Set or Add may be
// reused by the caller as soon as the call returns, so a backend that keeps it
// copies it. A value returned by Get is read-only for the caller: a backend
// may hand out the bytes it stores, and never modifies bytes it has handed
// out (it replaces them instead).
//
// Timeouts reaching a backend are never DefaultTimeout: the Cache resolves the
// default first. Each backend maps the rest as its Django counterpart does
// (see the Timeout type). A backend must be safe for concurrent use.
//
// Optional methods are discovered with type assertions: ManyGetter,
// ManySetter, ManyDeleter, Incrementer, KeyBytesGetter, KeyChecker,
// InProcess and Leaser. Where a backend lacks one, the Cache falls back to
// the single-key methods, as Django's BaseCache does. A backend that wraps
// another (such as cache/failopen's) implements Unwrapper, and As finds a
// backend of a given type, or with given methods, among the wrapped ones.
type Backend interface {
	// Get returns the value and true on a hit, nil and false on a miss.
	// A stored empty value is a hit.
	Get(ctx context.Context, key string) ([]byte, bool, error)
	// Set stores value under key.
	Set(ctx context.Context, key string, value []byte, timeout Timeout) error
	// Add stores value only if key is absent or expired, and reports whether
	// it stored it.
	Add(ctx context.Context, key string, value []byte, timeout Timeout) (bool, error)
	// Delete removes key and reports whether something was removed.
	Delete(ctx context.Context, key string) (bool, error)
	// Has reports whether key is present and unexpired.
	Has(ctx context.Context, key string) (bool, error)
	// Touch gives key a new timeout and reports whether the key existed.
	Touch(ctx context.Context, key string, timeout Timeout) (bool, error)
	// Clear removes everything from the store, whatever the key prefix.
	Clear(ctx context.Context) error
	// Close releases the backend's resources. It is safe to call twice.
	Close() error
}

// Entry is one key and value, for ManySetter.
type Entry struct {
	Key   string
	Value []byte
}

// ManyGetter is implemented by backends that fetch several keys at once
// (memcached's multi-get, Redis's MGET). The result holds hits only.
type ManyGetter interface {
	GetMany(ctx context.Context, keys []string) (map[string][]byte, error)
}

// ManySetter is implemented by backends that store several entries at once.
// It returns the keys that could not be stored.
type ManySetter interface {
	SetMany(ctx context.Context, entries []Entry, timeout Timeout) (failed []string, err error)
}

// ManyDeleteCounter is implemented by backends that delete several keys at
// once and can tell how many of them existed (Redis's DEL, memcached's
// deletes, the memory store). Group deletions (PurgeTag, DeleteVariants)
// find it with As, past a fail-open wrapper, which does not implement it:
// an invalidation that fails must say so, not be swallowed.
type ManyDeleteCounter interface {
	DeleteManyCounted(ctx context.Context, keys []string) (int, error)
}

// ManyDeleter is implemented by backends that delete several keys at once.
type ManyDeleter interface {
	DeleteMany(ctx context.Context, keys []string) error
}

// Incrementer is implemented by backends with an atomic increment. Incr adds
// delta (which may be negative) to the decimal integer stored under key and
// returns the new value. A missing key is an error satisfying
// errors.Is(err, ErrNotFound): returning ErrNotFound itself lets the Cache
// name the caller's key in the message, a *KeyNotFoundError names another.
// A value that is not an integer is an error satisfying ErrNotInteger.
//
// Without it, a Cache increments with Get and Set at the default timeout,
// as Django's BaseCache does (not atomic).
type Incrementer interface {
	Incr(ctx context.Context, key string, delta int64) (int64, error)
}

// KeyBytesGetter is implemented by backends that can look up a key given as
// bytes without converting it to a string, which keeps the hit path free of
// allocations. The backend must not retain key after returning.
type KeyBytesGetter interface {
	GetKeyBytes(ctx context.Context, key []byte) ([]byte, bool, error)
}

// RawGetter is implemented by backends that store values in Django's
// formats (memcached, Redis with django_values=1). GetRaw returns the value
// under the made key as it is stored, without decoding it, and whether it
// is a Python pickle; Get refuses a pickle that is not of plain bytes, text
// or an int (with an error wrapping ErrForeignValue). Wrappers implement it
// by asking the backend they wrap, or answer with Get.
type RawGetter interface {
	GetRaw(ctx context.Context, key string) (Raw, bool, error)
}

// Raw is a stored value as the backend holds it.
type Raw struct {
	// Bytes is the stored value.
	Bytes []byte
	// Pickle reports that Bytes is a Python pickle, Django's format for
	// values other than ints (and, on memcached, str and bytes). Read it
	// with a decoder that builds plain values; never run it.
	Pickle bool
}

// LocalGetter is implemented by backends that keep copies of values in
// process memory (a near cache: cache/redis with near_cache=1, the
// local_ttl layer of cache/memcached). GetLocal returns the copy held for
// the made key without any I/O, or false; a copy it returns is within the
// backend's staleness bound. A copy found counts as the backend's near hit;
// a miss is left for the Get that follows to count. Fail-open wrappers ask
// it before anything else, so that a near hit costs no operation timeout,
// goes on being served while the backend is unreachable (for at most that
// bound), and never passes for a successful probe of the server. GetLocal
// must not retain key after returning (a wrapper may pass the bytes of a
// reused buffer).
type LocalGetter interface {
	GetLocal(ctx context.Context, key string) ([]byte, bool)
}

// InProcess is implemented by backends whose operations never leave the
// process for a network round trip (memory://, dummy://, file://). A caller
// that batches reads to save round trips (the page cache's single-read
// hit, which fetches a URL's header list and page with one GetMany) skips
// the batching on them: there a GetMany costs allocations and saves
// nothing. Find it with IsInProcess, which looks through wrappers. A
// backend that does not implement it is taken to be remote.
type InProcess interface {
	// InProcess reports whether every operation is served in process.
	InProcess() bool
}

// IsInProcess reports whether b, or the backend a wrapper of it wraps (see
// As), says that it serves every operation in process (InProcess). A near
// cache in front of a remote backend is not in process: its misses go to
// the server.
func IsInProcess(b Backend) bool {
	ip, ok := As[InProcess](b)
	return ok && ip.InProcess()
}

// KeyChecker is implemented by backends that choose how a Cache treats keys
// memcached would reject (memcached backends reject them). It gives the
// default that WithKeyCheck overrides.
type KeyChecker interface {
	KeyCheck() KeyCheck
}

// Unwrapper is implemented by backends that wrap another backend, such as
// the fail-open wrapper of cache/failopen. Unwrap returns the wrapped
// backend, or nil when there is none.
type Unwrapper interface {
	Unwrap() Backend
}

// maxUnwrap bounds the walk of As, in case a wrapper unwraps to itself.
const maxUnwrap = 100

// As finds the first backend in b's chain of wrappers that is a T — b
// itself, then b.Unwrap(), and so on while the backends implement
// Unwrapper — as errors.As finds an error in a chain. T is usually a
// concrete backend type (*redis.Backend) or an interface of optional
// methods (failopen.Breaker). It reports false when no backend in the
// chain is a T, and for a nil b.
//
//	if rb, ok := cache.As[*redis.Backend](c.Backend()); ok {
//		n, err := rb.DeletePattern(ctx, pattern)
//	}
func As[T any](b Backend) (T, bool) {
	for range maxUnwrap {
		if b == nil {
			break
		}
		if t, ok := b.(T); ok {
			return t, true
		}
		u, ok := b.(Unwrapper)
		if !ok {
			break
		}
		b = u.Unwrap()
	}
	var zero T
	return zero, false
}

// Unwrap returns the backend b wraps, or nil when b does not implement
// Unwrapper, like errors.Unwrap.
func Unwrap(b Backend) Backend {
	if u, ok := b.(Unwrapper); ok {
		return u.Unwrap()
	}
	return nil
}
