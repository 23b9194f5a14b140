package db_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/cachetest"
	"github.com/fragcache/fragcache/cache/db"
)

var bg = context.Background()

// newSQLite opens a backend over a new SQLite file in a temporary
// directory, with the cache table created.
func newSQLite(t testing.TB, o db.Options) *db.Backend {
	t.Helper()
	if o.Table == "" {
		o.Table = "my_cache_table"
	}
	b, err := db.OpenSQLite(bg, db.SQLiteOptions{Options: o, Path: filepath.Join(t.TempDir(), "cache.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if err := b.CreateTable(bg); err != nil {
		t.Fatal(err)
	}
	return b
}

// runConformance runs the shared suite on the backends newBackend opens:
// Django's database cache semantics (alive at the exact deadline, culling
// by key order, Incr a get and a set), with an atomic Add; noNUL for a
// database whose text cannot hold a NUL (PostgreSQL).
func runConformance(t *testing.T, newBackend func(testing.TB, db.Options) *db.Backend, noNUL bool) {
	newCache := func(t testing.TB, o db.Options, opts []cache.Option) *cache.Cache {
		t.Helper()
		c, err := cache.New(newBackend(t, o), opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	cachetest.Run(t, cachetest.Harness{
		New: func(t testing.TB, now func() time.Time, opts ...cache.Option) *cache.Cache {
			return newCache(t, db.Options{Now: now}, opts)
		},
		NewCulling: func(t testing.TB, now func() time.Time, maxEntries, cullFrequency int, opts ...cache.Option) *cache.Cache {
			o := db.Options{Now: now, MaxEntries: maxEntries, CullFrequency: cullFrequency}
			if cullFrequency == 0 {
				o.CullFrequency = db.CullAll
			}
			return newCache(t, o, opts)
		},
		Clock:     true,
		AtomicAdd: true,
		Leases:    true,
		Semantics: cachetest.Semantics{
			Deadline:     cachetest.AliveAtDeadline,
			IncrMissing:  cachetest.RawKey,
			IncrExpiry:   cachetest.IncrResetsExpiry,
			CullOverMax:  true,
			MaxKeyLength: db.MaxKeyLength,
			NoNULKeys:    noNUL,
		},
	})
}

// TestConformance runs the shared suite on a temporary SQLite file.
func TestConformance(t *testing.T) { runConformance(t, newSQLite, false) }
