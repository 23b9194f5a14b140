package tags

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
)

// ContextKey is the reserved template-context key under which Install stores
// the *Fragments in a template set's Globals; a per-render context may set it
// too (it then wins over the set's Globals, as pongo2 merges the render
// context over Globals). Template authors must not use this name for their
// own variables: a template that reads it gets an opaque value, and a
// template context that overrides it with anything else makes every
// {% cache %} tag fail with a render error.
const ContextKey = "_fragcache"

// RequestContextKey is the reserved per-render context key under which a
// renderer passes the request's context.Context to the {% cache %} tag. When
// it holds a context.Context, the tag uses it for its cache calls (so a
// deadline or cancellation bounds them); otherwise the tag uses
// context.Background(). Template authors must not use this name.
const RequestContextKey = "_fragcache_ctx"

// nestedKey is the reserved private-context key that marks a body rendered
// by a {% cache %} miss, so that nested tags skip single-flight (which would
// otherwise wait on itself when an inner fragment has the outer one's key).
const nestedKey = "_fragcache_nested"

// DefaultMaxFragmentBytes is the MaxFragmentBytes used when Options leaves it
// 0: 1 MiB.
const DefaultMaxFragmentBytes = 1 << 20

// logInterval is the minimum time between two log lines about one fragment
// name.
const logInterval = time.Second

// Options configures a Fragments.
type Options struct {
	// Logger receives backend errors (a failing Get or Set, a context
	// deadline), at most one line per fragment name per second; nil means
	// silent. Errors are counted in Stats either way.
	Logger *slog.Logger
	// MaxFragmentBytes bounds the rendered body the tag stores: a larger
	// body is written to the page but not stored (counted as a StoreSkip).
	// 0 means DefaultMaxFragmentBytes; a negative value is an error.
	MaxFragmentBytes int
	// StrictVaryOn makes a {% cache %} vary-on argument that does not
	// resolve a render error naming the template, line and expression.
	// Such an argument is a plain dotted variable in which a name is
	// absent: no such key in a map, no such field or method (under the Go
	// names of Django names, see DjangoNames) on a value, or no such
	// variable; a name whose value is nil resolves. Django keys an
	// unresolved argument as the empty string, so every render shares one
	// fragment (bob is served alice's sidebar); without StrictVaryOn that
	// is kept, but counted in Stats (Unresolved) and UnresolvedVaryOn and
	// logged once per template position. A name that matches twice at one
	// step of the lookup is an error with StrictVaryOn, else unresolved.
	// render.Renderer sets it in debug mode.
	StrictVaryOn bool
	// CoalescingWait bounds how long a render waits for a concurrent render
	// of the same fragment (the leader, which stores it): past it, the
	// waiting render renders the body itself and does not store it. 0 means
	// the cache's operation timeout (that of its fail-open wrapper: 500ms on
	// memcached), or no bound for caches without one; a negative value
	// means no bound. Under a lease (Stampede), a positive CoalescingWait
	// also bounds the wait for another process's render; without one,
	// the lease TTL does.
	CoalescingWait time.Duration
	// Stampede sets the stampede protection of fragments by name (the name
	// as written in the tag, as FragmentStats.Name shows it): a lease, so
	// that one process among all sharing the cache renders a missing
	// fragment while the others wait for it; grace, so that a fragment past
	// its timeout is served stale while one process re-renders it; early
	// expiry (see cache.Stampede). A fragment whose name is absent gets the
	// protection of its cache (cache.Cache.Stampede: lease=, grace=,
	// xfetch= on its URL). The entry replaces the cache's whole Stampede;
	// its Wait, when 0, is CoalescingWait when that is positive, else the
	// lease TTL (not the coalescing wait's default, the cache's operation
	// timeout, which is shorter than many renders). The tag's
	// syntax does not change: Django still parses and renders the
	// templates, and reads and deletes the fragments.
	Stampede map[string]cache.Stampede
	// TemplateDigests adds to every fragment's key a digest of the
	// template text that renders it (Rails' cache digests): the tag's body
	// and the templates it includes by a literal name, recursively. A
	// deploy that changes that text then never serves fragments rendered
	// from the old one. The key keeps Django's shape but no longer equals
	// the key Django computes for the tag: leave it off (the default) for
	// fragments a Django app shares. An {% include %} of a variable is left
	// out of the digest and logged once. Invalidate such fragments with
	// InvalidateFragmentVariants, or with their digest as the last vary
	// value (TemplateDigest; fragcache invalidate --templates DIR
	// --template NAME).
	TemplateDigests bool
	// StrictTags makes fragments record, when stored, the versions of the
	// content tags they declared ({% cachetag %}), and a hit check them:
	// a fragment stored before a PurgeTag of one of its tags is deleted
	// and rendered again, even when the backend evicted the tag's index
	// before the purge (the case a plain purge misses). The versions are
	// read with the render's fragments (one multi-get, where the
	// {% cachetag %} expressions can be evaluated ahead); a store reads
	// them once more.
	StrictTags bool
	// IncludeLoader loads the templates of {% include name_variable %} in
	// the template sets the Fragments is installed in. Nil means
	// SetIncludeLoader of the set Install binds (render.Renderer passes its
	// template cache).
	IncludeLoader IncludeLoader
	// Static gives the URLs of {% static "css/site.css" %} ({% load static
	// %}): a *staticfiles.Storage, with the hashed names of Django's
	// ManifestStaticFilesStorage. Nil makes the tag a render error.
	Static StaticURLer
}

// Fragments binds a cache.Registry to pongo2 templates: Install it in a
// pongo2.TemplateSet and the set's {% cache %} tags read and write the
// registry's caches. It is safe for concurrent use; several Fragments (for
// example one per template set) work side by side.
type Fragments struct {
	reg      *cache.Registry
	logger   *slog.Logger
	maxBytes int
	strict   bool

	// unresolved counts vary-on arguments that did not resolve;
	// unresolvedSeen holds the *arg of each one logged.
	unresolved     atomic.Uint64
	unresolvedSeen sync.Map

	stats      sync.Map      // fragment name (string, boxed) → *counters
	flights    sync.Map      // *cache.Cache → *flightGroup
	wait       time.Duration // Options.CoalescingWait
	digests    bool          // Options.TemplateDigests
	strictTags bool          // Options.StrictTags
	// stampede is Options.Stampede (nil: every fragment takes its cache's).
	stampede map[string]cache.Stampede
	static   StaticURLer // Options.Static

	// includes is the IncludeLoader of Options, or that of the first set
	// Install bound; installMu serializes Install.
	includes  atomic.Pointer[includeBinding]
	installMu sync.Mutex
}

// includeBinding is the include loader of a Fragments and, when Install
// made it, the set it reads.
type includeBinding struct {
	loader IncludeLoader
	set    *pongo2.TemplateSet // nil for Options.IncludeLoader
}

// counters are the statistics of one fragment name.
type counters struct {
	hits, misses, renders, storeSkips, errors atomic.Uint64
	waitTimeouts, waited, stale               atomic.Uint64
	unresolved                                atomic.Uint64
	lastLog                                   atomic.Int64 // Unix nanoseconds
}

// FragmentStats counts what the {% cache %} tags did for one fragment name
// (all templates and vary-on values together).
type FragmentStats struct {
	// Name is the fragment name as written in the tag (quotes kept).
	Name string
	// Hits counts renders served from the cache.
	Hits uint64
	// Misses counts cache lookups that found nothing.
	Misses uint64
	// Renders counts executions of the tag's body.
	Renders uint64
	// StoreSkips counts rendered bodies not stored because they were
	// larger than Options.MaxFragmentBytes.
	StoreSkips uint64
	// Errors counts cache backend errors (Get or Set); the page was still
	// rendered.
	Errors uint64
	// WaitTimeouts counts renders that stopped waiting for a concurrent
	// render of the same fragment (Options.CoalescingWait) and rendered the
	// body themselves, without storing it.
	WaitTimeouts uint64
	// Unresolved counts vary-on arguments that did not resolve (see
	// Options.StrictVaryOn), each keyed as the empty string.
	Unresolved uint64
	// Waited counts misses served with the fragment another process
	// rendered while this one waited for it (a lease, Options.Stampede);
	// Stale counts fragments served past their freshness, within their
	// grace, while another render re-rendered them.
	Waited, Stale uint64
}

// New returns a Fragments over reg. A nil registry or a negative
// MaxFragmentBytes is an error.
func New(reg *cache.Registry, opts Options) (*Fragments, error) {
	if reg == nil {
		return nil, errors.New("fragcache/tags: nil cache registry")
	}
	if opts.MaxFragmentBytes < 0 {
		return nil, errors.New("fragcache/tags: negative MaxFragmentBytes")
	}
	for name, s := range opts.Stampede {
		if err := s.Check(); err != nil {
			return nil, fmt.Errorf("fragcache/tags: Options.Stampede[%q]: %w", name, err)
		}
	}
	f := &Fragments{reg: reg, logger: opts.Logger, maxBytes: opts.MaxFragmentBytes, strict: opts.StrictVaryOn,
		wait: opts.CoalescingWait, stampede: maps.Clone(opts.Stampede), digests: opts.TemplateDigests, strictTags: opts.StrictTags,
		static: opts.Static}
	if opts.IncludeLoader != nil {
		f.includes.Store(&includeBinding{loader: opts.IncludeLoader})
	}
	if f.maxBytes == 0 {
		f.maxBytes = DefaultMaxFragmentBytes
	}
	return f, nil
}

// Install makes set's templates use f: it stores f in set.Globals under
// ContextKey (creating Globals if needed). It also gives the set's
// {% include name_variable %} tags a race-free loader: Options.IncludeLoader,
// or else SetIncludeLoader(set), which f keeps (no Globals key, so renders
// copy no extra value); when f is installed in a second set, that set gets
// its own SetIncludeLoader under IncludeLoaderKey, unless it has an
// IncludeLoader there already. Call it before rendering starts: pongo2
// reads Globals without a lock.
func (f *Fragments) Install(set *pongo2.TemplateSet) error {
	if f == nil {
		return errors.New("fragcache/tags: Install on a nil *Fragments")
	}
	if set == nil {
		return errors.New("fragcache/tags: nil template set")
	}
	if set.Globals == nil {
		set.Globals = pongo2.Context{}
	}
	set.Globals[ContextKey] = f
	f.installMu.Lock()
	defer f.installMu.Unlock()
	b := f.includes.Load()
	switch {
	case b == nil:
		f.includes.Store(&includeBinding{loader: SetIncludeLoader(set), set: set})
	case b.set != nil && b.set != set:
		if _, ok := set.Globals[IncludeLoaderKey].(IncludeLoader); !ok {
			set.Globals[IncludeLoaderKey] = SetIncludeLoader(set)
		}
	}
	return nil
}

// includeLoader returns f's IncludeLoader, or nil.
func (f *Fragments) includeLoader() IncludeLoader {
	if b := f.includes.Load(); b != nil {
		return b.loader
	}
	return nil
}

// Registry returns the registry f was built with.
func (f *Fragments) Registry() *cache.Registry { return f.reg }

// Stats returns the counters of every fragment name seen so far, sorted by
// name.
func (f *Fragments) Stats() []FragmentStats {
	var out []FragmentStats
	f.stats.Range(func(k, v any) bool {
		c := v.(*counters)
		out = append(out, FragmentStats{
			Name:         k.(string),
			Hits:         c.hits.Load(),
			Misses:       c.misses.Load(),
			Renders:      c.renders.Load(),
			StoreSkips:   c.storeSkips.Load(),
			WaitTimeouts: c.waitTimeouts.Load(),
			Errors:       c.errors.Load(),
			Unresolved:   c.unresolved.Load(),
			Waited:       c.waited.Load(),
			Stale:        c.stale.Load(),
		})
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// UnresolvedVaryOn returns how many times a {% cache %} vary-on argument
// did not resolve (see Options.StrictVaryOn), over all fragments; Stats
// has the count of each fragment name. Without StrictVaryOn, each was keyed
// as the empty string.
func (f *Fragments) UnresolvedVaryOn() uint64 { return f.unresolved.Load() }

// InvalidateFragment deletes the entry a {% cache %} tag without using=
// stores for the fragment name and vary-on values, from the cache the tag
// uses (the registry's Fragments cache: "template_fragments" if it exists,
// else "default"), and reports whether an entry was removed. The key is the
// one the tag writes, under the registry's KeyScheme: name is the fragment
// name as written in the tag (quotes kept), and vary holds the values the
// vary-on arguments resolve to (a missing template variable resolves to "",
// so pass "" for it, not nil, which stands for Python's None).
func (f *Fragments) InvalidateFragment(ctx context.Context, name string, vary ...any) (bool, error) {
	return f.reg.InvalidateFragment(ctx, name, vary...)
}

// InvalidateFragmentUsing is InvalidateFragment for a tag with
// using="alias": it deletes the entry from the cache of that alias.
func (f *Fragments) InvalidateFragmentUsing(ctx context.Context, alias, name string, vary ...any) (bool, error) {
	return f.reg.InvalidateFragmentIn(ctx, alias, name, vary...)
}

// InvalidateFragmentVariants deletes every variant of the fragment name
// (every vary-on value) from the cache a {% cache %} tag without using=
// stores it in, and returns how many entries it deleted. name is the
// fragment name as written in the tag. See
// cache.Cache.InvalidateFragmentVariants for what each backend finds: on
// Redis and the memory store every variant, those a Django process wrote
// included; on memcached and the file backend, the variants written
// through this package (indexed when stored).
func (f *Fragments) InvalidateFragmentVariants(ctx context.Context, name string) (int, error) {
	return f.reg.InvalidateFragmentVariants(ctx, name)
}

// InvalidateFragmentVariantsUsing is InvalidateFragmentVariants for tags
// with using="alias".
func (f *Fragments) InvalidateFragmentVariantsUsing(ctx context.Context, alias, name string) (int, error) {
	return f.reg.InvalidateFragmentVariantsIn(ctx, alias, name)
}

// PurgeTag deletes every fragment and page that declared the content tag
// ({% cachetag %}, cache.DeclareTags, a Surrogate-Key header) from every
// cache of the registry, in every process sharing them: see
// cache.Registry.PurgeTag.
func (f *Fragments) PurgeTag(ctx context.Context, tag string) (int, error) {
	return f.reg.PurgeTag(ctx, tag)
}

// counters returns the counters of a fragment name; key is the name boxed
// once at parse time, so that the lookup does not allocate.
func (f *Fragments) counters(key any) *counters {
	if c, ok := f.stats.Load(key); ok {
		return c.(*counters)
	}
	c, _ := f.stats.LoadOrStore(key, new(counters))
	return c.(*counters)
}

// stampedeOf returns the stampede protection of tag n's fragments in c:
// Options.Stampede's entry for its name, else c's.
func (f *Fragments) stampedeOf(n *cacheNode, c *cache.Cache) cache.Stampede {
	if len(f.stampede) > 0 {
		if s, ok := f.stampede[n.name]; ok {
			return s
		}
	}
	return c.Stampede()
}

// group returns the flight group of a cache.
func (f *Fragments) group(c *cache.Cache) *flightGroup {
	if g, ok := f.flights.Load(c); ok {
		return g.(*flightGroup)
	}
	g, _ := f.flights.LoadOrStore(c, newFlightGroup(c, f.wait))
	return g.(*flightGroup)
}

// backendError counts a backend error and logs it, at most once per
// fragment name per logInterval.
// A call the client abandoned (context.Canceled: the request's context
// ended) is not the backend's failure: it is logged at Debug level only,
// and not counted.
func (f *Fragments) backendError(st *counters, name, op string, key []byte, err error) {
	if errors.Is(err, context.Canceled) {
		if f.logger != nil {
			f.logger.Debug("fragcache: {% cache %} call abandoned: the request's context ended",
				slog.String("fragment", name), slog.String("op", op), slog.String("key", string(key)))
		}
		return
	}
	st.errors.Add(1)
	if f.logger == nil {
		return
	}
	now := time.Now().UnixNano()
	last := st.lastLog.Load()
	if now-last < int64(logInterval) || !st.lastLog.CompareAndSwap(last, now) {
		return
	}
	f.logger.Warn("fragcache: {% cache %} backend error; fragment rendered without the cache",
		slog.String("fragment", name),
		slog.String("op", op),
		slog.String("key", string(key)),
		slog.Any("error", err))
}
