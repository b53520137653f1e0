package parquet

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"unsafe"
)

// leaf is one leaf column of rows of type T: its chunk, and where and how its
// values are read from a row. Staging reads the row fields by offset; the
// loops are written so that the common case (a required value, a dictionary
// that holds) runs without per-row checks of the column's settings.
type leaf[T any] struct {
	chunk
	off     uintptr // offset of the row field (the first pair's, for pairs; the span's start, for spans)
	size    uintptr // bytes of the row field (integer kinds)
	end     uintptr // spans: offset of the span's end
	span    bool    // String: the text is arena[start:end]
	div     int64   // kindInt64: values are divided by div, rounding down; 0: as they are
	has     bit     // the presence bit; has.mask == 0: required
	bit     bit     // kindBool: the value
	text    TextFunc[T]
	key     keySpec
	keyLoop keyLoop // keyed String: the loop of addKeyed
	count   uintptr // kindPairs: offset of the uint8 count of pairs
	pairs   int     // kindPairs: the most pairs a row holds
}

// newLeaves returns the leaf columns of c: one, or two for a list of pairs.
func newLeaves[T any](c *Column[T], codec Codec) []*leaf[T] {
	l := &leaf[T]{off: c.off, size: c.size, has: c.has}
	l.chunk = chunk{name: c.name, path: []string{c.name}, codec: codec, stats: !c.noStats, lastIdx: -1,
		delta: !c.plain, first: 2, dictLimit: dictionaryLimit}
	if c.uncompressed {
		l.codec = CodecNone
	}
	if l.has.mask != 0 {
		l.maxDef = 1
	}
	switch c.typ {
	case colUint8, colUint16, colUint32:
		l.phys, l.kind = typeInt32, kindInt32
	case colUint64, colInt64, colDuration, colTimestamp:
		l.phys, l.kind, l.first = typeInt64, kindInt64, 3
		l.signed = c.typ != colUint64
		if c.micro {
			l.div = 1000
		}
	case colBool:
		l.phys, l.kind, l.bit, l.first = typeBoolean, kindBool, c.bit, 1
	case colString:
		l.phys, l.kind, l.text, l.key, l.dict = typeByteArray, kindBytes, c.text, c.key, newDict()
		l.span, l.end, l.keyLoop = c.span, c.end, keyLoopOf(c.key)
		// Text made or copied for every row costs the most; text made per
		// distinct key less, but more than numbers.
		l.first = 12
		if c.key.n > 0 {
			l.first = 4
		}
	case colPairs:
		l.phys, l.kind, l.maxDef, l.maxRep, l.stats, l.first = typeInt32, kindPairs, 3, 1, false, 3
		l.delta, l.count, l.pairs = false, c.count, c.maxPairs
		l.name, l.path = c.name+".list.element."+c.left, []string{c.name, "list", "element", c.left}
		r := *l
		r.name, r.path = c.name+".list.element."+c.right, []string{c.name, "list", "element", c.right}
		l.pair = &r.chunk
		return []*leaf[T]{l, &r}
	}
	return []*leaf[T]{l}
}

// add stages the leaf's values of rows (both leaves, for pairs); arena is the
// bytes the rows' text may refer to.
func (l *leaf[T]) add(rows []T, arena []byte) {
	l.rows += len(rows)
	switch l.kind {
	case kindInt32:
		switch l.size {
		case 4:
			l.i32, l.def = stage32[T, uint32](l.i32, l.def, rows, l.off, l.has)
		case 2:
			l.i32, l.def = stage32[T, uint16](l.i32, l.def, rows, l.off, l.has)
		default:
			l.i32, l.def = stage32[T, uint8](l.i32, l.def, rows, l.off, l.has)
		}
	case kindInt64:
		l.i64, l.def = stage64(l.i64, l.def, rows, l.off, l.has, l.div)
	case kindBool:
		l.addBools(rows)
	case kindBytes:
		switch {
		case l.span && l.key.n == 0:
			l.addSpans(rows, arena)
		case l.keyLoop != noKeyLoop && !l.fallback && l.has.mask == 0:
			l.addKeyed(rows, arena)
		default:
			l.addTexts(rows, arena)
		}
	case kindPairs:
		l.addPairs(rows)
	}
}

// stage32 appends the field at off of each row, of type F, to vals; for an
// optional column (has set) it appends definition levels to def and only the
// present values to vals.
func stage32[T any, F uint8 | uint16 | uint32](vals []int32, def []uint8, rows []T, off uintptr, has bit) ([]int32, []uint8) {
	if has.mask == 0 {
		vals = slices.Grow(vals, len(rows))
		for k := range rows {
			vals = append(vals, int32(*(*F)(unsafe.Add(unsafe.Pointer(&rows[k]), off))))
		}
		return vals, def
	}
	def = slices.Grow(def, len(rows))
	for k := range rows {
		p := unsafe.Pointer(&rows[k])
		if !has.in(p) {
			def = append(def, 0)
			continue
		}
		def = append(def, 1)
		vals = append(vals, int32(*(*F)(unsafe.Add(p, off))))
	}
	return vals, def
}

// stage64 is stage32 for 8-byte fields, each divided by div (rounding down)
// when div is set.
func stage64[T any](vals []int64, def []uint8, rows []T, off uintptr, has bit, div int64) ([]int64, []uint8) {
	switch {
	case has.mask == 0 && div == 0:
		vals = slices.Grow(vals, len(rows))
		for k := range rows {
			vals = append(vals, *(*int64)(unsafe.Add(unsafe.Pointer(&rows[k]), off)))
		}
	case has.mask == 0:
		vals = slices.Grow(vals, len(rows))
		for k := range rows {
			vals = append(vals, floorDiv(*(*int64)(unsafe.Add(unsafe.Pointer(&rows[k]), off)), div))
		}
	default:
		def = slices.Grow(def, len(rows))
		for k := range rows {
			p := unsafe.Pointer(&rows[k])
			if !has.in(p) {
				def = append(def, 0)
				continue
			}
			def = append(def, 1)
			v := *(*int64)(unsafe.Add(p, off))
			if div != 0 {
				v = floorDiv(v, div)
			}
			vals = append(vals, v)
		}
	}
	return vals, def
}

// addBools stages booleans, 8 a byte, into room made for all the rows.
func (l *leaf[T]) addBools(rows []T) {
	n := l.nbool
	have := len(l.bits)
	bits := slices.Grow(l.bits, (n+len(rows)+7)/8-have)
	bits = bits[:(n+len(rows)+7)/8]
	clear(bits[have:])
	off, mask, has := l.bit.off, l.bit.mask, l.has
	if has.mask == 0 {
		for k := range rows {
			if *(*uint8)(unsafe.Add(unsafe.Pointer(&rows[k]), off))&mask != 0 {
				bits[n>>3] |= 1 << (n & 7)
			}
			n++
		}
	} else {
		def := slices.Grow(l.def, len(rows))
		for k := range rows {
			p := unsafe.Pointer(&rows[k])
			if !has.in(p) {
				def = append(def, 0)
				continue
			}
			def = append(def, 1)
			if *(*uint8)(unsafe.Add(p, off))&mask != 0 {
				bits[n>>3] |= 1 << (n & 7)
			}
			n++
		}
		l.def = def
		bits = bits[:(n+7)/8]
	}
	l.bits, l.nbool = bits, n
}

// addTexts stages a String column row by row, whatever its settings: nulls,
// PLAIN after a fallback, the key or the text itself looked up in the
// dictionary.
func (l *leaf[T]) addTexts(rows []T, arena []byte) {
	for k := range rows {
		r := &rows[k]
		p := unsafe.Pointer(r)
		if l.has.mask != 0 {
			if !l.has.in(p) {
				l.def = append(l.def, 0)
				continue
			}
			l.def = append(l.def, 1)
		}
		if l.fallback {
			l.plain = binary.LittleEndian.AppendUint32(l.plain, 0)
			at := len(l.plain)
			l.plain = l.appendText(l.plain, r, arena)
			binary.LittleEndian.PutUint32(l.plain[at-4:], uint32(len(l.plain)-at))
			continue
		}
		var e int32
		switch {
		case l.key.n > 0:
			a, b, c := l.loadKey(p)
			if l.lastIdx < 0 || a != l.last[0] || b != l.last[1] || c != l.last[2] {
				l.lastIdx = l.lookup(a, b, c, r, arena)
				l.last = [3]uint64{a, b, c}
			}
			e = l.lastIdx
		case l.span:
			t := l.spanText(p, arena)
			e = l.dict.index(t, func(b []byte) []byte { return append(b, t...) })
		default:
			at := len(l.plain) // the text is made at the end of plain, unused before a fallback
			l.plain = l.text(l.plain, r, arena)
			t := l.plain[at:]
			e = l.dict.index(t, func(b []byte) []byte { return append(b, t...) })
			l.plain = l.plain[:at]
		}
		l.idx = append(l.idx, uint32(e))
	}
}

// appendText appends the text of row r.
func (l *leaf[T]) appendText(dst []byte, r *T, arena []byte) []byte {
	if l.span {
		return append(dst, l.spanText(unsafe.Pointer(r), arena)...)
	}
	return l.text(dst, r, arena)
}

// spanText returns the text of a span column, arena[start:end] of the row at
// p; a span outside the arena is an error of the writer, staged as "".
func (l *leaf[T]) spanText(p unsafe.Pointer, arena []byte) []byte {
	s, e := *(*uint32)(unsafe.Add(p, l.off)), *(*uint32)(unsafe.Add(p, l.end))
	if s > e || int64(e) > int64(len(arena)) {
		if l.err == nil {
			l.err = fmt.Errorf("column %s: text span %d:%d outside the %d bytes given", l.name, s, e, len(arena))
		}
		return nil
	}
	return arena[s:e]
}

// addSpans stages a span column: its text is read from the arena, so the loop
// makes no call per row.
func (l *leaf[T]) addSpans(rows []T, arena []byte) {
	// Locals, not l's fields, so that the loop keeps them in registers.
	def, idx, plain := l.def, l.idx, l.plain
	start, end, has, fallback := l.off, l.end, l.has, l.fallback
	for k := range rows {
		p := unsafe.Pointer(&rows[k])
		if has.mask != 0 {
			if !has.in(p) {
				def = append(def, 0)
				continue
			}
			def = append(def, 1)
		}
		s, e := *(*uint32)(unsafe.Add(p, start)), *(*uint32)(unsafe.Add(p, end))
		if s > e || int64(e) > int64(len(arena)) {
			l.spanText(p, arena) // records the error
			s, e = 0, 0
		}
		t := arena[s:e]
		if fallback {
			plain = binary.LittleEndian.AppendUint32(plain, uint32(len(t)))
			plain = append(plain, t...)
			continue
		}
		idx = append(idx, uint32(l.dict.index(t, func(b []byte) []byte { return append(b, t...) })))
	}
	l.def, l.idx, l.plain = def, idx, plain
}

// keyLoop is the loop addKeyed runs for a key's fields: keyedSmall for one
// field of 1, 2, 4 or 8 bytes, keyedWide for a [16]byte and a tag of those
// sizes; other keys go through addTexts.
type keyLoop uint8

const (
	noKeyLoop keyLoop = iota
	small8
	small16
	small32
	small64
	wide8
	wide16
	wide32
	wide64
)

func keyLoopOf(k keySpec) keyLoop {
	// Fields are 1, 2, 4 or 8 bytes (or 16): the loops go in that order.
	step := func(size uintptr) keyLoop { return keyLoop(bits.TrailingZeros(uint(size))) }
	switch {
	case k.n == 1 && k.size[0] <= 8:
		return small8 + step(k.size[0])
	case k.n == 2 && k.size[0] == 16:
		return wide8 + step(k.size[1])
	}
	return noKeyLoop
}

// addKeyed stages a required keyed String column while its dictionary holds.
func (l *leaf[T]) addKeyed(rows []T, arena []byte) {
	switch l.keyLoop {
	case small8:
		keyedSmall[T, uint8](l, rows, arena)
	case small16:
		keyedSmall[T, uint16](l, rows, arena)
	case small32:
		keyedSmall[T, uint32](l, rows, arena)
	case small64:
		keyedSmall[T, uint64](l, rows, arena)
	case wide8:
		keyedWide[T, uint8](l, rows, arena)
	case wide16:
		keyedWide[T, uint16](l, rows, arena)
	case wide32:
		keyedWide[T, uint32](l, rows, arena)
	case wide64:
		keyedWide[T, uint64](l, rows, arena)
	}
}

// keyedSmall stages a column keyed by one field of type F (flag bits, a
// state). Consecutive rows often share their value, so the last key is
// compared first; then small keys are looked up in a table, the others in the
// dictionary, which makes the text only for a key it has not seen.
func keyedSmall[T any, F uint8 | uint16 | uint32 | uint64](l *leaf[T], rows []T, arena []byte) {
	// Locals, not l's fields, so that the loop keeps them in registers.
	idx, lastIdx, last, off := slices.Grow(l.idx, len(rows)), l.lastIdx, F(l.last[0]), l.key.off[0]
	for k := range rows {
		v := *(*F)(unsafe.Add(unsafe.Pointer(&rows[k]), off))
		if lastIdx < 0 || v != last {
			if uint64(v) < uint64(len(l.small)) && l.small[v] > 0 {
				lastIdx = l.small[v] - 1
			} else {
				lastIdx = l.lookup(uint64(v), 0, 0, &rows[k], arena)
			}
			last = v
		}
		idx = append(idx, uint32(lastIdx))
	}
	l.idx, l.lastIdx, l.last = idx, lastIdx, [3]uint64{uint64(last)}
}

// keyedWide stages a column keyed by a [16]byte and a tag of type G (an
// address and its IP version). Consecutive rows mostly share their value (the
// endpoints of a connection), so the last key is compared first, then the
// dictionary is asked.
func keyedWide[T any, G uint8 | uint16 | uint32 | uint64](l *leaf[T], rows []T, arena []byte) {
	// Locals, not l's fields, so that the loop keeps them in registers.
	idx, lastIdx := slices.Grow(l.idx, len(rows)), l.lastIdx
	la, lb, lc := l.last[0], l.last[1], G(l.last[2])
	off, tag := l.key.off[0], l.key.off[1]
	for k := range rows {
		p := unsafe.Pointer(&rows[k])
		// A [16]byte, which may sit at any offset: read as bytes.
		s := unsafe.Slice((*byte)(unsafe.Add(p, off)), 16)
		a, b := binary.LittleEndian.Uint64(s), binary.LittleEndian.Uint64(s[8:])
		c := *(*G)(unsafe.Add(p, tag))
		if lastIdx < 0 || a != la || b != lb || c != lc {
			lastIdx = l.lookup(a, b, uint64(c), &rows[k], arena)
			la, lb, lc = a, b, c
		}
		idx = append(idx, uint32(lastIdx))
	}
	l.idx, l.lastIdx, l.last = idx, lastIdx, [3]uint64{la, lb, uint64(lc)}
}

// loadKey reads the key of the row at p: its first field in a (and b, past
// 8 bytes), the second in c.
func (l *leaf[T]) loadKey(p unsafe.Pointer) (a, b, c uint64) {
	a, b = loadField(unsafe.Add(p, l.key.off[0]), l.key.size[0])
	if l.key.n > 1 {
		c, _ = loadField(unsafe.Add(p, l.key.off[1]), l.key.size[1])
	}
	return a, b, c
}

// loadField reads a key field of size bytes at p: the first 8 bytes in a, the
// rest in b.
func loadField(p unsafe.Pointer, size uintptr) (a, b uint64) {
	switch size {
	case 1:
		return uint64(*(*uint8)(p)), 0
	case 2:
		return uint64(*(*uint16)(p)), 0
	case 4:
		return uint64(*(*uint32)(p)), 0
	case 8:
		return *(*uint64)(p), 0
	}
	// A [16]byte, which may sit at any offset.
	s := unsafe.Slice((*byte)(p), 16)
	return binary.LittleEndian.Uint64(s), binary.LittleEndian.Uint64(s[8:])
}

// lookup returns the dictionary entry of the key (a, b, c) of row r, adding
// it when it is new: through the table of small keys, or the dictionary.
func (l *leaf[T]) lookup(a, b, c uint64, r *T, arena []byte) int32 {
	small := b == 0 && c == 0 && a < uint64(len(l.small))
	if small && l.small[a] > 0 {
		return l.small[a] - 1
	}
	binary.LittleEndian.PutUint64(l.keyBuf[0:], a)
	m := 8
	if l.key.size[0] > 8 {
		binary.LittleEndian.PutUint64(l.keyBuf[8:], b)
		m = 16
	}
	if l.key.n > 1 {
		binary.LittleEndian.PutUint64(l.keyBuf[m:], c)
		m += 8
	}
	e := l.dict.index(l.keyBuf[:m], func(b []byte) []byte { return l.appendText(b, r, arena) })
	if small {
		l.small[a] = e + 1
	}
	return e
}

// addPairs stages list<struct<left, right>>: a row without pairs is one null
// entry (definition 0); each pair is one entry at the full definition level,
// repetition 1 after the row's first pair.
func (l *leaf[T]) addPairs(rows []T) {
	r2 := l.pair
	r2.rows += len(rows)
	for k := range rows {
		p := unsafe.Pointer(&rows[k])
		n := int(*(*uint8)(unsafe.Add(p, l.count)))
		if n == 0 || (l.has.mask != 0 && !l.has.in(p)) {
			l.def, l.rep = append(l.def, 0), append(l.rep, 0)
			continue
		}
		for j := range min(n, l.pairs) {
			e := unsafe.Add(p, l.off+uintptr(j)*8)
			l.i32 = append(l.i32, int32(*(*uint32)(e)))
			r2.i32 = append(r2.i32, int32(*(*uint32)(unsafe.Add(e, 4))))
			l.def = append(l.def, uint8(l.maxDef))
			l.rep = append(l.rep, uint8(min(j, 1)))
		}
	}
}
