package analysis

// span is the half-open range [lo, hi) of a direction's 64-bit sequence space.
type span struct{ lo, hi uint64 }

// maxSpans bounds the ranges a spans value keeps.
const maxSpans = 4

// spans is a small sorted set of disjoint, non-adjacent ranges of sequence
// space, of fixed size so that per-connection state holds no pointers. When a
// range would make one too many, the two lowest are joined, the hole between
// them counted as covered: the oldest holes are the least likely to be filled
// later, so that is where a bounded summary can afford to be wrong.
type spans struct {
	s [maxSpans]span
	n uint8
}

func (ss *spans) popFront() {
	copy(ss.s[:], ss.s[1:ss.n])
	ss.n--
	ss.s[ss.n] = span{}
}

// size is the number of sequence numbers covered.
func (ss *spans) size() uint64 {
	var t uint64
	for _, r := range ss.s[:ss.n] {
		t += r.hi - r.lo
	}
	return t
}

// add covers [lo, hi) and returns how much of it was covered already. edge
// reports that the range starts before a covered range and its last octet is
// that range's first (tcptrace does not count that octet as a repeat).
func (ss *spans) add(lo, hi uint64) (overlap uint64, edge bool) {
	if lo >= hi {
		return 0, false
	}
	var out [maxSpans + 1]span
	k := 0
	merged := span{lo, hi}
	placed := false
	for _, r := range ss.s[:ss.n] {
		switch {
		case r.hi < lo: // wholly before, not adjacent
			out[k] = r
			k++
		case r.lo > hi: // wholly after, not adjacent
			if !placed {
				out[k] = merged
				k++
				placed = true
			}
			out[k] = r
			k++
		default: // overlapping or adjacent: absorb
			if a, b := max(r.lo, lo), min(r.hi, hi); a < b {
				overlap += b - a
				edge = r.lo > lo && hi-1 == r.lo
			}
			merged.lo, merged.hi = min(merged.lo, r.lo), max(merged.hi, r.hi)
		}
	}
	if !placed {
		out[k] = merged
		k++
	}
	if k > maxSpans {
		out[1].lo = out[0].lo
		copy(out[:], out[1:k])
		k--
		out[k] = span{}
	}
	ss.s = [maxSpans]span(out[:maxSpans])
	ss.n = uint8(k)
	return overlap, edge
}
