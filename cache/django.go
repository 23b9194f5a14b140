package cache

import (
	"fmt"
	"strconv"
	"strings"
)

// DjangoRelease is the Django release that shares a cache with Go
// processes. Everything that must match that release follows from it: the
// fragment key scheme (KeyScheme), how page keys hash the values of the
// Vary-listed headers (PageKeys), and whether values are written in
// Django's format. The zero value is no release: fragcache's defaults,
// which match Django 6.1.3 and later.
//
// Page keys differ by patch level (the fix for CVE-2026-113593 changed how an
// absent Vary-listed header is hashed, and only in some branches), so a
// release is named to the patch: "4.2.28", "5.2.19", "6.1.2", or
// "3.2.25-debian" for Debian 12's python3-django, which carries the fix.
// "X.Y" alone means the newest X.Y release (NewestDjango).
type DjangoRelease struct {
	Major, Minor, Patch int
	// Debian is set for Debian's patched 3.2 package ("3.2.25-debian").
	Debian bool
}

// NewestDjango is the newest patch release of each Django series that
// fragcache knows; "X.Y" alone in ParseDjangoRelease means it. A series not
// listed (a newer one) counts as X.Y.0 with the newest behaviour.
var NewestDjango = map[string]int{
	"3.2": 25, "4.0": 10, "4.1": 13, "4.2": 28, "5.0": 14, "5.1": 14, "5.2": 19, "6.0": 10, "6.1": 3,
}

// ParseDjangoRelease parses a Django release: "MAJOR.MINOR[.PATCH][-debian]".
// Releases before 3.2 are refused (fragcache shares caches with 3.2 and
// newer), and so is "-debian" on anything but 3.2.25 and later. Errors wrap
// ErrInvalidOption.
func ParseDjangoRelease(s string) (DjangoRelease, error) {
	bad := func(why string) (DjangoRelease, error) {
		return DjangoRelease{}, fmt.Errorf("%w: Django release %q: %s (want e.g. 5.2.19, 6.1 or 3.2.25-debian)", ErrInvalidOption, s, why)
	}
	v, debian := strings.CutSuffix(s, "-debian")
	parts := strings.Split(v, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return bad("not MAJOR.MINOR[.PATCH]")
	}
	var n [3]int
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil || x < 0 || p != strconv.Itoa(x) {
			return bad("not a number: " + strconv.Quote(p))
		}
		n[i] = x
	}
	d := DjangoRelease{Major: n[0], Minor: n[1], Patch: n[2], Debian: debian}
	if len(parts) == 2 {
		d.Patch = NewestDjango[fmt.Sprintf("%d.%d", d.Major, d.Minor)]
	}
	switch {
	case d.Major < 3 || d.Major == 3 && d.Minor < 2:
		return bad("releases before 3.2 are not supported")
	case debian && !(d.Major == 3 && d.Minor == 2 && d.Patch >= 25):
		return bad("-debian names Debian 12's patched 3.2.25")
	}
	return d, nil
}

// String returns the release as ParseDjangoRelease reads it ("" for the
// zero value).
func (d DjangoRelease) String() string {
	if d.Major == 0 {
		return ""
	}
	s := fmt.Sprintf("%d.%d.%d", d.Major, d.Minor, d.Patch)
	if d.Debian {
		s += "-debian"
	}
	return s
}

// IsZero reports whether d names no release.
func (d DjangoRelease) IsZero() bool { return d.Major == 0 }

// atLeast reports whether d is major.minor.patch or later.
func (d DjangoRelease) atLeast(major, minor, patch int) bool {
	if d.Major != major {
		return d.Major > major
	}
	if d.Minor != minor {
		return d.Minor > minor
	}
	return d.Patch >= patch
}

// KeyScheme is the fragment key scheme of the release: KeySchemeDjango61
// from 6.1 on (and for the zero value), KeySchemeLegacy before.
func (d DjangoRelease) KeyScheme() KeyScheme {
	if d.IsZero() || d.atLeast(6, 1, 0) {
		return KeySchemeDjango61
	}
	return KeySchemeLegacy
}

// PageKeyVariant is how a Django release hashes the values of the
// Vary-listed request headers into a page key (django.utils.cache.
// _generate_cache_key).
type PageKeyVariant uint8

const (
	// PageKeysNetstrings: each value as a netstring, an absent header as
	// "-," (6.1.3 and later; the default).
	PageKeysNetstrings PageKeyVariant = iota
	// PageKeysConcatMarked: values concatenated, an absent header as "-,"
	// (Debian's 3.2.25, 5.2.19 and later 5.2, 6.0.10 and later 6.0).
	PageKeysConcatMarked
	// PageKeysNetstringsEmptyAbsent: netstrings, an absent header hashed as
	// an empty value "0:," (6.1.0 to 6.1.2).
	PageKeysNetstringsEmptyAbsent
	// PageKeysConcat: values concatenated, an absent header hashed as
	// nothing, so that it collides with an empty one (upstream 3.2 to
	// 5.2.18, every 4.x, 6.0.0 to 6.0.9).
	PageKeysConcat
)

// String names the variant.
func (v PageKeyVariant) String() string {
	switch v {
	case PageKeysNetstrings:
		return "netstrings"
	case PageKeysConcatMarked:
		return "concatenated, absent as -,"
	case PageKeysNetstringsEmptyAbsent:
		return "netstrings, absent as empty"
	case PageKeysConcat:
		return "concatenated, absent as nothing"
	}
	return fmt.Sprintf("PageKeyVariant(%d)", uint8(v))
}

// PageKeys is the page-key variant of the release (PageKeysNetstrings for
// the zero value).
func (d DjangoRelease) PageKeys() PageKeyVariant {
	switch {
	case d.IsZero() || d.atLeast(6, 1, 3):
		return PageKeysNetstrings
	case d.atLeast(6, 1, 0):
		return PageKeysNetstringsEmptyAbsent
	case d.Major == 6 && d.Patch >= 10, d.Major == 5 && d.Minor == 2 && d.Patch >= 19, d.Debian:
		return PageKeysConcatMarked
	}
	return PageKeysConcat
}
