package export

import (
	"fmt"
	"strconv"

	"github.com/pcaptk/pcaptk/internal/numfmt"
)

// TSFormat is how JSON and CSV write the ts column.
type TSFormat uint8

const (
	TSRFC3339 TSFormat = iota // 2026-11-25T16:26:43.065693000Z (UTC, nine digits)
	TSEpoch                   // 1764088003.065693000 (seconds, nine digits, like tshark's frame.time_epoch)
	TSEpochNS                 // 1764088003065693000 (integer nanoseconds)
)

// ParseTSFormat parses rfc3339, epoch or epoch_ns.
func ParseTSFormat(s string) (TSFormat, error) {
	switch s {
	case "rfc3339", "":
		return TSRFC3339, nil
	case "epoch":
		return TSEpoch, nil
	case "epoch_ns":
		return TSEpochNS, nil
	}
	return 0, fmt.Errorf("unknown time format %q (want rfc3339, epoch or epoch_ns)", s)
}

// tsFormatter formats timestamps without allocating; it keeps the text of the last
// second it formatted, since consecutive packets mostly share it.
type tsFormatter struct {
	lastSec int64
	valid   bool
	prefix  []byte   // "YYYY-MM-DDTHH:MM:SS."
	fixed   [24]byte // prefix, when short enough, for one fixed-size store
	short   bool
}

func splitNS(ns int64) (sec, frac int64) { return numfmt.SplitNS(ns) }

func (f *tsFormatter) appendRFC3339(b []byte, ns int64) []byte {
	sec, frac := splitNS(ns)
	if !f.valid || sec != f.lastSec {
		f.prefix = appendCivil(f.prefix[:0], sec)
		f.lastSec, f.valid = sec, true
	}
	b = append(b, f.prefix...)
	b = appendNine(b, frac)
	return append(b, 'Z')
}

// putRFC3339 writes what appendRFC3339 appends, in place (see putRow).
func (f *tsFormatter) putRFC3339(w []byte, n int, ns int64) int {
	sec, frac := splitNS(ns)
	if !f.valid || sec != f.lastSec {
		f.prefix = appendCivil(f.prefix[:0], sec)
		f.lastSec, f.valid = sec, true
		f.short = len(f.prefix) <= len(f.fixed)
		if f.short {
			f.fixed = [24]byte{}
			copy(f.fixed[:], f.prefix)
		}
	}
	if f.short {
		*(*[24]byte)(w[n:]) = f.fixed
		n += len(f.prefix)
	} else {
		n += copy(w[n:], f.prefix)
	}
	n = putNine(w, n, uint32(frac))
	w[n] = 'Z'
	return n + 1
}

// appendEpoch appends ns as signed seconds with nine decimals: -1 ns is
// "-0.000000001" (sign and magnitude, as tshark prints frame.time_epoch), and
// the magnitude is taken unsigned so that -2^63 ns stays exact.
func appendEpoch(b []byte, ns int64) []byte {
	u := uint64(ns)
	if ns < 0 {
		b = append(b, '-')
		u = -u
	}
	b = strconv.AppendUint(b, u/1e9, 10)
	b = append(b, '.')
	return appendNine(b, int64(u%1e9))
}

// appendNine appends v (0 <= v < 1e9) as nine digits.
func appendNine(b []byte, v int64) []byte {
	var d [9]byte
	for i := 8; i >= 0; i-- {
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, d[:]...)
}

func append2(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

// appendCivil appends "YYYY-MM-DDTHH:MM:SS." for sec seconds since the epoch, UTC,
// with the proleptic Gregorian calendar (days-to-civil conversion).
func appendCivil(b []byte, sec int64) []byte {
	days, rem := sec/86400, sec%86400
	if rem < 0 {
		days--
		rem += 86400
	}
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if mp >= 10 {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	if y >= 0 && y < 10000 {
		b = append2(b, int(y/100))
		b = append2(b, int(y%100))
	} else {
		b = strconv.AppendInt(b, y, 10)
	}
	b = append(b, '-')
	b = append2(b, int(m))
	b = append(b, '-')
	b = append2(b, int(d))
	b = append(b, 'T')
	b = append2(b, int(rem/3600))
	b = append(b, ':')
	b = append2(b, int(rem/60%60))
	b = append(b, ':')
	b = append2(b, int(rem%60))
	return append(b, '.')
}
