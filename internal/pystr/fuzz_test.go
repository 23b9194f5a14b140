package pystr

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// unquotePy decodes the Python literal produced by Repr for a str or bytes
// (bytes when it starts with b), mapping \udcNN back to the byte NN. It
// reports an error for anything Repr must never produce: a missing or
// unbalanced quote, an unescaped quote, a raw control character, or an
// unknown escape.
func unquotePy(lit string) ([]byte, error) {
	isBytes := strings.HasPrefix(lit, "b")
	if isBytes {
		lit = lit[1:]
	}
	if len(lit) < 2 || (lit[0] != '\'' && lit[0] != '"') || lit[len(lit)-1] != lit[0] {
		return nil, fmt.Errorf("not quoted: %q", lit)
	}
	q := lit[0]
	body := lit[1 : len(lit)-1]
	var out []byte
	for i := 0; i < len(body); {
		c := body[i]
		switch {
		case c == q:
			return nil, fmt.Errorf("unescaped quote at %d in %q", i, lit)
		case c < ' ' || c == 0x7f:
			return nil, fmt.Errorf("raw control byte %#x in %q", c, lit)
		case isBytes && c >= 0x80:
			return nil, fmt.Errorf("non-ASCII byte in bytes repr %q", lit)
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(body) {
			return nil, fmt.Errorf("trailing backslash in %q", lit)
		}
		e := body[i+1]
		i += 2
		width := 0
		switch e {
		case '\\', '\'', '"':
			out = append(out, e)
		case 't':
			out = append(out, '\t')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 'x':
			width = 2
		case 'u':
			width = 4
		case 'U':
			width = 8
		default:
			return nil, fmt.Errorf("unknown escape \\%c in %q", e, lit)
		}
		if width == 0 {
			continue
		}
		if (isBytes && e != 'x') || i+width > len(body) {
			return nil, fmt.Errorf("bad \\%c escape in %q", e, lit)
		}
		h := body[i : i+width]
		if strings.ToLower(h) != h {
			return nil, fmt.Errorf("uppercase hex %q in %q", h, lit)
		}
		v, err := strconv.ParseUint(h, 16, 32)
		if err != nil {
			return nil, fmt.Errorf("bad hex %q in %q", h, lit)
		}
		i += width
		switch {
		case isBytes:
			out = append(out, byte(v))
		case v >= 0xdc80 && v <= 0xdcff:
			out = append(out, byte(v-0xdc00)) // surrogateescape
		case v >= 0xd800 && v <= 0xdfff || v > utf8.MaxRune:
			return nil, fmt.Errorf("impossible code point %#x in %q", v, lit)
		default:
			out = utf8.AppendRune(out, rune(v))
		}
	}
	hasSingle, hasDouble := strings.Contains(string(out), "'"), strings.Contains(string(out), `"`)
	if want := pickQuote(hasSingle, hasDouble); q != want {
		return nil, fmt.Errorf("quote %c, CPython uses %c: %q", q, want, lit)
	}
	return out, nil
}

var pyFloatRE = regexp.MustCompile(`^-?(inf|nan|[0-9]+\.[0-9]+|[1-9](\.[0-9]*[1-9])?e[+-][0-9]{2,3})$`)

// FuzzRepr checks invariants of Repr and Str on strings, bytes, floats and
// integers, and of lists built from them. The seed corpus is in
// testdata/fuzz/FuzzRepr.
func FuzzRepr(f *testing.F) {
	f.Add("it's", []byte("b\"x"), 1e16, int64(-1))
	f.Add("a\xffb\u2028\x00", []byte{0, 0xff}, math.Copysign(0, -1), int64(math.MinInt64))
	f.Fuzz(func(t *testing.T, s string, b []byte, x float64, n int64) {
		// str: Str is the text itself; Repr is valid UTF-8 and round-trips.
		if got := Str(s); got != s {
			t.Fatalf("Str(%q) = %q", s, got)
		}
		rs := Repr(s)
		if !utf8.ValidString(rs) {
			t.Fatalf("Repr(%q) = %q is not valid UTF-8", s, rs)
		}
		back, err := unquotePy(rs)
		if err != nil {
			t.Fatalf("Repr(%q): %v", s, err)
		}
		if string(back) != s {
			t.Fatalf("Repr(%q) = %q decodes to %q", s, rs, back)
		}
		if string(AppendQuote(nil, s)) != rs {
			t.Fatalf("AppendQuote(%q) differs from Repr", s)
		}

		// bytes: ASCII, round-trips, str == repr.
		rb := Repr(b)
		if Str(b) != rb {
			t.Fatalf("Str(%q) != Repr", b)
		}
		back, err = unquotePy(rb)
		if err != nil {
			t.Fatalf("Repr(%q): %v", b, err)
		}
		if string(back) != string(b) {
			t.Fatalf("Repr(%q) = %q decodes to %q", b, rb, back)
		}

		// float: Python syntax, fixed notation exactly in Python's range,
		// and the value round-trips.
		rx := Repr(x)
		if Str(x) != rx || !pyFloatRE.MatchString(rx) {
			t.Fatalf("Repr(%v) = %q", x, rx)
		}
		if a := math.Abs(x); !math.IsNaN(a) && !math.IsInf(a, 0) {
			fixed := !strings.Contains(rx, "e")
			if want := a == 0 || (a >= 1e-4 && a < 1e16); fixed != want {
				t.Fatalf("Repr(%v) = %q: fixed notation %v, want %v", x, rx, fixed, want)
			}
		}
		parsed, err := strconv.ParseFloat(rx, 64)
		if err != nil || (math.Float64bits(parsed) != math.Float64bits(x) && !(math.IsNaN(x) && math.IsNaN(parsed))) {
			t.Fatalf("Repr(%v) = %q does not round-trip (%v, %v)", x, rx, parsed, err)
		}
		if rx32 := Repr(float32(x)); rx32 != Repr(float64(float32(x))) {
			t.Fatalf("Repr(float32(%v)) = %q", x, rx32)
		}

		// int.
		if got, want := Str(n), strconv.FormatInt(n, 10); got != want || Repr(n) != want {
			t.Fatalf("Str(%d) = %q", n, got)
		}

		// Containers are built from the reprs of their elements.
		list := []any{s, b, x, n, nil}
		want := "[" + rs + ", " + rb + ", " + rx + ", " + strconv.FormatInt(n, 10) + ", None]"
		if got := Repr(list); got != want || Str(list) != want {
			t.Fatalf("Repr(list) = %q, want %q", got, want)
		}
		if got, want := Repr(Tuple{s}), "("+rs+",)"; got != want {
			t.Fatalf("Repr(Tuple) = %q, want %q", got, want)
		}
		if got, want := Repr(map[string]any{s: b}), "{"+rs+": "+rb+"}"; got != want {
			t.Fatalf("Repr(map) = %q, want %q", got, want)
		}
		if got, want := Repr(Decimal(s)), "Decimal("+rs+")"; got != want || Str(Decimal(s)) != s {
			t.Fatalf("Repr(Decimal) = %q, want %q", got, want)
		}
	})
}

func TestUnquotePyRejects(t *testing.T) {
	for _, lit := range []string{`abc`, `'a'b'`, `"abc"`, "'\x01'", `'\q'`, `'\uDC80'`, `'it\'s'`, `'\ud800'`, `b'\u0041'`, "b'\xc3\xa9'", `'a\'`} {
		if _, err := unquotePy(lit); err == nil {
			t.Errorf("unquotePy(%q) accepted", lit)
		}
	}
}
