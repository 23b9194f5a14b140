package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/internal/testserver"
	"github.com/fragcache/fragcache/tags"
)

// site is an App served by httptest, with a store without latency.
type site struct {
	t     *testing.T
	app   *App
	store *Store
	srv   *httptest.Server
}

func newSite(t *testing.T, cacheURL string) *site {
	t.Helper()
	caches, err := openCaches(cacheURL, "", slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { caches.Close() })
	store := NewStore(0)
	app, err := NewApp(Config{Caches: caches, Store: store, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	srv := httptest.NewServer(app.Handler())
	t.Cleanup(srv.Close)
	return &site{t: t, app: app, store: store, srv: srv}
}

// client returns a client with its own cookies, logged in as user unless
// user is "". It does not follow redirects.
func (s *site) client(user string) *http.Client {
	s.t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		s.t.Fatal(err)
	}
	c := &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if user != "" {
		resp, body := s.do(c, http.MethodGet, "/login?user="+url.QueryEscape(user), nil, nil)
		if resp.StatusCode != http.StatusSeeOther {
			s.t.Fatalf("login as %s: %d %s", user, resp.StatusCode, body)
		}
	}
	return c
}

// do sends a request and returns the response and its body.
func (s *site) do(c *http.Client, method, path string, form url.Values, header http.Header) (*http.Response, string) {
	s.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, s.srv.URL+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp, string(b)
}

// get is a GET that must answer want.
func (s *site) get(c *http.Client, path string, want int) string {
	s.t.Helper()
	resp, body := s.do(c, http.MethodGet, path, nil, nil)
	if resp.StatusCode != want {
		s.t.Fatalf("GET %s: status %d, want %d\n%s", path, resp.StatusCode, want, body)
	}
	return body
}

// fragment returns the stats of a fragment name (zero if unseen).
func (s *site) fragment(name string) tags.FragmentStats {
	for _, st := range s.app.frags.Stats() {
		if st.Name == name {
			return st
		}
	}
	return tags.FragmentStats{Name: name}
}

// views returns how many times a route's view ran.
func (s *site) views(name string) uint64 {
	for _, rt := range s.app.routes {
		if rt.name == name {
			return rt.views.Load()
		}
	}
	s.t.Fatalf("no route %q", name)
	return 0
}

// edit posts the edit form of an article.
func (s *site) edit(c *http.Client, id int, title, body string, header http.Header) (*http.Response, string) {
	s.t.Helper()
	return s.do(c, http.MethodPost, fmt.Sprintf("/articles/%d/edit", id), url.Values{"title": {title}, "body": {body}}, header)
}

func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

func mustNotContain(t *testing.T, what, body string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(body, w) {
			t.Errorf("%s contains %q", what, w)
		}
	}
}

func TestStoreIsDeterministic(t *testing.T) {
	a, b := NewStore(0), NewStore(0)
	ctx := context.Background()
	if len(a.authors) != numAuthors || len(a.articles) != numArticles || len(a.tags) != 50 {
		t.Fatalf("sizes: %d authors, %d articles, %d tags", len(a.authors), len(a.articles), len(a.tags))
	}
	pa, _ := a.PublishedPage(ctx, 7, perPage)
	pb, _ := b.PublishedPage(ctx, 7, perPage)
	if len(pa) != perPage || fmt.Sprint(pa) != fmt.Sprint(pb) {
		t.Error("two stores differ")
	}
	if u, ok := a.LookupUser("alice"); !ok || u.ID != 1 {
		t.Errorf("alice: %v %v", u, ok)
	}
	if a.Queries() != 1 {
		t.Errorf("queries = %d, want 1", a.Queries())
	}
}

func TestPages(t *testing.T) {
	s := newSite(t, "memory://")
	anon, alice := s.client(""), s.client("alice")
	art, _ := s.store.Article(context.Background(), 42)
	author := art.Author

	tests := []struct {
		client *http.Client
		path   string
		status int
		wants  []string
	}{
		{anon, "/", http.StatusOK, []string{"Latest articles", "Page 1 of", "Top authors", "Welcome, guest", "rendered in", `href="/login?user=alice"`}},
		{anon, "/?page=2", http.StatusOK, []string{"Page 2 of", "‹ previous"}},
		{alice, "/", http.StatusOK, []string{"Logged in as", "<strong>alice</strong>", "Welcome, Alice", "Your latest articles"}},
		{anon, fmt.Sprintf("/authors/%d", author.ID), http.StatusOK, []string{author.Name, "published article", art.Title}},
		{anon, "/articles/42", http.StatusOK, []string{art.Title, "by <a href=\"" + authorURL(author.ID), "Log in</a> to edit", "<p>"}},
		{alice, "/articles/42", http.StatusOK, []string{"Edit this article", `href="/articles/42/edit"`}},
		{alice, "/articles/42/edit", http.StatusOK, []string{`<form method="post" action="/articles/42/edit"`, `value="` + art.Title + `"`}},
		{anon, "/login", http.StatusOK, []string{"Log in", `name="user"`, "bob"}},
		{anon, "/debug/cache", http.StatusOK, []string{"Cache stats", "template_fragments", "default"}},
		{anon, "/static/blog.css", http.StatusOK, []string{".navbar"}},
		{anon, "/nope", http.StatusNotFound, []string{"404 Not Found"}},
		{anon, "/?page=0", http.StatusNotFound, nil},
		{anon, "/?page=x", http.StatusNotFound, nil},
		{anon, "/?page=100000", http.StatusNotFound, nil},
		{anon, "/articles/0", http.StatusNotFound, nil},
		{anon, "/articles/99999", http.StatusNotFound, nil},
		{anon, "/authors/99999", http.StatusNotFound, nil},
		{anon, "/login?user=nobody", http.StatusNotFound, []string{"There is no user"}},
	}
	for _, tt := range tests {
		body := s.get(tt.client, tt.path, tt.status)
		mustContain(t, tt.path, body, tt.wants...)
		if strings.HasSuffix(tt.path, ".css") {
			continue
		}
		mustNotContain(t, tt.path, body, "{{", "{% if", "{% for", "{% endcache", "Internal Server Error")
	}
}

func TestListSecondRenderFromFragmentCache(t *testing.T) {
	s := newSite(t, "memory://")
	for _, user := range []string{"", "alice"} {
		c := s.client(user)
		first := s.get(c, "/?page=3", http.StatusOK)
		list, top, side := s.fragment("article_list"), s.fragment("top_authors"), s.fragment("sidebar")
		queries := s.store.Queries()

		second := s.get(c, "/?page=3", http.StatusOK)
		if q := s.store.Queries(); q != queries {
			t.Errorf("user %q: the second render ran %d store queries, want 0", user, q-queries)
		}
		for _, before := range []tags.FragmentStats{list, top, side} {
			after := s.fragment(before.Name)
			if after.Hits != before.Hits+1 || after.Renders != before.Renders {
				t.Errorf("user %q: %s went from %+v to %+v, want one more hit and no render", user, before.Name, before, after)
			}
		}
		// The pages differ only in the response time.
		// The page shows its render time (to the second) and timings: the
		// rest must be the same.
		clock := regexp.MustCompile(`rendered at \d\d:\d\d:\d\d`)
		strip := func(p string) string {
			return clock.ReplaceAllString(p[:strings.Index(p, `<div class="timing"`)], "rendered at —")
		}
		if strip(first) != strip(second) {
			t.Errorf("user %q: the cached page differs from the first one", user)
		}
	}
}

func TestLoginSwitchesSidebar(t *testing.T) {
	s := newSite(t, "memory://")
	c := s.client("")
	mustContain(t, "anonymous", s.get(c, "/", http.StatusOK), "Welcome, guest")

	resp, _ := s.do(c, http.MethodGet, "/login?user=alice&next=/%3Fpage%3D2", nil, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/?page=2" {
		t.Fatalf("login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	cookie := resp.Header.Get("Set-Cookie")
	mustContain(t, "login cookie", cookie, "login=alice", "HttpOnly", "SameSite=Lax")
	body := s.get(c, "/", http.StatusOK)
	mustContain(t, "alice's page", body, "Welcome, Alice", "sidebar “alice”")
	mustNotContain(t, "alice's page", body, "Welcome, guest")

	s.get(c, "/login?user=bob", http.StatusSeeOther)
	body = s.get(c, "/", http.StatusOK)
	mustContain(t, "bob's page", body, "Welcome, Bob", "<strong>bob</strong>")
	mustNotContain(t, "bob's page", body, "Welcome, Alice")

	s.get(c, "/logout", http.StatusSeeOther)
	body = s.get(c, "/", http.StatusOK)
	mustContain(t, "after logout", body, "Welcome, guest")

	// Each user's sidebar is a fragment of its own: alice's is still cached.
	before := s.fragment("sidebar")
	s.get(c, "/login?user=alice", http.StatusSeeOther)
	mustContain(t, "alice again", s.get(c, "/", http.StatusOK), "Welcome, Alice")
	if after := s.fragment("sidebar"); after.Hits != before.Hits+1 {
		t.Errorf("sidebar: %+v then %+v, want a hit", before, after)
	}

	// next= cannot leave the site.
	resp, _ = s.do(c, http.MethodGet, "/login?user=alice&next=//evil.example/", nil, nil)
	if loc := resp.Header.Get("Location"); loc != "/" {
		t.Errorf("external next redirected to %q", loc)
	}
}

func TestEditInvalidatesWhatShowsTheArticle(t *testing.T) {
	s := newSite(t, "memory://")
	ctx := context.Background()
	page3, _ := s.store.PublishedPage(ctx, 3, perPage)
	art := page3[5]
	alice := s.client("alice")

	anon := s.client("")
	authorPage := authorURL(art.Author.ID)
	s.get(alice, "/?page=1", http.StatusOK)
	mustContain(t, "list page 3", s.get(alice, "/?page=3", http.StatusOK), art.Title)
	mustContain(t, "author page", s.get(anon, authorPage, http.StatusOK), art.Title) // stored in the page cache

	form := s.get(alice, articleURL(art.ID)+"/edit", http.StatusOK)
	mustContain(t, "edit form", form, art.Title)
	resp, _ := s.do(alice, http.MethodGet, articleURL(art.ID)+"/edit", nil, nil)
	mustContain(t, "edit form Cache-Control", resp.Header.Get("Cache-Control"), "no-store", "private")

	const title, body = "Edited: invalidation by content tag works", "A new body.\n\nSecond paragraph."
	resp, _ = s.edit(alice, art.ID, title, body, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != articleURL(art.ID) {
		t.Fatalf("save: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	list := s.fragment("article_list")
	page := s.get(alice, "/?page=3", http.StatusOK)
	mustContain(t, "list page 3", page, title)
	mustNotContain(t, "list page 3", page, art.Title)
	if after := s.fragment("article_list"); after.Misses != list.Misses+1 {
		t.Errorf("article_list page 3 was not invalidated: %+v then %+v", list, after)
	}
	list = s.fragment("article_list")
	s.get(alice, "/?page=1", http.StatusOK)
	if after := s.fragment("article_list"); after.Hits != list.Hits+1 {
		t.Errorf("article_list page 1 was invalidated too: %+v then %+v", list, after)
	}

	page = s.get(alice, articleURL(art.ID), http.StatusOK)
	mustContain(t, "article page", page, "<h1>"+title+"</h1>", "<p>A new body.</p>", "<p>Second paragraph.</p>", "edited")
	views := s.views("author page")
	mustContain(t, "author page", s.get(anon, authorPage, http.StatusOK), title)
	if s.views("author page") != views+1 {
		t.Error("the author page came from the page cache after the edit")
	}
	mustContain(t, "debug page", s.get(alice, "/debug/cache", http.StatusOK),
		fmt.Sprintf("tag article:%d: ", art.ID))
}

func TestAuthorPageCache(t *testing.T) {
	s := newSite(t, "memory://")
	anon, alice := s.client(""), s.client("alice")
	const path = "/authors/3"

	resp, first := s.do(anon, http.MethodGet, path, nil, nil)
	if resp.StatusCode != http.StatusOK || strings.Contains(resp.Header.Get("Cache-Status"), "hit") {
		t.Fatalf("first GET: %d, Cache-Status %q", resp.StatusCode, resp.Header.Get("Cache-Status"))
	}
	mustContain(t, "Cache-Control", resp.Header.Get("Cache-Control"), "max-age=300")
	views, queries := s.views("author page"), s.store.Queries()

	resp, second := s.do(anon, http.MethodGet, path, nil, nil)
	if !strings.Contains(resp.Header.Get("Cache-Status"), "hit") {
		t.Errorf("second GET: Cache-Status %q, want a hit", resp.Header.Get("Cache-Status"))
	}
	if s.views("author page") != views || s.store.Queries() != queries {
		t.Error("a page cache hit ran the view")
	}
	if first != second {
		t.Error("the cached page differs from the stored one")
	}

	// Logged-in users bypass the page cache: their navbar is their own.
	resp, body := s.do(alice, http.MethodGet, path, nil, nil)
	mustContain(t, "alice's author page", body, "<strong>alice</strong>")
	mustContain(t, "Cache-Status", resp.Header.Get("Cache-Status"), "bypass")
	if s.views("author page") != views+1 {
		t.Error("a logged-in request did not run the view")
	}
}

// TestAuthorPageTeasers: logged-in users bypass the page cache, and the
// author page's teasers are one fragment per article; a save gives the
// article's teaser a new key (its updated_at) and leaves the others cached.
func TestAuthorPageTeasers(t *testing.T) {
	s := newSite(t, "memory://")
	alice := s.client("alice")
	ctx := context.Background()
	arts, _ := s.store.ArticlesByAuthor(ctx, 3)
	n := uint64(len(arts))
	if n < 2 {
		t.Fatalf("author 3 has %d published articles, want at least 2", n)
	}
	path := authorURL(3)

	before := s.fragment("teaser")
	first := s.get(alice, path, http.StatusOK)
	mustContain(t, "author page", first, "cached · teaser", arts[0].Title, arts[n-1].Title)
	if after := s.fragment("teaser"); after.Misses != before.Misses+n || after.Hits != before.Hits {
		t.Errorf("first render: teaser %+v then %+v, want %d misses", before, after, n)
	}
	before = s.fragment("teaser")
	queries := s.store.Queries()
	second := s.get(alice, path, http.StatusOK)
	if after := s.fragment("teaser"); after.Hits != before.Hits+n || after.Renders != before.Renders {
		t.Errorf("second render: teaser %+v then %+v, want %d hits and no render", before, after, n)
	}
	// The view's queries (author, articles) run; the teasers' do not.
	if q := s.store.Queries() - queries; q != 2 {
		t.Errorf("second render ran %d queries, want 2", q)
	}
	// The page shows its render time (to the second) and timings: the
	// rest must be the same.
	clock := regexp.MustCompile(`rendered at \d\d:\d\d:\d\d`)
	strip := func(p string) string {
		return clock.ReplaceAllString(p[:strings.Index(p, `<div class="timing"`)], "rendered at —")
	}
	if a, b := strip(first), strip(second); a != b {
		i := 0
		for i < len(a) && i < len(b) && a[i] == b[i] {
			i++
		}
		lo := max(0, i-200)
		t.Errorf("the page with cached teasers differs from the first one at byte %d:\nfirst:  %q\nsecond: %q", i, a[lo:min(len(a), i+200)], b[lo:min(len(b), i+200)])
	}

	art := arts[n-1]
	const title = "A teaser with a new key"
	if resp, body := s.edit(alice, art.ID, title, art.Body, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d %s", resp.StatusCode, body)
	}
	before = s.fragment("teaser")
	page := s.get(alice, path, http.StatusOK)
	mustContain(t, "author page after the save", page, title, arts[0].Title)
	mustNotContain(t, "author page after the save", page, art.Title)
	if after := s.fragment("teaser"); after.Misses != before.Misses+1 || after.Hits != before.Hits+n-1 {
		t.Errorf("after the save: teaser %+v then %+v, want 1 miss and %d hits", before, after, n-1)
	}
	if st := s.fragment("teaser"); st.Unresolved != 0 {
		t.Errorf("teaser: %d vary-on values did not resolve", st.Unresolved)
	}
	// The save deleted no teaser: the new key is enough.
	mustNotContain(t, "debug page", s.get(alice, "/debug/cache", http.StatusOK), "teaser [")
}

func TestEditInvalidatesAuthorSidebar(t *testing.T) {
	s := newSite(t, "memory://")
	latest, _ := s.store.LatestByAuthor(context.Background(), 1, 1) // alice's newest article
	art := latest[0]
	alice := s.client("alice")
	mustContain(t, "alice's sidebar", s.get(alice, "/", http.StatusOK), art.Title)

	if resp, body := s.edit(alice, art.ID, "Alice's retitled article", art.Body, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d %s", resp.StatusCode, body)
	}
	mustContain(t, "alice's sidebar", s.get(alice, "/", http.StatusOK), "Alice&#x27;s retitled article")
	mustContain(t, "debug page", s.get(alice, "/debug/cache", http.StatusOK), fmt.Sprintf("tag article:%d: ", art.ID))
}

func TestEditIsProtected(t *testing.T) {
	s := newSite(t, "memory://")
	const id = 7
	original, _ := s.store.Article(context.Background(), id)
	anon, alice := s.client(""), s.client("alice")

	resp, _ := s.do(anon, http.MethodGet, "/articles/7/edit", nil, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2Farticles%2F7%2Fedit" {
		t.Errorf("anonymous GET: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := s.edit(anon, id, "anonymous", "x", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("anonymous POST: %d, want 403", resp.StatusCode)
	}
	for _, h := range []http.Header{
		{"Sec-Fetch-Site": {"cross-site"}},
		{"Origin": {"https://evil.example"}},
	} {
		if resp, _ := s.edit(alice, id, "cross-site", "x", h); resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-origin POST %v: %d, want 403", h, resp.StatusCode)
		}
	}
	resp, body := s.edit(alice, id, "   ", "x", http.Header{"Sec-Fetch-Site": {"same-origin"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("empty title: %d, want 422", resp.StatusCode)
	}
	mustContain(t, "empty title", body, "The title cannot be empty.")
	resp, body = s.edit(alice, id, strings.Repeat("x", maxTitle+1), "x", nil)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("long title: %d, want 422", resp.StatusCode)
	}
	mustContain(t, "long title", body, "the limit is 200")
	if got, _ := s.store.Article(context.Background(), id); got.Title != original.Title || !got.UpdatedAt.Equal(original.UpdatedAt) {
		t.Errorf("a refused edit changed the article: %q", got.Title)
	}
}

func TestConditionalGetSkipsTheView(t *testing.T) {
	s := newSite(t, "memory://")
	anon, alice := s.client(""), s.client("alice")
	const path = "/articles/42"

	resp, _ := s.do(anon, http.MethodGet, path, nil, nil)
	etag, lastModified := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(etag, `W/"42-`) || lastModified == "" {
		t.Fatalf("first GET: %d, ETag %q, Last-Modified %q", resp.StatusCode, etag, lastModified)
	}
	mustContain(t, "Cache-Control", resp.Header.Get("Cache-Control"), "private", "no-cache")
	mustContain(t, "Vary", resp.Header.Get("Vary"), "Cookie")
	views := s.views("article page")

	for _, h := range []http.Header{
		{"If-None-Match": {etag}},
		{"If-Modified-Since": {lastModified}},
	} {
		resp, body := s.do(anon, http.MethodGet, path, nil, h)
		if resp.StatusCode != http.StatusNotModified || body != "" {
			t.Errorf("conditional GET %v: %d with %d bytes, want an empty 304", h, resp.StatusCode, len(body))
		}
		if resp.Header.Get("ETag") != etag {
			t.Errorf("304 ETag %q, want %q", resp.Header.Get("ETag"), etag)
		}
	}
	if v := s.views("article page"); v != views {
		t.Errorf("the view ran %d times for the 304s", v-views)
	}

	// Another user sees another page (the navbar): the ETag does not match.
	resp, _ = s.do(alice, http.MethodGet, path, nil, http.Header{"If-None-Match": {etag}})
	if resp.StatusCode != http.StatusOK {
		t.Errorf("other user's conditional GET: %d, want 200", resp.StatusCode)
	}

	// A save changes the validators.
	if resp, _ := s.edit(alice, 42, "A fresh title", "Body.", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d", resp.StatusCode)
	}
	resp, body := s.do(anon, http.MethodGet, path, nil, http.Header{"If-None-Match": {etag}})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == etag {
		t.Errorf("after a save: %d, ETag %q", resp.StatusCode, resp.Header.Get("ETag"))
	}
	mustContain(t, "after a save", body, "A fresh title")
}

func TestDebugCacheShowsCounters(t *testing.T) {
	s := newSite(t, "memory://")
	c := s.client("")
	s.get(c, "/", http.StatusOK)
	s.get(c, "/", http.StatusOK)
	body := s.get(c, "/debug/cache", http.StatusOK)
	for _, name := range []string{"article_list", "top_authors", "sidebar"} {
		// one miss, one hit: 50%
		mustContain(t, "debug page", body, "<tr><td><code>"+name+"</code></td><td>1</td><td>1</td><td>1</td><td>0</td><td>0</td><td>50.0%</td></tr>")
	}
	mustContain(t, "debug page", body,
		"<td><code>default</code></td><td><code>*memory.",
		"<td><code>template_fragments</code></td>",
		"queries so far",
		"<td>article list</td><td><code>GET /{$}</code></td><td>2</td><td>2</td>",
	)
}

func TestDummyCacheStillWorks(t *testing.T) {
	s := newSite(t, "dummy://")
	c := s.client("alice")
	s.get(c, "/", http.StatusOK)
	queries := s.store.Queries()
	body := s.get(c, "/", http.StatusOK)
	mustContain(t, "list page", body, "Latest articles", "Welcome, Alice", "Top authors")
	if s.store.Queries() == queries {
		t.Error("with dummy:// the second render ran no query")
	}
	if st := s.fragment("article_list"); st.Hits != 0 || st.Renders != 2 {
		t.Errorf("article_list with dummy://: %+v", st)
	}

	first, _ := s.store.PublishedPage(context.Background(), 1, perPage)
	if resp, _ := s.edit(c, first[0].ID, "Visible at once", "Body.", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d", resp.StatusCode)
	}
	mustContain(t, "list page", s.get(c, "/", http.StatusOK), "Visible at once")
}

func TestFileCache(t *testing.T) {
	s := newSite(t, "file://"+t.TempDir())
	c := s.client("")
	s.get(c, "/", http.StatusOK)
	queries := s.store.Queries()
	s.get(c, "/", http.StatusOK)
	if q := s.store.Queries(); q != queries {
		t.Errorf("file cache: the second render ran %d queries", q-queries)
	}
}

func TestConcurrentRequests(t *testing.T) {
	s := newSite(t, "memory://")
	const workers, rounds = 32, 4
	users := s.store.DemoUsers(8)
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds*4)
	for w := range workers {
		wg.Go(func() {
			c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			cookie := "" // a third of the workers are anonymous: they use the page cache
			if w%3 != 0 {
				cookie = "login=" + users[w%len(users)]
			}
			do := func(method, path string, form url.Values, want int) {
				var body io.Reader
				if form != nil {
					body = strings.NewReader(form.Encode())
				}
				req, err := http.NewRequest(method, s.srv.URL+path, body)
				if err != nil {
					errs <- err
					return
				}
				if cookie != "" {
					req.Header.Set("Cookie", cookie)
				}
				if form != nil {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
				resp, err := c.Do(req)
				if err != nil {
					errs <- err
					return
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				switch {
				case err != nil:
					errs <- err
				case resp.StatusCode != want:
					errs <- fmt.Errorf("%s %s: %d, want %d", method, path, resp.StatusCode, want)
				case want == http.StatusOK && !strings.Contains(string(b), "</html>"):
					errs <- fmt.Errorf("%s %s: truncated page", method, path)
				}
			}
			for i := range rounds {
				id := 1 + (w*rounds+i)%50
				do(http.MethodGet, fmt.Sprintf("/?page=%d", 1+i%3), nil, http.StatusOK)
				do(http.MethodGet, articleURL(id), nil, http.StatusOK)
				do(http.MethodGet, authorURL(1+w%10), nil, http.StatusOK)
				if cookie != "" && w%4 == 1 {
					do(http.MethodPost, articleURL(id)+"/edit",
						url.Values{"title": {fmt.Sprintf("Edited by worker %d", w)}, "body": {"Body."}}, http.StatusSeeOther)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// (Whether every page shows the last save is not checked: a render
	// that read an article before a concurrent save may store its fragment
	// after the invalidation. See invalidateArticle.)
}

func TestPyDateTime(t *testing.T) {
	for in, want := range map[time.Time]string{
		time.Date(2024, 5, 1, 12, 3, 4, 0, time.UTC):           "2024-05-01 12:03:04",
		time.Date(2024, 5, 1, 12, 3, 4, 100_000, time.UTC):     "2024-05-01 12:03:04.000100",
		time.Date(2024, 5, 1, 12, 3, 4, 123_456_789, time.UTC): "2024-05-01 12:03:04.123456",
		time.Date(2024, 5, 1, 12, 3, 4, 999, time.UTC):         "2024-05-01 12:03:04",
	} {
		if got := pyDateTime(in); got != want {
			t.Errorf("pyDateTime(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"":                   "/",
		"/":                  "/",
		"/articles/1?x=1":    "/articles/1?x=1",
		"//evil.example/":    "/",
		"/\\evil.example":    "/",
		"https://evil.test/": "/",
		"articles":           "/",
	} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOpenCaches(t *testing.T) {
	reg, err := openCaches("memory://", "", slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if got := strings.Join(reg.Aliases(), ","); got != "default,template_fragments" {
		t.Errorf("aliases %s", got)
	}
	if _, err := openCaches("nosuch://", "", slog.Default()); err == nil {
		t.Error("an unknown scheme opened")
	}
}

func TestNetworkBackends(t *testing.T) {
	for _, tt := range []struct {
		name  string
		start func(testing.TB, ...string) *testserver.Server
		url   string
	}{
		{"memcached", testserver.Memcached, "memcached://"},
		{"redis", testserver.Redis, "redis://"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := tt.start(t)
			s := newSite(t, tt.url+srv.Addr)
			anon, alice := s.client(""), s.client("alice")

			s.get(anon, "/?page=2", http.StatusOK)
			queries := s.store.Queries()
			s.get(anon, "/?page=2", http.StatusOK)
			if q := s.store.Queries(); q != queries {
				t.Errorf("the second render ran %d queries", q-queries)
			}

			page2, _ := s.store.PublishedPage(context.Background(), 2, perPage)
			art := page2[0]
			s.get(anon, authorURL(art.Author.ID), http.StatusOK)
			if resp, _ := s.edit(alice, art.ID, "Saved through "+tt.name, "Body.", nil); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("save: %d", resp.StatusCode)
			}
			mustContain(t, "list page", s.get(anon, "/?page=2", http.StatusOK), "Saved through "+tt.name)
			mustContain(t, "author page", s.get(anon, authorURL(art.Author.ID), http.StatusOK), "Saved through "+tt.name)

			debug := s.get(anon, "/debug/cache", http.StatusOK)
			if tt.name == "redis" {
				mustContain(t, "debug page", debug, "closed (0 failures")
			}

			// A cache that goes away slows pages down but does not break them.
			srv.Stop()
			for range 3 {
				s.get(anon, "/?page=4", http.StatusOK)
			}
			if tt.name == "redis" {
				// More than failopen's 5 consecutive failures: the breaker is open.
				mustContain(t, "debug page", s.get(anon, "/debug/cache", http.StatusOK), "<td>open (")
			}
		})
	}
}

// TestInvalidateGroups: the debug page's forms delete every variant of a
// fragment name (each user's sidebar) and every cached copy of a page.
func TestInvalidateGroups(t *testing.T) {
	s := newSite(t, "memory://")
	alice, bob, anon := s.client("alice"), s.client("bob"), s.client("")
	for _, c := range []*http.Client{alice, bob, anon} {
		s.get(c, "/", http.StatusOK)
	}
	misses := s.fragment("sidebar").Misses
	if resp, body := s.do(alice, http.MethodPost, "/debug/cache/invalidate", url.Values{"fragment": {"sidebar"}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("invalidate sidebar: %d %s", resp.StatusCode, body)
	}
	for _, c := range []*http.Client{alice, bob, anon} {
		s.get(c, "/", http.StatusOK)
	}
	if got := s.fragment("sidebar").Misses - misses; got != 3 {
		t.Errorf("%d sidebar misses after invalidating every variant, want 3 (alice, bob, anonymous)", got)
	}
	authorPage := authorURL(1)
	s.get(anon, authorPage, http.StatusOK) // stored in the page cache
	views := s.views("author page")
	s.get(anon, authorPage, http.StatusOK)
	if s.views("author page") != views {
		t.Fatal("the author page was not served from the page cache")
	}
	if resp, body := s.do(alice, http.MethodPost, "/debug/cache/invalidate", url.Values{"path": {authorPage}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("invalidate the author page: %d %s", resp.StatusCode, body)
	}
	s.get(anon, authorPage, http.StatusOK)
	if s.views("author page") != views+1 {
		t.Error("the author page came from the page cache after InvalidateURL")
	}
	mustContain(t, "debug page", s.get(alice, "/debug/cache", http.StatusOK),
		"every variant of fragment sidebar: ", "every cached copy of "+authorPage+": ")
	if resp, _ := s.do(anon, http.MethodPost, "/debug/cache/invalidate", url.Values{"fragment": {"sidebar"}}, nil); resp.StatusCode == http.StatusSeeOther {
		t.Error("an anonymous visitor invalidated the sidebars")
	}
}

// TestCompression: pages come back gzip-compressed for a gzip client and
// plain for a client without Accept-Encoding; the author page's page
// cache keeps one variant per Accept-Encoding and serves each its own.
func TestCompression(t *testing.T) {
	s := newSite(t, "memory://")
	raw := &http.Client{Transport: &http.Transport{DisableCompression: true}} // no transparent gzip
	fetch := func(path, ae string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, s.srv.URL+path, nil)
		if ae != "" {
			req.Header.Set("Accept-Encoding", ae)
		}
		resp, err := raw.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
	for _, path := range []string{"/", "/authors/3", "/articles/42"} {
		plainResp, plain := fetch(path, "")
		if plainResp.StatusCode != http.StatusOK || plainResp.Header.Get("Content-Encoding") != "" || !strings.Contains(string(plain), "</html>") {
			t.Fatalf("%s without Accept-Encoding: %d %v", path, plainResp.StatusCode, plainResp.Header)
		}
		mustContain(t, path+" Vary", plainResp.Header.Get("Vary"), "Accept-Encoding")
		resp, zipped := fetch(path, "gzip")
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("%s with gzip: %d %v", path, resp.StatusCode, resp.Header)
		}
		mustContain(t, path+" Vary", resp.Header.Get("Vary"), "Accept-Encoding", "Cookie")
		zr, err := gzip.NewReader(bytes.NewReader(zipped))
		if err != nil {
			t.Fatal(err)
		}
		page, err := io.ReadAll(zr)
		if err != nil || !strings.Contains(string(page), "</html>") || len(zipped) >= len(page) {
			t.Errorf("%s: gzip body of %d bytes decodes to %d bytes, %v", path, len(zipped), len(page), err)
		}
		if path != "/authors/3" {
			continue
		}
		// The page cache: each variant is a hit of its own, served as stored.
		views := s.views("author page")
		resp2, zipped2 := fetch(path, "gzip")
		if !strings.Contains(resp2.Header.Get("Cache-Status"), "hit") || !bytes.Equal(zipped, zipped2) {
			t.Errorf("gzip hit: %v (same bytes: %v)", resp2.Header, bytes.Equal(zipped, zipped2))
		}
		resp3, plain3 := fetch(path, "")
		if !strings.Contains(resp3.Header.Get("Cache-Status"), "hit") || resp3.Header.Get("Content-Encoding") != "" || !bytes.Equal(plain, plain3) {
			t.Errorf("plain hit: %v", resp3.Header)
		}
		if s.views("author page") != views {
			t.Error("a hit ran the view")
		}
		if resp4, _ := fetch(path, "gzip, deflate, br"); resp4.Header.Get("Content-Encoding") != "br" {
			t.Errorf("br client: %v", resp4.Header)
		}
	}
}

// TestStaticFiles: the pages link the CSS, the script and the logo under
// their hashed names, which are served immutable (compressed when asked),
// and the CSS references the logo by its hashed name too.
func TestStaticFiles(t *testing.T) {
	s := newSite(t, "memory://")
	c := s.client("")
	resp, err := c.Get(s.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	hashed := regexp.MustCompile(`"(/static/[^"]+\.[0-9a-f]{12}\.(css|js|svg))"`)
	links := map[string]string{}
	for _, m := range hashed.FindAllStringSubmatch(string(page), -1) {
		links[m[2]] = m[1]
	}
	if len(links) != 3 {
		t.Fatalf("hashed static links %v in the page", links)
	}
	for ext, link := range links {
		req, _ := http.NewRequest("GET", s.srv.URL+link, nil)
		req.Header.Set("Accept-Encoding", "br") // the client then leaves the body to us
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Errorf("%s: %d, Cache-Control %q", link, resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
		if ext != "js" && resp.Header.Get("Content-Encoding") != "br" { // the script is too small to compress
			t.Errorf("%s: Content-Encoding %q, want br", link, resp.Header.Get("Content-Encoding"))
		}
		if ext == "css" {
			resp, err := c.Get(s.srv.URL + link) // Go's client asks for gzip and decodes it
			if err != nil {
				t.Fatal(err)
			}
			css, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			logo := strings.TrimPrefix(links["svg"], "/static/")
			if !strings.Contains(string(css), `url("`+logo+`")`) {
				t.Errorf("the CSS does not reference %s", logo)
			}
		}
	}
	// The route is counted like the pages.
	if !strings.Contains(s.get(c, "/debug/cache", http.StatusOK), "static files") {
		t.Error("/debug/cache does not list the static files route")
	}
}

// TestDatabaseCache: the blog opens a sqlite:// cache, creating its table.
func TestDatabaseCache(t *testing.T) {
	url := "sqlite://" + filepath.Join(t.TempDir(), "blog.db") + "?table=blog_cache"
	reg, err := openCaches(url, "", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	frags, err := reg.Fragments()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := frags.Set(ctx, "k", []byte("v"), cache.Seconds(60)); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := frags.Get(ctx, "k"); err != nil || !ok || string(v) != "v" {
		t.Errorf("Get = %q, %v, %v; want the value (the table was not created?)", v, ok, err)
	}
}
