package redis_test

import (
	"testing"

	"github.com/fragcache/fragcache/internal/indextest"
	"github.com/fragcache/fragcache/internal/testserver"
)

// TestHelperIndexProcess is not a test: TestIndexProcesses runs it in
// other processes.
func TestHelperIndexProcess(t *testing.T) { indextest.Helper(t, openLease) }

// TestIndexProcesses: four processes write variants of two fragment names
// at once; one InvalidateFragmentVariants removes every variant of the
// first, and none of the second, with and without the near cache.
func TestIndexProcesses(t *testing.T) {
	srv := testserver.Redis(t)
	t.Run("plain", func(t *testing.T) {
		indextest.Processes(t, "TestHelperIndexProcess", "redis://"+srv.Addr+"/4", openLease)
	})
	t.Run("near_cache", func(t *testing.T) {
		indextest.Processes(t, "TestHelperIndexProcess", "redis://"+srv.Addr+"/0?near_cache=1", openLease)
	})
}
