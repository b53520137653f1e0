package analysis

import "math/bits"

// segment is one unacknowledged segment of a direction, as Wireshark keeps it:
// the sequence range still unacknowledged, and the frame and time it was seen.
type segment struct {
	seq, next uint32
	frame     uint64
	ts        int64
}

// segmentBytes is the size of a segment in memory.
const segmentBytes = 24

// Lists of unacknowledged segments live in slices whose capacities are powers of
// two from minClass; a list that outgrows its slice moves to one twice as large.
// Slices are recycled through per-size free lists, so a connection that goes away
// leaves its memory to the next, and nothing is allocated once the pool holds
// slices of every size in use.
const (
	minClassShift = 3 // 8 segments
	numClasses    = 12
	maxClassCap   = 1 << (minClassShift + numClasses - 1) // 16,384
)

// segPool hands out segment slices within a budget on the total capacity, held
// by lists or free.
type segPool struct {
	free   [numClasses][][]segment
	budget int // most segments held at once, in lists or free
	held   int // capacity of every slice handed out or free
	inUse  int // capacity of the slices held by lists
	denied uint64
}

func classOf(capacity int) int {
	return bits.Len(uint(capacity-1)) - minClassShift
}

// grow returns a slice holding s's segments with room for at least one more,
// returning s's slice to the pool, or s itself and false when the budget
// forbids growing.
func (p *segPool) grow(s []segment) ([]segment, bool) {
	newCap := 1 << minClassShift
	if cap(s) > 0 {
		newCap = 2 * cap(s)
	}
	if newCap > maxClassCap {
		p.denied++
		return s, false
	}
	c := classOf(newCap)
	var ns []segment
	if n := len(p.free[c]); n > 0 {
		ns = p.free[c][n-1][:len(s)]
		p.free[c][n-1] = nil
		p.free[c] = p.free[c][:n-1]
	} else {
		// Make room by dropping free slices of other sizes: memory held stays
		// within the budget even when the sizes in demand change.
		for c2 := numClasses - 1; p.held+newCap > p.budget && c2 >= 0; c2-- {
			for len(p.free[c2]) > 0 && p.held+newCap > p.budget {
				n := len(p.free[c2])
				p.held -= cap(p.free[c2][n-1])
				p.free[c2][n-1] = nil
				p.free[c2] = p.free[c2][:n-1]
			}
		}
		if p.held+newCap > p.budget {
			p.denied++
			return s, false
		}
		ns = make([]segment, len(s), newCap)
		p.held += newCap
	}
	copy(ns, s)
	p.inUse += newCap
	p.put(s)
	return ns, true
}

// put returns s's slice to the pool.
func (p *segPool) put(s []segment) {
	if cap(s) == 0 {
		return
	}
	p.inUse -= cap(s)
	c := classOf(cap(s))
	p.free[c] = append(p.free[c], s[:0])
}
