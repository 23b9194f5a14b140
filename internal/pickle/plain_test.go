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
