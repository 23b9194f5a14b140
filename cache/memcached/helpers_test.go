package memcached_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/memcached"
	"github.com/fragcache/fragcache/internal/testserver"
)

var bg = context.Background()

// newBackend returns a backend over the servers, closed at the end of the
// test, after flushing them.
func newBackend(t testing.TB, opts memcached.Options, servers ...*testserver.Server) *memcached.Backend {
	t.Helper()
	for _, s := range servers {
		addr := s.Addr
		if s.Network == "unix" {
			addr = "unix:" + addr
		}
		opts.Servers = append(opts.Servers, addr)
	}
	if opts.Timeout == 0 {
		opts.Timeout = testTimeout
	}
	b, err := memcached.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if len(servers) > 0 {
		if err := b.Clear(bg); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// newCache returns a Cache over newBackend.
func newCache(t testing.TB, opts memcached.Options, servers ...*testserver.Server) (*cache.Cache, *memcached.Backend) {
	t.Helper()
	b := newBackend(t, opts, servers...)
	c, err := cache.New(b)
	if err != nil {
		t.Fatal(err)
	}
	return c, b
}

// raw sends one command to a server over a fresh connection and returns
// the answer: up to "END" for get and stats, else one line.
func raw(t testing.TB, srv *testserver.Server, cmd string) string {
	t.Helper()
	conn, err := net.DialTimeout(srv.Network, srv.Addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, cmd); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	multi := strings.HasPrefix(cmd, "get ") || strings.HasPrefix(cmd, "stats")
	var out strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("%q: %v (read %q)", cmd, err, out.String())
		}
		out.WriteString(line)
		if !multi || line == "END\r\n" || strings.HasPrefix(line, "SERVER_ERROR") || strings.HasPrefix(line, "CLIENT_ERROR") {
			return out.String()
		}
		if strings.HasPrefix(line, "VALUE ") { // read the data block
			f := strings.Fields(line)
			n, _ := strconv.Atoi(f[3])
			buf := make([]byte, n+2)
			if _, err := io.ReadFull(r, buf); err != nil {
				t.Fatal(err)
			}
			out.Write(buf)
		}
	}
}

// rawGet returns the flags and data a server holds for key.
func rawGet(t testing.TB, srv *testserver.Server, key string) (flags uint32, data []byte, ok bool) {
	t.Helper()
	resp := raw(t, srv, "get "+key+"\r\n")
	if resp == "END\r\n" {
		return 0, nil, false
	}
	line, rest, _ := strings.Cut(resp, "\r\n")
	f := strings.Fields(line)
	if len(f) != 4 || f[0] != "VALUE" || f[1] != key {
		t.Fatalf("get %s: %q", key, resp)
	}
	fl, _ := strconv.ParseUint(f[2], 10, 32)
	n, _ := strconv.Atoi(f[3])
	return uint32(fl), []byte(rest[:n]), true
}

// rawSet stores data with flags, as another client would.
func rawSet(t testing.TB, srv *testserver.Server, key string, flags uint32, data []byte) {
	t.Helper()
	if resp := raw(t, srv, fmt.Sprintf("set %s %d 0 %d\r\n%s\r\n", key, flags, len(data), data)); resp != "STORED\r\n" {
		t.Fatalf("set %s: %q", key, resp)
	}
}

// stat returns one statistic of a server.
func stat(t testing.TB, srv *testserver.Server, name string) string {
	t.Helper()
	for _, line := range strings.Split(raw(t, srv, "stats\r\n"), "\r\n") {
		if v, ok := strings.CutPrefix(line, "STAT "+name+" "); ok {
			return v
		}
	}
	t.Fatalf("no stat %s", name)
	return ""
}
