package tags

import (
	"math"
	"strconv"
	"strings"

	"github.com/flosch/pongo2/v6"
)

// Django's {% now %} and {% widthratio %}, which UseDjangoBuiltins installs
// in place of pongo2's: pongo2's now takes a Go layout ({% now "2006" %}),
// Django's a date format ({% now "Y" %}); pongo2's widthratio computes
// ceil(ratio + 0.5) where Django rounds the ratio (half to even).

// djangoNowTags are the tags UseDjangoBuiltins installs.
var djangoNowTags = map[string]pongo2.TagParser{
	"now":        parseNowTag,
	"widthratio": parseWidthratioTag,
}

// nowNode is a parsed {% now "format" [as var] %}.
type nowNode struct {
	format string
	asVar  string
}

// Execute writes the current local time in the node's format.
func (n *nowNode) Execute(ctx *pongo2.ExecutionContext, w pongo2.TemplateWriter) *pongo2.Error {
	s, _ := djangoDateFormat(now(), formatArg(pongo2.AsValue(n.format), "DATE_FORMAT"), false)
	if n.asVar != "" {
		ctx.Private[n.asVar] = s
		return nil
	}
	_, _ = w.WriteString(s)
	return nil
}

func parseNowTag(_ *pongo2.Parser, start *pongo2.Token, args *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
	node := &nowNode{}
	n := args.Count()
	if n == 3 && args.Get(1).Val == "as" && args.Get(2).Typ == pongo2.TokenIdentifier {
		node.asVar = args.Get(2).Val
		n = 1
	}
	if n != 1 || args.Get(0).Typ != pongo2.TokenString {
		return nil, builtinError("now", args.Error("'now' statement takes one argument", start))
	}
	node.format = args.Get(0).Val
	return node, nil
}

// widthratioNode is a parsed {% widthratio value max width [as var] %}.
type widthratioNode struct {
	start             *pongo2.Token
	value, max, width pongo2.IEvaluator
	asVar             string
}

// pyFloat is Python's float() of a value; ok is false where it raises.
func pyFloat(v *pongo2.Value) (float64, bool) {
	switch {
	case v == nil || v.IsNil():
		return 0, false
	case v.IsBool():
		if v.Bool() {
			return 1, true
		}
		return 0, true
	case v.IsNumber():
		return v.Float(), true
	case v.IsString():
		f, err := strconv.ParseFloat(strings.TrimSpace(v.String()), 64)
		return f, err == nil
	}
	return 0, false
}

// Execute follows Django's WidthRatioNode.render.
func (n *widthratioNode) Execute(ctx *pongo2.ExecutionContext, w pongo2.TemplateWriter) *pongo2.Error {
	v, err := n.value.Evaluate(ctx)
	if err != nil {
		return err
	}
	m, err := n.max.Evaluate(ctx)
	if err != nil {
		return err
	}
	wv, err := n.width.Evaluate(ctx)
	if err != nil {
		return err
	}
	width, ok := pyIntOf(wv)
	if !ok {
		return builtinError("widthratio", ctx.Error("widthratio final argument must be a number", n.start))
	}
	result := ""
	fv, ok1 := pyFloat(v)
	fm, ok2 := pyFloat(m)
	switch {
	case !ok1 || !ok2:
	case fm == 0:
		result = "0"
	default:
		fw, _ := width.Float64()
		ratio := fv / fm * fw
		if !math.IsInf(ratio, 0) && !math.IsNaN(ratio) {
			result = strconv.FormatFloat(math.RoundToEven(ratio), 'f', 0, 64)
		}
	}
	if n.asVar != "" {
		ctx.Private[n.asVar] = result
		return nil
	}
	_, _ = w.WriteString(result)
	return nil
}

func parseWidthratioTag(_ *pongo2.Parser, start *pongo2.Token, args *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
	node := &widthratioNode{start: start}
	exprs := make([]pongo2.IEvaluator, 0, 3)
	for args.Remaining() > 0 && args.Peek(pongo2.TokenKeyword, "as") == nil && len(exprs) < 3 {
		e, err := args.ParseExpression()
		if err != nil {
			return nil, builtinError("widthratio", err)
		}
		exprs = append(exprs, e)
	}
	if len(exprs) != 3 {
		return nil, builtinError("widthratio", args.Error("widthratio takes at least three arguments", start))
	}
	node.value, node.max, node.width = exprs[0], exprs[1], exprs[2]
	if args.Remaining() > 0 {
		if args.Match(pongo2.TokenKeyword, "as") == nil {
			return nil, builtinError("widthratio", args.Error("Invalid syntax in widthratio tag. Expecting 'as' keyword", nil))
		}
		v := args.MatchType(pongo2.TokenIdentifier)
		if v == nil || args.Remaining() > 0 {
			return nil, builtinError("widthratio", args.Error("widthratio takes at least three arguments", start))
		}
		node.asVar = v.Val
	}
	return node, nil
}
