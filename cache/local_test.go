package cache_test

import (
	"context"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/memory"
	"github.com/fragcache/fragcache/cache/near"
)

// TestGetLocalKeyBytes: a near cache's copy is returned without I/O and
// counted as a hit, under the made key (prefix, key function);
// without a near cache, or a copy, nothing is returned or counted.
func TestGetLocalKeyBytes(t *testing.T) {
	ctx := context.Background()
	newNear := func(t *testing.T) cache.Backend {
		m, err := memory.New(memory.Options{SweepInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		w, err := near.New(m, near.Options{TTL: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	newMemory := func(t *testing.T) cache.Backend {
		m, err := memory.New(memory.Options{SweepInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	tests := []struct {
		name    string
		backend func(t *testing.T) cache.Backend
		opts    []cache.Option
		want    bool
	}{
		{"near cache", newNear, nil, true},
		{"near cache, key prefix", newNear, []cache.Option{cache.WithKeyPrefix("p")}, true},
		{"near cache, key function", newNear, []cache.Option{cache.WithKeyFunc(func(key, prefix string, version int) string { return "k/" + key })}, true},
		{"no near cache", newMemory, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := cache.New(tt.backend(t), tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Set(ctx, "a", []byte("v"), cache.Seconds(60)); err != nil {
				t.Fatal(err)
			}
			hits := c.Stats().Hits
			v, ok := c.GetLocalKeyBytes(ctx, []byte("a"))
			if ok != tt.want || ok && string(v) != "v" {
				t.Errorf("GetLocalKeyBytes(a) = %q, %v; want %v", v, ok, tt.want)
			}
			wantHits := hits
			if tt.want {
				wantHits++
			}
			if got := c.Stats().Hits; got != wantHits {
				t.Errorf("hits %d, want %d", got, wantHits)
			}
			if v, ok := c.GetLocalKeyBytes(ctx, []byte("absent")); ok {
				t.Errorf("GetLocalKeyBytes(absent) = %q", v)
			}
			_ = c.Close()
			if _, ok := c.GetLocalKeyBytes(ctx, []byte("a")); ok {
				t.Error("a closed cache answered")
			}
		})
	}
}
