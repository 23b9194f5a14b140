package cache_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
)

func TestParseDjangoRelease(t *testing.T) {
	tests := []struct {
		in     string
		want   string
		scheme cache.KeyScheme
		page   cache.PageKeyVariant
	}{
		{"3.2.25-debian", "3.2.25-debian", cache.KeySchemeLegacy, cache.PageKeysConcatMarked},
		{"3.2", "3.2.25", cache.KeySchemeLegacy, cache.PageKeysConcat},
		{"3.2.19", "3.2.19", cache.KeySchemeLegacy, cache.PageKeysConcat},
		{"4.2", "4.2.28", cache.KeySchemeLegacy, cache.PageKeysConcat},
		{"4.2.28", "4.2.28", cache.KeySchemeLegacy, cache.PageKeysConcat},
		{"5.1", "5.1.14", cache.KeySchemeLegacy, cache.PageKeysConcat},
		{"5.2.18", "5.2.18", cache.KeySchemeLegacy, cache.PageKeysConcat},
		{"5.2.19", "5.2.19", cache.KeySchemeLegacy, cache.PageKeysConcatMarked},
		{"5.2", "5.2.19", cache.KeySchemeLegacy, cache.PageKeysConcatMarked},
		{"6.0.9", "6.0.9", cache.KeySchemeLegacy, cache.PageKeysConcat},
		{"6.0.10", "6.0.10", cache.KeySchemeLegacy, cache.PageKeysConcatMarked},
		{"6.0", "6.0.10", cache.KeySchemeLegacy, cache.PageKeysConcatMarked},
		{"6.1.0", "6.1.0", cache.KeySchemeDjango61, cache.PageKeysNetstringsEmptyAbsent},
		{"6.1.2", "6.1.2", cache.KeySchemeDjango61, cache.PageKeysNetstringsEmptyAbsent},
		{"6.1.3", "6.1.3", cache.KeySchemeDjango61, cache.PageKeysNetstrings},
		{"6.1", "6.1.3", cache.KeySchemeDjango61, cache.PageKeysNetstrings},
		{"6.2", "6.2.0", cache.KeySchemeDjango61, cache.PageKeysNetstrings},
		{"7.0.1", "7.0.1", cache.KeySchemeDjango61, cache.PageKeysNetstrings},
	}
	for _, tt := range tests {
		d, err := cache.ParseDjangoRelease(tt.in)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if d.String() != tt.want || d.KeyScheme() != tt.scheme || d.PageKeys() != tt.page {
			t.Errorf("%q = %s, %v, %v; want %s, %v, %v", tt.in, d, d.KeyScheme(), d.PageKeys(), tt.want, tt.scheme, tt.page)
		}
	}
	for _, bad := range []string{"", "6", "6.1.2.3", "3.1", "2.2.28", "x.y", "6.01", "6.1.-1", "5.2.19-debian", "3.2.24-debian", "6.1 "} {
		if d, err := cache.ParseDjangoRelease(bad); !errors.Is(err, cache.ErrInvalidOption) {
			t.Errorf("%q = %v, %v; want ErrInvalidOption", bad, d, err)
		}
	}
	var zero cache.DjangoRelease
	if !zero.IsZero() || zero.String() != "" || zero.KeyScheme() != cache.KeySchemeDjango61 || zero.PageKeys() != cache.PageKeysNetstrings {
		t.Errorf("zero release: %v %v %v", zero, zero.KeyScheme(), zero.PageKeys())
	}
}

func TestDjangoOption(t *testing.T) {
	r, err := backends.OpenRegistry(map[string]string{
		"default": "memory://",
		"old":     "memory://old?django=5.2.19",
		"bad":     "memory://bad",
	}, cache.WithDjango("6.1.1"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for alias, want := range map[string]string{"default": "6.1.1", "old": "5.2.19", "bad": "6.1.1"} {
		c, _ := r.Cache(alias)
		if c.Django().String() != want {
			t.Errorf("%s: Django() = %s, want %s (the URL's wins over the registry's option)", alias, c.Django(), want)
		}
	}
	old, _ := r.Cache("old")
	if old.KeyScheme() != cache.KeySchemeLegacy {
		t.Errorf("5.2.19: %v", old.KeyScheme())
	}
	c, err := backends.Open("memory://")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Django().IsZero() || c.KeyScheme() != cache.KeySchemeDjango61 {
		t.Errorf("no release: %v %v", c.Django(), c.KeyScheme())
	}
	c.Close()
	for _, url := range []string{"memory://?django=3.1", "memory://?django=x"} {
		if c, err := backends.Open(url); !errors.Is(err, cache.ErrInvalidOption) || !strings.Contains(err.Error(), "django") {
			if c != nil {
				c.Close()
			}
			t.Errorf("%s: %v", url, err)
		}
	}
	if _, err := backends.Open("memory://", cache.WithDjango("2.2")); !errors.Is(err, cache.ErrInvalidOption) {
		t.Errorf("WithDjango(2.2): %v", err)
	}
}
