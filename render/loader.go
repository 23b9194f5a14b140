package render

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/fragcache/fragcache/tags"
)

// maxLoadsPerParse bounds the files one parse may open. pongo2 parses the
// targets of {% extends %} and static {% include %} while it parses their
// template, so an extends or include cycle would otherwise recurse until the
// goroutine's stack overflows, which kills the process.
const maxLoadsPerParse = 1000

// fsLoader is a pongo2.TemplateLoader over an fs.FS with Django's name
// resolution:
//
//   - a name is resolved from the root of the FS ("partials/nav.html"),
//     whichever template includes or extends it;
//   - a name starting with "./" or "../" is resolved from the directory of
//     the including or extending template, as Django does since 3.1;
//   - names are slash-separated and cleaned with package path; a name that
//     leaves the root ("../x.html" from a root template, "/etc/passwd",
//     "a/../../x") is refused.
//
// pongo2 calls Abs twice for every {% include %} and {% extends %}: once
// with the including template's name as base, then again (from FromFile)
// with an empty base and the name Abs returned. Abs is idempotent for that
// second call: a cleaned root-relative name resolves to itself.
//
// Get reads the whole file and closes it (pongo2 v6's FSLoader leaks it).
type fsLoader struct {
	fsys fs.FS
	// rec, while a parse runs, collects what Get loads: the parse's
	// dependencies (for debug reloading), the last loader error (pongo2
	// replaces it with "unable to resolve template") and a load count.
	rec atomic.Pointer[recorder]
}

// Abs implements pongo2.TemplateLoader.
func (l *fsLoader) Abs(base, name string) string {
	return resolveName(base, name)
}

// resolveName resolves a template name as Django does; see fsLoader. The
// result is cleaned; validName reports whether it stays inside the root.
func resolveName(base, name string) string {
	if strings.HasPrefix(name, "./") || strings.HasPrefix(name, "../") {
		return path.Join(path.Dir(strings.TrimPrefix(base, "/")), name)
	}
	if name == "" {
		return ""
	}
	return path.Clean(name)
}

// validName reports whether a resolved name names a file inside the root.
func validName(name string) bool {
	return name != "." && name != "" && fs.ValidPath(name)
}

// Get implements pongo2.TemplateLoader: it reads the named file whole and
// closes it.
func (l *fsLoader) Get(name string) (io.Reader, error) {
	rec := l.rec.Load()
	if rec != nil && !rec.count() {
		err := fmt.Errorf("more than %d template files loaded while parsing one template: is there an {%% extends %%} or {%% include %%} cycle?", maxLoadsPerParse)
		rec.fail(err)
		return nil, err
	}
	if !validName(name) {
		err := &outsideRootError{name: name}
		rec.fail(err)
		return nil, err
	}
	data, err := fs.ReadFile(l.fsys, name)
	if err != nil {
		rec.fail(err)
		rec.add(dep{name: name, missing: true})
		return nil, err
	}
	if rec != nil {
		d := dep{name: name}
		if rec.hash {
			d.sum = sha256.Sum256(data)
		}
		rec.add(d)
	}
	// Fragment names pongo2 cannot lex ({% cache 300 sidébar %}).
	return bytes.NewReader(tags.PrepareSource(data)), nil
}

// changed reports whether a dependency differs from what was parsed: its
// content changed, or it appeared or disappeared. It reads the whole file:
// debug mode only, where correctness beats speed (Django's debug mode
// re-reads and re-parses every template on every render).
func (l *fsLoader) changed(d dep) bool {
	data, err := fs.ReadFile(l.fsys, d.name)
	if err != nil {
		return !d.missing
	}
	return d.missing || sha256.Sum256(data) != d.sum
}

// dep is a file a parse loaded, or tried to load ({% include … if_exists %}).
type dep struct {
	name    string
	missing bool
	sum     [sha256.Size]byte
}

// recorder collects what one parse loads. Parses are serialized by the
// Renderer, but a lazy {% include var %} may call Get from a render while a
// parse runs, hence the mutex.
type recorder struct {
	hash bool // compute content sums (debug mode)

	mu      sync.Mutex
	loads   int
	deps    []dep
	lastErr error
}

// count counts one load and reports whether it is within the limit. A nil
// recorder (no parse running) always allows it.
func (r *recorder) count() bool {
	if r == nil {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.loads++
	return r.loads <= maxLoadsPerParse
}

func (r *recorder) add(d dep) {
	if r == nil {
		return
	}
	r.mu.Lock()
	for _, old := range r.deps {
		if old.name == d.name {
			r.mu.Unlock()
			return
		}
	}
	r.deps = append(r.deps, d)
	r.mu.Unlock()
}

func (r *recorder) fail(err error) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.lastErr = err
	r.mu.Unlock()
}

// result returns the dependencies and the last loader error.
func (r *recorder) result() ([]dep, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.deps, r.lastErr
}

// outsideRootError is the error for a template name that leaves the root of
// the FS. Like Django's SuspiciousFileOperation in a template loader, it
// counts as "template does not exist": it matches fs.ErrNotExist.
type outsideRootError struct{ name string }

func (e *outsideRootError) Error() string {
	return fmt.Sprintf("template name %q is outside the template root", e.name)
}

func (e *outsideRootError) Unwrap() error { return fs.ErrNotExist }
