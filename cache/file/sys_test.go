package file

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// sysImpl adapts one implementation of the file access functions: the
// platform's own (system calls on Linux) and the os-package one that other
// platforms use.
type sysImpl struct {
	name string
	// read returns, besides readFile's results, a function reporting
	// whether path still names the file read.
	read      func(path string, whole bool) (buf []byte, size int64, short bool, same func() (bool, error), err error)
	writeTemp func(dir string, data []byte) (string, error)
	listDir   func(dir string, fn func(name []byte)) error
}

func sysImpls() []sysImpl {
	return []sysImpl{
		{
			name: "native",
			read: func(path string, whole bool) ([]byte, int64, bool, func() (bool, error), error) {
				buf, size, id, short, err := readFile(path, whole)
				return buf, size, short, func() (bool, error) { return sameFile(path, id) }, err
			},
			writeTemp: writeTemp,
			listDir:   listDir,
		},
		{
			name: "os",
			read: func(path string, whole bool) ([]byte, int64, bool, func() (bool, error), error) {
				buf, size, id, short, err := osReadFile(path, whole)
				return buf, size, short, func() (bool, error) { return osSameFile(path, id) }, err
			},
			writeTemp: osWriteTemp,
			listDir:   osListDir,
		},
	}
}

func TestSys(t *testing.T) {
	for _, impl := range sysImpls() {
		t.Run(impl.name, func(t *testing.T) {
			dir := t.TempDir()
			data := encode(1, true, bytes.Repeat([]byte("ab"), 5000))

			// writeTemp: a private, hidden, non-cache file with the data.
			tmp, err := impl.writeTemp(dir, data)
			if err != nil {
				t.Fatal(err)
			}
			base := filepath.Base(tmp)
			if filepath.Dir(tmp) != dir || !strings.HasPrefix(base, tmpPrefix) || !strings.HasSuffix(base, tmpSuffix) || isCacheFile([]byte(base)) {
				t.Errorf("temporary file %q", tmp)
			}
			if fi, err := os.Stat(tmp); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("temporary file: %v, %v", fi, err)
			}
			path := filepath.Join(dir, "a"+Suffix)
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
			if _, err := impl.writeTemp(filepath.Join(dir, "missing"), data); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("writeTemp into a missing dir: %v", err)
			}

			// read, whole and header only.
			buf, size, short, same, err := impl.read(path, true)
			if err != nil || short || size != int64(len(data)) || !bytes.Equal(buf, data) {
				t.Errorf("read whole = %d bytes, %d, %v, %v", len(buf), size, short, err)
			}
			hdr, size, short, _, err := impl.read(path, false)
			if err != nil || short || size != int64(len(data)) || !bytes.Equal(hdr, data[:headerLen]) {
				t.Errorf("read header = %d bytes, %d, %v, %v", len(hdr), size, short, err)
			}
			if ok, err := same(); !ok || err != nil {
				t.Errorf("same = %v, %v", ok, err)
			}
			// A new file renamed over it is not the same file.
			tmp2, err := impl.writeTemp(dir, data)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp2, path); err != nil {
				t.Fatal(err)
			}
			if ok, err := same(); ok || err != nil {
				t.Errorf("same after replace = %v, %v", ok, err)
			}
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if ok, err := same(); ok || err != nil {
				t.Errorf("same after remove = %v, %v", ok, err)
			}

			// Missing, short, directory.
			if _, _, _, _, err := impl.read(path, true); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("read missing: %v", err)
			}
			shortPath := filepath.Join(dir, "short"+Suffix)
			if err := os.WriteFile(shortPath, data[:10], 0o600); err != nil {
				t.Fatal(err)
			}
			for _, whole := range []bool{false, true} {
				if _, _, short, _, err := impl.read(shortPath, whole); !short || err != nil {
					t.Errorf("read short (whole %v) = %v, %v", whole, short, err)
				}
			}
			subdir := filepath.Join(dir, "sub"+Suffix)
			if err := os.Mkdir(subdir, 0o700); err != nil {
				t.Fatal(err)
			}
			if _, _, _, _, err := impl.read(subdir, true); !errors.Is(err, errNotRegular) || !strings.Contains(err.Error(), subdir) {
				t.Errorf("read dir: %v", err)
			}

			// listDir: regular files only.
			var names []string
			if err := impl.listDir(dir, func(name []byte) { names = append(names, string(name)) }); err != nil {
				t.Fatal(err)
			}
			sort.Strings(names)
			if strings.Join(names, ",") != "short"+Suffix {
				t.Errorf("listDir = %v", names)
			}
			if err := impl.listDir(filepath.Join(dir, "missing"), func([]byte) {}); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("listDir(missing) = %v", err)
			}
		})
	}
}

func TestListDirMany(t *testing.T) {
	// More entries than one getdents buffer holds.
	dir := t.TempDir()
	want := map[string]bool{}
	for i := range 700 {
		name := FileName(strings.Repeat("k", i))
		want[name] = true
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, impl := range sysImpls() {
		got := map[string]bool{}
		if err := impl.listDir(dir, func(name []byte) { got[string(name)] = true }); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Errorf("%s: listed %d names, want %d", impl.name, len(got), len(want))
		}
		for name := range want {
			if !got[name] {
				t.Errorf("%s: %s not listed", impl.name, name)
				break
			}
		}
	}
}

func TestIsCacheFile(t *testing.T) {
	for name, want := range map[string]bool{
		"caefb14ff4ce0f4c864ec16f67a0dc89.djcache": true,
		"x.djcache":          true,
		".djcache":           false,
		".hidden.djcache":    false,
		"x.djcache.tmp":      false,
		".fragcache-123.tmp": false,
		"djcache":            false,
		"":                   false,
		"x.DJCACHE":          false,
	} {
		if got := isCacheFile([]byte(name)); got != want {
			t.Errorf("isCacheFile(%q) = %v", name, got)
		}
	}
}
