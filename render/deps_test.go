package render_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLinksOnlyTheMemoryBackend: a Renderer opens its default cache
// without cache/backends, so programs that render templates do not link
// go-redis, gomemcache and the file backend unless they use them.
func TestLinksOnlyTheMemoryBackend(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case strings.HasPrefix(dep, "github.com/fragcache/fragcache/cache/") && dep != "github.com/fragcache/fragcache/cache/memory",
			strings.Contains(dep, "go-redis"), strings.Contains(dep, "gomemcache"):
			t.Errorf("render depends on %s", dep)
		}
	}
}
