package analysis

import (
	"math/rand/v2"
	"testing"
)

// TestSpansInOrder: add's shortcut for a range that starts where the highest
// ends leaves the set and the answers exactly as the general merge does, over
// random mixes of in-order ranges, repeats, holes and ranges far apart.
func TestSpansInOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	shortcuts := 0
	for run := range 2000 {
		var fast, slow spans
		next := uint64(1<<32 + r.IntN(1<<20))
		for i := range 64 {
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
			was := fast
			o1, e1 := fast.add(lo, hi)
			var o2 uint64
			var e2 bool
			if lo < hi { // add's guard
				o2, e2 = slow.merge(lo, hi)
			}
			if lo < hi && was.n > 0 && lo == was.base+uint64(was.off[was.n-1][1]) {
				shortcuts++
			}
			if o1 != o2 || e1 != e2 || fast != slow {
				t.Fatalf("run %d, range %d [%d,%d): add gave %d %v %+v, merge %d %v %+v",
					run, i, lo, hi, o1, e1, fast, o2, e2, slow)
			}
			next = max(next, hi)
		}
	}
	if shortcuts == 0 {
		t.Fatal("no range took the shortcut")
	}
}
