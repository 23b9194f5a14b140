package tags

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/flosch/pongo2/v6"
)

// Django's i18n tag library ({% load i18n %}) without translation: the
// source text is the output, as with Django's USE_I18N and no catalog for
// the language (English plural rule for count). The tags:
//
//	{% trans "text" [noop] [context "c"] [as var] %}   also {% translate %}
//	{% blocktrans [with a=b …] [count n=expr] [context "c"] [trimmed] [asvar v] %}
//	    text {{ a }} … [{% plural %} plural text] {% endblocktrans %}
//	                                                  also {% blocktranslate %}
//	{% get_current_language as v %}                   "en-us"
//	{% get_current_language_bidi as v %}              false
//	{% language "code" %} … {% endlanguage %}         the body, unchanged

// LanguageCode is what {% get_current_language %} gives: Django's default
// LANGUAGE_CODE.
const LanguageCode = "en-us"

// transNode is a parsed {% trans %}.
type transNode struct {
	expr    pongo2.IEvaluator
	literal bool // a plain string literal: safe, as Django's template literals
	asVar   string
}

// Execute writes (or, with as, stores) the message, escaped under
// autoescape unless it is a literal or safe.
func (n *transNode) Execute(ctx *pongo2.ExecutionContext, w pongo2.TemplateWriter) *pongo2.Error {
	v, err := n.expr.Evaluate(ctx)
	if err != nil {
		return err
	}
	s := v.String()
	if !n.literal {
		s = renderValue(ctx, v, n.expr)
	}
	if n.asVar != "" {
		ctx.Private[n.asVar] = pongo2.AsSafeValue(s)
		return nil
	}
	_, _ = w.WriteString(s)
	return nil
}

func parseTransTag(_ *pongo2.Parser, start *pongo2.Token, args *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
	name := start.Val
	if args.Remaining() == 0 {
		return nil, builtinError(name, args.Error(fmt.Sprintf("'%s' takes at least one argument", name), start))
	}
	node := &transNode{}
	first, before := args.Current(), args.Remaining()
	e, err := args.ParseExpression()
	if err != nil {
		return nil, builtinError(name, err)
	}
	node.expr = e
	node.literal = first.Typ == pongo2.TokenString && before-args.Remaining() == 1
	for args.Remaining() > 0 {
		t := args.Current()
		args.Consume()
		switch t.Val {
		case "noop":
		case "context":
			if _, err := args.ParseExpression(); err != nil {
				return nil, builtinError(name, err)
			}
		case "as":
			v := args.MatchType(pongo2.TokenIdentifier)
			if v == nil {
				return nil, builtinError(name, args.Error("No argument provided to the '"+name+"' tag for the as option.", t))
			}
			node.asVar = v.Val
		default:
			return nil, builtinError(name, args.Error(fmt.Sprintf("Unknown argument for '%s' tag: '%s'", name, t.Val), t))
		}
	}
	return node, nil
}

// blockTransNode is a parsed {% blocktrans %}.
type blockTransNode struct {
	name      string
	with      []includeWith
	countVar  string
	count     pongo2.IEvaluator
	singular  string // Python %-format source: %(name)s placeholders, %%
	plural    string
	hasPlural bool
	asVar     string
	start     *pongo2.Token
}

var reMsgPlaceholder = regexp.MustCompile(`%\(([^)]*)\)s|%%`)

// Execute picks the singular or the plural text (English rule: count == 1
// is singular) and substitutes the variables, escaped as {{ }} escapes.
func (n *blockTransNode) Execute(ctx *pongo2.ExecutionContext, w pongo2.TemplateWriter) *pongo2.Error {
	child := pongo2.NewChildExecutionContext(ctx)
	for _, p := range n.with {
		v, err := p.expr.Evaluate(ctx)
		if err != nil {
			return err
		}
		child.Private[p.key] = v
	}
	msg := n.singular
	if n.hasPlural && n.count != nil {
		c, err := n.count.Evaluate(child)
		if err != nil {
			return err
		}
		if !c.IsNumber() || c.IsBool() {
			return builtinError(n.name, ctx.Error(fmt.Sprintf("'%s' argument to '%s' tag must be a number.", n.countVar, n.name), n.start))
		}
		child.Private[n.countVar] = c
		if !(c.IsInteger() && c.Integer() == 1 || c.IsFloat() && c.Float() == 1) {
			msg = n.plural
		}
	}
	out := reMsgPlaceholder.ReplaceAllStringFunc(msg, func(m string) string {
		if m == "%%" {
			return "%"
		}
		v := lookupValue(child, m[2:len(m)-2])
		if v == nil {
			return ""
		}
		return renderValue(child, v, nil)
	})
	if n.asVar != "" {
		ctx.Private[n.asVar] = pongo2.AsSafeValue(out)
		return nil
	}
	_, _ = w.WriteString(out)
	return nil
}

// lookupValue is Django's context[name] for a blocktrans variable: a plain
// name (a dotted or filtered expression is not looked up, as in Django).
func lookupValue(ctx *pongo2.ExecutionContext, name string) *pongo2.Value {
	v, ok := ctx.Private[name]
	if !ok {
		v, ok = ctx.Public[name]
	}
	if !ok {
		return nil
	}
	if pv, isValue := v.(*pongo2.Value); isValue {
		return pv
	}
	return pongo2.AsValue(v)
}

var reTrimWhitespace = regexp.MustCompile(`\s*\n\s*`)

func parseBlockTransTag(doc *pongo2.Parser, start *pongo2.Token, args *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
	name := start.Val
	node := &blockTransNode{name: name, start: start}
	trimmed := false
	for args.Remaining() > 0 {
		opt := args.Current()
		args.Consume()
		switch opt.Val {
		case "with", "count":
			for args.Remaining() > 0 && args.PeekN(1, pongo2.TokenSymbol, "=") != nil {
				key := args.MatchType(pongo2.TokenIdentifier)
				if key == nil {
					return nil, builtinError(name, args.Error(fmt.Sprintf("\"%s\" in '%s' tag needs at least one keyword argument.", opt.Val, name), opt))
				}
				args.Consume() // =
				e, err := args.ParseExpression()
				if err != nil {
					return nil, builtinError(name, err)
				}
				if opt.Val == "count" {
					node.countVar, node.count = key.Val, e
					break
				}
				node.with = append(node.with, includeWith{key: key.Val, expr: e})
			}
			if opt.Val == "count" && node.count == nil || opt.Val == "with" && len(node.with) == 0 {
				return nil, builtinError(name, args.Error(fmt.Sprintf("\"%s\" in '%s' tag needs at least one keyword argument.", opt.Val, name), opt))
			}
		case "context":
			if _, err := args.ParseExpression(); err != nil {
				return nil, builtinError(name, err)
			}
		case "trimmed":
			trimmed = true
		case "asvar":
			v := args.MatchType(pongo2.TokenIdentifier)
			if v == nil {
				return nil, builtinError(name, args.Error("No argument provided to the '"+name+"' tag for the asvar option.", opt))
			}
			node.asVar = v.Val
		default:
			return nil, builtinError(name, args.Error(fmt.Sprintf("Unknown argument for '%s' tag: '%s'.", name, opt.Val), opt))
		}
	}
	// The body: text and {{ name }} only, read from the tokens as Django
	// reads it (the text is the message source, not rendered).
	var cur strings.Builder
	var last *pongo2.Token
	inPlural := false
	for {
		t := doc.Current()
		if t == nil {
			seen := ""
			if last != nil {
				seen = strings.TrimSpace(last.Val)
			}
			return nil, builtinError(name, doc.Error(fmt.Sprintf("'%s' doesn't allow other block tags (seen '%s') inside it", name, seen), start))
		}
		last = t
		switch {
		case t.Typ == pongo2.TokenSymbol && t.Val == "{{":
			doc.Consume()
			var expr []string
			for doc.Current() != nil && !(doc.Current().Typ == pongo2.TokenSymbol && doc.Current().Val == "}}") {
				expr = append(expr, doc.Current().Val)
				doc.Consume()
			}
			doc.Consume() // }}
			cur.WriteString("%(" + strings.Join(expr, "") + ")s")
		case t.Typ == pongo2.TokenSymbol && t.Val == "{%":
			doc.Consume()
			var words []string
			for doc.Current() != nil && !(doc.Current().Typ == pongo2.TokenSymbol && doc.Current().Val == "%}") {
				words = append(words, doc.Current().Val)
				doc.Consume()
			}
			doc.Consume() // %}
			contents := strings.Join(words, " ")
			switch {
			case contents == "plural" && node.count != nil && !inPlural:
				node.singular = cur.String()
				cur.Reset()
				inPlural = true
				continue
			case contents == "end"+name:
				if inPlural {
					node.plural, node.hasPlural = cur.String(), true
				} else {
					node.singular = cur.String()
				}
				if trimmed {
					node.singular = reTrimWhitespace.ReplaceAllString(strings.TrimSpace(node.singular), " ")
					node.plural = reTrimWhitespace.ReplaceAllString(strings.TrimSpace(node.plural), " ")
				}
				return node, nil
			}
			return nil, builtinError(name, doc.Error(fmt.Sprintf("'%s' doesn't allow other block tags (seen '%s') inside it", name, contents), t))
		default:
			doc.Consume()
			cur.WriteString(strings.ReplaceAll(t.Val, "%", "%%"))
		}
	}
}

// varNode sets a variable: {% get_current_language as v %} and
// {% get_current_language_bidi as v %}.
type varNode struct {
	name  string
	value any
}

func (n *varNode) Execute(ctx *pongo2.ExecutionContext, _ pongo2.TemplateWriter) *pongo2.Error {
	ctx.Private[n.name] = n.value
	return nil
}

func parseAsTag(value any) pongo2.TagParser {
	return func(_ *pongo2.Parser, start *pongo2.Token, args *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
		if args.Count() != 2 || args.Get(0).Val != "as" || args.Get(1).Typ != pongo2.TokenIdentifier {
			return nil, builtinError(start.Val, args.Error(fmt.Sprintf("'%s' requires 'as variable' (got %d arguments)", start.Val, args.Count()), start))
		}
		return &varNode{name: args.Get(1).Val, value: value}, nil
	}
}

// languageNode is {% language "code" %} … {% endlanguage %}: the body as
// it is.
type languageNode struct{ body *pongo2.NodeWrapper }

func (n *languageNode) Execute(ctx *pongo2.ExecutionContext, w pongo2.TemplateWriter) *pongo2.Error {
	return n.body.Execute(ctx, w)
}

func parseLanguageTag(doc *pongo2.Parser, start *pongo2.Token, args *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
	if args.Remaining() != 1 {
		return nil, builtinError("language", args.Error("'language' takes one argument (language)", start))
	}
	if _, err := args.ParseExpression(); err != nil {
		return nil, builtinError("language", err)
	}
	body, _, err := doc.WrapUntilTag("endlanguage")
	if err != nil {
		return nil, builtinError("language", err)
	}
	return &languageNode{body: body}, nil
}
