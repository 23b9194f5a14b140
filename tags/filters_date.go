package tags

import (
	"strconv"
	"strings"
	"time"

	"github.com/flosch/pongo2/v6"
)

// Django's date and time filters (django.utils.dateformat), which
// UseDjangoBuiltins installs in place of pongo2's (which take Go layouts):
// {{ t|date:"D, j M Y" }}, {{ t|date:"SHORT_DATE_FORMAT" }}, {{ t|time:"H:i" }}.
// A time.Time is formatted in its own location, as Django formats an aware
// datetime with USE_TZ off.

// namedFormats are Django's default (English) named formats.
var namedFormats = map[string]string{
	"DATE_FORMAT":           "N j, Y",
	"DATETIME_FORMAT":       "N j, Y, P",
	"TIME_FORMAT":           "P",
	"YEAR_MONTH_FORMAT":     "F Y",
	"MONTH_DAY_FORMAT":      "F j",
	"SHORT_DATE_FORMAT":     "m/d/Y",
	"SHORT_DATETIME_FORMAT": "m/d/Y P",
}

var (
	monthNames   = [...]string{"", "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	monthsAP     = [...]string{"", "Jan.", "Feb.", "March", "April", "May", "June", "July", "Aug.", "Sept.", "Oct.", "Nov.", "Dec."}
	weekdayNames = [...]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
)

// timeFormatChars are the codes of Django's TimeFormat; the time filter
// accepts only these.
const timeFormatChars = "aAefgGhHiOPsTuZ"

// dateFormatChars are all of DateFormat's codes.
const dateFormatChars = "aAbcdDeEfFgGhHiIjlLmMnNoOPrsStTUuwWyYzZ"

// djangoDateFormat formats t with Django's format codes; ok is false when
// a code is not allowed (timeOnly: the time filter's codes).
func djangoDateFormat(t time.Time, format string, timeOnly bool) (string, bool) {
	var b strings.Builder
	rs := []rune(format)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		if c == '\\' && i+1 < len(rs) {
			i++
			b.WriteRune(rs[i])
			continue
		}
		if c > 127 || !strings.ContainsRune(dateFormatChars, c) {
			b.WriteRune(c)
			continue
		}
		if timeOnly && !strings.ContainsRune(timeFormatChars, c) {
			return "", false
		}
		b.WriteString(dateCode(t, byte(c)))
	}
	return b.String(), true
}

func twoDigits(n int) string {
	if n < 10 && n >= 0 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

func hour12(t time.Time) int {
	if h := t.Hour() % 12; h != 0 {
		return h
	}
	return 12
}

// tzName is Python's tzname() of t's zone: the zone's abbreviation, or
// "UTC±HH:MM" for a fixed offset without a name, as Python names
// datetime.timezone offsets.
func tzName(t time.Time) string {
	name, off := t.Zone()
	if name != "" {
		return name
	}
	if off == 0 {
		return "UTC"
	}
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	s := "UTC" + sign + twoDigits(off/3600) + ":" + twoDigits(off/60%60)
	if off%60 != 0 {
		s += ":" + twoDigits(off%60)
	}
	return s
}

// offsetHHMM is Django's "O": +0200.
func offsetHHMM(t time.Time) string {
	_, off := t.Zone()
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	return sign + twoDigits(off/3600) + twoDigits(off/60%60)
}

// isoFormat is Python's datetime.isoformat() of an aware datetime.
func isoFormat(t time.Time) string {
	s := t.Format("2006-01-02T15:04:05")
	if us := t.Nanosecond() / 1000; us != 0 {
		s += "." + strconv.Itoa(1000000 + us)[1:]
	}
	_, off := t.Zone()
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	s += sign + twoDigits(off/3600) + ":" + twoDigits(off/60%60)
	if off%60 != 0 {
		s += ":" + twoDigits(off%60)
	}
	return s
}

func daysIn(year int, m time.Month) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// dateCode is one of Django's format codes.
func dateCode(t time.Time, c byte) string {
	switch c {
	case 'a':
		if t.Hour() > 11 {
			return "p.m."
		}
		return "a.m."
	case 'A':
		if t.Hour() > 11 {
			return "PM"
		}
		return "AM"
	case 'e', 'T':
		return tzName(t)
	case 'f':
		if t.Minute() == 0 {
			return strconv.Itoa(hour12(t))
		}
		return strconv.Itoa(hour12(t)) + ":" + twoDigits(t.Minute())
	case 'g':
		return strconv.Itoa(hour12(t))
	case 'G':
		return strconv.Itoa(t.Hour())
	case 'h':
		return twoDigits(hour12(t))
	case 'H':
		return twoDigits(t.Hour())
	case 'i':
		return twoDigits(t.Minute())
	case 'O':
		return offsetHHMM(t)
	case 'P':
		switch {
		case t.Minute() == 0 && t.Hour() == 0:
			return "midnight"
		case t.Minute() == 0 && t.Hour() == 12:
			return "noon"
		}
		return dateCode(t, 'f') + " " + dateCode(t, 'a')
	case 's':
		return twoDigits(t.Second())
	case 'u':
		return strconv.Itoa(1000000 + t.Nanosecond()/1000)[1:]
	case 'Z':
		_, off := t.Zone()
		return strconv.Itoa(off)
	case 'b':
		return strings.ToLower(monthNames[t.Month()][:3])
	case 'c':
		return isoFormat(t)
	case 'd':
		return twoDigits(t.Day())
	case 'D':
		return weekdayNames[t.Weekday()][:3]
	case 'E', 'F':
		return monthNames[t.Month()]
	case 'I':
		if t.IsDST() {
			return "1"
		}
		return "0"
	case 'j':
		return strconv.Itoa(t.Day())
	case 'l':
		return weekdayNames[t.Weekday()]
	case 'L':
		if isLeap(t.Year()) {
			return "True"
		}
		return "False"
	case 'm':
		return twoDigits(int(t.Month()))
	case 'M':
		return monthNames[t.Month()][:3]
	case 'n':
		return strconv.Itoa(int(t.Month()))
	case 'N':
		return monthsAP[t.Month()]
	case 'o':
		y, _ := t.ISOWeek()
		return strconv.Itoa(y)
	case 'r':
		return weekdayNames[t.Weekday()][:3] + ", " + twoDigits(t.Day()) + " " + monthNames[t.Month()][:3] + " " +
			strconv.Itoa(t.Year()) + " " + t.Format("15:04:05") + " " + offsetHHMM(t)
	case 'S':
		switch d := t.Day(); {
		case d == 11 || d == 12 || d == 13:
			return "th"
		case d%10 == 1:
			return "st"
		case d%10 == 2:
			return "nd"
		case d%10 == 3:
			return "rd"
		}
		return "th"
	case 't':
		return twoDigits(daysIn(t.Year(), t.Month()))
	case 'U':
		return strconv.FormatInt(t.Unix(), 10)
	case 'w':
		return strconv.Itoa(int(t.Weekday()))
	case 'W':
		_, w := t.ISOWeek()
		return strconv.Itoa(w)
	case 'y':
		return twoDigits(t.Year() % 100)
	case 'Y':
		y := strconv.Itoa(t.Year())
		for len(y) < 4 {
			y = "0" + y
		}
		return y
	case 'z':
		return strconv.Itoa(t.YearDay())
	}
	return ""
}

// timeOf returns the time.Time in v, if it holds one.
func timeOf(v *pongo2.Value) (time.Time, bool) {
	if v == nil || v.IsNil() {
		return time.Time{}, false
	}
	switch x := v.Interface().(type) {
	case time.Time:
		return x, true
	case *time.Time:
		if x != nil {
			return *x, true
		}
	}
	return time.Time{}, false
}

// formatArg resolves a format argument: a named format, the default, or
// the format itself.
func formatArg(param *pongo2.Value, def string) string {
	f := ""
	if param != nil && !param.IsNil() {
		f = param.String()
	}
	if f == "" {
		f = def
	}
	if named, ok := namedFormats[f]; ok {
		return named
	}
	return f
}

// filterDate is Django's date filter; a value that is not a time gives "".
func filterDate(in, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	t, ok := timeOf(in)
	if !ok {
		return pongo2.AsValue(""), nil
	}
	s, _ := djangoDateFormat(t, formatArg(param, "DATE_FORMAT"), false)
	return pongo2.AsValue(s), nil
}

// filterTime is Django's time filter: time codes only (a date code gives
// "", as in Django).
func filterTime(in, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	t, ok := timeOf(in)
	if !ok {
		return pongo2.AsValue(""), nil
	}
	s, ok := djangoDateFormat(t, formatArg(param, "TIME_FORMAT"), true)
	if !ok {
		return pongo2.AsValue(""), nil
	}
	return pongo2.AsValue(s), nil
}
