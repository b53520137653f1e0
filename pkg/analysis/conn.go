// Per-connection accounting: one row per TCP connection (SCHEMA.md's connection
// table), as pcaptk conns writes it.
//
// A ConnAcc is a plain value (no pointers) holding everything one connection
// needs; a Conns keeps a table of them indexed by decode.Conn.Slot, so the
// connection tracking is decode.ConnTracker's and nothing is tracked twice. The
// caller feeds every TCP packet after ConnTracker.Track:
//
//	tr := decode.NewConnTracker(decode.DefaultConnOptions)
//	conns := analysis.NewConns(func(r *analysis.ConnRow) { write(r) })
//	tr.OnForget(conns.Forget)
//	for each packet p (decoded into rec):
//		if c, ok := tr.Track(&rec, p.Timestamp); ok {
//			conns.Packet(&rec, &c, p.Timestamp, p.WireLen)
//		}
//	tr.Close() // the connections still open are emitted, close = "open"
//
// A row is emitted when the tracker forgets its connection (closed and quiet,
// idle, evicted, replaced by a reused port, or the end of the input), so memory
// is bounded by the connections open at once and rows stream out. The row passed
// to the callback is reused: copy what must outlive the call.
//
// The columns follow three references. Zeek's conn.log for conn_state, history,
// orig/resp_bytes (from sequence numbers), missed_bytes and the direction
// (zeek.go reproduces Zeek's TCP state machine); tcptrace for the unique bytes
// each way; tshark for the stream number and the handshake's round-trip times.
// Packet and IP byte counts are over every packet of the stream, so that they
// equal the count of the stream's rows in pcaptk export. docs/conns.md defines
// every column and says where pcaptk differs from each tool.

package analysis

import (
	"github.com/pcaptk/pcaptk/pkg/decode"
)

// ConnState is Zeek's conn_state.
type ConnState uint8

const (
	StateOTH    ConnState = iota // no SYN seen, mid-stream traffic
	StateS0                      // SYN seen, no reply
	StateS1                      // established, not closed
	StateSF                      // established and closed normally
	StateREJ                     // connection attempt rejected
	StateS2                      // established, originator closed, no reply
	StateS3                      // established, responder closed, no reply
	StateRSTO                    // established, originator aborted
	StateRSTR                    // responder sent a RST
	StateRSTOS0                  // originator sent a SYN then a RST, no SYN-ACK
	StateRSTRH                   // responder sent a SYN-ACK (or a RST) then a RST, no SYN
	StateSH                      // originator sent a SYN then a FIN, no SYN-ACK
	StateSHR                     // responder sent a SYN-ACK then a FIN, no SYN
)

var connStateNames = [...]string{"OTH", "S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR"}

func (s ConnState) String() string {
	if int(s) < len(connStateNames) {
		return connStateNames[s]
	}
	return "OTH"
}

// Close says how a connection ended (SCHEMA.md's close column).
type Close uint8

const (
	CloseOpen Close = iota // still open at the end of the input
	CloseFIN               // FIN seen both ways (before any RST)
	CloseRST               // a RST seen (before FINs both ways)
	CloseIdle              // stopped without FIN or RST and forgotten before the input ended
)

var closeNames = [...]string{"open", "fin", "rst", "idle"}

func (c Close) String() string {
	if int(c) < len(closeNames) {
		return closeNames[c]
	}
	return "open"
}

// ConnRow is one row of the connection table. Addresses are 16 bytes with IPv4
// in the first four (as in decode.Record); Has* fields mark the nullable
// columns. Durations and times are nanoseconds.
type ConnRow struct {
	Stream      uint64
	CommunityID CommunityID
	IPVersion   uint8
	OrigIP      [16]byte
	RespIP      [16]byte
	OrigPort    uint16
	RespPort    uint16
	FirstTS     int64
	LastTS      int64
	Duration    int64

	OrigPkts, RespPkts               uint64
	OrigIPBytes, RespIPBytes         uint64
	OrigBytes, RespBytes             uint64 // from sequence numbers, as Zeek
	OrigUniqueBytes, RespUniqueBytes uint64 // as tcptrace
	MissedBytes                      uint64
	// Frame bytes each way (captured frames' wire lengths, as tshark's
	// conversation table counts them); not a SCHEMA column.
	OrigFrameBytes, RespFrameBytes uint64

	ConnState  ConnState
	History    [histMaxSize]byte
	HistoryLen uint8
	Close      Close

	SawSYN, SawSYNACK bool
	SynRTT            int64 // SYN → SYN-ACK
	AckRTTHS          int64 // SYN-ACK → ACK
	IRTT              int64 // SYN → ACK
	HasSynRTT         bool
	HasAckRTTHS       bool
	HasIRTT           bool

	// Columns summed from the packet analyzer's per-packet results (see
	// ConnAnalysis); zero until that analyzer feeds them.
	RTTSamples                         uint32
	RTTMin, RTTP50, RTTP99, RTTMax     int64
	HasRTT                             bool
	OrigRetransPkts, RespRetransPkts   uint32
	OrigRetransBytes, RespRetransBytes uint64
	OutOfOrder, DupAcks                uint32
	ZeroWindows, LostSegments          uint32
	OrigMaxInFlight, RespMaxInFlight   uint32

	OrigMSS, RespMSS       uint16
	HasOrigMSS, HasRespMSS bool
	OrigWScale, RespWScale uint8
	HasOrigWScale          bool
	HasRespWScale          bool
	SACKOK, TSOK           bool

	zeekLast int64 // Zeek's last_time, for comparing durations with conn.log
}

// HistoryString returns the history letters.
func (r *ConnRow) HistoryString() string { return string(r.History[:r.HistoryLen]) }

// ConnAnalysis holds the sums of the packet analyzer's results for one
// connection, by tracker direction (decode.Conn.Dir). The Engine adds to them
// packet by packet; Row maps them to originator and responder and computes the
// RTT percentiles from a bounded sketch (rttSketch).
type ConnAnalysis struct {
	RetransPkts  [2]uint32 // retransmission, fast or spurious retransmission
	RetransBytes [2]uint64 // their payload
	MaxInFlight  [2]uint32 // largest bytes_in_flight
	OutOfOrder   uint32
	DupAcks      uint32
	ZeroWindows  uint32
	LostSegments uint32
	RTTSamples   uint32
	RTTMin       int64
	RTTMax       int64
	rtt          rttSketch
}

// AddRTT counts one ack_rtt sample.
func (a *ConnAnalysis) AddRTT(ns int64) {
	if a.RTTSamples == 0 || ns < a.RTTMin {
		a.RTTMin = ns
	}
	if a.RTTSamples == 0 || ns > a.RTTMax {
		a.RTTMax = ns
	}
	a.rtt.add(ns, a.RTTSamples)
	a.RTTSamples++
}

// ConnAcc accumulates one connection. The zero value is ready for the
// connection's first packet; it holds no pointers, so a table of them is reset
// by assigning the zero value and costs no allocation per packet.
type ConnAcc struct {
	z          zconn
	An         ConnAnalysis
	started    bool
	closedBy   Close // CloseFIN or CloseRST once the connection closed
	fin        [2]bool
	ipVersion  uint8
	addr       [2][16]byte // source and destination of the first packet
	port       [2]uint16
	first      int64
	last       int64
	pkts       [2]uint64 // by tracker direction
	ipBytes    [2]uint64
	frameBytes [2]uint64
	tt         [2]ttDir
	hs         hsTimes
}

// hsTimes remembers the SYN and SYN-ACK of each direction.
type hsTimes struct {
	syn, synAck       [2]bool
	synTS, synAckTS   [2]int64 // the most recent of each
	opts              [2]bool  // options learnt from a SYN of that direction
	mss               [2]uint16
	hasMSS, hasWScale [2]bool
	wscale            [2]uint8
	sackOK, tsOK      [2]bool
	lastSYN           int64 // the latest SYN either way, for irtt
	anySYN            bool
	synRTT, ackRTT    int64
	irtt              int64
	hasSynRTT         bool
	hasAckRTT         bool
	hasIRTT           bool
}

// ttDir is tcptrace's view of one direction: the sequence space covered so
// far, for its "unique bytes sent".
type ttDir struct {
	cover   spans
	hi      uint64 // highest sequence number seen, unwrapped (0: none yet)
	unique  uint64
	sent    bool  // a segment was seen in this direction
	syns    uint8 // SYN and FIN segments seen, saturating
	fins    uint8
	winZero bool // the last non-RST segment advertised no window (or had no ACK)
}

// unwrap places a 32-bit sequence number in the direction's 64-bit space, next
// to the highest number seen; the space starts at 1<<32 so that numbers a little
// below the first one stay positive.
func (t *ttDir) unwrap(seq uint32) uint64 {
	if t.hi == 0 {
		t.hi = 1<<32 | uint64(seq)
		return t.hi
	}
	return t.hi + uint64(int64(int32(seq-uint32(t.hi))))
}

// Packet adds one TCP packet of the connection: rec as decoded, c as
// ConnTracker.Track returned it for rec, ts its capture time (ns) and wireLen
// its length on the wire. It allocates nothing.
func (a *ConnAcc) Packet(rec *decode.Record, c *decode.Conn, ts int64, wireLen uint32) {
	d := c.Dir & 1
	a.see(rec, d, ts)
	if rec.DataOff < 20 || int(rec.DataOff) > rec.L4Len {
		// An impossible header length: nothing of the segment is believed.
		return
	}
	if rec.Truncated == decode.LayerOptions {
		// A header cut short by the capture: Zeek drops the segment and
		// tshark's conversation table does not count it, nor does this;
		// its flags still time the handshake (as in tshark) and close the
		// connection (as in the tracker).
		a.handshake(d, rec, ts, false)
		a.closing(d, rec.Flags)
		return
	}
	a.pkts[d]++
	a.ipBytes[d] += uint64(ipLen(rec))
	a.frameBytes[d] += uint64(wireLen)
	var p zpkt
	p.dir, p.flags, p.seq, p.ack, p.win = d, rec.Flags, rec.Seq, rec.Ack, rec.Window
	p.len, p.capLen, p.ts = rec.PayloadLen, rec.PayloadCap, ts
	a.z.packet(&p)
	a.tcptrace(d, rec)
	a.handshake(d, rec, ts, true)
	a.closing(d, rec.Flags)
}

// Corrupt records a packet whose checksum is wrong, as Zeek does when it
// verifies checksums: the history gains a (logarithmic) 'C' and nothing else of
// the packet counts.
func (a *ConnAcc) Corrupt(rec *decode.Record, c *decode.Conn, ts int64) {
	d := c.Dir & 1
	a.see(rec, d, ts)
	a.z.corrupt(d)
}

func (a *ConnAcc) see(rec *decode.Record, d uint8, ts int64) {
	if !a.started {
		a.started = true
		a.ipVersion = rec.IPVersion
		a.addr[d], a.addr[d^1] = rec.SrcIP, rec.DstIP
		a.port[d], a.port[d^1] = rec.SrcPort, rec.DstPort
		a.first, a.last = ts, ts
		a.z.begin(d, rec.Flags, rec.SrcPort, rec.DstPort)
	}
	a.last = max(a.last, ts)
}

// ipLen is the datagram's length as its header gives it (Zeek's *_ip_bytes);
// for an IPv4 total length of zero (segmentation offload) the length the decoder
// took from the frame.
func ipLen(rec *decode.Record) int {
	if rec.IPLen > 0 {
		return rec.IPLen
	}
	return rec.IPHdrLen + rec.L4Len
}

func (a *ConnAcc) closing(d uint8, flags uint16) {
	if a.closedBy != CloseOpen {
		return
	}
	if flags&rstFlag != 0 {
		a.closedBy = CloseRST
		return
	}
	if flags&finFlag != 0 {
		a.fin[d] = true
		if a.fin[d^1] {
			a.closedBy = CloseFIN
		}
	}
}

// tcptrace counts the bytes of a segment not sent before (its rexmit() and
// "unique bytes sent"): the SYN and FIN occupy sequence space but are not
// bytes, and a segment sent into a zero window is a probe, not data.
func (a *ConnAcc) tcptrace(d uint8, rec *decode.Record) {
	t, other := &a.tt[d], &a.tt[d^1]
	t.sent = true
	syn, fin := rec.Flags&synFlag != 0, rec.Flags&finFlag != 0
	if syn && t.syns < 255 {
		t.syns++
	}
	if fin && t.fins < 255 {
		t.fins++
	}
	if syn || fin || rec.PayloadLen > 0 {
		n := uint64(rec.PayloadLen)
		if syn {
			n++
		}
		if fin {
			n++
		}
		if !(other.winZero && other.sent) {
			lo := t.unwrap(rec.Seq)
			t.hi = max(t.hi, lo+n)
			overlap, edge := t.cover.add(lo, lo+n)
			// tcptrace's arithmetic, in signed integers as it does it: a
			// repeated SYN or FIN is taken off the repeat count even when it
			// repeated nothing.
			repeat, data := int64(overlap), int64(n)
			if edge {
				repeat--
			}
			if syn {
				data--
				if t.syns > 1 {
					repeat--
				}
			}
			if fin {
				data--
				if t.fins > 1 {
					repeat--
				}
			}
			if repeat < data {
				t.unique += uint64(data - repeat)
			}
		}
	}
	if rec.Flags&rstFlag == 0 {
		t.winZero = rec.Window == 0 || rec.Flags&(ackFlag|synFlag) == 0
	}
}

// handshake times the handshake. syn_rtt is the first SYN-ACK after a SYN of
// the other side, ack_rtt_hs the first ACK (no SYN, no RST) after a SYN-ACK of
// the other side; irtt is tshark's initial RTT: from the latest SYN to the first
// segment with ACK and without SYN, either way, a time apart from it. The options of the first SYN
// (or SYN-ACK) each way give the MSS, window scale, SACK and timestamps columns,
// unless the capture cut them (opts false).
func (a *ConnAcc) handshake(d uint8, rec *decode.Record, ts int64, opts bool) {
	h := &a.hs
	f := rec.Flags
	if f&synFlag != 0 {
		if opts && !h.opts[d] {
			h.opts[d] = true
			h.mss[d], h.hasMSS[d] = rec.MSS, rec.HasMSS
			h.wscale[d], h.hasWScale[d] = rec.WScale, rec.HasWScale
			h.sackOK[d], h.tsOK[d] = rec.SACKOK, rec.HasTS
		}
		if f&ackFlag == 0 {
			h.syn[d], h.synTS[d] = true, ts
			h.lastSYN, h.anySYN = ts, true
			return
		}
		if !h.hasSynRTT && h.syn[d^1] {
			h.synRTT, h.hasSynRTT = ts-h.synTS[d^1], true
		}
		h.synAck[d], h.synAckTS[d] = true, ts
		return
	}
	if f&ackFlag == 0 {
		return
	}
	// tshark takes a zero interval for "not measured" and tries again.
	if h.anySYN && !h.hasIRTT && ts != h.lastSYN {
		h.irtt, h.hasIRTT = ts-h.lastSYN, true
	}
	if f&rstFlag == 0 && !h.hasAckRTT && h.synAck[d^1] {
		h.ackRTT, h.hasAckRTT = ts-h.synAckTS[d^1], true
	}
}

// Row fills row with the connection's columns, stream being its stream number
// and why the reason the tracker forgot it.
func (a *ConnAcc) Row(stream uint64, why decode.ForgetReason, row *ConnRow) {
	o := a.z.origDir
	r := o ^ 1
	*row = ConnRow{
		Stream:          stream,
		IPVersion:       a.ipVersion,
		OrigIP:          a.addr[o],
		RespIP:          a.addr[r],
		OrigPort:        a.port[o],
		RespPort:        a.port[r],
		FirstTS:         a.first,
		LastTS:          a.last,
		Duration:        a.last - a.first,
		OrigPkts:        a.pkts[o],
		RespPkts:        a.pkts[r],
		OrigIPBytes:     a.ipBytes[o],
		RespIPBytes:     a.ipBytes[r],
		OrigFrameBytes:  a.frameBytes[o],
		RespFrameBytes:  a.frameBytes[r],
		OrigBytes:       a.z.ep[o].size(&a.z.ep[r]),
		RespBytes:       a.z.ep[r].size(&a.z.ep[o]),
		OrigUniqueBytes: a.tt[o].unique,
		RespUniqueBytes: a.tt[r].unique,
		MissedBytes:     a.z.missed,
		ConnState:       a.z.state(),
		History:         a.z.history,
		HistoryLen:      a.z.histLen,
		Close:           a.close(why),

		SawSYN:      a.hs.syn[o],
		SawSYNACK:   a.hs.synAck[r],
		SynRTT:      a.hs.synRTT,
		HasSynRTT:   a.hs.hasSynRTT,
		AckRTTHS:    a.hs.ackRTT,
		HasAckRTTHS: a.hs.hasAckRTT,
		IRTT:        a.hs.irtt,
		HasIRTT:     a.hs.hasIRTT,

		RTTSamples:       a.An.RTTSamples,
		RTTMin:           a.An.RTTMin,
		RTTP50:           a.An.rtt.quantile(0.50, a.An.RTTSamples, a.An.RTTMin, a.An.RTTMax),
		RTTP99:           a.An.rtt.quantile(0.99, a.An.RTTSamples, a.An.RTTMin, a.An.RTTMax),
		RTTMax:           a.An.RTTMax,
		HasRTT:           a.An.RTTSamples > 0,
		OrigRetransPkts:  a.An.RetransPkts[o],
		RespRetransPkts:  a.An.RetransPkts[r],
		OrigRetransBytes: a.An.RetransBytes[o],
		RespRetransBytes: a.An.RetransBytes[r],
		OutOfOrder:       a.An.OutOfOrder,
		DupAcks:          a.An.DupAcks,
		ZeroWindows:      a.An.ZeroWindows,
		LostSegments:     a.An.LostSegments,
		OrigMaxInFlight:  a.An.MaxInFlight[o],
		RespMaxInFlight:  a.An.MaxInFlight[r],

		OrigMSS:       a.hs.mss[o],
		HasOrigMSS:    a.hs.hasMSS[o],
		RespMSS:       a.hs.mss[r],
		HasRespMSS:    a.hs.hasMSS[r],
		OrigWScale:    a.hs.wscale[o],
		HasOrigWScale: a.hs.hasWScale[o],
		RespWScale:    a.hs.wscale[r],
		HasRespWScale: a.hs.hasWScale[r],
		SACKOK:        a.hs.opts[0] && a.hs.opts[1] && a.hs.sackOK[0] && a.hs.sackOK[1],
		TSOK:          a.hs.opts[0] && a.hs.opts[1] && a.hs.tsOK[0] && a.hs.tsOK[1],
	}
	row.zeekLast = a.z.lastTime
	n := 4
	if a.ipVersion == 6 {
		n = 16
	}
	row.CommunityID = CommunityIDv1(0, 6, row.OrigIP[:n], row.RespIP[:n], row.OrigPort, row.RespPort, true)
}

// close maps the tracker's reason to the close column: a connection that closed
// is fin or rst whatever forgot it; one forgotten while open before the end of
// the input (idle timeout, evicted from a full table as the least recently
// active, or replaced by a new connection on the same ports) is idle.
func (a *ConnAcc) close(why decode.ForgetReason) Close {
	switch {
	case a.closedBy != CloseOpen:
		return a.closedBy
	case why == decode.ForgetEnd:
		return CloseOpen
	}
	return CloseIdle
}

// Conns is the table of connection accumulators, indexed by the tracker's slots.
// It grows in pages of connPage accumulators, so that a table of tens of
// thousands (about 1 KB each) is never copied and never held twice while it
// grows.
type Conns struct {
	pages [][]ConnAcc
	row   ConnRow
	emit  func(*ConnRow)
}

const connPageShift = 10
const connPage = 1 << connPageShift

// NewConns returns a table that calls emit with each connection's row when the
// tracker forgets it; install Conns.Forget with decode.ConnTracker.OnForget (or
// call it from the hook there).
func NewConns(emit func(*ConnRow)) *Conns { return &Conns{emit: emit} }

// Acc returns the accumulator of the connection in slot, growing the table when
// the tracker hands out a new slot; the slot is reset when its stream is new.
func (t *Conns) Acc(c *decode.Conn) *ConnAcc {
	i := int(c.Slot)
	for i>>connPageShift >= len(t.pages) {
		t.pages = append(t.pages, make([]ConnAcc, connPage))
	}
	a := &t.pages[i>>connPageShift][i&(connPage-1)]
	if c.New {
		*a = ConnAcc{}
	}
	return a
}

// Packet adds a packet to its connection (see ConnAcc.Packet).
func (t *Conns) Packet(rec *decode.Record, c *decode.Conn, ts int64, wireLen uint32) {
	t.Acc(c).Packet(rec, c, ts, wireLen)
}

// Corrupt records a packet with a wrong checksum (see ConnAcc.Corrupt).
func (t *Conns) Corrupt(rec *decode.Record, c *decode.Conn, ts int64) {
	t.Acc(c).Corrupt(rec, c, ts)
}

// Forget emits the row of the connection in slot and frees the slot; it has the
// signature of decode.ConnTracker.OnForget's hook.
func (t *Conns) Forget(slot int32, stream uint64, why decode.ForgetReason) {
	if t.RowOf(slot, stream, why, &t.row) {
		t.emit(&t.row)
	}
	t.Free(slot)
}

// RowOf fills row with the row Forget would emit for the connection in slot,
// and reports whether it has one (a slot with no packet accounted has none).
// It changes nothing, so calls for different slots may run at once.
func (t *Conns) RowOf(slot int32, stream uint64, why decode.ForgetReason, row *ConnRow) bool {
	if int(slot)>>connPageShift >= len(t.pages) {
		return false
	}
	a := &t.pages[slot>>connPageShift][slot&(connPage-1)]
	if !a.started {
		return false
	}
	a.Row(stream, why, row)
	return true
}

// Free frees slot without a row: Forget after RowOf.
func (t *Conns) Free(slot int32) {
	if int(slot)>>connPageShift < len(t.pages) {
		t.pages[slot>>connPageShift][slot&(connPage-1)] = ConnAcc{}
	}
}
