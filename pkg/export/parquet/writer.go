package parquet

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

// Options configure a Writer.
type Options struct {
	RowGroupSize int64  // rows per row group; 0: DefaultRowGroupSize
	PageRows     int    // rows per data page; 0: DefaultPageRows
	Compression  string // zstd (default), snappy, gzip or none: see ParseCompression

	// CreatedBy is the footer's created_by; "" writes "pcaptk version unknown".
	// Readers parse it as "NAME version X" (parquet-java ignores the string
	// statistics of a file whose created_by it cannot parse).
	CreatedBy string
}

// DefaultRowGroupSize is 1,048,576 rows. An open row group costs its
// compressed pages plus one page of staged values per column.
const DefaultRowGroupSize = 1 << 20

// The writer is pcaptk's own rather than arrow-go's file writer. Measured on
// the 1.67M-packet benchmark capture, arrow-go's column writers took about
// 1.45 µs of CPU a row (a third of it in dictionary hashing of the string
// columns, a quarter in page flushes); with a schema fixed in advance each
// column is staged from its row field straight into a typed slice, string
// dictionaries are keyed by the raw bytes the text is made from, and a page is
// encoded and compressed in one pass.

// Writer streams rows of type T into a Parquet file: data pages v1 (the
// version every reader takes), DELTA_BINARY_PACKED for integers unless a
// column is Plain, dictionaries for strings while the dictionary stays under 1
// MiB, statistics for the row-group pruning of query engines. The columns are
// shared out among one worker goroutine per CPU (up to 4), which take batches
// at their own pace. It holds at most one row group, compressed, in memory.
//
// A Writer is not safe for concurrent use; Close must be called (it stops the
// workers) and does not close the underlying writer. The first error is kept
// and returned by every later call.
type Writer[T any] struct {
	w         io.Writer
	pos       int64
	leaves    []*leaf[T] // in schema order
	jobs      []*leaf[T] // what a worker is given (a pair list's right leaf goes with its left)
	schema    []node
	rgSize    int64
	pageRows  int
	rgRows    int64
	rows      int64
	groups    []rowGroup
	workers   []*worker[T]
	items     chan *item[T] // free items, which bound the batches in flight
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

// worker encodes its share of the columns of every batch, in order, without
// waiting for the other workers: a batch is released when the last worker is
// done with it. Shares are rebalanced from measured costs at barriers.
type worker[T any] struct {
	jobs    []*leaf[T]
	queue   chan *item[T]
	scratch scratch
}

// item is a batch's rows (or the part of them in one row group) on their way
// through the workers.
type item[T any] struct {
	rows    []T
	arena   []byte
	finish  bool // the rows end the row group
	barrier bool // w.idle is signalled when every worker is done
	release func()
	pending atomic.Int32
}

type rowGroup struct {
	rows   int64
	off    int64
	raw    int64
	size   int64
	chunks []chunkMeta
}

type chunkMeta struct {
	encodings     uint16
	values, nulls int64
	raw, size     int64
	dataOff       int64
	dictOff       int64 // -1: no dictionary
	lo, hi        []byte
	noNullCount   bool
	hasMin        bool
}

// NewWriter returns a Writer of the columns cols, in that order, to w; it
// writes the file's magic at once and the footer on Close. w itself is
// never closed.
func NewWriter[T any](w io.Writer, cols []Column[T], o Options) (*Writer[T], error) {
	if len(cols) == 0 {
		return nil, errors.New("parquet: no columns")
	}
	codec, err := ParseCompression(o.Compression)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i := range cols {
		c := &cols[i]
		if c.err != nil {
			return nil, fmt.Errorf("parquet: column %q: %w", c.name, c.err)
		}
		if c.name == "" || seen[c.name] {
			return nil, fmt.Errorf("parquet: column %q: empty or repeated name", c.name)
		}
		seen[c.name] = true
	}
	rg := o.RowGroupSize
	if rg <= 0 {
		rg = DefaultRowGroupSize
	}
	pr := o.PageRows
	if pr <= 0 {
		pr = DefaultPageRows
	}
	p := &Writer[T]{w: w, rgSize: rg, pageRows: pr, createdBy: o.CreatedBy}
	if p.createdBy == "" {
		p.createdBy = "pcaptk version unknown"
	}
	for i := range cols {
		p.schema = append(p.schema, columnNode(&cols[i]))
		ls := newLeaves(&cols[i], codec)
		p.leaves = append(p.leaves, ls...)
		p.jobs = append(p.jobs, ls[0])
	}
	p.staggerPages()
	if p.write([]byte("PAR1")); p.err != nil {
		return nil, p.err
	}
	n := min(max(runtime.GOMAXPROCS(0), 1), 4, len(p.jobs))
	const queued = 6 // items in flight: the batches the writer holds at most
	p.items = make(chan *item[T], queued)
	for range queued {
		p.items <- &item[T]{}
	}
	p.idle = make(chan struct{}, 1)
	p.syncDone = make(chan struct{}, 1)
	p.syncRel = func() { p.syncDone <- struct{}{} }
	for range n {
		w := &worker[T]{queue: make(chan *item[T], queued)}
		p.workers = append(p.workers, w)
		go w.run(p)
	}
	p.share(func(l *leaf[T]) int64 { return l.first })
	return p, nil
}

// staggerPages makes the first pages of the chunks end at eight different rows,
// so that each batch has about as many pages to encode and compress: when every
// column flushed on the same batch, the reader sat idle while the workers
// caught up.
func (p *Writer[T]) staggerPages() {
	pr := p.pageRows
	for i, l := range p.jobs {
		l.firstPage = pr - (i%8)*(pr/8)
		l.pageRows = l.firstPage
	}
}

// Write writes rows, closing row groups as they fill, and returns when the
// workers are done with them. arena is handed to the columns' TextFuncs (nil
// when none reads it).
func (p *Writer[T]) Write(rows []T, arena []byte) error {
	if err := p.check(); err != nil {
		return err
	}
	p.send(rows, arena, p.syncRel)
	<-p.syncDone
	return p.check()
}

// WriteAsync is Write returning at once: release is called (from another
// goroutine) when rows and arena are no longer used, at the latest before
// Close returns, so that the caller can fill other rows meanwhile. On an
// error return the rows were not taken and release is not called.
func (p *Writer[T]) WriteAsync(rows []T, arena []byte, release func()) error {
	if err := p.check(); err != nil {
		return err
	}
	p.send(rows, arena, release)
	return nil
}

func (p *Writer[T]) failed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err != nil
}

func (p *Writer[T]) check() error {
	if p.closed {
		return errClosed
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// send hands rows to the workers, in one item per row group they fall in; the
// last item releases them. A row group is written once the workers are done
// with its last item.
func (p *Writer[T]) send(rows []T, arena []byte, release func()) {
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
		p.dispatch(rows[:n], arena, full, rel, full || rebalance)
		rows = rows[n:]
		if rebalance {
			p.share(func(l *leaf[T]) int64 { return l.cost })
		}
		if full {
			p.writeRowGroup()
		}
	}
}

// dispatch queues an item for every worker; with barrier it waits until they
// are all done with it, and so with everything before it.
func (p *Writer[T]) dispatch(rows []T, arena []byte, finish bool, release func(), barrier bool) {
	it := <-p.items
	it.rows, it.arena, it.finish, it.release, it.barrier = rows, arena, finish, release, barrier
	it.pending.Store(int32(len(p.workers)))
	for _, w := range p.workers {
		w.queue <- it
	}
	if barrier {
		<-p.idle
	}
}

func (w *worker[T]) run(p *Writer[T]) {
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
			it.rows, it.arena, it.release = nil, nil, nil
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
func (l *leaf[T]) process(s *scratch, it *item[T], pageRows int) error {
	if len(it.rows) > 0 {
		l.add(it.rows, it.arena)
		if l.err != nil {
			return l.err
		}
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
func (p *Writer[T]) share(cost func(*leaf[T]) int64) {
	order := slices.Clone(p.jobs)
	slices.SortStableFunc(order, func(a, b *leaf[T]) int { return cmp.Compare(cost(b), cost(a)) })
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

// writeRowGroup writes the finished column chunks of the row group to the file
// and starts the next one. After a write error it writes nothing (p.write skips)
// but still starts the next row group, so that send goes on with the batch.
func (p *Writer[T]) writeRowGroup() {
	g := rowGroup{rows: p.rgRows, off: p.pos, chunks: make([]chunkMeta, len(p.leaves))}
	for i, l := range p.leaves {
		m := &g.chunks[i]
		m.encodings, m.values, m.nulls, m.raw = l.encSet, l.values, l.nulls, l.rawSize
		m.dictOff = -1
		start := p.pos
		if l.hasDict {
			m.dictOff = p.pos
			m.encodings |= 1 << encPlain
			p.writePage(&l.chunk, l.dictPage)
		}
		m.dataOff = p.pos
		for _, pg := range l.pages {
			p.writePage(&l.chunk, pg)
		}
		m.size = p.pos - start
		m.noNullCount = l.kind == kindPairs
		l.chunkStats(m)
		g.raw += m.raw
		g.size += m.size
		l.resetChunk()
	}
	p.rows += p.rgRows
	p.rgRows = 0
	p.groups = append(p.groups, g)
}

func (p *Writer[T]) writePage(l *chunk, pg pageRef) {
	p.write(l.hdrs[pg.hdr:pg.hdrEnd])
	p.write(l.segs[pg.seg][pg.body:pg.end])
}

func (p *Writer[T]) write(b []byte) {
	if len(b) == 0 || p.failed() {
		return
	}
	n, err := p.w.Write(b)
	p.pos += int64(n)
	p.fail(err)
}

func (p *Writer[T]) fail(err error) {
	if err == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.err = fmt.Errorf("parquet: %w", err)
	}
}

// RowGroupSize is the rows at which a row group ends by itself.
func (p *Writer[T]) RowGroupSize() int64 { return p.rgSize }

// Buffered is the rows of the open row group: written, and held in memory
// (compressed) until the group is complete or flushed.
func (p *Writer[T]) Buffered() int64 { return p.rgRows }

// ShareMemory makes the writer lighter, before its first row, for when it is
// one of dozens open at once (export's partitions): data pages of a quarter of
// the rows (the staged page of every column is the bulk of an idle writer), an
// eighth of the dictionary bytes before a column falls back to PLAIN, zstd
// windows of 256 KiB (the default 4 MiB window's history buffer, one per
// worker, cost more than all the rest; pages of a quarter size fit the smaller
// window, so the files shrink about as much), and at most two workers, each of
// which keeps a page buffer and a compressor (about 1 MB), whatever the number
// of CPUs. After the first row it does nothing.
func (p *Writer[T]) ShareMemory() {
	if p.closed || p.rows > 0 || p.rgRows > 0 {
		return
	}
	p.pageRows = min(p.pageRows, DefaultPageRows/4)
	p.staggerPages()
	for _, l := range p.leaves {
		l.dictLimit = dictionaryLimit / 8
	}
	// No row was sent: the workers are idle and their compressors not made.
	for len(p.workers) > 2 {
		close(p.workers[len(p.workers)-1].queue)
		p.workers = p.workers[:len(p.workers)-1]
	}
	p.share(func(l *leaf[T]) int64 { return l.first })
	for _, w := range p.workers {
		w.scratch.comp.window = 256 << 10
	}
}

// FlushRowGroup writes the open row group now, however few rows it has, and
// lets go of what the columns keep for the next row group (staged-page
// slices, written arena segments, the dictionaries): a writer whose group is
// cut short may get few rows again, and a few dozen open writers would each
// otherwise keep buffers the size of their largest row group.
func (p *Writer[T]) FlushRowGroup() error {
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

// Close waits for the workers, writes the open row group and the footer.
func (p *Writer[T]) Close() error {
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

var errClosed = errors.New("parquet: writer closed")
