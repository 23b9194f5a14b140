package pystr

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// f hides a float constant from the compiler, so that 0.1 + f(0.2) is
// computed in float64 like Python does.
func f(x float64) float64 { return x }

func bigInt(s string) *big.Int {
	b, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic("bad big int " + s)
	}
	return b
}

type testCase struct {
	name string
	v    any
	str  string
	repr string
}

// pythonCases were produced by evaluating the equivalent Python expression
// with CPython 3.11 and taking str() and repr() of the result.
var pythonCases = []testCase{
	{"none", nil, "None", "None"},
	{"true", true, "True", "True"},
	{"false", false, "False", "False"},
	{"int/0", 0, "0", "0"},
	{"int/1", 1, "1", "1"},
	{"int/-1", -1, "-1", "-1"},
	{"int8/min", int8(math.MinInt8), "-128", "-128"},
	{"int16", int16(-300), "-300", "-300"},
	{"int32", int32(math.MaxInt32), "2147483647", "2147483647"},
	{"int64/min", int64(math.MinInt64), "-9223372036854775808", "-9223372036854775808"},
	{"uint", uint(7), "7", "7"},
	{"uint8", uint8(255), "255", "255"},
	{"uint16", uint16(65535), "65535", "65535"},
	{"uint32", uint32(math.MaxUint32), "4294967295", "4294967295"},
	{"uint64/max", uint64(math.MaxUint64), "18446744073709551615", "18446744073709551615"},
	{"uintptr", uintptr(42), "42", "42"},
	{"bigint/2^64", bigInt("18446744073709551616"), "18446744073709551616", "18446744073709551616"},
	{"bigint/-2^100", bigInt("-1267650600228229401496703205376"), "-1267650600228229401496703205376", "-1267650600228229401496703205376"},
	{"bigint/value", *bigInt("123"), "123", "123"},
	{"float/1.0", 1.0, "1.0", "1.0"},
	{"float/0.1", 0.1, "0.1", "0.1"},
	{"float/2.5", 2.5, "2.5", "2.5"},
	{"float/0.1+0.2", 0.1 + f(0.2), "0.30000000000000004", "0.30000000000000004"},
	{"float/100", 100.0, "100.0", "100.0"},
	{"float/12345.678", 12345.678, "12345.678", "12345.678"},
	{"float/1e15", 1e15, "1000000000000000.0", "1000000000000000.0"},
	{"float/1e16-2", 1e16 - 2, "9999999999999998.0", "9999999999999998.0"},
	{"float/1e16", 1e16, "1e+16", "1e+16"},
	{"float/1.5e16", 1.5e16, "1.5e+16", "1.5e+16"},
	{"float/1e20", 1e20, "1e+20", "1e+20"},
	{"float/1e22", 1e22, "1e+22", "1e+22"},
	{"float/1e100", 1e100, "1e+100", "1e+100"},
	{"float/2^53+1", f(9007199254740993), "9007199254740992.0", "9007199254740992.0"},
	{"float/123456789012345680", 123456789012345680.0, "1.2345678901234568e+17", "1.2345678901234568e+17"},
	{"float/1e-4", 1e-4, "0.0001", "0.0001"},
	{"float/1e-5", 1e-5, "1e-05", "1e-05"},
	{"float/0.000123", 0.000123, "0.000123", "0.000123"},
	{"float/1.5e-7", 1.5e-7, "1.5e-07", "1.5e-07"},
	{"float/-1e-100", -1e-100, "-1e-100", "-1e-100"},
	{"float/0", 0.0, "0.0", "0.0"},
	{"float/-0", math.Copysign(0, -1), "-0.0", "-0.0"},
	{"float/-2.5", -2.5, "-2.5", "-2.5"},
	{"float/min-subnormal", 5e-324, "5e-324", "5e-324"},
	{"float/max", math.MaxFloat64, "1.7976931348623157e+308", "1.7976931348623157e+308"},
	{"float/inf", math.Inf(1), "inf", "inf"},
	{"float/-inf", math.Inf(-1), "-inf", "-inf"},
	{"float/nan", math.NaN(), "nan", "nan"},
	{"float/-nan", -math.NaN(), "nan", "nan"},
	{"float32/0.1", float32(0.1), "0.10000000149011612", "0.10000000149011612"},
	{"float32/1", float32(1), "1.0", "1.0"},
	{"float32/2^24+1", float32(16777217), "16777216.0", "16777216.0"},
	{"float32/max", float32(math.MaxFloat32), "3.4028234663852886e+38", "3.4028234663852886e+38"},
	{"float32/smallest", float32(math.SmallestNonzeroFloat32), "1.401298464324817e-45", "1.401298464324817e-45"},
	{"complex/1+2j", complex(1, 2), "(1+2j)", "(1+2j)"},
	{"complex/2j", complex(0, 2), "2j", "2j"},
	{"complex/0j", complex(0, 0), "0j", "0j"},
	{"complex/-0-0j", complex(math.Copysign(0, -1), math.Copysign(0, -1)), "(-0-0j)", "(-0-0j)"},
	{"complex/0-0j", complex(0, math.Copysign(0, -1)), "-0j", "-0j"},
	{"complex/1-0j", complex(1, math.Copysign(0, -1)), "(1-0j)", "(1-0j)"},
	{"complex/nan", complex(1, math.NaN()), "(1+nanj)", "(1+nanj)"},
	{"complex/-0+nanj", complex(math.Copysign(0, -1), -math.NaN()), "(-0+nanj)", "(-0+nanj)"},
	{"complex/nanj", complex(0, math.NaN()), "nanj", "nanj"},
	{"complex/nan+1j", complex(math.NaN(), 1), "(nan+1j)", "(nan+1j)"},
	{"complex/inf-infj", complex(math.Inf(1), math.Inf(-1)), "(inf-infj)", "(inf-infj)"},
	{"complex/exp", complex(0.5, 1e-5), "(0.5+1e-05j)", "(0.5+1e-05j)"},
	{"complex/big", complex(1e15, 1e16), "(1000000000000000+1e+16j)", "(1000000000000000+1e+16j)"},
	{"complex64", complex64(complex(1.5, -2)), "(1.5-2j)", "(1.5-2j)"},
	{"str/empty", "", "", "''"},
	{"str/abc", "abc", "abc", "'abc'"},
	{"str/single-quote", "it's", "it's", "\"it's\""},
	{"str/double-quote", `say "hi"`, "say \"hi\"", "'say \"hi\"'"},
	{"str/both-quotes", `'"`, "'\"", "'\\'\"'"},
	{"str/backslash", `a\b`, "a\\b", "'a\\\\b'"},
	{"str/whitespace", "\t\n\r\v\f ", "\t\n\r\x0b\x0c ", "'\\t\\n\\r\\x0b\\x0c '"},
	{"str/controls", "\x00\x01\x1f\x7f", "\x00\x01\x1f\x7f", "'\\x00\\x01\\x1f\\x7f'"},
	{"str/c1-control", "\u0080\u009f", "\u0080\u009f", "'\\x80\\x9f'"},
	{"str/nbsp", "\u00a0", "\u00a0", "'\\xa0'"},
	{"str/soft-hyphen", "\u00ad", "\u00ad", "'\\xad'"},
	{"str/latin1", "café ñ ÿ", "café ñ ÿ", "'café ñ ÿ'"},
	{"str/cjk", "日本語", "日本語", "'日本語'"},
	{"str/emoji", "42º😀", "42º😀", "'42º😀'"},
	{"str/combining", "e\u0301", "é", "'é'"},
	{"str/line-separator", "\u2028\u2029", "\u2028\u2029", "'\\u2028\\u2029'"},
	{"str/zero-width-space", "\u200b", "\u200b", "'\\u200b'"},
	{"str/bom", "\ufeff", "\ufeff", "'\\ufeff'"},
	{"str/ideographic-space", "\u3000", "\u3000", "'\\u3000'"},
	{"str/private-use", "\ue000", "\ue000", "'\\ue000'"},
	{"str/unassigned", "\u0378", "\u0378", "'\\u0378'"},
	{"str/replacement-char", "\ufffd", "�", "'�'"},
	{"str/noncharacter", "\uffff", "\uffff", "'\\uffff'"},
	{"str/astral-private", "\U000f0000\U0010ffff", "\U000f0000\U0010ffff", "'\\U000f0000\\U0010ffff'"},
	{"str/astral-format", "\U000e0001", "\U000e0001", "'\\U000e0001'"},
	{"str/html", "<b>x</b>", "<b>x</b>", "'<b>x</b>'"},
	{"str/invalid-byte", "a\xffb", "a\xffb", "'a\\udcffb'"},
	{"str/encoded-surrogate", "\xed\xa0\x80", "\xed\xa0\x80", "'\\udced\\udca0\\udc80'"},
	{"str/truncated", "\xf0\x9f\x98x", "\xf0\x9f\x98x", "'\\udcf0\\udc9f\\udc98x'"},
	{"str/overlong", "\xc0\x80", "\xc0\x80", "'\\udcc0\\udc80'"},
	{"str/above-max", "\xf4\x90\x80\x80", "\xf4\x90\x80\x80", "'\\udcf4\\udc90\\udc80\\udc80'"},
	{"str/lone-continuation", "\x80é", "\x80é", "'\\udc80é'"},
	{"bytes/empty", []byte{}, "b''", "b''"},
	{"bytes/nil", []byte(nil), "b''", "b''"},
	{"bytes/text", []byte("bytes"), "b'bytes'", "b'bytes'"},
	{"bytes/single-quote", []byte("it's"), "b\"it's\"", "b\"it's\""},
	{"bytes/both-quotes", []byte(`'"`), "b'\\'\"'", "b'\\'\"'"},
	{"bytes/escapes", []byte("\\\t\n\r\x00\x1f\x7f\x80\xff"), "b'\\\\\\t\\n\\r\\x00\\x1f\\x7f\\x80\\xff'", "b'\\\\\\t\\n\\r\\x00\\x1f\\x7f\\x80\\xff'"},
	{"bytes/utf8", []byte("é"), "b'\\xc3\\xa9'", "b'\\xc3\\xa9'"},
	{"bytes/array", [4]byte{'a', 0, 0xff, '\''}, "b\"a\\x00\\xff'\"", "b\"a\\x00\\xff'\""},
	{"bytes/named", json.RawMessage(`{"a":1}`), "b'{\"a\":1}'", "b'{\"a\":1}'"},
	{"list/empty", []any{}, "[]", "[]"},
	{"list/nil", []int(nil), "[]", "[]"},
	{"list/mixed", []any{"a", 1, nil}, "['a', 1, None]", "['a', 1, None]"},
	{"list/strings", []string{"a", "it's"}, "['a', \"it's\"]", "['a', \"it's\"]"},
	{"list/floats", []float64{1, 0.5, 1e16}, "[1.0, 0.5, 1e+16]", "[1.0, 0.5, 1e+16]"},
	{"list/array", [2]int{1, 2}, "[1, 2]", "[1, 2]"},
	{"list/nested", []any{[]any{}, []any{true, []byte("x")}, Tuple{1}}, "[[], [True, b'x'], (1,)]", "[[], [True, b'x'], (1,)]"},
	{"list/dict", []any{Dict{{"k", "v"}}}, "[{'k': 'v'}]", "[{'k': 'v'}]"},
	{"tuple/empty", Tuple{}, "()", "()"},
	{"tuple/nil", Tuple(nil), "()", "()"},
	{"tuple/one", Tuple{"a"}, "('a',)", "('a',)"},
	{"tuple/two", Tuple{1, 2}, "(1, 2)", "(1, 2)"},
	{"tuple/nested", Tuple{Tuple{}}, "((),)", "((),)"},
	{"tuple/list", Tuple{[]any{nil}, 2.0}, "([None], 2.0)", "([None], 2.0)"},
	{"dict/empty", map[string]any{}, "{}", "{}"},
	{"dict/nil", map[string]int(nil), "{}", "{}"},
	{"dict/one", map[string]string{"k": "v"}, "{'k': 'v'}", "{'k': 'v'}"},
	{"dict/sorted", map[string]any{"b": 1, "a": []any{2}, "c": nil}, "{'a': [2], 'b': 1, 'c': None}", "{'a': [2], 'b': 1, 'c': None}"},
	{"dict/int-keys-sorted-by-repr", map[int]string{2: "b", 10: "a"}, "{10: 'a', 2: 'b'}", "{10: 'a', 2: 'b'}"},
	{"dict/any-keys", map[any]int{"x": 1, 1: 2, nil: 3}, "{'x': 1, 1: 2, None: 3}", "{'x': 1, 1: 2, None: 3}"},
	{"dict/ordered", Dict{{"b", 1}, {"a", 2}}, "{'b': 1, 'a': 2}", "{'b': 1, 'a': 2}"},
	{"dict/ordered-empty", Dict{}, "{}", "{}"},
	{"dict/ordered-tuple-key", Dict{{Tuple{1, "a"}, map[string]int{}}}, "{(1, 'a'): {}}", "{(1, 'a'): {}}"},
	{"decimal/1.10", Decimal("1.10"), "1.10", "Decimal('1.10')"},
	{"decimal/exp", Decimal("1E+3"), "1E+3", "Decimal('1E+3')"},
	{"decimal/neg-zero", Decimal("-0"), "-0", "Decimal('-0')"},
	{"decimal/nan", Decimal("NaN"), "NaN", "Decimal('NaN')"},
	{"decimal/in-list", []any{Decimal("2.50")}, "[Decimal('2.50')]", "[Decimal('2.50')]"},
	{"date", Date{2020, time.January, 2}, "2020-01-02", "datetime.date(2020, 1, 2)"},
	{"date/min", Date{1, 1, 1}, "0001-01-01", "datetime.date(1, 1, 1)"},
	{"date/max", Date{9999, 12, 31}, "9999-12-31", "datetime.date(9999, 12, 31)"},
	{"date/of", DateOf(time.Date(2021, 12, 31, 23, 0, 0, 0, time.UTC)), "2021-12-31", "datetime.date(2021, 12, 31)"},
	{"naive", Naive(time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)), "2020-01-02 03:04:05", "datetime.datetime(2020, 1, 2, 3, 4, 5)"},
	{"naive/midnight", Naive(time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)), "2020-01-02 00:00:00", "datetime.datetime(2020, 1, 2, 0, 0)"},
	{"naive/seconds", Naive(time.Date(2020, 1, 2, 0, 0, 5, 0, time.UTC)), "2020-01-02 00:00:05", "datetime.datetime(2020, 1, 2, 0, 0, 5)"},
	{"naive/micro", Naive(time.Date(2020, 1, 2, 0, 0, 0, 1000, time.UTC)), "2020-01-02 00:00:00.000001", "datetime.datetime(2020, 1, 2, 0, 0, 0, 1)"},
	{"naive/nano-truncated", Naive(time.Date(2020, 1, 2, 3, 4, 5, 999999999, time.UTC)), "2020-01-02 03:04:05.999999", "datetime.datetime(2020, 1, 2, 3, 4, 5, 999999)"},
	{"naive/wall-clock-of-location", Naive(time.Date(2020, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 7200))), "2020-01-02 03:04:05", "datetime.datetime(2020, 1, 2, 3, 4, 5)"},
	{"naive/min", Naive(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)), "0001-01-01 00:00:00", "datetime.datetime(1, 1, 1, 0, 0)"},
	{"aware/utc", time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC), "2020-01-02 03:04:05+00:00", "datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)"},
	{"aware/zero-offset-zone", time.Date(2020, 1, 2, 3, 4, 0, 0, time.FixedZone("GMT", 0)), "2020-01-02 03:04:00+00:00", "datetime.datetime(2020, 1, 2, 3, 4, tzinfo=datetime.timezone.utc)"},
	{"aware/plus", time.Date(2020, 1, 2, 3, 4, 5, 6000, time.FixedZone("IST", 19800)), "2020-01-02 03:04:05.000006+05:30", "datetime.datetime(2020, 1, 2, 3, 4, 5, 6, tzinfo=datetime.timezone(datetime.timedelta(seconds=19800)))"},
	{"aware/minus", time.Date(2020, 1, 2, 3, 4, 5, 0, time.FixedZone("X", -3600)), "2020-01-02 03:04:05-01:00", "datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=datetime.timezone(datetime.timedelta(days=-1, seconds=82800)))"},
	{"aware/minus-half", time.Date(2020, 1, 2, 3, 4, 5, 0, time.FixedZone("X", -(9*3600+30*60))), "2020-01-02 03:04:05-09:30", "datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=datetime.timezone(datetime.timedelta(days=-1, seconds=52200)))"},
	{"aware/offset-seconds", time.Date(2020, 1, 2, 3, 4, 5, 0, time.FixedZone("LMT", 19815)), "2020-01-02 03:04:05+05:30:15", "datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=datetime.timezone(datetime.timedelta(seconds=19815)))"},
	{"aware/in-list", []any{time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)}, "[datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)]", "[datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)]"},
}

type celsius float64
type name string
type flag bool
type small int8
type count uint16
type ints []int
type strMap map[string]int

type color int

func (c color) String() string { return [...]string{"red", "green"}[c] }

type ptrStringer struct{ s string }

func (p *ptrStringer) String() string { return p.s }

type myErr struct{ msg string }

func (e *myErr) Error() string { return e.msg }

type model struct{ name string }

func (m model) AppendPyStr(dst []byte) []byte { return append(dst, m.name...) }
func (m model) AppendPyRepr(dst []byte) []byte {
	return append(append(append(dst, "<User: "...), m.name...), '>')
}

type panicky struct{}

func (panicky) String() string { panic("boom") }

type panickyErr struct{}

func (panickyErr) Error() string { panic("bang") }

type panickyFormatter struct{}

func (panickyFormatter) AppendPyStr(dst []byte) []byte { panic("str") }
func (panickyFormatter) AppendPyRepr(dst []byte) []byte {
	return append(append(dst, "partial"...), panicky{}.String()...)
}

type point struct{ X, Y int }

// goCases cover Go values with no literal Python counterpart: the rules for
// them are pystr's own (see the package documentation).
func goCases() []testCase {
	s := "x"
	n := 3
	pn := &n
	var nilStr *string
	var nilErr *myErr
	var nilFunc func()
	var nilChan chan int
	var nilMap map[string]int
	return []testCase{
		{"named/float", celsius(21.5), "21.5", "21.5"},
		{"named/integral-float", celsius(21), "21.0", "21.0"},
		{"named/string", name("it's"), "it's", `"it's"`},
		{"named/bool", flag(true), "True", "True"},
		{"named/int8", small(-5), "-5", "-5"},
		{"named/uint16", count(9), "9", "9"},
		{"named/slice", ints{1, 2}, "[1, 2]", "[1, 2]"},
		{"named/map", strMap{"b": 2, "a": 1}, "{'a': 1, 'b': 2}", "{'a': 1, 'b': 2}"},
		{"pointer/string", &s, "x", "'x'"},
		{"pointer/pointer/int", &pn, "3", "3"},
		{"pointer/tuple", &Tuple{1}, "(1,)", "(1,)"},
		{"pointer/nil", nilStr, "None", "None"},
		{"pointer/nil-big", (*big.Int)(nil), "None", "None"},
		{"pointer/nil-stringer", (*ptrStringer)(nil), "None", "None"},
		{"pointer/nil-error", nilErr, "None", "None"},
		{"pointer/in-list", []*string{&s, nil}, "['x', None]", "['x', None]"},
		{"nil/func", nilFunc, "None", "None"},
		{"nil/chan", nilChan, "None", "None"},
		{"nil/unsafe-pointer", unsafe.Pointer(nil), "None", "None"},
		{"nil/map", nilMap, "{}", "{}"},
		{"stringer/value", color(1), "green", "'green'"},
		{"stringer/pointer", &ptrStringer{"it's"}, "it's", `"it's"`},
		{"stringer/duration", 1500 * time.Millisecond, "1.5s", "'1.5s'"},
		{"stringer/in-list", []any{color(0)}, "['red']", "['red']"},
		{"error", errors.New("boom"), "boom", "'boom'"},
		{"error/pointer", &myErr{"bad\n"}, "bad\n", `'bad\n'`},
		{"formatter", model{"bob"}, "bob", "<User: bob>"},
		{"formatter/in-list", []any{model{"bob"}}, "[<User: bob>]", "[<User: bob>]"},
		{"panic/stringer", panicky{}, "%!v(PANIC=String method: boom)", "'%!v(PANIC=String method: boom)'"},
		{"panic/error", panickyErr{}, "%!v(PANIC=Error method: bang)", "'%!v(PANIC=Error method: bang)'"},
		{"panic/formatter", panickyFormatter{}, "%!v(PANIC=AppendPyStr method: str)", "%!v(PANIC=AppendPyRepr method: boom)"},
		{"fallback/struct", point{1, 2}, "{1 2}", "{1 2}"},
		{"fallback/struct-in-list", []any{point{1, 2}}, "[{1 2}]", "[{1 2}]"},
	}
}

func TestPythonCases(t *testing.T) {
	for _, tc := range pythonCases {
		t.Run(tc.name, func(t *testing.T) { checkCase(t, tc) })
	}
}

func TestGoCases(t *testing.T) {
	for _, tc := range goCases() {
		t.Run(tc.name, func(t *testing.T) { checkCase(t, tc) })
	}
}

func checkCase(t *testing.T, tc testCase) {
	t.Helper()
	if got := Str(tc.v); got != tc.str {
		t.Errorf("Str(%#v) = %q, want %q", tc.v, got, tc.str)
	}
	if got := Repr(tc.v); got != tc.repr {
		t.Errorf("Repr(%#v) = %q, want %q", tc.v, got, tc.repr)
	}
	// The append forms keep what is already in dst.
	if got := string(AppendStr([]byte("pre|"), tc.v)); got != "pre|"+tc.str {
		t.Errorf("AppendStr(%#v) = %q, want %q", tc.v, got, "pre|"+tc.str)
	}
	if got := string(AppendRepr([]byte("pre|"), tc.v)); got != "pre|"+tc.repr {
		t.Errorf("AppendRepr(%#v) = %q, want %q", tc.v, got, "pre|"+tc.repr)
	}
}

func TestCycles(t *testing.T) {
	list := []any{1, nil}
	list[1] = list
	tuple := Tuple{nil}
	tuple[0] = tuple
	m := map[string]any{"a": 1}
	m["self"] = m
	d := Dict{{"k", nil}}
	d[0].Value = d
	type node struct{ next *node }
	var p any
	p = &p
	mixed := map[string]any{}
	mixed["l"] = []any{mixed}

	tests := []struct {
		name string
		v    any
		want string
	}{
		// CPython: l = [1]; l.append(l); repr(l) == "[1, [...]]".
		{"list", list, "[1, [...]]"},
		{"tuple", tuple, "((...),)"},
		{"map", m, "{'a': 1, 'self': {...}}"},
		{"dict", d, "{'k': {...}}"},
		{"pointer", p, "..."},
		{"map-list-map", mixed, "{'l': [{...}]}"},
		// Not a cycle: the same list twice side by side.
		{"shared", []any{[]any{1}, []any{1}}, "[[1], [1]]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Repr(tt.v); got != tt.want {
				t.Errorf("Repr = %q, want %q", got, tt.want)
			}
			if got := Str(tt.v); got != tt.want {
				t.Errorf("Str = %q, want %q", got, tt.want)
			}
		})
	}
	shared := []any{"x"}
	if got, want := Repr([]any{shared, shared}), "[['x'], ['x']]"; got != want {
		t.Errorf("Repr(shared) = %q, want %q", got, want)
	}
}

func TestMapOrderIsDeterministic(t *testing.T) {
	m := map[any]any{}
	for i := range 50 {
		m[i] = i
		m[fmt.Sprint(i)] = i
	}
	m[math.NaN()] = 1
	m[math.NaN()] = 2
	want := Repr(m)
	for range 20 {
		if got := Repr(m); got != want {
			t.Fatalf("Repr(map) changed between calls:\n%s\n%s", got, want)
		}
	}
	if !strings.HasPrefix(want, "{'0': 0, '1': 1, '10': 10,") || !strings.Contains(want, "nan: 1, nan: 2") {
		t.Errorf("unexpected order: %s", want)
	}
}

func TestFallbackNeverPanics(t *testing.T) {
	ch := make(chan int)
	fn := func() {}
	for _, v := range []any{ch, fn, struct{}{}, [0]int{}, unsafe.Pointer(&ch), []any{ch}, map[string]any{"f": fn}} {
		_ = Str(v)
		_ = Repr(v)
	}
}

func TestAppendQuote(t *testing.T) {
	if got, want := string(AppendQuote([]byte("k="), "a'b")), `k="a'b"`; got != want {
		t.Errorf("AppendQuote = %q, want %q", got, want)
	}
	if got, want := string(AppendQuoteBytes(nil, []byte("\x00'"))), `b"\x00'"`; got != want {
		t.Errorf("AppendQuoteBytes = %q, want %q", got, want)
	}
	if got, want := string(AppendFloat(nil, 1e16)), "1e+16"; got != want {
		t.Errorf("AppendFloat = %q, want %q", got, want)
	}
}

func TestZeroAllocs(t *testing.T) {
	values := []any{"user-42", 42, -7, int64(math.MaxInt64), uint8(3), true, nil, 2.5, 1e100, float32(0.1), "日本語"}
	buf := make([]byte, 0, 256)
	for _, v := range values {
		if n := testing.AllocsPerRun(100, func() { buf = AppendStr(buf[:0], v) }); n != 0 {
			t.Errorf("AppendStr(%#v) allocates %v times", v, n)
		}
		if n := testing.AllocsPerRun(100, func() { buf = AppendRepr(buf[:0], v) }); n != 0 {
			t.Errorf("AppendRepr(%#v) allocates %v times", v, n)
		}
	}
	if n := testing.AllocsPerRun(100, func() { buf = AppendQuote(buf[:0], "it's\n") }); n != 0 {
		t.Errorf("AppendQuote allocates %v times", n)
	}
}

// Make sure json is used (bytes/named case) even if the table changes.
var _ = json.RawMessage(nil)

func BenchmarkAppendStr(b *testing.B) {
	for _, bc := range []struct {
		name string
		v    any
	}{
		{"string", "user-42"},
		{"int", 42},
		{"float", 0.1},
		{"list", []any{"a", 1, nil}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			buf := make([]byte, 0, 64)
			b.ReportAllocs()
			for b.Loop() {
				buf = AppendStr(buf[:0], bc.v)
			}
		})
	}
}
