package db_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/db"
)

// BenchmarkGet8KiB is a hit of an 8 KiB value on a SQLite file through
// the URL's cache (fail-open), one caller: one prepared SELECT, base64
// and pickle decoding.
func BenchmarkGet8KiB(b *testing.B) {
	c, err := openURL("sqlite://" + filepath.Join(b.TempDir(), "bench.db") + "?table=my_cache_table")
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.Set(bg, "k", []byte(strings.Repeat("x", 8192)), cache.Forever); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := c.Get(bg, "k"); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkGet8KiBPostgres is BenchmarkGet8KiB on the package's real
// PostgreSQL server.
func BenchmarkGet8KiBPostgres(b *testing.B) {
	bk := newPostgres(b, db.Options{})
	c, err := cache.New(bk)
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Set(bg, "k", []byte(strings.Repeat("x", 8192)), cache.Forever); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := c.Get(bg, "k"); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}
