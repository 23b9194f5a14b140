package cache

import (
	"context"
	"sync/atomic"
)

// Swallowed counts, through a context, the calls a fail-open wrapper
// answered as done (a Set that returned nil, a Delete that reported
// nothing deleted) although the backend failed or was skipped: the one
// way such a wrapper can tell its caller the truth without breaking its
// promise never to fail a request. Put one in the context of the calls
// with WithSwallowed; wrappers report with ReportSwallowed. Cache.Set and
// Cache.Add count a swallowed store as an error in Stats, not as a set,
// and the page cache tells it in Cache-Status.
type Swallowed struct {
	n      atomic.Int32
	parent *Swallowed
}

type swallowedKey struct{}

// WithSwallowed returns ctx carrying s. A Swallowed already in ctx is
// informed too.
func WithSwallowed(ctx context.Context, s *Swallowed) context.Context {
	s.parent, _ = ctx.Value(swallowedKey{}).(*Swallowed)
	return context.WithValue(ctx, swallowedKey{}, s)
}

// Count returns the number of swallowed calls reported.
func (s *Swallowed) Count() int { return int(s.n.Load()) }

// ReportSwallowed tells the Swallowed in ctx, if any (and those it nests
// in), that a call was answered as done although it failed.
func ReportSwallowed(ctx context.Context) {
	s, _ := ctx.Value(swallowedKey{}).(*Swallowed)
	for ; s != nil; s = s.parent {
		s.n.Add(1)
	}
}

// Swallower is implemented by backends (fail-open wrappers) that may
// answer a failed call as done, and then call ReportSwallowed. A Cache
// over one puts a Swallowed in the context of its stores, to count them
// truthfully.
type Swallower interface {
	Swallows() bool
}
