package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrNotFound is returned by Store look-ups of an ID that does not exist.
var ErrNotFound = errors.New("blog: not found")

// Author is a person who writes articles; their username logs them in.
type Author struct {
	ID       int
	Username string
	Name     string
	Bio      string
	Joined   time.Time
}

// Tag labels articles.
type Tag struct {
	ID   int
	Name string
}

// Article is a blog post. Drafts (Published false) are not listed.
// The store returns articles with Author and Tags filled in, as a query
// with joins would.
type Article struct {
	ID          int
	Title       string
	Body        string
	Published   bool
	PublishedAt time.Time
	UpdatedAt   time.Time
	Author      Author
	Tags        []Tag
}

// AuthorStat is an author with the number of articles they published.
type AuthorStat struct {
	Author   Author
	Articles int
}

// Store is the blog's "database": authors, articles and tags generated
// from a fixed seed and kept in memory. Every method that stands for a SQL
// query sleeps the configured delay and is counted by Queries, so the
// effect of caching is visible. It is safe for concurrent use.
type Store struct {
	delay   time.Duration
	queries atomic.Uint64

	mu       sync.RWMutex // guards the Title, Body and UpdatedAt of articles
	articles []row        // articles[i] has ID i+1

	// Fixed after generation.
	authors    []Author // authors[i] has ID i+1
	tags       []Tag    // tags[i] has ID i+1
	byUsername map[string]int
	published  []int         // IDs of published articles, newest first
	listIndex  map[int]int   // article ID → index in published
	byAuthor   map[int][]int // author ID → IDs of their articles, drafts included, newest first
	top        []AuthorStat  // authors by published articles, most first
}

// row is an article as stored: it refers to its author and tags by ID.
type row struct {
	id, authorID int
	tagIDs       []int
	title, body  string
	published    bool
	publishedAt  time.Time
	updatedAt    time.Time
}

// Sizes of the generated data set.
const (
	numAuthors  = 500
	numArticles = 5000
)

// NewStore returns a store of about 500 authors, 5,000 articles and 50
// tags, always the same ones, whose queries each take delay.
func NewStore(delay time.Duration) *Store {
	s := &Store{delay: delay}
	s.generate(rand.New(rand.NewPCG(2024, 6)))
	return s
}

// Queries returns the number of queries run so far.
func (s *Store) Queries() uint64 { return s.queries.Load() }

// query stands for a round trip to the database: it counts the query and
// waits the configured delay, or until ctx is done.
func (s *Store) query(ctx context.Context) error {
	s.queries.Add(1)
	if s.delay <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(s.delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// LookupUser returns the author who logs in with username. It stands for
// a session store held in memory, not for a query: it neither waits nor
// counts.
func (s *Store) LookupUser(username string) (Author, bool) {
	id, ok := s.byUsername[username]
	if !ok {
		return Author{}, false
	}
	return s.authors[id-1], true
}

// DemoUsers returns the usernames of the first n authors, to suggest on
// the login form. It is not a query.
func (s *Store) DemoUsers(n int) []string {
	out := make([]string, 0, n)
	for _, a := range s.authors[:min(n, len(s.authors))] {
		out = append(out, a.Username)
	}
	return out
}

// CountPublished returns the number of published articles.
func (s *Store) CountPublished(ctx context.Context) (int, error) {
	if err := s.query(ctx); err != nil {
		return 0, err
	}
	return len(s.published), nil
}

// PublishedPage returns page number page (from 1) of the published
// articles, newest first, perPage to a page.
func (s *Store) PublishedPage(ctx context.Context, page, perPage int) ([]Article, error) {
	if err := s.query(ctx); err != nil {
		return nil, err
	}
	lo := (page - 1) * perPage
	if page < 1 || perPage < 1 || lo >= len(s.published) {
		return nil, nil
	}
	return s.load(s.published[lo:min(lo+perPage, len(s.published))]), nil
}

// ListIndex returns the position (from 0) of a published article in the
// newest-first list, and false for a draft or an unknown ID.
func (s *Store) ListIndex(ctx context.Context, id int) (int, bool, error) {
	if err := s.query(ctx); err != nil {
		return 0, false, err
	}
	i, ok := s.listIndex[id]
	return i, ok, nil
}

// Article returns the article with the given ID, or ErrNotFound.
func (s *Store) Article(ctx context.Context, id int) (Article, error) {
	if err := s.query(ctx); err != nil {
		return Article{}, err
	}
	if id < 1 || id > len(s.articles) {
		return Article{}, fmt.Errorf("article %d: %w", id, ErrNotFound)
	}
	return s.load([]int{id})[0], nil
}

// Author returns the author with the given ID, or ErrNotFound.
func (s *Store) Author(ctx context.Context, id int) (Author, error) {
	if err := s.query(ctx); err != nil {
		return Author{}, err
	}
	if id < 1 || id > len(s.authors) {
		return Author{}, fmt.Errorf("author %d: %w", id, ErrNotFound)
	}
	return s.authors[id-1], nil
}

// ArticlesByAuthor returns an author's published articles, newest first.
func (s *Store) ArticlesByAuthor(ctx context.Context, authorID int) ([]Article, error) {
	if err := s.query(ctx); err != nil {
		return nil, err
	}
	var ids []int
	for _, id := range s.byAuthor[authorID] {
		if s.articles[id-1].published {
			ids = append(ids, id)
		}
	}
	return s.load(ids), nil
}

// LatestByAuthor returns an author's n newest articles, drafts included.
func (s *Store) LatestByAuthor(ctx context.Context, authorID, n int) ([]Article, error) {
	if err := s.query(ctx); err != nil {
		return nil, err
	}
	ids := s.byAuthor[authorID]
	return s.load(ids[:min(n, len(ids))]), nil
}

// DraftCount returns the number of an author's unpublished articles.
func (s *Store) DraftCount(ctx context.Context, authorID int) (int, error) {
	if err := s.query(ctx); err != nil {
		return 0, err
	}
	n := 0
	for _, id := range s.byAuthor[authorID] {
		if !s.articles[id-1].published {
			n++
		}
	}
	return n, nil
}

// TopAuthors returns the n authors with the most published articles.
func (s *Store) TopAuthors(ctx context.Context, n int) ([]AuthorStat, error) {
	if err := s.query(ctx); err != nil {
		return nil, err
	}
	return slices.Clone(s.top[:min(n, len(s.top))]), nil
}

// UpdateArticle sets an article's title and body, moves its UpdatedAt to
// now (always later than before, so that validators change), and returns
// the article as saved.
func (s *Store) UpdateArticle(ctx context.Context, id int, title, body string) (Article, error) {
	if err := s.query(ctx); err != nil {
		return Article{}, err
	}
	if id < 1 || id > len(s.articles) {
		return Article{}, fmt.Errorf("article %d: %w", id, ErrNotFound)
	}
	s.mu.Lock()
	r := &s.articles[id-1]
	now := time.Now().UTC()
	if !now.After(r.updatedAt) {
		now = r.updatedAt.Add(time.Microsecond)
	}
	r.title, r.body, r.updatedAt = title, body, now
	s.mu.Unlock()
	return s.load([]int{id})[0], nil
}

// load returns the articles with the given IDs, joined with their authors
// and tags.
func (s *Store) load(ids []int) []Article {
	out := make([]Article, len(ids))
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i, id := range ids {
		r := &s.articles[id-1]
		tags := make([]Tag, len(r.tagIDs))
		for j, t := range r.tagIDs {
			tags[j] = s.tags[t-1]
		}
		out[i] = Article{
			ID:          r.id,
			Title:       r.title,
			Body:        r.body,
			Published:   r.published,
			PublishedAt: r.publishedAt,
			UpdatedAt:   r.updatedAt,
			Author:      s.authors[r.authorID-1],
			Tags:        tags,
		}
	}
	return out
}

// generate fills the store from rng: the same seed gives the same blog.
func (s *Store) generate(rng *rand.Rand) {
	for i, name := range tagNames {
		s.tags = append(s.tags, Tag{ID: i + 1, Name: name})
	}

	s.byUsername = make(map[string]int, numAuthors)
	epoch := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range numAuthors {
		first := firstNames[i%len(firstNames)]
		last := lastNames[rng.IntN(len(lastNames))]
		username := strings.ToLower(first) // the first authors: alice, bob, carol…
		if i >= len(firstNames) {
			username = strings.ToLower(first + "." + last)
		}
		for n := 2; s.byUsername[username] != 0; n++ {
			username = fmt.Sprintf("%s.%s%d", strings.ToLower(first), strings.ToLower(last), n)
		}
		a := Author{
			ID:       i + 1,
			Username: username,
			Name:     first + " " + last,
			Bio:      fmt.Sprintf(bios[rng.IntN(len(bios))], first, topics[rng.IntN(len(topics))]),
			Joined:   epoch.Add(time.Duration(rng.IntN(365*24)) * time.Hour),
		}
		s.authors = append(s.authors, a)
		s.byUsername[username] = a.ID
	}

	start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	span := int64(6 * 365 * 24 * time.Hour / time.Second)
	s.articles = make([]row, numArticles)
	for i := range s.articles {
		// A skewed choice of author, so that the top authors stand out.
		author := 1 + int(float64(numAuthors)*math.Pow(rng.Float64(), 1.8))
		tagIDs := rng.Perm(len(s.tags))[:1+rng.IntN(4)]
		for j := range tagIDs {
			tagIDs[j]++
		}
		slices.Sort(tagIDs)
		at := start.Add(time.Duration(rng.Int64N(span)) * time.Second)
		s.articles[i] = row{
			id:          i + 1,
			authorID:    min(author, numAuthors),
			tagIDs:      tagIDs,
			title:       title(rng),
			body:        body(rng),
			published:   rng.IntN(100) >= 8, // about 8% drafts
			publishedAt: at,
			updatedAt:   at,
		}
	}

	// The indexes a database would keep.
	newestFirst := func(a, b int) int {
		ra, rb := &s.articles[a-1], &s.articles[b-1]
		if c := rb.publishedAt.Compare(ra.publishedAt); c != 0 {
			return c
		}
		return b - a
	}
	s.byAuthor = make(map[int][]int)
	for _, r := range s.articles {
		s.byAuthor[r.authorID] = append(s.byAuthor[r.authorID], r.id)
		if r.published {
			s.published = append(s.published, r.id)
		}
	}
	slices.SortFunc(s.published, newestFirst)
	s.listIndex = make(map[int]int, len(s.published))
	for i, id := range s.published {
		s.listIndex[id] = i
	}
	counts := make(map[int]int)
	for authorID, ids := range s.byAuthor {
		slices.SortFunc(ids, newestFirst)
		for _, id := range ids {
			if s.articles[id-1].published {
				counts[authorID]++
			}
		}
	}
	for _, a := range s.authors {
		s.top = append(s.top, AuthorStat{Author: a, Articles: counts[a.ID]})
	}
	slices.SortStableFunc(s.top, func(a, b AuthorStat) int { return b.Articles - a.Articles })
}

// title makes an article title.
func title(rng *rand.Rand) string {
	t := titleForms[rng.IntN(len(titleForms))]
	t = strings.ReplaceAll(t, "{adj}", adjectives[rng.IntN(len(adjectives))])
	t = strings.ReplaceAll(t, "{topic}", topics[rng.IntN(len(topics))])
	return strings.ToUpper(t[:1]) + t[1:]
}

// body makes a few paragraphs of filler text, separated by blank lines.
func body(rng *rand.Rand) string {
	var b strings.Builder
	for p := range 3 + rng.IntN(3) {
		if p > 0 {
			b.WriteString("\n\n")
		}
		for s := range 3 + rng.IntN(4) {
			if s > 0 {
				b.WriteByte(' ')
			}
			n := 8 + rng.IntN(9)
			for w := range n {
				word := lorem[rng.IntN(len(lorem))]
				if w == 0 {
					word = strings.ToUpper(word[:1]) + word[1:]
				} else {
					b.WriteByte(' ')
				}
				b.WriteString(word)
			}
			b.WriteByte('.')
		}
	}
	return b.String()
}

var (
	firstNames = []string{
		"Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy",
		"Karl", "Laura", "Mallory", "Niaj", "Olivia", "Peggy", "Quentin", "Rupert", "Sybil", "Trent",
		"Uma", "Victor", "Walter", "Xena", "Yusuf", "Zoe", "Amir", "Bianca", "Chen", "Dmitri",
		"Elena", "Farah", "Giorgio", "Hana", "Ines", "Jonas", "Kenji", "Leila", "Mateo", "Nadia",
		"Oscar", "Priya", "Rafael", "Sofia", "Tomas", "Ursula", "Vera", "Wei", "Yara", "Zeno",
	}
	lastNames = []string{
		"Anderson", "Baker", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ivanova", "Jensen",
		"Kowalski", "Lambert", "Moreau", "Nakamura", "Okafor", "Petrov", "Quinn", "Rossi", "Schmidt", "Tanaka",
		"Ueda", "Varga", "Weber", "Xu", "Yilmaz", "Zhang", "Almeida", "Berg", "Castillo", "Dimitrov",
		"Evans", "Ferreira", "Gupta", "Horvat", "Iglesias", "Janssen", "Kim", "Lindqvist", "Meyer", "Novak",
	}
	bios = []string{
		"%s writes about %s and the occasional bug hunt.",
		"%s has spent too many evenings thinking about %s.",
		"%s runs a small team and a large pile of notes on %s.",
		"%s teaches, tinkers, and explains %s to anyone who asks.",
	}
	adjectives = []string{
		"practical", "gentle", "pragmatic", "surprising", "hidden", "fast", "lazy", "concurrent",
		"idiomatic", "simple", "robust", "tiny", "careful", "honest", "boring", "predictable",
	}
	topics = []string{
		"caching", "cache invalidation", "template fragments", "conditional requests", "ETags",
		"memcached", "Redis", "connection pools", "goroutines", "context cancellation",
		"query plans", "pagination", "load shedding", "circuit breakers", "rate limiting",
		"feature flags", "database indexes", "slow queries", "profiling", "benchmarks",
		"HTTP headers", "graceful shutdown", "observability", "retries", "timeouts",
	}
	titleForms = []string{
		"a {adj} guide to {topic}",
		"{adj} {topic} in production",
		"why {topic} should be {adj}",
		"notes on {topic}",
		"{topic}: lessons learned",
		"how we made {topic} {adj}",
		"{topic} without tears",
		"the case for {adj} {topic}",
		"what nobody tells you about {topic}",
		"{topic}, revisited",
	}
	lorem = []string{
		"lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do",
		"eiusmod", "tempor", "incididunt", "ut", "labore", "et", "dolore", "magna", "aliqua", "enim",
		"ad", "minim", "veniam", "quis", "nostrud", "exercitation", "ullamco", "laboris", "nisi",
		"aliquip", "ex", "ea", "commodo", "consequat", "duis", "aute", "irure", "in", "reprehenderit",
		"voluptate", "velit", "esse", "cillum", "fugiat", "nulla", "pariatur", "excepteur", "sint",
		"occaecat", "cupidatat", "non", "proident", "sunt", "culpa", "qui", "officia", "deserunt",
		"mollit", "anim", "id", "est", "laborum",
	}
	tagNames = []string{
		"go", "django", "python", "caching", "http", "performance", "databases", "postgres",
		"redis", "memcached", "testing", "security", "devops", "kubernetes", "linux", "networking",
		"concurrency", "profiling", "observability", "logging", "templates", "frontend", "css",
		"javascript", "api-design", "architecture", "reliability", "incidents", "career", "teams",
		"open-source", "tooling", "editors", "git", "ci", "deployment", "cloud", "storage",
		"queues", "search", "ux", "accessibility", "i18n", "privacy", "compilers", "algorithms",
		"data", "books", "talks", "misc",
	}
)
