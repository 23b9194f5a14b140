// Package testserver starts real cache servers (memcached, redis-server) for
// tests: each on 127.0.0.1 on a free port, in a temporary directory, killed
// when the test ends. CountingProxy counts the commands a memcached server
// receives (memcached's own cmd_get counts keys, not commands).
//
// When a server's binary is not installed the test is skipped, unless the
// environment variable FRAGCACHE_REQUIRE_SERVERS is "1": then it fails, so
// that a CI job meant to run the server tests cannot pass by skipping them.
//
//	func TestSomething(t *testing.T) {
//		srv := testserver.Memcached(t)
//		c, err := memcache.New(srv.Addr) ...
//	}
package testserver

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RequireEnv is the environment variable that turns a missing server binary
// from a skipped test into a failed one when set to "1".
const RequireEnv = "FRAGCACHE_REQUIRE_SERVERS"

const (
	// startTimeout bounds the wait for a started server to answer.
	startTimeout = 10 * time.Second
	// bindAttempts is how many free ports are tried before giving up, for
	// the race between closing the probe listener and the server binding.
	bindAttempts = 5
)

// Server is a running server process started by Memcached, MemcachedUnix or
// Redis. Its methods are safe for concurrent use.
type Server struct {
	// Addr is the address clients connect to: "127.0.0.1:port", or the
	// socket path for MemcachedUnix.
	Addr string
	// Network is "tcp", or "unix" for MemcachedUnix.
	Network string
	// Dir is the server's temporary directory (its working directory, and
	// where its output log is written).
	Dir string

	t    testing.TB
	kind kind
	bin  string
	args []string // extra arguments from the caller
	conf string   // a sentinel's initial configuration file

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd has exited
	waitErr error         // cmd.Wait's result, valid once exited is closed
	logPath string
}

type kind int

const (
	memcachedTCP kind = iota
	memcachedUnix
	redisTCP
	redisSentinel
)

func (k kind) name() string {
	if k == redisTCP || k == redisSentinel {
		return "redis-server"
	}
	return "memcached"
}

// Memcached starts memcached on 127.0.0.1 on a free port with args added to
// its command line (e.g. "-I", "2m"), waits until it answers, and stops it
// when the test ends. It skips t when memcached is not installed (see
// RequireEnv).
func Memcached(t testing.TB, args ...string) *Server {
	t.Helper()
	return start(t, memcachedTCP, args, "")
}

// MemcachedUnix is Memcached listening on a Unix socket in a temporary
// directory instead of TCP; Addr is the socket's path.
func MemcachedUnix(t testing.TB, args ...string) *Server {
	t.Helper()
	return start(t, memcachedUnix, args, "")
}

// Redis starts redis-server on 127.0.0.1 on a free port without persistence
// (--save "" --appendonly no, in a temporary directory) with args added to
// its command line (e.g. "--maxmemory", "10mb"), waits until it answers, and
// stops it when the test ends. It skips t when redis-server is not installed
// (see RequireEnv).
func Redis(t testing.TB, args ...string) *Server {
	t.Helper()
	return start(t, redisTCP, args, "")
}

// lookPath returns the path of the binary name, skipping t when it is not
// installed (failing it with RequireEnv=1).
func lookPath(t testing.TB, name string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%s not installed but %s=1", name, RequireEnv)
		}
		t.Skipf("%s not installed (set %s=1 to fail instead): %v", name, RequireEnv, err)
	}
	return bin
}

// start starts a server of kind k; conf is a sentinel's configuration,
// written to sentinel.conf in its directory before it first starts.
func start(t testing.TB, k kind, args []string, conf string) *Server {
	t.Helper()
	s := &Server{
		t:    t,
		kind: k,
		bin:  lookPath(t, k.name()),
		args: append([]string(nil), args...),
		conf: conf,
		Dir:  t.TempDir(),
	}
	s.logPath = filepath.Join(s.Dir, k.name()+".log")
	t.Cleanup(s.Stop)

	var lastErr error
	for attempt := 0; attempt < bindAttempts; attempt++ {
		switch k {
		case memcachedUnix:
			s.Network = "unix"
			s.Addr = filepath.Join(s.Dir, "memcached.sock")
		default:
			port, err := freePort()
			if err != nil {
				t.Fatalf("testserver: %v", err)
			}
			s.Network = "tcp"
			s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		}
		if lastErr = s.launch(); lastErr == nil {
			return s
		}
		if k == memcachedUnix {
			break // a socket path cannot be raced for
		}
	}
	t.Fatalf("testserver: %v", lastErr)
	return nil
}

// Stop kills the server and waits for it to exit. It does nothing if the
// server is not running. Clients see their connections closed or refused
// until Restart.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

func (s *Server) stopLocked() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
	if s.kind == memcachedUnix {
		_ = os.Remove(s.Addr)
	}
}

// Restart stops the server if it is running and starts it again on the same
// address, with an empty store, and waits until it answers. It fails the
// test (t.Fatal: call it from the test's goroutine) if the server does not
// come up.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	s.stopLocked()
	s.mu.Unlock()
	var err error
	// The port may be briefly busy (another test grabbing it as a free port
	// is possible, though unlikely); retry within the start bound.
	deadline := time.Now().Add(startTimeout)
	for {
		if err = s.launch(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("testserver: restart: %v", err)
}

// Hang freezes the server (SIGSTOP): it accepts connections into the
// kernel's backlog but answers nothing, the way a hung or overloaded cache
// server looks to its clients, until Resume.
func (s *Server) Hang() { s.signal(syscall.SIGSTOP) }

// Resume lets a hung server run again (SIGCONT).
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		s.t.Fatalf("testserver: %v to a server that is not running", sig)
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("testserver: %v: %v", sig, err)
	}
}

// Running reports whether the server process is running.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// launch starts the process on s.Addr and waits until it answers.
func (s *Server) launch() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("already running")
	}
	argv, err := s.argv()
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("%s: %w", s.kind.name(), err)
	}
	cmd := exec.Command(s.bin, argv...)
	cmd.Dir = s.Dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("%s: %w", s.kind.name(), err)
	}
	exited := make(chan struct{})
	s.cmd, s.exited = cmd, exited
	go func() {
		err := cmd.Wait()
		logf.Close()
		s.waitErr = err // read only after <-exited
		close(exited)
	}()

	if err := s.waitReady(cmd, exited); err != nil {
		_ = cmd.Process.Kill()
		<-exited
		s.cmd = nil
		return fmt.Errorf("%s %s on %s: %w%s", s.bin, strings.Join(argv, " "), s.Addr, err, s.logTail())
	}
	return nil
}

func (s *Server) argv() ([]string, error) {
	switch s.kind {
	case memcachedTCP, memcachedUnix:
		var a []string
		if s.kind == memcachedUnix {
			a = []string{"-s", s.Addr, "-a", "700"}
		} else {
			host, port, _ := net.SplitHostPort(s.Addr)
			a = []string{"-l", host, "-p", port, "-U", "0"}
		}
		if os.Geteuid() == 0 {
			// memcached refuses to run as root without -u.
			name := "root"
			if u, err := user.Current(); err == nil {
				name = u.Username
			}
			a = append(a, "-u", name)
		}
		return append(a, s.args...), nil
	case redisTCP:
		host, port, _ := net.SplitHostPort(s.Addr)
		a := []string{
			"--bind", host, "--port", port,
			"--save", "", "--appendonly", "no",
			"--dir", s.Dir, "--daemonize", "no",
		}
		return append(a, s.args...), nil
	case redisSentinel:
		// The configuration file comes first, and must be writable: a
		// sentinel rewrites it with what it learns. It is written once,
		// so that a restarted sentinel keeps what it learnt.
		conf := filepath.Join(s.Dir, "sentinel.conf")
		if _, err := os.Stat(conf); err != nil {
			if err := os.WriteFile(conf, []byte(s.conf), 0o600); err != nil {
				return nil, err
			}
		}
		host, port, _ := net.SplitHostPort(s.Addr)
		a := []string{conf, "--sentinel", "--bind", host, "--port", port, "--dir", s.Dir, "--daemonize", "no"}
		return append(a, s.args...), nil
	}
	return nil, fmt.Errorf("unknown server kind %d", s.kind)
}

// waitReady polls the server with a protocol-level ping (memcached's
// "version", Redis's "PING") until it answers, the process exits, or
// startTimeout passes. The ping, rather than a bare connect, makes sure the
// answer comes from the right kind of server.
func (s *Server) waitReady(cmd *exec.Cmd, exited chan struct{}) error {
	deadline := time.Now().Add(startTimeout)
	delay := 5 * time.Millisecond
	var lastErr error
	for {
		select {
		case <-exited:
			return fmt.Errorf("exited during start-up (%v)", s.waitErr)
		default:
		}
		if lastErr = s.ping(); lastErr == nil {
			// An answer from another process that holds the port would
			// leave ours exiting on a bind error: check it is still alive.
			select {
			case <-exited:
				return fmt.Errorf("exited during start-up (%v)", s.waitErr)
			case <-time.After(10 * time.Millisecond):
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not answering after %v: %w", startTimeout, lastErr)
		}
		time.Sleep(delay)
		if delay < 100*time.Millisecond {
			delay *= 2
		}
	}
}

func (s *Server) ping() error {
	conn, err := net.DialTimeout(s.Network, s.Addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	req, want := "version\r\n", "VERSION "
	if s.kind == redisTCP || s.kind == redisSentinel {
		req, want = "PING\r\n", "+PONG"
	}
	if _, err := conn.Write([]byte(req)); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	// A Redis started with --requirepass answers NOAUTH: it is up.
	if !strings.HasPrefix(line, want) && !(s.kind == redisTCP && strings.HasPrefix(line, "-NOAUTH")) {
		return fmt.Errorf("unexpected answer %q", line)
	}
	return nil
}

func (s *Server) logTail() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "\nserver output:\n" + string(b)
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	return port, nil
}
