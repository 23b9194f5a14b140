package httpheader

import "testing"

func TestPreferredEncoding(t *testing.T) {
	cases := []struct {
		accept   []string
		br, gzip bool
		want     string
	}{
		{nil, true, true, ""},
		{[]string{""}, true, true, ""},
		{[]string{"gzip, deflate, br"}, true, true, "br"},
		{[]string{"gzip, deflate, br"}, false, true, "gzip"},
		{[]string{"gzip, deflate, br"}, true, false, "br"},
		{[]string{"gzip;q=1.0, br;q=0.9"}, true, true, "gzip"},
		{[]string{"gzip;q=0.9, br;q=0.9"}, true, true, "br"},
		{[]string{"br;q=0"}, true, true, ""},
		{[]string{"br;q=0, gzip"}, true, true, "gzip"},
		{[]string{"*"}, true, true, "br"},
		{[]string{"*;q=0.5, br;q=0"}, true, true, "gzip"},
		{[]string{"gzip;q=0, *"}, true, true, "br"},
		{[]string{"identity"}, true, true, ""},
		{[]string{"GZIP"}, true, true, "gzip"},
		{[]string{"x-gzip"}, true, true, "gzip"},
		{[]string{"br;q=abc, gzip"}, true, true, "gzip"},
		{[]string{"br;q=2"}, true, true, ""},
		{[]string{"gzip", "br"}, true, true, "br"},
		{[]string{"gzip;q=0.5"}, true, false, ""},
		{[]string{"br ; q=0.5 , gzip ; q=0.6"}, true, true, "gzip"},
		{[]string{"gzip;q=0.6, br;q=0.5"}, true, false, "br"},
		{[]string{"gzip;q=0.6, br;q=0.5"}, true, true, "gzip"},
	}
	for _, tc := range cases {
		if got := PreferredEncoding(tc.accept, tc.br, tc.gzip); got != tc.want {
			t.Errorf("PreferredEncoding(%q, br %v, gzip %v) = %q, want %q", tc.accept, tc.br, tc.gzip, got, tc.want)
		}
	}
}
