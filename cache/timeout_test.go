package cache

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/fragcache/fragcache/internal/golden"
)

// TestDeadlineGolden checks Deadline against Django's base
// get_backend_timeout (locmem), recorded at the frozen clock 1700000000.
func TestDeadlineGolden(t *testing.T) {
	var doc struct {
		FixedNow float64 `json:"fixed_now"`
		Backends map[string]struct {
			Timeouts []struct {
				Timeout string   `json:"timeout"`
				OK      *float64 `json:"ok"`
			} `json:"get_backend_timeout"`
		} `json:"backends"`
	}
	if err := golden.Decode("backend_api", golden.Newest, &doc); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(int64(doc.FixedNow), 0)
	def := Seconds(300)
	rows := doc.Backends["locmem"].Timeouts
	if len(rows) == 0 {
		t.Fatal("no get_backend_timeout rows")
	}
	for _, row := range rows {
		var to Timeout
		switch row.Timeout {
		case "DEFAULT":
			to = def
		case "None":
			to = Forever
		default:
			f, err := strconv.ParseFloat(row.Timeout, 64)
			if err != nil {
				t.Fatal(err)
			}
			to = Seconds(f)
		}
		d, never := to.Deadline(now)
		if row.OK == nil {
			if !never {
				t.Errorf("timeout %s: deadline %d, Django: never", row.Timeout, d)
			}
			continue
		}
		want := int64(math.Round(*row.OK * 1e9))
		if never || d != want {
			t.Errorf("timeout %s: deadline %d (never=%v), Django %d", row.Timeout, d, never, want)
		}
	}
}

func TestSeconds(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want Timeout
	}{
		{0, Expired},
		{-1, Timeout(-time.Second)},
		{1.5, Timeout(1500 * time.Millisecond)},
		{1e-12, 1},
		{-1e-12, -1},
		{1e30, Forever},
		{-1e30, Expired},
		{math.NaN(), Expired},
		{math.Inf(1), Forever},
	} {
		if got := Seconds(tc.in); got != tc.want {
			t.Errorf("Seconds(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if Duration(0) != Expired || Duration(time.Second) != Timeout(time.Second) {
		t.Error("Duration")
	}
	if !Seconds(-3).IsExpired() || !Expired.IsExpired() || Forever.IsExpired() || !DefaultTimeout.IsDefault() {
		t.Error("predicates")
	}
	if s := Forever.String() + DefaultTimeout.String() + Expired.String() + Seconds(2).String(); s != "foreverdefaultexpired2s" {
		t.Errorf("String: %q", s)
	}
	if d, never := Forever.Deadline(time.Unix(0, 0)); !never || d != math.MaxInt64 {
		t.Error("Forever deadline")
	}
	// Overflow clamps instead of wrapping.
	if d, _ := Timeout(math.MaxInt64 - 1).Deadline(time.Unix(1700000000, 0)); d < 0 {
		t.Errorf("huge timeout wrapped to %d", d)
	}
}
