// Package readmecheck holds the test that every Go snippet in the
// repository's README.md compiles against the current API, so the README
// cannot drift from the code it documents.
//
// The package has no non-test code. TestReadmeGoSnippetsCompile extracts each
// fenced ```go block, turns it into a Go file and builds all of them with one
// `go build` inside the module. What a README author must follow:
//
//   - A block that starts with a package clause is compiled as it is, alone
//     in its own package, and must import what it uses.
//   - Any other block is a fragment. Its top-level declarations (func, method,
//     type, var, const, import, with their doc comments and //go:embed lines)
//     stay at package level; every other line goes, in order, into the body
//     of one function of the block's own. Declare local variables with :=,
//     since a top-level var is a package-level variable.
//   - Each block is its own package (all built by one go build), so blocks
//     may declare the same names, and a block whose import cannot be loaded
//     does not hide the errors of the others. Every variable the function's
//     top level declares gets a `_ = x`, so a snippet need not use what it
//     declares.
//   - Imports are added for the package names a fragment uses in x.Sel form
//     and does not declare: every package of this module outside internal/
//     by its package name (names two packages share, and main, excepted),
//     plus the fixed list stdPackages in readme_test.go (add to it when
//     README uses another standard or third-party package).
//   - Names a fragment uses without defining (ctx, mux, reg, c, handlers,
//     loaders, Article, must…) come from the prelude constant in
//     readme_test.go; a prelude name the block declares itself is dropped.
//     Add a name there, with its comment, when README assumes a new one.
//   - Placeholders for "your code here" are replaced, on the same line:
//     `{ ... }` (or `{ … }`) becomes `{ panic("README placeholder") }` where
//     it is a block and `{}` where it is a composite literal, struct or
//     interface (no space before the brace, gofmt style); a line holding only
//     `...` becomes that panic call in a block and is dropped inside a
//     composite literal, struct, call or switch; a body holding only a
//     `// …` comment gets the panic call before the comment. Nothing else is
//     rewritten, and nothing inside strings or other comments.
//   - //go:embed patterns get a placeholder file or directory to match.
//
// Errors are reported at their README line.
package readmecheck
