package memcached

// Test helpers shared with the external test package.
var (
	PythonWithPymemcache = pythonWithPymemcache
	RunPython            = runPython
)
