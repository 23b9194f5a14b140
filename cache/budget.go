package cache

import (
	"context"
	"sync"
)

// Budget lets one request stop waiting for a cache that just failed it:
// once a call of the request to a fail-open backend has failed (a timeout,
// a refused connection), the request's other calls to that backend are
// answered at once as the wrapper answers a failure (a miss, a write not
// done), without reaching the backend. So at an outage's onset, before
// the circuit breaker has seen enough failures to open, a request still
// waits at most one operation timeout per backend, not one per fragment.
//
// The page cache and render.Renderer put one in each request's context;
// fail-open wrappers (cache/failopen) consult it. The zero Budget is ready
// to use.
type Budget struct {
	mu     sync.Mutex
	failed []any // the backends that failed this request
}

type budgetKey struct{}

// WithBudget returns ctx carrying b; a Budget already in ctx is kept (the
// request has one).
func WithBudget(ctx context.Context, b *Budget) context.Context {
	if BudgetFrom(ctx) != nil {
		return ctx
	}
	return context.WithValue(ctx, budgetKey{}, b)
}

// BudgetFrom returns the Budget in ctx, or nil.
func BudgetFrom(ctx context.Context) *Budget {
	b, _ := ctx.Value(budgetKey{}).(*Budget)
	return b
}

// Fail records that backend failed the request.
func (b *Budget) Fail(backend any) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, f := range b.failed {
		if f == backend {
			return
		}
	}
	b.failed = append(b.failed, backend)
}

// Failed reports whether backend failed the request already.
func (b *Budget) Failed(backend any) bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, f := range b.failed {
		if f == backend {
			return true
		}
	}
	return false
}
