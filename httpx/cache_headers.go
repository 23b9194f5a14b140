package httpx

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fragcache/fragcache/internal/httpheader"
)

// DefaultCacheSeconds is Django's default CACHE_MIDDLEWARE_SECONDS, the
// timeout patch_response_headers uses when it is given None.
const DefaultCacheSeconds = 600

// Directive is one Cache-Control directive for PatchCacheControl: the Go
// form of one keyword argument of Django's patch_cache_control(response,
// **kwargs). Build it with Flag, Value, MaxAge or one of the named
// constructors (Public, Private, NoCache, …); the zero Directive (an empty
// name with an empty value, written "=") is of no use.
type Directive struct {
	name   string
	value  string
	bare   bool // Python True: the directive has no value
	minAge bool // Django's max_age kwarg: the minimum of old and new wins
}

// directiveName is Django's kwarg-name translation: "_" becomes "-"; the
// case is kept.
func directiveName(name string) string {
	if strings.IndexByte(name, '_') < 0 {
		return name
	}
	return strings.ReplaceAll(name, "_", "-")
}

// Flag returns a directive without a value, Django's name=True. Underscores
// in name become hyphens (Flag("no_store") is "no-store"); the case is kept.
// A flag named "no-cache" turns the whole no-cache directive into a bare
// "no-cache".
func Flag(name string) Directive {
	return Directive{name: directiveName(name), bare: true}
}

// Value returns a directive with a value, Django's name=value: it is written
// as name=value, verbatim (no quoting). Underscores in name become hyphens;
// the case is kept. Django's str() of a non-string value is the caller's to
// do: Value("custom", "False") is Django's custom=False. A value for
// "no-cache" adds a field name to the no-cache set. Value("max-age", …) is
// Django's **{"max-age": …}: it replaces an existing max-age instead of
// taking the minimum (see MaxAge).
func Value(name, value string) Directive {
	return Directive{name: directiveName(name), value: value}
}

// MaxAge returns "max-age=seconds", Django's max_age=seconds: when the
// header already has a max-age, the smaller of the two is kept.
func MaxAge(seconds int) Directive {
	return Directive{name: "max-age", value: strconv.Itoa(seconds), minAge: true}
}

// SMaxAge returns "s-maxage=seconds" (replacing an existing one).
func SMaxAge(seconds int) Directive { return Value("s-maxage", strconv.Itoa(seconds)) }

// StaleWhileRevalidate returns "stale-while-revalidate=seconds".
func StaleWhileRevalidate(seconds int) Directive {
	return Value("stale-while-revalidate", strconv.Itoa(seconds))
}

// StaleIfError returns "stale-if-error=seconds".
func StaleIfError(seconds int) Directive { return Value("stale-if-error", strconv.Itoa(seconds)) }

// Public returns "public". Given to PatchCacheControl, it removes an
// existing "private".
func Public() Directive { return Flag("public") }

// Private returns "private". Given to PatchCacheControl, it removes an
// existing "public".
func Private() Directive { return Flag("private") }

// NoCache returns a bare "no-cache", which replaces any no-cache field
// names.
func NoCache() Directive { return Flag("no-cache") }

// NoCacheField returns "no-cache=field" (Django's no_cache="field"). Field
// names accumulate: the header keeps one no-cache=… per distinct name, unless
// a bare no-cache is present.
func NoCacheField(field string) Directive { return Value("no-cache", field) }

// NoStore returns "no-store".
func NoStore() Directive { return Flag("no-store") }

// MustRevalidate returns "must-revalidate".
func MustRevalidate() Directive { return Flag("must-revalidate") }

// ProxyRevalidate returns "proxy-revalidate".
func ProxyRevalidate() Directive { return Flag("proxy-revalidate") }

// NoTransform returns "no-transform".
func NoTransform() Directive { return Flag("no-transform") }

// Immutable returns "immutable".
func Immutable() Directive { return Flag("immutable") }

// Name returns the directive name as it is written in the header.
func (d Directive) Name() string { return d.name }

// String returns the directive as written in a header: "name" or
// "name=value".
func (d Directive) String() string {
	if d.bare {
		return d.name
	}
	return d.name + "=" + d.value
}

// MaxAgeError is returned by PatchCacheControl (and the helpers using it)
// when a MaxAge directive meets an existing max-age that Python's int()
// cannot read; Django raises ValueError there. The header is left unchanged.
type MaxAgeError struct {
	// Value is the existing max-age value.
	Value string
}

// Error returns Django's ValueError message.
func (e *MaxAgeError) Error() string {
	return fmt.Sprintf("httpx: invalid literal for int() with base 10: %q", e.Value)
}

// ccEntry is one directive of the parsed header, in Django's ordered dict.
type ccEntry struct {
	name    string
	value   string
	bare    bool
	deleted bool
	// no-cache is a set of values; bare records True in the set.
	noCache bool
	set     []string
}

type ccMap []ccEntry

func (m ccMap) find(name string) int {
	for i := range m {
		if !m[i].deleted && m[i].name == name {
			return i
		}
	}
	return -1
}

// put is Django's cc[name] = value, or cc["no-cache"].add(value).
func (m ccMap) put(name, value string, bare bool) ccMap {
	i := m.find(name)
	if i < 0 {
		m = append(m, ccEntry{name: name, noCache: name == "no-cache"})
		i = len(m) - 1
	}
	e := &m[i]
	if !e.noCache {
		e.value, e.bare = value, bare
		return m
	}
	if bare {
		e.bare = true
		return m
	}
	for _, v := range e.set {
		if v == value {
			return m
		}
	}
	e.set = append(e.set, value)
	return m
}

// parseCacheControl splits an existing header into the ordered map, as
// Django 6.1: parts are split on commas and stripped, empty parts dropped,
// each part split on the first "="; the name is stripped and lowercased, the
// value kept verbatim, and a part without "=" is a bare directive.
func parseCacheControl(m ccMap, s string) ccMap {
	for part, i, ok := httpheader.NextPart(s, 0); ok; part, i, ok = httpheader.NextPart(s, i) {
		name, value, hasValue := strings.Cut(part, "=")
		m = m.put(httpheader.Lower(httpheader.Strip(name)), value, !hasValue)
	}
	return m
}

// String serialises the map as Django does: directives in order joined
// with ", "; the no-cache set gives a bare "no-cache" if True is in it, else
// one no-cache=<v> per value in insertion order.
func (m ccMap) String() string {
	var b strings.Builder
	for _, e := range m {
		if e.deleted {
			continue
		}
		switch {
		case e.noCache && e.bare:
			// True takes precedence over field names.
			sep(&b)
			b.WriteString(e.name)
		case e.noCache:
			for _, v := range e.set {
				sep(&b)
				b.WriteString(e.name)
				b.WriteByte('=')
				b.WriteString(v)
			}
		default:
			sep(&b)
			b.WriteString(e.name)
			if !e.bare {
				b.WriteByte('=')
				b.WriteString(e.value)
			}
		}
	}
	return b.String()
}

func sep(b *strings.Builder) {
	if b.Len() > 0 {
		b.WriteString(", ")
	}
}

// PatchCacheControl adds or updates Cache-Control directives as Django's
// patch_cache_control does:
//
//   - The existing header is parsed into an ordered set of directives
//     (names lowercased, values verbatim; several "no-cache=…" accumulate).
//   - A MaxAge directive meeting an existing max-age keeps the smaller of
//     the two (an existing value is read with Python's int(): "+0_30" is 30;
//     a bare "max-age" counts as 1; an unreadable one gives a *MaxAgeError
//     and leaves h unchanged).
//   - Public removes an existing private; otherwise Private removes an
//     existing public. Given together, both are kept.
//   - Each directive then replaces the one of the same name in place, or is
//     appended; "no-cache" values accumulate, and a bare no-cache wins.
//
// The header is rewritten as one line, the directives joined with ", "
// (existing ones first, in their order). With no directives and no header,
// Cache-Control is set to the empty string, as Django's @cache_control()
// does.
func PatchCacheControl(h http.Header, directives ...Directive) error {
	return patchCacheControl(h, directives, false)
}

// patchCacheControl is PatchCacheControl; lenient replaces an unreadable
// existing max-age with the new value instead of failing.
func patchCacheControl(h http.Header, ds []Directive, lenient bool) error {
	var buf [12]ccEntry
	m := ccMap(buf[:0])
	if v, _ := httpheader.ResponseHeader(h, httpheader.CacheControl); v != "" {
		m = parseCacheControl(m, v)
	}

	maxAge := "" // Django's kwargs["max_age"] after the min rule
	for _, d := range ds {
		if !d.minAge {
			continue
		}
		maxAge = d.value
		i := m.find("max-age")
		if i < 0 {
			continue
		}
		old := "1" // int(True): a bare max-age
		if !m[i].bare {
			old = m[i].value
		}
		neg, mag, ok := pyInt(old)
		if !ok {
			if lenient {
				continue
			}
			return &MaxAgeError{Value: old}
		}
		if lessThan(neg, mag, d.value) {
			maxAge = mag
			if neg {
				maxAge = "-" + mag
			}
		}
	}

	// Allow overriding private caching and vice versa.
	if i := m.find("private"); i >= 0 && hasDirective(ds, "public") {
		m[i].deleted = true
	} else if i := m.find("public"); i >= 0 && hasDirective(ds, "private") {
		m[i].deleted = true
	}

	for _, d := range ds {
		v := d.value
		if d.minAge {
			v = maxAge
		}
		m = m.put(d.name, v, d.bare)
	}
	h[httpheader.CacheControl] = []string{m.String()}
	return nil
}

func hasDirective(ds []Directive, name string) bool {
	for _, d := range ds {
		if d.name == name {
			return true
		}
	}
	return false
}

// pyInt reads s as Python's int(s) does: surrounding whitespace, an
// optional sign, ASCII httpheader.Digits with single underscores between them. It
// returns the sign and the magnitude without leading zeros or underscores.
func pyInt(s string) (neg bool, mag string, ok bool) {
	i, j := 0, len(s)
	for i < j && httpheader.IsIntSpace(s[i]) {
		i++
	}
	for j > i && httpheader.IsIntSpace(s[j-1]) {
		j--
	}
	s = s[i:j]
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" {
		return false, "", false
	}
	clean := true
	for k := 0; k < len(s); k++ {
		switch {
		case httpheader.IsDigit(s[k]):
		case s[k] == '_' && k > 0 && k < len(s)-1 && httpheader.IsDigit(s[k-1]) && httpheader.IsDigit(s[k+1]):
			clean = false
		default:
			return false, "", false
		}
	}
	if !clean {
		s = strings.ReplaceAll(s, "_", "")
	}
	s = strings.TrimLeft(s, "0")
	if s == "" {
		return false, "0", true
	}
	return neg, s, true
}

// lessThan reports whether the integer (neg, mag) is smaller than the
// decimal integer n (as produced by strconv.Itoa).
func lessThan(neg bool, mag, n string) bool {
	if len(mag) <= 18 {
		a, _ := strconv.ParseInt(mag, 10, 64)
		if neg {
			a = -a
		}
		b, _ := strconv.ParseInt(n, 10, 64)
		return a < b
	}
	// A magnitude of 19 httpheader.Digits or more: compare the decimal strings.
	nneg := strings.HasPrefix(n, "-")
	nmag := strings.TrimPrefix(n, "-")
	if neg != nneg {
		return neg
	}
	c := len(mag) - len(nmag)
	if c == 0 {
		c = strings.Compare(mag, nmag)
	}
	if neg {
		return c > 0
	}
	return c < 0
}

// GetMaxAge returns the max-age of the Cache-Control header as Django's
// get_max_age does: ok is false without the header or when the last
// max-age cannot be read by Python's int() ("max-age=\"10\"", "max-age=").
// A bare "max-age" gives 1 (int(True)). Values beyond the range of int are
// clamped to it.
func GetMaxAge(h http.Header) (seconds int, ok bool) {
	v, present := httpheader.ResponseHeader(h, httpheader.CacheControl)
	if !present {
		return 0, false
	}
	found, val, bare := false, "", false
	for part, i, more := httpheader.NextPart(v, 0); more; part, i, more = httpheader.NextPart(v, i) {
		name, value, hasValue := strings.Cut(part, "=")
		if httpheader.LowerEqual(httpheader.Strip(name), "max-age") {
			found, val, bare = true, value, !hasValue
		}
	}
	switch {
	case !found:
		return 0, false
	case bare:
		return 1, true
	}
	neg, mag, ok := pyInt(val)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(mag, 10, 64)
	if err != nil || int64(int(n)) != n {
		if neg {
			return minInt, true
		}
		return maxInt, true
	}
	if neg {
		n = -n
	}
	return int(n), true
}

const (
	maxInt = int(^uint(0) >> 1)
	minInt = -maxInt - 1
)

// maxHTTPDateUnix is 9999-12-31 23:59:59 UTC, the last time Python's
// http_date can format.
const (
	maxHTTPDateUnix = 253402300799
	minHTTPDateUnix = -62135596800
)

// ExpiresRangeError is returned when the Expires date to set is outside the
// years 1–9999, where Django's http_date raises ValueError.
type ExpiresRangeError struct {
	// Seconds is the cache timeout that was asked for.
	Seconds int
}

// Error describes the failure.
func (e *ExpiresRangeError) Error() string {
	return fmt.Sprintf("httpx: Expires for a %d second timeout is out of range", e.Seconds)
}

// PatchResponseHeaders is PatchResponseHeadersAt at time.Now.
func PatchResponseHeaders(h http.Header, seconds int) error {
	return PatchResponseHeadersAt(h, seconds, time.Now())
}

// PatchResponseHeadersAt does what Django's patch_response_headers does at
// time now: a negative timeout counts as 0; if there is no Expires header it
// is set to now + seconds (an HTTPDate); then PatchCacheControl(h,
// MaxAge(seconds)), so an existing smaller max-age is kept. Django's
// default timeout (None) is DefaultCacheSeconds.
//
// As in Django, an unreadable existing max-age makes the Cache-Control step
// fail (*MaxAgeError) after Expires was set. A timeout that puts Expires
// outside the years 1–9999 gives *ExpiresRangeError and changes nothing.
func PatchResponseHeadersAt(h http.Header, seconds int, now time.Time) error {
	return patchResponseHeaders(h, seconds, now, false)
}

func patchResponseHeaders(h http.Header, seconds int, now time.Time, lenient bool) error {
	if seconds < 0 {
		seconds = 0
	}
	if _, ok := h[httpheader.Expires]; !ok {
		t := now.Unix()
		if t < minHTTPDateUnix || t > maxHTTPDateUnix || int64(seconds) > maxHTTPDateUnix-t {
			return &ExpiresRangeError{Seconds: seconds}
		}
		h[httpheader.Expires] = []string{HTTPDate(time.Unix(t+int64(seconds), 0))}
	}
	return patchCacheControl(h, []Directive{MaxAge(seconds)}, lenient)
}

// AddNeverCacheHeaders is AddNeverCacheHeadersAt at time.Now.
func AddNeverCacheHeaders(h http.Header) error {
	return AddNeverCacheHeadersAt(h, time.Now())
}

// AddNeverCacheHeadersAt does what Django's add_never_cache_headers does:
// PatchResponseHeadersAt(h, -1, now) (Expires = now unless already set,
// max-age=0), then PatchCacheControl(h, NoCache(), NoStore(),
// MustRevalidate(), Private()). On an empty header this gives
// "Cache-Control: max-age=0, no-cache, no-store, must-revalidate, private";
// a "public" is removed. The error is that of PatchResponseHeadersAt.
func AddNeverCacheHeadersAt(h http.Header, now time.Time) error {
	return addNeverCacheHeaders(h, now, false)
}

func addNeverCacheHeaders(h http.Header, now time.Time, lenient bool) error {
	if err := patchResponseHeaders(h, -1, now, lenient); err != nil {
		return err
	}
	return patchCacheControl(h, []Directive{NoCache(), NoStore(), MustRevalidate(), Private()}, lenient)
}
