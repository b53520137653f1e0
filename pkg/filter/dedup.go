package filter

import (
	"bytes"
	"fmt"
	"hash/maphash"
)

// DefaultDedupWindow is editcap -d's window: a packet is compared with the 4
// packets before it (editcap counts the current packet in its window of 5).
const DefaultDedupWindow = 5

// MaxDedupWindow bounds the window (and so memory: Dedup keeps a copy of the
// last window-1 packets).
const MaxDedupWindow = 100000

// Dedup finds duplicate packets as editcap -d/-D does: a packet is a duplicate
// when its captured bytes equal those of one of the previous window-1 packets.
// Every packet, duplicate or not, enters the window, as in editcap.
//
// editcap compares MD5 digests and lengths. Dedup compares a seeded 64-bit
// maphash (the runtime's AES-based hash, several GB/s) and the length first,
// then confirms a hash match by comparing the bytes themselves, so there are
// no false duplicates at all and no cryptographic hash per packet. It keeps a
// copy of each packet in the window, in buffers reused from packet to packet:
// memory is window × the largest packet, and nothing is allocated per packet
// once the buffers have grown.
type Dedup struct {
	seed  maphash.Seed
	slots []dedupSlot
	next  int // slot the next packet goes into
}

type dedupSlot struct {
	used bool
	hash uint64
	data []byte
}

// NewDedup returns a Dedup with the given window (editcap -D), counting the
// current packet: window 5 compares with the 4 previous packets. window must be
// in 2..MaxDedupWindow.
func NewDedup(window int) (*Dedup, error) {
	if window < 2 || window > MaxDedupWindow {
		return nil, fmt.Errorf("dedup window %d: want 2..%d", window, MaxDedupWindow)
	}
	return &Dedup{seed: maphash.MakeSeed(), slots: make([]dedupSlot, window-1)}, nil
}

// Duplicate reports whether data (a packet's captured bytes) equals one of the
// previous window-1 packets' bytes, then records it in the window.
func (d *Dedup) Duplicate(data []byte) bool {
	h := maphash.Bytes(d.seed, data)
	dup := false
	for i := range d.slots {
		s := &d.slots[i]
		if s.used && s.hash == h && bytes.Equal(s.data, data) {
			dup = true
			break
		}
	}
	s := &d.slots[d.next]
	s.used, s.hash = true, h
	s.data = append(s.data[:0], data...)
	if d.next++; d.next == len(d.slots) {
		d.next = 0
	}
	return dup
}
