package cache

import (
	"crypto/md5"
	"encoding/hex"
	"strconv"
	"sync"

	"github.com/fragcache/fragcache/internal/pystr"
)

// FragmentKeyPrefix starts every template fragment key: Django's
// TEMPLATE_FRAGMENT_KEY_TEMPLATE is "template.cache.%s.%s".
const FragmentKeyPrefix = "template.cache."

// FragmentKey returns the cache key of a {% cache %} fragment under the
// default scheme (KeySchemeDjango61), as Django's
// django.core.cache.utils.make_template_fragment_key(name, vary) does:
// "template.cache.<name>.<md5 hex>". The name is used verbatim (the tag never
// resolves it, so quotes stay). Each vary value is stringified as Python's
// str() would: strings as they are, integers in decimal, floats as 1.0 or
// 1e+16, true as True, nil as None, slices and maps as ['a', 1] and
// {'k': 'v'}, []byte as b'x', a time.Time as an aware datetime
// (2020-01-02 03:04:05+00:00), a fmt.Stringer or error as its text. A value
// of any other Python type (tuple, Decimal, date, …) can implement
// fmt.Stringer and return what Python's str() gives. In particular 1 and "1"
// give the same key, under both schemes. A string that is not valid UTF-8 is
// hashed as its bytes (Django has no such key: str.encode() rejects lone
// surrogates).
//
// The key is unprefixed: a Cache applies its KEY_PREFIX and VERSION, as
// Django's backend make_key does. Delete it to invalidate a fragment:
//
//	c.Delete(ctx, cache.FragmentKey("sidebar", user.ID, lang))
func FragmentKey(name string, vary ...any) string {
	return KeySchemeDjango61.FragmentKey(name, vary...)
}

// FragmentKey returns the fragment key of name and vary under scheme s; see
// the package-level FragmentKey. KeySchemeLegacy gives the keys of Django 3.2
// to 6.0, KeySchemeDjango61 those of Django 6.1 and later; any other value is
// treated as KeySchemeDjango61.
func (s KeyScheme) FragmentKey(name string, vary ...any) string {
	var buf [128]byte
	return string(AppendFragmentKey(buf[:0], s, name, vary))
}

// AppendFragmentKey appends the fragment key of name and vary under scheme s
// to dst and returns the extended buffer. It is the allocation-free form of
// FragmentKey for the template tag's hit path: when dst has room for
// len(FragmentKeyPrefix)+len(name)+33 more bytes and the vary values are
// strings, integers, floats, bools or nil, it does not allocate (other
// values, such as lists, may). It is safe for concurrent use.
func AppendFragmentKey(dst []byte, s KeyScheme, name string, vary []any) []byte {
	bp := hashInputPool.Get().(*[]byte)
	in := appendFragmentHashInput((*bp)[:0], s, vary)
	sum := md5.Sum(in)
	if cap(in) <= maxPooledHashInput {
		*bp = in
		hashInputPool.Put(bp)
	}
	dst = append(dst, FragmentKeyPrefix...)
	dst = append(dst, name...)
	dst = append(dst, '.')
	return hex.AppendEncode(dst, sum[:])
}

// maxPooledHashInput bounds the buffers kept in hashInputPool, so that one
// huge vary value does not pin its memory.
const maxPooledHashInput = 64 << 10

// hashInputPool holds *[]byte buffers for the md5 input.
var hashInputPool = sync.Pool{
	New: func() any {
		b := make([]byte, 0, 256)
		return &b
	},
}

// appendFragmentHashInput appends the bytes Django feeds to md5 for the vary
// values:
//
//   - legacy (Django ≤ 6.0): str(v).encode() + b":" for each value;
//   - 6.1: the netstring b"%d:%s," % (len(data), data) with data =
//     str(v).encode(), the length counted in bytes.
//
// No values (None or []) give empty input, hence md5 d41d8cd9….
func appendFragmentHashInput(dst []byte, s KeyScheme, vary []any) []byte {
	for _, v := range vary {
		if s == KeySchemeLegacy {
			dst = pystr.AppendStr(dst, v)
			dst = append(dst, ':')
			continue
		}
		if str, ok := v.(string); ok {
			dst = strconv.AppendInt(dst, int64(len(str)), 10)
			dst = append(dst, ':')
			dst = append(dst, str...)
			dst = append(dst, ',')
			continue
		}
		// Write the data first, then move it right to make room for the
		// length prefix, which is known only afterwards.
		start := len(dst)
		dst = pystr.AppendStr(dst, v)
		n := len(dst) - start
		var lenBuf [24]byte
		prefix := append(strconv.AppendInt(lenBuf[:0], int64(n), 10), ':')
		dst = append(dst, prefix...) // grow by len(prefix)
		copy(dst[start+len(prefix):], dst[start:start+n])
		copy(dst[start:], prefix)
		dst = append(dst, ',')
	}
	return dst
}
