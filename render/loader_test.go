package render

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestResolveName(t *testing.T) {
	tests := []struct {
		base, name, want string
		valid            bool
	}{
		{"", "page.html", "page.html", true},
		{"sub/page.html", "partials/nav.html", "partials/nav.html", true}, // root, not sub/partials
		{"sub/page.html", "./local.html", "sub/local.html", true},
		{"sub/page.html", "../top.html", "top.html", true},
		{"sub/deep/page.html", "../x/y.html", "sub/x/y.html", true},
		{"/sub/page.html", "./local.html", "sub/local.html", true},
		{"", "./page.html", "page.html", true},
		{"", "a//b/./c.html", "a/b/c.html", true},
		{"", "a/../b.html", "b.html", true},
		{"sub/page.html", "sub/x.html", "sub/x.html", true}, // idempotent on the second call
		{"page.html", "../x.html", "../x.html", false},
		{"sub/page.html", "../../x.html", "../x.html", false},
		{"", "a/../../x.html", "../x.html", false},
		{"", "/etc/passwd", "/etc/passwd", false},
		{"", "", "", false},
		{"", ".", ".", false},
		{"", "./", ".", false},
	}
	for _, tt := range tests {
		got := resolveName(tt.base, tt.name)
		if got != tt.want || validName(got) != tt.valid {
			t.Errorf("resolveName(%q, %q) = %q (valid %v), want %q (valid %v)",
				tt.base, tt.name, got, validName(got), tt.want, tt.valid)
		}
		// pongo2 calls Abs again with an empty base on the result.
		if again := resolveName("", got); tt.valid && again != got {
			t.Errorf("resolveName(\"\", %q) = %q, not idempotent", got, again)
		}
	}
}

func TestNameResolution(t *testing.T) {
	fsys := fstest.MapFS{
		"page.html":           {Data: []byte(`[{% include "partials/nav.html" %}]`)},
		"partials/nav.html":   {Data: []byte(`NAV`)},
		"top.html":            {Data: []byte(`TOP`)},
		"sub/page.html":       {Data: []byte(`{% include "partials/nav.html" %}|{% include "./local.html" %}|{% include "../top.html" %}`)},
		"sub/local.html":      {Data: []byte(`LOCAL`)},
		"sub/partials/x.html": {Data: []byte(`WRONG`)},
		"sub/base.html":       {Data: []byte(`<{% block b %}base{% endblock %}>`)},
		"sub/deep/child.html": {Data: []byte(`{% extends "../base.html" %}{% block b %}child+{% include "./leaf.html" %}{% endblock %}`)},
		"sub/deep/leaf.html":  {Data: []byte(`LEAF`)},
		"sub/rootext.html":    {Data: []byte(`{% extends "base2.html" %}{% block b %}R{% endblock %}`)},
		"base2.html":          {Data: []byte(`({% block b %}{% endblock %})`)},
		"sub/escape.html":     {Data: []byte(`{% include "../../x.html" %}`)},
		"rootrel.html":        {Data: []byte(`{% include "../x.html" %}`)},
		"abs.html":            {Data: []byte(`{% include "/page.html" %}`)},
		"missing.html":        {Data: []byte("line1\n{% include \"nope.html\" %}")},
		"ifexists.html":       {Data: []byte(`a{% include "nope.html" if_exists %}b`)},
	}
	rd := mustNew(t, Options{FS: fsys, Logger: discardLogger()})
	tests := []struct {
		name, want string
		status     int
	}{
		{"page.html", "[NAV]", 200},
		{"./page.html", "[NAV]", 200},
		{"sub/../page.html", "[NAV]", 200},
		{"sub/page.html", "NAV|LOCAL|TOP", 200},
		{"sub/deep/child.html", "<child+LEAF>", 200},
		{"sub/rootext.html", "(R)", 200},
		{"ifexists.html", "ab", 200},
		{"/page.html", "", 500},
		{"../page.html", "", 500},
		{"nope.html", "", 500},
		{"", "", 500},
		{"sub", "", 500},
		{"sub/escape.html", "", 500},
		{"rootrel.html", "", 500},
		{"abs.html", "", 500},
		{"missing.html", "", 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := get(rd, "/", tt.name, nil)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d; body %q", w.Code, tt.status, w.Body.String())
			}
			if tt.status == 200 && body(w) != tt.want {
				t.Errorf("body %q, want %q", body(w), tt.want)
			}
		})
	}
}

func TestNotFoundErrors(t *testing.T) {
	fsys := fstest.MapFS{
		"missing.html": {Data: []byte("line1\n{% include \"nope.html\" %}")},
		"escape.html":  {Data: []byte(`{% include "../x.html" %}`)},
	}
	rd := mustNew(t, Options{FS: fsys})
	tests := []struct {
		name     string
		notFound bool     // errors.Is(err, ErrNotFound): the template asked for is missing
		contains []string // in err.Error()
	}{
		{"nope.html", true, []string{`render "nope.html"`, "template not found", "nope.html"}},
		{"../x.html", true, []string{`"../x.html"`, "outside the template root"}},
		{"/etc/passwd", true, []string{"outside the template root"}},
		{"missing.html", false, []string{`render "missing.html"`, "nope.html", "Line 2", "file does not exist"}},
		{"escape.html", false, []string{"../x.html", "outside the template root"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rd.RenderBytes(nil, tt.name, nil)
			if err == nil {
				t.Fatal("no error")
			}
			var e *Error
			if !errors.As(err, &e) || e.Name != tt.name {
				t.Fatalf("error %#v is not a *Error for %q", err, tt.name)
			}
			if errors.Is(err, ErrNotFound) != tt.notFound {
				t.Errorf("errors.Is(err, ErrNotFound) = %v, want %v: %v", !tt.notFound, tt.notFound, err)
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

// TestEscapeRealDir checks that a name cannot reach a file next to the
// template directory on disk.
func TestEscapeRealDir(t *testing.T) {
	dir := t.TempDir()
	tdir := filepath.Join(dir, "templates")
	if err := os.MkdirAll(filepath.Join(tdir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, s string) {
		t.Helper()
		if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "secret.html"), "SECRET")
	write(filepath.Join(tdir, "a.html"), `{% include "../secret.html" %}`)
	write(filepath.Join(tdir, "sub", "b.html"), `{% include "../../secret.html" %}`)
	write(filepath.Join(tdir, "sub", "ok.html"), `{% include "../c.html" %}`)
	write(filepath.Join(tdir, "c.html"), `C`)
	rd := mustNew(t, Options{FS: os.DirFS(tdir), Logger: discardLogger()})
	for _, name := range []string{"a.html", "sub/b.html", "../secret.html", "sub/../../secret.html"} {
		w := get(rd, "/", name, nil)
		if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "SECRET") {
			t.Errorf("%s: status %d body %q, want 500 without the secret", name, w.Code, w.Body.String())
		}
	}
	if w := get(rd, "/", "sub/ok.html", nil); body(w) != "C" {
		t.Errorf("sub/ok.html: %d %q", w.Code, w.Body.String())
	}
}

func TestParseOnce(t *testing.T) {
	fsys := newCountingFS(fstest.MapFS{
		"base.html":         {Data: []byte(`<{% block b %}{% endblock %}>`)},
		"page.html":         {Data: []byte(`{% extends "base.html" %}{% block b %}{% include "partials/x.html" %}{{ n }}{% endblock %}`)},
		"partials/x.html":   {Data: []byte(`X`)},
		"other/./page.html": {Data: []byte(`unused`)},
	})
	rd := mustNew(t, Options{FS: fsys, Logger: discardLogger()})
	for i := 0; i < 20; i++ {
		name := "page.html"
		if i%2 == 1 {
			name = "./page.html"
		}
		if w := get(rd, "/", name, map[string]any{"n": i}); w.Code != 200 {
			t.Fatalf("render %d: %d %s", i, w.Code, w.Body)
		}
	}
	for _, name := range []string{"page.html", "base.html", "partials/x.html"} {
		if n := fsys.count(name); n != 1 {
			t.Errorf("%s opened %d times, want 1", name, n)
		}
	}
	// A missing template is not cached as parsed: each render looks again.
	get(rd, "/", "nope.html", nil)
	get(rd, "/", "nope.html", nil)
	if n := fsys.count("nope.html"); n != 2 {
		t.Errorf("nope.html opened %d times, want 2", n)
	}
}

func TestFilesClosed(t *testing.T) {
	fsys := &closeTrackingFS{FS: fstest.MapFS{
		"page.html": {Data: []byte(`{% include "inc.html" %}`)},
		"inc.html":  {Data: []byte(`I`)},
	}}
	rd := mustNew(t, Options{FS: fsys, Debug: true})
	for i := 0; i < 3; i++ {
		if w := get(rd, "/", "page.html", nil); body(w) != "I" {
			t.Fatalf("%d %q", w.Code, w.Body)
		}
	}
	if fsys.open != 0 {
		t.Errorf("%d files left open", fsys.open)
	}
}

func TestDebugReload(t *testing.T) {
	newFS := func() fstest.MapFS {
		return fstest.MapFS{
			"base.html": {Data: []byte(`<{% block b %}{% endblock %}>`)},
			"page.html": {Data: []byte(`{% extends "base.html" %}{% block b %}{% include "inc.html" %}{% include "opt.html" if_exists %}{% endblock %}`)},
			"inc.html":  {Data: []byte(`v1`)},
		}
	}
	steps := []struct {
		change     func(fstest.MapFS)
		debug, std string // body in debug mode, without debug ("" = 500 in debug)
	}{
		{func(fstest.MapFS) {}, "<v1>", "<v1>"},
		{func(m fstest.MapFS) { m["inc.html"] = &fstest.MapFile{Data: []byte(`v2`)} }, "<v2>", "<v1>"},
		{func(m fstest.MapFS) { m["base.html"] = &fstest.MapFile{Data: []byte(`[{% block b %}{% endblock %}]`)} }, "[v2]", "<v1>"},
		{func(m fstest.MapFS) { m["opt.html"] = &fstest.MapFile{Data: []byte(`+opt`)} }, "[v2+opt]", "<v1>"},
		{func(m fstest.MapFS) { delete(m, "opt.html") }, "[v2]", "<v1>"},
		{func(m fstest.MapFS) { m["inc.html"] = &fstest.MapFile{Data: []byte(`{% if %}`)} }, "", "<v1>"},
		{func(m fstest.MapFS) { m["inc.html"] = &fstest.MapFile{Data: []byte(`v3`)} }, "[v3]", "<v1>"},
		{func(m fstest.MapFS) { delete(m, "page.html") }, "", "<v1>"},
	}
	dfs, sfs := newFS(), newFS()
	drd := mustNew(t, Options{FS: dfs, Debug: true, Logger: discardLogger()})
	srd := mustNew(t, Options{FS: sfs, Logger: discardLogger()})
	for i, st := range steps {
		st.change(dfs)
		st.change(sfs)
		w := get(drd, "/", "page.html", nil)
		if st.debug == "" {
			if w.Code != 500 {
				t.Errorf("step %d debug: %d %q, want 500", i, w.Code, w.Body)
			}
		} else if body(w) != st.debug {
			t.Errorf("step %d debug: %d %q, want %q", i, w.Code, w.Body, st.debug)
		}
		if w := get(srd, "/", "page.html", nil); body(w) != st.std {
			t.Errorf("step %d non-debug: %d %q, want %q", i, w.Code, w.Body, st.std)
		}
	}
}

func TestDebugReloadDirFS(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "page.html")
	// Both versions have the same size and modification time, as two
	// quick edits can on a file system with coarse timestamps: the
	// content is what is compared.
	mtime := time.Unix(1e9, 0)
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	write("one")
	rd := mustNew(t, Options{FS: os.DirFS(dir), Debug: true})
	if w := get(rd, "/", "page.html", nil); body(w) != "one" {
		t.Fatalf("%d %q", w.Code, w.Body)
	}
	write("two")
	if w := get(rd, "/", "page.html", nil); body(w) != "two" {
		t.Fatalf("after edit: %d %q", w.Code, w.Body)
	}
}

func TestExtendsCycle(t *testing.T) {
	fsys := fstest.MapFS{
		"self.html": {Data: []byte(`{% extends "self.html" %}`)},
		"a.html":    {Data: []byte(`{% include "b.html" %}`)},
		"b.html":    {Data: []byte(`{% include "./a.html" %}`)},
	}
	rd := mustNew(t, Options{FS: fsys})
	for _, name := range []string{"self.html", "a.html"} {
		_, err := rd.RenderBytes(nil, name, nil)
		if err == nil || !strings.Contains(err.Error(), "cycle") {
			t.Errorf("%s: error %v, want one about a cycle", name, err)
		}
	}
}
