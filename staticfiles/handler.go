package staticfiles

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/fragcache/fragcache/internal/httpheader"
)

// ImmutableCacheControl is the Cache-Control of files served under their
// hashed names.
const ImmutableCacheControl = "public, max-age=31536000, immutable"

// Handler returns the handler of the files, for GET and HEAD requests of
// the paths under the path of Options.URL (mount it there:
// mux.Handle("GET /static/", st.Handler())). A hashed name is served with
// ImmutableCacheControl; an unhashed one with the max-age of
// Options.MaxAge, and both with a strong ETag, Last-Modified (when the file
// system has modification times), 304 answers to conditional requests,
// Range requests, the Content-Type of the extension and
// X-Content-Type-Options: nosniff. A compressible file has gzip and brotli
// copies (when they are smaller), chosen by Accept-Encoding, with Vary:
// Accept-Encoding. Only the files New found are served: any other path,
// including paths with "..", ".", empty or hidden segments, backslashes or
// NUL bytes, is 404. Files up to 256 KiB (64 MiB in all) are held in
// memory, with the rewritten CSS and the compressed copies, and sent with
// one write; larger files are streamed from the file system.
func (s *Storage) Handler() http.Handler { return handler{s} }

type handler struct{ s *Storage }

var (
	nosniff = []string{"nosniff"}
	encBr   = []string{"br"}
	encGzip = []string{"gzip"}
	varyAE  = []string{"Accept-Encoding"}

	acceptRanges = []string{"bytes"}
)

func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	a := h.s.lookup(r.URL.Path)
	if a == nil {
		http.NotFound(w, r)
		return
	}
	// The header values are built once per file at New (shared slices
	// that net/http only reads): no allocation for them per request.
	hdr := w.Header()
	hdr["Cache-Control"] = a.cacheControl
	hdr["Content-Type"] = a.ctypeHdr
	hdr["X-Content-Type-Options"] = nosniff
	if a.gz != nil || a.br != nil {
		if len(hdr["Vary"]) == 0 {
			hdr["Vary"] = varyAE
		} else {
			hdr.Add("Vary", "Accept-Encoding")
		}
		switch httpheader.NegotiateEncoding(r.Header["Accept-Encoding"], a.br != nil, a.gz != nil) {
		case httpheader.Brotli:
			hdr["Content-Encoding"] = encBr
			hdr["Etag"] = a.etagBr
			serveBytes(w, r, a, a.br, a.lenBr)
			return
		case httpheader.Gzip:
			hdr["Content-Encoding"] = encGzip
			hdr["Etag"] = a.etagGz
			serveBytes(w, r, a, a.gz, a.lenGz)
			return
		}
	}
	hdr["Etag"] = a.etagHdr
	if a.data != nil {
		serveBytes(w, r, a, a.data, a.lenHdr)
		return
	}
	f, err := h.s.fsys.Open(a.src)
	if err != nil {
		h.s.log.Error("staticfiles: opening a file", "file", a.src, "error", err)
		http.Error(w, "500 internal server error", http.StatusInternalServerError)
		return
	}
	defer f.Close()
	rs, ok := f.(io.ReadSeeker)
	if !ok {
		// A file system whose files cannot seek: no ranges, but still
		// streamed.
		rs = &forwardOnly{r: f, size: a.size}
	}
	http.ServeContent(w, r, "", a.modTime, rs)
}

// conditionalHeaders are the request headers that http.ServeContent
// evaluates.
var conditionalHeaders = []string{"Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "If-Range"}

// serveBytes serves b, a's content in memory or one of its compressed
// copies (whose length header is length): a plain GET or HEAD is answered
// directly, with one write; a conditional or Range request goes through
// http.ServeContent.
func serveBytes(w http.ResponseWriter, r *http.Request, a *asset, b []byte, length []string) {
	for _, k := range conditionalHeaders {
		if _, ok := r.Header[k]; ok {
			http.ServeContent(w, r, "", a.modTime, bytes.NewReader(b))
			return
		}
	}
	hdr := w.Header()
	if a.lastModified != nil {
		hdr["Last-Modified"] = a.lastModified
	}
	hdr["Accept-Ranges"] = acceptRanges
	hdr["Content-Length"] = length
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}

// lookup returns the file the request path names, or nil.
func (s *Storage) lookup(p string) *asset {
	name, ok := strings.CutPrefix(p, s.mount)
	if !ok || !validName(name) {
		return nil
	}
	return s.assets[name]
}

// validName reports whether name is a relative, clean, visible path:
// no empty, "." or ".." segment, no segment starting with ".", no
// backslash or NUL byte, valid UTF-8. Only names New found are served in
// any case; this refuses the others before the lookup.
func validName(name string) bool {
	if name == "" || !utf8.ValidString(name) || strings.ContainsAny(name, "\\\x00") {
		return false
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg == "" || seg[0] == '.' {
			return false
		}
	}
	return true
}

// forwardOnly gives http.ServeContent a file that cannot seek: it answers
// the seeks ServeContent makes to learn the size, and reads from the
// start.
type forwardOnly struct {
	r    io.Reader
	size int64
	pos  int64
}

func (f *forwardOnly) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	f.pos += int64(n)
	return n, err
}

func (f *forwardOnly) Seek(offset int64, whence int) (int64, error) {
	switch {
	case whence == io.SeekEnd && offset == 0:
		return f.size, nil
	case whence == io.SeekStart && offset == f.pos:
		return f.pos, nil
	}
	return 0, errNoSeek
}

var errNoSeek = &seekError{}

type seekError struct{}

func (*seekError) Error() string { return "staticfiles: the file system's files cannot seek" }
