package templates_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/internal/testserver"
	"github.com/fragcache/fragcache/render"
)

// BenchmarkBenchPages renders the bench's pages on a warm Redis from
// parallel goroutines, with and without prefetching.
func BenchmarkBenchPages(b *testing.B) {
	rd := testserver.Redis(b)
	for _, page := range []string{"list.html", "collection.html"} {
		for _, np := range []bool{true, false} {
			b.Run(fmt.Sprintf("%s/noprefetch=%v", page, np), func(b *testing.B) {
				reg, err := backends.OpenRegistry(map[string]string{"default": "redis://" + rd.Addr + "?key_prefix=" + fmt.Sprint(page, np)})
				if err != nil {
					b.Fatal(err)
				}
				defer reg.Close()
				r, err := render.New(render.Options{FS: os.DirFS("../examples/bench/templates"), Registry: reg, NoPrefetch: np})
				if err != nil {
					b.Fatal(err)
				}
				defer r.Close()
				data := benchData()
				if _, err := r.RenderBytes(nil, page, data); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := r.RenderBytes(nil, page, data); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}
