package tags

import (
	"fmt"
	"log/slog"

	"github.com/flosch/pongo2/v6"
)

// plainPath returns the names of a word that is a plain dotted variable
// (an identifier, then identifiers or numbers after dots: request.user.id,
// items.0.title), or nil.
func plainPath(w word) []string {
	if len(w.toks)%2 == 0 || w.toks[0].Typ != pongo2.TokenIdentifier {
		return nil
	}
	names := make([]string, 0, (len(w.toks)+1)/2)
	for i, t := range w.toks {
		if i%2 == 1 {
			if t.Typ != pongo2.TokenSymbol || t.Val != "." {
				return nil
			}
			continue
		}
		if i > 0 && t.Typ != pongo2.TokenIdentifier && t.Typ != pongo2.TokenNumber {
			return nil
		}
		names = append(names, t.Val)
	}
	return names
}

// resolvePath resolves an argPath argument: its Go value (pyNone{} for a
// nil value, nil for a missing name or a nil met on the way), and, for a
// name of the path that does not exist, why. strict makes an ambiguous
// name an error.
func (a *arg) resolvePath(ec *pongo2.ExecutionContext, strict bool) (v any, absent *unresolvedError, perr *pongo2.Error) {
	defer func() {
		if r := recover(); r != nil {
			v, absent, perr = nil, nil, tagError(ec.Error(fmt.Sprintf("fragcache: panic evaluating %q: %v", a.text, r), a.tok))
		}
	}()
	res, err := a.path.resolve(ec, strict)
	if err != nil {
		return nil, nil, tagError(ec.Error(fmt.Sprintf("fragcache: {%% cache %%} vary-on argument %s: %v", a.text, err), a.tok))
	}
	switch {
	case res.absent != nil:
		return nil, res.absent, nil
	case res.none:
		// A value that is there and nil is Python's None, as Django
		// resolves it (a nil met on the way resolves to nil, keyed "").
		return pyNone{}, nil, nil
	case !res.v.IsValid():
		return nil, nil, nil
	}
	return res.v.Interface(), nil, nil
}

// varyOn resolves a vary-on argument. A plain dotted variable in which a
// name does not exist resolves to nil (keyed as "", as Django does), but is
// counted, logged once per template position, and, with
// Options.StrictVaryOn, a render error.
func (n *cacheNode) varyOn(ec *pongo2.ExecutionContext, f *Fragments, st *counters, a *arg) (any, *pongo2.Error) {
	if a.kind != argPath {
		return a.resolve(ec)
	}
	v, absent, perr := a.resolvePath(ec, f.strict)
	if perr != nil || absent == nil {
		return v, perr
	}
	st.unresolved.Add(1)
	f.unresolved.Add(1)
	if f.strict {
		return nil, tagError(ec.Error(fmt.Sprintf(
			"fragcache: {%% cache %%} vary-on argument %s of fragment %s does not resolve (%s); "+
				"it would be keyed as the empty string, so every render would share one fragment",
			a.text, n.name, absent.reason()), a.tok))
	}
	if f.logger != nil {
		if _, seen := f.unresolvedSeen.LoadOrStore(a, struct{}{}); !seen {
			f.logger.Warn("fragcache: {% cache %} vary-on argument does not resolve; it is keyed as the empty string, so every render shares one fragment",
				slog.String("template", a.tok.Filename),
				slog.Int("line", a.tok.Line),
				slog.Int("column", a.tok.Col),
				slog.String("expression", a.text),
				slog.String("fragment", n.name),
				slog.String("reason", absent.reason()))
		}
	}
	return nil, nil
}
