package export

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// ParquetOptions configure the Parquet encoder.
type ParquetOptions struct {
	Columns      []Column // nil: every column
	RowGroupSize int64    // rows per row group; 0: DefaultRowGroupSize
	Compression  string   // zstd (default), snappy, gzip or none
	// TSMicro writes ts in microseconds instead of nanoseconds (Spark 3 rejects
	// nanosecond Parquet timestamps).
	TSMicro bool

	// CreatedBy is the footer's created_by; "" writes "pcaptk version unknown".
	// Readers parse it as "NAME version X" (parquet-java ignores the string
	// statistics of a file whose created_by it cannot parse).
	CreatedBy string

	pageRows int // rows per data page; 0: maxPageRows (tests set less)
}

// DefaultRowGroupSize is 1,048,576 rows, as the issue asks. An open row group
// costs its compressed pages (about 40 bytes a row on the benchmark capture)
// plus one page of staged values per column.
const DefaultRowGroupSize = 1 << 20

// MinRowGroupSize is the smallest row group the command accepts: the footer
// holds about 4 KB per row group, so this bounds it to a quarter byte a row.
const MinRowGroupSize = 16384

// MemoryPerRow estimates the bytes a row costs while its row group is open, for
// callers that set a memory limit: the compressed pages (about 40 bytes a row on
// the benchmark capture) and the slack of their growing buffers.
const MemoryPerRow = 48

// The Parquet writer is pcaptk's own rather than arrow-go's file writer.
// Measured on the 1.67M-packet benchmark capture, arrow-go's column writers took
// about 1.45 µs of CPU a row (a third of it in dictionary hashing of the string
// columns, a quarter in page flushes); the schema here is fixed, so each column
// is staged from the Row fields straight into typed slices, dictionaries are
// keyed by the raw address or flag bits, and a page is encoded and compressed in
// one pass. Files are checked by arrow-go's reader, DuckDB and the tshark
// corpus tests.

// Parquet streams rows into a Parquet file: data pages v1 (the version every
// reader takes), DELTA_BINARY_PACKED for counters and small numbers, PLAIN for
// random ones, dictionaries for addresses, flags and options text while the
// dictionary stays under 1 MiB, statistics for the row-group pruning of query
// engines. The columns are shared out among one worker goroutine per CPU (see
// pqWorker), which take batches at their own pace.
type Parquet struct {
	w         io.Writer
	pos       int64
	cols      []Column
	leaves    []*pqLeaf // in schema order
	jobs      []*pqLeaf // what a worker is given (sack's right leaf goes with its left)
	schema    []pqNode
	rgSize    int64
	pageRows  int
	rgRows    int64
	rows      int64
	groups    []pqRowGroup
	workers   []*pqWorker
	items     chan *pqItem // free items, which bound the batches in flight
	idle      chan struct{}
	syncDone  chan struct{}
	syncRel   func()
	sent      int // items sent since the start
	mu        sync.Mutex
	err       error // the first error, a worker's or the writer's
	closed    bool
	meta      thriftWriter
	createdBy string
}

// pqWorker encodes its share of the columns of every batch, in order, without
// waiting for the other workers: a batch is released when the last worker is
// done with it. Shares are rebalanced from measured costs at barriers.
type pqWorker struct {
	jobs    []*pqLeaf
	queue   chan *pqItem
	scratch pqScratch
}

// pqItem is a batch's rows (or the part of them in one row group) on their way
// through the workers.
type pqItem struct {
	bt      *Batch
	rows    []Row
	finish  bool // the rows end the row group
	barrier bool // p.idle is signalled when every worker is done
	release func()
	pending atomic.Int32
}

type pqRowGroup struct {
	rows   int64
	off    int64
	raw    int64
	size   int64
	chunks []pqChunkMeta
}

type pqChunkMeta struct {
	encodings     uint16
	values, nulls int64
	raw, size     int64
	dataOff       int64
	dictOff       int64 // -1: no dictionary
	lo, hi        []byte
	noNullCount   bool
	hasMin        bool
}

// NewParquet returns an encoder writing a Parquet file to w. Close writes the
// footer; w itself is not closed.
func NewParquet(w io.Writer, o ParquetOptions) (*Parquet, error) {
	cols := o.Columns
	if cols == nil {
		cols = AllColumns()
	}
	if len(cols) == 0 {
		return nil, errors.New("parquet: no columns")
	}
	if WantsAnalysis(cols) {
		return nil, errors.New("parquet: the TCP analysis columns are written in CSV and JSON only for now")
	}
	codec, err := ParseCompression(o.Compression)
	if err != nil {
		return nil, err
	}
	rg := o.RowGroupSize
	if rg <= 0 {
		rg = DefaultRowGroupSize
	}
	pr := o.pageRows
	if pr <= 0 {
		pr = maxPageRows
	}
	p := &Parquet{w: w, cols: cols, rgSize: rg, pageRows: pr, createdBy: o.CreatedBy}
	if p.createdBy == "" {
		p.createdBy = "pcaptk version unknown"
	}
	for _, c := range cols {
		p.schema = append(p.schema, columnNode(c, o.TSMicro))
		for _, l := range newLeaves(c, codec, o.TSMicro) {
			p.leaves = append(p.leaves, l)
		}
		p.jobs = append(p.jobs, p.leaves[len(p.leaves)-1])
		if c == ColSACK {
			p.jobs[len(p.jobs)-1] = p.leaves[len(p.leaves)-2]
		}
	}
	p.staggerPages()
	if p.write([]byte("PAR1")); p.err != nil {
		return nil, p.err
	}
	n := min(max(runtime.GOMAXPROCS(0), 1), 4, len(p.jobs))
	const queued = 6 // items in flight: the batches the encoder holds at most
	p.items = make(chan *pqItem, queued)
	for range queued {
		p.items <- &pqItem{}
	}
	p.idle = make(chan struct{}, 1)
	p.syncDone = make(chan struct{}, 1)
	p.syncRel = func() { p.syncDone <- struct{}{} }
	for range n {
		w := &pqWorker{queue: make(chan *pqItem, queued)}
		p.workers = append(p.workers, w)
		go w.run(p)
	}
	p.share(func(l *pqLeaf) int64 { return columnCost(l.col) })
	return p, nil
}

// staggerPages makes the first pages of the chunks end at eight different rows,
// so that each batch has about as many pages to encode and compress: when every
// column flushed on the same batch, the reader sat idle while the workers
// caught up.
func (p *Parquet) staggerPages() {
	pr := p.pageRows
	for i, l := range p.jobs {
		l.firstPage = pr - (i%8)*(pr/8)
		l.pageRows = l.firstPage
	}
}

// newLeaves returns the leaf columns of c: one, or two for sack.
func newLeaves(c Column, codec Codec, micro bool) []*pqLeaf {
	l := &pqLeaf{col: c, name: c.String(), path: []string{c.String()}, codec: codec, stats: true, lastIdx: -1,
		dictLimit: dictionaryLimit}
	l.off, l.size, l.has = rowField(c)
	if l.has != 0 {
		l.maxDef = 1
	}
	switch c {
	case ColFrame, ColStream:
		l.phys, l.kind = pqInt64, kindDelta64
	case ColTS:
		l.phys, l.kind, l.signed, l.micro = pqInt64, kindDelta64, true, micro
	case ColSeq, ColAck, ColTSVal, ColTSEcr:
		// Random 32-bit numbers: measured, zstd saves nothing on them, so
		// their pages are stored as they are and the time is saved.
		l.phys, l.kind, l.codec = pqInt32, kindPlain32, CodecNone
	case ColSrcIP, ColDstIP, ColFlags, ColOptions:
		l.phys, l.kind, l.dict = pqByteArray, kindBytes, newPQDict()
		if c == ColOptions {
			// Min/max of the options text help no query.
			l.maxDef, l.stats = 1, false
		}
	case ColSYN, ColACKFlag, ColFIN, ColRST, ColPSH, ColURG, ColECE, ColCWR, ColSackOK, ColTruncated:
		l.phys, l.kind = pqBoolean, kindBool
		l.flag, l.isBit = flagBits(c)
	case ColSACK:
		l.phys, l.kind, l.maxDef, l.maxRep, l.stats = pqInt32, kindSACK, 3, 1, false
		l.name, l.path = "sack.list.element.left", []string{"sack", "list", "element", "left"}
		r := *l
		r.name, r.path = "sack.list.element.right", []string{"sack", "list", "element", "right"}
		l.pair = &r
		return []*pqLeaf{l, &r}
	default: // the other unsigned integers: counters, lengths, ports, windows
		l.phys, l.kind = pqInt32, kindDelta32
	}
	return []*pqLeaf{l}
}

// WriteBatch writes the rows of b, closing row groups as they fill, and returns
// when the workers are done with b.
func (p *Parquet) WriteBatch(b *Batch) error {
	if err := p.check(); err != nil {
		return err
	}
	p.send(b, p.syncRel)
	<-p.syncDone
	return p.check()
}

// WriteBatchAsync is WriteBatch returning at once: release is called (from
// another goroutine) when b is no longer used. Run uses it, so that reading
// goes on while the workers encode; on an error return b was not taken.
func (p *Parquet) WriteBatchAsync(b *Batch, release func()) error {
	if err := p.check(); err != nil {
		return err
	}
	p.send(b, release)
	return nil
}

func (p *Parquet) failed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err != nil
}

func (p *Parquet) check() error {
	if p.closed {
		return errClosed
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// send hands the rows of b to the workers, in one item per row group they
// fall in; the last item releases b. A row group is written once the workers
// are done with its last item.
func (p *Parquet) send(b *Batch, release func()) {
	rows := b.Rows
	if len(rows) == 0 {
		if release != nil {
			release()
		}
		return
	}
	for len(rows) > 0 {
		n := min(int64(len(rows)), p.rgSize-p.rgRows)
		p.rgRows += n
		full := p.rgRows >= p.rgSize
		var rel func()
		if n == int64(len(rows)) {
			rel = release
		}
		p.sent++
		// Rebalance early (after 16 batches) and every 64: a barrier drains
		// the workers, so it costs a little overlap each time.
		rebalance := p.sent == 16 || p.sent%64 == 0
		p.dispatch(b, rows[:n], full, rel, full || rebalance)
		rows = rows[n:]
		if rebalance {
			p.share(func(l *pqLeaf) int64 { return l.cost })
		}
		if full {
			p.writeRowGroup()
		}
	}
}

// rowGroupSize, bufferedRows, shareMemory and flushRowGroup make a Parquet
// encoder a rowGrouper, whose open row groups a Partitioned keeps within its budget.
func (p *Parquet) rowGroupSize() int64 { return p.rgSize }
func (p *Parquet) bufferedRows() int64 { return p.rgRows }

// shareMemory makes the encoder lighter, before its first row, for when it is
// one of dozens open at once (a Partitioned's): data pages of a quarter of the
// rows (the staged page of every column is the bulk of an idle encoder), an
// eighth of the dictionary bytes before a column falls back to PLAIN, zstd
// windows of 256 KiB (the default 4 MiB window's history buffer, one per
// worker, cost more than all the rest; pages of a quarter size fit the smaller
// window, so the files shrink about as much), and at most two workers, each of
// which keeps a page buffer and a compressor (about 1 MB), whatever the number
// of CPUs.
func (p *Parquet) shareMemory() {
	if p.rows > 0 || p.rgRows > 0 {
		return
	}
	p.pageRows = min(p.pageRows, maxPageRows/4)
	p.staggerPages()
	for _, l := range p.leaves {
		l.dictLimit = dictionaryLimit / 8
	}
	// No row was sent: the workers are idle and their compressors not made.
	for len(p.workers) > 2 {
		close(p.workers[len(p.workers)-1].queue)
		p.workers = p.workers[:len(p.workers)-1]
	}
	p.share(func(l *pqLeaf) int64 { return columnCost(l.col) })
	for _, w := range p.workers {
		w.scratch.comp.window = 256 << 10
	}
}

// flushRowGroup writes the open row group now, however few rows it has, and
// lets go of what the leaves keep for the next row group (staged-page slices,
// written arena segments, the dictionaries): a partition whose group is cut
// short may get few rows again, and a few dozen open partitions would each
// otherwise keep buffers the size of their largest row group.
func (p *Parquet) flushRowGroup() error {
	if err := p.check(); err != nil || p.rgRows == 0 {
		return err
	}
	p.dispatch(nil, nil, true, nil, true)
	p.writeRowGroup()
	// The barrier above left the workers idle: the leaves are ours.
	for _, l := range p.leaves {
		l.release()
	}
	return p.check()
}

// release drops the memory a leaf keeps between row groups; it must hold no
// staged rows and no chunk.
func (l *pqLeaf) release() {
	l.i32, l.i64, l.idx, l.plain, l.bits, l.def, l.rep = nil, nil, nil, nil, nil, nil, nil
	l.pages, l.hdrs, l.segs, l.free = nil, nil, nil, nil
	if l.dict != nil {
		l.dict = newPQDict()
	}
}

// dispatch queues an item for every worker; with barrier it waits until they
// are all done with it, and so with everything before it.
func (p *Parquet) dispatch(bt *Batch, rows []Row, finish bool, release func(), barrier bool) {
	it := <-p.items
	it.bt, it.rows, it.finish, it.release, it.barrier = bt, rows, finish, release, barrier
	it.pending.Store(int32(len(p.workers)))
	for _, w := range p.workers {
		w.queue <- it
	}
	if barrier {
		<-p.idle
	}
}

func (w *pqWorker) run(p *Parquet) {
	for it := range w.queue {
		for _, l := range w.jobs {
			start := time.Now()
			if err := l.process(&w.scratch, it, p.pageRows); err != nil {
				p.fail(err)
			}
			l.cost += int64(time.Since(start))
		}
		if it.pending.Add(-1) == 0 {
			release, barrier := it.release, it.barrier
			it.bt, it.rows, it.release = nil, nil, nil
			p.items <- it
			if release != nil {
				release()
			}
			if barrier {
				p.idle <- struct{}{}
			}
		}
	}
}

// process stages the item's rows of the leaf, flushing a page when it is full
// and the chunk when the row group ends.
func (l *pqLeaf) process(s *pqScratch, it *pqItem, pageRows int) error {
	if len(it.rows) > 0 {
		l.add(it.bt, it.rows)
		if l.rows >= l.pageRows {
			l.pageRows = pageRows
			if err := l.flushPage(s); err != nil {
				return err
			}
		}
	}
	if it.finish {
		return l.finishChunk(s)
	}
	return nil
}

// share gives the jobs to the workers, the most costly first, each to the
// worker with the least cost so far; the workers must be idle. Costs are then
// halved, so the next sharing weighs recent batches most.
func (p *Parquet) share(cost func(*pqLeaf) int64) {
	order := slices.Clone(p.jobs)
	slices.SortStableFunc(order, func(a, b *pqLeaf) int { return cmp.Compare(cost(b), cost(a)) })
	load := make([]int64, len(p.workers))
	for _, w := range p.workers {
		w.jobs = w.jobs[:0]
	}
	for _, l := range order {
		i := slices.Index(load, slices.Min(load))
		load[i] += max(cost(l), 1)
		p.workers[i].jobs = append(p.workers[i].jobs, l)
	}
	for _, l := range p.jobs {
		l.cost /= 2
	}
}

// columnCost weighs the columns before any is measured.
func columnCost(c Column) int64 {
	switch c {
	case ColOptions:
		return 12
	case ColSrcIP, ColDstIP, ColFlags:
		return 4
	case ColFrame, ColTS, ColStream, ColSACK:
		return 3
	case ColSYN, ColACKFlag, ColFIN, ColRST, ColPSH, ColURG, ColECE, ColCWR, ColSackOK, ColTruncated:
		return 1
	}
	return 2
}

// writeRowGroup writes the finished column chunks of the row group to the file
// and starts the next one. After a write error it writes nothing (p.write skips)
// but still starts the next row group, so that send goes on with the batch.
func (p *Parquet) writeRowGroup() {
	g := pqRowGroup{rows: p.rgRows, off: p.pos, chunks: make([]pqChunkMeta, len(p.leaves))}
	for i, l := range p.leaves {
		m := &g.chunks[i]
		m.encodings, m.values, m.nulls, m.raw = l.encSet, l.values, l.nulls, l.rawSize
		m.dictOff = -1
		start := p.pos
		if l.hasDict {
			m.dictOff = p.pos
			m.encodings |= 1 << encPlain
			l.writePageTo(p, l.dictPage)
		}
		m.dataOff = p.pos
		for _, pg := range l.pages {
			l.writePageTo(p, pg)
		}
		m.size = p.pos - start
		m.noNullCount = l.kind == kindSACK
		l.chunkStats(m)
		g.raw += m.raw
		g.size += m.size
		l.resetChunk()
	}
	p.rows += p.rgRows
	p.rgRows = 0
	p.groups = append(p.groups, g)
}

// chunkStats fills the min and max of the chunk in Parquet's PLAIN form.
func (l *pqLeaf) chunkStats(m *pqChunkMeta) {
	if !l.stats {
		return
	}
	switch l.kind {
	case kindDelta32, kindPlain32:
		if l.hasMinMax {
			m.lo = binary.LittleEndian.AppendUint32(nil, uint32(l.lo))
			m.hi = binary.LittleEndian.AppendUint32(nil, uint32(l.hi))
		}
	case kindDelta64:
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

func (l *pqLeaf) writePageTo(p *Parquet, pg pqPage) {
	p.write(l.hdrs[pg.hdr:pg.hdrEnd])
	p.write(l.segs[pg.seg][pg.body:pg.end])
}

func (p *Parquet) write(b []byte) {
	if len(b) == 0 || p.failed() {
		return
	}
	n, err := p.w.Write(b)
	p.pos += int64(n)
	p.fail(err)
}

func (p *Parquet) fail(err error) {
	if err == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.err = fmt.Errorf("parquet: %w", err)
	}
}

// Close waits for the workers, writes the open row group and the footer.
func (p *Parquet) Close() error {
	if p.closed {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.err
	}
	p.closed = true
	p.dispatch(nil, nil, p.rgRows > 0, nil, true)
	if p.rgRows > 0 {
		p.writeRowGroup()
	}
	for _, w := range p.workers {
		close(w.queue)
	}
	// The workers are idle or gone: p.err is the dispatcher's alone again.
	if p.err != nil {
		return p.err
	}
	footer := p.footer()
	p.write(footer)
	p.write(binary.LittleEndian.AppendUint32(nil, uint32(len(footer))))
	p.write([]byte("PAR1"))
	return p.err
}

// footer encodes the FileMetaData.
func (p *Parquet) footer() []byte {
	t := &p.meta
	t.b = t.b[:0]
	t.begin()
	t.i32(1, 2) // format version 2: logical types, DELTA_BINARY_PACKED, RLE_DICTIONARY
	var n int
	for i := range p.schema {
		n += p.schema[i].count()
	}
	t.list(2, tStruct, n+1)
	t.begin() // the root
	t.string(4, "schema")
	t.i32(5, int32(len(p.schema)))
	t.end()
	for i := range p.schema {
		p.schema[i].write(t)
	}
	t.i64(3, p.rows)
	t.list(4, tStruct, len(p.groups))
	for gi := range p.groups {
		g := &p.groups[gi]
		t.begin()
		t.list(1, tStruct, len(g.chunks))
		for i, l := range p.leaves {
			m := &g.chunks[i]
			t.begin()
			off := m.dataOff
			if m.dictOff >= 0 {
				off = m.dictOff
			}
			t.i64(2, off)
			t.structField(3)
			t.i32(1, l.phys)
			var encs []int32
			for e := range 16 {
				if m.encodings&(1<<e) != 0 {
					encs = append(encs, int32(e))
				}
			}
			t.listI32(2, encs)
			t.list(3, tBinary, len(l.path))
			for _, s := range l.path {
				t.b = binary.AppendUvarint(t.b, uint64(len(s)))
				t.b = append(t.b, s...)
			}
			t.i32(4, int32(l.codec))
			t.i64(5, m.values)
			t.i64(6, m.raw)
			t.i64(7, m.size)
			t.i64(9, m.dataOff)
			if m.dictOff >= 0 {
				t.i64(11, m.dictOff)
			}
			if !m.noNullCount || m.hasMin {
				t.structField(12)
				if !m.noNullCount {
					t.i64(3, m.nulls)
				}
				if m.hasMin {
					t.binary(5, m.hi)
					t.binary(6, m.lo)
				}
				t.end()
			}
			t.end() // ColumnMetaData
			t.end() // ColumnChunk
		}
		t.i64(2, g.raw)
		t.i64(3, g.rows)
		t.i64(5, g.off)
		t.i64(6, g.size)
		t.end()
	}
	t.string(6, p.createdBy)
	t.list(7, tStruct, len(p.leaves))
	for range p.leaves {
		t.begin()
		t.emptyStruct(1) // TYPE_ORDER: unsigned integers compare unsigned
		t.end()
	}
	t.end()
	return t.b
}

// pqNode is a schema element and its children.
type pqNode struct {
	name     string
	rep      int32 // 0 required, 1 optional, 2 repeated
	phys     int32 // -1: a group
	conv     int32 // converted type, -1: none
	logical  pqLogical
	bits     int8 // INTEGER bit width
	unit     int16
	children []pqNode
}

type pqLogical uint8

const (
	logNone pqLogical = iota
	logUint
	logTimestamp
	logString
	logList
)

// ConvertedType values for the older readers that look only at them.
const (
	convUTF8            = 0
	convList            = 3
	convTimestampMicros = 10
	convUint8           = 11
)

func uintNode(name string, rep int32, bits int8) pqNode {
	phys := int32(pqInt32)
	if bits == 64 {
		phys = pqInt64
	}
	conv := int32(convUint8)
	switch bits {
	case 16:
		conv++
	case 32:
		conv += 2
	case 64:
		conv += 3
	}
	return pqNode{name: name, rep: rep, phys: phys, conv: conv, logical: logUint, bits: bits}
}

// columnNode is the schema element of c: unsigned integers as INT32/INT64 with
// an unsigned INTEGER annotation, ts as INT64 TIMESTAMP adjusted to UTC, text as
// STRING, sack as the three-level LIST of a struct.
func columnNode(c Column, micro bool) pqNode {
	name := c.String()
	rep := int32(0)
	switch c {
	case ColSeqRel, ColAckRel, ColWindowScaled, ColTSVal, ColTSEcr, ColMSS, ColWScale, ColOptions, ColSACK:
		rep = 1
	}
	switch c {
	case ColFrame, ColStream:
		return uintNode(name, rep, 64)
	case ColTS:
		n := pqNode{name: name, rep: rep, phys: pqInt64, conv: -1, logical: logTimestamp, unit: 3}
		if micro {
			n.conv, n.unit = convTimestampMicros, 2
		}
		return n
	case ColIface, ColCapLen, ColWireLen, ColSeq, ColAck, ColPayloadLen, ColSeqRel, ColAckRel, ColWindowScaled, ColTSVal, ColTSEcr:
		return uintNode(name, rep, 32)
	case ColIPVersion, ColTTL, ColWScale:
		return uintNode(name, rep, 8)
	case ColSrcPort, ColDstPort, ColFlagsRaw, ColWindow, ColUrgPtr, ColIPID, ColMSS:
		return uintNode(name, rep, 16)
	case ColSrcIP, ColDstIP, ColFlags, ColOptions:
		return pqNode{name: name, rep: rep, phys: pqByteArray, conv: convUTF8, logical: logString}
	case ColSACK:
		elem := pqNode{name: "element", rep: 1, phys: -1, conv: -1,
			children: []pqNode{uintNode("left", 0, 32), uintNode("right", 0, 32)}}
		list := pqNode{name: "list", rep: 2, phys: -1, conv: -1, children: []pqNode{elem}}
		return pqNode{name: name, rep: rep, phys: -1, conv: convList, logical: logList, children: []pqNode{list}}
	}
	return pqNode{name: name, rep: rep, phys: pqBoolean, conv: -1}
}

func (n *pqNode) count() int {
	c := 1
	for i := range n.children {
		c += n.children[i].count()
	}
	return c
}

// write appends the SchemaElement of n and its children, depth first.
func (n *pqNode) write(t *thriftWriter) {
	t.begin()
	if n.phys >= 0 {
		t.i32(1, n.phys)
	}
	t.i32(3, n.rep)
	t.string(4, n.name)
	if n.phys < 0 {
		t.i32(5, int32(len(n.children)))
	}
	if n.conv >= 0 {
		t.i32(6, n.conv)
	}
	switch n.logical {
	case logUint:
		t.structField(10)
		t.structField(10)
		t.i8(1, n.bits)
		t.bool(2, false)
		t.end()
		t.end()
	case logTimestamp:
		t.structField(10)
		t.structField(8)
		t.bool(1, true)
		t.structField(2)
		t.emptyStruct(n.unit)
		t.end()
		t.end()
		t.end()
	case logString:
		t.structField(10)
		t.emptyStruct(1)
		t.end()
	case logList:
		t.structField(10)
		t.emptyStruct(3)
		t.end()
	}
	t.end()
	for i := range n.children {
		n.children[i].write(t)
	}
}

var errClosed = errors.New("parquet: encoder closed")
