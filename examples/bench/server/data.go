package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

// The dataset both servers load: data/articles.json, written by
// `go run ./examples/bench/server -gen-data examples/bench/data/articles.json`
// from the deterministic generator below (TestDataFile checks that the file
// is the generator's output). Django's views.py loads the same file, so the
// two servers render the same page from the same values.

// Article is one article of the list.
type Article struct {
	ID         int      `json:"id"`
	Slug       string   `json:"slug"`
	Title      string   `json:"title"`
	Author     string   `json:"author"`
	AuthorSlug string   `json:"author_slug"`
	Date       string   `json:"date"`
	Comments   int      `json:"comments"`
	Tags       []string `json:"tags"`
	Excerpt    string   `json:"excerpt"`
}

// TagCount is one entry of the sidebar's tag cloud.
type TagCount struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// Dataset is the whole "database": the articles, newest first, and what the
// sidebar shows (the most commented articles, the tag cloud).
type Dataset struct {
	PageSize int        `json:"page_size"`
	Articles []Article  `json:"articles"`
	Popular  []Article  `json:"popular"`
	Tags     []TagCount `json:"tags"`
}

const (
	numArticles = 200
	pageSize    = 15
	numPopular  = 8
)

var (
	words = strings.Fields(`cache fragment template server request response latency memory
		backend redis memcached django python golang render page header vary timeout
		key value store invalidate expire warm cold miss hit queue worker process thread
		socket network kernel buffer stream index query database table column schema
		migration deploy release build test bench profile trace metric signal`)
	authors = []string{"Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra",
		"Barbara Liskov", "Donald Knuth", "Margaret Hamilton", "Ken Thompson"}
	tagNames = []string{"caching", "django", "go", "performance", "http", "templates",
		"redis", "memcached", "ops", "testing", "python", "databases"}
)

// lcg is a 64-bit linear congruential generator: deterministic everywhere.
type lcg uint64

func (x *lcg) intn(n int) int {
	*x = *x*6364136223846793005 + 1442695040888963407
	return int(uint64(*x>>33) % uint64(n))
}

func (x *lcg) words(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = words[x.intn(len(words))]
	}
	return out
}

func capitalize(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// Generate returns the dataset.
func Generate() Dataset {
	r := lcg(20240501)
	d := Dataset{PageSize: pageSize}
	counts := map[string]int{}
	for i := 0; i < numArticles; i++ {
		id := numArticles - i // newest first
		tw := r.words(4 + r.intn(4))
		title := capitalize(strings.Join(tw, " "))
		author := authors[r.intn(len(authors))]
		var tags []string
		for _, j := range []int{r.intn(len(tagNames)), r.intn(len(tagNames)), r.intn(len(tagNames))}[:1+r.intn(3)] {
			t := tagNames[j]
			dup := false
			for _, u := range tags {
				dup = dup || u == t
			}
			if !dup {
				tags = append(tags, t)
				counts[t]++
			}
		}
		d.Articles = append(d.Articles, Article{
			ID:         id,
			Slug:       fmt.Sprintf("%d-%s", id, strings.Join(tw, "-")),
			Title:      title,
			Author:     author,
			AuthorSlug: strings.ToLower(strings.ReplaceAll(author, " ", "-")),
			Date:       fmt.Sprintf("2024-%02d-%02d", 1+(numArticles-i)%12, 1+(numArticles-i)%28),
			Comments:   r.intn(120),
			Tags:       tags,
			Excerpt:    capitalize(strings.Join(r.words(14+r.intn(8)), " ")) + ".",
		})
	}
	pop := append([]Article(nil), d.Articles...)
	sort.SliceStable(pop, func(i, j int) bool { return pop[i].Comments > pop[j].Comments })
	d.Popular = pop[:numPopular]
	for _, t := range tagNames {
		d.Tags = append(d.Tags, TagCount{Name: t, Count: counts[t]})
	}
	return d
}

// encode returns the dataset as the JSON file's bytes.
func (d Dataset) encode() []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", " ")
	if err := enc.Encode(d); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// LoadDataset reads the JSON file.
func LoadDataset(path string) (Dataset, error) {
	var d Dataset
	b, err := os.ReadFile(path)
	if err != nil {
		return d, err
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("%s: %w", path, err)
	}
	if d.PageSize <= 0 || len(d.Articles) == 0 {
		return d, fmt.Errorf("%s: empty dataset", path)
	}
	return d, nil
}

// The template values: maps with Django's lower-case attribute names
// (pongo2 reads map keys; a struct would need Title instead of title).
// They are built once, at load, as Python's json.load builds its dicts once:
// a "query" returns them after its simulated cost.

func (a Article) value() map[string]any {
	return map[string]any{
		"id": a.ID, "slug": a.Slug, "title": a.Title, "author": a.Author,
		"author_slug": a.AuthorSlug, "date": a.Date, "comments": a.Comments,
		"tags": a.Tags, "excerpt": a.Excerpt,
	}
}

// values holds a dataset's template values.
type values struct {
	pages   [][]map[string]any // pages[n-1] is page n
	sidebar map[string]any
}

func (d Dataset) values() values {
	var v values
	for lo := 0; lo < len(d.Articles); lo += d.PageSize {
		hi := min(lo+d.PageSize, len(d.Articles))
		p := make([]map[string]any, 0, hi-lo)
		for _, a := range d.Articles[lo:hi] {
			p = append(p, a.value())
		}
		v.pages = append(v.pages, p)
	}
	pop := make([]map[string]any, len(d.Popular))
	for i, a := range d.Popular {
		pop[i] = a.value()
	}
	tags := make([]map[string]any, len(d.Tags))
	for i, t := range d.Tags {
		tags[i] = map[string]any{"name": t.Name, "count": t.Count}
	}
	v.sidebar = map[string]any{"popular": pop, "tags": tags}
	return v
}

// page returns the articles of page n (1-based), nil past the end.
func (v values) page(n int) []map[string]any {
	if n < 1 || n > len(v.pages) {
		return nil
	}
	return v.pages[n-1]
}
