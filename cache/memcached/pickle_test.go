package memcached_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"strings"
	"testing"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/cache/memcached"
	"github.com/fragcache/fragcache/internal/golden"
	"github.com/fragcache/fragcache/internal/pickle"
	"github.com/fragcache/fragcache/internal/testserver"
)

// Pickles Python 3.11 wrote (pickle.dumps(v, protocol).hex()).
const (
	// SafeString("<b>é</b>"), protocols 2 and 4 (Django before 4.0 and
	// django-redis use 4).
	hexSafeString2 = "800263646a616e676f2e7574696c732e73616665737472696e670a53616665537472696e670a710058090000003c623ec3a93c2f623e71018571028171032e"
	hexSafeString4 = "8004953a000000000000008c17646a616e676f2e7574696c732e73616665737472696e67948c0a53616665537472696e679493948c093c623ec3a93c2f623e94859481942e"
	// b"\xff\x00", protocol 2 (_codecs.encode).
	hexBytes2 = "8002635f636f646563730a656e636f64650a71005803000000c3bf00710158060000006c6174696e3171028671035271042e"
	// bytearray(b"\x01\x02"), protocol 4.
	hexByteArray4 = "80049523000000000000008c086275696c74696e73948c096279746561727261799493944302010294859452942e"
	// 10**30, protocol 5.
	hexBigInt = "80059510000000000000008a0d00000040eaed7446d09c2c9f0c2e"
	// An object whose __reduce__ is (os.system, ("touch /tmp/pwned",)).
	hexEvil = "8005952b000000000000008c05706f736978948c0673797374656d9493948c10746f756368202f746d702f70776e656494859452942e"
	// [1], protocol 5.
	hexList = "80059506000000000000005d944b01612e"
)

func mustEncode(t testing.TB, v pickle.Value) []byte {
	t.Helper()
	b, err := pickle.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func bigInt(n int64) *big.Int { return big.NewInt(n) }

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// goldenRedisRaw returns the bytes Django's RedisSerializer stored for the
// golden raw_storage values: pickle.dumps(v, 5) for all but ints, which are
// exactly what pymemcache pickles with flag 1 (same protocol, same pickler).
func goldenRedisRaw(t testing.TB) map[string][]byte {
	t.Helper()
	var g struct {
		Backends struct {
			Redis struct {
				RawStorage map[string]json.RawMessage `json:"raw_storage"`
			} `json:"redis"`
		} `json:"backends"`
	}
	if err := golden.Decode("backend_api", golden.Newest, &g); err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for name, m := range g.Backends.Redis.RawStorage {
		var v struct {
			Raw struct {
				Hex string `json:"bytes_hex"`
			} `json:"raw"`
		}
		if json.Unmarshal(m, &v) != nil || v.Raw.Hex == "" {
			continue // ttl_for_timeout_100
		}
		out[name] = unhex(t, v.Raw.Hex)
	}
	if len(out) < 8 {
		t.Fatalf("golden redis raw_storage has %d values", len(out))
	}
	return out
}

// TestReadPickles reads values stored with flag 1, as pymemcache pickles
// them: text, SafeStrings (Django's fragments), bytes and ints read as
// plain values; anything else is a *FlagsError and is never executed.
func TestReadPickles(t *testing.T) {
	srv := testserver.Memcached(t)
	c, _ := newCache(t, memcached.Options{}, srv)
	g := goldenRedisRaw(t)
	ok := []struct {
		name string
		data []byte
		want string
	}{
		{"golden str", g["str"], "hello"},
		{"golden unicode", g["unicode"], "café"},
		{"golden bytes", g["bytes"], "\x00\x01"},
		{"SafeString 5", pickle.EncodeSafeString("<b>A &amp; B</b> é"), "<b>A &amp; B</b> é"},
		{"SafeString 4", unhex(t, hexSafeString4), "<b>é</b>"},
		{"SafeString 2", unhex(t, hexSafeString2), "<b>é</b>"},
		{"empty SafeString", pickle.EncodeSafeString(""), ""},
		{"str", pickle.EncodeString("plain"), "plain"},
		{"bytes 2", unhex(t, hexBytes2), "\xff\x00"},
		{"bytearray 4", unhex(t, hexByteArray4), "\x01\x02"},
		{"empty bytes", pickle.EncodeBytes(nil), ""},
		{"big int", unhex(t, hexBigInt), "1000000000000000000000000000000"},
		{"negative int", mustEncode(t, pickle.Value{Kind: pickle.KindInt, Int: bigInt(-7)}), "-7"},
	}
	for _, v := range ok {
		key := strings.ReplaceAll(v.name, " ", "_")
		rawSet(t, srv, ":1:"+key, memcached.FlagPickle, v.data)
		got, hit, err := c.Get(bg, key)
		if err != nil || !hit || string(got) != v.want {
			t.Errorf("%s: Get = %q, %v, %v; want %q", v.name, got, hit, err, v.want)
		}
	}
	// GetMany decodes too, beside values of other flags.
	rawSet(t, srv, ":1:plain", memcached.FlagText, []byte("text"))
	m, err := c.GetMany(bg, []string{"SafeString_5", "golden_bytes", "plain", "missing"})
	if err != nil || len(m) != 3 || string(m["SafeString_5"]) != "<b>A &amp; B</b> é" || string(m["golden_bytes"]) != "\x00\x01" || string(m["plain"]) != "text" {
		t.Errorf("GetMany = %q, %v", m, err)
	}

	bad := []struct {
		name    string
		data    []byte
		python  string // FlagsError.Python
		wrapped error  // FlagsError.Err wraps it
	}{
		{"golden bool", g["bool"], "bool", nil},
		{"golden float", g["float"], "float", nil},
		{"golden dict", g["dict"], "", pickle.ErrUnsupported},
		{"none", mustEncode(t, pickle.Value{}), "None", nil},
		{"list", unhex(t, hexList), "list", nil}, // GetRaw hands it over (below)
		{"os.system", unhex(t, hexEvil), "", pickle.ErrUnsupported},
		{"truncated", pickle.EncodeSafeString("<b>x</b>")[:20], "", pickle.ErrMalformed},
		{"not a pickle", []byte("hello"), "", pickle.ErrMalformed},
	}
	for _, v := range bad {
		key := strings.ReplaceAll(v.name, " ", "_")
		rawSet(t, srv, ":1:"+key, memcached.FlagPickle, v.data)
		got, hit, err := c.Get(bg, key)
		var fe *memcached.FlagsError
		if !errors.Is(err, memcached.ErrForeignValue) || !errors.As(err, &fe) || fe.Key != ":1:"+key || fe.Flags != memcached.FlagPickle || got != nil || hit {
			t.Errorf("%s: Get = %q, %v, %v; want a *FlagsError", v.name, got, hit, err)
			continue
		}
		if fe.Python != v.python || (v.wrapped == nil) != (fe.Err == nil) || v.wrapped != nil && !errors.Is(err, v.wrapped) {
			t.Errorf("%s: FlagsError{Python: %q, Err: %v}, want Python %q, Err wrapping %v", v.name, fe.Python, fe.Err, v.python, v.wrapped)
		}
		if !strings.Contains(err.Error(), ":1:"+key) || !strings.Contains(err.Error(), "pickle") {
			t.Errorf("%s: message %q names neither the key nor the pickle", v.name, err)
		}
		if has, err := c.Has(bg, key); !has || err != nil {
			t.Errorf("%s: Has = %v, %v; want true", v.name, has, err)
		}
		if _, err := c.GetMany(bg, []string{"plain", key}); !errors.Is(err, memcached.ErrForeignValue) {
			t.Errorf("%s: GetMany = %v, want ErrForeignValue", v.name, err)
		}
	}
	// GetRaw hands a pickle Get refuses over undecoded, marked as a pickle.
	for _, v := range bad {
		key := strings.ReplaceAll(v.name, " ", "_")
		raw, hit, err := c.GetRaw(bg, key)
		if err != nil || !hit || !raw.Pickle || !bytes.Equal(raw.Bytes, v.data) {
			t.Errorf("%s: GetRaw = %+v, %v, %v", v.name, raw, hit, err)
		}
	}
	if raw, hit, err := c.GetRaw(bg, "missing"); err != nil || hit || raw.Bytes != nil {
		t.Errorf("GetRaw(missing) = %+v, %v, %v", raw, hit, err)
	}
	if _, err := os.Stat("/tmp/pwned"); err == nil {
		t.Error("/tmp/pwned exists: was a pickle executed?")
	}
	// Other unknown flags stay foreign.
	rawSet(t, srv, ":1:compressed", memcached.FlagCompressed|memcached.FlagPickle, pickle.EncodeString("x"))
	if _, _, err := c.Get(bg, "compressed"); !errors.Is(err, memcached.ErrForeignValue) {
		t.Errorf("Get of flags 9 = %v, want ErrForeignValue", err)
	}
}

// TestDjangoValuesURL: django_values is another name for text_flags.
func TestDjangoValuesURL(t *testing.T) {
	srv := testserver.Memcached(t)
	for _, q := range []string{"django_values=1", "django_values=true&text_flags=1", "text_flags=1", "django=4.2"} {
		c, err := backends.Open("memcached://" + srv.Addr + "?" + q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if err := c.Set(bg, "v", []byte("é"), cache.Forever); err != nil {
			t.Fatal(err)
		}
		if err := c.Set(bg, "i", []byte("42"), cache.Forever); err != nil {
			t.Fatal(err)
		}
		c.Close()
		if fl, _, _ := rawGet(t, srv, ":1:v"); fl != memcached.FlagText {
			t.Errorf("%s: text written with flags %d, want %d", q, fl, memcached.FlagText)
		}
		if fl, _, _ := rawGet(t, srv, ":1:i"); fl != memcached.FlagInteger {
			t.Errorf("%s: integer written with flags %d, want %d", q, fl, memcached.FlagInteger)
		}
	}
	for _, q := range []string{"django_values=0", "django_values=0&text_flags=0", "django=6.1&text_flags=0"} {
		c, err := backends.Open("memcached://" + srv.Addr + "?" + q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if err := c.Set(bg, "v", []byte("é"), cache.Forever); err != nil {
			t.Fatal(err)
		}
		c.Close()
		if fl, _, _ := rawGet(t, srv, ":1:v"); fl != memcached.FlagBytes {
			t.Errorf("%s: text written with flags %d, want 0", q, fl)
		}
	}
	for _, q := range []string{"django_values=maybe", "django_values=1&text_flags=0", "django_values=0&text_flags=1"} {
		if c, err := backends.Open("memcached://" + srv.Addr + "?" + q); !errors.Is(err, cache.ErrInvalidOption) {
			if c != nil {
				c.Close()
			}
			t.Errorf("%s: %v, want ErrInvalidOption", q, err)
		}
	}
}

// TestDjangoTemplateFragments renders Django's {% cache %} tag against
// the test server with Django's PyMemcacheCache: a fragment Django stored
// (a pickled SafeString, flag 1) reads here as exactly the rendered HTML,
// and a fragment written here (TextFlags) is a hit in Django's template.
func TestDjangoTemplateFragments(t *testing.T) {
	python := memcached.PythonWith(t, "django, pymemcache", "python3-django python3-pymemcache")
	srv := testserver.Memcached(t)
	c, _ := newCache(t, memcached.Options{TextFlags: true}, srv)

	const script = `
import json, sys
import django
from django.conf import settings
req = json.load(sys.stdin)
settings.configure(
    CACHES={"default": {"BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache", "LOCATION": req["location"]}},
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
)
django.setup()
from django.template import engines
from django.core.cache import cache
from django.core.cache.utils import make_template_fragment_key
tpl = engines["django"].from_string(req["template"])
out = {"version": django.get_version(), "renders": {}, "keys": {}, "types": {}}
for user, x in req["renders"]:
    out["renders"][user] = tpl.render({"user": user, "x": x})
    k = make_template_fragment_key("frag", [user])
    out["keys"][user] = k
    out["types"][user] = type(cache.get(k)).__name__
json.dump(out, sys.stdout)
`
	const template = `{% load cache %}{% cache 60 frag user %}<b>{{ x }}</b>{% endcache %}`
	type result struct {
		Version string            `json:"version"`
		Renders map[string]string `json:"renders"`
		Keys    map[string]string `json:"keys"`
		Types   map[string]string `json:"types"`
	}
	run := func(renders [][2]string) result {
		in, _ := json.Marshal(map[string]any{"location": srv.Addr, "template": template, "renders": renders})
		var r result
		if err := json.Unmarshal(memcached.RunPython(t, python, script, in), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}

	// Django renders and stores; Go reads.
	r := run([][2]string{{"alice", "A & B é"}, {"carol", "<i>"}})
	t.Logf("Django %s", r.Version)
	for user, want := range map[string]string{"alice": "<b>A &amp; B é</b>", "carol": "<b>&lt;i&gt;</b>"} {
		if r.Renders[user] != want {
			t.Fatalf("Django rendered %q for %s, want %q", r.Renders[user], user, want)
		}
		key := cache.KeySchemeLegacy.FragmentKey("frag", user)
		if r.Keys[user] != key {
			t.Errorf("Django's fragment key %q, ours %q", r.Keys[user], key)
		}
		if r.Types[user] != "SafeString" {
			t.Errorf("Django reads its fragment as %s, want SafeString", r.Types[user])
		}
		if fl, _, ok := rawGet(t, srv, c.MakeKey(key)); !ok || fl != memcached.FlagPickle {
			t.Errorf("Django stored the fragment with flags %d (present %v), want a pickle (1)", fl, ok)
		}
		got, hit, err := c.Get(bg, key)
		if err != nil || !hit || string(got) != want {
			t.Errorf("Get(%s) = %q, %v, %v; want Django's rendering %q", key, got, hit, err, want)
		}
	}
	m, err := c.GetMany(bg, []string{cache.KeySchemeLegacy.FragmentKey("frag", "alice"), cache.KeySchemeLegacy.FragmentKey("frag", "carol")})
	if err != nil || len(m) != 2 {
		t.Errorf("GetMany of Django's fragments = %q, %v", m, err)
	}

	// Go stores; Django's template renders the cached fragment rather than
	// its body.
	const fromGo = "<i>from Go é</i> & <b>raw</b>"
	if err := c.Set(bg, cache.KeySchemeLegacy.FragmentKey("frag", "bob"), []byte(fromGo), cache.Seconds(60)); err != nil {
		t.Fatal(err)
	}
	r = run([][2]string{{"bob", "django"}, {"dave", "miss"}})
	if r.Renders["bob"] != fromGo {
		t.Errorf("Django rendered %q for bob, want the fragment Go stored %q", r.Renders["bob"], fromGo)
	}
	if r.Types["bob"] != "str" {
		t.Errorf("Django reads Go's fragment as %s, want str", r.Types["bob"])
	}
	if r.Renders["dave"] != "<b>miss</b>" {
		t.Errorf("Django rendered %q for dave (a miss), want <b>miss</b>", r.Renders["dave"])
	}
	if got, _, err := c.Get(bg, cache.KeySchemeLegacy.FragmentKey("frag", "dave")); err != nil || !bytes.Equal(got, []byte("<b>miss</b>")) {
		t.Errorf("Get of dave's fragment = %q, %v", got, err)
	}
}
