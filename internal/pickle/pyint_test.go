package pickle

import (
	"strings"
	"testing"
)

func TestIsCanonicalInt(t *testing.T) {
	for in, want := range map[string]bool{
		"0": true, "42": true, "-7": true, "18446744073709551616": true,
		strings.Repeat("9", 4300): true, strings.Repeat("9", 4301): false,
		"": false, "-": false, "-0": false, "007": false, "+1": false, " 1": false,
		"1 ": false, "1_0": false, "1.0": false, "0x1": false, "--1": false,
	} {
		if got := IsCanonicalInt([]byte(in)); got != want {
			t.Errorf("IsCanonicalInt(%.20q) = %v, want %v", in, got, want)
		}
	}
}
