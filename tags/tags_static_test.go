package tags

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flosch/pongo2/v6"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/internal/testserver"
	"github.com/fragcache/fragcache/staticfiles"
)

// staticScript runs collectstatic (ManifestStaticFilesStorage) on the
// folder on stdin's first line, then renders each template of the JSON
// list on the second line with the context {"name": "css/site.css", "amp":
// "x&y.css"}, printing the outputs or "ValueError: …".
const staticScript = `
import json, sys, tempfile
import django
from django.conf import settings
src = sys.stdin.readline().strip()
settings.configure(DEBUG=False, STATIC_URL="/static/", STATIC_ROOT=tempfile.mkdtemp(), STATICFILES_DIRS=[src],
    INSTALLED_APPS=["django.contrib.staticfiles"],
    STORAGES={"staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}},
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}])
django.setup()
from django.core.management import call_command
call_command("collectstatic", interactive=False, verbosity=0)
from django.template import Template, Context
out = []
for src in json.loads(sys.stdin.readline()):
    try:
        out.append(Template(src).render(Context({"name": "css/site.css", "amp": "x&y.css"})))
    except ValueError as e:
        out.append("ValueError: %s" % e)
print(json.dumps(out))
`

// TestDjangoStaticTag renders {% static %} as Django 6.1 does, with
// ManifestStaticFilesStorage over the same files.
func TestDjangoStaticTag(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"css/site.css": "body { background: url(../img/logo.svg) }\n",
		"img/logo.svg": "<svg xmlns=\"http://www.w3.org/2000/svg\"/>\n",
		"x&y.css":      "p { color: red }\n",
		"it's <b>.js":  "console.log(1)\n",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	templates := []string{
		`{% load static %}<link href="{% static "css/site.css" %}">`,
		`{% load static %}{% static 'x&y.css' %}`,
		`{% load static %}{% static "it's <b>.js" %}`,
		`{% load static %}{% autoescape off %}{% static "x&y.css" %} {% static "it's <b>.js" %}{% endautoescape %}`,
		`{% load static %}{% static name %}`,
		`{% load static %}{% static amp as u %}[{{ u }}] [{{ u|escape }}]`,
		`{% load static %}{% autoescape off %}{% static amp as u %}{% endautoescape %}[{{ u }}]`,
		`{% load static %}{% static "img/logo.svg?v=1#top" %}`,
		`{% load static %}{% static "css/" %}`,
		`{% load static %}{% static "nope.css" %}`,
		`{% load static %}{% static missing_variable %}`,
		`{% load static %}[{% get_static_prefix %}]`,
		`{% load static %}{% get_static_prefix as p %}[{{ p }}css/site.css]`,
	}
	d := testserver.NewDjango(t, "6.1")
	list, _ := json.Marshal(templates)
	var want []string
	if err := json.Unmarshal(d.Run(t, staticScript, []byte(dir+"\n"+string(list)+"\n")), &want); err != nil {
		t.Fatal(err)
	}
	t.Logf("Django: %q", want)

	st, err := staticfiles.New(os.DirFS(dir), staticfiles.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, cache.KeySchemeDjango61, Options{Static: st}, nil)
	for i, src := range templates {
		tpl, err := e.set.FromString(src)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		got, err := tpl.Execute(pongo2.Context{"name": "css/site.css", "amp": "x&y.css"})
		if msg, isErr := strings.CutPrefix(want[i], "ValueError: "); isErr {
			if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(msg)) {
				t.Errorf("%s = %q, %v; want the error %q", src, got, err, msg)
			}
			continue
		}
		if err != nil || got != want[i] {
			t.Errorf("%s = %q, %v; want %q", src, got, err, want[i])
		}
	}
}

func TestStaticTagErrors(t *testing.T) {
	for _, tc := range []struct {
		src, msg string
		static   bool
	}{
		{`{% static %}`, "'static' takes at least one argument (path to file)", true},
		{`{% static "a" b %}`, "'static' takes a path and, optionally, 'as variable'", true},
		{`{% static "a" as %}`, "'static' takes a path and, optionally, 'as variable'", true},
		{`{% static "a" as "b" %}`, "'as' must be followed by a variable name", true},
		{`{% static 3 %}`, "'static' path must be a string, got int", true},
		{`{% static "a.css" %}`, "without tags.Options.Static", false},
		{`{% get_static_prefix foo %}`, "First argument in 'get_static_prefix' must be 'as'", true},
		{`{% get_static_prefix as %}`, "'get_static_prefix' takes 'as variable'", true},
		{`{% get_static_prefix %}`, "needs a tags.Options.Static with a Prefix method", false},
	} {
		opts := Options{}
		if tc.static {
			st, err := staticfiles.New(os.DirFS(t.TempDir()), staticfiles.Options{})
			if err != nil {
				t.Fatal(err)
			}
			opts.Static = st
		}
		e := newEnv(t, cache.KeySchemeDjango61, opts, nil)
		tpl, err := e.set.FromString(tc.src)
		if err == nil {
			_, err = tpl.Execute(nil)
		}
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v; want %q", tc.src, err, tc.msg)
		}
	}
}
