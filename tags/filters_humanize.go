package tags

import (
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/internal/pystr"
)

// django.contrib.humanize's filters ({% load humanize %}), in English, and
// Django's timesince/timeuntil, installed by UseDjangoBuiltins.

// djangoBuiltinsInstalled is set once UseDjangoBuiltins has run; {% load
// humanize %} requires it, since the humanize filters exist only then.
var djangoBuiltinsInstalled atomic.Bool

// humanizeFilters are django.contrib.humanize's filters.
var humanizeFilters = map[string]pongo2.FilterFunction{
	"intcomma":    isSafeFilter(filterIntcomma),
	"intword":     filterIntword,
	"apnumber":    isSafeFilter(filterApnumber),
	"ordinal":     isSafeFilter(filterOrdinal),
	"naturalday":  filterNaturalday,
	"naturaltime": filterNaturaltime,
}

// pyIntOf is Python's int(value) for the humanize filters: integers,
// floats (truncated), bools and strings of an integer; ok is false when
// Python's int() would fail.
func pyIntOf(v *pongo2.Value) (*big.Int, bool) {
	if v == nil || v.IsNil() {
		return nil, false
	}
	switch x := v.Interface().(type) {
	case bool:
		if x {
			return big.NewInt(1), true
		}
		return big.NewInt(0), true
	case *big.Int:
		return x, x != nil
	}
	switch {
	case v.IsInteger():
		if u, ok := v.Interface().(uint64); ok {
			return new(big.Int).SetUint64(u), true
		}
		return big.NewInt(int64(v.Integer())), true
	case v.IsFloat():
		f := v.Float()
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, false
		}
		n, _ := big.NewFloat(math.Trunc(f)).Int(nil)
		return n, true
	case v.IsString():
		s := strings.TrimSpace(strings.ReplaceAll(v.String(), "_", ""))
		n, ok := new(big.Int).SetString(s, 10)
		return n, ok
	}
	return nil, false
}

var reLeadingInt = regexp.MustCompile(`^-?\d+`)

// groupThousands inserts commas in the leading integer of s, as
// intcomma's fallback does.
func groupThousands(s string) string {
	m := reLeadingInt.FindString(s)
	if m == "" {
		return s
	}
	digits, sign := m, ""
	if digits[0] == '-' {
		sign, digits = "-", digits[1:]
	}
	var b strings.Builder
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return sign + b.String() + s[len(m):]
}

// filterIntcomma is humanize's intcomma: 45000 → "45,000", 1234.5 →
// "1,234.5" (a float as Python's str writes it).
func filterIntcomma(in, _ *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	if in == nil || in.IsNil() {
		return pongo2.AsValue("None"), nil
	}
	if in.IsFloat() {
		return keepSafety(in, groupThousands(positional(pystr.Str(in.Float())))), nil
	}
	if n, ok := pyIntOf(in); ok {
		return keepSafety(in, groupThousands(n.String())), nil
	}
	return keepSafety(in, groupThousands(in.String())), nil
}

var intwordUnits = []struct {
	exp  int
	name string
}{
	{6, "million"}, {9, "billion"}, {12, "trillion"}, {15, "quadrillion"}, {18, "quintillion"},
	{21, "sextillion"}, {24, "septillion"}, {27, "octillion"}, {30, "nonillion"}, {33, "decillion"}, {100, "googol"},
}

// filterIntword is humanize's intword: 1200000 → "1.2 million"; values
// under a million are returned as they are.
func filterIntword(in, _ *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	n, ok := pyIntOf(in)
	if !ok {
		return in, nil
	}
	abs := new(big.Int).Abs(n)
	if abs.Cmp(big.NewInt(1000000)) < 0 {
		return pongo2.AsValue(n.String()), nil
	}
	for _, u := range intwordUnits {
		large := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(u.exp)), nil)
		if abs.Cmp(new(big.Int).Mul(large, big.NewInt(1000))) < 0 {
			// floatformat(value / 10**exp, 1): the float quotient, rounded
			// half up at one decimal from its shortest repr.
			q, _ := new(big.Rat).SetFrac(n, large).Float64()
			return pongo2.AsValue(roundHalfUp(pystr.Str(q), 1) + " " + u.name), nil
		}
	}
	return pongo2.AsValue(n.String()), nil
}

// roundHalfUp rounds the decimal number s (Python's repr of a float) to
// places decimals, half away from zero, as Django's floatformat does with
// Decimal(repr(x)).quantize(…, ROUND_HALF_UP).
func roundHalfUp(s string, places int) string {
	f, ok := new(big.Float).SetPrec(200).SetString(s)
	if !ok {
		return s
	}
	r, _ := new(big.Rat).SetString(f.Text('f', 60))
	scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil))
	r.Mul(r, scale)
	neg := r.Sign() < 0
	r.Abs(r)
	r.Add(r, big.NewRat(1, 2))
	q := new(big.Int).Quo(r.Num(), r.Denom())
	digits := q.String()
	for len(digits) <= places {
		digits = "0" + digits
	}
	out := digits[:len(digits)-places]
	if places > 0 {
		out += "." + digits[len(digits)-places:]
	}
	if neg && strings.Trim(out, "0.") != "" {
		out = "-" + out
	}
	return out
}

var apWords = [...]string{"one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}

// filterApnumber is humanize's apnumber: 1 to 9 spelled out.
func filterApnumber(in, _ *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	n, ok := pyIntOf(in)
	if !ok {
		return in, nil
	}
	if n.Sign() <= 0 || n.Cmp(big.NewInt(10)) >= 0 {
		return pongo2.AsValue(n.String()), nil
	}
	return pongo2.AsValue(apWords[n.Int64()-1]), nil
}

// filterOrdinal is humanize's ordinal (Django 6.1: a negative number is
// returned as it is): 1st, 2nd, 3rd, 11th, 101st.
func filterOrdinal(in, _ *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	n, ok := pyIntOf(in)
	if !ok {
		return in, nil
	}
	s := n.String()
	if n.Sign() < 0 {
		return pongo2.AsSafeValue(s), nil
	}
	m100 := new(big.Int).Mod(n, big.NewInt(100)).Int64()
	suffix := "th"
	if m100 < 11 || m100 > 13 {
		switch m100 % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return pongo2.AsSafeValue(s + suffix), nil
}

// now is the clock of naturalday and naturaltime (a variable for tests).
var now = time.Now

// filterNaturalday is humanize's naturalday: "today", "tomorrow",
// "yesterday" (in the value's location), else the date filter with the
// argument.
func filterNaturalday(in, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	t, ok := timeOf(in)
	if !ok {
		return in, nil
	}
	ty, tm, td := now().In(t.Location()).Date()
	today := time.Date(ty, tm, td, 0, 0, 0, 0, time.UTC)
	y, m, d := t.Date()
	switch int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Sub(today).Hours() / 24) {
	case 0:
		return pongo2.AsValue("today"), nil
	case 1:
		return pongo2.AsValue("tomorrow"), nil
	case -1:
		return pongo2.AsValue("yesterday"), nil
	}
	return filterDate(in, param)
}

// plural returns one or many by the English rule.
func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// filterNaturaltime is humanize's naturaltime: "now", "30 seconds ago",
// "an hour from now", "2 days, 3 hours ago" (non-breaking spaces inside
// the units, as Django writes them).
func filterNaturaltime(in, _ *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	t, ok := timeOf(in)
	if !ok {
		return in, nil
	}
	n := now()
	past := t.Before(n)
	d := n.Sub(t)
	if !past {
		d = t.Sub(n)
	}
	secs := int64(d / time.Second)
	var s string
	switch {
	case secs >= 86400:
		if past {
			s = timesince(t, n, true) + " ago"
		} else {
			s = timesince(n, t, false) + " from now"
		}
	case secs == 0:
		s = "now"
	case secs < 60:
		s = plural(secs, "a second", strconv.FormatInt(secs, 10)+"\u00a0seconds")
	case secs/60 < 60:
		s = plural(secs/60, "a minute", strconv.FormatInt(secs/60, 10)+"\u00a0minutes")
	default:
		s = plural(secs/3600, "an hour", strconv.FormatInt(secs/3600, 10)+"\u00a0hours")
	}
	if secs > 0 && secs < 86400 {
		if past {
			s += " ago"
		} else {
			s += " from now"
		}
	}
	return pongo2.AsValue(s), nil
}

var timesinceChunks = []struct {
	seconds int64
	one     string
	many    string
}{
	{60 * 60 * 24 * 365, "year", "years"},
	{60 * 60 * 24 * 30, "month", "months"},
	{60 * 60 * 24 * 7, "week", "weeks"},
	{60 * 60 * 24, "day", "days"},
	{60 * 60, "hour", "hours"},
	{60, "minute", "minutes"},
}

// leapdays is Python's calendar.leapdays(y1, y2): leap years in [y1, y2).
func leapdays(y1, y2 int) int {
	y1--
	y2--
	return (y2/4 - y1/4) - (y2/100 - y1/100) + (y2/400 - y1/400)
}

// timesince is Django 3.2's django.utils.timesince.timesince(d, now) with
// depth 2: "2 weeks, 3 days", "0 minutes" when d is not before now.
func timesince(d, now time.Time, _ bool) string {
	delta := now.Sub(d)
	ld := leapdays(d.Year(), now.Year())
	if ld != 0 {
		if isLeap(d.Year()) {
			ld--
		} else if isLeap(now.Year()) {
			ld++
		}
	}
	delta -= time.Duration(ld) * 24 * time.Hour
	since := int64(delta / time.Second)
	if since <= 0 {
		return "0\u00a0minutes"
	}
	i := 0
	for i < len(timesinceChunks) && since/timesinceChunks[i].seconds == 0 {
		i++
	}
	if i == len(timesinceChunks) {
		return "0\u00a0minutes"
	}
	var parts []string
	for depth := 0; i < len(timesinceChunks) && depth < 2; i, depth = i+1, depth+1 {
		c := timesinceChunks[i]
		count := since / c.seconds
		if count == 0 {
			break
		}
		parts = append(parts, strconv.FormatInt(count, 10)+"\u00a0"+plural(count, c.one, c.many))
		since -= c.seconds * count
	}
	return strings.Join(parts, ", ")
}

// filterTimesince is Django's timesince: the time from the value to the
// argument (default now).
func filterTimesince(in, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	t, ok := timeOf(in)
	if !ok {
		return pongo2.AsValue(""), nil
	}
	ref := now()
	if r, ok := timeOf(param); ok {
		ref = r
	}
	return pongo2.AsValue(timesince(t, ref, false)), nil
}

// filterTimeuntil is Django's timeuntil: the time from the argument
// (default now) to the value.
func filterTimeuntil(in, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	t, ok := timeOf(in)
	if !ok {
		return pongo2.AsValue(""), nil
	}
	ref := now()
	if r, ok := timeOf(param); ok {
		ref = r
	}
	return pongo2.AsValue(timesince(ref, t, false)), nil
}

// positional writes Python's repr of a float in exponent form (1e+16,
// 1.5e-07) positionally, as Django's number formatting does through
// Decimal; other strings are returned as they are.
func positional(s string) string {
	mant, exp, ok := strings.Cut(s, "e")
	if !ok {
		return s
	}
	e, err := strconv.Atoi(exp)
	if err != nil {
		return s
	}
	sign := ""
	if strings.HasPrefix(mant, "-") {
		sign, mant = "-", mant[1:]
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := intPart + frac
	point := len(intPart) + e // position of the decimal point in digits
	switch {
	case point <= 0:
		return sign + "0." + strings.Repeat("0", -point) + digits
	case point >= len(digits):
		return sign + digits + strings.Repeat("0", point-len(digits))
	}
	return sign + digits[:point] + "." + digits[point:]
}
