package cache_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/dummy"
	"github.com/fragcache/fragcache/cache/failopen"
	"github.com/fragcache/fragcache/cache/memory"
	"github.com/fragcache/fragcache/cache/near"
)

// hashTag returns what Redis Cluster hashes of key (its keyHashSlot).
func hashTag(key string) string {
	i := strings.IndexByte(key, '{')
	if i < 0 {
		return key
	}
	j := strings.IndexByte(key[i+1:], '}')
	if j <= 0 {
		return key
	}
	return key[i+1 : i+1+j]
}

func TestSideKey(t *testing.T) {
	for _, tc := range []struct {
		made, want string
		sameSlot   bool
	}{
		{":1:k", "{:1:k}:lease", true},
		{":1:template.cache.sidebar.d41d8cd98f00b204e9800998ecf8427e", "{:1:template.cache.sidebar.d41d8cd98f00b204e9800998ecf8427e}:lease", true},
		{"p:1:user{42}", "p:1:user{42}:lease", true},
		{"p:1:{a}{b}", "p:1:{a}{b}:lease", true},
		{"p:1:open{only", "{p:1:open{only}:lease", true},
		{"p:1:a}b", "p:1:a}b:lease", false},
		{"p:1:{}x", "p:1:{}x:lease", false},
		{"", "{}:lease", false}, // "{}" is no tag: whole-key hashing
	} {
		got := cache.SideKey(tc.made, "lease")
		if got != tc.want {
			t.Errorf("SideKey(%q) = %q, want %q", tc.made, got, tc.want)
		}
		if same := hashTag(got) == hashTag(tc.made); same != tc.sameSlot {
			t.Errorf("SideKey(%q) = %q: same hash tag %v, want %v", tc.made, got, same, tc.sameSlot)
		}
		if cache.LeaseKey(tc.made) != got {
			t.Errorf("LeaseKey(%q) != SideKey(…, lease)", tc.made)
		}
	}
}

func TestLeasesSupport(t *testing.T) {
	mem := func() cache.Backend { s, _ := memory.New(memory.Options{SweepInterval: -1}); return s }
	fo := func(b cache.Backend) cache.Backend { w, _ := failopen.New(b); return w }
	nr := func(b cache.Backend) cache.Backend { w, _ := near.New(b, near.Options{TTL: time.Second}); return w }
	for _, tc := range []struct {
		name string
		b    cache.Backend
		want bool
	}{
		{"memory", mem(), true},
		{"failopen(memory)", fo(mem()), true},
		{"failopen(near(memory))", fo(nr(mem())), true},
		{"dummy", dummy.New(), false},
		{"failopen(dummy)", fo(dummy.New()), false},
		{"failopen(near(dummy))", fo(nr(dummy.New())), false},
	} {
		c, err := cache.New(tc.b)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Leases(); got != tc.want {
			t.Errorf("%s: Leases() = %v, want %v", tc.name, got, tc.want)
		}
		l, ok, err := c.AcquireLease(ctx, "k", time.Second)
		if tc.want {
			if !ok || err != nil {
				t.Errorf("%s: AcquireLease = %v, %v", tc.name, ok, err)
			} else if ok, err := l.Release(ctx); !ok || err != nil {
				t.Errorf("%s: Release = %v, %v", tc.name, ok, err)
			}
		} else if ok || !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("%s: AcquireLease = %v, %v; want errors.ErrUnsupported", tc.name, ok, err)
		}
		// The wrappers' own methods say so too.
		if lr, isLeaser := tc.b.(cache.Leaser); isLeaser && !tc.want {
			if _, err := lr.AcquireLease(ctx, "x", "t", time.Second); !errors.Is(err, errors.ErrUnsupported) {
				t.Errorf("%s: the wrapper's AcquireLease: %v", tc.name, err)
			}
			if _, err := lr.ReleaseLease(ctx, "x", "t"); !errors.Is(err, errors.ErrUnsupported) {
				t.Errorf("%s: the wrapper's ReleaseLease: %v", tc.name, err)
			}
		}
		c.Close()
	}
}

func TestLeaseToken(t *testing.T) {
	a, b := cache.NewLeaseToken(), cache.NewLeaseToken()
	if len(a) != 32 || a == b || strings.Trim(a, "0123456789abcdef") != "" {
		t.Errorf("NewLeaseToken() = %q, %q", a, b)
	}
}

func TestLeaseExpires(t *testing.T) {
	c := newMemory(t)
	before := time.Now()
	l, ok, err := c.AcquireLease(ctx, "k", time.Minute)
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	if e := l.Expires(); e.Before(before.Add(time.Minute)) || e.After(time.Now().Add(time.Minute)) {
		t.Errorf("Expires() = %v, want a minute from the call", e)
	}
	if c.WithVersion(3).Leases() != true {
		t.Error("a view at another version has no leases")
	}
}
