package memcached

// Test helpers shared with the external test package.
var (
	PythonWithPymemcache = pythonWithPymemcache
	PythonWith           = pythonWith
	RunPython            = runPython
)
