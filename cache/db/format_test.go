package db_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/db"
)

// TestExpiresText: expires is written as Django writes it on SQLite:
// naive UTC (or local) text, microseconds only when not zero, and
// datetime.max for forever; the value column is base64 of a pickle.
func TestExpiresText(t *testing.T) {
	now := time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		local   bool
		timeout cache.Timeout
		want    string
	}{
		{false, cache.Seconds(60), "2026-12-03 18:01:00"},
		{false, cache.Seconds(1.5), "2026-12-03 18:00:01.500000"},
		{false, cache.Forever, "9999-12-31 23:59:59"},
		{false, cache.Expired, "2026-12-03 17:59:59"},
		{true, cache.Seconds(60), now.Add(time.Minute).Local().Format("2006-01-02 15:04:05")},
	} {
		b := newSQLite(t, db.Options{Now: func() time.Time { return now }, NaiveLocalTime: tc.local})
		if err := b.Set(bg, ":1:k", []byte("42"), tc.timeout); err != nil {
			t.Fatal(err)
		}
		var value, expires string
		if err := b.DB().QueryRow(`SELECT value, CAST(expires AS TEXT) FROM my_cache_table`).Scan(&value, &expires); err != nil {
			t.Fatal(err)
		}
		if expires != tc.want || value != "gAVLKi4=" { // pickle.dumps(42, 5)
			t.Errorf("local=%v %v: row (%q, %q), want (gAVLKi4=, %q)", tc.local, tc.timeout, value, expires, tc.want)
		}
	}
}

// TestCullOrder: culling deletes the expired rows, then the first
// count/CullFrequency rows in key order, as Django's _cull.
func TestCullOrder(t *testing.T) {
	clk := time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
	b := newSQLite(t, db.Options{MaxEntries: 9, CullFrequency: 3, Now: func() time.Time { return clk }})
	for i := 9; i >= 0; i-- { // 10 rows, written in reverse key order
		if err := b.Set(bg, fmt.Sprintf("k%d", i), []byte("v"), cache.Seconds(100)); err != nil {
			t.Fatal(err)
		}
	}
	// 10 > 9: the next write culls 10/3 = 3 rows, the smallest keys.
	if err := b.Set(bg, "z", []byte("v"), cache.Seconds(100)); err != nil {
		t.Fatal(err)
	}
	var keys []string
	rows, err := b.DB().Query(`SELECT cache_key FROM my_cache_table ORDER BY cache_key`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		rows.Scan(&k)
		keys = append(keys, k)
	}
	rows.Close()
	if got := strings.Join(keys, ","); got != "k3,k4,k5,k6,k7,k8,k9,z" {
		t.Errorf("after culling: %s, want k3…k9,z", got)
	}
}

// TestAddReplacesOnlyExpired: Add stores over an expired row, never over
// a live one.
func TestAddReplacesOnlyExpired(t *testing.T) {
	clk := time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
	b := newSQLite(t, db.Options{Now: func() time.Time { return clk }})
	if err := b.Set(bg, "k", []byte("old"), cache.Seconds(10)); err != nil {
		t.Fatal(err)
	}
	if ok, err := b.Add(bg, "k", []byte("new"), cache.Seconds(10)); ok || err != nil {
		t.Errorf("Add over a live row = %v, %v", ok, err)
	}
	clk = clk.Add(11 * time.Second)
	if ok, err := b.Add(bg, "k", []byte("new"), cache.Seconds(10)); !ok || err != nil {
		t.Errorf("Add over an expired row = %v, %v", ok, err)
	}
	if v, ok, err := b.Get(bg, "k"); string(v) != "new" || !ok || err != nil {
		t.Errorf("Get = %q, %v, %v", v, ok, err)
	}
}
