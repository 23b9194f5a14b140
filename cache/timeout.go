package cache

import (
	"math"
	"time"
)

// Timeout is Django's timeout argument. Its zero value, DefaultTimeout,
// means "the cache's default timeout" (300 seconds unless configured).
//
//	DefaultTimeout      the cache's default (Django's DEFAULT_TIMEOUT sentinel)
//	Forever             never expires (Django's None)
//	Expired             stored already expired, so nothing is retrievable (Django's 0)
//	Seconds(-5)         negative: expired as well
//	Seconds(1.5)        positive seconds; fractions are kept where the backend can
//	Duration(time.Hour) the same from a time.Duration
//
// A positive Timeout value is a number of nanoseconds, so a time.Duration
// converts directly: Timeout(5 * time.Minute).
type Timeout int64

const (
	// DefaultTimeout selects the cache's default timeout.
	DefaultTimeout Timeout = 0
	// Forever stores a value that never expires (Django's timeout=None).
	Forever Timeout = math.MaxInt64
	// Expired stores a value that is already expired (Django's timeout=0):
	// Set with Expired stores nothing retrievable, Touch with Expired expires
	// the key.
	Expired Timeout = math.MinInt64
)

// Seconds returns the timeout for s seconds, as Django reads a number: 0 is
// Expired, a negative number is expired too, a positive one counts from now.
// Values beyond what a time.Duration holds (about 292 years) are Forever.
func Seconds(s float64) Timeout {
	switch {
	case s == 0 || math.IsNaN(s):
		return Expired
	case s >= float64(math.MaxInt64)/1e9:
		return Forever
	case s <= float64(math.MinInt64+1)/1e9:
		return Expired
	}
	t := Timeout(s * 1e9)
	if t == 0 { // below a nanosecond
		if s > 0 {
			return 1
		}
		return -1
	}
	return t
}

// Duration returns the timeout for d, read as Seconds would: zero is Expired.
func Duration(d time.Duration) Timeout {
	if d == 0 {
		return Expired
	}
	return Timeout(d)
}

// IsDefault reports whether t is DefaultTimeout.
func (t Timeout) IsDefault() bool { return t == DefaultTimeout }

// IsForever reports whether t never expires.
func (t Timeout) IsForever() bool { return t == Forever }

// IsExpired reports whether a value stored with t is expired at once
// (Django's 0 and negative timeouts).
func (t Timeout) IsExpired() bool { return t < 0 }

// Duration returns t as a time.Duration: negative when expired, and
// math.MaxInt64 for Forever. DefaultTimeout returns 0.
func (t Timeout) Duration() time.Duration {
	if t == Expired {
		return -time.Second
	}
	return time.Duration(t)
}

// Seconds returns t in seconds as a float64, with Expired as -1 (the
// relative expiry Django's base backend computes for 0) and Forever as +Inf.
func (t Timeout) Seconds() float64 {
	switch t {
	case Forever:
		return math.Inf(1)
	case Expired:
		return -1
	}
	return float64(t) / 1e9
}

// Deadline returns the absolute expiry of a value stored at now with timeout
// t, as Unix nanoseconds, the way Django's base backends compute it
// (now + timeout; Expired gives now - 1 s). never is true for Forever, and
// then deadline is math.MaxInt64. t must not be DefaultTimeout: a Cache
// resolves the default before calling its backend.
func (t Timeout) Deadline(now time.Time) (deadline int64, never bool) {
	if t == Forever {
		return math.MaxInt64, true
	}
	n := now.UnixNano()
	d := int64(t.Duration())
	if d > 0 && n > math.MaxInt64-d {
		return math.MaxInt64 - 1, false
	}
	if d < 0 && n < math.MinInt64-d {
		return math.MinInt64, false
	}
	return n + d, false
}

// String formats t for messages: "default", "forever", "expired" or a
// duration such as "1.5s".
func (t Timeout) String() string {
	switch {
	case t == DefaultTimeout:
		return "default"
	case t == Forever:
		return "forever"
	case t == Expired:
		return "expired"
	}
	return time.Duration(t).String()
}
