package tags

import (
	"github.com/flosch/pongo2/v6"
)

// LoadTagName is the name of the {% load %} tag.
const LoadTagName = "load"

// loadable reports whether this package provides the tags of a Django tag
// library, so that {% load cache %} is accepted and does nothing.
func loadable(library string) bool { return library == "cache" }

func init() {
	// pongo2 v6 has no {% load %}; Django templates start with
	// {% load cache %}, so accept it to keep templates portable both ways.
	if pongo2.RegisterTag(LoadTagName, parseLoadTag) != nil {
		_ = pongo2.ReplaceTag(LoadTagName, parseLoadTag)
	}
}

type loadNode struct{}

func (loadNode) Execute(*pongo2.ExecutionContext, pongo2.TemplateWriter) *pongo2.Error { return nil }

// parseLoadTag accepts {% load cache %} (and {% load cache from ... %}
// naming only tags of the libraries above). Any other library is a parse
// error with Django's message, since its tags would not exist here.
func parseLoadTag(_ *pongo2.Parser, start *pongo2.Token, args *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
	if args.Remaining() == 0 {
		return nil, args.Error("'load' tag requires at least one argument.", start)
	}
	var words []*pongo2.Token
	for args.Remaining() > 0 {
		words = append(words, args.Current())
		args.Consume()
	}
	libs := words
	// {% load tag1 tag2 from library %}
	if len(words) >= 3 && words[len(words)-2].Val == "from" {
		libs = words[len(words)-1:]
	}
	for _, w := range libs {
		if !loadable(w.Val) {
			return nil, args.Error("'"+w.Val+"' is not a registered tag library. Must be one of:\ncache", w)
		}
	}
	return loadNode{}, nil
}
