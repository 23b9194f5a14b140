package httpheader

import (
	"time"
)

// ParseDateOK is parse_http_date_safe as Django's epoch integer.
func ParseDateOK(s string, now time.Time) (int64, bool) {
	sec, res := ParseDate(s, now)
	return sec, res == DateOK
}

type DateResult uint8

const (
	DateOK DateResult = iota
	DateBadFormat
	DateBadValue
)

// ParseDate matches Django's RFC1123_DATE, RFC850_DATE and ASCTIME_DATE
// regular expressions in that order, on s read as ISO-8859-1 text.
func ParseDate(s string, now time.Time) (int64, DateResult) {
	// Python's "$" also matches before a final newline.
	if n := len(s); n > 0 && s[n-1] == '\n' {
		s = s[:n-1]
	}
	var day, mon, year, hms string
	switch {
	case len(s) == 29 && words(s[:3]) && s[3:5] == ", " && Digits(s[5:7]) && s[7] == ' ' &&
		words(s[8:11]) && s[11] == ' ' && Digits(s[12:16]) && s[16] == ' ' && s[25:] == " GMT":
		// ^\w{3}, DD Mon YYYY HH:MM:SS GMT$
		day, mon, year, hms = s[5:7], s[8:11], s[12:16], s[17:25]
	case rfc850(s):
		// ^\w{6,9}, DD-Mon-YY HH:MM:SS GMT$
		r := s[len(s)-rfc850Tail:]
		day, mon, year, hms = r[2:4], r[5:8], r[9:11], r[12:20]
	case len(s) == 24 && words(s[:3]) && s[3] == ' ' && words(s[4:7]) && s[7] == ' ' &&
		(s[8] == ' ' || IsDigit(s[8])) && IsDigit(s[9]) && s[10] == ' ' && s[19] == ' ' && Digits(s[20:24]):
		// ^\w{3} Mon D? HH:MM:SS YYYY$
		day, mon, year, hms = s[8:10], s[4:7], s[20:24], s[11:19]
	default:
		return 0, DateBadFormat
	}
	if !(Digits(hms[0:2]) && hms[2] == ':' && Digits(hms[3:5]) && hms[5] == ':' && Digits(hms[6:8])) {
		return 0, DateBadFormat
	}

	y := atoi(year)
	if len(year) == 2 {
		cur := now.UTC().Year()
		century := cur - cur%100
		if y-cur%100 > 50 {
			y += century - 100
		} else {
			y += century
		}
	}
	m := month(mon)
	d := atoi(day)
	hh, mm, ss := atoi(hms[0:2]), atoi(hms[3:5]), atoi(hms[6:8])
	if m == 0 || y < 1 || y > 9999 || d < 1 || d > daysIn(time.Month(m), y) || hh > 23 || mm > 59 || ss > 59 {
		return 0, DateBadValue
	}
	return time.Date(y, time.Month(m), d, hh, mm, ss, 0, time.UTC).Unix(), DateOK
}

// rfc850Tail is the length of ", 06-Nov-94 08:49:37 GMT".
const rfc850Tail = 24

// rfc850 checks ^\w{6,9}, DD-Mon-YY HH:MM:SS GMT$ (the time is checked by the
// caller).
func rfc850(s string) bool {
	n := len(s) - rfc850Tail
	if n < 6 || n > 9 || !words(s[:n]) {
		return false
	}
	r := s[n:]
	return r[:2] == ", " && Digits(r[2:4]) && r[4] == '-' && words(r[5:8]) && r[8] == '-' &&
		Digits(r[9:11]) && r[11] == ' ' && r[20:] == " GMT"
}

func IsDigit(b byte) bool { return '0' <= b && b <= '9' }

func Digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !IsDigit(s[i]) {
			return false
		}
	}
	return true
}

func words(s string) bool {
	for i := 0; i < len(s); i++ {
		if !IsWordByte(s[i]) {
			return false
		}
	}
	return true
}

// atoi converts checked Digits; a leading space (asctime day) counts as 0.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' {
			n = n*10 + int(s[i]-'0')
		}
	}
	return n
}

// month returns 1–12 for a case-insensitive English month abbreviation,
// else 0.
func month(s string) int {
	if len(s) != 3 {
		return 0
	}
	var b [3]byte
	for i := range b {
		b[i] = LowerByte(s[i])
	}
	switch string(b[:]) {
	case "jan":
		return 1
	case "feb":
		return 2
	case "mar":
		return 3
	case "apr":
		return 4
	case "may":
		return 5
	case "jun":
		return 6
	case "jul":
		return 7
	case "aug":
		return 8
	case "sep":
		return 9
	case "oct":
		return 10
	case "nov":
		return 11
	case "dec":
		return 12
	}
	return 0
}

func daysIn(m time.Month, year int) int {
	switch m {
	case time.February:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}
