package tags

import (
	"reflect"
	"runtime"
	"sync"
	"weak"

	"github.com/flosch/pongo2/v6"
)

// renderStateKey is the reserved Public key under which the tags of this
// package keep the state of one render (Django's context.render_context):
// {% cycle %} positions and {% ifchanged %} last values. pongo2 v6 keeps
// that state on the parsed node, shared by every render of the template.
const renderStateKey = "_fragcache_render"

// renderState is the per-render state of the stateful tags. It belongs to
// one Public map: pongo2 makes a fresh Public map for every execution of a
// template (Template.Execute*, each {% include %}), and every child
// ExecutionContext of that execution shares it, so the map identifies the
// render as Django's render_context does (an included template starts with
// its own state, a template and the templates it extends share one).
type renderState struct {
	owner reflect.Value // the Public map this state belongs to
	// parent is the state of the render that included this one (found in
	// the Public map the include copied), or nil.
	parent    *renderState
	cycles    map[*cycleNode]int
	ifchanged map[*ifchangedNode]*ifchangedState
}

// root returns the state of the outermost render: ifchanged inside a for
// loop keeps its state with the loop, which an included template sees
// (Django stores it in the forloop dict, shared with included templates).
func (st *renderState) root() *renderState {
	for st.parent != nil {
		st = st.parent
	}
	return st
}

// stateOf returns the render state of ctx, creating it on first use. The
// Public map is pongo2's own per-execution copy of the caller's context,
// written only by the goroutine running the render, so storing in it is
// safe; the key is an identifier so that {% include %} (which re-checks the
// keys it copies) accepts it, and the owner check keeps an included
// template from continuing its includer's state.
func stateOf(ctx *pongo2.ExecutionContext) *renderState {
	owner := reflect.ValueOf(ctx.Public)
	inherited, ok := ctx.Public[renderStateKey].(*renderState)
	if ok && inherited.owner.UnsafePointer() == owner.UnsafePointer() {
		return inherited
	}
	st := &renderState{owner: owner, parent: inherited}
	if ctx.Public == nil {
		// Not reachable through pongo2's Execute functions, which always
		// make the map; a hand-made ExecutionContext gets per-call state.
		return st
	}
	ctx.Public[renderStateKey] = st
	return st
}

// parseState is the state of one template's parse, as Django keeps it on
// its Parser: the named cycles and the last cycle seen, which
// {% cycle name %} and {% resetcycle %} refer to.
type parseState struct {
	named     map[string]*cycleNode
	lastCycle *cycleNode
}

// parseStates maps a template's document parser to its parse state. pongo2
// hands every tag of one template the same document parser (nested bodies
// included), and offers no other per-parse place; the keys are weak, and
// an entry is dropped when its parser is collected.
var (
	parseStatesMu sync.Mutex
	parseStates   = map[weak.Pointer[pongo2.Parser]]*parseState{}
)

// parseStateOf returns the parse state of doc, creating it on first use.
func parseStateOf(doc *pongo2.Parser) *parseState {
	key := weak.Make(doc)
	parseStatesMu.Lock()
	defer parseStatesMu.Unlock()
	if ps, ok := parseStates[key]; ok {
		return ps
	}
	ps := &parseState{named: map[string]*cycleNode{}}
	parseStates[key] = ps
	runtime.AddCleanup(doc, func(k weak.Pointer[pongo2.Parser]) {
		parseStatesMu.Lock()
		delete(parseStates, k)
		parseStatesMu.Unlock()
	}, key)
	return ps
}

// peekParseState returns doc's parse state, or nil if no tag made one.
func peekParseState(doc *pongo2.Parser) *parseState {
	parseStatesMu.Lock()
	defer parseStatesMu.Unlock()
	return parseStates[weak.Make(doc)]
}
