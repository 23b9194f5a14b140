package redis_test

import (
	encjson "encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/internal/testserver"
)

// djangoVariantsScript renders {% cache %} fragments with a real Django on
// Redis, for each value of the vary-on variable, under the names in
// "names", and stores one more variant of each with
// make_template_fragment_key and cache.set. It prints the made key of
// every variant it wrote. Input: {"cache": conf, "names": [...],
// "values": [...]}.
const djangoVariantsScript = `
import json, sys
req = json.load(sys.stdin)
import django
conf = dict(req["cache"])
if conf["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # Debian 12's redis-py (4.3.4) predates the lib_name argument (5.0)
    # that Django 5.2+ passes to connections; drop it.
    import redis
    class Connection(redis.Connection):
        def __init__(self, *args, lib_name=None, **kwargs):
            super().__init__(*args, **kwargs)
    conf["OPTIONS"] = {"connection_class": Connection}
from django.conf import settings
settings.configure(CACHES={"default": conf}, TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}])
django.setup()
from django.core.cache import cache
from django.core.cache.utils import make_template_fragment_key
from django.template import engines
out = {"version": django.get_version(), "keys": {}}
for name in req["names"]:
    tpl = engines["django"].from_string("{% load cache %}{% cache 600 " + name + " v %}<i>{{ v }}</i>{% endcache %}")
    keys = []
    for v in req["values"]:
        assert tpl.render({"v": v}) == "<i>" + v + "</i>"
        keys.append(cache.make_key(make_template_fragment_key(name, [v])))
    k = make_template_fragment_key(name, ["set", "by", "hand"])
    cache.set(k, "by hand", 600)
    keys.append(cache.make_key(k))
    out["keys"][name] = keys
json.dump(out, sys.stdout)
`

// testInvalidateDjangoVariants: the variants a real Django (3.2 with
// django-redis, 5.2 and 6.1 with Django's RedisCache) wrote on Redis, which
// no index lists, are gone after one InvalidateFragmentVariants (found by
// SCAN), with those Go wrote (found by the index); the variants of
// "sidebar" and "side.bar" are not touched.
func testInvalidateDjangoVariants(t *testing.T, srv *testserver.Server) {
	names := []string{"side", "sidebar", "side.bar"}
	values := []string{"a", "b", "c", "d", "é", "x y", "[*?]"}
	for i, version := range testserver.DjangoVersions {
		t.Run(version, func(t *testing.T) {
			dj := testserver.NewDjango(t, version)
			db := 8 + i
			conf := map[string]any{"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": fmt.Sprintf("redis://%s/%d", srv.Addr, db)}
			if version == "3.2" {
				conf["BACKEND"] = "django_redis.cache.RedisCache"
			}
			c := open(t, fmt.Sprintf("redis://%s/%d", srv.Addr, db))
			if err := c.Clear(bg); err != nil {
				t.Fatal(err)
			}
			in, _ := encjson.Marshal(map[string]any{"cache": conf, "names": names, "values": values})
			var out struct {
				Version string
				Keys    map[string][]string
			}
			if err := encjson.Unmarshal(dj.Run(t, djangoVariantsScript, in), &out); err != nil {
				t.Fatal(err)
			}
			// Go writes variants of its own, which it indexes.
			var goKeys []string
			for j := range 5 {
				k := cache.FragmentKey("side", "go", j)
				if err := c.Set(bg, k, []byte("<i>go</i>"), cache.Seconds(600)); err != nil {
					t.Fatal(err)
				}
				goKeys = append(goKeys, c.MakeKey(k))
			}
			rc := direct(t, srv.Addr, db, "")
			exists := func(keys []string) (n int) {
				for _, k := range keys {
					if rc.Exists(bg, k).Val() == 1 {
						n++
					}
				}
				return n
			}
			side := out.Keys["side"]
			if len(side) != len(values)+1 || exists(side) != len(side) {
				t.Fatalf("Django %s wrote %d variants of side, %d found in Redis: %q", out.Version, len(side), exists(side), side)
			}
			ix, _ := cache.As[cache.Indexer](c.Backend())
			indexed, err := ix.IndexMembers(bg, cache.VariantIndexKey(c.MakeKey(cache.FragmentKeyPrefix+"side")))
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(indexed)
			slices.Sort(goKeys)
			if !slices.Equal(indexed, goKeys) {
				t.Errorf("the index lists %q, want only Go's variants %q", indexed, goKeys)
			}

			n, err := c.InvalidateFragmentVariants(bg, "side")
			if err != nil {
				t.Fatal(err)
			}
			if want := len(side) + len(goKeys); n != want {
				t.Errorf("Django %s: InvalidateFragmentVariants(side) deleted %d keys, want %d", out.Version, n, want)
			}
			if left := exists(side); left != 0 {
				t.Errorf("Django %s: %d of the %d variants Django wrote survive", out.Version, left, len(side))
			}
			if left := exists(goKeys); left != 0 {
				t.Errorf("%d of Go's %d variants survive", left, len(goKeys))
			}
			for _, name := range names[1:] {
				if ks := out.Keys[name]; exists(ks) != len(ks) {
					t.Errorf("Django %s: %d of the %d variants of %q survive, want all", out.Version, exists(ks), len(ks), name)
				}
			}
			// Django renders the fragment again: a miss.
			again := map[string]any{"cache": conf, "names": []string{"side"}, "values": []string{"a"}}
			in, _ = encjson.Marshal(again)
			dj.Run(t, djangoVariantsScript, in)
			if exists(side[:1]) != 1 {
				t.Errorf("Django %s did not store the fragment again", out.Version)
			}
		})
	}
}
