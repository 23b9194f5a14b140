package pickle

import (
	"bytes"
	"math"
	"math/big"
	"strconv"
)

// Kind is the Python type of a Value.
type Kind uint8

// The kinds of Value. The zero Value is None.
const (
	KindNone      Kind = iota // None
	KindBool                  // bool: Value.Bool
	KindInt                   // int of any size: Value.Int
	KindFloat                 // float: Value.Float
	KindStr                   // str: Value.Str; Value.Safe for a Django SafeString
	KindBytes                 // bytes: Value.Bytes
	KindByteArray             // bytearray: Value.Bytes
	KindList                  // list of plain values: Value.Items
	KindTuple                 // tuple of plain values: Value.Items
)

var kindNames = [...]string{
	KindNone:      "None",
	KindBool:      "bool",
	KindInt:       "int",
	KindFloat:     "float",
	KindStr:       "str",
	KindBytes:     "bytes",
	KindByteArray: "bytearray",
	KindList:      "list",
	KindTuple:     "tuple",
}

// String returns the Python name of the kind ("str", "None", …).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one of the plain Python values this package reads and writes.
// Only the field that belongs to Kind is meaningful; the others are zero.
type Value struct {
	Kind Kind
	// Str is the text of a str, as UTF-8 (see the package documentation for
	// lone surrogates).
	Str string
	// Safe reports that a str is a django.utils.safestring.SafeString (or
	// its old name SafeText): text Django treats as already HTML-escaped.
	Safe bool
	// Bytes is the content of a bytes or bytearray.
	Bytes []byte
	// Int is the value of an int. Encode treats nil as 0.
	Int *big.Int
	// Float is the value of a float.
	Float float64
	// Bool is the value of a bool.
	Bool bool
	// Items are the elements of a list or tuple: plain values, never a list
	// or tuple themselves.
	Items []Value
}

// Text returns the text of a str or SafeString value; ok is false for every
// other kind.
func (v Value) Text() (text string, ok bool) {
	if v.Kind != KindStr {
		return "", false
	}
	return v.Str, true
}

// Equal reports whether v and w are the same Python value of the same kind.
// Floats compare by their bits, so NaN equals the same NaN and 0.0 differs
// from -0.0; a nil Int equals 0.
func (v Value) Equal(w Value) bool {
	if v.Kind != w.Kind {
		return false
	}
	switch v.Kind {
	case KindNone:
		return true
	case KindBool:
		return v.Bool == w.Bool
	case KindInt:
		return intOrZero(v.Int).Cmp(intOrZero(w.Int)) == 0
	case KindFloat:
		return math.Float64bits(v.Float) == math.Float64bits(w.Float)
	case KindStr:
		return v.Str == w.Str && v.Safe == w.Safe
	case KindBytes, KindByteArray:
		return bytes.Equal(v.Bytes, w.Bytes)
	case KindList, KindTuple:
		if len(v.Items) != len(w.Items) {
			return false
		}
		for i := range v.Items {
			if !v.Items[i].Equal(w.Items[i]) {
				return false
			}
		}
		return true
	}
	return false
}

// StrList returns the elements of a list or tuple whose elements are all
// str (Django's learned page-cache header lists are lists of str); ok is
// false for anything else.
func (v Value) StrList() (list []string, ok bool) {
	if v.Kind != KindList && v.Kind != KindTuple {
		return nil, false
	}
	list = make([]string, len(v.Items))
	for i, it := range v.Items {
		if it.Kind != KindStr {
			return nil, false
		}
		list[i] = it.Str
	}
	return list, true
}

var bigZero = new(big.Int)

func intOrZero(i *big.Int) *big.Int {
	if i == nil {
		return bigZero
	}
	return i
}
