package tags

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/flosch/pongo2/v6"
)

// This file fixes pongo2 v6 filters whose output differs from Django's in
// escaping or markup only (or that panic), and replaces them process-wide
// at import (see builtins.go):
//
//   - escape: pongo2's result is not marked safe, so {{ x|escape }} is
//     escaped twice under autoescape; it writes &#39; for ' (Django
//     &#x27;) and escapes a safe value again. pongo2's autoescaping of
//     {{ }} calls this filter, so autoescaped output is Django's too.
//   - linebreaks, linebreaksbr, linenumbers, join: pongo2 does not escape
//     the text and does not mark its own <p>/<br> safe, so autoescape
//     escapes the markup (and |safe leaves the text unescaped, an XSS).
//     Django escapes the text under autoescape and emits the markup.
//   - safe: see autoescaped below.
//   - wordwrap: pongo2's panics (slice bounds) when the text has fewer
//     words than the width; the fix keeps pongo2's meaning (a line break
//     every N words). Django's wraps at N characters: UseDjangoBuiltins.

// autoescaped is the result of a Django filter whose output depends on
// autoescape (Django's needs_autoescape filters). pongo2 gives a filter no
// access to the autoescape setting, so the filter computes both outputs:
// the value prints (String, as pongo2 prints it with autoescape off, or
// in {% filter %}) the output Django gives with autoescape off, and
// pongo2's autoescaping of {{ }}, which calls the escape filter, gets the
// output Django gives with autoescape on. The value is a string kind, so
// that pongo2 does autoescape it; it holds both outputs, the first
// preceded by its length and a colon. An explicit |safe after the filter
// gives the autoescape-on output (Django's, under autoescape; with
// autoescape off Django would give the other).
type autoescaped string

// newAutoescaped returns a value holding both outputs.
func newAutoescaped(off, on string) *pongo2.Value {
	return pongo2.AsValue(autoescaped(strconv.Itoa(len(off)) + ":" + off + on))
}

// split returns the autoescape-off and autoescape-on outputs.
func (a autoescaped) split() (off, on string) {
	s := string(a)
	i := strings.IndexByte(s, ':')
	if i < 0 {
		return s, s
	}
	n, err := strconv.Atoi(s[:i])
	if err != nil || n < 0 || i+1+n > len(s) {
		return s, s
	}
	return s[i+1 : i+1+n], s[i+1+n:]
}

// String returns the autoescape-off output.
func (a autoescaped) String() string {
	off, _ := a.split()
	return off
}

// textInput is a filter's input as Django sees it: its text (the value as
// pongo2 prints it), whether it is safe, and, for the result of an
// autoescape-dependent filter, its two outputs (both safe).
type textInput struct {
	off, on string
	safe    bool
	dual    bool
}

func input(in *pongo2.Value) textInput {
	if in != nil {
		in = unwrapValue(in)
		if a, ok := in.Interface().(autoescaped); ok {
			off, on := a.split()
			return textInput{off: off, on: on, safe: true, dual: true}
		}
	}
	s := ""
	if in != nil {
		s = in.String()
	}
	return textInput{off: s, on: s, safe: isSafe(in)}
}

// apply runs a needs_autoescape filter: f(text, autoescape) for both
// settings, and returns a safe string when both agree.
func (t textInput) apply(f func(text string, autoescape bool) string) *pongo2.Value {
	off := f(t.off, false)
	on := f(t.on, !t.safe)
	if off == on {
		return pongo2.AsSafeValue(on)
	}
	return newAutoescaped(off, on)
}

// filterEscape is Django's escape filter (conditional_escape): a safe
// value is returned as is, anything else escaped and marked safe. A value
// whose text has nothing to escape is returned as it is too: it prints the
// same, and pongo2 calls this filter for every autoescaped {{ }}, where
// that costs no allocation.
func filterEscape(in *pongo2.Value, _ *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	if a, ok := in.Interface().(autoescaped); ok {
		_, on := a.split()
		return pongo2.AsSafeValue(on), nil
	}
	s := in.String()
	if strings.IndexAny(s, "&<>\"'") < 0 || isSafe(in) {
		return in, nil
	}
	return pongo2.AsSafeValue(escapeHTML(s)), nil
}

// filterSafe is Django's safe: it marks the value safe (pongo2's only
// marked the expression, so the filters after it saw an unsafe value),
// and fixes the output of an autoescape-dependent filter to the
// autoescape-on one.
func filterSafe(in *pongo2.Value, _ *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	if in == nil {
		return pongo2.AsSafeValue(""), nil
	}
	if a, ok := in.Interface().(autoescaped); ok {
		_, on := a.split()
		return pongo2.AsSafeValue(on), nil
	}
	if isSafe(in) {
		return in, nil
	}
	return pongo2.AsSafeValue(in.Interface()), nil
}

// filterForceEscape is Django's force_escape: always escapes, even a safe
// value, and marks the result safe.
func filterForceEscape(in *pongo2.Value, _ *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	return pongo2.AsSafeValue(escapeHTML(input(in).on)), nil
}

var reNewlines = regexp.MustCompile("\r\n|\r")
var reParagraphs = regexp.MustCompile("\n{2,}")

// normalizeNewlines is Django's normalize_newlines.
func normalizeNewlines(s string) string {
	if !strings.Contains(s, "\r") {
		return s
	}
	return reNewlines.ReplaceAllString(s, "\n")
}

// linebreaks is django.utils.html.linebreaks.
func linebreaks(s string, autoescape bool) string {
	paras := reParagraphs.Split(normalizeNewlines(s), -1)
	var b strings.Builder
	for i, p := range paras {
		if i > 0 {
			b.WriteString("\n\n")
		}
		if autoescape {
			p = escapeHTML(p)
		}
		b.WriteString("<p>")
		b.WriteString(strings.ReplaceAll(p, "\n", "<br>"))
		b.WriteString("</p>")
	}
	return b.String()
}

// filterLinebreaks is Django's linebreaks filter.
func filterLinebreaks(in *pongo2.Value, _ *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	return input(in).apply(linebreaks), nil
}

// filterLinebreaksbr is Django's linebreaksbr filter.
func filterLinebreaksbr(in *pongo2.Value, _ *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	return input(in).apply(func(s string, autoescape bool) string {
		s = normalizeNewlines(s)
		if autoescape {
			s = escapeHTML(s)
		}
		return strings.ReplaceAll(s, "\n", "<br>")
	}), nil
}

// filterLinenumbers is Django's linenumbers filter: numbers zero-padded to
// the width of the line count.
func filterLinenumbers(in *pongo2.Value, _ *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	return input(in).apply(func(s string, autoescape bool) string {
		lines := strings.Split(s, "\n")
		width := len(strconv.Itoa(len(lines)))
		var b strings.Builder
		for i, line := range lines {
			if i > 0 {
				b.WriteByte('\n')
			}
			if autoescape {
				line = escapeHTML(line)
			}
			fmt.Fprintf(&b, "%0*d. %s", width, i+1, line)
		}
		return b.String()
	}), nil
}

// filterJoin is Django's join: under autoescape the items are escaped
// (unless safe); the separator is taken as written, as Django takes a
// string literal in a template (which is safe). A value that is not a
// list is returned as it is.
func filterJoin(in *pongo2.Value, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	return join(in, param, false)
}

// filterJoinDjango is Django's join in a template rewritten by DjangoNames,
// where string literals are safe: an unsafe separator (a variable's) is
// escaped under autoescape too, as Django escapes it.
func filterJoinDjango(in *pongo2.Value, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	if param == nil {
		param = nilValue
	}
	return join(in, param, true)
}

// join joins the items of in with param's text; escapeStrings says whether
// an unsafe string separator is escaped under autoescape (otherwise only
// a separator that is not a string is).
func join(in, param *pongo2.Value, escapeStrings bool) (*pongo2.Value, *pongo2.Error) {
	if in == nil || !in.CanSlice() || in.IsString() {
		return in, nil
	}
	sep := input(param)
	n := in.Len()
	off := make([]string, n)
	on := make([]string, n)
	for i := range n {
		item := input(in.Index(i))
		off[i] = item.off
		on[i] = item.on
		if !item.safe {
			on[i] = escapeHTML(item.on)
		}
	}
	sepOn := sep.on
	if !sep.safe && param != nil && (escapeStrings || !param.IsString()) {
		sepOn = escapeHTML(sep.on)
	}
	offS, onS := strings.Join(off, sep.off), strings.Join(on, sepOn)
	if offS == onS {
		return pongo2.AsSafeValue(onS), nil
	}
	return newAutoescaped(offS, onS), nil
}

// filterWordwrapWords is pongo2's wordwrap (a line break after every N
// words) without its panic when the text has fewer words than N.
func filterWordwrapWords(in *pongo2.Value, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	words := strings.Fields(in.String())
	n := param.Integer()
	if n <= 0 {
		return in, nil
	}
	var lines []string
	for i := 0; i < len(words); i += n {
		lines = append(lines, strings.Join(words[i:min(i+n, len(words))], " "))
	}
	return pongo2.AsValue(strings.Join(lines, "\n")), nil
}
