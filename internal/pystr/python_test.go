package pystr

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// pythonCheck is the script TestAgainstPython feeds: one "kind hex" line per
// value, answered by one line of repr() output per value.
const pythonCheck = `
import struct, sys, unicodedata
out = []
for line in sys.stdin:
    kind, _, h = line.rstrip("\n").partition(" ")
    b = bytes.fromhex(h)
    if kind == "f":
        v = struct.unpack("<d", b)[0]
    elif kind == "c":
        v = complex(*struct.unpack("<dd", b))
    elif kind == "s":
        v = b.decode("utf-8", "surrogateescape")
    elif kind == "b":
        v = b
    elif kind == "p":
        start, end = struct.unpack("<II", b)
        v = "".join("1" if chr(c).isprintable() else "0" for c in range(start, end))
        out.append(v)
        continue
    elif kind == "u":
        out.append(unicodedata.unidata_version)
        continue
    out.append(repr(v).encode("utf-8", "surrogateescape").hex())
sys.stdout.write("\n".join(out) + "\n")
`

// TestAgainstPython compares pystr with a real CPython on many random values.
// It runs only when PYSTR_PYTHON names a Python 3 interpreter, e.g.
//
//	PYSTR_PYTHON=python3 go test -run TestAgainstPython ./internal/pystr/
func TestAgainstPython(t *testing.T) {
	python := os.Getenv("PYSTR_PYTHON")
	if python == "" {
		t.Skip("set PYSTR_PYTHON=python3 to compare with CPython")
	}
	rng := rand.New(rand.NewPCG(1, 2))

	type query struct {
		kind string
		data []byte
		want func(line string) // checks Python's answer
	}
	var queries []query
	var pyVersion string
	printDiff := map[rune]bool{} // code points whose printability differs
	skipped := 0
	hexRepr := func(v any) func(string) {
		return func(line string) {
			b, err := hex.DecodeString(line)
			if err != nil {
				t.Fatalf("bad python output %q", line)
			}
			got := Repr(v)
			if got == string(b) {
				return
			}
			if s, ok := v.(string); ok && strings.IndexFunc(s, func(r rune) bool { return printDiff[r] }) >= 0 {
				skipped++ // differs only because the Unicode versions differ
				return
			}
			t.Errorf("Repr(%#v) = %q, Python %q", v, got, b)
		}
	}

	// Printability of every code point, compared only when Python's Unicode
	// database is Go's.
	queries = append(queries, query{"u", nil, func(line string) { pyVersion = line }})
	const chunk = 0x10000
	for start := 0; start < 0x110000; start += chunk {
		b := binary.LittleEndian.AppendUint32(nil, uint32(start))
		b = binary.LittleEndian.AppendUint32(b, uint32(start+chunk))
		queries = append(queries, query{"p", b, func(line string) {
			var diffs []rune
			for i, c := range line {
				r := rune(start + i)
				if (c == '1') != unicode.IsPrint(r) {
					diffs = append(diffs, r)
					printDiff[r] = true
				}
			}
			if len(diffs) == 0 {
				return
			}
			if pyVersion == unicode.Version {
				t.Errorf("printability differs from Python (Unicode %s) for %d code points, e.g. %U", pyVersion, len(diffs), diffs[0])
			} else {
				t.Logf("Python Unicode %s vs Go %s: %d code points in %#x..%#x differ in printability, e.g. %U",
					pyVersion, unicode.Version, len(diffs), start, start+chunk-1, diffs[0])
			}
		}})
	}

	// Floats: random bit patterns, random decimal magnitudes, and integers.
	for i := range 60000 {
		var x float64
		switch i % 3 {
		case 0:
			x = math.Float64frombits(rng.Uint64())
		case 1:
			x = (rng.Float64()*2 - 1) * math.Pow(10, float64(rng.IntN(44)-22))
		default:
			x = float64(rng.Int64N(1<<62)) / math.Pow(10, float64(rng.IntN(20)))
		}
		if i%7 == 0 {
			x = float64(float32(x))
		}
		b := binary.LittleEndian.AppendUint64(nil, math.Float64bits(x))
		queries = append(queries, query{"f", b, hexRepr(x)})
	}
	for range 5000 {
		re := math.Float64frombits(rng.Uint64())
		im := (rng.Float64() - 0.5) * math.Pow(10, float64(rng.IntN(40)-20))
		if rng.IntN(4) == 0 {
			re = 0
		}
		b := binary.LittleEndian.AppendUint64(nil, math.Float64bits(re))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(im))
		queries = append(queries, query{"c", b, hexRepr(complex(re, im))})
	}
	// Strings: random code points (any plane) mixed with random bytes.
	for range 20000 {
		var b []byte
		for range rng.IntN(12) {
			switch rng.IntN(5) {
			case 0:
				b = append(b, byte(rng.IntN(256)))
			case 1:
				b = append(b, byte(rng.IntN(128)))
			case 2:
				b = utf8.AppendRune(b, rune(rng.IntN(0x800)))
			default:
				b = utf8.AppendRune(b, rune(rng.IntN(0x110000)))
			}
		}
		queries = append(queries, query{"s", b, hexRepr(string(b))})
		queries = append(queries, query{"b", b, hexRepr(b)})
	}

	var in bytes.Buffer
	for _, q := range queries {
		in.WriteString(q.kind + " " + hex.EncodeToString(q.data) + "\n")
	}
	cmd := exec.Command(python, "-c", pythonCheck)
	cmd.Stdin = &in
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("running %s: %v", python, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	i := 0
	for sc.Scan() {
		if i >= len(queries) {
			t.Fatal("python printed too many lines")
		}
		queries[i].want(strings.TrimSpace(sc.Text()))
		i++
		if t.Failed() && i > 50 {
			break
		}
	}
	if !t.Failed() && i != len(queries) {
		t.Fatalf("python answered %d of %d queries", i, len(queries))
	}
	t.Logf("compared %d values with Python (Unicode %s); %d strings skipped for Unicode version differences",
		len(queries), pyVersion, skipped)
}
