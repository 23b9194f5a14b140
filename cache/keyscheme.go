package cache

import "fmt"

// KeyScheme selects how Django hashes the variable parts of a fragment key
// (and of a page-cache key). Keys must match those of the Django processes
// that share the cache, so the scheme is a compatibility switch.
type KeyScheme uint8

const (
	// KeySchemeDjango61 is the scheme of Django 6.1 and later: every hashed
	// value is written as a netstring, "len(bytes):data,". It is the default.
	KeySchemeDjango61 KeyScheme = iota
	// KeySchemeLegacy is the scheme of Django 3.2 up to 6.0: every hashed
	// value is followed by ":" (fragment keys) or concatenated as it is
	// (page keys).
	KeySchemeLegacy
)

// String returns "6.1" or "legacy", the names ParseKeyScheme accepts.
func (s KeyScheme) String() string {
	switch s {
	case KeySchemeDjango61:
		return "6.1"
	case KeySchemeLegacy:
		return "legacy"
	}
	return fmt.Sprintf("KeyScheme(%d)", uint8(s))
}

// ParseKeyScheme parses a scheme name: "6.1" (or "django6.1") and "legacy"
// (or "6.0", "django6.0"). Any other name is an error wrapping ErrInvalidOption.
func ParseKeyScheme(name string) (KeyScheme, error) {
	switch name {
	case "6.1", "django6.1", "":
		return KeySchemeDjango61, nil
	case "legacy", "6.0", "django6.0":
		return KeySchemeLegacy, nil
	}
	return 0, fmt.Errorf("%w: key scheme %q (want \"6.1\" or \"legacy\")", ErrInvalidOption, name)
}
