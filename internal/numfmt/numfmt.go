// Package numfmt formats numbers for the hot paths of the tcpdump printer and
// the CSV and JSON encoders: decimal digits a table step at a time, and
// nanosecond times split into seconds and a non-negative fraction.
package numfmt

import "strconv"

// DigitPairs holds "00" to "99", two digits a step.
const DigitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// digits4 holds "0000".."9999": four digits a step.
var digits4 = func() (t [40000]byte) {
	for i := range 10000 {
		t[i*4], t[i*4+1], t[i*4+2], t[i*4+3] = byte('0'+i/1000), byte('0'+i/100%10), byte('0'+i/10%10), byte('0'+i%10)
	}
	return t
}()

// AppendUint appends v in decimal. It is strconv.AppendUint without the generic
// path, four digits a step: most cells are numbers, and this is the hottest loop
// of CSV and JSON.
func AppendUint(b []byte, v uint64) []byte {
	if v < 10 {
		return append(b, byte('0'+v))
	}
	if v < 100 {
		return append(b, DigitPairs[v*2], DigitPairs[v*2+1])
	}
	if v > 1<<32-1 {
		return strconv.AppendUint(b, v, 10)
	}
	var buf [12]byte
	i := len(buf)
	u := uint32(v)
	for u >= 10000 {
		q := u / 10000
		r := (u - q*10000) * 4
		i -= 4
		copy(buf[i:i+4], digits4[r:r+4])
		u = q
	}
	r := u * 4
	switch {
	case u >= 1000:
		i -= 4
		copy(buf[i:i+4], digits4[r:r+4])
	case u >= 100:
		i -= 3
		copy(buf[i:i+3], digits4[r+1:r+4])
	case u >= 10:
		i -= 2
		copy(buf[i:i+2], digits4[r+2:r+4])
	default:
		i--
		buf[i] = byte('0' + u)
	}
	return append(b, buf[i:]...)
}

// SplitNS returns floor(ns / 1e9) and the remainder in [0, 1e9).
func SplitNS(ns int64) (sec, frac int64) {
	sec, frac = ns/1e9, ns%1e9
	if frac < 0 {
		sec--
		frac += 1e9
	}
	return sec, frac
}
