// Package golden gives tests the vectors produced by running real Django
// (3.2.25, 5.2.19 and 6.1.1) through the scripts in the project's shared
// golden/ folder. The JSON files are copied into data/ so that a fresh clone
// runs its tests without anything beside it; TestCopiesMatchShared checks the
// copies against ../shared/golden/out whenever that folder exists.
//
// The template_fidelity vectors (Django's built-in tags and filters rendered
// by real Django, for templates_test's fidelity table) come instead from
// scripts/template_fidelity.py in this repository; scripts/README.md says how
// to regenerate them.
package golden

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
)

//go:embed data/*.json
var files embed.FS

// backendAPIFiles are the backend_api vectors alone: cache/cachetest, which
// the tests of other modules' backends link, reads them through
// DecodeBackendAPI and so embeds none of the others.
//
//go:embed data/backend_api__*.json
var backendAPIFiles embed.FS

// Versions lists the Django versions the vectors were produced with, oldest
// first.
var Versions = []string{"3.2.25", "5.2.19", "6.1.1"}

// Newest is the newest Django version with vectors.
const Newest = "6.1.1"

// Read returns the raw JSON of one vector file, e.g. Read("fragment_keys", "6.1.1").
func Read(script, version string) ([]byte, error) {
	return read(files, script, version)
}

// Decode reads one vector file and unmarshals it into v.
func Decode(script, version string, v any) error {
	return decode(files, script, version, v)
}

// DecodeBackendAPI is Decode("backend_api", version, v), from an embedded
// set holding only the backend_api vectors: a package calling it, and not
// Read or Decode, links no other vectors.
func DecodeBackendAPI(version string, v any) error {
	return decode(backendAPIFiles, "backend_api", version, v)
}

func read(fsys fs.FS, script, version string) ([]byte, error) {
	b, err := fs.ReadFile(fsys, fmt.Sprintf("data/%s__django-%s.json", script, version))
	if err != nil {
		return nil, fmt.Errorf("golden: %w", err)
	}
	return b, nil
}

func decode(fsys fs.FS, script, version string, v any) error {
	b, err := read(fsys, script, version)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("golden: %s %s: %w", script, version, err)
	}
	return nil
}

// Names lists the embedded file names (without the data/ folder).
func Names() ([]string, error) {
	entries, err := fs.ReadDir(files, "data")
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, nil
}
