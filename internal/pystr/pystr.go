// Package pystr formats Go values exactly as Python 3's str() and repr()
// format the corresponding Python values.
//
// Django stringifies template values with str() in several places that end
// up in cache keys (the vary-on arguments of the {% cache %} tag, see
// make_template_fragment_key), and it quotes keys with repr() in messages. A
// Go port that shares a cache with Django processes has to produce the same
// bytes, so this package reproduces CPython's formatting rules.
//
// # Mapping of Go values to Python values
//
//	Go value                          Python value     str()                   repr()
//	nil, nil pointer/func/chan        None             None                    None
//	bool                              bool             True / False            True / False
//	int*, uint*, uintptr, *big.Int    int              -12                     -12
//	float64, float32 (see below)      float            1.0, 1e+16, inf, nan    same as str
//	complex128, complex64             complex          (1+2j), 2j              same as str
//	string                            str              the text itself         'abc', "it's", 'a\nb'
//	[]byte, [N]byte                   bytes            b'\x00a'                b'\x00a'
//	slice, array, []any               list             ['a', 1, None]          same as str
//	Tuple                             tuple            ('a',), (1, 2), ()      same as str
//	map                               dict             {'k': 'v'} (sorted)     same as str
//	Dict (ordered pairs)              dict             {'b': 1, 'a': 2}        same as str
//	Decimal                           decimal.Decimal  1.10                    Decimal('1.10')
//	Date                              datetime.date    2020-01-02              datetime.date(2020, 1, 2)
//	Naive                             naive datetime   2020-01-02 03:04:05     datetime.datetime(2020, 1, 2, 3, 4, 5)
//	time.Time                         aware datetime   2020-01-02 03:04:05+01:00  datetime.datetime(…, tzinfo=…)
//	Formatter                         custom           AppendPyStr             AppendPyRepr
//	error                             (text)           Error()                 repr of the Error() text
//	fmt.Stringer                      (text)           String()                repr of the String() text
//	pointer                           the pointee      str of *p               repr of *p
//	anything else (struct, func, …)   —                fmt's %v                fmt's %v
//
// Named types (type Celsius float64, type Name string, …) are formatted by
// their underlying kind unless they implement Formatter, error or
// fmt.Stringer, which take precedence (in that order, like package fmt;
// pystr's own types always use their Python meaning).
//
// A time.Duration is a fmt.Stringer and prints as Go prints it ("1.5s"), not
// as a datetime.timedelta.
//
// Containers (lists, tuples, dicts) always format their elements with repr,
// as Python does; a nil slice is an empty list and a nil map an empty dict.
// A container that contains itself prints "[...]", "(...)" or "{...}" at the
// point of recursion, like CPython.
//
// # Floats
//
// Floats use Python's float repr: the shortest digit string that round-trips
// (strconv's shortest digits, which are those of David Gay's algorithm CPython
// uses), in fixed notation when 1e-4 <= |x| < 1e16 with ".0" added to
// integral values (1000000000000000.0), otherwise in exponent notation with a
// sign and at least two exponent digits (1e+16, 1.5e-07). Special values are
// -0.0, inf, -inf and nan (Python never prints a sign on a NaN). A float32 is
// formatted as Python formats the double obtained by converting it exactly
// (float64(x)): float32(0.1) is 0.10000000149011612, as in Python
// float(numpy.float32(0.1)).
//
// # Strings
//
// str() of a string is the string itself, byte for byte. repr() follows
// CPython's unicode_repr: single quotes unless the text contains ' and no ",
// backslash escapes for \\, the quote, \t, \n and \r, \xNN for other control
// characters and DEL, and for non-ASCII characters that str.isprintable()
// rejects \xNN, \uNNNN or \UNNNNNNNN (lowercase hex). Printable non-ASCII
// characters are kept. Printability is unicode.IsPrint, whose definition is
// CPython's (letters, marks, numbers, punctuation, symbols and the ASCII
// space); the tables are Go's (Unicode 15.0.0 as of Go 1.26, the version of
// CPython 3.12), so a handful of code points assigned in other Unicode
// versions may differ from other Python versions.
//
// A Go string may hold invalid UTF-8, which a Python str cannot. pystr reads
// such a string the way Python's "surrogateescape" error handler decodes
// bytes: every byte that is not part of a valid UTF-8 sequence stands for the
// lone surrogate U+DC00+byte. repr() therefore shows it as \udcNN
// (repr of "a\xffb" is 'a\udcffb', as Python's
// repr(b"a\xffb".decode("utf-8", "surrogateescape"))), which keeps repr output
// valid UTF-8 and lossless. str() keeps the bytes as they are (Python would
// re-encode them with surrogateescape to the same bytes).
//
// # Dates and times
//
// A time.Time always carries a location, so it stands for an aware datetime:
// str() is "YYYY-MM-DD HH:MM:SS[.ffffff]+HH:MM" with the offset in effect at
// that instant ("+HH:MM:SS" when the offset has seconds), as datetime.__str__
// prints it; repr() uses a fixed-offset datetime.timezone
// (datetime.timezone.utc for offset zero), whatever the location's name. Wrap
// the time in Naive to get a naive datetime (Django with USE_TZ = False):
// Naive(t) uses t's wall clock in its own location and prints no offset.
// Nanoseconds are truncated to microseconds. Date is a datetime.date. Years
// outside Python's 1..9999 are not rejected; they are printed with at least
// four digits.
//
// # Maps
//
// Go maps are unordered while Python dicts keep insertion order, so a Go map
// is printed with its entries sorted by the repr of their keys (bytewise),
// then by the repr of their values, which makes the output deterministic. Use
// Dict to print entries in a given order.
//
// # Safety
//
// The functions never panic: a panic in a String, Error or Formatter method
// is recovered and printed as fmt does ("%!v(PANIC=String method: …)").
// The fallback for values with no Python counterpart (structs, funcs,
// channels, unsafe pointers) is fmt's %v output, which is not Python syntax;
// a struct that reaches itself through a map or slice makes fmt recurse
// without end, as it would with fmt.Sprint.
package pystr

import (
	"bytes"
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"time"
)

// Str returns Python's str() of the Python value that v stands for.
func Str(v any) string {
	var buf [64]byte
	return string(AppendStr(buf[:0], v))
}

// Repr returns Python's repr() of the Python value that v stands for.
func Repr(v any) string {
	var buf [64]byte
	return string(AppendRepr(buf[:0], v))
}

// AppendStr appends Python's str() of v to dst and returns the extended
// buffer. It does not allocate for nil, bools, integers, floats and strings
// when dst has enough capacity.
func AppendStr(dst []byte, v any) []byte {
	var p printer
	return p.value(dst, v, false)
}

// AppendRepr appends Python's repr() of v to dst and returns the extended
// buffer. It does not allocate for nil, bools, integers, floats and strings
// when dst has enough capacity.
func AppendRepr(dst []byte, v any) []byte {
	var p printer
	return p.value(dst, v, true)
}

// Formatter is implemented by values that know their own Python str() and
// repr(). The methods append to dst and return the extended buffer, like
// AppendStr and AppendRepr. Inside containers only AppendPyRepr is used.
type Formatter interface {
	AppendPyStr(dst []byte) []byte
	AppendPyRepr(dst []byte) []byte
}

// Tuple is a Python tuple: ('a',), (1, 2) or (). Its elements are formatted
// with repr.
type Tuple []any

// Dict is a Python dict whose entries are printed in the order given, as
// Python prints a dict in insertion order: {'b': 1, 'a': 2}. Duplicate keys
// are not detected; they are printed as they are.
type Dict []Item

// Item is one key/value entry of a Dict.
type Item struct {
	Key, Value any
}

// Decimal is a Python decimal.Decimal, held as its text. str() returns the
// text as it is and repr() returns Decimal('<text>'), so the text should be
// what Python's str() of the decimal gives: trailing zeros and exponent kept
// ("1.10", "1E+3", "-0", "NaN", "Infinity"). The text is not validated or
// normalised.
type Decimal string

// visit identifies a container being printed, for cycle detection.
type visit struct {
	ptr uintptr
	n   int
	typ reflect.Type
}

// printer carries the containers on the current path (like CPython's
// Py_ReprEnter list) so that self-containing values terminate.
type printer struct {
	path []visit
}

// enter records rv (a non-empty slice, map or non-nil pointer) on the path.
// It reports false when rv is already being printed.
func (p *printer) enter(rv reflect.Value, n int) bool {
	v := visit{ptr: rv.Pointer(), n: n, typ: rv.Type()}
	if slices.Contains(p.path, v) {
		return false
	}
	p.path = append(p.path, v)
	return true
}

func (p *printer) leave() { p.path = p.path[:len(p.path)-1] }

// value appends str(v) (repr false) or repr(v) (repr true).
func (p *printer) value(dst []byte, v any, repr bool) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, "None"...)
	case string:
		if repr {
			return appendQuoted(dst, x)
		}
		return append(dst, x...)
	case bool:
		return appendBool(dst, x)
	case int:
		return strconv.AppendInt(dst, int64(x), 10)
	case int8:
		return strconv.AppendInt(dst, int64(x), 10)
	case int16:
		return strconv.AppendInt(dst, int64(x), 10)
	case int32:
		return strconv.AppendInt(dst, int64(x), 10)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case uint:
		return strconv.AppendUint(dst, uint64(x), 10)
	case uint8:
		return strconv.AppendUint(dst, uint64(x), 10)
	case uint16:
		return strconv.AppendUint(dst, uint64(x), 10)
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10)
	case uint64:
		return strconv.AppendUint(dst, x, 10)
	case uintptr:
		return strconv.AppendUint(dst, uint64(x), 10)
	case float64:
		return AppendFloat(dst, x)
	case float32:
		return AppendFloat(dst, float64(x))
	case complex128:
		return appendComplex(dst, x)
	case complex64:
		return appendComplex(dst, complex128(x))
	case []byte:
		return appendBytes(dst, x)
	case *big.Int:
		if x == nil {
			return append(dst, "None"...)
		}
		return x.Append(dst, 10)
	case big.Int:
		return x.Append(dst, 10)
	case Decimal:
		if repr {
			dst = append(dst, "Decimal("...)
			dst = appendQuoted(dst, string(x))
			return append(dst, ')')
		}
		return append(dst, x...)
	case Date:
		if repr {
			return x.appendRepr(dst)
		}
		return x.appendStr(dst)
	case Naive:
		if repr {
			return appendDateTimeRepr(dst, time.Time(x), false)
		}
		return appendDateTimeStr(dst, time.Time(x), false)
	case time.Time:
		if repr {
			return appendDateTimeRepr(dst, x, true)
		}
		return appendDateTimeStr(dst, x, true)
	case []any:
		return p.sequence(dst, v, x, '[', ']', false)
	case Tuple:
		return p.sequence(dst, v, x, '(', ')', true)
	case Dict:
		return p.dict(dst, v, x)
	}

	// A nil pointer is None, even if its type has methods (which might not
	// expect a nil receiver). Nil slices and maps are empty containers.
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Func, reflect.Chan, reflect.UnsafePointer:
		if rv.IsNil() {
			return append(dst, "None"...)
		}
	}

	switch x := v.(type) {
	case Formatter:
		return callFormatter(dst, x, repr)
	case error:
		s := callError(x)
		if repr {
			return appendQuoted(dst, s)
		}
		return append(dst, s...)
	case fmt.Stringer:
		s := callString(x)
		if repr {
			return appendQuoted(dst, s)
		}
		return append(dst, s...)
	}

	return p.reflectValue(dst, rv, repr)
}

// reflectValue formats values of named or composite types by kind.
func (p *printer) reflectValue(dst []byte, rv reflect.Value, repr bool) []byte {
	switch rv.Kind() {
	case reflect.Bool:
		return appendBool(dst, rv.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(dst, rv.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.AppendUint(dst, rv.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return AppendFloat(dst, rv.Float())
	case reflect.Complex64, reflect.Complex128:
		return appendComplex(dst, rv.Complex())
	case reflect.String:
		if repr {
			return appendQuoted(dst, rv.String())
		}
		return append(dst, rv.String()...)
	case reflect.Pointer:
		if !p.enter(rv, 0) {
			return append(dst, "..."...)
		}
		dst = p.value(dst, rv.Elem().Interface(), repr)
		p.leave()
		return dst
	case reflect.Slice:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return appendBytes(dst, rv.Bytes())
		}
		return p.list(dst, rv)
	case reflect.Array:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return appendByteArray(dst, rv)
		}
		return p.list(dst, rv)
	case reflect.Map:
		return p.goMap(dst, rv)
	}
	// Structs, funcs, channels, unsafe pointers: no Python counterpart.
	return fmt.Append(dst, rv.Interface())
}

// sequence formats a []any or Tuple.
func (p *printer) sequence(dst []byte, v any, elems []any, open, close byte, tuple bool) []byte {
	if len(elems) > 0 {
		if !p.enter(reflect.ValueOf(v), len(elems)) {
			return append(dst, open, '.', '.', '.', close)
		}
		defer p.leave()
	}
	dst = append(dst, open)
	for i, e := range elems {
		if i > 0 {
			dst = append(dst, ',', ' ')
		}
		dst = p.value(dst, e, true)
	}
	if tuple && len(elems) == 1 {
		dst = append(dst, ',')
	}
	return append(dst, close)
}

// list formats a slice or array of any element type but bytes.
func (p *printer) list(dst []byte, rv reflect.Value) []byte {
	n := rv.Len()
	if n > 0 && rv.Kind() == reflect.Slice {
		if !p.enter(rv, n) {
			return append(dst, "[...]"...)
		}
		defer p.leave()
	}
	dst = append(dst, '[')
	for i := range n {
		if i > 0 {
			dst = append(dst, ',', ' ')
		}
		dst = p.value(dst, rv.Index(i).Interface(), true)
	}
	return append(dst, ']')
}

// dict formats an ordered Dict.
func (p *printer) dict(dst []byte, v any, d Dict) []byte {
	if len(d) > 0 {
		if !p.enter(reflect.ValueOf(v), len(d)) {
			return append(dst, "{...}"...)
		}
		defer p.leave()
	}
	dst = append(dst, '{')
	for i, it := range d {
		if i > 0 {
			dst = append(dst, ',', ' ')
		}
		dst = p.value(dst, it.Key, true)
		dst = append(dst, ':', ' ')
		dst = p.value(dst, it.Value, true)
	}
	return append(dst, '}')
}

// goMap formats a Go map as a dict with entries sorted by key repr, then
// value repr.
func (p *printer) goMap(dst []byte, rv reflect.Value) []byte {
	n := rv.Len()
	if n == 0 {
		return append(dst, '{', '}')
	}
	if !p.enter(rv, 0) {
		return append(dst, "{...}"...)
	}
	defer p.leave()

	// Entries are offsets into buf: key repr buf[k:v], value repr buf[v:end].
	type entry struct{ k, v, end int }
	entries := make([]entry, 0, n)
	var buf []byte
	for it := rv.MapRange(); it.Next(); {
		k := len(buf)
		buf = p.value(buf, it.Key().Interface(), true)
		v := len(buf)
		buf = p.value(buf, it.Value().Interface(), true)
		entries = append(entries, entry{k, v, len(buf)})
	}
	slices.SortFunc(entries, func(a, b entry) int {
		if c := bytes.Compare(buf[a.k:a.v], buf[b.k:b.v]); c != 0 {
			return c
		}
		return bytes.Compare(buf[a.v:a.end], buf[b.v:b.end])
	})
	dst = append(dst, '{')
	for i, e := range entries {
		if i > 0 {
			dst = append(dst, ',', ' ')
		}
		dst = append(dst, buf[e.k:e.v]...)
		dst = append(dst, ':', ' ')
		dst = append(dst, buf[e.v:e.end]...)
	}
	return append(dst, '}')
}

func appendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, "True"...)
	}
	return append(dst, "False"...)
}

// callString calls s.String, turning a panic into fmt's notation.
func callString(s fmt.Stringer) (out string) {
	defer func() {
		if r := recover(); r != nil {
			out = fmt.Sprintf("%%!v(PANIC=String method: %v)", r)
		}
	}()
	return s.String()
}

// callError calls e.Error, turning a panic into fmt's notation.
func callError(e error) (out string) {
	defer func() {
		if r := recover(); r != nil {
			out = fmt.Sprintf("%%!v(PANIC=Error method: %v)", r)
		}
	}()
	return e.Error()
}

// callFormatter calls f's method, turning a panic into fmt's notation.
func callFormatter(dst []byte, f Formatter, repr bool) (out []byte) {
	n := len(dst)
	defer func() {
		if r := recover(); r != nil {
			method := "AppendPyStr"
			if repr {
				method = "AppendPyRepr"
			}
			out = fmt.Appendf(dst[:n], "%%!v(PANIC=%s method: %v)", method, r)
		}
	}()
	if repr {
		return f.AppendPyRepr(dst)
	}
	return f.AppendPyStr(dst)
}
