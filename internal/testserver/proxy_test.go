package testserver

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// TestCountingProxy: commands reach memcached through the proxy, which
// counts one per command line (a multi-get is one), and not the lines of a
// stored value.
func TestCountingProxy(t *testing.T) {
	s := Memcached(t)
	p := CountingProxy(t, s.Addr)
	conn, err := net.DialTimeout("tcp", p.Addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(conn)
	readUntil := func(last string) []string {
		t.Helper()
		var lines []string
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("read: %v (after %q)", err, lines)
			}
			line = strings.TrimRight(line, "\r\n")
			lines = append(lines, line)
			if line == last {
				return lines
			}
		}
	}
	steps := []struct {
		req, last string
		wantLines int
	}{
		{"set a 0 0 12\r\nget x\r\nget y\r\n", "STORED", 1}, // a value that looks like commands
		{"set b 0 0 1\r\nv\r\n", "STORED", 1},
		{"get a b missing\r\n", "END", 6},
		{"gets a\r\n", "END", 4},
		{"get b\r\n", "END", 3},
	}
	for _, st := range steps {
		if _, err := conn.Write([]byte(st.req)); err != nil {
			t.Fatal(err)
		}
		if got := readUntil(st.last); len(got) != st.wantLines {
			t.Fatalf("%q: answer %q", st.req, got)
		}
	}
	tests := []struct {
		verbs []string
		want  int
	}{
		{[]string{"get"}, 2},
		{[]string{"gets"}, 1},
		{[]string{"get", "gets"}, 3},
		{[]string{"set"}, 2},
		{[]string{"x"}, 0},
	}
	for _, tt := range tests {
		if got := p.Count(tt.verbs...); got != tt.want {
			t.Errorf("Count(%q) = %d, want %d (counts %v)", tt.verbs, got, tt.want, p.Counts())
		}
	}
	p.Reset()
	if got := p.Count("get", "set"); got != 0 {
		t.Errorf("after Reset: %d", got)
	}
	p.Close()
	p.Close() // idempotent
}
