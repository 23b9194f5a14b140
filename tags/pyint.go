package tags

import (
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/internal/pystr"
)

// pyNone is Python's None as produced by the literal None in a tag argument
// (pongo2 cannot tell a missing variable from a nil value, so nil stands for
// a missing variable, which Django resolves to the empty string).
type pyNone struct{}

// timeoutError is Django's message for a timeout int() rejects.
func timeoutError(v any) string {
	return `"cache" tag got a non-integer timeout value: ` + pystr.Repr(v)
}

// timeoutOf converts a resolved timeout to a cache.Timeout as Django's
// CacheNode.render does: None means forever, anything else goes through
// Python's int(), and a ValueError or TypeError becomes Django's
// non-integer message. msg is "" on success.
//
// Go values map to Python values as in package pystr; besides, a
// cache.Timeout is used as it is and a time.Duration counts its whole
// seconds (Python has no counterpart for them).
func timeoutOf(v any) (t cache.Timeout, msg string) {
	switch x := v.(type) {
	case pyNone:
		return cache.Forever, ""
	case nil:
		// A missing variable: Django resolves it to string_if_invalid ('').
		return 0, timeoutError("")
	case cache.Timeout:
		return x, ""
	case time.Duration:
		return secondsTimeout(int64(x / time.Second)), ""
	case bool:
		if x {
			return secondsTimeout(1), ""
		}
		return secondsTimeout(0), ""
	case string:
		return intString(x, v)
	case []byte:
		return intString(string(x), v)
	case *big.Int:
		if x == nil {
			return cache.Forever, "" // a nil pointer is None
		}
		return bigTimeout(x), ""
	case pystr.Decimal:
		return decimalTimeout(string(x), v)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return secondsTimeout(rv.Int()), ""
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return cache.Forever, ""
		}
		return secondsTimeout(int64(u)), ""
	case reflect.Float32, reflect.Float64:
		return floatTimeout(rv.Float(), v)
	case reflect.Pointer:
		if rv.IsNil() {
			return cache.Forever, "" // None
		}
		return timeoutOf(rv.Elem().Interface())
	}
	return 0, timeoutError(v) // TypeError
}

// secondsTimeout is the cache timeout of n whole seconds, as Django's
// backends read it: 0 and negative values store an expired entry.
func secondsTimeout(n int64) cache.Timeout {
	return cache.Seconds(float64(n))
}

func bigTimeout(b *big.Int) cache.Timeout {
	if b.IsInt64() {
		return secondsTimeout(b.Int64())
	}
	if b.Sign() > 0 {
		return cache.Forever
	}
	return cache.Expired
}

func floatTimeout(f float64, v any) (cache.Timeout, string) {
	switch {
	case math.IsNaN(f):
		return 0, timeoutError(v) // ValueError: cannot convert float NaN to integer
	case math.IsInf(f, 0):
		// Python raises OverflowError, which Django does not catch.
		return 0, "cannot convert float infinity to integer"
	}
	f = math.Trunc(f)
	switch {
	case f >= math.MaxInt64:
		return cache.Forever, ""
	case f <= math.MinInt64:
		return cache.Expired, ""
	}
	return secondsTimeout(int64(f)), ""
}

func decimalTimeout(s string, v any) (cache.Timeout, string) {
	f, ok := new(big.Float).SetString(strings.TrimSpace(s))
	if !ok {
		return 0, timeoutError(v)
	}
	if f.IsInf() {
		return 0, "cannot convert Infinity to integer"
	}
	i, _ := f.Int(nil) // truncates toward zero
	return bigTimeout(i), ""
}

// intString applies Python's int(str): surrounding whitespace, an optional
// sign, then decimal digits (any Unicode decimal digit) with single
// underscores between them.
func intString(s string, v any) (cache.Timeout, string) {
	b, ok := parsePyInt(s)
	if !ok {
		return 0, timeoutError(v)
	}
	return bigTimeout(b), ""
}

func parsePyInt(s string) (*big.Int, bool) {
	s = strings.TrimFunc(s, isPySpace)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" {
		return nil, false
	}
	digits := make([]byte, 0, len(s))
	prevUnderscore := true // no leading underscore
	for _, r := range s {
		if r == '_' {
			if prevUnderscore {
				return nil, false
			}
			prevUnderscore = true
			continue
		}
		d, ok := digitValue(r)
		if !ok {
			return nil, false
		}
		digits = append(digits, byte('0'+d))
		prevUnderscore = false
	}
	if prevUnderscore {
		return nil, false
	}
	b, ok := new(big.Int).SetString(string(digits), 10)
	if !ok {
		return nil, false
	}
	if neg {
		b.Neg(b)
	}
	return b, true
}

// digitValue returns the value of a Unicode decimal digit (category Nd).
// Nd digits come in runs of ten consecutive code points, zero to nine.
func digitValue(r rune) (int, bool) {
	if r >= '0' && r <= '9' {
		return int(r - '0'), true
	}
	if r < utf8.RuneSelf || !unicode.Is(unicode.Nd, r) {
		return 0, false
	}
	start := r
	for unicode.Is(unicode.Nd, start-1) {
		start--
	}
	return int(r-start) % 10, true
}

// isPySpace reports whether Python's str.strip() removes r.
func isPySpace(r rune) bool {
	switch r {
	case '\x1c', '\x1d', '\x1e', '\x1f':
		return true
	}
	return unicode.IsSpace(r)
}

// pyNumber types an unquoted word as Django's Variable does: a word
// containing '.', 'e' or 'E' is a float if Python's float() accepts it (and
// it does not end with '.'), any other word is an int if Python's int()
// accepts it. ok is false when the word is not a number.
func pyNumber(word string) (v any, ok bool) {
	if word == "" {
		return nil, false
	}
	if strings.ContainsAny(word, ".eE") {
		if word[len(word)-1] == '.' || !isPyFloatLiteral(word) {
			return nil, false
		}
		f, err := strconv.ParseFloat(strings.ReplaceAll(word, "_", ""), 64)
		if err != nil {
			if ne, isNum := err.(*strconv.NumError); !isNum || ne.Err != strconv.ErrRange {
				return nil, false
			}
		}
		return f, true
	}
	b, ok := parsePyInt(word)
	if !ok {
		return nil, false
	}
	if b.IsInt64() {
		return int(b.Int64()), true
	}
	return b, true
}

// isPyFloatLiteral reports whether s (ASCII) is a decimal float Python's
// float() accepts: [sign] (digits [. [digits]] | . digits) [e [sign] digits],
// digits allowing single underscores between digits. inf and nan never reach
// it (they contain no '.' or 'e').
func isPyFloatLiteral(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	intDigits := scanDigits(s, &i)
	fracDigits := 0
	if i < len(s) && s[i] == '.' {
		i++
		fracDigits = scanDigits(s, &i)
	}
	if intDigits+fracDigits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if scanDigits(s, &i) == 0 {
			return false
		}
	}
	return i == len(s)
}

// scanDigits consumes digits with single underscores between them and
// returns how many digits it consumed (0 if s[*i] is not a digit).
func scanDigits(s string, i *int) int {
	n := 0
	for *i < len(s) {
		c := s[*i]
		switch {
		case c >= '0' && c <= '9':
			n++
			*i++
		case c == '_' && n > 0 && *i+1 < len(s) && s[*i+1] >= '0' && s[*i+1] <= '9':
			*i++
		default:
			return n
		}
	}
	return n
}
