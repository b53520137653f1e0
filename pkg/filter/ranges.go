package filter

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Span is an inclusive range of packet numbers; Last == math.MaxUint64 means open-ended.
type Span struct{ First, Last uint64 }

// Ranges is a set of packet numbers (from 1), as sorted, non-overlapping spans.
type Ranges []Span

// ParseRanges parses a comma-separated list of packet numbers and ranges:
// "7" (one packet), "1-100" (inclusive), "200-" (200 to the end), "-50" (1 to 50).
// Spaces around items are ignored; numbers start at 1; overlapping or adjacent
// items are merged, so the order of items does not matter.
func ParseRanges(s string) (Ranges, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("packet ranges %q: empty", s)
	}
	var rs Ranges
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		sp, err := parseSpan(item)
		if err != nil {
			return nil, fmt.Errorf("packet ranges %q: item %q: %w", s, item, err)
		}
		rs = append(rs, sp)
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].First < rs[j].First })
	out := rs[:1]
	for _, sp := range rs[1:] {
		last := &out[len(out)-1]
		if last.Last == math.MaxUint64 || sp.First <= last.Last+1 {
			last.Last = max(last.Last, sp.Last)
			continue
		}
		out = append(out, sp)
	}
	return out, nil
}

func parseSpan(item string) (Span, error) {
	if item == "" {
		return Span{}, fmt.Errorf("empty item")
	}
	lo, hi, isRange := strings.Cut(item, "-")
	if isRange && strings.TrimSpace(lo) == "" && strings.TrimSpace(hi) == "" {
		return Span{}, fmt.Errorf("a range needs a first or last packet number")
	}
	first, err := parseNumber(lo, 1)
	if err != nil {
		return Span{}, err
	}
	if !isRange {
		return Span{first, first}, nil
	}
	last, err := parseNumber(hi, math.MaxUint64)
	if err != nil {
		return Span{}, err
	}
	if last < first {
		return Span{}, fmt.Errorf("range ends before it starts")
	}
	return Span{first, last}, nil
}

// parseNumber parses a packet number; an empty string stands for def.
func parseNumber(s string, def uint64) (uint64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return def, nil
	}
	if s[0] < '0' || s[0] > '9' { // ParseUint accepts no sign, but say why clearly
		return 0, fmt.Errorf("%q is not a packet number", s)
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a packet number", s)
	}
	if n == 0 {
		return 0, fmt.Errorf("packet numbers start at 1")
	}
	return n, nil
}

// Contains reports whether packet number n is selected.
func (rs Ranges) Contains(n uint64) bool {
	lo, hi := 0, len(rs) // first span with Last >= n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if rs[m].Last < n {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo < len(rs) && rs[lo].First <= n
}

// Done reports whether no packet numbered above n is selected, so a reader going
// through packets in order can stop after packet n.
func (rs Ranges) Done(n uint64) bool {
	return len(rs) == 0 || rs[len(rs)-1].Last <= n
}

// String returns the canonical form, e.g. "1-100,200-".
func (rs Ranges) String() string {
	var b strings.Builder
	for i, sp := range rs {
		if i > 0 {
			b.WriteByte(',')
		}
		switch {
		case sp.First == sp.Last:
			fmt.Fprintf(&b, "%d", sp.First)
		case sp.Last == math.MaxUint64:
			fmt.Fprintf(&b, "%d-", sp.First)
		default:
			fmt.Fprintf(&b, "%d-%d", sp.First, sp.Last)
		}
	}
	return b.String()
}
