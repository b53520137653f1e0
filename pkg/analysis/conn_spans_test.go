package analysis

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// covered lists the ranges a spans value covers.
func covered(ss *spans) []span {
	var out []span
	for i := range int(ss.n) {
		out = append(out, ss.at(i))
	}
	return out
}

// TestSpansInOrder: add's shortcut for a range that starts where the highest
// ends covers exactly what the general merge covers, with the same answers,
// over random mixes of in-order ranges, repeats, holes, ranges far apart and
// the lowest range dropped (popFront, which leaves the base below the first
// range: the shortcut keeps that base where merge moves it, so the ranges are
// compared, not the structs).
func TestSpansInOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	shortcuts := 0
	for run := range 5000 {
		var fast, slow spans
		next := uint64(1<<32 + r.IntN(1<<20))
		for i := range 64 {
			if fast.n > 0 && r.IntN(6) == 0 {
				fast.popFront()
				slow.popFront()
			}
			var lo uint64
			switch k := r.IntN(8); {
			case k < 5: // in order
				lo = next
			case k == 5: // a repeat of something before
				lo = next - uint64(r.IntN(4000))
			case k == 6: // a hole
				lo = next + uint64(r.IntN(4000))
			default: // far away, past what 32-bit offsets hold
				lo = next + uint64(r.IntN(3))<<31
			}
			hi := lo + uint64(r.IntN(1500))
			if lo < hi && fast.n > 0 && lo == fast.at(int(fast.n)-1).hi {
				shortcuts++
			}
			o1, e1 := fast.add(lo, hi)
			var o2 uint64
			var e2 bool
			if lo < hi { // add's guard
				o2, e2 = slow.merge(lo, hi)
			}
			if a, b := covered(&fast), covered(&slow); o1 != o2 || e1 != e2 || !slices.Equal(a, b) || fast.size() != slow.size() {
				t.Fatalf("run %d, range %d [%d,%d): add gave %d %v %v, merge %d %v %v",
					run, i, lo, hi, o1, e1, a, o2, e2, b)
			}
			next = max(next, hi)
		}
	}
	if shortcuts == 0 {
		t.Fatal("no range took the shortcut")
	}
}
