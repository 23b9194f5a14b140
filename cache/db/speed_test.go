package db_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache/db"
	"github.com/fragcache/fragcache/internal/testserver"
)

// djangoGetSpeedScript stores an 8 KiB str with Django's DatabaseCache,
// then times n gets of it in a loop, and prints the mean in seconds.
const djangoGetSpeedScript = `
import json, sys, time
args = json.load(sys.stdin)
import django
from django.conf import settings
settings.configure(
    DATABASES={"default": args["database"]},
    CACHES={"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "speed_table"}},
)
django.setup()
from django.core.cache import cache
from django.core.management import call_command
call_command("createcachetable", verbosity=0)
value = "x" * 8192
cache.set("value8k", value, None)
n = args["n"]
for _ in range(200):
    assert cache.get("value8k") == value
t0 = time.perf_counter()
for _ in range(n):
    cache.get("value8k")
print(json.dumps((time.perf_counter() - t0) / n))
`

// TestGetSpeedAgainstDjango measures a Get of an 8 KiB value against
// Django 3.2's DatabaseCache on the same database and table, one
// sequential caller each, in one run: the value is written by Django and
// read by both. It runs with FRAGCACHE_BENCH_DJANGO=1 only (BENCHMARKS.md
// has the command and the figures):
//
//	FRAGCACHE_BENCH_DJANGO=1 go test ./cache/db -run GetSpeedAgainstDjango -v -count=1
func TestGetSpeedAgainstDjango(t *testing.T) {
	if os.Getenv("FRAGCACHE_BENCH_DJANGO") != "1" {
		t.Skip("a measurement: set FRAGCACHE_BENCH_DJANGO=1")
	}
	const n, rounds = 5000, 5
	dj := testserver.NewDjango(t, "3.2")
	pg := testserver.SharedPostgres(t)
	pgName := pg.CreateDatabase(t)
	sqlitePath := filepath.Join(t.TempDir(), "speed.db")
	for _, tc := range []struct {
		name     string
		database map[string]string
		url      string
	}{
		{"sqlite", sqliteDatabase(sqlitePath), "sqlite://" + sqlitePath + "?table=speed_table"},
		{"postgresql", postgresDatabase(pg, pgName), pg.URL(pgName, "table=speed_table&sslmode=disable")},
	} {
		in, _ := json.Marshal(map[string]any{"database": tc.database, "n": n})
		c, err := db.Open(tc.url + "&django=3.2")
		if err != nil {
			t.Fatal(err)
		}
		// Rounds alternate Django and Go, so that the machine's load
		// falls on both alike; the medians are compared.
		var djTimes, goTimes []time.Duration
		for round := 0; round < rounds; round++ {
			var djangoSecs float64
			if err := json.Unmarshal(dj.Run(t, djangoGetSpeedScript, in), &djangoSecs); err != nil {
				t.Fatal(err)
			}
			djTimes = append(djTimes, time.Duration(djangoSecs*float64(time.Second)))
			want := strings.Repeat("x", 8192)
			for i := 0; i < 200; i++ {
				if v, ok, err := c.Get(bg, "value8k"); err != nil || !ok || string(v) != want {
					t.Fatalf("%s: Get = %d bytes, %v, %v", tc.name, len(v), ok, err)
				}
			}
			start := time.Now()
			for i := 0; i < n; i++ {
				if _, _, err := c.Get(bg, "value8k"); err != nil {
					t.Fatal(err)
				}
			}
			goTimes = append(goTimes, time.Since(start)/n)
		}
		c.Close()
		goPer, djPer := median(goTimes), median(djTimes)
		t.Logf("%s: Get of an 8 KiB value: fragcache %v, Django 3.2 %v per call (medians of %d alternating rounds): %.2f×", tc.name, goPer, djPer, rounds, float64(djPer)/float64(goPer))
	}
}

// median returns the median of ds.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
