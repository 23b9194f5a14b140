package db_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/cache/db"
	"github.com/fragcache/fragcache/cache/failopen"
)

func TestURLErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.db")
	for _, tc := range []struct{ url, want string }{
		{"sqlite://" + path, "option table is required"},
		{"sqlite://" + path + "?table=", "option table is required"},
		{"sqlite://" + path + "?table=bad-name", `table="bad-name"`},
		{"sqlite://" + path + "?table=1abc", `table="1abc"`},
		{"sqlite://" + path + "?table=" + strings.Repeat("a", 64), "table="},
		{"sqlite://relative/c.db?table=t", "absolute path"},
		{"sqlite://" + path + "?table=t&bogus=1", `unknown option "bogus"`},
		{"sqlite://" + path + "?table=t&max_entries=0", "max_entries"},
		{"sqlite://" + path + "?table=t&cull_frequency=-1", "cull_frequency"},
		{"sqlite://" + path + "?table=t&use_tz=maybe", "use_tz"},
		{"sqlite://" + path + "?table=t&busy_timeout=0", "busy_timeout"},
		{"sqlite://" + path + "?table=t&journal_mode=delete", "journal_mode"},
	} {
		c, err := db.Open(tc.url)
		if err == nil {
			c.Close()
			t.Errorf("Open(%q) succeeded, want an error containing %q", tc.url, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !errors.Is(err, cache.ErrInvalidOption) {
			t.Errorf("Open(%q) = %v, want ErrInvalidOption containing %q", tc.url, err, tc.want)
		}
	}
}

// TestSchemes: sqlite:// is not a built-in scheme; db.With and
// db.OpenRegistry add it, wrapped in fail-open unless failopen=0.
func TestSchemes(t *testing.T) {
	if _, ok := backends.Schemes()["sqlite"]; ok {
		t.Fatal("backends.Schemes has sqlite: every program would link the driver")
	}
	if _, ok := db.With(backends.Schemes())["memory"]; !ok {
		t.Fatal("db.With dropped the built-in schemes")
	}
	path := filepath.Join(t.TempDir(), "c.db")
	reg, err := db.OpenRegistry(map[string]string{
		"default":            "memory://",
		"template_fragments": "sqlite://" + path + "?table=my_cache_table&timeout=60&key_prefix=p&max_entries=10&cull_frequency=0&use_tz=0&busy_timeout=2s",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	frags, err := reg.Fragments()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cache.As[failopen.Wrapper](frags.Backend()); !ok {
		t.Errorf("sqlite:// backend %T is not wrapped in fail-open", frags.Backend())
	}
	b, ok := cache.As[*db.Backend](frags.Backend())
	if !ok {
		t.Fatalf("no *db.Backend in %T", frags.Backend())
	}
	if err := b.CreateTable(bg); err != nil {
		t.Fatal(err)
	}
	if err := frags.Set(bg, "k", []byte("v"), cache.DefaultTimeout); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := frags.Get(bg, "k"); err != nil || !ok || string(v) != "v" {
		t.Fatalf("Get = %q, %v, %v", v, ok, err)
	}
	var key string
	if err := b.DB().QueryRow(`SELECT cache_key FROM my_cache_table`).Scan(&key); err != nil || key != "p:1:k" {
		t.Errorf("cache_key = %q, %v; want p:1:k", key, err)
	}
	c, err := cache.Open("sqlite://"+path+"?table=my_cache_table&failopen=0", db.Schemes())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.Backend().(*db.Backend); !ok {
		t.Errorf("failopen=0: backend %T, want *db.Backend", c.Backend())
	}
}

// TestWAL: a file the opener creates is switched to WAL; an existing one
// keeps its journal mode unless journal_mode=wal.
func TestWAL(t *testing.T) {
	dir := t.TempDir()
	mode := func(url string) string {
		t.Helper()
		c, err := cache.Open(url, db.Schemes())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		b, _ := cache.As[*db.Backend](c.Backend())
		var m string
		if err := b.DB().QueryRow("PRAGMA journal_mode").Scan(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	created := filepath.Join(dir, "new.db")
	if m := mode("sqlite://" + created + "?table=t"); m != "wal" {
		t.Errorf("created file: journal_mode %q, want wal", m)
	}
	existing := filepath.Join(dir, "old.db")
	if err := os.WriteFile(existing, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if m := mode("sqlite://" + existing + "?table=t"); m != "delete" {
		t.Errorf("existing file: journal_mode %q, want delete (left alone)", m)
	}
	if m := mode("sqlite://" + existing + "?table=t&journal_mode=wal"); m != "wal" {
		t.Errorf("journal_mode=wal: %q, want wal", m)
	}
}
