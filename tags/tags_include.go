package tags

import (
	"errors"
	"fmt"
	"io/fs"
	"sync"
	_ "unsafe" // for go:linkname

	"github.com/flosch/pongo2/v6"
)

// This file replaces pongo2 v6's {% include %} for template names that are
// variables. pongo2 calls TemplateSet.FromFile on every render of such a
// tag: it re-parses the template each time and writes the set's fields
// while other goroutines parse or render (a data race). Here the name is
// resolved through the set's IncludeLoader, which parses each template once
// and is safe for concurrent use. An include of a string literal is parsed
// with the template, as pongo2 does, by pongo2's own parser.

// pongo2Include is pongo2 v6.0.0's own {% include %} parser. pongo2 offers
// no way to get a registered tag's parser back, and its static include
// needs the set's unexported loader to resolve names relative to the
// including template; the build fails at link time, not at run time, if a
// pongo2 release renames it.
//
//go:linkname pongo2Include github.com/flosch/pongo2/v6.tagIncludeParser
func pongo2Include(doc *pongo2.Parser, start *pongo2.Token, arguments *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error)

// IncludeLoaderKey is the reserved Globals key under which a template set
// may hold its IncludeLoader (which wins over its Fragments'). Template
// authors must not use this name.
const IncludeLoaderKey = "_fragcache_include"

// IncludeLoader loads the templates named by {% include name_variable %}
// at render time. Its methods must be safe for concurrent use.
//
// render.Renderer passes one backed by its template cache (as
// Options.IncludeLoader); Fragments.Install binds SetIncludeLoader(set)
// otherwise. In a set with neither a Fragments nor a loader under
// IncludeLoaderKey, such an include behaves as pongo2's (it parses the
// template on every render and is not safe for concurrent renders).
type IncludeLoader interface {
	// IncludeTemplate returns the template called name (a name as the
	// template set's loader understands it). When there is no such
	// template, the error matches fs.ErrNotExist (errors.Is).
	IncludeTemplate(name string) (*pongo2.Template, error)
}

// SetIncludeLoader returns an IncludeLoader that parses each template of
// set once, with set.FromFile, and keeps it (in debug mode, set.Debug, it
// parses on every call, as pongo2's FromCache does). Its parses are
// serialized with each other; pongo2 does not allow other calls of the
// set's From* methods to run at the same time.
func SetIncludeLoader(set *pongo2.TemplateSet) IncludeLoader {
	return &setIncludeLoader{set: set, tpls: map[string]*pongo2.Template{}}
}

type setIncludeLoader struct {
	set  *pongo2.TemplateSet
	mu   sync.Mutex
	tpls map[string]*pongo2.Template
}

// IncludeTemplate implements IncludeLoader.
func (l *setIncludeLoader) IncludeTemplate(name string) (*pongo2.Template, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.tpls[name]; ok && !l.set.Debug {
		return t, nil
	}
	t, err := l.set.FromFile(name)
	if err != nil {
		var pe *pongo2.Error
		if errors.As(err, &pe) && pe.Sender == "fromfile" {
			// pongo2 reports a template its loaders cannot open this way.
			return nil, fmt.Errorf("%w: %w", fs.ErrNotExist, err)
		}
		return nil, err
	}
	if !l.set.Debug {
		l.tpls[name] = t
	}
	return t, nil
}

// staticIncludeNode is pongo2's node for {% include "name" %}.
type staticIncludeNode struct{ node pongo2.INodeTag }

// Execute runs pongo2's include; inside a for loop it first makes sure the
// render has its state, so that the included template finds it (see
// shareLoopState).
func (n *staticIncludeNode) Execute(ctx *pongo2.ExecutionContext, w pongo2.TemplateWriter) *pongo2.Error {
	shareLoopState(ctx)
	return n.node.Execute(ctx, w)
}

// shareLoopState creates the render's state before an include inside a
// for loop: the include copies it (in the Public map) into the included
// render, whose {% ifchanged %} keeps its state with the loop, as Django
// keeps it in the forloop dict the included template shares.
func shareLoopState(ctx *pongo2.ExecutionContext) {
	if ctx.Private["forloop"] != nil || ctx.Public["forloop"] != nil {
		stateOf(ctx)
	}
}

// includeNode is a parsed {% include expr [if_exists] [with k=v …] [only] %}
// whose template name is an expression.
type includeNode struct {
	start    *pongo2.Token
	name     pongo2.IEvaluator
	ifExists bool
	only     bool
	with     []includeWith
	// pongo2Node is pongo2's own node for the same tag, executed in sets
	// without an IncludeLoader.
	pongo2Node pongo2.INodeTag
}

type includeWith struct {
	key  string
	expr pongo2.IEvaluator
}

// Execute renders the named template with a copy of the context (or, with
// only, just the with values), as pongo2's include does.
func (n *includeNode) Execute(ctx *pongo2.ExecutionContext, w pongo2.TemplateWriter) *pongo2.Error {
	loader := findIncludeLoader(ctx)
	if loader == nil {
		if n.pongo2Node == nil {
			return builtinError("include", ctx.Error("{% include name only %} (without with) needs an IncludeLoader: install a tags.Fragments in the template set, or put a tags.SetIncludeLoader under tags.IncludeLoaderKey in its Globals", n.start))
		}
		shareLoopState(ctx)
		return n.pongo2Node.Execute(ctx, w)
	}
	v, perr := n.name.Evaluate(ctx)
	if perr != nil {
		return perr
	}
	tpl, ok := v.Interface().(*pongo2.Template)
	if !ok || tpl == nil {
		var names []string
		if !v.IsString() && v.CanSlice() {
			// A list: Django's select_template, the first that exists.
			for i := 0; i < v.Len(); i++ {
				names = append(names, v.Index(i).String())
			}
		} else {
			names = []string{v.String()}
		}
		var err error
		tpl, err = n.load(loader, names)
		if err != nil {
			if n.ifExists && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return builtinError("include", ctx.OrigError(err, n.start))
		}
	}
	shareLoopState(ctx)
	ictx := make(pongo2.Context, len(n.with))
	if !n.only {
		ictx.Update(ctx.Public)
		ictx.Update(ctx.Private)
	}
	for _, p := range n.with {
		val, perr := p.expr.Evaluate(ctx)
		if perr != nil {
			return perr
		}
		ictx[p.key] = val
	}
	if err := tpl.ExecuteWriter(ictx, w); err != nil {
		var pe *pongo2.Error
		if errors.As(err, &pe) {
			return pe
		}
		return builtinError("include", ctx.OrigError(err, n.start))
	}
	return nil
}

// findIncludeLoader returns the render's IncludeLoader: the set's, under
// IncludeLoaderKey, or that of its Fragments; nil if neither.
func findIncludeLoader(ctx *pongo2.ExecutionContext) IncludeLoader {
	if l, ok := ctx.Public[IncludeLoaderKey].(IncludeLoader); ok && l != nil {
		return l
	}
	if f, ok := ctx.Public[ContextKey].(*Fragments); ok && f != nil {
		return f.includeLoader()
	}
	return nil
}

// load returns the first of names that exists.
func (n *includeNode) load(loader IncludeLoader, names []string) (*pongo2.Template, error) {
	if len(names) == 0 || len(names) == 1 && names[0] == "" {
		return nil, errors.New("Filename for 'include'-tag evaluated to an empty string.")
	}
	var firstErr error
	for _, name := range names {
		tpl, err := loader.IncludeTemplate(name)
		if err == nil {
			return tpl, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("including %q: %w", name, err)
		}
		if firstErr == nil {
			firstErr = fmt.Errorf("including %q: %w", name, err)
		}
	}
	return nil, firstErr
}

// parseIncludeTag parses {% include %}: a string literal goes to pongo2's
// parser unchanged; an expression gets an includeNode (which keeps
// pongo2's node, parsed from the same arguments, for sets without an
// IncludeLoader).
func parseIncludeTag(doc *pongo2.Parser, start *pongo2.Token, args *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
	if args.PeekType(pongo2.TokenString) != nil {
		node, err := pongo2Include(doc, start, args)
		if err != nil {
			return nil, err
		}
		return &staticIncludeNode{node: node}, nil
	}
	saved := *args
	node := &includeNode{start: start}
	name, err := args.ParseExpression()
	if err != nil {
		return nil, builtinError("include", err)
	}
	node.name = name
	node.ifExists = args.Match(pongo2.TokenIdentifier, "if_exists") != nil
	if args.Match(pongo2.TokenIdentifier, "with") != nil {
		for args.Remaining() > 0 && args.Peek(pongo2.TokenIdentifier, "only") == nil {
			key := args.MatchType(pongo2.TokenIdentifier)
			if key == nil {
				return nil, builtinError("include", args.Error("Expected an identifier", nil))
			}
			if args.Match(pongo2.TokenSymbol, "=") == nil {
				return nil, builtinError("include", args.Error("Expected '='.", nil))
			}
			val, err := args.ParseExpression()
			if err != nil {
				return nil, builtinError("include", err)
			}
			node.with = append(node.with, includeWith{key: key.Val, expr: val})
		}
	}
	// Django accepts only without with; pongo2 only after with k=v.
	node.only = args.Match(pongo2.TokenIdentifier, "only") != nil
	if args.Remaining() > 0 {
		return nil, builtinError("include", args.Error("Malformed 'include'-tag arguments.", nil))
	}
	if node.only && len(node.with) == 0 {
		// pongo2's parser rejects this form: no fallback.
		return node, nil
	}
	fallback, perr := pongo2Include(doc, start, &saved)
	if perr != nil {
		return nil, perr
	}
	node.pongo2Node = fallback
	return node, nil
}
