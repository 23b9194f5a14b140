package golden

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestCopiesMatchShared fails when the copies in data/ drift from the vectors
// beside the checkout (../shared/golden/out), which CI always has.
func TestCopiesMatchShared(t *testing.T) {
	shared := filepath.Join("..", "..", "..", "shared", "golden", "out")
	if _, err := os.Stat(shared); err != nil {
		t.Skipf("no shared vectors beside the checkout (%v)", err)
	}
	names, err := Names()
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("no embedded vector files")
	}
	for _, name := range names {
		if fromLocalScript(name) {
			continue // produced by scripts/ in this repository, not by the shared ones
		}
		want, err := os.ReadFile(filepath.Join(shared, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		got, err := files.ReadFile("data/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s: copy the new vectors into internal/golden/data", name, shared)
		}
	}
}

// fromLocalScript reports whether a vector file comes from a generator kept
// in this repository (scripts/<script>.py) rather than from ../shared/golden.
func fromLocalScript(name string) bool {
	script, _, ok := strings.Cut(name, "__django-")
	if !ok {
		return false
	}
	_, err := os.Stat(filepath.Join("scripts", script+".py"))
	return err == nil
}

func TestLocalScriptVectors(t *testing.T) {
	for _, v := range []string{"3.2.25", Newest} {
		var doc struct {
			DjangoVersion string            `json:"django_version"`
			Cases         []json.RawMessage `json:"cases"`
		}
		if err := Decode("template_fidelity", v, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.DjangoVersion != v || len(doc.Cases) == 0 {
			t.Errorf("template_fidelity %s: django_version %q, %d cases", v, doc.DjangoVersion, len(doc.Cases))
		}
	}
}

func TestDecode(t *testing.T) {
	for _, v := range Versions {
		var doc struct {
			DjangoVersion string `json:"django_version"`
		}
		if err := Decode("fragment_keys", v, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.DjangoVersion != v {
			t.Errorf("fragment_keys %s: django_version %q", v, doc.DjangoVersion)
		}
	}
	if _, err := Read("nope", "1.0"); err == nil {
		t.Error("Read of a missing file: no error")
	}
}

// TestBackendAPISet: the set cache/cachetest embeds holds the backend_api
// vectors, the same as Decode reads, and nothing else.
func TestBackendAPISet(t *testing.T) {
	entries, err := fs.ReadDir(backendAPIFiles, "data")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(Versions) {
		t.Errorf("%d files in the backend_api set, want one per version (%d)", len(entries), len(Versions))
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "backend_api__") {
			t.Errorf("the backend_api set embeds %s", e.Name())
		}
	}
	for _, v := range Versions {
		var got, want any
		if err := DecodeBackendAPI(v, &got); err != nil {
			t.Fatal(err)
		}
		if err := Decode("backend_api", v, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("DecodeBackendAPI(%q) differs from Decode", v)
		}
	}
	if err := DecodeBackendAPI("1.0", new(any)); err == nil {
		t.Error("DecodeBackendAPI of a missing version: no error")
	}
}
