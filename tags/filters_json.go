package tags

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf16"

	"github.com/flosch/pongo2/v6"
)

// filterJSONScript is Django's json_script: the value as JSON, written as
// Python's json.dumps writes it (", " and ": " separators, non-ASCII as
// \uXXXX) with <, > and & as \u003C, \u003E and \u0026, in a
// <script type="application/json"> element whose id is the argument (no id
// without one, as from Django 4.1). The result is safe. The JSON is that
// of encoding/json (struct tags, Marshalers; a Go map's keys sorted);
// a float with no fraction is written as an integer (Python writes 1.0).
// A value encoding/json cannot encode is a render error, as Django's
// TypeError is.
func filterJSONScript(in, param *pongo2.Value) (*pongo2.Value, *pongo2.Error) {
	s, err := pyJSONDumps(unwrapValue(in).Interface())
	if err != nil {
		return nil, &pongo2.Error{Sender: "filter:json_script", OrigError: err}
	}
	var b strings.Builder
	b.WriteString(`<script`)
	if param != nil && !param.IsNil() && param.String() != "" {
		id := input(param)
		if !id.safe {
			id.on = escapeHTML(id.on)
		}
		b.WriteString(` id="` + id.on + `"`)
	}
	b.WriteString(` type="application/json">`)
	b.WriteString(s)
	b.WriteString(`</script>`)
	return pongo2.AsSafeValue(b.String()), nil
}

// pyJSONDumps is json.dumps(v) with Django's json_script escapes, from
// encoding/json's output.
func pyJSONDumps(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("json_script: %w", err)
	}
	src := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	var b strings.Builder
	for i := 0; i < len(src); i++ {
		switch c := src[i]; c {
		case '"':
			j := i + 1
			for j < len(src) && src[j] != '"' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			var s string
			if err := json.Unmarshal(src[i:j+1], &s); err != nil {
				return "", fmt.Errorf("json_script: %w", err)
			}
			pyJSONString(&b, s)
			i = j
		case ',':
			b.WriteString(", ")
		case ':':
			b.WriteString(": ")
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// pyJSONString writes s quoted as Python's json.dumps (ensure_ascii)
// writes it, with Django's escapes of <, > and &.
func pyJSONString(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	u := func(r rune) {
		b.WriteString(`\u`)
		for shift := 12; shift >= 0; shift -= 4 {
			b.WriteByte(hex[(r>>shift)&15])
		}
	}
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '<':
			b.WriteString(`\u003C`)
		case '>':
			b.WriteString(`\u003E`)
		case '&':
			b.WriteString(`\u0026`)
		default:
			switch {
			case r >= 0x20 && r <= 0x7e:
				b.WriteRune(r)
			case r > 0xffff:
				r1, r2 := utf16.EncodeRune(r)
				u(r1)
				u(r2)
			default:
				u(r)
			}
		}
	}
	b.WriteByte('"')
}
