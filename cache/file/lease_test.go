package file

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/internal/leasetest"
	"github.com/fragcache/fragcache/internal/stampedetest"
)

func openLeaseDir(dir string) (*cache.Cache, error) {
	s, err := New(Options{Dir: dir})
	if err != nil {
		return nil, err
	}
	return cache.New(s)
}

// TestHelperLeaseProcess is not a test: TestLeaseProcesses runs it in
// other processes.
func TestHelperLeaseProcess(t *testing.T) { leasetest.Helper(t, openLeaseDir) }

// TestLeaseProcesses: processes sharing the directory race for leases;
// each goes to exactly one of them.
func TestLeaseProcesses(t *testing.T) {
	dir := t.TempDir()
	leasetest.Processes(t, "TestHelperLeaseProcess", dir, openLeaseDir)
	for _, name := range allFiles(t, dir) {
		if !strings.HasSuffix(name, LeaseSuffix) {
			t.Errorf("left behind: %s", name)
		}
	}
}

func TestLeaseFiles(t *testing.T) {
	ctx := context.Background()
	s, clk := newStore(t, Options{MaxEntries: 1})
	c, err := cache.New(s)
	if err != nil {
		t.Fatal(err)
	}
	l, ok, err := c.AcquireLease(ctx, "k", 10*time.Second)
	if err != nil || !ok {
		t.Fatalf("AcquireLease = %v, %v", ok, err)
	}
	names := allFiles(t, s.Dir())
	want := FileName(l.Key())
	want = strings.TrimSuffix(want, Suffix) + LeaseSuffix
	if len(names) != 1 || names[0] != want {
		t.Fatalf("files after AcquireLease: %v, want [%s]", names, want)
	}
	data, _ := os.ReadFile(filepath.Join(s.Dir(), want))
	if !strings.HasPrefix(string(data), l.Token()+" ") {
		t.Errorf("lease file holds %q, want the token first", data)
	}
	// Lease files are not cache files: not counted, culled or cleared.
	if n, _ := s.count(); n != 0 {
		t.Errorf("count() = %d with a lease file only", n)
	}
	c.Set(ctx, "a", []byte("1"), cache.Forever)
	c.Set(ctx, "b", []byte("2"), cache.Forever) // culls "a"
	if err := c.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.AcquireLease(ctx, "k", time.Second); ok {
		t.Fatal("the lease did not survive culling and Clear")
	}
	// Another store over the directory (another process) sees it, and
	// takes it over once it has lapsed by the shared clock.
	s2, err := New(Options{Dir: s.Dir(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := cache.New(s2)
	if _, ok, _ := c2.AcquireLease(ctx, "k", time.Second); ok {
		t.Fatal("another store took a held lease")
	}
	clk.Add(10 * time.Second)
	l2, ok, err := c2.AcquireLease(ctx, "k", time.Second)
	if err != nil || !ok {
		t.Fatalf("taking over a lapsed lease = %v, %v", ok, err)
	}
	if ok, err := l.Release(ctx); ok || err != nil {
		t.Errorf("the lapsed holder's Release = %v, %v; want false", ok, err)
	}
	if ok, err := l2.Release(ctx); !ok || err != nil {
		t.Errorf("the new holder's Release = %v, %v; want true", ok, err)
	}
	if names := allFiles(t, s.Dir()); len(names) != 0 {
		t.Errorf("files left after the release: %v", names)
	}
}

// TestLeaseCorrupt: a lease file left unreadable (a crash, another writer)
// lapses ttl after it was written.
func TestLeaseCorrupt(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	cur := now
	s, _ := newStore(t, Options{Now: func() time.Time { return cur }})
	key := cache.LeaseKey(":1:k")
	path := s.leasePath(key)
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(path, now, now)
	if ok, err := s.AcquireLease(ctx, key, "tok", 5*time.Second); ok || err != nil {
		t.Fatalf("AcquireLease over a fresh unreadable lease = %v, %v; want false", ok, err)
	}
	if ok, _ := s.ReleaseLease(ctx, key, "tok"); ok {
		t.Fatal("released a lease holding another content")
	}
	cur = now.Add(5 * time.Second)
	if ok, err := s.AcquireLease(ctx, key, "tok", 5*time.Second); !ok || err != nil {
		t.Fatalf("AcquireLease over a lapsed unreadable lease = %v, %v; want true", ok, err)
	}
	if ok, _ := s.ReleaseLease(ctx, key, "tok"); !ok {
		t.Fatal("the holder could not release")
	}
	// A missing directory is created.
	os.RemoveAll(s.Dir())
	if ok, err := s.AcquireLease(ctx, key, "tok", 5*time.Second); !ok || err != nil {
		t.Fatalf("AcquireLease in a removed directory = %v, %v", ok, err)
	}
}

// TestLeaseRemoveIf: a lease replaced between the read and the removal is
// put back.
func TestLeaseRemoveIf(t *testing.T) {
	s, _ := newStore(t, Options{})
	path := s.leasePath("x")
	os.WriteFile(path, []byte("new 1\n"), 0o600)
	removed, err := s.removeLeaseIf(path, []byte("old 1\n"))
	if removed || err != nil {
		t.Fatalf("removeLeaseIf of another content = %v, %v", removed, err)
	}
	if data, err := os.ReadFile(path); err != nil || string(data) != "new 1\n" {
		t.Fatalf("the lease was not put back: %q, %v", data, err)
	}
	if names := allFiles(t, s.Dir()); len(names) != 1 {
		t.Errorf("files: %v", names)
	}
}

func openStampedeDir(u string) (*cache.Cache, error) {
	return cache.Open(u, cache.Schemes{"file": Open})
}

// TestHelperStampedeProcess is not a test: TestStampedeProcesses runs it
// in other processes.
func TestHelperStampedeProcess(t *testing.T) { stampedetest.Helper(t, openStampedeDir) }

// TestStampedeProcesses: 4 processes × 16 goroutines sharing a directory
// load a cold key once, survive a lease holder killed mid-load, and
// refresh a stale value once while serving it.
func TestStampedeProcesses(t *testing.T) {
	stampedetest.Run(t, stampedetest.Config{
		Helper: "TestHelperStampedeProcess", URL: "file://" + t.TempDir(), Open: openStampedeDir,
	})
}
