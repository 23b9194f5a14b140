package cache_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/internal/testserver"
)

// djangoStampedeScript reads, writes and deletes keys with a real Django
// on shared memcached and Redis servers. Input: {"caches": {alias: conf},
// "ops": [[op, alias, key, value], ...]} with op get, set or delete;
// output: {"version": ..., "got": [[type, value], ...]} for each get.
const djangoStampedeScript = `
import json, sys
req = json.load(sys.stdin)
import django
caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
for alias, conf in req["caches"].items():
    conf = dict(conf)
    if conf["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
        # Debian's redis-py predates the lib_name argument Django 5.2+ passes.
        import redis
        class Connection(redis.Connection):
            def __init__(self, *args, lib_name=None, **kwargs):
                super().__init__(*args, **kwargs)
        conf["OPTIONS"] = {"connection_class": Connection}
    caches[alias] = conf
from django.conf import settings
settings.configure(CACHES=caches)
django.setup()
from django.core.cache import caches as django_caches
out = {"version": django.get_version(), "got": []}
for op, alias, key, value in req["ops"]:
    c = django_caches[alias]
    if op == "get":
        v = c.get(key)
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        out["got"].append([type(c.get(key)).__name__, "" if v is None else str(v)])
    elif op == "set":
        c.set(key, value, 600)
    elif op == "delete":
        c.delete(key)
json.dump(out, sys.stdout)
`

// TestStampedeDjangoInterop: with lease, grace, early expiry and jitter
// on, and Django's format (django=), real Django 3.2, 5.2 and 6.1 read the
// values Go stored with SetEntry, GetOrSetWith and GetOrSet, and their
// deletes make Go miss; a value Django wrote (no freshness side key, or
// one describing Go's older value) is fresh in Go.
func TestStampedeDjangoInterop(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Django")
	}
	mc := testserver.Memcached(t)
	rd := testserver.Redis(t)
	ctx := context.Background()
	releases := map[string]string{"3.2": "3.2.25-debian", "5.2": "5.2.19", "6.1": "6.1.1"}
	// Generous operation timeouts: a loaded machine must not fail open.
	const opts = "&lease=1&lease_ttl=5s&grace=30s&xfetch=1&jitter=0.2&op_timeout=5s"
	for i, version := range testserver.DjangoVersions {
		t.Run(version, func(t *testing.T) {
			dj := testserver.NewDjango(t, version)
			redisBackend := "django.core.cache.backends.redis.RedisCache"
			if version == "3.2" {
				redisBackend = "django_redis.cache.RedisCache"
			}
			prefix := "st" + version
			caches := map[string]any{
				"mc": map[string]any{"BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache", "LOCATION": mc.Addr, "KEY_PREFIX": prefix},
				"rd": map[string]any{"BACKEND": redisBackend, "LOCATION": fmt.Sprintf("redis://%s/%d", rd.Addr, i)},
			}
			run := func(ops [][4]string) [][2]string {
				in, _ := json.Marshal(map[string]any{"caches": caches, "ops": ops})
				var out struct {
					Version string
					Got     [][2]string
				}
				if err := json.Unmarshal(dj.Run(t, djangoStampedeScript, in), &out); err != nil {
					t.Fatal(err)
				}
				return out.Got
			}
			goCaches := map[string]*cache.Cache{}
			for alias, u := range map[string]string{
				"mc": "memcached://" + mc.Addr + "?key_prefix=" + prefix + "&django=" + releases[version] + opts,
				"rd": fmt.Sprintf("redis://%s/%d?django=%s%s", rd.Addr, i, releases[version], opts),
			} {
				c, err := backends.Open(u)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				goCaches[alias] = c
			}
			load := func(v string) func(context.Context) ([]byte, error) {
				return func(context.Context) ([]byte, error) { return []byte(v), nil }
			}
			wrote := time.Now()
			for alias, c := range goCaches {
				st := c.Stampede()
				if !st.Lease || st.Grace != 30*time.Second || !st.XFetch {
					t.Fatalf("%s: Stampede() = %+v", alias, st)
				}
				if err := c.SetEntry(ctx, "se", []byte("SetEntry é"), cache.Seconds(60), st, 5*time.Millisecond); err != nil {
					t.Fatal(err)
				}
				if v, err := c.GetOrSetWith(ctx, "gosw", load("GetOrSetWith"), cache.Seconds(60), st); err != nil || string(v) != "GetOrSetWith" {
					t.Fatalf("%s: GetOrSetWith = %q, %v", alias, v, err)
				}
				if v, err := c.GetOrSet(ctx, "gos", load("GetOrSet"), cache.Seconds(60)); err != nil || string(v) != "GetOrSet" {
					t.Fatalf("%s: GetOrSet = %q, %v", alias, v, err)
				}
				// Stale in a second: Django overwrites it meanwhile.
				if err := c.SetEntry(ctx, "ow", []byte("Go's"), cache.Seconds(1), st, 0); err != nil {
					t.Fatal(err)
				}
			}
			var ops [][4]string
			for _, alias := range []string{"mc", "rd"} {
				for _, k := range []string{"se", "gosw", "gos"} {
					ops = append(ops, [4]string{"get", alias, k, ""})
				}
				ops = append(ops,
					[4]string{"delete", alias, "se", ""},
					[4]string{"delete", alias, "gosw", ""},
					[4]string{"set", alias, "dj", "Django's"},
					[4]string{"set", alias, "ow", "Django's too"},
				)
			}
			got := run(ops)
			want := [][2]string{{"str", "SetEntry é"}, {"str", "GetOrSetWith"}, {"str", "GetOrSet"}}
			for j, g := range got {
				if w := want[j%3]; g != w {
					t.Errorf("Django %s read %v, want %v", version, g, w)
				}
			}
			time.Sleep(time.Until(wrote.Add(1100 * time.Millisecond)))
			for alias, c := range goCaches {
				st := c.Stampede()
				// Django's deletes.
				if l, err := c.GetEntry(ctx, "se", st); err != nil || l.Hit {
					t.Errorf("%s: GetEntry after Django's delete = %+v, %v; want a miss", alias, l, err)
				}
				if v, err := c.GetOrSetWith(ctx, "gosw", load("again"), cache.Seconds(60), st); err != nil || string(v) != "again" {
					t.Errorf("%s: GetOrSetWith after Django's delete = %q, %v; want a new load", alias, v, err)
				}
				// Django's values are fresh.
				for k, w := range map[string]string{"dj": "Django's", "ow": "Django's too"} {
					l, err := c.GetEntry(ctx, k, st)
					if err != nil || !l.Hit || l.Stale || string(l.Value) != w {
						t.Errorf("%s: GetEntry(%s) of Django's value = %+v, %v; want %q, fresh", alias, k, l, err, w)
					}
				}
				if v, err := c.GetOrSetWith(ctx, "dj", load("not loaded"), cache.Seconds(60), st); err != nil || string(v) != "Django's" {
					t.Errorf("%s: GetOrSetWith of Django's value = %q, %v", alias, v, err)
				}
				if s := c.Stats().Stampede; s.Refreshes != 0 || s.StaleServed != 0 {
					t.Errorf("%s: Django's values were refreshed: %+v", alias, s)
				}
			}
		})
	}
}
