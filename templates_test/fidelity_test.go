package templates_test

// The fidelity table: Django's built-in tags and filters (and humanize, i18n
// and cache) rendered by real Django — the vectors of
// internal/golden/scripts/template_fidelity.py — and through render.Renderer,
// compared case by case. testdata/fidelity_expect.json records each case's
// status per Django version (identical, differs, missing, skipped), why it
// differs, and a fingerprint of render's output for it. TestFidelity fails
// when a status changes in either direction, when the output of a case that
// still differs changes (its reason may be stale), and when FIDELITY.md is
// not what the results generate.
//
//	go test ./templates_test -run Fidelity -update
//
// rewrites both files from the current results: it keeps the reasons of
// cases that still differ with the same output, drops those of cases that
// no longer differ, gives a case that newly differs "TODO: explain" and
// prefixes the reason of one whose output changed with "TODO: re-check…".
// It then fails listing the cases whose reasons start with "TODO": write
// them (one line) and run -update again.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/internal/golden"
	"github.com/fragcache/fragcache/render"
)

var updateFidelity = flag.Bool("update", false, "rewrite testdata/fidelity_expect.json and FIDELITY.md from the fidelity results")

const (
	fidelityScript = "template_fidelity"
	fidelityExpect = "testdata/fidelity_expect.json"
	fidelityDoc    = "FIDELITY.md"
	todoReason     = "TODO: explain"
	recheckPrefix  = "TODO: re-check, the render changed: "
)

// Case statuses.
const (
	stIdentical = "identical" // same output as Django, or both fail
	stDiffers   = "differs"   // another output, or only one side fails
	stMissing   = "missing"   // pongo2 has no such tag, filter or tag library
	stSkipped   = "skipped"   // not rendered (the script says why)
)

// fidelityFile is one template_fidelity__django-<v>.json.
type fidelityFile struct {
	DjangoVersion string `json:"django_version"`
	Registry      struct {
		Filters    []string `json:"filters"`
		Tags       []string `json:"tags"`
		LoaderTags []string `json:"loader_tags"`
	} `json:"registry"`
	BaseContext json.RawMessage `json:"base_context"`
	Cases       []fidelityCase  `json:"cases"`
}

type fidelityCase struct {
	ID             string            `json:"id"`
	Subject        string            `json:"subject"`
	Autoescape     bool              `json:"autoescape"`
	Template       string            `json:"template"`
	ExtraTemplates map[string]string `json:"extra_templates"`
	Context        json.RawMessage   `json:"context"`
	Request        string            `json:"request"`
	Clock          bool              `json:"clock"`
	Skip           string            `json:"skip"`
	Output         *string           `json:"output"`
	Error          *struct {
		Phase   string `json:"phase"`
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

func (c *fidelityCase) django() string {
	if c.Error != nil {
		return fmt.Sprintf("%s error %s: %s", c.Error.Phase, c.Error.Type, c.Error.Message)
	}
	return strconv.Quote(*c.Output)
}

// goResult is what render.Renderer made of a case.
type goResult struct {
	out     string
	err     error
	missing string // "filter 'x'", "tag 'x'" or "tag library 'x'" when pongo2 lacks it
}

func (r goResult) String() string {
	if r.err != nil {
		return "error: " + r.err.Error()
	}
	return strconv.Quote(r.out)
}

// expectFile is testdata/fidelity_expect.json.
type expectFile struct {
	Comment string       `json:"comment"`
	Cases   []expectCase `json:"cases"`
}

type expectCase struct {
	ID     string            `json:"id"`
	Status map[string]string `json:"status"` // Django version -> status
	Reason string            `json:"reason,omitempty"`
	// Render fingerprints what render produced for a differing case, so
	// that a change to it (a partial fix) asks for the reason to be
	// re-checked instead of leaving it stale.
	Render string `json:"render,omitempty"`
}

// caseResult is one case's outcome under one Django version.
type caseResult struct {
	c      *fidelityCase
	goRes  goResult
	status string
}

// fidelityVersions lists the Django versions with fidelity vectors.
func fidelityVersions(t *testing.T) []string {
	var vs []string
	for _, v := range golden.Versions {
		if _, err := golden.Read(fidelityScript, v); err == nil {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		t.Fatal("no template_fidelity vectors in internal/golden/data")
	}
	return vs
}

func TestFidelity(t *testing.T) {
	versions := fidelityVersions(t)
	files := make(map[string]*fidelityFile, len(versions))
	results := make(map[string]map[string]*caseResult, len(versions)) // version -> id -> result
	rendered := map[string]goResult{}                                 // one Go render per distinct case
	var order []string                                                // case ids, first seen first
	seen := map[string]bool{}
	for _, v := range versions {
		var f fidelityFile
		if err := golden.Decode(fidelityScript, v, &f); err != nil {
			t.Fatal(err)
		}
		files[v] = &f
		results[v] = make(map[string]*caseResult, len(f.Cases))
		for i := range f.Cases {
			c := &f.Cases[i]
			if !seen[c.ID] {
				seen[c.ID] = true
				order = append(order, c.ID)
			}
			r := &caseResult{c: c}
			results[v][c.ID] = r
			if c.Skip != "" {
				r.status = stSkipped
				continue
			}
			key := fidelityKey(f.BaseContext, c)
			res, ok := rendered[key]
			if !ok {
				res = renderFidelityCase(t, f.BaseContext, c)
				rendered[key] = res
			}
			r.goRes = res
			r.status = classify(c, res)
		}
	}

	expect := readExpect(t)
	if *updateFidelity {
		expect = updatedExpect(expect, versions, order, results)
		writeExpect(t, expect)
		var todo []string
		for _, e := range expect.Cases {
			if strings.HasPrefix(e.Reason, "TODO") {
				todo = append(todo, e.ID)
			}
		}
		if len(todo) > 0 {
			// An error, so that the list shows without -v; the files are written.
			t.Errorf("%d differing cases need a reason (one line) in %s instead of \"TODO: …\"; write them and run "+
				"-update again to regenerate %s: %s", len(todo), fidelityExpect, fidelityDoc, strings.Join(todo, ", "))
		}
	}

	// Every recorded status must be the actual one, in both directions.
	recorded := make(map[string]*expectCase, len(expect.Cases))
	for i := range expect.Cases {
		recorded[expect.Cases[i].ID] = &expect.Cases[i]
	}
	for _, id := range order {
		e := recorded[id]
		if e == nil {
			t.Errorf("%s: not in %s; run go test ./templates_test -run Fidelity -update", id, fidelityExpect)
			continue
		}
		for _, v := range versions {
			r := results[v][id]
			if r == nil {
				continue
			}
			if got, want := r.status, e.Status[v]; got != want {
				t.Errorf("%s (Django %s): status %s, recorded %s; update with -update (and explain a new difference)\n"+
					"  template: %q\n  django:   %s\n  go:       %s", id, v, got, want, r.c.Template, r.c.django(), r.goRes)
			}
		}
	}
	for _, id := range order {
		e := recorded[id]
		if e == nil || e.Reason == "" || !slices.ContainsFunc(versions, func(v string) bool {
			r := results[v][id]
			return r != nil && r.status == stDiffers
		}) {
			continue
		}
		if got := fingerprint(results, versions, id); got != e.Render {
			t.Errorf("%s: still differs, but render's output changed (fingerprint %s, recorded %s): re-check its reason "+
				"after go test ./templates_test -run Fidelity -update", id, got, e.Render)
		}
	}
	for _, e := range expect.Cases {
		if !seen[e.ID] {
			t.Errorf("%s: recorded in %s but in no vector file; run -update", e.ID, fidelityExpect)
		}
	}

	doc := fidelityTable(versions, files, order, results, recorded)
	if *updateFidelity {
		if err := os.WriteFile(fidelityDoc, doc, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if old, err := os.ReadFile(fidelityDoc); err != nil || !bytes.Equal(old, doc) {
		t.Errorf("%s is not what the results generate (err %v); regenerate it: go test ./templates_test -run Fidelity -update",
			fidelityDoc, err)
	}
}

// fidelityKey identifies what Go renders, which does not depend on the
// Django version.
func fidelityKey(base json.RawMessage, c *fidelityCase) string {
	b, _ := json.Marshal([]any{base, c.ID, c.Template, c.ExtraTemplates, c.Context, c.Request})
	return string(b)
}

func renderFidelityCase(t *testing.T, base json.RawMessage, c *fidelityCase) goResult {
	t.Helper()
	fsys := fstest.MapFS{"case.html": {Data: []byte(c.Template)}}
	for name, src := range c.ExtraTemplates {
		fsys[name] = &fstest.MapFile{Data: []byte(src)}
	}
	rd, err := render.New(render.Options{FS: fsys, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	ctx, err := fidelityContext(base, c.Context)
	if err != nil {
		t.Fatalf("%s: context: %v", c.ID, err)
	}
	target := c.Request
	if target == "" {
		target = "/"
	}
	b, err := rd.RenderBytes(httptest.NewRequest("GET", target, nil), "case.html", ctx)
	if err != nil {
		return goResult{err: err, missing: missingName(err)}
	}
	return goResult{out: string(b)}
}

var missingPatterns = []struct {
	re   *regexp.Regexp
	kind string
}{
	{regexp.MustCompile(`Filter '([^']+)' does not exist`), "filter"},
	{regexp.MustCompile(`filter with name '([^']+)' not found`), "filter"}, // in {% filter %}
	{regexp.MustCompile(`Tag '([^']+)' not found`), "tag"},
	{regexp.MustCompile(`'([^']+)' is not a registered tag library`), "tag library"},
}

// missingName names the tag, filter or library pongo2 lacks, from a parse
// error, or returns "".
func missingName(err error) string {
	var rerr *render.Error
	msg := err.Error()
	if errors.As(err, &rerr) && rerr.Err != nil {
		msg = rerr.Err.Error()
	}
	for _, p := range missingPatterns {
		if m := p.re.FindStringSubmatch(msg); m != nil {
			return p.kind + " '" + m[1] + "'"
		}
	}
	return ""
}

func classify(c *fidelityCase, r goResult) string {
	switch {
	case c.Error != nil && r.err != nil:
		return stIdentical // both reject the template (messages are not compared)
	case c.Error != nil:
		return stDiffers
	case r.missing != "":
		return stMissing
	case r.err != nil || r.out != *c.Output:
		return stDiffers
	}
	return stIdentical
}

// fidelityContext decodes the base context overlaid with the case's. JSON
// integers become int, other numbers float64; one-key objects are the
// script's tagged values: {"$datetime": "2023-11-14T22:13:20"} and
// {"$date": "2023-11-14"} become a time.Time in UTC, {"$time": "09:05:07"} a
// time.Time on January 1 of year 0, {"$safe": "<b>"} a pongo2 safe value.
func fidelityContext(base, overlay json.RawMessage) (pongo2.Context, error) {
	ctx := pongo2.Context{}
	for _, raw := range []json.RawMessage{base, overlay} {
		if len(raw) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			return nil, err
		}
		for k, v := range m {
			x, err := goValue(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			ctx[k] = x
		}
	}
	return ctx, nil
}

func goValue(v any) (any, error) {
	switch v := v.(type) {
	case json.Number:
		if !strings.ContainsAny(v.String(), ".eE") {
			if i, err := strconv.Atoi(v.String()); err == nil {
				return i, nil
			}
		}
		return v.Float64()
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			y, err := goValue(x)
			if err != nil {
				return nil, err
			}
			out[i] = y
		}
		return out, nil
	case map[string]any:
		if len(v) == 1 {
			for k, x := range v {
				s, _ := x.(string)
				switch k {
				case "$datetime":
					return time.Parse("2006-01-02T15:04:05", s)
				case "$date":
					return time.Parse("2006-01-02", s)
				case "$time":
					return time.Parse("15:04:05", s)
				case "$safe":
					return pongo2.AsSafeValue(s), nil
				}
			}
		}
		out := make(map[string]any, len(v))
		for k, x := range v {
			y, err := goValue(x)
			if err != nil {
				return nil, err
			}
			out[k] = y
		}
		return out, nil
	}
	return v, nil
}

func readExpect(t *testing.T) *expectFile {
	t.Helper()
	var e expectFile
	b, err := os.ReadFile(fidelityExpect)
	if errors.Is(err, os.ErrNotExist) && *updateFidelity {
		return &e
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("%s: %v", fidelityExpect, err)
	}
	return &e
}

// updatedExpect records the actual statuses. A reason is kept while some
// version still differs, dropped otherwise; a case that newly differs gets
// todoReason, and one whose render output changed while it still differs
// gets its reason prefixed with recheckPrefix.
func updatedExpect(old *expectFile, versions, order []string, results map[string]map[string]*caseResult) *expectFile {
	prev := map[string]expectCase{}
	for _, e := range old.Cases {
		prev[e.ID] = e
	}
	out := &expectFile{Comment: "Generated by go test ./templates_test -run Fidelity -update from the fidelity " +
		"results; edit only the reasons (one line each: why the case differs from Django). render " +
		"fingerprints the Go output of a differing case."}
	for _, id := range order {
		e := expectCase{ID: id, Status: map[string]string{}}
		differs := false
		for _, v := range versions {
			if r := results[v][id]; r != nil {
				e.Status[v] = r.status
				differs = differs || r.status == stDiffers
			}
		}
		if differs {
			p := prev[id]
			e.Render = fingerprint(results, versions, id)
			switch {
			case p.Reason == "":
				e.Reason = todoReason
			case p.Render != "" && p.Render != e.Render && !strings.HasPrefix(p.Reason, "TODO"):
				e.Reason = recheckPrefix + p.Reason
			default:
				e.Reason = p.Reason
			}
		}
		out.Cases = append(out.Cases, e)
	}
	return out
}

// fingerprint identifies render's output for a case (the same under every
// Django version): the bytes, or for an error only whether it was a panic.
// Clock-dependent cases have a constant one.
func fingerprint(results map[string]map[string]*caseResult, versions []string, id string) string {
	for _, v := range versions {
		if r := results[v][id]; r != nil && r.status != stSkipped {
			if r.c.Clock {
				return "clock"
			}
			what := "output " + r.goRes.out
			if r.goRes.err != nil {
				// Error wording may change freely; a panic becoming an
				// error (or the reverse) is worth a look.
				var rerr *render.Error
				what = fmt.Sprintf("error, panic %v", errors.As(r.goRes.err, &rerr) && rerr.Panic)
			}
			sum := sha256.Sum256([]byte(what))
			return hex.EncodeToString(sum[:6])
		}
	}
	return ""
}

func writeExpect(t *testing.T, e *expectFile) {
	t.Helper()
	var buf bytes.Buffer
	buf.WriteString("{\n \"comment\": ")
	c, _ := json.Marshal(e.Comment)
	buf.Write(c)
	buf.WriteString(",\n \"cases\": [\n")
	for i, ec := range e.Cases {
		var line bytes.Buffer
		enc := json.NewEncoder(&line)
		// Reasons quote markup: keep it readable. Map keys come out sorted.
		enc.SetEscapeHTML(false)
		if err := enc.Encode(ec); err != nil {
			t.Fatal(err)
		}
		buf.WriteString("  ")
		buf.Write(bytes.TrimSuffix(line.Bytes(), []byte("\n")))
		if i < len(e.Cases)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString(" ]\n}\n")
	if err := os.WriteFile(fidelityExpect, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fidelitySection orders and titles the table's sections by subject prefix.
var fidelitySections = []struct{ prefix, title string }{
	{"filter:", "Built-in filters (django.template.defaultfilters)"},
	{"tag:", "Built-in tags (django.template.defaulttags and loader_tags)"},
	{"variable", "Variables"},
	{"humanize:", "{% load humanize %}"},
	{"i18n:", "{% load i18n %}"},
	{"cache:", "{% load cache %}"},
}

// fidelityTable renders FIDELITY.md.
func fidelityTable(versions []string, files map[string]*fidelityFile, order []string,
	results map[string]map[string]*caseResult, recorded map[string]*expectCase) []byte {
	var b strings.Builder
	b.WriteString("# Template fidelity against real Django\n\n")
	b.WriteString("<!-- Generated by `go test ./templates_test -run Fidelity -update`; do not edit. -->\n\n")
	b.WriteString("Each Django built-in tag and filter (every name in Django's own registries), and `humanize`, `i18n` " +
		"and `cache` basics, rendered by real Django and through `render.Renderer` (pongo2 v6 plus this " +
		"module's tags), case by case, with autoescape on and off and safe inputs where escaping matters. " +
		"Vectors: `internal/golden/data/template_fidelity__django-<version>.json` from " +
		"`internal/golden/scripts/template_fidelity.py` (see its README); the comparison is " +
		"`templates_test/fidelity_test.go`, which fails when a case's status changes, and the reasons live in " +
		"`templates_test/testdata/fidelity_expect.json`. Regenerate this file with " +
		"`go test ./templates_test -run Fidelity -update`; never edit it by hand.\n\n")
	b.WriteString("Statuses: **identical** — the same bytes as Django (or both reject the template; error messages " +
		"are not compared); **differs** — other output, or only one side fails; **missing** — pongo2 has no such " +
		"tag, filter or tag library (a parse error); **—** — not in that Django version (both sides' results are " +
		"still recorded per case).\n\n")

	// Counts per version.
	b.WriteString("## Counts\n\n| | " + strings.Join(versions, " | ") + " |\n|---|" +
		strings.Repeat("---|", len(versions)) + "\n")
	caseCounts := map[string]map[string]int{}
	subjCounts := map[string]map[string]int{}
	subjects := subjectList(versions, files, order, results)
	for _, v := range versions {
		caseCounts[v] = map[string]int{}
		for _, id := range order {
			if r := results[v][id]; r != nil {
				caseCounts[v][r.status]++
			}
		}
		subjCounts[v] = map[string]int{}
		for _, s := range subjects {
			st, _ := subjectStatus(v, s, files[v], order, results[v])
			subjCounts[v][st]++
		}
	}
	row := func(label string, counts map[string]map[string]int, st string) {
		b.WriteString("| " + label)
		for _, v := range versions {
			fmt.Fprintf(&b, " | %d", counts[v][st])
		}
		b.WriteString(" |\n")
	}
	for _, st := range []string{stIdentical, stDiffers, stMissing, stSkipped} {
		row("cases "+st, caseCounts, st)
	}
	for _, st := range []string{stIdentical, stDiffers, stMissing} {
		row("tags/filters "+st, subjCounts, st)
	}
	row("tags/filters not in this Django", subjCounts, "—")
	b.WriteString("\nA tag or filter (or library tag, or `variable`) is *identical* when all its cases are, *differs* " +
		"when one of them differs, and *missing* otherwise.\n")

	for _, sec := range fidelitySections {
		fmt.Fprintf(&b, "\n## %s\n\n| name | %s | why it differs / what is missing |\n|---|%s---|\n",
			strings.ReplaceAll(strings.ReplaceAll(sec.title, "{", "`{"), "}", "}`"),
			strings.Join(versions, " | "), strings.Repeat("---|", len(versions)))
		for _, s := range subjects {
			if !strings.HasPrefix(s, sec.prefix) {
				continue
			}
			name := strings.TrimPrefix(strings.TrimPrefix(s, sec.prefix), ":")
			if name == "" {
				name = s
			}
			fmt.Fprintf(&b, "| `%s`", name)
			for _, v := range versions {
				_, cell := subjectStatus(v, s, files[v], order, results[v])
				b.WriteString(" | " + cell)
			}
			b.WriteString(" | " + mdText(subjectNotes(versions, s, order, results, recorded)) + " |\n")
		}
	}

	// Differing cases, for the details.
	b.WriteString("\n## Differing cases\n\nOutputs are Go-quoted; Django's is the newest version's that differs. " +
		"Clock-dependent cases (Django's clock frozen at 2023-11-14 22:13:20) show no Go output.\n\n" +
		"| case | versions | template | Django | render | why |\n|---|---|---|---|---|---|\n")
	for _, id := range order {
		var vs []string
		var last *caseResult
		for _, v := range versions {
			if r := results[v][id]; r != nil && r.status == stDiffers {
				vs = append(vs, v)
				last = r
			}
		}
		if last == nil {
			continue
		}
		goOut := last.goRes.String()
		if last.c.Clock {
			goOut = "(clock)"
		}
		reason := ""
		if e := recorded[id]; e != nil {
			reason = e.Reason
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", id, strings.Join(vs, ", "),
			mdCode(strconv.Quote(last.c.Template)), mdCode(last.c.django()), mdCode(goOut), mdText(reason))
	}
	return []byte(b.String())
}

// subjectList is every tag and filter in any version's registry plus every
// subject with cases, in section order.
func subjectList(versions []string, files map[string]*fidelityFile, order []string,
	results map[string]map[string]*caseResult) []string {
	set := map[string]bool{}
	for _, v := range versions {
		f := files[v]
		for _, n := range f.Registry.Filters {
			set["filter:"+n] = true
		}
		for _, n := range append(slices.Clone(f.Registry.Tags), f.Registry.LoaderTags...) {
			set["tag:"+n] = true
		}
		for _, id := range order {
			if r := results[v][id]; r != nil {
				set[r.c.Subject] = true
			}
		}
	}
	var out []string
	for _, sec := range fidelitySections {
		var part []string
		for s := range set {
			if strings.HasPrefix(s, sec.prefix) {
				part = append(part, s)
			}
		}
		sort.Strings(part)
		out = append(out, part...)
	}
	return out
}

// inRegistry reports whether a tag:/filter: subject exists in f's Django;
// other subjects (libraries, variables) always do.
func inRegistry(f *fidelityFile, subject string) bool {
	switch {
	case strings.HasPrefix(subject, "filter:"):
		return slices.Contains(f.Registry.Filters, strings.TrimPrefix(subject, "filter:"))
	case strings.HasPrefix(subject, "tag:"):
		n := strings.TrimPrefix(subject, "tag:")
		return slices.Contains(f.Registry.Tags, n) || slices.Contains(f.Registry.LoaderTags, n)
	}
	return true
}

// subjectStatus summarizes a subject's cases under one version: its status
// and table cell.
func subjectStatus(v, subject string, f *fidelityFile, order []string, res map[string]*caseResult) (string, string) {
	if !inRegistry(f, subject) {
		return "—", "—"
	}
	n := map[string]int{}
	total := 0
	for _, id := range order {
		r := res[id]
		if r == nil || r.c.Subject != subject {
			continue
		}
		n[r.status]++
		total++
	}
	rendered := total - n[stSkipped]
	switch {
	case total == 0:
		return "—", "no case"
	case rendered == 0:
		return stSkipped, stSkipped
	case n[stIdentical] == rendered:
		return stIdentical, fmt.Sprintf("identical (%d)", rendered)
	case n[stMissing] == rendered:
		return stMissing, "**missing**"
	case n[stDiffers] == 0:
		return stMissing, fmt.Sprintf("**missing** (%d of %d)", n[stMissing], rendered)
	}
	cell := fmt.Sprintf("**differs** (%d of %d)", n[stDiffers], rendered)
	if n[stMissing] > 0 {
		cell += fmt.Sprintf(", %d missing", n[stMissing])
	}
	return stDiffers, cell
}

// subjectNotes joins a subject's distinct reasons, with the case numbers
// they apply to (and the Django versions, when not all), and what pongo2
// lacks.
func subjectNotes(versions []string, subject string, order []string, results map[string]map[string]*caseResult,
	recorded map[string]*expectCase) string {
	type note struct {
		text     string
		cases    []string
		versions []string
	}
	var notes []*note
	add := func(text, id, v string) {
		short := strings.TrimPrefix(id, subject)
		var n *note
		for _, x := range notes {
			if x.text == text {
				n = x
			}
		}
		if n == nil {
			n = &note{text: text}
			notes = append(notes, n)
		}
		if !slices.Contains(n.cases, short) {
			n.cases = append(n.cases, short)
		}
		if !slices.Contains(n.versions, v) {
			n.versions = append(n.versions, v)
		}
	}
	for _, id := range order {
		for _, v := range versions {
			r := results[v][id]
			if r == nil || r.c.Subject != subject {
				continue
			}
			switch r.status {
			case stMissing:
				add("pongo2 parse error: no "+r.goRes.missing, id, v)
			case stDiffers:
				reason := todoReason
				if e := recorded[id]; e != nil && e.Reason != "" {
					reason = e.Reason
				}
				add(reason, id, v)
			case stSkipped:
				add("skipped: "+r.c.Skip, id, v)
			}
		}
	}
	parts := make([]string, len(notes))
	for i, n := range notes {
		where := strings.Join(n.cases, " ")
		if len(n.versions) < len(versions) {
			where += " in " + strings.Join(n.versions, ", ")
		}
		parts[i] = n.text + " (" + where + ")"
	}
	return strings.Join(parts, "; ")
}

// mdCell makes s safe in a markdown table cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

// mdText makes prose safe in a table cell: reasons quote markup and
// entities (<br />, &amp;) that must show as written.
var mdText = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "|", `\|`, "\n", " ").Replace

// mdCode puts s in a code span in a table cell, shortened to 160 bytes.
func mdCode(s string) string {
	if len(s) > 160 {
		cut := 160
		for cut > 0 && !utf8RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	s = strings.ReplaceAll(s, "`", "'")
	return "`" + mdCell(s) + "`"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// TestFidelityUpdateRules checks how -update carries reasons over: kept
// while a case still differs with the same output, marked for re-checking
// when the output changed, dropped once it is identical or only missing,
// and todoReason for a case that newly differs.
func TestFidelityUpdateRules(t *testing.T) {
	c := &fidelityCase{}
	res := func(st, out string) *caseResult { return &caseResult{c: c, status: st, goRes: goResult{out: out}} }
	results := map[string]map[string]*caseResult{
		"3.2": {"still": res(stDiffers, "a"), "changed": res(stDiffers, "b"), "fixed": res(stIdentical, "c"),
			"new": res(stIdentical, "d"), "lib": res(stMissing, "")},
		"6.1": {"still": res(stIdentical, "a"), "changed": res(stDiffers, "b"), "fixed": res(stIdentical, "c"),
			"new": res(stDiffers, "d"), "lib": res(stMissing, "")},
	}
	versions := []string{"3.2", "6.1"}
	old := &expectFile{Cases: []expectCase{
		{ID: "still", Reason: "why", Render: fingerprint(results, versions, "still")},
		{ID: "changed", Reason: "old why", Render: "0123456789ab"},
		{ID: "fixed", Reason: "was broken"},
		{ID: "gone", Reason: "no longer in the vectors"},
	}}
	got := updatedExpect(old, versions, []string{"still", "changed", "fixed", "new", "lib"}, results)
	want := map[string]string{"still": "why", "changed": recheckPrefix + "old why", "fixed": "", "new": todoReason, "lib": ""}
	if len(got.Cases) != len(want) {
		t.Fatalf("%d cases, want %d: %+v", len(got.Cases), len(want), got.Cases)
	}
	for _, c := range got.Cases {
		if c.Reason != want[c.ID] {
			t.Errorf("%s: reason %q, want %q", c.ID, c.Reason, want[c.ID])
		}
		if (c.Render != "") != (c.Reason != "") {
			t.Errorf("%s: render fingerprint %q with reason %q", c.ID, c.Render, c.Reason)
		}
	}
	if s := got.Cases[0].Status; s["3.2"] != stDiffers || s["6.1"] != stIdentical {
		t.Errorf("still: status %v", s)
	}
}

// TestFidelityContext checks the JSON-to-Go conversion of case contexts.
func TestFidelityContext(t *testing.T) {
	ctx, err := fidelityContext(json.RawMessage(`{"i": 3, "f": 1.0, "e": 1e3, "big": 123456789012345678901234567890,
		"l": [1, {"$safe": "<b>"}], "dt": {"$datetime": "2023-11-14T22:13:20"}, "n": null, "m": {"$date": "2023-03-05", "x": 1}}`),
		json.RawMessage(`{"i": 4}`))
	if err != nil {
		t.Fatal(err)
	}
	if ctx["i"] != 4 || ctx["f"] != 1.0 || ctx["e"] != 1000.0 || ctx["n"] != nil {
		t.Errorf("numbers/null: %#v %#v %#v %#v", ctx["i"], ctx["f"], ctx["e"], ctx["n"])
	}
	if _, ok := ctx["big"].(float64); !ok {
		t.Errorf("an integer beyond int: %T", ctx["big"])
	}
	if v, ok := ctx["l"].([]any)[1].(*pongo2.Value); !ok || !v.IsString() || v.String() != "<b>" {
		t.Errorf("$safe: %#v", ctx["l"])
	}
	if dt, ok := ctx["dt"].(time.Time); !ok || !dt.Equal(time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC)) {
		t.Errorf("$datetime: %#v", ctx["dt"])
	}
	if m, ok := ctx["m"].(map[string]any); !ok || len(m) != 2 {
		t.Errorf("a two-key object is a map: %#v", ctx["m"])
	}
}
