package memcached

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/internal/indexlist"
)

// Backend implements cache.Indexer.
var _ cache.Indexer = (*Backend)(nil)

const (
	// maxIndexTries bounds the attempts of IndexAdd when other clients
	// change the index between its read and its write.
	maxIndexTries = 32
	// indexDeadlineStep rounds an index's deadline up, so that entries
	// stored with one timeout a few seconds apart raise it (a
	// compare-and-swap) at most once a minute.
	indexDeadlineStep = 60
	// indexCheckBatch is how many keys one multi-get of a compaction asks.
	indexCheckBatch = 100
)

// errIndexRetry is how a step of IndexAdd asks for another try.
var errIndexRetry = errors.New("memcached: index changed meanwhile")

// maxIndexMembers returns the bound of an index.
func (b *Backend) maxIndexMembers() int {
	if b.maxIndex > 0 {
		return b.maxIndex
	}
	return cache.MaxIndexMembers
}

// indexDeadline returns the deadline (Unix seconds, rounded up to
// indexDeadlineStep, or indexlist.Forever) of an index that must outlive an
// entry stored now with timeout t, and false for an entry stored already
// expired.
func (b *Backend) indexDeadline(t cache.Timeout) (int64, bool) {
	switch t {
	case cache.Forever:
		return indexlist.Forever, true
	case cache.DefaultTimeout:
		t = cache.Seconds(300)
	}
	secs := int64(t) / int64(time.Second)
	if secs <= 0 {
		return 0, false
	}
	d := b.now().Unix() + secs + 1 // memcached's clock ticks once a second
	return (d + indexDeadlineStep - 1) / indexDeadlineStep * indexDeadlineStep, true
}

// indexExpiration returns the memcached expiry of an index whose deadline
// is d.
func (b *Backend) indexExpiration(d int64) int32 {
	if d == indexlist.Forever || d == 0 {
		return 0
	}
	now := b.now()
	return Expiration(cache.Timeout(max(d-now.Unix(), 1)*int64(time.Second)), now)
}

// IndexAdd implements cache.Indexer. The index is one item under the index
// key (hashed, as every side key, when memcached cannot take it; see
// cache.SideKey), holding the members one per line (package
// internal/indexlist) and the index's deadline. It reads the index (gets):
// a member already present costs nothing more, unless its timeout outlives
// the index, which is then rewritten with the later deadline by a
// compare-and-swap (cas), so that the index is never shortened. A new
// member is appended (memcached's append, which needs no compare-and-swap
// and never conflicts with other writers), or the index created (add). An
// index holding its bound of members, or one memcached refuses to grow
// (its item size limit), is compacted — the members whose entries are gone
// (a multi-get of their keys) dropped, the rest written back by cas — and
// tried again; still full, the error wraps cache.ErrIndexFull.
func (b *Backend) IndexAdd(ctx context.Context, key, member string, timeout cache.Timeout) error {
	if err := b.ready(ctx); err != nil {
		return err
	}
	deadline, ok := b.indexDeadline(timeout)
	if !ok {
		return nil // an entry stored already expired: nothing to index
	}
	k := leaseKey(key)
	compacted := false
	for try := 0; try < maxIndexTries; try++ {
		if try > 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			time.Sleep(time.Duration(rand.Int64N(int64(try)*int64(time.Millisecond)) + 1))
		}
		err := b.indexAddOnce(ctx, k, key, member, deadline, &compacted)
		if err != errIndexRetry {
			return err
		}
	}
	return fmt.Errorf("memcached: adding to index %q: gave up after %d tries: the index kept changing", key, maxIndexTries)
}

// indexAddOnce is one try of IndexAdd on the item k (whose side key is key).
func (b *Backend) indexAddOnce(ctx context.Context, k, key, member string, deadline int64, compacted *bool) error {
	var it *memcache.Item
	err := b.do(ctx, "gets", k, true, func(c *memcache.Client) (err error) { it, err = c.Get(k); return err })
	if err == memcache.ErrCacheMiss {
		data := indexlist.AppendMember(indexlist.AppendDeadline(nil, deadline), member)
		err := b.do(ctx, "add", k, false, func(c *memcache.Client) error {
			return c.Add(&memcache.Item{Key: k, Value: data, Expiration: b.indexExpiration(deadline)})
		})
		switch {
		case err == nil:
			return nil
		case err == memcache.ErrNotStored:
			return errIndexRetry // created meanwhile
		case tooLarge(err):
			return fmt.Errorf("memcached: index %q: %w (memcached refused even one member)", key, cache.ErrIndexFull)
		}
		return opError("add", key, err)
	}
	if err != nil {
		return opError("gets", key, err)
	}
	l := indexlist.Parse(it.Value)
	present := l.Has(member)
	if present && deadline <= l.Deadline {
		return nil
	}
	limit := b.maxIndexMembers()
	if !present && (len(l.Members) >= limit || l.Lines >= 2*limit) {
		if *compacted {
			return fmt.Errorf("memcached: index %q holds %d members with live entries: %w", key, len(l.Members), cache.ErrIndexFull)
		}
		if err := b.compactIndex(ctx, it, key, l); err != nil {
			return err
		}
		*compacted = true
		return errIndexRetry
	}
	if deadline > l.Deadline {
		// Raise the deadline with the member: a cas, so that the index's
		// expiry is never set below a deadline another client recorded.
		it.Value = indexlist.AppendDeadline(it.Value, deadline)
		if !present {
			it.Value = indexlist.AppendMember(it.Value, member)
		}
		it.Expiration = b.indexExpiration(deadline)
		return b.indexCAS(ctx, it, key, compacted, l)
	}
	line := indexlist.AppendMember(nil, member)
	err = b.do(ctx, "append", k, false, func(c *memcache.Client) error { return c.Append(&memcache.Item{Key: k, Value: line}) })
	switch {
	case err == nil:
		return nil
	case err == memcache.ErrNotStored:
		// Deleted or expired meanwhile, or (memcached answers the same)
		// grown past the item size limit.
		gerr := b.do(ctx, "get", k, true, func(c *memcache.Client) error { _, err := c.Get(k); return err })
		switch {
		case gerr == memcache.ErrCacheMiss:
			return errIndexRetry
		case gerr != nil:
			return opError("get", key, gerr)
		}
		return b.fullBySize(ctx, it, key, l, compacted)
	case tooLarge(err) || refused(err):
		return b.fullBySize(ctx, it, key, l, compacted)
	}
	return opError("append", key, err)
}

// indexCAS writes it back if unchanged since it was read.
func (b *Backend) indexCAS(ctx context.Context, it *memcache.Item, key string, compacted *bool, l *indexlist.List) error {
	err := b.do(ctx, "cas", it.Key, false, func(c *memcache.Client) error { return c.CompareAndSwap(it) })
	switch {
	case err == nil:
		return nil
	case err == memcache.ErrCASConflict || err == memcache.ErrNotStored || err == memcache.ErrCacheMiss:
		return errIndexRetry
	case tooLarge(err):
		return b.fullBySize(ctx, it, key, l, compacted)
	}
	return opError("cas", key, err)
}

// fullBySize handles an index memcached refused to grow: compacted once,
// then ErrIndexFull.
func (b *Backend) fullBySize(ctx context.Context, it *memcache.Item, key string, l *indexlist.List, compacted *bool) error {
	if *compacted {
		return fmt.Errorf("memcached: index %q: %w (memcached's item size limit, %d members)", key, cache.ErrIndexFull, len(l.Members))
	}
	*compacted = true
	// Reread: it may hold what the failed write added.
	var fresh *memcache.Item
	err := b.do(ctx, "gets", it.Key, true, func(c *memcache.Client) (err error) { fresh, err = c.Get(it.Key); return err })
	switch {
	case err == memcache.ErrCacheMiss:
		return errIndexRetry
	case err != nil:
		return opError("gets", key, err)
	}
	if err := b.compactIndex(ctx, fresh, key, indexlist.Parse(fresh.Value)); err != nil {
		return err
	}
	return errIndexRetry
}

// compactIndex rewrites the index it (read with gets, parsed as l) without
// the members whose entries are gone, by cas; a conflict is not an error
// (the caller tries again).
func (b *Backend) compactIndex(ctx context.Context, it *memcache.Item, key string, l *indexlist.List) error {
	live, err := b.liveMembers(ctx, l.Members)
	if err != nil {
		return fmt.Errorf("memcached: compacting index %q: %w", key, err)
	}
	it.Value = indexlist.Encode(live, l.Deadline)
	it.Expiration = b.indexExpiration(l.Deadline)
	err = b.do(ctx, "cas", it.Key, false, func(c *memcache.Client) error { return c.CompareAndSwap(it) })
	switch {
	case err == nil, err == memcache.ErrCASConflict, err == memcache.ErrNotStored, err == memcache.ErrCacheMiss:
		return nil
	}
	return opError("cas", key, err)
}

// liveMembers returns the members (made keys) whose entries memcached
// still holds, by multi-gets of their wire keys. A member memcached cannot
// take is dropped: it has no entry.
func (b *Backend) liveMembers(ctx context.Context, members []string) ([]string, error) {
	live := make([]string, 0, len(members))
	for start := 0; start < len(members); start += indexCheckBatch {
		batch := members[start:min(start+indexCheckBatch, len(members))]
		wire := make([]string, 0, len(batch))
		made := make([]string, 0, len(batch))
		for _, m := range batch {
			if k, err := b.wireKey(m); err == nil {
				wire = append(wire, k)
				made = append(made, m)
			}
		}
		items, err := b.getMulti(ctx, wire)
		if err != nil {
			return nil, err
		}
		for i, k := range wire {
			if _, ok := items[k]; ok {
				live = append(live, made[i])
			}
		}
	}
	return live, nil
}

// IndexMembers implements cache.Indexer: the distinct members of the
// index, nil when there is none.
func (b *Backend) IndexMembers(ctx context.Context, key string) ([]string, error) {
	if err := b.ready(ctx); err != nil {
		return nil, err
	}
	var it *memcache.Item
	k := leaseKey(key)
	err := b.do(ctx, "get", k, true, func(c *memcache.Client) (err error) { it, err = c.Get(k); return err })
	switch {
	case err == memcache.ErrCacheMiss:
		return nil, nil
	case err != nil:
		return nil, opError("get", key, err)
	}
	return indexlist.Parse(it.Value).Members, nil
}

// IndexDelete implements cache.Indexer: it deletes the index item.
func (b *Backend) IndexDelete(ctx context.Context, key string) error {
	if err := b.ready(ctx); err != nil {
		return err
	}
	k := leaseKey(key)
	err := b.do(ctx, "delete", k, true, func(c *memcache.Client) error { return c.Delete(k) })
	if err != nil && err != memcache.ErrCacheMiss {
		return opError("delete", key, err)
	}
	return nil
}
