package db_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/db"
	"github.com/fragcache/fragcache/internal/testserver"
)

func TestMain(m *testing.M) { os.Exit(testserver.Main(m)) }

var pgTables atomic.Int64

// newPostgres opens a backend over a new table (unless o names one) in
// the package's database of its PostgreSQL server, with the table
// created, and drops it when t ends.
func newPostgres(t testing.TB, o db.Options) *db.Backend {
	t.Helper()
	pg := testserver.SharedPostgres(t)
	if o.Table == "" {
		o.Table = fmt.Sprintf("cache_%d", pgTables.Add(1))
	}
	b, err := db.OpenPostgres(bg, db.PostgresOptions{Options: o, DSN: pg.URL(pg.SharedDatabase(t), "sslmode=disable")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.DB().Exec(`DROP TABLE IF EXISTS "` + o.Table + `"`)
		b.Close()
	})
	if err := b.CreateTable(bg); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestConformancePostgres runs the shared suite on a real PostgreSQL.
func TestConformancePostgres(t *testing.T) { runConformance(t, newPostgres, true) }

// TestPostgresURL opens postgres:// and postgresql:// URLs with a
// password full of URL-special characters, percent-encoded, and every
// connection parameter; the password never shows in a message.
func TestPostgresURL(t *testing.T) {
	pg := testserver.SharedPostgres(t)
	name := pg.CreateDatabase(t)
	for _, scheme := range []string{"postgres", "postgresql"} {
		u := strings.Replace(pg.URL(name, "table=my_cache_table&sslmode=disable&connect_timeout=5&application_name=fragcache_test&search_path=public&max_entries=50&cull_frequency=2&use_tz=0&timeout=60&key_prefix=p&failopen=0&max_conns=4&max_idle_conns=2"), "postgres://", scheme+"://", 1)
		c, err := db.Open(u)
		if err != nil {
			t.Fatalf("%s: %v", scheme, err)
		}
		b, ok := cache.As[*db.Backend](c.Backend())
		if !ok || b.Dialect() != db.PostgreSQL {
			t.Fatalf("%s: backend %T", scheme, c.Backend())
		}
		if err := b.CreateTable(bg); err != nil {
			t.Fatal(err)
		}
		if err := c.Set(bg, "k", []byte("v"), cache.DefaultTimeout); err != nil {
			t.Fatal(err)
		}
		if v, ok, err := c.Get(bg, "k"); err != nil || !ok || string(v) != "v" {
			t.Errorf("%s: Get = %q, %v, %v", scheme, v, ok, err)
		}
		var app string
		if err := b.DB().QueryRow(`SELECT current_setting('application_name')`).Scan(&app); err != nil || app != "fragcache_test" {
			t.Errorf("application_name = %q, %v", app, err)
		}
		c.Close()
	}
	// A wrong password: an error at the first operation, naming no password.
	wrong := strings.Replace(pg.URL(name, "table=my_cache_table&sslmode=disable&failopen=0"), "%40ss", "%40sz", 1)
	c, err := db.Open(wrong)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _, err = c.Get(bg, "k")
	if err == nil {
		t.Fatal("Get with a wrong password succeeded")
	}
	for _, secret := range []string{"p@sz", "w/rd", "sz:w"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows the password: %v", err)
		}
	}
}

func TestPostgresURLErrors(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"postgres://u:secret@127.0.0.1/db", "option table is required"},
		{"postgres://u:secret@127.0.0.1/db?table=bad-name", `table="bad-name"`},
		{"postgres://u:secret@127.0.0.1/db?table=t&sslmode=maybe", "sslmode"},
		{"postgres://u:secret@127.0.0.1/db?table=t&connect_timeout=x", "connect_timeout"},
		{"postgres://u:secret@127.0.0.1/db?table=t&bogus=1", `unknown option "bogus"`},
		{"postgres://u:secret@127.0.0.1/db/x?table=t", "one database name"},
		{"postgres://u:sec%zzret@127.0.0.1/db?table=t", "malformed location"},
		{"postgresql://u:secret@127.0.0.1/db?table=t&max_entries=0", "max_entries"},
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
		if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "sec%zzret") {
			t.Errorf("Open(%q): the error shows the password: %v", tc.url, err)
		}
	}
}
