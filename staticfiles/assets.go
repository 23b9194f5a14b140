package staticfiles

import (
	"bytes"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
)

// asset is a file the handler serves under one name.
type asset struct {
	hashed  bool      // served under its hashed name: immutable
	src     string    // the file in the file system, streamed when data is nil
	data    []byte    // the content in memory: rewritten CSS, or a small file (memoryBudget); nil: streamed
	size    int64     // of the content
	modTime time.Time // the file's
	etag    string    // strong, quoted
	ctype   string
	gz, br  []byte // compressed copies, nil when none is smaller

	// Header values, made once (finish).
	cacheControl, ctypeHdr, etagHdr, etagGz, etagBr []string
	lastModified, lenHdr, lenGz, lenBr              []string
}

// Files held in memory to be served without opening them: at most
// maxMemoryFile bytes each, memoryBudget in all (the first files found
// under the bound); the others are streamed from the file system.
const (
	maxMemoryFile = 256 << 10
	memoryBudget  = 64 << 20
)

// finish makes the header values of a.
func (a *asset) finish(unhashedCacheControl string) *asset {
	if a.hashed {
		a.cacheControl = []string{ImmutableCacheControl}
	} else {
		a.cacheControl = []string{unhashedCacheControl}
	}
	a.ctypeHdr = []string{a.ctype}
	a.etagHdr = []string{a.etag}
	a.etagGz = []string{a.etag[:len(a.etag)-1] + `-gz"`}
	a.etagBr = []string{a.etag[:len(a.etag)-1] + `-br"`}
	if !a.modTime.IsZero() && a.modTime.Unix() != 0 {
		a.lastModified = []string{a.modTime.UTC().Format(http.TimeFormat)}
	}
	a.lenHdr = []string{strconv.FormatInt(a.size, 10)}
	a.lenGz = []string{strconv.Itoa(len(a.gz))}
	a.lenBr = []string{strconv.Itoa(len(a.br))}
	return a
}

// maxCompressBytes bounds the files New compresses.
const maxCompressBytes = 8 << 20

// buildAssets makes the served files: each file under its own name and,
// when the manifest has one, under its hashed name (with the rewritten
// content, if any).
func (s *Storage) buildAssets(names []string, files map[string]*fileInfo, rewritten map[string][]byte, compress bool) map[string]*asset {
	assets := make(map[string]*asset, 2*len(names))
	hashedNames := make(map[string]bool, len(s.paths))
	for _, h := range s.paths {
		hashedNames[h] = true
	}
	variants := func(name string, content []byte, ctype string, sidecars bool) (gz, br []byte) {
		if sidecars {
			if fi, ok := files[name+".gz"]; ok {
				gz = fi.content
			}
			if fi, ok := files[name+".br"]; ok {
				br = fi.content
			}
		}
		if !compress || !compressible(ctype) || len(content) > maxCompressBytes {
			return gz, br
		}
		if gz == nil {
			gz = gzipBytes(content)
		}
		if br == nil {
			br = brotliBytes(content)
		}
		if len(gz) >= len(content) {
			gz = nil
		}
		if len(br) >= len(content) {
			br = nil
		}
		return gz, br
	}
	budget := memoryBudget
	for _, n := range names {
		fi := files[n]
		a := &asset{hashed: hashedNames[n], src: n, size: int64(len(fi.content)), modTime: fi.modTime,
			etag: `"` + fileHash(fi.content) + `"`, ctype: contentType(n, fi.content)}
		if len(fi.content) <= maxMemoryFile && len(fi.content) <= budget {
			a.data = fi.content
			budget -= len(fi.content)
		}
		a.gz, a.br = variants(n, fi.content, a.ctype, true)
		assets[n] = a
		h, ok := s.paths[n]
		if !ok || h == n {
			continue
		}
		if _, exists := files[h]; exists {
			continue // a collected copy (Options.Manifest): served as itself
		}
		ha := *a
		ha.hashed = true
		if out, ok := rewritten[n]; ok {
			ha.data, ha.size, ha.etag = out, int64(len(out)), `"`+fileHash(out)+`"`
			ha.gz, ha.br = variants(h, out, a.ctype, false)
		}
		assets[h] = &ha
	}
	for _, a := range assets {
		a.finish(s.maxAgeHdr)
	}
	return assets
}

// contentType is the Content-Type of a file: from its extension, else
// sniffed.
func contentType(name string, content []byte) string {
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return http.DetectContentType(content)
}

// compressible reports whether compressing a file of type ctype pays:
// text, scripts, JSON, XML, SVG, WebAssembly, fonts that are not already
// compressed, icons.
func compressible(ctype string) bool {
	t, _, _ := strings.Cut(ctype, ";")
	t = strings.TrimSpace(strings.ToLower(t))
	switch {
	case strings.HasPrefix(t, "text/"):
		return true
	case strings.HasSuffix(t, "+json"), strings.HasSuffix(t, "+xml"):
		return true
	}
	switch t {
	case "application/javascript", "application/json", "application/xml", "application/wasm",
		"font/ttf", "font/otf", "application/vnd.ms-fontobject", "image/x-icon", "image/vnd.microsoft.icon", "image/bmp":
		return true
	}
	return false
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// brotliLevel is the quality of the brotli copies: 11 is several times
// slower to make for a few percent less.
const brotliLevel = 9

func brotliBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := brotli.NewWriterLevel(&buf, brotliLevel)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}
