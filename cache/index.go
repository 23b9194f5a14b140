package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"
)

// Indexes are how a group of entries is found again to be deleted
// together: every variant of a {% cache %} fragment name (each vary-on
// value has its own key), every entry declaring a content tag. A backend
// that can enumerate its keys (Redis SCAN, the memory store) finds the
// entries a Django process wrote too; every backend finds those this
// package wrote, through an index written when they were stored (on a
// miss, never on a hit).

// Indexer is implemented by backends that keep indexes: sets of made keys
// under an index key (a side key, see SideKey), so that a group of entries
// can be deleted together without enumerating the backend.
//
// IndexAdd adds member to the index under index, and keeps the index at
// least as long as timeout from now (Forever: as long as the backend keeps
// anything; it never shortens the index's life). An index holds at most
// MaxIndexMembers members: when full, the backend drops the members whose
// entries are gone, and returns an error wrapping ErrIndexFull if it is
// still full. IndexMembers returns the members (nil when there is no
// index); IndexDelete removes the index.
//
// An index is bookkeeping, not the entries it lists: a backend may evict it
// (memcached's LRU, Redis's maxmemory) while the entries live, and then a
// group deletion misses them. Each backend's documentation says when.
type Indexer interface {
	IndexAdd(ctx context.Context, index, member string, timeout Timeout) error
	IndexMembers(ctx context.Context, index string) ([]string, error)
	IndexDelete(ctx context.Context, index string) error
}

// PrefixDeleter is implemented by backends that can delete every key
// starting with a prefix of made keys (Redis with SCAN MATCH, the memory
// store), including keys a Django process wrote. DeletePrefix returns how
// many keys it deleted.
type PrefixDeleter interface {
	DeletePrefix(ctx context.Context, prefix string) (int, error)
}

// VariantDeleter is implemented by backends that can enumerate their keys
// (Redis with SCAN MATCH, the memory store) to delete every variant of a
// fragment name, including those a Django process wrote: DeleteVariants
// deletes every key made of base, a ".", and 32 lowercase hexadecimal
// digits (the md5 of the vary-on values that ends every {% cache %} key),
// and nothing else, so that the variants of the name "side.bar"
// (base + ".bar." + digits) survive the deletion of those of "side". base
// is the made key of FragmentKeyPrefix + name. It returns how many keys it
// deleted.
type VariantDeleter interface {
	DeleteVariants(ctx context.Context, base string) (int, error)
}

// IsVariantKey reports whether the made key key is a variant of the
// fragment whose made name key is base: base + "." + 32 lowercase
// hexadecimal digits (see VariantDeleter).
func IsVariantKey(key, base string) bool {
	rest, ok := strings.CutPrefix(key, base)
	if !ok || len(rest) != 33 || rest[0] != '.' {
		return false
	}
	for i := 1; i < len(rest); i++ {
		if c := rest[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// MaxIndexMembers bounds an index: 10,000 made keys.
const MaxIndexMembers = 10000

// ErrIndexFull is wrapped by the error of IndexAdd on an index holding
// MaxIndexMembers live entries.
var ErrIndexFull = errors.New("cache: index full")

// VariantsKind is the kind of the side key indexing the variants of a
// fragment name; VariantIndexKey returns it.
const VariantsKind = "variants"

// VariantIndexKey returns the key of the index of every variant of the
// fragment name, for the made key of the fragments' common prefix:
// SideKey(madeNameKey, VariantsKind), where madeNameKey is the made key of
// FragmentKeyPrefix + name (":1:template.cache.sidebar" for the default
// key function): "{:1:template.cache.sidebar}:variants".
func VariantIndexKey(madeNameKey string) string { return SideKey(madeNameKey, VariantsKind) }

// fragmentName returns the fragment name of a key written by the
// {% cache %} tag ("template.cache.<name>.<32 hex digits>"), or false.
func fragmentName(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, FragmentKeyPrefix)
	if !ok || len(rest) < 34 || rest[len(rest)-33] != '.' {
		return "", false
	}
	return rest[:len(rest)-33], true
}

// indexVariant records the fragment variant just stored under key (a
// caller's key) with timeout t in its name's index, when key is a fragment
// key and the backend keeps indexes. A failure is counted and logged: the
// variant is stored; only a later InvalidateFragmentVariants may miss it
// (on backends that cannot enumerate their keys).
func (c *Cache) indexVariant(ctx context.Context, key string, t Timeout) {
	if c.indexer == nil || !strings.HasPrefix(key, FragmentKeyPrefix) {
		return
	}
	name, ok := fragmentName(key)
	if !ok {
		return
	}
	idx := VariantIndexKey(c.MakeKey(FragmentKeyPrefix + name))
	err := c.indexer.IndexAdd(ctx, idx, c.MakeKey(key), t)
	if err == nil {
		c.index.adds.Add(1)
		return
	}
	c.index.errors.Add(1)
	c.stats.errors.Add(1)
	if c.logger != nil && c.index.logLimit.allow() {
		c.logger.LogAttrs(ctx, slog.LevelWarn, "fragcache: indexing a fragment variant failed; InvalidateFragmentVariants may miss it",
			slog.String("index", idx), slog.String("key", c.MakeKey(key)), slog.Any("error", err))
	}
}

// InvalidateFragmentVariants deletes every variant of the {% cache %}
// fragment name in c (every vary-on value, at c's key prefix and
// version), and returns how many entries it deleted. It deletes the
// variants this package indexed when it stored them (on every backend that
// keeps indexes: memory, file, memcached, Redis), and, on backends that can
// enumerate their keys (Redis, the memory store: VariantDeleter), every
// key of a variant's shape (the name's made key, ".", 32 hexadecimal
// digits), so that variants a Django process wrote are deleted too; those
// of a name extending this one ("side.bar" for "side") are not. On the file backend and memcached, a variant only Django wrote is
// not found: their keys cannot be enumerated (the file backend names files
// by the md5 of the key).
//
// name is the fragment name as written in the tag. Keys keep Django's
// shape: nothing is added to them.
func (c *Cache) InvalidateFragmentVariants(ctx context.Context, name string) (int, error) {
	if err := c.usable(ctx); err != nil {
		return 0, err
	}
	if name == "" || strings.ContainsAny(name, " \t\r\n") {
		return 0, fmt.Errorf("%w: fragment name %q: want the name as written in the tag", ErrInvalidOption, name)
	}
	base := c.MakeKey(FragmentKeyPrefix + name)
	deleted := 0
	var errs []error
	if c.indexer != nil {
		idx := VariantIndexKey(base)
		members, err := c.indexer.IndexMembers(ctx, idx)
		if err != nil {
			errs = append(errs, fmt.Errorf("reading the index %q: %w", idx, err))
		}
		for _, mk := range members {
			if !IsVariantKey(mk, base) {
				continue // not a variant of this name at this version
			}
			ok, err := c.backend.Delete(ctx, mk)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if ok {
				deleted++
			}
			c.deleteSides(ctx, mk)
		}
		if err == nil {
			if err := c.indexer.IndexDelete(ctx, idx); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if vd, ok := As[VariantDeleter](c.backend); ok {
		n, err := vd.DeleteVariants(ctx, base)
		if err != nil {
			errs = append(errs, err)
		}
		deleted += n
	}
	c.stats.deletes.Add(uint64(deleted))
	if err := errors.Join(errs...); err != nil {
		c.stats.errors.Add(1)
		return deleted, fmt.Errorf("cache: invalidating the variants of fragment %q: %w", name, err)
	}
	return deleted, nil
}

// deleteSides deletes the side keys of the entry under the made key mk
// (its freshness), so that a later value is not judged by them.
func (c *Cache) deleteSides(ctx context.Context, mk string) {
	if _, ok := c.backend.(FreshnessKeeper); ok {
		return // kept in the entry
	}
	_, _ = c.backend.Delete(ctx, FreshKey(mk))
}

// IndexStats counts the index writes of a cache: Adds that succeeded, and
// Errors (each also counted in Stats.Errors and logged, at most once a
// second).
type IndexStats struct {
	Adds, Errors uint64
}

// indexCounters are the counters behind IndexStats.
type indexCounters struct {
	adds, errors atomic.Uint64
	logLimit     everySecond
}

// everySecond allows one event per second (log lines).
type everySecond struct{ last atomic.Int64 }

func (e *everySecond) allow() bool {
	now := time.Now().UnixNano()
	last := e.last.Load()
	return now-last >= int64(time.Second) && e.last.CompareAndSwap(last, now)
}

// indexerOf returns b as an Indexer when b and every backend it wraps
// implement Indexer (wrappers forward it), as leaserOf does for leases.
func indexerOf(b Backend) Indexer {
	ix, ok := b.(Indexer)
	if !ok {
		return nil
	}
	for inner, i := b, 0; i < maxUnwrap; i++ {
		u, ok := inner.(Unwrapper)
		if !ok {
			return ix
		}
		if inner = u.Unwrap(); inner == nil {
			return ix
		}
		if _, ok := inner.(Indexer); !ok {
			return nil
		}
	}
	return ix
}
