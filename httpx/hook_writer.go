package httpx

import (
	"bufio"
	"io"
	"net"
	"net/http"
)

// hookWriter calls before on the response header map just before the
// header is sent: at the first non-1xx WriteHeader, Write, ReadFrom or
// Flush, or (through finish) when the handler returns without writing. It
// does not buffer anything.
type hookWriter struct {
	w      http.ResponseWriter
	before func(http.Header)
	done   bool
}

func (h *hookWriter) fire() {
	if !h.done {
		h.done = true
		h.before(h.w.Header())
	}
}

// finish runs the hook if the handler wrote nothing.
func (h *hookWriter) finish() { h.fire() }

// Header returns the underlying header map.
func (h *hookWriter) Header() http.Header { return h.w.Header() }

// WriteHeader runs the hook (for a final status) and forwards the call.
func (h *hookWriter) WriteHeader(code int) {
	if code < 100 || code > 199 || code == http.StatusSwitchingProtocols {
		h.fire()
	}
	h.w.WriteHeader(code)
}

// Write runs the hook and forwards the call.
func (h *hookWriter) Write(p []byte) (int, error) {
	h.fire()
	return h.w.Write(p)
}

// WriteString runs the hook and forwards the call.
func (h *hookWriter) WriteString(s string) (int, error) {
	h.fire()
	return io.WriteString(h.w, s)
}

// ReadFrom runs the hook and copies src, keeping the underlying writer's
// ReadFrom (sendfile) when it has one.
func (h *hookWriter) ReadFrom(src io.Reader) (int64, error) {
	h.fire()
	if rf, ok := h.w.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(writerOnly{h.w}, src)
}

// FlushError runs the hook and flushes the underlying writer.
func (h *hookWriter) FlushError() error {
	h.fire()
	return http.NewResponseController(h.w).Flush()
}

// Flush implements http.Flusher; see FlushError.
func (h *hookWriter) Flush() { _ = h.FlushError() }

// Hijack implements http.Hijacker through the underlying writer
// (http.ErrNotSupported when it cannot), so that WebSocket libraries that
// assert http.Hijacker (gorilla/websocket) work behind the middleware. The
// hook does not run: the handler writes its own response.
func (h *hookWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h.done = true
	return http.NewResponseController(h.w).Hijack()
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (h *hookWriter) Unwrap() http.ResponseWriter { return h.w }

// writerOnly hides every method but Write, so io.Copy does not loop back
// into ReadFrom.
type writerOnly struct{ io.Writer }

// headerMiddleware returns middleware that calls before on the response
// header map just before it is sent.
func headerMiddleware(before func(http.Header)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hw := &hookWriter{w: w, before: before}
			next.ServeHTTP(hw, r)
			hw.finish()
		})
	}
}
