package recorder

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestRecorderBuffersAndCommits(t *testing.T) {
	rr := httptest.NewRecorder()
	rr.Header().Set("X-Outer", "kept")
	rec := New(rr)
	if rec.Header().Get("X-Outer") != "" {
		t.Error("outer header visible to the handler")
	}
	rec.Header().Set("X-Inner", "1")
	rec.WriteHeader(http.StatusCreated)
	rec.WriteHeader(http.StatusTeapot) // superfluous: ignored
	_, _ = rec.Write([]byte("ab"))
	_, _ = io.WriteString(rec, "cd")
	if rr.Code != http.StatusOK || rr.Body.Len() != 0 || rr.Header().Get("X-Inner") != "" {
		t.Fatal("recorder wrote before Commit")
	}
	if rec.status != http.StatusCreated || rec.body.String() != "abcd" {
		t.Fatalf("recorded %d %q", rec.status, rec.body.String())
	}
	rec.Commit()
	rec.Commit() // no-op
	if rr.Code != http.StatusCreated || rr.Body.String() != "abcd" || rr.Header().Get("X-Inner") != "1" ||
		rr.Header().Get("X-Outer") != "kept" {
		t.Fatalf("after Commit: %d %q %v", rr.Code, rr.Body.String(), rr.Header())
	}
	// Pass-through after Commit.
	_, _ = rec.Write([]byte("e"))
	if rr.Body.String() != "abcde" {
		t.Errorf("pass-through write: %q", rr.Body.String())
	}
}

func TestRecorderNoBodyStatus(t *testing.T) {
	rec := New(httptest.NewRecorder())
	rec.WriteHeader(http.StatusNotModified)
	if _, err := rec.Write([]byte("x")); err != http.ErrBodyNotAllowed {
		t.Errorf("write on 304: %v", err)
	}
}

func TestRecorderMaxBody(t *testing.T) {
	rr := httptest.NewRecorder()
	rec := New(rr)
	rec.MaxBody = 4
	_, _ = rec.Write([]byte("abc"))
	if rec.PassedThrough() {
		t.Fatal("passed through early")
	}
	_, _ = rec.Write([]byte("de"))
	if !rec.PassedThrough() || rr.Body.String() != "abcde" || rec.flushed {
		t.Errorf("overflow: %v %q", rec.PassedThrough(), rr.Body.String())
	}
}

func TestRecorderResponseController(t *testing.T) {
	rr := httptest.NewRecorder()
	rec := New(rr)
	var w http.ResponseWriter = rec
	if _, ok := w.(http.Flusher); !ok {
		t.Fatal("not an http.Flusher")
	}
	rec.Header().Set("X-A", "1")
	_, _ = w.Write([]byte("x"))
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		t.Fatal(err)
	}
	if !rr.Flushed || !rec.flushed || !rec.PassedThrough() || rr.Body.String() != "x" || rr.Header().Get("X-A") != "1" {
		t.Errorf("flush: %v %v %q", rr.Flushed, rec.PassedThrough(), rr.Body.String())
	}
	// Unwrap reaches the underlying writer (ResponseRecorder has no deadlines).
	if err := rc.SetWriteDeadline(time.Now()); err == nil {
		t.Error("SetWriteDeadline: want ErrNotSupported from the ResponseRecorder")
	}
	if rec.Unwrap() != rr {
		t.Error("Unwrap")
	}
}
