package parquet

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// Parquet's physical types, encodings and page types (parquet.thrift).
const (
	typeBoolean   = 0
	typeInt32     = 1
	typeInt64     = 2
	typeByteArray = 6

	encPlain        = 0
	encRLE          = 3
	encDelta        = 5
	encRLEDict      = 8
	pageData        = 0
	pageDictionary  = 2
	dictionaryLimit = 1 << 20 // bytes of dictionary values before a chunk falls back to PLAIN
)

// DefaultPageRows is the rows of a data page unless Options.PageRows says less.
const DefaultPageRows = 1 << 15

// leafKind is how a leaf column is staged and encoded.
type leafKind uint8

const (
	kindInt32 leafKind = iota // INT32 from a 1-, 2- or 4-byte field
	kindInt64                 // INT64 from an 8-byte field
	kindBool                  // BOOLEAN, PLAIN (bit-packed)
	kindBytes                 // BYTE_ARRAY, dictionary while it pays, then PLAIN
	kindPairs                 // the two INT32 leaves of a list of pairs, PLAIN
)

// chunk is one leaf column but for how its values are read from rows (see
// leaf): the page being staged and the encoded pages of the open row group's
// column chunk. Its code does not depend on the row type.
type chunk struct {
	name   string
	path   []string
	phys   int32
	kind   leafKind
	delta  bool // DELTA_BINARY_PACKED (integers); otherwise PLAIN
	maxDef int
	maxRep int
	codec  Codec
	signed bool   // statistics compare as signed; otherwise unsigned
	stats  bool   // min/max statistics are written
	pair   *chunk // pairs: the right leaf, written with the left one
	cost   int64  // ns spent on the leaf since the last sharing of the work
	first  int64  // the cost assumed before any is measured
	err    error  // a row the leaf could not stage

	// The page being staged.
	rows  int // rows staged
	i32   []int32
	i64   []int64
	idx   []uint32 // dictionary indexes
	plain []byte   // PLAIN byte arrays after a fallback
	bits  []byte   // booleans, 8 a byte
	nbool int
	def   []uint8
	rep   []uint8

	// The open column chunk.
	dict      *dict
	dictLimit int // bytes of dictionary values before the chunk falls back to PLAIN
	fallback  bool
	pages     []pageRef // data pages
	dictPage  pageRef
	hasDict   bool
	hdrs      []byte   // the page headers
	segs      [][]byte // the page bodies, in segments of an arena
	free      [][]byte // segments of written row groups, for reuse
	storeLeft int      // pages still to store without trying zstd
	pageRows  int      // rows at which the staged page is flushed
	firstPage int      // pageRows of a chunk's first page
	values    int64    // level entries (values and nulls)
	nulls     int64
	rawSize   int64  // uncompressed bytes, headers included
	encSet    uint16 // bit per encoding used
	hasMinMax bool
	lo, hi    uint64 // min and max as unsigned bits (or signed, for signed leaves)
	trues     int64
	boolCount int64

	// A keyed String column's last key and its entry; the entry+1 of each key
	// below len(small) (one small field: flag bits, a state).
	last    [3]uint64
	lastIdx int32
	small   [512]int32
	keyBuf  [24]byte
}

// scratch is one worker's buffers and compressor.
type scratch struct {
	page []byte
	comp compressor
	hdr  thriftWriter
}

// flushPage encodes the staged page into the chunk (both leaves, for pairs).
func (l *chunk) flushPage(s *scratch) error {
	if l.rows == 0 {
		return nil
	}
	if l.kind == kindPairs {
		// The right leaf has the same levels.
		r := l.pair
		r.def, r.rep = l.def, l.rep
		err := r.encodePage(s)
		r.def, r.rep = nil, nil
		if err != nil {
			return err
		}
	}
	return l.encodePage(s)
}

func (l *chunk) encodePage(s *scratch) error {
	page := s.page[:0]
	n := l.rows // level entries
	if l.maxRep > 0 {
		page = appendLevels(page, l.rep, l.maxRep)
		n = len(l.rep)
	}
	if l.maxDef > 0 {
		page = appendLevels(page, l.def, l.maxDef)
		n = len(l.def)
		if l.maxRep == 0 {
			for _, d := range l.def {
				if d == 0 {
					l.nulls++
				}
			}
		}
	}
	enc := int32(encPlain)
	switch l.kind {
	case kindInt32, kindPairs:
		l.minMax32()
		if l.delta {
			enc = encDelta
			page = appendDelta32(page, l.i32)
			break
		}
		page = slices.Grow(page, 4*len(l.i32))
		for _, v := range l.i32 {
			page = binary.LittleEndian.AppendUint32(page, uint32(v))
		}
	case kindInt64:
		l.minMax64()
		if l.delta {
			enc = encDelta
			page = appendDelta64(page, l.i64)
			break
		}
		page = slices.Grow(page, 8*len(l.i64))
		for _, v := range l.i64 {
			page = binary.LittleEndian.AppendUint64(page, uint64(v))
		}
	case kindBool:
		page = append(page, l.bits...)
		for _, b := range l.bits {
			l.trues += int64(bits.OnesCount8(b))
		}
		l.boolCount += int64(l.nbool)
	case kindBytes:
		if l.fallback {
			page = append(page, l.plain...)
		} else if len(l.idx) > 0 {
			enc = encRLEDict
			w := max(1, uint(bits.Len(uint(l.dict.len()-1))))
			page = append(page, byte(w))
			page = appendHybrid(page, l.idx, w)
		}
	}
	s.page = page
	l.encSet |= 1 << enc
	if l.maxDef > 0 || l.maxRep > 0 {
		l.encSet |= 1 << encRLE
	}
	err := l.writePage(s, pageData, enc, n, page)
	l.values += int64(n)
	if l.kind == kindBytes && !l.fallback && l.dict.valSize > l.dictLimit {
		l.fallback = true
		l.storeLeft = 0 // PLAIN text compresses, whatever the indexes did
	}
	l.rows, l.nbool = 0, 0
	l.i32, l.i64, l.idx, l.plain, l.bits = l.i32[:0], l.i64[:0], l.idx[:0], l.plain[:0], l.bits[:0]
	l.def, l.rep = l.def[:0], l.rep[:0]
	return err
}

// writePage compresses page and adds it with its header to the chunk (or, for
// the dictionary page, as the chunk's dictionary).
func (l *chunk) writePage(s *scratch, typ, enc int32, n int, page []byte) error {
	if len(page) > math.MaxInt32-64 {
		return fmt.Errorf("column %s: page of %d bytes is too large", l.name, len(page))
	}
	// The body goes to the chunk's arena: compressed pages through the
	// worker's buffer, so the arena holds compressed bytes only.
	stored := len(page) + (len(page)>>17+1)*3 + 9 // a stored zstd frame
	var seg, at int
	switch {
	case l.codec == CodecNone:
		seg, at = l.room(len(page))
		l.segs[seg] = append(l.segs[seg], page...)
	case l.codec == CodecZstd && l.storeLeft > 0:
		l.storeLeft--
		seg, at = l.room(stored)
		l.segs[seg] = appendZstdStored(l.segs[seg], page)
	default:
		buf, err := s.comp.compress(s.comp.buf, l.codec, page)
		if err != nil {
			return fmt.Errorf("column %s: %w", l.name, err)
		}
		s.comp.buf = buf
		// Pages zstd shrinks by less than 1/16 are stored as they are for the
		// next 3 pages of the column, then zstd tries again: the benchmark
		// capture's delta-encoded lengths, ip_id and relative numbers are such
		// pages. Measured there: 2-3% less CPU, a 1% larger file.
		if l.codec == CodecZstd && typ == pageData && len(page) >= 4096 && 16*len(buf) > 15*len(page) {
			l.storeLeft = 3
			seg, at = l.room(stored)
			l.segs[seg] = appendZstdStored(l.segs[seg], page)
		} else {
			seg, at = l.room(len(buf))
			l.segs[seg] = append(l.segs[seg], buf...)
		}
	}
	body := len(l.segs[seg]) - at
	hs := len(l.hdrs)
	t := &s.hdr
	t.b = l.hdrs
	t.begin()
	t.i32(1, typ)
	t.i32(2, int32(len(page)))
	t.i32(3, int32(body))
	if typ == pageDictionary {
		t.structField(7)
		t.i32(1, int32(n))
		t.i32(2, encPlain)
		t.end()
	} else {
		t.structField(5)
		t.i32(1, int32(n))
		t.i32(2, enc)
		t.i32(3, encRLE)
		t.i32(4, encRLE)
		t.end()
	}
	t.end()
	l.hdrs, t.b = t.b, nil
	pg := pageRef{hdr: hs, hdrEnd: len(l.hdrs), seg: seg, body: at, end: at + body}
	l.rawSize += int64(pg.hdrEnd - pg.hdr + len(page))
	if typ == pageDictionary {
		l.dictPage = pg
		l.hasDict = true
	} else {
		l.pages = append(l.pages, pg)
	}
	return nil
}

// room returns a segment of the arena with n bytes free and where they start.
// Segments are never moved or grown, so no page is copied twice; they start at
// 4 KiB and double up to 1 MiB, so small columns waste little (a chunk of a
// few KB is common when dozens of writers are open, as export's partitions:
// 64 KiB first segments made 12 times the bytes they held); a written row
// group's segments serve the next one.
func (l *chunk) room(n int) (seg, at int) {
	if k := len(l.segs) - 1; k >= 0 && cap(l.segs[k])-len(l.segs[k]) >= n {
		return k, len(l.segs[k])
	}
	size := 4 << 10
	if k := len(l.segs); k > 0 {
		size = min(2*cap(l.segs[k-1]), 1<<20)
	}
	var b []byte
	for i, f := range l.free {
		if cap(f) >= n {
			b = f[:0]
			l.free = append(l.free[:i], l.free[i+1:]...)
			break
		}
	}
	if b == nil {
		b = make([]byte, 0, max(size, n))
	}
	l.segs = append(l.segs, b)
	return len(l.segs) - 1, 0
}

// pageRef is an encoded page: its header in the leaf's hdrs, its body in data.
type pageRef struct {
	hdr, hdrEnd int
	seg         int // the arena segment
	body, end   int
}

func (l *chunk) minMax32() {
	if !l.stats || len(l.i32) == 0 {
		return
	}
	lo, hi := uint32(l.lo), uint32(l.hi)
	if !l.hasMinMax {
		lo, hi = uint32(l.i32[0]), uint32(l.i32[0])
	}
	for _, v := range l.i32 {
		lo, hi = min(lo, uint32(v)), max(hi, uint32(v))
	}
	l.lo, l.hi, l.hasMinMax = uint64(lo), uint64(hi), true
}

func (l *chunk) minMax64() {
	if !l.stats || len(l.i64) == 0 {
		return
	}
	if l.signed {
		lo, hi := int64(l.lo), int64(l.hi)
		if !l.hasMinMax {
			lo, hi = l.i64[0], l.i64[0]
		}
		for _, v := range l.i64 {
			lo, hi = min(lo, v), max(hi, v)
		}
		l.lo, l.hi, l.hasMinMax = uint64(lo), uint64(hi), true
		return
	}
	lo, hi := l.lo, l.hi
	if !l.hasMinMax {
		lo, hi = uint64(l.i64[0]), uint64(l.i64[0])
	}
	for _, v := range l.i64 {
		lo, hi = min(lo, uint64(v)), max(hi, uint64(v))
	}
	l.lo, l.hi, l.hasMinMax = lo, hi, true
}

// finishChunk writes the last page and the dictionary page of the chunk.
func (l *chunk) finishChunk(s *scratch) error {
	if err := l.flushPage(s); err != nil {
		return err
	}
	if l.kind == kindBytes && l.dict.len() > 0 {
		return l.writePage(s, pageDictionary, encPlain, l.dict.len(), l.dict.vals)
	}
	return nil
}

// release drops the memory a leaf keeps between row groups; it must hold no
// staged rows and no chunk.
func (l *chunk) release() {
	l.i32, l.i64, l.idx, l.plain, l.bits, l.def, l.rep = nil, nil, nil, nil, nil, nil, nil
	l.pages, l.hdrs, l.segs, l.free = nil, nil, nil, nil
	if l.dict != nil {
		l.dict = newDict()
	}
}

// resetChunk forgets the chunk once it is written to the file.
func (l *chunk) resetChunk() {
	l.pages, l.dictPage, l.hasDict, l.hdrs = l.pages[:0], pageRef{}, false, l.hdrs[:0]
	l.free = append(l.free, l.segs...)
	clear(l.segs)
	l.segs = l.segs[:0]
	l.values, l.nulls, l.rawSize, l.encSet = 0, 0, 0, 0
	l.hasMinMax, l.lo, l.hi, l.trues, l.boolCount = false, 0, 0, 0, 0
	l.fallback = false
	l.pageRows = l.firstPage
	l.lastIdx = -1
	clear(l.small[:])
	if l.dict != nil {
		l.dict.reset()
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// chunkStats fills the min and max of the chunk in Parquet's PLAIN form.
func (l *chunk) chunkStats(m *chunkMeta) {
	if !l.stats {
		return
	}
	switch l.kind {
	case kindInt32:
		if l.hasMinMax {
			m.lo = binary.LittleEndian.AppendUint32(nil, uint32(l.lo))
			m.hi = binary.LittleEndian.AppendUint32(nil, uint32(l.hi))
		}
	case kindInt64:
		if l.hasMinMax {
			m.lo = binary.LittleEndian.AppendUint64(nil, l.lo)
			m.hi = binary.LittleEndian.AppendUint64(nil, l.hi)
		}
	case kindBool:
		if l.boolCount > 0 {
			lo, hi := byte(0), byte(0)
			if l.trues == l.boolCount {
				lo = 1
			}
			if l.trues > 0 {
				hi = 1
			}
			m.lo, m.hi = []byte{lo}, []byte{hi}
		}
	case kindBytes:
		if !l.fallback && l.dict.len() > 0 {
			lo, hi := l.dict.minMax()
			m.lo, m.hi = append([]byte(nil), lo...), append([]byte(nil), hi...)
		}
	}
	m.hasMin = m.lo != nil
}
