package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fragcache/fragcache/cache"
	"github.com/fragcache/fragcache/cache/backends"
	"github.com/fragcache/fragcache/cache/dummy"
	"github.com/fragcache/fragcache/cache/failopen"
	"github.com/fragcache/fragcache/internal/testserver"
)

func TestMain(m *testing.M) {
	// The tests choose the cache URL themselves.
	os.Unsetenv(cacheEnv)
	os.Exit(testserver.Main(m))
}

// tty is a stdin that a person types at.
type tty struct{ io.Reader }

func (tty) IsTerminal() bool { return true }

func runIn(stdin io.Reader, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, stdin, &out, &errOut)
	return code, out.String(), errOut.String()
}

// step is one run of the command in a script of steps sharing a cache.
type step struct {
	args   []string // "$URL" is replaced by the cache URL, "$DIR" by its directory
	stdin  string
	tty    bool          // stdin is a terminal
	sleep  time.Duration // before the run
	code   int
	stdout string // the exact stdout, unless stdoutIn is set
	// stdoutIn and stderrIn are substrings of stdout and stderr; stderr
	// must be empty when stderrIn is "" and noStderr is set.
	stdoutIn string
	stderrIn string
	noStderr bool
}

func (s step) run(t *testing.T, dir, url string) {
	t.Helper()
	if s.sleep > 0 {
		time.Sleep(s.sleep)
	}
	args := make([]string, len(s.args))
	for i, a := range s.args {
		a = strings.ReplaceAll(a, "$URL", url)
		args[i] = strings.ReplaceAll(a, "$DIR", dir)
	}
	var stdin io.Reader = strings.NewReader(s.stdin)
	if s.tty {
		stdin = tty{stdin}
	}
	code, out, errOut := runIn(stdin, args...)
	if code != s.code {
		t.Errorf("%q: exit %d, want %d (stdout %q, stderr %q)", args, code, s.code, out, errOut)
	}
	if s.stdoutIn != "" {
		if !strings.Contains(out, s.stdoutIn) {
			t.Errorf("%q: stdout %q, want it to contain %q", args, out, s.stdoutIn)
		}
	} else if out != s.stdout {
		t.Errorf("%q: stdout %q, want %q", args, out, s.stdout)
	}
	if !strings.Contains(errOut, s.stderrIn) || s.noStderr && errOut != "" {
		t.Errorf("%q: stderr %q, want it to contain %q", args, errOut, s.stderrIn)
	}
}

func TestGetSetDelete(t *testing.T) {
	binary := "\x00\x01\xffabc"
	tests := []struct {
		name  string
		query string // of the cache URL
		steps []step
	}{
		{"round trip", "", []step{
			{args: []string{"set", "--cache", "$URL", "k", "hello"}, stdout: "stored: k (made key :1:k, 5 bytes, expires in 5m0s)\n", noStderr: true},
			{args: []string{"get", "--cache", "$URL", "k"}, stdout: "hello\n", noStderr: true},
			{args: []string{"get", "--cache", "$URL", "--raw", "k"}, stdout: "hello", noStderr: true},
			{args: []string{"delete", "--cache", "$URL", "k"}, stdout: "deleted: k\n", noStderr: true},
			{args: []string{"get", "--cache", "$URL", "k"}, code: 3, stderrIn: "not found: k (made key :1:k)"},
			{args: []string{"delete", "--cache", "$URL", "k"}, code: 3, stderrIn: "not found: k"},
		}},
		{"overwrite", "", []step{
			{args: []string{"set", "--cache", "$URL", "k", "one"}, stdoutIn: "stored: k"},
			{args: []string{"set", "--cache", "$URL", "k", "two"}, stdoutIn: "stored: k"},
			{args: []string{"get", "--cache", "$URL", "k"}, stdout: "two\n"},
		}},
		{"trailing newline kept, not doubled", "", []step{
			{args: []string{"set", "--cache", "$URL", "k", "a\nb\n"}, stdoutIn: "4 bytes"},
			{args: []string{"get", "--cache", "$URL", "k"}, stdout: "a\nb\n"},
			{args: []string{"get", "--cache", "$URL", "--raw", "k"}, stdout: "a\nb\n"},
		}},
		{"UTF-8 text", "", []step{
			{args: []string{"set", "--cache", "$URL", "k", "héllo\twörld ☃"}, stdoutIn: "stored: k"},
			{args: []string{"get", "--cache", "$URL", "k"}, stdout: "héllo\twörld ☃\n", noStderr: true},
		}},
		{"empty value is a hit", "", []step{
			{args: []string{"set", "--cache", "$URL", "k", ""}, stdout: "stored: k (made key :1:k, 0 bytes, expires in 5m0s)\n"},
			{args: []string{"get", "--cache", "$URL", "k"}, stdout: "\n"},
			{args: []string{"get", "--cache", "$URL", "--raw", "k"}, stdout: ""},
		}},
		{"set - reads stdin", "", []step{
			{args: []string{"set", "--cache", "$URL", "k", "-"}, stdin: "from\nstdin", stdout: "stored: k (made key :1:k, 10 bytes, expires in 5m0s)\n", noStderr: true},
			{args: []string{"get", "--cache", "$URL", "--raw", "k"}, stdout: "from\nstdin"},
		}},
		{"set - with empty stdin", "", []step{
			{args: []string{"set", "--cache", "$URL", "k", "-"}, stdoutIn: "0 bytes"},
			{args: []string{"get", "--cache", "$URL", "--raw", "k"}, stdout: ""},
		}},
		{"binary value: hex dump, --raw bytes", "", []step{
			{args: []string{"set", "--cache", "$URL", "bin", "-"}, stdin: binary, stdoutIn: "6 bytes"},
			{args: []string{"get", "--cache", "$URL", "bin"}, stdout: hex.Dump([]byte(binary)), stderrIn: "binary (6 bytes)"},
			{args: []string{"get", "--cache", "$URL", "--raw", "bin"}, stdout: binary, noStderr: true},
		}},
		{"valid UTF-8 with control characters is dumped", "", []step{
			{args: []string{"set", "--cache", "$URL", "k", "red\x1b[31m\x00"}, stdoutIn: "stored"},
			{args: []string{"get", "--cache", "$URL", "k"}, stdout: hex.Dump([]byte("red\x1b[31m\x00")), stderrIn: "hex dump"},
		}},
		{"value that looks like a flag", "", []step{
			{args: []string{"set", "--cache", "$URL", "--", "k", "--raw"}, stdoutIn: "stored"},
			{args: []string{"get", "--cache", "$URL", "k"}, stdout: "--raw\n"},
		}},
		{"key starting with - after --", "", []step{
			{args: []string{"set", "--cache", "$URL", "--", "-k", "v"}, stdoutIn: "made key :1:-k"},
			{args: []string{"get", "--cache", "$URL", "--", "-k"}, stdout: "v\n"},
			{args: []string{"delete", "--cache", "$URL", "--", "-k"}, stdout: "deleted: -k\n"},
		}},
		{"delete several", "", []step{
			{args: []string{"set", "--cache", "$URL", "a", "1"}, stdoutIn: "stored"},
			{args: []string{"set", "--cache", "$URL", "b", "2"}, stdoutIn: "stored"},
			{args: []string{"set", "--cache", "$URL", "c", "3"}, stdoutIn: "stored"},
			{args: []string{"delete", "--cache", "$URL", "a", "nope", "b"}, code: 3, stdout: "deleted: a\ndeleted: b\n", stderrIn: "not found: nope"},
			{args: []string{"get", "--cache", "$URL", "a"}, code: 3, stderrIn: "not found"},
			{args: []string{"get", "--cache", "$URL", "c"}, stdout: "3\n"},
			{args: []string{"delete", "--cache", "$URL", "c"}, stdout: "deleted: c\n", noStderr: true},
		}},
		{"URL prefix and version", "?key_prefix=site&version=3", []step{
			{args: []string{"set", "--cache", "$URL", "k", "v"}, stdoutIn: "made key site:3:k"},
			{args: []string{"get", "--cache", "$URL", "k"}, stdout: "v\n"},
			{args: []string{"get", "--cache", "file://$DIR", "k"}, code: 3, stderrIn: "made key :1:k"},
			{args: []string{"get", "--cache", "file://$DIR", "--prefix", "site", "k"}, code: 3, stderrIn: "made key site:1:k"},
			{args: []string{"get", "--cache", "file://$DIR", "--prefix", "site", "--version", "3", "k"}, stdout: "v\n"},
			{args: []string{"get", "--cache", "$URL", "--version", "1", "k"}, code: 3, stderrIn: "made key site:1:k"},
			{args: []string{"get", "--cache", "$URL", "--prefix", "", "k"}, code: 3, stderrIn: "made key :3:k"},
			{args: []string{"delete", "--cache", "$URL", "--prefix", "other", "k"}, code: 3, stderrIn: "made key other:3:k"},
			{args: []string{"delete", "--cache", "$URL", "k"}, stdout: "deleted: k\n"},
		}},
		{"flags override URL on set", "?key_prefix=a", []step{
			{args: []string{"set", "--cache", "$URL", "--prefix", "b", "--version", "2", "k", "v"}, stdoutIn: "made key b:2:k"},
			{args: []string{"get", "--cache", "file://$DIR?key_prefix=b&version=2", "k"}, stdout: "v\n"},
		}},
		{"ttl", "", []step{
			{args: []string{"set", "--cache", "$URL", "--ttl", "none", "k", "v"}, stdout: "stored: k (made key :1:k, 1 byte, never expires)\n"},
			{args: []string{"set", "--cache", "$URL", "--ttl", "forever", "k", "v"}, stdoutIn: "never expires"},
			{args: []string{"set", "--cache", "$URL", "--ttl", "1.5", "k", "v"}, stdoutIn: "expires in 1.5s"},
			{args: []string{"set", "--cache", "$URL", "--ttl=3600", "k", "v"}, stdoutIn: "expires in 1h0m0s"},
			{args: []string{"set", "--cache", "$URL", "--ttl", "0.05", "short", "v"}, stdoutIn: "expires in 50ms"},
			{args: []string{"get", "--cache", "$URL", "short"}, sleep: 200 * time.Millisecond, code: 3, stderrIn: "not found"},
			{args: []string{"get", "--cache", "$URL", "k"}, stdout: "v\n"},
		}},
		{"URL default timeout", "?timeout=none", []step{
			{args: []string{"set", "--cache", "$URL", "k", "v"}, stdoutIn: "never expires"},
			{args: []string{"set", "--cache", "$URL", "--ttl", "60", "k", "v"}, stdoutIn: "expires in 1m0s"},
		}},
		{"invalidate and get agree", "", []step{
			{args: []string{"set", "--cache", "$URL", cache.FragmentKey("f", "x"), "<aside>"}, stdoutIn: "stored"},
			{args: []string{"invalidate", "--cache", "$URL", "f", "x"}, stdoutIn: "deleted: yes\n"},
			{args: []string{"get", "--cache", "$URL", cache.FragmentKey("f", "x")}, code: 3, stderrIn: "not found"},
		}},
		{"key with a space warns", "", []step{
			{args: []string{"set", "--cache", "$URL", "a b", "v"}, stdoutIn: "stored", stderrIn: "warning: Cache key contains characters"},
			{args: []string{"get", "--cache", "$URL", "a b"}, stdout: "v\n", stderrIn: "warning"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			url := "file://" + dir + tt.query
			for _, s := range tt.steps {
				s.run(t, dir, url)
			}
		})
	}
}

// TestSetSharedWithLibrary checks that the CLI stores what an application
// using package cache reads, and the other way round.
func TestSetSharedWithLibrary(t *testing.T) {
	url := "file://" + t.TempDir() + "?key_prefix=site&version=2"
	c, err := backends.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if code, _, errOut := runIn(strings.NewReader("\x00v\xff"), "set", "--cache", url, "k", "-"); code != 0 {
		t.Fatalf("set: exit %d: %s", code, errOut)
	}
	v, ok, err := c.Get(ctx, "k")
	if err != nil || !ok || string(v) != "\x00v\xff" {
		t.Errorf("library Get = %q, %v, %v", v, ok, err)
	}
	if err := c.Set(ctx, "lib", []byte("from the library"), cache.Forever); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := runArgs("get", "--cache", url, "lib"); code != 0 || out != "from the library\n" {
		t.Errorf("get: exit %d, stdout %q", code, out)
	}
	if code, _, _ := runArgs("delete", "--cache", url, "lib"); code != 0 {
		t.Errorf("delete: exit %d", code)
	}
	if has, err := c.Has(ctx, "lib"); err != nil || has {
		t.Errorf("after delete, library Has = %v, %v", has, err)
	}
}

func TestClear(t *testing.T) {
	tests := []struct {
		name    string
		step    step
		cleared bool
	}{
		{"-y", step{args: []string{"clear", "--cache", "$URL", "-y"}, stdout: "cleared: $URL\n", stderrIn: "removes every cache file in $DIR"}, true},
		{"-y=true", step{args: []string{"clear", "-y=true", "--cache", "$URL"}, stdout: "cleared: $URL\n"}, true},
		{"-y with stdin that is not a terminal", step{args: []string{"clear", "-y", "--cache", "$URL"}, stdin: "n\n", stdout: "cleared: $URL\n"}, true},
		{"refused without -y on a non-interactive stdin", step{args: []string{"clear", "--cache", "$URL"}, stdin: "y\n", code: 2, stderrIn: "stdin is not a terminal"}, false},
		{"confirmed with y", step{args: []string{"clear", "--cache", "$URL"}, tty: true, stdin: "y\n", stdout: "cleared: $URL\n", stderrIn: "Clear every entry of $URL? [y/N] "}, true},
		{"confirmed with YES", step{args: []string{"clear", "--cache", "$URL"}, tty: true, stdin: " YES \n", stdout: "cleared: $URL\n"}, true},
		{"confirmed without newline", step{args: []string{"clear", "--cache", "$URL"}, tty: true, stdin: "y", stdout: "cleared: $URL\n"}, true},
		{"declined with n", step{args: []string{"clear", "--cache", "$URL"}, tty: true, stdin: "n\n", code: 1, stderrIn: "not cleared"}, false},
		{"declined with empty line", step{args: []string{"clear", "--cache", "$URL"}, tty: true, stdin: "\n", code: 1, stderrIn: "not cleared"}, false},
		{"declined at end of input", step{args: []string{"clear", "--cache", "$URL"}, tty: true, code: 1, stderrIn: "not cleared"}, false},
		{"argument", step{args: []string{"clear", "--cache", "$URL", "-y", "k"}, code: 2, stderrIn: "clear takes none"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			url := "file://" + dir + "?key_prefix=a"
			// An entry of another prefix goes too: clear ignores prefixes.
			for _, u := range []string{url, "file://" + dir + "?key_prefix=b"} {
				if code, _, errOut := runArgs("set", "--cache", u, "k", "v"); code != 0 {
					t.Fatalf("set: %s", errOut)
				}
			}
			s := tt.step
			s.stdout = strings.ReplaceAll(s.stdout, "$URL", url)
			s.stderrIn = strings.ReplaceAll(strings.ReplaceAll(s.stderrIn, "$URL", url), "$DIR", dir)
			s.run(t, dir, url)
			want := 0
			if !tt.cleared {
				want = 2
			}
			if n, _, err := countCacheFiles(dir); err != nil || n != want {
				t.Errorf("%d cache files left (err %v), want %d", n, err, want)
			}
		})
	}
}

func TestClearPrivate(t *testing.T) {
	code, out, errOut := runArgs("clear", "-y", "--cache", "memory://")
	if code != 0 || out != "cleared: memory://\n" || !strings.Contains(errOut, "nothing to clear") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestStats(t *testing.T) {
	dir := t.TempDir()
	url := "file://" + dir + "?key_prefix=site&version=2&timeout=60"
	for _, k := range []string{"a", "b", "c"} {
		if code, _, errOut := runArgs("set", "--cache", url, k, "value"); code != 0 {
			t.Fatalf("set: %s", errOut)
		}
	}
	if code, _, _ := runArgs("delete", "--cache", url, "c"); code != 0 {
		t.Fatal("delete failed")
	}
	tests := []struct {
		name     string
		url      string
		want     []string // lines of stdout, in order
		stderrIn string
	}{
		{"file", url, []string{
			"cache: " + url,
			"backend: file (Django's FileBasedCache format) (*file.Store)",
			`key prefix: "site"`,
			"version: 2",
			"default timeout: 1m0s",
			"probe: ok (looked up site:2:fragcache.stats.probe in ",
			"directory: " + dir,
			"cache files: 2 (",
			"counters: hits 0, misses 0, sets 0, deletes 0, errors 0 (this process only)",
		}, ""},
		{"file with stampede protection", "file://" + dir + "?lease=1&lease_ttl=5s&grace=30s", []string{
			"counters: hits 0, misses 0, sets 0, deletes 0, errors 0 (this process only)",
			"stampede: lease=1&lease_ttl=5s&grace=30s: leases won 0, lost 0, expired 0; waits 0 (0s), wait timeouts 0; stale served 0; refreshes 0 (early 0, background 0) (this process only)",
		}, ""},
		{"empty file directory", "file://" + filepath.Join(dir, "new") + "?timeout=none", []string{
			`key prefix: ""`,
			"version: 1",
			"default timeout: none (values never expire)",
			"cache files: 0 (0 bytes;",
		}, ""},
		{"memory", "memory://?max_entries=10", []string{
			"cache: memory://?max_entries=10",
			"backend: memory (in-process LRU) (*memory.Store)",
			"probe: ok",
			"entries: 0 (",
			"bytes: 0",
			"counters:",
		}, "lives inside one process"},
		{"dummy", "dummy://", []string{
			"backend: dummy (stores nothing) (*dummy.Backend)",
			"probe: ok",
		}, "lives inside one process"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runArgs("stats", "--cache", tt.url)
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			lines := strings.Split(out, "\n")
			i := 0
			for _, want := range tt.want {
				for i < len(lines) && !strings.HasPrefix(lines[i], want) {
					i++
				}
				if i == len(lines) {
					t.Errorf("stdout has no line %q (in order):\n%s", want, out)
					break
				}
			}
			if !strings.Contains(tt.url, "lease=") && strings.Contains(out, "stampede:") {
				t.Errorf("a stampede line without stampede protection:\n%s", out)
			}
			if !strings.Contains(errOut, tt.stderrIn) || tt.stderrIn == "" && errOut != "" {
				t.Errorf("stderr %q, want it to contain %q", errOut, tt.stderrIn)
			}
		})
	}
}

// failing is a backend whose every operation fails.
type failing struct{ *dummy.Backend }

var errDown = errors.New("backend down")

func (failing) Get(context.Context, string) ([]byte, bool, error) { return nil, false, errDown }
func (failing) Has(context.Context, string) (bool, error)         { return false, errDown }

// extra is a backend with optional stats.
type extra struct{ *dummy.Backend }

func (extra) Len() int                       { return 7 }
func (extra) Stats() map[string]string       { return map[string]string{"zeta": "last", "alpha": "first"} }
func (extra) Servers() []string              { return []string{"s1", "s2"} }
func (extra) Ping(ctx context.Context) error { return errDown }

func TestStatsOptionalMethods(t *testing.T) {
	ctx := context.Background()
	t.Run("fail-open wrapper", func(t *testing.T) {
		w, err := failopen.New(failing{dummy.New()})
		if err != nil {
			t.Fatal(err)
		}
		cc, err := cache.New(w)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		r := &report{w: &out}
		probe(ctx, r, cc)
		describe(ctx, r, cc.Backend())
		for _, want := range []string{
			"probe: failed: backend down (an error the fail-open wrapper hid)\n",
			"breaker: closed\n",
			"breaker failures: 1 in a row, 1 in all (0 timeouts)\n",
			"breaker last error: backend down (at ",
			"wrapped backend: main.failing\n",
		} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("no %q in\n%s", want, out.String())
			}
		}
		if !r.failed {
			t.Error("a failed probe does not fail the report")
		}
	})
	t.Run("extra methods", func(t *testing.T) {
		var out bytes.Buffer
		r := &report{w: &out}
		describe(ctx, r, extra{dummy.New()})
		want := "servers: s1, s2\nping: failed: backend down\nentries: 7 (expired ones included until removed)\nalpha: first\nzeta: last\n"
		if out.String() != want || !r.failed {
			t.Errorf("got (failed %v)\n%s\nwant\n%s", r.failed, out.String(), want)
		}
	})
}

// deadAddr returns the address of a TCP port nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skip("no loopback:", err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestUnreachable checks that the errors a fail-open cache swallows are
// errors for the commands, not misses.
func TestUnreachable(t *testing.T) {
	addr := deadAddr(t)
	for _, scheme := range []string{"memcached", "redis"} {
		url := scheme + "://" + addr
		tests := []struct {
			args     []string
			stderrIn string
		}{
			{[]string{"get", "--cache", url, "k"}, "the fail-open wrapper hid"},
			{[]string{"set", "--cache", url, "k", "v"}, "the fail-open wrapper hid"},
			{[]string{"delete", "--cache", url, "k"}, "the fail-open wrapper hid"},
			{[]string{"invalidate", "--cache", url, "f"}, "the fail-open wrapper hid"},
			{[]string{"clear", "-y", "--cache", url}, "clearing " + url},
			{[]string{"stats", "--cache", url}, ""},
			{[]string{"get", "--cache", url + "?failopen=0", "k"}, "getting \":1:k\""},
		}
		for _, tt := range tests {
			code, out, errOut := runArgs(tt.args...)
			if code != 1 || !strings.Contains(errOut, tt.stderrIn) || strings.Contains(errOut, "Usage:") {
				t.Errorf("%q: exit %d, stdout %q, stderr %q; want 1, %q", tt.args, code, out, errOut, tt.stderrIn)
			}
			if tt.args[0] == "stats" && !strings.Contains(out, "probe: failed: ") {
				t.Errorf("stats: stdout %q", out)
			}
		}
	}
}

func TestCommandOperationalError(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	url := "file://" + blocker + "/cache"
	for _, args := range [][]string{
		{"get", "--cache", url, "k"},
		{"set", "--cache", url, "k", "v"},
		{"delete", "--cache", url, "k"},
		{"clear", "-y", "--cache", url},
		{"stats", "--cache", url},
	} {
		code, out, errOut := runArgs(args...)
		if code != 1 || !strings.Contains(errOut, "opening the cache") || strings.Contains(errOut, "Usage:") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 1 with an error and no usage", args, code, out, errOut)
		}
	}
}

func TestEnvironment(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	urlA, urlB := "file://"+dirA+"?key_prefix=env", "file://"+dirB
	t.Setenv(cacheEnv, urlA)
	steps := []step{
		{args: []string{"set", "k", "from env"}, stdout: "stored: k (made key env:1:k, 8 bytes, expires in 5m0s)\n"},
		{args: []string{"get", "k"}, stdout: "from env\n"},
		{args: []string{"get", "--cache", urlA, "k"}, stdout: "from env\n"},
		// --cache wins over the environment.
		{args: []string{"get", "--cache", urlB, "k"}, code: 3, stderrIn: "not found"},
		{args: []string{"set", "--cache", urlB, "k", "from flag"}, stdoutIn: "made key :1:k"},
		{args: []string{"get", "k"}, stdout: "from env\n"},
		{args: []string{"get", "--cache", urlB, "k"}, stdout: "from flag\n"},
		{args: []string{"invalidate", "f"}, code: 3, stdoutIn: "deleted: no"},
		{args: []string{"stats"}, stdoutIn: "cache: " + urlA + "\n"},
		{args: []string{"delete", "k"}, stdout: "deleted: k\n"},
		{args: []string{"clear", "-y"}, stdout: "cleared: " + urlA + "\n"},
		{args: []string{"get", "--cache", "", "k"}, code: 2, stderrIn: "empty --cache URL"},
	}
	for _, s := range steps {
		s.run(t, "", "")
	}
	t.Setenv(cacheEnv, "nope://x")
	(step{args: []string{"get", "k"}, code: 2, stderrIn: "bad " + cacheEnv + " URL"}).run(t, "", "")
	(step{args: []string{"get", "--cache", urlB, "k"}, stdout: "from flag\n"}).run(t, "", "")
	t.Setenv(cacheEnv, "")
	(step{args: []string{"get", "k"}, code: 2, stderrIn: "missing --cache URL (or $" + cacheEnv + ")"}).run(t, "", "")
}

func TestCommandUsage(t *testing.T) {
	url := "file://" + t.TempDir()
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // substring of stdout ("" = stdout must be empty)
		stderr string // substring of stderr ("" = stderr must be empty)
	}{
		{"help lists get", []string{"help"}, 0, "  get         print the value stored under a key\n", ""},
		{"help lists stats", []string{"help"}, 0, "  stats       describe a cache", ""},
		{"help shows status 3", []string{"help"}, 0, "3 key not found", ""},
		{"help get", []string{"help", "get"}, 0, "Usage: fragcache get --cache URL", ""},
		{"help set", []string{"help", "set"}, 0, "-ttl SECONDS", ""},
		{"help delete", []string{"help", "delete"}, 0, "Usage: fragcache delete", ""},
		{"help clear", []string{"help", "clear"}, 0, "\n  -y\tclear without asking", ""},
		{"help stats", []string{"help", "stats"}, 0, "fragcache.stats.probe", ""},
		{"get -h", []string{"get", "-h"}, 0, "-raw", ""},
		{"get --help", []string{"get", "--help"}, 0, "status 3", ""},
		{"set -h", []string{"set", "-h"}, 0, "Usage: fragcache set", ""},
		{"set --help", []string{"set", "--help"}, 0, "printf - | fragcache set KEY -", ""},
		{"delete -h", []string{"delete", "-h"}, 0, "Usage: fragcache delete", ""},
		{"delete --help", []string{"delete", "--help"}, 0, "-prefix", ""},
		{"clear -h", []string{"clear", "-h"}, 0, "Usage: fragcache clear", ""},
		{"clear --help", []string{"clear", "--help"}, 0, "FLUSHDB", ""},
		{"stats -h", []string{"stats", "-h"}, 0, "Usage: fragcache stats", ""},
		{"stats --help", []string{"stats", "--help"}, 0, cacheEnv, ""},
		{"help after flags", []string{"get", "--cache", url, "-h"}, 0, "Usage: fragcache get", ""},

		{"get no cache", []string{"get", "k"}, 2, "", "missing --cache URL"},
		{"set no cache", []string{"set", "k", "v"}, 2, "", "missing --cache URL"},
		{"delete no cache", []string{"delete", "k"}, 2, "", "missing --cache URL"},
		{"clear no cache", []string{"clear", "-y"}, 2, "", "missing --cache URL"},
		{"stats no cache", []string{"stats"}, 2, "", "missing --cache URL"},
		{"get no KEY", []string{"get", "--cache", url}, 2, "", "missing KEY"},
		{"get empty KEY", []string{"get", "--cache", url, ""}, 2, "", "KEY is empty"},
		{"get two keys", []string{"get", "--cache", url, "a", "b"}, 2, "", "too many arguments"},
		{"get flag after KEY is a flag", []string{"get", "--cache", url, "k", "--raw"}, 3, "", "not found: k"},
		{"unknown flag after KEY", []string{"get", "--cache", url, "k", "--frob"}, 2, "", `goes after "--"`},
		{"get unknown flag", []string{"get", "--cache", url, "--frob", "k"}, 2, "", "flag provided but not defined: -frob"},
		{"get bad timeout", []string{"get", "--cache", url, "--timeout", "-1s", "k"}, 2, "", "--timeout must be positive"},
		{"get bad version", []string{"get", "--cache", url, "--version", "x", "k"}, 2, "", "invalid value"},
		{"set no VALUE", []string{"set", "--cache", url, "k"}, 2, "", "missing KEY VALUE"},
		{"set nothing", []string{"set", "--cache", url}, 2, "", "missing KEY VALUE"},
		{"set empty KEY", []string{"set", "--cache", url, "", "v"}, 2, "", "KEY is empty"},
		{"set flag after VALUE is a flag", []string{"set", "--cache", url, "k", "v", "--ttl", "5"}, 0, "expires in 5s", ""},
		{"set bad ttl", []string{"set", "--cache", url, "--ttl", "soon", "k", "v"}, 2, "", `bad --ttl "soon"`},
		{"set zero ttl", []string{"set", "--cache", url, "--ttl", "0", "k", "v"}, 2, "", `bad --ttl "0"`},
		{"set negative ttl", []string{"set", "--cache", url, "--ttl", "-5", "k", "v"}, 2, "", `bad --ttl "-5"`},
		{"set empty ttl", []string{"set", "--cache", url, "--ttl", "", "k", "v"}, 2, "", `bad --ttl ""`},
		{"delete no KEY", []string{"delete", "--cache", url}, 2, "", "missing KEY..."},
		{"delete empty KEY", []string{"delete", "--cache", url, "a", ""}, 2, "", "KEY is empty"},
		{"clear argument", []string{"clear", "--cache", url, "everything"}, 2, "", `unexpected argument "everything"`},
		{"stats argument", []string{"stats", "--cache", url, "x"}, 2, "", `unexpected argument "x"`},
		{"clear -y with a value", []string{"clear", "--cache", url, "-y=maybe"}, 2, "", "invalid boolean value"},
	}
	for _, cmd := range [][]string{
		{"get", "k"}, {"set", "k", "v"}, {"delete", "k"}, {"clear", "-y"}, {"stats"}, {"invalidate", "f"},
	} {
		for _, bad := range []struct{ url, msg string }{
			{"nope://x", `unknown URL scheme: "nope"`},
			{"/tmp/x", "has no scheme"},
			{"file://relative", "not an absolute path"},
			{"memory://?frob=1", `unknown option "frob"`},
			{"memcached://127.0.0.1:1?op_timeout=soon", "op_timeout"},
		} {
			args := append([]string{cmd[0], "--cache", bad.url}, cmd[1:]...)
			tests = append(tests, struct {
				name   string
				args   []string
				code   int
				stdout string
				stderr string
			}{cmd[0] + " " + bad.url, args, 2, "", "bad --cache URL"})
			tests = append(tests, struct {
				name   string
				args   []string
				code   int
				stdout string
				stderr string
			}{cmd[0] + " " + bad.url + " message", args, 2, "", bad.msg})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runArgs(tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, errOut)
			}
			if tt.stdout == "" && out != "" || !strings.Contains(out, tt.stdout) {
				t.Errorf("stdout %q, want it to contain %q", out, tt.stdout)
			}
			if tt.stderr == "" && errOut != "" || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("stderr %q, want it to contain %q", errOut, tt.stderr)
			}
			if tt.code == 2 && !strings.Contains(errOut, "Usage:") {
				t.Errorf("usage error without usage: %q", errOut)
			}
		})
	}
}

// TestHelpListsEveryCommand checks that help has one line per command and
// that every command's help works.
func TestHelpListsEveryCommand(t *testing.T) {
	_, out, _ := runArgs("help")
	for _, c := range commands() {
		if !strings.Contains(out, "\n  "+c.usage+"\n") {
			t.Errorf("help lacks the usage of %s", c.name)
		}
		if strings.Count(out, "\n  "+c.name+" ") != 1 {
			t.Errorf("help lists %s other than once:\n%s", c.name, out)
		}
		for _, args := range [][]string{{"help", c.name}, {c.name, "-h"}, {c.name, "--help"}} {
			code, got, errOut := runArgs(args...)
			if code != 0 || !strings.HasPrefix(got, "Usage: "+c.usage+"\n") || errOut != "" {
				t.Errorf("%q: exit %d, stdout %.60q, stderr %q", args, code, got, errOut)
			}
		}
	}
}

func TestIsInteractive(t *testing.T) {
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tests := []struct {
		name string
		r    io.Reader
		want bool
	}{
		{"strings.Reader", strings.NewReader("y\n"), false},
		{"terminal", tty{strings.NewReader("")}, true},
		{"/dev/null", null, false},
		{"pipe", r, false},
		{"regular file", f, false},
		{"nil file", (*os.File)(nil), false},
	}
	for _, tt := range tests {
		if got := isInteractive(tt.r); got != tt.want {
			t.Errorf("%s: isInteractive = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestIsText(t *testing.T) {
	tests := []struct {
		v    string
		want bool
	}{
		{"", true},
		{"hello\n", true},
		{"tab\tcr\r\nlf\n", true},
		{"héllo ☃", true},
		{"\x00", false},
		{"esc\x1b[0m", false},
		{"del\x7f", false},
		{"c1\u0085", false},
		{"\xff", false},
		{"cut \xe2\x98", false},
	}
	for _, tt := range tests {
		if got := isText([]byte(tt.v)); got != tt.want {
			t.Errorf("isText(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
}
