package main

import (
	"strings"
	"testing"

	"github.com/fragcache/fragcache/internal/testserver"
)

// TestStatsPool checks the per-server lines of stats on a memcached pool
// with one server of three stopped: the ping fails (exit status 1), and
// the stopped server's line shows its failure.
func TestStatsPool(t *testing.T) {
	srvs := []*testserver.Server{testserver.Memcached(t), testserver.Memcached(t), testserver.Memcached(t)}
	url := "memcached://" + srvs[0].Addr + ";" + srvs[1].Addr + ";" + srvs[2].Addr
	srvs[1].Stop()
	code, out, errOut := runArgs("stats", "--cache", url)
	if code != 1 {
		t.Errorf("exit %d with a server stopped, want 1; stderr %q", code, errOut)
	}
	for _, want := range []string{
		"ping: failed: memcached: ping: memcached server " + srvs[1].Addr + ": ",
		"server " + srvs[0].Addr + ": breaker closed; keys ",
		"server " + srvs[1].Addr + ": breaker closed; keys ",
		"marked down 0 times; last error dial tcp " + srvs[1].Addr + ": connect: connection refused (at ",
		"server " + srvs[2].Addr + ": breaker closed; keys ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	// The probe's key may live on the stopped server: it then fails too.
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "server "+srvs[1].Addr+": ") && (strings.Contains(line, "failures 0,") || strings.Contains(line, "failures 3")) {
			t.Errorf("stopped server: %s", line)
		}
		for _, live := range []*testserver.Server{srvs[0], srvs[2]} {
			if strings.HasPrefix(line, "server "+live.Addr+": ") && !strings.Contains(line, "failures 0,") {
				t.Errorf("live server: %s", line)
			}
		}
	}
}
