package file

import (
	"bytes"
	"context"
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
