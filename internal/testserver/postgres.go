package testserver

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// PostgresPassword is the password of the superuser of the servers
// StartPostgres starts: it holds characters that are special in URLs and
// in connection strings, so that the tests exercise their escaping.
const PostgresPassword = `p@ss:w/rd%#?&= "x"`

// PostgresUser is the superuser of the servers StartPostgres starts.
const PostgresUser = "fragcache"

// Postgres is a PostgreSQL server started by StartPostgres or
// SharedPostgres: 127.0.0.1 on a free port, its data directory and Unix
// socket in a temporary directory, password (scram-sha-256) over TCP.
// Its methods are safe for concurrent use.
type Postgres struct {
	// Host and Port are where it listens.
	Host string
	Port int
	// Dir is the temporary directory: data in Dir/data, socket in Dir.
	Dir string

	bin  string
	cred *syscall.Credential // the unprivileged user to run as, when root

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	logPath string

	sharedDB  sync.Once
	sharedErr error
}

// pgBin returns the directory of initdb and postgres: Debian's newest
// /usr/lib/postgresql/N/bin (not on PATH), else the one of initdb on PATH.
func pgBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	p, err := exec.LookPath("initdb")
	if err != nil {
		return "", errors.New("postgresql not installed (no /usr/lib/postgresql/*/bin/postgres, no initdb on PATH): apt-get install postgresql")
	}
	return filepath.Dir(p), nil
}

func pgVersion(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// StartPostgres initialises and starts a PostgreSQL server of its own,
// stopped and removed when t ends. PostgreSQL refuses to run as root: a
// root test runs it as the unprivileged "postgres" user Debian's package
// creates. It skips t when PostgreSQL is not installed, or fails it with
// FRAGCACHE_REQUIRE_SERVERS=1.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	p, err := startPostgres()
	if err != nil {
		missingOrFail(t, err)
	}
	t.Cleanup(p.remove)
	return p
}

var shared struct {
	sync.Mutex
	pg  *Postgres
	err error
}

// SharedPostgres returns the test binary's one PostgreSQL server,
// starting it on first use; the package's TestMain stops it (see Main),
// so that a test package starts one server, not one per test. Give each
// test its own database with CreateDatabase.
func SharedPostgres(t testing.TB) *Postgres {
	t.Helper()
	shared.Lock()
	defer shared.Unlock()
	if shared.pg == nil && shared.err == nil {
		shared.pg, shared.err = startPostgres()
	}
	if shared.err != nil {
		missingOrFail(t, shared.err)
	}
	return shared.pg
}

// Main runs the tests of m, then stops the servers shared by its tests
// (SharedPostgres), and returns the exit code:
//
//	func TestMain(m *testing.M) { os.Exit(testserver.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	shared.Lock()
	if shared.pg != nil {
		shared.pg.remove()
	}
	shared.Unlock()
	return code
}

// missingOrFail skips t for a server that cannot run here, or fails it
// with FRAGCACHE_REQUIRE_SERVERS=1.
func missingOrFail(t testing.TB, err error) {
	t.Helper()
	var nf notInstalled
	if errors.As(err, &nf) && os.Getenv(RequireEnv) != "1" {
		t.Skipf("%v (set %s=1 to fail instead)", err, RequireEnv)
	}
	t.Fatalf("testserver: %v", err)
}

// notInstalled is the error of a server whose binaries are missing.
type notInstalled struct{ error }

func startPostgres() (*Postgres, error) {
	bin, err := pgBin()
	if err != nil {
		return nil, notInstalled{err}
	}
	p := &Postgres{Host: "127.0.0.1", bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, notInstalled{fmt.Errorf("running as root, and no postgres user to run PostgreSQL as (apt-get install postgresql creates it): %w", err)}
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	p.Dir, err = os.MkdirTemp("", "fragcache-pg-")
	if err != nil {
		return nil, err
	}
	p.logPath = filepath.Join(p.Dir, "postgres.log")
	pwfile := filepath.Join(p.Dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(PostgresPassword+"\n"), 0o600); err != nil {
		p.remove()
		return nil, err
	}
	if p.cred != nil {
		if err := chownTree(p.Dir, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
			p.remove()
			return nil, err
		}
	}
	out, err := p.run(filepath.Join(bin, "initdb"), "-D", filepath.Join(p.Dir, "data"), "-U", PostgresUser,
		"--pwfile="+pwfile, "--auth-host=scram-sha-256", "--auth-local=trust",
		"-E", "UTF8", "--locale=C", "--no-sync")
	if err != nil {
		p.remove()
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	var lastErr error
	for attempt := 0; attempt < bindAttempts; attempt++ {
		if p.Port, err = freePort(); err != nil {
			p.remove()
			return nil, err
		}
		if lastErr = p.launch(); lastErr == nil {
			return p, nil
		}
	}
	p.remove()
	return nil, lastErr
}

// run runs a PostgreSQL program as the server's user and returns its
// output.
func (p *Postgres) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = p.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Credential: p.cred}
	return cmd.CombinedOutput()
}

func chownTree(dir string, uid, gid int) error {
	return filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
}

// launch starts postgres on p.Port and waits until it accepts
// connections.
func (p *Postgres) launch() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return errors.New("postgres: already running")
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(p.bin, "postgres"), "-D", filepath.Join(p.Dir, "data"),
		"-p", strconv.Itoa(p.Port), "-k", p.Dir, "-c", "listen_addresses="+p.Host,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200", "-c", "log_min_messages=warning")
	cmd.Dir = p.Dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Credential: p.cred}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("postgres: %w", err)
	}
	exited := make(chan struct{})
	p.cmd, p.exited = cmd, exited
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(exited)
	}()
	deadline := time.Now().Add(3 * startTimeout)
	for {
		select {
		case <-exited:
			p.cmd = nil
			return fmt.Errorf("postgres on port %d exited during start-up%s", p.Port, p.logTail())
		default:
		}
		out, err := p.run(filepath.Join(p.bin, "pg_isready"), "-q", "-h", p.Host, "-p", strconv.Itoa(p.Port), "-t", "1")
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			p.cmd = nil
			return fmt.Errorf("postgres on port %d not ready: %v %s%s", p.Port, err, out, p.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *Postgres) logTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil || len(b) == 0 {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "\nserver output:\n" + string(b)
}

// Stop shuts the server down (fast shutdown: clients see their
// connections closed at once, and what was committed is kept, which an
// immediate shutdown would not promise with synchronous_commit off) and
// waits for it to exit. Restart starts it again on the same port, with
// the same data.
func (p *Postgres) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	p.cmd = nil
}

// Restart starts a stopped server again on its port.
func (p *Postgres) Restart() error { return p.launch() }

// remove stops the server and deletes its directory.
func (p *Postgres) remove() {
	p.Stop()
	os.RemoveAll(p.Dir)
}

var dbSeq atomic.Int64

// CreateDatabase creates a new, empty database for t and returns its
// name; it is dropped when t ends (unless the server is down then).
func (p *Postgres) CreateDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbSeq.Add(1))
	if out, err := p.SQL("postgres", "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testserver: CREATE DATABASE %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() { _, _ = p.SQL("postgres", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	return name
}

// SharedDatabase returns the name of a database created on first use and
// kept for the server's lifetime, for tests that each make their own
// table in it (faster than a database per test).
func (p *Postgres) SharedDatabase(t testing.TB) string {
	t.Helper()
	const name = "shared"
	p.sharedDB.Do(func() {
		if out, err := p.SQL("postgres", "CREATE DATABASE "+name); err != nil {
			p.sharedErr = fmt.Errorf("CREATE DATABASE %s: %v\n%s", name, err, out)
		}
	})
	if p.sharedErr != nil {
		t.Fatalf("testserver: %v", p.sharedErr)
	}
	return name
}

// SQL runs statements with psql over the Unix socket as the superuser in
// database dbname, and returns psql's output (unaligned, tuples only).
func (p *Postgres) SQL(dbname, statements string) (string, error) {
	out, err := p.run(filepath.Join(p.bin, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
		"-h", p.Dir, "-p", strconv.Itoa(p.Port), "-U", PostgresUser, "-d", dbname, "-c", statements)
	return strings.TrimSpace(string(out)), err
}

// URL returns a postgres:// URL of database dbname, the password
// percent-encoded, followed by query (without "?"), if any.
func (p *Postgres) URL(dbname, query string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(PostgresUser, PostgresPassword),
		Host: net.JoinHostPort(p.Host, strconv.Itoa(p.Port)), Path: "/" + dbname, RawQuery: query}
	return u.String()
}
