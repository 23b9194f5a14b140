package httpx

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
)

// textBody is a compressible body of n bytes.
func textBody(n int) []byte {
	return []byte(strings.Repeat("The quick brown fox jumps over the lazy dog. ", n/45+1)[:n])
}

// decodeBody decodes a response body by its Content-Encoding.
func decodeBody(t testing.TB, ce string, b []byte) []byte {
	t.Helper()
	var r io.Reader
	switch ce {
	case "":
		return b
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		r = zr
	case "br":
		r = brotli.NewReader(bytes.NewReader(b))
	default:
		t.Fatalf("unexpected Content-Encoding %q", ce)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", ce, err)
	}
	return out
}

// gzipName parses a gzip member header and returns its file name field
// (present reports the FNAME flag) and the header's other bytes with the
// flag cleared.
func gzipName(t testing.TB, b []byte) (name string, present bool, fixed string) {
	t.Helper()
	if len(b) < 10 || b[0] != 0x1f || b[1] != 0x8b || b[2] != 8 {
		t.Fatalf("not a gzip member: % x", b[:min(len(b), 10)])
	}
	hdr := append([]byte(nil), b[:10]...)
	present = hdr[3]&0x08 != 0
	hdr[3] &^= 0x08
	if hdr[3] != 0 {
		t.Fatalf("unexpected gzip flags % x", b[3])
	}
	if present {
		end := bytes.IndexByte(b[10:], 0)
		if end < 0 {
			t.Fatal("gzip file name without NUL")
		}
		name = string(b[10 : 10+end])
	}
	return name, present, fmt.Sprintf("% x", hdr)
}

func TestCompressRules(t *testing.T) {
	type hdr = map[string]string
	text := textBody(1000)
	random := make([]byte, 1000)
	_, _ = rand.Read(random)
	tests := []struct {
		name    string
		method  string
		status  int
		body    []byte
		headers hdr // set by the handler
		ae      string
		opts    []CompressOption
		// want
		ce, vary, etag string
		cl             string // "" absent; "compressed" = body length
	}{
		{name: "gzip", body: text, ae: "gzip", ce: "gzip", vary: "Accept-Encoding", cl: "compressed"},
		{name: "exactly 200 bytes", body: textBody(200), ae: "gzip", ce: "gzip", vary: "Accept-Encoding", cl: "compressed"},
		{name: "199 bytes: untouched", body: textBody(199), ae: "gzip"},
		{name: "empty", body: nil, ae: "gzip"},
		{name: "already encoded", body: text, headers: hdr{"Content-Encoding": "identity"}, ae: "gzip"},
		{name: "empty Content-Encoding counts", body: text, headers: hdr{"Content-Encoding": ""}, ae: "gzip"},
		{name: "no Accept-Encoding: Vary only", body: text, vary: "Accept-Encoding"},
		{name: "gzip;q=0 refuses", body: text, ae: "gzip;q=0", vary: "Accept-Encoding"},
		{name: "incompressible: not longer", body: random, ae: "gzip", vary: "Accept-Encoding"},
		{name: "incompressible br", body: random, ae: "br", vary: "Accept-Encoding"},
		{name: "strong ETag weakened", body: text, headers: hdr{"ETag": `"abc"`}, ae: "gzip", ce: "gzip", vary: "Accept-Encoding", etag: `W/"abc"`, cl: "compressed"},
		{name: "weak ETag kept", body: text, headers: hdr{"ETag": `W/"abc"`}, ae: "gzip", ce: "gzip", vary: "Accept-Encoding", etag: `W/"abc"`, cl: "compressed"},
		{name: "ETag kept when not compressed", body: text, headers: hdr{"ETag": `"abc"`}, vary: "Accept-Encoding", etag: `"abc"`},
		{name: "Vary patched", body: text, headers: hdr{"Vary": "Cookie"}, ae: "gzip", ce: "gzip", vary: "Cookie, Accept-Encoding", cl: "compressed"},
		{name: "Vary already lists it", body: text, headers: hdr{"Vary": "accept-encoding"}, ae: "gzip", ce: "gzip", vary: "accept-encoding", cl: "compressed"},
		{name: "handler Content-Length replaced", body: text, headers: hdr{"Content-Length": "1000"}, ae: "gzip", ce: "gzip", vary: "Accept-Encoding", cl: "compressed"},
		{name: "handler Content-Length kept", body: text, headers: hdr{"Content-Length": "1000"}, vary: "Accept-Encoding", cl: "1000"},
		{name: "no-transform", body: text, headers: hdr{"Cache-Control": "public, No-Transform"}, ae: "gzip"},
		{name: "206", status: 206, body: text, headers: hdr{"Content-Range": "bytes 0-999/5000"}, ae: "gzip"},
		{name: "Content-Range", body: text, headers: hdr{"Content-Range": "bytes 0-999/5000"}, ae: "gzip"},
		{name: "404 compressed too", status: 404, body: text, ae: "gzip", ce: "gzip", vary: "Accept-Encoding", cl: "compressed"},
		{name: "HEAD", method: "HEAD", body: text, ae: "gzip", ce: "gzip", vary: "Accept-Encoding", cl: "compressed"},
		{name: "br", body: text, ae: "br", ce: "br", vary: "Accept-Encoding", cl: "compressed"},
		{name: "br preferred on a tie", body: text, ae: "gzip, deflate, br", ce: "br", vary: "Accept-Encoding", cl: "compressed"},
		{name: "gzip preferred by q", body: text, ae: "br;q=0.5, gzip", ce: "gzip", vary: "Accept-Encoding", cl: "compressed"},
		{name: "WithoutBrotli: gzip", body: text, ae: "gzip, br", opts: []CompressOption{WithoutBrotli()}, ce: "gzip", vary: "Accept-Encoding", cl: "compressed"},
		{name: "WithoutBrotli: br only", body: text, ae: "br", opts: []CompressOption{WithoutBrotli()}, vary: "Accept-Encoding"},
		{name: "star is not asking", body: text, ae: "*", vary: "Accept-Encoding"},
		{name: "GzipLevel 9", body: text, ae: "gzip", opts: []CompressOption{GzipLevel(9)}, ce: "gzip", vary: "Accept-Encoding", cl: "compressed"},
		{name: "BrotliLevel 11", body: text, ae: "br", opts: []CompressOption{BrotliLevel(11)}, ce: "br", vary: "Accept-Encoding", cl: "compressed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := Compress(tc.opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.headers {
					w.Header()[http.CanonicalHeaderKey(k)] = []string{v}
				}
				if k := "Etag"; tc.headers["ETag"] != "" {
					w.Header()[k] = []string{tc.headers["ETag"]}
				}
				if tc.status != 0 {
					w.WriteHeader(tc.status)
				}
				_, _ = w.Write(tc.body)
			}))
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			req := httptest.NewRequest(method, "/", nil)
			if tc.ae != "" {
				req.Header.Set("Accept-Encoding", tc.ae)
			}
			rr := httptest.NewRecorder()
			h.ServeHTTP(rr, req)
			res := rr.Result()
			if want := orDefault(tc.status, 200); res.StatusCode != want {
				t.Errorf("status %d, want %d", res.StatusCode, want)
			}
			if got := res.Header.Get("Content-Encoding"); got != tc.ce && tc.headers["Content-Encoding"] == "" {
				t.Errorf("Content-Encoding %q, want %q", got, tc.ce)
			}
			if got := strings.Join(res.Header.Values("Vary"), ", "); got != tc.vary {
				t.Errorf("Vary %q, want %q", got, tc.vary)
			}
			if got := res.Header.Get("ETag"); tc.etag != "" && got != tc.etag {
				t.Errorf("ETag %q, want %q", got, tc.etag)
			}
			raw := rr.Body.Bytes()
			wantCL := tc.cl
			if wantCL == "compressed" {
				wantCL = strconv.Itoa(len(raw))
			}
			if got := res.Header.Get("Content-Length"); got != wantCL {
				t.Errorf("Content-Length %q, want %q", got, wantCL)
			}
			if tc.ce != "" && len(raw) >= len(tc.body) {
				t.Errorf("compressed %d bytes into %d", len(tc.body), len(raw))
			}
			if got := decodeBody(t, tc.ce, raw); !bytes.Equal(got, tc.body) {
				t.Errorf("body differs: %d bytes, want %d", len(got), len(tc.body))
			}
		})
	}
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func TestCompressNoBodyStatuses(t *testing.T) {
	for _, status := range []int{http.StatusNoContent, http.StatusNotModified} {
		h := Compress()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `"x"`)
			w.WriteHeader(status)
			if _, err := w.Write(textBody(500)); err == nil {
				t.Errorf("%d: a body was accepted", status)
			}
		}))
		srv := httptest.NewServer(h)
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		res, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		srv.Close()
		if res.StatusCode != status || len(b) != 0 || res.Header.Get("Vary") != "" ||
			res.Header.Get("Content-Encoding") != "" || res.Header.Get("ETag") != `"x"` {
			t.Errorf("%d: got %d %q %v", status, res.StatusCode, b, res.Header)
		}
	}
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		ae   []string
		want encoding
	}{
		{nil, encIdentity},
		{[]string{""}, encIdentity},
		{[]string{"gzip"}, encGzip},
		{[]string{"GZip"}, encGzip},
		{[]string{"x-gzip"}, encGzip},
		{[]string{"gzip;q=0"}, encIdentity},
		{[]string{"gzip; q=0.000"}, encIdentity},
		{[]string{"gzip;q=0.001"}, encGzip},
		{[]string{"gzip;Q=1.000"}, encGzip},
		{[]string{"gzip;q=1.001"}, encIdentity},
		{[]string{"gzip;q=2"}, encIdentity},
		{[]string{"gzip;q=abc"}, encIdentity},
		{[]string{"gzip;q=0.5000"}, encIdentity},
		{[]string{"gzip;q="}, encIdentity},
		{[]string{"gzip ; q = 0.5 "}, encGzip},
		{[]string{"gzip;level=1"}, encGzip},
		{[]string{"nogzip"}, encIdentity},
		{[]string{"gzipx"}, encIdentity},
		{[]string{"gzip-x"}, encIdentity}, // Django's \bgzip\b gzips here
		{[]string{"deflate"}, encIdentity},
		{[]string{"*"}, encIdentity},
		{[]string{"identity"}, encIdentity},
		{[]string{"br"}, encBrotli},
		{[]string{"BR"}, encBrotli},
		{[]string{"br;q=0"}, encIdentity},
		{[]string{"br;q=0, gzip"}, encGzip},
		{[]string{"gzip, deflate, br"}, encBrotli},
		{[]string{"gzip, deflate, br, zstd"}, encBrotli},
		{[]string{"gzip;q=1, br;q=0.9"}, encGzip},
		{[]string{"gzip;q=0.8, br;q=0.8"}, encBrotli},
		{[]string{"gzip;q=0, br;q=0.1"}, encBrotli},
		{[]string{"gzip", "br"}, encBrotli},
		{[]string{"gzip;q=0.1", "gzip"}, encGzip}, // the highest q counts
		{[]string{",,, gzip ,"}, encGzip},
		{[]string{"gzip;q=0, x-gzip"}, encGzip},
	}
	for _, tc := range tests {
		if got := negotiate(tc.ae, true); got != tc.want {
			t.Errorf("negotiate(%q) = %d, want %d", tc.ae, got, tc.want)
		}
	}
	if got := negotiate([]string{"br"}, false); got != encIdentity {
		t.Errorf("without brotli: br gave %d", got)
	}
	if got := negotiate([]string{"gzip, br"}, false); got != encGzip {
		t.Errorf("without brotli: gzip, br gave %d", got)
	}
	lines := []string{"gzip;q=0.9, deflate, br;q=1.0"}
	if n := testing.AllocsPerRun(100, func() { negotiate(lines, true) }); n != 0 {
		t.Errorf("negotiate allocates %v times", n)
	}
}

// TestCompressGzipHeader: Django ≥ 4.2's BREACH mitigation: a file name of
// 0..99 "a" bytes, always flagged for buffered bodies; mtime 0, OS 3 (buffered)
// or 255 (streamed), as Django 6.1.
func TestCompressGzipHeader(t *testing.T) {
	body := textBody(2000)
	run := func(h http.Handler) []byte {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, req)
		if got := decodeBody(t, rr.Header().Get("Content-Encoding"), rr.Body.Bytes()); !bytes.Equal(got, body) {
			t.Fatalf("body differs")
		}
		return rr.Body.Bytes()
	}
	buffered := func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) }
	streamed := func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(body[:1000])
		w.(http.Flusher).Flush()
		_, _ = w.Write(body[1000:])
	}
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		opts    []CompressOption
		bound   int
		stream  bool
	}{
		{"buffered", buffered, nil, 100, false},
		{"streamed", streamed, nil, 100, true},
		{"buffered bound 3", buffered, []CompressOption{GzipRandomBytes(3)}, 3, false},
		{"streamed bound 3", streamed, []CompressOption{GzipRandomBytes(3)}, 3, true},
		{"buffered off", buffered, []CompressOption{GzipRandomBytes(0)}, 0, false},
		{"streamed off", streamed, []CompressOption{GzipRandomBytes(0)}, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := Compress(tc.opts...)(tc.handler)
			lengths := map[int]bool{}
			for range 400 {
				name, present, fixed := gzipName(t, run(h))
				want := "1f 8b 08 00 00 00 00 00 00 03"
				if tc.stream {
					want = "1f 8b 08 00 00 00 00 00 00 ff"
				}
				if fixed != want {
					t.Fatalf("header % s", fixed)
				}
				if strings.Trim(name, "a") != "" || len(name) >= max(tc.bound, 1) {
					t.Fatalf("file name %q", name)
				}
				switch {
				case tc.bound == 0 && present:
					t.Fatal("file name with the mitigation off")
				case tc.bound > 0 && !tc.stream && !present:
					t.Fatal("buffered body without FNAME")
				case tc.stream && present != (name != ""):
					t.Fatalf("streamed body: FNAME %v with name %q", present, name)
				}
				lengths[len(name)] = true
			}
			if want := min(tc.bound, 50); tc.bound > 0 && len(lengths) < want {
				t.Errorf("%d distinct lengths in 400 draws, want ≥ %d", len(lengths), want)
			}
		})
	}
}

// TestCompressStreaming: a handler that flushes gets each part to the
// client compressed before it writes the next; Content-Length goes.
func TestCompressStreaming(t *testing.T) {
	for _, ae := range []string{"gzip", "br"} {
		t.Run(ae, func(t *testing.T) {
			next := make(chan struct{})
			part1, part2 := "event: one\n\n", "event: two\n\n"
			srv := httptest.NewServer(Compress()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "999")
				w.Header().Set("ETag", `"s"`)
				_, _ = io.WriteString(w, part1)
				if err := http.NewResponseController(w).Flush(); err != nil {
					t.Errorf("flush: %v", err)
				}
				select {
				case <-next:
				case <-time.After(5 * time.Second):
					t.Error("the client did not get part 1 in time")
				}
				_, _ = io.WriteString(w, part2)
			})))
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			req.Header.Set("Accept-Encoding", ae)
			res, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if res.Header.Get("Content-Encoding") != ae || res.ContentLength != -1 ||
				res.Header.Get("Vary") != "Accept-Encoding" || res.Header.Get("ETag") != `W/"s"` {
				t.Fatalf("headers %v (length %d)", res.Header, res.ContentLength)
			}
			var zr io.Reader
			if ae == "gzip" {
				z, err := gzip.NewReader(res.Body)
				if err != nil {
					t.Fatal(err)
				}
				zr = z
			} else {
				zr = brotli.NewReader(res.Body)
			}
			got := make([]byte, len(part1))
			if _, err := io.ReadFull(zr, got); err != nil || string(got) != part1 {
				t.Fatalf("part 1: %q, %v", got, err)
			}
			close(next)
			rest, err := io.ReadAll(zr)
			if err != nil || string(rest) != part2 {
				t.Fatalf("part 2: %q, %v", rest, err)
			}
		})
	}
}

// TestCompressLargeBody: a body past the buffer limit is compressed as it
// is written, without Content-Length; a client without an encoding gets
// it whole, with its Content-Length.
func TestCompressLargeBody(t *testing.T) {
	body := textBody(3 * compressMaxBuffer)
	h := Compress()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		for b := body; len(b) > 0; b = b[min(len(b), 10000):] {
			_, _ = w.Write(b[:min(len(b), 10000)])
		}
	}))
	for _, ae := range []string{"gzip", "br", ""} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Accept-Encoding", ae)
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, req)
		wantCL := ""
		if ae == "" {
			wantCL = strconv.Itoa(len(body))
		}
		if rr.Header().Get("Content-Encoding") != ae || rr.Header().Get("Content-Length") != wantCL ||
			rr.Header().Get("Vary") != "Accept-Encoding" || rr.Flushed {
			t.Errorf("%q: headers %v, flushed %v", ae, rr.Header(), rr.Flushed)
		}
		if got := decodeBody(t, ae, rr.Body.Bytes()); !bytes.Equal(got, body) {
			t.Errorf("%q: body differs", ae)
		}
	}
}

// TestCompressReadFrom: a response left alone keeps sendfile (ReadFrom of
// the underlying writer); a compressed one is compressed.
func TestCompressReadFrom(t *testing.T) {
	body := textBody(5000)
	for _, ce := range []string{"", "gzip"} {
		h := Compress()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if ce != "" {
				w.Header().Set("Content-Encoding", ce)
			}
			w.WriteHeader(http.StatusOK)
			if _, err := io.Copy(w, bytes.NewReader(body)); err != nil {
				t.Error(err)
			}
		}))
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, req)
		if ce != "" {
			if !bytes.Equal(rr.Body.Bytes(), body) || rr.Header().Get("Vary") != "" {
				t.Errorf("encoded response was changed: %v", rr.Header())
			}
			continue
		}
		if rr.Header().Get("Content-Encoding") != "gzip" {
			t.Errorf("not compressed: %v", rr.Header())
		}
		if !bytes.Equal(decodeBody(t, "gzip", rr.Body.Bytes()), body) {
			t.Error("body differs")
		}
	}
}

// TestCompressInformational: a 103 is sent at once; the final response is
// compressed.
func TestCompressInformational(t *testing.T) {
	body := textBody(1000)
	srv := httptest.NewServer(Compress()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		_, _ = w.Write(body)
	})))
	defer srv.Close()
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n")
	raw, _ := io.ReadAll(conn)
	if !bytes.HasPrefix(raw, []byte("HTTP/1.1 103 Early Hints\r\n")) {
		t.Fatalf("no 103 first: %q", raw[:min(len(raw), 80)])
	}
	i := bytes.Index(raw, []byte("HTTP/1.1 200 OK\r\n"))
	if i < 0 {
		t.Fatalf("no 200: %q", raw)
	}
	res, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw[i:])), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	if res.Header.Get("Content-Encoding") != "gzip" || !bytes.Equal(decodeBody(t, "gzip", b), body) {
		t.Errorf("final response %v", res.Header)
	}
}

func TestCompressBadOptions(t *testing.T) {
	c := newCompressor([]CompressOption{GzipLevel(0), BrotliLevel(12), GzipRandomBytes(-1), nil})
	if c.gzipLevel != 6 || c.brotliLevel != 5 || c.randomBytes != 100 {
		t.Errorf("defaults not kept: %+v", c)
	}
}

// FuzzCompress: any Accept-Encoding, body, chunking and handler headers:
// no panic, the decoded body is the handler's, and the encoding used is
// one the client listed with q > 0.
func FuzzCompress(f *testing.F) {
	f.Add("gzip", []byte(strings.Repeat("abc", 100)), uint8(0), "")
	f.Add("br;q=0.5, gzip;q=0.4", []byte(strings.Repeat("xyz", 300)), uint8(7), `"e"`)
	f.Add("gzip;q=0", []byte("short"), uint8(1), "")
	f.Add("*, identity;q=1", []byte(strings.Repeat("é", 200)), uint8(3), `W/"w"`)
	f.Fuzz(func(t *testing.T, ae string, body []byte, flushEvery uint8, etag string) {
		h := Compress()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if etag != "" {
				w.Header()["Etag"] = []string{etag}
			}
			for i := 0; i < len(body); i += 97 {
				_, _ = w.Write(body[i:min(len(body), i+97)])
				if flushEvery > 0 && (i/97)%int(flushEvery) == 0 {
					w.(http.Flusher).Flush()
				}
			}
		}))
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header["Accept-Encoding"] = []string{ae}
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, req)
		ce := rr.Header().Get("Content-Encoding")
		switch want := negotiate([]string{ae}, true); {
		case ce == "":
		case ce == "gzip" && want == encGzip, ce == "br" && want == encBrotli:
		default:
			t.Fatalf("Content-Encoding %q for Accept-Encoding %q", ce, ae)
		}
		if got := decodeBody(t, ce, rr.Body.Bytes()); !bytes.Equal(got, body) {
			t.Fatalf("decoded body differs")
		}
	})
}
