package tags

import (
	"fmt"

	"github.com/flosch/pongo2/v6"
)

// This file replaces pongo2 v6's {% cycle %} (which keeps its position on
// the parsed node: concurrent renders of one template race and corrupt
// each other's rows, and every render continues where the previous one
// stopped) and adds Django's {% resetcycle %}.

// cycleNode is a parsed {% cycle v1 v2 … [as name [silent]] %}. Its
// position is per render (renderState.cycles), as Django keeps it in
// context.render_context.
type cycleNode struct {
	start  *pongo2.Token
	values []pongo2.IEvaluator
	asName string
	silent bool
}

// Execute writes the next value (escaped unless safe, when autoescape is
// on), and sets the "as" name to it in the current scope.
func (n *cycleNode) Execute(ctx *pongo2.ExecutionContext, w pongo2.TemplateWriter) *pongo2.Error {
	st := stateOf(ctx)
	if st.cycles == nil {
		st.cycles = make(map[*cycleNode]int)
	}
	i := st.cycles[n]
	st.cycles[n] = (i + 1) % len(n.values)
	expr := n.values[i]
	v, err := expr.Evaluate(ctx)
	if err != nil {
		return err
	}
	if n.asName != "" {
		// Django's set_upward; pongo2 scopes are copies, so the name is set
		// in the innermost scope (a for loop's, or the template's).
		ctx.Private[n.asName] = v
	}
	if !n.silent {
		_, _ = w.WriteString(renderValue(ctx, v, expr))
	}
	return nil
}

// parseCycleTag follows Django's cycle(): {% cycle a b … %}, {% cycle a b
// … as name %}, {% cycle a b … as name silent %}, and {% cycle name %},
// which is the named cycle itself (parsed earlier in the same template):
// it advances that cycle, sets name and writes the value unless the named
// cycle is silent.
func parseCycleTag(doc *pongo2.Parser, start *pongo2.Token, args *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
	if args.Count() == 0 {
		return nil, builtinError("cycle", args.Error("'cycle' tag requires at least two arguments", start))
	}
	if args.Count() == 1 {
		name := args.Current().Val
		ps := peekParseState(doc)
		if ps == nil || len(ps.named) == 0 {
			return nil, builtinError("cycle", args.Error(fmt.Sprintf("No named cycles in template. '%s' is not defined", name), start))
		}
		node, ok := ps.named[name]
		if !ok {
			return nil, builtinError("cycle", args.Error(fmt.Sprintf("Named cycle '%s' does not exist", name), start))
		}
		return node, nil
	}
	node := &cycleNode{start: start}
	for args.Remaining() > 0 && args.Peek(pongo2.TokenKeyword, "as") == nil {
		e, err := args.ParseExpression()
		if err != nil {
			return nil, builtinError("cycle", err)
		}
		node.values = append(node.values, e)
	}
	if args.Remaining() > 0 { // "as"
		asTok := args.Current()
		args.Consume()
		nameTok := args.MatchType(pongo2.TokenIdentifier)
		if nameTok == nil {
			return nil, builtinError("cycle", args.Error("'cycle … as' must be followed by a name", asTok))
		}
		node.asName = nameTok.Val
		if t := args.Current(); t != nil {
			if t.Val != "silent" {
				return nil, builtinError("cycle", args.Error(fmt.Sprintf("Only 'silent' flag is allowed after cycle's name, not '%s'.", t.Val), t))
			}
			node.silent = true
			args.Consume()
			if args.Remaining() > 0 {
				return nil, builtinError("cycle", args.Error("Malformed cycle tag: nothing may follow 'silent'", nil))
			}
		}
		if len(node.values) < 2 {
			// Django reads {% cycle v as x %} as three values, the second
			// the variable "as", a keyword in pongo2's expressions.
			return nil, builtinError("cycle", args.Error("'cycle … as name' needs at least two values before 'as'", asTok))
		}
	}
	if len(node.values) == 0 {
		return nil, builtinError("cycle", args.Error("'cycle' tag requires at least two arguments", start))
	}
	ps := parseStateOf(doc)
	if node.asName != "" {
		ps.named[node.asName] = node
	}
	ps.lastCycle = node
	return node, nil
}

// resetCycleNode is a parsed {% resetcycle [name] %}.
type resetCycleNode struct{ target *cycleNode }

// Execute restarts the target cycle at its first value for this render.
func (n *resetCycleNode) Execute(ctx *pongo2.ExecutionContext, _ pongo2.TemplateWriter) *pongo2.Error {
	if st := stateOf(ctx); st.cycles != nil {
		delete(st.cycles, n.target)
	}
	return nil
}

// parseResetCycleTag follows Django's resetcycle(): without a name it
// resets the last {% cycle %} parsed before it in the template.
func parseResetCycleTag(doc *pongo2.Parser, start *pongo2.Token, args *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
	if args.Count() > 1 {
		return nil, builtinError("resetcycle", args.Error("'resetcycle' tag accepts at most one argument.", start))
	}
	ps := peekParseState(doc)
	if args.Count() == 1 {
		name := args.Current().Val
		if ps == nil || ps.named[name] == nil {
			return nil, builtinError("resetcycle", args.Error(fmt.Sprintf("Named cycle '%s' does not exist.", name), start))
		}
		return &resetCycleNode{target: ps.named[name]}, nil
	}
	if ps == nil || ps.lastCycle == nil {
		return nil, builtinError("resetcycle", args.Error("No cycles in template.", start))
	}
	return &resetCycleNode{target: ps.lastCycle}, nil
}

// builtinError marks a parse or render error as coming from one of the
// built-in tags this package provides.
func builtinError(tag string, e *pongo2.Error) *pongo2.Error {
	if e != nil {
		e.Sender = "tag:" + tag
	}
	return e
}
