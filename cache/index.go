package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
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

// PrefixDeleter is implemented by backends that can enumerate their keys
// (Redis with SCAN MATCH, the memory store), and so delete keys a Django
// process wrote too. DeletePrefix deletes every made key starting with
// prefix that match accepts (nil: every one), and returns how many it
// deleted.
type PrefixDeleter interface {
	DeletePrefix(ctx context.Context, prefix string, match func(key string) bool) (int, error)
}

// IsVariantKey reports whether the made key key is a variant of the
// fragment whose made name key is base: base + "." + 32 lowercase
// hexadecimal digits (see InvalidateFragmentVariants).
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
// shape: nothing is added to them. With a key function (WithKeyFunc),
// whose made keys have no known shape, only the indexed variants are
// deleted.
func (c *Cache) InvalidateFragmentVariants(ctx context.Context, name string) (int, error) {
	if name == "" || strings.ContainsAny(name, " \t\r\n") {
		return 0, fmt.Errorf("%w: fragment name %q: want the name as written in the tag", ErrInvalidOption, name)
	}
	base := c.MakeKey(FragmentKeyPrefix + name)
	n, err := c.DeleteVariants(ctx, FragmentKeyPrefix+name, func(mk string) bool { return IsVariantKey(mk, base) }, FragmentKeyPrefix+name+".")
	if err != nil {
		return n, fmt.Errorf("cache: invalidating the variants of fragment %q: %w", name, err)
	}
	return n, nil
}

// IndexVariants records that keys (callers' keys, just stored for
// timeout) are variants of group (a caller's key naming them, such as
// "template.cache.sidebar"), so that DeleteVariants deletes them together:
// it adds their made keys to the index under VariantIndexKey of group's
// made key. The {% cache %} tag's stores are indexed so by the cache
// itself; the page cache indexes each page under its URL. A cache whose
// backend keeps no indexes does nothing.
func (c *Cache) IndexVariants(ctx context.Context, group string, keys []string, timeout Timeout) error {
	if c.indexer == nil || len(keys) == 0 {
		return nil
	}
	if err := c.usable(ctx); err != nil {
		return err
	}
	if timeout == DefaultTimeout {
		timeout = c.defaultTimeout
	}
	idx := VariantIndexKey(c.MakeKey(group))
	var errs []error
	for _, k := range keys {
		if err := c.indexer.IndexAdd(ctx, idx, c.MakeKey(k), timeout); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		c.index.errors.Add(1)
		return c.fail(fmt.Errorf("cache: indexing the variants of %q: %w", group, err))
	}
	c.index.adds.Add(uint64(len(keys)))
	return nil
}

// DeleteVariants deletes the variants of group: every key its index lists
// (IndexVariants) that match accepts (nil: every one), and, on backends
// that can enumerate their keys (PrefixDeleter: Redis, the memory store),
// every made key starting with the made key of one of prefixes that match
// accepts, so that variants a Django process wrote go too. match sees
// made keys. With a key function (WithKeyFunc), whose made keys have no
// known shape, only the indexed variants are deleted, unfiltered. It
// returns how many entries it deleted. A backend that fails makes it fail:
// group deletions go past a fail-open wrapper (ManyDeleteCounter), as an
// invalidation that did not happen must say so.
func (c *Cache) DeleteVariants(ctx context.Context, group string, match func(madeKey string) bool, prefixes ...string) (int, error) {
	if err := c.usable(ctx); err != nil {
		return 0, err
	}
	if c.keyFunc != nil {
		match = nil
	}
	deleted := 0
	var errs []error
	if c.indexer != nil {
		n, err := c.deleteIndexed(ctx, VariantIndexKey(c.MakeKey(group)), match)
		deleted += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	if pd, ok := As[PrefixDeleter](c.backend); ok && c.keyFunc == nil {
		for _, p := range prefixes {
			n, err := pd.DeletePrefix(ctx, c.MakeKey(p), match)
			deleted += n
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return deleted, c.fail(err)
	}
	return deleted, nil
}

// deleteIndexed deletes the members of the index idx that keep accepts
// (nil: all), with their freshness side keys, then the index. It returns
// how many it deleted (see DeleteVariants).
func (c *Cache) deleteIndexed(ctx context.Context, idx string, keep func(string) bool) (int, error) {
	members, err := c.indexer.IndexMembers(ctx, idx)
	if err != nil {
		return 0, fmt.Errorf("reading the index %q: %w", idx, err)
	}
	if keep != nil {
		members = slices.DeleteFunc(members, func(mk string) bool { return !keep(mk) })
	}
	deleted := 0
	var errs []error
	_, inEntry := c.backend.(FreshnessKeeper)
	if dc, ok := As[ManyDeleteCounter](c.backend); ok && len(members) > 0 {
		// One command for the entries (DEL k1 k2… on Redis), counted, and
		// one for their freshness.
		n, err := dc.DeleteManyCounted(ctx, members)
		deleted = n
		if err != nil {
			errs = append(errs, err)
		} else if !inEntry {
			fresh := make([]string, len(members))
			for i, mk := range members {
				fresh[i] = FreshKey(mk)
			}
			if _, err := dc.DeleteManyCounted(ctx, fresh); err != nil {
				errs = append(errs, err)
			}
		}
	} else {
		for _, mk := range members {
			ok, err := c.backend.Delete(ctx, mk)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if ok {
				deleted++
			}
			if !inEntry {
				_, _ = c.backend.Delete(ctx, FreshKey(mk))
			}
		}
	}
	if len(errs) == 0 {
		if err := c.indexer.IndexDelete(ctx, idx); err != nil {
			errs = append(errs, err)
		}
	}
	c.stats.deletes.Add(uint64(deleted))
	return deleted, errors.Join(errs...)
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
