package tags

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/flosch/pongo2/v6"
)

// A word is a run of argument tokens that touch in the source: what
// Django's Token.split_contents() yields as one bit. pongo2 has already
// split the tag into its own tokens and ignores whitespace, so the words are
// rebuilt from the token positions (same line, next column = end of the
// previous token).
type word struct {
	start, end int // token indexes in the argument parser: [start, end)
	toks       []*pongo2.Token
}

// tokenSpan returns the smallest and largest source length of a token:
// pongo2 drops the quotes of a string and unescapes \" and \\ in it, so the
// source may be longer than Val by the number of escapes, which is known
// only for double-quoted strings (a single-quoted one may hold " with or
// without a backslash).
func tokenSpan(t *pongo2.Token) (lo, hi int) {
	if t.Typ != pongo2.TokenString {
		return len(t.Val), len(t.Val)
	}
	bs := strings.Count(t.Val, `\`)
	dq := strings.Count(t.Val, `"`)
	return len(t.Val) + 2 + bs, len(t.Val) + 2 + bs + dq
}

// splitWords groups the argument tokens into whitespace-separated words.
func splitWords(args *pongo2.Parser) []word {
	var words []word
	n := args.Count()
	for i := 0; i < n; i++ {
		t := args.Get(i)
		if len(words) > 0 {
			w := &words[len(words)-1]
			prev := w.toks[len(w.toks)-1]
			lo, hi := tokenSpan(prev)
			if t.Line == prev.Line && t.Col >= prev.Col+lo && t.Col <= prev.Col+hi {
				w.toks = append(w.toks, t)
				w.end = i + 1
				continue
			}
		}
		words = append(words, word{start: i, end: i + 1, toks: []*pongo2.Token{t}})
	}
	return words
}

// text returns the word as written, as far as the tokens tell: strings are
// re-quoted with double quotes (pongo2 does not keep which quote was used).
func (w word) text() string {
	var b strings.Builder
	for _, t := range w.toks {
		writeTokenText(&b, t)
	}
	return b.String()
}

func writeTokenText(b *strings.Builder, t *pongo2.Token) {
	if t.Typ != pongo2.TokenString {
		b.WriteString(t.Val)
		return
	}
	b.WriteByte('"')
	for i := 0; i < len(t.Val); i++ {
		if c := t.Val[i]; c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(t.Val[i])
	}
	b.WriteByte('"')
}

// hasString reports whether the word has a string token.
func (w word) hasString() bool {
	for _, t := range w.toks {
		if t.Typ == pongo2.TokenString {
			return true
		}
	}
	return false
}

// isUsing reports whether the word starts with "using=", as Django tests
// the last bit of the tag.
func (w word) isUsing() bool {
	return len(w.toks) >= 2 && w.toks[0].Typ == pongo2.TokenIdentifier && w.toks[0].Val == "using" &&
		w.toks[1].Typ == pongo2.TokenSymbol && strings.HasPrefix(w.toks[1].Val, "=")
}

type argKind uint8

const (
	// argExpr is a pongo2 expression; a nil result is a missing variable,
	// which Django resolves to ''.
	argExpr argKind = iota
	// argConst is a Python literal known at parse time (pyNone{} for None).
	argConst
	// argLookup is a Django variable pongo2 reads differently: the words
	// True, False and None (names in Django's context, with built-in
	// values) and pongo2's keywords (true, in, not, …), which are ordinary
	// variable names for Django.
	argLookup
	// argPath is a plain dotted variable (a, a.b, a.0.c), resolved with
	// Django names (see names.go) and able to tell a missing name from a
	// nil value.
	argPath
)

// arg is one compiled tag argument.
type arg struct {
	kind    argKind
	expr    pongo2.IEvaluator
	lit     any    // argConst value; argLookup built-in value
	builtin bool   // argLookup: lit applies when the name is not in the context
	name    string // argLookup name
	text    string // the word, for messages
	tok     *pongo2.Token
	path    *varPath // argPath
}

// djangoVar matches the bits Django's FilterExpression reads as a variable
// or number without filters: [\w.]+ or [-+.]?\d[\d.e]*.
var djangoVar = regexp.MustCompile(`^(?:[\p{L}\p{N}_.]+|[-+.]?[0-9][0-9.e]*)$`)

// compileWord compiles one argument word. args must be positioned at
// w.start; on success it is positioned at w.end.
func compileWord(args *pongo2.Parser, w word) (arg, *pongo2.Error) {
	a := arg{text: w.text(), tok: w.toks[0]}
	first := w.toks[0]
	switch {
	case len(w.toks) == 1 && first.Typ == pongo2.TokenIdentifier &&
		(first.Val == "True" || first.Val == "False" || first.Val == "None"):
		a.kind, a.name, a.builtin = argLookup, first.Val, true
		switch first.Val {
		case "True":
			a.lit = true
		case "False":
			a.lit = false
		default:
			a.lit = pyNone{}
		}
		args.ConsumeN(1)
		return a, nil
	case len(w.toks) == 1 && first.Typ == pongo2.TokenKeyword:
		a.kind, a.name = argLookup, first.Val
		args.ConsumeN(1)
		return a, nil
	case len(w.toks) == 1 && first.Typ == pongo2.TokenString:
		// A quoted string: a constant, resolved once.
		a.kind, a.lit = argConst, first.Val
		args.ConsumeN(1)
		return a, nil
	case len(w.toks) == 4 && first.Typ == pongo2.TokenIdentifier && first.Val == "_" &&
		w.toks[1].Typ == pongo2.TokenSymbol && w.toks[1].Val == "(" &&
		w.toks[2].Typ == pongo2.TokenString &&
		w.toks[3].Typ == pongo2.TokenSymbol && w.toks[3].Val == ")":
		// _("text"): Django's translated literal; no translation here.
		a.kind, a.lit = argConst, w.toks[2].Val
		args.ConsumeN(4)
		return a, nil
	case !w.hasString() && djangoVar.MatchString(a.text):
		if v, ok := pyNumber(a.text); ok {
			a.kind, a.lit = argConst, v
			args.ConsumeN(len(w.toks))
			return a, nil
		}
	}
	if names := plainPath(w); names != nil {
		a.kind, a.path = argPath, newVarPath(names, a.text, first)
		args.ConsumeN(len(w.toks))
		return a, nil
	}
	expr, err := parseBounded(args, w)
	if err != nil {
		return a, err
	}
	a.kind, a.expr = argExpr, expr
	return a, nil
}

// parseBounded parses one pongo2 expression that must span exactly the
// tokens of w. pongo2's parser cannot be limited to a token range, so the
// token after the word is turned into a "%}" symbol (which no expression
// accepts) for the duration of the call, then restored.
func parseBounded(args *pongo2.Parser, w word) (expr pongo2.IEvaluator, perr *pongo2.Error) {
	if next := args.Get(w.end); next != nil {
		saved := *next
		next.Typ, next.Val = pongo2.TokenSymbol, "%}"
		defer func() { *next = saved }()
	}
	expr, perr = args.ParseExpression()
	if perr != nil {
		return nil, perr
	}
	if pos := args.Count() - args.Remaining(); pos < w.end {
		rest := word{toks: w.toks[pos-w.start:]}
		return nil, args.Error(fmt.Sprintf("Could not parse the remainder: '%s' from '%s'", rest.text(), w.text()), args.Get(pos))
	}
	return expr, nil
}

// resolve returns the Go value of an argument: pyNone{} for Python's None,
// nil for a missing variable (or a nil value, which pongo2 cannot tell
// apart).
func (a *arg) resolve(ctx *pongo2.ExecutionContext) (v any, perr *pongo2.Error) {
	switch a.kind {
	case argConst:
		return a.lit, nil
	case argLookup:
		if v, ok := lookup(ctx, a.name); ok {
			return v, nil
		}
		if a.builtin {
			return a.lit, nil
		}
		return nil, nil
	case argPath:
		v, _, perr := a.resolvePath(ctx, false)
		return v, perr
	}
	defer func() {
		if r := recover(); r != nil {
			perr = tagError(ctx.Error(fmt.Sprintf("fragcache: panic evaluating %q: %v", a.text, r), a.tok))
		}
	}()
	val, perr := a.expr.Evaluate(ctx)
	if perr != nil {
		return nil, perr
	}
	if val == nil {
		return nil, nil
	}
	return val.Interface(), nil
}

// lookup finds a plain variable in the context, as pongo2 resolves one
// (private names such as with/for variables first, then public ones).
func lookup(ctx *pongo2.ExecutionContext, name string) (any, bool) {
	v, ok := ctx.Private[name]
	if !ok {
		v, ok = ctx.Public[name]
	}
	if !ok {
		return nil, false
	}
	if pv, isValue := v.(*pongo2.Value); isValue {
		if pv == nil {
			return nil, true
		}
		return pv.Interface(), true
	}
	return v, true
}

// tagError marks an error as coming from the tag.
func tagError(e *pongo2.Error) *pongo2.Error {
	if e != nil {
		e.Sender = "tag:cache"
	}
	return e
}
