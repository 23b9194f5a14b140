package testserver

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// Django is a real Django release a test runs scripts with: Debian's
// python3-django (3.2) under /usr/bin/python3, or a newer release unpacked
// from the .deb files in the project's shared folder beside the checkout
// (../shared/django/setup.sh) and run with a Python 3.12 or newer. Debian's
// pymemcache and redis-py are importable in both.
type Django struct {
	// Version is the version asked for: "3.2", "5.2" or "6.1".
	Version string
	// Python is the interpreter.
	Python string
	// Env is the environment the scripts run in (PYTHONPATH set).
	Env []string
}

// DjangoVersions are the releases Django can run.
var DjangoVersions = []string{"3.2", "5.2", "6.1"}

var (
	treesOnce sync.Once
	trees     map[string]string // "6.1" -> the unpacked tree; "py" -> Python 3.12+
	treesErr  string
)

// NewDjango returns the Django release version ("3.2", "5.2" or "6.1"). It
// skips t when that release cannot be run here, or fails it when
// FRAGCACHE_REQUIRE_SERVERS=1. The newer releases are unpacked once per
// test binary into a temporary folder of its own, shared by its tests.
func NewDjango(t testing.TB, version string) *Django {
	t.Helper()
	need := "django, pymemcache, redis"
	if version == "3.2" {
		py := Python(t, need, "python3-django python3-pymemcache python3-redis")
		return &Django{Version: version, Python: py, Env: os.Environ()}
	}
	treesOnce.Do(unpackTrees)
	tree, py := trees[version], trees["py"]
	if tree == "" || py == "" {
		why := treesErr
		if why == "" {
			why = "no tree for Django " + version
		}
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("Django %s cannot run but %s=1: %s", version, RequireEnv, why)
		}
		t.Skipf("Django %s cannot run: %s", version, why)
	}
	env := append(os.Environ(), "PYTHONPATH="+tree+string(os.PathListSeparator)+"/usr/lib/python3/dist-packages")
	d := &Django{Version: version, Python: py, Env: env}
	cmd := exec.Command(py, "-c", "import "+need)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("Django %s: %v\n%s", version, err, out)
		}
		t.Skipf("Django %s: %v\n%s", version, err, out)
	}
	return d
}

// unpackTrees runs the shared setup script once.
func unpackTrees() {
	trees = map[string]string{}
	script := sharedSetupScript()
	if script == "" {
		treesErr = "no ../shared/django/setup.sh beside the checkout"
		return
	}
	// One folder per test binary: test packages run in parallel, and two
	// unpackings into one folder would race (it takes about 3 s).
	dir, err := os.MkdirTemp("", "fragcache-django-trees-")
	if err != nil {
		treesErr = err.Error()
		return
	}
	cmd := exec.Command("bash", script)
	cmd.Env = append(os.Environ(), "DJANGO_TREES="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		treesErr = "setup.sh: " + err.Error() + ": " + stderr.String()
		return
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		switch {
		case !ok:
		case k == "DJANGO61_PATH":
			trees["6.1"] = v
		case k == "DJANGO52_PATH":
			trees["5.2"] = v
		case k == "PY312":
			trees["py"] = v
		}
	}
	if trees["py"] == "" {
		treesErr = "no Python 3.12 or newer for the newer Django releases"
	}
}

// sharedSetupScript finds ../shared/django/setup.sh beside the module root.
func sharedSetupScript() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	// file is <root>/internal/testserver/django.go.
	root := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	p := filepath.Join(filepath.Dir(root), "shared", "django", "setup.sh")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// Run runs script with stdin and returns its standard output; a failure
// fails t with the script's standard error.
func (d *Django) Run(t testing.TB, script string, stdin []byte) []byte {
	t.Helper()
	cmd := exec.Command(d.Python, "-c", script)
	cmd.Env = d.Env
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("Django %s: %v\n%s", d.Version, err, stderr.Bytes())
	}
	return out
}
