// Package recorder buffers a handler's response (status, headers, body) so
// that middleware can inspect and rewrite it before anything reaches the
// client, and passes it through once the handler streams, grows too large
// or hijacks the connection. httpx.ConditionalGet and the page cache use it.
package recorder

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
)

// Recorder is an http.ResponseWriter that buffers a handler's response
// (status, headers, body) so that middleware can inspect and rewrite it
// before anything reaches the client.
//
// The handler gets its own header map, initially empty: headers set on the
// underlying writer by outer middleware stay there and are not visible
// through Header(). Commit merges the recorded headers into the underlying
// map (a recorded key replaces the outer one).
//
// When the handler calls Flush (directly, or through
// http.ResponseController), or when the body outgrows MaxBody, the Recorder
// commits what it has and switches to pass-through: from then on writes go
// straight to the underlying writer, and Header() returns its map (so that
// trailers still work). Middleware must then leave the response alone;
// PassedThrough reports it.
//
// Informational 1xx statuses (other than 101) are not buffered: they are
// sent at once with the headers recorded so far, as net/http does.
//
// Hijack hands the connection to the handler (http.Hijacker, or
// http.ResponseController's Hijack, which finds it through Unwrap): the
// Recorder then passes through and the response is never stored.
//
// Unwrap gives http.ResponseController access to the underlying writer's
// other features (deadlines, full duplex).
type Recorder struct {
	w           http.ResponseWriter
	header      http.Header
	body        bytes.Buffer
	status      int
	wroteHeader bool
	// MaxBody, when positive, is the largest body kept in memory; beyond it
	// the Recorder commits and passes through.
	MaxBody int
	// passthrough is set once the buffered response has been sent.
	passthrough bool
	// flushed is set when the handler called Flush.
	flushed bool
	// hijacked is set when the handler took over the connection.
	hijacked bool
	// informational is set once a 1xx response was sent, with the headers
	// recorded at that time copied to the underlying map.
	informational bool
	// OnPassThrough, when set, is called just before the Recorder commits
	// because the handler flushed or the body outgrew MaxBody, while the
	// recorded headers can still be changed.
	OnPassThrough func()
}

func New(w http.ResponseWriter) *Recorder {
	return &Recorder{w: w, status: http.StatusOK}
}

// Header returns the recorded header map (the underlying one once the
// Recorder passes through).
func (r *Recorder) Header() http.Header {
	if r.passthrough {
		return r.w.Header()
	}
	if r.header == nil {
		r.header = make(http.Header)
	}
	return r.header
}

// WriteHeader records the status. Later calls are ignored, as net/http does
// (without its log line).
func (r *Recorder) WriteHeader(code int) {
	if r.passthrough {
		r.w.WriteHeader(code)
		return
	}
	if r.wroteHeader {
		return
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		r.copyHeaders()
		r.informational = true
		r.w.WriteHeader(code)
		return
	}
	r.status, r.wroteHeader = code, true
}

// Write buffers p, implying WriteHeader(http.StatusOK) like net/http. A
// status that allows no body (204, 304) refuses it with
// http.ErrBodyNotAllowed.
func (r *Recorder) Write(p []byte) (int, error) {
	if r.passthrough {
		return r.w.Write(p)
	}
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(r.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if r.MaxBody > 0 && r.body.Len()+len(p) > r.MaxBody {
		r.passThrough()
		return r.w.Write(p)
	}
	return r.body.Write(p)
}

// WriteString is Write for a string, without converting it.
func (r *Recorder) WriteString(s string) (int, error) {
	if r.passthrough {
		return io.WriteString(r.w, s)
	}
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(r.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if r.MaxBody > 0 && r.body.Len()+len(s) > r.MaxBody {
		r.passThrough()
		return io.WriteString(r.w, s)
	}
	return r.body.WriteString(s)
}

// FlushError sends the response so far and flushes the underlying writer;
// the Recorder passes through from then on. It returns the underlying
// writer's error (http.ErrNotSupported when it cannot flush).
func (r *Recorder) FlushError() error {
	r.flushed = true
	if !r.passthrough {
		if !r.wroteHeader {
			r.WriteHeader(http.StatusOK)
		}
		r.passThrough()
	}
	return http.NewResponseController(r.w).Flush()
}

// Flush implements http.Flusher; see FlushError.
func (r *Recorder) Flush() { _ = r.FlushError() }

// Hijack implements http.Hijacker: it hijacks the underlying connection
// (http.ErrNotSupported when the underlying writer cannot). A status the
// handler already set (101 Switching Protocols, say) is sent first with the
// recorded headers and body, as net/http does when a handler hijacks after
// WriteHeader. Nothing of the response is stored after a hijack.
func (r *Recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !r.passthrough && r.wroteHeader {
		r.Commit()
	}
	conn, brw, err := http.NewResponseController(r.w).Hijack()
	if err != nil {
		return nil, nil, err
	}
	r.hijacked = true
	r.passthrough = true
	r.body = bytes.Buffer{}
	return conn, brw, nil
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (r *Recorder) Unwrap() http.ResponseWriter { return r.w }

// PassedThrough reports whether the response has already been sent.
func (r *Recorder) PassedThrough() bool { return r.passthrough }

// copyHeaders merges the recorded headers into the underlying map.
func (r *Recorder) copyHeaders() {
	if len(r.header) == 0 {
		return
	}
	dst := r.w.Header()
	for k, v := range r.header {
		dst[k] = v
	}
}

// passThrough runs OnPassThrough and commits.
func (r *Recorder) passThrough() {
	if r.OnPassThrough != nil && !r.passthrough {
		r.OnPassThrough()
	}
	r.Commit()
}

// Commit sends the recorded response unchanged and switches to
// pass-through. It is a no-op once passed through.
func (r *Recorder) Commit() {
	if r.passthrough {
		return
	}
	r.passthrough = true
	r.copyHeaders()
	r.w.WriteHeader(r.status)
	if r.body.Len() > 0 {
		_, _ = r.w.Write(r.body.Bytes())
	}
	r.body = bytes.Buffer{}
}

// Replace discards the recorded response and returns the underlying header
// map for the caller to write a different response. Headers an earlier 1xx
// response copied there are removed again. It must not be called once the
// Recorder passes through.
func (r *Recorder) Replace() http.Header {
	dst := r.w.Header()
	if r.informational {
		for k := range r.header {
			delete(dst, k)
		}
	}
	r.passthrough = true
	r.body = bytes.Buffer{}
	return dst
}

// bodyAllowed reports whether a response with this status may have a body.
func bodyAllowed(status int) bool {
	switch {
	case status >= 100 && status <= 199:
		return false
	case status == http.StatusNoContent, status == http.StatusNotModified:
		return false
	}
	return true
}

// Status returns the recorded status (http.StatusOK until the handler
// sets one).
func (r *Recorder) Status() int { return r.status }

// Body returns the recorded body; it is valid until the Recorder commits.
func (r *Recorder) Body() []byte { return r.body.Bytes() }

// Flushed reports whether the handler called Flush.
func (r *Recorder) Flushed() bool { return r.flushed }

// Hijacked reports whether the handler took over the connection.
func (r *Recorder) Hijacked() bool { return r.hijacked }
