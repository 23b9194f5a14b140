package memcached

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/bradfitz/gomemcache/memcache"
)

func TestMurmur3(t *testing.T) {
	for _, c := range []struct {
		in   string
		seed uint32
		want uint32
	}{
		{"", 0, 0},
		{"", 1, 0x514e28b7},
		{"a", 0, 0x3c2569b2},
		{"ab", 0, 0x9bbfd75f},
		{"abc", 0, 0xb3dd93fa},
		{"abcd", 0, 0x43ed676a},
		{"hello", 0, 0x248bfa47},
		{"The quick brown fox jumps over the lazy dog", 0, 0x2e4ff723},
	} {
		if got := murmur3_32([]byte(c.in), c.seed); got != c.want {
			t.Errorf("murmur3_32(%q, %d) = %#x, want %#x", c.in, c.seed, got, c.want)
		}
	}
}

func TestParseServer(t *testing.T) {
	for _, c := range []struct {
		spec, name, network, address string
	}{
		{"127.0.0.1:11211", "127.0.0.1:11211", "tcp", "127.0.0.1:11211"},
		{"cache.internal", "cache.internal:11211", "tcp", "cache.internal:11211"},
		{" 10.0.0.1:011212 ", "10.0.0.1:11212", "tcp", "10.0.0.1:11212"},
		{"[::1]:11211", "::1:11211", "tcp", "[::1]:11211"},
		{"[::1]", "::1:11211", "tcp", "[::1]:11211"},
		{"unix:/run/memcached.sock", "/run/memcached.sock", "unix", "/run/memcached.sock"},
		{"/run/memcached.sock", "/run/memcached.sock", "unix", "/run/memcached.sock"},
	} {
		n, err := parseServer(c.spec)
		if err != nil {
			t.Errorf("parseServer(%q): %v", c.spec, err)
			continue
		}
		if n.name != c.name || n.addr.network != c.network || n.addr.address != c.address {
			t.Errorf("parseServer(%q) = %q %s %q, want %q %s %q", c.spec, n.name, n.addr.network, n.addr.address, c.name, c.network, c.address)
		}
	}
	for _, bad := range []string{"", " ", "host:", "host:0", "host:99999", "host:x", "::1", "unix:relative", "user@host:1", ":11211", "h:+1"} {
		if _, err := parseServer(bad); err == nil {
			t.Errorf("parseServer(%q): no error", bad)
		}
	}
}

func TestPyLowBytes(t *testing.T) {
	// Python's murmur3_32 keeps the low byte of each character.
	got := appendPyLowBytes(nil, "aé清😀\xff")
	want := []byte{'a', 0xe9, 0x05, 0x00, 0xff}
	if string(got) != string(want) {
		t.Errorf("appendPyLowBytes = % x, want % x", got, want)
	}
}

// selectorKeys returns keys of many shapes: ASCII of every length up to
// 250, Django-made keys, non-ASCII ones.
func selectorKeys(n int) []string {
	rng := rand.New(rand.NewPCG(1, 2))
	keys := []string{"", "a", ":1:k", ":1:clé", ":1:清", ":1:😀", ":1:Iñtërnâtiônàlizætiøn",
		":1:views.decorators.cache.cache_page..GET.0123456789abcdef0123456789abcdef.d41d8cd98f00b204e9800998ecf8427e.en-us.UTC",
		"template.cache.sidebar.d41d8cd98f00b204e9800998ecf8427e", strings.Repeat("k", 250), strings.Repeat("é", 250)}
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:._-/%"
	for len(keys) < n {
		l := 1 + rng.IntN(120)
		var b strings.Builder
		b.WriteString(fmt.Sprintf(":%d:", rng.IntN(3)))
		for range l {
			if rng.IntN(20) == 0 {
				b.WriteRune([]rune("éü清ß😀ñ")[rng.IntN(6)])
			} else {
				b.WriteByte(alphabet[rng.IntN(len(alphabet))])
			}
		}
		keys = append(keys, b.String())
	}
	return keys
}

// TestSelectorMatchesPymemcache compares the Django selector with
// pymemcache's RendezvousHash (as HashClient uses it) on a few hundred keys
// and several server lists.
func TestSelectorMatchesPymemcache(t *testing.T) {
	python := pythonWithPymemcache(t)
	serverLists := [][]string{
		{"127.0.0.1:11211", "127.0.0.1:11212"},
		{"127.0.0.1:11211", "127.0.0.1:11212", "127.0.0.1:11213"},
		{"10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211", "cache-a.internal", "[::1]:11300"},
		{"unix:/run/memcached/a.sock", "/run/memcached/b.sock", "localhost:11211"},
		{"10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211", "10.0.0.4:11211"},
	}
	keys := selectorKeys(400)
	// The script builds HashClient's node names with pymemcache's own
	// normalize_server_spec and _make_client_key, then asks the hasher.
	const script = `
import json, sys
from pymemcache.client.base import normalize_server_spec
from pymemcache.client.hash import HashClient
from pymemcache.client.rendezvous import RendezvousHash
req = json.load(sys.stdin)
out = []
for servers in req["servers"]:
    names = [HashClient._make_client_key(None, normalize_server_spec(s)) for s in servers]
    h = RendezvousHash()
    for n in names:
        h.add_node(n)
    picks = [h.get_node(k) for k in req["keys"]]
    # What HashClient does to a dead server: remove_node, and its keys
    # go to the others.
    h.remove_node(names[-1])
    out.append({"names": names, "picks": picks, "without_last": [h.get_node(k) for k in req["keys"]]})
json.dump(out, sys.stdout)
`
	in, _ := json.Marshal(map[string]any{"servers": serverLists, "keys": keys})
	var got []struct {
		Names       []string
		Picks       []string
		WithoutLast []string `json:"without_last"`
	}
	if err := json.Unmarshal(runPython(t, python, script, in), &got); err != nil {
		t.Fatal(err)
	}
	for i, servers := range serverLists {
		b, err := New(Options{Servers: servers})
		if err != nil {
			t.Fatal(err)
		}
		if names := b.Servers(); strings.Join(names, ",") != strings.Join(got[i].Names, ",") {
			t.Errorf("Servers() = %q, pymemcache names %q", names, got[i].Names)
		}
		counts := map[string]int{}
		mismatches := 0
		for j, k := range keys {
			pick := b.sel.nodes[b.sel.pick(k)].name
			counts[pick]++
			if pick != got[i].Picks[j] && mismatches < 10 {
				mismatches++
				t.Errorf("servers %q, key %q: picked %q, pymemcache %q", servers, k, pick, got[i].Picks[j])
			}
		}
		if len(counts) != len(servers) {
			t.Errorf("servers %q: keys went to %v only", servers, counts)
		}
		b.Close()
		// pymemcache's ring without the last server (as HashClient
		// leaves it while that server is dead) is this selector over the
		// others.
		b, err = New(Options{Servers: servers[:len(servers)-1]})
		if err != nil {
			t.Fatal(err)
		}
		for j, k := range keys {
			if pick := b.ServerFor(k); pick != got[i].WithoutLast[j] {
				t.Errorf("servers %q without the last, key %q: picked %q, pymemcache %q", servers, k, pick, got[i].WithoutLast[j])
				break
			}
		}
		b.Close()
	}
}

// TestKeyMovement measures the keys that change servers when a server is
// added to or removed from a pool: with Django's rendezvous hashing about
// 1/N (N the larger number of servers), and only to or from that server;
// with gomemcache's crc32 modulo, most keys. The figures are in
// BENCHMARKS.md ("memcached pools").
func TestKeyMovement(t *testing.T) {
	three := []string{"10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211"}
	four := append(three[:3:3], "10.0.0.4:11211")
	const n = 100000
	keys := make([]string, n)
	for i := range keys {
		// Made keys as Django's {% cache %} writes them.
		keys[i] = fmt.Sprintf(":1:template.cache.fragment%d.%032x", i%50, uint64(i)*0x9e3779b97f4a7c15)
	}
	moved := func(sel Selector, from, to []string) (frac float64, onlyNew bool) {
		a, err := New(Options{Servers: from, Selector: sel})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		b, err := New(Options{Servers: to, Selector: sel})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		changed := 0
		onlyNew = true
		for _, k := range keys {
			x, y := a.ServerFor(k), b.ServerFor(k)
			if x != y {
				changed++
				// Adding: a key moves only to the new server; removing:
				// only the removed server's keys move.
				if y != "10.0.0.4:11211" && x != "10.0.0.4:11211" {
					onlyNew = false
				}
			}
		}
		return float64(changed) / n, onlyNew
	}
	tests := []struct {
		name     string
		sel      Selector
		from, to []string
		want     float64 // expected fraction
		tol      float64
		onlyNew  bool
	}{
		{"django 3→4", SelectorDjango, three, four, 1.0 / 4, 0.015, true},
		{"django 4→3", SelectorDjango, four, three, 1.0 / 4, 0.015, true},
		{"gomemcache 3→4", SelectorGomemcache, three, four, 3.0 / 4, 0.015, false},
		{"gomemcache 4→3", SelectorGomemcache, four, three, 3.0 / 4, 0.015, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frac, onlyNew := moved(tt.sel, tt.from, tt.to)
			t.Logf("%s servers, %d keys: %.2f%% moved", tt.name, n, 100*frac)
			if frac < tt.want-tt.tol || frac > tt.want+tt.tol {
				t.Errorf("%.4f of the keys moved, want %.4f ± %.3f", frac, tt.want, tt.tol)
			}
			if tt.onlyNew && !onlyNew {
				t.Error("keys moved between servers that were in both lists")
			}
		})
	}
}

// TestSelectorMatchesServerList checks SelectorGomemcache against
// gomemcache's own memcache.ServerList.
func TestSelectorMatchesServerList(t *testing.T) {
	servers := []string{"127.0.0.1:11211", "127.0.0.1:11212", "127.0.0.1:11213"}
	var sl memcache.ServerList
	if err := sl.SetServers(servers...); err != nil {
		t.Fatal(err)
	}
	b, err := New(Options{Servers: servers, Selector: SelectorGomemcache})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, k := range selectorKeys(400) {
		want, err := sl.PickServer(k)
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.sel.PickServer(k)
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("key %q: %s, ServerList %s", k, got, want)
		}
	}
}

// TestMurmur3MatchesPymemcache compares the hash itself with pymemcache's
// pure-Python murmur3_32 on strings of every length up to 64, some of them
// non-ASCII (hashed as the low byte of each character).
func TestMurmur3MatchesPymemcache(t *testing.T) {
	python := pythonWithPymemcache(t)
	var inputs []string
	for i := 0; i <= 64; i++ {
		inputs = append(inputs, strings.Repeat("x", i), strings.Repeat("é", i/2)+strings.Repeat("y", i%5))
	}
	const script = `
import json, sys
from pymemcache.client.murmur3 import murmur3_32
json.dump([murmur3_32(s) for s in json.load(sys.stdin)], sys.stdout)
`
	in, _ := json.Marshal(inputs)
	var want []uint32
	if err := json.Unmarshal(runPython(t, python, script, in), &want); err != nil {
		t.Fatal(err)
	}
	for i, s := range inputs {
		if got := murmur3_32(appendPyLowBytes(nil, s), 0); got != want[i] {
			t.Errorf("murmur3_32(%q) = %d, pymemcache %d", s, got, want[i])
		}
	}
}

func TestParseSelector(t *testing.T) {
	for s, want := range map[string]Selector{"django": SelectorDjango, "Rendezvous": SelectorDjango, "gomemcache": SelectorGomemcache, "crc32": SelectorGomemcache} {
		if got, err := ParseSelector(s); err != nil || got != want {
			t.Errorf("ParseSelector(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseSelector("ketama"); err == nil {
		t.Error("ParseSelector(ketama): no error")
	}
	if SelectorDjango.String() != "django" || SelectorGomemcache.String() != "gomemcache" || Selector(9).String() != "Selector(9)" {
		t.Error("Selector.String")
	}
}
