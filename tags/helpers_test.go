package tags

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/cachetest"
	"github.com/fragcache/fragcache/cache/memory"
)

// slowCalls counts the calls of the test-only "slow" filter.
var slowCalls atomic.Int64

func init() {
	// Django's test suite registers a "noop" filter for test_cache18.
	_ = pongo2.RegisterFilter("noop", func(in, _ *pongo2.Value) (*pongo2.Value, *pongo2.Error) { return in, nil })
	// "fail" fails at render time; "boom" panics; "slow" sleeps 20 ms.
	_ = pongo2.RegisterFilter("fail", func(in, _ *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
		return nil, &pongo2.Error{Sender: "filter:fail", OrigError: errors.New("filter failed")}
	})
	_ = pongo2.RegisterFilter("boom", func(in, _ *pongo2.Value) (*pongo2.Value, *pongo2.Error) { panic("boom") })
	_ = pongo2.RegisterFilter("slow", func(in, _ *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
		slowCalls.Add(1)
		time.Sleep(20 * time.Millisecond)
		return in, nil
	})
}

// errBackendDown is what a failing recorder returns.
var errBackendDown = errors.New("backend down")

type setRecord struct {
	timeout cache.Timeout
	at      time.Time
}

// recorder wraps a backend, records the sets it sees and can fail on demand.
type recorder struct {
	cache.Backend
	now     func() time.Time
	fail    atomic.Bool // Get, Set, Add and Delete fail
	failSet atomic.Bool // Set and Add fail
	gets    atomic.Int64
	lastCtx atomic.Value // context.Context of the last call

	mu   sync.Mutex
	sets map[string]setRecord
	log  []string
}

func newRecorder(b cache.Backend, now func() time.Time) *recorder {
	return &recorder{Backend: b, now: now, sets: map[string]setRecord{}}
}

func (r *recorder) Get(ctx context.Context, key string) ([]byte, bool, error) {
	r.gets.Add(1)
	r.lastCtx.Store(ctxBox{ctx})
	if r.fail.Load() {
		return nil, false, errBackendDown
	}
	return r.Backend.Get(ctx, key)
}

func (r *recorder) GetKeyBytes(ctx context.Context, key []byte) ([]byte, bool, error) {
	r.gets.Add(1)
	r.lastCtx.Store(ctxBox{ctx})
	if r.fail.Load() {
		return nil, false, errBackendDown
	}
	return r.Backend.(cache.KeyBytesGetter).GetKeyBytes(ctx, key)
}

func (r *recorder) record(key string, t cache.Timeout) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sets[key] = setRecord{timeout: t, at: r.now()}
	r.log = append(r.log, key)
}

func (r *recorder) Set(ctx context.Context, key string, value []byte, t cache.Timeout) error {
	if r.fail.Load() || r.failSet.Load() {
		return errBackendDown
	}
	r.record(key, t)
	return r.Backend.Set(ctx, key, value, t)
}

func (r *recorder) Add(ctx context.Context, key string, value []byte, t cache.Timeout) (bool, error) {
	if r.fail.Load() || r.failSet.Load() {
		return false, errBackendDown
	}
	r.record(key, t)
	return r.Backend.Add(ctx, key, value, t)
}

func (r *recorder) Delete(ctx context.Context, key string) (bool, error) {
	if r.fail.Load() {
		return false, errBackendDown
	}
	return r.Backend.Delete(ctx, key)
}

// ctxBox lets atomic.Value hold contexts of different types.
type ctxBox struct{ context.Context }

// keys returns the made keys set so far.
func (r *recorder) keys() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.sets))
	for k := range r.sets {
		out = append(out, k)
	}
	return out
}

// expiryMinusNow is Django's stored expiry minus the current time: nil for
// forever.
func (r *recorder) expiryMinusNow(key string) *float64 {
	r.mu.Lock()
	rec, ok := r.sets[key]
	r.mu.Unlock()
	if !ok || rec.timeout == cache.Forever {
		return nil
	}
	v := rec.timeout.Seconds() - r.now().Sub(rec.at).Seconds()
	return &v
}

// env is a registry of recorded memory caches, a Fragments installed in a
// template set, and a fake clock.
type env struct {
	set   *pongo2.TemplateSet
	frags *Fragments
	clock *cachetest.FakeClock
	rec   map[string]*recorder
	reg   *cache.Registry
}

type aliasConf struct {
	prefix  string
	version int
}

func newEnv(t testing.TB, scheme cache.KeyScheme, opts Options, aliases map[string]aliasConf) *env {
	t.Helper()
	if aliases == nil {
		aliases = map[string]aliasConf{"default": {}}
	}
	e := &env{clock: cachetest.NewFakeClock(time.Unix(1700000000, 0)), rec: map[string]*recorder{}}
	caches := map[string]*cache.Cache{}
	for alias, conf := range aliases {
		store, err := memory.New(memory.Options{Now: e.clock.Now, SweepInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		rec := newRecorder(store, e.clock.Now)
		copts := []cache.Option{cache.WithKeyPrefix(conf.prefix)}
		if scheme == cache.KeySchemeLegacy {
			copts = append(copts, cache.WithDjango("6.0"))
		}
		if conf.version != 0 {
			copts = append(copts, cache.WithDefaultVersion(conf.version))
		}
		c, err := cache.New(rec, copts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		caches[alias] = c
		e.rec[alias] = rec
	}
	reg, err := cache.NewRegistry(caches)
	if err != nil {
		t.Fatal(err)
	}
	e.reg = reg
	e.frags, err = New(e.reg, opts)
	if err != nil {
		t.Fatal(err)
	}
	e.set = newSet(t, e.frags)
	return e
}

// newSet returns a template set with f installed. The loader is never used:
// templates come from strings.
func newSet(t testing.TB, f *Fragments) *pongo2.TemplateSet {
	t.Helper()
	set := pongo2.NewSet(fmt.Sprintf("tags-test-%p", f), pongo2.MustNewLocalFileSystemLoader(t.TempDir()))
	if err := f.Install(set); err != nil {
		t.Fatal(err)
	}
	return set
}

// render parses and renders src with ctx.
func (e *env) render(t testing.TB, src string, ctx pongo2.Context) (string, error) {
	t.Helper()
	tpl, err := e.set.FromString(src)
	if err != nil {
		return "", err
	}
	return tpl.Execute(ctx)
}

func (e *env) mustRender(t testing.TB, src string, ctx pongo2.Context) string {
	t.Helper()
	out, err := e.render(t, src, ctx)
	if err != nil {
		t.Fatalf("render %s: %v", src, err)
	}
	return out
}

// origMessage returns the message of a pongo2 error without its position
// prefix.
func origMessage(t testing.TB, err error) string {
	t.Helper()
	var pe *pongo2.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *pongo2.Error", err, err)
	}
	return pe.OrigError.Error()
}

// parsePy parses the subset of Python literals the golden contexts use:
// dicts, lists, strings, ints, floats, True, False and None.
func parsePy(s string) (any, error) {
	p := &pyParser{s: s}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("trailing text at %d in %q", p.i, s)
	}
	return v, nil
}

type pyParser struct {
	s string
	i int
}

func (p *pyParser) space() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *pyParser) value() (any, error) {
	p.space()
	if p.i >= len(p.s) {
		return nil, errors.New("unexpected end")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		p.i++
		m := map[string]any{}
		for {
			p.space()
			if p.s[p.i] == '}' {
				p.i++
				return m, nil
			}
			k, err := p.value()
			if err != nil {
				return nil, err
			}
			p.space()
			if p.s[p.i] != ':' {
				return nil, fmt.Errorf("want ':' at %d", p.i)
			}
			p.i++
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			m[k.(string)] = v
			p.space()
			if p.s[p.i] == ',' {
				p.i++
			}
		}
	case c == '[':
		p.i++
		l := []any{}
		for {
			p.space()
			if p.s[p.i] == ']' {
				p.i++
				return l, nil
			}
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			l = append(l, v)
			p.space()
			if p.s[p.i] == ',' {
				p.i++
			}
		}
	case c == '\'' || c == '"':
		j := p.i + 1
		var b strings.Builder
		for ; p.s[j] != c; j++ {
			if p.s[j] == '\\' {
				j++
			}
			b.WriteByte(p.s[j])
		}
		p.i = j + 1
		return b.String(), nil
	default:
		j := p.i
		for j < len(p.s) && strings.IndexByte(",:]} ", p.s[j]) < 0 {
			j++
		}
		tok := p.s[p.i:j]
		p.i = j
		switch tok {
		case "None":
			return nil, nil
		case "True":
			return true, nil
		case "False":
			return false, nil
		}
		if n, err := strconv.Atoi(tok); err == nil {
			return n, nil
		}
		if f, err := strconv.ParseFloat(tok, 64); err == nil {
			return f, nil
		}
		return nil, fmt.Errorf("bad token %q", tok)
	}
}

// pyContext converts a golden context (a Python dict repr) to a pongo2
// context.
func pyContext(t testing.TB, s string) pongo2.Context {
	t.Helper()
	if s == "" {
		return pongo2.Context{}
	}
	v, err := parsePy(s)
	if err != nil {
		t.Fatalf("context %s: %v", s, err)
	}
	return pongo2.Context(v.(map[string]any))
}

func writeFile(t testing.TB, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
