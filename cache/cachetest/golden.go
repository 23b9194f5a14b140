package cachetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/internal/golden"
)

// goldenVersion is the Django version whose backend vectors are replayed.
const goldenVersion = "6.1.1"

// goldenData is backend_api__django-<version>.json.
type goldenData struct {
	FixedNow  float64                  `json:"fixed_now"`
	Backends  map[string]goldenBackend `json:"backends"`
	LocmemLRU []goldenObject           `json:"locmem_lru"`
}

type goldenBackend struct {
	Settings          map[string]json.RawMessage `json:"settings"`
	GetBackendTimeout []goldenTimeout            `json:"get_backend_timeout"`
	API               []goldenOp                 `json:"api"`
}

type goldenTimeout struct {
	Timeout    string          `json:"timeout"`
	OK         json.RawMessage `json:"ok"`
	OKMinusNow *float64        `json:"ok_minus_now"`
}

type goldenOp struct {
	Op string `json:"op"`
	// OK is nil when the operation raised, "null" when it returned None.
	OK    json.RawMessage `json:"ok"`
	Error *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
	Warnings []string `json:"warnings"`
}

type goldenObject map[string]json.RawMessage

func (o goldenObject) field(name string, v any) error {
	raw, ok := o[name]
	if !ok {
		return fmt.Errorf("golden locmem_lru step has no %q", name)
	}
	return json.Unmarshal(raw, v)
}

var (
	goldenOnce sync.Once
	goldenVal  goldenData
	goldenErr  error
)

func loadGolden(t testing.TB) *goldenData {
	t.Helper()
	goldenOnce.Do(func() { goldenErr = golden.DecodeBackendAPI(goldenVersion, &goldenVal) })
	if goldenErr != nil {
		t.Fatalf("golden vectors: %v", goldenErr)
	}
	return &goldenVal
}

// goldenBatteries lists the recorded backends to replay.
func (s *suite) goldenBatteries(t *testing.T) []string {
	switch s.h.Golden {
	case "":
		t.Skip("Semantics.Golden is empty")
	case "locmem":
		return []string{"locmem", "locmem_prefixed"}
	}
	return []string{s.h.Golden}
}

// settingsOptions turns a battery's Django settings into cache options.
func settingsOptions(t testing.TB, settings map[string]json.RawMessage) []cache.Option {
	var opts []cache.Option
	if raw, ok := settings["KEY_PREFIX"]; ok {
		var p string
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatalf("golden KEY_PREFIX: %v", err)
		}
		opts = append(opts, cache.WithKeyPrefix(p))
	}
	if raw, ok := settings["VERSION"]; ok {
		var v int
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("golden VERSION: %v", err)
		}
		opts = append(opts, cache.WithDefaultVersion(v))
	}
	if raw, ok := settings["TIMEOUT"]; ok {
		var f *float64
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatalf("golden TIMEOUT: %v", err)
		}
		if f == nil {
			opts = append(opts, cache.WithDefaultTimeout(cache.Forever))
		} else {
			opts = append(opts, cache.WithDefaultTimeout(cache.Seconds(*f)))
		}
	}
	return opts
}

// replayer runs golden operations on one cache.
type replayer struct {
	t *testing.T
	c *cache.Cache
}

// getv returns a Get result as the golden JSON shows it: nil for a miss.
func (r *replayer) getv(key string) (any, error) {
	v, ok, err := r.c.Get(bg, key)
	if err != nil || !ok {
		return nil, err
	}
	return string(v), nil
}

// getDefault is get(key, dflt).
func (r *replayer) getDefault(key, dflt string) (any, error) {
	v, ok, err := r.c.Get(bg, key)
	if err != nil {
		return nil, err
	}
	if !ok {
		return dflt, nil
	}
	return string(v), nil
}

// noneValue maps a stored empty value, this API's analogue of Python's
// None, to nil.
func noneValue(v []byte, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	if len(v) == 0 {
		return nil, nil
	}
	return string(v), nil
}

func (r *replayer) set(key, value string, to cache.Timeout) error {
	return r.c.Set(bg, key, []byte(value), to)
}

func (r *replayer) then(err error, f func() (any, error)) (any, error) {
	if err != nil {
		return nil, err
	}
	return f()
}

func intResult(n int64, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return n, nil
}

func goldenLoad(v string) func(context.Context) ([]byte, error) {
	return func(context.Context) ([]byte, error) { return []byte(v), nil }
}

// goldenSkipped are operations with no meaning for a byte API.
var goldenSkipped = map[string]string{
	"set('b', True); get type": "Python value types (a bool comes back as a bool)",
}

// goldenOps maps each recorded operation to the same operation on a
// Cache. Values are bytes: Python ints are stored as their decimal digits
// (as memcached and Redis store them), and a stored None is an empty value.
var goldenOps = map[string]func(r *replayer) (any, error){
	"make_key('k')":            func(r *replayer) (any, error) { return r.c.MakeKey("k"), nil },
	"make_key('k', version=2)": func(r *replayer) (any, error) { return r.c.WithVersion(2).MakeKey("k"), nil },
	"default_timeout": func(r *replayer) (any, error) {
		d := r.c.DefaultTimeout()
		if d == cache.Forever {
			return nil, nil
		}
		return strconv.FormatFloat(d.Seconds(), 'f', -1, 64), nil
	},
	"set('s','v'); get('s')": func(r *replayer) (any, error) {
		return r.then(r.set("s", "v", cache.DefaultTimeout), func() (any, error) { return r.getv("s") })
	},
	"get('missing')":         func(r *replayer) (any, error) { return r.getv("missing") },
	"get('missing', 'dflt')": func(r *replayer) (any, error) { return r.getDefault("missing", "dflt") },
	"set('n', None); get('n','dflt')": func(r *replayer) (any, error) {
		if err := r.set("n", "", cache.DefaultTimeout); err != nil {
			return nil, err
		}
		v, ok, err := r.c.Get(bg, "n")
		if err == nil && !ok {
			return "dflt", nil
		}
		return noneValue(v, err)
	},
	"has_key('n') after storing None": func(r *replayer) (any, error) { return r.c.Has(bg, "n") },
	"add('s','other') existing": func(r *replayer) (any, error) {
		return r.c.Add(bg, "s", []byte("other"), cache.DefaultTimeout)
	},
	"add('a','x') new": func(r *replayer) (any, error) { return r.c.Add(bg, "a", []byte("x"), cache.DefaultTimeout) },
	"set('z','v',timeout=0); get": func(r *replayer) (any, error) {
		return r.then(r.set("z", "v", cache.Seconds(0)), func() (any, error) { return r.getv("z") })
	},
	"add('z0','v',timeout=0) -> return": func(r *replayer) (any, error) {
		return r.c.Add(bg, "z0", []byte("v"), cache.Seconds(0))
	},
	"get('z0') after add timeout=0": func(r *replayer) (any, error) { return r.getv("z0") },
	"set('neg','v',timeout=-1); get": func(r *replayer) (any, error) {
		return r.then(r.set("neg", "v", cache.Seconds(-1)), func() (any, error) { return r.getv("neg") })
	},
	"set('inf','v',timeout=None); get": func(r *replayer) (any, error) {
		return r.then(r.set("inf", "v", cache.Forever), func() (any, error) { return r.getv("inf") })
	},
	"set('flt','v',timeout=1.5); get": func(r *replayer) (any, error) {
		return r.then(r.set("flt", "v", cache.Seconds(1.5)), func() (any, error) { return r.getv("flt") })
	},
	"set('long','v',timeout=30d+1); get": func(r *replayer) (any, error) {
		return r.then(r.set("long", "v", cache.Seconds(2592001)), func() (any, error) { return r.getv("long") })
	},
	"set('i',41); incr('i')": func(r *replayer) (any, error) {
		return r.then(r.set("i", "41", cache.DefaultTimeout), func() (any, error) { return intResult(r.c.Incr(bg, "i", 1)) })
	},
	"incr('i', 10)":             func(r *replayer) (any, error) { return intResult(r.c.Incr(bg, "i", 10)) },
	"incr('i', -20)":            func(r *replayer) (any, error) { return intResult(r.c.Incr(bg, "i", -20)) },
	"decr('i')":                 func(r *replayer) (any, error) { return intResult(r.c.Decr(bg, "i", 1)) },
	"decr('i', -5)":             func(r *replayer) (any, error) { return intResult(r.c.Decr(bg, "i", -5)) },
	"decr('i', 100) below zero": func(r *replayer) (any, error) { return intResult(r.c.Decr(bg, "i", 100)) },
	"get('i') after decr": func(r *replayer) (any, error) {
		v, err := r.getv("i")
		if s, ok := v.(string); ok {
			v = strings.TrimRight(s, " ") // memcached pads a shortened decrement
		}
		return v, err
	},
	"incr('nope')": func(r *replayer) (any, error) { return intResult(r.c.Incr(bg, "nope", 1)) },
	"decr('nope')": func(r *replayer) (any, error) { return intResult(r.c.Decr(bg, "nope", 1)) },
	"incr on str value": func(r *replayer) (any, error) {
		return r.then(r.set("str", "abc", cache.DefaultTimeout), func() (any, error) { return intResult(r.c.Incr(bg, "str", 1)) })
	},
	"incr on None value": func(r *replayer) (any, error) { return intResult(r.c.Incr(bg, "n", 1)) },
	"set('bi', 2**70); get": func(r *replayer) (any, error) {
		return r.then(r.set("bi", "1180591620717411303424", cache.DefaultTimeout), func() (any, error) { return r.getv("bi") })
	},
	"set_many({'m1':1,'m2':'two'})": func(r *replayer) (any, error) {
		failed, err := r.c.SetMany(bg, map[string][]byte{"m1": []byte("1"), "m2": []byte("two")}, cache.DefaultTimeout)
		if err != nil {
			return nil, err
		}
		return failed, nil
	},
	"get_many(['m1','m2','zz'])": func(r *replayer) (any, error) {
		m, err := r.c.GetMany(bg, []string{"m1", "m2", "zz"})
		if err != nil {
			return nil, err
		}
		return m, nil
	},
	"delete('m1')":             func(r *replayer) (any, error) { return r.c.Delete(bg, "m1") },
	"delete('m1') again":       func(r *replayer) (any, error) { return r.c.Delete(bg, "m1") },
	"delete_many(['m2','zz'])": func(r *replayer) (any, error) { return nil, r.c.DeleteMany(bg, []string{"m2", "zz"}) },
	"get_or_set('g', 'val')": func(r *replayer) (any, error) {
		return noneValue(r.c.GetOrSet(bg, "g", goldenLoad("val"), cache.DefaultTimeout))
	},
	"get_or_set('g', 'other')": func(r *replayer) (any, error) {
		return noneValue(r.c.GetOrSet(bg, "g", goldenLoad("other"), cache.DefaultTimeout))
	},
	"get_or_set('gc', callable)": func(r *replayer) (any, error) {
		return noneValue(r.c.GetOrSet(bg, "gc", goldenLoad("from-callable"), cache.DefaultTimeout))
	},
	"get_or_set('gn', None)": func(r *replayer) (any, error) {
		return noneValue(r.c.GetOrSet(bg, "gn", goldenLoad(""), cache.DefaultTimeout))
	},
	"touch('s', 100)":  func(r *replayer) (any, error) { return r.c.Touch(bg, "s", cache.Seconds(100)) },
	"touch('missing')": func(r *replayer) (any, error) { return r.c.Touch(bg, "missing", cache.DefaultTimeout) },
	"touch('s', 0) then get": func(r *replayer) (any, error) {
		_, err := r.c.Touch(bg, "s", cache.Seconds(0))
		return r.then(err, func() (any, error) { return r.getv("s") })
	},
	"set('v1','x'); incr_version('v1')": func(r *replayer) (any, error) {
		return r.then(r.set("v1", "x", cache.DefaultTimeout), func() (any, error) {
			n, err := r.c.IncrVersion(bg, "v1", 1)
			return intResult(int64(n), err)
		})
	},
	"get('v1') v1 / version=2": func(r *replayer) (any, error) {
		a, err := r.getv("v1")
		if err != nil {
			return nil, err
		}
		b, err := (&replayer{r.t, r.c.WithVersion(2)}).getv("v1")
		return []any{a, b}, err
	},
	"decr_version('v1', version=2)": func(r *replayer) (any, error) {
		n, err := r.c.WithVersion(2).DecrVersion(bg, "v1", 1)
		return intResult(int64(n), err)
	},
	"incr_version('nope')": func(r *replayer) (any, error) {
		n, err := r.c.IncrVersion(bg, "nope", 1)
		return intResult(int64(n), err)
	},
	// The recording script checks "a" in c despite the label.
	"'s' in cache":     func(r *replayer) (any, error) { return r.c.Has(bg, "a") },
	"key with space":   func(r *replayer) (any, error) { return nil, r.set("has space", "1", cache.DefaultTimeout) },
	"key with newline": func(r *replayer) (any, error) { return r.getv("a\nb") },
	"key 250 chars after prefix": func(r *replayer) (any, error) {
		return nil, r.set(strings.Repeat("k", 250-len(r.c.MakeKey(""))), "1", cache.DefaultTimeout)
	},
	"key 251 chars after prefix": func(r *replayer) (any, error) {
		return nil, r.set(strings.Repeat("k", 251-len(r.c.MakeKey(""))), "1", cache.DefaultTimeout)
	},
	"key non-ascii 'clé'": func(r *replayer) (any, error) {
		return r.then(r.set("clé", "1", cache.DefaultTimeout), func() (any, error) { return r.getv("clé") })
	},
	"clear()":              func(r *replayer) (any, error) { return nil, r.c.Clear(bg) },
	"get('a') after clear": func(r *replayer) (any, error) { return r.getv("a") },
	"close()":              func(r *replayer) (any, error) { return nil, r.c.Close() },
}

// goldenIgnoreValue are operations whose Python result is not compared.
var goldenIgnoreValue = map[string]bool{
	"clear()": true, // Redis returns FLUSHDB's True, the others None
	"close()": true,
}

// normGo turns a Go result into the shape of decoded golden JSON.
func normGo(v any) any {
	switch v := v.(type) {
	case nil:
		return nil
	case []byte:
		return string(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case int:
		return strconv.Itoa(v)
	case []string:
		out := make([]any, len(v))
		for i, s := range v {
			out[i] = s
		}
		return out
	case map[string][]byte:
		out := make(map[string]any, len(v))
		for k, b := range v {
			out[k] = string(b)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = normGo(x)
		}
		return out
	}
	return v
}

// normGolden turns numbers into their decimal text, the form the byte API
// stores them in.
func normGolden(v any) any {
	switch v := v.(type) {
	case json.Number:
		return v.String()
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = normGolden(x)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = normGolden(x)
		}
		return out
	}
	return v
}

func decodeNumber(raw json.RawMessage) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

// checkGoldenError compares a Go error with the Python exception recorded.
func (s *suite) checkGoldenError(t *testing.T, typ, msg string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("no error, want the equivalent of %s(%q)", typ, msg)
		return
	}
	switch typ {
	case "ValueError":
		wantErrIs(t, typ, err, cache.ErrNotFound)
		if err.Error() != msg {
			t.Errorf("error message %q, want Django's %q", err.Error(), msg)
		}
	case "TypeError", "MemcacheClientError", "ResponseError":
		wantErrIs(t, typ, err, cache.ErrNotInteger)
	case "InvalidCacheKey":
		var ike *cache.InvalidKeyError
		if !errors.As(err, &ike) {
			t.Errorf("error %T %v, want an *InvalidKeyError", err, err)
		}
		if err.Error() != msg {
			t.Errorf("error message %q, want Django's %q", err.Error(), msg)
		}
	}
}

// testGoldenAPI replays the recorded operation battery of the Django
// backend the harness follows, in order, on one cache.
func (s *suite) testGoldenAPI(t *testing.T) {
	g := loadGolden(t)
	for _, name := range s.goldenBatteries(t) {
		t.Run(name, func(t *testing.T) {
			b, ok := g.Backends[name]
			if !ok {
				t.Skipf("no golden battery %q in backend_api %s", name, goldenVersion)
			}
			logs := newLogCapture()
			opts := append(settingsOptions(t, b.Settings), cache.WithLogger(logs.logger()))
			c, _ := s.newCache(t, opts...)
			r := &replayer{t: t, c: c}
			for i, op := range b.API {
				t.Run(fmt.Sprintf("%02d_%s", i, op.Op), func(t *testing.T) {
					r.t = t
					if why, skip := goldenSkipped[op.Op]; skip {
						t.Skip("not a byte API operation: " + why)
					}
					f := goldenOps[op.Op]
					if f == nil {
						t.Fatalf("no Go equivalent for golden operation %q", op.Op)
					}
					got, err := f(r)
					if msgs := logs.take(t); !cmp.Equal(msgs, op.Warnings, cmpEmpty) {
						t.Errorf("warnings %q, want %q", msgs, op.Warnings)
					}
					if op.Error != nil {
						s.checkGoldenError(t, op.Error.Type, op.Error.Message, err)
						return
					}
					if err != nil {
						t.Fatalf("unexpected error: %v", err)
					}
					if goldenIgnoreValue[op.Op] {
						return
					}
					want, derr := decodeNumber(op.OK)
					if derr != nil {
						t.Fatalf("golden value %s: %v", op.OK, derr)
					}
					if diff := cmp.Diff(normGolden(want), normGo(got), cmpEmpty); diff != "" {
						t.Errorf("result differs from Django (-django +go):\n%s", diff)
					}
				})
			}
		})
	}
}

// cmpEmpty treats nil and empty slices and maps alike.
var cmpEmpty = cmp.FilterValues(func(x, y any) bool {
	return isEmpty(x) && isEmpty(y)
}, cmp.Comparer(func(_, _ any) bool { return true }))

func isEmpty(v any) bool {
	switch v := v.(type) {
	case []string:
		return len(v) == 0
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}

// testGoldenBackendTimeout checks, with the fake clock, that each timeout
// of the get_backend_timeout table keeps a value exactly as long as the
// expiry Django computes for it.
func (s *suite) testGoldenBackendTimeout(t *testing.T) {
	s.needClock(t)
	g := loadGolden(t)
	for _, name := range s.goldenBatteries(t) {
		b, ok := g.Backends[name]
		if !ok {
			continue
		}
		for _, row := range b.GetBackendTimeout {
			t.Run(name+"/"+row.Timeout, func(t *testing.T) {
				to, err := goldenTimeoutArg(row.Timeout)
				if err != nil {
					t.Fatal(err)
				}
				d, forever, err := goldenLifetime(name, row)
				if err != nil {
					t.Fatal(err)
				}
				c, clk := s.newCache(t, settingsOptions(t, b.Settings)...)
				start := clk.Now()
				set(t, c, "k", "v", to)
				s.checkLife(t, c, clk, "k", "v", start, d, forever)
			})
		}
	}
}

func goldenTimeoutArg(label string) (cache.Timeout, error) {
	switch label {
	case "DEFAULT":
		return cache.DefaultTimeout, nil
	case "None":
		return cache.Forever, nil
	}
	f, err := strconv.ParseFloat(label, 64)
	if err != nil {
		return 0, fmt.Errorf("golden timeout %q: %v", label, err)
	}
	return cache.Seconds(f), nil
}

// goldenLifetime reads how long Django keeps a value from the backend's
// get_backend_timeout result.
func goldenLifetime(backend string, row goldenTimeout) (d time.Duration, forever bool, err error) {
	var ok *float64
	if err := json.Unmarshal(row.OK, &ok); err != nil {
		return 0, false, fmt.Errorf("golden get_backend_timeout %q: %v", row.Timeout, err)
	}
	secs := func(f float64) time.Duration {
		if f <= 0 {
			return -1
		}
		return time.Duration(math.Round(f * 1e9))
	}
	switch backend {
	case "pymemcache": // 0 never expires, negative is expired, >30 days absolute
		switch {
		case ok == nil || *ok == 0:
			return 0, true, nil
		case row.OKMinusNow != nil:
			return secs(*row.OKMinusNow), false, nil
		}
		return secs(*ok), false, nil
	case "redis": // None persists, 0 deletes, else seconds
		if ok == nil {
			return 0, true, nil
		}
		return secs(*ok), false, nil
	}
	// Base backends: an absolute expiry, or None for never.
	if ok == nil {
		return 0, true, nil
	}
	if row.OKMinusNow == nil {
		return 0, false, fmt.Errorf("golden get_backend_timeout %q has no ok_minus_now", row.Timeout)
	}
	return secs(*row.OKMinusNow), false, nil
}
