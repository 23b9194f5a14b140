// Package indexlist is the text form of the indexes (cache.Indexer) that
// the memcached and file backends keep as one blob each: one line per
// member, appended as members are added, and lines starting with "!exp "
// that record the index's deadline (the largest one counts). Appending
// needs no read of what is there, and a reader removes the duplicates that
// concurrent writers may leave.
//
// A member is written as it is, unless it holds a line break or starts with
// '"' or '!': then it is written quoted (strconv.Quote). Made keys never
// need it in practice.
package indexlist

import (
	"bytes"
	"math"
	"strconv"
	"strings"
)

// Forever is the deadline of an index that never expires.
const Forever = math.MaxInt64

// expPrefix starts a deadline line.
const expPrefix = "!exp "

// AppendMember appends member's line to dst.
func AppendMember(dst []byte, member string) []byte {
	if strings.ContainsAny(member, "\n\r") || strings.HasPrefix(member, `"`) || strings.HasPrefix(member, "!") {
		dst = strconv.AppendQuote(dst, member)
	} else {
		dst = append(dst, member...)
	}
	return append(dst, '\n')
}

// AppendDeadline appends the line recording deadline (Unix seconds, or
// Forever) to dst.
func AppendDeadline(dst []byte, deadline int64) []byte {
	dst = append(dst, expPrefix...)
	if deadline == Forever {
		dst = append(dst, "never"...)
	} else {
		dst = strconv.AppendInt(dst, deadline, 10)
	}
	return append(dst, '\n')
}

// List is an index as read.
type List struct {
	// Members are the distinct members, in the order first written.
	Members []string
	// Deadline is the largest deadline recorded (Forever, or 0 when none
	// was).
	Deadline int64
	// Lines counts the member lines, duplicates included.
	Lines int

	set map[string]struct{}
}

// Parse reads an index. A line it cannot read (a torn write) is skipped.
func Parse(data []byte) *List {
	l := &List{set: map[string]struct{}{}}
	for len(data) > 0 {
		line, rest, found := bytes.Cut(data, []byte{'\n'})
		data = rest
		if !found {
			break // an unfinished last line
		}
		if len(line) == 0 {
			continue
		}
		switch line[0] {
		case '!':
			v, ok := bytes.CutPrefix(line, []byte(expPrefix))
			if !ok {
				continue
			}
			d := int64(Forever)
			if string(v) != "never" {
				n, err := strconv.ParseInt(string(v), 10, 64)
				if err != nil {
					continue
				}
				d = n
			}
			l.Deadline = max(l.Deadline, d)
			continue
		case '"':
			m, err := strconv.Unquote(string(line))
			if err != nil {
				continue
			}
			l.add(m)
		default:
			l.add(string(line))
		}
	}
	return l
}

func (l *List) add(m string) {
	l.Lines++
	if _, ok := l.set[m]; ok {
		return
	}
	l.set[m] = struct{}{}
	l.Members = append(l.Members, m)
}

// Has reports whether m is a member.
func (l *List) Has(m string) bool {
	_, ok := l.set[m]
	return ok
}

// Encode returns the index holding members and deadline (none when 0).
func Encode(members []string, deadline int64) []byte {
	var b []byte
	if deadline != 0 {
		b = AppendDeadline(b, deadline)
	}
	for _, m := range members {
		b = AppendMember(b, m)
	}
	return b
}
