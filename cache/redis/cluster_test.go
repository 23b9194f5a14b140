package redis_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/cache/failopen"
	"github.com/fragcache/fragcache/cache/redis"
	"github.com/fragcache/fragcache/internal/testserver"
)

// clusterSchemes opens cluster and sentinel URLs without the fail-open
// wrapper.
var clusterSchemes = cache.Schemes{"redis+cluster": redis.Open, "rediss+cluster": redis.Open, "redis+sentinel": redis.Open}

// TestHAURLs checks the errors of bad Cluster and Sentinel URLs, which
// name what is wrong and never show a password, and that good ones open
// without a server.
func TestHAURLs(t *testing.T) {
	const pw = "s3cretPW"
	for _, tc := range []struct{ url, want string }{
		{"redis+cluster://h1;h2/1", "database 1: Redis Cluster has only database 0"},
		{"redis+cluster://h1?db=2", "database 2: Redis Cluster has only database 0"},
		{"redis+cluster://h1?near_cache=1", "near_cache=1 is not available over Redis Cluster"},
		{"rediss+cluster://h1?near_cache=1", "near_cache=1 is not available over Redis Cluster"},
		{"redis+sentinel://s1?master=m&near_cache=1", "near_cache=1 is not available over Redis Sentinel"},
		{"redis+cluster://h1?master=m", `unknown option "master"`},
		{"redis+cluster://h1?replica_reads=1", `unknown option "replica_reads"`},
		{"redis+sentinel://s1;s2", "master=NAME is required"},
		{"redis+sentinel://s1?master=", "master=NAME is required"},
		{"redis+sentinel://s1?master=m&master=n", "master"},
		{"redis+sentinel://s1?master=m&replica_reads=maybe", "replica_reads"},
		{"redis+sentinel://s1?master=m&sentinel_password=" + pw + "&nonsense=1", `unknown option "nonsense"`},
		{"redis+sentinel://:" + pw + "@s1:x?master=m", "port"},
		{"redis+cluster://:" + pw + "@h1:6379/3", "only database 0"},
		{"redis+sentinel://s1/1;s2/2?master=m", "databases 1 and 2"},
		{"redis+cluster://h1;h2?pool_size=0", "pool_size"},
	} {
		checkURLError(t, clusterSchemes, tc.url, tc.want, pw)
	}
	checkURLsOpen(t, clusterSchemes,
		"redis+cluster://h1:7000;h2:7001;h3:7002", "redis+cluster://u:p@h1:7000,h2:7001/0?pool_size=4",
		"rediss+cluster://h1:7000", "redis+sentinel://s1;s2;s3/2?master=mymaster&replica_reads=1",
		"redis+sentinel://:pw@s1:26380?master=m&sentinel_username=u&sentinel_password=p&op_timeout=50ms",
	)
	for _, o := range []redis.Options{
		{Cluster: true, DB: 1},
		{Cluster: true, Near: &redis.NearOptions{}},
		{Sentinel: &redis.SentinelOptions{}},
		{Sentinel: &redis.SentinelOptions{MasterName: "m"}, Cluster: true},
		{Sentinel: &redis.SentinelOptions{MasterName: "m"}, Near: &redis.NearOptions{}},
	} {
		if _, err := redis.New(o); !errors.Is(err, cache.ErrInvalidOption) {
			t.Errorf("New(%+v): %v, want ErrInvalidOption", o, err)
		}
	}
	// A sentinel address without a port takes 26379.
	b, err := redis.New(redis.Options{Addrs: []string{"s1"}, Sentinel: &redis.SentinelOptions{MasterName: "m"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, _, err := b.Get(bg, "k"); err == nil || !strings.Contains(err.Error(), "s1:26379") {
		t.Errorf("Get over an unreachable sentinel: %v, want it to name s1:26379", err)
	}
}

// openHA opens a cluster or sentinel URL without fail-open.
func openHA(t testing.TB, url string, opts ...cache.Option) *cache.Cache {
	t.Helper()
	c, err := cache.Open(url, clusterSchemes, opts...)
	if err != nil {
		t.Fatalf("Open(%q): %v", url, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestCluster runs everything on one 3-master/3-replica Redis Cluster,
// started once for the package (a cluster takes a few seconds to form);
// the failover test, which kills a master, comes last.
func TestCluster(t *testing.T) {
	cl := testserver.RedisCluster(t)
	url := "redis+cluster://" + strings.Join(cl.Addrs[:3], ";")

	t.Run("Conformance", func(t *testing.T) {
		conformance(t, func(t testing.TB, opts ...cache.Option) *cache.Cache { return openHA(t, url, opts...) })
	})
	t.Run("TLSAttempted", func(t *testing.T) {
		// rediss+cluster:// speaks TLS: the plain-text nodes fail it.
		c := openHA(t, "rediss+cluster://"+strings.Join(cl.Addrs[:3], ";")+"?read_timeout=300ms&max_retries=0&op_timeout=500ms")
		if _, _, err := c.Get(bg, "k"); err == nil {
			t.Error("rediss+cluster:// talked to plain-text nodes")
		}
	})
	t.Run("CrossSlot", func(t *testing.T) { testClusterCrossSlot(t, cl, url) })
	t.Run("GetManyOnePipelinePerMaster", func(t *testing.T) { testClusterGetManyPerMaster(t, cl, url) })
	t.Run("Failover", func(t *testing.T) { testClusterFailover(t, cl, url) })
}

// slotOwners returns a function giving the address of the master that
// owns a key's slot now.
func slotOwners(t testing.TB, cl *testserver.Cluster) func(key string) string {
	t.Helper()
	cc := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: cl.Addrs})
	t.Cleanup(func() { cc.Close() })
	slots, err := cc.ClusterSlots(bg).Result()
	if err != nil {
		t.Fatal(err)
	}
	return func(key string) string {
		s := int(cc.ClusterKeySlot(bg, key).Val())
		for _, r := range slots {
			if s >= int(r.Start) && s <= int(r.End) {
				return r.Nodes[0].Addr
			}
		}
		t.Fatalf("no owner for slot %d", s)
		return ""
	}
}

// testClusterCrossSlot checks the multi-key operations on keys of every
// master: GetMany, SetMany, DeleteMany, DeletePattern and Clear.
func testClusterCrossSlot(t *testing.T, cl *testserver.Cluster, url string) {
	c := openHA(t, url)
	if err := c.Clear(bg); err != nil {
		t.Fatal(err)
	}
	owner := slotOwners(t, cl)
	var keys []string
	byMaster := map[string]int{}
	vals := map[string][]byte{}
	for i := range 30 {
		k := "k" + strconv.Itoa(i)
		keys = append(keys, k)
		vals[k] = []byte("v" + strconv.Itoa(i))
		byMaster[owner(c.MakeKey(k))]++
	}
	if len(byMaster) != 3 {
		t.Fatalf("keys on %d masters, want 3: %v", len(byMaster), byMaster)
	}
	if failed, err := c.SetMany(bg, vals, cache.Seconds(60)); err != nil || len(failed) != 0 {
		t.Fatalf("SetMany: %v, %v", failed, err)
	}
	got, err := c.GetMany(bg, append(keys, "absent"))
	if err != nil || len(got) != len(keys) {
		t.Fatalf("GetMany: %d values, %v", len(got), err)
	}
	for k, v := range vals {
		if string(got[k]) != string(v) {
			t.Errorf("GetMany[%s] = %q, want %q", k, got[k], v)
		}
	}
	// Each value lives on its slot's master, with its expiry.
	for _, k := range keys[:5] {
		m := goredis.NewClient(&goredis.Options{Addr: owner(c.MakeKey(k))})
		ttl, err := m.TTL(bg, c.MakeKey(k)).Result()
		m.Close()
		if err != nil || ttl <= 0 || ttl > 60*time.Second {
			t.Errorf("TTL of %s on its master: %v, %v", k, ttl, err)
		}
	}
	if err := c.DeleteMany(bg, keys[:10]); err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetMany(bg, keys); err != nil || len(got) != 20 {
		t.Fatalf("after DeleteMany of 10: %d values, %v", len(got), err)
	}
	// Forever, then expired: SetMany deletes.
	if _, err := c.SetMany(bg, map[string][]byte{"f1": []byte("1"), "f2": []byte("2")}, cache.Forever); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetMany(bg, map[string][]byte{"k10": nil, "k11": nil}, cache.Expired); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Has(bg, "k10"); ok {
		t.Error("SetMany with an expired timeout left k10")
	}
	if ok, _ := c.Has(bg, "f1"); !ok {
		t.Error("SetMany Forever lost f1")
	}
	// A pattern delete scans every master.
	rb := c.Backend().(*redis.Backend)
	n, err := rb.DeletePattern(bg, redis.EscapePattern(c.MakeKey("k"))+"*")
	if err != nil || n != 18 {
		t.Errorf("DeletePattern: %d, %v; want 18", n, err)
	}
	if err := c.Clear(bg); err != nil {
		t.Fatal(err)
	}
	for _, m := range cl.Masters() {
		cm := goredis.NewClient(&goredis.Options{Addr: m.Addr})
		if n, err := cm.DBSize(bg).Result(); err != nil || n != 0 {
			t.Errorf("master %s after Clear: %d keys, %v", m.Addr, n, err)
		}
		cm.Close()
	}
	// A lease and its fresh key share their key's slot ({K} is a hash
	// tag), so a key and its side keys live on one master.
	for _, k := range []string{":1:a", ":1:template.cache.x.d41d8cd98f00b204e9800998ecf8427e"} {
		if a, b := owner(k), owner(cache.LeaseKey(k)); a != b {
			t.Errorf("%s on %s, its lease on %s", k, a, b)
		}
	}
}

// callsPerMaster returns each master's count of calls of cmd (INFO
// commandstats).
func callsPerMaster(t testing.TB, masters []*testserver.Server, cmd string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, m := range masters {
		out[m.Addr] = commandCalls(t, direct(t, m.Addr, 0, ""), cmd)
	}
	return out
}

// pipelineCounter counts the pipelines each node client sends.
type pipelineCounter struct {
	mu    sync.Mutex
	n     map[string]int
	inner map[string]int // commands per node
	delay atomic.Int64   // nanoseconds each pipeline is held before it is sent
}

func (p *pipelineCounter) hook(addr string) goredis.Hook { return &nodeHook{p, addr} }

type nodeHook struct {
	p    *pipelineCounter
	addr string
}

func (h *nodeHook) DialHook(next goredis.DialHook) goredis.DialHook          { return next }
func (h *nodeHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook { return next }
func (h *nodeHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		h.p.mu.Lock()
		h.p.n[h.addr]++
		h.p.inner[h.addr] += len(cmds)
		h.p.mu.Unlock()
		time.Sleep(time.Duration(h.p.delay.Load()))
		return next(ctx, cmds)
	}
}

// testClusterGetManyPerMaster checks that GetMany of 20 keys over 3
// masters sends one pipeline to each master (a hook on every node client
// counts them; each master's INFO commandstats counts the GETs it got),
// concurrently: with each pipeline held 100ms before it is sent, the call
// takes about 100ms, not the 300ms of one master after the other.
func testClusterGetManyPerMaster(t *testing.T, cl *testserver.Cluster, url string) {
	c := openHA(t, url)
	rb := c.Backend().(*redis.Backend)
	pc := &pipelineCounter{n: map[string]int{}, inner: map[string]int{}}
	rb.Cluster().OnNewNode(func(n *goredis.Client) { n.AddHook(pc.hook(n.Options().Addr)) })
	if err := c.Clear(bg); err != nil {
		t.Fatal(err)
	}
	owner := slotOwners(t, cl)
	vals := map[string][]byte{}
	var keys []string
	want := map[string]int{}
	for i := range 20 {
		k := "frag" + strconv.Itoa(i)
		keys = append(keys, k)
		vals[k] = []byte(strings.Repeat("x", 100))
		want[owner(c.MakeKey(k))]++
	}
	if _, err := c.SetMany(bg, vals, cache.Seconds(60)); err != nil {
		t.Fatal(err)
	}
	masters := cl.Masters()
	before := callsPerMaster(t, masters, "get")
	pc.mu.Lock()
	clear(pc.n)
	clear(pc.inner)
	pc.mu.Unlock()
	got, err := c.GetMany(bg, keys)
	if err != nil || len(got) != 20 {
		t.Fatalf("GetMany: %d values, %v", len(got), err)
	}
	after := callsPerMaster(t, masters, "get")
	for _, m := range masters {
		if d := after[m.Addr] - before[m.Addr]; d != want[m.Addr] {
			t.Errorf("master %s got %d GETs, want %d (its keys)", m.Addr, d, want[m.Addr])
		}
	}
	pc.mu.Lock()
	for _, m := range masters {
		if pc.n[m.Addr] != 1 || pc.inner[m.Addr] != want[m.Addr] {
			t.Errorf("master %s: %d pipelines of %d commands, want 1 of %d", m.Addr, pc.n[m.Addr], pc.inner[m.Addr], want[m.Addr])
		}
	}
	pc.mu.Unlock()
	if len(want) != 3 {
		t.Errorf("20 keys on %d masters, want 3", len(want))
	}
	const hold = 100 * time.Millisecond
	pc.delay.Store(int64(hold))
	start := time.Now()
	got, err = c.GetMany(bg, keys)
	took := time.Since(start)
	pc.delay.Store(0)
	if err != nil || len(got) != 20 {
		t.Fatalf("GetMany with held pipelines: %d values, %v", len(got), err)
	}
	if took >= 2*hold {
		t.Errorf("GetMany over 3 masters, each pipeline held %v, took %v: the pipelines are not sent concurrently", hold, took)
	}
}

// testClusterFailover kills a master under load through the fail-open
// wrapper (the backends package's redis+cluster opener): no call returns an
// error, the keys of the other masters keep hitting, and the dead master's
// keys hit again once its replica has taken over, without reopening.
func testClusterFailover(t *testing.T, cl *testserver.Cluster, url string) {
	c, err := backends.Open(url + "?cool_down=200ms&op_timeout=200ms")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	owner := slotOwners(t, cl)
	victim := cl.Masters()[0]
	vals := map[string][]byte{}
	var victimKeys, otherKeys []string
	for i := range 60 {
		k := "load" + strconv.Itoa(i)
		vals[k] = []byte("v")
		if owner(c.MakeKey(k)) == victim.Addr {
			victimKeys = append(victimKeys, k)
		} else {
			otherKeys = append(otherKeys, k)
		}
	}
	if _, err := c.SetMany(bg, vals, cache.Forever); err != nil {
		t.Fatal(err)
	}
	// With Redis's default (yes) every node refuses every key from when
	// the master is marked failed to the end of the failover; with no,
	// the other masters' keys keep hitting, which this test checks.
	for _, n := range cl.Nodes {
		must(t, direct(t, n.Addr, 0, "").ConfigSet(bg, "cluster-require-full-coverage", "no").Err())
	}
	// Let the replicas catch up with the writes (WAIT on each master).
	for _, m := range cl.Masters() {
		cm := goredis.NewClient(&goredis.Options{Addr: m.Addr})
		cm.Do(bg, "WAIT", 1, 2000)
		cm.Close()
	}

	var (
		stop             atomic.Bool
		errs, gets, hits atomic.Int64
		victimHitAfterAt atomic.Int64 // unix ns of the first victim hit after a miss after the kill
		victimMissed     atomic.Bool  // a victim key missed after the kill
		killedAt         atomic.Int64
		otherMissesAfter atomic.Int64
		otherGetsDuring  atomic.Int64
		wg               sync.WaitGroup
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				k := victimKeys[(i+w)%len(victimKeys)]
				if i%2 == 1 {
					k = otherKeys[(i+w)%len(otherKeys)]
				}
				_, ok, err := c.Get(bg, k)
				gets.Add(1)
				if err != nil {
					errs.Add(1)
					continue
				}
				if ok {
					hits.Add(1)
				}
				if ka := killedAt.Load(); ka != 0 {
					if i%2 == 1 {
						otherGetsDuring.Add(1)
						if !ok {
							otherMissesAfter.Add(1)
						}
					} else if !ok {
						victimMissed.Store(true)
					} else if victimMissed.Load() {
						victimHitAfterAt.CompareAndSwap(0, time.Now().UnixNano())
					}
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	stopPages := pageLoad(t, c)
	time.Sleep(300 * time.Millisecond)
	kill := time.Now()
	victim.Stop()
	killedAt.Store(kill.UnixNano())
	// The cluster's own failover: when a replica reports itself master.
	var promoted time.Duration
	deadline := time.Now().Add(30 * time.Second)
	for victimHitAfterAt.Load() == 0 && time.Now().Before(deadline) {
		if promoted == 0 && len(cl.Masters()) == 3 {
			promoted = time.Duration(time.Now().UnixNano() - killedAt.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if pages, bad, first := stopPages(); pages == 0 || bad != 0 {
		t.Errorf("pages rendered during the failover: %d of %d not a 200 with every fragment (first: %s)", bad, pages, first)
	} else {
		t.Logf("%d pages of 12 fragments rendered during the failover, every one a 200", pages)
	}
	resumed := time.Duration(victimHitAfterAt.Load() - killedAt.Load())
	if victimHitAfterAt.Load() == 0 {
		t.Fatalf("the dead master's keys never hit again within 30s")
	}
	if promoted == 0 {
		promoted = resumed // hits came back before the poll saw the promotion
	}
	if errs.Load() != 0 {
		t.Errorf("%d of %d gets returned errors (fail-open must turn them into misses)", errs.Load(), gets.Load())
	}
	t.Logf("killed master %s: a replica took over after %v (cluster-node-timeout %v), its keys hit again after %v (%v later); %d gets, %d hits; other masters' keys: %d misses of %d gets after the kill",
		victim.Addr, promoted.Round(time.Millisecond), testserver.ClusterNodeTimeout, resumed.Round(time.Millisecond), (resumed - promoted).Round(time.Millisecond),
		gets.Load(), hits.Load(), otherMissesAfter.Load(), otherGetsDuring.Load())
	// The failures became misses, and were counted.
	if br, ok := c.Backend().(failopen.Breaker); !ok || br.Stats().Failures == 0 {
		t.Errorf("no failures counted by the fail-open wrapper (%T)", c.Backend())
	}
	// One breaker guards the whole cluster, but the other masters'
	// successes keep it closed.
	if m, n := otherMissesAfter.Load(), otherGetsDuring.Load(); n == 0 || m*4 > n {
		t.Errorf("other masters' keys: %d misses of %d gets after the kill, want under a quarter", m, n)
	}
	// The goal is the cluster's failover time + 1s; the bound leaves
	// room for a loaded CI machine.
	if limit := promoted + 3*time.Second; resumed > limit {
		t.Errorf("hits resumed %v after the kill, %v after the failover, want under %v", resumed, resumed-promoted, limit)
	}
}
