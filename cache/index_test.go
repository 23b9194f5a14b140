package cache_test

import (
	"context"
	"strings"
	"testing"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/dummy"
	"github.com/fragcache/fragcache/cache/memory"
)

func TestIsSideKey(t *testing.T) {
	for key, want := range map[string]bool{
		cache.LeaseKey(":1:k"):                               true,
		cache.FreshKey(":1:k"):                               true,
		cache.VariantIndexKey(":1:template.cache.sidebar"):   true,
		"{:1:template.cache.sidebar}:variants":               true,
		":1:k":                                               false,
		":1:template.cache.sidebar.d41d8cd98f00b204e9800998": false,
	} {
		if got := cache.IsSideKey(key); got != want {
			t.Errorf("IsSideKey(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestIsVariantKey(t *testing.T) {
	const base = ":1:template.cache.side"
	hex := strings.Repeat("0123456789abcdef", 2)
	for key, want := range map[string]bool{
		base + "." + hex:                       true,
		base + ".bar." + hex:                   false, // the name side.bar
		base + "bar." + hex:                    false, // the name sidebar
		base + "." + hex + "0":                 false,
		base + "." + hex[:31]:                  false,
		base + "." + strings.ToUpper(hex):      false,
		base + "x" + hex:                       false,
		":2:template.cache.side." + hex:        false,
		base + "." + hex[:31] + "g":            false,
		":1:" + cache.FragmentKey("side", "u"): true,
	} {
		if got := cache.IsVariantKey(key, base); got != want {
			t.Errorf("IsVariantKey(%q) = %v, want %v", key, got, want)
		}
	}
}

// TestIndexOnMiss: a fragment store is indexed, a hit is not, and a key
// that is no fragment is not.
func TestIndexOnMiss(t *testing.T) {
	ctx := context.Background()
	store, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cache.New(store)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	k := cache.FragmentKey("side", "alice")
	if err := c.Set(ctx, k, []byte("v"), cache.DefaultTimeout); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "template.cache.plain", []byte("v"), cache.DefaultTimeout); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, ok, err := c.Get(ctx, k); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	if st := c.Stats().Index; st.Adds != 1 || st.Errors != 0 {
		t.Errorf("Stats().Index = %+v, want one add", st)
	}
	m, err := store.IndexMembers(ctx, cache.VariantIndexKey(c.MakeKey(cache.FragmentKeyPrefix+"side")))
	if err != nil || len(m) != 1 || m[0] != c.MakeKey(k) {
		t.Errorf("the index holds %q, %v; want [%q]", m, err, c.MakeKey(k))
	}
}

// TestInvalidateWithoutIndexes: a backend without indexes (dummy) deletes
// nothing and fails not.
func TestInvalidateWithoutIndexes(t *testing.T) {
	c, err := cache.New(dummy.New())
	if err != nil {
		t.Fatal(err)
	}
	if n, err := c.InvalidateFragmentVariants(context.Background(), "side"); n != 0 || err != nil {
		t.Errorf("InvalidateFragmentVariants on dummy = %d, %v", n, err)
	}
}

func TestInvalidateFragmentVariantsMemory(t *testing.T) {
	ctx := context.Background()
	st, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cache.New(st, cache.WithKeyPrefix("p"))
	if err != nil {
		t.Fatal(err)
	}
	other := c.WithVersion(2)
	write := func(c *cache.Cache, name string, vary ...any) string {
		k := cache.FragmentKey(name, vary...)
		if err := c.Set(ctx, k, []byte("x"), cache.Seconds(60)); err != nil {
			t.Fatal(err)
		}
		return k
	}
	var side []string
	for _, v := range []any{1, 2, "three", nil} {
		side = append(side, write(c, "side", v))
	}
	keep := []string{write(c, "sidebar", 1), write(c, "side.bar", 1), write(c, "sid", 1)}
	keepV2 := write(other, "side", 1)
	// A variant written without the index (as Django would write it).
	if err := st.Set(ctx, c.MakeKey(cache.FragmentKey("side", "django")), []byte("d"), cache.Forever); err != nil {
		t.Fatal(err)
	}
	n, err := c.InvalidateFragmentVariants(ctx, "side")
	if err != nil || n != 5 {
		t.Fatalf("InvalidateFragmentVariants = %d, %v; want 5", n, err)
	}
	for _, k := range side {
		if ok, _ := c.Has(ctx, k); ok {
			t.Errorf("%s survived", k)
		}
	}
	for _, k := range keep {
		if ok, _ := c.Has(ctx, k); !ok {
			t.Errorf("%s was deleted", k)
		}
	}
	if ok, _ := other.Has(ctx, keepV2); !ok {
		t.Errorf("version 2's %s was deleted", keepV2)
	}
	if n, err := c.InvalidateFragmentVariants(ctx, "side"); err != nil || n != 0 {
		t.Fatalf("again = %d, %v; want 0", n, err)
	}
	if _, err := c.InvalidateFragmentVariants(ctx, "two words"); err == nil {
		t.Error("a name with a space: no error")
	}
}
