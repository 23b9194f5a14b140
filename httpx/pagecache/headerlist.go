package pagecache

import (
	"context"
	"encoding/binary"
	"errors"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/internal/pickle"
)

// The learned header list is stored under the header-list key as
//
//	"FCH\x01" then, per name, uvarint(len(name)) and the name's bytes.
//
// Django stores a pickled list of str there (any protocol Django writes).
// Such a value (written by a Django process sharing the cache) is read too,
// by the restricted decoder of internal/pickle, which builds plain values
// and never runs anything, so that Invalidate, GetCacheKey and the page
// cache find the keys Django learned.

const headerListMagic = "FCH\x01"

// encodeHeaderList encodes a header list.
func encodeHeaderList(list []string) []byte {
	n := len(headerListMagic)
	for _, s := range list {
		n += binary.MaxVarintLen64 + len(s)
	}
	b := make([]byte, 0, n)
	b = append(b, headerListMagic...)
	for _, s := range list {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// headerListIter walks a stored header list without allocating.
type headerListIter struct {
	b   []byte
	bad bool
}

// next returns the next name; ok is false at the end or on a malformed
// value (then bad is set).
func (it *headerListIter) next() (name []byte, ok bool) {
	if len(it.b) == 0 {
		return nil, false
	}
	n, w := binary.Uvarint(it.b)
	if w <= 0 || n > uint64(len(it.b)-w) {
		it.bad, it.b = true, nil
		return nil, false
	}
	name = it.b[w : w+int(n)]
	it.b = it.b[w+int(n):]
	return name, true
}

// isNativeHeaderList reports whether v is in this package's format, and
// returns the iterator over it.
func nativeHeaderList(v []byte) (headerListIter, bool) {
	if len(v) < len(headerListMagic) || string(v[:len(headerListMagic)]) != headerListMagic {
		return headerListIter{}, false
	}
	it := headerListIter{b: v[len(headerListMagic):]}
	// Validate once, so that a caller can trust the walk.
	probe := it
	for _, ok := probe.next(); ok; _, ok = probe.next() {
	}
	return it, !probe.bad
}

// decodeHeaderList returns the names of a stored header list in either
// format; ok is false for anything else.
func decodeHeaderList(v []byte) (list []string, ok bool) {
	if it, ok := nativeHeaderList(v); ok {
		list = []string{}
		for name, more := it.next(); more; name, more = it.next() {
			list = append(list, string(name))
		}
		return list, true
	}
	p, err := pickle.Decode(v)
	if err != nil {
		return nil, false
	}
	return p.StrList()
}

// readHeaderList reads the header list stored under key: in this package's
// format, or pickled by Django, which memcached and Redis with
// django_values=1 hand over only undecoded (Cache.GetRaw). found is false
// when nothing, or something that is not a header list, is stored.
func readHeaderList(ctx context.Context, c *cache.Cache, key string) (list []string, found bool, err error) {
	v, found, err := c.Get(ctx, key)
	if errors.Is(err, cache.ErrForeignValue) {
		var raw cache.Raw
		raw, found, err = c.GetRaw(ctx, key)
		v = raw.Bytes
	}
	if err != nil || !found {
		return nil, false, err
	}
	list, found = decodeHeaderList(v)
	return list, found, nil
}

// headerNames walks the names of a learned header list, in either form,
// without allocating.
type headerNames struct {
	stored headerListIter // this package's form, read in place
	list   []string       // a decoded list (pickled by Django, or just learned)
	native bool
}

// namesOf walks a decoded list.
func namesOf(list []string) headerNames { return headerNames{list: list} }

// next returns the next name; the name of a stored list aliases its bytes.
func (n *headerNames) next() (string, bool) {
	if n.native {
		name, ok := n.stored.next()
		return bytesString(name), ok
	}
	if len(n.list) == 0 {
		return "", false
	}
	name := n.list[0]
	n.list = n.list[1:]
	return name, true
}

// learnedNames returns the names of a stored header list in either format
// (this package's, walked in place, or a list pickled by Django); ok is
// false for anything else.
func learnedNames(v []byte) (names headerNames, ok bool) {
	if it, native := nativeHeaderList(v); native {
		return headerNames{stored: it, native: true}, true
	}
	list, ok := decodeHeaderList(v)
	return namesOf(list), ok
}
