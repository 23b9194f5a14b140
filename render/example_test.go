package render_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing/fstest"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/render"
)

func Example() {
	templates := fstest.MapFS{
		"base.html": {Data: []byte(`<title>{% block title %}{% endblock %}</title>` +
			`{% block content %}{% endblock %}`)},
		"page.html": {Data: []byte(`{% extends "base.html" %}` +
			`{% block title %}Hello{% endblock %}` +
			`{% block content %}<p>{{ request.path }} page {{ request.GET.page }}</p>` +
			`{% cache 500 sidebar request.user.username %}<aside>{{ request.user.username }}: {{ n }}</aside>{% endcache %}` +
			`{% endblock %}`)},
	}
	rd, err := render.New(render.Options{
		FS: templates, // or an embed.FS, or os.DirFS("templates")
		User: func(r *http.Request) any {
			return map[string]any{"username": "alice", "is_authenticated": true}
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rd.Close()

	handler := func(n int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			rd.Render(w, r, "page.html", pongo2.Context{"n": n})
		}
	}
	for n := 1; n <= 2; n++ {
		w := httptest.NewRecorder()
		handler(n)(w, httptest.NewRequest("GET", "/articles/?page=3", nil))
		fmt.Println(w.Code, w.Header().Get("Content-Type"), w.Header().Get("Content-Length"))
		fmt.Println(w.Body.String())
	}
	// The second render is served the cached sidebar ("alice: 1").

	// Output:
	// 200 text/html; charset=utf-8 67
	// <title>Hello</title><p>/articles/ page 3</p><aside>alice: 1</aside>
	// 200 text/html; charset=utf-8 67
	// <title>Hello</title><p>/articles/ page 3</p><aside>alice: 1</aside>
}
