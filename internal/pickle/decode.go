package pickle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrUnsupported is wrapped by the errors Decode returns for a stream that
// Python could load but that this package refuses: an opcode outside the
// allow-list, a global other than the allow-listed ones, an allow-listed
// global called with other arguments, a result that is not a plain value,
// or a stream that goes past the decoder's limits.
var ErrUnsupported = errors.New("pickle: unsupported")

// ErrMalformed is wrapped by the errors Decode returns for input that is not
// a valid pickle: truncated data, an unknown opcode, a stack underflow, a
// missing memo entry, invalid UTF-8, bytes after STOP and the like.
var ErrMalformed = errors.New("pickle: malformed")

// Limits on one stream. The shapes Decode accepts need a handful of each;
// the limits only bound the work hostile input can cause.
const (
	maxStack = 1024 // items on the stack, and open MARKs
	maxMemo  = 1024 // memo entries
	maxItems = 4096 // values, tuples and tuple elements built
)

// Decode reads one pickled value that is entirely data (see the package
// documentation for what is accepted). data must hold exactly one pickle.
// Errors wrap ErrUnsupported or ErrMalformed. The result never shares memory
// with data.
func Decode(data []byte) (Value, error) {
	v, n, err := DecodePrefix(data)
	if err != nil {
		return Value{}, err
	}
	if n != len(data) {
		return Value{}, fmt.Errorf("%w: %d bytes after STOP at offset %d", ErrMalformed, len(data)-n, n-1)
	}
	return v, nil
}

// DecodePrefix is Decode for a pickle followed by other data, as in
// Django's file-based cache (a pickled expiry, then the zlib-compressed
// value): it returns the value and the number of bytes the pickle took,
// up to and including its STOP opcode.
func DecodePrefix(data []byte) (Value, int, error) {
	d := decoder{data: data, items: maxItems, alloc: len(data)}
	v, err := d.run()
	if err != nil {
		return Value{}, 0, err
	}
	return v, d.pos, nil
}

// DecodeText decodes data as Decode does and returns the text of a str or a
// SafeString; ok is false (with a nil error) for a value of any other kind.
func DecodeText(data []byte) (text string, ok bool, err error) {
	v, err := Decode(data)
	if err != nil {
		return "", false, err
	}
	text, ok = v.Text()
	return text, ok, nil
}

// global is one of the allow-listed callables a stream may name.
type global uint8

const (
	globalSafeString   global = iota + 1 // django.utils.safestring.SafeString / SafeText
	globalCodecsEncode                   // _codecs.encode
	globalBytes                          // builtins.bytes
	globalByteArray                      // builtins.bytearray
)

// lookupGlobal compares a module and a name with the allow-list. It only
// compares strings: nothing is imported or looked up.
func lookupGlobal(module, name string) global {
	switch module {
	case "django.utils.safestring":
		if name == "SafeString" || name == "SafeText" {
			return globalSafeString
		}
	case "_codecs":
		if name == "encode" {
			return globalCodecsEncode
		}
	case "builtins", "__builtin__":
		switch name {
		case "bytes":
			return globalBytes
		case "bytearray":
			return globalByteArray
		}
	}
	return 0
}

type itemKind uint8

const (
	itemValue  itemKind = iota // a Value
	itemTuple                  // a tuple (an argument list, or the result)
	itemGlobal                 // an allow-listed global, not yet called
	itemList                   // a list being built (shared with the memo)
)

// item is one entry of the unpickler's stack or memo.
type item struct {
	kind itemKind
	fn   global   // itemGlobal
	name string   // itemGlobal: "module.name"
	v    Value    // itemValue
	tup  []item   // itemTuple
	list *[]Value // itemList: shared by the stack and the memo, as in Python
}

// describe names an item for error messages.
func (it item) describe() string {
	switch it.kind {
	case itemTuple:
		return "tuple"
	case itemGlobal:
		return "global " + it.name
	case itemList:
		return "list"
	}
	if it.v.Kind == KindStr && it.v.Safe {
		return "SafeString"
	}
	return it.v.Kind.String()
}

type decoder struct {
	data  []byte
	pos   int // next byte to read
	opPos int // offset of the opcode being run
	op    byte

	stack []item
	marks []int // stack lengths at each open MARK
	memo  map[uint32]item
	items int // items that may still be built (maxItems)
	alloc int // bytes that conversions may still allocate
}

func (d *decoder) errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %d", sentinel, fmt.Sprintf(format, args...), d.opPos)
}

func (d *decoder) opName() string {
	if n := opNames[d.op]; n != "" {
		return n
	}
	return fmt.Sprintf("0x%02x", d.op)
}

func (d *decoder) limit(what string) error {
	return d.errorf(ErrUnsupported, "%s: more than the decoder's limit", what)
}

// take returns the next n bytes of the input.
func (d *decoder) take(n uint64) ([]byte, error) {
	if n > uint64(len(d.data)-d.pos) {
		return nil, d.errorf(ErrMalformed, "%s: truncated (needs %d bytes, %d remain)", d.opName(), n, len(d.data)-d.pos)
	}
	b := d.data[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return b, nil
}

func (d *decoder) u8() (uint64, error) {
	b, err := d.take(1)
	if err != nil {
		return 0, err
	}
	return uint64(b[0]), nil
}

func (d *decoder) u16() (uint64, error) {
	b, err := d.take(2)
	if err != nil {
		return 0, err
	}
	return uint64(binary.LittleEndian.Uint16(b)), nil
}

func (d *decoder) u32() (uint64, error) {
	b, err := d.take(4)
	if err != nil {
		return 0, err
	}
	return uint64(binary.LittleEndian.Uint32(b)), nil
}

func (d *decoder) u64() (uint64, error) {
	b, err := d.take(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// i32len reads the signed 4-byte length of BINSTRING and LONG4.
func (d *decoder) i32len() (uint64, error) {
	b, err := d.take(4)
	if err != nil {
		return 0, err
	}
	n := int32(binary.LittleEndian.Uint32(b))
	if n < 0 {
		return 0, d.errorf(ErrMalformed, "%s: negative length %d", d.opName(), n)
	}
	return uint64(n), nil
}

// line reads a newline-terminated argument of GLOBAL.
func (d *decoder) line() (string, error) {
	i := bytes.IndexByte(d.data[d.pos:], '\n')
	if i < 0 {
		return "", d.errorf(ErrMalformed, "%s: truncated (no newline)", d.opName())
	}
	s := string(d.data[d.pos : d.pos+i])
	d.pos += i + 1
	return s, nil
}

func (d *decoder) fence() int {
	if len(d.marks) == 0 {
		return 0
	}
	return d.marks[len(d.marks)-1]
}

func (d *decoder) spend(n int) error {
	if n > d.items {
		return d.limit("values built")
	}
	d.items -= n
	return nil
}

func (d *decoder) push(it item) error {
	if len(d.stack) >= maxStack {
		return d.limit("stack depth")
	}
	if err := d.spend(1); err != nil {
		return err
	}
	d.stack = append(d.stack, it)
	return nil
}

func (d *decoder) pushValue(v Value) error {
	return d.push(item{kind: itemValue, v: v})
}

func (d *decoder) pop() (item, error) {
	if len(d.stack) <= d.fence() {
		return item{}, d.errorf(ErrMalformed, "%s: stack underflow", d.opName())
	}
	it := d.stack[len(d.stack)-1]
	d.stack[len(d.stack)-1] = item{}
	d.stack = d.stack[:len(d.stack)-1]
	return it, nil
}

func (d *decoder) top() (item, error) {
	if len(d.stack) <= d.fence() {
		return item{}, d.errorf(ErrMalformed, "%s: stack underflow", d.opName())
	}
	return d.stack[len(d.stack)-1], nil
}

// pushTuple pops n items into a tuple.
func (d *decoder) pushTuple(n int) error {
	if len(d.stack)-d.fence() < n {
		return d.errorf(ErrMalformed, "%s: stack underflow", d.opName())
	}
	if err := d.spend(n); err != nil {
		return err
	}
	tup := make([]item, n)
	copy(tup, d.stack[len(d.stack)-n:])
	clear(d.stack[len(d.stack)-n:])
	d.stack = d.stack[:len(d.stack)-n]
	return d.push(item{kind: itemTuple, tup: tup})
}

func (d *decoder) memoPut(idx uint32) error {
	it, err := d.top()
	if err != nil {
		return err
	}
	if d.memo == nil {
		d.memo = make(map[uint32]item)
	}
	if _, ok := d.memo[idx]; !ok && len(d.memo) >= maxMemo {
		return d.limit("memo size")
	}
	d.memo[idx] = it
	return nil
}

func (d *decoder) memoGet(idx uint64) error {
	it, ok := d.memo[uint32(idx)]
	if !ok {
		return d.errorf(ErrMalformed, "%s: no memo entry %d", d.opName(), idx)
	}
	return d.push(it)
}

// str reads the UTF-8 payload of a str opcode.
func (d *decoder) str(n uint64) error {
	b, err := d.take(n)
	if err != nil {
		return err
	}
	s, ok := decodePyUTF8(b)
	if !ok {
		return d.errorf(ErrMalformed, "%s: invalid UTF-8", d.opName())
	}
	return d.pushValue(Value{Kind: KindStr, Str: s})
}

// asciiStr reads the payload of a Python 2 str opcode, which Python 3 loads
// as str with the default encoding "ASCII".
func (d *decoder) asciiStr(n uint64) error {
	b, err := d.take(n)
	if err != nil {
		return err
	}
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return d.errorf(ErrMalformed, "%s: not ASCII", d.opName())
		}
	}
	return d.pushValue(Value{Kind: KindStr, Str: string(b)})
}

func (d *decoder) bytesValue(kind Kind, n uint64) error {
	b, err := d.take(n)
	if err != nil {
		return err
	}
	return d.pushValue(Value{Kind: kind, Bytes: append([]byte{}, b...)})
}

func (d *decoder) intValue(x *big.Int) error {
	return d.pushValue(Value{Kind: KindInt, Int: x})
}

func (d *decoder) run() (Value, error) {
	for {
		if d.pos >= len(d.data) {
			d.opPos = d.pos
			return Value{}, d.errorf(ErrMalformed, "truncated: no STOP")
		}
		d.opPos = d.pos
		d.op = d.data[d.pos]
		d.pos++
		var err error
		switch d.op {
		case opProto:
			var p uint64
			if p, err = d.u8(); err == nil && p > highestProtocol {
				err = d.errorf(ErrUnsupported, "protocol %d", p)
			}
		case opFrame:
			var n uint64
			if n, err = d.u64(); err == nil && n > uint64(len(d.data)-d.pos) {
				err = d.errorf(ErrMalformed, "FRAME: frame of %d bytes, %d remain", n, len(d.data)-d.pos)
			}
		case opStop:
			return d.stop()
		case opMark:
			if len(d.marks) >= maxStack {
				return Value{}, d.limit("open MARKs")
			}
			d.marks = append(d.marks, len(d.stack))

		case opNone:
			err = d.pushValue(Value{Kind: KindNone})
		case opNewTrue:
			err = d.pushValue(Value{Kind: KindBool, Bool: true})
		case opNewFalse:
			err = d.pushValue(Value{Kind: KindBool, Bool: false})
		case opBinInt1, opBinInt2:
			var n uint64
			if d.op == opBinInt1 {
				n, err = d.u8()
			} else {
				n, err = d.u16()
			}
			if err == nil {
				err = d.intValue(new(big.Int).SetUint64(n))
			}
		case opBinInt:
			var n uint64
			if n, err = d.u32(); err == nil {
				err = d.intValue(big.NewInt(int64(int32(uint32(n)))))
			}
		case opLong1, opLong4:
			var n uint64
			if d.op == opLong1 {
				n, err = d.u8()
			} else {
				n, err = d.i32len()
			}
			var b []byte
			if err == nil {
				b, err = d.take(n)
			}
			if err == nil {
				err = d.intValue(decodeLong(b))
			}
		case opBinFloat:
			var b []byte
			if b, err = d.take(8); err == nil {
				err = d.pushValue(Value{Kind: KindFloat, Float: math.Float64frombits(binary.BigEndian.Uint64(b))})
			}

		case opShortBinUnicode, opBinUnicode, opBinUnicode8:
			var n uint64
			switch d.op {
			case opShortBinUnicode:
				n, err = d.u8()
			case opBinUnicode:
				n, err = d.u32()
			default:
				n, err = d.u64()
			}
			if err == nil {
				err = d.str(n)
			}
		case opShortBinString, opBinString:
			var n uint64
			if d.op == opShortBinString {
				n, err = d.u8()
			} else {
				n, err = d.i32len()
			}
			if err == nil {
				err = d.asciiStr(n)
			}
		case opShortBinBytes, opBinBytes, opBinBytes8, opByteArray8:
			var n uint64
			kind := KindBytes
			switch d.op {
			case opShortBinBytes:
				n, err = d.u8()
			case opBinBytes:
				n, err = d.u32()
			case opBinBytes8:
				n, err = d.u64()
			default:
				n, err = d.u64()
				kind = KindByteArray
			}
			if err == nil {
				err = d.bytesValue(kind, n)
			}

		case opEmptyList:
			err = d.push(item{kind: itemList, list: new([]Value)})
		case opList:
			err = d.listFromMark()
		case opAppend:
			err = d.appendItems(1)
		case opAppends:
			if len(d.marks) == 0 {
				return Value{}, d.errorf(ErrMalformed, "APPENDS without MARK")
			}
			n := len(d.stack) - d.fence()
			d.marks = d.marks[:len(d.marks)-1]
			err = d.appendItems(n)

		case opEmptyTuple:
			err = d.push(item{kind: itemTuple})
		case opTuple1:
			err = d.pushTuple(1)
		case opTuple2:
			err = d.pushTuple(2)
		case opTuple3:
			err = d.pushTuple(3)
		case opTuple:
			if len(d.marks) == 0 {
				return Value{}, d.errorf(ErrMalformed, "TUPLE without MARK")
			}
			n := len(d.stack) - d.fence()
			d.marks = d.marks[:len(d.marks)-1]
			// The mark is gone, so the n items are above the new fence.
			err = d.pushTuple(n)

		case opMemoize:
			err = d.memoPut(uint32(len(d.memo)))
		case opBinPut, opLongBinPut:
			var idx uint64
			if d.op == opBinPut {
				idx, err = d.u8()
			} else {
				idx, err = d.u32()
			}
			if err == nil {
				err = d.memoPut(uint32(idx))
			}
		case opBinGet, opLongBinGet:
			var idx uint64
			if d.op == opBinGet {
				idx, err = d.u8()
			} else {
				idx, err = d.u32()
			}
			if err == nil {
				err = d.memoGet(idx)
			}

		case opGlobal:
			var module, name string
			if module, err = d.line(); err == nil {
				name, err = d.line()
			}
			if err == nil {
				err = d.pushGlobal(module, name)
			}
		case opStackGlobal:
			err = d.stackGlobal()
		case opReduce, opNewObj:
			err = d.call()

		default:
			if opNames[d.op] != "" {
				return Value{}, d.errorf(ErrUnsupported, "opcode %s (0x%02x)", opNames[d.op], d.op)
			}
			return Value{}, d.errorf(ErrMalformed, "invalid opcode 0x%02x", d.op)
		}
		if err != nil {
			return Value{}, err
		}
	}
}

func (d *decoder) stop() (Value, error) {
	if len(d.marks) != 0 {
		return Value{}, d.errorf(ErrMalformed, "STOP with an open MARK")
	}
	if len(d.stack) != 1 {
		return Value{}, d.errorf(ErrMalformed, "STOP with %d items on the stack, want 1", len(d.stack))
	}
	it := d.stack[0]
	switch it.kind {
	case itemTuple:
		items := make([]Value, len(it.tup))
		for i, e := range it.tup {
			if !isElement(e) {
				return Value{}, d.errorf(ErrUnsupported, "a tuple holding a %s", e.describe())
			}
			items[i] = e.v
		}
		return Value{Kind: KindTuple, Items: items}, nil
	case itemList:
		return Value{Kind: KindList, Items: *it.list}, nil
	case itemGlobal:
		return Value{}, d.errorf(ErrUnsupported, "the result is the global %s itself", it.name)
	}
	return it.v, nil
}

// quoteName shortens and quotes a global's name for an error message when
// it is not a plain dotted identifier.
func quoteName(s string) string {
	const max = 80
	plain := len(s) <= max && s != ""
	for _, r := range s {
		if !(r == '.' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strconv.Quote(s)
}

func (d *decoder) pushGlobal(module, name string) error {
	fn := lookupGlobal(module, name)
	if fn == 0 {
		return d.errorf(ErrUnsupported, "global %s.%s", quoteName(module), quoteName(name))
	}
	return d.push(item{kind: itemGlobal, fn: fn, name: module + "." + name})
}

func (d *decoder) stackGlobal() error {
	nameItem, err := d.pop()
	if err != nil {
		return err
	}
	moduleItem, err := d.pop()
	if err != nil {
		return err
	}
	if !isPlainStr(nameItem) || !isPlainStr(moduleItem) {
		return d.errorf(ErrMalformed, "STACK_GLOBAL on %s and %s, want two str", moduleItem.describe(), nameItem.describe())
	}
	return d.pushGlobal(moduleItem.v.Str, nameItem.v.Str)
}

// isElement reports whether it may be an element of a list or of a tuple
// result: a plain value, not a container.
func isElement(it item) bool {
	return it.kind == itemValue && it.v.Kind != KindList && it.v.Kind != KindTuple
}

// listFromMark runs LIST: the items above the mark become a new list.
func (d *decoder) listFromMark() error {
	if len(d.marks) == 0 {
		return d.errorf(ErrMalformed, "LIST without MARK")
	}
	n := len(d.stack) - d.fence()
	d.marks = d.marks[:len(d.marks)-1]
	if err := d.push(item{kind: itemList, list: new([]Value)}); err != nil {
		return err
	}
	// Move the list below its n elements, then append them.
	l := d.stack[len(d.stack)-1]
	copy(d.stack[len(d.stack)-n:], d.stack[len(d.stack)-n-1:len(d.stack)-1])
	d.stack[len(d.stack)-n-1] = l
	return d.appendItems(n)
}

// appendItems runs APPEND (n = 1) and APPENDS: the top n items go into the
// list below them. Only plain values are accepted as elements.
func (d *decoder) appendItems(n int) error {
	if len(d.stack)-d.fence() < n+1 {
		return d.errorf(ErrMalformed, "%s: stack underflow", d.opName())
	}
	l := d.stack[len(d.stack)-n-1]
	if l.kind != itemList {
		return d.errorf(ErrUnsupported, "%s to a %s", d.opName(), l.describe())
	}
	for _, e := range d.stack[len(d.stack)-n:] {
		if !isElement(e) {
			return d.errorf(ErrUnsupported, "a list holding a %s", e.describe())
		}
		*l.list = append(*l.list, e.v)
	}
	clear(d.stack[len(d.stack)-n:])
	d.stack = d.stack[:len(d.stack)-n]
	return nil
}

func isPlainStr(it item) bool {
	return it.kind == itemValue && it.v.Kind == KindStr && !it.v.Safe
}

// call runs REDUCE (callable(*args)) or NEWOBJ (cls.__new__(cls, *args)) for
// an allow-listed global, building the value Python would build.
func (d *decoder) call() error {
	args, err := d.pop()
	if err != nil {
		return err
	}
	fnItem, err := d.pop()
	if err != nil {
		return err
	}
	if args.kind != itemTuple {
		return d.errorf(ErrMalformed, "%s: arguments are a %s, not a tuple", d.opName(), args.describe())
	}
	if fnItem.kind != itemGlobal {
		return d.errorf(ErrMalformed, "%s: called a %s", d.opName(), fnItem.describe())
	}
	a := args.tup
	var v Value
	ok := false
	switch {
	case fnItem.fn == globalSafeString:
		if len(a) == 1 && isPlainStr(a[0]) {
			v, ok = Value{Kind: KindStr, Str: a[0].v.Str, Safe: true}, true
		}
	case d.op == opNewObj:
		// Python writes NEWOBJ only for the SafeString classes.
	case fnItem.fn == globalCodecsEncode:
		if len(a) == 2 && isPlainStr(a[0]) && isPlainStr(a[1]) && a[1].v.Str == "latin1" {
			b, fits := latin1(a[0].v.Str)
			if !fits {
				return d.errorf(ErrMalformed, "_codecs.encode: str not encodable as latin1")
			}
			if len(b) > d.alloc {
				return d.limit("bytes built")
			}
			d.alloc -= len(b)
			v, ok = Value{Kind: KindBytes, Bytes: b}, true
		}
	case fnItem.fn == globalBytes:
		if len(a) == 0 {
			v, ok = Value{Kind: KindBytes, Bytes: []byte{}}, true
		}
	case fnItem.fn == globalByteArray:
		switch {
		case len(a) == 0:
			v, ok = Value{Kind: KindByteArray, Bytes: []byte{}}, true
		case len(a) == 1 && a[0].kind == itemValue && a[0].v.Kind == KindBytes:
			v, ok = Value{Kind: KindByteArray, Bytes: a[0].v.Bytes}, true
		}
	}
	if !ok {
		kinds := make([]string, len(a))
		for i, it := range a {
			kinds[i] = it.describe()
		}
		return d.errorf(ErrUnsupported, "%s on %s(%s)", d.opName(), fnItem.name, strings.Join(kinds, ", "))
	}
	return d.pushValue(v)
}

// latin1 encodes s (as decodePyUTF8 gives it) to Latin-1, failing for a code
// point above U+00FF or a byte that stands for a lone surrogate.
func latin1(s string) ([]byte, bool) {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r > 0xff || r == utf8.RuneError && size == 1 {
			return nil, false
		}
		b = append(b, byte(r))
		i += size
	}
	return b, true
}

// decodeLong decodes the little-endian two's complement of LONG1 and LONG4.
func decodeLong(le []byte) *big.Int {
	n := len(le)
	be := make([]byte, n)
	for i, c := range le {
		be[n-1-i] = c
	}
	x := new(big.Int).SetBytes(be)
	if n > 0 && le[n-1]&0x80 != 0 {
		x.Sub(x, new(big.Int).Lsh(big.NewInt(1), uint(8*n)))
	}
	return x
}

// decodePyUTF8 decodes UTF-8 as Python's "surrogatepass" handler does (the
// way pickle reads str), mapping the lone surrogates U+DC80..U+DCFF to the
// bytes 0x80..0xFF (surrogateescape) and any other surrogate to U+FFFD. It
// fails where Python fails: overlong forms, code points above U+10FFFF,
// truncated sequences and stray continuation bytes.
func decodePyUTF8(b []byte) (string, bool) {
	if utf8.Valid(b) {
		return string(b), true
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || size > 1 {
			out = append(out, b[i:i+size]...)
			i += size
			continue
		}
		if c == 0xed && i+2 < len(b) && b[i+1] >= 0xa0 && b[i+1] <= 0xbf && b[i+2]&0xc0 == 0x80 {
			cp := rune(c&0x0f)<<12 | rune(b[i+1]&0x3f)<<6 | rune(b[i+2]&0x3f)
			if cp >= 0xdc80 && cp <= 0xdcff {
				out = append(out, byte(cp-0xdc00))
			} else {
				out = utf8.AppendRune(out, utf8.RuneError)
			}
			i += 3
			continue
		}
		return "", false
	}
	return string(out), true
}
