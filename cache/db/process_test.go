package db_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/db"
	"github.com/fragcache/fragcache/internal/leasetest"
	"github.com/fragcache/fragcache/internal/reexec"
)

// openURL opens a sqlite:// URL, creating its table.
func openURL(url string) (*cache.Cache, error) {
	c, err := cache.Open(url, db.Schemes())
	if err != nil {
		return nil, err
	}
	b, _ := cache.As[*db.Backend](c.Backend())
	if err := b.CreateTable(bg); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func TestHelperLeaseProcess(t *testing.T) { leasetest.Helper(t, openURL) }

// TestLeaseProcesses: of processes racing for one lease on one SQLite
// file, exactly one wins.
func TestLeaseProcesses(t *testing.T) {
	url := "sqlite://" + filepath.Join(t.TempDir(), "lease.db") + "?table=my_cache_table&failopen=0"
	leasetest.Processes(t, "TestHelperLeaseProcess", url, openURL)
}

const envWriteURL = "FRAGCACHE_DB_WRITE_URL"

// writeLoad sets, adds, reads, touches and deletes 40 shared keys from 4
// goroutines, each value naming its own length and checked when read
// back, in a table small enough to be culled all along. It returns the
// first error.
func writeLoad(c *cache.Cache, who string) error {
	const goroutines, ops, keys = 4, 150, 40
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
	}
	for g := range goroutines {
		wg.Go(func() {
			for i := range ops {
				k := "k" + strconv.Itoa((i*7+g)%keys)
				body := strings.Repeat("x", i%50)
				v := fmt.Sprintf("%s.%d.%d:%d:%s", who, g, i, len(body), body)
				var err error
				switch i % 5 {
				case 0, 1:
					err = c.Set(bg, k, []byte(v), cache.Seconds(60))
				case 2:
					_, err = c.Add(bg, k, []byte(v), cache.Seconds(60))
				case 3:
					_, err = c.Touch(bg, k, cache.Seconds(30))
				case 4:
					if i%10 == 4 {
						_, err = c.Delete(bg, k)
					} else {
						_, err = c.GetMany(bg, []string{k, "k0", "k1"})
					}
				}
				if err == nil {
					var got []byte
					var ok bool
					got, ok, err = c.Get(bg, k)
					if err == nil && ok && !wellFormed(string(got)) {
						err = fmt.Errorf("corrupted value %q under %s", got, k)
					}
				}
				if err != nil {
					fail(fmt.Errorf("%s goroutine %d op %d: %w", who, g, i, err))
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// wellFormed checks a value writeLoad wrote: who.g.i:len:body.
func wellFormed(v string) bool {
	parts := strings.SplitN(v, ":", 3)
	if len(parts) != 3 {
		return false
	}
	n, err := strconv.Atoi(parts[1])
	return err == nil && len(parts[2]) == n && strings.Trim(parts[2], "x") == ""
}

func TestHelperWriteProcess(t *testing.T) {
	url := os.Getenv(envWriteURL)
	if url == "" {
		t.Skip("the helper process of TestConcurrentProcesses")
	}
	c, err := openURL(url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := writeLoad(c, "pid"+strconv.Itoa(os.Getpid())); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentProcesses: three processes write one SQLite file at once
// (fail-open off, so that any error shows): no error, and every row left
// decodes to a well-formed value.
func TestConcurrentProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts other processes")
	}
	for _, mode := range []string{"wal", "delete"} {
		t.Run(mode, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "shared.db")
			if mode == "delete" {
				if err := os.WriteFile(path, nil, 0o644); err != nil { // existing: left in rollback-journal mode
					t.Fatal(err)
				}
			}
			url := "sqlite://" + path + "?table=my_cache_table&failopen=0&max_entries=30&cull_frequency=3"
			c, err := openURL(url)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			const helpers = 2
			outs := make(chan error, helpers)
			for range helpers {
				cmd := reexec.Command("TestHelperWriteProcess", []string{envWriteURL + "=" + url})
				go func() {
					out, err := cmd.CombinedOutput()
					if err != nil {
						err = fmt.Errorf("helper: %w\n%s", err, out)
					}
					outs <- err
				}()
			}
			if err := writeLoad(c, "parent"); err != nil {
				t.Error(err)
			}
			for range helpers {
				if err := <-outs; err != nil {
					t.Error(err)
				}
			}
			b, _ := cache.As[*db.Backend](c.Backend())
			rows, err := b.DB().Query(`SELECT cache_key FROM my_cache_table`)
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for rows.Next() {
				var k string
				if err := rows.Scan(&k); err != nil {
					t.Fatal(err)
				}
				keys = append(keys, k)
			}
			rows.Close()
			for _, k := range keys {
				v, ok, err := b.Get(bg, k)
				if err != nil || ok && !wellFormed(string(v)) {
					t.Errorf("row %s: %q, %v", k, v, err)
				}
			}
		})
	}
}
