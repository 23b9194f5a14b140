package render

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/flosch/pongo2/v6"
)

// ErrNotFound is matched (errors.Is) by the error for a template that does
// not exist in the FS, or whose name leaves the FS root.
var ErrNotFound = errors.New("template not found")

// Error is the error of a failed render or parse. RenderBytes and
// Preload return it; Render logs its fields and answers 500.
type Error struct {
	// Name is the template the caller asked for.
	Name string
	// File is the file pongo2 blames, when it knows: Name itself, or a
	// template it includes or extends.
	File string
	// Line and Column locate the problem in File (1-based; 0 when unknown).
	Line, Column int
	// Panic is true when rendering panicked; Err then holds the panic value
	// and Stack the goroutine's stack.
	Panic bool
	// Stack is the stack of a panic, or nil.
	Stack []byte
	// Err is the underlying error: a *pongo2.Error, an error matching
	// ErrNotFound, or the panic.
	Err error
}

// Error returns a message naming the template, e.g.
//
//	render "page.html": [Error (where: execution) in page.html | Line 3 Col 4 near 'x'] …
func (e *Error) Error() string {
	s := "render " + strconv.Quote(e.Name) + ": "
	if e.Panic {
		s += "panic: "
	}
	return s + e.Err.Error()
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// newError wraps err (a *pongo2.Error or any error) for template name.
func newError(name string, err error) *Error {
	e := &Error{Name: name, Err: err}
	var pe *pongo2.Error
	if errors.As(err, &pe) {
		e.File, e.Line, e.Column = pe.Filename, pe.Line, pe.Column
	}
	return e
}

// notFound returns the error for a missing template.
func notFound(name string, cause error) *Error {
	if cause == nil {
		return &Error{Name: name, Err: ErrNotFound}
	}
	return &Error{Name: name, Err: fmt.Errorf("%w: %w", ErrNotFound, cause)}
}
