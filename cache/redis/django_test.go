package redis_test

import (
	"bytes"
	encjson "encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/cache/cachetest"
	"github.com/fragcache/fragcache/cache/redis"
	"github.com/fragcache/fragcache/internal/golden"
	"github.com/fragcache/fragcache/internal/pickle"
	"github.com/fragcache/fragcache/internal/testserver"
)

// Pickles Python 3.11 wrote (pickle.dumps(v, protocol).hex()).
const (
	// SafeString("<b>é</b>"), protocols 2 and 4 (django-redis uses 4).
	hexSafeString2 = "800263646a616e676f2e7574696c732e73616665737472696e670a53616665537472696e670a710058090000003c623ec3a93c2f623e71018571028171032e"
	hexSafeString4 = "8004953a000000000000008c17646a616e676f2e7574696c732e73616665737472696e67948c0a53616665537472696e679493948c093c623ec3a93c2f623e94859481942e"
	// bytearray(b"\x01\x02"), protocol 4.
	hexByteArray4 = "80049523000000000000008c086275696c74696e73948c096279746561727261799493944302010294859452942e"
	// 10**30, protocol 5.
	hexBigInt = "80059510000000000000008a0d00000040eaed7446d09c2c9f0c2e"
	// An object whose __reduce__ is (os.system, ("touch /tmp/pwned",)).
	hexEvil = "8005952b000000000000008c05706f736978948c0673797374656d9493948c10746f756368202f746d702f70776e656494859452942e"
)

// goldenRaw returns the bytes Django's RedisSerializer stored for each
// golden raw_storage value.
func goldenRaw(t testing.TB) map[string][]byte {
	t.Helper()
	var g struct {
		Backends struct {
			Redis struct {
				RawStorage map[string]encjson.RawMessage `json:"raw_storage"`
			} `json:"redis"`
		} `json:"backends"`
	}
	if err := golden.Decode("backend_api", golden.Newest, &g); err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for name, m := range g.Backends.Redis.RawStorage {
		var v json
		if encjson.Unmarshal(m, &v) != nil || v.Raw.Hex == "" {
			continue // ttl_for_timeout_100
		}
		out[name] = v.bytes(t)
	}
	if len(out) < 8 {
		t.Fatalf("golden raw_storage has %d values", len(out))
	}
	return out
}

func hexBytes(t testing.TB, s string) []byte {
	t.Helper()
	return json{Raw: struct {
		Hex string `json:"bytes_hex"`
	}{s}}.bytes(t)
}

// TestDjangoValuesGolden: with django_values=1 the backend writes exactly
// the bytes Django's RedisSerializer wrote for the same str, bytes and int,
// and reads what Django wrote back as text, bytes and digits.
func TestDjangoValuesGolden(t *testing.T) {
	g := goldenRaw(t)
	srv := testserver.Redis(t)
	c := open(t, "redis://"+srv.Addr+"?django_values=1")
	raw := open(t, "redis://"+srv.Addr)
	rc := direct(t, srv.Addr, 0, "")

	// Writing: Django's bytes, with Set, Add and SetMany.
	for name, v := range map[string]string{"str": "hello", "unicode": "café", "bytes": "\x00\x01", "int": "42", "neg": "-7"} {
		for _, op := range []string{"Set", "Add", "SetMany"} {
			key := name + op
			switch op {
			case "Set":
				must(t, c.Set(bg, key, []byte(v), cache.Forever))
			case "Add":
				if ok, err := c.Add(bg, key, []byte(v), cache.Forever); !ok || err != nil {
					t.Fatalf("Add = %v, %v", ok, err)
				}
			case "SetMany":
				_, err := c.SetMany(bg, map[string][]byte{key: []byte(v), "other": []byte("x")}, cache.Seconds(60))
				must(t, err)
			}
			got, err := rc.Get(bg, ":1:"+key).Bytes()
			must(t, err)
			want := g[name]
			if name == "bytes" {
				// 00 01 is valid UTF-8, so it is written as a str, which
				// is what Django reads as long as it is text.
				want = pickle.EncodeString(v)
			}
			if string(got) != string(want) {
				t.Errorf("%s %q: stored %x, Django stores %x", op, v, got, want)
			}
		}
	}
	if string(pickle.EncodeBytes([]byte{0, 1})) != string(g["bytes"]) {
		t.Errorf("pickle.EncodeBytes differs from what Django stored for b'\\x00\\x01'")
	}
	must(t, c.Set(bg, "bin", []byte{0xff, 0x00}, cache.Forever))
	if got, _ := rc.Get(bg, ":1:bin").Bytes(); string(got) != string(pickle.EncodeBytes([]byte{0xff, 0x00})) {
		t.Errorf("invalid UTF-8 stored as %x, want pickled bytes", got)
	}
	for v, pickled := range map[string]bool{"": true, "007": true, "-0": true, "+1": true, " 1": true, "1_0": true, "0": false, strings.Repeat("9", 4300): false, strings.Repeat("9", 4301): true} {
		must(t, c.Set(bg, "f", []byte(v), cache.Forever))
		got, _ := rc.Get(bg, ":1:f").Bytes()
		want := []byte(v)
		if pickled {
			want = pickle.EncodeString(v)
		}
		if string(got) != string(want) {
			t.Errorf("Set(%.20q): stored %.40x, want %.40x", v, got, want)
		}
		if back, ok, err := c.Get(bg, "f"); err != nil || !ok || string(back) != v {
			t.Errorf("Set(%.20q) reads back as %.20q, %v, %v", v, back, ok, err)
		}
	}

	// Reading what Django stored.
	reads := map[string][]byte{
		"golden str":     g["str"],
		"golden unicode": g["unicode"],
		"golden bytes":   g["bytes"],
		"golden int":     g["int"],
		"golden neg":     g["neg"],
		"SafeString 5":   pickle.EncodeSafeString("<b>A &amp; B</b>"),
		"SafeString 4":   hexBytes(t, hexSafeString4),
		"SafeString 2":   hexBytes(t, hexSafeString2),
		"bytearray 4":    hexBytes(t, hexByteArray4),
		"pickled int":    hexBytes(t, hexBigInt),
		"old text":       []byte("stored raw before"),
		"old binary":     {0x80, 0xff, 0x00}, // not a pickle
		"old 0x80":       {0x80},
		"old truncated":  {0x80, 0x05},
		"old short":      pickle.EncodeString("abc")[:8],
		"old empty":      {},
	}
	want := map[string]string{
		"golden str": "hello", "golden unicode": "café", "golden bytes": "\x00\x01",
		"golden int": "42", "golden neg": "-7",
		"SafeString 5": "<b>A &amp; B</b>", "SafeString 4": "<b>é</b>", "SafeString 2": "<b>é</b>",
		"bytearray 4": "\x01\x02", "pickled int": "1000000000000000000000000000000",
		"old text": "stored raw before", "old binary": "\x80\xff\x00", "old empty": "",
		"old 0x80": "\x80", "old truncated": "\x80\x05", "old short": string(pickle.EncodeString("abc")[:8]),
	}
	var keys []string
	for name, data := range reads {
		key := strings.ReplaceAll(name, " ", "_")
		keys = append(keys, key)
		must(t, rc.Set(bg, ":1:"+key, data, 0).Err())
		got, ok, err := c.Get(bg, key)
		if err != nil || !ok || string(got) != want[name] {
			t.Errorf("%s: Get = %q, %v, %v; want %q", name, got, ok, err, want[name])
		}
		// Without the option the stored bytes are returned as they are.
		if got, _, err := raw.Get(bg, key); err != nil || string(got) != string(data) {
			t.Errorf("%s: Get without django_values = %x, %v; want the raw %x", name, got, err, data)
		}
	}
	m, err := c.GetMany(bg, append(keys, "missing"))
	if err != nil || len(m) != len(keys) {
		t.Fatalf("GetMany = %d values, %v", len(m), err)
	}
	for name := range reads {
		if got := m[strings.ReplaceAll(name, " ", "_")]; string(got) != want[name] {
			t.Errorf("%s: GetMany gives %q, want %q", name, got, want[name])
		}
	}

	// Pickles of other values fail, and are never executed.
	for name, tc := range map[string]struct {
		data    []byte
		python  string
		wrapped error
	}{
		"bool":      {g["bool"], "bool", nil},
		"float":     {g["float"], "float", nil},
		"dict":      {g["dict"], "", pickle.ErrUnsupported},
		"os.system": {hexBytes(t, hexEvil), "", pickle.ErrUnsupported},
	} {
		must(t, rc.Set(bg, ":1:"+name, tc.data, 0).Err())
		got, ok, err := c.Get(bg, name)
		var fe *redis.ForeignValueError
		if !errors.Is(err, redis.ErrForeignValue) || !errors.As(err, &fe) || fe.Key != ":1:"+name || got != nil || ok {
			t.Errorf("%s: Get = %q, %v, %v; want a *ForeignValueError", name, got, ok, err)
			continue
		}
		if fe.Python != tc.python || (tc.wrapped == nil) != (fe.Err == nil) || tc.wrapped != nil && !errors.Is(err, tc.wrapped) {
			t.Errorf("%s: ForeignValueError{Python: %q, Err: %v}", name, fe.Python, fe.Err)
		}
		if _, err := c.GetMany(bg, []string{"golden_str", name}); !errors.Is(err, redis.ErrForeignValue) {
			t.Errorf("%s: GetMany = %v, want ErrForeignValue", name, err)
		}
		if ok, err := c.Has(bg, name); !ok || err != nil {
			t.Errorf("%s: Has = %v, %v", name, ok, err)
		}
		// GetRaw hands it over undecoded, marked as a pickle.
		if raw, ok, err := c.GetRaw(bg, name); err != nil || !ok || !raw.Pickle || !bytes.Equal(raw.Bytes, tc.data) {
			t.Errorf("%s: GetRaw = %+v, %v, %v", name, raw, ok, err)
		}
	}
	// An integer is stored as its digits, not pickled.
	must(t, rc.Set(bg, ":1:digits", "42", 0).Err())
	if raw, ok, err := c.GetRaw(bg, "digits"); err != nil || !ok || raw.Pickle || string(raw.Bytes) != "42" {
		t.Errorf("GetRaw(digits) = %+v, %v, %v", raw, ok, err)
	}
	if _, err := os.Stat("/tmp/pwned"); err == nil {
		t.Error("/tmp/pwned exists: was a pickle executed?")
	}

	// Incr works on the integers Django and this backend store raw.
	must(t, c.Set(bg, "n", []byte("41"), cache.Forever))
	if n, err := c.Incr(bg, "n", 1); err != nil || n != 42 {
		t.Errorf("Incr = %d, %v; want 42", n, err)
	}
	if v, _, _ := c.Get(bg, "n"); string(v) != "42" {
		t.Errorf("after Incr Get = %q", v)
	}
	if n, err := c.Incr(bg, "golden_neg", -3); err != nil || n != -10 {
		t.Errorf("Incr on Django's -7 = %d, %v; want -10", n, err)
	}
	// A pickled str is not an integer, for Django's INCRBY either.
	must(t, c.Set(bg, "z", []byte("007"), cache.Forever))
	if _, err := c.Incr(bg, "z", 1); !errors.Is(err, cache.ErrNotInteger) {
		t.Errorf("Incr on a pickled str: %v, want ErrNotInteger", err)
	}
}

func TestDjangoValuesURL(t *testing.T) {
	srv := testserver.Redis(t)
	rc := direct(t, srv.Addr, 0, "")
	for q, pickled := range map[string]bool{"django_values=1": true, "django_values=on": true, "django_values=0": false, "pool_size=2": false,
		"django=5.2": true, "django=3.2.25-debian&django_values=0": false} {
		c, err := backends.Open("redis://" + srv.Addr + "?" + q)
		must(t, err)
		must(t, c.Set(bg, "k", []byte("text"), cache.Forever))
		c.Close()
		got, _ := rc.Get(bg, ":1:k").Bytes()
		if (string(got) != "text") != pickled {
			t.Errorf("%s: stored %x", q, got)
		}
	}
	if _, err := cache.Open("redis://"+srv.Addr+"?django_values=maybe", schemes); !errors.Is(err, cache.ErrInvalidOption) || !strings.Contains(err.Error(), "django_values") {
		t.Errorf("django_values=maybe: %v", err)
	}
}

// TestConformanceDjangoValues runs the suite with Django's value encoding,
// which must not change what the backend reads back. The expiry tests,
// which sleep, are skipped (Granularity 0): the encoding does not affect
// them.
func TestConformanceDjangoValues(t *testing.T) {
	srv := testserver.Redis(t)
	cachetest.Run(t, cachetest.Harness{
		New: func(t testing.TB, _ func() time.Time, opts ...cache.Option) *cache.Cache {
			c := open(t, "redis://"+srv.Addr+"/0?django_values=1", opts...)
			if err := c.Clear(bg); err != nil {
				t.Fatal(err)
			}
			return c
		},
		AtomicIncr: true,
		AtomicAdd:  true,
		Leases:     true,
		Indexes:    true,
		Semantics:  cachetest.DjangoRedis,
	})
}

// djangoScript runs against the test server in two phases. Database 0 is
// Django 3.2's cache over django-redis (pickle protocol 4); database 1 is
// written and read with Django 4.0+'s RedisSerializer (copied below: ints
// raw, everything else pickle.HIGHEST_PROTOCOL, read with int() or
// pickle.loads) through redis-py. "write" renders the fragment template for
// alice and stores Python values on both; "read" renders it for bob and
// dave, reads the values the Go side stored, and increments "gi".
const djangoScript = `
import json, pickle, sys
import django, redis
from django.conf import settings
req = json.load(sys.stdin)
settings.configure(
    CACHES={"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://%s/0" % req["addr"]}},
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
)
django.setup()
from django.template import engines
from django.core.cache import cache
from django.core.cache.utils import make_template_fragment_key
from django.utils.safestring import SafeString

class RedisSerializer:
    def __init__(self, protocol=None):
        self.protocol = pickle.HIGHEST_PROTOCOL if protocol is None else protocol
    def dumps(self, obj):
        if type(obj) is int:
            return obj
        return pickle.dumps(obj, self.protocol)
    def loads(self, data):
        try:
            return int(data)
        except ValueError:
            return pickle.loads(data)

ser = RedisSerializer()
r1 = redis.Redis.from_url("redis://%s/1" % req["addr"])
tpl = engines["django"].from_string(req["template"])

def show(v):
    if isinstance(v, (bytes, bytearray)):
        return [type(v).__name__, v.hex()]
    if isinstance(v, int) and not isinstance(v, bool):
        return ["int", str(v)]
    return [type(v).__name__, v]

out = {"renders": {}, "keys": {}, "django": {}, "serializer": {}}
if req["phase"] == "write":
    values = {"s": "text é", "safe": SafeString("<b>safe</b>"), "b": b"\xff\x00", "i": 42, "neg": -7,
              "big": 10**30, "ba": bytearray(b"\x01"), "t": True, "f": 1.5, "d": {"a": 1}}
    for k, v in values.items():
        cache.set(k, v, 600)
        r1.set(":1:" + k, ser.dumps(v), ex=600)
    out["renders"]["alice"] = tpl.render({"user": "alice", "x": "A & B é"})
    k = make_template_fragment_key("frag", ["alice"])
    out["keys"]["alice"] = k
    # What Django 4.0+'s {% cache %} stores: the rendered SafeString.
    r1.set(":1:" + k, ser.dumps(SafeString("<p>Django 4 é</p>")), ex=600)
else:
    for user, x in [("bob", "django"), ("dave", "miss")]:
        out["renders"][user] = tpl.render({"user": user, "x": x})
    for k in req["keys"]:
        out["django"][k] = show(cache.get(k))
        out["serializer"][k] = show(ser.loads(r1.get(":1:" + k)))
    out["django_many"] = {k: show(v) for k, v in cache.get_many(req["keys"]).items()}
    out["django_incr"] = cache.incr("gi", 1)
    out["serializer_incr"] = r1.incr(":1:gi", 1)
json.dump(out, sys.stdout)
`

// TestDjangoInterop exchanges fragments and values with Django in both
// directions with django_values=1: with Django 3.2's {% cache %} tag over
// django-redis (database 0), and with Django 4.0+'s RedisSerializer
// (database 1).
func TestDjangoInterop(t *testing.T) {
	python := pythonWith(t, "django, redis, django_redis", "python3-django python3-redis python3-django-redis")
	srv := testserver.Redis(t)
	c0 := open(t, "redis://"+srv.Addr+"/0?django_values=1")
	c1 := open(t, "redis://"+srv.Addr+"/1?django_values=1")
	const template = `{% load cache %}{% cache 60 frag user %}<b>{{ x }}</b>{% endcache %}`
	type result struct {
		Renders        map[string]string    `json:"renders"`
		Keys           map[string]string    `json:"keys"`
		Django         map[string][2]string `json:"django"`
		Serializer     map[string][2]string `json:"serializer"`
		DjangoMany     map[string][2]string `json:"django_many"`
		DjangoIncr     int64                `json:"django_incr"`
		SerializerIncr int64                `json:"serializer_incr"`
	}
	run := func(phase string, keys []string) result {
		in, _ := encjson.Marshal(map[string]any{"addr": srv.Addr, "phase": phase, "template": template, "keys": keys})
		var r result
		if err := encjson.Unmarshal(runPython(t, python, djangoScript, in), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}

	// Django writes, Go reads.
	r := run("write", nil)
	alice := cache.KeySchemeLegacy.FragmentKey("frag", "alice")
	if r.Keys["alice"] != alice {
		t.Errorf("Django's fragment key %q, ours %q", r.Keys["alice"], alice)
	}
	const aliceHTML = "<b>A &amp; B é</b>"
	if r.Renders["alice"] != aliceHTML {
		t.Fatalf("Django rendered %q", r.Renders["alice"])
	}
	if got, ok, err := c0.Get(bg, alice); err != nil || !ok || string(got) != aliceHTML {
		t.Errorf("django-redis fragment: Get = %q, %v, %v; want %q", got, ok, err, aliceHTML)
	}
	if got, ok, err := c1.Get(bg, alice); err != nil || !ok || string(got) != "<p>Django 4 é</p>" {
		t.Errorf("RedisSerializer fragment: Get = %q, %v, %v", got, ok, err)
	}
	rc0 := direct(t, srv.Addr, 0, "")
	if b, _ := rc0.Get(bg, ":1:safe").Bytes(); len(b) < 2 || b[0] != 0x80 || b[1] != 4 {
		t.Errorf("django-redis stored %.8x, want a protocol 4 pickle", b)
	}
	want := map[string]string{"s": "text é", "safe": "<b>safe</b>", "b": "\xff\x00", "i": "42", "neg": "-7", "big": "1000000000000000000000000000000", "ba": "\x01"}
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	for db, c := range []*cache.Cache{c0, c1} {
		for k, w := range want {
			if got, ok, err := c.Get(bg, k); err != nil || !ok || string(got) != w {
				t.Errorf("db %d: Get(%s) = %q, %v, %v; want %q", db, k, got, ok, err, w)
			}
		}
		m, err := c.GetMany(bg, keys)
		if err != nil || len(m) != len(want) {
			t.Errorf("db %d: GetMany = %q, %v", db, m, err)
		}
		for _, k := range []string{"t", "f", "d"} {
			if _, _, err := c.Get(bg, k); !errors.Is(err, redis.ErrForeignValue) {
				t.Errorf("db %d: Get(%s) = %v, want ErrForeignValue", db, k, err)
			}
		}
		if n, err := c.Incr(bg, "i", 1); err != nil || n != 43 {
			t.Errorf("db %d: Incr on Django's int = %d, %v", db, n, err)
		}
	}

	// Go writes, Django reads.
	const bobHTML = "<i>from Go é</i> & <b>raw</b>"
	goVals := map[string][]byte{"gs": []byte("text é"), "gi": []byte("41"), "gb": {0xff, 0x01}, "ge": {}, "g007": []byte("007"), "gneg": []byte("-5")}
	wantPy := map[string][2]string{"gs": {"str", "text é"}, "gi": {"int", "41"}, "gb": {"bytes", "ff01"}, "ge": {"str", ""}, "g007": {"str", "007"}, "gneg": {"int", "-5"}}
	var gkeys []string
	for _, c := range []*cache.Cache{c0, c1} {
		must(t, c.Set(bg, cache.KeySchemeLegacy.FragmentKey("frag", "bob"), []byte(bobHTML), cache.Seconds(60)))
		_, err := c.SetMany(bg, goVals, cache.Seconds(600))
		must(t, err)
	}
	for k := range goVals {
		gkeys = append(gkeys, k)
	}
	gkeys = append(gkeys, cache.KeySchemeLegacy.FragmentKey("frag", "bob"))
	wantPy[cache.KeySchemeLegacy.FragmentKey("frag", "bob")] = [2]string{"str", bobHTML}
	r = run("read", gkeys)
	if r.Renders["bob"] != bobHTML {
		t.Errorf("Django rendered %q for bob, want the fragment Go stored %q", r.Renders["bob"], bobHTML)
	}
	if r.Renders["dave"] != "<b>miss</b>" {
		t.Errorf("Django rendered %q for dave (a miss)", r.Renders["dave"])
	}
	for k, w := range wantPy {
		if r.Django[k] != w {
			t.Errorf("django-redis reads %s as %q, want %q", k, r.Django[k], w)
		}
		if r.DjangoMany[k] != w {
			t.Errorf("django-redis get_many reads %s as %q, want %q", k, r.DjangoMany[k], w)
		}
		if r.Serializer[k] != w {
			t.Errorf("RedisSerializer reads %s as %q, want %q", k, r.Serializer[k], w)
		}
	}
	if r.DjangoIncr != 42 || r.SerializerIncr != 42 {
		t.Errorf("Django's incr on Go's 41 = %d, %d; want 42", r.DjangoIncr, r.SerializerIncr)
	}
	// Django's dave fragment (a miss it rendered and stored) reads here.
	for db, c := range []*cache.Cache{c0} {
		if got, _, err := c.Get(bg, cache.KeySchemeLegacy.FragmentKey("frag", "dave")); err != nil || string(got) != "<b>miss</b>" {
			t.Errorf("db %d: dave's fragment = %q, %v", db, got, err)
		}
	}
	for db, c := range []*cache.Cache{c0, c1} {
		if n, err := c.Incr(bg, "gi", 1); err != nil || n != 43 {
			t.Errorf("db %d: Incr after Django's = %d, %v; want 43", db, n, err)
		}
	}
}
