package parquet

import (
	"bytes"
	"hash/maphash"
)

// dict is the dictionary of one byte-array column chunk: an open-addressing
// hash table from a key (the raw bytes of the row fields the text is made
// from, or the text itself) to the index of its entry. Keys and values live in two arenas, so
// adding an entry allocates only while the arenas grow to their working size,
// and a reset keeps the memory for the next row group.
type dict struct {
	seed    maphash.Seed
	slots   []int32 // entry index + 1; 0 is empty
	keys    []byte
	keyEnd  []int32
	vals    []byte // the dictionary page's values, PLAIN encoded as they are added
	valEnd  []int32
	valSize int // bytes of the values without their length prefixes
	last    int32
	lastKey []byte
}

func newDict() *dict {
	return &dict{seed: maphash.MakeSeed(), slots: make([]int32, 1024), last: -1}
}

func (d *dict) reset() {
	clear(d.slots)
	d.keys, d.keyEnd, d.vals, d.valEnd = d.keys[:0], d.keyEnd[:0], d.vals[:0], d.valEnd[:0]
	d.valSize, d.last = 0, -1
}

func (d *dict) len() int { return len(d.keyEnd) }

func (d *dict) key(i int32) []byte {
	start := int32(0)
	if i > 0 {
		start = d.keyEnd[i-1]
	}
	return d.keys[start:d.keyEnd[i]]
}

// value returns entry i's value without its length prefix.
func (d *dict) value(i int32) []byte {
	start := int32(0)
	if i > 0 {
		start = d.valEnd[i-1]
	}
	return d.vals[start+4 : d.valEnd[i]]
}

// index returns the entry of key, adding it with the value that text appends
// (called only for a new key) when it is not there yet.
func (d *dict) index(key []byte, text func([]byte) []byte) int32 {
	if d.last >= 0 && bytes.Equal(key, d.lastKey) {
		return d.last
	}
	mask := uint64(len(d.slots) - 1)
	h := maphash.Bytes(d.seed, key)
	for s := h & mask; ; s = (s + 1) & mask {
		e := d.slots[s] - 1
		if e < 0 {
			e = d.add(key, text)
			d.slots[s] = e + 1
			if 2*d.len() > len(d.slots) {
				d.rehash()
			}
			d.last, d.lastKey = e, d.key(e)
			return e
		}
		if bytes.Equal(d.key(e), key) {
			d.last, d.lastKey = e, d.key(e)
			return e
		}
	}
}

func (d *dict) add(key []byte, text func([]byte) []byte) int32 {
	d.keys = append(d.keys, key...)
	d.keyEnd = append(d.keyEnd, int32(len(d.keys)))
	at := len(d.vals)
	d.vals = append(d.vals, 0, 0, 0, 0)
	d.vals = text(d.vals)
	n := len(d.vals) - at - 4
	d.vals[at], d.vals[at+1], d.vals[at+2], d.vals[at+3] = byte(n), byte(n>>8), byte(n>>16), byte(n>>24)
	d.valEnd = append(d.valEnd, int32(len(d.vals)))
	d.valSize += n
	return int32(d.len() - 1)
}

func (d *dict) rehash() {
	d.slots = make([]int32, 2*len(d.slots))
	mask := uint64(len(d.slots) - 1)
	for e := range int32(d.len()) {
		s := maphash.Bytes(d.seed, d.key(e)) & mask
		for d.slots[s] != 0 {
			s = (s + 1) & mask
		}
		d.slots[s] = e + 1
	}
}

// minMax returns the smallest and largest values in byte order, the order
// Parquet's statistics use for strings.
func (d *dict) minMax() (lo, hi []byte) {
	for e := range int32(d.len()) {
		v := d.value(e)
		if e == 0 || bytes.Compare(v, lo) < 0 {
			lo = v
		}
		if e == 0 || bytes.Compare(v, hi) > 0 {
			hi = v
		}
	}
	return lo, hi
}
