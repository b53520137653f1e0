package export

import (
	"errors"
	"io"

	"github.com/pcaptk/pcaptk/pkg/analysis"
	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// Source is reader.Source: packets in order, each valid until the next call.
type Source = reader.Source

// RunOptions configure Run.
type RunOptions struct {
	// Columns: nil means the default ones. Run formats the options text only
	// when they hold the options column, and runs the TCP analysis (filling
	// Batch.An) only when they hold an analysis column.
	Columns []Column
	Match   func(*reader.Packet) bool // nil: every packet
	Conn    decode.ConnOptions        // zero: decode.DefaultConnOptions
	// Progress, when set, is called about every BatchRows packets read, from the
	// goroutine that reads src (so it may query src), with the packets read so far.
	Progress func(packets uint64)
	// Sync runs decoding and encoding in the calling goroutine only.
	Sync bool
	// Origin, when src merges several inputs (a *reader.MergeReader), says
	// where each packet comes from: rows then number frames and interfaces
	// within their own input and carry the input's index (the input column).
	Origin Origin
}

// Origin says which input the packet a source handed out last comes from,
// its number and its interface's index there, as *reader.MergeReader does.
type Origin interface {
	LastInput() int
	LastNumber() uint64
	LastIface() int
}

// BatchRows is the number of rows handed at once from the decoding goroutine to
// the encoding one.
const BatchRows = 4096

// Stats counts what Run did.
type Stats struct {
	Packets uint64 // packets read
	Rows    uint64 // rows written (TCP packets that matched)
}

// Run reads src to its end, writes a row for every matching TCP packet with enc
// and closes enc. Reading, filtering, decoding and the connection columns run in
// one goroutine, encoding in another, so two CPUs share the work.
//
// When src fails, the rows before the failure are still written and enc is closed
// (a Parquet file gets its footer), and the source's error is returned. An
// encoder error stops reading and is returned.
func Run(src Source, enc Encoder, o RunOptions) (Stats, error) {
	opts := wantsOptions(o.Columns)
	if o.Columns == nil {
		opts = true
	}
	conn := o.Conn
	if conn == (decode.ConnOptions{}) {
		conn = decode.DefaultConnOptions
	}
	p := producer{src: src, match: o.Match, options: opts, progress: o.Progress, origin: o.Origin}
	if WantsAnalysis(o.Columns) {
		p.an = analysis.NewEngine(analysis.EngineOptions{Conn: conn})
	} else {
		p.ct = decode.NewConnTracker(conn)
	}
	if o.Sync {
		return runSync(&p, enc)
	}

	// An encoder that works on batches after WriteBatchAsync returns (Parquet's
	// workers) holds several at once, so more are in flight.
	ae, async := enc.(asyncEncoder)
	inFlight := 4
	if async {
		inFlight = 8
	}
	free := make(chan *Batch, inFlight)
	full := make(chan *Batch, inFlight)
	stop := make(chan struct{})
	for range inFlight {
		b := p.newBatch()
		b.release = func() { free <- b }
		free <- b
	}
	srcErr := make(chan error, 1)
	go func() {
		defer close(full)
		for {
			select {
			case <-stop:
				srcErr <- nil
				return
			default:
			}
			var b *Batch
			select {
			case b = <-free:
			case <-stop:
				srcErr <- nil
				return
			}
			b.Reset()
			err := p.fill(b)
			if b.Len() > 0 {
				full <- b
			}
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				srcErr <- err
				return
			}
		}
	}()
	var encErr error
	for b := range full {
		if encErr == nil {
			if async {
				if encErr = ae.WriteBatchAsync(b, b.release); encErr == nil {
					continue // the encoder releases b
				}
			} else {
				encErr = enc.WriteBatch(b)
			}
			if encErr != nil {
				close(stop)
			}
		}
		free <- b
	}
	readErr := <-srcErr
	if err := enc.Close(); encErr == nil {
		encErr = err
	}
	st := Stats{Packets: p.packets, Rows: p.rows}
	if encErr != nil {
		return st, encErr
	}
	return st, readErr
}

func runSync(p *producer, enc Encoder) (Stats, error) {
	b := p.newBatch()
	var readErr, encErr error
	for {
		b.Reset()
		err := p.fill(b)
		if encErr = enc.WriteBatch(b); encErr != nil {
			break
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				readErr = err
			}
			break
		}
	}
	if err := enc.Close(); encErr == nil {
		encErr = err
	}
	st := Stats{Packets: p.packets, Rows: p.rows}
	if encErr != nil {
		return st, encErr
	}
	return st, readErr
}

// asyncEncoder is an Encoder that can take a batch and return before it is done
// with it, calling release when it is.
type asyncEncoder interface {
	WriteBatchAsync(b *Batch, release func()) error
}

// producer turns packets into rows.
type producer struct {
	src     Source
	match   func(*reader.Packet) bool
	options bool
	ct      *decode.ConnTracker // without the analysis
	// an, with the analysis columns, tracks the connections in ct's stead and
	// analyses every packet, matched or not, in order (its state must see the
	// whole capture, as tshark's single pass with a display filter does).
	an       *analysis.Engine
	rec      decode.Record
	progress func(uint64)
	origin   Origin
	packets  uint64
	rows     uint64
}

// fill adds rows to b until it holds BatchRows or the source ends or fails (the
// error, io.EOF at the end, is returned with the rows read before it).
func (p *producer) fill(b *Batch) error {
	for b.Len() < BatchRows {
		pkt, err := p.src.Next()
		if err != nil {
			if p.progress != nil {
				p.progress(p.packets)
			}
			return err
		}
		p.packets++
		if p.progress != nil && p.packets%BatchRows == 0 {
			p.progress(p.packets)
		}
		if p.an != nil {
			p.analyse(pkt, b)
			continue
		}
		if p.match != nil && !p.match(pkt) {
			continue
		}
		decode.Decode(pkt.LinkType, pkt.Data, pkt.WireLen, &p.rec)
		if !Exportable(&p.rec) {
			continue
		}
		var c decode.Conn
		p.ct.TrackTo(&p.rec, pkt.Timestamp, &c)
		b.Add(pkt, &p.rec, &c, p.options)
		p.setOrigin(b)
		p.rows++
	}
	return nil
}

// setOrigin numbers the last row of b within its own input, when src merges
// several.
func (p *producer) setOrigin(b *Batch) {
	if p.origin != nil {
		r := &b.Rows[len(b.Rows)-1]
		r.Frame, r.Input = p.origin.LastNumber(), uint32(p.origin.LastInput())
		r.Iface = uint32(p.origin.LastIface())
	}
}

// newBatch returns a batch with room for BatchRows rows.
func (p *producer) newBatch() *Batch {
	b := &Batch{Rows: make([]Row, 0, BatchRows)}
	if p.an != nil {
		b.An = make([]analysis.Result, 0, BatchRows)
	}
	return b
}

// analyse is fill's step for one packet with the analysis: every packet is
// decoded and analysed, then the matching TCP ones become rows.
//
// The analysis names frames (acks_frame, dup_ack_frame, rto_frame) as the frame
// column does: with several inputs merged, by their number in their own input.
func (p *producer) analyse(pkt *reader.Packet, b *Batch) {
	decode.Decode(pkt.LinkType, pkt.Data, pkt.WireLen, &p.rec)
	b.An = append(b.An, analysis.Result{})
	res := &b.An[len(b.An)-1]
	var c decode.Conn
	frame := pkt.Number
	if p.origin != nil {
		frame = p.origin.LastNumber()
	}
	if !p.an.Packet(frame, pkt.Timestamp, pkt.WireLen, &p.rec, &c, res) {
		*res = analysis.Result{}
	}
	if !Exportable(&p.rec) || (p.match != nil && !p.match(pkt)) {
		b.An = b.An[:len(b.An)-1]
		return
	}
	b.Add(pkt, &p.rec, &c, p.options)
	p.setOrigin(b)
	p.rows++
}
