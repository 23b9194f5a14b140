package staticfiles

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/fragcache/fragcache/internal/testserver"
)

// collectScript runs Django's collectstatic with ManifestStaticFilesStorage
// on the folder named on stdin and prints staticfiles.json and every file
// of STATIC_ROOT (base64), or the error collectstatic raised.
const collectScript = `
import base64, json, os, sys, tempfile
import django
from django.conf import settings
src = sys.stdin.readline().strip()
root = tempfile.mkdtemp()
kw = dict(DEBUG=False, STATIC_URL="/static/", STATIC_ROOT=root, STATICFILES_DIRS=[src],
          INSTALLED_APPS=["django.contrib.staticfiles"],
          TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}])
if django.VERSION >= (4, 2):
    kw["STORAGES"] = {"staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}}
else:
    kw["STATICFILES_STORAGE"] = "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
settings.configure(**kw)
django.setup()
from django.core.management import call_command
out = {}
try:
    call_command("collectstatic", interactive=False, verbosity=0)
except Exception as e:
    out["error"] = "%s: %s" % (type(e).__name__, e)
    print(json.dumps(out)); sys.exit(0)
with open(os.path.join(root, "staticfiles.json"), "rb") as f:
    out["manifest"] = f.read().decode()
files = {}
for dirpath, _, names in os.walk(root):
    for n in names:
        p = os.path.join(dirpath, n)
        with open(p, "rb") as f:
            files[os.path.relpath(p, root)] = base64.b64encode(f.read()).decode()
out["files"] = files
from django.templatetags.static import static
urls = {}
for name in json.loads(sys.stdin.readline()):
    try:
        urls[name] = static(name)
    except ValueError as e:
        urls[name] = "ValueError: %s" % e
out["urls"] = urls
print(json.dumps(out))
`

// collected is what collectScript prints.
type collected struct {
	Error    string            `json:"error"`
	Manifest string            `json:"manifest"`
	Files    map[string]string `json:"files"`
	URLs     map[string]string `json:"urls"`
}

// collectWithDjango runs collectstatic (Django 6.1) on dir and, for the
// names, static(name).
func collectWithDjango(t *testing.T, dir string, names []string) collected {
	t.Helper()
	return collectWith(t, "6.1", dir, names)
}

// collectWith is collectWithDjango with another Django release.
func collectWith(t *testing.T, version, dir string, names []string) collected {
	t.Helper()
	d := testserver.NewDjango(t, version)
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if names == nil {
		names = []string{}
	}
	list, _ := json.Marshal(names)
	out := d.Run(t, collectScript, []byte(abs+"\n"+string(list)+"\n"))
	var c collected
	if err := json.Unmarshal(out, &c); err != nil {
		t.Fatalf("collectstatic output: %v\n%s", err, out)
	}
	return c
}

// TestDjangoCollectstatic compares, byte for byte, the hashed names,
// staticfiles.json and the rewritten CSS and JS with those Django 6.1's
// collectstatic writes for the same tree, and URL with Django's static().
func TestDjangoCollectstatic(t *testing.T) {
	t.Parallel()
	const dir = "testdata/site"
	names := []string{"css/site.css", "img/café.svg", "img/logo.png?v=2", "css/font.eot?#iefix",
		"img/logo.png#top", "css/", "missing.css", "js/app.js"}
	c := collectWithDjango(t, dir, names)
	if c.Error != "" {
		t.Fatalf("collectstatic: %s", c.Error)
	}
	st, err := New(os.DirFS(dir), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(st.Manifest()); got != c.Manifest {
		t.Errorf("staticfiles.json:\n got %s\nwant %s", got, c.Manifest)
	}
	// Every file of STATIC_ROOT (originals and hashed copies) is served
	// under its name with Django's bytes.
	h := st.Handler()
	var served []string
	for name, b64 := range c.Files {
		if name == ManifestName {
			continue
		}
		want, _ := base64.StdEncoding.DecodeString(b64)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/static/"+escapePath(name), nil))
		if rec.Code != 200 {
			t.Errorf("%s: status %d", name, rec.Code)
			continue
		}
		if got := rec.Body.String(); got != string(want) {
			t.Errorf("%s:\n got %q\nwant %q", name, got, want)
		}
		served = append(served, name)
	}
	sort.Strings(served)
	if len(served) != len(st.assets) {
		var ours []string
		for n := range st.assets {
			ours = append(ours, n)
		}
		sort.Strings(ours)
		t.Errorf("served names:\n got %q\nwant %q", ours, served)
	}
	for _, name := range names {
		want := c.URLs[name]
		got, err := st.URL(name)
		if strings.HasPrefix(want, "ValueError: ") {
			if !errors.Is(err, ErrMissing) || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(strings.TrimPrefix(want, "ValueError: "))) {
				t.Errorf("URL(%q) = %q, %v; want the error %q", name, got, err, want)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("URL(%q) = %q, %v; want %q", name, got, err, want)
		}
	}

	// The collected tree with its staticfiles.json (Options.Manifest)
	// gives the same URLs and serves the same files.
	root := fstest.MapFS{}
	for name, b64 := range c.Files {
		b, _ := base64.StdEncoding.DecodeString(b64)
		root[name] = &fstest.MapFile{Data: b}
	}
	fromManifest, err := New(root, Options{Manifest: ManifestName})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		got, err1 := fromManifest.URL(name)
		want, err2 := st.URL(name)
		if got != want || (err1 == nil) != (err2 == nil) {
			t.Errorf("with the manifest, URL(%q) = %q, %v; want %q, %v", name, got, err1, want, err2)
		}
	}
	for name := range c.Files {
		a, b := fromManifest.assets[name], st.assets[name]
		if name == ManifestName {
			continue
		}
		if a == nil || b == nil || a.etag != b.etag || a.hashed != b.hashed {
			t.Errorf("with the manifest, %s: %+v; want %+v", name, a, b)
		}
	}
}

// escapePath percent-encodes the non-ASCII bytes of a name, as a browser
// does.
func escapePath(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 0x80 || c == ' ' || c == '%' || c == '?' || c == '#' {
			b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// TestDjangoErrors checks that the trees collectstatic refuses are refused
// by New too: a reference to a missing file, and a cycle.
func TestDjangoErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		files map[string]string
		want  error
		ours  string
	}{
		{"missing reference", map[string]string{"css/a.css": "body { background: url(../img/none.png) }\n"},
			ErrMissingReference, `staticfiles: css/a.css, line 1: url(../img/none.png): the file "img/none.png" could not be found`},
		{"missing import", map[string]string{"a.css": "@import 'b.css';\n"},
			ErrMissingReference, `a.css, line 1: @import 'b.css'`},
		{"cycle", map[string]string{"a.css": "@import 'b.css';\n", "b.css": "@import 'a.css';\n"},
			ErrMaxPasses, "a.css, b.css"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := writeTree(t, tc.files)
			c := collectWithDjango(t, dir, nil)
			if c.Error == "" {
				t.Fatalf("collectstatic succeeded; the case is wrong")
			}
			_, err := New(os.DirFS(dir), Options{})
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.ours) {
				t.Fatalf("New: %v; want %v containing %q (Django: %s)", err, tc.want, tc.ours, c.Error)
			}
			t.Logf("Django: %s; New: %v", c.Error, err)
		})
	}
}

// TestDjango32Manifest reads the staticfiles.json (version 1.0) that
// Django 3.2's collectstatic writes, with the collected files, and gives
// the URLs Django 3.2's static() gives.
func TestDjango32Manifest(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{
		"css/site.css": "@import 'base.css';\nbody { background: url(../img/a.png) }\n",
		"css/base.css": "p { background: url('../img/a.png#x') }\n",
		"img/a.png":    "\x89PNG fake",
	})
	names := []string{"css/site.css", "css/base.css", "img/a.png", "img/a.png?v=1#f", "missing.css"}
	c := collectWith(t, "3.2", dir, names)
	if c.Error != "" {
		t.Fatal(c.Error)
	}
	if !strings.Contains(c.Manifest, `"version": "1.0"`) {
		t.Fatalf("Django 3.2's manifest: %s", c.Manifest)
	}
	root := fstest.MapFS{}
	for name, b64 := range c.Files {
		b, _ := base64.StdEncoding.DecodeString(b64)
		root[name] = &fstest.MapFile{Data: b}
	}
	st, err := New(root, Options{Manifest: ManifestName})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		got, err := st.URL(name)
		if want := c.URLs[name]; strings.HasPrefix(want, "ValueError") {
			if err == nil {
				t.Errorf("URL(%q) = %q; want an error (%s)", name, got, want)
			}
		} else if err != nil || got != want {
			t.Errorf("URL(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	// The names computed here are the ones Django 3.2 wrote too.
	computed, err := New(os.DirFS(dir), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names[:3] {
		a, _ := computed.HashedName(name)
		b, _ := st.HashedName(name)
		if a != b {
			t.Errorf("%s: computed %q, Django 3.2 %q", name, a, b)
		}
	}
}

// writeTree writes the files (name → content) into a new temporary folder
// and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestDjangoLargeCSS: a large comment, string and unterminated url( —
// beyond regexp2's default backtracking bound — give Django's output.
func TestDjangoLargeCSS(t *testing.T) {
	t.Parallel()
	big := "/* " + strings.Repeat("license text url(x.png) ", 3000) + " */\n" +
		"a { content: \"" + strings.Repeat("x", 120000) + "\" }\n" +
		strings.Repeat("b { background: url(i.png) }\n", 500) +
		"c { background: url(" + strings.Repeat("y", 60000) + "\n"
	dir := writeTree(t, map[string]string{"a.css": big, "i.png": "png"})
	c := collectWithDjango(t, dir, nil)
	if c.Error != "" {
		t.Fatal(c.Error)
	}
	st, err := New(os.DirFS(dir), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(st.Manifest()); got != c.Manifest {
		t.Fatalf("staticfiles.json:\n got %s\nwant %s", got, c.Manifest)
	}
	h, _ := st.HashedName("a.css")
	want, _ := base64.StdEncoding.DecodeString(c.Files[h])
	if got := st.assets[h].data; string(got) != string(want) {
		t.Errorf("%s differs from Django's (%d and %d bytes)", h, len(got), len(want))
	}
}
