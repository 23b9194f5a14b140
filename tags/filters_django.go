package tags

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/flosch/pongo2/v6"
)

// djangoFilters are the filters UseDjangoBuiltins installs: Django's
// versions of pongo2 filters whose meaning differs (date and time take
// Django's format codes, truncation appends "…", wordwrap counts
// characters, yesno maps None, …) and Django filters pongo2 lacks.
var djangoFilters = map[string]pongo2.FilterFunction{
	"force_escape":       filterForceEscape,
	"truncatechars":      isSafeFilter(filterTruncatechars),
	"truncatewords":      isSafeFilter(filterTruncatewords),
	"truncatechars_html": isSafeFilter(filterTruncatecharsHTML),
	"truncatewords_html": isSafeFilter(filterTruncatewordsHTML),
	"unordered_list":     filterUnorderedList,
	"safeseq":            filterSafeseq,
	"json_script":        filterJSONScript,
	"filesizeformat":     isSafeFilter(filterFilesizeformat),
	"title":              isSafeFilter(filterTitle),
	"yesno":              filterYesno,
	"urlencode":          filterURLEncode,
	"iriencode":          isSafeFilter(filterIRIEncode),
	"stringformat":       isSafeFilter(filterStringformat),
	"wordwrap":           isSafeFilter(filterWordwrap),
	"urlize":             filterURLize,
	"urlizetrunc":        filterURLizetrunc,
	"date":               filterDate,
	"time":               filterTime,
	"timesince":          filterTimesince,
	"timeuntil":          filterTimeuntil,
}

var useDjangoBuiltins sync.Once

// UseDjangoBuiltins makes pongo2's filter and tag registries, which are
// process-wide, use Django's versions of the built-ins whose meaning
// differs between pongo2 and Django (the date and time filters and the now
// tag take Django's format codes, truncation appends "…", widthratio
// rounds, …), and adds Django filters pongo2 lacks (force_escape,
// unordered_list, filesizeformat, the django.contrib.humanize filters, …;
// the package documentation lists them). It changes every pongo2 template
// parsed afterwards in the process, which is why importing the package
// does not do it: render.New calls it; call it yourself, before parsing
// templates, to use Django templates with pongo2 directly. It is safe to
// call more than once and from several goroutines (the first call does the
// work); it must not run while templates are parsed or rendered, as pongo2
// reads its registries without a lock.
func UseDjangoBuiltins() {
	useDjangoBuiltins.Do(func() {
		for name, fn := range djangoFilters {
			replaceFilter(name, fn)
		}
		for name, fn := range humanizeFilters {
			replaceFilter(name, fn)
		}
		for name, fn := range djangoNowTags {
			replaceTag(name, fn)
		}
		djangoBuiltinsInstalled.Store(true)
	})
}

// ---- truncation (django.utils.text.Truncator, Django 3.2) ----

// isCombining approximates unicodedata.combining(c) != 0.
func isCombining(r rune) bool { return unicode.Is(unicode.Mn, r) }

// addTruncation is Truncator.add_truncation_text.
func addTruncation(text, truncate string) string {
	if strings.HasSuffix(text, truncate) {
		return text
	}
	return text + truncate
}

// truncateChars is Truncator.chars(length) with Django's "…".
func truncateChars(text string, length int) string {
	const truncate = "…"
	truncateLen := length - 1 // the length of "…"
	sLen := 0
	end := -1
	for i, r := range text {
		if isCombining(r) {
			continue
		}
		sLen++
		if end < 0 && sLen > truncateLen {
			end = i
		}
		if sLen > length {
			if end < 0 {
				end = 0
			}
			return addTruncation(text[:end], truncate)
		}
	}
	return text
}

// truncateWords is Truncator.words(length, truncate=" …").
func truncateWords(text string, length int) string {
	words := strings.Fields(text)
	if len(words) > length {
		return addTruncation(strings.Join(words[:max(length, 0)], " "), " …")
	}
	return strings.Join(words, " ")
}

var (
	reHTMLChars = regexp.MustCompile(`(?s)<[^>]+?>|(.)`)
	reHTMLWords = regexp.MustCompile(`(?s)<[^>]+?>|([^<>\s]+)`)
	reHTMLTag   = regexp.MustCompile(`(?s)^<(/)?(\S+?)(?:(\s*/)|\s.*?)?>$`)
)

var htmlSinglets = map[string]bool{"br": true, "col": true, "link": true, "base": true, "img": true, "param": true, "area": true, "hr": true, "input": true}

// truncateHTML is Django 3.2's Truncator._truncate_html: it truncates to
// length characters or words not counting tags, and closes the tags left
// open.
func truncateHTML(text string, length, truncateLen int, words bool, truncate string) string {
	if words && length <= 0 {
		return ""
	}
	re := reHTMLChars
	if words {
		re = reHTMLWords
	}
	pos, endTextPos, currentLen := 0, 0, 0
	var openTags []string
	for currentLen <= length {
		m := re.FindStringSubmatchIndex(text[pos:])
		if m == nil {
			break
		}
		start, end := pos+m[0], pos+m[1]
		pos = end
		if m[2] >= 0 {
			currentLen++
			if currentLen == truncateLen {
				endTextPos = pos
			}
			continue
		}
		tag := reHTMLTag.FindStringSubmatch(text[start:end])
		if tag == nil || currentLen >= truncateLen {
			continue
		}
		closing, name, selfClosing := tag[1], strings.ToLower(tag[2]), tag[3]
		switch {
		case selfClosing != "" || htmlSinglets[name]:
		case closing != "":
			if len(openTags) > 0 && openTags[0] == name {
				openTags = openTags[1:]
			}
		default:
			openTags = append([]string{name}, openTags...)
		}
	}
	if currentLen <= length {
		return text
	}
	var b strings.Builder
	b.WriteString(text[:endTextPos])
	b.WriteString(truncate)
	for _, t := range openTags {
		b.WriteString("</" + t + ">")
	}
	return b.String()
}

// intArg is Django's int(arg) for a filter argument; ok is false when
// Django's filter would fail silently.
func intArg(param *pongo2.Value) (int, bool) {
	if param == nil || param.IsNil() {
		return 0, false
	}
	if param.IsInteger() {
		return param.Integer(), true
	}
	if param.IsFloat() {
		return int(param.Float()), true
	}
	n, err := strconv.Atoi(strings.TrimSpace(param.String()))
	return n, err == nil
}

// keepSafety returns s with in's safety (Django's is_safe=True filters).
func keepSafety(in *pongo2.Value, s string) *pongo2.Value {
	if isSafe(in) {
		return pongo2.AsSafeValue(s)
	}
	return pongo2.AsValue(s)
}

func filterTruncatechars(in, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	n, ok := intArg(param)
	if !ok {
		return in, nil
	}
	return keepSafety(in, truncateChars(in.String(), n)), nil
}

func filterTruncatewords(in, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	n, ok := intArg(param)
	if !ok {
		return in, nil
	}
	return keepSafety(in, truncateWords(in.String(), n)), nil
}

func filterTruncatecharsHTML(in, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	n, ok := intArg(param)
	if !ok {
		return in, nil
	}
	return keepSafety(in, truncateHTML(in.String(), n, n-1, false, "…")), nil
}

func filterTruncatewordsHTML(in, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	n, ok := intArg(param)
	if !ok {
		return in, nil
	}
	return keepSafety(in, truncateHTML(in.String(), n, n, true, " …")), nil
}

// ---- unordered_list ----

// filterUnorderedList is Django's unordered_list: a list whose items may
// be followed by a list of their children, as nested <li>/<ul> without
// the outer <ul>; item text is escaped under autoescape unless safe.
func filterUnorderedList(in, _ *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	var off, on strings.Builder
	listFormat(&off, in, 1, false)
	listFormat(&on, in, 1, true)
	if off.String() == on.String() {
		return pongo2.AsSafeValue(on.String()), nil
	}
	return newAutoescaped(off.String(), on.String()), nil
}

// isList reports whether v is a list for unordered_list (not a string).
func isList(v *pongo2.Value) bool {
	return v != nil && !v.IsNil() && !v.IsString() && v.CanSlice()
}

func listFormat(b *strings.Builder, list *pongo2.Value, tabs int, autoescape bool) {
	if !isList(list) {
		return
	}
	indent := strings.Repeat("\t", tabs)
	n := list.Len()
	first := true
	for i := 0; i < n; i++ {
		item := list.Index(i)
		var children *pongo2.Value
		if i+1 < n && isList(list.Index(i+1)) {
			children = list.Index(i + 1)
			i++
		}
		if !first {
			b.WriteByte('\n')
		}
		first = false
		b.WriteString(indent + "<li>")
		t := input(item)
		switch {
		case !autoescape:
			b.WriteString(t.off)
		case t.safe:
			b.WriteString(t.on)
		default:
			b.WriteString(escapeHTML(t.on))
		}
		if children != nil && children.Len() > 0 {
			b.WriteString("\n" + indent + "<ul>\n")
			listFormat(b, children, tabs+1, autoescape)
			b.WriteString("\n" + indent + "</ul>\n" + indent)
		}
		b.WriteString("</li>")
	}
}

// ---- numbers and text ----

// filterFilesizeformat is Django's filesizeformat (English), with
// non-breaking spaces.
func filterFilesizeformat(in, _ *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	var n float64
	switch {
	case in.IsInteger():
		n = float64(in.Integer())
	case in.IsFloat():
		n = math.Trunc(in.Float())
	default:
		if f, err := strconv.ParseFloat(strings.TrimSpace(in.String()), 64); err == nil {
			n = math.Trunc(f)
		}
	}
	neg := n < 0
	if neg {
		n = -n
	}
	const kb = 1 << 10
	var s string
	switch {
	case n == 1:
		s = "1 byte"
	case n < kb:
		s = strconv.FormatFloat(n, 'f', 0, 64) + " bytes"
	case n < kb*kb:
		s = strconv.FormatFloat(n/kb, 'f', 1, 64) + " KB"
	case n < kb*kb*kb:
		s = strconv.FormatFloat(n/(kb*kb), 'f', 1, 64) + " MB"
	case n < kb*kb*kb*kb:
		s = strconv.FormatFloat(n/(kb*kb*kb), 'f', 1, 64) + " GB"
	case n < kb*kb*kb*kb*kb:
		s = strconv.FormatFloat(n/(kb*kb*kb*kb), 'f', 1, 64) + " TB"
	default:
		s = strconv.FormatFloat(n/(kb*kb*kb*kb*kb), 'f', 1, 64) + " PB"
	}
	if neg {
		s = "-" + s
	}
	return pongo2.AsValue(strings.ReplaceAll(s, " ", "\u00a0")), nil
}

var (
	reTitleApos  = regexp.MustCompile(`([a-z])'([A-Z])`)
	reTitleDigit = regexp.MustCompile(`\d([A-Z])`)
)

// pyTitle is Python's str.title(): a cased character is upper-cased when
// the character before it is not cased, lower-cased otherwise.
func pyTitle(s string) string {
	var b strings.Builder
	prevCased := false
	for _, r := range s {
		cased := unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r)
		switch {
		case cased && !prevCased:
			b.WriteRune(unicode.ToTitle(r))
		case cased:
			b.WriteRune(unicode.ToLower(r))
		default:
			b.WriteRune(r)
		}
		prevCased = cased
	}
	return b.String()
}

// filterTitle is Django's title.
func filterTitle(in, _ *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	t := reTitleApos.ReplaceAllStringFunc(pyTitle(in.String()), strings.ToLower)
	t = reTitleDigit.ReplaceAllStringFunc(t, strings.ToLower)
	return pongo2.AsValue(t), nil
}

// filterYesno is Django's yesno: "yes,no,maybe" by default; with two
// choices, None maps to the second; fewer than two returns the value.
func filterYesno(in, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	arg := "yes,no,maybe"
	if param != nil && !param.IsNil() {
		arg = param.String()
	}
	bits := strings.Split(arg, ",")
	if len(bits) < 2 {
		return in, nil
	}
	yes, no, maybe := bits[0], bits[1], bits[1]
	if len(bits) == 3 {
		maybe = bits[2]
	} else if len(bits) > 3 {
		// Python's three-way unpacking fails: Django uses the first two.
		maybe = bits[1]
	}
	switch {
	case in == nil || in.IsNil():
		return pongo2.AsValue(maybe), nil
	case in.IsTrue():
		return pongo2.AsValue(yes), nil
	}
	return pongo2.AsValue(no), nil
}

// pyQuote is urllib.parse.quote(s, safe): UTF-8 bytes other than letters,
// digits, "_.-~" and the safe characters are %XX-escaped.
func pyQuote(s, safe string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < utf8.RuneSelf && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("_.-~", c) >= 0 || strings.IndexByte(safe, c) >= 0) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// filterURLEncode is Django's urlencode: quote() with "/" safe by
// default, or the argument's characters. Its result is never safe (Django
// registers it with is_safe=False).
func filterURLEncode(in, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	safe := "/"
	if param != nil && !param.IsNil() {
		safe = param.String()
	}
	return pongo2.AsValue(pyQuote(in.String(), safe)), nil
}

// filterIRIEncode is Django's iriencode (iri_to_uri).
func filterIRIEncode(in, _ *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	return keepSafety(in, pyQuote(in.String(), "/#%[]=:;$&()+,!?*@'~")), nil
}

// filterStringformat is Django's stringformat: Python's "%" + arg
// formatting of the value, for the common conversions (d i o x X e E f F g
// G s r c and flags/width/precision); an unknown conversion gives "", as
// Django's failing % does.
func filterStringformat(in, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	m := reStringformat.FindStringSubmatch(param.String())
	if m == nil || strings.Contains(m[3], "%") {
		return pongo2.AsValue(""), nil
	}
	flags, verb, rest := m[1], m[2][0], m[3]
	var s string
	switch verb {
	case 'd', 'i', 'u':
		s = fmt.Sprintf("%"+flags+"d", pyInt(in))
	case 'o', 'x', 'X':
		s = fmt.Sprintf("%"+flags+string(verb), pyInt(in))
	case 'e', 'E', 'f', 'F', 'g', 'G':
		if verb == 'F' {
			verb = 'f'
		}
		s = fmt.Sprintf("%"+flags+string(verb), in.Float())
	default: // 's'
		s = fmt.Sprintf("%"+flags+"s", in.String())
	}
	return pongo2.AsValue(s + rest), nil
}

// reStringformat splits a Python conversion: flags, width and precision;
// the conversion; the literal text after it.
var reStringformat = regexp.MustCompile(`^([-+ #0]*\d*(?:\.\d+)?)([diouxXeEfFgGs])(.*)$`)

// pyInt is Python's int() of a filter input, for %d.
func pyInt(in *pongo2.Value) int {
	if in.IsFloat() {
		return int(in.Float())
	}
	return in.Integer()
}

// filterWordwrap is Django's wordwrap (Django 6.1's django.utils.text.wrap,
// Python's textwrap without breaking long words or on hyphens): lines
// wrapped at the given number of characters, existing line breaks kept.
func filterWordwrap(in, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	width, ok := intArg(param)
	if !ok {
		return in, nil
	}
	text := in.String()
	var result []string
	for _, line := range splitLines(text) {
		wrapped := wrapLine(line, width)
		if len(wrapped) == 0 {
			result = append(result, line)
		} else {
			result = append(result, wrapped...)
		}
	}
	if strings.HasSuffix(text, "\n") {
		result = append(result, "")
	}
	return keepSafety(in, strings.Join(result, "\n")), nil
}

// splitLines is Python's str.splitlines() for \n, \r\n and \r.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	s = normalizeNewlines(s)
	s = strings.TrimSuffix(s, "\n")
	return strings.Split(s, "\n")
}

// isPyWrapSpace is textwrap's whitespace.
func isPyWrapSpace(r rune) bool { return strings.ContainsRune("\t\n\x0b\x0c\r ", r) }

// wrapLine is textwrap.TextWrapper(width, break_long_words=False,
// break_on_hyphens=False, replace_whitespace=False).wrap(line).
func wrapLine(line string, width int) []string {
	line = expandTabs(line)
	// Chunks: runs of whitespace and of anything else.
	var chunks []string
	start := 0
	for i, r := range line {
		if i > 0 {
			prev, _ := utf8.DecodeLastRuneInString(line[:i])
			if isPyWrapSpace(prev) != isPyWrapSpace(r) {
				chunks = append(chunks, line[start:i])
				start = i
			}
		}
	}
	if start < len(line) {
		chunks = append(chunks, line[start:])
	}
	isSpace := func(c string) bool { return strings.TrimSpace(c) == "" }
	var lines []string
	for len(chunks) > 0 {
		var cur []string
		curLen := 0
		if isSpace(chunks[0]) && len(lines) > 0 {
			chunks = chunks[1:]
		}
		for len(chunks) > 0 {
			l := utf8.RuneCountInString(chunks[0])
			if curLen+l > width {
				break
			}
			cur = append(cur, chunks[0])
			curLen += l
			chunks = chunks[1:]
		}
		if len(chunks) > 0 && utf8.RuneCountInString(chunks[0]) > width && len(cur) == 0 {
			cur = append(cur, chunks[0])
			chunks = chunks[1:]
		}
		if len(cur) > 0 && isSpace(cur[len(cur)-1]) {
			cur = cur[:len(cur)-1]
		}
		if len(cur) > 0 {
			lines = append(lines, strings.Join(cur, ""))
		}
	}
	return lines
}

// expandTabs is Python's str.expandtabs() (tab stops every 8 columns).
func expandTabs(s string) string {
	if !strings.Contains(s, "\t") {
		return s
	}
	var b strings.Builder
	col := 0
	for _, r := range s {
		switch r {
		case '\t':
			n := 8 - col%8
			b.WriteString(strings.Repeat(" ", n))
			col += n
		case '\n', '\r':
			b.WriteRune(r)
			col = 0
		default:
			b.WriteRune(r)
			col++
		}
	}
	return b.String()
}
