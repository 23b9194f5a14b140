package file

import (
	"bytes"
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
)

// BenchmarkSetGet8KiB measures one Set and one Get of an 8 KiB value.
func BenchmarkSetGet8KiB(b *testing.B) {
	ctx := context.Background()
	s, err := New(Options{Dir: b.TempDir(), Now: time.Now})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	value := bytes.Repeat([]byte("0123456789abcdef"), 512)
	b.SetBytes(int64(len(value)))
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Set(ctx, ":1:bench", value, cache.Seconds(300)); err != nil {
			b.Fatal(err)
		}
		v, ok, err := s.Get(ctx, ":1:bench")
		if err != nil || !ok || len(v) != len(value) {
			b.Fatalf("Get = %d bytes, %v, %v", len(v), ok, err)
		}
	}
}

// BenchmarkGet8KiB measures a Get hit of an 8 KiB value.
func BenchmarkGet8KiB(b *testing.B) {
	ctx := context.Background()
	s, err := New(Options{Dir: b.TempDir(), Now: time.Now})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	value := bytes.Repeat([]byte("0123456789abcdef"), 512)
	if err := s.Set(ctx, ":1:bench", value, cache.Forever); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(value)))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := s.Get(ctx, ":1:bench"); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkSet8KiBFullDir measures a Set into a directory holding 299 other
// cache files (just under the default MaxEntries), where listing the
// directory for the cull check costs the most.
func BenchmarkSet8KiBFullDir(b *testing.B) {
	ctx := context.Background()
	s, err := New(Options{Dir: b.TempDir(), Now: time.Now})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	value := bytes.Repeat([]byte("0123456789abcdef"), 512)
	for i := range DefaultMaxEntries - 1 {
		if err := s.Set(ctx, string(rune(0x100+i)), value, cache.Forever); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(value)))
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Set(ctx, ":1:bench", value, cache.Seconds(300)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFragmentStore measures what indexing costs a fragment store (a
// miss): a Set of a key that is no fragment (not indexed), of a new
// fragment variant (Set, then open, lock, read and append to the index
// file; indexes of 100 variants), and of a variant already listed (Set,
// then open, lock and read the index file).
func BenchmarkFragmentStore(b *testing.B) {
	ctx := context.Background()
	s, err := New(Options{Dir: b.TempDir(), MaxEntries: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	c, err := cache.New(s)
	if err != nil {
		b.Fatal(err)
	}
	val := bytes.Repeat([]byte("x"), 2<<10)
	b.Run("plain", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if err := c.Set(ctx, "plain."+strconv.Itoa(i%1000), val, cache.Seconds(600)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("new-variant", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			k := cache.FragmentKey("bench"+strconv.Itoa(i/100), i%100)
			if err := c.Set(ctx, k, val, cache.Seconds(600)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("listed-variant", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if err := c.Set(ctx, cache.FragmentKey("bench0", i%100), val, cache.Seconds(600)); err != nil {
				b.Fatal(err)
			}
		}
	})
	if st := c.Stats().Index; st.Errors > 0 {
		b.Fatalf("index errors: %+v", st)
	}
}
