package staticfiles

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"

	"github.com/fragcache/fragcache/internal/httpheader"
)

// This file is a port of Django 6.1's HashedFilesMixin.post_process
// (django/contrib/staticfiles/storage.py): the names, the patterns, the
// passes and the quirks, so that the hashed names, the rewritten files and
// staticfiles.json are byte for byte those collectstatic writes. Python's re
// patterns run on regexp2 (backreferences, inline flags, and positions in
// code points, as Python counts them).

// maxPasses is HashedFilesMixin.max_post_process_passes.
const maxPasses = 5

// rewritePattern is one of HashedFilesMixin.patterns: a regexp with the
// groups "matched" and "url", the template of the replacement (%(url)s
// marks the new URL) and the blocks (comments, strings) inside which a
// match is left alone.
type rewritePattern struct {
	re       *regexp2.Regexp
	template string
	ignored  *regexp2.Regexp
}

// unbounded lifts regexp2's bound on the backtracking stack, which a large
// comment or string in a CSS file exceeds (Python's re has none; the stack
// grows with the file, which New reads whole anyway).
var unbounded = regexp2.OptionMaxBacktrackingStackSize(-1)

func mustCompile(expr string) *regexp2.Regexp {
	return regexp2.MustCompile(expr, regexp2.IgnoreCase, unbounded)
}

var (
	// cssIgnored is _css_ignored_re (compiled with re.DOTALL, without
	// re.IGNORECASE).
	cssIgnored = regexp2.MustCompile(`/\*.*?\*/|\\.|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"`, regexp2.Singleline, unbounded)
	// jsIgnored is _js_ignored_re.
	jsIgnored = regexp2.MustCompile("/\\*.*?\\*/|//[^\\n]*|\\\\.|'(?:[^'\\\\\\n]|\\\\.)*'|\"(?:[^\"\\\\\\n]|\\\\.)*\"|`(?:[^`\\\\]|\\\\.)*`", regexp2.Singleline, unbounded)

	cssPatterns = []rewritePattern{
		{mustCompile(`(?<matched>url\((?<quote>['"]{0,1})\s*(?<url>.*?)\k<quote>\))`), `url("%(url)s")`, cssIgnored},
		{mustCompile(`(?<matched>@import\s*["']\s*(?<url>.*?)["'])`), `@import url("%(url)s")`, cssIgnored},
		{mustCompile(`(?m)^(?<matched>/\*#[ \t](?-i:sourceMappingURL)=(?<url>.*)[ \t]*\*/)$`), `/*# sourceMappingURL=%(url)s */`, cssIgnored},
	}
	jsPatterns = []rewritePattern{
		{mustCompile(`(?m)^(?<matched>//# (?-i:sourceMappingURL)=(?<url>.*))$`), `//# sourceMappingURL=%(url)s`, jsIgnored},
	}
	// schemeRe is the converter's r'^[a-z]+:' (case-sensitive).
	schemeRe = regexp2.MustCompile(`^[a-z]+:`, regexp2.None, unbounded)
)

// patternsFor returns the patterns that rewrite a file, as
// matches_patterns(path, ("*.css",)) selects them; nil for other files.
func patternsFor(name string) []rewritePattern {
	switch {
	case strings.HasSuffix(name, ".css"):
		return cssPatterns
	case strings.HasSuffix(name, ".js"):
		return jsPatterns
	}
	return nil
}

// fileHash is file_hash: the first 12 hex digits of the MD5 of content.
func fileHash(content []byte) string {
	sum := md5.Sum(content)
	return hex.EncodeToString(sum[:])[:12]
}

// splitExt is os.path.splitext: leading dots are part of the root.
func splitExt(name string) (root, ext string) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 || strings.Trim(name[:i], ".") == "" {
		return name, ""
	}
	return name[:i], name[i:]
}

// insertHash is the name hashed_name builds: dir/root.hash.ext.
func insertHash(name, hash string) string {
	dir, file := path.Split(name)
	root, ext := splitExt(file)
	return dir + root + "." + hash + ext
}

// splitURL is what the converter reads of a reference: urldefrag, then
// urlsplit's path and query. Python's urldefrag re-joins the parts without
// the fragment, so "a.eot?#x" loses its empty query ("a.eot").
func splitURL(u string) (p, query, fragment string, hasQuery bool) {
	if i := strings.IndexByte(u, '#'); i >= 0 {
		u, fragment = u[:i], u[i+1:]
	}
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i], u[i+1:], fragment, true
	}
	return u, "", fragment, false
}

// urldefrag is Python's urllib.parse.urldefrag for the relative URLs the
// converter reaches.
func urldefrag(u string) (string, string) {
	if !strings.Contains(u, "#") {
		return u, ""
	}
	p, q, frag, _ := splitURL(u)
	if q != "" {
		p += "?" + q
	}
	return p, frag
}

// unquote is Python's urllib.parse.unquote: %XX sequences decoded (as
// UTF-8, invalid sequences replaced), anything else kept.
func unquote(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	b := httpheader.AppendUnquote(nil, s)
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// pyStrip is Python's str.strip() for the characters a URL can hold.
func pyStrip(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		switch r {
		case ' ', '\t', '\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x1f, 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
			return true
		}
		return 0x2000 <= r && r <= 0x200a
	})
}

// builder computes the hashed names and rewritten files of a set of files.
type builder struct {
	staticURL string
	names     []string          // the files, in walk order
	content   map[string][]byte // original content
	keep      func(file, ref, missing string)
}

// missingRefError is a CSS or JS reference to a file that is not there.
type missingRefError struct {
	file        string
	line        int
	ref, target string
}

func (e *missingRefError) Error() string {
	return fmt.Sprintf("staticfiles: %s, line %d: %s: the file %q could not be found", e.file, e.line, e.ref, e.target)
}

func (e *missingRefError) Unwrap() error { return ErrMissingReference }

// postProcess is HashedFilesMixin.post_process: it returns the hashed name
// of every file and the rewritten content of those the patterns changed.
func (b *builder) postProcess() (hashed map[string]string, rewritten map[string][]byte, err error) {
	hashed = map[string]string{}
	rewritten = map[string][]byte{}
	order := slices.Clone(b.names)
	// sorted(paths, key=path_level, reverse=True) is stable: deeper first.
	slices.SortStableFunc(order, func(x, y string) int {
		return strings.Count(y, "/") - strings.Count(x, "/")
	})
	pass := func(names []string) (unresolved []string, err error) {
		for _, name := range names {
			h, ok := hashed[name]
			if !ok {
				h = insertHash(name, fileHash(b.content[name]))
			}
			pats := patternsFor(name)
			if pats == nil {
				hashed[name] = h
				continue
			}
			out, err := b.rewrite(name, pats, hashed)
			if err != nil {
				return nil, err
			}
			nh := insertHash(name, fileHash(out))
			if nh != h {
				unresolved = append(unresolved, name)
			}
			rewritten[name] = out
			hashed[name] = nh
		}
		return unresolved, nil
	}
	if _, err := pass(order); err != nil {
		return nil, nil, err
	}
	var adjustable []string
	for _, n := range order {
		if patternsFor(n) != nil {
			adjustable = append(adjustable, n)
		}
	}
	var unresolved []string
	for range maxPasses {
		if unresolved, err = pass(adjustable); err != nil {
			return nil, nil, err
		}
		if len(unresolved) == 0 {
			break
		}
	}
	if len(unresolved) > 0 {
		slices.Sort(unresolved)
		return nil, nil, fmt.Errorf("%w: %s (the files reference each other in a cycle)", ErrMaxPasses, strings.Join(unresolved, ", "))
	}
	for name, out := range rewritten {
		if string(out) == string(b.content[name]) {
			delete(rewritten, name)
		}
	}
	return hashed, rewritten, nil
}

// rewrite applies the patterns to the original content of name, as
// _post_process does, with the hashed names known so far.
func (b *builder) rewrite(name string, pats []rewritePattern, hashed map[string]string) ([]byte, error) {
	orig := b.content[name]
	if !utf8.Valid(orig) {
		return nil, fmt.Errorf("staticfiles: %s is not valid UTF-8", name)
	}
	content := string(orig)
	any := false
	for _, p := range pats {
		if ok, _ := p.re.MatchString(content); ok {
			any = true
			break
		}
	}
	if !any {
		return orig, nil
	}
	for _, p := range pats {
		blocks, err := p.ignored.FindAllStringIndex(content, -1)
		if err != nil {
			return nil, fmt.Errorf("staticfiles: %s: %w", name, err)
		}
		// FindAllStringIndex gives byte offsets; matches give rune
		// offsets: compare in bytes.
		var convErr error
		out, err := p.re.ReplaceFunc(content, func(m regexp2.Match) string {
			matched := m.GroupByName("matched").String()
			start, _ := m.Group.Capture.ByteRange()
			if convErr != nil || inBlock(start, blocks) {
				return matched
			}
			u, err := b.convert(name, m.GroupByName("url").String(), hashed)
			if err != nil {
				if b.keep != nil {
					b.keep(name, matched, err.Error())
					return matched
				}
				line := 1 + strings.Count(content[:start], "\n")
				convErr = &missingRefError{file: name, line: line, ref: matched, target: err.Error()}
				return matched
			}
			if u == "" {
				return matched
			}
			return strings.Replace(p.template, "%(url)s", u, 1)
		}, -1, -1)
		if err != nil {
			return nil, fmt.Errorf("staticfiles: %s: %w", name, err)
		}
		if convErr != nil {
			return nil, convErr
		}
		content = out
	}
	return []byte(content), nil
}

// inBlock is is_in_ignored_block: strictly inside one of the blocks.
func inBlock(pos int, blocks [][]int) bool {
	for _, bl := range blocks {
		if bl[0] < pos && pos < bl[1] {
			return true
		}
		if pos < bl[0] {
			return false
		}
	}
	return false
}

// convert is url_converter's converter: the replacement URL of the
// reference u in the file name, or "" to leave the match as it is. The
// error is the name of a target that does not exist.
func (b *builder) convert(name, u string, hashed map[string]string) (string, error) {
	if ok, _ := schemeRe.MatchString(u); ok || strings.HasPrefix(u, "//") {
		return "", nil
	}
	if strings.HasPrefix(u, "/") && !strings.HasPrefix(u, b.staticURL) {
		return "", nil
	}
	urlPath, fragment := urldefrag(u)
	if urlPath == "" {
		return "", nil
	}
	var target string
	if strings.HasPrefix(urlPath, "/") {
		target = strings.TrimPrefix(urlPath, b.staticURL)
	} else {
		// posixpath.join(posixpath.dirname(name), url_path), which
		// does not normalize (_stored_name does).
		target = urlPath
		if i := strings.LastIndexByte(name, '/'); i >= 0 {
			target = name[:i+1] + urlPath
		}
	}
	hashedURL, err := b.storedURL(unquote(target), hashed)
	if err != nil {
		return "", err
	}
	dirs := strings.Split(urlPath, "/")
	segs := strings.Split(hashedURL, "/")
	transformed := strings.Join(append(dirs[:len(dirs)-1], segs[len(segs)-1]), "/")
	if fragment != "" {
		if strings.Contains(u, "?#") {
			transformed += "?#" + fragment
		} else {
			transformed += "#" + fragment
		}
	}
	return unquote(transformed), nil
}

// storedURL is _url(_stored_name, name, force=True, hashed_files) without
// the STATIC_URL prefix (the converter keeps only the last segment).
func (b *builder) storedURL(name string, hashed map[string]string) (string, error) {
	clean, _ := urldefrag(name)
	if p, _, _, _ := splitURL(clean); strings.HasSuffix(p, "/") {
		return name, nil
	}
	// _stored_name: posixpath.normpath, then the names hashed so far.
	n := path.Clean(clean)
	if h, ok := hashed[n]; ok {
		return h, nil
	}
	// hashed_name(name): the hash of the file as collectstatic copied it
	// (its original content), the query kept.
	p, query, _, _ := splitURL(unquote(n))
	p = pyStrip(p)
	content, ok := b.content[p]
	if !ok {
		if b.isDir(p) {
			return n, nil // open() fails on a directory: the name as it is
		}
		return "", fmt.Errorf("%s", p)
	}
	h := insertHash(p, fileHash(content))
	if query != "" {
		h += "?" + query
	}
	return h, nil
}

// isDir reports whether name is a directory holding some of the files.
func (b *builder) isDir(name string) bool {
	if name == "." || name == "" {
		return true
	}
	prefix := name + "/"
	for _, n := range b.names {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}
