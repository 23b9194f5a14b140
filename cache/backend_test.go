package cache_test

import (
	"testing"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/dummy"
)

// wrapper wraps a backend, as cache/failopen's wrapper does.
type wrapper struct {
	cache.Backend
	name string
}

func (w *wrapper) Unwrap() cache.Backend { return w.Backend }

// loop unwraps to itself.
type loop struct{ *dummy.Backend }

func (l *loop) Unwrap() cache.Backend { return l }

// namer is an optional method only the wrappers have.
type namer interface{ Name() string }

func (w *wrapper) Name() string { return w.name }

func TestAs(t *testing.T) {
	inner := dummy.New()
	outer := &wrapper{Backend: &wrapper{Backend: inner, name: "inner wrapper"}, name: "outer wrapper"}
	tests := []struct {
		name     string
		b        cache.Backend
		wantOK   bool
		wantName string // of the namer found, when looking for one
	}{
		{"nil", nil, false, ""},
		{"the backend itself", inner, true, ""},
		{"through two wrappers", outer, true, "outer wrapper"},
		{"a wrapper of nil", &wrapper{}, false, ""},
		{"a wrapper unwrapping to itself (a bounded walk)", &loop{}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := cache.As[*dummy.Backend](tt.b)
			if ok != tt.wantOK || ok && d != inner {
				t.Errorf("As[*dummy.Backend] = %p, %v; want %p, %v", d, ok, inner, tt.wantOK)
			}
			if tt.wantName != "" {
				n, ok := cache.As[namer](tt.b)
				if !ok || n.Name() != tt.wantName {
					t.Errorf("As[namer] found %v, %v; want the %s (the first in the chain)", n, ok, tt.wantName)
				}
			}
		})
	}
	if _, ok := cache.As[namer](inner); ok {
		t.Error("As[namer] found a namer in a dummy backend")
	}
}

func TestUnwrap(t *testing.T) {
	inner := dummy.New()
	if got := cache.Unwrap(&wrapper{Backend: inner}); got != inner {
		t.Errorf("Unwrap(wrapper) = %v", got)
	}
	if got := cache.Unwrap(inner); got != nil {
		t.Errorf("Unwrap(not a wrapper) = %v, want nil", got)
	}
}

// remote is a backend without InProcess.
type remote struct{ cache.Backend }

// inProcess says what it is told.
type inProcess struct {
	cache.Backend
	in bool
}

func (b *inProcess) InProcess() bool { return b.in }

func TestIsInProcess(t *testing.T) {
	tests := []struct {
		name string
		b    cache.Backend
		want bool
	}{
		{"nil", nil, false},
		{"dummy", dummy.New(), true},
		{"a wrapper of dummy", &wrapper{Backend: dummy.New()}, true},
		{"a backend without the method (remote)", &remote{}, false},
		{"a backend saying false", &inProcess{in: false}, false},
		{"a wrapper of one saying true", &wrapper{Backend: &inProcess{in: true}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cache.IsInProcess(tt.b); got != tt.want {
				t.Errorf("IsInProcess = %v, want %v", got, tt.want)
			}
		})
	}
}
