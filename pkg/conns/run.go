package conns

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pcaptk/pcaptk/internal/outfile"
	"github.com/pcaptk/pcaptk/pkg/analysis"
	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/export"
	"github.com/pcaptk/pcaptk/pkg/filter"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// Files is a run of pcaptk conns over capture files: every input as one
// chronological stream into one output (a file, or Stdout for "-"), or, with
// Dataset, one file per input (and partition) in the directory Output, Jobs
// inputs at a time.
type Files struct {
	Inputs []string  // capture files; "-" reads Stdin
	Stdin  io.Reader //
	Output string    // a file, "-" for Stdout, or the directory of a Dataset
	Stdout io.Writer
	Notes  io.Writer // where notes go (the sort bound, early evictions); nil: none
	// Dataset writes one file per input into the directory Output.
	Dataset   bool
	Jobs      int                   // inputs at once in a Dataset; 0: 1
	Partition export.Partitioning   // split a Dataset's rows by first_ts into date=/hour= directories
	Format    string                // "table", "csv", "json" or "parquet"
	Filter    string                // tcpdump filter expression: the packets that count
	Table     *Table                // columns of csv, json and parquet; nil: every column
	Time      export.TSFormat       // first_ts and last_ts in csv and json
	Parquet   export.ParquetOptions // row groups (0: DefaultRowGroupSize), codec, µs, created_by; Columns unused
	Order     *Order                // nil: as connections end (csv, json, parquet), by first packet (table)
	Top       int                   // only the first Top rows in Order (0: all)
	Color     bool                  // table: colour and emphasis (a terminal)
	SortLimit int                   // rows held for sorting; 0: DefaultSortLimit
	Conn      decode.ConnOptions    // zero: analysis.ConnTableOptions
	Guard     *outfile.Guard        // refuses outputs that are inputs
	Progress  export.Progress       // nil: none
	Stop      *atomic.Bool          // when set (a signal), the inputs end where they are
}

// DefaultSortLimit is how many rows a sorted output holds at most (about 380
// bytes each): past it, the rows held are written sorted and the rest as their
// connections end, with a note.
const DefaultSortLimit = 100_000

// MemoryLimit is the soft memory limit a run sets (unless GOMEMLIMIT is set):
// one input's connection table at its bound, the analyzer's segments and the
// sort buffer fit well under it, and it keeps the garbage collector from
// letting the heap double past 256 MB.
const MemoryLimit = 200 << 20

type noProgress struct{}

func (noProgress) Update(int, uint64, int64) {}

// Run runs the files.
func (f *Files) Run() error {
	switch {
	case f.Format != "table" && f.Format != "csv" && f.Format != "json" && f.Format != "parquet":
		return fmt.Errorf("conns: unknown format %q (want table, csv, json or parquet)", f.Format)
	case f.Dataset && f.Format == "table":
		return errors.New("conns: a dataset holds csv, json or parquet files, not a table")
	case len(f.Inputs) == 0:
		return errors.New("conns: no input")
	}
	if f.Progress == nil {
		f.Progress = noProgress{}
	}
	if f.Jobs <= 0 {
		f.Jobs = 1
	}
	if f.Conn == (decode.ConnOptions{}) {
		f.Conn = analysis.ConnTableOptions
	}
	if f.Table == nil {
		t, err := NewTable("")
		if err != nil {
			return err
		}
		f.Table = t
	}
	if f.SortLimit <= 0 {
		f.SortLimit = DefaultSortLimit
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(MemoryLimit))
	}
	if f.Dataset {
		return f.dataset()
	}
	return f.stream()
}

func (f *Files) note(format string, args ...any) {
	if f.Notes != nil {
		fmt.Fprintf(f.Notes, "pcaptk: "+format+"\n", args...)
	}
}

// stream reads every input as one chronological stream into one output.
func (f *Files) stream() error {
	flt, err := filter.Compile(f.Filter)
	if err != nil {
		return err
	}
	ins, err := export.OpenInputs(f.Inputs, f.Stdin)
	if err != nil {
		return err
	}
	defer ins.Close()
	src, offset := ins.Source, ins.Offset
	out, finish, err := export.CreateOutput(f.Output, f.Stdout, f.Guard)
	if err != nil {
		return err
	}
	sk, err := f.sink(out, false)
	if err != nil {
		finish(err)
		return err
	}
	err = f.pass(src, flt, sk, func(n uint64) { f.Progress.Update(0, n, offset()) })
	if ferr := finish(err); err == nil {
		err = ferr
	}
	if err == nil && flt.Err() != nil {
		err = fmt.Errorf("%s: %w", strings.Join(f.Inputs, ", "), flt.Err())
	}
	return err
}

// sink makes the row sink of the run's format and order on w; shared says it
// is one of a dataset's partitions, open with others.
func (f *Files) sink(w io.Writer, shared bool) (rowSink, error) {
	var sk rowSink
	var tx *textSink
	switch f.Format {
	case "table":
		tx = newTextSink(w, f.Color)
		sk = tx
	case "json":
		sk = export.NewTableJSON(w, f.Table, export.TableOptions{Time: f.Time})
	case "csv":
		sk = export.NewTableCSV(w, f.Table, export.TableOptions{Time: f.Time})
	case "parquet":
		ps, err := newParquetSink(w, f.Table, f.Parquet, shared)
		if err != nil {
			return nil, err
		}
		sk = ps
	}
	order := f.Order
	if order == nil && (f.Format == "table" || f.Top > 0) {
		if f.Top > 0 {
			order = BiggestFirst
		} else {
			order = ByStream
		}
	}
	if order == nil {
		return sk, nil
	}
	return newOrderSink(sk, tx, order, f.Top, f.SortLimit, f.note), nil
}

// pass runs the packets of src through the analysis engine, handing the row of
// each connection with a packet flt matches to sk as it ends, then closes sk.
// Every packet is analysed, matched or not, so that stream numbers and the
// analysis are those of the whole capture, as export --analysis (and tshark
// with a display filter) has them. The work is
// a pipeline of four goroutines passing batches of packets along (pipeline):
// reading, filtering and decoding; connection tracking; the packet analysis;
// and here the connections' accounting and their rows. Tracking and analysis
// were one stage, the longest, which the others waited for: as two, on two
// CPUs, the make-capture.sh capture took 0.29–0.34 s instead of 0.31–0.38 s
// (medians of 11–15 runs, three comparisons), and the reading stage is now the
// one the others wait for. Rows before a bad record are kept (the output
// is complete up to it) and the source's error is returned; a write error
// stops reading and is returned.
func (f *Files) pass(src reader.Source, flt *filter.Filter, sk rowSink, progress func(uint64)) error {
	var werr error
	// With a filter, a connection's row is written when one of its packets
	// matched (wanted, by the tracker's slot): the analysis sees every packet.
	var wanted []bool
	emit := true
	eng := analysis.NewEngine(analysis.EngineOptions{Conn: f.Conn, Rows: func(r *analysis.ConnRow) {
		if werr == nil && emit {
			werr = sk.Write(r)
		}
	}})
	want := func(slot int32) bool {
		if wanted == nil {
			return true
		}
		w := int(slot) < len(wanted) && wanted[slot]
		if w {
			wanted[slot] = false
		}
		return w
	}
	forget := func(g *forgotten) {
		emit = want(g.slot)
		eng.ForgetConn(g.slot, g.stream, g.why)
	}
	var tail tailRows
	if strings.TrimSpace(flt.String()) != "" {
		wanted = make([]bool, 0, 1024)
	}
	p := newPipeline(reader.Stoppable(src, f.Stop), flt, eng, progress)
	var readErr error
	for b := range p.analysed {
		fg := b.forgets
		for i := range b.n {
			for len(fg) > 0 && fg[0].before <= i {
				forget(&fg[0])
				fg = fg[1:]
			}
			c := &b.conns[i]
			if wanted != nil && b.matched[i] {
				for int(c.Slot) >= len(wanted) {
					wanted = append(wanted, false)
				}
				wanted[c.Slot] = true
			}
			eng.Account(b.meta[i].ts, b.meta[i].wireLen, &b.recs[i], c, &b.res[i])
		}
		if len(fg) >= tailMin {
			werr = tail.forget(eng, fg, want, sk, werr)
		} else {
			for i := range fg {
				forget(&fg[i])
			}
		}
		readErr = b.err
		p.free <- b
		if werr != nil {
			break
		}
	}
	st := p.stop()
	if werr == nil {
		werr = sk.Close()
	} else {
		sk.Close()
	}
	if st.Evicted > 0 {
		f.note("%d connections were forgotten before they ended: more than %d were open at once "+
			"(their later packets start new streams, so stream numbers differ from export's from there on)",
			st.Evicted, f.Conn.MaxConns)
	}
	if werr != nil {
		return werr
	}
	return readErr
}

// tailRows makes the rows of many connections forgotten at once (at the end of
// the input every connection still open ends) two goroutines at a time, a
// chunk of tailChunk rows after another, and writes them in order. Nothing
// else runs then: on the make-capture.sh capture the 17,134 rows at its end
// took about 25 ms one by one, and take about 20 ms so (6.5 ms to make, 12 ms
// in the Parquet writer).
type tailRows struct {
	rows []analysis.ConnRow
	has  []bool
}

// tailMin: fewer connections forgotten at once are forgotten one by one (a
// variable for the test that compares the two ways).
var tailMin = 512

const tailChunk = 4096 // rows made before they are written (about 1.7 MB)

// forget forgets the connections of fg as pass's forget does one by one,
// writing the rows want wants to sk unless werr is set; it returns the first
// write error.
func (t *tailRows) forget(eng *analysis.Engine, fg []forgotten, want func(int32) bool, sk rowSink, werr error) error {
	if t.rows == nil {
		t.rows, t.has = make([]analysis.ConnRow, tailChunk), make([]bool, tailChunk)
	}
	for len(fg) > 0 {
		chunk := fg[:min(len(fg), tailChunk)]
		fg = fg[len(chunk):]
		build := func(lo, hi int) {
			for j := lo; j < hi; j++ {
				g := &chunk[j]
				t.has[j] = eng.ConnRow(g.slot, g.stream, g.why, &t.rows[j])
				eng.FreeConn(g.slot)
			}
		}
		half := len(chunk) / 2
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			build(0, half)
		}()
		build(half, len(chunk))
		wg.Wait()
		for j := range chunk {
			if w := want(chunk[j].slot); w && t.has[j] && werr == nil {
				werr = sk.Write(&t.rows[j])
			}
		}
	}
	return werr
}

// batch is a run of packets on their way through the pipeline: what the
// engine needs of each (the Record holds offsets only, never the packet's
// bytes, so nothing is copied), and, once tracked and analysed, each packet's
// connection and analysis and the connections the tracker forgot meanwhile.
type batch struct {
	meta    []packetMeta
	recs    []decode.Record
	conns   []decode.Conn
	res     []analysis.Result
	matched []bool // the filter matched the packet
	n       int
	forgets []forgotten // in order; each before packet `before` (n: after the last)
	err     error       // the source's error after the last packet (not io.EOF)
	end     bool        // the last batch
}

type packetMeta struct {
	number  uint64
	ts      int64
	wireLen uint32
}

type forgotten struct {
	before int
	slot   int32
	stream uint64
	why    decode.ForgetReason
}

// A batch holds 4,096 packets (about 2 MB of records and results, 8 MB for
// the four): measured on the make-capture.sh capture with two CPUs, 1,024
// took 0.38 s median and 0.61 s of CPU, 4,096 took 0.31 s and 0.55 s (the
// stages hand batches over a quarter as often, and each goroutine keeps its
// CPU for longer); 256 or 128 were slower still, 8,192 or more no faster.
const (
	batchPackets = 4096
	batches      = 5 // one at each stage, and one more
)

// pipeline carries batches from the reading goroutine (read, filter, decode)
// to the tracking one (connection tracking) to the analysing one (the packet
// analysis) to the caller (analysed), which gives them back on free.
type pipeline struct {
	free     chan *batch
	analysed chan *batch
	done     chan struct{}
	stopped  chan decode.ConnStats
}

// newPipeline starts the three goroutines. progress is called from the reading
// one (so that it may look at the readers) about every export.BatchRows
// packets read. The last batch holds the source's error, if any, and the
// connections still tracked at the end (the tracker is closed there).
func newPipeline(src reader.Source, flt *filter.Filter, eng *analysis.Engine, progress func(uint64)) *pipeline {
	p := &pipeline{
		free:     make(chan *batch, batches),
		analysed: make(chan *batch, batches),
		done:     make(chan struct{}),
		stopped:  make(chan decode.ConnStats, 1),
	}
	for range batches {
		p.free <- &batch{meta: make([]packetMeta, batchPackets), recs: make([]decode.Record, batchPackets),
			conns: make([]decode.Conn, batchPackets), res: make([]analysis.Result, batchPackets),
			matched: make([]bool, batchPackets)}
	}
	decoded := make(chan *batch, batches)
	tracked := make(chan *batch, batches)
	go p.read(src, flt, progress, decoded)
	go p.track(eng.Tracker(), decoded, tracked)
	go p.analyse(eng.Analyzer(), tracked)
	return p
}

// read fills free batches with the decoded packets of src, noting which flt
// matches.
func (p *pipeline) read(src reader.Source, flt *filter.Filter, progress func(uint64), decoded chan<- *batch) {
	defer close(decoded)
	var n uint64
	for {
		var b *batch
		select {
		case b = <-p.free:
		case <-p.done:
			return
		}
		b.n, b.err, b.end, b.forgets = 0, nil, false, b.forgets[:0]
		for b.n < batchPackets {
			pk, err := src.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					b.err = err
				}
				b.end = true
				progress(n)
				break
			}
			if n++; n%export.BatchRows == 0 {
				progress(n)
			}
			b.matched[b.n] = flt.Match(pk)
			decode.Decode(pk.LinkType, pk.Data, pk.WireLen, &b.recs[b.n])
			b.meta[b.n] = packetMeta{pk.Number, pk.Timestamp, pk.WireLen}
			b.n++
		}
		decoded <- b
		if b.end {
			return
		}
	}
}

// track tracks the connections of each decoded batch's packets, keeping those
// with a complete TCP header, and notes the connections the tracker forgets
// in their place among the packets. The tracker is closed after the last batch.
func (p *pipeline) track(ct *decode.ConnTracker, decoded <-chan *batch, tracked chan<- *batch) {
	defer close(tracked)
	var cur *batch
	var kept int
	ct.OnForget(func(slot int32, stream uint64, why decode.ForgetReason) {
		cur.forgets = append(cur.forgets, forgotten{kept, slot, stream, why})
	})
	var stats decode.ConnStats
	defer func() { p.stopped <- stats }()
	for b := range decoded {
		cur, kept = b, 0
		for i := range b.n {
			m := &b.meta[i]
			if !ct.TrackTo(&b.recs[i], m.ts, &b.conns[kept]) {
				continue
			}
			if kept != i {
				b.recs[kept], b.meta[kept], b.matched[kept] = b.recs[i], *m, b.matched[i]
			}
			kept++
		}
		b.n = kept
		if b.end {
			ct.Close()
			stats = ct.Stats()
		}
		select {
		case tracked <- b:
		case <-p.done:
			return
		}
	}
}

// analyse runs the packet analysis over each tracked batch, forgetting a
// connection's analysis where the tracker forgot it (before a later
// connection may take its slot), and hands the batch on.
func (p *pipeline) analyse(an *analysis.Analyzer, tracked <-chan *batch) {
	defer close(p.analysed)
	for b := range tracked {
		fg := b.forgets
		for i := range b.n {
			for len(fg) > 0 && fg[0].before <= i {
				an.Forget(fg[0].slot)
				fg = fg[1:]
			}
			m := &b.meta[i]
			an.Packet(m.number, m.ts, &b.recs[i], &b.conns[i], &b.res[i])
		}
		for i := range fg {
			an.Forget(fg[i].slot)
		}
		select {
		case p.analysed <- b:
		case <-p.done:
			return
		}
	}
}

// stop ends the goroutines (early, when the caller stops taking batches),
// waits for them and returns the tracker's statistics.
func (p *pipeline) stop() decode.ConnStats {
	close(p.done)
	for range p.analysed {
	}
	return <-p.stopped
}

// rowSink takes the rows of a run; export.TableWriter is one.
type rowSink interface {
	Write(*analysis.ConnRow) error
	Close() error
}

// dataset writes one file per input (or per input and partition) into the
// directory f.Output, f.Jobs inputs at a time.
func (f *Files) dataset() error {
	return export.EachInput(f.Output, f.Inputs, f.Jobs, f.Filter, f.Stdin, f.datasetFile)
}

// datasetFile writes the connections of one input to its base.<format>, or to
// partitions under base's directory.
func (f *Files) datasetFile(j *export.InputJob) error {
	base, r, flt := j.Base, j.Reader, j.Filter
	var err error
	ext := "." + f.Format
	var sk rowSink
	finish := func(error) error { return nil }
	if f.Partition == export.PartitionNone {
		var w io.Writer
		if w, finish, err = export.CreateOutput(base+ext, nil, f.Guard); err != nil {
			return err
		}
		if sk, err = f.sink(w, false); err != nil {
			finish(err)
			return err
		}
	} else {
		root, name := filepath.Dir(base), filepath.Base(base)
		sk = newPartitionSink(f.Partition, func(sub string, part int) (rowSink, func(error) error, error) {
			d := filepath.Join(root, sub)
			if err := os.MkdirAll(d, 0o755); err != nil {
				return nil, nil, err
			}
			w, done, err := export.CreateOutput(filepath.Join(d, fmt.Sprintf("part-%s-%d%s", name, part, ext)), nil, f.Guard)
			if err != nil {
				return nil, nil, err
			}
			sk, err := f.sink(w, true)
			if err != nil {
				done(err)
				return nil, nil, err
			}
			return sk, done, nil
		})
	}
	err = f.pass(r, flt, sk, func(n uint64) { f.Progress.Update(j.Index, n, r.Offset()) })
	if ferr := finish(err); err == nil {
		err = ferr
	}
	return err
}
