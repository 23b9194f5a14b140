package tags

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/flosch/pongo2/v6"
)

// Fragment names pongo2 cannot lex.
//
// Django's fragment name is any word: {% cache 300 sidébar %},
// {% cache 300 侧边栏 %}. pongo2 v6's lexer reads only ASCII letters, digits,
// _ and its own symbols inside a tag; at any other character it stops
// reading the tag, which then swallows the template up to the next %} and
// fails with a misleading "Unclosed tag". PrepareSource rewrites such a name
// word, before pongo2 lexes the template, into an identifier the tag decodes
// back, so the key is Django's.

// encodedNamePrefix starts a fragment name rewritten by PrepareSource: the
// rest is the hexadecimal UTF-8 of the name as written. Fragment names
// starting with it are reserved.
const encodedNamePrefix = "_fragcache_name_"

// PrepareSource returns a template source in which every {% cache %}
// fragment name that pongo2 v6 cannot lex (a name with non-ASCII letters,
// such as sidébar or 侧边栏, or with ASCII characters pongo2 has no token
// for, such as ; $ @ ? # ~ \) is replaced by an ASCII identifier that the
// tag decodes back to the name as written, so that the key is the one
// Django computes for it; words after {% endcache %}, which Django ignores,
// are rewritten the same way. Everything else is left as it is (src itself
// is returned when nothing changes). Lines do not change; columns after a
// rewritten name on its line shift in pongo2's error messages.
//
// render.Renderer applies it to every template it loads. With a plain
// pongo2 TemplateSet, wrap its loader with WrapLoader, or pass the source of
// FromString/FromBytes through PrepareSource. A template parsed without it
// fails at such a name with an error that says so.
func PrepareSource(src []byte) []byte {
	var out []byte
	last := 0
	for i := 0; i < len(src); {
		switch {
		case bytes.HasPrefix(src[i:], []byte("{% verbatim %}")):
			// pongo2 passes a verbatim block through unlexed.
			end := bytes.Index(src[i:], []byte("{% endverbatim %}"))
			if end < 0 {
				return finish(out, src, last)
			}
			i += end + len("{% endverbatim %}")
		case bytes.HasPrefix(src[i:], []byte("{#")):
			end := bytes.Index(src[i:], []byte("#}"))
			if end < 0 {
				return finish(out, src, last)
			}
			i += end + 2
		case bytes.HasPrefix(src[i:], []byte("{%")):
			j := i + 2
			if j < len(src) && src[j] == '-' {
				j++
			}
			j = skipSpace(src, j)
			k := j
			for k < len(src) && isIdentByte(src[k]) {
				k++
			}
			var words [][2]int
			end := k // the end of what this tag's scan read
			switch string(src[j:k]) {
			case TagName:
				// {% cache timeout name …: the second word.
				p := k
				for n := 0; n < 2; n++ {
					p = skipSpace(src, p)
					s, e := wordAt(src, p)
					if s == e {
						break
					}
					if n == 1 {
						words = append(words, [2]int{s, e})
					}
					p, end = e, e
				}
			case "endcache":
				for p := k; ; {
					p = skipSpace(src, p)
					s, e := wordAt(src, p)
					if s == e {
						break
					}
					words = append(words, [2]int{s, e})
					p, end = e, e
				}
			}
			for _, w := range words {
				word := src[w[0]:w[1]]
				if w[0] < last || !needsEncoding(word) {
					continue
				}
				out = append(out, src[last:w[0]]...)
				out = append(out, encodedNamePrefix...)
				out = hex.AppendEncode(out, word)
				last = w[1]
			}
			i = end
		default:
			i++
		}
	}
	return finish(out, src, last)
}

func finish(out, src []byte, last int) []byte {
	if out == nil {
		return src
	}
	return append(out, src[last:]...)
}

func skipSpace(src []byte, i int) int {
	for i < len(src) && (src[i] == ' ' || src[i] == '\t') {
		i++
	}
	return i
}

func isIdentByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// wordAt returns the word starting at i: up to white space or the end of
// the tag, with quoted parts kept whole (as Django's split_contents).
func wordAt(src []byte, i int) (int, int) {
	j := i
	for j < len(src) {
		c := src[j]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
			bytes.HasPrefix(src[j:], []byte("%}")) || bytes.HasPrefix(src[j:], []byte("-%}")) {
			break
		}
		if c == '"' || c == '\'' {
			for j++; j < len(src) && src[j] != c && src[j] != '\n'; j++ {
				if src[j] == '\\' {
					j++
				}
			}
		}
		j++
	}
	if j > len(src) {
		j = len(src)
	}
	return i, j
}

// needsEncoding reports whether pongo2 cannot lex a name word: it has a byte
// that is not an ASCII letter, digit, _ or one of pongo2's symbol
// characters. Words with quotes are left alone (pongo2 lexes strings with
// any characters).
func needsEncoding(w []byte) bool {
	if bytes.ContainsAny(w, `"'`) {
		return false
	}
	for _, c := range w {
		if !isIdentByte(c) && !strings.ContainsRune("()+-*<>/^,.!|:=%[]", rune(c)) {
			return true
		}
	}
	return false
}

// decodeName returns the fragment name a word stands for: the name encoded
// by PrepareSource, or the word as it is.
func decodeName(w word) string {
	text := w.text()
	if len(w.toks) != 1 || !strings.HasPrefix(text, encodedNamePrefix) {
		return text
	}
	b, err := hex.DecodeString(text[len(encodedNamePrefix):])
	if err != nil {
		return text
	}
	return string(b)
}

// lexerBreak returns an error if pongo2's lexer stopped inside the tag:
// then the arguments run into the template's text (an HTML token) up to a
// later %}. That happens at a character pongo2 cannot lex, such as a
// non-ASCII letter in the fragment name.
func lexerBreak(args *pongo2.Parser, start *pongo2.Token) *pongo2.Error {
	for i := 0; i < args.Count(); i++ {
		t := args.Get(i)
		if t.Typ != pongo2.TokenHTML && !(t.Typ == pongo2.TokenSymbol && (t.Val == "{%" || t.Val == "{{" || t.Val == "{%-" || t.Val == "{{-")) {
			continue
		}
		near := t.Val
		if t.Typ == pongo2.TokenHTML {
			if k := strings.IndexAny(near, " \t\r\n"); k >= 0 {
				near = near[:k]
			}
			if i > 0 {
				if p := args.Get(i - 1); p.Line == t.Line {
					near = p.Val + near
				}
			}
		}
		return tagError(args.Error(fmt.Sprintf(
			"fragcache: pongo2 v6 cannot read this {%% cache %%} tag at %q: its lexer accepts only ASCII letters, "+
				"digits, _ and its symbols in tag arguments, and this one has another character "+
				"(Django accepts any fragment name, e.g. a non-ASCII one). "+
				"Parse the template through tags.PrepareSource or a loader wrapped with tags.WrapLoader "+
				"(render.Renderer does this), which rewrite the fragment name so the tag keys it as Django does",
			near), start))
	}
	return nil
}

// WrapLoader returns a pongo2 loader that reads templates through l and
// passes their source through PrepareSource, so that {% cache %} tags with
// fragment names pongo2 cannot lex (non-ASCII names) parse and key as in
// Django. Use it for a pongo2.TemplateSet of your own:
//
//	set := pongo2.NewSet("site", tags.WrapLoader(loader))
func WrapLoader(l pongo2.TemplateLoader) pongo2.TemplateLoader {
	return sourceLoader{l}
}

type sourceLoader struct{ pongo2.TemplateLoader }

// Get implements pongo2.TemplateLoader.
func (s sourceLoader) Get(path string) (io.Reader, error) {
	r, err := s.TemplateLoader.Get(path)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(r)
	if c, ok := r.(io.Closer); ok {
		_ = c.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("fragcache/tags: reading template %q: %w", path, err)
	}
	return bytes.NewReader(PrepareSource(b)), nil
}
