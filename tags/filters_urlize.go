package tags

import (
	"html"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/flosch/pongo2/v6"
)

// urlize and urlizetrunc, ported from Django 3.2's django.utils.html.urlize.
// pongo2's versions do not mark their <a> markup safe (so autoescape
// escapes it) and find URLs differently; these are installed by
// UseDjangoBuiltins.

var (
	reURLizeWordSplit = regexp.MustCompile(`[\s<>"']+`)
	reSimpleURL       = regexp.MustCompile(`(?i)^https?://\[?[\p{L}\p{N}_]`)
	reSimpleURL2      = regexp.MustCompile(`(?i)^[\p{L}\p{N}_][^@]+\.(com|edu|gov|int|mil|net|org)($|/.*)$`)
)

const maxURLLength = 2048

// filterURLize is Django's urlize (links get rel="nofollow").
func filterURLize(in, _ *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	return urlizeValue(in, -1), nil
}

// filterURLizetrunc is Django's urlizetrunc: link texts longer than the
// limit are cut to limit-1 characters and "…".
func filterURLizetrunc(in, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	n, ok := intArg(param)
	if !ok {
		n = -1
	}
	return urlizeValue(in, n), nil
}

func urlizeValue(in *pongo2.Value, limit int) *pongo2.Value {
	t := input(in)
	off := urlize(t.off, limit, false, t.safe)
	on := urlize(t.on, limit, !t.safe, t.safe)
	if off == on {
		return pongo2.AsSafeValue(on)
	}
	return newAutoescaped(off, on)
}

// urlize is django.utils.html.urlize(text, trim_url_limit, nofollow=True,
// autoescape) for ASCII domain names (IDN domains are not converted to
// punycode).
func urlize(text string, limit int, autoescape, safeInput bool) string {
	var b strings.Builder
	last := 0
	emit := func(word string) {
		if word == "" {
			return
		}
		if !safeInput && autoescape {
			word = escapeHTML(word)
		}
		b.WriteString(word)
	}
	for _, sep := range append(reURLizeWordSplit.FindAllStringIndex(text, -1), []int{len(text), len(text)}) {
		word := text[last:sep[0]]
		urlizeWord(&b, word, limit, autoescape, safeInput, emit)
		emit(text[sep[0]:sep[1]])
		last = sep[1]
	}
	return b.String()
}

func urlizeWord(b *strings.Builder, word string, limit int, autoescape, safeInput bool, emit func(string)) {
	if !strings.ContainsAny(word, ".@:") {
		emit(word)
		return
	}
	lead, middle, trail := trimPunctuation("", word, "")
	var u string
	nofollow := ` rel="nofollow"`
	switch {
	case len(middle) <= maxURLLength && reSimpleURL.MatchString(middle):
		u = smartURLQuote(html.UnescapeString(middle))
	case len(middle) <= maxURLLength && (strings.HasPrefix(strings.ToLower(middle), "www.") ||
		!strings.HasPrefix(strings.ToLower(middle), "http") && reSimpleURL2.MatchString(middle)):
		u = smartURLQuote("http://" + html.UnescapeString(middle))
	case !strings.Contains(middle, ":") && isEmailSimple(middle):
		i := strings.LastIndexByte(middle, '@')
		u = "mailto:" + middle[:i] + "@" + middle[i+1:]
		nofollow = ""
	}
	if u == "" {
		emit(word)
		return
	}
	trimmed := trimURL(middle, limit)
	if autoescape && !safeInput {
		lead, trail, trimmed = escapeHTML(lead), escapeHTML(trail), escapeHTML(trimmed)
	}
	b.WriteString(lead + `<a href="` + escapeHTML(u) + `"` + nofollow + ">" + trimmed + "</a>" + trail)
}

func trimURL(x string, limit int) string {
	if limit < 0 || utf8.RuneCountInString(x) <= limit {
		return x
	}
	r := []rune(x)
	return string(r[:max(0, limit-1)]) + "…"
}

// trimPunctuation is urlize's trim_punctuation.
func trimPunctuation(lead, middle, trail string) (string, string, string) {
	for trimmed := true; trimmed; {
		trimmed = false
		for _, p := range [][2]string{{"(", ")"}, {"[", "]"}} {
			opening, closing := p[0], p[1]
			if strings.HasPrefix(middle, opening) {
				middle = middle[len(opening):]
				lead += opening
				trimmed = true
			}
			if strings.HasSuffix(middle, closing) && strings.Count(middle, closing) == strings.Count(middle, opening)+1 {
				middle = middle[:len(middle)-len(closing)]
				trail = closing + trail
				trimmed = true
			}
		}
		unescaped := html.UnescapeString(middle)
		stripped := strings.TrimRight(unescaped, ".,:;!")
		if unescaped != stripped {
			cut := len(unescaped) - len(stripped) // bytes removed at the end
			if cut > len(middle) {
				cut = len(middle)
			}
			trail = middle[len(middle)-cut:] + trail
			middle = middle[:len(middle)-cut]
			trimmed = true
		}
	}
	return lead, middle, trail
}

// isEmailSimple is urlize's is_email_simple.
func isEmailSimple(v string) bool {
	if !strings.Contains(v, "@") || strings.HasPrefix(v, "@") || strings.HasSuffix(v, "@") {
		return false
	}
	parts := strings.Split(v, "@")
	if len(parts) != 2 {
		return false
	}
	p2 := parts[1]
	return len(p2) <= 63 && strings.Contains(p2, ".") && !strings.HasPrefix(p2, ".")
}

// smartURLQuote is django.utils.html.smart_urlquote for ASCII hosts.
func smartURLQuote(raw string) string {
	const safe = "!$&'()*+,;=" + ":/?#[]@" + "~"
	unquoteQuote := func(s string) string {
		if u, err := url.PathUnescape(s); err == nil {
			s = u
		}
		return pyQuote(s, safe)
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return unquoteQuote(raw)
	}
	netloc, path := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		netloc, path = rest[:i], rest[i:]
	}
	path, fragment, hasFragment := strings.Cut(path, "#")
	path, query, hasQuery := strings.Cut(path, "?")
	var out strings.Builder
	out.WriteString(scheme + "://" + netloc + unquoteQuote(path))
	if hasQuery && query != "" {
		var parts []string
		for _, kv := range strings.FieldsFunc(query, func(r rune) bool { return r == '&' || r == ';' }) {
			k, v, _ := strings.Cut(kv, "=")
			k, _ = url.QueryUnescape(k)
			v, _ = url.QueryUnescape(v)
			parts = append(parts, pyQuotePlus(k)+"="+pyQuotePlus(v))
		}
		out.WriteString("?" + strings.Join(parts, "&"))
	}
	if hasFragment && fragment != "" {
		out.WriteString("#" + unquoteQuote(fragment))
	}
	return out.String()
}

// pyQuotePlus is urllib.parse.quote_plus.
func pyQuotePlus(s string) string {
	return strings.ReplaceAll(pyQuote(s, " "), " ", "+")
}
