package filter

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// ParseTime parses a time bound for --after/--before and returns nanoseconds since
// the Unix epoch. It accepts:
//   - epoch seconds with an optional fraction of up to 9 digits: "1700000000",
//     "1700000000.5", "-1.25" (parsed exactly, without floating point);
//   - RFC 3339 with 'T' or a space between date and time, with or without a
//     fraction (up to 9 digits), with a zone ("Z", "+01:00") or without one, which
//     means UTC (capture timestamps are UTC; a local-time default would make the
//     same command select different packets on different machines);
//   - a bare date "2023-11-14", meaning midnight UTC.
func ParseTime(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("time %q: empty", s)
	}
	if ns, ok := parseEpoch(t); ok {
		return ns, nil
	}
	if strings.ContainsAny(t, "-:") {
		if ns, err := parseDate(t); err == nil {
			return ns, nil
		}
	}
	return 0, fmt.Errorf("time %q: want RFC 3339 (2023-11-14T22:13:20.5Z) or epoch seconds (1700000000.5)", s)
}

var dateLayouts = []string{
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02",
}

func parseDate(t string) (int64, error) {
	if len(t) > 10 && (t[10] == ' ' || t[10] == 't') {
		t = t[:10] + "T" + t[11:]
	}
	if len(t) > 10 && (t[len(t)-1] == 'z') {
		t = t[:len(t)-1] + "Z"
	}
	var err error
	for _, layout := range dateLayouts {
		var tm time.Time
		if tm, err = time.Parse(layout, t); err == nil { // no zone in layout: UTC
			if tm.Year() < 1678 || tm.Year() > 2261 {
				return 0, fmt.Errorf("out of range")
			}
			return tm.UnixNano(), nil
		}
	}
	return 0, err
}

// parseEpoch parses [-]digits[.digits] exactly into nanoseconds.
func parseEpoch(t string) (int64, bool) {
	neg := false
	if t[0] == '-' || t[0] == '+' {
		neg = t[0] == '-'
		t = t[1:]
	}
	ip, fp, hasFrac := strings.Cut(t, ".")
	if ip == "" && (!hasFrac || fp == "") {
		return 0, false
	}
	if len(fp) > 9 {
		return 0, false
	}
	var sec uint64
	for _, c := range []byte(ip) {
		if c < '0' || c > '9' {
			return 0, false
		}
		sec = sec*10 + uint64(c-'0')
		if sec > math.MaxInt64/1_000_000_000 {
			return 0, false
		}
	}
	var frac uint64
	for i := 0; i < 9; i++ {
		frac *= 10
		if i < len(fp) {
			c := fp[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			frac += uint64(c - '0')
		}
	}
	ns := int64(sec*1e9 + frac)
	if ns < 0 {
		return 0, false
	}
	if neg {
		ns = -ns
	}
	return ns, true
}
