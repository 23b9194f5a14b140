package redis_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/cache/cachetest"
	"github.com/fragcache/fragcache/cache/failopen"
	"github.com/fragcache/fragcache/cache/redis"
	"github.com/fragcache/fragcache/internal/golden"
	"github.com/fragcache/fragcache/internal/testserver"
)

var bg = context.Background()

func TestMain(m *testing.M) {
	// go-redis logs every refused dial; the failure tests make many.
	goredis.SetLogger(quietLogger{})
	os.Exit(m.Run())
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// schemes opens redis URLs without the fail-open wrapper.
var schemes = cache.Schemes{"redis": redis.Open, "rediss": redis.Open}

// open opens a cache from a URL and closes it when the test ends.
func open(t testing.TB, url string, opts ...cache.Option) *cache.Cache {
	t.Helper()
	c, err := cache.Open(url, schemes, opts...)
	if err != nil {
		t.Fatalf("Open(%q): %v", url, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// direct returns a plain go-redis client to srv's database db.
func direct(t testing.TB, addr string, db int, password string) *goredis.Client {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr, DB: db, Password: password})
	t.Cleanup(func() { c.Close() })
	return c
}

func TestConformance(t *testing.T) {
	srv := testserver.Redis(t)
	conformance(t, func(t testing.TB, opts ...cache.Option) *cache.Cache {
		return open(t, "redis://"+srv.Addr+"/0", opts...)
	})
}

// conformance runs the conformance suite on caches from open, cleared
// before each use.
func conformance(t *testing.T, open func(t testing.TB, opts ...cache.Option) *cache.Cache) {
	cachetest.Run(t, cachetest.Harness{
		New: func(t testing.TB, _ func() time.Time, opts ...cache.Option) *cache.Cache {
			c := open(t, opts...)
			if err := c.Clear(bg); err != nil {
				t.Fatal(err)
			}
			return c
		},
		Granularity: time.Second,
		AtomicIncr:  true,
		AtomicAdd:   true,
		Leases:      true,
		Indexes:     true,
		Semantics:   cachetest.DjangoRedis,
	})
}

// TestGoldenBackendTimeout checks the TTL each timeout of Django's
// get_backend_timeout vectors for Redis leaves on the key: null is no
// expiry, 0 deletes, n is EX n.
func TestGoldenBackendTimeout(t *testing.T) {
	var vec struct {
		Backends map[string]struct {
			GetBackendTimeout []struct {
				Timeout string   `json:"timeout"`
				OK      *float64 `json:"ok"`
			} `json:"get_backend_timeout"`
			RawStorage map[string]any `json:"raw_storage"`
		} `json:"backends"`
	}
	if err := golden.Decode("backend_api", golden.Newest, &vec); err != nil {
		t.Fatal(err)
	}
	cases := vec.Backends["redis"].GetBackendTimeout
	if len(cases) == 0 {
		t.Fatal("no redis get_backend_timeout vectors")
	}
	srv := testserver.Redis(t)
	c := open(t, "redis://"+srv.Addr)
	rc := direct(t, srv.Addr, 0, "")
	for i, tc := range cases {
		var to cache.Timeout
		switch tc.Timeout {
		case "DEFAULT":
			to = cache.DefaultTimeout
		case "None":
			to = cache.Forever
		default:
			f, err := strconv.ParseFloat(tc.Timeout, 64)
			if err != nil {
				t.Fatal(err)
			}
			to = cache.Seconds(f)
		}
		for _, op := range []string{"Set", "Add", "SetMany", "Touch"} {
			key := fmt.Sprintf("k%d%s", i, op)
			switch op {
			case "Set":
				err := c.Set(bg, key, []byte("v"), to)
				must(t, err)
			case "Add":
				_, err := c.Add(bg, key, []byte("v"), to)
				must(t, err)
			case "SetMany":
				_, err := c.SetMany(bg, map[string][]byte{key: []byte("v")}, to)
				must(t, err)
			case "Touch":
				must(t, c.Set(bg, key, []byte("v"), cache.Seconds(7)))
				ok, err := c.Touch(bg, key, to)
				must(t, err)
				if !ok {
					t.Errorf("Touch(%s) of an existing key = false", tc.Timeout)
				}
			}
			ttl, err := rc.Do(bg, "TTL", c.MakeKey(key)).Int64()
			must(t, err)
			switch {
			case tc.OK == nil:
				if ttl != -1 {
					t.Errorf("%s with timeout %s: TTL %d, want -1 (no expiry)", op, tc.Timeout, ttl)
				}
			case *tc.OK == 0:
				if ttl != -2 {
					t.Errorf("%s with timeout %s: TTL %d, want -2 (deleted)", op, tc.Timeout, ttl)
				}
			default:
				if float64(ttl) != *tc.OK {
					t.Errorf("%s with timeout %s: TTL %d, want %v", op, tc.Timeout, ttl, *tc.OK)
				}
			}
		}
	}
	// Spec and brief: 10 → 10, -5 → deleted, a fraction under a second →
	// int(0.5) = 0 → deleted.
	for _, tc := range []struct {
		to   cache.Timeout
		want int64
	}{{cache.Seconds(10), 10}, {cache.Seconds(-5), -2}, {cache.Seconds(0.5), -2}, {cache.Seconds(100), 100}, {cache.Seconds(1.999), 1}} {
		must(t, c.Set(bg, "x", []byte("v"), tc.to))
		if ttl, _ := rc.Do(bg, "TTL", ":1:x").Int64(); ttl != tc.want {
			t.Errorf("Set with %s: TTL %d, want %d", tc.to, ttl, tc.want)
		}
	}
	// raw_storage: ttl_for_timeout_100.
	raw := vec.Backends["redis"].RawStorage
	if want, ok := raw["ttl_for_timeout_100"].(float64); !ok || want != 100 {
		t.Fatalf("golden ttl_for_timeout_100 = %v", raw["ttl_for_timeout_100"])
	}
}

// TestRawStorage: values are stored as the bytes given, so a decimal
// integer is stored as Django's RedisSerializer stores an int, under the
// same made key.
func TestRawStorage(t *testing.T) {
	var vec struct {
		Backends map[string]struct {
			RawStorage struct {
				Int, Neg, Str, Bytes json
			} `json:"raw_storage"`
		} `json:"backends"`
	}
	if err := golden.Decode("backend_api", golden.Newest, &vec); err != nil {
		t.Fatal(err)
	}
	srv := testserver.Redis(t)
	c := open(t, "redis://"+srv.Addr)
	rc := direct(t, srv.Addr, 0, "")
	rs := vec.Backends["redis"].RawStorage
	for name, r := range map[string]json{"int": rs.Int, "neg": rs.Neg, "str": rs.Str, "bytes": rs.Bytes} {
		if r.Key == "" {
			t.Fatalf("no raw_storage vector %q", name)
		}
		raw := r.bytes(t)
		key := strings.TrimPrefix(r.Key, ":1:")
		must(t, c.Set(bg, key, raw, cache.Forever))
		got, err := rc.Get(bg, r.Key).Bytes()
		must(t, err)
		if string(got) != string(raw) {
			t.Errorf("%s: stored %x, want %x", name, got, raw)
		}
		if ttl, _ := rc.TTL(bg, r.Key).Result(); ttl != -1 {
			t.Errorf("%s: TTL %v, want none (-1)", name, ttl)
		}
		// What Django stored reads back as the same bytes.
		back, ok, err := c.Get(bg, key)
		if err != nil || !ok || string(back) != string(raw) {
			t.Errorf("%s: Get = %x, %v, %v", name, back, ok, err)
		}
	}
	// Incr works on what Django stores for an int (ASCII decimal).
	must(t, rc.Set(bg, ":1:django_int", "41", 0).Err())
	if n, err := c.Incr(bg, "django_int", 1); err != nil || n != 42 {
		t.Errorf("Incr on Django's int = %d, %v; want 42", n, err)
	}
}

type json struct {
	Key string `json:"key"`
	Raw struct {
		Hex string `json:"bytes_hex"`
	} `json:"raw"`
}

func (j json) bytes(t testing.TB) []byte {
	t.Helper()
	b := make([]byte, len(j.Raw.Hex)/2)
	for i := range b {
		n, err := strconv.ParseUint(j.Raw.Hex[2*i:2*i+2], 16, 8)
		if err != nil {
			t.Fatal(err)
		}
		b[i] = byte(n)
	}
	return b
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestDjangoCommands checks the edge cases where Django's Redis backend
// sends particular commands.
func TestDjangoCommands(t *testing.T) {
	srv := testserver.Redis(t)
	c := open(t, "redis://"+srv.Addr)
	rc := direct(t, srv.Addr, 0, "")

	// add with timeout 0: SET NX, then DEL; True when stored.
	if ok, err := c.Add(bg, "a0", []byte("v"), cache.Expired); err != nil || !ok {
		t.Errorf("Add(Expired) on an absent key = %v, %v; want true", ok, err)
	}
	if n, _ := rc.Exists(bg, ":1:a0").Result(); n != 0 {
		t.Error("Add(Expired) left the key")
	}
	// …and False over an existing key, which it leaves alone.
	must(t, c.Set(bg, "a1", []byte("old"), cache.Forever))
	if ok, err := c.Add(bg, "a1", []byte("v"), cache.Expired); err != nil || ok {
		t.Errorf("Add(Expired) on an existing key = %v, %v; want false", ok, err)
	}
	if v, _ := rc.Get(bg, ":1:a1").Result(); v != "old" {
		t.Errorf("Add(Expired) over an existing key changed it to %q", v)
	}
	// touch with None: PERSIST. A key that exists without expiry reports
	// true (the Backend contract; Django's PERSIST would say False).
	if ok, err := c.Touch(bg, "a1", cache.Forever); err != nil || !ok {
		t.Errorf("Touch(Forever) on a key without expiry = %v, %v; want true", ok, err)
	}
	must(t, c.Set(bg, "t", []byte("v"), cache.Seconds(50)))
	if ok, err := c.Touch(bg, "t", cache.Forever); err != nil || !ok {
		t.Errorf("Touch(Forever) = %v, %v", ok, err)
	}
	if ttl, _ := rc.TTL(bg, ":1:t").Result(); ttl != -1 {
		t.Errorf("after Touch(Forever) TTL = %v, want -1", ttl)
	}
	if ok, err := c.Touch(bg, "missing", cache.Forever); err != nil || ok {
		t.Errorf("Touch(Forever) on a missing key = %v, %v; want false", ok, err)
	}
	// touch with 0: EXPIRE k 0 deletes the key and reports it existed.
	if ok, err := c.Touch(bg, "t", cache.Seconds(0.4)); err != nil || !ok {
		t.Errorf("Touch(0.4 s) = %v, %v; want true", ok, err)
	}
	if n, _ := rc.Exists(bg, ":1:t").Result(); n != 0 {
		t.Error("Touch(0.4 s) left the key: int(0.4) is 0, which expires it")
	}
	// Set of a 0.5 s timeout over a stored value deletes it (int(0.5) = 0).
	must(t, c.Set(bg, "half", []byte("v"), cache.Forever))
	must(t, c.Set(bg, "half", []byte("w"), cache.Seconds(0.5)))
	if n, _ := rc.Exists(bg, ":1:half").Result(); n != 0 {
		t.Error("Set(0.5 s) left the key")
	}
	// set_many with expiry: MSET, then EXPIRE each key.
	_, err := c.SetMany(bg, map[string][]byte{"m1": []byte("1"), "m2": []byte("2")}, cache.Seconds(30))
	must(t, err)
	for _, k := range []string{":1:m1", ":1:m2"} {
		if ttl, _ := rc.TTL(bg, k).Result(); ttl != 30*time.Second {
			t.Errorf("SetMany: TTL of %s = %v, want 30s", k, ttl)
		}
	}
	// Empty batches are no-ops.
	if m, err := c.GetMany(bg, nil); err != nil || len(m) != 0 {
		t.Errorf("GetMany(nil) = %v, %v", m, err)
	}
	must(t, c.DeleteMany(bg, nil))
	// A stored empty value is a hit.
	must(t, c.Set(bg, "empty", nil, cache.DefaultTimeout))
	if v, ok, err := c.Get(bg, "empty"); err != nil || !ok || len(v) != 0 {
		t.Errorf("Get(empty) = %q, %v, %v", v, ok, err)
	}
	// Binary values round-trip.
	bin := make([]byte, 256)
	for i := range bin {
		bin[i] = byte(i)
	}
	must(t, c.Set(bg, "bin", bin, cache.DefaultTimeout))
	if v, ok, _ := c.Get(bg, "bin"); !ok || string(v) != string(bin) {
		t.Error("binary value changed")
	}
	// Clear is FLUSHDB: keys outside the prefix go too, other databases stay.
	must(t, rc.Set(bg, "foreign", "x", 0).Err())
	other := direct(t, srv.Addr, 1, "")
	must(t, other.Set(bg, "db1", "x", 0).Err())
	must(t, c.Clear(bg))
	if n, _ := rc.DBSize(bg).Result(); n != 0 {
		t.Errorf("after Clear, DBSIZE = %d", n)
	}
	if n, _ := other.Exists(bg, "db1").Result(); n != 1 {
		t.Error("Clear emptied another database")
	}
}

func TestIncr(t *testing.T) {
	srv := testserver.Redis(t)
	c := open(t, "redis://"+srv.Addr, cache.WithKeyPrefix("app"), cache.WithDefaultVersion(2))
	_, err := c.Incr(bg, "nope", 1)
	if err == nil || err.Error() != "Key 'app:2:nope' not found." {
		t.Errorf("Incr on a missing key: %v; want Django's message with the period", err)
	}
	if !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("Incr on a missing key: %v does not match cache.ErrNotFound", err)
	}
	var knf *redis.KeyNotFoundError
	if !errors.As(err, &knf) || knf.Key != "app:2:nope" {
		t.Errorf("Incr on a missing key: %T %v", err, err)
	}
	if _, err := c.Decr(bg, "nope", 1); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("Decr on a missing key: %v", err)
	}
	// The failed increment created nothing (Django's EXISTS check).
	if ok, _ := c.Has(bg, "nope"); ok {
		t.Error("Incr on a missing key created it")
	}
	must(t, c.Set(bg, "s", []byte("abc"), cache.DefaultTimeout))
	if _, err := c.Incr(bg, "s", 1); !errors.Is(err, cache.ErrNotInteger) || errors.Is(err, cache.ErrNotFound) {
		t.Errorf("Incr on a string: %v", err)
	}
	must(t, c.Set(bg, "n", []byte("9223372036854775806"), cache.Seconds(100)))
	if n, err := c.Incr(bg, "n", 1); err != nil || n != 9223372036854775807 {
		t.Errorf("Incr to MaxInt64 = %d, %v", n, err)
	}
	if _, err := c.Incr(bg, "n", 1); !errors.Is(err, cache.ErrNotInteger) {
		t.Errorf("Incr past MaxInt64: %v", err)
	}
	// Concurrent increments are atomic, and keep the expiry.
	must(t, c.Set(bg, "ctr", []byte("0"), cache.Seconds(100)))
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			for range 50 {
				if _, err := c.Incr(bg, "ctr", 1); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if v, _, _ := c.Get(bg, "ctr"); string(v) != "1000" {
		t.Errorf("after 1000 concurrent Incr: %q", v)
	}
	rc := direct(t, srv.Addr, 0, "")
	if ttl, _ := rc.TTL(bg, "app:2:ctr").Result(); ttl <= 90*time.Second {
		t.Errorf("Incr lost the expiry: TTL %v", ttl)
	}
	// A script flushed from the server is loaded again (EVALSHA falls back
	// to EVAL).
	must(t, rc.ScriptFlush(bg).Err())
	if n, err := c.Incr(bg, "ctr", 1); err != nil || n != 1001 {
		t.Errorf("Incr after SCRIPT FLUSH = %d, %v", n, err)
	}
}

// TestSeveralServers checks Django's routing: writes to the first server,
// reads from a random one of the others.
func TestSeveralServers(t *testing.T) {
	s0, s1, s2 := testserver.Redis(t), testserver.Redis(t), testserver.Redis(t)
	rcs := []*goredis.Client{direct(t, s0.Addr, 0, ""), direct(t, s1.Addr, 0, ""), direct(t, s2.Addr, 0, "")}

	for _, sep := range []string{";", ",", ";redis://"} {
		t.Run("routing"+sep, func(t *testing.T) {
			c := open(t, "redis://"+s0.Addr+sep+s1.Addr+sep+s2.Addr)
			for _, rc := range rcs {
				must(t, rc.FlushDB(bg).Err())
			}
			// Writes go to server 0 only (no replication configured here).
			must(t, c.Set(bg, "w", []byte("v"), cache.DefaultTimeout))
			_, err := c.Add(bg, "a", []byte("v"), cache.DefaultTimeout)
			must(t, err)
			_, err = c.SetMany(bg, map[string][]byte{"m": []byte("1")}, cache.DefaultTimeout)
			must(t, err)
			for i, rc := range rcs {
				n, _ := rc.Exists(bg, ":1:w", ":1:a", ":1:m").Result()
				if want := map[bool]int64{true: 3, false: 0}[i == 0]; n != want {
					t.Errorf("server %d holds %d of the written keys, want %d", i, n, want)
				}
			}
			// Incr, Touch and Delete go to server 0 too.
			if n, err := c.Incr(bg, "m", 1); err != nil || n != 2 {
				t.Errorf("Incr = %d, %v", n, err)
			}
			// Reads go to servers 1 and 2, never 0, both used.
			for i, rc := range rcs {
				must(t, rc.Set(bg, ":1:r", strconv.Itoa(i), 0).Err())
			}
			seen := map[string]int{}
			for range 200 {
				v, ok, err := c.Get(bg, "r")
				must(t, err)
				if ok {
					seen[string(v)]++
				}
				m, err := c.GetMany(bg, []string{"r"})
				must(t, err)
				seen[string(m["r"])]++
			}
			if seen["0"] != 0 || seen["1"] < 100 || seen["2"] < 100 {
				t.Errorf("reads by server: %v; want none from 0 and about half each from 1 and 2", seen)
			}
			// Has reads a replica too.
			must(t, rcs[1].Del(bg, ":1:h").Err())
			must(t, rcs[2].Del(bg, ":1:h").Err())
			must(t, rcs[0].Set(bg, ":1:h", "x", 0).Err())
			if ok, _ := c.Has(bg, "h"); ok {
				t.Error("Has read the primary")
			}
			// Delete and Clear go to server 0.
			if ok, _ := c.Delete(bg, "r"); !ok {
				t.Error("Delete did not find the key on server 0")
			}
			if n, _ := rcs[1].Exists(bg, ":1:r").Result(); n != 1 {
				t.Error("Delete reached a replica")
			}
			must(t, c.Clear(bg))
			if n, _ := rcs[0].DBSize(bg).Result(); n != 0 {
				t.Error("Clear did not empty server 0")
			}
			if n, _ := rcs[1].DBSize(bg).Result(); n == 0 {
				t.Error("Clear reached a replica")
			}
		})
	}

	t.Run("single_server_reads_itself", func(t *testing.T) {
		c := open(t, "redis://"+s0.Addr)
		must(t, c.Set(bg, "only", []byte("v"), cache.DefaultTimeout))
		for range 20 {
			if _, ok, err := c.Get(bg, "only"); err != nil || !ok {
				t.Fatalf("Get = %v, %v", ok, err)
			}
		}
	})

	t.Run("replication", func(t *testing.T) {
		for _, i := range []int{1, 2} {
			host, port, _ := net.SplitHostPort(s0.Addr)
			must(t, rcs[i].Do(bg, "REPLICAOF", host, port).Err())
		}
		t.Cleanup(func() {
			for _, i := range []int{1, 2} {
				rcs[i].Do(bg, "REPLICAOF", "NO", "ONE")
			}
		})
		c := open(t, "redis://"+s0.Addr+";"+s1.Addr+";"+s2.Addr)
		must(t, c.Set(bg, "rep", []byte("v"), cache.DefaultTimeout))
		deadline := time.Now().Add(10 * time.Second)
		for {
			hits := 0
			for range 20 {
				if _, ok, err := c.Get(bg, "rep"); err == nil && ok {
					hits++
				}
			}
			if hits == 20 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("replicas never served the value written to the primary")
			}
			time.Sleep(50 * time.Millisecond)
		}
		// A replica is read-only: writes still work because they go to
		// server 0.
		if n, err := c.Incr(bg, "rep", 1); err == nil {
			t.Errorf("Incr on a non-integer = %d", n)
		}
		must(t, c.Set(bg, "n", []byte("1"), cache.DefaultTimeout))
		if n, err := c.Incr(bg, "n", 1); err != nil || n != 2 {
			t.Errorf("Incr = %d, %v", n, err)
		}
	})
}

func TestDeletePattern(t *testing.T) {
	srv := testserver.Redis(t)
	c := open(t, "redis://"+srv.Addr, cache.WithKeyPrefix("site[1]"))
	rb, ok := cache.As[*redis.Backend](c.Backend())
	if !ok {
		t.Fatal("cache.As found no redis backend")
	}
	const n = 5000
	items := make(map[string][]byte, n)
	for i := range n {
		items[fmt.Sprintf("views.page%d", i)] = []byte("x")
	}
	_, err := c.SetMany(bg, items, cache.DefaultTimeout)
	must(t, err)
	must(t, c.Set(bg, "other", []byte("keep"), cache.DefaultTimeout))
	must(t, c.WithVersion(2).Set(bg, "views.v2", []byte("keep"), cache.DefaultTimeout))
	must(t, c.Set(bg, "views", []byte("keep"), cache.DefaultTimeout))

	// The prefix holds [ and ], special in patterns: escaped, it matches
	// itself.
	pattern := redis.EscapePattern(c.MakeKey("views.")) + "*"
	got, err := rb.DeletePattern(bg, pattern)
	must(t, err)
	if got != n {
		t.Errorf("DeletePattern deleted %d keys, want %d", got, n)
	}
	for _, k := range []string{"other", "views"} {
		if ok, _ := c.Has(bg, k); !ok {
			t.Errorf("DeletePattern deleted %q", k)
		}
	}
	if ok, _ := c.WithVersion(2).Has(bg, "views.v2"); !ok {
		t.Error("DeletePattern deleted a key of another version")
	}
	if ok, _ := c.Has(bg, "views.page42"); ok {
		t.Error("views.page42 survived")
	}
	// Nothing left to match.
	if got, err := rb.DeletePattern(bg, pattern); err != nil || got != 0 {
		t.Errorf("second DeletePattern = %d, %v", got, err)
	}
	// Unescaped, [1] is a character class: it would match "site1:…".
	if redis.EscapePattern(`a*b?[c]\`) != `a\*b\?\[c\]\\` {
		t.Errorf("EscapePattern = %q", redis.EscapePattern(`a*b?[c]\`))
	}
	// A cancelled context stops the walk with an error.
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if _, err := rb.DeletePattern(ctx, "*"); !errors.Is(err, context.Canceled) {
		t.Errorf("DeletePattern with a cancelled context: %v", err)
	}
}

func TestPasswordAndDB(t *testing.T) {
	const pw = "hunter2-Secr3t"
	// The password is set after the start: testserver's readiness probe
	// does not authenticate.
	srv := testserver.Redis(t)
	must(t, direct(t, srv.Addr, 0, "").ConfigSet(bg, "requirepass", pw).Err())
	for _, url := range []string{
		"redis://:" + pw + "@" + srv.Addr + "/3",
		"redis://default:" + pw + "@" + srv.Addr + "/3",
		"redis://" + srv.Addr + "?password=" + pw + "&db=3",
		"redis://" + srv.Addr + "/3?password=" + pw + "&db=3",
		"redis://:" + strings.ReplaceAll(pw, "-", "%2D") + "@" + srv.Addr + "/3",
	} {
		c := open(t, url)
		must(t, c.Set(bg, "k", []byte(url), cache.DefaultTimeout))
		rc := direct(t, srv.Addr, 3, pw)
		if v, _ := rc.Get(bg, ":1:k").Result(); v != url {
			t.Errorf("%s: database 3 holds %q", url, v)
		}
		c.Close()
	}
	// A wrong password fails the operations (not the opening), and no
	// message shows a password.
	c := open(t, "redis://:wrong-"+pw+"@"+srv.Addr+"/3")
	_, _, err := c.Get(bg, "k")
	if err == nil {
		t.Fatal("Get with a wrong password succeeded")
	}
	if strings.Contains(err.Error(), pw) {
		t.Errorf("error shows the password: %v", err)
	}
	c = open(t, "redis://"+srv.Addr+"/3")
	if _, _, err := c.Get(bg, "k"); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Errorf("Get without a password: %v", err)
	}
}

func TestURLErrors(t *testing.T) {
	const pw = "s3cretPW"
	for _, tc := range []struct{ url, want string }{
		{"redis://h:6379/x", `database "x"`},
		{"redis://h:6379/-1", `database "-1"`},
		{"redis://h:6379/16", "database 16 is out of range"},
		{"redis://h:6379?db=16", "database 16 is out of range"},
		{"redis://h:6379?db=-1", "db="},
		{"redis://h:6379?db=abc", "db="},
		{"redis://h:6379/1?db=2", "databases 2 and 1"},
		{"redis://h1:6379/1;h2:6379/2", "databases 1 and 2"},
		{"redis://h:6379/20?databases=16", "out of range"},
		{"redis://h:port", `port "port"`},
		{"redis://h:0", `port "0"`},
		{"redis://::1:6379", "brackets"},
		{"redis://h:6379;memcached://h2:6379", "scheme"},
		{"redis://h?pool_size=0", "pool_size"},
		{"redis://h?dial_timeout=-1s", "dial_timeout"},
		{"redis://h?read_timeout=soon", "read_timeout"},
		{"redis://h?max_retries=x", "max_retries"},
		{"redis://h?nonsense=1", `unknown option "nonsense"`},
		{"redis://:" + pw + "@h:6379/x", "database"},
		{"redis://:" + pw + "@h:port", "port"},
		{"redis://:" + pw + "@h:6379?db=99", "out of range"},
		{"redis://:" + pw + "@h:6379?pool_size=-1", "pool_size"},
		{"redis://:" + pw + "@h:6379?nonsense=1", `unknown option "nonsense"`},
		{"redis://:" + pw + "@h:6379?timeout=soon", "timeout"},
		{"redis://h:6379?password=" + pw + "&nonsense=1", `unknown option "nonsense"`},
		{"redis://h:6379?password=" + pw + "&pool_size=x", "pool_size"},
		{"redis://h:6379?password=" + pw + "&db=77", "out of range"},
		{"redis://:pw;" + pw + "@h:6379", "malformed"},
		{"redis://:" + pw + "@h:6379;h2:x", "malformed"},
		{"redis://h1;h2/1;h3/2", "databases"},
	} {
		checkURLError(t, schemes, tc.url, tc.want, pw)
	}
	// Good URLs open without touching a server.
	checkURLsOpen(t, schemes,
		"redis://", "redis://localhost", "redis://localhost:6380/15", "redis://[::1]:6379/2",
		"redis://u:p@h1:1,h2:2", "redis://h/20?databases=32", "rediss://h:6380",
		"redis://h?dial_timeout=0.2&read_timeout=150ms&write_timeout=0&op_timeout=50ms&pool_size=4&max_retries=0",
		"redis://h/1;redis://h2/1", "redis://h/;h2",
	)
	if _, err := redis.New(redis.Options{Addrs: []string{"h:x"}}); !errors.Is(err, cache.ErrInvalidOption) {
		t.Errorf("New with a bad address: %v", err)
	}
	if _, err := redis.New(redis.Options{DB: -1}); !errors.Is(err, cache.ErrInvalidOption) {
		t.Errorf("New with db -1: %v", err)
	}
}

// checkURLError checks that opening url fails with an error wrapping
// cache.ErrInvalidOption that mentions want and does not show pw.
func checkURLError(t *testing.T, schemes cache.Schemes, url, want, pw string) {
	t.Helper()
	c, err := cache.Open(url, schemes)
	if err == nil {
		c.Close()
		t.Errorf("Open(%q) succeeded", url)
		return
	}
	if !errors.Is(err, cache.ErrInvalidOption) {
		t.Errorf("Open(%q): %v does not wrap ErrInvalidOption", url, err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("Open(%q): %v; want it to mention %q", url, err, want)
	}
	if strings.Contains(err.Error(), pw) {
		t.Errorf("Open(%q): the message shows the password: %v", url, err)
	}
}

// checkURLsOpen checks that the urls open (without a server).
func checkURLsOpen(t *testing.T, schemes cache.Schemes, urls ...string) {
	t.Helper()
	for _, url := range urls {
		c, err := cache.Open(url, schemes)
		if err != nil {
			t.Errorf("Open(%q): %v", url, err)
			continue
		}
		c.Close()
	}
}

// deadPort returns an address nothing listens on.
func deadPort(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestUnreachable: opening succeeds while the server is down, and
// operations fail fast with errors.
func TestUnreachable(t *testing.T) {
	addr := deadPort(t)
	c := open(t, "redis://"+addr)
	ops := map[string]func() error{
		"Get":    func() error { _, _, err := c.Get(bg, "k"); return err },
		"Set":    func() error { return c.Set(bg, "k", []byte("v"), cache.DefaultTimeout) },
		"Add":    func() error { _, err := c.Add(bg, "k", []byte("v"), cache.DefaultTimeout); return err },
		"Delete": func() error { _, err := c.Delete(bg, "k"); return err },
		"Has":    func() error { _, err := c.Has(bg, "k"); return err },
		"Touch":  func() error { _, err := c.Touch(bg, "k", cache.Forever); return err },
		"Incr":   func() error { _, err := c.Incr(bg, "k", 1); return err },
		"GetMany": func() error {
			_, err := c.GetMany(bg, []string{"a", "b"})
			return err
		},
		"SetMany": func() error {
			_, err := c.SetMany(bg, map[string][]byte{"a": nil}, cache.DefaultTimeout)
			return err
		},
		"DeleteMany": func() error { return c.DeleteMany(bg, []string{"a"}) },
		"Clear":      func() error { return c.Clear(bg) },
	}
	for name, op := range ops {
		start := time.Now()
		err := op()
		el := time.Since(start)
		if err == nil {
			t.Errorf("%s on a dead server succeeded", name)
		} else if !strings.Contains(err.Error(), addr) {
			t.Errorf("%s: error %v does not name the server", name, err)
		}
		if el > 500*time.Millisecond {
			t.Errorf("%s took %v on a refused connection", name, el)
		}
	}
	if s := c.Stats(); s.Errors != uint64(len(ops)) {
		t.Errorf("Stats().Errors = %d, want %d", s.Errors, len(ops))
	}
}

// silentServer accepts connections and never answers.
func silentServer(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			cn, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, cn)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, cn := range conns {
			cn.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return l.Addr().String()
}

func TestContextDeadline(t *testing.T) {
	addr := silentServer(t)
	c := open(t, "redis://"+addr+"?read_timeout=10s&write_timeout=10s&dial_timeout=10s&max_retries=0")
	for _, d := range []time.Duration{50 * time.Millisecond, 150 * time.Millisecond} {
		start := time.Now() // before the deadline is set, which counts from its own now
		ctx, cancel := context.WithTimeout(bg, d)
		_, _, err := c.Get(ctx, "k")
		el := time.Since(start)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), addr) {
			t.Errorf("Get past a %v deadline: %v", d, err)
		}
		if el < d || el > d+300*time.Millisecond {
			t.Errorf("Get with a %v deadline returned after %v", d, el)
		}
	}
	// A context cancelled before the call fails it at once.
	ctx, cancel := context.WithCancel(bg)
	cancel()
	start := time.Now()
	err := c.Set(ctx, "k", []byte("v"), cache.DefaultTimeout)
	if !errors.Is(err, context.Canceled) || time.Since(start) > 100*time.Millisecond {
		t.Errorf("Set with a cancelled context: %v after %v", err, time.Since(start))
	}
	// Cancelled while waiting for a reply: go-redis watches deadlines, not
	// cancellation, so the wait ends at read_timeout, reporting the
	// cancellation.
	c4 := open(t, "redis://"+addr+"?read_timeout=300ms&max_retries=0")
	ctx, cancel = context.WithCancel(bg)
	time.AfterFunc(50*time.Millisecond, cancel)
	start = time.Now()
	_, _, err = c4.Get(ctx, "k")
	if el := time.Since(start); !errors.Is(err, context.Canceled) || el > time.Second {
		t.Errorf("Get cancelled after 50ms: %v after %v", err, el)
	}
	// op_timeout bounds an operation without a caller deadline.
	c2 := open(t, "redis://"+addr+"?read_timeout=10s&op_timeout=80ms&max_retries=0")
	start = time.Now()
	_, _, err = c2.Get(bg, "k")
	if el := time.Since(start); err == nil || el > 500*time.Millisecond {
		t.Errorf("Get with op_timeout=80ms: %v after %v", err, el)
	}
	// read_timeout bounds it too.
	c3 := open(t, "redis://"+addr+"?read_timeout=100ms&max_retries=0")
	start = time.Now()
	_, _, err = c3.Get(bg, "k")
	if el := time.Since(start); err == nil || el > time.Second {
		t.Errorf("Get with read_timeout=100ms: %v after %v", err, el)
	}
}

func TestClose(t *testing.T) {
	srv := testserver.Redis(t)
	b, err := redis.New(redis.Options{Addrs: []string{srv.Addr}})
	must(t, err)
	must(t, b.Set(bg, "k", []byte("v"), cache.Forever))
	must(t, b.Close())
	must(t, b.Close())
	if _, _, err := b.Get(bg, "k"); !errors.Is(err, cache.ErrClosed) {
		t.Errorf("Get after Close: %v", err)
	}
}

func TestNewWithClients(t *testing.T) {
	srv := testserver.Redis(t)
	cl := goredis.NewClient(&goredis.Options{Addr: srv.Addr, DB: 2, ContextTimeoutEnabled: true})
	b, err := redis.NewWithClients(cl)
	must(t, err)
	if _, err := redis.NewWithClients(cl, nil); !errors.Is(err, cache.ErrInvalidOption) {
		t.Errorf("NewWithClients with a nil replica: %v", err)
	}
	c, err := cache.New(b)
	must(t, err)
	defer c.Close()
	must(t, c.Set(bg, "k", []byte("v"), cache.Seconds(60)))
	if v, ok, err := c.Get(bg, "k"); err != nil || !ok || string(v) != "v" {
		t.Errorf("Get = %q, %v, %v", v, ok, err)
	}
	if got := b.Clients(); len(got) != 1 || got[0] != cl {
		t.Error("Clients() does not return the client given")
	}
	if _, ok := cache.As[*redis.Backend](b); !ok {
		t.Error("cache.As[*redis.Backend](b) = false")
	}
	if _, ok := cache.As[*redis.Backend](nil); ok {
		t.Error("cache.As[*redis.Backend](nil) = true")
	}
}

// TestBackendsOpen: redis:// URLs opened by cache/backends fail open, and
// the Redis backend stays reachable under the wrapper.
func TestBackendsOpen(t *testing.T) {
	srv := testserver.Redis(t)
	c, err := backends.Open("redis://" + srv.Addr + "/2?key_prefix=site&timeout=60&pool_size=4")
	must(t, err)
	defer c.Close()
	if _, ok := c.Backend().(failopen.Wrapper); !ok {
		t.Errorf("backends.Open(redis://…) gave %T, want the fail-open wrapper", c.Backend())
	}
	rb, ok := cache.As[*redis.Backend](c.Backend())
	if !ok {
		t.Fatal("cache.As does not see through the wrapper")
	}
	must(t, c.Set(bg, "views.a", []byte("1"), cache.DefaultTimeout))
	if ttl, _ := direct(t, srv.Addr, 2, "").TTL(bg, "site:1:views.a").Result(); ttl != 60*time.Second {
		t.Errorf("TTL with timeout=60: %v", ttl)
	}
	if n, err := rb.DeletePattern(bg, c.MakeKey("views.*")); err != nil || n != 1 {
		t.Errorf("DeletePattern = %d, %v", n, err)
	}
	// Incr stays atomic through the wrapper, with Django's message.
	if _, err := c.Incr(bg, "nope", 1); err == nil || err.Error() != "Key 'site:1:nope' not found." {
		t.Errorf("Incr on a missing key: %v", err)
	}
	// failopen=0 gives the bare backend.
	c2, err := backends.Open("rediss://" + srv.Addr + "?failopen=0")
	must(t, err)
	defer c2.Close()
	if _, ok := c2.Backend().(*redis.Backend); !ok {
		t.Errorf("failopen=0 gave %T", c2.Backend())
	}
	// A password in the query is not shown when another option is unknown,
	// even behind the wrapper.
	_, err = backends.Open("redis://" + srv.Addr + "?password=TOPSECRET&cool_down=2s&bogus=1")
	if err == nil || strings.Contains(err.Error(), "TOPSECRET") || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("unknown option with a query password: %v", err)
	}
}
