package file_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/file"
)

func Example() {
	tmp, err := os.MkdirTemp("", "fragcache-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)

	store, err := file.New(file.Options{Dir: filepath.Join(tmp, "cache"), MaxEntries: 1000})
	if err != nil {
		log.Fatal(err)
	}
	c, err := cache.New(store, cache.WithKeyPrefix("site"))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	ctx := context.Background()
	if err := c.Set(ctx, "sidebar", []byte("<nav>…</nav>"), cache.Seconds(600)); err != nil {
		log.Fatal(err)
	}
	v, ok, err := c.Get(ctx, "sidebar")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %v\n", v, ok)
	_, ok, _ = c.Get(ctx, "missing")
	fmt.Println(ok)
	fmt.Println(file.FileName(c.MakeKey("sidebar")))
	// Output:
	// <nav>…</nav> true
	// false
	// f250597a1d89e0ad75320a877abb1401.djcache
}
