package testserver

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// clusterTimeout bounds forming a cluster or a sentinel setup, and waiting
// for it to be healthy again.
const clusterTimeout = 60 * time.Second

// ClusterNodeTimeout is the cluster-node-timeout of RedisCluster's nodes: a
// master unreachable for this long is failed over to its replica.
const ClusterNodeTimeout = 2 * time.Second

// Cluster is a Redis Cluster of three masters with one replica each,
// started by RedisCluster.
type Cluster struct {
	// Nodes are the six servers, masters first as created; which are
	// masters changes with failovers (see Masters).
	Nodes []*Server
	// Addrs are the nodes' addresses, in the order of Nodes.
	Addrs []string

	t testing.TB
}

// RedisCluster starts six redis-server nodes in cluster mode
// (--cluster-enabled yes, --cluster-node-timeout 2000, each with its
// cluster config file in its own temporary directory), forms a cluster of
// three masters and three replicas with redis-cli --cluster create
// --cluster-replicas 1, waits until every node reports cluster_state:ok
// and every master has its replica, and stops the nodes when the test
// ends. It skips t when redis-server or redis-cli is not installed (see
// RequireEnv). Starting one takes a few seconds: share it within a test
// package.
func RedisCluster(t testing.TB) *Cluster {
	t.Helper()
	cli := lookPath(t, "redis-cli")
	c := &Cluster{t: t}
	for range 6 {
		s := start(t, redisTCP, []string{
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", strconv.Itoa(int(ClusterNodeTimeout / time.Millisecond)),
			// A replica takes over whatever its replication lag.
			"--cluster-replica-validity-factor", "0",
		}, "")
		c.Nodes = append(c.Nodes, s)
		c.Addrs = append(c.Addrs, s.Addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("testserver: redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	c.WaitHealthy()
	return c
}

// client returns a go-redis client to one node, for one command.
func nodeClient(addr string) *goredis.Client {
	return goredis.NewClient(&goredis.Options{Addr: addr, DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1, Protocol: 2})
}

// Info returns the fields of a section of INFO on the server at addr.
func Info(addr, section string) (map[string]string, error) {
	c := nodeClient(addr)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := c.Info(ctx, section).Result()
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			m[k] = v
		}
	}
	return m, nil
}

// Masters returns the running nodes that are masters now.
func (c *Cluster) Masters() []*Server {
	var out []*Server
	for _, s := range c.Nodes {
		if !s.Running() {
			continue
		}
		if m, err := Info(s.Addr, "replication"); err == nil && m["role"] == "master" {
			out = append(out, s)
		}
	}
	return out
}

// WaitHealthy waits until every running node reports cluster_state:ok,
// three running masters each have a connected replica when six nodes run,
// and every node agrees on the masters; it fails the test after a minute.
func (c *Cluster) WaitHealthy() {
	c.t.Helper()
	deadline := time.Now().Add(clusterTimeout)
	for {
		err := c.healthy()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("testserver: cluster not healthy after %v: %v", clusterTimeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *Cluster) healthy() error {
	running := 0
	for _, s := range c.Nodes {
		if !s.Running() {
			continue
		}
		running++
		m, err := Info(s.Addr, "cluster")
		if err != nil {
			return err
		}
		if m["cluster_enabled"] != "1" {
			return fmt.Errorf("%s: cluster not enabled", s.Addr)
		}
		cc := nodeClient(s.Addr)
		ci, err := cc.ClusterInfo(context.Background()).Result()
		cc.Close()
		if err != nil {
			return err
		}
		if !strings.Contains(ci, "cluster_state:ok") {
			return fmt.Errorf("%s: cluster_state not ok", s.Addr)
		}
	}
	masters := c.Masters()
	if len(masters) != 3 {
		return fmt.Errorf("%d masters", len(masters))
	}
	if running == len(c.Nodes) {
		for _, m := range masters {
			info, err := Info(m.Addr, "replication")
			if err != nil {
				return err
			}
			if info["connected_slaves"] != "1" || !strings.Contains(info["slave0"], "state=online") {
				return fmt.Errorf("master %s: replica not online", m.Addr)
			}
		}
	}
	return nil
}

// Sentinel is a Redis master with one replica, watched by three sentinels
// under the name MasterName, started by RedisSentinel.
type Sentinel struct {
	// MasterName is the name the sentinels monitor the master under.
	MasterName string
	// Data are the master (first, as started) and the replica; which is
	// the master changes with failovers (see MasterAddr).
	Data []*Server
	// Sentinels are the three sentinels; Addrs their addresses.
	Sentinels []*Server
	Addrs     []string

	t testing.TB
}

// SentinelDownAfter is the sentinels' down-after-milliseconds: a master not
// answering for this long is failed over.
const SentinelDownAfter = time.Second

// RedisSentinel starts a redis-server master, a replica of it, and three
// sentinels (redis-server sentinel.conf --sentinel, each with a writable
// configuration in its own temporary directory) monitoring the master as
// "mymaster" with a quorum of 2, waits until every sentinel sees the
// replica and the other two sentinels, and stops them all when the test
// ends. It skips t when redis-server is not installed (see RequireEnv).
func RedisSentinel(t testing.TB) *Sentinel {
	t.Helper()
	master := Redis(t)
	_, mport, _ := strings.Cut(master.Addr, ":")
	replica := Redis(t, "--replicaof", "127.0.0.1", mport)
	s := &Sentinel{MasterName: "mymaster", Data: []*Server{master, replica}, t: t}
	conf := fmt.Sprintf("sentinel monitor %[1]s 127.0.0.1 %[2]s 2\n"+
		"sentinel down-after-milliseconds %[1]s %[3]d\n"+
		"sentinel failover-timeout %[1]s 10000\n"+
		"sentinel parallel-syncs %[1]s 1\n", s.MasterName, mport, SentinelDownAfter/time.Millisecond)
	for range 3 {
		sn := start(t, redisSentinel, nil, conf)
		s.Sentinels = append(s.Sentinels, sn)
		s.Addrs = append(s.Addrs, sn.Addr)
	}
	s.WaitHealthy()
	return s
}

// MasterAddr returns the master's address as the first answering sentinel
// reports it.
func (s *Sentinel) MasterAddr() (string, error) {
	var lastErr error
	for _, sn := range s.Sentinels {
		if !sn.Running() {
			continue
		}
		sc := goredis.NewSentinelClient(&goredis.Options{Addr: sn.Addr, DialTimeout: time.Second, ReadTimeout: time.Second})
		a, err := sc.GetMasterAddrByName(context.Background(), s.MasterName).Result()
		sc.Close()
		if err != nil {
			lastErr = err
			continue
		}
		if len(a) == 2 {
			return a[0] + ":" + a[1], nil
		}
	}
	return "", fmt.Errorf("no sentinel answers: %v", lastErr)
}

// Master returns the data server that is the master now.
func (s *Sentinel) Master() *Server {
	s.t.Helper()
	addr, err := s.MasterAddr()
	if err != nil {
		s.t.Fatalf("testserver: %v", err)
	}
	for _, d := range s.Data {
		if d.Addr == addr {
			return d
		}
	}
	s.t.Fatalf("testserver: sentinels name master %s, which is none of ours", addr)
	return nil
}

// WaitHealthy waits until every running sentinel sees the other running
// sentinels and a master with one online replica (when both data servers
// run), and the replica's link to it is up; it fails the test after a
// minute.
func (s *Sentinel) WaitHealthy() {
	s.t.Helper()
	deadline := time.Now().Add(clusterTimeout)
	for {
		err := s.healthy()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("testserver: sentinel setup not healthy after %v: %v", clusterTimeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *Sentinel) healthy() error {
	running := 0
	for _, sn := range s.Sentinels {
		if sn.Running() {
			running++
		}
	}
	dataUp := 0
	for _, d := range s.Data {
		if d.Running() {
			dataUp++
		}
	}
	for _, sn := range s.Sentinels {
		if !sn.Running() {
			continue
		}
		sc := goredis.NewSentinelClient(&goredis.Options{Addr: sn.Addr, DialTimeout: time.Second, ReadTimeout: time.Second})
		m, err := sc.Master(context.Background(), s.MasterName).Result()
		sc.Close()
		if err != nil {
			return fmt.Errorf("sentinel %s: %w", sn.Addr, err)
		}
		if strings.Contains(m["flags"], "down") || strings.Contains(m["flags"], "failover") {
			return fmt.Errorf("sentinel %s: master flags %s", sn.Addr, m["flags"])
		}
		if got := m["num-other-sentinels"]; got != strconv.Itoa(running-1) {
			return fmt.Errorf("sentinel %s sees %s other sentinels", sn.Addr, got)
		}
		if dataUp == 2 && m["num-slaves"] != "1" {
			return fmt.Errorf("sentinel %s sees %s replicas", sn.Addr, m["num-slaves"])
		}
	}
	addr, err := s.MasterAddr()
	if err != nil {
		return err
	}
	if dataUp == 2 {
		info, err := Info(addr, "replication")
		if err != nil {
			return err
		}
		if info["role"] != "master" || info["connected_slaves"] != "1" || !strings.Contains(info["slave0"], "state=online") {
			return fmt.Errorf("master %s: role %s, replica not online", addr, info["role"])
		}
	}
	return nil
}
