package pickle

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecode checks that Decode and DecodePrefix never panic, fail with
// exactly one of the two sentinel errors, build nothing larger than their
// input, and that what they accept survives Encode and Decode again. The
// seed corpus is in testdata/fuzz/FuzzDecode (see TestWriteSeedCorpus).
//
//	go test -run '^$' -fuzz FuzzDecode -fuzztime 3m ./internal/pickle/
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		v, n, err := DecodePrefix(data)
		whole, wholeErr := Decode(data)
		if payload, ok := PlainPayload(data); ok {
			if wholeErr != nil {
				t.Fatalf("PlainPayload accepted what Decode refuses (%v)", wholeErr)
			}
			if b, plain := whole.PlainBytes(); !plain || string(b) != string(payload) {
				t.Fatalf("PlainPayload = %q, Decode's PlainBytes = %q, %v", payload, b, plain)
			}
		}
		if err != nil {
			if errors.Is(err, ErrMalformed) == errors.Is(err, ErrUnsupported) {
				t.Fatalf("error wraps neither or both sentinels: %v", err)
			}
			if n != 0 {
				t.Fatalf("DecodePrefix failed but consumed %d bytes", n)
			}
			if wholeErr == nil || wholeErr.Error() != err.Error() {
				t.Fatalf("Decode error %v, DecodePrefix error %v", wholeErr, err)
			}
			return
		}
		if n < 1 || n > len(data) || data[n-1] != opStop {
			t.Fatalf("DecodePrefix consumed %d of %d bytes", n, len(data))
		}
		if n == len(data) {
			if wholeErr != nil || !whole.Equal(v) {
				t.Fatalf("Decode = %v, %v; DecodePrefix = %v", whole, wholeErr, v)
			}
		} else if !errors.Is(wholeErr, ErrMalformed) {
			t.Fatalf("Decode with trailing data: %v, want ErrMalformed", wholeErr)
		}
		if size := len(v.Str) + len(v.Bytes); size > len(data) {
			t.Fatalf("decoded %d bytes from a %d-byte input", size, len(data))
		}
		if v.Kind == KindInt && v.Int.BitLen() > 8*len(data) {
			t.Fatalf("decoded a %d-bit int from a %d-byte input", v.Int.BitLen(), len(data))
		}
		enc, err := Encode(v)
		if err != nil {
			t.Fatalf("Encode(%+v): %v", v, err)
		}
		back, err := Decode(enc)
		if err != nil || !back.Equal(v) {
			t.Fatalf("Decode(Encode(%+v)) = %+v, %v", v, back, err)
		}
	})
}

// FuzzEncodeString checks that every Go string survives EncodeString and
// EncodeSafeString, and every byte string EncodeBytes.
func FuzzEncodeString(f *testing.F) {
	for _, s := range []string{"", "x", "<b>hi</b>", "café", "a\xffb", "\xed\xa0\x80", "\xed\xb3\xbf", strings.Repeat("é", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, err := Decode(EncodeString(s)); err != nil || !v.Equal(strValue(s)) {
			t.Fatalf("EncodeString(%q): %+v, %v", s, v, err)
		}
		if v, err := Decode(EncodeSafeString(s)); err != nil || !v.Equal(safeValue(s)) {
			t.Fatalf("EncodeSafeString(%q): %+v, %v", s, v, err)
		}
		if v, err := Decode(EncodeBytes([]byte(s))); err != nil || !v.Equal(bytesValue(s)) {
			t.Fatalf("EncodeBytes(%q): %+v, %v", s, v, err)
		}
	})
}

// TestWriteSeedCorpus rewrites testdata/fuzz/FuzzDecode from the test
// tables when FRAGCACHE_WRITE_PICKLE_CORPUS=1; otherwise it checks that
// every table entry is in the corpus.
func TestWriteSeedCorpus(t *testing.T) {
	seeds := map[string][]byte{}
	add := func(prefix string, data []byte) {
		sum := sha256.Sum256(data)
		seeds[fmt.Sprintf("%s-%x", prefix, sum[:6])] = data
	}
	for _, tc := range fixed {
		add("valid", unhex(t, tc.hex))
	}
	for _, s := range []string{"", "x", "<b>hi</b>", "café", "a\xffb", strings.Repeat("y", 300)} {
		add("valid", EncodeSafeString(s))
		add("valid", EncodeString(s))
	}
	for _, tc := range dangerous {
		add("dangerous", tc.data)
	}
	for _, tc := range malformed {
		add("malformed", tc.data)
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	write := os.Getenv("FRAGCACHE_WRITE_PICKLE_CORPUS") == "1"
	if write {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range seeds {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		path := filepath.Join(dir, name)
		if write {
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Errorf("seed %s missing or stale (run with FRAGCACHE_WRITE_PICKLE_CORPUS=1): %v", name, err)
		}
	}
}
