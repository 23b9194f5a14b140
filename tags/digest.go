package tags

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strconv"
	"sync"

	"github.com/flosch/pongo2/v6"
)

// Template digests (Options.TemplateDigests), as Rails' cache digests: a
// fragment's key varies on a digest of the template text that renders it,
// so that a deploy changing that text never serves fragments rendered from
// the old one. The digest covers the tag's body as parsed (its tokens,
// nested {% cache %} tags included) and the source of every template the
// body includes by a literal name, and of the templates those include or
// extend, recursively. An {% include %} of a variable cannot be known
// before the render: it is left out, and logged once per tag.
//
// The digest is added as one more vary-on value, after the tag's own, so
// the key keeps Django's shape ("template.cache.<name>.<md5>") but no
// longer equals the key Django computes for the same tag: turn digests on
// only for fragments Django does not share.

// tokenDigest returns the digest of the tokens doc holds from index from
// (inclusive) to to (exclusive): the body of a tag, as parsed.
func tokenDigest(doc *pongo2.Parser, from, to int) [md5.Size]byte {
	h := md5.New()
	var b []byte
	for i := from; i < to; i++ {
		t := doc.Get(i)
		if t == nil {
			break
		}
		b = strconv.AppendInt(b[:0], int64(t.Typ), 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(len(t.Val)), 10)
		b = append(b, ':')
		b = append(b, t.Val...)
		h.Write(b)
	}
	var sum [md5.Size]byte
	h.Sum(sum[:0])
	return sum
}

// digestState is a tag's template digest, computed at its first render
// with digests on.
type digestState struct {
	once    sync.Once
	digest  string
	dynamic bool // the body includes a template by a variable name
	err     error
}

// templateDigest returns the digest of n's body (see above), computing it
// once; f logs a dynamic include the first time.
func (n *cacheNode) templateDigest(f *Fragments) (string, error) {
	d := &n.digest
	d.once.Do(func() {
		d.digest, d.dynamic, d.err = digestBody(n)
		if d.dynamic && f != nil && f.logger != nil {
			f.logger.Warn("fragcache: {% cache %} body includes a template by a variable name; its text is left out of the template digest",
				slog.String("fragment", n.name), slog.String("template", n.start.Filename), slog.Int("line", n.start.Line))
		}
	})
	return d.digest, d.err
}

// digestBody computes the digest of n's body: its token digest and the
// sources of the templates it reaches by literal includes.
func digestBody(n *cacheNode) (digest string, dynamic bool, err error) {
	if err := checkForLayout(); err != nil {
		return "", false, err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("fragcache/tags: template digest: unexpected pongo2 template structure: %v", r)
		}
	}()
	w := &digestWalker{seen: map[visit]bool{}, sources: map[string]bool{}}
	w.walk(reflect.ValueOf(n.body))
	sums := make([]string, 0, len(w.sources))
	for s := range w.sources {
		sums = append(sums, s)
	}
	slices.Sort(sums) // independent of the walk's (map) order
	h := md5.New()
	h.Write(n.bodyDigest[:])
	for _, s := range sums {
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil)), w.dynamic, nil
}

// digestWalker walks a parsed body for digestBody.
type digestWalker struct {
	seen    map[visit]bool
	sources map[string]bool // md5 hex of each reached template's source
	dynamic bool
}

var (
	typeOfIncludeNode = reflect.TypeOf((*includeNode)(nil))
	tplSourceField    = sync.OnceValue(func() int {
		f, ok := typeOfTemplate.Elem().FieldByName("tpl")
		if !ok || f.Type.Kind() != reflect.String || len(f.Index) != 1 {
			return -1
		}
		return f.Index[0]
	})
)

func (w *digestWalker) walk(v reflect.Value) {
	treeWalk(v, w.seen, func(p reflect.Value) bool {
		switch p.Type() {
		case typeOfTemplate:
			i := tplSourceField()
			if i < 0 {
				panic("pongo2's Template.tpl changed")
			}
			sum := md5.Sum([]byte(writable(p.Elem().Field(i)).String()))
			w.sources[hex.EncodeToString(sum[:])] = true
			tv := p.Elem()
			for j := 0; j < tv.NumField(); j++ {
				if tv.Type().Field(j).Name != "child" { // the template extending it is not rendered by it
					w.walk(writable(tv.Field(j)))
				}
			}
			return false
		case typeOfIncludeNode:
			w.dynamic = true
			return false
		}
		return true
	})
}

// treeWalk walks a parsed template from v: each pointer reached for the
// first time (see firstVisit) is passed to enter, and walked into when
// enter returns true.
func treeWalk(v reflect.Value, seen map[visit]bool, enter func(p reflect.Value) bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if firstVisit(seen, v) && enter(v) {
			treeWalk(v.Elem(), seen, enter)
		}
	case reflect.Struct:
		if v.Type() == typeOfReflect {
			return
		}
		for i := 0; i < v.NumField(); i++ {
			treeWalk(writable(v.Field(i)), seen, enter)
		}
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return
		}
		for i := 0; i < v.Len(); i++ {
			treeWalk(writable(v.Index(i)), seen, enter)
		}
	case reflect.Map:
		if v.IsNil() || v.Type().Elem().Kind() == reflect.String {
			return
		}
		iter := v.MapRange()
		for iter.Next() {
			e := iter.Value()
			if e.Kind() == reflect.Interface && !e.IsNil() {
				e = e.Elem()
			}
			if e.Kind() == reflect.Pointer {
				treeWalk(e, seen, enter)
			}
		}
	case reflect.Interface:
		if !v.IsNil() {
			if e := v.Elem(); e.Kind() == reflect.Pointer {
				treeWalk(e, seen, enter)
			}
		}
	}
}

// TemplateDigest returns the template digest of the {% cache %} fragment
// name in tpl (see Options.TemplateDigests): the value the tags append to
// the fragment's vary-on values when digests are on, so that
// cache.FragmentKey(name, append(vary, digest)...) is its key. Give name
// as written in the tag. It is an error when tpl (with the templates it
// extends or includes by a literal name) has no such tag, or several whose
// digests differ.
func TemplateDigest(tpl *pongo2.Template, name string) (string, error) {
	if tpl == nil {
		return "", fmt.Errorf("fragcache/tags: TemplateDigest of a nil template")
	}
	if err := checkForLayout(); err != nil {
		return "", err
	}
	var nodes []*cacheNode
	var walkErr error
	func() {
		defer func() {
			if r := recover(); r != nil {
				walkErr = fmt.Errorf("fragcache/tags: TemplateDigest: unexpected pongo2 template structure: %v", r)
			}
		}()
		treeWalk(reflect.ValueOf(tpl), map[visit]bool{}, func(p reflect.Value) bool {
			if p.Type() == typeOfCacheNode {
				nodes = append(nodes, (*cacheNode)(p.UnsafePointer()))
			}
			return true
		})
	}()
	if walkErr != nil {
		return "", walkErr
	}
	digest := ""
	for _, n := range nodes {
		if n.name != name {
			continue
		}
		d, err := n.templateDigest(nil)
		if err != nil {
			return "", err
		}
		if digest != "" && d != digest {
			return "", fmt.Errorf("fragcache/tags: template %q has several {%% cache %%} tags named %s with different bodies", tplName(tpl), name)
		}
		digest = d
	}
	if digest == "" {
		return "", fmt.Errorf("fragcache/tags: template %q has no {%% cache %%} tag named %s", tplName(tpl), name)
	}
	return digest, nil
}

// tplName returns a template's name, for messages.
func tplName(tpl *pongo2.Template) string {
	v := reflect.ValueOf(tpl).Elem().FieldByName("name")
	if v.IsValid() && v.Kind() == reflect.String {
		return v.String()
	}
	return "?"
}
