package main

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/failopen"
	"github.com/fragcache/fragcache/httpx"
	"github.com/fragcache/fragcache/httpx/cachedebug"
	"github.com/fragcache/fragcache/httpx/pagecache"
	"github.com/fragcache/fragcache/render"
	"github.com/fragcache/fragcache/staticfiles"
	"github.com/fragcache/fragcache/tags"
)

//go:embed templates static
var files embed.FS

const (
	// perPage is the number of articles on a list page.
	perPage = 20
	// loginCookie holds the username of the logged-in user.
	loginCookie = "login"
	// countKey is the low-level cache key of the number of published
	// articles (in the "default" cache).
	countKey = "blog:published_count"
	// authorPageSeconds is how long the page cache keeps an author page.
	authorPageSeconds = 300
	// maxTitle and maxBody bound what the edit form accepts.
	maxTitle = 200
	maxBody  = 20000
)

// Config configures an App.
type Config struct {
	// Caches holds the "default" cache (low-level values) and the
	// "template_fragments" cache of the {% cache %} tags (the tags use
	// "default" when it is absent). The App does not close it. Required.
	Caches *cache.Registry
	// Store is the blog's data. Required.
	Store *Store
	// Debug shows template errors in 500 pages and logs every request.
	Debug bool
	// Logger receives errors (and, with Debug, requests); nil means
	// slog.Default().
	Logger *slog.Logger
}

// App is the blog: its pages, their caches and the store behind them.
// Serve it with Handler; it is safe for concurrent use.
type App struct {
	store  *Store
	caches *cache.Registry
	rd     *render.Renderer
	frags  *tags.Fragments
	// static serves static/ under hashed names ({% static %} gives them).
	static *staticfiles.Storage
	counts cache.Typed[int]
	// pageOptions configure the page cache of the author pages.
	pageOptions []pagecache.Option
	log         *slog.Logger
	debug       bool
	handler     http.Handler

	routes []*route // in registration order, for /debug/cache

	mu            sync.Mutex
	invalidations []invalidation // newest first, at most maxInvalidations
}

// route counts the requests a route received and the times its view ran:
// the difference is what the cache layers in between answered.
type route struct {
	name, pattern   string
	requests, views atomic.Uint64
}

// invalidation records what saving an article deleted, for /debug/cache.
type invalidation struct {
	at      time.Time
	article int
	deleted []string // what was deleted, for display
}

const maxInvalidations = 20

// NewApp returns the blog for cfg.
func NewApp(cfg Config) (*App, error) {
	if cfg.Caches == nil || cfg.Store == nil {
		return nil, errors.New("blog: Config needs Caches and Store")
	}
	def, err := cfg.Caches.Default()
	if err != nil {
		return nil, fmt.Errorf("blog: %w", err)
	}
	a := &App{
		store:  cfg.Store,
		caches: cfg.Caches,
		counts: cache.NewTyped[int](def, cache.JSONCodec{}),
		log:    cfg.Logger,
		debug:  cfg.Debug,
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	a.pageOptions = []pagecache.Option{
		pagecache.WithRegistry(cfg.Caches), // the "default" cache
		// Logged-in users see their name in the navbar: only anonymous
		// requests (without the login cookie) use the page cache.
		pagecache.WithAnonymousOnly(loginCookie),
		pagecache.WithLogger(a.log),
	}
	templates, err := fs.Sub(files, "templates")
	if err != nil {
		return nil, err
	}
	// The static files get their hashed names here, once, from the
	// embedded files (Django's ManifestStaticFilesStorage, without
	// collectstatic): blog.css → blog.<md5>.css, its url(img/logo.svg)
	// rewritten to the logo's hashed name.
	staticFS, err := fs.Sub(files, "static")
	if err != nil {
		return nil, err
	}
	if a.static, err = staticfiles.New(staticFS, staticfiles.Options{URL: "/static/", Logger: a.log}); err != nil {
		return nil, fmt.Errorf("blog: %w", err)
	}
	a.rd, err = render.New(render.Options{
		FS:       templates,
		Registry: cfg.Caches,
		Debug:    cfg.Debug,
		Logger:   a.log,
		User:     a.requestUser,
		Globals: pongo2.Context{
			// clock is read inside cached fragments: it shows when the
			// fragment was rendered, hence how old the cached copy is.
			"clock": func() string { return time.Now().Format(time.TimeOnly) },
		},
		// Template digests: a fragment's key varies on its template text,
		// so a deploy that edits a template never serves fragments
		// rendered from the old one. (Keys then differ from Django's: this
		// site shares no fragment with a Django app.)
		TagOptions: tags.Options{TemplateDigests: true, Static: a.static},
	})
	if err != nil {
		return nil, err
	}
	a.frags = a.rd.Fragments()
	if err := a.rd.Preload("list.html", "author.html", "article.html", "edit.html",
		"login.html", "debug_cache.html", "error.html"); err != nil {
		return nil, err
	}
	a.handler = a.routesHandler()
	return a, nil
}

// Handler returns the blog's HTTP handler.
func (a *App) Handler() http.Handler { return a.handler }

// Close releases the renderer. The cache registry is the caller's.
func (a *App) Close() error { return a.rd.Close() }

// routesHandler builds the routes. Each page lists its middleware, outermost
// first; see handle.
func (a *App) routesHandler() http.Handler {
	mux := http.NewServeMux()
	csrf := http.NewCrossOriginProtection() // rejects cross-site POSTs from browsers
	articleValidators := httpx.Condition(a.articleETag, articleLastModified)

	// Compression (Django's GZipMiddleware, plus Brotli) on every page:
	// inside the page cache, which then stores one compressed copy per
	// Accept-Encoding and serves it without compressing again.
	compress := httpx.Compress()

	// Pages that show who is logged in (in the navbar) vary on Cookie.
	a.handle(mux, "GET /{$}", "article list", a.articleList, compress, httpx.VaryOnCookie)
	a.handle(mux, "GET /authors/{id}", "author page", a.authorPage,
		pagecache.Page(cache.Seconds(authorPageSeconds), a.pageOptions...), // outside Compress and VaryOnCookie: it must see the final headers
		compress,
		httpx.VaryOnCookie)
	a.handle(mux, "GET /articles/{id}", "article page", a.articlePage,
		compress, // weakens no ETag here: articleETag's are weak already
		httpx.VaryOnCookie,
		httpx.CacheControl(httpx.Private(), httpx.NoCache()), // browsers revalidate every time…
		a.loadArticle,
		articleValidators) // …and get a 304 without the page being rendered
	a.handle(mux, "GET /articles/{id}/edit", "edit form", a.editForm,
		compress, httpx.NeverCache, a.loginRequired, a.loadArticle)
	a.handle(mux, "POST /articles/{id}/edit", "edit save", a.saveArticle,
		compress, httpx.NeverCache, csrf.Handler, a.loginRequired, a.loadArticle)
	a.handle(mux, "GET /login", "login", a.login, httpx.NeverCache)
	a.handle(mux, "GET /logout", "logout", a.logout, httpx.NeverCache)
	a.handle(mux, "GET /debug/cache", "cache stats", a.debugCache, compress, httpx.NeverCache)
	a.handle(mux, "POST /debug/cache/invalidate", "invalidate a group", a.invalidateGroup,
		httpx.NeverCache, csrf.Handler, a.loginRequired)
	// The library's debug page, mounted in one line: every alias (URLs
	// redacted), breakers, fragments, latest invalidations; ?format=json.
	mux.Handle("GET /debug/fragcache", cachedebug.Handler(a.caches, cachedebug.WithFragments(a.frags)))
	a.handle(mux, "/", "not found", a.notFound, compress)

	// Hashed names are cached by browsers for a year (immutable), the
	// others for a minute, with ETags; gzip and brotli copies made at
	// start-up.
	a.handle(mux, "GET /static/", "static files", a.static.Handler().ServeHTTP)

	return a.timed(mux)
}

// handle registers a view under pattern behind middleware (outermost
// first). The route's counters see each request on the way in and each run
// of the view.
func (a *App) handle(mux *http.ServeMux, pattern, name string, view http.HandlerFunc, middleware ...func(http.Handler) http.Handler) {
	rt := &route{name: name, pattern: pattern}
	a.routes = append(a.routes, rt)
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt.views.Add(1)
		view(w, r)
	})
	for i := len(middleware) - 1; i >= 0; i-- {
		h = middleware[i](h)
	}
	mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt.requests.Add(1)
		h.ServeHTTP(w, r)
	}))
}

// startKey is the context key of the time a request arrived.
type startKey struct{}

// timed notes when each request arrived, for the response time shown in
// the navbar, and logs requests in debug mode.
func (a *App) timed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), startKey{}, start)))
		if a.debug {
			a.log.Debug("request", "method", r.Method, "path", r.URL.RequestURI(), "duration", time.Since(start))
		}
	})
}

// responseTime returns the time since r arrived, as shown in the navbar.
func responseTime(r *http.Request) string {
	start, ok := r.Context().Value(startKey{}).(time.Time)
	if !ok {
		return "?"
	}
	return strconv.FormatFloat(float64(time.Since(start).Microseconds())/1000, 'f', 2, 64) + " ms"
}

// render renders a page. The response time is a function: the template
// calls it when it reads it, at the very end of the page (the CSS shows it
// in the navbar), so it covers the whole render.
func (a *App) render(w http.ResponseWriter, r *http.Request, status int, name string, data pongo2.Context) {
	if data == nil {
		data = pongo2.Context{}
	}
	data["response_time"] = func() string { return responseTime(r) }
	a.rd.RenderStatus(w, r, status, name, data)
}

// lazy returns a template value that runs load when a template first reads
// it and remembers the result. pongo2 calls a function it finds in the
// context, as Django calls a callable, so a query wrapped in lazy and read
// only inside {% cache %} does not run when the fragment comes from the
// cache: the Go counterpart of Django's lazy QuerySets.
func lazy[T any](load func() (T, error)) func() (T, error) {
	return sync.OnceValues(load)
}

// articleList is "/": the published articles, newest first, perPage to a
// page (?page=N), with three cached fragments (see list.html).
func (a *App) articleList(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	page := 1
	if s := r.URL.Query().Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			a.notFound(w, r)
			return
		}
		page = n
	}
	total, err := a.publishedCount(ctx)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	numPages := max(1, (total+perPage-1)/perPage)
	if page > numPages {
		a.notFound(w, r) // only real pages reach the cache
		return
	}
	data := pongo2.Context{
		"page": page, // the vary-on value of {% cache 60 article_list page %}
		"page_obj": map[string]any{
			"number":               page,
			"num_pages":            numPages,
			"has_previous":         page > 1,
			"previous_page_number": page - 1,
			"has_next":             page < numPages,
			"next_page_number":     page + 1,
		},
		"demo_users": a.store.DemoUsers(6),
		// Read only inside {% cache %} tags: on a hit, none of these runs.
		"articles": lazy(func() ([]map[string]any, error) {
			list, err := a.store.PublishedPage(ctx, page, perPage)
			return articleViews(list), err
		}),
		"top_authors": lazy(func() ([]map[string]any, error) {
			top, err := a.store.TopAuthors(ctx, 10)
			out := make([]map[string]any, len(top))
			for i, s := range top {
				out[i] = map[string]any{"author": authorView(s.Author), "articles": s.Articles}
			}
			return out, err
		}),
		"me": lazy(func() (map[string]any, error) {
			return a.userSummary(ctx, r)
		}),
	}
	a.render(w, r, http.StatusOK, "list.html", data)
}

// publishedCount returns the number of published articles through the
// low-level API: a value in the "default" cache, loaded once for
// concurrent misses. Saving an article does not change it. If the cache
// fails, the store answers: a cache outage slows pages down but does not
// break them.
func (a *App) publishedCount(ctx context.Context) (int, error) {
	n, err := a.counts.GetOrSet(ctx, countKey, a.store.CountPublished, cache.Seconds(300))
	if err != nil && ctx.Err() == nil {
		a.log.Warn("blog: published count from the cache failed; asking the store", "error", err)
		n, err = a.store.CountPublished(ctx)
	}
	return n, err
}

// userSummary is what the per-user sidebar shows: the logged-in user's
// draft count and latest articles. It returns nil for anonymous users.
func (a *App) userSummary(ctx context.Context, r *http.Request) (map[string]any, error) {
	u, ok := a.currentUser(r)
	if !ok {
		return nil, nil
	}
	drafts, err := a.store.DraftCount(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	latest, err := a.store.LatestByAuthor(ctx, u.ID, sidebarArticles)
	if err != nil {
		return nil, err
	}
	return map[string]any{"drafts": drafts, "latest": articleViews(latest)}, nil
}

// sidebarArticles is the number of their latest articles the sidebar lists.
const sidebarArticles = 3

// authorPage is /authors/{id}: an author and their published articles.
// Anonymous visitors get it from the page cache (see routesHandler) for
// authorPageSeconds, or until an edit invalidates it.
//
// The articles are a plain list, queried before rendering; author.html
// caches each one's teaser in {% cache 600 teaser article.id
// article.updated_at %} inside the for loop, with no fragment around it
// (collection caching): a render queries the list but renders only the
// teasers it does not find, and a saved article's teaser has a new key, so
// nothing needs deleting.
func (a *App) authorPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, ok := pathID(r)
	if !ok {
		a.notFound(w, r)
		return
	}
	author, err := a.store.Author(ctx, id)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	articles, err := a.store.ArticlesByAuthor(ctx, id)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	a.render(w, r, http.StatusOK, "author.html", pongo2.Context{
		"author":   authorView(author),
		"articles": articleViews(articles),
	})
}

// articleKey is the context key of the article loadArticle found.
type articleKey struct{}

// loadArticle looks up the article of the URL's {id} once, for the
// validators (ETag, Last-Modified) and the view after them; an unknown ID
// is a 404.
func (a *App) loadArticle(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(r)
		if !ok {
			a.notFound(w, r)
			return
		}
		art, err := a.store.Article(r.Context(), id)
		if err != nil {
			a.storeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), articleKey{}, art)))
	})
}

// articleOf returns the article loadArticle stored in r's context.
func articleOf(r *http.Request) Article {
	art, _ := r.Context().Value(articleKey{}).(Article)
	return art
}

// articleETag is the article page's ETag. It changes when the article is
// saved, and covers the viewer, since the page shows who is logged in. It
// is weak: two renders differ in the response time they show.
func (a *App) articleETag(r *http.Request) string {
	art := articleOf(r)
	u, _ := a.currentUser(r)
	return fmt.Sprintf(`W/"%d-%d-%s"`, art.ID, art.UpdatedAt.UnixNano(), u.Username)
}

// articleLastModified is the article page's Last-Modified.
func articleLastModified(r *http.Request) time.Time { return articleOf(r).UpdatedAt }

// articlePage is /articles/{id}. httpx.Condition answers conditional
// requests before it runs.
func (a *App) articlePage(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, http.StatusOK, "article.html", pongo2.Context{"article": articleView(articleOf(r))})
}

// editForm is GET /articles/{id}/edit.
func (a *App) editForm(w http.ResponseWriter, r *http.Request) {
	art := articleOf(r)
	a.renderForm(w, r, http.StatusOK, art, art.Title, art.Body, nil)
}

// renderForm renders the edit form with the given values and errors.
func (a *App) renderForm(w http.ResponseWriter, r *http.Request, status int, art Article, title, body string, errs []string) {
	a.render(w, r, status, "edit.html", pongo2.Context{
		"article":  articleView(art),
		"form":     map[string]any{"title": title, "body": body, "errors": errs},
		"max_body": maxBody,
	})
}

// saveArticle is POST /articles/{id}/edit: it saves the title and body,
// deletes the cached fragments and pages that show the article, and
// redirects to it.
func (a *App) saveArticle(w http.ResponseWriter, r *http.Request) {
	art := articleOf(r)
	r.Body = http.MaxBytesReader(w, r.Body, 4*maxBody)
	if err := r.ParseForm(); err != nil {
		a.renderError(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	title := strings.TrimSpace(r.PostForm.Get("title"))
	body := strings.TrimSpace(strings.ReplaceAll(r.PostForm.Get("body"), "\r\n", "\n"))
	var errs []string
	switch n := utf8.RuneCountInString(title); {
	case n == 0:
		errs = append(errs, "The title cannot be empty.")
	case n > maxTitle:
		errs = append(errs, fmt.Sprintf("The title has %d characters; the limit is %d.", n, maxTitle))
	}
	if n := utf8.RuneCountInString(body); n > maxBody {
		errs = append(errs, fmt.Sprintf("The body has %d characters; the limit is %d.", n, maxBody))
	}
	if !utf8.ValidString(title) || !utf8.ValidString(body) {
		errs = append(errs, "The text is not valid UTF-8.")
	}
	if len(errs) > 0 {
		a.renderForm(w, r, http.StatusUnprocessableEntity, art, title, body, errs)
		return
	}
	saved, err := a.store.UpdateArticle(r.Context(), art.ID, title, body)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	// The article is saved: finish invalidating even if the client leaves.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	a.invalidateArticle(ctx, saved)
	http.Redirect(w, r, articleURL(saved.ID), http.StatusSeeOther)
}

// invalidateArticle deletes every cached fragment and page that shows an
// article, with no fragment name or URL listed here: each row, teaser and
// sidebar entry showing an article declares it with
// {% cachetag "article:"|add:article.id %} (partials/article_row.html,
// partials/welcome.html), and one PurgeTag deletes what declared it:
//
//   - the article_list fragment of the list page it is on (its rows are in
//     it);
//   - the sidebar of its author, if it lists it;
//   - the teaser fragments of the author page, and the page cache's copies
//     of that page (every Vary variant, every host): a page declares the
//     tags of the fragments it renders or hits.
//
// top_authors shows names and article counts, which editing a title or a
// body does not change: it declares no article, and stays.
//
// A render that read the old article before the save and stores its
// fragment after the purge puts the old version back until the fragment
// expires (60 s for article_list); Django has the same race with deletes.
// Short timeouts bound it; varying a fragment on the data's version (an
// article's updated_at, as the teasers do) avoids it.
//
// Failures are logged, not returned: the article is saved, and a fragment
// that could not be deleted expires on its own.
func (a *App) invalidateArticle(ctx context.Context, art Article) {
	tag := "article:" + strconv.Itoa(art.ID)
	var deleted []string
	n, err := a.frags.PurgeTag(ctx, tag)
	switch {
	case err != nil:
		a.log.Error("blog: invalidation failed", "tag", tag, "error", err)
		deleted = append(deleted, "tag "+tag+": error: "+err.Error())
	default:
		deleted = append(deleted, fmt.Sprintf("tag %s: %d entries (fragments and pages)", tag, n))
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	a.invalidations = append([]invalidation{{at: time.Now(), article: art.ID, deleted: deleted}}, a.invalidations...)
	a.invalidations = a.invalidations[:min(len(a.invalidations), maxInvalidations)]
}

// currentUser returns the author the login cookie names, if any.
func (a *App) currentUser(r *http.Request) (Author, bool) {
	c, err := r.Cookie(loginCookie)
	if err != nil {
		return Author{}, false
	}
	return a.store.LookupUser(c.Value)
}

// requestUser is render.Options.User: the value of request.user in
// templates, with Django's attribute names; nil means anonymous.
func (a *App) requestUser(r *http.Request) any {
	u, ok := a.currentUser(r)
	if !ok {
		return nil
	}
	v := authorView(u)
	v["is_authenticated"] = true
	v["is_anonymous"] = false
	return v
}

// loginRequired lets logged-in users through. Others are sent to the login
// page (GET) or refused (other methods).
func (a *App) loginRequired(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := a.currentUser(r); ok {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		a.renderError(w, r, http.StatusForbidden, "Log in to do this.")
	})
}

// login is /login?user=NAME[&next=PATH]: it sets the login cookie and
// redirects. Without user it shows the login form. (A real site would
// check a password, on a POSTed form; a link keeps the demo easy to try.)
// The cookie is SameSite=Lax, so cross-site POSTs do not carry it.
func (a *App) login(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	next := localPath(q.Get("next"))
	data := pongo2.Context{"next": next, "demo_users": a.store.DemoUsers(12)}
	username := q.Get("user")
	if username == "" {
		a.render(w, r, http.StatusOK, "login.html", data)
		return
	}
	u, ok := a.store.LookupUser(username)
	if !ok {
		data["error"] = fmt.Sprintf("There is no user %q.", username)
		a.render(w, r, http.StatusNotFound, "login.html", data)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: loginCookie, Value: u.Username, Path: "/",
		MaxAge: 30 * 24 * 3600, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout is /logout: it deletes the login cookie and goes home.
func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: loginCookie, Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// localPath returns s if it is a path on this site, else "/", so that
// ?next= cannot send users elsewhere.
func localPath(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(s, "/") ||
		strings.HasPrefix(s, "//") || strings.ContainsRune(s, '\\') {
		return "/"
	}
	return s
}

// invalidateGroup is the debug page's form: delete every variant of a
// fragment name (every user's sidebar, every list page) with
// InvalidateFragmentVariants, or every cached copy of a page (every Vary
// variant, GET and HEAD) with pagecache.InvalidateURL.
func (a *App) invalidateGroup(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var what string
	var n int
	var err error
	switch {
	case r.PostFormValue("fragment") != "":
		name := r.PostFormValue("fragment")
		what = "every variant of fragment " + name
		n, err = a.frags.InvalidateFragmentVariants(ctx, name)
	case r.PostFormValue("path") != "":
		path := localPath(r.PostFormValue("path"))
		origin := "http://" + r.Host
		if r.TLS != nil {
			origin = "https://" + r.Host
		}
		what = "every cached copy of " + path
		n, err = pagecache.InvalidateURL(ctx, origin+path, a.pageOptions...)
	default:
		http.Error(w, "give a fragment name or a path", http.StatusUnprocessableEntity)
		return
	}
	done := fmt.Sprintf("%s: %d entries", what, n)
	if err != nil {
		a.log.Error("blog: invalidation failed", "what", what, "error", err)
		done = what + ": error: " + err.Error()
	}
	a.mu.Lock()
	a.invalidations = append([]invalidation{{at: time.Now(), deleted: []string{done}}}, a.invalidations...)
	a.invalidations = a.invalidations[:min(len(a.invalidations), maxInvalidations)]
	a.mu.Unlock()
	http.Redirect(w, r, "/debug/cache", http.StatusSeeOther)
}

// debugCache is /debug/cache: hits and misses per fragment name and per
// cache alias, the breaker of fail-open backends, the store's query count,
// what each route's cache layers answered, and the latest invalidations.
func (a *App) debugCache(w http.ResponseWriter, r *http.Request) {
	var fragments []map[string]any
	for _, s := range a.frags.Stats() {
		fragments = append(fragments, map[string]any{
			"name": s.Name, "hits": s.Hits, "misses": s.Misses, "renders": s.Renders,
			"errors": s.Errors, "store_skips": s.StoreSkips,
			"hit_rate": percent(s.Hits, s.Hits+s.Misses),
		})
	}
	var caches []map[string]any
	for _, alias := range a.caches.Aliases() {
		c, err := a.caches.Cache(alias)
		if err != nil {
			continue
		}
		s := c.Stats()
		row := map[string]any{
			"alias": alias, "backend": fmt.Sprintf("%T", c.Backend()),
			"hits": s.Hits, "misses": s.Misses, "sets": s.Sets, "deletes": s.Deletes, "errors": s.Errors,
			"hit_rate": percent(s.Hits, s.Hits+s.Misses), "breaker": "none",
		}
		if b, ok := cache.As[failopen.Breaker](c.Backend()); ok {
			bs := b.Stats()
			row["breaker"] = fmt.Sprintf("%s (%d failures, %d short-circuited)", bs.State, bs.Failures, bs.ShortCircuited)
		}
		caches = append(caches, row)
	}
	var routes []map[string]any
	for _, rt := range a.routes {
		req, views := rt.requests.Load(), rt.views.Load()
		routes = append(routes, map[string]any{
			"name": rt.name, "pattern": rt.pattern, "requests": req, "views": views,
			"answered": req - min(views, req),
		})
	}
	a.mu.Lock()
	var invalidations []map[string]any
	for _, inv := range a.invalidations {
		invalidations = append(invalidations, map[string]any{
			"at": inv.at.Format(time.TimeOnly), "article": inv.article,
			"url": articleURL(inv.article), "deleted": inv.deleted,
		})
	}
	a.mu.Unlock()
	a.render(w, r, http.StatusOK, "debug_cache.html", pongo2.Context{
		"fragments":     fragments,
		"caches":        caches,
		"routes":        routes,
		"invalidations": invalidations,
		"queries":       a.store.Queries(),
		"db_delay":      a.store.delay.String(),
	})
}

// percent formats part/whole as a percentage, "–" when whole is 0.
func percent(part, whole uint64) string {
	if whole == 0 {
		return "–"
	}
	return strconv.FormatFloat(100*float64(part)/float64(whole), 'f', 1, 64) + "%"
}

// notFound renders the 404 page.
func (a *App) notFound(w http.ResponseWriter, r *http.Request) {
	a.renderError(w, r, http.StatusNotFound, "There is nothing at "+r.URL.Path+".")
}

// storeError answers a failed store look-up: 404 for ErrNotFound, else
// a 500.
func (a *App) storeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrNotFound) {
		a.notFound(w, r)
		return
	}
	a.serverError(w, r, err)
}

// serverError logs err and renders a 500, unless the client has gone.
func (a *App) serverError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return
	}
	a.log.Error("blog: request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	a.renderError(w, r, http.StatusInternalServerError, "Something went wrong.")
}

// renderError renders the error page with a status and a message.
func (a *App) renderError(w http.ResponseWriter, r *http.Request, status int, message string) {
	w.Header().Set("Cache-Control", "no-store")
	a.render(w, r, status, "error.html", pongo2.Context{
		"status": status, "reason": http.StatusText(status), "message": message,
	})
}

// pathID returns the URL's {id} if it is a positive integer.
func pathID(r *http.Request) (int, bool) {
	id, err := strconv.Atoi(r.PathValue("id"))
	return id, err == nil && id > 0
}

func articleURL(id int) string { return "/articles/" + strconv.Itoa(id) }
func authorURL(id int) string  { return "/authors/" + strconv.Itoa(id) }

// Dates are formatted here rather than with the date filter, whose format
// strings differ between Django and pongo2.
const (
	dateLayout     = "2 January 2006"
	dateTimeLayout = "2 January 2006, 15:04 MST"
)

// authorView is an author as templates see it, with Django-style
// lower-case attribute names.
func authorView(u Author) map[string]any {
	return map[string]any{
		"id": u.ID, "username": u.Username, "name": u.Name, "bio": u.Bio,
		"joined": u.Joined.Format(dateLayout), "url": authorURL(u.ID),
	}
}

// articleView is an article as templates see it.
func articleView(art Article) map[string]any {
	tagNames := make([]string, len(art.Tags))
	for i, t := range art.Tags {
		tagNames[i] = t.Name
	}
	return map[string]any{
		"id": art.ID, "title": art.Title, "body": art.Body,
		// Paragraphs are split here: pongo2's linebreaks filter neither
		// escapes its input nor marks its output safe, unlike Django's.
		"paragraphs": paragraphs(art.Body),
		"is_draft":   !art.Published,
		"published":  art.PublishedAt.Format(dateLayout),
		"updated":    art.UpdatedAt.Format(dateTimeLayout),
		// A vary-on value: it changes on every save (the store keeps
		// UpdatedAt increasing, to the microsecond).
		"updated_at": pyDateTime(art.UpdatedAt),
		"edited":     art.UpdatedAt.After(art.PublishedAt),
		"tags":       tagNames,
		"author":     authorView(art.Author),
		"url":        articleURL(art.ID),
		"edit_url":   articleURL(art.ID) + "/edit",
	}
}

// pyDateTime formats t as Python's str() does a naive datetime
// ("2006-01-02 15:04:05", then ".000000" if it has microseconds), so that
// a Django template varying a fragment on the same value builds the same
// key.
func pyDateTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1000 == 0 {
		return t.Format(time.DateTime)
	}
	return t.Format("2006-01-02 15:04:05.000000")
}

// paragraphs splits text at blank lines.
func paragraphs(text string) []string {
	var out []string
	for p := range strings.SplitSeq(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func articleViews(list []Article) []map[string]any {
	out := make([]map[string]any, len(list))
	for i, art := range list {
		out[i] = articleView(art)
	}
	return out
}
