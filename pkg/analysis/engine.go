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

// ConnTableOptions bound the connection tracking of an Engine that keeps the
// connection table (pcaptk conns, info's connection states): a tracked
// connection costs about 1.35 KB there (the tracker's entry, the analyzer's
// state and the table's accumulator), so decode's default of 262,144 would
// take 350 MB. At 65,536 the tables stay under 90 MB. Past it the least
// recently active connection is forgotten (its row written) to make room, and
// a later packet of it starts a new stream: stream numbers then differ from
// those of a command tracking more at once (export), which
// decode.ConnTracker.Stats().Evicted tells.
var ConnTableOptions = func() decode.ConnOptions {
	o := decode.DefaultConnOptions
	o.MaxConns = 1 << 16
	return o
}()

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
	e.ct.OnForget(e.Forget)
	return e
}

// Forget releases the state of the connection the tracker forgot in slot (and
// emits its row): the tracker's hook. It is the analyzer's part (Analyzer's
// Forget) and the table's (ForgetConn); see Analyze for running the parts in
// goroutines of their own.
func (e *Engine) Forget(slot int32, stream uint64, why decode.ForgetReason) {
	e.an.Forget(slot)
	e.ForgetConn(slot, stream, why)
}

// ForgetConn is the connection table's part of Forget: the row of the
// connection in slot is emitted and the slot freed.
func (e *Engine) ForgetConn(slot int32, stream uint64, why decode.ForgetReason) {
	if e.conns != nil {
		e.conns.Forget(slot, stream, why)
	}
}

// ConnRow is ForgetConn in two steps: it fills row with the row ForgetConn
// would emit for slot and reports whether there is one, changing nothing
// (calls for different slots may run at once); FreeConn then frees the slot.
func (e *Engine) ConnRow(slot int32, stream uint64, why decode.ForgetReason, row *ConnRow) bool {
	return e.conns != nil && e.conns.RowOf(slot, stream, why, row)
}

// FreeConn frees slot of the connection table without emitting its row; calls
// for different slots may run at once.
func (e *Engine) FreeConn(slot int32) {
	if e.conns != nil {
		e.conns.Free(slot)
	}
}

// Packet tracks and analyses one packet decoded into rec, frame its number in
// the capture, ts its time (ns) and wireLen its length on the wire. It fills c
// with the connection columns and res with the analysis and reports whether the
// packet has a complete TCP header (when false, c and res are not touched). It
// allocates nothing once the tables have grown.
func (e *Engine) Packet(frame uint64, ts int64, wireLen uint32, rec *decode.Record, c *decode.Conn, res *Result) bool {
	if !e.ct.TrackTo(rec, ts, c) {
		return false
	}
	e.Analyze(frame, ts, wireLen, rec, c, res)
	return true
}

// Analyze is what Packet does after tracking: the packet analysis
// (Analyzer().Packet) and the connection's accounting (Account), for a packet
// c = Tracker().Track(rec, ts) with a complete TCP header.
//
// The three steps may run in goroutines of their own, a packet going from one
// to the next in order (pcaptk conns tracks and analyses in one, accounts in
// another): the tracker's forget hook is then replaced by one that calls
// Analyzer().Forget at once and hands the forgotten connection on to
// ForgetConn, in its place among the packets.
func (e *Engine) Analyze(frame uint64, ts int64, wireLen uint32, rec *decode.Record, c *decode.Conn, res *Result) {
	e.an.Packet(frame, ts, rec, c, res)
	e.Account(ts, wireLen, rec, c, res)
}

// Account adds a packet, analysed into res, to its connection's row.
func (e *Engine) Account(ts int64, wireLen uint32, rec *decode.Record, c *decode.Conn, res *Result) {
	if e.conns != nil {
		acc := e.conns.Acc(c)
		acc.Packet(rec, c, ts, wireLen)
		acc.An.add(c.Dir&1, res)
	}
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
	if rtt, ok := r.KarnRTTSample(); ok {
		a.AddRTT(rtt)
	}
}
