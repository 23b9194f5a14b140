package render

import (
	"errors"
	"fmt"
	"html"
	"io/fs"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/memory"
	"github.com/fragcache/fragcache/tags"
)

// DefaultContentType is the Content-Type of rendered pages unless
// Options.ContentType says otherwise.
const DefaultContentType = "text/html; charset=utf-8"

// Options configures a Renderer.
type Options struct {
	// FS holds the templates: an embed.FS, os.DirFS(dir), fstest.MapFS, ….
	// Template names are slash-separated paths from its root. Required.
	FS fs.FS

	// Registry holds the caches the {% cache %} tag uses
	// ("template_fragments" if present, else "default"; using="alias"
	// names another). When nil, the Renderer opens a registry with one
	// in-memory "default" cache (memory://) of its own, which Close closes.
	// A Registry given here is not closed by Close.
	Registry *cache.Registry

	// Debug re-reads, on every render, the files each template was parsed
	// from (itself and the templates it extends or includes) and re-parses
	// it when one changed, appeared or disappeared; and it shows the error
	// text in the body of a 500 response. It also makes a {% cache %}
	// vary-on argument that does not resolve, and a Django name that
	// matches two Go fields or methods, render errors (see
	// tags.Options.StrictVaryOn and tags.NameOptions). Never enable it in
	// production: error messages may reveal template source and data.
	Debug bool

	// Logger receives render errors and panics, with the template name and,
	// when pongo2 knows them, file and line. Nil means slog.Default().
	Logger *slog.Logger

	// User returns the value of request.user for a request: a map, or a Go
	// value (a struct or a pointer to one) whose fields and methods
	// templates read with Django's names (request.user.username reads
	// Username or the field tagged json:"username"; see tags.DjangoNames).
	// When User is nil or
	// returns nil, request.user is an anonymous user: username "",
	// is_authenticated false, is_anonymous true, id and pk nil. User is
	// called at most once per render, and only if the template reads
	// request.user.
	User func(*http.Request) any

	// Globals are values every template sees, copied at New. The Renderer
	// adds "request" and the tag's tags.ContextKey; a "request" given here
	// replaces the Renderer's. Keys must be identifiers ([A-Za-z0-9_]+).
	// The values must be safe for concurrent use (templates only read them).
	Globals pongo2.Context

	// ContentType is the Content-Type of rendered pages when the handler
	// has not set one; "" means DefaultContentType.
	ContentType string

	// TagOptions configures the {% cache %} tag, and {% static %}
	// (TagOptions.Static, a *staticfiles.Storage). A nil TagOptions.Logger
	// defaults to Logger, or to slog.Default() when Logger is nil too (the
	// tag logs cache backend errors, at most once a second per fragment).
	// Debug sets TagOptions.StrictVaryOn.
	TagOptions tags.Options

	// NoPrefetch turns off fetching a render's {% cache %} fragments ahead.
	// By default the first tag a render executes fetches, with one
	// multi-get per cache, the fragments of every tag in the render's
	// top-level context (the template, those it extends, its blocks and
	// literal includes), and of the loops over a plain list variable; the
	// first tag in each other {% for %} loop fetches those of the loop's
	// items (see tags.PlanPrefetch). The output is the same either way.
	NoPrefetch bool
}

// Renderer renders Django-syntax templates from an fs.FS to net/http
// responses. Each Renderer has its own pongo2 TemplateSet (with its own
// loader, Globals and cache registry), so several Renderers with different
// caches live side by side in one process. A Renderer is safe for
// concurrent use.
type Renderer struct {
	set         *pongo2.TemplateSet
	loader      *fsLoader
	frags       *tags.Fragments
	reg         *cache.Registry
	ownReg      bool
	debug       bool
	logger      *slog.Logger
	user        func(*http.Request) any
	anon        map[string]any
	contentType string
	prefetch    bool

	// templates maps a cleaned template name to its *entry. Reads take no
	// lock; parses are serialized by parseMu (pongo2's TemplateSet is not
	// safe for concurrent parsing).
	templates sync.Map
	parseMu   sync.Mutex

	closeOnce sync.Once
	closeErr  error
}

// entry is a parsed template, what its {% cache %} tags will need, and, in
// debug mode, the files it came from.
type entry struct {
	tpl  *pongo2.Template
	plan *tags.Plan // nil without prefetching
	deps []dep
}

// New returns a Renderer. It fails if FS is nil, if a Globals key is not an
// identifier, or if the registry or the tag cannot be set up.
func New(opts Options) (*Renderer, error) {
	if opts.FS == nil {
		return nil, errors.New("render: Options.FS is nil")
	}
	for k := range opts.Globals {
		if !isIdentifier(k) {
			return nil, fmt.Errorf("render: Options.Globals key %q is not an identifier ([A-Za-z0-9_]+)", k)
		}
	}
	rd := &Renderer{
		loader:      &fsLoader{fsys: opts.FS},
		reg:         opts.Registry,
		debug:       opts.Debug,
		logger:      opts.Logger,
		user:        opts.User,
		anon:        newAnonymousUser(),
		contentType: opts.ContentType,
		prefetch:    !opts.NoPrefetch,
	}
	if rd.contentType == "" {
		rd.contentType = DefaultContentType
	}
	if rd.reg == nil {
		// memory:// with its defaults, built directly so that a renderer
		// links only the memory backend, not every backend of
		// cache/backends.
		c, err := memory.NewCache(memory.Options{})
		if err != nil {
			return nil, fmt.Errorf("render: opening the default cache: %w", err)
		}
		reg, err := cache.NewRegistry(map[string]*cache.Cache{cache.DefaultAlias: c})
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("render: opening the default registry: %w", err)
		}
		rd.reg, rd.ownReg = reg, true
	}
	tagOpts := opts.TagOptions
	if tagOpts.Logger == nil {
		tagOpts.Logger = rd.log()
	}
	// Debug mode makes an unresolved {% cache %} vary-on argument an error.
	tagOpts.StrictVaryOn = tagOpts.StrictVaryOn || opts.Debug
	if tagOpts.IncludeLoader == nil {
		// {% include name_variable %} reads the Renderer's template cache.
		tagOpts.IncludeLoader = includeLoader{rd}
	}
	frags, err := tags.New(rd.reg, tagOpts)
	if err != nil {
		rd.closeOwned()
		return nil, fmt.Errorf("render: %w", err)
	}
	rd.frags = frags

	// Django's filters (date formats, truncation, humanize, …), in
	// pongo2's process-wide registry; see tags.UseDjangoBuiltins.
	tags.UseDjangoBuiltins()
	rd.set = pongo2.NewSet("fragcache/render", rd.loader)
	// No TrimBlocks/LStripBlocks: pongo2 v6 rewrites the shared tokens on
	// every render with them (a data race, and output that drifts).
	rd.set.Globals[requestKey] = newRequestValue(rd.anon)
	for k, v := range opts.Globals {
		rd.set.Globals[k] = v
	}
	if err := frags.Install(rd.set); err != nil {
		rd.closeOwned()
		return nil, fmt.Errorf("render: installing the cache tag: %w", err)
	}
	return rd, nil
}

func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Registry returns the cache registry the {% cache %} tag uses.
func (rd *Renderer) Registry() *cache.Registry { return rd.reg }

// Fragments returns the {% cache %} tag's binding, for InvalidateFragment
// and Stats.
func (rd *Renderer) Fragments() *tags.Fragments { return rd.frags }

// Close closes the registry the Renderer opened itself (when
// Options.Registry was nil); a registry passed in Options is left open.
// Calling it again returns the first result. Renders after Close still
// work, but the tag's cache calls fail (and it renders fragments uncached).
func (rd *Renderer) Close() error {
	rd.closeOnce.Do(func() { rd.closeErr = rd.closeOwned() })
	return rd.closeErr
}

func (rd *Renderer) closeOwned() error {
	if rd.ownReg {
		return rd.reg.Close()
	}
	return nil
}

// Preload parses the named templates now (and whatever they extend or
// include), so that a broken or missing template shows up at startup
// rather than on the first request. It returns the first error, a *Error.
func (rd *Renderer) Preload(names ...string) error {
	for _, name := range names {
		if _, err := rd.template(name); err != nil {
			return err
		}
	}
	return nil
}

// Render renders the named template with data and writes it with status
// 200; see RenderStatus.
func (rd *Renderer) Render(w http.ResponseWriter, r *http.Request, name string, data pongo2.Context) {
	rd.RenderStatus(w, r, http.StatusOK, name, data)
}

// RenderStatus renders the named template with data into a buffer, then
// sets Content-Type (unless the handler set one) and Content-Length and
// writes the page once, with the given status; a HEAD request gets the
// headers only. Templates see data, the Globals, and request (see the
// package documentation).
//
// If the template does not exist, fails to parse, or fails or panics while
// rendering, nothing of it is written: the error is logged (template name,
// file, line) and the response is a 500 whose body is "Internal Server
// Error", or, in debug mode, the HTML-escaped error text. Error responses
// carry Cache-Control: no-store.
func (rd *Renderer) RenderStatus(w http.ResponseWriter, r *http.Request, status int, name string, data pongo2.Context) {
	b, err := rd.RenderBytes(r, name, data)
	if err != nil {
		rd.fail(w, r, err)
		return
	}
	h := w.Header()
	if _, ok := h["Content-Type"]; !ok {
		h["Content-Type"] = []string{rd.contentType}
	}
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(status)
	if r != nil && r.Method == http.MethodHead {
		return
	}
	if _, err := w.Write(b); err != nil {
		rd.log().Debug("render: writing the response", slog.String("template", name), slog.Any("error", err))
	}
}

// RenderBytes renders the named template with data for request r (which
// may be nil: request then reads as empty, and the tag's cache calls use
// context.Background()) and returns the page. The bytes are the caller's.
// It is for callers that need the page rather than a response, such as a
// page cache. Errors and panics come back as a *Error and are not logged.
func (rd *Renderer) RenderBytes(r *http.Request, name string, data pongo2.Context) ([]byte, error) {
	e, err := rd.entry(name)
	if err != nil {
		return nil, err
	}
	ctx, s := rd.context(r, data)
	s.prefetch.Use(e.plan)
	return rd.execute(e.tpl, name, ctx)
}

// context returns the render context: data plus the render state. It
// copies data (the caller may share it between goroutines), adding one key.
func (rd *Renderer) context(r *http.Request, data pongo2.Context) (pongo2.Context, *renderState) {
	ctx := make(pongo2.Context, len(data)+1)
	for k, v := range data {
		ctx[k] = v
	}
	s := rd.newRenderState(r)
	ctx[tags.RequestContextKey] = s
	return ctx, s
}

// execute renders tpl, turning a panic into an *Error.
func (rd *Renderer) execute(tpl *pongo2.Template, name string, ctx pongo2.Context) (b []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			perr, ok := p.(error)
			if !ok {
				perr = fmt.Errorf("%v", p)
			}
			b, err = nil, &Error{Name: name, Panic: true, Stack: debug.Stack(), Err: perr}
		}
	}()
	b, err = tpl.ExecuteBytes(ctx)
	if err != nil {
		return nil, newError(name, err)
	}
	return b, nil
}

func (rd *Renderer) log() *slog.Logger {
	if rd.logger != nil {
		return rd.logger
	}
	return slog.Default()
}

// fail logs err and answers 500.
func (rd *Renderer) fail(w http.ResponseWriter, r *http.Request, err error) {
	attrs := []any{slog.Any("error", err)}
	var e *Error
	if errors.As(err, &e) {
		attrs = append(attrs, slog.String("template", e.Name))
		if e.File != "" {
			attrs = append(attrs, slog.String("file", e.File))
		}
		if e.Line > 0 {
			attrs = append(attrs, slog.Int("line", e.Line), slog.Int("column", e.Column))
		}
		if e.Panic {
			attrs = append(attrs, slog.String("stack", string(e.Stack)))
		}
	}
	if r != nil {
		attrs = append(attrs, slog.String("method", r.Method), slog.String("path", r.URL.Path))
	}
	msg := "render: template error"
	switch {
	case e != nil && e.Panic:
		msg = "render: panic while rendering"
	case errors.Is(err, ErrNotFound):
		msg = "render: template not found"
	}
	rd.log().Error(msg, attrs...)

	body := "Internal Server Error\n"
	ct := "text/plain; charset=utf-8"
	if rd.debug {
		ct = "text/html; charset=utf-8"
		body = "<!DOCTYPE html>\n<title>Internal Server Error</title>\n<h1>Internal Server Error</h1>\n<pre>" +
			html.EscapeString(err.Error()) + "</pre>\n"
	}
	h := w.Header()
	h.Del("Content-Encoding")
	h.Del("ETag")
	h.Del("Last-Modified")
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusInternalServerError)
	if r != nil && r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write([]byte(body))
}

// Template returns the parsed template name, as Render uses it: for
// tags.TemplateDigest, say.
func (rd *Renderer) Template(name string) (*pongo2.Template, error) { return rd.template(name) }

// template returns the parsed template for name, parsing it on first use
// (and, in debug mode, again when one of its files changed).
func (rd *Renderer) template(name string) (*pongo2.Template, error) {
	e, err := rd.entry(name)
	if err != nil {
		return nil, err
	}
	return e.tpl, nil
}

// entry is template with the template's plan.
func (rd *Renderer) entry(name string) (*entry, error) {
	canon := resolveName("", name)
	if v, ok := rd.templates.Load(canon); ok {
		e := v.(*entry)
		if !rd.debug || !rd.stale(e) {
			return e, nil
		}
	}
	if !validName(canon) {
		return nil, notFound(name, &outsideRootError{name: name})
	}
	return rd.parse(name, canon)
}

// stale reports whether one of the files e was parsed from changed.
func (rd *Renderer) stale(e *entry) bool {
	for _, d := range e.deps {
		if rd.loader.changed(d) {
			return true
		}
	}
	return false
}

// parse parses canon (asked for as name) and stores it. Parses are
// serialized: pongo2's TemplateSet is not safe for concurrent parsing, and
// the loader records one parse at a time. Only successful parses are kept,
// so the map holds at most one entry per template file.
func (rd *Renderer) parse(name, canon string) (*entry, error) {
	rd.parseMu.Lock()
	defer rd.parseMu.Unlock()
	if v, ok := rd.templates.Load(canon); ok { // parsed while we waited
		e := v.(*entry)
		if !rd.debug || !rd.stale(e) {
			return e, nil
		}
	}
	rec := &recorder{hash: rd.debug}
	rd.loader.rec.Store(rec)
	tpl, err := fromFile(rd.set, canon)
	rd.loader.rec.Store(nil)
	deps, loadErr := rec.result()
	if err != nil {
		rd.templates.Delete(canon)
		if len(deps) > 0 && deps[0].name == canon && deps[0].missing {
			return nil, notFound(name, loadErr)
		}
		if loadErr != nil && strings.Contains(err.Error(), "unable to resolve template") {
			// pongo2 drops the loader's error; put it back.
			err = fmt.Errorf("%w (%v)", err, loadErr)
		}
		return nil, newError(name, err)
	}
	// Go values with Django names ({{ request.user.username }} on a struct).
	if err := tags.DjangoNames(tpl, tags.NameOptions{Strict: rd.debug}); err != nil {
		return nil, newError(name, err)
	}
	e := &entry{tpl: tpl}
	if rd.prefetch {
		// What its {% cache %} tags will need. A template pongo2 parses
		// in a way the planner does not know is rendered without
		// prefetching, as before.
		if plan, err := tags.PlanPrefetch(tpl); err == nil {
			e.plan = plan
		} else {
			rd.log().Warn("render: fragments of this template are not prefetched", slog.String("template", name), slog.Any("error", err))
		}
	}
	if rd.debug {
		e.deps = deps
	}
	rd.templates.Store(canon, e)
	return e, nil
}

// fromFile parses a template, turning a parser panic into an error.
func fromFile(set *pongo2.TemplateSet, name string) (tpl *pongo2.Template, err error) {
	defer func() {
		if p := recover(); p != nil {
			tpl, err = nil, fmt.Errorf("panic while parsing %q: %v", name, p)
		}
	}()
	return set.FromFile(name)
}
