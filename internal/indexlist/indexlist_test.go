package indexlist

import (
	"slices"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	members := []string{":1:a", "\"quoted", "!bang", "line\nbreak", "cr\rhere", ":1:é", ":1:a"}
	var b []byte
	b = AppendDeadline(b, 100)
	for _, m := range members {
		b = AppendMember(b, m)
	}
	b = AppendDeadline(b, 50)
	l := Parse(b)
	want := members[:len(members)-1]
	if !slices.Equal(l.Members, want) {
		t.Errorf("Members = %q, want %q", l.Members, want)
	}
	if l.Deadline != 100 || l.Lines != len(members) {
		t.Errorf("Deadline, Lines = %d, %d; want 100, %d", l.Deadline, l.Lines, len(members))
	}
	if !l.Has("line\nbreak") || l.Has("nope") {
		t.Error("Has")
	}
	l = Parse(Encode(want, Forever))
	if !slices.Equal(l.Members, want) || l.Deadline != Forever || l.Lines != len(want) {
		t.Errorf("Encode/Parse = %+v", l)
	}
}

// TestTorn: a line without its end (a write cut short), and lines that do
// not parse, are skipped.
func TestTorn(t *testing.T) {
	l := Parse([]byte(":1:a\n\"unterminated\n!exp x\n!other\n\n:1:b\n:1:c"))
	if !slices.Equal(l.Members, []string{":1:a", ":1:b"}) || l.Deadline != 0 {
		t.Errorf("Parse = %q, %d", l.Members, l.Deadline)
	}
	if l := Parse(nil); len(l.Members) != 0 || l.Has("") {
		t.Errorf("Parse(nil) = %+v", l)
	}
}
