package db_test

import (
	"encoding/base64"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/db"
)

func b64(p string) string { return base64.StdEncoding.EncodeToString([]byte(p)) }

// foreignValues are value columns that are not base64 of a pickle of plain
// data: garbage, pickles of other types, and pickles that would run code
// or build a class if unpickled by Python.
var foreignValues = map[string]string{
	"garbage":     "not base64 at all!",
	"notpickle":   b64("hello"),
	"truncated":   b64("\x80\x05\x95\x10"),
	"float":       b64("\x80\x05\x95\x0a\x00\x00\x00\x00\x00\x00\x00G?\xf8\x00\x00\x00\x00\x00\x00."),
	"none":        b64("\x80\x05N."),
	"system":      b64("cos\nsystem\n(S'touch /tmp/fragcache-pwned'\ntR."),
	"class":       b64("\x80\x05\x95\x1d\x00\x00\x00\x00\x00\x00\x00\x8c\x08__main__\x94\x8c\x03Foo\x94\x93\x94)\x81\x94."),
	"emptybase64": "",
}

// TestForeignValues: a value column that is not base64 of a pickle of
// plain data is an error naming the key, never a panic, never run.
func TestForeignValues(t *testing.T) {
	b := newSQLite(t, db.Options{})
	c, err := cache.New(b)
	if err != nil {
		t.Fatal(err)
	}
	for name, value := range foreignValues {
		if _, err := b.DB().Exec(`INSERT INTO my_cache_table VALUES (?, ?, '9999-12-31 23:59:59')`, ":1:"+name, value); err != nil {
			t.Fatal(err)
		}
		got, ok, err := c.Get(bg, name)
		var fe *db.ForeignValueError
		if !errors.Is(err, cache.ErrForeignValue) || !errors.As(err, &fe) || fe.Key != ":1:"+name || ok || got != nil {
			t.Errorf("%s: Get = %q, %v, %v; want a *ForeignValueError naming :1:%s", name, got, ok, err, name)
		}
		if _, err := c.GetMany(bg, []string{name}); !errors.Is(err, cache.ErrForeignValue) {
			t.Errorf("%s: GetMany = %v, want ErrForeignValue", name, err)
		}
	}
	// A bad expires is refused too.
	if _, err := b.DB().Exec(`INSERT INTO my_cache_table VALUES (':1:badexp', ?, 'tomorrow')`, b64("\x80\x05N.")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Get(bg, "badexp"); !errors.Is(err, cache.ErrForeignValue) {
		t.Errorf("bad expires: Get = %v, want ErrForeignValue", err)
	}
}

// TestWrongTable: a table with the wrong columns, or none, is an error
// naming the table; under fail-open, a miss.
func TestWrongTable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	b, err := db.OpenSQLite(bg, db.SQLiteOptions{Path: path, Options: db.Options{Table: "wrong"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, _, err := b.Get(bg, ":1:k"); !errors.Is(err, db.ErrNoTable) || !strings.Contains(err.Error(), `"wrong"`) || !strings.Contains(err.Error(), "createcachetable") {
		t.Errorf("missing table: Get = %v, want ErrNoTable naming the table and createcachetable", err)
	}
	if _, err := b.DB().Exec(`CREATE TABLE wrong (k text primary key, v text, e datetime)`); err != nil {
		t.Fatal(err)
	}
	wantTableErrors(t, b)
	c, err := cache.Open("sqlite://"+path+"?table=wrong", db.Schemes())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if v, ok, err := c.Get(bg, "k"); err != nil || ok || v != nil {
		t.Errorf("fail-open over a wrong table: Get = %q, %v, %v; want a miss", v, ok, err)
	}
}

// TestLongKeys: made keys over 255 characters never reach the database.
func TestLongKeys(t *testing.T) {
	b := newSQLite(t, db.Options{})
	long := strings.Repeat("é", 256)
	if err := b.Set(bg, long, []byte("v"), cache.Forever); !errors.Is(err, cache.ErrInvalidKey) {
		t.Errorf("Set of 256 characters = %v, want ErrInvalidKey", err)
	}
	if _, err := b.Add(bg, long, []byte("v"), cache.Forever); !errors.Is(err, cache.ErrInvalidKey) {
		t.Errorf("Add of 256 characters = %v, want ErrInvalidKey", err)
	}
	ok255 := strings.Repeat("é", 255)
	if err := b.Set(bg, ok255, []byte("v"), cache.Forever); err != nil {
		t.Errorf("Set of 255 characters = %v", err)
	}
	var n int
	if err := b.DB().QueryRow(`SELECT COUNT(*) FROM my_cache_table`).Scan(&n); err != nil || n != 1 {
		t.Errorf("rows = %d, %v; want 1", n, err)
	}
}

// wantTableErrors checks that every operation on b's table, which has the
// wrong columns, fails with an error naming the table.
func wantTableErrors(t *testing.T, b *db.Backend) {
	t.Helper()
	for op, f := range map[string]func() error{
		"get":   func() error { _, _, err := b.Get(bg, ":1:k"); return err },
		"set":   func() error { return b.Set(bg, ":1:k", []byte("v"), cache.Forever) },
		"add":   func() error { _, err := b.Add(bg, ":1:k", []byte("v"), cache.Forever); return err },
		"has":   func() error { _, err := b.Has(bg, ":1:k"); return err },
		"touch": func() error { _, err := b.Touch(bg, ":1:k", cache.Forever); return err },
		"del":   func() error { _, err := b.Delete(bg, ":1:k"); return err },
	} {
		want := `table "` + b.Table() + `"`
		if err := f(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("wrong columns: %s = %v, want an error naming %s", op, err, want)
		}
	}
}
