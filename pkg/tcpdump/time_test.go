package tcpdump

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pcaptk/pcaptk/pkg/reader"
)

// The expected texts below are what tcpdump 4.99.3 (TZ=UTC) prints for the same
// times in crafted pcapng files (cmd/pcaptk's TestReadExtremeTimesMatchTcpdump
// runs tcpdump itself on them): times past 2^32 s print, tcpdump's 32-bit
// test of the seconds decides "[Error converting time]", and -tt prints the
// seconds modulo 2^32.

// TestTextExtremeTimes formats single packets at the edges of the 32-bit and
// 64-bit ranges in the absolute formats.
func TestPrinterExtremeTimes(t *testing.T) {
	const s = int64(1e9)
	const errText = "[Error converting time]"
	tests := []struct {
		ts                    int64
		epoch, date, clock    string // -tt, -tttt, default, with microseconds
		epochN, dateN, clockN string // the same with --nano
	}{
		{0, "0.000000", "1970-01-01 00:00:00.000000", "00:00:00.000000",
			"0.000000000", "1970-01-01 00:00:00.000000000", "00:00:00.000000000"},
		{(1<<31 - 1) * s, "2147483647.000000", "2038-01-19 03:14:07.000000", "03:14:07.000000",
			"2147483647.000000000", "2038-01-19 03:14:07.000000000", "03:14:07.000000000"},
		{1 << 31 * s, errText, errText, errText, errText, errText, errText},
		{(1<<32-1)*s + 999999999, errText, errText, errText, errText, errText, errText},
		{1 << 32 * s, "0.000000", "2106-02-07 06:28:16.000000", "06:28:16.000000",
			"0.000000000", "2106-02-07 06:28:16.000000000", "06:28:16.000000000"},
		{1<<33*s + 123456789, "0.123456", "2242-03-16 12:56:32.123456", "12:56:32.123456",
			"0.123456789", "2242-03-16 12:56:32.123456789", "12:56:32.123456789"},
		{math.MaxInt64, "633437444.854775", "2262-04-11 23:47:16.854775", "23:47:16.854775",
			"633437444.854775807", "2262-04-11 23:47:16.854775807", "23:47:16.854775807"},
		{math.MinInt64, errText, errText, errText, errText, errText, errText},
		{-1, errText, errText, errText, errText, errText, errText},
		{-(1 << 32) * s, "0.000000", "1833-11-24 17:31:44.000000", "17:31:44.000000",
			"0.000000000", "1833-11-24 17:31:44.000000000", "17:31:44.000000000"},
		{-(1<<32)*s + s, "1.000000", "1833-11-24 17:31:45.000000", "17:31:45.000000",
			"1.000000000", "1833-11-24 17:31:45.000000000", "17:31:45.000000000"},
	}
	for _, tc := range tests {
		for _, f := range []struct {
			format int
			nano   bool
			want   string
		}{
			{TimeEpoch, false, tc.epoch}, {TimeDate, false, tc.date}, {TimeDefault, false, tc.clock},
			{TimeEpoch, true, tc.epochN}, {TimeDate, true, tc.dateN}, {TimeDefault, true, tc.clockN},
			{TimeNone, false, ""},
		} {
			enc := NewPrinter(nil, Options{TimeFormat: f.format, Nano: f.nano, Location: time.UTC})
			p := reader.Packet{Timestamp: tc.ts}
			want := f.want
			if want != "" {
				want += " "
			}
			if got := string(enc.appendTime(nil, &p)); got != want {
				t.Errorf("ts %d format %d nano %v: %q, want %q", tc.ts, f.format, f.nano, got, want)
			}
		}
	}
}

// TestTextRelativeTimes runs packet sequences through -ttt and -ttttt: tcpdump
// subtracts timevals (borrowing once), takes a zero reference time as unset,
// and applies its 32-bit test to the difference.
func TestPrinterRelativeTimes(t *testing.T) {
	const s = int64(1e9)
	zeroRef := []int64{0, 5 * s, 7 * s, 0, 3 * s, 500, 999, 1000}
	extremes := []int64{math.MinInt64, math.MaxInt64, 1 << 32 * s, 1<<32*s + 1<<31*s}
	tests := []struct {
		name   string
		ts     []int64
		format int
		nano   bool
		want   string
	}{
		{"zero-ref", zeroRef, TimeDelta, false,
			" 00:00:00.000000 | 00:00:00.000000 | 00:00:02.000000 |-00:00:07.000000 | 00:00:00.000000 |-00:00:03.000000 | 00:00:00.000000 | 00:00:00.000000 "},
		{"zero-ref", zeroRef, TimeDelta, true,
			" 00:00:00.000000000 | 00:00:00.000000000 | 00:00:02.000000000 |-00:00:07.000000000 | 00:00:00.000000000 |-00:00:02.999999500 | 00:00:00.000000499 | 00:00:00.000000001 "},
		{"zero-ref", zeroRef, TimeSinceFirst, false,
			" 00:00:00.000000 | 00:00:00.000000 | 00:00:02.000000 |-00:00:05.000000 |-00:00:02.000000 |-00:00:05.000000 |-00:00:05.000000 |-00:00:04.999999 "},
		{"zero-ref", zeroRef, TimeSinceFirst, true,
			" 00:00:00.000000000 | 00:00:00.000000000 | 00:00:02.000000000 |-00:00:05.000000000 |-00:00:02.000000000 |-00:00:04.999999500 |-00:00:04.999999001 |-00:00:04.999999000 "},
		{"extremes", extremes, TimeDelta, false,
			" 00:00:00.000000 | 23:34:33.709551 |-17:19:00.854775 | [Error converting time] "},
		{"extremes", extremes, TimeDelta, true,
			" 00:00:00.000000000 | 23:34:33.709551615 |-17:19:00.854775807 | [Error converting time] "},
		{"extremes", extremes, TimeSinceFirst, false,
			" 00:00:00.000000 | 23:34:33.709551 | 06:15:32.854776 | [Error converting time] "},
		{"extremes", extremes, TimeSinceFirst, true,
			" 00:00:00.000000000 | 23:34:33.709551615 | 06:15:32.854775808 | [Error converting time] "},
	}
	for _, tc := range tests {
		enc := NewPrinter(nil, Options{TimeFormat: tc.format, Nano: tc.nano, Location: time.UTC})
		var got []string
		for _, ts := range tc.ts {
			p := reader.Packet{Timestamp: ts}
			got = append(got, string(enc.appendTime(nil, &p)))
		}
		if g := strings.Join(got, "|"); g != tc.want {
			t.Errorf("%s format %d nano %v:\n got %s\nwant %s", tc.name, tc.format, tc.nano, g, tc.want)
		}
	}
}

// TestTextPcapTimeFields: a pcap record's fields reach tcpdump as signed 32-bit
// numbers, out-of-range fractions as stored; these sequences are tcpdump's
// output for such records.
func TestPrinterPcapTimeFields(t *testing.T) {
	type rec struct{ sec, frac uint32 }
	nanoRecs := []rec{{0, 0}, {2147483647, 999999999}, {2147483648, 0}, {4294967295, 999999999},
		{4294967295, 3000000000}, {1, 5}, {0, 0}, {7, 2147483648}, {7, 4294967295}, {3, 0}}
	microRecs := []rec{{5, 0}, {5, 4294967295}, {5, 2147483648}, {9, 999999}, {9, 1000000}, {9, 5000000}, {2, 3}}
	tests := []struct {
		units  uint32
		recs   []rec
		format int
		nano   bool
		want   string
	}{
		{1e9, nanoRecs, TimeEpoch, false,
			"0.000000 |2147483647.999999 |[Error converting time] |[Error converting time] |[Error converting time] |1.000000 |0.000000 |7.4292819813 |7.000000 |3.000000 "},
		{1e9, nanoRecs, TimeDelta, false,
			" 00:00:00.000000 | 00:00:00.000000 |-[Error converting time] | 03:14:07.999999 |-00:00:00.2294966 | 00:00:02.1294967 |-00:00:01.000000 | 00:00:00.000000 | 00:00:00.2147483 |-00:00:04.000000 "},
		{1e9, nanoRecs, TimeDelta, true,
			" 00:00:00.000000000 | 00:00:00.000000000 |-[Error converting time] | 03:14:07.999999999 |-00:00:00.2294967295 | 00:00:02.1294967301 |-00:00:01.000000005 | 00:00:00.000000000 | 00:00:00.2147483647 |-00:00:03.999999999 "},
		{1e9, nanoRecs, TimeSinceFirst, false,
			" 00:00:00.000000 | 00:00:00.000000 |-[Error converting time] |-[Error converting time] |-[Error converting time] |-03:14:06.999999 |-03:14:07.999999 |-03:14:00.3147482 |-03:14:00.999999 |-03:14:04.999999 "},
		{1e6, microRecs, TimeEpoch, true,
			"5.000000000 |5.4294966296 |5.000000000 |9.999999000 |9.1000000000 |9.705032704 |2.000003000 "},
		{1e6, microRecs, TimeDelta, false,
			" 00:00:00.000000 |-00:00:00.000001 |-00:00:00.2147483647 | 00:00:04.2148483647 | 00:00:00.000001 | 00:00:00.4000000 |-00:00:07.4999997 "},
		{1e6, microRecs, TimeSinceFirst, true,
			" 00:00:00.000000000 |-00:00:00.000001000 |-00:00:00.000000000 | 00:00:04.999999000 | 00:00:04.1000000000 | 00:00:04.705032704 |-00:00:02.999997000 "},
	}
	for _, tc := range tests {
		enc := NewPrinter(nil, Options{TimeFormat: tc.format, Nano: tc.nano, Location: time.UTC})
		var got []string
		for _, r := range tc.recs {
			// as pkg/reader fills a pcap packet: the fraction is carried into
			// Timestamp, and kept as stored in RawFrac
			p := reader.Packet{Timestamp: int64(r.sec)*1e9 + int64(r.frac)*int64(1e9/tc.units),
				RawFrac: r.frac, FracUnits: tc.units}
			got = append(got, string(enc.appendTime(nil, &p)))
		}
		if g := strings.Join(got, "|"); g != tc.want {
			t.Errorf("units %d format %d nano %v:\n got %s\nwant %s", tc.units, tc.format, tc.nano, g, tc.want)
		}
	}
}
