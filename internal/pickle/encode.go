package pickle

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"unicode/utf8"
)

// Framing constants of CPython's pickler (Modules/_pickle.c, Lib/pickle.py).
const (
	frameHeaderSize = 9         // FRAME opcode and a uint64 length
	frameSizeMin    = 4         // shorter frames are written without a header
	frameSizeTarget = 64 * 1024 // a frame is closed once it holds this much
)

// safeStringModule and safeStringName are the class Django's SafeString
// pickles as.
const (
	safeStringModule = "django.utils.safestring"
	safeStringName   = "SafeString"
)

// EncodeString returns exactly what Python 3.8+ writes for
// pickle.dumps(s, protocol=5) when s is a str (also what
// pickle.HIGHEST_PROTOCOL gives, which Django uses). A Go string that is not
// valid UTF-8 is written as its surrogateescape decoding would be (see the
// package documentation).
func EncodeString(s string) []byte {
	e := newEncoder(len(s) + 24)
	e.saveStr(s)
	return e.finish()
}

// EncodeSafeString returns exactly what Django writes for
// pickle.dumps(SafeString(s), protocol=5): what its {% cache %} tag stores
// for a rendered fragment.
func EncodeSafeString(s string) []byte {
	e := newEncoder(len(s) + 80)
	e.saveSafeString(s)
	return e.finish()
}

// EncodeBytes returns exactly what Python 3.8+ writes for
// pickle.dumps(b, protocol=5) when b is a bytes object.
func EncodeBytes(b []byte) []byte {
	e := newEncoder(len(b) + 24)
	e.saveBytes(opShortBinBytes, b)
	return e.finish()
}

// Encode returns exactly what Python 3.8+ writes for pickle.dumps(x,
// protocol=5), where x is the Python value v stands for. It fails only for
// a Kind it does not know.
func Encode(v Value) ([]byte, error) {
	e := newEncoder(len(v.Str) + len(v.Bytes) + 80)
	if err := e.save(v, true); err != nil {
		return nil, err
	}
	return e.finish(), nil
}

// save writes one value; a list or tuple only when top is set (elements
// are plain values).
func (e *encoder) save(v Value, top bool) error {
	switch v.Kind {
	case KindNone:
		e.write(opNone)
	case KindBool:
		if v.Bool {
			e.write(opNewTrue)
		} else {
			e.write(opNewFalse)
		}
	case KindInt:
		e.saveInt(intOrZero(v.Int))
	case KindFloat:
		var b [9]byte
		b[0] = opBinFloat
		binary.BigEndian.PutUint64(b[1:], math.Float64bits(v.Float))
		e.write(b[:]...)
	case KindStr:
		if v.Safe {
			e.saveSafeString(v.Str)
		} else {
			e.saveStr(v.Str)
		}
	case KindBytes:
		e.saveBytes(opShortBinBytes, v.Bytes)
	case KindByteArray:
		e.saveBytes(opByteArray8, v.Bytes)
	case KindList:
		if !top {
			return fmt.Errorf("%w: cannot encode a list inside a list or tuple", ErrUnsupported)
		}
		// CPython (batch_list_exact): EMPTY_LIST, MEMOIZE, then APPEND for
		// a list of one element, else MARK … APPENDS per batch of 1000.
		e.write(opEmptyList, opMemoize)
		if len(v.Items) == 1 {
			if err := e.save(v.Items[0], false); err != nil {
				return err
			}
			e.write(opAppend)
			return nil
		}
		for start := 0; start < len(v.Items); start += 1000 {
			e.write(opMark)
			for _, it := range v.Items[start:min(start+1000, len(v.Items))] {
				if err := e.save(it, false); err != nil {
					return err
				}
			}
			e.write(opAppends)
		}
	case KindTuple:
		if !top {
			return fmt.Errorf("%w: cannot encode a tuple inside a list or tuple", ErrUnsupported)
		}
		n := len(v.Items)
		if n == 0 {
			e.write(opEmptyTuple)
			return nil
		}
		if n > 3 {
			e.write(opMark)
		}
		for _, it := range v.Items {
			if err := e.save(it, false); err != nil {
				return err
			}
		}
		switch n {
		case 1:
			e.write(opTuple1)
		case 2:
			e.write(opTuple2)
		case 3:
			e.write(opTuple3)
		default:
			e.write(opTuple)
		}
		e.write(opMemoize)
	default:
		return fmt.Errorf("%w: cannot encode a value of kind %v", ErrUnsupported, v.Kind)
	}
	return nil
}

// encoder reproduces CPython's C pickler for protocol 5: the PROTO header,
// then opcodes gathered in frames. A frame's 9-byte header is reserved when
// the frame starts and filled in (or removed, for a frame shorter than
// frameSizeMin) when it is committed; a str or bytes payload of
// frameSizeTarget bytes or more is written outside any frame.
type encoder struct {
	buf        []byte
	frameStart int // offset of the open frame's header, or -1
}

func newEncoder(capacity int) *encoder {
	e := &encoder{buf: make([]byte, 0, capacity), frameStart: -1}
	e.buf = append(e.buf, opProto, highestProtocol)
	return e
}

// write appends opcodes and arguments inside the current frame, opening one
// when none is open (_Pickler_Write).
func (e *encoder) write(p ...byte) {
	e.openFrame()
	e.buf = append(e.buf, p...)
}

func (e *encoder) writeString(s string) {
	e.openFrame()
	e.buf = append(e.buf, s...)
}

func (e *encoder) openFrame() {
	if e.frameStart < 0 {
		e.frameStart = len(e.buf)
		e.buf = append(e.buf, make([]byte, frameHeaderSize)...)
	}
}

// commitFrame closes the open frame (_Pickler_CommitFrame).
func (e *encoder) commitFrame() {
	if e.frameStart < 0 {
		return
	}
	n := len(e.buf) - e.frameStart - frameHeaderSize
	if n >= frameSizeMin {
		e.buf[e.frameStart] = opFrame
		binary.LittleEndian.PutUint64(e.buf[e.frameStart+1:], uint64(n))
	} else {
		copy(e.buf[e.frameStart:], e.buf[e.frameStart+frameHeaderSize:])
		e.buf = e.buf[:len(e.buf)-frameHeaderSize]
	}
	e.frameStart = -1
}

// boundary is called where CPython's pickler starts saving an object: a
// frame that has reached frameSizeTarget is closed there.
func (e *encoder) boundary() {
	if e.frameStart >= 0 && len(e.buf)-e.frameStart-frameHeaderSize >= frameSizeTarget {
		e.commitFrame()
	}
}

// writeHeader writes an opcode with its length argument ahead of a payload
// of n bytes (_Pickler_write_bytes): a large payload closes the frame and is
// written, with its header, outside any frame.
func (e *encoder) writeHeader(header []byte, n uint64) {
	if n >= frameSizeTarget {
		e.commitFrame()
		e.buf = append(e.buf, header...)
		return
	}
	e.write(header...)
}

// writePayload appends the payload announced by writeHeader.
func (e *encoder) writePayload(p []byte, s string) {
	if len(p)+len(s) < frameSizeTarget {
		e.openFrame()
	}
	e.buf = append(e.buf, p...)
	e.buf = append(e.buf, s...)
}

func (e *encoder) finish() []byte {
	e.write(opStop)
	e.commitFrame()
	return e.buf
}

// lengthHeader builds an opcode and its length argument: short (one byte)
// when n fits and short is non-zero, else 4 bytes, else 8 bytes.
func lengthHeader(dst []byte, short, op4, op8 byte, n uint64) []byte {
	switch {
	case short != 0 && n <= 0xff:
		return append(dst, short, byte(n))
	case n <= 0xffffffff:
		dst = append(dst, op4)
		return binary.LittleEndian.AppendUint32(dst, uint32(n))
	default:
		dst = append(dst, op8)
		return binary.LittleEndian.AppendUint64(dst, n)
	}
}

// saveStr writes a str (save_unicode, write_unicode_binary) and memoizes it.
func (e *encoder) saveStr(s string) {
	e.boundary()
	n := pyUTF8Len(s)
	var hb [9]byte
	e.writeHeader(lengthHeader(hb[:0], opShortBinUnicode, opBinUnicode, opBinUnicode8, uint64(n)), uint64(n))
	if n == len(s) {
		e.writePayload(nil, s)
	} else {
		e.writePayload(appendPyUTF8(make([]byte, 0, n), s), "")
	}
	e.write(opMemoize)
}

// saveBytes writes a bytes object (op == opShortBinBytes) or a bytearray (op
// == opByteArray8) and memoizes it.
func (e *encoder) saveBytes(op byte, b []byte) {
	e.boundary()
	var hb [9]byte
	var h []byte
	if op == opByteArray8 {
		h = binary.LittleEndian.AppendUint64(append(hb[:0], opByteArray8), uint64(len(b)))
	} else {
		h = lengthHeader(hb[:0], opShortBinBytes, opBinBytes, opBinBytes8, uint64(len(b)))
	}
	e.writeHeader(h, uint64(len(b)))
	e.writePayload(b, "")
	e.write(opMemoize)
}

// saveSafeString writes what pickle writes for SafeString(s): the class by
// STACK_GLOBAL, the argument tuple (s,), NEWOBJ. SafeString has no instance
// state, so there is no BUILD.
func (e *encoder) saveSafeString(s string) {
	e.boundary() // the SafeString object
	e.boundary() // its class
	e.saveStr(safeStringModule)
	e.saveStr(safeStringName)
	e.write(opStackGlobal, opMemoize)
	e.boundary() // the argument tuple
	e.saveStr(s)
	e.write(opTuple1, opMemoize)
	e.write(opNewObj, opMemoize)
}

// saveInt writes an int as CPython's save_long does for protocol 2 and
// later: BININT1, BININT2 or BININT when it fits in an int32, else LONG1 or
// LONG4 with the shortest little-endian two's complement. Ints are not
// memoized.
func (e *encoder) saveInt(x *big.Int) {
	if x.IsInt64() {
		if v := x.Int64(); v >= math.MinInt32 && v <= math.MaxInt32 {
			switch {
			case v >= 0 && v <= 0xff:
				e.write(opBinInt1, byte(v))
			case v >= 0 && v <= 0xffff:
				e.write(opBinInt2, byte(v), byte(v>>8))
			default:
				e.write(binary.LittleEndian.AppendUint32([]byte{opBinInt}, uint32(int32(v)))...)
			}
			return
		}
	}
	b := twosComplementLE(x)
	if len(b) < 256 {
		e.write(opLong1, byte(len(b)))
	} else {
		e.write(binary.LittleEndian.AppendUint32([]byte{opLong4}, uint32(len(b)))...)
	}
	e.write(b...)
}

// twosComplementLE encodes x as _PyLong_AsByteArray does for save_long:
// (bit length of |x|)/8 + 1 bytes, little endian, two's complement, less one
// redundant 0xff sign byte of a negative number.
func twosComplementLE(x *big.Int) []byte {
	abs := new(big.Int).Abs(x)
	n := abs.BitLen()/8 + 1
	var v *big.Int
	if x.Sign() < 0 {
		v = new(big.Int).Lsh(big.NewInt(1), uint(8*n))
		v.Sub(v, abs)
	} else {
		v = abs
	}
	be := v.FillBytes(make([]byte, n))
	le := make([]byte, n)
	for i, c := range be {
		le[n-1-i] = c
	}
	if x.Sign() < 0 && n > 1 && le[n-1] == 0xff && le[n-2]&0x80 != 0 {
		le = le[:n-1]
	}
	return le
}

// pyUTF8Len returns the length of s encoded as Python encodes the str that
// surrogateescape decoding of s gives: every byte that is not part of valid
// UTF-8 takes 3 bytes instead of 1.
func pyUTF8Len(s string) int {
	n := len(s)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			n += 2
		}
		i += size
	}
	return n
}

// appendPyUTF8 appends s with every invalid byte b replaced by the UTF-8
// form (surrogatepass) of the lone surrogate U+DC00+b.
func appendPyUTF8(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			cp := 0xdc00 + rune(s[i])
			dst = append(dst, 0xe0|byte(cp>>12), 0x80|byte(cp>>6)&0x3f, 0x80|byte(cp)&0x3f)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}
