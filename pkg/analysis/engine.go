package analysis

import "github.com/pcaptk/pcaptk/pkg/decode"

// Engine is the whole analysis of a capture in one pass, as every command that
// uses it runs it (export --analysis, filter --analysis, read --analysis,
// conns): connection tracking (decode.ConnTracker), the packet analyzer and,
// when asked for, the connection table fed by the analyzer's own results, so
// that a connection's counts equal the flags of its packets.
//
//	e := analysis.NewEngine(analysis.EngineOptions{Rows: func(r *analysis.ConnRow) { ... }})
//	for each packet p, decoded into rec:
//		if e.Packet(p.Number, p.Timestamp, p.WireLen, &rec, &c, &res) {
//			// c: the connection columns, res: the packet's analysis
//		}
//	e.Close() // the input ended: rows of the connections still open
type Engine struct {
	ct    *decode.ConnTracker
	an    *Analyzer
	conns *Conns
}

// EngineOptions configure an Engine.
type EngineOptions struct {
	Conn     decode.ConnOptions // zero: decode.DefaultConnOptions
	Analyzer Options            // zero: DefaultOptions
	// Rows, when set, receives each connection's row as its connection is
	// forgotten (closed and quiet, idle, evicted, replaced, or at Close). The
	// row is reused after the call.
	Rows func(*ConnRow)
}

// NewEngine returns an engine.
func NewEngine(o EngineOptions) *Engine {
	if o.Conn == (decode.ConnOptions{}) {
		o.Conn = decode.DefaultConnOptions
	}
	if o.Analyzer == (Options{}) {
		o.Analyzer = DefaultOptions
	}
	e := &Engine{ct: decode.NewConnTracker(o.Conn), an: New(o.Analyzer)}
	if o.Rows != nil {
		e.conns = NewConns(o.Rows)
	}
	e.ct.OnForget(func(slot int32, stream uint64, why decode.ForgetReason) {
		e.an.Forget(slot)
		if e.conns != nil {
			e.conns.Forget(slot, stream, why)
		}
	})
	return e
}

// Packet tracks and analyses one packet decoded into rec, frame its number in
// the capture, ts its time (ns) and wireLen its length on the wire. It fills c
// with the connection columns and res with the analysis and reports whether the
// packet has a complete TCP header (when false, c and res are not touched). It
// allocates nothing once the tables have grown.
func (e *Engine) Packet(frame uint64, ts int64, wireLen uint32, rec *decode.Record, c *decode.Conn, res *Result) bool {
	var ok bool
	*c, ok = e.ct.Track(rec, ts)
	if !ok {
		return false
	}
	e.an.Packet(frame, ts, rec, c, res)
	if e.conns != nil {
		acc := e.conns.Acc(c)
		acc.Packet(rec, c, ts, wireLen)
		acc.An.add(c.Dir&1, res)
	}
	return true
}

// Close ends the input: the connections still tracked are forgotten, their rows
// emitted (close = "open", or how they ended).
func (e *Engine) Close() { e.ct.Close() }

// Tracker returns the engine's connection tracker (for its statistics).
func (e *Engine) Tracker() *decode.ConnTracker { return e.ct }

// Analyzer returns the engine's packet analyzer (for its statistics).
func (e *Engine) Analyzer() *Analyzer { return e.an }

// add sums one packet's analysis into the connection's counts, d being the
// packet's tracker direction.
func (a *ConnAnalysis) add(d uint8, r *Result) {
	if r.Flags&AnyRetransmission != 0 {
		a.RetransPkts[d]++
		a.RetransBytes[d] += uint64(r.RetransmittedBytes())
	}
	if r.Flags&OutOfOrder != 0 {
		a.OutOfOrder++
	}
	if r.Flags&DupAck != 0 {
		a.DupAcks++
	}
	if r.Flags&ZeroWindow != 0 {
		a.ZeroWindows++
	}
	if r.Flags&LostSegment != 0 {
		a.LostSegments++
	}
	if r.Present&HasBytesInFlight != 0 && r.BytesInFlight > a.MaxInFlight[d] {
		a.MaxInFlight[d] = r.BytesInFlight
	}
	if rtt, ok := r.RTTSample(); ok {
		a.AddRTT(rtt)
	}
}
