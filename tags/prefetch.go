package tags

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"sync"
	"time"
	"unsafe"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
)

// This file fetches, with one multi-get per cache, the {% cache %} fragments
// a render will need, as Rails renders a collection of cached partials.
//
// pongo2 v6 exposes no parsed tree, so PlanPrefetch walks a parsed template
// with reflection (as DjangoNames does), once, after parsing: it records
// the {% cache %} tags that run in the render's top-level context (in the
// template, the templates it extends, the blocks that run — a block
// defined again lower in the {% extends %} chain is left out, unless the
// chain reads {{ block.super }} — and the templates it includes by a
// literal name) and those directly in a {% for %} loop (at
// any depth of {% if %}, {% with %} or a literal {% include %} inside the
// loop, but not inside another fragment's body: those run only on a miss).
// It wraps each such loop's sequence expression so that a render
// remembers the sequence the loop evaluated.
//
// Caches served in process (cache.InProcess: memory, file, dummy) and
// caches with a near cache (Redis with near_cache=1, memcached with
// local_ttl=) are not prefetched: their hits cost no round trip, and a
// batch would only add work.
//
// At run time, the first {% cache %} tag a render executes computes the
// keys of every recorded top-level tag, and of the tags of every top-level
// loop whose sequence is a plain variable holding a list or a map (not a
// callable: it is read again here, and must give what the loop reads), and
// fetches them with one GetMany per cache. The first tag executed in each
// other loop does the same for the loop's items, from the sequence the loop
// evaluated, fetching only keys not fetched yet. Each tag then computes
// its key as it always does and takes the fetched result when there is one
// for exactly that key; anything else is read as before. A key computed
// ahead for a context the tag will not see (a {% with %} rebinding a name,
// an overridden block) is fetched for nothing, never used: the output is
// the same with and without prefetching. Vary-on arguments are evaluated
// once more to compute the keys ahead, as they are pure in practice; one
// that does not resolve is keyed as Django keys it (the empty string),
// without the warning, which the tag itself gives.

// Plan is what PlanPrefetch found in a parsed template: the {% cache %}
// tags whose keys a render can compute ahead. The zero Plan fetches
// nothing. A Plan is immutable and safe for concurrent use.
type Plan struct {
	top    []*cacheNode             // tags in the render's top-level context
	loops  []*loopPlan              // top-level loops (parent nil) with tags
	loopOf map[*cacheNode]*loopPlan // the loop each loop tag runs in
}

// Tags returns how many {% cache %} tags the plan covers.
func (p *Plan) Tags() int {
	if p == nil {
		return 0
	}
	return len(p.top) + len(p.loopOf)
}

// Fragments returns the names of the fragments the plan covers: those of
// the top-level context (in the template's order) and those in loops
// (sorted); a name appears once per tag.
func (p *Plan) Fragments() (top, inLoops []string) {
	if p == nil {
		return nil, nil
	}
	for _, n := range p.top {
		top = append(top, n.name)
	}
	seen := map[*loopPlan]bool{}
	for _, lp := range p.loopOf {
		if !seen[lp] {
			seen[lp] = true
			for _, n := range lp.tags {
				inLoops = append(inLoops, n.name)
			}
		}
	}
	sort.Strings(inLoops)
	return top, inLoops
}

// loopPlan is a {% for %} loop with {% cache %} tags in its body.
type loopPlan struct {
	key, value string // the loop's variable names (value for "k, v in map")
	ident      string // the sequence, when it is a plain variable name
	parent     *loopPlan
	tags       []*cacheNode
}

// PlanPrefetch walks tpl (and the templates it extends or includes by a
// literal name) and returns its Plan. It also wraps the sequence
// expression of each {% for %} loop holding {% cache %} tags, so that
// renders with a Prefetch remember what the loop iterates: call it once,
// after parsing (and after DjangoNames) and before the first render, as
// render.Renderer does; it is not safe concurrently with renders of tpl.
// It relies on pongo2 v6.0.0's parsed templates (read with reflection),
// and returns an error, changing nothing, if their layout differs.
func PlanPrefetch(tpl *pongo2.Template) (plan *Plan, err error) {
	if tpl == nil {
		return nil, fmt.Errorf("fragcache/tags: PlanPrefetch of a nil template")
	}
	if err := checkForLayout(); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			plan, err = nil, fmt.Errorf("fragcache/tags: PlanPrefetch: unexpected pongo2 template structure: %v", r)
		}
	}()
	p := &planner{plan: &Plan{loopOf: map[*cacheNode]*loopPlan{}}, seen: map[visit]bool{}, over: map[uintptr]map[string]bool{}}
	p.walk(reflect.ValueOf(tpl), nil)
	return p.plan, nil
}

var (
	typeOfCacheNode = reflect.TypeOf((*cacheNode)(nil))
	typeOfTemplate  = reflect.TypeOf((*pongo2.Template)(nil))
	typeOfEvaluator = reflect.TypeOf((*pongo2.IEvaluator)(nil)).Elem()
	// forLayout is pongo2 v6.0.0's tagForNode, as read with reflection.
	forLayout struct {
		t               reflect.Type // tagForNode (the struct)
		key, value, seq int
		body, empty     int
		tplTokens       int // Template.tokens
	}
)

// checkForLayout finds pongo2's tagForNode and its fields (once); it fails
// if they are not those of pongo2 v6.0.0.
var checkForLayout = sync.OnceValue(func() error {
	set := pongo2.NewSet("fragcache/prefetch-probe", noLoader{})
	tpl, err := set.FromString("{% for a, b in c %}x{% empty %}y{% endfor %}")
	if err != nil {
		return fmt.Errorf("fragcache/tags: probing pongo2: %w", err)
	}
	root := reflect.ValueOf(tpl).Elem().FieldByName("root")
	if !root.IsValid() || root.Kind() != reflect.Pointer {
		return fmt.Errorf("fragcache/tags: pongo2's Template has no root node")
	}
	nodes := root.Elem().FieldByName("Nodes")
	if !nodes.IsValid() || nodes.Len() != 1 {
		return fmt.Errorf("fragcache/tags: pongo2's document layout changed")
	}
	n := nodes.Index(0)
	if n.Kind() == reflect.Interface {
		n = n.Elem()
	}
	if n.Kind() != reflect.Pointer || n.Elem().Type().Name() != "tagForNode" {
		return fmt.Errorf("fragcache/tags: pongo2's {%% for %%} node is a %v", n.Type())
	}
	t := n.Elem().Type()
	field := func(name string, kind reflect.Kind) (int, error) {
		f, ok := t.FieldByName(name)
		if !ok || f.Type.Kind() != kind || len(f.Index) != 1 {
			return 0, fmt.Errorf("fragcache/tags: pongo2's tagForNode.%s changed", name)
		}
		return f.Index[0], nil
	}
	l := &forLayout
	l.t = t
	for _, f := range []struct {
		name string
		kind reflect.Kind
		dst  *int
	}{{"key", reflect.String, &l.key}, {"value", reflect.String, &l.value}, {"objectEvaluator", reflect.Interface, &l.seq},
		{"bodyWrapper", reflect.Pointer, &l.body}, {"emptyWrapper", reflect.Pointer, &l.empty}} {
		if *f.dst, err = field(f.name, f.kind); err != nil {
			return err
		}
	}
	if t.Field(l.seq).Type != typeOfEvaluator {
		return fmt.Errorf("fragcache/tags: pongo2's tagForNode.objectEvaluator is a %v", t.Field(l.seq).Type)
	}
	fn := n.Elem()
	if fn.Field(l.key).String() != "a" || fn.Field(l.value).String() != "b" {
		return fmt.Errorf("fragcache/tags: pongo2's tagForNode keeps its names elsewhere")
	}
	tt, ok := typeOfTemplate.Elem().FieldByName("tokens")
	if !ok || tt.Type != reflect.TypeOf([]*pongo2.Token(nil)) {
		return fmt.Errorf("fragcache/tags: pongo2's Template.tokens changed")
	}
	l.tplTokens = tt.Index[0]
	for name, kind := range map[string]reflect.Kind{"parent": reflect.Pointer, "child": reflect.Pointer, "blocks": reflect.Map} {
		if f, ok := typeOfTemplate.Elem().FieldByName(name); !ok || f.Type.Kind() != kind {
			return fmt.Errorf("fragcache/tags: pongo2's Template.%s changed", name)
		}
	}
	return nil
})

// planner walks a parsed template for PlanPrefetch.
type planner struct {
	plan   *Plan
	seen   map[visit]bool
	tokens []*pongo2.Token             // those of the template being walked
	over   map[uintptr]map[string]bool // a template → its overridden blocks
}

// walk visits v in the loop frame (nil: the top-level context).
func (p *planner) walk(v reflect.Value, frame *loopPlan) {
	switch v.Kind() {
	case reflect.Pointer:
		if !firstVisit(p.seen, v) {
			return
		}
		switch t := v.Type(); {
		case t == typeOfCacheNode:
			n := (*cacheNode)(unsafe.Pointer(v.Pointer()))
			if frame == nil {
				p.plan.top = append(p.plan.top, n)
			} else {
				frame.tags = append(frame.tags, n)
				p.plan.loopOf[n] = frame
			}
			return // its body runs only on a miss
		case t == typeOfTemplate:
			saved := p.tokens
			p.tokens, _ = writable(v.Elem().Field(forLayout.tplTokens)).Interface().([]*pongo2.Token)
			p.template(v, frame)
			p.tokens = saved
			return
		case t.Elem() == forLayout.t:
			p.loop(v.Elem(), frame)
			return
		}
		p.walk(v.Elem(), frame)
	case reflect.Struct:
		if v.Type() == typeOfReflect {
			return
		}
		for i := 0; i < v.NumField(); i++ {
			p.walk(writable(v.Field(i)), frame)
		}
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return
		}
		for i := 0; i < v.Len(); i++ {
			p.walk(writable(v.Index(i)), frame)
		}
	case reflect.Map:
		if v.IsNil() || v.Type().Elem().Kind() == reflect.String {
			return
		}
		iter := v.MapRange()
		for iter.Next() {
			e := iter.Value()
			if e.Kind() == reflect.Interface && !e.IsNil() {
				e = e.Elem()
			}
			if e.Kind() == reflect.Pointer {
				p.walk(e, frame)
			}
		}
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		if e := v.Elem(); e.Kind() == reflect.Pointer {
			p.walk(e, frame)
		}
	}
}

// template walks a parsed template (v, a *pongo2.Template). Its blocks
// are walked only where they run: a block that a template lower in the
// {% extends %} chain (nearer the rendered one) defines again is replaced
// by that definition, unless a template of the chain reads {{ block.super }}.
// The template that extends it (its child) is not walked from here.
func (p *planner) template(v reflect.Value, frame *loopPlan) {
	ptr := v.Pointer()
	if _, ok := p.over[ptr]; !ok {
		p.chain(v)
	}
	tv := v.Elem()
	tt := tv.Type()
	for i := 0; i < tv.NumField(); i++ {
		switch tt.Field(i).Name {
		case "child":
			continue
		case "blocks":
			m := tv.Field(i)
			if m.Kind() != reflect.Map || m.IsNil() {
				continue
			}
			iter := m.MapRange()
			for iter.Next() {
				if iter.Key().Kind() == reflect.String && p.over[ptr][iter.Key().String()] {
					continue
				}
				if e := iter.Value(); e.Kind() == reflect.Pointer {
					p.walk(e, frame)
				}
			}
			continue
		}
		p.walk(writable(tv.Field(i)), frame)
	}
}

// chain records, for each template of the {% extends %} chain that starts
// at v (a *pongo2.Template), the blocks that templates before it in the
// chain define again (none when a template of the chain reads
// {{ block.super }}, which runs the overridden definitions too).
func (p *planner) chain(v reflect.Value) {
	var tpls []reflect.Value
	super := false
	for t := v; t.IsValid() && t.Kind() == reflect.Pointer && !t.IsNil(); t = t.Elem().FieldByName("parent") {
		if _, done := p.over[t.Pointer()]; done || len(tpls) > 100 {
			break
		}
		tpls = append(tpls, t)
		toks, _ := writable(t.Elem().Field(forLayout.tplTokens)).Interface().([]*pongo2.Token)
		for i := 0; i+2 < len(toks); i++ {
			if toks[i].Typ == pongo2.TokenIdentifier && toks[i].Val == "block" && toks[i+1].Val == "." && toks[i+2].Val == "super" {
				super = true
			}
		}
	}
	defined := map[string]bool{}
	for _, t := range tpls {
		over := map[string]bool{}
		if !super {
			for k := range defined {
				over[k] = true
			}
		}
		p.over[t.Pointer()] = over
		if m := t.Elem().FieldByName("blocks"); m.IsValid() && m.Kind() == reflect.Map {
			for _, k := range m.MapKeys() {
				if k.Kind() == reflect.String {
					defined[k.String()] = true
				}
			}
		}
	}
}

// loop records a {% for %} node (fn, the tagForNode struct) and walks its
// body and {% empty %} branch in its frame. A loop with {% cache %} tags
// gets its sequence wrapped in a memoSeq.
func (p *planner) loop(fn reflect.Value, frame *loopPlan) {
	l := &forLayout
	lp := &loopPlan{key: fn.Field(l.key).String(), value: fn.Field(l.value).String(), parent: frame}
	seqField := writable(fn.Field(l.seq))
	seq, _ := seqField.Interface().(pongo2.IEvaluator)
	if m, ok := seq.(*memoSeq); ok { // planned before
		seq = m.inner
	}
	lp.ident = p.plainIdent(seq)
	p.walk(writable(fn.Field(l.body)), lp)
	p.walk(writable(fn.Field(l.empty)), lp)
	p.walk(seqField, frame) // its own arguments run in the outer frame
	if len(lp.tags) == 0 {
		return
	}
	if seq != nil {
		seqField.Set(reflect.ValueOf(pongo2.IEvaluator(&memoSeq{inner: seq, loop: lp})))
	}
	if frame == nil {
		p.plan.loops = append(p.plan.loops, lp)
	}
}

// plainIdent returns the name of a sequence expression that is a single
// identifier ({% for x in items %}, reversed or sorted), else "". It reads
// the template's tokens: the expression's first token, then the end of the
// tag or reversed/sorted.
func (p *planner) plainIdent(seq pongo2.IEvaluator) string {
	if seq == nil {
		return ""
	}
	tok := seq.GetPositionToken()
	if tok == nil || tok.Typ != pongo2.TokenIdentifier {
		return ""
	}
	for i, t := range p.tokens {
		if t != tok {
			continue
		}
		j := i + 1
		for j < len(p.tokens) && p.tokens[j].Typ == pongo2.TokenIdentifier && (p.tokens[j].Val == "reversed" || p.tokens[j].Val == "sorted") {
			j++
		}
		if j < len(p.tokens) && p.tokens[j].Typ == pongo2.TokenSymbol && p.tokens[j].Val == "%}" {
			return tok.Val
		}
		return ""
	}
	return ""
}

// memoSeq is a {% for %} loop's sequence expression, wrapped by
// PlanPrefetch: it evaluates it as before and, in a render with a
// Prefetch, remembers the result for the loop's first {% cache %} tag.
type memoSeq struct {
	inner pongo2.IEvaluator
	loop  *loopPlan
}

// Evaluate implements pongo2.IEvaluator.
func (m *memoSeq) Evaluate(ec *pongo2.ExecutionContext) (*pongo2.Value, *pongo2.Error) {
	v, err := m.inner.Evaluate(ec)
	if err == nil {
		if pf := prefetchOf(ec); pf != nil {
			// The loop registered its forloop before evaluating its
			// sequence: that value names this run of the loop.
			if inst, ok := ec.Private["forloop"]; ok && inst != nil {
				if pf.seqs == nil {
					pf.seqs = map[any]*pongo2.Value{}
				}
				pf.seqs[inst] = v
			}
		}
	}
	return v, err
}

// Execute implements pongo2.INode.
func (m *memoSeq) Execute(ec *pongo2.ExecutionContext, w pongo2.TemplateWriter) *pongo2.Error {
	return m.inner.Execute(ec, w)
}

// GetPositionToken implements pongo2.IEvaluator.
func (m *memoSeq) GetPositionToken() *pongo2.Token { return m.inner.GetPositionToken() }

// FilterApplied implements pongo2.IEvaluator.
func (m *memoSeq) FilterApplied(name string) bool { return m.inner.FilterApplied(name) }

// PrefetchSource is implemented by the value a renderer puts in the render
// context under RequestContextKey when it prefetches fragments (the
// render.Renderer's per-render state): FragmentPrefetch returns the
// render's Prefetch.
type PrefetchSource interface {
	FragmentPrefetch() *Prefetch
}

// Prefetch is one render's prefetched fragments: a renderer keeps one per
// render, set up with Use, and hands it to the {% cache %} tags through
// PrefetchSource. Its zero value fetches nothing. It is used by one render
// at a time (a render runs on one goroutine).
type Prefetch struct {
	plan    *Plan
	started bool
	got     map[*cache.Cache]map[string]prefetched
	seqs    map[any]*pongo2.Value // a loop's run → its sequence
	done    map[any]bool          // loop runs whose keys were fetched
	keyBuf  []byte
	vary    []any
}

// prefetched is the result of a prefetched key.
type prefetched struct {
	v     []byte
	fresh []byte // its freshness, when read (cache.Stampede.Sides)
	hit   bool
}

// Use makes p prefetch what plan covers (nil: nothing).
func (p *Prefetch) Use(plan *Plan) { p.plan = plan }

// prefetchOf returns the render's Prefetch, or nil.
func prefetchOf(ec *pongo2.ExecutionContext) *Prefetch {
	return prefetchFrom(ec.Public[RequestContextKey])
}

// prefetchFrom is prefetchOf of the value under RequestContextKey.
func prefetchFrom(v any) *Prefetch {
	if v == nil {
		return nil
	}
	ps, ok := v.(PrefetchSource)
	if !ok {
		return nil
	}
	pf := ps.FragmentPrefetch()
	if pf == nil || pf.plan == nil {
		return nil
	}
	return pf
}

// lookup returns the prefetched result of key on c for tag n, fetching
// what the render's plan covers first (at the render's first tag, and at
// the first tag of each loop run). known is false when key was not
// prefetched: read it as usual.
//
// Under stampede protection s, the fragment's freshness was read in the
// same batch and the Lookup says whether it is stale or due early.
func (p *Prefetch) lookup(ec *pongo2.ExecutionContext, f *Fragments, n *cacheNode, c *cache.Cache, key []byte, s cache.Stampede) (l cache.Lookup, known bool) {
	if c.InProcess() || c.Near() {
		// An in-process store, or a near cache: its hits cost no round
		// trip, and a batch would only add work.
		return l, false
	}
	if !p.started {
		p.started = true
		p.fetchTop(ec, f)
	}
	if lp := p.plan.loopOf[n]; lp != nil {
		if inst, ok := ec.Private["forloop"]; ok && inst != nil && !p.done[inst] {
			if p.done == nil {
				p.done = map[any]bool{}
			}
			p.done[inst] = true
			if seq := p.seqs[inst]; seq != nil {
				p.fetchLoop(ec, f, lp, seq)
			}
		}
	}
	m := p.got[c]
	if m == nil {
		return l, false
	}
	e, ok := m[string(key)]
	if !ok {
		return l, false
	}
	if !e.hit {
		// A miss is used once: the tag now renders and stores the
		// fragment, which a later tag with the same key must find.
		delete(m, string(key))
		return l, true
	}
	if !s.Sides() {
		return cache.Lookup{Value: e.v, Hit: true}, true
	}
	l = cache.Judge(e.v, e.fresh, s, time.Now())
	if l.Refresh() {
		// A refresh stores a new value: a later tag reads it.
		delete(m, string(key))
	}
	return l, true
}

// batch collects keys to fetch, per cache (mostly one).
type batch []cacheKeys

type cacheKeys struct {
	c    *cache.Cache
	keys []string
	// judged are the keys read with their freshness (cache.Stampede.Sides).
	judged []string
}

// add appends key for c, to be read with its freshness if fresh.
func (b *batch) add(c *cache.Cache, key string, fresh bool) {
	i := 0
	for i < len(*b) && (*b)[i].c != c {
		i++
	}
	if i == len(*b) {
		*b = append(*b, cacheKeys{c: c})
	}
	ck := &(*b)[i]
	ck.keys = append(ck.keys, key)
	if fresh {
		ck.judged = append(ck.judged, key)
	}
}

// has reports whether key is in b for c.
func (b batch) has(c *cache.Cache, key string) bool {
	for _, ck := range b {
		if ck.c == c {
			return slices.Contains(ck.keys, key)
		}
	}
	return false
}

// version returns the version of tag that p read from c with the render's
// fragments ("" when it has none), and whether p read it.
func (p *Prefetch) version(c *cache.Cache, tag string) (string, bool) {
	if p == nil {
		return "", false
	}
	e, ok := p.got[c][cache.TagVersionKey(tag)]
	if !ok {
		return "", false
	}
	return string(e.v), true
}

// fetchTop fetches the keys of the top-level tags and of the top-level
// loops over a plain variable.
func (p *Prefetch) fetchTop(ec *pongo2.ExecutionContext, f *Fragments) {
	var b batch
	for _, n := range p.plan.top {
		p.add(&b, ec, f, n)
	}
	for _, lp := range p.plan.loops {
		if lp.ident == "" {
			continue
		}
		v, ok := ec.Private[lp.ident]
		if !ok {
			v, ok = ec.Public[lp.ident]
		}
		if !ok || v == nil {
			continue
		}
		var seq *pongo2.Value
		switch x := v.(type) {
		case *pongo2.Value:
			seq = x
		default:
			if k := reflect.ValueOf(v).Kind(); k == reflect.Func || k == reflect.Chan {
				continue // a callable: the loop calls it, not this
			}
			seq = pongo2.AsValue(v)
		}
		p.addLoop(&b, ec, f, lp, seq)
	}
	p.fetch(ec, b)
}

// fetchLoop fetches the keys of a loop run's tags.
func (p *Prefetch) fetchLoop(ec *pongo2.ExecutionContext, f *Fragments, lp *loopPlan, seq *pongo2.Value) {
	var b batch
	p.addLoop(&b, ec, f, lp, seq)
	p.fetch(ec, b)
}

// addLoop adds the keys of lp's tags for each item of seq, each computed
// with the loop's variables bound as the loop binds them.
func (p *Prefetch) addLoop(b *batch, ec *pongo2.ExecutionContext, f *Fragments, lp *loopPlan, seq *pongo2.Value) {
	child := pongo2.NewChildExecutionContext(ec)
	seq.IterateOrder(func(_, _ int, key, value *pongo2.Value) bool {
		child.Private[lp.key] = key
		if value != nil && lp.value != "" {
			child.Private[lp.value] = value
		}
		for _, n := range lp.tags {
			p.add(b, child, f, n)
		}
		return true
	}, func() {}, false, false)
}

// add adds tag n's key in ec to b, unless it cannot be computed (an error
// the tag will report itself) or was fetched already.
func (p *Prefetch) add(b *batch, ec *pongo2.ExecutionContext, f *Fragments, n *cacheNode) {
	c, perr := n.cacheFor(ec, f)
	if perr != nil || c == nil || c.InProcess() || c.Near() {
		return
	}
	key, ok := n.keyAhead(ec, f, c, p.keyBuf[:0], &p.vary)
	p.keyBuf = key[:0]
	if !ok {
		return
	}
	if _, done := p.got[c][string(key)]; done {
		return
	}
	b.add(c, string(key), f.stampedeOf(n, c).Sides())
	if f.strictTags {
		// The versions of the tags the body will declare (strict.go).
		for _, t := range n.foreseeTags(ec) {
			if vk := cache.TagVersionKey(t); !b.has(c, vk) {
				if _, done := p.got[c][vk]; !done {
					b.add(c, vk, false)
				}
			}
		}
	}
}

// fetch reads b, one GetMany per cache, and records every key's result. A
// failed GetMany records nothing: the tags read as usual (and fail open).
func (p *Prefetch) fetch(ec *pongo2.ExecutionContext, b batch) {
	ctx := requestContext(ec)
	for _, ck := range b {
		c, keys := ck.c, ck.keys
		got, fresh, err := c.GetManyWithFreshness(ctx, keys, ck.judged)
		if err != nil {
			continue
		}
		if p.got == nil {
			p.got = map[*cache.Cache]map[string]prefetched{}
		}
		m := p.got[c]
		if m == nil {
			m = make(map[string]prefetched, len(keys))
			p.got[c] = m
		}
		for _, k := range keys {
			v, hit := got[k]
			m[k] = prefetched{v: v, fresh: fresh[k], hit: hit}
		}
	}
}

// keyAhead computes the tag's key in ec as Execute would, appended to dst,
// without Execute's warnings and errors (false when it cannot).
func (n *cacheNode) keyAhead(ec *pongo2.ExecutionContext, f *Fragments, c *cache.Cache, dst []byte, scratch *[]any) ([]byte, bool) {
	vary := (*scratch)[:0]
	defer func() { clear(vary); *scratch = vary[:0] }()
	for i := range n.vary {
		a := &n.vary[i]
		var v any
		if a.kind == argPath {
			r, absent, perr := a.resolvePath(ec, false)
			if perr != nil {
				return dst, false
			}
			if absent == nil {
				v = r
			}
		} else {
			r, perr := a.resolve(ec)
			if perr != nil {
				return dst, false
			}
			v = r
		}
		vary = append(vary, varyValue(v))
	}
	if f.digests {
		d, err := n.templateDigest(f)
		if err != nil {
			return dst, false
		}
		vary = append(vary, d)
	}
	return cache.AppendFragmentKey(dst, c.KeyScheme(), n.name, vary), true
}
