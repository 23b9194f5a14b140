package readmecheck

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// prelude declares, at package level, the names README snippets use without
// defining them: a README reader can take each as "assumed". It is added to
// every fragment's package, less the declarations whose names the fragment
// declares at its own top level. Imports are computed as for fragments.
const prelude = `
// ctx is the context of the request or program a snippet runs in.
var ctx = context.Background()

// mux is the application's router.
var mux = http.NewServeMux()

// reg is the application's cache registry (backends.OpenRegistry).
var reg *cache.Registry

// c is a cache (backends.Open).
var c *cache.Cache

// rd is the application's template renderer (render.New).
var rd *render.Renderer

// b is a value to store.
var b []byte

// articles is template data: the articles of a page.
var articles []Article

// page is template data: the page number.
var page int

// Article is the application's article model.
type Article struct {
	ID    int
	Title string
}

// currentUser returns request.user for a request.
func currentUser(r *http.Request) any { panic("assumed") }

// loadReport computes the report on a cache miss.
func loadReport(ctx context.Context) ([]byte, error) { panic("assumed") }

// loadArticle loads an article on a cache miss.
func loadArticle(ctx context.Context) (Article, error) { panic("assumed") }

// articleETag returns the ETag of the article a request names.
func articleETag(r *http.Request) string { panic("assumed") }

// articleUpdatedAt returns when the article a request names last changed.
func articleUpdatedAt(r *http.Request) time.Time { panic("assumed") }

// authorPage is the application's author page handler.
var authorPage http.Handler

// articlePage is the application's article page handler.
var articlePage http.Handler

// accountPage is the application's account page handler.
var accountPage http.Handler

// feed is the application's feed handler.
var feed http.Handler

// inbox is the application's inbox handler.
var inbox http.Handler

// about is the application's about page handler.
var about http.Handler

// report is the application's report handler.
var report http.Handler

// must returns v, panicking if err is not nil.
func must[T any](v T, err error) T { panic("assumed") }
`

// stdPackages are the standard and third-party packages that fragments may
// use without importing them, by package name. The module's own packages are
// found by modulePackages.
var stdPackages = map[string]string{
	"bytes":     "bytes",
	"context":   "context",
	"embed":     "embed",
	"errors":    "errors",
	"fmt":       "fmt",
	"fs":        "io/fs",
	"fstest":    "testing/fstest",
	"http":      "net/http",
	"httptest":  "net/http/httptest",
	"io":        "io",
	"json":      "encoding/json",
	"log":       "log",
	"os":        "os",
	"pongo2":    "github.com/flosch/pongo2/v6",
	"slog":      "log/slog",
	"strings":   "strings",
	"sync":      "sync",
	"time":      "time",
	"url":       "net/url",
	"websocket": "github.com/coder/websocket",
}

// placeholderStmt is what a "your code here" placeholder in a block becomes.
const placeholderStmt = `panic("README placeholder")`

// funcName is the function a fragment's statements go into.
const funcName = "readmeBlock"

// goBlock is one fenced ```go block of a README.
type goBlock struct {
	fence int    // README line of the opening fence
	code  string // the lines between the fences, without the last newline
}

// extractGoBlocks returns the ```go blocks of a Markdown text, in order.
func extractGoBlocks(readme string) ([]goBlock, error) {
	var blocks []goBlock
	var cur *goBlock
	var body []string
	inFence, fenceLine := false, 0
	for i, line := range strings.Split(readme, "\n") {
		trimmed := strings.TrimSpace(line)
		if !strings.HasPrefix(trimmed, "```") {
			if cur != nil {
				body = append(body, line)
			}
			continue
		}
		if inFence {
			if cur != nil {
				cur.code = strings.Join(body, "\n")
				blocks = append(blocks, *cur)
				cur, body = nil, nil
			}
			inFence = false
			continue
		}
		inFence, fenceLine = true, i+1
		if info := strings.Fields(strings.TrimPrefix(trimmed, "```")); len(info) > 0 && info[0] == "go" {
			cur = &goBlock{fence: i + 1}
		}
	}
	if inFence {
		return blocks, fmt.Errorf("README.md:%d: fenced block never closed", fenceLine)
	}
	return blocks, nil
}

// snippet is a block made into the files of one Go package.
type snippet struct {
	fence  int
	dir    string            // directory under the build root: "b" + fence
	files  map[string]string // file name → contents
	lineOf map[string][]int  // file name → README line of each line (0: generated)
	embeds []string          // //go:embed patterns to provide
}

// isPackageFile reports whether a block starts, after comments, with a
// package clause.
func isPackageFile(code string) bool {
	var s scanner.Scanner
	fset := token.NewFileSet()
	s.Init(fset.AddFile("", -1, len(code)), []byte(code), nil, 0)
	_, tok, _ := s.Scan()
	return tok == token.PACKAGE
}

// transform turns a block into a snippet. pkgs maps the package names a
// fragment may use to their import paths.
func transform(b goBlock, pkgs map[string]string) snippet {
	s := snippet{
		fence:  b.fence,
		dir:    "b" + strconv.Itoa(b.fence),
		files:  map[string]string{},
		lineOf: map[string][]int{},
		embeds: embedPatterns(b.code),
	}
	if isPackageFile(b.code) {
		s.files["block.go"] = b.code + "\n"
		lines := make([]int, strings.Count(b.code, "\n")+1)
		for i := range lines {
			lines[i] = b.fence + 1 + i
		}
		s.lineOf["block.go"] = lines
		return s
	}

	code := replacePlaceholders(b.code)
	isDecl := declLines(code)
	var decls, stmts []genLine
	for i, text := range strings.Split(code, "\n") {
		l := genLine{text, b.fence + 1 + i}
		if isDecl[i] {
			decls = append(decls, l)
		} else {
			stmts = append(stmts, l)
		}
	}

	var imports []string
	var uses []string
	declared := map[string]bool{}
	if f, err := parser.ParseFile(token.NewFileSet(), "", fileText(assemble(nil, fragmentBody(decls, stmts, nil))), 0); err == nil {
		imports = importsFor(f, pkgs)
		uses = topLevelVars(f)
		for _, name := range packageLevelNames(f) {
			declared[name] = true
		}
	}
	if len(s.embeds) > 0 && !slices.Contains(imports, `"embed"`) {
		imports = append(imports, `_ "embed"`)
	}
	s.files["block.go"], s.lineOf["block.go"] = assemble(imports, fragmentBody(decls, stmts, uses))

	// The prelude, less what the block declares itself.
	var kept []genLine
	for _, d := range preludeDecls() {
		if !slices.ContainsFunc(d.names, func(n string) bool { return declared[n] }) {
			kept = append(kept, genLine{text: d.text}, genLine{})
		}
	}
	var preludeImports []string
	if f, err := parser.ParseFile(token.NewFileSet(), "", fileText(assemble(nil, kept)), 0); err == nil {
		preludeImports = importsFor(f, pkgs)
	}
	s.files["prelude.go"], s.lineOf["prelude.go"] = assemble(preludeImports, kept)
	return s
}

// genLine is a line of a generated file and the README line it comes from
// (0 for a generated line).
type genLine struct {
	text string
	line int
}

// fragmentBody lays out a fragment: the block's declarations, then the
// function holding its statements and a blank use of each variable in uses.
func fragmentBody(decls, stmts []genLine, uses []string) []genLine {
	body := append(slices.Clip(decls), genLine{}, genLine{text: "func " + funcName + "() {"})
	body = append(body, stmts...)
	for _, u := range uses {
		body = append(body, genLine{text: "\t_ = " + u})
	}
	return append(body, genLine{text: "}"})
}

// assemble writes a file of package snippet: the package clause, the
// imports, then body. It returns the file and the README line of each of its
// lines.
func assemble(imports []string, body []genLine) (string, []int) {
	all := []genLine{{text: "package snippet"}, {}}
	if len(imports) > 0 {
		all = append(all, genLine{text: "import ("})
		for _, imp := range imports {
			all = append(all, genLine{text: "\t" + imp})
		}
		all = append(all, genLine{text: ")"}, genLine{})
	}
	all = append(all, body...)
	var sb strings.Builder
	var lines []int
	for _, l := range all {
		sb.WriteString(l.text)
		sb.WriteByte('\n')
		lines = append(lines, l.line)
		for range strings.Count(l.text, "\n") {
			lines = append(lines, 0)
		}
	}
	return sb.String(), lines
}

// fileText returns the file of an assemble result.
func fileText(file string, _ []int) string { return file }

// preludeDecl is one declaration of the prelude, with its doc comment.
type preludeDecl struct {
	names []string
	text  string
}

// preludeDecls splits the prelude into its declarations.
func preludeDecls() []preludeDecl {
	src := "package snippet\n" + prelude
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, parser.ParseComments)
	if err != nil {
		panic("prelude: " + err.Error())
	}
	var out []preludeDecl
	for _, d := range f.Decls {
		start := d.Pos()
		switch d := d.(type) {
		case *ast.GenDecl:
			if d.Doc != nil {
				start = d.Doc.Pos()
			}
		case *ast.FuncDecl:
			if d.Doc != nil {
				start = d.Doc.Pos()
			}
		}
		out = append(out, preludeDecl{
			names: declNames(d),
			text:  src[fset.Position(start).Offset:fset.Position(d.End()).Offset],
		})
	}
	return out
}

// declNames returns the package-level names a declaration declares.
func declNames(d ast.Decl) []string {
	var names []string
	switch d := d.(type) {
	case *ast.FuncDecl:
		if d.Recv == nil {
			names = append(names, d.Name.Name)
		}
	case *ast.GenDecl:
		for _, spec := range d.Specs {
			switch spec := spec.(type) {
			case *ast.ValueSpec:
				for _, n := range spec.Names {
					names = append(names, n.Name)
				}
			case *ast.TypeSpec:
				names = append(names, spec.Name.Name)
			}
		}
	}
	return names
}

// packageLevelNames returns the names a file declares at package level.
func packageLevelNames(f *ast.File) []string {
	var names []string
	for _, d := range f.Decls {
		names = append(names, declNames(d)...)
	}
	return names
}

// importsFor returns the import specs for the package names f uses as x in
// x.Sel without declaring x (and without importing it already).
func importsFor(f *ast.File, pkgs map[string]string) []string {
	have := map[string]bool{}
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		have[p] = true
	}
	var specs []string
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		x, ok := sel.X.(*ast.Ident)
		// x.Obj (deprecated, but what go/parser's resolution fills in) is
		// set for names the file declares: those are not packages.
		if !ok || x.Obj != nil {
			return true
		}
		p, ok := pkgs[x.Name]
		if !ok || have[p] {
			return true
		}
		have[p] = true
		if path.Base(p) == x.Name {
			specs = append(specs, strconv.Quote(p))
		} else {
			specs = append(specs, x.Name+" "+strconv.Quote(p))
		}
		return true
	})
	slices.SortFunc(specs, func(a, b string) int {
		return strings.Compare(a[strings.IndexByte(a, '"'):], b[strings.IndexByte(b, '"'):])
	})
	return specs
}

// topLevelVars returns the variables the statements of funcName declare at
// the top level of its body (with := or var), in order of first declaration.
func topLevelVars(f *ast.File) []string {
	var names []string
	add := func(id *ast.Ident) {
		if id.Name != "_" && !slices.Contains(names, id.Name) {
			names = append(names, id.Name)
		}
	}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv != nil || fn.Name.Name != funcName || fn.Body == nil {
			continue
		}
		for _, st := range fn.Body.List {
			switch st := st.(type) {
			case *ast.AssignStmt:
				if st.Tok == token.DEFINE {
					for _, e := range st.Lhs {
						if id, ok := e.(*ast.Ident); ok {
							add(id)
						}
					}
				}
			case *ast.DeclStmt:
				if gd, ok := st.Decl.(*ast.GenDecl); ok && gd.Tok == token.VAR {
					for _, spec := range gd.Specs {
						for _, id := range spec.(*ast.ValueSpec).Names {
							add(id)
						}
					}
				}
			}
		}
	}
	return names
}

// tok is a scanned token with its offsets and line.
type tok struct {
	tok        token.Token
	lit        string
	pos, end   int // byte offsets in the scanned text
	line       int
	autoSemi   bool // a semicolon the scanner inserted at a newline or EOF
	braceBlock bool // for LBRACE: it opens a block (not a literal, struct or switch)
}

// scan returns the tokens of code; comments only if withComments. "…"
// (U+2026), which README uses as an ellipsis, scans as token.ELLIPSIS.
// Scanning errors are ignored: the compiler reports them.
func scan(code string, withComments bool) []tok {
	fset := token.NewFileSet()
	file := fset.AddFile("", -1, len(code))
	var s scanner.Scanner
	mode := scanner.Mode(0)
	if withComments {
		mode = scanner.ScanComments
	}
	s.Init(file, []byte(code), func(token.Position, string) {}, mode)
	var toks []tok
	for {
		p, t, lit := s.Scan()
		if t == token.EOF {
			return toks
		}
		off := file.Offset(p)
		n := len(lit)
		if t == token.ILLEGAL && lit == "…" {
			t = token.ELLIPSIS
		}
		auto := t == token.SEMICOLON && lit != ";"
		if lit == "" {
			n = len(t.String())
		}
		if auto {
			n = 0
		}
		toks = append(toks, tok{tok: t, lit: lit, pos: off, end: off + n, line: file.Line(p), autoSemi: auto})
	}
}

// replacePlaceholders replaces README's "your code here" placeholders with
// code that compiles, keeping every line on its line (see the package
// comment for the rules).
func replacePlaceholders(code string) string {
	all := scan(code, true)
	var sig []int // indexes in all of the tokens that are not comments or inserted semicolons
	for i, t := range all {
		if t.tok != token.COMMENT && !t.autoSemi {
			sig = append(sig, i)
		}
	}
	type edit struct {
		pos, end int
		text     string
	}
	var edits []edit
	var stack []bool // for each open bracket: whether it opens a block
	inBlock := func() bool { return len(stack) == 0 || stack[len(stack)-1] }
	for k := 0; k < len(sig); k++ {
		t := &all[sig[k]]
		switch t.tok {
		case token.LBRACE:
			t.braceBlock = isBlockBrace(all, sig, k)
			if k+2 < len(sig) && all[sig[k+1]].tok == token.ELLIPSIS && all[sig[k+2]].tok == token.RBRACE &&
				all[sig[k+2]].line == t.line {
				repl := "{}"
				if t.braceBlock {
					repl = "{ " + placeholderStmt + " }"
				}
				edits = append(edits, edit{t.pos, all[sig[k+2]].end, repl})
				k += 2
				continue
			}
			stack = append(stack, t.braceBlock)
		case token.LPAREN, token.LBRACK:
			stack = append(stack, false)
		case token.RBRACE, token.RPAREN, token.RBRACK:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case token.ELLIPSIS:
			alone := (k == 0 || all[sig[k-1]].line != t.line) && (k+1 == len(sig) || all[sig[k+1]].line != t.line)
			if alone {
				repl := ""
				if inBlock() {
					repl = placeholderStmt
				}
				edits = append(edits, edit{t.pos, t.end, repl})
			}
		}
	}
	// A body that holds only a "// …" comment.
	k := 0
	for i, t := range all {
		for k < len(sig) && sig[k] < i {
			k++
		}
		if t.tok != token.COMMENT || k == 0 || k == len(sig) {
			continue
		}
		text := strings.TrimSpace(strings.TrimPrefix(t.lit, "//"))
		if !strings.HasPrefix(t.lit, "//") || !(strings.HasPrefix(text, "…") || strings.HasPrefix(text, "...")) {
			continue
		}
		open, closing := all[sig[k-1]], all[sig[k]]
		if open.tok == token.LBRACE && open.braceBlock && closing.tok == token.RBRACE &&
			open.line < t.line && t.line < closing.line {
			edits = append(edits, edit{t.pos, t.pos, placeholderStmt + " "})
		}
	}
	slices.SortFunc(edits, func(a, b edit) int { return b.pos - a.pos })
	for _, e := range edits {
		code = code[:e.pos] + e.text + code[e.end:]
	}
	return code
}

// isBlockBrace reports whether the LBRACE at sig[k] opens a block (a body
// of func, if, for…) rather than a composite literal (gofmt puts no space
// before its brace), a struct or interface type, or a switch or select body.
func isBlockBrace(all []tok, sig []int, k int) bool {
	if k == 0 {
		return true
	}
	lb, prev := all[sig[k]], all[sig[k-1]]
	if prev.tok == token.STRUCT || prev.tok == token.INTERFACE {
		return false
	}
	first := k
	for first > 0 && all[sig[first-1]].line == lb.line {
		first--
	}
	if t := all[sig[first]].tok; t == token.SWITCH || t == token.SELECT {
		return false
	}
	if prev.end == lb.pos && prev.tok != token.RPAREN {
		return false
	}
	return true
}

// declLines reports, for each line of code, whether it belongs to a
// top-level declaration (func, method, type, var, const, import, with the
// comment lines directly above it) rather than to a statement.
func declLines(code string) []bool {
	lines := strings.Split(code, "\n")
	isDecl := make([]bool, len(lines))
	toks := scan(code, false)
	depth, start, prevEnd := 0, 0, 0
	for i, t := range toks {
		switch t.tok {
		case token.LPAREN, token.LBRACK, token.LBRACE:
			depth++
		case token.RPAREN, token.RBRACK, token.RBRACE:
			depth = max(depth-1, 0)
		}
		if t.tok != token.SEMICOLON || depth != 0 {
			continue
		}
		if i > start && isDeclStart(toks[start:i]) {
			first := toks[start].line
			for first-1 > prevEnd && strings.HasPrefix(strings.TrimSpace(lines[first-2]), "//") {
				first--
			}
			for l := first; l <= t.line; l++ {
				isDecl[l-1] = true
			}
		}
		prevEnd, start = t.line, i+1
	}
	return isDecl
}

// isDeclStart reports whether a top-level statement's tokens make a
// package-level declaration.
func isDeclStart(ts []tok) bool {
	switch ts[0].tok {
	case token.TYPE, token.VAR, token.CONST, token.IMPORT:
		return true
	case token.FUNC:
		if len(ts) > 1 && ts[1].tok == token.IDENT {
			return true // func Name(
		}
		if len(ts) > 1 && ts[1].tok == token.LPAREN { // func (r T) Name( — or a func literal
			depth := 0
			for j := 1; j < len(ts); j++ {
				switch ts[j].tok {
				case token.LPAREN:
					depth++
				case token.RPAREN:
					depth--
				}
				if depth == 0 {
					return j+2 < len(ts) && ts[j+1].tok == token.IDENT && ts[j+2].tok == token.LPAREN
				}
			}
		}
	}
	return false
}

// embedPatterns returns the patterns of the //go:embed lines of code.
func embedPatterns(code string) []string {
	var pats []string
	for _, line := range strings.Split(code, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "//go:embed ")
		if !ok {
			continue
		}
		for _, p := range strings.Fields(rest) {
			if u, err := strconv.Unquote(p); err == nil {
				p = u
			}
			pats = append(pats, strings.TrimPrefix(p, "all:"))
		}
	}
	return pats
}

// provideEmbed creates, in dir, a file or directory that pattern matches: a
// file when the pattern's last element has an extension, else a directory
// holding one file. Wildcards become "placeholder"; [classes] are not handled.
func provideEmbed(dir, pattern string) error {
	p := strings.NewReplacer("*", "placeholder", "?", "x").Replace(pattern)
	if strings.Contains(p, "[") {
		return fmt.Errorf("//go:embed %s: character classes are not supported by the README check", pattern)
	}
	target := filepath.Join(dir, filepath.FromSlash(p))
	if path.Ext(p) == "" {
		target = filepath.Join(target, "placeholder.txt")
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	return os.WriteFile(target, []byte("placeholder\n"), 0o644)
}

// modulePackages returns this module's importable packages by package name
// (those outside internal/, testdata and the directories the go tool
// ignores, except package main), plus stdPackages. A name two module
// packages share is left out.
func modulePackages(root, modulePath string) (map[string]string, error) {
	pkgs := map[string]string{}
	dup := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if p != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
			name == "testdata" || name == "internal" || name == "vendor") {
			return filepath.SkipDir
		}
		if p != root {
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir // another module
			}
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return err
		}
		for _, e := range entries {
			n := e.Name()
			if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(p, n), nil, parser.PackageClauseOnly)
			if err != nil {
				return err
			}
			pkg := f.Name.Name
			if pkg == "main" {
				break
			}
			rel, _ := filepath.Rel(root, p)
			imp := path.Join(modulePath, filepath.ToSlash(rel))
			if old, ok := pkgs[pkg]; ok && old != imp {
				dup[pkg] = true
			}
			pkgs[pkg] = imp
			break
		}
		return nil
	})
	for name := range dup {
		delete(pkgs, name)
	}
	for name, imp := range stdPackages {
		if _, ok := pkgs[name]; !ok {
			pkgs[name] = imp
		}
	}
	return pkgs, err
}

// moduleInfo returns the module root above the test's directory and its
// module path.
func moduleInfo(t testing.TB) (root, modulePath string) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(gomod), "\n") {
		if p, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return root, strings.Trim(strings.TrimSpace(p), `"`)
		}
	}
	t.Fatalf("%s/go.mod has no module line", root)
	return "", ""
}

// problem is a compile error of a README block, at its README line.
type problem struct {
	fence int    // the block's opening fence
	line  int    // README line (the fence line when the error is in generated code)
	col   int    // column, 0 if unknown
	msg   string // the compiler's message
}

func (p problem) String() string {
	pos := "README.md:" + strconv.Itoa(p.line)
	if p.col > 0 {
		pos += ":" + strconv.Itoa(p.col)
	}
	return fmt.Sprintf("%s: %s (```go block at line %d)", pos, p.msg, p.fence)
}

// checkReadme compiles every ```go block of readme inside the module at
// root and returns the compile errors. It fails t only when the check itself
// cannot run.
func checkReadme(t testing.TB, readme, root, modulePath string) []problem {
	t.Helper()
	blocks, err := extractGoBlocks(readme)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) == 0 {
		return nil
	}
	pkgs, err := modulePackages(root, modulePath)
	if err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(root, "_readmecheck")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })

	var probs []problem
	byDir := map[string]snippet{}
	var dirs []string
	for _, b := range blocks {
		s := transform(b, pkgs)
		dir := filepath.Join(tmp, s.dir)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, text := range s.files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		ok := true
		for _, p := range s.embeds {
			if err := provideEmbed(dir, p); err != nil {
				probs = append(probs, problem{fence: s.fence, line: s.fence, msg: err.Error()})
				ok = false
			}
		}
		if ok {
			byDir[s.dir] = s
			dirs = append(dirs, s.dir)
		}
	}

	// One go build for all blocks. A block that fails to load (say, an
	// import path that does not exist) stops go build before it compiles the
	// others, so build again without the blocks that failed until a build
	// succeeds or reports nothing new.
	base := filepath.Base(tmp)
	for len(dirs) > 0 {
		args := []string{"build", "-gcflags=-e"}
		for _, d := range dirs {
			args = append(args, "./"+base+"/"+d)
		}
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err == nil {
			break
		}
		if exit := (*exec.ExitError)(nil); !errors.As(err, &exit) {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		ps, failed := parseBuildOutput(out, base, byDir)
		probs = append(probs, ps...)
		if len(failed) == 0 {
			probs = append(probs, problem{msg: "go build failed: " + string(out)})
			break
		}
		dirs = slices.DeleteFunc(dirs, func(d string) bool { return failed[d] })
	}
	slices.SortStableFunc(probs, func(a, b problem) int { return a.line - b.line })
	return probs
}

// buildErrRE matches a compiler error in a snippet's file; the temporary
// directory's name is spliced in by parseBuildOutput.
const buildErrRE = `(?:^|[\\/])%s[\\/](b\d+)[\\/](\w+\.go):(\d+)(?::(\d+))?: (.*)$`

// parseBuildOutput maps go build's errors back to README lines and returns
// them with the set of snippet directories that had errors.
func parseBuildOutput(out []byte, base string, byDir map[string]snippet) ([]problem, map[string]bool) {
	re := regexp.MustCompile(fmt.Sprintf(buildErrRE, regexp.QuoteMeta(base)))
	var probs []problem
	failed := map[string]bool{}
	for _, line := range strings.Split(string(bytes.TrimSpace(out)), "\n") {
		if strings.HasPrefix(line, "\t") && len(probs) > 0 { // continuation: have/want…
			probs[len(probs)-1].msg += "\n\t\t" + strings.TrimSpace(line)
			continue
		}
		m := re.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		s, ok := byDir[m[1]]
		if !ok {
			continue
		}
		failed[m[1]] = true
		p := problem{fence: s.fence, line: s.fence, msg: m[5]}
		n, _ := strconv.Atoi(m[3])
		lines := s.lineOf[m[2]]
		switch {
		case m[2] == "prelude.go":
			p.msg = "in the prelude: " + p.msg
		case n >= 1 && n <= len(lines) && lines[n-1] > 0:
			p.line = lines[n-1]
			p.col, _ = strconv.Atoi(m[4])
		default:
			p.msg = "in generated code: " + p.msg
		}
		probs = append(probs, p)
	}
	return probs, failed
}

// TestReadmeGoSnippetsCompile builds every ```go block of README.md against
// the current API.
func TestReadmeGoSnippetsCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go build")
	}
	root, modulePath := moduleInfo(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range checkReadme(t, string(readme), root, modulePath) {
		t.Error(p)
	}
}

// TestCheckerCatchesErrors proves the check fails on broken snippets, at
// their README lines, and passes the good one beside them. The block whose
// import does not exist stops go build from loading anything, so it also
// proves that the other blocks are still compiled.
func TestCheckerCatchesErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go build")
	}
	root, modulePath := moduleInfo(t)
	readme := strings.Join([]string{
		"# demo",                          // 1
		"",                                // 2
		"```go",                           // 3
		"c.Set(ctx, \"k\", b, 0)",         // 4: good
		"```",                             // 5
		"",                                // 6
		"```go",                           // 7
		"v, ok, err := c.Get(ctx, \"k\")", // 8
		"noSuchFunction(v)",               // 9: undefined
		"```",                             // 10
		"",                                // 11
		"```go",                           // 12
		"type T int",                      // 13
		"",                                // 14
		"c.Set(ctx, \"k\", T(1), 0)",      // 15: wrong type
		"```",                             // 16
		"```go",                           // 17
		"package demo",                    // 18
		"",                                // 19
		"import _ \"" + modulePath + "/nosuchpackage\"", // 20: no such package
		"```",   // 21
		"```go", // 22: good, with each kind of placeholder
		"//go:embed static/*.css",
		"var css string",
		"",
		"func load(ctx context.Context) ([]byte, error) {",
		"\t// … read it",
		"}",
		"",
		"c, err := backends.Open(\"memory://\")",
		"if err != nil { ... }",
		"o := render.Options{...}",
		"switch {",
		"…",
		"}",
		"for range 3 {",
		"\t...",
		"}",
		"```",
	}, "\n")
	probs := checkReadme(t, readme, root, modulePath)
	var got []string
	for _, p := range probs {
		got = append(got, fmt.Sprintf("%d %d", p.fence, p.line))
	}
	want := []string{"7 9", "12 15", "17 20"}
	if !slices.Equal(got, want) {
		t.Fatalf("problems (fence line) = %q, want %q:\n%v", got, want, probs)
	}
	for i, want := range []string{"undefined: noSuchFunction", "cannot use T(1)", "nosuchpackage"} {
		if !strings.Contains(probs[i].msg, want) {
			t.Errorf("README.md:%d: %q, want %q", probs[i].line, probs[i].msg, want)
		}
	}
	if s := probs[0].String(); !strings.HasPrefix(s, "README.md:9:1: undefined: noSuchFunction") {
		t.Errorf("String() = %q, want README.md:9:1: undefined: noSuchFunction…", s)
	}
}

// testPkgs are the package names the transformation tests resolve.
var testPkgs = map[string]string{
	"cache":  "github.com/fragcache/fragcache/cache",
	"embed":  "embed",
	"fmt":    "fmt",
	"http":   "net/http",
	"pongo2": "github.com/flosch/pongo2/v6",
	"render": "github.com/fragcache/fragcache/render",
}

// TestTransform checks the file each kind of block becomes.
func TestTransform(t *testing.T) {
	tests := []struct {
		name, code, want string
	}{{
		name: "statements go into a function; variables get a blank use; imports from x.Sel",
		code: "x, err := cache.Open(\"memory://\", nil)\nfmt.Println(x)",
		want: `package snippet

import (
	"fmt"
	"github.com/fragcache/fragcache/cache"
)


func readmeBlock() {
x, err := cache.Open("memory://", nil)
fmt.Println(x)
	_ = x
	_ = err
}
`,
	}, {
		name: "declarations stay at package level with their comments and //go:embed",
		code: `//go:embed templates
var templates embed.FS

// hello greets.
func hello(w http.ResponseWriter, r *http.Request) {
	fmt.Fprint(w, "hi")
}

mux.HandleFunc("/", hello)
const n = 3
type T struct{ n int }

func (t T) N() int { return t.n }
v := T{n}.N()`,
		want: `package snippet

import (
	"embed"
	"fmt"
	"net/http"
)

//go:embed templates
var templates embed.FS
// hello greets.
func hello(w http.ResponseWriter, r *http.Request) {
	fmt.Fprint(w, "hi")
}
const n = 3
type T struct{ n int }
func (t T) N() int { return t.n }

func readmeBlock() {


mux.HandleFunc("/", hello)

v := T{n}.N()
	_ = v
}
`,
	}, {
		name: "a func literal is a statement",
		code: "func() {\n\tfmt.Println()\n}()\ngo func(n int) error { return nil }(1)",
		want: `package snippet

import (
	"fmt"
)


func readmeBlock() {
func() {
	fmt.Println()
}()
go func(n int) error { return nil }(1)
}
`,
	}, {
		name: "placeholders: block, composite literal, ellipsis lines, comment-only body",
		code: `if err != nil { ... }
o := render.Options{...}
p := render.Options{
	Debug: true,
	…
}
for range 3 {
	...
}
func load() (int, error) {
	// … read it
}
type A struct {
	// …
}
s := "{ ... }" // { ... }`,
		want: `package snippet

import (
	"github.com/fragcache/fragcache/render"
)

func load() (int, error) {
	panic("README placeholder") // … read it
}
type A struct {
	// …
}

func readmeBlock() {
if err != nil { panic("README placeholder") }
o := render.Options{}
p := render.Options{
	Debug: true,
	
}
for range 3 {
	panic("README placeholder")
}
s := "{ ... }" // { ... }
	_ = o
	_ = p
	_ = s
}
`,
	}, {
		name: "a name the block declares is not imported",
		code: "cache := c\ncache.Set(ctx, \"k\", b, 0)\nvar pongo2 = 1\n_ = pongo2.X",
		want: `package snippet

var pongo2 = 1

func readmeBlock() {
cache := c
cache.Set(ctx, "k", b, 0)
_ = pongo2.X
	_ = cache
}
`,
	}, {
		name: "a block with a package clause is kept as it is",
		code: "// Command demo.\npackage main\n\nfunc main() { ... }",
		want: "// Command demo.\npackage main\n\nfunc main() { ... }\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := transform(goBlock{fence: 10, code: tt.code}, testPkgs)
			got := s.files["block.go"]
			if got != tt.want {
				t.Errorf("block.go:\n%s\nwant:\n%s", got, tt.want)
			}
			// Every README line appears once, on a line of its own, mapped
			// to its README line; only placeholders are rewritten.
			orig := strings.Split(tt.code, "\n")
			gen := strings.Split(got, "\n")
			seen := map[int]bool{}
			for i, l := range s.lineOf["block.go"] {
				if l == 0 {
					continue
				}
				seen[l] = true
				o := orig[l-11]
				if gen[i] != o && !strings.Contains(o, "...") && !strings.Contains(o, "…") {
					t.Errorf("generated line %d = %q, from README line %d %q", i+1, gen[i], l, o)
				}
			}
			if len(seen) != len(orig) {
				t.Errorf("%d README lines mapped, want %d", len(seen), len(orig))
			}
		})
	}
}

// TestTransformPrelude checks that a fragment's prelude leaves out what the
// fragment declares, and imports what the rest uses.
func TestTransformPrelude(t *testing.T) {
	s := transform(goBlock{fence: 1, code: "type Article struct{}\nfunc must(err error) {}\nvar ctx = 1"}, testPkgs)
	p := s.files["prelude.go"]
	for _, gone := range []string{"type Article", "func must", "var ctx"} {
		if strings.Contains(p, gone) {
			t.Errorf("prelude.go keeps %q, which the block declares", gone)
		}
	}
	for _, kept := range []string{"var mux", "func loadReport", "\t\"net/http\"\n", "\"github.com/fragcache/fragcache/cache\""} {
		if !strings.Contains(p, kept) {
			t.Errorf("prelude.go lacks %q:\n%s", kept, p)
		}
	}
	if strings.Contains(p, "\"context\"") {
		t.Errorf("prelude.go imports context without ctx:\n%s", p)
	}
}

// TestPrelude checks that each prelude declaration declares one name, has a
// comment, and shadows no package a fragment may use.
func TestPrelude(t *testing.T) {
	root, modulePath := moduleInfo(t)
	pkgs, err := modulePackages(root, modulePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range preludeDecls() {
		if len(d.names) != 1 || !strings.HasPrefix(d.text, "// ") {
			t.Errorf("prelude: want one name with a comment:\n%s", d.text)
		}
		for _, n := range d.names {
			if p, ok := pkgs[n]; ok {
				t.Errorf("prelude name %s is the name of package %s", n, p)
			}
		}
	}
	for _, name := range []string{"cache", "backends", "render", "httpx", "memory", "pongo2", "http"} {
		if _, ok := pkgs[name]; !ok {
			t.Errorf("package %s not found", name)
		}
	}
}

// TestExtractGoBlocks checks fence handling.
func TestExtractGoBlocks(t *testing.T) {
	readme := "text\n```sh\ngo run .\n```\n```go\na := 1\n\nb := 2\n```\n```django\n{% x %}\n```\n  ```go title\nc := 3\n  ```\n"
	got, err := extractGoBlocks(readme)
	if err != nil {
		t.Fatal(err)
	}
	want := []goBlock{{fence: 5, code: "a := 1\n\nb := 2"}, {fence: 13, code: "c := 3"}}
	if !slices.Equal(got, want) {
		t.Errorf("blocks = %+v, want %+v", got, want)
	}
	if _, err := extractGoBlocks("```go\nx := 1\n"); err == nil || !strings.Contains(err.Error(), "README.md:1:") {
		t.Errorf("unclosed fence: err = %v, want README.md:1: …", err)
	}
}
