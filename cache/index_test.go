package cache_test

import (
	"context"
	"testing"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/memory"
)

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
