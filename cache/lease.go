package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Leaser is implemented by backends with an atomic, expiring lease: the
// primitive that lets one process (or goroutine) among many recompute a
// missing value while the others wait or serve something older. Each
// backend takes a lease with its own atomic operation: memcached add,
// Redis SET NX PX, an exclusively created file in the file backend's
// directory, a map in process memory for the memory backend.
//
// AcquireLease stores token under key for ttl if no unexpired lease holds
// key, and reports whether it did. ReleaseLease removes the lease only if
// it still holds token, and reports whether it did: a lease that expired
// and was taken by another holder is left to that holder. key is a side
// key made by LeaseKey; a backend may transform it as it must (memcached
// hashes one it cannot take), since no Django process reads lease keys.
//
// Wrappers (cache/failopen, cache/near) implement Leaser by forwarding to
// the backend they wrap, failing with an error wrapping
// errors.ErrUnsupported when it has no leases. A Cache offers leases only
// when every backend along Unwrap implements Leaser (Cache.Leases).
type Leaser interface {
	AcquireLease(ctx context.Context, key, token string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, key, token string) (bool, error)
}

// SideKey returns the key of a side entry of kind kind ("lease", …) kept
// next to the value under the made key madeKey: the one convention every
// side key follows, so that a Redis Cluster keeps a value and its side
// entries in one hash slot.
//
// Redis Cluster hashes only a key's hash tag, the text between the first
// "{" and the first "}" after it when that text is not empty, and the
// whole key otherwise. So:
//
//   - a made key without "}" (Django's keys, such as
//     ":1:template.cache.sidebar.<md5>", and any key without braces) gets
//     "{" + madeKey + "}:" + kind, whose hash tag is the whole made key,
//     which is what the cluster hashes for the made key (it has no tag);
//   - a made key with a "}" gets madeKey + ":" + kind: when the made key
//     has a hash tag, the side key has the same one; when it has none
//     (a "}" before any "{", or "{}"), no key can share its slot, and the
//     side key lands wherever its own name hashes.
//
// Side keys are up to len(kind)+3 bytes longer than madeKey, and memcached
// takes at most 250: the memcached backend stores a side key it cannot
// take under its hashed form (memcached.HashedKey) rather than fail, since
// no Django process reads side keys.
func SideKey(madeKey, kind string) string {
	if strings.IndexByte(madeKey, '}') < 0 {
		return "{" + madeKey + "}:" + kind
	}
	return madeKey + ":" + kind
}

// LeaseKey returns the key of the lease on the value under madeKey:
// SideKey(madeKey, "lease").
func LeaseKey(madeKey string) string { return SideKey(madeKey, "lease") }

// Leases reports whether the cache can take leases (AcquireLease): its
// backend, and every backend it wraps, implements Leaser. The memory, file,
// memcached and Redis backends do, and the fail-open and near wrappers
// over them; the dummy backend does not.
func (c *Cache) Leases() bool { return c.leaser != nil }

// leaserOf returns b as a Leaser when b and every backend it wraps
// implement Leaser.
func leaserOf(b Backend) Leaser {
	l, ok := b.(Leaser)
	if !ok {
		return nil
	}
	for inner, i := b, 0; i < maxUnwrap; i++ {
		u, ok := inner.(Unwrapper)
		if !ok {
			return l
		}
		if inner = u.Unwrap(); inner == nil {
			return l
		}
		if _, ok := inner.(Leaser); !ok {
			return nil
		}
	}
	return l
}

// Lease is a lease held on a key, from Cache.AcquireLease. It expires by
// itself after its ttl; Release gives it up sooner.
type Lease struct {
	c       *Cache
	key     string // the lease key (LeaseKey of the made key)
	token   string
	expires time.Time
}

// Key returns the backend key of the lease: LeaseKey of the made key.
func (l *Lease) Key() string { return l.key }

// Token returns the random token identifying this holder.
func (l *Lease) Token() string { return l.token }

// Expires returns when the lease lapses, by the local clock: the time
// AcquireLease was called plus its ttl (memcached, which counts whole
// seconds, may end it up to a second sooner or later).
func (l *Lease) Expires() time.Time { return l.expires }

// Release gives the lease up and reports whether it was still held by
// this holder: false when it expired first (and may be held by another),
// or when a fail-open wrapper could not reach the backend (counted as an
// error in Stats, as other swallowed failures are).
func (l *Lease) Release(ctx context.Context) (bool, error) {
	c := l.c
	if err := c.usable(ctx); err != nil {
		return false, err
	}
	var sw Swallowed
	if c.swallows {
		ctx = WithSwallowed(ctx, &sw)
	}
	ok, err := c.leaser.ReleaseLease(ctx, l.key, l.token)
	if err != nil {
		return false, c.fail(err)
	}
	if sw.Count() > 0 {
		c.stats.errors.Add(1)
	}
	return ok, nil
}

// AcquireLease takes the lease on key (made with the cache's key function
// and checked as other keys are) for ttl, if nobody holds it, across every
// process sharing the backend. It returns the Lease and true when this
// caller got it, nil and false when another holder has it. A backend that
// cannot be reached through a fail-open wrapper gives no lease (nil, false
// and no error), counted as an error in Stats as other swallowed failures
// are; without the wrapper its error is returned.
//
// Leases are the primitive of stampede protection: on a miss, the holder
// recomputes and stores the value, and the others wait for it or serve
// what they have, instead of all recomputing at once. A lease is not a
// lock: it lapses after ttl whether or not its holder is done. A cache
// without leases (see Leases) fails with an error wrapping
// errors.ErrUnsupported; a ttl that is not positive is an error wrapping
// ErrInvalidOption.
func (c *Cache) AcquireLease(ctx context.Context, key string, ttl time.Duration) (*Lease, bool, error) {
	mk, err := c.key(ctx, key)
	if err != nil {
		return nil, false, err
	}
	if ttl <= 0 {
		return nil, false, fmt.Errorf("%w: lease ttl %v: want a positive duration", ErrInvalidOption, ttl)
	}
	if c.leaser == nil {
		return nil, false, fmt.Errorf("cache: leases on a %T backend: %w", c.backend, errors.ErrUnsupported)
	}
	token := NewLeaseToken()
	lk := LeaseKey(mk)
	var sw Swallowed
	if c.swallows {
		ctx = WithSwallowed(ctx, &sw)
	}
	start := time.Now()
	got, err := c.leaser.AcquireLease(ctx, lk, token, ttl)
	if err != nil {
		return nil, false, c.fail(err)
	}
	if sw.Count() > 0 {
		c.stats.errors.Add(1)
	}
	if !got {
		return nil, false, nil
	}
	return &Lease{c: c, key: lk, token: token, expires: start.Add(ttl)}, true, nil
}

// NewLeaseToken returns a random token for Leaser.AcquireLease: 32
// hexadecimal digits from crypto/rand, unique to its holder.
func NewLeaseToken() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
