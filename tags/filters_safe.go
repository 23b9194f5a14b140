package tags

import (
	"errors"
	"math/rand"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/flosch/pongo2/v6"
)

// This file fixes the pongo2 v6 filters that Django registers with
// is_safe=True but that pongo2 returns unsafe: Django marks the result of
// such a filter safe when its input is safe, so {{ s|lower }} with a safe s
// writes its markup as it is, where pongo2's lower escaped it again
// (&amp;amp;). The text each filter computes is pongo2's (these are bug
// fixes, replaced at import, see builtins.go); only safeness changes, and
// cut follows Django (safe unless ';' is cut). Items of a list keep their
// own safeness through first, last, random and join.

// isSafeFilter makes fn one of Django's is_safe=True filters: the result
// of a safe input is marked safe. The result of an autoescape-dependent
// filter (autoescaped, both outputs safe) goes through fn twice, and the
// result keeps both outputs, as Django's would under either setting.
func isSafeFilter(fn pongo2.FilterFunction) pongo2.FilterFunction {
	return func(in, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
		in = unwrapValue(in)
		if a, ok := in.Interface().(autoescaped); ok {
			off, on := a.split()
			offV, err := fn(pongo2.AsSafeValue(off), param)
			if err != nil {
				return nil, err
			}
			onV, err := fn(pongo2.AsSafeValue(on), param)
			if err != nil {
				return nil, err
			}
			offS, onS := offV.String(), onV.String()
			if offS == onS {
				return markSafe(onV), nil
			}
			return newAutoescaped(offS, onS), nil
		}
		out, err := fn(in, param)
		if err != nil || !isSafe(in) {
			return out, err
		}
		return markSafe(out), nil
	}
}

// notSafeFilter runs fn, one of Django's is_safe=False string filters
// (upper), on the result of an autoescape-dependent filter as Django
// would: on both outputs, the autoescape-on one escaped again, since the
// result is not safe. Any other input goes to fn as it is.
func notSafeFilter(fn pongo2.FilterFunction) pongo2.FilterFunction {
	return func(in, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
		in = unwrapValue(in)
		a, ok := in.Interface().(autoescaped)
		if !ok {
			return fn(in, param)
		}
		off, on := a.split()
		offV, err := fn(pongo2.AsValue(off), param)
		if err != nil {
			return nil, err
		}
		onV, err := fn(pongo2.AsValue(on), param)
		if err != nil {
			return nil, err
		}
		return unsafeDual(offV.String(), onV.String()), nil
	}
}

// unsafeDual is an unsafe result computed from both outputs of an
// autoescape-dependent filter: off is written as it is with autoescape
// off, on escaped with autoescape on.
func unsafeDual(off, on string) *pongo2.Value {
	return newAutoescaped(off, escapeHTML(on))
}

// markSafe returns v marked safe (Django's mark_safe), v itself if it is.
func markSafe(v *pongo2.Value) *pongo2.Value {
	if v == nil {
		return pongo2.AsSafeValue("")
	}
	if isSafe(v) {
		return v
	}
	return pongo2.AsSafeValue(v.Interface())
}

// unwrapValue returns the *pongo2.Value that v holds, if it holds one: an
// item of a list made of pongo2 values (a safe string among others),
// which pongo2's Index wraps in a value of its own that is never safe.
func unwrapValue(v *pongo2.Value) *pongo2.Value {
	if v == nil {
		return nilValue
	}
	if inner, ok := v.Interface().(*pongo2.Value); ok && inner != nil {
		return inner
	}
	return v
}

// stringFilter adapts f(text) to a filter of the value as pongo2 prints it.
func stringFilter(f func(s string) string) pongo2.FilterFunction {
	return func(in, _ *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
		return pongo2.AsValue(f(in.String())), nil
	}
}

// safeFilters are the is_safe filters this file replaces at import.
var safeFilters = map[string]pongo2.FilterFunction{
	"addslashes":    isSafeFilter(stringFilter(addslashes)),
	"capfirst":      isSafeFilter(stringFilter(capfirst)),
	"lower":         isSafeFilter(stringFilter(strings.ToLower)),
	"striptags":     isSafeFilter(stringFilter(striptags)),
	"phone2numeric": isSafeFilter(stringFilter(phone2numeric)),
	"center":        isSafeFilter(filterCenter),
	"ljust":         isSafeFilter(filterLjust),
	"rjust":         isSafeFilter(filterRjust),
	"slice":         isSafeFilter(filterSlice),
	"last":          isSafeFilter(filterLast),
	"random":        isSafeFilter(filterRandom),
	"upper":         notSafeFilter(stringFilter(strings.ToUpper)),
	"first":         filterFirst,
	"cut":           filterCut,
}

var addslashesReplacer = strings.NewReplacer(`\`, `\\`, `"`, `\"`, `'`, `\'`)

// addslashes is Django's (and pongo2's) addslashes.
func addslashes(s string) string { return addslashesReplacer.Replace(s) }

// capfirst upper-cases the first character.
func capfirst(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 {
		return s
	}
	return strings.ToUpper(string(r)) + s[size:]
}

var reStriptags = regexp.MustCompile("<[^>]*?>")

// striptags is pongo2's striptags: tags removed, surrounding whitespace
// trimmed.
func striptags(s string) string {
	return strings.TrimSpace(reStriptags.ReplaceAllString(s, ""))
}

var phoneReplacer = func() *strings.Replacer {
	var pairs []string
	for i, digit := range "22233344455566677778889999" {
		c := string(rune('a' + i))
		pairs = append(pairs, c, string(digit), strings.ToUpper(c), string(digit))
	}
	return strings.NewReplacer(pairs...)
}()

// phone2numeric is pongo2's phone2numeric: letters to their keypad digits.
func phone2numeric(s string) string { return phoneReplacer.Replace(s) }

// padding returns the spaces that pad s to width characters.
func padding(s string, width int) int {
	return max(width-utf8.RuneCountInString(s), 0)
}

// filterCenter centers the text in width characters as Python's
// str.center does (Django up to 5.2; 6.1 puts an odd space on the right):
// an odd space goes on the left when the width is odd. pongo2's always put
// it on the left.
func filterCenter(in, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	s, width := in.String(), param.Integer()
	n := padding(s, width)
	if n == 0 {
		return in, nil
	}
	left := n/2 + n&width&1
	return pongo2.AsValue(strings.Repeat(" ", left) + s + strings.Repeat(" ", n-left)), nil
}

// filterLjust pads the text on the right to width characters.
func filterLjust(in, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	s := in.String()
	return pongo2.AsValue(s + strings.Repeat(" ", padding(s, param.Integer()))), nil
}

// filterRjust pads the text on the left to width characters.
func filterRjust(in, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	s := in.String()
	return pongo2.AsValue(strings.Repeat(" ", padding(s, param.Integer())) + s), nil
}

// filterCut is Django's cut: every occurrence of the argument removed; a
// safe input stays safe unless the argument is ";" (cutting it could break
// an entity such as &amp;). The autoescape-on output of an
// autoescape-dependent filter is the one cut (both would be safe).
func filterCut(in, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	t := input(unwrapValue(in))
	arg := param.String()
	if t.dual {
		off := strings.ReplaceAll(t.off, arg, "")
		on := strings.ReplaceAll(t.on, arg, "")
		switch {
		case arg == ";":
			return unsafeDual(off, on), nil
		case off == on:
			return pongo2.AsSafeValue(on), nil
		}
		return newAutoescaped(off, on), nil
	}
	out := strings.ReplaceAll(t.off, arg, "")
	if t.safe && arg != ";" {
		return pongo2.AsSafeValue(out), nil
	}
	return pongo2.AsValue(out), nil
}

// filterFirst is the first item of a list (with its own safeness) or "".
func filterFirst(in, _ *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	if in.CanSlice() && in.Len() > 0 {
		return unwrapValue(in.Index(0)), nil
	}
	return pongo2.AsValue(""), nil
}

// filterLast is the last item of a list (with its own safeness), or of a
// string, or "".
func filterLast(in, _ *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	if in.CanSlice() && in.Len() > 0 {
		return unwrapValue(in.Index(in.Len() - 1)), nil
	}
	return pongo2.AsValue(""), nil
}

// filterRandom is a random item of a list (with its own safeness); any
// other value is returned as it is.
func filterRandom(in, _ *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	if !in.CanSlice() || in.Len() <= 0 {
		return in, nil
	}
	return unwrapValue(in.Index(rand.Intn(in.Len()))), nil
}

// filterSlice is pongo2's slice: "from:to", either may be omitted or
// negative (counted from the end), clamped to the bounds.
func filterSlice(in, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	from, to, ok := strings.Cut(param.String(), ":")
	if !ok || strings.Contains(to, ":") {
		return nil, &pongo2.Error{
			Sender:    "filter:slice",
			OrigError: errors.New("Slice string must have the format 'from:to' [from/to can be omitted, but the ':' is required]"),
		}
	}
	if !in.CanSlice() {
		return in, nil
	}
	n := in.Len()
	bound := func(s string, dflt int) int {
		if strings.TrimSpace(s) == "" {
			return dflt
		}
		i := pongo2.AsValue(s).Integer()
		if i < 0 {
			i = max(n+i, 0)
		}
		return min(i, n)
	}
	i := bound(from, 0)
	j := max(bound(to, n), i)
	return in.Slice(i, j), nil
}

// filterSafeseq is Django's safeseq: each item of a list (or character of
// a string) marked safe, for join, first and the like. Any other value is
// returned as it is (Django fails on a value it cannot iterate).
func filterSafeseq(in, _ *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	if !in.CanSlice() {
		return in, nil
	}
	out := make([]any, in.Len())
	for i := range out {
		out[i] = markSafe(unwrapValue(in.Index(i)))
	}
	return pongo2.AsValue(out), nil
}
