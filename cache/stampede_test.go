package cache_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/cache/failopen"
)

// sideStore is a memory store seen as a backend without FreshnessKeeper,
// ManyGetter or ManySetter, so that freshness lives in side keys written
// one by one (and recorded); its leases fail while down is set.
type sideStore struct {
	r          *recorder
	down       atomic.Bool // leases fail
	writesDown atomic.Bool // Set fails
}

func newSideStore(t testing.TB) *sideStore { return &sideStore{r: newRecorder(t)} }

func (s *sideStore) Get(ctx context.Context, key string) ([]byte, bool, error) {
	return s.r.Get(ctx, key)
}
func (s *sideStore) Set(ctx context.Context, key string, value []byte, t cache.Timeout) error {
	if s.writesDown.Load() {
		return errDown
	}
	return s.r.Set(ctx, key, value, t)
}
func (s *sideStore) Add(ctx context.Context, key string, value []byte, t cache.Timeout) (bool, error) {
	return s.r.Add(ctx, key, value, t)
}
func (s *sideStore) Delete(ctx context.Context, key string) (bool, error) {
	return s.r.Delete(ctx, key)
}
func (s *sideStore) Has(ctx context.Context, key string) (bool, error) { return s.r.Has(ctx, key) }
func (s *sideStore) Touch(ctx context.Context, key string, t cache.Timeout) (bool, error) {
	return s.r.Touch(ctx, key, t)
}
func (s *sideStore) Clear(ctx context.Context) error { return s.r.Clear(ctx) }
func (s *sideStore) Close() error                    { return s.r.Close() }

var errDown = errors.New("backend down")

func (s *sideStore) AcquireLease(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	if s.down.Load() {
		return false, errDown
	}
	return s.r.AcquireLease(ctx, key, token, ttl)
}
func (s *sideStore) ReleaseLease(ctx context.Context, key, token string) (bool, error) {
	if s.down.Load() {
		return false, errDown
	}
	return s.r.ReleaseLease(ctx, key, token)
}

// stampedeCaches returns, by name, a cache over the memory backend
// (freshness in the entry) and one over a sideStore (side keys).
func stampedeCaches(t *testing.T, opts ...cache.Option) map[string]*cache.Cache {
	t.Helper()
	out := map[string]*cache.Cache{}
	for name, b := range map[string]cache.Backend{"memory": newRecorder(t), "sidekeys": newSideStore(t)} {
		c, err := cache.New(b, opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		out[name] = c
	}
	return out
}

func TestJudgeFreshness(t *testing.T) {
	now := time.Unix(1700000000, 0)
	v := []byte("value")
	enc := func(until time.Time, took time.Duration) []byte { return cache.EncodeFreshness(v, until, took) }
	xf := cache.Stampede{XFetch: true, XFetchBeta: 1e9}
	for _, tc := range []struct {
		name         string
		meta         []byte
		s            cache.Stampede
		stale, early bool
	}{
		{"no freshness (Django wrote it)", nil, cache.Stampede{Grace: time.Minute}, false, false},
		{"empty", []byte{}, cache.Stampede{Grace: time.Minute}, false, false},
		{"fresh", enc(now.Add(time.Second), 0), cache.Stampede{Grace: time.Minute}, false, false},
		{"stale at the deadline", enc(now, 0), cache.Stampede{Grace: time.Minute}, true, false},
		{"stale past it", enc(now.Add(-time.Second), time.Second), cache.Stampede{Grace: time.Minute}, true, false},
		{"describes another value", cache.EncodeFreshness([]byte("other"), now.Add(-time.Hour), 0), cache.Stampede{Grace: time.Minute}, false, false},
		{"malformed: no tag", []byte("1700000000000:0:0"), cache.Stampede{Grace: time.Minute}, false, false},
		{"malformed: other tag", []byte("fc2:1:0:0"), cache.Stampede{Grace: time.Minute}, false, false},
		{"malformed: two fields", []byte("fc1:1:0"), cache.Stampede{Grace: time.Minute}, false, false},
		{"malformed: not a number", []byte("fc1:x:0:0"), cache.Stampede{Grace: time.Minute}, false, false},
		{"malformed: negative took", []byte("fc1:1:-5:" + strings.Split(string(enc(now, 0)), ":")[3]), cache.Stampede{Grace: time.Minute}, false, false},
		{"malformed: bad sum", []byte("fc1:1:0:zz"), cache.Stampede{Grace: time.Minute}, false, false},
		{"xfetch draws early with a long compute", enc(now.Add(time.Second), time.Second), xf, false, true},
		{"xfetch never early without a compute time", enc(now.Add(time.Second), 0), xf, false, false},
		{"xfetch off: never early", enc(now.Add(time.Second), time.Second), cache.Stampede{Grace: time.Minute}, false, false},
		{"xfetch: stale wins over early", enc(now.Add(-time.Second), time.Second), xf, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := cache.Judge(v, tc.meta, tc.s, now)
			if !l.Hit || string(l.Value) != "value" || l.Stale != tc.stale || l.Early != tc.early {
				t.Errorf("Judge = %+v, want hit, stale %v, early %v", l, tc.stale, tc.early)
			}
			if l.Refresh() != (tc.stale || tc.early) {
				t.Errorf("Refresh() = %v", l.Refresh())
			}
		})
	}
	// XFetch with β = 1 and δ far below the time left is (almost) never early.
	early := 0
	for range 1000 {
		if cache.Judge(v, enc(now.Add(time.Hour), time.Millisecond), cache.Stampede{XFetch: true}, now).Early {
			early++
		}
	}
	if early > 0 {
		t.Errorf("%d early refreshes of 1000 an hour before expiry with δ = 1ms", early)
	}
}

func TestEncodeDecodeFreshness(t *testing.T) {
	for _, tc := range []struct {
		value []byte
		until time.Time
		took  time.Duration
	}{
		{[]byte("x"), time.UnixMilli(1700000000123), 1500 * time.Microsecond},
		{nil, time.UnixMilli(0), 0},
		{[]byte(strings.Repeat("v", 1000)), time.UnixMilli(1 << 50), time.Hour},
	} {
		meta := cache.EncodeFreshness(tc.value, tc.until, tc.took)
		if !strings.HasPrefix(string(meta), "fc1:") {
			t.Errorf("EncodeFreshness = %q, want the fc1: tag", meta)
		}
		for _, b := range meta {
			if b <= ' ' || b >= 0x7f {
				t.Fatalf("EncodeFreshness = %q: not printable ASCII", meta)
			}
		}
		f, ok := cache.DecodeFreshness(meta, tc.value)
		if !ok || !f.Until.Equal(tc.until) || f.Took != tc.took {
			t.Errorf("DecodeFreshness(%q) = %+v, %v; want until %v took %v", meta, f, ok, tc.until, tc.took)
		}
		if _, ok := cache.DecodeFreshness(meta, append([]byte("changed"), tc.value...)); ok {
			t.Errorf("DecodeFreshness(%q) of another value: ok", meta)
		}
	}
}

func TestStampedeURL(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  cache.Stampede
		err   string // a part of the error; "" for none
	}{
		{"", cache.Stampede{}, ""},
		{"lease=1", cache.Stampede{Lease: true}, ""},
		{"lease=0", cache.Stampede{}, ""},
		{"lease=1&lease_ttl=3s", cache.Stampede{Lease: true, LeaseTTL: 3 * time.Second}, ""},
		{"grace=30s", cache.Stampede{Grace: 30 * time.Second}, ""},
		{"xfetch=1", cache.Stampede{XFetch: true}, ""},
		{"xfetch=1&xfetch_beta=2.5", cache.Stampede{XFetch: true, XFetchBeta: 2.5}, ""},
		{"lease=1&lease_ttl=1s&grace=1m0s&xfetch=1&xfetch_beta=0.5", cache.Stampede{Lease: true, LeaseTTL: time.Second, Grace: time.Minute, XFetch: true, XFetchBeta: 0.5}, ""},
		{"lease=maybe", cache.Stampede{}, "lease"},
		{"lease_ttl=abc", cache.Stampede{}, "lease_ttl"},
		{"lease_ttl=-1s", cache.Stampede{}, "lease_ttl"},
		{"grace=soon", cache.Stampede{}, "grace"},
		{"grace=-5s", cache.Stampede{}, "grace"},
		{"xfetch=2", cache.Stampede{}, "xfetch"},
		{"xfetch=1&xfetch_beta=0", cache.Stampede{}, "xfetch_beta"},
		{"xfetch=1&xfetch_beta=-1", cache.Stampede{}, "xfetch_beta"},
		{"xfetch=1&xfetch_beta=NaN", cache.Stampede{}, "xfetch_beta"},
		{"xfetch=1&xfetch_beta=x", cache.Stampede{}, "xfetch_beta"},
		{"xfetch_beta=2", cache.Stampede{}, "xfetch_beta"},
		{"xfetch=0&xfetch_beta=2", cache.Stampede{}, "xfetch_beta"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			c, err := backends.Open("memory://?" + tc.query)
			if tc.err != "" {
				if !errors.Is(err, cache.ErrInvalidOption) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Open: %v, want an ErrInvalidOption naming %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := c.Stampede(); got != tc.want {
				t.Errorf("Stampede() = %+v, want %+v", got, tc.want)
			}
			if got := tc.want.String(); got != tc.query && !(tc.query == "lease=0" && got == "") {
				t.Errorf("String() = %q, want %q", got, tc.query)
			}
		})
	}
	// A lease on a backend without leases fails at open; grace alone does not.
	if _, err := backends.Open("dummy://?lease=1"); !errors.Is(err, cache.ErrInvalidOption) || !strings.Contains(err.Error(), "lease") {
		t.Errorf("dummy://?lease=1: %v, want an ErrInvalidOption about the lease", err)
	}
	if c, err := backends.Open("dummy://?grace=1s"); err != nil {
		t.Errorf("dummy://?grace=1s: %v", err)
	} else {
		c.Close()
	}
	// Every storing scheme takes them.
	if c, err := backends.Open("file://" + t.TempDir() + "?lease=1&grace=1s&xfetch=1"); err != nil {
		t.Errorf("file: %v", err)
	} else {
		c.Close()
	}
	if _, err := cache.New(newRecorder(t), cache.WithStampede(cache.Stampede{Grace: -1})); !errors.Is(err, cache.ErrInvalidOption) {
		t.Errorf("WithStampede(Grace -1): %v", err)
	}
}

func TestSetEntryTimeouts(t *testing.T) {
	s := newSideStore(t)
	c, err := cache.New(s, cache.WithJitter(0.5))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st := cache.Stampede{Grace: 30 * time.Second}
	for range 50 {
		s.r.take()
		before := time.Now()
		if err := c.SetEntry(ctx, "k", []byte("v"), cache.Seconds(60), st, 3*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		sent := s.r.take()
		if len(sent) != 2 || sent[0] != sent[1] {
			t.Fatalf("SetEntry sent timeouts %v, want one timeout for the value and its freshness", sent)
		}
		life := sent[0].Duration()
		if life < 60*time.Second || life > 90*time.Second {
			t.Fatalf("life %v, want timeout (jittered once, in [30s, 60s]) + grace 30s", life)
		}
		meta, ok, _ := s.Get(ctx, cache.FreshKey(c.MakeKey("k")))
		if !ok {
			t.Fatal("no freshness side key")
		}
		f, ok := cache.DecodeFreshness(meta, []byte("v"))
		if !ok {
			t.Fatalf("freshness %q does not describe the value", meta)
		}
		// Fresh for the same jittered timeout that, with the grace, is the life.
		fresh := f.Until.Sub(before)
		if d := life - st.Grace - fresh; d < -5*time.Millisecond || d > time.Second {
			t.Fatalf("fresh for %v with a life of %v: want life − grace", fresh, life)
		}
		if f.Took != 3*time.Millisecond {
			t.Fatalf("took %v", f.Took)
		}
	}
	// Forever: forever, and never stale even if an earlier freshness of the
	// same value said otherwise.
	if err := c.SetEntry(ctx, "f", []byte("v"), cache.Seconds(0.01), st, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	if l, _ := c.GetEntry(ctx, "f", st); !l.Stale {
		t.Fatalf("GetEntry past the timeout = %+v, want stale", l)
	}
	s.r.take()
	if err := c.SetEntry(ctx, "f", []byte("v"), cache.Forever, st, 0); err != nil {
		t.Fatal(err)
	}
	if sent := s.r.take(); len(sent) != 2 || sent[0] != cache.Forever || sent[1] != cache.Forever {
		t.Errorf("Forever sent %v", sent)
	}
	if l, _ := c.GetEntry(ctx, "f", st); !l.Hit || l.Stale || l.Early {
		t.Errorf("GetEntry of a Forever value = %+v, want fresh", l)
	}
	// Expired stores nothing.
	if err := c.SetEntry(ctx, "f", []byte("v"), cache.Expired, st, 0); err != nil {
		t.Fatal(err)
	}
	if l, _ := c.GetEntry(ctx, "f", st); l.Hit {
		t.Errorf("GetEntry after an Expired SetEntry = %+v", l)
	}
	// Without grace or early expiry: Set, no side key.
	s.r.take()
	if err := c.SetEntry(ctx, "p", []byte("v"), cache.Seconds(60), cache.Stampede{Lease: true}, 0); err != nil {
		t.Fatal(err)
	}
	if sent := s.r.take(); len(sent) != 1 || sent[0] > cache.Seconds(60) || sent[0] < cache.Seconds(30) {
		t.Errorf("SetEntry without sides sent %v", sent)
	}
	if _, ok, _ := s.Get(ctx, cache.FreshKey(c.MakeKey("p"))); ok {
		t.Error("a freshness side key without grace or early expiry")
	}
}

func TestGetEntryGrace(t *testing.T) {
	st := cache.Stampede{Grace: time.Minute}
	for name, c := range stampedeCaches(t) {
		t.Run(name, func(t *testing.T) {
			if err := c.SetEntry(ctx, "g", []byte("v1"), cache.Seconds(0.05), st, time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if l, err := c.GetEntry(ctx, "g", st); err != nil || !l.Hit || l.Stale {
				t.Fatalf("GetEntry = %+v, %v; want fresh", l, err)
			}
			time.Sleep(80 * time.Millisecond)
			l, err := c.GetEntry(ctx, "g", st)
			if err != nil || !l.Hit || !l.Stale || string(l.Value) != "v1" {
				t.Fatalf("GetEntry past the timeout = %+v, %v; want v1, stale", l, err)
			}
			// Without grace it is an ordinary read: a hit, never stale.
			if l, _ := c.GetEntry(ctx, "g", cache.Stampede{}); !l.Hit || l.Stale {
				t.Errorf("GetEntry without grace = %+v", l)
			}
			if v, ok, _ := c.Get(ctx, "g"); !ok || string(v) != "v1" {
				t.Errorf("Get = %q, %v", v, ok)
			}
			// A plain Set (a Django process) makes it fresh.
			c.Set(ctx, "g", []byte("django"), cache.Seconds(60))
			if l, _ := c.GetEntry(ctx, "g", st); !l.Hit || l.Stale || string(l.Value) != "django" {
				t.Errorf("GetEntry after Set = %+v, want fresh", l)
			}
		})
	}
}

// counting returns a Compute that counts its calls, sleeps d and returns v.
func counting(n *atomic.Int32, d time.Duration, v string) cache.Compute {
	return func(ctx context.Context) (cache.Computed, error) {
		n.Add(1)
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return cache.Computed{}, ctx.Err()
		}
		return cache.Computed{Value: []byte(v), Store: true}, nil
	}
}

func TestFillMiss(t *testing.T) {
	lease := cache.Stampede{Lease: true, LeaseTTL: 5 * time.Second}
	for _, tc := range []struct {
		name string
		s    cache.Stampede
		// hold is the ttl of a lease another holder takes first (0: none);
		// land, when not 0, is when that holder stores "theirs".
		hold, land time.Duration
		compute    time.Duration
		down       bool
		want       string
		src        cache.Source
		stored     string
		stats      cache.StampedeStats
	}{
		{name: "no lease", s: cache.Stampede{Grace: time.Minute}, want: "mine", src: cache.FromCompute, stored: "mine"},
		{name: "lease won", s: lease, want: "mine", src: cache.FromCompute, stored: "mine",
			stats: cache.StampedeStats{LeasesWon: 1}},
		{name: "lease lost, value lands", s: lease, hold: 5 * time.Second, land: 120 * time.Millisecond,
			want: "theirs", src: cache.FromWait, stored: "theirs", stats: cache.StampedeStats{LeasesLost: 1, Waits: 1}},
		{name: "lease lost, wait ends", s: cache.Stampede{Lease: true, LeaseTTL: 5 * time.Second, Wait: 100 * time.Millisecond},
			hold: 5 * time.Second, want: "mine", src: cache.FromAlone, stats: cache.StampedeStats{LeasesLost: 1, WaitTimeouts: 1}},
		{name: "lease lost, wait ends, lease lapsed by the end of the compute", s: cache.Stampede{Lease: true, LeaseTTL: 5 * time.Second, Wait: 50 * time.Millisecond},
			hold: 150 * time.Millisecond, compute: 200 * time.Millisecond, want: "mine", src: cache.FromCompute, stored: "mine",
			stats: cache.StampedeStats{LeasesLost: 1, WaitTimeouts: 1, LeasesWon: 1}},
		{name: "holder died: its lease lapses", s: lease, hold: 150 * time.Millisecond,
			want: "mine", src: cache.FromCompute, stored: "mine", stats: cache.StampedeStats{LeasesLost: 1, LeasesWon: 1}},
		{name: "backend down: no lease, compute as without", s: lease, down: true,
			want: "mine", src: cache.FromCompute, stored: "mine"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSideStore(t)
			c, err := cache.New(s)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if tc.hold > 0 {
				if _, ok, err := c.AcquireLease(ctx, "k", tc.hold); !ok || err != nil {
					t.Fatalf("AcquireLease: %v, %v", ok, err)
				}
			}
			if tc.land > 0 {
				time.AfterFunc(tc.land, func() { c.Set(ctx, "k", []byte("theirs"), cache.Seconds(60)) })
			}
			s.down.Store(tc.down)
			l, err := c.GetEntry(ctx, "k", tc.s)
			if err != nil || l.Hit {
				t.Fatalf("GetEntry = %+v, %v", l, err)
			}
			var n atomic.Int32
			start := time.Now()
			v, src, err := c.Fill(ctx, "k", l, tc.s, cache.Seconds(60), counting(&n, tc.compute, "mine"))
			took := time.Since(start)
			if err != nil || string(v) != tc.want || src != tc.src {
				t.Fatalf("Fill = %q, %v, %v; want %q, %v", v, src, err, tc.want, tc.src)
			}
			if bound := tc.s.Wait; bound > 0 && took > bound+tc.compute+2*time.Second {
				t.Errorf("Fill took %v with a wait bound of %v", took, bound)
			}
			got, ok, _ := s.Get(ctx, c.MakeKey("k"))
			if tc.stored == "" && ok && string(got) == "mine" {
				t.Errorf("stored %q, want the value kept for the caller only", got)
			} else if tc.stored != "" && string(got) != tc.stored {
				t.Errorf("stored %q, %v; want %q", got, ok, tc.stored)
			}
			st := c.Stats().Stampede
			st.WaitTime = 0
			if st != tc.stats {
				t.Errorf("Stats().Stampede = %+v, want %+v", st, tc.stats)
			}
			if tc.stats.Waits > 0 && c.Stats().Stampede.WaitTime < tc.land/2 {
				t.Errorf("WaitTime %v, want about %v", c.Stats().Stampede.WaitTime, tc.land)
			}
			if tc.down && c.Stats().Errors == 0 {
				t.Error("a lease the backend failed to give is not counted as an error")
			}
		})
	}
}

func TestFillComputeError(t *testing.T) {
	c, err := cache.New(newRecorder(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := cache.Stampede{Lease: true}
	boom := errors.New("boom")
	_, _, err = c.Fill(ctx, "k", cache.Lookup{}, s, cache.Seconds(60), func(context.Context) (cache.Computed, error) {
		return cache.Computed{}, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Fill: %v, want boom", err)
	}
	// The lease was released.
	if _, ok, err := c.AcquireLease(ctx, "k", time.Second); !ok || err != nil {
		t.Errorf("AcquireLease after a failed compute: %v, %v", ok, err)
	}
}

func TestFillRefresh(t *testing.T) {
	st := cache.Stampede{Grace: time.Minute}
	for _, tc := range []struct {
		name  string
		early bool
		// held: another process holds the lease; busy: this process is
		// refreshing already; meanwhile: another process refreshed between
		// the read and the lease.
		held, busy, meanwhile bool
		want                  string
		src                   cache.Source
		computes              int32
		stats                 cache.StampedeStats
	}{
		{name: "stale", want: "new", src: cache.FromCompute, computes: 1,
			stats: cache.StampedeStats{LeasesWon: 1, Refreshes: 1}},
		{name: "early", early: true, want: "new", src: cache.FromCompute, computes: 1,
			stats: cache.StampedeStats{LeasesWon: 1, Refreshes: 1, EarlyRefreshes: 1}},
		{name: "lease held elsewhere: served stale", held: true, want: "old", src: cache.FromStale,
			stats: cache.StampedeStats{LeasesLost: 1, StaleServed: 1}},
		{name: "early, lease held elsewhere: the value, not counted stale", early: true, held: true, want: "old", src: cache.FromStale,
			stats: cache.StampedeStats{LeasesLost: 1}},
		{name: "busy in this process: served stale", busy: true, want: "old", src: cache.FromStale,
			stats: cache.StampedeStats{StaleServed: 1}},
		{name: "refreshed meanwhile elsewhere: its value", meanwhile: true, want: "theirs", src: cache.FromWait,
			stats: cache.StampedeStats{LeasesWon: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for name, c := range stampedeCaches(t) {
				t.Run(name, func(t *testing.T) {
					if err := c.SetEntry(ctx, "k", []byte("old"), cache.Seconds(0.03), st, time.Millisecond); err != nil {
						t.Fatal(err)
					}
					if !tc.early {
						time.Sleep(50 * time.Millisecond)
					}
					l, err := c.GetEntry(ctx, "k", st)
					if err != nil || !l.Hit {
						t.Fatalf("GetEntry = %+v, %v", l, err)
					}
					if tc.early {
						l.Early = true
					} else if !l.Stale {
						t.Fatalf("GetEntry = %+v, want stale", l)
					}
					if tc.held {
						if _, ok, _ := c.AcquireLease(ctx, "k", time.Minute); !ok {
							t.Fatal("no lease")
						}
					}
					if tc.meanwhile {
						c.SetEntry(ctx, "k", []byte("theirs"), cache.Seconds(60), st, time.Millisecond)
					}
					var n atomic.Int32
					if tc.busy {
						entered, unblock := make(chan struct{}), make(chan struct{})
						done := make(chan struct{})
						go func() {
							defer close(done)
							c.Fill(ctx, "k", l, st, cache.Seconds(60), func(context.Context) (cache.Computed, error) {
								close(entered)
								<-unblock
								return cache.Computed{Value: []byte("first"), Store: true}, nil
							})
						}()
						<-entered
						defer func() { close(unblock); <-done }()
					}
					before := c.Stats().Stampede
					v, src, err := c.Fill(ctx, "k", l, st, cache.Seconds(60), counting(&n, 0, "new"))
					if err != nil || string(v) != tc.want || src != tc.src || n.Load() != tc.computes {
						t.Fatalf("Fill = %q, %v, %v after %d computes; want %q, %v, %d", v, src, err, n.Load(), tc.want, tc.src, tc.computes)
					}
					got := c.Stats().Stampede
					got.LeasesWon -= before.LeasesWon
					got.Refreshes -= before.Refreshes
					if got != tc.stats {
						t.Errorf("Stats().Stampede = %+v, want %+v", got, tc.stats)
					}
					if tc.src == cache.FromCompute {
						if l, _ := c.GetEntry(ctx, "k", st); string(l.Value) != "new" || l.Stale {
							t.Errorf("after the refresh: %+v", l)
						}
					}
				})
			}
		})
	}
}

type ctxKey struct{}

func TestGetOrSetWithBackgroundRefresh(t *testing.T) {
	st := cache.Stampede{Lease: true, LeaseTTL: 2 * time.Second, Grace: time.Minute}
	for name, c := range stampedeCaches(t) {
		t.Run(name, func(t *testing.T) {
			var loads atomic.Int32
			var sawValue atomic.Bool
			var deadline atomic.Int64
			release := make(chan struct{})
			load := func(ctx context.Context) ([]byte, error) {
				n := loads.Add(1)
				if n == 1 {
					return []byte("v1"), nil
				}
				sawValue.Store(ctx.Value(ctxKey{}) == "request")
				if d, ok := ctx.Deadline(); ok {
					deadline.Store(int64(time.Until(d)))
				}
				<-release
				return []byte(fmt.Sprint("v", n)), nil
			}
			v, err := c.GetOrSetWith(ctx, "k", load, cache.Seconds(0.05), st)
			if err != nil || string(v) != "v1" {
				t.Fatalf("GetOrSetWith = %q, %v", v, err)
			}
			time.Sleep(80 * time.Millisecond)
			rctx, cancel := context.WithCancel(context.WithValue(ctx, ctxKey{}, "request"))
			var wg sync.WaitGroup
			for range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					start := time.Now()
					v, err := c.GetOrSetWith(rctx, "k", load, cache.Seconds(60), st)
					if err != nil || string(v) != "v1" {
						t.Errorf("GetOrSetWith past the timeout = %q, %v; want v1 at once", v, err)
					}
					if d := time.Since(start); d > time.Second {
						t.Errorf("a stale read took %v", d)
					}
				}()
			}
			wg.Wait()
			cancel() // the callers are gone: the refresh goes on
			close(release)
			waitFor(t, func() bool { l, _ := c.GetEntry(ctx, "k", st); return string(l.Value) == "v2" && !l.Stale })
			if n := loads.Load(); n != 2 {
				t.Errorf("%d loads, want 2 (one background refresh)", n)
			}
			if !sawValue.Load() {
				t.Error("the background load lost the caller's context values")
			}
			if d := time.Duration(deadline.Load()); d <= 0 || d > st.LeaseTTL {
				t.Errorf("background load deadline in %v, want within the lease TTL %v", d, st.LeaseTTL)
			}
			s := c.Stats().Stampede
			if s.BackgroundRefreshes != 1 || s.Refreshes != 1 || s.StaleServed != 20 || s.LeasesWon != 2 {
				t.Errorf("Stats().Stampede = %+v, want 1 background refresh, 20 stale served, 2 leases won", s)
			}
		})
	}
}

func TestGetOrSetWithLeaseLostBackground(t *testing.T) {
	// A background refresh that finds the lease held elsewhere does not
	// count as a refresh.
	st := cache.Stampede{Lease: true, Grace: time.Minute}
	c, err := cache.New(newSideStore(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetEntry(ctx, "k", []byte("old"), cache.Seconds(0.02), st, 0)
	time.Sleep(40 * time.Millisecond)
	if _, ok, _ := c.AcquireLease(ctx, "k", time.Minute); !ok {
		t.Fatal("no lease")
	}
	v, err := c.GetOrSetWith(ctx, "k", func(context.Context) ([]byte, error) { return []byte("new"), nil }, cache.Seconds(60), st)
	if err != nil || string(v) != "old" {
		t.Fatalf("GetOrSetWith = %q, %v", v, err)
	}
	waitFor(t, func() bool { return c.Stats().Stampede.LeasesLost == 1 })
	time.Sleep(20 * time.Millisecond)
	if s := c.Stats().Stampede; s.BackgroundRefreshes != 0 || s.Refreshes != 0 || s.StaleServed != 1 {
		t.Errorf("Stats().Stampede = %+v", s)
	}
}

func TestGetOrSetWithMissCoalesces(t *testing.T) {
	for _, st := range []cache.Stampede{{Lease: true}, {Grace: time.Minute}, {XFetch: true}} {
		t.Run(st.String(), func(t *testing.T) {
			for name, c := range stampedeCaches(t) {
				t.Run(name, func(t *testing.T) {
					var loads atomic.Int32
					var wg sync.WaitGroup
					for range 32 {
						wg.Add(1)
						go func() {
							defer wg.Done()
							v, err := c.GetOrSetWith(ctx, "k", func(context.Context) ([]byte, error) {
								loads.Add(1)
								time.Sleep(50 * time.Millisecond)
								return []byte("v"), nil
							}, cache.Seconds(60), st)
							if err != nil || string(v) != "v" {
								t.Errorf("GetOrSetWith = %q, %v", v, err)
							}
						}()
					}
					wg.Wait()
					if n := loads.Load(); n != 1 {
						t.Errorf("%d loads, want 1", n)
					}
					if v, ok, _ := c.Get(ctx, "k"); !ok || string(v) != "v" {
						t.Errorf("Get = %q, %v", v, ok)
					}
				})
			}
		})
	}
}

func TestGetOrSetWithErrors(t *testing.T) {
	c, err := cache.New(newRecorder(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.GetOrSetWith(ctx, "k", nil, 0, cache.Stampede{Lease: true}); !errors.Is(err, cache.ErrInvalidOption) {
		t.Errorf("nil load: %v", err)
	}
	if _, err := c.GetOrSetWith(ctx, "k", func(context.Context) ([]byte, error) { return nil, nil }, 0, cache.Stampede{Grace: -1}); !errors.Is(err, cache.ErrInvalidOption) {
		t.Errorf("Grace -1: %v", err)
	}
	boom := errors.New("boom")
	if _, err := c.GetOrSetWith(ctx, "k", func(context.Context) ([]byte, error) { return nil, boom }, 0, cache.Stampede{Lease: true}); !errors.Is(err, boom) {
		t.Errorf("load error: %v", err)
	}
	if _, ok, _ := c.Get(ctx, "k"); ok {
		t.Error("a failed load stored a value")
	}
	// A caller that gives up stops waiting; the load goes on for the others.
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err = c.GetOrSetWith(cctx, "slow", func(context.Context) ([]byte, error) {
		time.Sleep(100 * time.Millisecond)
		return []byte("v"), nil
	}, cache.Seconds(60), cache.Stampede{Lease: true})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled caller: %v", err)
	}
	waitFor(t, func() bool { _, ok, _ := c.Get(ctx, "slow"); return ok })
}

func TestGetOrSetUsesCacheStampede(t *testing.T) {
	c, err := backends.Open("memory://?lease=1&grace=1m")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.GetOrSet(ctx, "k", func(context.Context) ([]byte, error) { return []byte("v"), nil }, cache.Seconds(60)); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats().Stampede; s.LeasesWon != 1 {
		t.Errorf("GetOrSet on a lease=1 cache: %+v, want a lease won", s)
	}
	if l, _ := c.GetEntry(ctx, "k", c.Stampede()); !l.Hit || l.Stale {
		t.Errorf("GetEntry = %+v", l)
	}
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 5s")
}

func TestLeaseExpiredCounting(t *testing.T) {
	for _, wrap := range []string{"bare", "failopen"} {
		t.Run(wrap, func(t *testing.T) {
			s := newSideStore(t)
			var b cache.Backend = s
			if wrap == "failopen" {
				w, err := failopen.New(s)
				if err != nil {
					t.Fatal(err)
				}
				b = w
			}
			c, err := cache.New(b)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			st := cache.Stampede{Lease: true, LeaseTTL: 50 * time.Millisecond}
			// A holder that computes past its lease TTL: expired.
			if _, _, err := c.Fill(ctx, "slow", cache.Lookup{}, st, cache.Seconds(60), counting(new(atomic.Int32), 120*time.Millisecond, "v")); err != nil {
				t.Fatal(err)
			}
			if n := c.Stats().Stampede.LeasesExpired; n != 1 {
				t.Errorf("LeasesExpired = %d after a compute past the lease TTL, want 1", n)
			}
			// A release the backend fails: an error, not an expired lease.
			errs := c.Stats().Errors
			_, _, err = c.Fill(ctx, "down", cache.Lookup{}, cache.Stampede{Lease: true}, cache.Seconds(60), func(context.Context) (cache.Computed, error) {
				s.down.Store(true)
				return cache.Computed{Value: []byte("v")}, nil
			})
			s.down.Store(false)
			if err != nil {
				t.Fatal(err)
			}
			if st := c.Stats(); st.Stampede.LeasesExpired != 1 || st.Errors == errs {
				t.Errorf("after a failed release: LeasesExpired %d (want 1), errors %d → %d (want more)", st.Stampede.LeasesExpired, errs, st.Errors)
			}
		})
	}
}

// TestSetEntryFailOpen: a store the fail-open wrapper swallows is counted,
// not an error, as with Set; without the wrapper it is an error.
func TestSetEntryFailOpen(t *testing.T) {
	st := cache.Stampede{Grace: time.Minute}
	s := newSideStore(t)
	w, err := failopen.New(s)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cache.New(w)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s.writesDown.Store(true)
	if err := c.Set(ctx, "k", []byte("v"), cache.Seconds(60)); err != nil {
		t.Fatalf("Set through fail-open: %v", err)
	}
	if err := c.SetEntry(ctx, "k", []byte("v"), cache.Seconds(60), st, 0); err != nil {
		t.Errorf("SetEntry through fail-open: %v, want nil as Set", err)
	}
	if n := c.Stats().Errors; n != 2 {
		t.Errorf("Errors = %d, want 2 (both swallowed failures counted)", n)
	}
	// GetOrSetWith computes and answers.
	if v, err := c.GetOrSetWith(ctx, "g", func(context.Context) ([]byte, error) { return []byte("x"), nil }, cache.Seconds(60), cache.Stampede{Lease: true, Grace: time.Minute}); err != nil || string(v) != "x" {
		t.Errorf("GetOrSetWith with writes down = %q, %v", v, err)
	}
	bare, err := cache.New(s)
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	if err := bare.SetEntry(ctx, "k", []byte("v"), cache.Seconds(60), st, 0); !errors.Is(err, errDown) {
		t.Errorf("SetEntry without the wrapper: %v, want the backend's error", err)
	}
}
