package memcached

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// pythonWithPymemcache returns a python3 that can import pymemcache, or
// skips t (fails it with FRAGCACHE_REQUIRE_SERVERS=1).
func pythonWithPymemcache(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(p)
		if err != nil {
			continue
		}
		if exec.Command(path, "-c", "import pymemcache").Run() == nil {
			return path
		}
	}
	if os.Getenv("FRAGCACHE_REQUIRE_SERVERS") == "1" {
		t.Fatal("python3-pymemcache not installed but FRAGCACHE_REQUIRE_SERVERS=1")
	}
	t.Skip("python3 with pymemcache not installed (apt-get install python3-pymemcache)")
	return ""
}

// runPython runs script with stdin and returns its standard output.
func runPython(t testing.TB, python, script string, stdin []byte) []byte {
	t.Helper()
	cmd := exec.Command(python, "-c", script)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.Bytes())
	}
	return out
}
