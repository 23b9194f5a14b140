package db_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fragcache/fragcache/cache/db"
)

// Open a registry whose fragments cache is a table in an SQLite file
// shared with a Django project; the other aliases use the built-in
// backends.
func ExampleOpenRegistry() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	reg, err := db.OpenRegistry(map[string]string{
		"default":            "memory://",
		"template_fragments": "sqlite://" + filepath.Join(dir, "db.sqlite3") + "?table=my_cache_table",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer reg.Close()
	ctx := context.Background()
	frags, _ := reg.Fragments()
	// The table is Django's createcachetable's; create it if missing.
	b, _ := db.OpenSQLite(ctx, db.SQLiteOptions{Path: filepath.Join(dir, "db.sqlite3"), Options: db.Options{Table: "my_cache_table"}})
	defer b.Close()
	if err := b.CreateTable(ctx); err != nil {
		fmt.Println(err)
		return
	}
	frags.Set(ctx, "sidebar", []byte("<p>hello</p>"), 0)
	v, ok, _ := frags.Get(ctx, "sidebar")
	fmt.Println(string(v), ok)
	// Output: <p>hello</p> true
}
