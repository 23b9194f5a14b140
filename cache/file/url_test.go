package file

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fragcache/fragcache/cache"
)

// want is the configuration a URL should give.
type want struct {
	maxEntries, cullFrequency int
	maxValueSize              int64
}

func TestOpenURL(t *testing.T) {
	tmp := t.TempDir()
	esc := (&url.URL{Path: tmp}).EscapedPath()
	good := []struct {
		raw  string
		dir  string
		want want
	}{
		{"file://" + esc + "/a", tmp + "/a", want{maxEntries: 300, cullFrequency: 3}},
		{"file://" + esc + "/b/?max_entries=10&cull_frequency=2", tmp + "/b", want{maxEntries: 10, cullFrequency: 2}},
		{"file://" + esc + "/c?cull_frequency=0", tmp + "/c", want{maxEntries: 300, cullFrequency: CullAll}},
		{"file://" + esc + "/with%20space/%C3%A9?max_value_size=1MiB", tmp + "/with space/é", want{maxEntries: 300, cullFrequency: 3, maxValueSize: 1 << 20}},
		{"FILE://localhost" + esc + "/d?max_value_size=0", tmp + "/d", want{maxEntries: 300, cullFrequency: 3}},
		{"file://" + esc + "/e/../f#frag", tmp + "/f", want{maxEntries: 300, cullFrequency: 3}},
	}
	for _, tc := range good {
		t.Run(tc.raw, func(t *testing.T) {
			u, err := cache.ParseURL(tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Open(u)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer b.Close()
			if err := u.CheckAllRead(); err != nil {
				t.Errorf("CheckAllRead: %v", err)
			}
			s := b.(*Store)
			if s.Dir() != filepath.Clean(tc.dir) || s.maxEntries != tc.want.maxEntries || s.cullFrequency != tc.want.cullFrequency || s.maxValueSize != tc.want.maxValueSize {
				t.Errorf("store %q %d %d %d, want %q %d %d %d", s.Dir(), s.maxEntries, s.cullFrequency, s.maxValueSize,
					tc.dir, tc.want.maxEntries, tc.want.cullFrequency, tc.want.maxValueSize)
			}
		})
	}

	bad := []struct {
		raw    string
		naming string // in the error
	}{
		{"file://", "no directory"},
		{"file:///", "no directory"},
		{"file://?max_entries=3", "no directory"},
		{"file://var/tmp/x", "not an absolute path"},
		{"file://./x", "not an absolute path"},
		{"file://" + esc + "/%zz", "bad escape"},
		{"file://" + esc + "/a%00b", "NUL"},
		{"file://" + esc + "/x?max_entries=0", "max_entries"},
		{"file://" + esc + "/x?max_entries=-1", "max_entries"},
		{"file://" + esc + "/x?max_entries=many", "max_entries"},
		{"file://" + esc + "/x?cull_frequency=-1", "cull_frequency"},
		{"file://" + esc + "/x?cull_frequency=1.5", "cull_frequency"},
		{"file://" + esc + "/x?max_value_size=lots", "max_value_size"},
		{"file://" + esc + "/x?max_value_size=-5", "max_value_size"},
	}
	for _, tc := range bad {
		t.Run(tc.raw, func(t *testing.T) {
			u, err := cache.ParseURL(tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Open(u)
			if err == nil {
				b.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, cache.ErrInvalidOption) || !strings.Contains(err.Error(), tc.naming) {
				t.Errorf("Open: %v; want ErrInvalidOption mentioning %q", err, tc.naming)
			}
		})
	}

	t.Run("through cache.Open", func(t *testing.T) {
		schemes := cache.Schemes{"file": Open}
		c, err := cache.Open("file://"+esc+"/via?max_entries=5&timeout=60&key_prefix=p", schemes)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx := context.Background()
		if err := c.Set(ctx, "k", []byte("v"), cache.DefaultTimeout); err != nil {
			t.Fatal(err)
		}
		if v, ok, err := c.Get(ctx, "k"); err != nil || !ok || string(v) != "v" {
			t.Errorf("Get = %q, %v, %v", v, ok, err)
		}
		if !exists(filepath.Join(tmp, "via", FileName("p:1:k"))) {
			t.Error("no file for p:1:k")
		}
		_, err = cache.Open("file://"+esc+"/via?max_entry=5", schemes)
		if !errors.Is(err, cache.ErrInvalidOption) || !strings.Contains(err.Error(), "max_entry") {
			t.Errorf("unknown option: %v", err)
		}
	})
}
