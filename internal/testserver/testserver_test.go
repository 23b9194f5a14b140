package testserver

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// roundTrip sends req to the server and returns the first line of its answer.
func roundTrip(t *testing.T, s *Server, req string) string {
	t.Helper()
	conn, err := net.DialTimeout(s.Network, s.Addr, time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", s.Addr, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatalf("write: %v", err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return strings.TrimRight(line, "\r\n")
}

func refused(s *Server) bool {
	conn, err := net.DialTimeout(s.Network, s.Addr, 200*time.Millisecond)
	if err != nil {
		return true
	}
	conn.Close()
	return false
}

func TestMemcached(t *testing.T) {
	s := Memcached(t)
	if !strings.HasPrefix(s.Addr, "127.0.0.1:") || s.Network != "tcp" {
		t.Fatalf("Addr = %q, Network = %q", s.Addr, s.Network)
	}
	if got := roundTrip(t, s, "set k 0 0 1\r\nv\r\n"); got != "STORED" {
		t.Fatalf("set: %q", got)
	}
	if got := roundTrip(t, s, "get k\r\n"); got != "VALUE k 0 1" {
		t.Fatalf("get: %q", got)
	}

	s.Stop()
	if s.Running() {
		t.Fatal("Running after Stop")
	}
	if !refused(s) {
		t.Fatal("still accepting connections after Stop")
	}
	s.Stop() // idempotent

	s.Restart()
	if !s.Running() {
		t.Fatal("not Running after Restart")
	}
	if got := roundTrip(t, s, "get k\r\n"); got != "END" {
		t.Fatalf("get after restart: %q, want an empty store", got)
	}
}

func TestMemcachedArgs(t *testing.T) {
	s := Memcached(t, "-I", "2m")
	conn, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	conn.Write([]byte("stats settings\r\n"))
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "STAT item_size_max ") {
			if got := strings.TrimSpace(strings.TrimPrefix(line, "STAT item_size_max ")); got != "2097152" {
				t.Fatalf("item_size_max = %s", got)
			}
			return
		}
		if strings.HasPrefix(line, "END") {
			t.Fatal("no item_size_max")
		}
	}
}

func TestMemcachedUnix(t *testing.T) {
	s := MemcachedUnix(t)
	if s.Network != "unix" {
		t.Fatalf("Network = %q", s.Network)
	}
	if got := roundTrip(t, s, "version\r\n"); !strings.HasPrefix(got, "VERSION ") {
		t.Fatalf("version: %q", got)
	}
	s.Restart()
	if got := roundTrip(t, s, "version\r\n"); !strings.HasPrefix(got, "VERSION ") {
		t.Fatalf("version after restart: %q", got)
	}
}

func TestRedis(t *testing.T) {
	s := Redis(t)
	if got := roundTrip(t, s, "SET k v\r\n"); got != "+OK" {
		t.Fatalf("SET: %q", got)
	}
	if got := roundTrip(t, s, "CONFIG GET save\r\n"); got != "*2" {
		t.Fatalf("CONFIG GET: %q", got)
	}
	if entries, _ := os.ReadDir(s.Dir); len(entries) == 0 {
		t.Fatalf("no log in %s", s.Dir)
	}
	s.Stop()
	if !refused(s) {
		t.Fatal("still accepting connections after Stop")
	}
	s.Restart()
	if got := roundTrip(t, s, "EXISTS k\r\n"); got != ":0" {
		t.Fatalf("EXISTS after restart: %q, want an empty store", got)
	}
}

// TestParallel starts several servers at once, which exercises the port
// selection and its retry.
func TestParallel(t *testing.T) {
	for i := 0; i < 6; i++ {
		t.Run("", func(t *testing.T) {
			t.Parallel()
			var s *Server
			if i%2 == 0 {
				s = Memcached(t)
			} else {
				s = Redis(t)
			}
			if !s.Running() {
				t.Fatal("not running")
			}
		})
	}
}

// TestCleanupKills checks that the server is gone once the test that
// started it has ended.
func TestCleanupKills(t *testing.T) {
	var s *Server
	t.Run("inner", func(t *testing.T) { s = Memcached(t) })
	if s == nil {
		t.Skip("inner test skipped")
	}
	if s.Running() || !refused(s) {
		t.Fatal("server still running after its test ended")
	}
}

// TestMissingBinary runs the test binary itself with an empty PATH.
func TestMissingBinary(t *testing.T) {
	if os.Getenv("TESTSERVER_CHILD") == "1" {
		Memcached(t)
		t.Fatal("Memcached returned without a binary")
		return
	}
	for _, require := range []string{"", "1"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissingBinary$", "-test.v")
		cmd.Env = append(os.Environ(), "TESTSERVER_CHILD=1", "PATH=/nonexistent", RequireEnv+"="+require)
		out, err := cmd.CombinedOutput()
		if require == "1" {
			if err == nil || !strings.Contains(string(out), "memcached not installed but FRAGCACHE_REQUIRE_SERVERS=1") {
				t.Errorf("with %s=1: err %v, output:\n%s", RequireEnv, err, out)
			}
		} else if err != nil || !strings.Contains(string(out), "SKIP") || !strings.Contains(string(out), "memcached not installed") {
			t.Errorf("without %s: err %v, output:\n%s", RequireEnv, err, out)
		}
	}
}

func TestRedisWithPassword(t *testing.T) {
	s := Redis(t, "--requirepass", "pw")
	conn, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprint(conn, "AUTH pw\r\nPING\r\n")
	r := bufio.NewReader(conn)
	for _, want := range []string{"+OK", "+PONG"} {
		line, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, want) {
			t.Fatalf("got %q, %v; want %s", line, err, want)
		}
	}
}
