package tags

import (
	"sync"
	"time"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
)

// flightGroup coalesces concurrent misses of one fragment key in one cache:
// the first render (the leader) renders the body and stores it; the others
// wait for its body, at most the group's wait, then render on their own
// without storing. A stuck render, or one stuck on a slow cache, so costs
// each request at most its own render.
type flightGroup struct {
	wait time.Duration // 0: no bound
	mu   sync.Mutex
	m    map[string]*flight
}

// flight is one leader's render.
type flight struct {
	done chan struct{}
	body []byte        // set before done is closed
	err  *pongo2.Error // the leader's render error
}

// join returns the flight of key and whether the caller leads it.
func (g *flightGroup) join(key string) (*flight, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f, ok := g.m[key]; ok {
		return f, false
	}
	if g.m == nil {
		g.m = make(map[string]*flight)
	}
	f := &flight{done: make(chan struct{})}
	g.m[key] = f
	return f, true
}

// finish ends the leader's flight.
func (g *flightGroup) finish(key string, f *flight) {
	g.mu.Lock()
	if g.m[key] == f {
		delete(g.m, key)
	}
	g.mu.Unlock()
	close(f.done)
}

// opTimeouter is implemented by fail-open wrappers (cache/failopen).
type opTimeouter interface{ OpTimeout() time.Duration }

// newFlightGroup returns the group of c: its wait is opts' CoalescingWait,
// or the operation timeout of c's fail-open wrapper when that is 0.
func newFlightGroup(c *cache.Cache, wait time.Duration) *flightGroup {
	switch {
	case wait < 0:
		wait = 0
	case wait == 0:
		if t, ok := cache.As[opTimeouter](c.Backend()); ok {
			wait = t.OpTimeout()
		}
	}
	return &flightGroup{wait: wait}
}
