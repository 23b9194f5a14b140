package main

import (
	"strings"
	"testing"

	"github.com/fragcache/fragcache/internal/testserver"
)

// TestStatsClusterAndSentinel: fragcache stats on a Redis Cluster lists
// its seeds, its masters and the keys of every master; on Sentinel, the
// master's name and the sentinels, and the master's keys.
func TestStatsClusterAndSentinel(t *testing.T) {
	cl := testserver.RedisCluster(t)
	url := "redis+cluster://" + strings.Join(cl.Addrs[:3], ";")
	for i, k := range []string{"a", "b", "c", "d", "e"} {
		if code, _, errOut := runArgs("set", "--cache", url, k, strings.Repeat("v", i+1)); code != 0 {
			t.Fatalf("set %s: %d %s", k, code, errOut)
		}
	}
	code, out, errOut := runArgs("stats", "--cache", url)
	if code != 0 {
		t.Fatalf("stats on the cluster: exit %d, %s", code, errOut)
	}
	for _, want := range []string{"Redis Cluster " + cl.Addrs[0], "masters", "keys in the cluster", ": 5 (DBSIZE of every master"} {
		if !strings.Contains(out, want) {
			t.Errorf("stats on the cluster lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "FailoverClient") || strings.Contains(out, "ClusterClient") {
		t.Errorf("stats shows a go-redis placeholder:\n%s", out)
	}

	s := testserver.RedisSentinel(t)
	surl := "redis+sentinel://" + strings.Join(s.Addrs, ";") + "?master=" + s.MasterName
	if code, _, errOut := runArgs("set", "--cache", surl, "k", "v"); code != 0 {
		t.Fatalf("set on sentinel: %d %s", code, errOut)
	}
	code, out, errOut = runArgs("stats", "--cache", surl)
	if code != 0 {
		t.Fatalf("stats on sentinel: exit %d, %s", code, errOut)
	}
	for _, want := range []string{`master "` + s.MasterName + `"`, s.Addrs[0], "keys in database"} {
		if !strings.Contains(out, want) {
			t.Errorf("stats on sentinel lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "FailoverClient") {
		t.Errorf("stats shows a go-redis placeholder:\n%s", out)
	}
}
