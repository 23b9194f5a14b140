package testserver

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// Python returns a python3 that can import modules (a comma-separated list,
// as in an import statement), trying Debian's /usr/bin/python3 first since
// that is where Debian's python3-django and friends are importable. Without
// one it skips t, or fails it when FRAGCACHE_REQUIRE_SERVERS=1; packages
// names the Debian packages to install.
func Python(t testing.TB, modules, packages string) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(p)
		if err != nil {
			continue
		}
		if exec.Command(path, "-c", "import "+modules).Run() == nil {
			return path
		}
	}
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("python3 cannot import %s but %s=1 (apt-get install %s)", modules, RequireEnv, packages)
	}
	t.Skipf("python3 cannot import %s (apt-get install %s)", modules, packages)
	return ""
}

// RunPython runs script with python, feeding it stdin, and returns its
// standard output; a failure fails t with the script's standard error.
func RunPython(t testing.TB, python, script string, stdin []byte) []byte {
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
