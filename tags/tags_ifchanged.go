package tags

import (
	"bytes"
	"math"
	"reflect"

	"github.com/flosch/pongo2/v6"
)

// This file replaces pongo2 v6's {% ifchanged %}, which keeps the last
// value on the parsed node (concurrent renders race and see each other's
// values, every render starts with the previous render's last value, and
// {% ifchanged x %} without {% else %} dereferences a nil else block on
// every render).

// ifchangedNode is a parsed {% ifchanged [expr …] %} … [{% else %} …]
// {% endifchanged %}.
type ifchangedNode struct {
	start   *pongo2.Token
	watched []pongo2.IEvaluator
	then    *pongo2.NodeWrapper
	els     *pongo2.NodeWrapper // nil without {% else %}
}

// ifchangedState is what an ifchanged node compares against. As in Django
// it belongs to the innermost enclosing for loop (a new run of that loop,
// for instance in the next iteration of an outer loop, starts afresh), or
// to the render outside loops.
type ifchangedState struct {
	loop   any // the enclosing loop's forloop value; nil outside loops
	set    bool
	output string // without arguments: the last rendered body
	values []any  // with arguments: the last values
}

// Execute follows Django's IfChangedNode.render.
func (n *ifchangedNode) Execute(ctx *pongo2.ExecutionContext, w pongo2.TemplateWriter) *pongo2.Error {
	st := stateOf(ctx)
	loop := ctx.Private["forloop"]
	if loop == nil {
		// An included template sees its includer's loop in Public (the
		// include copied it there); the state goes with that loop.
		loop = ctx.Public["forloop"]
	}
	if loop != nil {
		st = st.root()
	}
	if st.ifchanged == nil {
		st.ifchanged = make(map[*ifchangedNode]*ifchangedState)
	}
	s := st.ifchanged[n]
	if s == nil || s.loop != loop {
		s = &ifchangedState{loop: loop}
		st.ifchanged[n] = s
	}
	if len(n.watched) == 0 {
		// Compare the rendered body.
		var buf bytes.Buffer
		if err := n.then.Execute(ctx, &buf); err != nil {
			return err
		}
		out := buf.String()
		if !s.set || out != s.output {
			s.set, s.output = true, out
			_, _ = w.WriteString(out)
			return nil
		}
		return n.executeElse(ctx, w)
	}
	values := make([]any, len(n.watched))
	for i, e := range n.watched {
		v, err := e.Evaluate(ctx)
		if err != nil {
			return err
		}
		if v != nil {
			values[i] = v.Interface()
		}
	}
	if !s.set || !pyEqualSlices(values, s.values) {
		s.set, s.values = true, values
		return n.then.Execute(ctx, w)
	}
	return n.executeElse(ctx, w)
}

func (n *ifchangedNode) executeElse(ctx *pongo2.ExecutionContext, w pongo2.TemplateWriter) *pongo2.Error {
	if n.els == nil {
		return nil
	}
	return n.els.Execute(ctx, w)
}

// parseIfchangedTag parses {% ifchanged [expr …] %} … [{% else %} …]
// {% endifchanged %}.
func parseIfchangedTag(doc *pongo2.Parser, start *pongo2.Token, args *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
	node := &ifchangedNode{start: start}
	for args.Remaining() > 0 {
		e, err := args.ParseExpression()
		if err != nil {
			return nil, builtinError("ifchanged", err)
		}
		node.watched = append(node.watched, e)
	}
	then, endArgs, err := doc.WrapUntilTag("else", "endifchanged")
	if err != nil {
		return nil, builtinError("ifchanged", err)
	}
	if endArgs.Count() > 0 {
		return nil, builtinError("ifchanged", endArgs.Error("Arguments not allowed here.", nil))
	}
	node.then = then
	if then.Endtag == "else" {
		els, endArgs, err := doc.WrapUntilTag("endifchanged")
		if err != nil {
			return nil, builtinError("ifchanged", err)
		}
		if endArgs.Count() > 0 {
			return nil, builtinError("ifchanged", endArgs.Error("Arguments not allowed here.", nil))
		}
		node.els = els
	}
	return node, nil
}

// pyEqualSlices compares two lists of values as Python's == compares
// lists.
func pyEqualSlices(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !pyEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

// pyEqual approximates Python's == on Go values: numbers (and booleans,
// which Python counts as 0 and 1) compare by value across types, strings
// by content, lists, arrays and maps element by element, nil only with
// nil, and anything else with Go's == when the type is comparable (so
// pointers compare by identity, as Python objects do by default).
func pyEqual(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if pv, ok := a.(*pongo2.Value); ok {
		a = pv.Interface()
	}
	if pv, ok := b.(*pongo2.Value); ok {
		b = pv.Interface()
	}
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if na, oka := pyNumberOf(va); oka {
		if nb, okb := pyNumberOf(vb); okb {
			return na.eq(nb)
		}
		return false
	}
	switch va.Kind() {
	case reflect.String:
		return vb.Kind() == reflect.String && va.String() == vb.String()
	case reflect.Slice, reflect.Array:
		if vb.Kind() != reflect.Slice && vb.Kind() != reflect.Array {
			return false
		}
		if va.Len() != vb.Len() {
			return false
		}
		if va.Kind() == reflect.Slice && va.Type().Elem().Kind() == reflect.Uint8 && vb.Type() == va.Type() {
			return bytes.Equal(va.Bytes(), vb.Bytes())
		}
		for i := 0; i < va.Len(); i++ {
			if !pyEqual(va.Index(i).Interface(), vb.Index(i).Interface()) {
				return false
			}
		}
		return true
	case reflect.Map:
		if vb.Kind() != reflect.Map || va.Len() != vb.Len() {
			return false
		}
		if va.Type().Key() != vb.Type().Key() {
			return false
		}
		it := va.MapRange()
		for it.Next() {
			ob := vb.MapIndex(it.Key())
			if !ob.IsValid() || !pyEqual(it.Value().Interface(), ob.Interface()) {
				return false
			}
		}
		return true
	}
	// Value.Comparable also rejects a comparable type holding an
	// incomparable value (an interface field holding a slice), on which
	// Equal would panic.
	if va.Type() != vb.Type() || !va.Comparable() || !vb.Comparable() {
		return false
	}
	return va.Equal(vb)
}

// pyNum is a number as Python compares them: an integer (exact) or a float.
type pyNum struct {
	isFloat bool
	neg     bool // for integers: the magnitude is u, the sign neg
	u       uint64
	f       float64
}

func (x pyNum) eq(y pyNum) bool {
	if !x.isFloat && !y.isFloat {
		return x.neg == y.neg && x.u == y.u || x.u == 0 && y.u == 0
	}
	return x.float() == y.float()
}

func (x pyNum) float() float64 {
	if x.isFloat {
		return x.f
	}
	f := float64(x.u)
	if x.neg {
		f = -f
	}
	return f
}

// pyNumberOf reports v as a Python number, if it is a bool, an integer or a
// float.
func pyNumberOf(v reflect.Value) (pyNum, bool) {
	switch v.Kind() {
	case reflect.Bool:
		if v.Bool() {
			return pyNum{u: 1}, true
		}
		return pyNum{}, true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i := v.Int()
		if i < 0 {
			return pyNum{neg: true, u: uint64(-(i + 1)) + 1}, true
		}
		return pyNum{u: uint64(i)}, true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return pyNum{u: v.Uint()}, true
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
			// Exact comparison with integers (Python compares exactly).
			if f < 0 {
				return pyNum{neg: true, u: uint64(-f)}, true
			}
			return pyNum{u: uint64(f)}, true
		}
		return pyNum{isFloat: true, f: f}, true
	}
	return pyNum{}, false
}
