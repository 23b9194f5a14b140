package pickle

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The tests in this file compare the package with a real CPython (and
// Django's SafeString). They look for python3 (FRAGCACHE_PYTHON first, then
// python3, then /usr/bin/python3, where Debian's python3-django lives) and
// skip when none is usable, unless FRAGCACHE_REQUIRE_SERVERS=1, which turns
// the skip into a failure.

// pyScript answers one line per request line "op kind proto arg" (arg "-"
// for empty): dumps builds a value and pickles it; loads unpickles a pickle
// (Django's own code for a SafeString) and describes the result; probe
// reports whether pickletools accepts a pickle and which global a real
// Unpickler would import first.
const pyScript = `
import io, pickle, pickletools, struct, sys
try:
    from django.utils.safestring import SafeString
except ImportError:
    SafeString = None

def make(kind, arg):
    if kind == "str":
        return bytes.fromhex(arg).decode("utf-8", "surrogateescape")
    if kind == "safe":
        return SafeString(bytes.fromhex(arg).decode("utf-8", "surrogateescape"))
    if kind == "bytes":
        return bytes.fromhex(arg)
    if kind == "bytearray":
        return bytearray.fromhex(arg)
    if kind == "int":
        return int(arg)
    if kind == "float":
        return struct.unpack(">d", bytes.fromhex(arg))[0]
    if kind == "bool":
        return arg == "1"
    if kind == "none":
        return None
    if kind in ("strlist", "strtuple"):
        items = [bytes.fromhex(x).decode("utf-8", "surrogateescape") for x in arg.split(",")] if arg else []
        return items if kind == "strlist" else tuple(items)
    raise ValueError(kind)

def describe(v):
    t = type(v).__name__
    if isinstance(v, str):
        return t + " " + (v.encode("utf-8", "surrogateescape").hex() or "-")
    if isinstance(v, (bytes, bytearray)):
        return t + " " + (v.hex() or "-")
    if isinstance(v, float):
        return t + " " + struct.pack(">d", v).hex()
    if isinstance(v, bool):
        return t + " " + ("1" if v else "0")
    if isinstance(v, int):
        return t + " " + str(v)
    return t + " -"

class Refuse(pickle.Unpickler):
    def find_class(self, module, name):
        raise pickle.UnpicklingError("find_class " + repr(module + "." + name))

out = sys.stdout
for line in sys.stdin:
    op, kind, proto, arg = line.split()
    if arg == "-":
        arg = ""
    if op == "version":
        if SafeString:
            import django
            dj = "django-" + django.get_version()
        else:
            dj = "without Django"
        out.write("%s %s\n" % (sys.version.split()[0], dj))
    elif op == "dumps":
        out.write(pickle.dumps(make(kind, arg), int(proto)).hex() + "\n")
    elif op == "loads":
        try:
            out.write(describe(pickle.loads(bytes.fromhex(arg))) + "\n")
        except Exception as e:
            out.write("error " + type(e).__name__ + "\n")
    elif op == "probe":
        data = bytes.fromhex(arg)
        try:
            pickletools.dis(data, out=io.StringIO())
            dis = "dis-ok"
        except Exception as e:
            dis = "dis-" + type(e).__name__
        try:
            Refuse(io.BytesIO(data)).load()
            res = "loaded"
        except Exception as e:
            res = str(e) if str(e).startswith("find_class") else type(e).__name__
        out.write(dis + " " + res.replace("\n", "\\n") + "\n")
    out.flush()
`

const pyVersionProbe = `
import sys
assert sys.version_info >= (3, 8), sys.version
`

// findPython returns a Python 3.8+ interpreter; with django it must also
// import django.utils.safestring.
func findPython(t testing.TB, django bool) string {
	t.Helper()
	candidates := []string{"python3", "/usr/bin/python3"}
	if env := os.Getenv("FRAGCACHE_PYTHON"); env != "" {
		candidates = append([]string{env}, candidates...)
	}
	check := pyVersionProbe
	if django {
		check += "from django.utils.safestring import SafeString\n"
	}
	for _, c := range candidates {
		path, err := exec.LookPath(c)
		if err != nil {
			continue
		}
		if exec.Command(path, "-c", check).Run() == nil {
			return path
		}
	}
	what := "python3 (3.8 or later)"
	if django {
		what = "python3 with Django (apt-get install python3-django)"
	}
	if os.Getenv("FRAGCACHE_REQUIRE_SERVERS") == "1" {
		t.Fatalf("%s not found but FRAGCACHE_REQUIRE_SERVERS=1", what)
	}
	t.Skipf("%s not found", what)
	return ""
}

type pyRequest struct {
	op, kind string
	proto    int
	arg      string
}

// askPython runs pyScript once for all requests and returns one answer
// line per request.
func askPython(t testing.TB, python string, reqs []pyRequest) []string {
	t.Helper()
	var in bytes.Buffer
	for _, r := range reqs {
		arg := r.arg
		if arg == "" {
			arg = "-"
		}
		fmt.Fprintf(&in, "%s %s %d %s\n", r.op, r.kind, r.proto, arg)
	}
	cmd := exec.Command(python, "-c", pyScript)
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", python, err, stderr.Bytes())
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) != len(reqs) {
		t.Fatalf("python answered %d lines for %d requests\n%s", len(lines), len(reqs), stderr.Bytes())
	}
	return lines
}

func logVersion(t *testing.T, python string) {
	t.Helper()
	t.Logf("%s: Python %s", python, askPython(t, python, []pyRequest{{op: "version", kind: "-"}})[0])
}

// pyCase is a value with the request that makes Python build it.
type pyCase struct {
	name string
	kind string // as pyScript's make() knows it
	arg  string
	want Value
}

func strCase(name, s string) pyCase {
	return pyCase{name, "str", hex.EncodeToString([]byte(s)), strValue(s)}
}

func safeCase(name, s string) pyCase {
	return pyCase{name, "safe", hex.EncodeToString([]byte(s)), safeValue(s)}
}

// testStrings is the table of strings compared byte for byte.
func testStrings() []struct{ name, s string } {
	rng := rand.New(rand.NewPCG(7, 11))
	random := func(n int, alphabet []rune) string {
		var b strings.Builder
		for b.Len() < n {
			b.WriteRune(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	mixed := []rune("aZ09 <>&'\"\n\t\x00é€😀中\u0301\u00ff\ufffd")
	tab := []struct{ name, s string }{
		{"empty", ""},
		{"ascii", "hello"},
		{"html", "<b>hi</b>"},
		{"non-ASCII", "café"},
		{"emoji", "😀 ok"},
		{"CJK", "日本語のテキスト"},
		{"NUL", "a\x00b"},
		{"U+FFFD", "\ufffd"},
		{"invalid byte", "a\xffb"},
		{"encoded surrogate bytes", "\xed\xa0\x80"},
		{"lone continuation", "\x80x"},
		{"255 bytes", strings.Repeat("a", 255)},
		{"256 bytes", strings.Repeat("a", 256)},
		{"254+2 bytes é", strings.Repeat("a", 254) + "é"},
		{"255 bytes with invalid", strings.Repeat("a", 253) + "\xff"},
		{"65535 bytes", strings.Repeat("b", 65535)},
		{"65536 bytes", strings.Repeat("b", 65536)},
		{"65537 bytes", strings.Repeat("b", 65537)},
		{"65527 bytes", strings.Repeat("b", 65527)},
		{"64 KiB non-ASCII", strings.Repeat("é", 32768)},
		{"1 MiB", strings.Repeat("0123456789abcdef", 65536)},
		{"1 MiB mixed", random(1<<20, mixed)},
	}
	for i := range 20 {
		tab = append(tab, struct{ name, s string }{fmt.Sprintf("random %d", i), random(rng.IntN(600), mixed)})
	}
	return tab
}

func floatHex(f float64) string {
	return hex.EncodeToString(binary.BigEndian.AppendUint64(nil, math.Float64bits(f)))
}

// plainCases are values of every supported kind but SafeString.
func plainCases() []pyCase {
	var cs []pyCase
	for _, s := range testStrings() {
		cs = append(cs, strCase("str "+s.name, s.s))
	}
	for _, n := range []int{0, 1, 2, 255, 256, 65535, 65536, 1 << 20} {
		b := bytes.Repeat([]byte{0, 1, 0xff, 'x'}, n/4+1)[:n]
		cs = append(cs,
			pyCase{fmt.Sprintf("bytes %d", n), "bytes", hex.EncodeToString(b), Value{Kind: KindBytes, Bytes: b}},
			pyCase{fmt.Sprintf("bytearray %d", n), "bytearray", hex.EncodeToString(b), Value{Kind: KindByteArray, Bytes: b}})
	}
	ints := []string{"0", "1", "-1", "127", "128", "255", "256", "-255", "-256", "65535", "65536",
		"2147483647", "2147483648", "-2147483648", "-2147483649", "4294967295", "4294967296",
		"9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
		"549755813888", "-549755813888", "-549755813889", "1267650600228229401496703205376",
		"-1267650600228229401496703205376", "-340282366920938463463374607431768211456"}
	big1000 := new(big.Int).Lsh(big.NewInt(3), 2100) // LONG4: more than 255 bytes
	ints = append(ints, big1000.String(), new(big.Int).Neg(big1000).String())
	for _, s := range ints {
		x, _ := new(big.Int).SetString(s, 10)
		cs = append(cs, pyCase{"int " + s, "int", s, Value{Kind: KindInt, Int: x}})
	}
	for _, f := range []float64{0, math.Copysign(0, -1), 1.5, -2.25, math.Pi, 1e308, 5e-324, math.Inf(1), math.Inf(-1), math.NaN(), 1700000100.0} {
		cs = append(cs, pyCase{fmt.Sprintf("float %v", f), "float", floatHex(f), floatValue(f)})
	}
	cs = append(cs,
		pyCase{"True", "bool", "1", boolValue(true)},
		pyCase{"False", "bool", "0", boolValue(false)},
		pyCase{"None", "none", "", Value{}})
	// Lists and tuples of str: Django's learned page-cache header lists.
	many := make([]string, 1001) // APPENDS per 1000, then APPEND
	for i := range many {
		many[i] = fmt.Sprintf("HTTP_X_%d", i)
	}
	for _, list := range [][]string{{}, {"HTTP_COOKIE"}, {"HTTP_ACCEPT_ENCODING", "HTTP_COOKIE"},
		{"HTTP_A", "HTTP_B", "HTTP_C", "HTTP_D"}, {"HTTP_ ACCEPT_ENCODING", "HTTP_", "HTTP_é"}, many} {
		name := fmt.Sprintf("%d str", len(list))
		if len(list) < 5 {
			name = fmt.Sprintf("%q", list)
		}
		cs = append(cs,
			pyCase{"list " + name, "strlist", hexList(list), listValue(KindList, list)},
			pyCase{"tuple " + name, "strtuple", hexList(list), listValue(KindTuple, list)})
	}
	return cs
}

// hexList is the Python script's argument for a list of str.
func hexList(list []string) string {
	hs := make([]string, len(list))
	for i, s := range list {
		hs[i] = hex.EncodeToString([]byte(s))
	}
	if len(hs) == 0 {
		return "-"
	}
	return strings.Join(hs, ",")
}

// listValue is a list or tuple of str.
func listValue(kind Kind, list []string) Value {
	v := Value{Kind: kind, Items: []Value{}}
	for _, s := range list {
		v.Items = append(v.Items, Value{Kind: KindStr, Str: s})
	}
	return v
}

func safeCases() []pyCase {
	var cs []pyCase
	for _, s := range testStrings() {
		cs = append(cs, safeCase("SafeString "+s.name, s.s))
	}
	return cs
}

// checkAgainstPython compares Encode with Python's pickle.dumps(x, 5) and
// Decode with Python's pickle.dumps(x, proto) for protocols 2 to 5.
func checkAgainstPython(t *testing.T, python string, cases []pyCase) {
	var reqs []pyRequest
	for _, c := range cases {
		for proto := 2; proto <= 5; proto++ {
			reqs = append(reqs, pyRequest{"dumps", c.kind, proto, c.arg})
		}
	}
	answers := askPython(t, python, reqs)
	for i, c := range cases {
		for proto := 2; proto <= 5; proto++ {
			data, err := hex.DecodeString(answers[4*i+proto-2])
			if err != nil {
				t.Fatalf("%s: python answered %q", c.name, answers[4*i+proto-2])
			}
			got, err := Decode(data)
			if err != nil || !got.Equal(c.want) {
				t.Errorf("%s protocol %d: Decode(%.80x) = %.80v, %v; want %.80v", c.name, proto, data, got, err, c.want)
			}
			if proto != 5 {
				continue
			}
			enc, err := Encode(c.want)
			if err != nil || !bytes.Equal(enc, data) {
				t.Errorf("%s: Encode = %.120x (len %d), %v\nPython gives %.120x (len %d)", c.name, enc, len(enc), err, data, len(data))
			}
			switch c.kind {
			case "str":
				if e := EncodeString(c.want.Str); !bytes.Equal(e, data) {
					t.Errorf("%s: EncodeString differs from Python", c.name)
				}
			case "safe":
				if e := EncodeSafeString(c.want.Str); !bytes.Equal(e, data) {
					t.Errorf("%s: EncodeSafeString differs from Python", c.name)
				}
			case "bytes":
				if e := EncodeBytes(c.want.Bytes); !bytes.Equal(e, data) {
					t.Errorf("%s: EncodeBytes differs from Python", c.name)
				}
			}
		}
	}
}

func TestAgainstPythonPickle(t *testing.T) {
	python := findPython(t, false)
	logVersion(t, python)
	checkAgainstPython(t, python, plainCases())
}

func TestAgainstDjangoSafeString(t *testing.T) {
	python := findPython(t, true)
	logVersion(t, python)
	checkAgainstPython(t, python, safeCases())

	// Django reads back what Go writes: pickle.loads gives a SafeString
	// with the same text.
	var reqs []pyRequest
	tab := testStrings()
	for _, s := range tab {
		reqs = append(reqs, pyRequest{"loads", "-", 0, hex.EncodeToString(EncodeSafeString(s.s))})
	}
	for i, line := range askPython(t, python, reqs) {
		text := hex.EncodeToString([]byte(tab[i].s))
		if text == "" {
			text = "-"
		}
		if want := "SafeString " + text; line != want {
			t.Errorf("%s: Python loads EncodeSafeString as %.100s, want %.100s", tab[i].name, line, want)
		}
	}
}

// TestDangerousAreRealPickles shows that the pickles TestDecodeRefusesDangerous
// rejects for naming a global are ones Python would act on: a real
// Unpickler asks to import exactly that global.
func TestDangerousAreRealPickles(t *testing.T) {
	python := findPython(t, false)
	var reqs []pyRequest
	for _, tc := range dangerous {
		reqs = append(reqs, pyRequest{"probe", "-", 0, hex.EncodeToString(tc.data)})
	}
	for i, line := range askPython(t, python, reqs) {
		tc := dangerous[i]
		dis, res, _ := strings.Cut(line, " ")
		if name, ok := strings.CutPrefix(tc.want, "global "); ok {
			name = strings.ReplaceAll(strings.Trim(name, `"`), `"`, "")
			name = strings.ReplaceAll(name, `\n`, "\\n")
			if !strings.HasPrefix(res, "find_class") || !strings.Contains(strings.ReplaceAll(res, "'", ""), name) {
				t.Errorf("%s: Python's Unpickler did %q, want find_class of %s", tc.name, res, name)
			}
		}
		if dis != "dis-ok" && tc.name != "protocol 6" {
			t.Errorf("%s: pickletools.dis rejects the pickle (%s)", tc.name, dis)
		}
	}
}
