package tags

import (
	"github.com/flosch/pongo2/v6"
)

// LoadTagName is the name of the {% load %} tag.
const LoadTagName = "load"

// libraries lists the Django tag libraries {% load %} accepts: their tags
// and filters are registered with pongo2 (which has no per-template
// libraries), so loading one does nothing. needsDjangoBuiltins marks the
// libraries whose filters UseDjangoBuiltins installs.
var libraries = []struct {
	name                string
	needsDjangoBuiltins bool
}{
	{"cache", false},
	{"humanize", true},
	{"i18n", false},
	{"static", false},
}

// libraryList is the list in the unknown-library error, as Django gives it.
var libraryList = func() string {
	s := ""
	for i, l := range libraries {
		if i > 0 {
			s += "\n"
		}
		s += l.name
	}
	return s
}()

func init() {
	// pongo2 v6 has no {% load %}; Django templates start with
	// {% load cache %}, so accept it to keep templates portable both ways.
	replaceTag(LoadTagName, parseLoadTag)
}

type loadNode struct{}

func (loadNode) Execute(*pongo2.ExecutionContext, pongo2.TemplateWriter) *pongo2.Error { return nil }

// parseLoadTag accepts {% load lib … %} (and {% load name … from lib %})
// for the libraries above. Any other library is a parse error with
// Django's message, since its tags would not exist here; humanize is an
// error until UseDjangoBuiltins has installed its filters.
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
		known := false
		for _, l := range libraries {
			if l.name != w.Val {
				continue
			}
			known = true
			if l.needsDjangoBuiltins && !djangoBuiltinsInstalled.Load() {
				return nil, args.Error("'"+w.Val+"' tag library: its filters are installed by tags.UseDjangoBuiltins(), which has not been called (render.New calls it)", w)
			}
		}
		if !known {
			return nil, args.Error("'"+w.Val+"' is not a registered tag library. Must be one of:\n"+libraryList, w)
		}
	}
	return loadNode{}, nil
}
