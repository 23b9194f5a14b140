package templates_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/memory"
	"github.com/fragcache/fragcache/render"
	"github.com/fragcache/fragcache/tags"
)

// env is a Renderer over testdata/ whose fragments go to one memory cache.
type env struct {
	rd     *render.Renderer
	store  *memory.Store
	cache  *cache.Cache
	scheme cache.KeyScheme
}

func newEnv(t testing.TB, scheme cache.KeyScheme, backend func(cache.Backend) cache.Backend) *env {
	t.Helper()
	store, err := memory.New(memory.Options{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	var b cache.Backend = store
	if backend != nil {
		b = backend(store)
	}
	var copts []cache.Option
	if scheme == cache.KeySchemeLegacy {
		copts = append(copts, cache.WithDjango("6.0"))
	}
	c, err := cache.New(b, copts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	reg, err := cache.NewRegistry(map[string]*cache.Cache{cache.DefaultAlias: c})
	if err != nil {
		t.Fatal(err)
	}
	rd, err := render.New(render.Options{FS: os.DirFS("testdata"), Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rd.Close() })
	return &env{rd: rd, store: store, cache: c, scheme: scheme}
}

func (e *env) render(t testing.TB, name string, data pongo2.Context) string {
	t.Helper()
	b, err := e.rd.RenderBytes(httptest.NewRequest("GET", "/", nil), name, data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return string(b)
}

// key is the made key the tag stores for a fragment.
func (e *env) key(name string, vary ...any) string {
	return e.cache.MakeKey(e.scheme.FragmentKey(name, vary...))
}

// keys returns the stored keys, sorted.
func (e *env) keys() []string {
	k := e.store.Keys()
	slices.Sort(k)
	return k
}

func (e *env) stats(name string) tags.FragmentStats {
	for _, s := range e.rd.Fragments().Stats() {
		if s.Name == name {
			return s
		}
	}
	return tags.FragmentStats{Name: name}
}

// deadBackend fails every operation, like an unreachable server.
type deadBackend struct{ calls int64 }

var errDead = errors.New("connection refused")

func (d *deadBackend) Get(context.Context, string) ([]byte, bool, error) { return nil, false, errDead }
func (d *deadBackend) Set(context.Context, string, []byte, cache.Timeout) error {
	return errDead
}
func (d *deadBackend) Add(context.Context, string, []byte, cache.Timeout) (bool, error) {
	return false, errDead
}
func (d *deadBackend) Delete(context.Context, string) (bool, error) { return false, errDead }
func (d *deadBackend) Has(context.Context, string) (bool, error)    { return false, errDead }
func (d *deadBackend) Touch(context.Context, string, cache.Timeout) (bool, error) {
	return false, errDead
}
func (d *deadBackend) Clear(context.Context) error { return errDead }
func (d *deadBackend) Close() error                { return nil }

type link struct{ URL, Label string }

type article struct {
	ID    int
	Title string
}

func siteData(title string, articles ...article) pongo2.Context {
	return pongo2.Context{
		"title":    title,
		"links":    []link{{"/", "Home"}, {"/about/", "About & us"}},
		"articles": articles,
		"year":     2024,
		"owner":    "Example",
	}
}

// squash removes newlines, to compare outputs on one line.
func squash(s string) string { return strings.ReplaceAll(s, "\n", "") }

// osDir holds the test templates.
var osDir = os.DirFS("testdata")
