package file

import (
	"encoding/binary"
	"hash/crc32"
	"math"
)

// The on-disk format; see the package documentation.
const (
	magic        = "FCdj"
	formatV1     = 1
	flagNever    = 1 << 0
	headerLen    = 32
	offVersion   = 4
	offFlags     = 5
	offReserved  = 6
	offDeadline  = 8
	offLength    = 16
	offValueCRC  = 24
	offHeaderCRC = 28
)

// checksum is CRC-32C. MakeTable returns crc32's own table for Castagnoli
// (hardware accelerated where available) without building a new one.
func checksum(b []byte) uint32 {
	return crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))
}

// header is the decoded header of a cache file.
type header struct {
	deadline int64 // Unix nanoseconds; math.MaxInt64 when never
	never    bool
	length   uint64
	valueCRC uint32
}

// expired reports whether the entry is expired at now (Unix nanoseconds):
// Django's filebased rule, deadline < now.
func (h header) expired(now int64) bool {
	return !h.never && h.deadline < now
}

// encode returns the file contents for value with the given deadline.
func encode(deadline int64, never bool, value []byte) []byte {
	buf := make([]byte, headerLen+len(value))
	putHeader(buf, deadline, never, value)
	copy(buf[headerLen:], value)
	return buf
}

// putHeader writes the header for value into buf[:headerLen].
func putHeader(buf []byte, deadline int64, never bool, value []byte) {
	_ = buf[headerLen-1]
	copy(buf, magic)
	buf[offVersion] = formatV1
	buf[offFlags] = 0
	if never {
		buf[offFlags] = flagNever
		deadline = math.MaxInt64
	}
	buf[offReserved], buf[offReserved+1] = 0, 0
	binary.LittleEndian.PutUint64(buf[offDeadline:], uint64(deadline))
	binary.LittleEndian.PutUint64(buf[offLength:], uint64(len(value)))
	binary.LittleEndian.PutUint32(buf[offValueCRC:], checksum(value))
	binary.LittleEndian.PutUint32(buf[offHeaderCRC:], checksum(buf[:offHeaderCRC]))
}

// parseHeader decodes the header at the start of b and checks it against the
// file size. ok is false when the header is corrupt or the size is not
// headerLen + length.
func parseHeader(b []byte, size int64) (h header, ok bool) {
	if len(b) < headerLen || size < headerLen {
		return h, false
	}
	if string(b[:len(magic)]) != magic || b[offVersion] != formatV1 ||
		b[offFlags]&^flagNever != 0 || b[offReserved] != 0 || b[offReserved+1] != 0 {
		return h, false
	}
	if checksum(b[:offHeaderCRC]) != binary.LittleEndian.Uint32(b[offHeaderCRC:]) {
		return h, false
	}
	h.never = b[offFlags]&flagNever != 0
	h.deadline = int64(binary.LittleEndian.Uint64(b[offDeadline:]))
	h.length = binary.LittleEndian.Uint64(b[offLength:])
	h.valueCRC = binary.LittleEndian.Uint32(b[offValueCRC:])
	if h.length != uint64(size-headerLen) {
		return h, false
	}
	return h, true
}

// checkValue reports whether value matches the header's checksum.
func (h header) checkValue(value []byte) bool {
	return uint64(len(value)) == h.length && checksum(value) == h.valueCRC
}
