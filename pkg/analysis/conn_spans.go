package analysis

import "math"

// span is the half-open range [lo, hi) of a direction's 64-bit sequence space.
type span struct{ lo, hi uint64 }

// maxSpans bounds the ranges a spans value keeps.
const maxSpans = 4

// spans is a small sorted set of disjoint, non-adjacent ranges of sequence
// space, of fixed size so that per-connection state holds no pointers. When a
// range would make one too many, the two lowest are joined, the hole between
// them counted as covered: the oldest holes are the least likely to be filled
// later, so that is where a bounded summary can afford to be wrong. Ranges are
// kept as 32-bit offsets from the lowest; ranges more than 4 GiB below the
// highest are forgotten.
type spans struct {
	base uint64
	off  [maxSpans][2]uint32
	n    uint8
}

func (ss *spans) at(i int) span {
	return span{ss.base + uint64(ss.off[i][0]), ss.base + uint64(ss.off[i][1])}
}

func (ss *spans) first() span { return ss.at(0) }

func (ss *spans) popFront() {
	copy(ss.off[:], ss.off[1:ss.n])
	ss.n--
	ss.off[ss.n] = [2]uint32{}
}

// size is the number of sequence numbers covered.
func (ss *spans) size() uint64 {
	var t uint64
	for _, o := range ss.off[:ss.n] {
		t += uint64(o[1] - o[0])
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
	// Data in order, most segments: the range starts where the highest one
	// ends, which it extends (what merge would do, without rebuilding the set;
	// tcptrace's accounting was a twentieth of conns' CPU time, and this a
	// fifth of it).
	if n := int(ss.n); n > 0 && lo == ss.base+uint64(ss.off[n-1][1]) && hi-ss.base <= math.MaxUint32 {
		ss.off[n-1][1] = uint32(hi - ss.base)
		return 0, false
	}
	return ss.merge(lo, hi)
}

// merge is add's general case.
func (ss *spans) merge(lo, hi uint64) (overlap uint64, edge bool) {
	var out [maxSpans + 1]span
	k := 0
	merged := span{lo, hi}
	placed := false
	for i := range int(ss.n) {
		r := ss.at(i)
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
	}
	ss.store(out[:k])
	return overlap, edge
}

// store keeps rs (sorted) as offsets from the lowest range that is less than
// 4 GiB below the top.
func (ss *spans) store(rs []span) {
	top := rs[len(rs)-1].hi
	for len(rs) > 1 && top-rs[0].lo > math.MaxUint32 {
		rs = rs[1:]
	}
	if r := &rs[0]; top-r.lo > math.MaxUint32 {
		r.lo = top - math.MaxUint32
	}
	*ss = spans{base: rs[0].lo, n: uint8(len(rs))}
	for i, r := range rs {
		ss.off[i] = [2]uint32{uint32(r.lo - ss.base), uint32(r.hi - ss.base)}
	}
}
