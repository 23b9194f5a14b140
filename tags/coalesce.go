package tags

import (
	"time"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/internal/flight"
)

// flightGroup coalesces concurrent misses of one fragment key in one cache:
// the first render (the leader) renders the body and stores it; the others
// wait for its body, at most wait, then render on their own without
// storing. A stuck render, or one stuck on a slow cache, so costs each
// request at most its own render.
type flightGroup struct {
	wait time.Duration // 0: no bound
	flight.Group[rendered]
}

// rendered is a leader's result: the body, or its render error.
type rendered struct {
	body []byte
	err  *pongo2.Error
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
