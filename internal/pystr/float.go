package pystr

import (
	"math"
	"strconv"
)

// AppendFloat appends Python's repr() (which is also its str()) of the float
// f to dst and returns the extended buffer: 1.0, 0.1, 1000000000000000.0,
// 1e+16, 1.5e-07, -0.0, inf, -inf, nan. To format a float32 as Python would
// after converting it to a double, pass float64(x).
func AppendFloat(dst []byte, f float64) []byte {
	return appendFloatRepr(dst, f, true, false)
}

// appendFloatRepr implements CPython's PyOS_double_to_string(x, 'r', 0,
// flags): addDot0 is Py_DTSF_ADD_DOT_0 (float repr) and sign is Py_DTSF_SIGN
// (imaginary part of a complex repr).
func appendFloatRepr(dst []byte, f float64, addDot0, sign bool) []byte {
	if math.IsNaN(f) {
		// CPython never prints the sign of a NaN, but honours Py_DTSF_SIGN.
		if sign {
			dst = append(dst, '+')
		}
		return append(dst, "nan"...)
	}
	if math.Signbit(f) {
		dst = append(dst, '-')
		f = -f
	} else if sign {
		dst = append(dst, '+')
	}
	if math.IsInf(f, 0) {
		return append(dst, "inf"...)
	}

	// Shortest round-trip digits, as "d.ddde±XX".
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	var digits [24]byte
	nd := 0
	i := 0
	for ; i < len(e) && e[i] != 'e'; i++ {
		if e[i] != '.' {
			digits[nd] = e[i]
			nd++
		}
	}
	exp := 0
	neg := e[i+1] == '-'
	for _, c := range e[i+2:] {
		exp = exp*10 + int(c-'0')
	}
	if neg {
		exp = -exp
	}
	d := digits[:nd]
	decpt := exp + 1 // value = 0.d × 10^decpt

	switch {
	case decpt <= -4 || decpt > 16:
		// Exponent notation: d[.ddd]e±XX.
		dst = append(dst, d[0])
		if nd > 1 {
			dst = append(dst, '.')
			dst = append(dst, d[1:]...)
		}
		dst = append(dst, 'e')
		x := decpt - 1
		if x < 0 {
			dst = append(dst, '-')
			x = -x
		} else {
			dst = append(dst, '+')
		}
		if x < 10 {
			dst = append(dst, '0')
		}
		return strconv.AppendInt(dst, int64(x), 10)
	case decpt <= 0:
		dst = append(dst, '0', '.')
		for range -decpt {
			dst = append(dst, '0')
		}
		return append(dst, d...)
	case decpt >= nd:
		dst = append(dst, d...)
		for range decpt - nd {
			dst = append(dst, '0')
		}
		if addDot0 {
			dst = append(dst, '.', '0')
		}
		return dst
	}
	dst = append(dst, d[:decpt]...)
	dst = append(dst, '.')
	return append(dst, d[decpt:]...)
}

// appendComplex implements CPython's complex_repr: "2j" when the real part is
// +0.0, otherwise "(re±imj)", with floats in repr style without ".0".
func appendComplex(dst []byte, c complex128) []byte {
	re, im := real(c), imag(c)
	if re == 0 && !math.Signbit(re) {
		dst = appendFloatRepr(dst, im, false, false)
		return append(dst, 'j')
	}
	dst = append(dst, '(')
	dst = appendFloatRepr(dst, re, false, false)
	dst = appendFloatRepr(dst, im, false, true)
	return append(dst, 'j', ')')
}
