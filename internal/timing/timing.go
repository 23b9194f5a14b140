// Package timing records, per request, the cache lookups the page cache and
// the {% cache %} tag make, for the opt-in Server-Timing response header
// (pagecache.WithServerTiming). The recorder travels in the request's
// context, so that packages tags and httpx/pagecache share it without
// importing each other. Without a recorder in the context, Record costs one
// context lookup.
package timing

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Entry is one lookup.
type Entry struct {
	Metric string // "page" or "frag"
	Desc   string // e.g. `sidebar hit`
	Dur    time.Duration
}

// Recorder collects the entries of one request. It is safe for concurrent
// use (a template may render fragments from several goroutines).
type Recorder struct {
	mu      sync.Mutex
	entries []Entry
}

type key struct{}

// With returns ctx carrying rec.
func With(ctx context.Context, rec *Recorder) context.Context {
	return context.WithValue(ctx, key{}, rec)
}

// From returns the recorder in ctx, or nil.
func From(ctx context.Context) *Recorder {
	if ctx == nil {
		return nil
	}
	rec, _ := ctx.Value(key{}).(*Recorder)
	return rec
}

// Record adds an entry to rec; a nil rec records nothing.
func (rec *Recorder) Record(metric, desc string, d time.Duration) {
	if rec == nil {
		return
	}
	rec.mu.Lock()
	rec.entries = append(rec.entries, Entry{Metric: metric, Desc: desc, Dur: d})
	rec.mu.Unlock()
}

// Header returns the Server-Timing header value of the entries (RFC
// Server-Timing syntax: name;desc="…";dur=milliseconds), "" for none.
func (rec *Recorder) Header() string {
	if rec == nil {
		return ""
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var b strings.Builder
	for i, e := range rec.entries {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(e.Metric)
		b.WriteString(`;desc="`)
		for _, r := range e.Desc {
			if r == '"' || r == '\\' || r < 0x20 || r == 0x7f {
				r = '_'
			}
			b.WriteRune(r)
		}
		b.WriteString(`";dur=`)
		b.WriteString(strconv.FormatFloat(float64(e.Dur.Microseconds())/1000, 'f', 3, 64))
	}
	return b.String()
}
