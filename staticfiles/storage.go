package staticfiles

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultURL is the URL prefix (Django's STATIC_URL) when Options.URL is
// empty.
const DefaultURL = "/static/"

// DefaultMaxAge is how long browsers may keep a file served under its
// unhashed name when Options.MaxAge is 0.
const DefaultMaxAge = 60 * time.Second

// ManifestName is the name of Django's manifest, which Options.Manifest
// usually names.
const ManifestName = "staticfiles.json"

// ManifestVersion is the version of the manifests Storage writes
// (Django 4.2 and later); it reads "1.0" and "1.1".
const ManifestVersion = "1.1"

// Errors New and URL return, wrapped with the details.
var (
	// ErrMissing is returned by URL for a name that is not in the
	// manifest (Django's manifest_strict: "Missing staticfiles manifest
	// entry for 'name'").
	ErrMissing = errors.New("staticfiles: missing staticfiles manifest entry")
	// ErrMissingReference is returned by New for a url(…) or @import in a
	// CSS file (or a sourceMappingURL) that names a file that is not
	// there, unless Options.KeepMissingReferences.
	ErrMissingReference = errors.New("staticfiles: reference to a missing file")
	// ErrMaxPasses is returned by New when files that reference each
	// other in a cycle never settle on hashed names (Django's "Max
	// post-process passes exceeded").
	ErrMaxPasses = errors.New("staticfiles: max post-process passes exceeded")
)

// Options configures a Storage.
type Options struct {
	// URL is the prefix of the URLs of the files, Django's STATIC_URL:
	// "/static/" or an absolute URL ("https://cdn.example.com/static/").
	// It must end with "/"; "" means DefaultURL. Handler serves the paths
	// under its path part.
	URL string
	// Manifest names a staticfiles.json in the file system, which makes it
	// the output of Django's collectstatic (or of WriteManifest): the
	// original files, their hashed copies and the manifest. The names are
	// read from it, nothing is hashed or rewritten. "" means the names
	// are computed from the files at New.
	Manifest string
	// KeepMissingReferences leaves a CSS reference to a missing file as it
	// is and logs it, instead of failing New with ErrMissingReference.
	KeepMissingReferences bool
	// MaxAge is how long browsers may keep a file served under its
	// unhashed name (which may change at the next deploy): 0 means
	// DefaultMaxAge, a negative value "no-cache" (revalidate every time).
	// Hashed names are always cached for a year, immutable.
	MaxAge time.Duration
	// NoCompression turns off making gzip and brotli copies of the
	// compressible files at New. Copies found beside a file (site.css.gz,
	// site.css.br) are served either way.
	NoCompression bool
	// Logger receives the references KeepMissingReferences keeps and the
	// errors of serving a file; nil means slog.Default().
	Logger *slog.Logger
}

// Storage holds a set of static files under their content-hashed names,
// as Django's ManifestStaticFilesStorage names them, and serves them
// (Handler). It is safe for concurrent use.
type Storage struct {
	fsys      fs.FS
	prefix    string            // STATIC_URL
	mount     string            // its path
	paths     map[string]string // name → hashed name, the manifest's paths
	manifest  []byte            // staticfiles.json
	assets    map[string]*asset // served name → file
	maxAgeHdr string            // Cache-Control of unhashed names
	log       *slog.Logger
}

// New reads the files of fsys and computes their hashed names, or reads
// them from the manifest that Options.Manifest names. Files and
// directories whose names start with "." or end with "~", and CVS
// directories, are left out, as collectstatic leaves them out. It fails on
// a file it cannot read, a CSS reference to a missing file (unless
// Options.KeepMissingReferences), a bad manifest or bad options.
func New(fsys fs.FS, opts Options) (*Storage, error) {
	if fsys == nil {
		return nil, errors.New("staticfiles: nil file system")
	}
	s := &Storage{fsys: fsys, prefix: opts.URL, log: opts.Logger}
	if s.prefix == "" {
		s.prefix = DefaultURL
	}
	if !strings.HasSuffix(s.prefix, "/") {
		return nil, fmt.Errorf("staticfiles: Options.URL %q must end with a slash", s.prefix)
	}
	s.mount = s.prefix
	if !strings.HasPrefix(s.prefix, "/") || strings.HasPrefix(s.prefix, "//") {
		u, err := url.Parse(s.prefix)
		if err != nil || u.Path == "" || !strings.HasSuffix(u.Path, "/") {
			return nil, fmt.Errorf("staticfiles: Options.URL %q is neither a path nor an absolute URL with a path ending in a slash", s.prefix)
		}
		s.mount = u.Path
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	switch {
	case opts.MaxAge == 0:
		s.maxAgeHdr = "public, max-age=" + strconv.Itoa(int(DefaultMaxAge/time.Second))
	case opts.MaxAge < 0:
		s.maxAgeHdr = "no-cache"
	default:
		s.maxAgeHdr = "public, max-age=" + strconv.FormatInt(int64(opts.MaxAge/time.Second), 10)
	}

	names, err := walk(fsys)
	if err != nil {
		return nil, err
	}
	files := make(map[string]*fileInfo, len(names))
	for _, n := range names {
		fi, err := readFile(fsys, n)
		if err != nil {
			return nil, err
		}
		files[n] = fi
	}
	var rewritten map[string][]byte
	if opts.Manifest != "" {
		s.manifest, err = fs.ReadFile(fsys, opts.Manifest)
		if err != nil {
			return nil, fmt.Errorf("staticfiles: reading the manifest: %w", err)
		}
		if s.paths, err = parseManifest(s.manifest); err != nil {
			return nil, fmt.Errorf("staticfiles: %s: %w", opts.Manifest, err)
		}
	} else {
		for _, n := range names {
			if strings.ContainsAny(n, "%?#") {
				return nil, fmt.Errorf("staticfiles: file name %q: Django's storage mangles names with %%, ? or #", n)
			}
		}
		b := &builder{staticURL: s.prefix, names: names, content: map[string][]byte{}}
		for n, fi := range files {
			b.content[n] = fi.content
		}
		if opts.KeepMissingReferences {
			b.keep = func(file, ref, missing string) {
				s.log.Warn("staticfiles: reference to a missing file left as it is", "file", file, "reference", ref, "missing", missing)
			}
		}
		if s.paths, rewritten, err = b.postProcess(); err != nil {
			return nil, err
		}
		s.manifest = manifestJSON(s.paths)
	}
	s.assets = s.buildAssets(names, files, rewritten, !opts.NoCompression)
	return s, nil
}

// walk lists the regular files of fsys as collectstatic's finders do,
// without the names it ignores by default ('CVS', '.*', '*~'), in
// lexical order.
func walk(fsys fs.FS) ([]string, error) {
	var names []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		base := d.Name()
		if base == "CVS" || strings.HasPrefix(base, ".") || strings.HasSuffix(base, "~") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("staticfiles: listing the files: %w", err)
	}
	return names, nil
}

// fileInfo is a file read at New.
type fileInfo struct {
	content []byte
	modTime time.Time
}

func readFile(fsys fs.FS, name string) (*fileInfo, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("staticfiles: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("staticfiles: %w", err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("staticfiles: reading %s: %w", name, err)
	}
	return &fileInfo{content: b, modTime: st.ModTime()}, nil
}

// parseManifest is load_manifest: versions "1.0" and "1.1".
func parseManifest(b []byte) (map[string]string, error) {
	var m struct {
		Paths   map[string]string `json:"paths"`
		Version string            `json:"version"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("couldn't load manifest: %w", err)
	}
	if m.Version != "1.0" && m.Version != "1.1" {
		return nil, fmt.Errorf("couldn't load manifest (version %q; want 1.0 or 1.1)", m.Version)
	}
	if m.Paths == nil {
		m.Paths = map[string]string{}
	}
	return m.Paths, nil
}

// manifestJSON is save_manifest's staticfiles.json, as json.dumps writes
// it: paths sorted, and a hash of them.
func manifestJSON(paths map[string]string) []byte {
	keys := slices.Sorted(maps.Keys(paths))
	var pairs bytes.Buffer
	pairs.WriteByte('[')
	for i, k := range keys {
		if i > 0 {
			pairs.WriteString(", ")
		}
		pairs.WriteByte('[')
		pyJSONString(&pairs, k)
		pairs.WriteString(", ")
		pyJSONString(&pairs, paths[k])
		pairs.WriteByte(']')
	}
	pairs.WriteByte(']')
	var b bytes.Buffer
	b.WriteString(`{"paths": {`)
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		pyJSONString(&b, k)
		b.WriteString(": ")
		pyJSONString(&b, paths[k])
	}
	b.WriteString(`}, "version": "` + ManifestVersion + `", "hash": "` + fileHash(pairs.Bytes()) + `"}`)
	return b.Bytes()
}

// pyJSONString writes s as Python's json.dumps (ensure_ascii) quotes it.
func pyJSONString(b *bytes.Buffer, s string) {
	const hexd = "0123456789abcdef"
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20 || r >= 0x7f && r <= 0xffff:
			b.WriteString(`\u`)
			b.WriteByte(hexd[r>>12&15])
			b.WriteByte(hexd[r>>8&15])
			b.WriteByte(hexd[r>>4&15])
			b.WriteByte(hexd[r&15])
		case r > 0xffff:
			r -= 0x10000
			pyJSONString16(b, 0xd800+(r>>10))
			pyJSONString16(b, 0xdc00+(r&0x3ff))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

func pyJSONString16(b *bytes.Buffer, r rune) {
	const hexd = "0123456789abcdef"
	b.WriteString(`\u`)
	b.WriteByte(hexd[r>>12&15])
	b.WriteByte(hexd[r>>8&15])
	b.WriteByte(hexd[r>>4&15])
	b.WriteByte(hexd[r&15])
}

// URL returns the URL of the file name under the prefix, with its hashed
// name, as Django's {% static name %} gives it (storage.url(name)): a
// query and a fragment are kept, a name ending in "/" is not hashed. A
// name missing from the manifest is ErrMissing.
func (s *Storage) URL(name string) (string, error) {
	clean, fragment := urldefrag(name)
	var stored string
	if p, _, _, _ := splitURL(clean); strings.HasSuffix(p, "/") {
		stored = name
		fragment = ""
	} else {
		// ManifestFilesMixin.stored_name.
		p, query, _, hasQuery := splitURL(unquote(clean))
		key := pyStrip(p)
		h, ok := s.paths[key]
		if !ok {
			return "", fmt.Errorf("%w for '%s'", ErrMissing, key)
		}
		stored = h
		if hasQuery && query != "" {
			stored += "?" + query
		}
	}
	u := s.prefix + strings.TrimLeft(stored, "/")
	if strings.Contains(name, "?#") {
		u += "?"
	}
	if fragment != "" {
		u += "#" + fragment
	}
	return u, nil
}

// Prefix returns the prefix of the URLs (Options.URL, Django's
// STATIC_URL), for {% get_static_prefix %}.
func (s *Storage) Prefix() string { return s.prefix }

// HashedName returns the hashed name of the file name ("css/site.css" →
// "css/site.55e7cbb9ba48.css"), from the manifest; false when there is none.
func (s *Storage) HashedName(name string) (string, bool) {
	h, ok := s.paths[name]
	return h, ok
}

// Manifest returns staticfiles.json: the one read (Options.Manifest), or
// the one Django's collectstatic would write for the files, byte for byte.
func (s *Storage) Manifest() []byte { return slices.Clone(s.manifest) }
