package pickle

import (
	"strings"
	"testing"
)

func TestIsCanonicalInt(t *testing.T) {
	for in, want := range map[string]bool{
		"0": true, "42": true, "-7": true, "18446744073709551616": true,
		strings.Repeat("9", 4300): true, strings.Repeat("9", 4301): false,
		"": false, "-": false, "-0": false, "007": false, "+1": false, " 1": false,
		"1 ": false, "1_0": false, "1.0": false, "0x1": false, "--1": false,
	} {
		if got := IsCanonicalInt([]byte(in)); got != want {
			t.Errorf("IsCanonicalInt(%.20q) = %v, want %v", in, got, want)
		}
	}
}

func TestPlainBytes(t *testing.T) {
	for _, tc := range []struct {
		v    Value
		want string
		ok   bool
	}{
		{Value{Kind: KindStr, Str: "<b>é</b>", Safe: true}, "<b>é</b>", true},
		{Value{Kind: KindBytes, Bytes: []byte{0, 1}}, "\x00\x01", true},
		{Value{Kind: KindBytes}, "", true},
		{Value{Kind: KindInt}, "0", true},
		{Value{Kind: KindFloat, Float: 1.5}, "", false},
		{Value{Kind: KindNone}, "", false},
	} {
		b, ok := tc.v.PlainBytes()
		if ok != tc.ok || string(b) != tc.want || (ok && b == nil) {
			t.Errorf("%v.PlainBytes() = %q, %v; want %q, %v", tc.v.Kind, b, ok, tc.want, tc.ok)
		}
	}
}

func TestPlainPayload(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		want string
		ok   bool
	}{
		{"str5", "\x80\x05\x95\x07\x00\x00\x00\x00\x00\x00\x00\x8c\x03h\xc3\xa9\x94.", "h\xc3\xa9", true},
		{"str unframed", "\x80\x04\x8c\x01a\x94.", "a", true},
		{"binunicode", "\x80\x03X\x02\x00\x00\x00ab.", "ab", true},
		{"bytes", "\x80\x05C\x02\xff\x00\x94.", "\xff\x00", true},
		{"binbytes", "\x80\x05B\x01\x00\x00\x00z.", "z", true},
		{"no proto", "\x8c\x01a.", "a", true},
		{"surrogate", "\x80\x04\x8c\x03\xed\xa0\x80\x94.", "", false},
		{"trailing", "\x80\x04\x8c\x01a\x94.x", "", false},
		{"short", "\x80\x04\x8c\x05a.", "", false},
		{"int", "\x80\x04K\x2a.", "", false},
		{"class", "\x80\x05\x8c\x08__main__\x94\x8c\x03Foo\x94\x93\x94)\x81\x94.", "", false},
		{"frame too long", "\x80\x05\x95\xff\x00\x00\x00\x00\x00\x00\x00\x8c\x01a.", "", false},
		{"proto 6", "\x80\x06\x8c\x01a.", "", false},
	} {
		got, ok := PlainPayload([]byte(tc.data))
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("%s: PlainPayload = %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
		if ok {
			v, err := Decode([]byte(tc.data))
			b, plain := v.PlainBytes()
			if err != nil || !plain || string(b) != tc.want {
				t.Errorf("%s: Decode disagrees: %q, %v, %v", tc.name, b, plain, err)
			}
		}
	}
}
