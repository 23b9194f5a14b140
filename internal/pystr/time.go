package pystr

import (
	"strconv"
	"time"
)

// Date is a Python datetime.date. str() is "2020-01-02" and repr() is
// "datetime.date(2020, 1, 2)". The fields are not validated.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// Naive is a Python naive datetime (no tzinfo), as Django produces with
// USE_TZ = False. It uses the wall clock of the time.Time in that time's own
// location and never prints an offset: str(Naive(t)) is
// "2020-01-02 03:04:05" (plus ".ffffff" when the microsecond is not zero) and
// repr is "datetime.datetime(2020, 1, 2, 3, 4, 5)". A time.Time that is not
// wrapped in Naive is an aware datetime.
type Naive time.Time

func (d Date) appendStr(dst []byte) []byte {
	return appendYMD(dst, d.Year, int(d.Month), d.Day)
}

func (d Date) appendRepr(dst []byte) []byte {
	dst = append(dst, "datetime.date("...)
	dst = strconv.AppendInt(dst, int64(d.Year), 10)
	dst = append(dst, ',', ' ')
	dst = strconv.AppendInt(dst, int64(d.Month), 10)
	dst = append(dst, ',', ' ')
	dst = strconv.AppendInt(dst, int64(d.Day), 10)
	return append(dst, ')')
}

// appendYMD appends YYYY-MM-DD, the year with at least four digits.
func appendYMD(dst []byte, y, m, d int) []byte {
	dst = appendPadded(dst, y, 4)
	dst = append(dst, '-')
	dst = appendPadded(dst, m, 2)
	dst = append(dst, '-')
	return appendPadded(dst, d, 2)
}

// appendPadded appends n in decimal with at least width digits (after the
// minus sign, if any), like C's %0*d would for non-negative n.
func appendPadded(dst []byte, n, width int) []byte {
	if n < 0 {
		dst = append(dst, '-')
		n = -n
	}
	var buf [20]byte
	s := strconv.AppendUint(buf[:0], uint64(n), 10)
	for i := len(s); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

// appendDateTimeStr implements datetime.__str__ (isoformat with sep ' ').
func appendDateTimeStr(dst []byte, t time.Time, aware bool) []byte {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	us := t.Nanosecond() / 1000
	dst = appendYMD(dst, y, int(mo), d)
	dst = append(dst, ' ')
	dst = appendPadded(dst, h, 2)
	dst = append(dst, ':')
	dst = appendPadded(dst, mi, 2)
	dst = append(dst, ':')
	dst = appendPadded(dst, s, 2)
	if us != 0 {
		dst = append(dst, '.')
		dst = appendPadded(dst, us, 6)
	}
	if aware {
		_, off := t.Zone()
		dst = appendOffset(dst, off)
	}
	return dst
}

// appendOffset appends a UTC offset as datetime prints it: +HH:MM, or
// +HH:MM:SS when there are seconds.
func appendOffset(dst []byte, off int) []byte {
	if off < 0 {
		dst = append(dst, '-')
		off = -off
	} else {
		dst = append(dst, '+')
	}
	dst = appendPadded(dst, off/3600, 2)
	dst = append(dst, ':')
	dst = appendPadded(dst, off/60%60, 2)
	if off%60 != 0 {
		dst = append(dst, ':')
		dst = appendPadded(dst, off%60, 2)
	}
	return dst
}

// appendDateTimeRepr implements datetime.__repr__; an aware time gets a
// fixed-offset datetime.timezone.
func appendDateTimeRepr(dst []byte, t time.Time, aware bool) []byte {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	us := t.Nanosecond() / 1000
	dst = append(dst, "datetime.datetime("...)
	fields := [...]int{y, int(mo), d, h, mi, s, us}
	n := 5
	switch {
	case us != 0:
		n = 7
	case s != 0:
		n = 6
	}
	for i, f := range fields[:n] {
		if i > 0 {
			dst = append(dst, ',', ' ')
		}
		dst = strconv.AppendInt(dst, int64(f), 10)
	}
	if aware {
		_, off := t.Zone()
		dst = append(dst, ", tzinfo="...)
		dst = appendTimezoneRepr(dst, off)
	}
	return append(dst, ')')
}

// appendTimezoneRepr appends repr(datetime.timezone(timedelta(seconds=off))).
func appendTimezoneRepr(dst []byte, off int) []byte {
	if off == 0 {
		return append(dst, "datetime.timezone.utc"...)
	}
	// timedelta normalises to days (possibly negative) and 0 <= seconds < 86400.
	days, secs := off/86400, off%86400
	if secs < 0 {
		days--
		secs += 86400
	}
	dst = append(dst, "datetime.timezone(datetime.timedelta("...)
	if days != 0 {
		dst = append(dst, "days="...)
		dst = strconv.AppendInt(dst, int64(days), 10)
		if secs != 0 {
			dst = append(dst, ',', ' ')
		}
	}
	if secs != 0 {
		dst = append(dst, "seconds="...)
		dst = strconv.AppendInt(dst, int64(secs), 10)
	}
	return append(dst, ')', ')')
}
