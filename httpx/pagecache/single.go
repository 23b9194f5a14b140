package pagecache

import (
	"bytes"
	"context"
	"errors"
	"hash/maphash"
	"net/http"
	"sync"

	"github.com/fragcache/fragcache/cache"
)

// This file is the single-read hit (see "Single-read hits" in the package
// documentation): the lookups, and the memory behind them, of the header
// list last read or stored under each header-list key in this process. The
// memory is only a guess of what the cache holds, which chooses the page
// keys fetched together with the header list; what is served is always
// derived from the list fetched in the same request. So it needs no
// expiry, and is not shared.

// readList reads the header list stored under s.hkey: in this package's
// format, or pickled by Django, which memcached and Redis with
// django_values=1 hand over only undecoded (Cache.GetRaw).
func (p *Cache) readList(ctx context.Context, s *keyInputs) (hl []byte, found bool, err error) {
	hl, found, err = p.cache.GetKeyBytes(ctx, s.hkey)
	if errors.Is(err, cache.ErrForeignValue) {
		var raw cache.Raw
		raw, found, err = p.cache.GetRaw(ctx, string(s.hkey))
		hl = raw.Bytes
	}
	return hl, found, err
}

// prefetched holds the pages fetched together with the header list, when
// that list was the one remembered.
type prefetched struct {
	vals map[string][]byte // the multi-get's hits; nil: nothing prefetched
	keys []string          // the page keys fetched: GET's, then HEAD's
	// metas are the pages' freshness side-key values, fetched with them
	// under grace or early expiry (WithStampede).
	metas map[string][]byte
}

// meta returns the freshness fetched with the page under key (nil: none).
func (f *prefetched) meta(key []byte) []byte {
	return f.metas[string(key)]
}

// value returns the value fetched under key; fetched is false when key was
// not fetched (then the page is to be read). A nil f fetched nothing.
func (f *prefetched) value(key []byte) (v []byte, found, fetched bool) {
	if f == nil || f.vals == nil {
		return nil, false, false
	}
	for _, k := range f.keys {
		if k == string(key) {
			v, found = f.vals[k]
			return v, found, true
		}
	}
	return nil, false, false
}

// readTogether fetches, with one GetMany, the header list under s.hkey and
// the page keys that guess (the list remembered for it) implies for r: GET's
// and, for HEAD, HEAD's. When the fetched list is guess byte for byte, pre
// gets the pages, which lookup takes only under the keys it computes from
// the fetched list; otherwise the guess was wrong (counted) and the pages
// are dropped. read is false when the multi-get failed on a value pickled by
// Django (memcached and Redis with django_values=1 fail the whole call),
// for the caller to read the list alone.
func (p *Cache) readTogether(ctx context.Context, r *http.Request, s *keyInputs, guess []byte, pre *prefetched) (hl []byte, found, read bool, err error) {
	names, _ := learnedNames(guess) // only lists in this package's format are remembered
	s.setVary(&p.keys.cfg, r, names)
	s.gkey = p.keys.appendPageKey(s.gkey[:0], s, r, http.MethodGet)
	keys := make([]string, 2, 3)
	keys[0], keys[1] = string(s.hkey), string(s.gkey)
	if r.Method == http.MethodHead {
		s.headKey = p.keys.appendPageKey(s.headKey[:0], s, r, http.MethodHead)
		keys = append(keys, string(s.headKey))
	}
	var vals, metas map[string][]byte
	if p.sides {
		// The pages' freshness side keys ride along: one more key each.
		vals, metas, err = p.cache.GetManyWithFreshness(ctx, keys, keys[1:])
	} else {
		vals, err = p.cache.GetMany(ctx, keys)
	}
	if errors.Is(err, cache.ErrForeignValue) {
		p.stats.listGuessWrong.Add(1)
		return nil, false, false, nil
	}
	if err != nil {
		return nil, false, true, err
	}
	hl, found = vals[keys[0]]
	if found && bytes.Equal(hl, guess) {
		pre.vals, pre.keys, pre.metas = vals, keys[1:], metas
	} else {
		p.stats.listGuessWrong.Add(1)
	}
	return hl, found, true, nil
}

// rememberList remembers the header list just read for hkey when it is in
// this package's format, and forgets hkey when it is another value (a list
// Django pickled, which a multi-get of memcached or Redis with
// django_values=1 would fail on). No list at all changes nothing: the
// multi-get of a guess then costs what the read of the list alone does,
// and a fail-open cache answers a failed read so (an outage does not wipe
// the memory).
func (p *Cache) rememberList(hkey, hl []byte, found bool) {
	if !found {
		return
	}
	if _, native := nativeHeaderList(hl); native {
		p.lists.put(hkey, hl)
		return
	}
	p.lists.forget(hkey)
}

// DefaultHeaderListMemory is how many header lists a Cache remembers when
// WithHeaderListMemory is not given and its backend is not in process.
const DefaultHeaderListMemory = 4096

// listShards is the number of shards of a listMemory.
const listShards = 16

// listMemory remembers, per header-list key, the stored header list in
// this package's format (the bytes read or written), up to a bound; a full
// shard forgets an arbitrary entry (Go's map order) to make room. The
// remembered bytes are never modified: a new list replaces them.
type listMemory struct {
	seed     maphash.Seed
	perShard int
	shards   [listShards]listShard
}

type listShard struct {
	mu sync.RWMutex
	m  map[string][]byte
	_  [40]byte // keeps shards on their own cache lines
}

// newListMemory returns a memory of at most n lists (n > 0).
func newListMemory(n int) *listMemory {
	l := &listMemory{seed: maphash.MakeSeed(), perShard: max(1, (n+listShards-1)/listShards)}
	for i := range l.shards {
		l.shards[i].m = make(map[string][]byte)
	}
	return l
}

func (l *listMemory) shard(key []byte) *listShard {
	return &l.shards[maphash.Bytes(l.seed, key)%listShards]
}

// get returns the list remembered for the header-list key, without
// allocating. The bytes are read-only.
func (l *listMemory) get(key []byte) ([]byte, bool) {
	s := l.shard(key)
	s.mu.RLock()
	v, ok := s.m[string(key)]
	s.mu.RUnlock()
	return v, ok
}

// put remembers list (a header list in this package's format, copied) for
// the header-list key.
func (l *listMemory) put(key, list []byte) {
	s := l.shard(key)
	s.mu.RLock()
	old, ok := s.m[string(key)]
	s.mu.RUnlock()
	if ok && bytes.Equal(old, list) {
		return
	}
	v := bytes.Clone(list)
	if v == nil {
		v = []byte{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[string(key)]; !ok && len(s.m) >= l.perShard {
		for k := range s.m {
			delete(s.m, k)
			break
		}
	}
	s.m[string(key)] = v
}

// forget drops what is remembered for the header-list key.
func (l *listMemory) forget(key []byte) {
	s := l.shard(key)
	s.mu.RLock()
	_, ok := s.m[string(key)]
	s.mu.RUnlock()
	if !ok {
		return
	}
	s.mu.Lock()
	delete(s.m, string(key))
	s.mu.Unlock()
}

// len returns how many lists are remembered.
func (l *listMemory) len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
