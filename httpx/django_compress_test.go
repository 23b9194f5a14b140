package httpx

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fragcache/fragcache/internal/testserver"
)

// djangoGzipScript runs real Django's GZipMiddleware on a list of jobs read
// as JSON from stdin: each a response (body, headers, streamed in chunks or
// not) and a request Accept-Encoding. It prints, per job, the response's
// headers and its raw (compressed or not) body.
const djangoGzipScript = `
import base64, json, sys
import django
from django.conf import settings
settings.configure(SECRET_KEY="x", ALLOWED_HOSTS=["testserver"], USE_I18N=False)
django.setup()
from django.http import HttpResponse, StreamingHttpResponse
from django.middleware.gzip import GZipMiddleware
from django.test import RequestFactory

out = []
for job in json.load(sys.stdin):
    def view(request, job=job):
        chunks = [base64.b64decode(c) for c in (job["chunks"] or [])]
        if job["stream"]:
            r = StreamingHttpResponse(iter(chunks))
        else:
            r = HttpResponse(b"".join(chunks))
        for k, v in (job["headers"] or {}).items():
            r[k] = v
        return r
    extra = {}
    if job["ae"] is not None:
        extra["HTTP_ACCEPT_ENCODING"] = job["ae"]
    for _ in range(job["repeat"]):
        resp = GZipMiddleware(view)(RequestFactory().get("/", **extra))
        body = b"".join(resp.streaming_content) if resp.streaming else resp.content
        out.append({"headers": {k: v for k, v in resp.items()}, "body": base64.b64encode(body).decode()})
print(json.dumps(out))
`

type djangoGzipJob struct {
	Name    string            `json:"-"`
	Chunks  [][]byte          `json:"chunks"`
	Headers map[string]string `json:"headers"`
	AE      *string           `json:"ae"`
	Stream  bool              `json:"stream"`
	Repeat  int               `json:"repeat"`
}

type djangoGzipAnswer struct {
	Headers map[string]string
	Body    []byte
}

// TestDjangoGZipMiddleware compares Compress (gzip only, as Django) with
// real Django 3.2 and 6.1's GZipMiddleware on the same responses and
// Accept-Encoding values: the status of Vary, ETag, Content-Length and
// Content-Encoding, the decompressed body, and the gzip header byte by
// byte (mtime 0, XFL, the OS byte), with 6.1's random file name of 0..99 "a"
// bytes (always flagged for a buffered body, flagged only when not empty
// for a streamed one) and 3.2's none. The compressed deflate bytes are not
// compared: zlib's and klauspost/compress's encoders differ.
//
// Only Accept-Encoding values where Compress's parsing agrees with
// Django's \bgzip\b are compared here; the differences are in
// TestNegotiate.
func TestDjangoGZipMiddleware(t *testing.T) {
	ae := func(s string) *string { return &s }
	text := textBody(1000)
	var jobs []djangoGzipJob
	for _, a := range []*string{nil, ae(""), ae("gzip"), ae("gzip, deflate, br"), ae("deflate, gzip"), ae("identity")} {
		for _, tc := range []struct {
			name    string
			chunks  [][]byte
			headers map[string]string
			stream  bool
		}{
			{"text", [][]byte{text}, nil, false},
			{"199 bytes", [][]byte{textBody(199)}, nil, false},
			{"200 bytes", [][]byte{textBody(200)}, nil, false},
			{"incompressible", [][]byte{[]byte("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_=+!@#$%^&*()[]{};:,.<>/?|~`'\"\\ 0xdeadbeefcafebabe 3.14159265358979323846 2.71828182845904523536 1.41421356237309504880 zyxwvutsrqponmlkjihgfedcba")}, nil, false},
			{"encoded", [][]byte{text}, map[string]string{"Content-Encoding": "br"}, false},
			{"etag", [][]byte{text}, map[string]string{"ETag": `"e1"`, "Vary": "Cookie"}, false},
			{"weak etag", [][]byte{text}, map[string]string{"ETag": `W/"e1"`}, false},
			{"content-length", [][]byte{text}, map[string]string{"Content-Length": "1000"}, false},
			{"stream", [][]byte{text[:300], text[300:]}, map[string]string{"ETag": `"s"`}, true},
			{"short stream", [][]byte{[]byte("tiny")}, nil, true},
			{"empty stream", nil, nil, true},
		} {
			name := tc.name + " ae="
			if a != nil {
				name += *a
			} else {
				name += "<none>"
			}
			jobs = append(jobs, djangoGzipJob{Name: name, Chunks: tc.chunks, Headers: tc.headers, AE: a, Stream: tc.stream, Repeat: 1})
		}
	}
	// Many draws of the random file name.
	jobs = append(jobs,
		djangoGzipJob{Name: "draws", Chunks: [][]byte{text}, AE: ae("gzip"), Repeat: 200},
		djangoGzipJob{Name: "stream draws", Chunks: [][]byte{text}, AE: ae("gzip"), Stream: true, Repeat: 200})
	in, err := json.Marshal(jobs)
	if err != nil {
		t.Fatal(err)
	}
	for _, version := range []string{"3.2", "6.1"} {
		t.Run(version, func(t *testing.T) {
			dj := testserver.NewDjango(t, version)
			var answers []djangoGzipAnswer
			if err := json.Unmarshal(dj.Run(t, djangoGzipScript, in), &answers); err != nil {
				t.Fatal(err)
			}
			opts := []CompressOption{WithoutBrotli()}
			bound := 100
			if version == "3.2" {
				opts = append(opts, GzipRandomBytes(0))
				bound = 0
			}
			mw := Compress(opts...)
			i := 0
			for _, job := range jobs {
				djLens, goLens := map[int]bool{}, map[int]bool{}
				for range job.Repeat {
					dj := answers[i]
					i++
					got := runGzipJob(t, mw, job)
					for _, k := range []string{"Vary", "ETag", "Content-Length", "Content-Encoding"} {
						dv, dok := dj.Headers[k]
						gv, gok := got.Headers[k]
						if k == "Content-Length" && dok && gok && dj.Headers["Content-Encoding"] == "gzip" {
							continue // compressed lengths differ between encoders
						}
						if dv != gv || dok != gok {
							t.Errorf("%s: %s: Django %q (%v), Compress %q (%v)", job.Name, k, dv, dok, gv, gok)
						}
					}
					ce := dj.Headers["Content-Encoding"]
					if job.Headers["Content-Encoding"] != "" {
						ce = ""
					}
					want := bytes.Join(job.Chunks, nil)
					if d, g := decodeBody(t, ce, dj.Body), decodeBody(t, ce, got.Body); !bytes.Equal(d, want) || !bytes.Equal(g, want) {
						t.Errorf("%s: decoded bodies differ", job.Name)
					}
					if ce != "gzip" {
						if !bytes.Equal(dj.Body, got.Body) {
							t.Errorf("%s: uncompressed bodies differ", job.Name)
						}
						continue
					}
					if got.Headers["Content-Length"] != "" && got.Headers["Content-Length"] != itoa(len(got.Body)) {
						t.Errorf("%s: Content-Length %s for %d bytes", job.Name, got.Headers["Content-Length"], len(got.Body))
					}
					dName, dFlag, dFixed := gzipName(t, dj.Body)
					gName, gFlag, gFixed := gzipName(t, got.Body)
					if version == "3.2" && !job.Stream {
						// Django 3.2's GzipFile writes OS 255; Compress
						// writes 6.1's 3 (zlib's) for buffered bodies.
						dFixed = strings.TrimSuffix(dFixed, "ff") + "03"
					}
					if dFixed != gFixed {
						t.Errorf("%s: gzip header: Django % s, Compress % s", job.Name, dFixed, gFixed)
					}
					for _, s := range []struct {
						who  string
						name string
						flag bool
						lens map[int]bool
					}{{"Django", dName, dFlag, djLens}, {"Compress", gName, gFlag, goLens}} {
						wantFlag := bound > 0 && (!job.Stream || s.name != "")
						if s.flag != wantFlag || strings.Trim(s.name, "a") != "" || len(s.name) >= max(bound, 1) {
							t.Errorf("%s: %s: FNAME %v, name %q", job.Name, s.who, s.flag, s.name)
						}
						s.lens[len(s.name)] = true
					}
				}
				if job.Repeat > 1 && bound > 0 && (len(djLens) < 50 || len(goLens) < 50) {
					t.Errorf("%s: distinct name lengths: Django %d, Compress %d", job.Name, len(djLens), len(goLens))
				}
			}
		})
	}
}

// runGzipJob serves one job's response through mw.
func runGzipJob(t *testing.T, mw func(http.Handler) http.Handler, job djangoGzipJob) djangoGzipAnswer {
	t.Helper()
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		for k, v := range job.Headers {
			w.Header().Set(k, v)
		}
		for _, c := range job.Chunks {
			_, _ = w.Write(c)
			if job.Stream {
				w.(http.Flusher).Flush()
			}
		}
		if job.Stream && len(job.Chunks) == 0 {
			w.(http.Flusher).Flush()
		}
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	if job.AE != nil {
		req.Header.Set("Accept-Encoding", *job.AE)
	}
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, req)
	hd := map[string]string{}
	for k := range rr.Header() {
		hd[k] = rr.Header().Get(k)
	}
	if v, ok := hd["Etag"]; ok {
		delete(hd, "Etag")
		hd["ETag"] = v
	}
	return djangoGzipAnswer{Headers: hd, Body: rr.Body.Bytes()}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
