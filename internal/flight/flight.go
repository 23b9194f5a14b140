// Package flight coalesces concurrent work on one key, for the page cache
// and the {% cache %} tag: the first caller of a key leads and does the
// work; the others wait for its result (each for as long as it chooses)
// and read it once the flight is done. Unlike x/sync/singleflight, the
// leader runs on its own goroutine and a waiter can give up.
package flight

import "sync"

// Group is a set of flights by key. The zero value is ready to use.
type Group[R any] struct {
	mu sync.Mutex
	m  map[string]*Flight[R]
}

// Flight is one leader's work.
type Flight[R any] struct {
	done   chan struct{}
	result R
}

// Done is closed when the leader finished.
func (f *Flight[R]) Done() <-chan struct{} { return f.done }

// Result is the leader's result; read it only after Done is closed.
func (f *Flight[R]) Result() R { return f.result }

// Join returns the flight of key and whether the caller leads it; a leader
// must call Finish.
func (g *Group[R]) Join(key string) (*Flight[R], bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f, ok := g.m[key]; ok {
		return f, false
	}
	if g.m == nil {
		g.m = make(map[string]*Flight[R])
	}
	f := &Flight[R]{done: make(chan struct{})}
	g.m[key] = f
	return f, true
}

// Finish publishes the leader's result and ends the flight: the next Join
// of key starts a new one.
func (g *Group[R]) Finish(key string, f *Flight[R], result R) {
	g.mu.Lock()
	if g.m[key] == f {
		delete(g.m, key)
	}
	g.mu.Unlock()
	f.result = result
	close(f.done)
}

// Len returns the number of flights in progress.
func (g *Group[R]) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.m)
}
