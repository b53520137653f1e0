package parquet

import (
	"encoding/binary"
	"math/bits"
)

// The Parquet value encodings this package writes: PLAIN, DELTA_BINARY_PACKED, the
// RLE/bit-packed hybrid (levels and dictionary indexes) and bit-packed booleans.
// Each appends to dst and allocates only when dst must grow.

// bitPacker packs unsigned values of a fixed width, least significant bit first,
// as Parquet's bit-packed runs and DELTA_BINARY_PACKED miniblocks store them.
type bitPacker struct {
	acc   uint64
	nbits uint
}

func (p *bitPacker) put(dst []byte, v uint64, width uint) []byte {
	p.acc |= v << p.nbits
	if p.nbits+width >= 64 {
		dst = binary.LittleEndian.AppendUint64(dst, p.acc)
		used := 64 - p.nbits // bits of v already written
		if used < 64 {
			p.acc = v >> used
		} else {
			p.acc = 0
		}
		p.nbits = p.nbits + width - 64
		return dst
	}
	p.nbits += width
	return dst
}

// flush writes the bits still held, padded to a whole byte.
func (p *bitPacker) flush(dst []byte) []byte {
	for p.nbits > 0 {
		dst = append(dst, byte(p.acc))
		p.acc >>= 8
		p.nbits -= min(p.nbits, 8)
	}
	p.acc, p.nbits = 0, 0
	return dst
}

// Block layout of DELTA_BINARY_PACKED as written here: blocks of 128 values
// in 4 miniblocks of 32, the layout parquet-mr and arrow use.
const (
	deltaBlock     = 128
	deltaMiniblock = 32
)

// appendDelta32 appends vals with DELTA_BINARY_PACKED as an INT32 column:
// differences wrap around in 32 bits, so no miniblock needs more than 32 bits.
func appendDelta32(dst []byte, vals []int32) []byte {
	dst = deltaHeader(dst, len(vals))
	if len(vals) == 0 {
		return binary.AppendVarint(dst, 0)
	}
	dst = binary.AppendVarint(dst, int64(vals[0]))
	var d [deltaBlock]uint64
	for i := 1; i < len(vals); i += deltaBlock {
		n := min(deltaBlock, len(vals)-i)
		minD := int32(vals[i] - vals[i-1])
		for k := range n {
			delta := vals[i+k] - vals[i+k-1]
			minD = min(minD, delta)
		}
		for k := range n {
			d[k] = uint64(uint32(vals[i+k] - vals[i+k-1] - minD))
		}
		dst = deltaBlockOut(dst, int64(minD), d[:n])
	}
	return dst
}

// appendDelta64 appends vals with DELTA_BINARY_PACKED as an INT64 column.
func appendDelta64(dst []byte, vals []int64) []byte {
	dst = deltaHeader(dst, len(vals))
	if len(vals) == 0 {
		return binary.AppendVarint(dst, 0)
	}
	dst = binary.AppendVarint(dst, vals[0])
	var d [deltaBlock]uint64
	for i := 1; i < len(vals); i += deltaBlock {
		n := min(deltaBlock, len(vals)-i)
		minD := vals[i] - vals[i-1]
		for k := range n {
			minD = min(minD, vals[i+k]-vals[i+k-1])
		}
		for k := range n {
			d[k] = uint64(vals[i+k] - vals[i+k-1] - minD)
		}
		dst = deltaBlockOut(dst, minD, d[:n])
	}
	return dst
}

func deltaHeader(dst []byte, n int) []byte {
	dst = binary.AppendUvarint(dst, deltaBlock)
	dst = binary.AppendUvarint(dst, deltaBlock/deltaMiniblock)
	return binary.AppendUvarint(dst, uint64(n))
}

// deltaBlockOut writes one block: the minimum delta, the four miniblock widths,
// then the miniblocks that hold values, each padded to 32 values.
func deltaBlockOut(dst []byte, minD int64, d []uint64) []byte {
	dst = binary.AppendVarint(dst, minD)
	var widths [deltaBlock / deltaMiniblock]uint
	used := (len(d) + deltaMiniblock - 1) / deltaMiniblock
	for m := range used {
		var or uint64
		for _, v := range d[m*deltaMiniblock : min(len(d), (m+1)*deltaMiniblock)] {
			or |= v
		}
		widths[m] = uint(bits.Len64(or))
	}
	for _, w := range widths {
		dst = append(dst, byte(w))
	}
	var p bitPacker
	for m := range used {
		w := widths[m]
		if w == 0 {
			continue
		}
		part := d[m*deltaMiniblock : min(len(d), (m+1)*deltaMiniblock)]
		for _, v := range part {
			dst = p.put(dst, v, w)
		}
		for range deltaMiniblock - len(part) {
			dst = p.put(dst, 0, w)
		}
		dst = p.flush(dst)
	}
	return dst
}

// levelWidth is the bit width of levels up to max.
func levelWidth(max int) uint { return uint(bits.Len(uint(max))) }

// appendHybrid appends vals, each below 2^width, with the RLE/bit-packed hybrid
// encoding: runs of 16 or more equal values as RLE runs, the rest bit-packed in
// groups of 8 (the last group padded with zeros; readers know the count).
func appendHybrid[T uint8 | uint32](dst []byte, vals []T, width uint) []byte {
	start := 0 // first value not yet written
	for i := 0; i < len(vals); {
		j := i + 1
		for j < len(vals) && vals[j] == vals[i] {
			j++
		}
		if j-i < 16 {
			i = j
			continue
		}
		// Complete the pending bit-packed values to a multiple of 8 from the run.
		if r := (i - start) % 8; r != 0 {
			i += 8 - r
		}
		dst = appendBitPacked(dst, vals[start:i], width)
		dst = binary.AppendUvarint(dst, uint64(j-i)<<1)
		v := uint64(vals[i])
		for b := uint(0); b < width; b += 8 {
			dst = append(dst, byte(v>>b))
		}
		i, start = j, j
	}
	return appendBitPacked(dst, vals[start:], width)
}

// appendBitPacked writes vals as bit-packed runs of at most 63 groups of 8 (the
// longest run a one-byte header describes, which every reader accepts).
func appendBitPacked[T uint8 | uint32](dst []byte, vals []T, width uint) []byte {
	for len(vals) > 0 {
		n := min(len(vals), 63*8)
		groups := (n + 7) / 8
		dst = binary.AppendUvarint(dst, uint64(groups)<<1|1)
		var p bitPacker
		for _, v := range vals[:n] {
			dst = p.put(dst, uint64(v), width)
		}
		for range groups*8 - n {
			dst = p.put(dst, 0, width)
		}
		dst = p.flush(dst)
		vals = vals[n:]
	}
	return dst
}

// appendLevels appends levels as a data page v1 stores them: RLE/bit-packed
// hybrid behind a 4-byte length.
func appendLevels(dst []byte, levels []uint8, max int) []byte {
	at := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = appendHybrid(dst, levels, levelWidth(max))
	binary.LittleEndian.PutUint32(dst[at:], uint32(len(dst)-at-4))
	return dst
}
