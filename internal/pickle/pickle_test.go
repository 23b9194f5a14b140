package pickle

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/fragcache/fragcache/internal/golden"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func strValue(s string) Value       { return Value{Kind: KindStr, Str: s} }
func safeValue(s string) Value      { return Value{Kind: KindStr, Str: s, Safe: true} }
func bytesValue(b string) Value     { return Value{Kind: KindBytes, Bytes: []byte(b)} }
func intValue(i int64) Value        { return Value{Kind: KindInt, Int: big.NewInt(i)} }
func floatValue(f float64) Value    { return Value{Kind: KindFloat, Float: f} }
func boolValue(b bool) Value        { return Value{Kind: KindBool, Bool: b} }
func byteArrayValue(b string) Value { return Value{Kind: KindByteArray, Bytes: []byte(b)} }

// fixed holds pickles written by CPython 3.11 (Debian's 3.11.2 with
// python3-django 3.2.25 for the SafeString rows), so that these checks run
// without Python.
var fixed = []struct {
	name string
	hex  string
	want Value
}{
	{"SafeString p5", "8005953a000000000000008c17646a616e676f2e7574696c732e73616665737472696e67948c0a53616665537472696e679493948c093c623e68693c2f623e94859481942e", safeValue("<b>hi</b>")},
	{"SafeString p4", "8004953a000000000000008c17646a616e676f2e7574696c732e73616665737472696e67948c0a53616665537472696e679493948c093c623e68693c2f623e94859481942e", safeValue("<b>hi</b>")},
	{"SafeString p3", "800363646a616e676f2e7574696c732e73616665737472696e670a53616665537472696e670a710058090000003c623e68693c2f623e71018571028171032e", safeValue("<b>hi</b>")},
	{"SafeString p2", "800263646a616e676f2e7574696c732e73616665737472696e670a53616665537472696e670a710058090000003c623e68693c2f623e71018571028171032e", safeValue("<b>hi</b>")},
	{"SafeText p5 (Django < 3.0 name)", "80059531000000000000008c17646a616e676f2e7574696c732e73616665737472696e67948c0853616665546578749493948c02686994859481942e", safeValue("hi")},
	{"str p5", "80059505000000000000008c0178942e", strValue("x")},
	{"str p2", "800258010000007871002e", strValue("x")},
	{"empty str p5", "80059504000000000000008c00942e", strValue("")},
	{"bytes p5", "800595060000000000000043026162942e", bytesValue("ab")},
	{"bytes p3", "80034302616271002e", bytesValue("ab")},
	{"bytes p2", "8002635f636f646563730a656e636f64650a710058020000006162710158060000006c6174696e3171028671035271042e", bytesValue("ab")},
	{"bytes ff00 p2", "8002635f636f646563730a656e636f64650a71005803000000c3bf00710158060000006c6174696e3171028671035271042e", bytesValue("\xff\x00")},
	{"empty bytes p2", "8002635f5f6275696c74696e5f5f0a62797465730a7100295271012e", bytesValue("")},
	{"bytearray p5", "8005950d000000000000009602000000000000006162942e", byteArrayValue("ab")},
	{"bytearray p4", "80049523000000000000008c086275696c74696e73948c096279746561727261799493944302616294859452942e", byteArrayValue("ab")},
	{"bytearray p3", "8003636275696c74696e730a6279746561727261790a71004302616271018571025271032e", byteArrayValue("ab")},
	{"bytearray p2", "8002635f5f6275696c74696e5f5f0a6279746561727261790a7100635f636f646563730a656e636f64650a710158020000006162710258060000006c6174696e3171038671045271058571065271072e", byteArrayValue("ab")},
	{"empty bytearray p4", "8004951d000000000000008c086275696c74696e73948c096279746561727261799493942952942e", byteArrayValue("")},
	{"int 0", "80054b002e", intValue(0)},
	{"int 256", "80059504000000000000004d00012e", intValue(256)},
	{"int -1", "80059506000000000000004affffffff2e", intValue(-1)},
	{"int 2**31", "80059508000000000000008a0500000080002e", intValue(1 << 31)},
	{"int -2**31-1", "80059508000000000000008a05ffffff7fff2e", intValue(-1<<31 - 1)},
	{"True", "8005882e", boolValue(true)},
	{"False", "8005892e", boolValue(false)},
	{"None", "80054e2e", Value{}},
	{"1.5", "8005950a00000000000000473ff80000000000002e", floatValue(1.5)},
}

func TestFixedVectors(t *testing.T) {
	for _, tc := range fixed {
		data := unhex(t, tc.hex)
		got, err := Decode(data)
		if err != nil {
			t.Errorf("%s: Decode: %v", tc.name, err)
			continue
		}
		if !got.Equal(tc.want) {
			t.Errorf("%s: Decode = %+v, want %+v", tc.name, got, tc.want)
		}
		if data[1] != 5 || strings.HasPrefix(tc.name, "SafeText") {
			continue // Encode writes protocol 5 and the name SafeString
		}
		enc, err := Encode(tc.want)
		if err != nil {
			t.Errorf("%s: Encode: %v", tc.name, err)
		} else if !bytes.Equal(enc, data) {
			t.Errorf("%s: Encode = %x, want %x", tc.name, enc, data)
		}
	}
}

func TestEncodeSafeStringDjango(t *testing.T) {
	// Django 3.2.25 on CPython 3.11: pickle.dumps(SafeString("<b>hi</b>"), 5).
	want := unhex(t, "8005953a000000000000008c17646a616e676f2e7574696c732e73616665737472696e67948c0a53616665537472696e679493948c093c623e68693c2f623e94859481942e")
	if got := EncodeSafeString("<b>hi</b>"); !bytes.Equal(got, want) {
		t.Errorf("EncodeSafeString = %x\nwant %x", got, want)
	}
	text, ok, err := DecodeText(want)
	if err != nil || !ok || text != "<b>hi</b>" {
		t.Errorf("DecodeText = %q, %v, %v", text, ok, err)
	}
}

func TestEncodeLargeFraming(t *testing.T) {
	// Lengths around the 64 KiB frame target: pickle.dumps("x"*n, 5) from
	// CPython 3.11 (first 12 bytes; the rest is the text, MEMOIZE, STOP).
	for _, tc := range []struct {
		n    int
		head string
	}{
		{65526, "800595fdff00000000000058"},
		{65529, "800595000001000000000058"},
		{65535, "800595060001000000000058"},
		{65536, "800558000001007878787878"},
	} {
		got := EncodeString(strings.Repeat("x", tc.n))
		if h := hex.EncodeToString(got[:12]); h != tc.head {
			t.Errorf("EncodeString(%d x) starts %s, want %s", tc.n, h, tc.head)
		}
		if !bytes.HasSuffix(got, []byte("x\x94.")) {
			t.Errorf("EncodeString(%d x) ends %x", tc.n, got[len(got)-4:])
		}
		if v, err := Decode(got); err != nil || v.Str != strings.Repeat("x", tc.n) {
			t.Errorf("Decode(EncodeString(%d x)): %v", tc.n, err)
		}
	}
}

// TestGoldenRawStorage checks the pickles Django's backends wrote in the
// golden vectors (Redis, django-redis, pymemcache flag 1, file-based header).
func TestGoldenRawStorage(t *testing.T) {
	want := map[string]Value{
		"str":     strValue("hello"),
		"unicode": strValue("café"),
		"bool":    boolValue(true),
		"float":   floatValue(1.5),
		"bytes":   bytesValue("\x00\x01"),
	}
	var checked int
	for _, version := range golden.Versions {
		var doc struct {
			Backends map[string]struct {
				RawStorage map[string]any `json:"raw_storage"`
			} `json:"backends"`
			FilebasedFormat struct {
				HeaderBytesHex     string  `json:"header_bytes_hex"`
				ExpiryPickledValue float64 `json:"expiry_pickled_value"`
			} `json:"filebased_format"`
		}
		if err := golden.Decode("backend_api", version, &doc); err != nil {
			t.Fatal(err)
		}
		for backend, b := range doc.Backends {
			for name, raw := range b.RawStorage {
				m, ok := raw.(map[string]any)
				if !ok {
					continue
				}
				h, _ := m["data_hex"].(string) // pymemcache
				if r, ok := m["raw"].(map[string]any); ok {
					h, _ = r["bytes_hex"].(string) // Redis, django-redis
				}
				data := unhex(t, h)
				if len(data) < 2 || data[0] != opProto {
					continue // stored raw: ASCII ints, text, bytes
				}
				checked++
				where := version + " " + backend + " " + name
				got, err := Decode(data)
				if name == "dict" {
					if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "EMPTY_DICT") {
						t.Errorf("%s: Decode = %+v, %v; want ErrUnsupported naming EMPTY_DICT", where, got, err)
					}
					continue
				}
				w, known := want[name]
				if !known {
					t.Errorf("%s: no expectation for a pickled %s", where, name)
					continue
				}
				if err != nil || !got.Equal(w) {
					t.Errorf("%s: Decode = %+v, %v; want %+v", where, got, err, w)
				}
				if data[1] == 5 {
					enc, _ := Encode(w)
					if !bytes.Equal(enc, data) {
						t.Errorf("%s: Encode = %x, want %s", where, enc, h)
					}
				}
			}
		}
		// File-based: pickle(expiry) followed by zlib data.
		header := unhex(t, doc.FilebasedFormat.HeaderBytesHex)
		v, n, err := DecodePrefix(append(header, 0x78, 0x9c, 0x01))
		if err != nil || n != len(header) || !v.Equal(floatValue(doc.FilebasedFormat.ExpiryPickledValue)) {
			t.Errorf("%s filebased header: DecodePrefix = %+v, %d, %v", version, v, n, err)
		}
		if enc, _ := Encode(floatValue(doc.FilebasedFormat.ExpiryPickledValue)); !bytes.Equal(enc, header) {
			t.Errorf("%s filebased header: Encode = %x, want %x", version, enc, header)
		}
		checked++
	}
	if checked < 20 {
		t.Errorf("checked only %d golden pickles", checked)
	}
}

func TestEncodeInts(t *testing.T) {
	for _, tc := range []struct {
		x   string
		hex string
	}{
		{"0", "80054b002e"},
		{"255", "80054bff2e"},
		{"65535", "80059504000000000000004dffff2e"},
		{"65536", "80059506000000000000004a000001002e"},
		{"2147483647", "80059506000000000000004affffff7f2e"},
		{"-2147483648", "80059506000000000000004a000000802e"},
		{"18446744073709551616", "8005950c000000000000008a090000000000000000012e"},
		{"-1267650600228229401496703205376", "80059510000000000000008a0d000000000000000000000000f02e"},
	} {
		x, _ := new(big.Int).SetString(tc.x, 10)
		got, err := Encode(Value{Kind: KindInt, Int: x})
		if err != nil || hex.EncodeToString(got) != tc.hex {
			t.Errorf("Encode(%s) = %x, %v; want %s", tc.x, got, err, tc.hex)
		}
		v, err := Decode(got)
		if err != nil || v.Int.Cmp(x) != 0 {
			t.Errorf("Decode(Encode(%s)) = %+v, %v", tc.x, v, err)
		}
	}
	// A nil Int is 0.
	if got, _ := Encode(Value{Kind: KindInt}); hex.EncodeToString(got) != "80054b002e" {
		t.Errorf("Encode(nil Int) = %x", got)
	}
}

func TestEncodeUnknownKind(t *testing.T) {
	if _, err := Encode(Value{Kind: 99}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Encode(Kind 99) error = %v, want ErrUnsupported", err)
	}
}

func TestSurrogates(t *testing.T) {
	// Invalid UTF-8 is written as surrogateescape would decode it; Python
	// 3.11: pickle.dumps(b"a\xffb".decode("utf-8", "surrogateescape"), 5).
	got := EncodeString("a\xffb")
	if h := hex.EncodeToString(got); h != "80059509000000000000008c0561edb3bf62942e" {
		t.Errorf("EncodeString(a\\xffb) = %s", h)
	}
	for _, s := range []string{"a\xffb", "\x80", "\xed\xa0\x80", "\xc3", "é\xc3", "\xf4\x90\x80\x80"} {
		v, err := Decode(EncodeString(s))
		if err != nil || v.Str != s {
			t.Errorf("Decode(EncodeString(%q)) = %q, %v", s, v.Str, err)
		}
	}
	// Other lone surrogates ('\ud800', pickled by Python) become U+FFFD.
	v, err := Decode(unhex(t, "80059507000000000000008c03eda080942e"))
	if err != nil || v.Str != "\ufffd" {
		t.Errorf("Decode(\\ud800) = %q, %v", v.Str, err)
	}
}

func TestValueHelpers(t *testing.T) {
	if s, ok := safeValue("x").Text(); !ok || s != "x" {
		t.Errorf("Text of a SafeString = %q, %v", s, ok)
	}
	if _, ok := bytesValue("x").Text(); ok {
		t.Error("Text of bytes reports ok")
	}
	if KindByteArray.String() != "bytearray" || Kind(42).String() != "Kind(42)" {
		t.Errorf("Kind.String: %v %v", KindByteArray, Kind(42))
	}
	nan := floatValue(math.NaN())
	if !nan.Equal(nan) || floatValue(0).Equal(floatValue(math.Copysign(0, -1))) {
		t.Error("Equal on floats compares bits")
	}
	if strValue("x").Equal(safeValue("x")) || !(Value{Kind: KindInt}).Equal(intValue(0)) {
		t.Error("Equal: Safe must matter, a nil Int is 0")
	}
	for _, v := range []Value{{}, boolValue(true), intValue(3), floatValue(2), strValue("a"), bytesValue("a"), byteArrayValue("a")} {
		if v.Equal(Value{Kind: 77}) || !v.Equal(v) {
			t.Errorf("Equal(%v)", v.Kind)
		}
	}
	_, ok, err := DecodeText(unhex(t, "80054b002e"))
	if ok || err != nil {
		t.Errorf("DecodeText(int) = %v, %v", ok, err)
	}
	if _, _, err := DecodeText(nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("DecodeText(nil) error = %v", err)
	}
}

func TestOpNames(t *testing.T) {
	n := 0
	for _, name := range opNames {
		if name != "" {
			n++
		}
	}
	if n != 68 { // len(pickletools.opcodes) in CPython 3.8 to 3.14
		t.Errorf("%d opcode names, want 68", n)
	}
}
