package export

import (
	"encoding/binary"
	"io"
	"runtime"
	"slices"
	"strconv"

	"github.com/pcaptk/pcaptk/internal/numfmt"
	"github.com/pcaptk/pcaptk/pkg/analysis"
	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/tcpdump"
)

// Encoder writes batches of rows in one format. Close writes what is buffered
// (for Parquet: the last row group and the footer); it does not close the
// underlying writer. The first error is kept and returned by every later call.
type Encoder interface {
	WriteBatch(b *Batch) error
	Close() error
}

// lines.go is what CSV and JSON share: rows written in place, column by column,
// with the number and text stores both formats use (csv.go, json.go hold what
// differs).

// LineOptions configure the CSV and JSON encoders.
type LineOptions struct {
	Columns []Column // nil: every column
	Time    TSFormat
	// Inputs names the inputs for the input column: Row.Input indexes it.
	Inputs []string
}

// lineEncoder is the shared body of the CSV and JSON encoders: rows are formatted
// by appending to one reused buffer, which is written out in large pieces.
type lineEncoder struct {
	w      io.Writer
	cols   []Column
	time   TSFormat
	json   bool
	keys   [][]byte // JSON: `{"name":` / `,"name":` per selected column; CSV: nil
	buf    []byte
	tsf    tsFormatter
	err    error
	header bool
	// helpers format parts of each batch in other goroutines, in copies of this
	// encoder with their own buffer and time cache.
	helpers []*lineEncoder
	jobs    chan [2]int // a helper's part of the batch: rows [lo, hi)
	batch   *Batch      // the batch the helpers are working on
	done    chan struct{}
	// When the eight flag columns come together in their usual order (syn at
	// flagsAt), flagText holds their whole text, keys and separators included,
	// for each value of the flag byte: one append instead of sixteen (measured:
	// JSON export of the benchmark capture 0.79 s -> 0.74 s).
	flagsAt  int
	flagText *[256][]byte
	// Likewise for the fifteen analysis flag columns (anFlagsAt: the first),
	// their text for each byte of analysis.Flags (prepareAnalysisFlags).
	anFlagsAt  int
	anFlagText *[2][256][]byte
	// ops, rowMax and flagsFmt drive putRow; compile sets them at the first row.
	ops      []op
	rowMax   int
	allCols  bool // every column in the default order, flags fused: putRowAll
	flagsFmt *flagsTable
	// inputs are the input column's names; inputText each one as a field,
	// quoted as the format wants (compile makes it). inputFirst: the input
	// column comes before the default ones (putRowAll writes it first).
	inputs     []string
	inputText  [][]byte
	inputFirst bool
}

const flushAt = 256 << 10

// flagColumns are the flag columns in their usual order, with their bits.
var flagColumns = [8]struct {
	col Column
	bit uint16
}{{ColSYN, decode.SYN}, {ColACKFlag, decode.ACK}, {ColFIN, decode.FIN}, {ColRST, decode.RST},
	{ColPSH, decode.PSH}, {ColURG, decode.URG}, {ColECE, decode.ECE}, {ColCWR, decode.CWR}}

// prepareFlags fills flagText when the columns hold the eight flags together,
// and anFlagText when they hold the analysis flags together.
func (e *lineEncoder) prepareFlags() {
	e.prepareAnalysisFlags()
	e.flagsAt = -1
	for i := 0; i+8 <= len(e.cols); i++ {
		match := true
		for j, f := range flagColumns {
			if e.cols[i+j] != f.col {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		e.flagsAt = i
		e.flagText = new([256][]byte)
		for v := range 256 {
			var t []byte
			for j, f := range flagColumns {
				switch {
				case e.json:
					t = append(t, e.keys[i+j]...)
				case i+j > 0:
					t = append(t, ',')
				}
				t = appendBool(t, uint16(v)&f.bit != 0)
			}
			e.flagText[v] = t
		}
		return
	}
}

func newLineEncoder(w io.Writer, o LineOptions) *lineEncoder {
	cols := o.Columns
	if cols == nil {
		cols = AllColumns()
	}
	return &lineEncoder{w: w, cols: cols, time: o.Time, buf: make([]byte, 0, flushAt+4096), flagsAt: -1, anFlagsAt: -1, inputs: o.Inputs}
}

// minSplit is the fewest rows worth sharing among goroutines.
const minSplit = 1024

// startHelpers starts one helper goroutine per CPU beyond the second (at most
// 3): one CPU is the producer's (Run's reading and decoding goroutine), which
// costs about as much as the encoder. Measured on 2 CPUs with the benchmark
// capture, a helper there only took time from the producer: wall time of
// export --format csv 0.39 s -> 0.35-0.37 s, json 0.38-0.42 s -> 0.37-0.40 s
// (medians of 8-10 alternating runs in three sessions).
func (e *lineEncoder) startHelpers() {
	n := min(runtime.GOMAXPROCS(0)-2, 3)
	if n <= 0 {
		return
	}
	e.done = make(chan struct{}, n)
	for range n {
		h := &lineEncoder{cols: e.cols, time: e.time, json: e.json, keys: e.keys,
			flagsAt: e.flagsAt, flagText: e.flagText, anFlagsAt: e.anFlagsAt, anFlagText: e.anFlagText, inputs: e.inputs,
			buf: make([]byte, 0, flushAt), jobs: make(chan [2]int)}
		e.helpers = append(e.helpers, h)
		go func() {
			for part := range h.jobs {
				h.buf = h.formatRows(h.buf[:0], e.batch, part[0], part[1])
				e.done <- struct{}{}
			}
		}()
	}
}

// formatRows appends rows [lo, hi) of bt to b.
func (e *lineEncoder) formatRows(b []byte, bt *Batch, lo, hi int) []byte {
	if e.ops == nil {
		e.compile()
	}
	rows := bt.Rows[lo:hi]
	for i := range rows {
		r := &rows[i]
		need := e.rowMax
		if r.Has&hasOptions != 0 {
			need += 6*int(r.OptEnd-r.OptStart) + 2
		}
		if cap(b)-len(b) < need {
			b = slices.Grow(b, need)
		}
		w := b[:cap(b)]
		if e.allCols {
			b = w[:e.putRowAll(w, len(b), bt, r, lo+i)]
		} else {
			b = w[:e.putRow(w, len(b), bt, r, lo+i)]
		}
	}
	return b
}

// writeSplit formats rows in parts, the first here and the others in the
// helpers, and writes the parts in order.
func (e *lineEncoder) writeSplit(bt *Batch) {
	n := len(bt.Rows)
	parts := len(e.helpers) + 1
	size := (n + parts - 1) / parts
	e.batch = bt
	for i, h := range e.helpers {
		h.jobs <- [2]int{min((i+1)*size, n), min((i+2)*size, n)}
	}
	e.buf = e.formatRows(e.buf, bt, 0, size)
	for range e.helpers {
		<-e.done
	}
	e.flush()
	for _, h := range e.helpers {
		if e.err == nil && len(h.buf) > 0 {
			_, e.err = e.w.Write(h.buf)
		}
	}
}

func (e *lineEncoder) WriteBatch(bt *Batch) error {
	if e.err != nil {
		return e.err
	}
	if e.header {
		for i, c := range e.cols {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.buf = append(e.buf, c.String()...)
		}
		e.buf = append(e.buf, '\n')
		e.header = false
	}
	if len(e.helpers) > 0 && len(bt.Rows) >= minSplit {
		e.writeSplit(bt)
		return e.err
	}
	e.buf = e.formatRows(e.buf, bt, 0, len(bt.Rows))
	if len(e.buf) >= flushAt {
		e.flush()
	}
	return e.err
}

func (e *lineEncoder) flush() {
	if e.err == nil && len(e.buf) > 0 {
		_, e.err = e.w.Write(e.buf)
	}
	e.buf = e.buf[:0]
}

func (e *lineEncoder) Close() error {
	for _, h := range e.helpers {
		close(h.jobs)
	}
	e.helpers = nil
	if e.header && e.err == nil {
		// No rows: a CSV file still gets its header.
		e.err = e.WriteBatch(&Batch{})
	}
	e.flush()
	return e.err
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, "true"...)
	}
	return append(b, "false"...)
}

// digitPairs ("00" to "99") and appendU, the hottest loop of CSV and JSON, are
// shared with the tcpdump printer (internal/numfmt).
const digitPairs = numfmt.DigitPairs

func appendU(b []byte, v uint64) []byte { return numfmt.AppendUint(b, v) }

// appendSACK writes [{"left":L,"right":R},...] in JSON and "L-R L-R" in CSV.
// r must have SACK blocks.
func (e *lineEncoder) appendSACK(b []byte, r *Row) []byte {
	if e.json {
		b = append(b, '[')
	}
	for i := 0; i < int(r.NSACK); i++ {
		s := r.SACK[i]
		if e.json {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"left":`...)
			b = appendU(b, uint64(s.Left))
			b = append(b, `,"right":`...)
			b = appendU(b, uint64(s.Right))
			b = append(b, '}')
			continue
		}
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendU(b, uint64(s.Left))
		b = append(b, '-')
		b = appendU(b, uint64(s.Right))
	}
	if e.json {
		b = append(b, ']')
	}
	return b
}

// Rows are written in place rather than appended piece by piece: formatRows
// makes room for a whole row first (rowMax bytes plus what the options text can
// take), then putRow stores each constant text (a JSON key, a CSV comma) with one
// fixed-size move and each number four digits a store, advancing an index. Stores
// may write a few bytes past the text they put; the next store overwrites them,
// and the room reserved covers the last. Measured on a 1.67M-packet capture
// (CPU profile of formatRows): CSV 0.57 s -> 0.30 s, JSON 0.75 s -> 0.40 s.

// op is one step of a row: a constant text, then one column's value.
type op struct {
	pre    [preMax]byte
	preLen uint8
	col    Column // colFlagsFused: the eight flag columns from flagText; colAnFlagsFused: the analysis flags
}

const (
	preMax          = 32 // longest constant text: `,"spurious_retransmission":` is 27 bytes
	colFlagsFused   = numColumns
	colAnFlagsFused = numColumns + 1
	// valueMax bounds what putRow writes for one value, stores' spill included,
	// except the options text (counted per row) and SACK blocks (sackMax).
	valueMax = 64
	sackMax  = 4 * 48
)

// compile turns the selected columns into the ops of a row.
func (e *lineEncoder) compile() {
	var ops []op
	for i := 0; i < len(e.cols); i++ {
		var o op
		var pre []byte
		switch {
		case e.json:
			pre = e.keys[i]
		case i > 0:
			pre = []byte{','}
		}
		o.col = e.cols[i]
		if i == e.flagsAt {
			// The fused text carries its keys and separators itself.
			pre = nil
			o.col = colFlagsFused
			i += len(flagColumns) - 1
		}
		if i == e.anFlagsAt {
			pre = nil
			o.col = colAnFlagsFused
			i += analysis.NumFlags - 1
		}
		o.preLen = uint8(copy(o.pre[:], pre))
		if int(o.preLen) != len(pre) {
			panic("export: column key too long") // column names are constants
		}
		ops = append(ops, o)
	}
	e.rowMax = 64 + sackMax + len(ops)*(preMax+valueMax)
	if slices.Contains(e.cols, ColAnalysis) {
		e.rowMax += analysisTextMax
	}
	if e.flagText != nil {
		longest := 0 // all false in CSV, all true in JSON
		for _, t := range e.flagText {
			longest = max(longest, len(t))
		}
		e.rowMax += longest
	}
	if e.anFlagText != nil {
		for _, half := range e.anFlagText {
			longest := 0
			for _, t := range half {
				longest = max(longest, len(t))
			}
			e.rowMax += longest
		}
	}
	e.flagsFmt = newFlagsTable(e.json)
	e.ops = ops
	longest := 0
	for _, name := range e.inputs {
		var t []byte
		if e.json {
			t = appendJSONString(nil, []byte(name))
		} else {
			t = appendCSVField(nil, []byte(name))
		}
		e.inputText = append(e.inputText, t)
		longest = max(longest, len(t))
	}
	e.rowMax += longest
	cols := e.cols
	e.inputFirst = len(cols) > 0 && cols[0] == ColInput
	if e.inputFirst {
		cols = cols[1:]
	}
	e.allCols = len(cols) >= int(numPacketColumns) && e.flagsAt == int(ColSYN)+len(e.cols)-len(cols)
	for i, c := range cols[:min(len(cols), int(numPacketColumns))] {
		if c != Column(i) {
			e.allCols = false
		}
	}
}

// allOps is the number of ops of the default columns (the flags fused).
const allOps = int(numPacketColumns) - len(flagColumns) + 1

// putInput writes the input column's field: the name of input i, or nothing
// (null in JSON) for an index beyond the list.
func (e *lineEncoder) putInput(w []byte, n int, i uint32) int {
	if int(i) < len(e.inputText) {
		return n + copy(w[n:], e.inputText[i])
	}
	return putNull(w, n, e.json)
}

// flagsTable holds the flags column's text ("[S.]" style letters, "none") for
// each value of the flag byte, quoted for JSON.
type flagsTable [256]struct {
	t [16]byte
	n uint8
}

func newFlagsTable(json bool) *flagsTable {
	t := new(flagsTable)
	for v := range 256 {
		var s []byte
		if json {
			s = append(s, '"')
		}
		s = tcpdump.AppendTCPFlags(s, uint16(v))
		if json {
			s = append(s, '"')
		}
		t[v].n = uint8(copy(t[v].t[:], s))
	}
	return t
}

var le = binary.LittleEndian

// putRow writes row r, row i of bt, at w[n:] and returns the index after it; w
// has room for rowMax bytes plus the options text escaped.
func (e *lineEncoder) putRow(w []byte, n int, bt *Batch, r *Row, i int) int {
	return e.endRow(w, e.putOps(w, n, bt, r, i, e.ops))
}

// endRow ends a row: a JSON object's brace, the line end.
func (e *lineEncoder) endRow(w []byte, n int) int {
	if e.json {
		if len(e.ops) == 0 {
			w[n] = '{'
			n++
		}
		w[n] = '}'
		n++
	}
	w[n] = '\n'
	return n + 1
}

// putOps writes the columns of ops of row r, row i of bt.
func (e *lineEncoder) putOps(w []byte, n int, bt *Batch, r *Row, i int, ops []op) int {
	json := e.json
	for k := range ops {
		o := &ops[k]
		*(*[preMax]byte)(w[n:]) = o.pre
		n += int(o.preLen)
		if o.col.IsAnalysis() {
			n = e.putAnalysis(w, n, o.col, bt.analysisOf(i))
			continue
		}
		switch o.col {
		case ColInput:
			n = e.putInput(w, n, r.Input)
		case ColFrame:
			n = putU64(w, n, r.Frame)
		case ColTS:
			n = e.putTS(w, n, r.TS)
		case ColIface:
			n = putU32(w, n, r.Iface)
		case ColCapLen:
			n = putU32(w, n, r.CapLen)
		case ColWireLen:
			n = putU32(w, n, r.WireLen)
		case ColIPVersion:
			n = putU32(w, n, uint32(r.IPVersion))
		case ColSrcIP:
			n = putIP(w, n, &r.SrcIP, r.IPVersion, json)
		case ColDstIP:
			n = putIP(w, n, &r.DstIP, r.IPVersion, json)
		case ColSrcPort:
			n = putU32(w, n, uint32(r.SrcPort))
		case ColDstPort:
			n = putU32(w, n, uint32(r.DstPort))
		case ColStream:
			n = putU64(w, n, r.Stream)
		case ColFlags:
			f := &e.flagsFmt[uint8(r.Flags)]
			*(*[16]byte)(w[n:]) = f.t
			n += int(f.n)
		case ColFlagsRaw:
			n = putU32(w, n, uint32(r.FlagsRaw))
		case colFlagsFused:
			n += copy(w[n:], e.flagText[uint8(r.Flags)])
		case colAnFlagsFused:
			f := bt.analysisOf(i).Flags
			n += copy(w[n:], e.anFlagText[0][uint8(f)])
			n += copy(w[n:], e.anFlagText[1][uint8(f>>8)])
		case ColSYN:
			n = putBool(w, n, r.Flags&decode.SYN != 0)
		case ColACKFlag:
			n = putBool(w, n, r.Flags&decode.ACK != 0)
		case ColFIN:
			n = putBool(w, n, r.Flags&decode.FIN != 0)
		case ColRST:
			n = putBool(w, n, r.Flags&decode.RST != 0)
		case ColPSH:
			n = putBool(w, n, r.Flags&decode.PSH != 0)
		case ColURG:
			n = putBool(w, n, r.Flags&decode.URG != 0)
		case ColECE:
			n = putBool(w, n, r.Flags&decode.ECE != 0)
		case ColCWR:
			n = putBool(w, n, r.Flags&decode.CWR != 0)
		case ColSeq:
			n = putU32(w, n, r.Seq)
		case ColAck:
			n = putU32(w, n, r.Ack)
		case ColSeqRel:
			n = putOptU32(w, n, r.Has&hasSeqRel != 0, r.SeqRel, json)
		case ColAckRel:
			n = putOptU32(w, n, r.Has&hasAckRel != 0, r.AckRel, json)
		case ColWindow:
			n = putU32(w, n, uint32(r.Window))
		case ColWindowScaled:
			n = putOptU32(w, n, r.Has&hasWindowScaled != 0, r.WindowScaled, json)
		case ColPayloadLen:
			n = putU32(w, n, r.PayloadLen)
		case ColUrgPtr:
			n = putU32(w, n, uint32(r.UrgPtr))
		case ColMSS:
			n = putOptU32(w, n, r.Has&hasMSS != 0, uint32(r.MSS), json)
		case ColWScale:
			n = putOptU32(w, n, r.Has&hasWScale != 0, uint32(r.WScale), json)
		case ColSackOK:
			n = putBool(w, n, r.Has&isSackOK != 0)
		case ColTSVal:
			n = putOptU32(w, n, r.Has&hasTS != 0, r.TSVal, json)
		case ColTSEcr:
			n = putOptU32(w, n, r.Has&hasTS != 0, r.TSEcr, json)
		case ColSACK:
			if r.Has&hasSACK == 0 {
				n = putNull(w, n, json)
			} else {
				n = len(e.appendSACK(w[:n], r))
			}
		case ColOptions:
			switch {
			case r.Has&hasOptions == 0:
				n = putNull(w, n, json)
			case json:
				n = len(appendJSONString(w[:n], bt.options(r)))
			default:
				n = len(appendCSVField(w[:n], bt.options(r)))
			}
		case ColTruncated:
			n = putBool(w, n, r.Has&isTruncated != 0)
		case ColTTL:
			n = putU32(w, n, uint32(r.TTL))
		case ColIPID:
			n = putU32(w, n, uint32(r.IPID))
		}
	}
	return n
}

// putRowAll is putRow for the default columns, the common case, as straight-line
// code: no switch per column; columns after them (the analysis ones) follow
// through putOps.
func (e *lineEncoder) putRowAll(w []byte, n int, bt *Batch, r *Row, i int) int {
	json := e.json
	o := e.ops
	if e.inputFirst {
		n = putPre(w, n, &o[0])
		n = e.putInput(w, n, r.Input)
		o = o[1:]
	}
	rest := o[allOps:] // the columns after the default ones
	o = o[:allOps]
	n = putPre(w, n, &o[0])
	n = putU64(w, n, r.Frame)
	n = putSep(w, n, &o[1], json)
	n = e.putTS(w, n, r.TS)
	n = putSep(w, n, &o[2], json)
	n = putU32(w, n, r.Iface)
	n = putSep(w, n, &o[3], json)
	n = putU32(w, n, r.CapLen)
	n = putSep(w, n, &o[4], json)
	n = putU32(w, n, r.WireLen)
	n = putSep(w, n, &o[5], json)
	n = putU32(w, n, uint32(r.IPVersion))
	n = putSep(w, n, &o[6], json)
	n = putIP(w, n, &r.SrcIP, r.IPVersion, json)
	n = putSep(w, n, &o[7], json)
	n = putIP(w, n, &r.DstIP, r.IPVersion, json)
	n = putSep(w, n, &o[8], json)
	n = putU32(w, n, uint32(r.SrcPort))
	n = putSep(w, n, &o[9], json)
	n = putU32(w, n, uint32(r.DstPort))
	n = putSep(w, n, &o[10], json)
	n = putU64(w, n, r.Stream)
	n = putSep(w, n, &o[11], json)
	f := &e.flagsFmt[uint8(r.Flags)]
	*(*[16]byte)(w[n:]) = f.t
	n += int(f.n)
	n = putSep(w, n, &o[12], json)
	n = putU32(w, n, uint32(r.FlagsRaw))
	n += copy(w[n:], e.flagText[uint8(r.Flags)]) // o[13]: syn..cwr
	n = putSep(w, n, &o[14], json)
	n = putU32(w, n, r.Seq)
	n = putSep(w, n, &o[15], json)
	n = putU32(w, n, r.Ack)
	n = putSep(w, n, &o[16], json)
	n = putOptU32(w, n, r.Has&hasSeqRel != 0, r.SeqRel, json)
	n = putSep(w, n, &o[17], json)
	n = putOptU32(w, n, r.Has&hasAckRel != 0, r.AckRel, json)
	n = putSep(w, n, &o[18], json)
	n = putU32(w, n, uint32(r.Window))
	n = putSep(w, n, &o[19], json)
	n = putOptU32(w, n, r.Has&hasWindowScaled != 0, r.WindowScaled, json)
	n = putSep(w, n, &o[20], json)
	n = putU32(w, n, r.PayloadLen)
	n = putSep(w, n, &o[21], json)
	n = putU32(w, n, uint32(r.UrgPtr))
	n = putSep(w, n, &o[22], json)
	n = putOptU32(w, n, r.Has&hasMSS != 0, uint32(r.MSS), json)
	n = putSep(w, n, &o[23], json)
	n = putOptU32(w, n, r.Has&hasWScale != 0, uint32(r.WScale), json)
	n = putSep(w, n, &o[24], json)
	n = putBool(w, n, r.Has&isSackOK != 0)
	n = putSep(w, n, &o[25], json)
	n = putOptU32(w, n, r.Has&hasTS != 0, r.TSVal, json)
	n = putSep(w, n, &o[26], json)
	n = putOptU32(w, n, r.Has&hasTS != 0, r.TSEcr, json)
	n = putSep(w, n, &o[27], json)
	if r.Has&hasSACK == 0 {
		n = putNull(w, n, json)
	} else {
		n = len(e.appendSACK(w[:n], r))
	}
	n = putSep(w, n, &o[28], json)
	switch {
	case r.Has&hasOptions == 0:
		n = putNull(w, n, json)
	case json:
		n = len(appendJSONString(w[:n], bt.options(r)))
	default:
		n = len(appendCSVField(w[:n], bt.options(r)))
	}
	n = putSep(w, n, &o[29], json)
	n = putBool(w, n, r.Has&isTruncated != 0)
	n = putSep(w, n, &o[30], json)
	n = putU32(w, n, uint32(r.TTL))
	n = putSep(w, n, &o[31], json)
	n = putU32(w, n, uint32(r.IPID))
	if len(rest) > 0 {
		n = e.putOps(w, n, bt, r, i, rest)
	}
	if json {
		w[n] = '}'
		n++
	}
	w[n] = '\n'
	return n + 1
}

// putSep writes the constant text of an op after the first: its key for JSON,
// a comma for CSV (one byte store rather than a 24-byte one).
func putSep(w []byte, n int, o *op, json bool) int {
	if json {
		*(*[preMax]byte)(w[n:]) = o.pre
		return n + int(o.preLen)
	}
	w[n] = ','
	return n + 1
}

// putPre writes an op's constant text.
func putPre(w []byte, n int, o *op) int {
	*(*[preMax]byte)(w[n:]) = o.pre
	return n + int(o.preLen)
}

// putTS writes the ts column in the encoder's time format.
func (e *lineEncoder) putTS(w []byte, n int, ts int64) int {
	switch e.time {
	case TSEpoch:
		if ts < 0 {
			return len(appendEpoch(w[:n], ts))
		}
		sec := uint64(ts) / 1e9
		n = putU64(w, n, sec)
		w[n] = '.'
		return putNine(w, n+1, uint32(uint64(ts)-sec*1e9))
	case TSEpochNS:
		if ts < 0 {
			return len(strconv.AppendInt(w[:n], ts, 10))
		}
		return putU64(w, n, uint64(ts))
	}
	if e.json {
		w[n] = '"'
		n++
	}
	n = e.tsf.putRFC3339(w, n, ts)
	if e.json {
		w[n] = '"'
		n++
	}
	return n
}

func putNull(w []byte, n int, json bool) int {
	if json {
		le.PutUint32(w[n:], 'n'|'u'<<8|'l'<<16|'l'<<24)
		return n + 4
	}
	return n
}

func putBool(w []byte, n int, v bool) int {
	if v {
		le.PutUint32(w[n:], 't'|'r'<<8|'u'<<16|'e'<<24)
		return n + 4
	}
	le.PutUint64(w[n:], 'f'|'a'<<8|'l'<<16|'s'<<24|'e'<<32)
	return n + 5
}

func putOptU32(w []byte, n int, ok bool, v uint32, json bool) int {
	if !ok {
		return putNull(w, n, json)
	}
	return putU32(w, n, v)
}

// dig4[v] is v as four digits with leading zeros, stored little-endian, so that
// one 32-bit store writes them.
var dig4 = func() (t [10000]uint32) {
	for i := range t {
		t[i] = uint32('0'+i/1000) | uint32('0'+i/100%10)<<8 | uint32('0'+i/10%10)<<16 | uint32('0'+i%10)<<24
	}
	return t
}()

// putLead writes v < 10000 without leading zeros (and spills up to 3 bytes).
func putLead(w []byte, n int, v uint32) int {
	k := 1
	if v >= 10 {
		k++
	}
	if v >= 100 {
		k++
	}
	if v >= 1000 {
		k++
	}
	le.PutUint32(w[n:], dig4[v]>>(32-8*k))
	return n + k
}

// put8 writes v < 1e8 as eight digits.
func put8(w []byte, n int, v uint32) int {
	hi := v / 10000
	le.PutUint64(w[n:], uint64(dig4[hi])|uint64(dig4[v-hi*10000])<<32)
	return n + 8
}

// putU32 writes v in decimal.
func putU32(w []byte, n int, v uint32) int {
	if v < 10000 {
		return putLead(w, n, v)
	}
	if v < 1e8 {
		hi := v / 10000
		n = putLead(w, n, hi)
		le.PutUint32(w[n:], dig4[v-hi*10000])
		return n + 4
	}
	hi := v / 1e8
	n = putLead(w, n, hi)
	return put8(w, n, v-hi*1e8)
}

// putU64 writes v in decimal.
func putU64(w []byte, n int, v uint64) int {
	if v < 1<<32 {
		return putU32(w, n, uint32(v))
	}
	hi := v / 1e8
	n = putU64(w, n, hi)
	return put8(w, n, uint32(v-hi*1e8))
}

// putNine writes v < 1e9 as nine digits.
func putNine(w []byte, n int, v uint32) int {
	hi := v / 1e8
	w[n] = byte('0' + hi)
	return put8(w, n+1, v-hi*1e8)
}

// dotted[v] is "v." stored little-endian in the low bytes, its length in the top one.
var dotted = func() (t [256]uint32) {
	for i := range t {
		s := strconv.Itoa(i) + "."
		var v uint32
		for j := range len(s) {
			v |= uint32(s[j]) << (8 * j)
		}
		// "255." fills all four bytes: the length goes in a separate table.
		t[i] = v
	}
	return t
}()

var dottedLen = func() (t [256]uint8) {
	for i := range t {
		t[i] = uint8(len(strconv.Itoa(i)) + 1)
	}
	return t
}()

// putIP writes an address as decode.AppendIP does, quoted for JSON.
func putIP(w []byte, n int, ip *[16]byte, version uint8, json bool) int {
	if json {
		w[n] = '"'
		n++
	}
	if version == 4 {
		for _, b := range ip[:4] {
			le.PutUint32(w[n:], dotted[b])
			n += int(dottedLen[b])
		}
		n-- // the last dot
	} else {
		n = len(decode.AppendIP(w[:n], *ip, version))
	}
	if json {
		w[n] = '"'
		n++
	}
	return n
}
