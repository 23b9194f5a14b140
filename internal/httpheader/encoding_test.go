package httpheader

import "testing"

func TestNegotiateEncoding(t *testing.T) {
	cases := []struct {
		accept   []string
		br, gzip bool
		want     Encoding
	}{
		{nil, true, true, Identity},
		{[]string{""}, true, true, Identity},
		{[]string{"gzip, deflate, br"}, true, true, Brotli},
		{[]string{"gzip, deflate, br"}, false, true, Gzip},
		{[]string{"gzip, deflate, br"}, true, false, Brotli},
		{[]string{"gzip;q=1.0, br;q=0.9"}, true, true, Gzip},
		{[]string{"gzip;q=0.9, br;q=0.9"}, true, true, Brotli},
		{[]string{"br;q=0"}, true, true, Identity},
		{[]string{"br;q=0, gzip"}, true, true, Gzip},
		{[]string{"*"}, true, true, Identity},
		{[]string{"*;q=0.5, br;q=0"}, true, true, Identity},
		{[]string{"gzip;q=0, *"}, true, true, Identity},
		{[]string{"identity"}, true, true, Identity},
		{[]string{"GZIP"}, true, true, Gzip},
		{[]string{"x-gzip"}, true, true, Gzip},
		{[]string{"br;q=abc, gzip"}, true, true, Gzip},
		{[]string{"br;q=2"}, true, true, Identity},
		{[]string{"gzip", "br"}, true, true, Brotli},
		{[]string{"gzip;q=0.5"}, true, false, Identity},
		{[]string{"br ; q=0.5 , gzip ; q=0.6"}, true, true, Gzip},
		{[]string{"gzip;q=0.6, br;q=0.5"}, true, false, Brotli},
		{[]string{"gzip;q=0.6, br;q=0.5"}, true, true, Gzip},
	}
	for _, tc := range cases {
		if got := NegotiateEncoding(tc.accept, tc.br, tc.gzip); got != tc.want {
			t.Errorf("NegotiateEncoding(%q, br %v, gzip %v) = %d, want %d", tc.accept, tc.br, tc.gzip, got, tc.want)
		}
	}
}
