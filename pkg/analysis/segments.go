package analysis

import (
	"math/bits"
	"sort"
)

// segment is one unacknowledged segment of a direction, as Wireshark keeps it:
// the sequence range still unacknowledged, and the frame and time it was seen.
// order is its place among every segment ever remembered (shifted left by one):
// Wireshark's list is in the order segments were sent, and where it picks "the
// oldest" we pick the lowest order. Its low bit marks a segment that was itself
// a retransmission, for Karn's rule (a bit of order, so that a segment stays 32
// bytes).
type segment struct {
	seq, next uint32
	frame     uint64
	ts        int64
	order     uint64
}

// segOrder is the order field of the n-th segment remembered; retransmitted
// marks a retransmission.
func segOrder(n uint64, retransmitted bool) uint64 {
	o := n << 1
	if retransmitted {
		o |= 1
	}
	return o
}

func (s *segment) retransmitted() bool { return s.order&1 != 0 }

// set copies o into s field by field. Segments go by pointer and are copied
// this way because a segment just written field by field (a literal, or an
// argument the function spilled) and then copied whole is read with 16-byte
// loads, which the CPU cannot serve from the narrower stores still in flight:
// the copy waits (perf put a tenth of the analyzer's time on such copies).
func (s *segment) set(o *segment) {
	s.seq, s.next, s.frame, s.ts, s.order = o.seq, o.next, o.frame, o.ts, o.order
}

// segmentBytes is the size of a segment in memory.
const segmentBytes = 32

// segList holds a direction's unacknowledged segments. Wireshark walks its
// whole list on every packet; this one keeps the segments sorted by sequence
// number, so that an acknowledgment only visits the segments it covers and the
// bytes in flight come from the ends. That takes all of them to lie within
// 2^31 of each other, where sequence comparisons are plain ones; a list that
// does not (only a corrupt or crafted capture makes one) falls back to
// Wireshark's walk over every segment until it empties. The results are the
// same either way.
type segList struct {
	buf      []segment // the segments are buf[head:]
	head     int32
	lo       uint32 // sorted: the lowest sequence number (that of buf[head])
	maxOff   uint32 // sorted: the highest next - lo
	unsorted bool
}

const half = 1 << 31

func (l *segList) len() int { return len(l.buf) - int(l.head) }

func (l *segList) segs() []segment { return l.buf[l.head:] }

// add remembers *s, returning false when the pool refuses the memory. s must
// not point into the list's own buffer, which add moves.
func (l *segList) add(p *segPool, s *segment) bool {
	n := l.len()
	if n == 0 {
		l.buf, l.head, l.unsorted = l.buf[:0], 0, false
		l.lo, l.maxOff = s.seq, s.next-s.seq
		return l.push(p, s)
	}
	if l.unsorted {
		return l.push(p, s)
	}
	d, dn := s.seq-l.lo, s.next-l.lo
	if d < half && dn < half && dn >= d {
		segs := l.segs()
		if d >= segs[n-1].seq-l.lo {
			l.maxOff = max(l.maxOff, dn)
			return l.push(p, s)
		}
		// A retransmission or a segment out of order: its place by sequence
		// number, after those with the same one.
		i := sort.Search(n, func(i int) bool { return segs[i].seq-l.lo > d })
		if !l.push(p, s) {
			return false
		}
		segs = l.segs()
		copy(segs[i+1:], segs[i:n])
		segs[i].set(s)
		l.maxOff = max(l.maxOff, dn)
		return true
	}
	below := l.lo - s.seq
	if newMax := max(l.maxOff+below, s.next-s.seq); below < half && s.next-s.seq < half && newMax < half {
		// Below every segment held: the new first one.
		if !l.push(p, s) {
			return false
		}
		segs := l.segs()
		copy(segs[1:], segs[:n])
		segs[0].set(s)
		l.lo, l.maxOff = s.seq, newMax
		return true
	}
	if !l.push(p, s) {
		return false
	}
	l.unsorted = true
	return true
}

// push appends *s, making room by moving the segments to the front of the
// buffer (when a quarter of it is free there, so that each move is paid for by
// as many acknowledged segments) or by growing it; as for add, s must not
// point into l.buf.
func (l *segList) push(p *segPool, s *segment) bool {
	if len(l.buf) == cap(l.buf) {
		if l.head == 0 || int(l.head) < cap(l.buf)/4 {
			if nb, ok := p.grow(l.buf, int(l.head)); ok {
				l.buf, l.head = nb, 0
			}
		}
		if len(l.buf) == cap(l.buf) {
			if l.head == 0 {
				return false
			}
			n := copy(l.buf, l.buf[l.head:])
			l.buf, l.head = l.buf[:n], 0
		}
	}
	// There is room now.
	n := len(l.buf)
	l.buf = l.buf[:n+1]
	l.buf[n].set(s)
	return true
}

// acknowledge applies acknowledgment number ack as Wireshark does: a segment
// it ends at exactly, or covers entirely, goes; one it covers in part keeps
// the rest. The oldest segment it ends at exactly is copied to *acked, and ok
// reports whether there was one (else *acked is untouched). rexmit reports
// whether any segment the ACK covered, wholly or in part, was a
// retransmission: the ACK may then answer the retransmission rather than the
// segment in *acked, and Karn's rule takes no RTT sample from it.
func (l *segList) acknowledge(ack uint32, acked *segment) (ok, rexmit bool) {
	n := l.len()
	if n == 0 {
		return false, false
	}
	if !l.unsorted {
		a := ack - l.lo
		if a >= half {
			if l.lo-ack+l.maxOff < half {
				// Below every segment: nothing to do.
				return false, false
			}
		} else {
			return l.ackPrefix(a, acked)
		}
	}
	ok, rexmit = l.ackAll(ack, acked)
	if l.len() > 0 {
		l.unsorted = true
	}
	return ok, rexmit
}

// ackPrefix acknowledges a (relative to lo, below 2^31) in a sorted list:
// only the segments starting below a are concerned, and they come first.
func (l *segList) ackPrefix(a uint32, acked *segment) (ok, rexmit bool) {
	segs := l.segs()
	k := 0
	for k < len(segs) && segs[k].seq-l.lo < a {
		k++
	}
	if k == 0 {
		return false, false
	}
	// Keep the partly acknowledged segments just before the untouched ones.
	w := k
	for i := k - 1; i >= 0; i-- {
		s := segs[i]
		rexmit = rexmit || s.retransmitted()
		next := s.next - l.lo
		switch {
		case next == a:
			if !ok || s.order < acked.order {
				acked.set(&s)
				ok = true
			}
		case next > a:
			s.seq = l.lo + a
			w--
			segs[w].set(&s)
		}
	}
	l.head += int32(w)
	if l.len() == 0 {
		l.buf, l.head = l.buf[:0], 0
		return ok, rexmit
	}
	newLo := l.buf[l.head].seq
	l.maxOff -= newLo - l.lo
	l.lo = newLo
	return ok, rexmit
}

// ackAll is Wireshark's walk over every segment.
func (l *segList) ackAll(ack uint32, acked *segment) (ok, rexmit bool) {
	segs := l.segs()
	keep := segs[:0]
	for _, s := range segs {
		switch {
		case ack == s.next:
			if !ok || s.order < acked.order {
				acked.set(&s)
				ok = true
			}
			rexmit = rexmit || s.retransmitted()
			continue
		case gtSeq(ack, s.seq) && leSeq(ack, s.next):
			s.seq = ack
			rexmit = rexmit || s.retransmitted()
		case gtSeq(s.next, ack):
		default:
			rexmit = rexmit || s.retransmitted()
			continue
		}
		keep = append(keep, s)
	}
	l.buf = l.buf[:int(l.head)+len(keep)]
	if len(keep) == 0 {
		l.buf, l.head = l.buf[:0], 0
	}
	return ok, rexmit
}

// eldest returns the segment remembered first.
func (l *segList) eldest() (segment, bool) {
	segs := l.segs()
	if len(segs) == 0 {
		return segment{}, false
	}
	e := segs[0]
	for _, s := range segs[1:] {
		if s.order < e.order {
			e = s
		}
	}
	return e, true
}

// span returns the lowest sequence number and the highest next one, both
// relative to base as Wireshark computes them for bytes in flight.
func (l *segList) span(base uint32) (first, last uint32) {
	segs := l.segs()
	if !l.unsorted {
		r := l.lo - base
		if uint64(r)+uint64(l.maxOff) < 1<<32 {
			return r, r + l.maxOff
		}
	}
	first, last = segs[len(segs)-1].seq-base, segs[len(segs)-1].next-base
	for _, s := range segs {
		first = min(first, s.seq-base)
		last = max(last, s.next-base)
	}
	return first, last
}

// release returns the list's memory to the pool.
func (l *segList) release(p *segPool) {
	p.put(l.buf)
	*l = segList{}
}

// reset empties the list, keeping its memory.
func (l *segList) reset() {
	l.buf, l.head, l.unsorted = l.buf[:0], 0, false
}

// Lists live in slices whose capacities are powers of two from minClass; a
// list that outgrows its slice moves to one twice as large. Slices are recycled
// through per-size free lists, so a connection that goes away leaves its memory
// to the next, and nothing is allocated once the pool holds slices of every
// size in use.
const (
	minClassShift = 3 // 8 segments
	numClasses    = 12
	maxClassCap   = 1 << (minClassShift + numClasses - 1) // 16,384
)

// segPool hands out segment slices within a budget on their total capacity,
// held by lists or free.
type segPool struct {
	free   [numClasses][][]segment
	budget int // most segments held at once, in lists or free
	held   int // capacity of every slice handed out or free
	inUse  int // capacity of the slices held by lists
}

func classOf(capacity int) int {
	return bits.Len(uint(capacity-1)) - minClassShift
}

// grow returns a slice twice as large as buf holding buf[head:], returning
// buf to the pool, or false when the budget forbids it.
func (p *segPool) grow(buf []segment, head int) ([]segment, bool) {
	newCap := 1 << minClassShift
	if cap(buf) > 0 {
		newCap = 2 * cap(buf)
	}
	if newCap > maxClassCap {
		return buf, false
	}
	s := buf[head:]
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
			return buf, false
		}
		ns = make([]segment, len(s), newCap)
		p.held += newCap
	}
	copy(ns, s)
	p.inUse += newCap
	p.put(buf)
	return ns, true
}

// put returns s's slice to the pool.
func (p *segPool) put(s []segment) {
	if cap(s) == 0 {
		return
	}
	s = s[:0:cap(s)]
	p.inUse -= cap(s)
	c := classOf(cap(s))
	p.free[c] = append(p.free[c], s)
}
