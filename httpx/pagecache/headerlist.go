package pagecache

import (
	"encoding/binary"
	"math"
	"unicode/utf8"
)

// The learned header list is stored under the header-list key as
//
//	"FCH\x01" then, per name, uvarint(len(name)) and the name's bytes.
//
// Django stores a pickled list of str there. Such a value (written by a
// Django process sharing the cache) is read too, by a decoder that accepts
// only the opcodes pickle emits for a flat list of strings, so that
// Invalidate and the page cache find the keys Django learned. Nothing
// in a stored value is ever executed.

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
	return decodePickledStrList(v)
}

// decodePickledStrList decodes a pickle (protocol 2 to 5) of a list of str,
// as Django's cache backends store learn_cache_key's header list. Only these
// opcodes are accepted: PROTO, FRAME, EMPTY_LIST, MARK, the unicode-string
// opcodes, the memo opcodes (MEMOIZE, BINPUT, LONG_BINPUT), APPEND,
// APPENDS and STOP; the list must be the only object.
func decodePickledStrList(v []byte) ([]string, bool) {
	const (
		opProto          = 0x80
		opFrame          = 0x95
		opEmptyList      = ']'
		opMark           = '('
		opShortUnicode   = 0x8c
		opBinUnicode     = 'X'
		opBinUnicode8    = 0x8d
		opMemoize        = 0x94
		opBinPut         = 'q'
		opLongBinPut     = 'r'
		opAppend         = 'a'
		opAppends        = 'e'
		opStop           = '.'
		maxListElements  = 1 << 16
		maxPickleStrings = 1 << 16
	)
	var (
		list    []string
		haveL   bool
		marked  bool
		pending []string // strings after MARK, or one before APPEND
	)
	i := 0
	readN := func(n int) ([]byte, bool) {
		if n < 0 || n > len(v)-i {
			return nil, false
		}
		b := v[i : i+n]
		i += n
		return b, true
	}
	for i < len(v) {
		op := v[i]
		i++
		switch op {
		case opProto:
			if _, ok := readN(1); !ok {
				return nil, false
			}
		case opFrame:
			if _, ok := readN(8); !ok {
				return nil, false
			}
		case opEmptyList:
			if haveL {
				return nil, false
			}
			haveL, list = true, []string{}
		case opMark:
			if !haveL || marked || len(pending) > 0 {
				return nil, false
			}
			marked = true
		case opShortUnicode, opBinUnicode, opBinUnicode8:
			var n uint64
			switch op {
			case opShortUnicode:
				b, ok := readN(1)
				if !ok {
					return nil, false
				}
				n = uint64(b[0])
			case opBinUnicode:
				b, ok := readN(4)
				if !ok {
					return nil, false
				}
				n = uint64(binary.LittleEndian.Uint32(b))
			default:
				b, ok := readN(8)
				if !ok {
					return nil, false
				}
				n = binary.LittleEndian.Uint64(b)
			}
			if !haveL || n > math.MaxInt32 || len(pending) >= maxPickleStrings {
				return nil, false
			}
			s, ok := readN(int(n))
			if !ok || !utf8.Valid(s) {
				return nil, false
			}
			pending = append(pending, string(s))
		case opMemoize:
		case opBinPut:
			if _, ok := readN(1); !ok {
				return nil, false
			}
		case opLongBinPut:
			if _, ok := readN(4); !ok {
				return nil, false
			}
		case opAppend:
			if marked || len(pending) != 1 {
				return nil, false
			}
			list, pending = append(list, pending[0]), pending[:0]
		case opAppends:
			if !marked {
				return nil, false
			}
			list, pending, marked = append(list, pending...), pending[:0], false
		case opStop:
			if !haveL || marked || len(pending) > 0 || i != len(v) || len(list) > maxListElements {
				return nil, false
			}
			return list, true
		default:
			return nil, false
		}
	}
	return nil, false
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
