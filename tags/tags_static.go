package tags

import (
	"fmt"

	"github.com/flosch/pongo2/v6"
)

// StaticTagName is the name of Django's {% static %} tag ({% load static %}).
const StaticTagName = "static"

// StaticURLer gives the URL of a static file, as Django's
// staticfiles_storage.url(name) does: *staticfiles.Storage is one. Set it in
// Options.Static.
type StaticURLer interface {
	// URL returns the URL of the file name (with its hashed name), or an
	// error, for example for a name that is not a static file.
	URL(name string) (string, error)
}

// StaticPrefixer is implemented by a StaticURLer that knows its URL
// prefix, Django's STATIC_URL, which {% get_static_prefix %} writes:
// *staticfiles.Storage does.
type StaticPrefixer interface {
	// Prefix returns the prefix of the URLs, ending with "/".
	Prefix() string
}

func init() {
	replaceTag(StaticTagName, parseStaticTag)
	replaceTag("get_static_prefix", parseStaticPrefixTag)
}

// staticPrefixNode is a parsed {% get_static_prefix [as var] %}.
type staticPrefixNode struct {
	start *pongo2.Token
	asVar string
}

// parseStaticPrefixTag parses PrefixNode.handle_token's syntax.
func parseStaticPrefixTag(_ *pongo2.Parser, start *pongo2.Token, args *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
	n := &staticPrefixNode{start: start}
	if args.Remaining() == 0 {
		return n, nil
	}
	if args.Current().Val != "as" {
		return nil, builtinError("get_static_prefix", args.Error("First argument in 'get_static_prefix' must be 'as'", args.Current()))
	}
	if args.Remaining() != 2 || args.Get(1).Typ != pongo2.TokenIdentifier {
		return nil, builtinError("get_static_prefix", args.Error("'get_static_prefix' takes 'as variable'", start))
	}
	n.asVar = args.Get(1).Val
	return n, nil
}

// Execute writes the prefix as it is (Django's PrefixNode does not escape
// it) or stores it, unescaped, in the variable.
func (n *staticPrefixNode) Execute(ec *pongo2.ExecutionContext, w pongo2.TemplateWriter) *pongo2.Error {
	f, _ := ec.Public[ContextKey].(*Fragments)
	var p StaticPrefixer
	if f != nil {
		p, _ = f.static.(StaticPrefixer)
	}
	if p == nil {
		return builtinError("get_static_prefix", ec.Error("fragcache: {% get_static_prefix %} needs a tags.Options.Static with a Prefix method (a *staticfiles.Storage)", n.start))
	}
	if n.asVar != "" {
		ec.Private[n.asVar] = p.Prefix()
		return nil
	}
	_, _ = w.WriteString(p.Prefix())
	return nil
}

// staticNode is a parsed {% static path [as var] %}.
type staticNode struct {
	start *pongo2.Token
	path  pongo2.IEvaluator
	asVar string
}

// parseStaticTag parses Django's StaticNode.handle_token syntax:
// {% static path %} or {% static path as var %}, path being an expression.
func parseStaticTag(_ *pongo2.Parser, start *pongo2.Token, args *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
	if args.Remaining() == 0 {
		return nil, builtinError(StaticTagName, args.Error("'static' takes at least one argument (path to file)", start))
	}
	path, err := args.ParseExpression()
	if err != nil {
		return nil, builtinError(StaticTagName, err)
	}
	n := &staticNode{start: start, path: path}
	if args.Remaining() > 0 {
		as := args.Current()
		if as.Val != "as" || args.Remaining() != 2 {
			return nil, builtinError(StaticTagName, args.Error("'static' takes a path and, optionally, 'as variable'", as))
		}
		args.Consume()
		v := args.Current()
		if v.Typ != pongo2.TokenIdentifier {
			return nil, builtinError(StaticTagName, args.Error("'static': 'as' must be followed by a variable name", v))
		}
		n.asVar = v.Val
	}
	return n, nil
}

// Execute writes the URL, escaped in autoescape mode (Django's
// conditional_escape), or stores it in the variable: escaped and safe in
// autoescape mode, as Django stores it.
func (n *staticNode) Execute(ec *pongo2.ExecutionContext, w pongo2.TemplateWriter) *pongo2.Error {
	f, _ := ec.Public[ContextKey].(*Fragments)
	if f == nil || f.static == nil {
		return n.errorf(ec, "fragcache: {%% static %%} used in a template set without tags.Options.Static")
	}
	v, perr := n.path.Evaluate(ec)
	if perr != nil {
		return perr
	}
	name := ""
	switch {
	case v.IsNil():
		// A missing variable: Django resolves it to "".
	case v.IsString():
		name = v.String()
	default:
		return n.errorf(ec, "'static' path must be a string, got %T", v.Interface())
	}
	url, err := f.static.URL(name)
	if err != nil {
		return n.errorf(ec, "%v", err)
	}
	if n.asVar != "" {
		if ec.Autoescape {
			ec.Private[n.asVar] = pongo2.AsSafeValue(escapeHTML(url))
		} else {
			ec.Private[n.asVar] = url
		}
		return nil
	}
	if ec.Autoescape {
		url = escapeHTML(url)
	}
	_, _ = w.WriteString(url)
	return nil
}

func (n *staticNode) errorf(ec *pongo2.ExecutionContext, format string, a ...any) *pongo2.Error {
	return builtinError(StaticTagName, ec.Error(fmt.Sprintf(format, a...), n.start))
}
