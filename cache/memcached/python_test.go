package memcached

import (
	"testing"

	"github.com/fragcache/fragcache/internal/testserver"
)

// pythonWithPymemcache returns a python3 that can import pymemcache, or
// skips t (fails it with FRAGCACHE_REQUIRE_SERVERS=1).
func pythonWithPymemcache(t testing.TB) string {
	t.Helper()
	return testserver.Python(t, "pymemcache", "python3-pymemcache")
}

var (
	pythonWith = testserver.Python
	runPython  = testserver.RunPython
)
