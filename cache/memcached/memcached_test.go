package memcached_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/cache/memcached"
	"github.com/fragcache/fragcache/internal/golden"
	"github.com/fragcache/fragcache/internal/testserver"
)

// goldenPymemcache is the pymemcache part of the recorded Django vectors.
type goldenPymemcache struct {
	FixedNow float64 `json:"fixed_now"`
	Backends struct {
		Pymemcache struct {
			GetBackendTimeout []struct {
				Timeout string `json:"timeout"`
				OK      int64  `json:"ok"`
			} `json:"get_backend_timeout"`
			RawStorage map[string]struct {
				Key       string `json:"key"`
				ValueLine string `json:"memcached_VALUE_line"`
				Flags     uint32 `json:"flags"`
				DataHex   string `json:"data_hex"`
			} `json:"raw_storage"`
		} `json:"pymemcache"`
	} `json:"backends"`
}

func loadGolden(t *testing.T) goldenPymemcache {
	t.Helper()
	var g goldenPymemcache
	if err := golden.Decode("backend_api", golden.Newest, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Backends.Pymemcache.GetBackendTimeout) == 0 || len(g.Backends.Pymemcache.RawStorage) == 0 {
		t.Fatal("golden vectors for pymemcache are empty")
	}
	return g
}

// TestExpirationGolden replays Django's get_backend_timeout vectors.
func TestExpirationGolden(t *testing.T) {
	g := loadGolden(t)
	now := time.Unix(int64(g.FixedNow), 0)
	for _, v := range g.Backends.Pymemcache.GetBackendTimeout {
		var to cache.Timeout
		switch v.Timeout {
		case "DEFAULT":
			to = cache.DefaultTimeout
		case "None":
			to = cache.Forever
		default:
			f, err := strconv.ParseFloat(v.Timeout, 64)
			if err != nil {
				t.Fatal(err)
			}
			to = cache.Seconds(f)
		}
		if got := memcached.Expiration(to, now); int64(got) != v.OK {
			t.Errorf("Expiration(%s) = %d, Django %d", v.Timeout, got, v.OK)
		}
	}
}

func TestExpirationEdges(t *testing.T) {
	now := time.Unix(1700000000, 0)
	for _, c := range []struct {
		t    cache.Timeout
		want int32
	}{
		{cache.Expired, -1},
		{cache.Forever, 0},
		{cache.Seconds(0.5), -1}, // int(0.5) == 0: expired, as in Django
		{cache.Seconds(-0.5), -1},
		{cache.Seconds(-1.5), -1},
		{cache.Seconds(-7), -7},
		{cache.Seconds(1.999), 1},
		{cache.Seconds(2592000), 2592000},
		{cache.Seconds(2592000.5), 1700000000 + 2592000},
		{cache.Seconds(2592001), 1700000000 + 2592001},
		{cache.Seconds(1e9), 0}, // past 2038: never
		{cache.Seconds(-5e9), math.MinInt32},
		{cache.Duration(time.Hour), 3600},
	} {
		if got := memcached.Expiration(c.t, now); got != c.want {
			t.Errorf("Expiration(%v) = %d, want %d", c.t, got, c.want)
		}
	}
}

// TestWireFormatGolden writes values and reads the server's VALUE lines,
// and reads values another client stored with Django's flags, against the
// recorded pymemcache storage.
func TestWireFormatGolden(t *testing.T) {
	g := loadGolden(t)
	srv := testserver.Memcached(t)
	plain, _ := newCache(t, memcached.Options{}, srv)
	typed2, _ := newCache(t, memcached.Options{TextFlags: true}, srv)
	for name, v := range g.Backends.Pymemcache.RawStorage {
		data, err := hex.DecodeString(v.DataHex)
		if err != nil {
			t.Fatal(err)
		}
		key := strings.TrimPrefix(v.Key, ":1:")
		t.Run(name, func(t *testing.T) {
			// Reading what Django wrote.
			rawSet(t, srv, v.Key, v.Flags, data)
			got, ok, err := plain.Get(bg, key)
			switch v.Flags {
			case memcached.FlagPickle:
				var fe *memcached.FlagsError
				if !errors.Is(err, memcached.ErrForeignValue) || !errors.As(err, &fe) || fe.Key != v.Key || fe.Flags != 1 {
					t.Errorf("Get of a pickle: %v, %v, %v; want a *FlagsError for %q", got, ok, err, v.Key)
				}
				if has, err := plain.Has(bg, key); !has || err != nil {
					t.Errorf("Has of a pickle = %v, %v, want true", has, err)
				}
				if _, err := plain.GetMany(bg, []string{key, "other"}); !errors.Is(err, memcached.ErrForeignValue) {
					t.Errorf("GetMany with a pickle: %v, want ErrForeignValue", err)
				}
				return
			default:
				if err != nil || !ok || !bytes.Equal(got, data) {
					t.Errorf("Get of flags %d = %q, %v, %v; want %q", v.Flags, got, ok, err, data)
				}
			}
			// Writing it back: with TextFlags, as Django would (raw bytes
			// 00 01 are valid UTF-8, so they become text: checked below).
			if name == "bytes" {
				if err := plain.Set(bg, key, data, cache.Forever); err != nil {
					t.Fatal(err)
				}
			} else if err := typed2.Set(bg, key, data, cache.Forever); err != nil {
				t.Fatal(err)
			}
			resp := raw(t, srv, "get "+v.Key+"\r\n")
			want := v.ValueLine + "\r\n" + string(data) + "\r\nEND\r\n"
			if resp != want {
				t.Errorf("server holds %q, Django wrote %q", resp, want)
			}
		})
	}
	// Without TextFlags everything is bytes (flag 0).
	if err := plain.Set(bg, "s", []byte("hello"), cache.Forever); err != nil {
		t.Fatal(err)
	}
	if fl, data, ok := rawGet(t, srv, ":1:s"); !ok || fl != 0 || string(data) != "hello" {
		t.Errorf("plain Set: flags %d data %q ok %v, want flag 0", fl, data, ok)
	}
	// TextFlags' integer rule.
	for v, want := range map[string]uint32{"0": 2, "-7": 2, "42": 2, "007": 16, "-0": 16, "+1": 16, "1.5": 16, "": 16, "\xff": 0, strings.Repeat("9", 4300): 2, strings.Repeat("9", 4301): 16} {
		if err := typed2.Set(bg, "f", []byte(v), cache.Forever); err != nil {
			t.Fatal(err)
		}
		if fl, _, _ := rawGet(t, srv, ":1:f"); fl != want {
			t.Errorf("TextFlags Set(%.20q): flags %d, want %d", v, fl, want)
		}
	}
}

// TestDjangoInterop shares three servers with pymemcache's HashClient
// configured as Django's PyMemcacheCache configures it: each side reads
// what the other wrote, which also proves they place keys alike.
func TestDjangoInterop(t *testing.T) {
	python := memcached.PythonWithPymemcache(t)
	srvs := []*testserver.Server{testserver.Memcached(t), testserver.Memcached(t), testserver.Memcached(t)}
	c, _ := newCache(t, memcached.Options{TextFlags: true}, srvs...)
	var servers []string
	for _, s := range srvs {
		servers = append(servers, s.Addr)
	}
	const n = 60
	goVals := map[string][]byte{}
	for i := range n {
		var v []byte
		switch i % 4 {
		case 0:
			v = []byte("text " + strconv.Itoa(i) + " é")
		case 1:
			v = []byte(strconv.Itoa(i * 1000))
		case 2:
			v = []byte{0xff, byte(i)}
		case 3:
			v = []byte("<b>fragment</b>")
		}
		k := "go" + strconv.Itoa(i)
		goVals[k] = v
		if err := c.Set(bg, k, v, cache.Seconds(600)); err != nil {
			t.Fatal(err)
		}
	}
	const script = `
import json, sys
from pymemcache.client.hash import HashClient
from pymemcache import serde
req = json.load(sys.stdin)
c = HashClient(req["servers"], allow_unicode_keys=True, default_noreply=False, serde=serde.pickle_serde)
out = {}
for i in range(req["n"]):
    v = c.get(":1:go%d" % i)
    out["go%d" % i] = [type(v).__name__, v.hex() if isinstance(v, bytes) else v]
for i in range(req["n"]):
    c.set(":1:py%d" % i, ["text %d é" % i, i * 7, b"\xfe" + bytes([i]), True][i % 4], 600)
json.dump(out, sys.stdout)
`
	in, _ := json.Marshal(map[string]any{"servers": servers, "n": n})
	var got map[string][2]any
	if err := json.Unmarshal(memcached.RunPython(t, python, script, in), &got); err != nil {
		t.Fatal(err)
	}
	for k, v := range goVals {
		g := got[k]
		var want [2]any
		switch {
		case bytes.Equal(v, []byte(strconv.Itoa(atoi(v)))):
			want = [2]any{"int", float64(atoi(v))}
		case isUTF8(v):
			want = [2]any{"str", string(v)}
		default:
			want = [2]any{"bytes", hex.EncodeToString(v)}
		}
		if g != want {
			t.Errorf("Django reads %s as %v, want %v", k, g, want)
		}
	}
	for i := range n {
		k := "py" + strconv.Itoa(i)
		v, ok, err := c.Get(bg, k)
		var want string
		switch i % 4 {
		case 0:
			want = "text " + strconv.Itoa(i) + " é"
		case 1:
			want = strconv.Itoa(i * 7)
		case 2:
			want = string([]byte{0xfe, byte(i)})
		case 3:
			if !errors.Is(err, memcached.ErrForeignValue) {
				t.Errorf("Get(%s) of a pickled True: %q %v %v, want ErrForeignValue", k, v, ok, err)
			}
			continue
		}
		if err != nil || !ok || string(v) != want {
			t.Errorf("Get(%s) = %q %v %v, want %q", k, v, ok, err, want)
		}
	}
}

func atoi(b []byte) int { n, _ := strconv.Atoi(string(b)); return n }

func isUTF8(b []byte) bool { return strings.ToValidUTF8(string(b), "\uFFFD") == string(b) }

// countingDialer counts, per server address, the commands written that
// start with a prefix.
type countingDialer struct {
	prefix string
	mu     sync.Mutex
	counts map[string]int
}

func (d *countingDialer) dial(ctx context.Context, network, address string) (net.Conn, error) {
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, d: d, addr: address}, nil
}

func (d *countingDialer) take() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.counts
	d.counts = map[string]int{}
	return c
}

type countingConn struct {
	net.Conn
	d    *countingDialer
	addr string
}

func (c *countingConn) Write(p []byte) (int, error) {
	if bytes.HasPrefix(p, []byte(c.d.prefix)) {
		c.d.mu.Lock()
		c.d.counts[c.addr]++
		c.d.mu.Unlock()
	}
	return c.Conn.Write(p)
}

// TestSeveralServers spreads keys over three servers, checks each key is
// on the server the selector names and nowhere else, and that GetMany
// costs one multi-get per server.
func TestSeveralServers(t *testing.T) {
	srvs := []*testserver.Server{testserver.Memcached(t), testserver.Memcached(t), testserver.Memcached(t)}
	byAddr := map[string]*testserver.Server{}
	for _, s := range srvs {
		byAddr[s.Addr] = s
	}
	for _, sel := range []memcached.Selector{memcached.SelectorDjango, memcached.SelectorGomemcache} {
		t.Run(sel.String(), func(t *testing.T) {
			d := &countingDialer{prefix: "gets ", counts: map[string]int{}}
			c, b := newCache(t, memcached.Options{Selector: sel, DialContext: d.dial}, srvs...)
			const n = 300
			items := map[string][]byte{}
			for i := range n {
				items["key"+strconv.Itoa(i)] = []byte("v" + strconv.Itoa(i))
			}
			if failed, err := c.SetMany(bg, items, cache.Seconds(600)); err != nil || len(failed) != 0 {
				t.Fatalf("SetMany: %v %v", failed, err)
			}
			perServer := map[string]int{}
			for k, v := range items {
				mk := c.MakeKey(k)
				home := b.ServerFor(mk)
				perServer[home]++
				for addr, s := range byAddr {
					_, data, ok := rawGet(t, s, mk)
					if (addr == home) != ok {
						t.Fatalf("key %s: on %s = %v, selector says %s", mk, addr, ok, home)
					}
					if ok && !bytes.Equal(data, v) {
						t.Fatalf("key %s: %q, want %q", mk, data, v)
					}
				}
			}
			for _, s := range srvs {
				if perServer[s.Addr] < n/6 {
					t.Errorf("uneven spread: %v", perServer)
				}
			}

			keys := make([]string, 20)
			homes := map[string]bool{}
			for i := range keys {
				keys[i] = "key" + strconv.Itoa(i*7)
				homes[b.ServerFor(c.MakeKey(keys[i]))] = true
			}
			keys = append(keys, "missing1", "missing2")
			d.take()
			got, err := c.GetMany(bg, keys)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 20 {
				t.Errorf("GetMany: %d hits, want 20", len(got))
			}
			counts := d.take()
			for addr, cnt := range counts {
				if cnt != 1 {
					t.Errorf("GetMany sent %d multi-gets to %s, want 1", cnt, addr)
				}
			}
			if len(counts) < len(homes) || len(homes) != 3 {
				t.Errorf("GetMany reached %v; keys live on %v", counts, homes)
			}
		})
	}
}

// TestKeyRejection: Django's messages, by default through a Cache, and the
// backend's own refusal of keys memcached cannot take.
func TestKeyRejection(t *testing.T) {
	srv := testserver.Memcached(t)
	c, b := newCache(t, memcached.Options{}, srv)
	if kc := b.KeyCheck(); kc != cache.KeyCheckReject {
		t.Errorf("KeyCheck = %v, want reject", kc)
	}
	for key, want := range map[string]string{
		"has space":              "Cache key contains characters that will cause errors if used with memcached: ':1:has space'",
		"a\nb":                   `Cache key contains characters that will cause errors if used with memcached: ':1:a\nb'`,
		strings.Repeat("k", 248): "Cache key will cause errors if used with memcached: ':1:" + strings.Repeat("k", 248) + "' (longer than 250)",
	} {
		err := c.Set(bg, key, []byte("v"), cache.DefaultTimeout)
		var ike *cache.InvalidKeyError
		if !errors.As(err, &ike) || err.Error() != want {
			t.Errorf("Set(%q): %v, want %q", key, err, want)
		}
	}
	// 250 characters, 497 bytes: Django lets it through, memcached cannot
	// take it, so the backend refuses it even when the cache does not check.
	off, err := cache.New(b, cache.WithKeyCheck(cache.KeyCheckOff))
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é", 247)
	for name, op := range map[string]func() error{
		"Set":     func() error { return off.Set(bg, long, []byte("v"), cache.DefaultTimeout) },
		"Get":     func() error { _, _, err := off.Get(bg, long); return err },
		"GetMany": func() error { _, err := off.GetMany(bg, []string{"ok", long}); return err },
		"SetMany": func() error {
			_, err := off.SetMany(bg, map[string][]byte{long: nil}, cache.DefaultTimeout)
			return err
		},
		"Incr":     func() error { _, err := off.Incr(bg, long, 1); return err },
		"Touch":    func() error { _, err := off.Touch(bg, long, cache.DefaultTimeout); return err },
		"Delete":   func() error { _, err := off.Delete(bg, long); return err },
		"Has":      func() error { _, err := off.Has(bg, long); return err },
		"Add":      func() error { _, err := off.Add(bg, long, nil, cache.DefaultTimeout); return err },
		"SetSpace": func() error { return off.Set(bg, "a b", []byte("v"), cache.DefaultTimeout) },
	} {
		var ike *cache.InvalidKeyError
		if err := op(); !errors.As(err, &ike) || !errors.Is(err, cache.ErrInvalidKey) {
			t.Errorf("%s of an unacceptable key with KeyCheckOff: %v, want an *InvalidKeyError", name, err)
		} else if name != "SetSpace" && !ike.TooLong {
			t.Errorf("%s: TooLong = false for a 497-byte key", name)
		}
	}
}

func TestHashLongKeys(t *testing.T) {
	srv := testserver.Memcached(t)
	c, b := newCache(t, memcached.Options{HashLongKeys: true}, srv)
	if kc := b.KeyCheck(); kc != cache.KeyCheckWarn {
		t.Errorf("KeyCheck = %v, want warn", kc)
	}
	keys := []string{strings.Repeat("k", 300), "has space", "tab\there", strings.Repeat("é", 200), strings.Repeat("清", 90)}
	for i, k := range keys {
		v := []byte(strconv.Itoa(i))
		if err := c.Set(bg, k, v, cache.DefaultTimeout); err != nil {
			t.Fatalf("Set(%.20q): %v", k, err)
		}
		mk := c.MakeKey(k)
		hk := memcached.HashedKey(mk)
		if len(hk) > 250 || strings.ContainsAny(hk, " \t\n") || !isUTF8([]byte(hk)) {
			t.Errorf("HashedKey(%.20q) = %q: not a memcached key", mk, hk)
		}
		fl, data, ok := rawGet(t, srv, hk)
		if !ok || fl != 0 || !bytes.Equal(data, v) {
			t.Errorf("server under %q: %v %d %q", hk, ok, fl, data)
		}
		if got, ok, err := c.Get(bg, k); err != nil || !ok || !bytes.Equal(got, v) {
			t.Errorf("Get(%.20q) = %q %v %v", k, got, ok, err)
		}
		if n, err := c.Incr(bg, k, 10); err != nil || n != int64(i+10) {
			t.Errorf("Incr(%.20q) = %d %v", k, n, err)
		}
		if ok, err := c.Touch(bg, k, cache.Seconds(60)); err != nil || !ok {
			t.Errorf("Touch(%.20q) = %v %v", k, ok, err)
		}
	}
	got, err := c.GetMany(bg, append([]string{"short"}, keys...))
	if err != nil || len(got) != len(keys) {
		t.Errorf("GetMany = %d values, %v", len(got), err)
	}
	for i, k := range keys {
		if string(got[k]) != strconv.Itoa(i+10) {
			t.Errorf("GetMany[%.20q] = %q", k, got[k])
		}
	}
	if failed, err := c.SetMany(bg, map[string][]byte{keys[0]: []byte("x"), "short": []byte("y")}, cache.DefaultTimeout); err != nil || len(failed) != 0 {
		t.Errorf("SetMany = %v %v", failed, err)
	}
	if err := c.DeleteMany(bg, keys); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Has(bg, keys[0]); ok {
		t.Error("key still there after DeleteMany")
	}
	// A short, valid key is stored as it is, for Django to read.
	if _, _, ok := rawGet(t, srv, ":1:short"); !ok {
		t.Error("valid key not stored under its own name")
	}

	// The format.
	mk := ":1:" + strings.Repeat("k", 300)
	hk := memcached.HashedKey(mk)
	if !strings.HasPrefix(hk, mk[:160]+"#") || len(hk) != 160+1+64 {
		t.Errorf("HashedKey = %q", hk)
	}
	if hk := memcached.HashedKey(":1:has space"); !strings.HasPrefix(hk, ":1:has#") {
		t.Errorf("HashedKey(':1:has space') = %q", hk)
	}
	if hk := memcached.HashedKey(":1:" + strings.Repeat("é", 200)); !strings.HasPrefix(hk, ":1:"+strings.Repeat("é", 78)+"#") {
		t.Errorf("HashedKey splits a character: %q", hk)
	}
	if memcached.HashedKey(mk) == memcached.HashedKey(mk+"k") {
		t.Error("HashedKey collides")
	}
}

func TestIncr(t *testing.T) {
	srv := testserver.Memcached(t)
	c, b := newCache(t, memcached.Options{TextFlags: true}, srv)
	mustSet := func(k, v string) {
		t.Helper()
		if err := c.Set(bg, k, []byte(v), cache.Seconds(600)); err != nil {
			t.Fatal(err)
		}
	}
	mustSet("i", "41")
	if n, err := c.Incr(bg, "i", 1); n != 42 || err != nil {
		t.Errorf("Incr = %d %v", n, err)
	}
	if fl, data, _ := rawGet(t, srv, ":1:i"); fl != memcached.FlagInteger || string(data) != "42" {
		t.Errorf("after incr: flags %d %q, want Django's int", fl, data)
	}
	mustSet("i", "36")
	if n, err := c.Decr(bg, "i", 100); n != 0 || err != nil {
		t.Errorf("Decr(36, 100) = %d %v, want 0 (memcached clamps)", n, err)
	}
	if n, err := c.Incr(bg, "i", -5); n != 0 || err != nil {
		t.Errorf("Incr(0, -5) = %d %v, want 0", n, err)
	}
	if n, err := b.Incr(bg, ":1:i", math.MinInt64); n != 0 || err != nil {
		t.Errorf("backend Incr(MinInt64) = %d %v", n, err)
	}

	_, err := c.Incr(bg, "nope", 1)
	var nf *cache.KeyNotFoundError
	if !errors.As(err, &nf) || err.Error() != "Key ':1:nope' not found" {
		t.Errorf("Incr missing: %v, want Django's Key ':1:nope' not found", err)
	}
	if _, err := c.Decr(bg, "nope", 1); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("Decr missing: %v", err)
	}
	for _, v := range []string{"hello", "-7", "1.5", ""} {
		mustSet("s", v)
		if _, err := c.Incr(bg, "s", 1); !errors.Is(err, cache.ErrNotInteger) {
			t.Errorf("Incr of %q: %v, want ErrNotInteger", v, err)
		}
	}
	mustSet("big", strconv.FormatInt(math.MaxInt64, 10))
	if _, err := c.Incr(bg, "big", 1); !errors.Is(err, cache.ErrNotInteger) {
		t.Errorf("Incr past MaxInt64: %v, want ErrNotInteger", err)
	}
}

// TestOversized: memcached refuses values over its item size, and has then
// removed the key's old value (test_memcached_deletes_key_on_failed_set).
func TestOversized(t *testing.T) {
	srv := testserver.Memcached(t)
	c, _ := newCache(t, memcached.Options{}, srv)
	big := bytes.Repeat([]byte("x"), 2<<20)
	if err := c.Set(bg, "k", []byte("old"), cache.DefaultTimeout); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(bg, "k", big, cache.DefaultTimeout); !errors.Is(err, cache.ErrValueTooLarge) {
		t.Fatalf("Set of 2 MiB: %v, want ErrValueTooLarge", err)
	}
	if v, ok, err := c.Get(bg, "k"); ok || err != nil {
		t.Errorf("old value after a failed Set: %q %v %v, want it gone", v, ok, err)
	}
	if _, err := c.Add(bg, "a", big, cache.DefaultTimeout); !errors.Is(err, cache.ErrValueTooLarge) {
		t.Errorf("Add of 2 MiB: %v", err)
	}
	failed, err := c.SetMany(bg, map[string][]byte{"small": []byte("s"), "big": big}, cache.DefaultTimeout)
	if err != nil || len(failed) != 1 || failed[0] != "big" {
		t.Errorf("SetMany with one oversized value = %v %v, want [big]", failed, err)
	}
	if v, ok, _ := c.Get(bg, "small"); !ok || string(v) != "s" {
		t.Errorf("small value of the SetMany: %q %v", v, ok)
	}

	// A server with a larger item size takes it.
	srv2 := testserver.Memcached(t, "-I", "4m")
	c2, _ := newCache(t, memcached.Options{}, srv2)
	if err := c2.Set(bg, "k", big, cache.DefaultTimeout); err != nil {
		t.Errorf("Set of 2 MiB with -I 4m: %v", err)
	}
	if v, ok, err := c2.Get(bg, "k"); !ok || err != nil || !bytes.Equal(v, big) {
		t.Errorf("Get of 2 MiB: %d bytes %v %v", len(v), ok, err)
	}
}

// TestUnreachable: New succeeds with a server down (memcached connects on
// demand), and every operation then fails fast with an error.
func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	for _, server := range []string{addr, "10.255.255.1:11211"} {
		b, err := memcached.New(memcached.Options{Servers: []string{server}, Timeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatalf("New with %s down: %v", server, err)
		}
		c, err := cache.New(b)
		if err != nil {
			t.Fatal(err)
		}
		ops := map[string]func() error{
			"Get":     func() error { _, _, err := c.Get(bg, "k"); return err },
			"Set":     func() error { return c.Set(bg, "k", []byte("v"), cache.DefaultTimeout) },
			"Add":     func() error { _, err := c.Add(bg, "k", nil, cache.DefaultTimeout); return err },
			"Delete":  func() error { _, err := c.Delete(bg, "k"); return err },
			"Has":     func() error { _, err := c.Has(bg, "k"); return err },
			"Touch":   func() error { _, err := c.Touch(bg, "k", cache.DefaultTimeout); return err },
			"Incr":    func() error { _, err := c.Incr(bg, "k", 1); return err },
			"GetMany": func() error { _, err := c.GetMany(bg, []string{"a", "b"}); return err },
			"SetMany": func() error {
				_, err := c.SetMany(bg, map[string][]byte{"a": nil, "b": nil}, cache.DefaultTimeout)
				return err
			},
			"DeleteMany": func() error { return c.DeleteMany(bg, []string{"a", "b"}) },
			"Clear":      func() error { return c.Clear(bg) },
			"Ping":       func() error { return b.Ping(bg) },
		}
		for name, op := range ops {
			start := time.Now()
			err := op()
			if err == nil || errors.Is(err, cache.ErrNotFound) {
				t.Errorf("%s on %s: %v, want a connection error", name, server, err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("%s on %s took %v", name, server, d)
			}
		}
		c.Close()
	}
}

// TestServerRestart: after a restart every idle connection is dead; the
// backend notices on the first one and reconnects, so requests succeed.
func TestServerRestart(t *testing.T) {
	srv := testserver.Memcached(t)
	c, _ := newCache(t, memcached.Options{}, srv)
	fill := func() {
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 20 {
					if _, _, err := c.Get(bg, "k"); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	fill()
	srv.Stop()
	if err := c.Set(bg, "k", []byte("v"), cache.DefaultTimeout); err == nil {
		t.Error("Set with the server stopped: no error")
	}
	srv.Restart()
	fill() // idle connections left from before the stop
	srv.Stop()
	srv.Restart()
	for i := range 20 {
		if _, _, err := c.Get(bg, "k"); err != nil {
			t.Fatalf("Get %d after restart: %v", i, err)
		}
	}
	if err := c.Set(bg, "k", []byte("v"), cache.DefaultTimeout); err != nil {
		t.Errorf("Set after restart: %v", err)
	}
}

func TestContext(t *testing.T) {
	srv := testserver.Memcached(t)
	c, b := newCache(t, memcached.Options{}, srv)
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if _, _, err := c.Get(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a cancelled context: %v", err)
	}
	if err := c.Set(ctx, "k", nil, cache.DefaultTimeout); !errors.Is(err, context.Canceled) {
		t.Errorf("Set with a cancelled context: %v", err)
	}
	if _, err := c.SetMany(ctx, map[string][]byte{"a": nil, "b": nil}, cache.DefaultTimeout); !errors.Is(err, context.Canceled) {
		t.Errorf("SetMany with a cancelled context: %v", err)
	}
	if _, ok, _ := c.Get(bg, "a"); ok {
		t.Error("SetMany with a cancelled context stored something")
	}
	dctx, cancel2 := context.WithDeadline(bg, time.Now().Add(-time.Second))
	defer cancel2()
	if _, err := c.GetMany(dctx, []string{"a"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("GetMany past its deadline: %v", err)
	}
	var nilCtx context.Context
	if _, _, err := b.Get(nilCtx, "k"); !errors.Is(err, cache.ErrNilContext) {
		t.Errorf("backend Get with a nil context: %v", err)
	}
}

// TestClose: Close closes every connection, and later calls fail.
func TestClose(t *testing.T) {
	srv := testserver.Memcached(t)
	base, _ := strconv.Atoi(stat(t, srv, "curr_connections"))
	b := newBackend(t, memcached.Options{}, srv)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				b.Set(bg, "k", []byte("v"), cache.DefaultTimeout)
			}
		}()
	}
	wg.Wait()
	if n, _ := strconv.Atoi(stat(t, srv, "curr_connections")); n <= base {
		t.Fatalf("curr_connections %d, base %d: no connection kept", n, base)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, _ := strconv.Atoi(stat(t, srv, "curr_connections"))
		if n <= base {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("curr_connections %d after Close, base %d", n, base)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, _, err := b.Get(bg, "k"); !errors.Is(err, cache.ErrClosed) {
		t.Errorf("Get after Close: %v", err)
	}
}

func TestUnixSocket(t *testing.T) {
	srv := testserver.MemcachedUnix(t)
	c, _ := newCache(t, memcached.Options{}, srv)
	if err := c.Set(bg, "k", []byte("v"), cache.DefaultTimeout); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := c.Get(bg, "k"); string(v) != "v" || !ok || err != nil {
		t.Errorf("Get = %q %v %v", v, ok, err)
	}
	for _, u := range []string{"memcached://unix:" + srv.Addr, "memcached://" + srv.Addr} {
		c2, err := backends.Open(u)
		if err != nil {
			t.Fatalf("Open(%q): %v", u, err)
		}
		if v, ok, err := c2.Get(bg, "k"); string(v) != "v" || !ok || err != nil {
			t.Errorf("%s: Get = %q %v %v", u, v, ok, err)
		}
		c2.Close()
	}
}

func TestOpen(t *testing.T) {
	c, err := backends.Open("memcached://127.0.0.1:1;127.0.0.1:2,localhost?op_timeout=200ms&max_idle_conns=5&selector=gomemcache&hash_long_keys=1&text_flags=true&timeout=60&key_prefix=app")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b := unwrapMemcached(t, c)
	if got := strings.Join(b.Servers(), ","); got != "127.0.0.1:1,127.0.0.1:2,localhost:11211" {
		t.Errorf("Servers = %s", got)
	}
	if b.KeyCheck() != cache.KeyCheckWarn {
		t.Error("hash_long_keys=1 not applied")
	}
	if c.DefaultTimeout() != cache.Seconds(60) || c.KeyPrefix() != "app" {
		t.Errorf("cache options not applied")
	}
	// The pool's breaker options apply: one failed ping marks each server
	// down for a minute.
	cp, err := backends.Open("memcached://127.0.0.1:1;127.0.0.1:2?server_failure_threshold=1&server_cool_down=1m")
	if err != nil {
		t.Fatal(err)
	}
	bp := unwrapMemcached(t, cp)
	bp.Ping(bg)
	for _, st := range cp.Stats().Servers {
		if st.Breaker != "open" || st.Opens != 1 || time.Until(st.OpenUntil) < 50*time.Second {
			t.Errorf("server after one failure with server_failure_threshold=1&server_cool_down=1m: %+v", st)
		}
	}
	cp.Close()
	c0, err := backends.Open("memcached://")
	if err != nil {
		t.Fatal(err)
	}
	if got := unwrapMemcached(t, c0).Servers(); len(got) != 1 || got[0] != memcached.DefaultServer {
		t.Errorf("memcached:// servers = %q", got)
	}
	c0.Close()
	for _, bad := range []string{
		"memcached://h:1?bogus=1",
		"memcached://h:1?selector=ketama",
		"memcached://h:1?op_timeout=-1",
		"memcached://h:1?op_timeout=0",
		"memcached://h:1?max_idle_conns=0",
		"memcached://h:1?hash_long_keys=maybe",
		"memcached://h:1;;h:2",
		"memcached://h:1;h:1",
		"memcached://user:pw@h:1",
		"memcached://h:port",
		"memcached://h%zz:1",
		"memcached://h:1?server_cool_down=5s", // one server: no breaker of its own
		"memcached://h:1?server_failure_threshold=2",
		"memcached://h:1;h:2?server_cool_down=0",
		"memcached://h:1;h:2?server_cool_down=-1s",
		"memcached://h:1;h:2?server_failure_threshold=0",
	} {
		if c, err := backends.Open(bad); !errors.Is(err, cache.ErrInvalidOption) {
			t.Errorf("Open(%q): %v, want ErrInvalidOption", bad, err)
			if c != nil {
				c.Close()
			}
		}
	}
}

func TestNewOptions(t *testing.T) {
	for name, o := range map[string]memcached.Options{
		"negative idle":                     {MaxIdleConns: -1},
		"negative timeout":                  {Timeout: -1},
		"bad selector":                      {Selector: 7},
		"duplicate":                         {Servers: []string{"h:1", "h:01"}},
		"bad server":                        {Servers: []string{"h:x"}},
		"negative server failure threshold": {ServerFailureThreshold: -1},
		"negative server cool-down":         {ServerCoolDown: -time.Second},
	} {
		if _, err := memcached.New(o); !errors.Is(err, cache.ErrInvalidOption) {
			t.Errorf("%s: %v, want ErrInvalidOption", name, err)
		}
	}
}

// unwrapMemcached returns the memcached backend of a cache opened by URL,
// under its fail-open wrapper.
func unwrapMemcached(t *testing.T, c *cache.Cache) *memcached.Backend {
	t.Helper()
	b := c.Backend()
	if w, ok := b.(interface{ Unwrap() cache.Backend }); ok {
		b = w.Unwrap()
	} else {
		t.Error("memcached:// is not wrapped to fail open")
	}
	mb, ok := b.(*memcached.Backend)
	if !ok {
		t.Fatalf("backend is %T", b)
	}
	return mb
}
