package pagecache

import (
	"encoding/binary"
	"net/http"
	"strconv"
	"strings"
	"unsafe"

	"github.com/fragcache/fragcache/internal/httpheader"
)

// A stored page is encoded as
//
//	"FCP\x01"                       magic and format version
//	status        uint16 big-endian
//	flags         byte             bit 0: maxAge and expires are set
//	maxAge        int64 big-endian the stored Cache-Control max-age
//	expires       int64 big-endian the stored Expires, Unix seconds
//	lastModified  int64 big-endian the stored Last-Modified, Unix seconds (0: none)
//	nHeaders      uvarint
//	nValues       uvarint          the number of header values in all
//	per header:   uvarint len, name, uvarint count, per value: uvarint len, value
//	bodyLen       uvarint, then the body, which ends the value
//
// The format holds only bytes and integers: decoding it cannot run code or
// build arbitrary types. The times needed on every hit (for Age and
// conditional requests) are parsed once, when the page is stored.

const entryMagic = "FCP\x01"

const (
	entryFixed   = len(entryMagic) + 2 + 1 + 8 + 8 + 8
	flagAgeKnown = 1
	// maxEntryValues bounds what a decoder accepts, so that a corrupt or
	// hostile value cannot make it allocate much.
	maxEntryValues = 1 << 12
)

// storedPage is a response to store.
type storedPage struct {
	status       int
	header       http.Header
	body         []byte
	maxAge       int64
	expires      int64
	ageKnown     bool
	lastModified int64
}

// encode returns the stored form.
func (p *storedPage) encode() []byte {
	n := entryFixed + 2*binary.MaxVarintLen64 + binary.MaxVarintLen64 + len(p.body)
	values := 0
	for k, vs := range p.header {
		n += 2*binary.MaxVarintLen64 + len(k)
		for _, v := range vs {
			n += binary.MaxVarintLen64 + len(v)
		}
		values += len(vs)
	}
	b := make([]byte, 0, n)
	b = append(b, entryMagic...)
	b = binary.BigEndian.AppendUint16(b, uint16(p.status))
	var flags byte
	if p.ageKnown {
		flags |= flagAgeKnown
	}
	b = append(b, flags)
	b = binary.BigEndian.AppendUint64(b, uint64(p.maxAge))
	b = binary.BigEndian.AppendUint64(b, uint64(p.expires))
	b = binary.BigEndian.AppendUint64(b, uint64(p.lastModified))
	b = binary.AppendUvarint(b, uint64(len(p.header)))
	b = binary.AppendUvarint(b, uint64(values))
	for k, vs := range p.header {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(vs)))
		for _, v := range vs {
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(p.body)))
	return append(b, p.body...)
}

// entryView is a decoded stored page that refers to the stored bytes.
type entryView struct {
	status       int
	ageKnown     bool
	maxAge       int64
	expires      int64
	lastModified int64
	nHeaders     int
	nValues      int
	headers      []byte // the header section
	body         []byte
}

// decodeEntry checks and decodes a stored page without copying; ok is
// false for anything malformed.
func decodeEntry(v []byte) (e entryView, ok bool) {
	if len(v) < entryFixed || string(v[:len(entryMagic)]) != entryMagic {
		return e, false
	}
	p := len(entryMagic)
	e.status = int(binary.BigEndian.Uint16(v[p:]))
	e.ageKnown = v[p+2]&flagAgeKnown != 0
	e.maxAge = int64(binary.BigEndian.Uint64(v[p+3:]))
	e.expires = int64(binary.BigEndian.Uint64(v[p+11:]))
	e.lastModified = int64(binary.BigEndian.Uint64(v[p+19:]))
	rest := v[entryFixed:]
	nh, w := binary.Uvarint(rest)
	if w <= 0 || nh > maxEntryValues {
		return e, false
	}
	rest = rest[w:]
	nv, w := binary.Uvarint(rest)
	if w <= 0 || nv > maxEntryValues {
		return e, false
	}
	rest = rest[w:]
	start := rest
	seen := uint64(0)
	for range nh {
		var name []byte
		if name, rest, ok = cutField(rest); !ok || len(name) == 0 {
			return e, false
		}
		count, w := binary.Uvarint(rest)
		if w <= 0 || count > nv-seen {
			return e, false
		}
		rest = rest[w:]
		seen += count
		for range count {
			if _, rest, ok = cutField(rest); !ok {
				return e, false
			}
		}
	}
	if seen != nv {
		return e, false
	}
	e.headers = start[:len(start)-len(rest)]
	body, rest, ok := cutField(rest)
	if !ok || len(rest) != 0 || e.status < 100 || e.status > 999 {
		return e, false
	}
	e.body = body
	e.nHeaders, e.nValues = int(nh), int(nv)
	return e, true
}

// cutField splits a uvarint-length-prefixed field off b.
func cutField(b []byte) (field, rest []byte, ok bool) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) {
		return nil, nil, false
	}
	return b[w : w+int(n)], b[w+int(n):], true
}

// bytesString returns b as a string without copying. The stored bytes are
// never modified (a cache.Backend hands out read-only values and replaces
// rather than rewrites them), so the string stays valid and unchanged.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// each calls f for every stored header with its values (the values alias
// vals, which must hold at least e.nValues strings; nil makes them
// unavailable). It stops when f returns false.
func (e *entryView) each(vals []string, f func(name string, values []string) bool) {
	rest := e.headers
	n := 0
	for range e.nHeaders {
		name, r, _ := cutField(rest)
		count, w := binary.Uvarint(r)
		rest = r[w:]
		first := n
		for range count {
			var v []byte
			v, rest, _ = cutField(rest)
			if vals != nil {
				vals[n] = bytesString(v)
			}
			n++
		}
		var vs []string
		if vals != nil {
			vs = vals[first:n:n]
		}
		if !f(bytesString(name), vs) {
			return
		}
	}
}

// header returns the first value of a stored header.
func (e *entryView) header(key string) (value string, ok bool) {
	rest := e.headers
	for range e.nHeaders {
		name, r, _ := cutField(rest)
		count, w := binary.Uvarint(r)
		rest = r[w:]
		match := string(name) == key
		for j := range count {
			var v []byte
			v, rest, _ = cutField(rest)
			if match && j == 0 {
				return bytesString(v), true
			}
		}
		if match {
			return "", true
		}
	}
	return "", false
}

// etag returns the stored ETag ("Etag", or the spelling "ETag").
func (e *entryView) etag() string {
	if v, ok := e.header(httpheader.ETag); ok {
		return v
	}
	v, _ := e.header("ETag")
	return v
}

// writeHeaders sets the stored headers on dst, plus Age when the entry's
// max-age and Expires are known (Django's FetchFromCacheMiddleware:
// max(0, max_age - (expires - now))) and status when it is not empty. It
// allocates one slice for all the values.
func (e *entryView) writeHeaders(dst http.Header, nowUnix int64, status string) {
	vals := make([]string, e.nValues+2)
	e.each(vals, func(name string, vs []string) bool {
		dst[name] = vs
		return true
	})
	extra := vals[e.nValues:]
	if e.ageKnown {
		age := e.maxAge - (e.expires - nowUnix)
		if age < 0 {
			age = 0
		}
		extra[0] = strconv.FormatInt(age, 10)
		dst[hAge] = extra[0:1:1]
	}
	if status != "" {
		extra[1] = status
		appendCacheStatus(dst, extra[1:2:2])
	}
}

// writeNotModifiedHeaders sets the headers of a 304 built from the entry:
// Django's subset (Cache-Control, Content-Location, Date, ETag, Expires,
// Last-Modified, Vary; stored pages have no Set-Cookie), plus status.
func (e *entryView) writeNotModifiedHeaders(dst http.Header, status string) {
	vals := make([]string, e.nValues+1)
	src := make(http.Header, 8)
	e.each(vals, func(name string, vs []string) bool {
		src[name] = vs
		return true
	})
	httpheader.CopyNotModified(dst, src)
	if status != "" {
		vals[e.nValues] = status
		appendCacheStatus(dst, vals[e.nValues:e.nValues+1:e.nValues+1])
	}
}

// appendCacheStatus adds this cache's member to the Cache-Status list: after
// the members of caches nearer the origin (RFC 9211 §2), on one line.
func appendCacheStatus(dst http.Header, member []string) {
	if old, ok := dst[hCacheStatus]; ok && len(old) > 0 {
		dst[hCacheStatus] = []string{strings.Join(old, ", ") + ", " + member[0]}
		return
	}
	dst[hCacheStatus] = member
}

const (
	hAge           = "Age"
	hCacheStatus   = "Cache-Status"
	hContentLength = "Content-Length"
)
