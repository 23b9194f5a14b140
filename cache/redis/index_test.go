package redis_test

import (
	"testing"

	"github.com/fragcache/fragcache/internal/indextest"
	"github.com/fragcache/fragcache/internal/testserver"
)

// TestHelperIndexProcess is not a test: TestIndexProcesses runs it in
// other processes.
func TestHelperIndexProcess(t *testing.T) { indextest.Helper(t, openLease) }

// TestIndexes runs, on one server: four processes writing variants of two
// fragment names at once, after which one InvalidateFragmentVariants
// removes every variant of the first and none of the second, with and
// without the near cache (processes); and the variants a real Django wrote
// (django, see testInvalidateDjangoVariants).
func TestIndexes(t *testing.T) {
	srv := testserver.Redis(t)
	// Errors fail the test rather than being swallowed, and a loaded
	// machine running five processes under -race is no error.
	const slow = "failopen=0&dial_timeout=10s&read_timeout=10s&write_timeout=10s"
	t.Run("processes/plain", func(t *testing.T) {
		indextest.Processes(t, "TestHelperIndexProcess", "redis://"+srv.Addr+"/4?"+slow, openLease)
	})
	t.Run("processes/near_cache", func(t *testing.T) {
		indextest.Processes(t, "TestHelperIndexProcess", "redis://"+srv.Addr+"/0?near_cache=1&"+slow, openLease)
	})
	t.Run("django", func(t *testing.T) { testInvalidateDjangoVariants(t, srv) })
}
