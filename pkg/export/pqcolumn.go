package export

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"unsafe"

	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/tcpdump"
)

// Parquet's physical types, encodings and page types (parquet.thrift).
const (
	pqBoolean   = 0
	pqInt32     = 1
	pqInt64     = 2
	pqByteArray = 6

	encPlain        = 0
	encRLE          = 3
	encDelta        = 5
	encRLEDict      = 8
	pageData        = 0
	pageDictionary  = 2
	maxPageRows     = 1 << 15 // a data page holds up to this many rows
	dictionaryLimit = 1 << 20 // bytes of dictionary values before a chunk falls back to PLAIN
)

// leafKind is how a leaf column is staged and encoded.
type leafKind uint8

const (
	kindDelta32 leafKind = iota // INT32, DELTA_BINARY_PACKED
	kindPlain32                 // INT32, PLAIN (random numbers: seq, ack, TS option values)
	kindDelta64                 // INT64, DELTA_BINARY_PACKED
	kindBool                    // BOOLEAN, PLAIN (bit-packed)
	kindBytes                   // BYTE_ARRAY, dictionary while it pays, then PLAIN
	kindSACK                    // the two INT32 leaves of the sack list, PLAIN
)

// pqLeaf is one leaf column: the page being staged and the encoded pages of the
// open row group's column chunk.
type pqLeaf struct {
	col    Column
	name   string
	path   []string
	phys   int32
	kind   leafKind
	maxDef int
	maxRep int
	codec  Codec
	signed bool    // statistics compare as signed (ts); otherwise unsigned
	size   uintptr // bytes of the Row field (fixed-width kinds)
	off    uintptr // offset of the Row field
	has    uint16  // Row.Has bit that says the value is present; 0: required
	flag   uint16  // the Row.Flags bit of a flag column
	isBit  uint16  // the Row.Has bit of sack_ok and truncated
	stats  bool    // min/max statistics are written
	micro  bool    // ts in microseconds
	pair   *pqLeaf // sack: the right leaf, written with the left one
	cost   int64   // ns spent on the leaf since the last sharing of the work

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
	key   [17]byte
	// The address columns' last address and its entry; the flags column's
	// entry+1 for each value of the flag bits.
	lastIP  [16]byte
	lastV   uint8
	lastIdx int32
	flagIdx [512]int32
	inputs  []string // the input column's names, by Row.Input

	// The open column chunk.
	dict      *pqDict
	dictLimit int // bytes of dictionary values before the chunk falls back to PLAIN
	fallback  bool
	pages     []pqPage // data pages
	dictPage  pqPage
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
}

// rowOffsets are the Row fields the fixed-width columns read, by column.
func rowField(c Column) (off, size uintptr, has uint16) {
	var r Row
	switch c {
	case ColFrame:
		return unsafe.Offsetof(r.Frame), 8, 0
	case ColTS:
		return unsafe.Offsetof(r.TS), 8, 0
	case ColStream:
		return unsafe.Offsetof(r.Stream), 8, 0
	case ColIface:
		return unsafe.Offsetof(r.Iface), 4, 0
	case ColCapLen:
		return unsafe.Offsetof(r.CapLen), 4, 0
	case ColWireLen:
		return unsafe.Offsetof(r.WireLen), 4, 0
	case ColSeq:
		return unsafe.Offsetof(r.Seq), 4, 0
	case ColAck:
		return unsafe.Offsetof(r.Ack), 4, 0
	case ColSeqRel:
		return unsafe.Offsetof(r.SeqRel), 4, hasSeqRel
	case ColAckRel:
		return unsafe.Offsetof(r.AckRel), 4, hasAckRel
	case ColWindowScaled:
		return unsafe.Offsetof(r.WindowScaled), 4, hasWindowScaled
	case ColPayloadLen:
		return unsafe.Offsetof(r.PayloadLen), 4, 0
	case ColTSVal:
		return unsafe.Offsetof(r.TSVal), 4, hasTS
	case ColTSEcr:
		return unsafe.Offsetof(r.TSEcr), 4, hasTS
	case ColSrcPort:
		return unsafe.Offsetof(r.SrcPort), 2, 0
	case ColDstPort:
		return unsafe.Offsetof(r.DstPort), 2, 0
	case ColFlagsRaw:
		return unsafe.Offsetof(r.FlagsRaw), 2, 0
	case ColWindow:
		return unsafe.Offsetof(r.Window), 2, 0
	case ColUrgPtr:
		return unsafe.Offsetof(r.UrgPtr), 2, 0
	case ColMSS:
		return unsafe.Offsetof(r.MSS), 2, hasMSS
	case ColIPID:
		return unsafe.Offsetof(r.IPID), 2, 0
	case ColIPVersion:
		return unsafe.Offsetof(r.IPVersion), 1, 0
	case ColTTL:
		return unsafe.Offsetof(r.TTL), 1, 0
	case ColWScale:
		return unsafe.Offsetof(r.WScale), 1, hasWScale
	}
	return 0, 0, 0
}

// flagBits maps the flag columns to their Row.Flags bit, and sack_ok and
// truncated to their Row.Has bit.
func flagBits(c Column) (flag, isBit uint16) {
	switch c {
	case ColSYN:
		return decode.SYN, 0
	case ColACKFlag:
		return decode.ACK, 0
	case ColFIN:
		return decode.FIN, 0
	case ColRST:
		return decode.RST, 0
	case ColPSH:
		return decode.PSH, 0
	case ColURG:
		return decode.URG, 0
	case ColECE:
		return decode.ECE, 0
	case ColCWR:
		return decode.CWR, 0
	case ColSackOK:
		return 0, isSackOK
	case ColTruncated:
		return 0, isTruncated
	}
	return 0, 0
}

// add stages the leaf's values of rows (both leaves, for sack).
func (l *pqLeaf) add(bt *Batch, rows []Row) {
	l.rows += len(rows)
	switch l.kind {
	case kindDelta32, kindPlain32:
		switch l.size {
		case 4:
			l.i32, l.def = stage[uint32](l.i32, l.def, rows, l.off, l.has)
		case 2:
			l.i32, l.def = stage[uint16](l.i32, l.def, rows, l.off, l.has)
		default:
			l.i32, l.def = stage[uint8](l.i32, l.def, rows, l.off, l.has)
		}
	case kindDelta64:
		if l.micro {
			for k := range rows {
				l.i64 = append(l.i64, floorDiv(rows[k].TS, 1000))
			}
			return
		}
		l.i64 = slices.Grow(l.i64, len(rows))
		for k := range rows {
			l.i64 = append(l.i64, *(*int64)(unsafe.Add(unsafe.Pointer(&rows[k]), l.off)))
		}
	case kindBool:
		// The flag columns test Row.Flags, sack_ok and truncated Row.Has.
		field, mask := unsafe.Offsetof(rows[0].Flags), l.flag
		if mask == 0 {
			field, mask = unsafe.Offsetof(rows[0].Has), l.isBit
		}
		for k := range rows {
			if l.nbool%8 == 0 {
				l.bits = append(l.bits, 0)
			}
			if *(*uint16)(unsafe.Add(unsafe.Pointer(&rows[k]), field))&mask != 0 {
				l.bits[len(l.bits)-1] |= 1 << (l.nbool % 8)
			}
			l.nbool++
		}
	case kindBytes:
		l.addBytes(bt, rows)
	case kindSACK:
		l.addSACK(rows)
	}
}

// stage appends the Row field at off of each row, of type T, to vals; for an
// optional column (has set) it appends definition levels to def and only the
// present values to vals.
func stage[T uint8 | uint16 | uint32](vals []int32, def []uint8, rows []Row, off uintptr, has uint16) ([]int32, []uint8) {
	if has == 0 {
		vals = slices.Grow(vals, len(rows))
		for k := range rows {
			vals = append(vals, int32(*(*T)(unsafe.Add(unsafe.Pointer(&rows[k]), off))))
		}
		return vals, def
	}
	def = slices.Grow(def, len(rows))
	for k := range rows {
		if rows[k].Has&has == 0 {
			def = append(def, 0)
			continue
		}
		def = append(def, 1)
		vals = append(vals, int32(*(*T)(unsafe.Add(unsafe.Pointer(&rows[k]), off))))
	}
	return vals, def
}

func (l *pqLeaf) addBytes(bt *Batch, rows []Row) {
	switch l.col {
	case ColSrcIP, ColDstIP:
		l.addAddrs(rows)
		return
	case ColFlags:
		l.addFlags(rows)
		return
	case ColInput:
		l.addInputs(rows)
		return
	}
	for k := range rows { // options
		r := &rows[k]
		if r.Has&hasOptions == 0 {
			l.def = append(l.def, 0)
			continue
		}
		l.def = append(l.def, 1)
		text := bt.options(r)
		if l.fallback {
			l.plain = binary.LittleEndian.AppendUint32(l.plain, uint32(len(text)))
			l.plain = append(l.plain, text...)
			continue
		}
		l.idx = append(l.idx, uint32(l.dict.index(text, func(b []byte) []byte { return append(b, text...) })))
	}
}

// addAddrs stages an address column. Consecutive packets mostly share their
// endpoints, so the last address is compared before the dictionary is asked.
func (l *pqLeaf) addAddrs(rows []Row) {
	dst := l.col == ColDstIP
	for k := range rows {
		r := &rows[k]
		ip := &r.SrcIP
		if dst {
			ip = &r.DstIP
		}
		v := r.IPVersion
		if l.fallback {
			l.plain = binary.LittleEndian.AppendUint32(l.plain, 0)
			at := len(l.plain)
			l.plain = decode.AppendIP(l.plain, *ip, v)
			binary.LittleEndian.PutUint32(l.plain[at-4:], uint32(len(l.plain)-at))
			continue
		}
		if l.lastIdx < 0 || v != l.lastV || *ip != l.lastIP {
			l.key[0] = v
			copy(l.key[1:], ip[:])
			l.lastIdx = l.dict.index(l.key[:], func(b []byte) []byte { return decode.AppendIP(b, *ip, v) })
			l.lastIP, l.lastV = *ip, v
		}
		l.idx = append(l.idx, uint32(l.lastIdx))
	}
}

// addFlags stages the flags text column through a table from the flag bits to
// the dictionary entry.
func (l *pqLeaf) addFlags(rows []Row) {
	for k := range rows {
		f := rows[k].Flags
		if l.fallback {
			l.plain = binary.LittleEndian.AppendUint32(l.plain, 0)
			at := len(l.plain)
			l.plain = tcpdump.AppendTCPFlags(l.plain, f)
			binary.LittleEndian.PutUint32(l.plain[at-4:], uint32(len(l.plain)-at))
			continue
		}
		if int(f) < len(l.flagIdx) && l.flagIdx[f] > 0 {
			l.idx = append(l.idx, uint32(l.flagIdx[f]-1))
			continue
		}
		l.key[0], l.key[1] = byte(f), byte(f>>8)
		e := l.dict.index(l.key[:2], func(b []byte) []byte { return tcpdump.AppendTCPFlags(b, f) })
		if int(f) < len(l.flagIdx) {
			l.flagIdx[f] = e + 1
		}
		l.idx = append(l.idx, uint32(e))
	}
}

// addInputs stages the input column: each row's input name, found in the
// dictionary by the input's index (rows of one input mostly come in runs).
func (l *pqLeaf) addInputs(rows []Row) {
	for k := range rows {
		i := rows[k].Input
		name := ""
		if int(i) < len(l.inputs) {
			name = l.inputs[i]
		}
		if l.fallback {
			l.plain = binary.LittleEndian.AppendUint32(l.plain, uint32(len(name)))
			l.plain = append(l.plain, name...)
			continue
		}
		binary.LittleEndian.PutUint32(l.key[:4], i)
		l.idx = append(l.idx, uint32(l.dict.index(l.key[:4], func(b []byte) []byte { return append(b, name...) })))
	}
}

// addSACK stages list<struct<left, right>>: a row without SACK blocks is one
// null entry (definition 0); each block is one entry at the full definition
// level, repetition 1 after the row's first block.
func (l *pqLeaf) addSACK(rows []Row) {
	r2 := l.pair
	r2.rows += len(rows)
	for k := range rows {
		r := &rows[k]
		if r.Has&hasSACK == 0 || r.NSACK == 0 {
			l.def, l.rep = append(l.def, 0), append(l.rep, 0)
			continue
		}
		for j := range int(min(r.NSACK, uint8(len(r.SACK)))) {
			l.i32 = append(l.i32, int32(r.SACK[j].Left))
			r2.i32 = append(r2.i32, int32(r.SACK[j].Right))
			l.def = append(l.def, uint8(l.maxDef))
			l.rep = append(l.rep, uint8(min(j, 1)))
		}
	}
}

// pqScratch is one worker's buffers and compressor.
type pqScratch struct {
	page []byte
	comp compressor
	hdr  thriftWriter
}

// flushPage encodes the staged page into the chunk (both leaves, for sack).
func (l *pqLeaf) flushPage(s *pqScratch) error {
	if l.rows == 0 {
		return nil
	}
	if l.kind == kindSACK {
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

func (l *pqLeaf) encodePage(s *pqScratch) error {
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
	case kindDelta32:
		enc = encDelta
		l.minMax32()
		page = appendDelta32(page, l.i32)
	case kindPlain32, kindSACK:
		if l.kind == kindPlain32 {
			l.minMax32()
		}
		page = slices.Grow(page, 4*len(l.i32))
		for _, v := range l.i32 {
			page = binary.LittleEndian.AppendUint32(page, uint32(v))
		}
	case kindDelta64:
		enc = encDelta
		l.minMax64()
		page = appendDelta64(page, l.i64)
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
func (l *pqLeaf) writePage(s *pqScratch, typ, enc int32, n int, page []byte) error {
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
	pg := pqPage{hdr: hs, hdrEnd: len(l.hdrs), seg: seg, body: at, end: at + body}
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
// few KB is common when dozens of partitions are open: 64 KiB first segments
// made 12 times the bytes they held); a written row group's segments serve
// the next one.
func (l *pqLeaf) room(n int) (seg, at int) {
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

// pqPage is an encoded page: its header in the leaf's hdrs, its body in data.
type pqPage struct {
	hdr, hdrEnd int
	seg         int // the arena segment
	body, end   int
}

func (l *pqLeaf) minMax32() {
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

func (l *pqLeaf) minMax64() {
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
func (l *pqLeaf) finishChunk(s *pqScratch) error {
	if err := l.flushPage(s); err != nil {
		return err
	}
	if l.kind == kindBytes && l.dict.len() > 0 {
		return l.writePage(s, pageDictionary, encPlain, l.dict.len(), l.dict.vals)
	}
	return nil
}

// resetChunk forgets the chunk once it is written to the file.
func (l *pqLeaf) resetChunk() {
	l.pages, l.dictPage, l.hasDict, l.hdrs = l.pages[:0], pqPage{}, false, l.hdrs[:0]
	l.free = append(l.free, l.segs...)
	clear(l.segs)
	l.segs = l.segs[:0]
	l.values, l.nulls, l.rawSize, l.encSet = 0, 0, 0, 0
	l.hasMinMax, l.lo, l.hi, l.trues, l.boolCount = false, 0, 0, 0, 0
	l.fallback = false
	l.pageRows = l.firstPage
	l.lastIdx = -1
	clear(l.flagIdx[:])
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
