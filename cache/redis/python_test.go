package redis_test

import "github.com/fragcache/fragcache/internal/testserver"

var (
	pythonWith = testserver.Python
	runPython  = testserver.RunPython
)
