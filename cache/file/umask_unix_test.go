//go:build unix

package file

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/fragcache/fragcache/cache"
)

// TestCacheDirPermissionsUmask checks that every created level gets 0700
// even under a umask that would take permissions away, as Django's
// _createdir ensures by setting the umask. The umask is process-wide, so
// this test does not run in parallel with others.
func TestCacheDirPermissionsUmask(t *testing.T) {
	base := t.TempDir()
	old := syscall.Umask(0o277)
	defer syscall.Umask(old)
	dir := filepath.Join(base, "a", "b")
	s, _ := newStore(t, Options{Dir: dir})
	for _, p := range []string{filepath.Join(base, "a"), dir} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("%s has mode %v, want 0700", p, fi.Mode().Perm())
		}
	}
	mustSet(t, s, "k", []byte("v"), cache.Forever)
	if v, ok := mustGet(t, s, "k"); !ok || string(v) != "v" {
		t.Errorf("Get = %q, %v", v, ok)
	}
}
