package httpx

import (
	"fmt"
	"net/http"
	"time"

	"github.com/fragcache/fragcache/internal/httpheader"
)

// HTTPDate formats t as an HTTP date, like Django's http_date
// (email.utils.formatdate with usegmt=True): "Tue, 14 Nov 2023 22:13:20 GMT",
// always in UTC, with fractional seconds truncated. Django refuses years
// outside 1–9999; HTTPDate formats them as Go does.
func HTTPDate(t time.Time) string {
	return t.UTC().Format(http.TimeFormat)
}

// HTTPDateError is the error ParseHTTPDate returns.
type HTTPDateError struct {
	// Value is the input that failed.
	Value string
	// BadFormat is true when Value matches none of the three HTTP date
	// formats, false when it matches one but is not a real date (a day 32,
	// a month "Foo", an hour 24, year 0000…).
	BadFormat bool
}

// Error returns Django's ValueError message.
func (e *HTTPDateError) Error() string {
	if e.BadFormat {
		return fmt.Sprintf("httpx: %q is not in a valid HTTP date format", e.Value)
	}
	return fmt.Sprintf("httpx: %q is not a valid date", e.Value)
}

// ParseHTTPDate parses an HTTP date as Django's parse_http_date does,
// taking the current time for the century of two-digit years from
// time.Now. See ParseHTTPDateAt.
func ParseHTTPDate(s string) (time.Time, error) {
	return ParseHTTPDateAt(s, time.Now())
}

// ParseHTTPDateSafe is ParseHTTPDate that reports failure with ok = false,
// like Django's parse_http_date_safe returning None. It does not allocate.
func ParseHTTPDateSafe(s string) (t time.Time, ok bool) {
	sec, res := httpheader.ParseDate(s, time.Now())
	if res != httpheader.DateOK {
		return time.Time{}, false
	}
	return time.Unix(sec, 0).UTC(), true
}

// ParseHTTPDateAt parses an HTTP date as Django's parse_http_date does, and
// returns it in UTC. Exactly three formats are accepted:
//
//	Sun, 06 Nov 1994 08:49:37 GMT   (RFC 1123)
//	Sunday, 06-Nov-94 08:49:37 GMT  (RFC 850)
//	Sun Nov  6 08:49:37 1994        (asctime)
//
// The weekday is not checked (any 3 – or, in RFC 850, 6 to 9 – word
// characters), the month name is case-insensitive, the day has two httpheader.Digits
// (the asctime day may start with a space), and the zone must be "GMT". One
// trailing "\n" is tolerated, as Python's "$" does. A two-digit year is put
// in now's century, or in the previous one if that would be more than 50
// years ahead of now's two-digit year. The error is an *HTTPDateError.
func ParseHTTPDateAt(s string, now time.Time) (time.Time, error) {
	sec, res := httpheader.ParseDate(s, now)
	if res != httpheader.DateOK {
		return time.Time{}, &HTTPDateError{Value: s, BadFormat: res == httpheader.DateBadFormat}
	}
	return time.Unix(sec, 0).UTC(), nil
}
