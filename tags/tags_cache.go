package tags

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/internal/flight"
	"github.com/fragcache/fragcache/internal/pystr"
	"github.com/fragcache/fragcache/internal/timing"
)

// TagName is the name of the fragment cache tag: {% cache %} … {% endcache %}.
const TagName = "cache"

func init() {
	// pongo2 v6 keeps tags in a process-wide registry; this registration is
	// the package's only global state besides its sync.Pools. pongo2 itself
	// has no "cache" tag; if another package registered one first, ours
	// replaces it (templates parsed afterwards use this tag).
	if pongo2.RegisterTag(TagName, parseCacheTag) != nil {
		_ = pongo2.ReplaceTag(TagName, parseCacheTag)
	}
}

// Django's messages.
const (
	msgArgs     = "''cache'' tag requires at least 2 arguments."
	msgUnclosed = "Unclosed tag on line %d: 'cache'. Looking for one of: endcache."
	msgAlias    = "Invalid cache name specified for cache tag: "
	msgNoFrags  = "fragcache: {% cache %} used in a template set without tags.Fragments installed"
)

// cacheNode is a parsed {% cache timeout name vary… [using=alias] %}.
type cacheNode struct {
	start   *pongo2.Token
	body    *pongo2.NodeWrapper
	timeout arg
	// fixed is set when the timeout is a literal: t is then its value.
	fixed bool
	t     cache.Timeout
	name  string
	// nameKey is name boxed once, the key of the stats map.
	nameKey any
	vary    []arg
	using   *arg
	// bodyDigest is the digest of the body's tokens, and digest the
	// template digest built on it (digest.go).
	bodyDigest [16]byte
	digest     digestState
	// tagNodes are the {% cachetag %} nodes of the body (strict.go).
	tagNodes tagNodes
}

// parseCacheTag is the pongo2 TagParser of {% cache %}. It follows Django's
// do_cache: the body is parsed first (an unclosed tag is reported before a
// bad argument list), then the arguments are split into words as
// Token.split_contents() would.
func parseCacheTag(doc *pongo2.Parser, start *pongo2.Token, args *pongo2.Parser) (node pongo2.INodeTag, perr *pongo2.Error) {
	defer func() {
		if r := recover(); r != nil {
			node, perr = nil, tagError(args.Error(fmt.Sprintf("fragcache: panic parsing {%% cache %%}: %v", r), start))
		}
	}()
	// A character pongo2 cannot lex (a non-ASCII fragment name) ends its
	// tag early; say so rather than report a confusing unclosed tag.
	if perr := lexerBreak(args, start); perr != nil {
		return nil, perr
	}
	bodyFrom := doc.Count() - doc.Remaining()
	body, _, err := doc.WrapUntilTag("endcache")
	if err != nil {
		if err.OrigError != nil && err.OrigError.Error() == "Unexpected EOF, expected tag endcache." {
			// pongo2's message for a missing end tag; Django's names the
			// opening tag's line, so the error points there.
			return nil, tagError(&pongo2.Error{
				Template:  err.Template,
				Filename:  start.Filename,
				Line:      start.Line,
				Column:    start.Col,
				Token:     start,
				OrigError: fmt.Errorf(msgUnclosed, start.Line),
			})
		}
		return nil, err
	}
	// {% endcache anything %}: Django compares only the first word of the
	// end tag, so trailing words are accepted and ignored.

	words := splitWords(args)
	if len(words) < 2 {
		return nil, tagError(args.Error(msgArgs, start))
	}
	var using *word
	if len(words) > 2 && words[len(words)-1].isUsing() {
		using = &words[len(words)-1]
		words = words[:len(words)-1]
	}

	n := &cacheNode{start: start, body: body, bodyDigest: tokenDigest(doc, bodyFrom, doc.Count()-doc.Remaining())}
	// The timeout: an expression, resolved at render time.
	if n.timeout, perr = compileWord(args, words[0]); perr != nil {
		return nil, tagError(perr)
	}
	if n.timeout.kind == argConst {
		if t, msg := timeoutOf(n.timeout.lit); msg == "" {
			n.fixed, n.t = true, t
		}
	}
	// The fragment name: the word as written, never resolved (decoded if
	// PrepareSource encoded it).
	n.name = decodeName(words[1])
	n.nameKey = n.name
	args.ConsumeN(words[1].end - words[1].start)
	// The vary-on arguments.
	if len(words) > 2 {
		n.vary = make([]arg, 0, len(words)-2)
		for _, w := range words[2:] {
			a, perr := compileWord(args, w)
			if perr != nil {
				return nil, tagError(perr)
			}
			n.vary = append(n.vary, a)
		}
	}
	// using=: the text after "using=" is compiled as an expression.
	if using != nil {
		eq := using.toks[1]
		if eq.Val != "=" || len(using.toks) == 2 {
			after := using.text()[len("using="):]
			return nil, tagError(args.Error(fmt.Sprintf("Could not parse the remainder: '%s' from '%s'", after, after), eq))
		}
		args.ConsumeN(2)
		a, perr := compileWord(args, word{start: using.start + 2, end: using.end, toks: using.toks[2:]})
		if perr != nil {
			return nil, tagError(perr)
		}
		n.using = &a
	}
	if args.Remaining() > 0 { // cannot happen: every token belongs to a word
		return nil, tagError(args.Error("fragcache: unexpected {% cache %} argument", nil))
	}
	return n, nil
}

// Pools for the hit path.
var (
	keyPool  = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}
	varyPool = sync.Pool{New: func() any { s := make([]any, 0, 8); return &s }}
	bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}
)

// Pooled buffers larger than these are dropped rather than kept.
const (
	maxPooledKey  = 4 << 10
	maxPooledBody = 256 << 10
)

// Execute renders the tag, as Django's CacheNode.render: resolve the
// timeout, pick the cache, resolve the vary-on values, build the key, serve
// a hit as it is or render the body, store it and write it.
func (n *cacheNode) Execute(ec *pongo2.ExecutionContext, w pongo2.TemplateWriter) (perr *pongo2.Error) {
	defer func() {
		if r := recover(); r != nil {
			perr = n.errorf(ec, "fragcache: panic in {%% cache %%}: %v", r)
		}
	}()
	f, ok := ec.Public[ContextKey].(*Fragments)
	if !ok || f == nil {
		if v, present := ec.Public[ContextKey]; present && v != nil {
			return n.errorf(ec, "%s (%s holds a %T)", msgNoFrags, ContextKey, v)
		}
		return n.errorf(ec, "%s", msgNoFrags)
	}

	timeout := n.t
	if !n.fixed {
		v, perr := n.timeout.resolve(ec)
		if perr != nil {
			return perr
		}
		var msg string
		if timeout, msg = timeoutOf(v); msg != "" {
			return n.errorf(ec, "%s", msg)
		}
	}

	c, perr := n.cacheFor(ec, f)
	if perr != nil {
		return perr
	}

	vp := varyPool.Get().(*[]any)
	vary := (*vp)[:0]
	defer func() {
		clear(vary)
		*vp = vary[:0]
		varyPool.Put(vp)
	}()
	st := f.counters(n.nameKey)
	for i := range n.vary {
		v, perr := n.varyOn(ec, f, st, &n.vary[i])
		if perr != nil {
			return perr
		}
		vary = append(vary, varyValue(v))
	}
	if f.digests {
		d, err := n.templateDigest(f)
		if err != nil {
			return n.errorf(ec, "%v", err)
		}
		vary = append(vary, d)
	}

	kp := keyPool.Get().(*[]byte)
	key := cache.AppendFragmentKey((*kp)[:0], c.KeyScheme(), n.name, vary)
	defer func() {
		if cap(key) <= maxPooledKey {
			*kp = key[:0]
			keyPool.Put(kp)
		}
	}()

	rv := ec.Public[RequestContextKey] // the renderer's per-render value, if any
	rctx := contextOf(rv)
	rec := timing.From(rctx) // Server-Timing, when the page cache asks for it
	var start time.Time
	if rec != nil {
		start = time.Now()
	}
	if s := f.stampedeOf(n, c); s.On() {
		return n.executeStampede(ec, w, f, c, key, timeout, st, rctx, rv, rec, start, s)
	}
	if pf := prefetchFrom(rv); pf != nil {
		// Fetched ahead with the render's other fragments (prefetch.go).
		if l, known := pf.lookup(ec, f, n, c, key, cache.Stampede{}); known {
			if rec != nil {
				rec.Record("frag", n.name+outcomeOf(l.Hit), time.Since(start))
			}
			if l.Hit && !(f.strictTags && n.dropPurged(rctx, c, pf, key, l.Value)) {
				st.hits.Add(1)
				return n.write(ec, w, l.Value)
			}
			st.misses.Add(1)
			return n.miss(ec, w, f, c, key, timeout, st, rctx, cache.Stampede{})
		}
	}
	v, hit, err := c.GetKeyBytes(rctx, key)
	if rec != nil {
		rec.Record("frag", n.name+outcomeOf(hit && err == nil), time.Since(start))
	}
	switch {
	case err != nil:
		return n.renderUncached(ec, w, f, st, key, err)
	case hit && !(f.strictTags && n.dropPurged(rctx, c, nil, key, v)):
		st.hits.Add(1)
		return n.write(ec, w, v)
	}
	st.misses.Add(1)
	return n.miss(ec, w, f, c, key, timeout, st, rctx, cache.Stampede{})
}

// dropPurged reports whether the stored fragment v was stored before a
// purge of one of its tags (Options.StrictTags), and then deletes it, so
// that the render that follows stores it anew.
func (n *cacheNode) dropPurged(ctx context.Context, c *cache.Cache, pf *Prefetch, key, v []byte) bool {
	if !purged(ctx, c, pf, v) {
		return false
	}
	_, _ = c.Delete(ctx, string(key))
	return true
}

// outcomeOf is the Server-Timing description's suffix of a lookup.
func outcomeOf(hit bool) string {
	if hit {
		return " hit"
	}
	return " miss"
}

// renderUncached renders the body without the cache, after the backend
// failed a read (and is not tried again for a store).
func (n *cacheNode) renderUncached(ec *pongo2.ExecutionContext, w pongo2.TemplateWriter, f *Fragments, st *counters, key []byte, err error) *pongo2.Error {
	f.backendError(st, n.name, "get", key, err)
	body, perr := n.render(ec, st)
	if perr != nil {
		return perr
	}
	return n.write(ec, w, body)
}

// executeStampede is Execute's lookup under stampede protection s: the
// fragment is read with its freshness (grace, early expiry) in one round
// trip, prefetched or not; a fresh hit is written, a stale or early one
// is re-rendered by the render that takes the lease and served to the
// others (cache.Cache.Fill), and a miss goes to miss.
func (n *cacheNode) executeStampede(ec *pongo2.ExecutionContext, w pongo2.TemplateWriter, f *Fragments, c *cache.Cache,
	key []byte, timeout cache.Timeout, st *counters, rctx context.Context, rv any, rec *timing.Recorder, start time.Time, s cache.Stampede) *pongo2.Error {
	var l cache.Lookup
	known := false
	if pf := prefetchFrom(rv); pf != nil {
		l, known = pf.lookup(ec, f, n, c, key, s)
	}
	if !known {
		var err error
		if l, err = c.GetEntryKeyBytes(rctx, key, s); err != nil {
			if rec != nil {
				rec.Record("frag", n.name+" miss", time.Since(start))
			}
			return n.renderUncached(ec, w, f, st, key, err)
		}
	}
	if rec != nil {
		outcome := outcomeOf(l.Hit)
		if l.Stale {
			outcome = " stale"
		}
		rec.Record("frag", n.name+outcome, time.Since(start))
	}
	if !l.Hit || f.strictTags && n.dropPurged(rctx, c, prefetchFrom(rv), key, l.Value) {
		st.misses.Add(1)
		return n.miss(ec, w, f, c, key, timeout, st, rctx, s)
	}
	st.hits.Add(1)
	if !l.Refresh() {
		return n.write(ec, w, l.Value)
	}
	if _, nested := lookup(ec, nestedKey); nested {
		s.Lease = false // see miss: a nested tag never waits
	}
	v, src, err := c.Fill(rctx, string(key), l, s, timeout, n.compute(ec, f, st, c, key, timeout, s))
	if err != nil {
		return renderError(err)
	}
	if src == cache.FromStale {
		st.stale.Add(1)
	}
	return n.write(ec, w, v)
}

// compute returns the cache.Compute rendering the tag's body: stored
// unless larger than MaxFragmentBytes; a render error comes back as a
// *renderErr.
func (n *cacheNode) compute(ec *pongo2.ExecutionContext, f *Fragments, st *counters, c *cache.Cache, key []byte, timeout cache.Timeout, s cache.Stampede) cache.Compute {
	return func(ctx context.Context) (cache.Computed, error) {
		body, perr := n.render(ec, st)
		if perr != nil {
			return cache.Computed{}, &renderErr{perr}
		}
		if len(body) > f.maxBytes {
			st.storeSkips.Add(1)
			return cache.Computed{Value: body}, nil
		}
		if f.strictTags {
			body = stamp(ctx, c, body)
		}
		n.indexTags(f, st, c, key, body, timeout, s, ctx)
		return cache.Computed{Value: body, Store: true}, nil
	}
}

// renderErr carries a render error through cache.Fill.
type renderErr struct{ perr *pongo2.Error }

func (e *renderErr) Error() string { return e.perr.Error() }

// renderError returns the render error of a failed Fill (a render error,
// or the request's context ending while waiting).
func renderError(err error) *pongo2.Error {
	if re, ok := err.(*renderErr); ok {
		return re.perr
	}
	return tagError(&pongo2.Error{Sender: "tag:cache", OrigError: err})
}

// miss renders the body, stores it and writes it. Concurrent misses of one
// key in one Fragments render the body once and share it (single-flight;
// a waiting render gives up after Options.CoalescingWait and renders
// alone, without storing), except inside the body of another fragment
// being rendered: there a nested
// tag renders on its own, so that a fragment nested in one with the same key,
// or two templates nesting two fragments in opposite orders, cannot wait on
// themselves.
func (n *cacheNode) miss(ec *pongo2.ExecutionContext, w pongo2.TemplateWriter, f *Fragments, c *cache.Cache,
	key []byte, timeout cache.Timeout, st *counters, rctx context.Context, s cache.Stampede) *pongo2.Error {
	if _, nested := lookup(ec, nestedKey); nested {
		s.Lease = false // a nested tag never waits, for a lease neither
		body, perr := n.renderStore(ec, f, c, key, timeout, st, rctx, s)
		if perr != nil {
			return perr
		}
		return n.write(ec, w, body)
	}
	g := f.group(c)
	fl, leader := g.Join(string(key))
	if leader {
		body, perr := n.lead(ec, f, c, g, fl, key, timeout, st, rctx, s)
		if perr != nil {
			return perr
		}
		return n.write(ec, w, body)
	}
	var waitOver <-chan time.Time
	wait := g.wait
	if s.Lease {
		// The leader may wait that long for another process's render
		// (lead): wait for it a little longer.
		wait = f.leaseWait(s) + leaseWaitSlack
	}
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		waitOver = t.C
	}
	select {
	case <-fl.Done():
		if res := fl.Result(); res.err == nil {
			return n.write(ec, w, res.body)
		}
		// The leader's render failed with another request's data: render
		// with ours, so that the error (if any) is this render's.
		s.Lease = false
		body, perr := n.renderStore(ec, f, c, key, timeout, st, rctx, s)
		if perr != nil {
			return perr
		}
		return n.write(ec, w, body)
	case <-waitOver:
		// The leader is slow, or stuck on a slow cache: render alone and
		// leave storing to it.
		st.waitTimeouts.Add(1)
		body, perr := n.render(ec, st)
		if perr != nil {
			return perr
		}
		return n.write(ec, w, body)
	}
}

// leaseWaitSlack is how much longer than the lease wait (leaseWait) a
// render waits for its process's leader when that leader may itself be
// waiting for another process's render for the lease wait.
const leaseWaitSlack = 100 * time.Millisecond

// leaseWait returns how long the leader of a flight waits for another
// process's render under the lease of s: s.Wait, else
// Options.CoalescingWait when positive, else the lease TTL (cache.Stampede's
// own default); at most the lease TTL. The coalescing wait's default (the
// cache's operation timeout, 100ms behind the fail-open wrapper) bounds a
// wait on a slow cache: shorter than many renders, it would make every
// process render a fragment that one process is rendering.
func (f *Fragments) leaseWait(s cache.Stampede) time.Duration {
	ttl := s.LeaseTTL
	if ttl <= 0 {
		ttl = cache.DefaultLeaseTTL
	}
	w := s.Wait
	if w <= 0 {
		w = f.wait
	}
	if w <= 0 || w > ttl {
		w = ttl
	}
	return w
}

// lead renders and stores the body as the leader of a flight, and hands
// the result to the renders waiting for it. Under stampede protection
// with a lease, the leader of each process competes for the lease across
// processes (cache.Cache.Fill): one renders, the others wait for its
// fragment.
func (n *cacheNode) lead(ec *pongo2.ExecutionContext, f *Fragments, c *cache.Cache, g *flightGroup, fl *flight.Flight[rendered],
	key []byte, timeout cache.Timeout, st *counters, rctx context.Context, s cache.Stampede) (body []byte, perr *pongo2.Error) {
	defer func() { g.Finish(string(key), fl, rendered{body, perr}) }()
	if s.Lease {
		s.Wait = f.leaseWait(s)
		v, src, err := c.Fill(rctx, string(key), cache.Lookup{}, s, timeout, n.compute(ec, f, st, c, key, timeout, s))
		if err != nil {
			return nil, renderError(err)
		}
		switch src {
		case cache.FromWait:
			st.waited.Add(1)
		case cache.FromAlone:
			st.waitTimeouts.Add(1)
		}
		return v, nil
	}
	// Another flight may have stored the fragment since our lookup.
	if v, hit, err := c.GetKeyBytes(rctx, key); err == nil && hit {
		return v, nil
	}
	return n.renderStore(ec, f, c, key, timeout, st, rctx, s)
}

// renderStore renders the body and stores it (with its freshness under
// s) unless it is too large.
func (n *cacheNode) renderStore(ec *pongo2.ExecutionContext, f *Fragments, c *cache.Cache,
	key []byte, timeout cache.Timeout, st *counters, rctx context.Context, s cache.Stampede) ([]byte, *pongo2.Error) {
	start := time.Now()
	body, perr := n.render(ec, st)
	if perr != nil {
		return nil, perr
	}
	if len(body) > f.maxBytes {
		st.storeSkips.Add(1)
		return body, nil
	}
	if f.strictTags {
		body = stamp(rctx, c, body)
	}
	if err := c.SetEntry(rctx, string(key), body, timeout, s, time.Since(start)); err != nil {
		f.backendError(st, n.name, "set", key, err)
		return body, nil
	}
	n.indexTags(f, st, c, key, body, timeout, s, rctx)
	return body, nil
}

// indexTags indexes a stored fragment under the content tags stored with
// it, for cache.PurgeTag, for as long as it lives (its grace included).
func (n *cacheNode) indexTags(f *Fragments, st *counters, c *cache.Cache, key, stored []byte, timeout cache.Timeout, s cache.Stampede, rctx context.Context) {
	_, tags := splitTags(stored)
	if tags == "" {
		return
	}
	if timeout == cache.DefaultTimeout {
		timeout = c.DefaultTimeout()
	}
	if g := cache.Duration(s.Grace); s.Grace > 0 && timeout > 0 && timeout < cache.Forever-g {
		timeout += g
	}
	if err := c.IndexTags(rctx, string(key), strings.Fields(tags), timeout); err != nil {
		f.backendError(st, n.name, "index", key, err)
	}
}

// render executes the body into a new slice, in a child context (so that a
// {% set %} in the body does not leak out on a miss when it cannot on a
// hit). A failing body writes and stores nothing.
func (n *cacheNode) render(ec *pongo2.ExecutionContext, st *counters) (body []byte, perr *pongo2.Error) {
	st.renders.Add(1)
	buf := bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if r := recover(); r != nil {
			body, perr = nil, n.errorf(ec, "fragcache: panic rendering the {%% cache %%} body: %v", r)
		}
		if buf.Cap() <= maxPooledBody {
			bodyPool.Put(buf)
		}
	}()
	child := pongo2.NewChildExecutionContext(ec)
	child.Private[nestedKey] = true
	set := cache.NewTagSet(tagSetOf(ec))
	child.Private[tagSetKey] = set
	if perr := n.body.Execute(child, buf); perr != nil {
		// Errors of filters and some tags carry no file name (or no
		// position at all): the body belongs to the tag's template.
		if perr.Filename == "" {
			perr.Filename = n.start.Filename
		}
		if perr.Line <= 0 {
			perr.Line, perr.Column, perr.Token = n.start.Line, n.start.Col, n.start
		}
		return nil, perr
	}
	if tags := set.Tags(); len(tags) > 0 {
		return withTags(buf.Bytes(), tags), nil
	}
	return bytes.Clone(buf.Bytes()), nil
}

// write writes a fragment as stored (or rendered), declaring the content
// tags stored with it (tags_cachetag.go) for what encloses it.
func (n *cacheNode) write(ec *pongo2.ExecutionContext, w pongo2.TemplateWriter, b []byte) *pongo2.Error {
	if len(b) > 0 && b[0] == 0 {
		body, tags := splitTags(b)
		if tags != "" {
			if set := tagSetOf(ec); set != nil {
				set.Add(strings.Fields(tags)...)
			}
		}
		b = body
	}
	if _, err := w.Write(b); err != nil {
		return tagError(ec.OrigError(err, n.start))
	}
	return nil
}

// cacheFor returns the cache of the tag: the using= alias, resolved on
// every render, or the registry's fragments cache.
func (n *cacheNode) cacheFor(ec *pongo2.ExecutionContext, f *Fragments) (*cache.Cache, *pongo2.Error) {
	if n.using == nil {
		c, err := f.reg.Fragments()
		if err != nil {
			return nil, tagError(ec.OrigError(err, n.start))
		}
		return c, nil
	}
	v, perr := n.using.resolve(ec)
	if perr != nil {
		return nil, perr
	}
	v = varyValue(v)
	if alias, ok := v.(string); ok {
		if c, err := f.reg.Cache(alias); err == nil {
			return c, nil
		}
	}
	return nil, n.errorf(ec, "%s%s", msgAlias, pystr.Repr(v))
}

// varyValue maps a resolved argument to the Python value Django would have:
// a missing variable is the empty string and the literal None is None.
func varyValue(v any) any {
	switch v.(type) {
	case nil:
		return ""
	case pyNone:
		return nil
	}
	return v
}

// requestContext returns the request's context passed by the renderer
// under RequestContextKey, or context.Background().
func requestContext(ec *pongo2.ExecutionContext) context.Context {
	return contextOf(ec.Public[RequestContextKey])
}

// contextOf is requestContext of the value under RequestContextKey.
func contextOf(v any) context.Context {
	if ctx, ok := v.(context.Context); ok && ctx != nil {
		return ctx
	}
	return context.Background()
}

// errorf returns a render error at the tag's position.
func (n *cacheNode) errorf(ec *pongo2.ExecutionContext, format string, a ...any) *pongo2.Error {
	return tagError(ec.Error(fmt.Sprintf(format, a...), n.start))
}
