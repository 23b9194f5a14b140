package templates_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/memory"
	"github.com/fragcache/fragcache/render"
)

// Team is embedded in User: its fields are promoted.
type Team struct {
	TeamName string `json:"team"`
}

// User is what an application passes as request.user: Go names, json tags,
// initialisms, methods with pointer and value receivers.
type User struct {
	Team
	ID        int
	Username  string
	HTMLURL   string
	UpdatedAt time.Time
	Email     string `json:"email_address"`
	first     string
	last      string
}

func (u *User) GetFullName() string  { return u.first + " " + u.last }
func (u User) IsAuthenticated() bool { return true }
func (u User) String() string        { return "user " + u.Username }

var users = map[string]*User{
	"alice": {Team: Team{"red"}, ID: 1, Username: "alice", HTMLURL: "https://x/alice", Email: "a@x", first: "Alice", last: "A",
		UpdatedAt: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)},
	"bob": {Team: Team{"blue"}, ID: 2, Username: "bob", HTMLURL: "https://x/bob", Email: "b@x", first: "Bob", last: "B",
		UpdatedAt: time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)},
}

var namesFS = fstest.MapFS{
	"sidebar.html": {Data: []byte(`{% load cache %}{% cache 500 sidebar request.user.username %}` +
		`[{{ request.user }}|{{ request.user.username }}|{{ request.user.get_full_name }}|#{{ request.user.id }}|` +
		`{{ request.user.html_url }}|{{ request.user.email_address }}|{{ request.user.team }}|` +
		`{{ request.user.updated_at|date:"Y" }}|{{ request.user.is_authenticated }}]{% endcache %}`)},
	"profile.html": {Data: []byte(`{% cache 500 profile profile.username profile.id %}` +
		`{{ profile.get_full_name }}/{{ profile.team_name }}{% for f in friends %},{{ f.username }}{% endfor %}{% endcache %}`)},
	"unicode.html": {Data: []byte("{% cache 300 侧边栏 request.user.username %}{{ request.user.username }}{% endcache 侧边栏 %}" +
		"{% cache 300 sidébar %}é{% endcache %}")},
	"base.html":  {Data: []byte(`<title>{% block title %}Base{% endblock %}</title>`)},
	"child.html": {Data: []byte(`{% extends "base.html" %}{% block title %}Child {{ block.super }}{% endblock %}`)},
	"typo.html":  {Data: []byte("<p>\n{% cache 500 sidebar request.user.usernme %}{{ request.user.username }}{% endcache %}")},
}

func newNamesRenderer(t *testing.T, debug bool, asValue bool) *render.Renderer {
	t.Helper()
	c, err := memory.New(memory.Options{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	cc, err := cache.New(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	reg, err := cache.NewRegistry(map[string]*cache.Cache{"default": cc})
	if err != nil {
		t.Fatal(err)
	}
	rd, err := render.New(render.Options{FS: namesFS, Registry: reg, Debug: debug,
		User: func(r *http.Request) any {
			u := users[r.Header.Get("X-User")]
			if u == nil {
				return nil
			}
			if asValue {
				return *u
			}
			return u
		}})
	if err != nil {
		t.Fatal(err)
	}
	return rd
}

func get(t *testing.T, rd *render.Renderer, name, user string, data pongo2.Context) (int, string) {
	t.Helper()
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-User", user)
	w := httptest.NewRecorder()
	rd.Render(w, r, name, data)
	return w.Code, w.Body.String()
}

// TestStructUserFragments is issue 10's scenario: a Go struct as
// request.user. Each user gets a fragment of their own, {{ }} reads the
// same Django names, and InvalidateFragment("sidebar", "alice") deletes
// alice's fragment only.
func TestStructUserFragments(t *testing.T) {
	for _, asValue := range []bool{false, true} {
		name := "pointer"
		if asValue {
			name = "value"
		}
		t.Run(name, func(t *testing.T) {
			rd := newNamesRenderer(t, false, asValue)
			want := map[string]string{
				"alice": "[user alice|alice|Alice A|#1|https://x/alice|a@x|red|2024|True]",
				"bob":   "[user bob|bob|Bob B|#2|https://x/bob|b@x|blue|2025|True]",
			}
			for _, u := range []string{"alice", "bob", "alice", "bob"} {
				code, body := get(t, rd, "sidebar.html", u, nil)
				if code != 200 || body != want[u] {
					t.Fatalf("%s: %d %q, want %q", u, code, body, want[u])
				}
			}
			ok, err := rd.Fragments().InvalidateFragment(t.Context(), "sidebar", "alice")
			if err != nil || !ok {
				t.Fatalf("InvalidateFragment(sidebar, alice) = %v, %v", ok, err)
			}
			if ok, _ := rd.Fragments().InvalidateFragment(t.Context(), "sidebar", "alice"); ok {
				t.Error("alice's fragment deleted twice")
			}
			users["alice"].first = "Alicia"
			defer func() { users["alice"].first = "Alice" }()
			if _, body := get(t, rd, "sidebar.html", "alice", nil); !strings.Contains(body, "Alicia A") {
				t.Errorf("alice after invalidation: %q", body)
			}
			if _, body := get(t, rd, "sidebar.html", "bob", nil); body != want["bob"] {
				t.Errorf("bob: %q", body)
			}
			if n := rd.Fragments().UnresolvedVaryOn(); n != 0 {
				t.Errorf("%d unresolved vary-on arguments", n)
			}
		})
	}
}

// TestStructDataFragments: Go structs (pointers and values, in a slice) in
// the data map.
func TestStructDataFragments(t *testing.T) {
	rd := newNamesRenderer(t, true, false)
	data := func(u string) pongo2.Context {
		return pongo2.Context{"profile": users[u], "friends": []User{*users["alice"], *users["bob"]}}
	}
	for _, u := range []string{"alice", "bob"} {
		code, body := get(t, rd, "profile.html", "", data(u))
		want := users[u].first + " " + users[u].last + "/" + users[u].TeamName + ",alice,bob"
		if code != 200 || body != want {
			t.Errorf("%s: %d %q, want %q", u, code, body, want)
		}
	}
	if ok, err := rd.Fragments().InvalidateFragment(t.Context(), "profile", "bob", 2); !ok || err != nil {
		t.Errorf("InvalidateFragment(profile, bob, 2) = %v, %v", ok, err)
	}
}

// TestNonASCIIFragmentNames: names pongo2 cannot lex render through the
// Renderer and are keyed by the name as written.
func TestNonASCIIFragmentNames(t *testing.T) {
	rd := newNamesRenderer(t, false, false)
	if code, body := get(t, rd, "unicode.html", "alice", nil); code != 200 || body != "aliceé" {
		t.Fatalf("%d %q", code, body)
	}
	for _, c := range []struct {
		name string
		vary []any
	}{{"侧边栏", []any{"alice"}}, {"sidébar", nil}} {
		if ok, err := rd.Fragments().InvalidateFragment(t.Context(), c.name, c.vary...); !ok || err != nil {
			t.Errorf("InvalidateFragment(%q, %v) = %v, %v", c.name, c.vary, ok, err)
		}
	}
}

// TestUnresolvedVaryOnRender: a typo in a vary-on argument shares one
// fragment between users (as in Django) but is counted; in debug mode it
// is an error naming the template, line and expression.
func TestUnresolvedVaryOnRender(t *testing.T) {
	rd := newNamesRenderer(t, false, false)
	get(t, rd, "typo.html", "alice", nil)
	if _, body := get(t, rd, "typo.html", "bob", nil); !strings.Contains(body, "alice") {
		t.Errorf("bob: %q", body)
	}
	if n := rd.Fragments().UnresolvedVaryOn(); n != 2 {
		t.Errorf("UnresolvedVaryOn = %d, want 2", n)
	}

	rd = newNamesRenderer(t, true, false)
	_, err := rd.RenderBytes(httptest.NewRequest("GET", "/", nil), "typo.html", nil)
	var re *render.Error
	if !errors.As(err, &re) {
		t.Fatalf("error %v", err)
	}
	for _, w := range []string{"typo.html", "request.user.usernme", "does not resolve"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	if re.Line != 2 {
		t.Errorf("line %d, want 2", re.Line)
	}
}

// TestPongoValuesDjangoNames: pongo2's own values answer to Django's names
// in templates the Renderer parses.
func TestPongoValuesDjangoNames(t *testing.T) {
	rd := newNamesRenderer(t, true, false)
	if code, body := get(t, rd, "child.html", "", nil); code != 200 || body != "<title>Child Base</title>" {
		t.Errorf("block.super: %d %q", code, body)
	}
}
