package pickle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// p concatenates pickle fragments (strings and bytes).
func p(parts ...any) []byte {
	var b []byte
	for _, part := range parts {
		switch v := part.(type) {
		case string:
			b = append(b, v...)
		case []byte:
			b = append(b, v...)
		case byte:
			b = append(b, v)
		case int:
			b = append(b, byte(v))
		case rune:
			b = append(b, byte(v))
		default:
			panic("p: bad part")
		}
	}
	return b
}

// u short-unicode-encodes s (SHORT_BINUNICODE s MEMOIZE).
func u(s string) []byte { return p(opShortBinUnicode, len(s), s, opMemoize) }

// sg is STACK_GLOBAL module.name.
func sg(module, name string) []byte { return p(u(module), u(name), opStackGlobal, opMemoize) }

var safeClass = sg("django.utils.safestring", "SafeString")

// dangerous are pickles that Python would load by importing and calling
// something (or that build objects this package does not allow); Decode
// must refuse every one with ErrUnsupported and name the culprit.
var dangerous = []struct {
	name string
	data []byte
	want string // in the error message
}{
	{"os.system via GLOBAL+REDUCE (protocol 0)", []byte("cos\nsystem\n(S'echo pwned'\ntR."), "global os.system"},
	{"posix.system (protocol 2)", p("\x80\x02cposix\nsystem\nq\x00X\x04\x00\x00\x00echoq\x01\x85q\x02Rq\x03."), "global posix.system"},
	{"builtins.eval via STACK_GLOBAL", p("\x80\x05", sg("builtins", "eval"), u("1+1"), opTuple1, opReduce, opStop), "global builtins.eval"},
	{"__builtin__.eval via GLOBAL", p("\x80\x02c__builtin__\neval\nX\x03\x00\x00\x001+1\x85R."), "global __builtin__.eval"},
	{"builtins.exec", p("\x80\x05", sg("builtins", "exec"), u("import os"), opTuple1, opReduce, opStop), "global builtins.exec"},
	{"builtins.__import__", p("\x80\x05", sg("builtins", "__import__"), u("os"), opTuple1, opReduce, opStop), "global builtins.__import__"},
	{"subprocess.Popen", p("\x80\x05", sg("subprocess", "Popen"), u("id"), opTuple1, opReduce, opStop), "global subprocess.Popen"},
	{"builtins.getattr on SafeString", p("\x80\x05", sg("builtins", "getattr"), safeClass, u("mro"), opTuple2, opReduce, opStop), "global builtins.getattr"},
	{"copyreg._reconstructor", p("\x80\x02ccopy_reg\n_reconstructor\n)R."), "global copy_reg._reconstructor"},
	{"django mark_safe", p("\x80\x05", sg("django.utils.safestring", "mark_safe"), u("x"), opTuple1, opReduce, opStop), "global django.utils.safestring.mark_safe"},
	{"dotted name inside SafeString", p("\x80\x05", sg("django.utils.safestring", "SafeString.__reduce_ex__"), opStop), "global django.utils.safestring.SafeString.__reduce_ex__"},
	{"module with a newline", p("\x80\x05", sg("os\n", "system"), opStop), `global "os\n".system`},
	{"SafeString with two args (NEWOBJ)", p("\x80\x05", safeClass, u("a"), u("b"), opTuple2, opNewObj, opStop), "NEWOBJ on django.utils.safestring.SafeString(str, str)"},
	{"SafeString with two args (REDUCE)", p("\x80\x05", safeClass, u("a"), u("b"), opTuple2, opReduce, opStop), "REDUCE on django.utils.safestring.SafeString(str, str)"},
	{"SafeString with no args", p("\x80\x05", safeClass, opEmptyTuple, opNewObj, opStop), "NEWOBJ on django.utils.safestring.SafeString()"},
	{"SafeString of bytes", p("\x80\x05", safeClass, "C\x01x", opTuple1, opNewObj, opStop), "NEWOBJ on django.utils.safestring.SafeString(bytes)"},
	{"SafeString of a SafeString", p("\x80\x05", safeClass, safeClass, u("x"), opTuple1, opNewObj, opTuple1, opNewObj, opStop), "NEWOBJ on django.utils.safestring.SafeString(SafeString)"},
	{"SafeString of its own class", p("\x80\x05", safeClass, opBinGet, 2, opTuple1, opNewObj, opStop), "NEWOBJ on django.utils.safestring.SafeString(global django.utils.safestring.SafeString)"},
	{"SafeString of a tuple", p("\x80\x05", safeClass, u("x"), opTuple1, opTuple1, opNewObj, opStop), "NEWOBJ on django.utils.safestring.SafeString(tuple)"},
	{"BUILD on a SafeString", p("\x80\x05", safeClass, u("x"), opTuple1, opNewObj, opNone, opBuild, opStop), "opcode BUILD (0x62)"},
	{"BUILD with a dict on a SafeString", p("\x80\x05", safeClass, u("x"), opTuple1, opNewObj, opEmptyDict, opBuild, opStop), "opcode EMPTY_DICT"},
	{"bytearray of a class", p("\x80\x05", sg("builtins", "bytearray"), sg("_codecs", "encode"), opTuple1, opReduce, opStop), "REDUCE on builtins.bytearray(global _codecs.encode)"},
	{"bytes of a str", p("\x80\x02c__builtin__\nbytes\nU\x01x\x85R."), "REDUCE on __builtin__.bytes(str)"},
	{"_codecs.encode to utf-8", p("\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00xX\x05\x00\x00\x00utf-8\x86R."), "REDUCE on _codecs.encode(str, str)"},
	{"_codecs.encode with three args", p("\x80\x02c_codecs\nencode\nU\x01xU\x06latin1U\x06strict\x87R."), "REDUCE on _codecs.encode(str, str, str)"},
	{"NEWOBJ on bytearray", p("\x80\x05", sg("builtins", "bytearray"), opEmptyTuple, opNewObj, opStop), "NEWOBJ on builtins.bytearray()"},
	{"NEWOBJ_EX", p("\x80\x05", safeClass, u("x"), opTuple1, opEmptyTuple, opNewObjEx, opStop), "opcode NEWOBJ_EX"},
	{"INST", []byte("(U\x02idios\nsystem\n."), "opcode INST"},
	{"OBJ", p("(c_codecs\nencode\no."), "opcode OBJ"},
	{"EXT1", p("\x80\x02\x82\x01."), "opcode EXT1"},
	{"EXT2", p("\x80\x02\x83\x01\x00."), "opcode EXT2"},
	{"EXT4", p("\x80\x02\x84\x01\x00\x00\x00."), "opcode EXT4"},
	{"PERSID", []byte("Pfoo\n."), "opcode PERSID"},
	{"BINPERSID", p("\x80\x02U\x03fooQ."), "opcode BINPERSID"},
	{"NEXT_BUFFER", p("\x80\x05\x97."), "opcode NEXT_BUFFER"},
	{"list in a list", p("\x80\x05]\x94]\x94a."), "a list holding a list"},
	{"list in a tuple", p("\x80\x05]\x94\x85."), "a tuple holding a list"},
	{"append to a str", p("\x80\x05", u("x"), u("y"), "a."), "APPEND to a str"},
	{"set", p("\x80\x05\x8f\x94."), "opcode EMPTY_SET"},
	{"protocol 0 text", []byte("Vabc\np0\n."), "opcode UNICODE"},
	{"protocol 0 int", []byte("I1\n."), "opcode INT"},
	{"POP", p("\x80\x05N0N."), "opcode POP"},
	{"protocol 6", p("\x80\x06N."), "protocol 6"},
	{"result is a class", p("\x80\x05", safeClass, opStop), "the result is the global django.utils.safestring.SafeString"},
}

func TestDecodeRefusesDangerous(t *testing.T) {
	for _, tc := range dangerous {
		v, err := Decode(tc.data)
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: Decode = %+v, %v; want ErrUnsupported", tc.name, v, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not contain %q", tc.name, err, tc.want)
		}
	}
}

var malformed = []struct {
	name string
	data []byte
	want string
}{
	{"empty", nil, "no STOP"},
	{"no STOP", []byte("\x80\x05N"), "no STOP"},
	{"invalid opcode", []byte("\x80\x05\xff."), "invalid opcode 0xff"},
	{"memo miss", p("\x80\x05h\x03."), "no memo entry 3"},
	{"long memo miss", p("\x80\x05N\x94j\x01\x00\x00\x00."), "no memo entry 1"},
	{"TUPLE1 on empty stack", p("\x80\x05\x85."), "TUPLE1: stack underflow"},
	{"TUPLE2 across a MARK", p("\x80\x05N(N\x86."), "TUPLE2: stack underflow"},
	{"MEMOIZE on empty stack", p("\x80\x05\x94N."), "MEMOIZE: stack underflow"},
	{"BINPUT on empty stack", p("\x80\x05q\x00N."), "BINPUT: stack underflow"},
	{"TUPLE without MARK", p("\x80\x05Nt."), "TUPLE without MARK"},
	{"STOP with open MARK", p("\x80\x05N(."), "open MARK"},
	{"STOP with two items", p("\x80\x05NN."), "2 items"},
	{"STOP with no item", p("\x80\x05."), "0 items"},
	{"STOP under a MARK", p("\x80\x05(."), "open MARK"},
	{"LONG4 negative", p("\x80\x05\x8b\xff\xff\xff\xff."), "negative length"},
	{"BINSTRING negative", p("\x80\x02T\xff\xff\xff\xff."), "negative length"},
	{"FRAME too long", p("\x80\x05\x95\x10\x00\x00\x00\x00\x00\x00\x00N."), "FRAME: frame of 16 bytes"},
	{"FRAME huge", p("\x80\x05\x95\xff\xff\xff\xff\xff\xff\xff\xffN."), "FRAME"},
	{"BINUNICODE8 huge", p("\x80\x05\x8d\xff\xff\xff\xff\xff\xff\xff\xffN."), "BINUNICODE8: truncated"},
	{"BINUNICODE truncated", p("\x80\x05X\x05\x00\x00\x00abc"), "BINUNICODE: truncated"},
	{"BINFLOAT truncated", p("\x80\x05G\x00\x00"), "BINFLOAT: truncated"},
	{"PROTO truncated", p("\x80"), "PROTO: truncated"},
	{"invalid UTF-8", p("\x80\x05\x8c\x01\xff."), "invalid UTF-8"},
	{"overlong UTF-8", p("\x80\x05\x8c\x02\xc0\x80."), "invalid UTF-8"},
	{"beyond U+10FFFF", p("\x80\x05\x8c\x04\xf4\x90\x80\x80."), "invalid UTF-8"},
	{"truncated surrogate", p("\x80\x05\x8c\x02\xed\xa0."), "invalid UTF-8"},
	{"non-ASCII Python 2 str", p("\x80\x02U\x01\xe9."), "not ASCII"},
	{"GLOBAL without newline", []byte("cos\nsystem"), "no newline"},
	{"STACK_GLOBAL on ints", p("\x80\x05K\x01K\x02\x93."), "want two str"},
	{"STACK_GLOBAL on SafeString", p("\x80\x05", safeClass, u("x"), opTuple1, opNewObj, u("y"), opStackGlobal, opStop), "want two str"},
	{"REDUCE args not a tuple", p("\x80\x05", safeClass, u("x"), opReduce, opStop), "arguments are a str"},
	{"REDUCE on a str", p("\x80\x05", u("x"), u("y"), opTuple1, opReduce, opStop), "called a str"},
	{"NEWOBJ on a tuple", p("\x80\x05", opEmptyTuple, opEmptyTuple, opNewObj, opStop), "called a tuple"},
	{"REDUCE underflow", p("\x80\x05)R."), "REDUCE: stack underflow"},
	{"latin1 of a euro sign", p("\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00\xe2\x82\xacU\x06latin1\x86R."), "not encodable as latin1"},
	{"latin1 of a lone surrogate", p("\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00\xed\xb3\xbfU\x06latin1\x86R."), "not encodable as latin1"},
	{"trailing data", []byte("\x80\x05N.x"), "1 bytes after STOP"},
}

func TestDecodeRejectsMalformed(t *testing.T) {
	for _, tc := range malformed {
		v, err := Decode(tc.data)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Decode = %+v, %v; want ErrMalformed", tc.name, v, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not contain %q", tc.name, err, tc.want)
		}
	}
}

// TestDecodeTruncations checks every proper prefix of every fixed vector:
// none may decode, and all are ErrMalformed.
func TestDecodeTruncations(t *testing.T) {
	for _, tc := range fixed {
		data := unhex(t, tc.hex)
		for n := 0; n < len(data); n++ {
			if _, err := Decode(data[:n]); !errors.Is(err, ErrMalformed) {
				t.Errorf("%s[:%d]: error %v, want ErrMalformed", tc.name, n, err)
			}
		}
	}
}

func TestDecodePrefix(t *testing.T) {
	data := append(EncodeSafeString("frag"), "xyz"...)
	v, n, err := DecodePrefix(data)
	if err != nil || n != len(data)-3 || !v.Equal(safeValue("frag")) {
		t.Errorf("DecodePrefix = %+v, %d, %v", v, n, err)
	}
	if _, n, err := DecodePrefix([]byte("\x80\x05N")); err == nil || n != 0 {
		t.Errorf("DecodePrefix(truncated) = %d, %v", n, err)
	}
}

func TestDecodeAccepts(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want Value
	}{
		{"SafeString via REDUCE", p("\x80\x05", safeClass, u("x"), opTuple1, opReduce, opStop), safeValue("x")},
		{"SafeString via GLOBAL and TUPLE", p("\x80\x02cdjango.utils.safestring\nSafeText\n(X\x01\x00\x00\x00xtR."), safeValue("x")},
		{"no PROTO (protocol 1)", p("X\x01\x00\x00\x00x."), strValue("x")},
		{"PROTO 0", p("\x80\x00N."), Value{}},
		{"Python 2 str", p("\x80\x02U\x02hiq\x00."), strValue("hi")},
		{"BINSTRING", p("\x80\x02T\x02\x00\x00\x00hi."), strValue("hi")},
		{"BINBYTES8", p("\x80\x05\x8e\x01\x00\x00\x00\x00\x00\x00\x00x."), bytesValue("x")},
		{"BINUNICODE8", p("\x80\x05\x8d\x01\x00\x00\x00\x00\x00\x00\x00x."), strValue("x")},
		{"LONG1 empty is 0", p("\x80\x02\x8a\x00."), intValue(0)},
		{"LONG4", p("\x80\x02\x8b\x02\x00\x00\x00\xff\x7f."), intValue(0x7fff)},
		{"LONG1 negative", p("\x80\x02\x8a\x01\xff."), intValue(-1)},
		{"BININT2", p("\x80\x02M\x01\x02."), intValue(0x0201)},
		{"memo by LONG_BINPUT/LONG_BINGET", p("\x80\x02c_codecs\nencode\nX\x06\x00\x00\x00latin1r\x07\x00\x00\x00j\x07\x00\x00\x00\x86R."), bytesValue("latin1")},
		{"several frames", p("\x80\x05\x95\x01\x00\x00\x00\x00\x00\x00\x00N\x95\x00\x00\x00\x00\x00\x00\x00\x00."), Value{}},
		{"PROTO twice", p("\x80\x05\x80\x04N."), Value{}},
		{"latin1 ÿ", p("\x80\x02c_codecs\nencode\nX\x02\x00\x00\x00\xc3\xbfU\x06latin1\x86R."), bytesValue("\xff")},
	} {
		got, err := Decode(tc.data)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("%s: Decode = %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

func TestDecodeLimits(t *testing.T) {
	repeat := func(s string, n int) string { return strings.Repeat(s, n) }
	long := strings.Repeat("a", 10000)
	lbu := func(s string) []byte {
		return binary.LittleEndian.AppendUint32([]byte{opBinUnicode}, uint32(len(s)))
	}
	var manyPuts []byte
	manyPuts = append(manyPuts, "\x80\x05N"...)
	for i := range 2000 {
		manyPuts = binary.LittleEndian.AppendUint32(append(manyPuts, opLongBinPut), uint32(i))
	}
	manyPuts = append(manyPuts, '.')
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"deep MARKs", p("\x80\x05", repeat("(", 5000), "N."), "open MARKs"},
		{"deep stack", p("\x80\x05", repeat("N", 5000), "."), "stack depth"},
		{"many MEMOIZE", p("\x80\x05N", repeat("\x94", 5000), "."), "memo size"},
		{"many LONG_BINPUT", manyPuts, "memo size"},
		{"amplified latin1", p("\x80\x02c_codecs\nencode\nq\x00", lbu(long), long, "q\x01U\x06latin1q\x02\x86q\x03R",
			repeat("h\x00h\x03R", 10), "."), "bytes built"},
		{"many tuple elements", p("\x80\x05Nq\x00", repeat("("+repeat("h\x00", 1000)+"t", 5), "."), "values built"},
	} {
		_, err := Decode(tc.data)
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want ErrUnsupported about %q", tc.name, err, tc.want)
		}
	}
	// Overwriting memo entries is not growth.
	data := p("\x80\x05N", repeat("q\x00", 5000), ".")
	if _, err := Decode(data); err != nil {
		t.Errorf("5000 BINPUT 0: %v", err)
	}
}

func TestDecodeDoesNotAlias(t *testing.T) {
	data := EncodeBytes([]byte("abc"))
	v, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	copy(data, bytes.Repeat([]byte{0}, len(data)))
	if string(v.Bytes) != "abc" {
		t.Errorf("Decode result aliases its input: %q", v.Bytes)
	}
}
