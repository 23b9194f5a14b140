package cache

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseURL(t *testing.T) {
	u, err := ParseURL("Memcached://10.0.0.1:11211;10.0.0.2:11211?timeout=60#frag")
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "memcached" || u.Location != "10.0.0.1:11211;10.0.0.2:11211" {
		t.Errorf("got scheme %q location %q", u.Scheme, u.Location)
	}
	if to, err := u.Timeout("timeout", DefaultTimeout); err != nil || to != Seconds(60) {
		t.Errorf("timeout = %v, %v", to, err)
	}
	if err := u.CheckAllRead(); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"", "memory", "://x", "1mem://", "memory://?a=1&a=2", "memory://?%zz"} {
		if _, err := ParseURL(bad); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("ParseURL(%q) = %v, want ErrInvalidOption", bad, err)
		}
	}
}

func TestURLGetters(t *testing.T) {
	u, err := ParseURL("x://loc?n=12&b=yes&d=1.5&d2=200ms&s=64MiB&t=none&bad=zz&neg=-1")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := u.Int("n", 0, 0, 100); n != 12 || err != nil {
		t.Errorf("Int = %d, %v", n, err)
	}
	if b, err := u.Bool("b", false); !b || err != nil {
		t.Errorf("Bool = %v, %v", b, err)
	}
	if d, err := u.Duration("d", 0); d != 1500*time.Millisecond || err != nil {
		t.Errorf("Duration = %v, %v", d, err)
	}
	if d, err := u.Duration("d2", 0); d != 200*time.Millisecond || err != nil {
		t.Errorf("Duration = %v, %v", d, err)
	}
	if s, err := u.Size("s", 0); s != 64<<20 || err != nil {
		t.Errorf("Size = %d, %v", s, err)
	}
	if to, err := u.Timeout("t", DefaultTimeout); to != Forever || err != nil {
		t.Errorf("Timeout = %v, %v", to, err)
	}
	if got := u.Unread(); len(got) != 2 || got[0] != "bad" || got[1] != "neg" {
		t.Errorf("Unread = %v", got)
	}
	if err := u.CheckAllRead(); err == nil || !strings.Contains(err.Error(), `"bad"`) {
		t.Errorf("CheckAllRead = %v, want it to name \"bad\"", err)
	}
	// Every getter names the option and the value it rejects.
	checks := map[string]func() error{
		"bad-int":  func() error { _, err := u.Int("bad", 0, 0, 9); return err },
		"range":    func() error { _, err := u.Int("n", 0, 0, 9); return err },
		"bool":     func() error { _, err := u.Bool("bad", false); return err },
		"duration": func() error { _, err := u.Duration("neg", 0); return err },
		"size":     func() error { _, err := u.Size("neg", 0); return err },
		"timeout":  func() error { _, err := u.Timeout("bad", 0); return err },
	}
	for name, f := range checks {
		err := f()
		if !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%s: %v, want ErrInvalidOption", name, err)
		}
	}
	if n, err := u.Int("absent", 7, 0, 9); n != 7 || err != nil {
		t.Errorf("absent Int = %d, %v", n, err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "65536": 65536, "64KiB": 64 << 10, "64kb": 64000, "1.5MB": 1500000,
		"2g": 2e9, "1GiB": 1 << 30, " 10 B ": 10, "3MiB": 3 << 20,
	} {
		if got, err := ParseSize(in); got != want || err != nil {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "MiB", "-1", "1TB", "x", "1e400", "nan"} {
		if _, err := ParseSize(bad); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("ParseSize(%q): %v, want ErrInvalidOption", bad, err)
		}
	}
}

func TestRedactedPassword(t *testing.T) {
	u, err := ParseURL("redis://user:s3cret@host:6379/0?bogus=1")
	if err != nil {
		t.Fatal(err)
	}
	err = u.CheckAllRead()
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("error %v: want the option named and the password hidden", err)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"redis://:pw@h:6379/0":                        "redis://:xxxxx@h:6379/0",
		"redis://u:pw@h1;v:pw2@h2?db=1":               "redis://u:xxxxx@h1;v:xxxxx@h2?db=1",
		"redis://h?password=pw&Token=t&db=1#x":        "redis://h?password=xxxxx&Token=xxxxx&db=1#x",
		"memcached://a:1,b:2?op_timeout=1s":           "memcached://a:1,b:2?op_timeout=1s",
		"redis://user@h":                              "redis://user@h",
		"no scheme at all :pw@":                       "no scheme at all :pw@",
		"redis://h?password":                          "redis://h?password",
		"file:///var/tmp/c?key_prefix=site":           "file:///var/tmp/c?key_prefix=site",
		"rediss://user:s%40cret@h:6380/0?pool_size=3": "rediss://user:xxxxx@h:6380/0?pool_size=3",
		"redis://:a@h1:6379;:b@h2:6379/1":             "redis://:xxxxx@h1:6379;:xxxxx@h2:6379/1",
		"redis://:a@h1/1;redis://:b@h2/1":             "redis://:xxxxx@h1/1;redis://:xxxxx@h2/1",
		"redis://h?db=2&PASSWORD=secret":              "redis://h?db=2&PASSWORD=xxxxx",
		"redis://h?pass%77ord=secret":                 "redis://h?pass%77ord=xxxxx",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	u, err := ParseURL("redis://h?password=s3cret&timeout=soon")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Timeout("timeout", 0); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("getter error leaks the password: %v", err)
	}
	if _, err := ParseURL("redis://h?password=s3cret&a=1&a=2"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("ParseURL error leaks the password: %v", err)
	}
}
