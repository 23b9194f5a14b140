package httpx

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
)

// compressMode is what a compressWriter does with the handler's writes.
type compressMode uint8

const (
	// modeBuffer: the body is buffered until Compress can decide.
	modeBuffer compressMode = iota
	// modeStream: the header is sent; writes go through the compressor.
	modeStream
	// modePass: the response is left alone (or fully sent); writes go to
	// the underlying writer.
	modePass
)

// compressWriter is the http.ResponseWriter Compress gives the handler.
// It buffers the body until the response is complete, the handler
// flushes, or the body outgrows compressMaxBuffer, and then applies
// Compress's rules. The header map is the underlying writer's: headers are
// changed in place just before the status is sent.
type compressWriter struct {
	c           *compressor
	w           http.ResponseWriter
	enc         encoding
	mode        compressMode
	status      int
	wroteHeader bool
	buf         *bytes.Buffer
	gz          *gzip.Writer
	br          *brotli.Writer
}

// reset returns the buffer and compressors to their pools and clears cw
// for reuse.
func (cw *compressWriter) reset() {
	if cw.gz != nil {
		cw.gz.Reset(io.Discard)
		cw.c.gzips.Put(cw.gz)
	}
	if cw.br != nil {
		cw.br.Reset(io.Discard)
		cw.c.brotlis.Put(cw.br)
	}
	putBuf(cw.buf)
	*cw = compressWriter{c: cw.c}
}

// Header returns the underlying header map.
func (cw *compressWriter) Header() http.Header { return cw.w.Header() }

// WriteHeader records the status. Informational statuses (but 101) are
// sent at once; 101, statuses without a body and responses Compress leaves
// alone whatever their size pass through at once.
func (cw *compressWriter) WriteHeader(code int) {
	if cw.mode != modeBuffer {
		cw.w.WriteHeader(code) // net/http ignores (and logs) a second call
		return
	}
	if cw.wroteHeader {
		return
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		cw.w.WriteHeader(code)
		return
	}
	cw.status, cw.wroteHeader = code, true
	if code == http.StatusSwitchingProtocols || code == http.StatusNoContent || code == http.StatusNotModified ||
		skipCompression(cw.w.Header(), code) {
		cw.mode = modePass
		cw.w.WriteHeader(code)
	}
}

// Write buffers p or sends it on, compressed or not, depending on the mode.
func (cw *compressWriter) Write(p []byte) (int, error) {
	switch cw.mode {
	case modePass:
		return cw.w.Write(p)
	case modeStream:
		return cw.encWrite(p)
	}
	if !cw.wroteHeader {
		cw.WriteHeader(http.StatusOK)
		if cw.mode != modeBuffer {
			return cw.Write(p)
		}
	}
	if cw.buf == nil {
		cw.buf = getBuf()
	}
	cw.buf.Write(p)
	if err := cw.buffered(); err != nil {
		return 0, err
	}
	return len(p), nil
}

// WriteString is Write for a string, without converting it.
func (cw *compressWriter) WriteString(s string) (int, error) {
	switch cw.mode {
	case modePass:
		return io.WriteString(cw.w, s)
	case modeStream:
		return cw.Write([]byte(s))
	}
	if !cw.wroteHeader {
		cw.WriteHeader(http.StatusOK)
		if cw.mode != modeBuffer {
			return cw.WriteString(s)
		}
	}
	if cw.buf == nil {
		cw.buf = getBuf()
	}
	cw.buf.WriteString(s)
	if err := cw.buffered(); err != nil {
		return 0, err
	}
	return len(s), nil
}

// buffered decides as soon as the buffered body allows it: for a client
// that gets no encoding, at 200 bytes (Vary is patched, the rest passes
// through); otherwise at compressMaxBuffer (compression as it is written).
func (cw *compressWriter) buffered() error {
	n := cw.buf.Len()
	if (cw.enc == encIdentity && n >= compressMinSize) || n >= compressMaxBuffer {
		return cw.start(false)
	}
	return nil
}

// ReadFrom copies src; a response left alone keeps the underlying writer's
// ReadFrom (sendfile).
func (cw *compressWriter) ReadFrom(src io.Reader) (int64, error) {
	if cw.mode == modePass {
		if rf, ok := cw.w.(io.ReaderFrom); ok {
			return rf.ReadFrom(src)
		}
	}
	return io.Copy(writerOnly{cw}, src)
}

// FlushError starts streaming (see Compress), flushes the compressor and
// then the underlying writer. It returns the underlying writer's error
// (http.ErrNotSupported when it cannot flush).
func (cw *compressWriter) FlushError() error {
	if cw.mode == modeBuffer {
		if !cw.wroteHeader {
			cw.WriteHeader(http.StatusOK)
		}
		if cw.mode == modeBuffer {
			if err := cw.start(false); err != nil {
				return err
			}
		}
	}
	if cw.mode == modeStream {
		var err error
		if cw.gz != nil {
			err = cw.gz.Flush()
		} else {
			err = cw.br.Flush()
		}
		if err != nil {
			return err
		}
	}
	return http.NewResponseController(cw.w).Flush()
}

// Flush implements http.Flusher; see FlushError.
func (cw *compressWriter) Flush() { _ = cw.FlushError() }

// Hijack implements http.Hijacker through the underlying writer
// (http.ErrNotSupported when it cannot). What was buffered is sent first,
// uncompressed, as net/http does when a handler hijacks after writing.
func (cw *compressWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if cw.mode == modeBuffer && (cw.wroteHeader || (cw.buf != nil && cw.buf.Len() > 0)) {
		cw.sendPlain()
	}
	cw.mode = modePass
	return http.NewResponseController(cw.w).Hijack()
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (cw *compressWriter) Unwrap() http.ResponseWriter { return cw.w }

// finish completes the response when the handler returns.
func (cw *compressWriter) finish() {
	switch cw.mode {
	case modeBuffer:
		_ = cw.start(true)
	case modeStream:
		if cw.gz != nil {
			_ = cw.gz.Close()
		} else {
			_ = cw.br.Close()
		}
	}
	cw.mode = modePass
}

// start applies Compress's rules to the buffered response. final is true
// when the handler has returned (Django's HttpResponse); otherwise the
// response is streamed (Django's StreamingHttpResponse).
func (cw *compressWriter) start(final bool) error {
	var body []byte
	if cw.buf != nil {
		body = cw.buf.Bytes()
	}
	if final && len(body) < compressMinSize {
		cw.sendPlain()
		return nil
	}
	h := cw.w.Header()
	if skipCompression(h, cw.status) { // headers set after WriteHeader
		cw.sendPlain()
		return nil
	}
	if _, ok := h["Vary"]; ok {
		PatchVaryHeaders(h, "Accept-Encoding")
	} else {
		h["Vary"] = []string{"Accept-Encoding"} // PatchVaryHeaders' result, one allocation fewer
	}
	if cw.enc == encIdentity {
		cw.sendPlain()
		return nil
	}
	if final {
		cw.sendCompressed(body)
		return nil
	}
	delete(h, "Content-Length")
	cw.setEncoded(h)
	cw.w.WriteHeader(cw.status)
	cw.mode = modeStream
	if cw.enc == encGzip {
		cw.gz = cw.c.gzipWriter(cw.w)
		if cw.c.randomBytes > 0 {
			cw.gz.Name = cw.c.fnameString[:cw.c.randomLen()]
		}
	} else {
		cw.br = cw.c.brotliWriter(cw.w)
	}
	if len(body) > 0 {
		_, err := cw.encWrite(body)
		cw.buf.Reset()
		return err
	}
	return nil
}

// sendCompressed compresses a complete body and sends it when it is
// shorter, or sends the body as it is.
func (cw *compressWriter) sendCompressed(body []byte) {
	out := getBuf()
	defer putBuf(out)
	extra, k := 0, 0
	if cw.enc == encGzip {
		z := cw.c.gzipWriter(out)
		z.OS = 3 // Unix, as Django 6.1's compress_string (zlib) writes it
		_, _ = z.Write(body)
		_ = z.Close()
		z.Reset(io.Discard)
		cw.c.gzips.Put(z)
		if cw.c.randomBytes > 0 {
			// Django's compress_string: the FNAME flag and a name of k
			// "a" bytes with its NUL, spliced in after the 10-byte header.
			k = cw.c.randomLen()
			extra = k + 1
		}
	} else {
		z := cw.c.brotliWriter(out)
		_, _ = z.Write(body)
		_ = z.Close()
		z.Reset(io.Discard)
		cw.c.brotlis.Put(z)
	}
	n := out.Len() + extra
	if n >= len(body) {
		cw.sendPlain()
		return
	}
	h := cw.w.Header()
	h["Content-Length"] = []string{strconv.Itoa(n)}
	cw.setEncoded(h)
	cw.mode = modePass
	cw.w.WriteHeader(cw.status)
	zb := out.Bytes()
	if extra == 0 {
		_, _ = cw.w.Write(zb)
		return
	}
	zb[3] |= 0x08 // FNAME
	if _, err := cw.w.Write(zb[:10]); err != nil {
		return
	}
	if _, err := cw.w.Write(cw.c.fname[cw.c.randomBytes-k:]); err != nil {
		return
	}
	_, _ = cw.w.Write(zb[10:])
}

// setEncoded weakens a strong ETag and sets Content-Encoding.
func (cw *compressWriter) setEncoded(h http.Header) {
	weakenETag(h)
	if cw.enc == encGzip {
		h["Content-Encoding"] = []string{"gzip"}
	} else {
		h["Content-Encoding"] = []string{"br"}
	}
}

// sendPlain sends the buffered response as the handler wrote it and
// passes through from then on.
func (cw *compressWriter) sendPlain() {
	cw.mode = modePass
	if cw.wroteHeader {
		cw.w.WriteHeader(cw.status)
	}
	if cw.buf != nil && cw.buf.Len() > 0 {
		_, _ = cw.w.Write(cw.buf.Bytes())
		cw.buf.Reset()
	}
}

// encWrite writes p through the compressor.
func (cw *compressWriter) encWrite(p []byte) (int, error) {
	if cw.gz != nil {
		return cw.gz.Write(p)
	}
	return cw.br.Write(p)
}
