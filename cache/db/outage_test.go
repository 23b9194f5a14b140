package db_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/db"
	"github.com/fragcache/fragcache/internal/testserver"
	"github.com/fragcache/fragcache/render"
)

// sqlFor rewrites the "?" placeholders of a test's statement for b.
func sqlFor(b *db.Backend, q string) string {
	if b.Dialect() != db.PostgreSQL {
		return q
	}
	n := 0
	var sb strings.Builder
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&sb, "$%d", n)
			continue
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// TestPostgresGoesAway: a PostgreSQL server stopped under load, then
// restarted on the same port. Behind fail-open (the URL default) no
// operation returns an error while it is down, the failures are counted
// and reported with the password hidden, and hits resume after the
// restart without reopening the cache.
func TestPostgresGoesAway(t *testing.T) {
	pg := testserver.StartPostgres(t)
	name := pg.CreateDatabase(t)
	c, err := db.Open(pg.URL(name, "table=my_cache_table&sslmode=disable&connect_timeout=2&op_timeout=500ms"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, _ := cache.As[*db.Backend](c.Backend())
	if err := b.CreateTable(bg); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(bg, "hot", []byte("value"), cache.Forever); err != nil {
		t.Fatal(err)
	}

	var (
		stop      atomic.Bool
		hits, ops atomic.Int64
		errs      = make(chan error, 100)
		wg        sync.WaitGroup
	)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				v, ok, err := c.Get(bg, "hot")
				if err == nil && ok && string(v) != "value" {
					err = fmt.Errorf("Get(hot) = %q", v)
				}
				if err == nil {
					err = c.Set(bg, fmt.Sprintf("k%d", g), []byte("v"), cache.Seconds(60))
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
				}
				if ok {
					hits.Add(1)
				}
				ops.Add(1)
				time.Sleep(2 * time.Millisecond)
			}
		}(g)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("hits before the outage", func() bool { return hits.Load() > 20 })
	pg.Stop()
	down := ops.Load()
	waitFor("operations during the outage", func() bool { return ops.Load() > down+50 })
	st := c.Stats()
	if st.Backend.Failures == 0 {
		t.Errorf("no failure counted while the server was down: %+v", st.Backend)
	}
	if strings.Contains(st.Backend.LastError, testserver.PostgresPassword) {
		t.Errorf("LastError shows the password: %s", st.Backend.LastError)
	}
	if err := pg.Restart(); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	hitsAtRestart := hits.Load()
	waitFor("hits after the restart", func() bool { return hits.Load() > hitsAtRestart+20 })
	t.Logf("hits resumed %v after the restart; backend %+v", time.Since(restarted).Round(time.Millisecond), c.Stats().Backend)
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("an operation failed under fail-open: %v", err)
	}
}

// TestForeignValuesPostgres: TestForeignValues's values on PostgreSQL.
func TestForeignValuesPostgres(t *testing.T) {
	b := newPostgres(t, db.Options{})
	c, err := cache.New(b)
	if err != nil {
		t.Fatal(err)
	}
	for name, value := range foreignValues {
		if _, err := b.DB().Exec(sqlFor(b, `INSERT INTO `+b.Table()+` VALUES (?, ?, '9999-12-31 23:59:59+00')`), ":1:"+name, value); err != nil {
			t.Fatal(err)
		}
		got, ok, err := c.Get(bg, name)
		var fe *db.ForeignValueError
		if !errors.Is(err, cache.ErrForeignValue) || !errors.As(err, &fe) || fe.Key != ":1:"+name || ok || got != nil {
			t.Errorf("%s: Get = %q, %v, %v; want a *ForeignValueError naming :1:%s", name, got, ok, err, name)
		}
	}
}

// TestWrongTablePostgres: a missing table, or one with the wrong
// columns, is an error naming the table (a missing one naming
// createcachetable too); under fail-open, a miss.
func TestWrongTablePostgres(t *testing.T) {
	pg := testserver.SharedPostgres(t)
	dsn := pg.URL(pg.SharedDatabase(t), "sslmode=disable")
	b, err := db.OpenPostgres(bg, db.PostgresOptions{DSN: dsn, Options: db.Options{Table: "wrong_pg"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, _, err := b.Get(bg, ":1:k"); !errors.Is(err, db.ErrNoTable) || !strings.Contains(err.Error(), `"wrong_pg"`) || !strings.Contains(err.Error(), "createcachetable") {
		t.Errorf("missing table: Get = %v, want ErrNoTable naming the table and createcachetable", err)
	}
	if _, err := b.DB().Exec(`CREATE TABLE wrong_pg (k text primary key, v text, e timestamptz)`); err != nil {
		t.Fatal(err)
	}
	defer b.DB().Exec(`DROP TABLE wrong_pg`)
	wantTableErrors(t, b)
	c, err := db.Open(strings.Replace(dsn, "?", "?table=wrong_pg&", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if v, ok, err := c.Get(bg, "k"); err != nil || ok || v != nil {
		t.Errorf("fail-open over a wrong table: Get = %q, %v, %v; want a miss", v, ok, err)
	}
}

// TestReadOnlyFile: a SQLite file the process cannot write. Reads work;
// writes fail with SQLite's error naming the table, and behind fail-open
// they are dropped and counted, never an error to the caller.
func TestReadOnlyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ro.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil { // existing: no WAL
		t.Fatal(err)
	}
	rw, err := openURL("sqlite://" + path + "?table=my_cache_table&failopen=0")
	if err != nil {
		t.Fatal(err)
	}
	if err := rw.Set(bg, "k", []byte("v"), cache.Forever); err != nil {
		t.Fatal(err)
	}
	rw.Close()
	makeReadOnly(t, path)

	strict, err := db.Open("sqlite://" + path + "?table=my_cache_table&failopen=0")
	if err != nil {
		t.Fatalf("opening a read-only file: %v", err)
	}
	defer strict.Close()
	if v, ok, err := strict.Get(bg, "k"); err != nil || !ok || string(v) != "v" {
		t.Errorf("Get on a read-only file = %q, %v, %v; want v", v, ok, err)
	}
	err = strict.Set(bg, "k2", []byte("v"), cache.Forever)
	if err == nil || !strings.Contains(err.Error(), `table "my_cache_table"`) || !strings.Contains(strings.ToLower(err.Error()), "readonly") {
		t.Errorf("Set on a read-only file = %v, want SQLite's readonly error naming the table", err)
	}

	c, err := db.Open("sqlite://" + path + "?table=my_cache_table")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Set(bg, "k2", []byte("v"), cache.Forever); err != nil {
		t.Errorf("fail-open Set on a read-only file = %v, want nil (dropped)", err)
	}
	if v, ok, err := c.Get(bg, "k"); err != nil || !ok || string(v) != "v" {
		t.Errorf("fail-open Get = %q, %v, %v", v, ok, err)
	}
	if st := c.Stats(); st.Backend.Failures == 0 || !strings.Contains(strings.ToLower(st.Backend.LastError), "readonly") {
		t.Errorf("the dropped write was not counted: %+v", st.Backend)
	}
}

// makeReadOnly takes write permission away from path: its mode, and, for
// root, whom modes do not stop, the immutable attribute (removed when the
// test ends).
func makeReadOnly(t *testing.T, path string) {
	t.Helper()
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		return
	}
	if out, err := exec.Command("chattr", "+i", path).CombinedOutput(); err != nil {
		t.Skipf("running as root, and chattr +i failed, so the file cannot be made read-only: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", path).Run() })
}

// TestMissingTablePageRenders: a page with {% cache %} fragments on a
// database cache whose table was never created renders, with the
// fragments computed, and the failure is logged naming the table and
// createcachetable, and counted.
func TestMissingTablePageRenders(t *testing.T) {
	var logs strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), nil))
	path := filepath.Join(t.TempDir(), "notable.db")
	reg, err := db.OpenRegistry(map[string]string{"default": "sqlite://" + path + "?table=never_created"}, cache.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	rd, err := render.New(render.Options{
		FS:       fstest.MapFS{"page.html": {Data: []byte(`{% load cache %}<p>{% cache 60 side %}side {{ n }}{% endcache %}</p>`)}},
		Registry: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	for i := 0; i < 2; i++ {
		rec := httptest.NewRecorder()
		rd.Render(rec, httptest.NewRequest("GET", "/", nil), "page.html", map[string]any{"n": i})
		if rec.Code != 200 || rec.Body.String() != fmt.Sprintf("<p>side %d</p>", i) {
			t.Errorf("render %d: %d %q", i, rec.Code, rec.Body.String())
		}
	}
	mu.Lock()
	got := logs.String()
	mu.Unlock()
	if !strings.Contains(got, `never_created`) || !strings.Contains(got, "createcachetable") {
		t.Errorf("the log does not name the table and createcachetable:\n%s", got)
	}
	c, _ := reg.Default()
	if st := c.Stats(); st.Backend.Failures == 0 {
		t.Errorf("no failure counted: %+v", st.Backend)
	}
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
