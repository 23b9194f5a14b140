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
		// A password with an unencoded ";" or ",": its pieces look like servers.
		"redis://:pw;SECRET@h:6379":      "redis://?;xxxxx@h:6379",
		"redis://:pw,SECRET@h:6379?db=1": "redis://?,xxxxx@h:6379?db=1",
		"redis://u:a/b@h":                "redis://u:xxxxx@h",
		"redis://:a@h1:6379;h2:6379":     "redis://:xxxxx@h1:6379;h2:6379",
		"redis://h1;;u:p@h2":             "redis://?;;xxxxx@h2",
		"file:///var/tmp/a@b":            "file:///var/tmp/a@b",
		"memcached://h1:11211;;h2:11211": "memcached://h1:11211;;h2:11211",
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

func TestURLFloat(t *testing.T) {
	u, err := ParseURL("x://?f=0.25&big=3&nan=NaN&inf=Inf&word=half")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		def     float64
		want    float64
		wantErr bool
	}{
		{"f", 1, 0.25, false},
		{"absent", 0.5, 0.5, false},
		{"big", 0.5, 0.5, true},
		{"nan", 0.5, 0.5, true},
		{"inf", 0.5, 0.5, true},
		{"word", 0.5, 0.5, true},
	}
	for _, tt := range tests {
		got, err := u.Float(tt.name, tt.def, 0, 1)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("Float(%q) = %v, %v; want %v, error %v", tt.name, got, err, tt.want, tt.wantErr)
		}
		if err != nil && (!errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), tt.name+"=")) {
			t.Errorf("Float(%q): %v; want an ErrInvalidOption naming the option", tt.name, err)
		}
	}
}

// TestURLErrorsNameTheOption: every error about an option names the option
// and its value and never shows the URL; secret values are hidden.
func TestURLErrorsNameTheOption(t *testing.T) {
	const raw = "redis://user:URLPASS@host:6379/0?n=x&b=maybe&d=soon&s=lots&t=later&password=QPASS&token=TOK&key=KEYVAL"
	tests := []struct {
		name  string
		read  func(u *URL) error
		shows string // the option and its value, as the message shows them
	}{
		{"int", func(u *URL) error { _, err := u.Int("n", 0, 0, 9); return err }, `n="x"`},
		{"bool", func(u *URL) error { _, err := u.Bool("b", false); return err }, `b="maybe"`},
		{"duration", func(u *URL) error { _, err := u.Duration("d", 0); return err }, `d="soon"`},
		{"size", func(u *URL) error { _, err := u.Size("s", 0); return err }, `s="lots"`},
		{"timeout", func(u *URL) error { _, err := u.Timeout("t", 0); return err }, `t="later"`},
		{"password", func(u *URL) error { _, err := u.Int("password", 0, 0, 9); return err }, "password=xxxxx"},
		{"token", func(u *URL) error { return u.OptionError("token", "a token") }, "token=xxxxx"},
		{"declared secret", func(u *URL) error {
			var key string
			return u.Read(URLSecret("key", &key), URLFunc("key", "a key", func(string) error { return errors.New("no") }))
		}, "key=xxxxx"},
		{"unknown", func(u *URL) error { return u.CheckAllRead() }, `unknown option "b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := ParseURL(raw)
			if err != nil {
				t.Fatal(err)
			}
			err = tt.read(u)
			if !errors.Is(err, ErrInvalidOption) {
				t.Fatalf("%v, want ErrInvalidOption", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.shows) || !strings.Contains(msg, "redis cache URL") {
				t.Errorf("%q: want it to show %s in a redis cache URL", msg, tt.shows)
			}
			for _, leak := range []string{"URLPASS", "QPASS", "TOK", "KEYVAL", "host:6379"} {
				if strings.Contains(msg, leak) {
					t.Errorf("%q shows %q", msg, leak)
				}
			}
		})
	}
}

func TestURLRead(t *testing.T) {
	u, err := ParseURL("x://?on=yes&n=5&f=0.5&d=2s&s=1KiB&t=none&name=a&pw=p&mode=fast")
	if err != nil {
		t.Fatal(err)
	}
	var (
		on, off        = false, true
		n, absent      = 0, 42
		f              float64
		d              time.Duration
		size           int64
		to             = DefaultTimeout
		name, pw, mode string
	)
	err = u.Read(
		URLBool("on", &on),
		URLBool("off", &off),
		URLInt("n", &n, 1, 10),
		URLInt("absent", &absent, 1, 100),
		URLFloat("f", &f, 0, 1),
		URLDuration("d", &d),
		URLSize("s", &size),
		URLTimeout("t", &to),
		URLString("name", &name),
		URLSecret("pw", &pw),
		URLFunc("mode", "fast or slow", func(v string) error {
			if v != "fast" && v != "slow" {
				return errors.New("bad mode")
			}
			mode = v
			return nil
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !on || !off || n != 5 || absent != 42 || f != 0.5 || d != 2*time.Second || size != 1024 || to != Forever ||
		name != "a" || pw != "p" || mode != "fast" {
		t.Errorf("Read gave on=%v off=%v n=%d absent=%d f=%v d=%v size=%d to=%v name=%q pw=%q mode=%q",
			on, off, n, absent, f, d, size, to, name, pw, mode)
	}
	if err := u.CheckAllRead(); err != nil {
		t.Errorf("every option is in the table, yet %v", err)
	}
	if got := URLInt("n", &n, 0, 1).Name(); got != "n" {
		t.Errorf("Name() = %q", got)
	}
	// The first bad row stops Read with its error.
	u, _ = ParseURL("x://?n=99&mode=slowest")
	err = u.Read(URLInt("n", &n, 1, 10), URLFunc("mode", "fast or slow", func(string) error { return errors.New("no") }))
	if !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), `n="99"`) {
		t.Errorf("Read = %v, want the error of n", err)
	}
}
