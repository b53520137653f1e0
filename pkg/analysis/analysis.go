package analysis

import (
	"github.com/pcaptk/pcaptk/pkg/decode"
)

// Options bound an Analyzer.
type Options struct {
	// MaxSegments is the most unacknowledged segments remembered per direction
	// of a connection, as Wireshark's 10,000 (at most 16,384). A segment sent
	// while the direction holds that many is not remembered, as in Wireshark:
	// no later ACK names it in acks_frame or takes an RTT sample from it, it
	// counts in no bytes_in_flight and is never the oldest segment rto is
	// measured from, and a FIN does not move the direction's next sequence
	// number. The other rules do not look at the list.
	MaxSegments int
	// SegmentBudget is the most unacknowledged segments remembered over all
	// connections at once (32 bytes each, held in lists or kept for reuse). Past
	// it, new segments are not remembered, with the consequences above but for
	// the FIN's (Wireshark has no such bound, so its sequence numbers still
	// count).
	SegmentBudget int
}

// DefaultOptions: Wireshark's 10,000 segments per direction, and 1,048,576
// segments (32 MiB) over all connections.
var DefaultOptions = Options{MaxSegments: 10000, SegmentBudget: 1 << 20}

// Stats counts what an Analyzer holds and what its bounds cost.
type Stats struct {
	Conns           int    // connection slots in the table
	Segments        int    // capacity of the segment lists of live connections
	SegmentsHeld    int    // segment capacity allocated, in lists or kept for reuse
	SegmentsDropped uint64 // segments not remembered: a direction's cap or the budget was reached
}

// Per-direction state bits.
const (
	baseSet     uint8 = 1 << iota // base holds the direction's initial sequence number
	validBif                      // bytes in flight may be computed (no hole seen since the last ACK)
	isFirstAck                    // a SYN was seen and no pure ACK since: the window is not scaled yet
	pushSetLast                   // the last data segment had PSH
)

// dir is one direction of a connection: what Wireshark's tcp_flow_t and its
// sequence-analysis record keep, with its zero values meaning "not seen".
type dir struct {
	segs segList // unacknowledged segments

	nextSeq         uint32 // highest sequence number sent so far, plus one (0: none)
	maxSeqToBeAcked uint32 // highest contiguous sequence number sent (0: none)
	lastAck         uint32 // acknowledgment number of the last segment
	window          uint32 // window field of the last segment, unscaled
	base            uint32 // initial sequence number (with baseSet)
	pushBytes       uint32 // bytes sent since the last PSH
	sackBytes       uint32 // bytes covered by the SACK blocks of the last segment

	nextSeqFrame  uint64
	lastNonDupAck uint64 // frame of the last ACK that moved the acknowledgment number
	nextSeqTime   int64
	lastAckTime   int64

	dupAcks   uint32 // duplicate ACKs since lastNonDupAck; afterUnseen after an ACKed unseen segment
	lastFlags Flags  // flags of the last segment
	winScale  int8   // -1 unknown, -2 no scaling, else the shift
	st        uint8
}

// conn is the per-connection state, kept in a table indexed by the
// ConnTracker's slot.
type conn struct {
	d          [2]dir
	tsFirst    int64 // first packet
	tsPrev     int64 // previous packet
	tsMruSyn   int64 // most recent SYN (0: none)
	tsFirstRTT int64 // SYN to the first pure ACK after it (0: not known)
	live       bool
}

// Analyzer computes Wireshark 4.0's TCP analysis packet by packet. It is fed the
// packets of a capture in order, each with the decode.Conn its ConnTracker gave,
// and must be told when the tracker forgets a connection (Forget). It is not
// safe for concurrent use.
type Analyzer struct {
	o       Options
	conns   [][]conn // pages of connPage slots: growing never moves a connection
	nconns  int      // slots in use: the highest slot seen, plus one
	pool    segPool
	dropped uint64
	order   uint64 // segments remembered so far
}

// New returns an Analyzer bounded by o (zero fields take DefaultOptions'
// values).
func New(o Options) *Analyzer {
	if o.MaxSegments <= 0 {
		o.MaxSegments = DefaultOptions.MaxSegments
	}
	o.MaxSegments = min(o.MaxSegments, maxClassCap)
	if o.SegmentBudget <= 0 {
		o.SegmentBudget = DefaultOptions.SegmentBudget
	}
	return &Analyzer{o: o, pool: segPool{budget: o.SegmentBudget}}
}

// Stats returns what the analyzer holds now.
func (a *Analyzer) Stats() Stats {
	return Stats{
		Conns:           a.nconns,
		Segments:        a.pool.inUse,
		SegmentsHeld:    a.pool.held,
		SegmentsDropped: a.dropped,
	}
}

// Forget releases the state of the connection in slot, which its ConnTracker
// has forgotten (call it from the tracker's OnForget hook).
func (a *Analyzer) Forget(slot int32) {
	if slot < 0 || int(slot) >= a.nconns {
		return
	}
	cs := &a.conns[slot>>connPageShift][slot&(connPage-1)]
	for i := range cs.d {
		cs.d[i].segs.release(&a.pool)
	}
	cs.live = false
}

// slot returns the state of slot s, growing the table (which the tracker's
// MaxConns bounds) to hold it. The table grows a page at a time: as one slice
// grown by append, its copies took 3% of conns' CPU on the make-capture.sh
// capture (17,230 connections).
func (a *Analyzer) slot(s int32) *conn {
	for int(s)>>connPageShift >= len(a.conns) {
		a.conns = append(a.conns, make([]conn, connPage))
	}
	a.nconns = max(a.nconns, int(s)+1)
	return &a.conns[s>>connPageShift][s&(connPage-1)]
}

// start resets cs for a new connection whose first packet is at ts, keeping
// the segment slices for reuse.
func (a *Analyzer) start(cs *conn, ts int64) {
	for i := range cs.d {
		segs := cs.d[i].segs
		segs.reset()
		cs.d[i] = dir{segs: segs, window: ^uint32(0), winScale: -1, st: validBif}
	}
	cs.tsFirst, cs.tsPrev, cs.tsMruSyn, cs.tsFirstRTT = ts, ts, 0, 0
	cs.live = true
}

// Sequence-space comparisons, exactly as Wireshark's (two of them are true at
// once when the numbers are 2^31 apart).
func ltSeq(x, y uint32) bool { return int32(x-y) < 0 }
func leSeq(x, y uint32) bool { return int32(x-y) <= 0 }
func gtSeq(x, y uint32) bool { return int32(y-x) < 0 }
func geSeq(x, y uint32) bool { return int32(y-x) <= 0 }

// Packet analyses one TCP packet: frame is its number in the capture, ts its
// time (ns), rec its decoded headers and c what the ConnTracker returned for it
// (call it only when Track returned ok). The result goes to r, which is
// overwritten. Packet allocates nothing once its tables have grown. The steps
// are dissect_tcp's, in its order.
func (a *Analyzer) Packet(frame uint64, ts int64, rec *decode.Record, c *decode.Conn, r *Result) {
	*r = Result{}
	if c.Slot < 0 {
		return
	}
	cs := a.slot(c.Slot)
	if c.New || !cs.live {
		a.start(cs, ts)
	}
	fwd, rev := &cs.d[c.Dir&1], &cs.d[(c.Dir&1)^1]
	// Filled in place: a composite literal is built in a temporary and copied
	// with wider loads than its stores, which then wait for them (see
	// decode.ConnTracker.TrackTo).
	var p pkt
	p.frame, p.ts, p.seq, p.ack, p.flags, p.window = frame, ts, rec.Seq, rec.Ack, rec.Flags, uint32(rec.Window)

	// A SYN with a new initial sequence number started a new stream in the
	// tracker; a SYN-ACK with a new one only moves the base.
	if c.Reused {
		p.set(ReusedPorts)
	}
	if p.flags&(decode.SYN|decode.ACK) == decode.SYN|decode.ACK && fwd.st&baseSet != 0 && p.seq != fwd.base {
		fwd.base = p.seq
		p.set(ReusedPorts)
	}
	fwd.sackBytes = 0
	delta := ts - cs.tsPrev
	cs.tsPrev = ts

	if seglen, ok := segmentLength(rec); ok {
		p.seglen = seglen
		learnBases(fwd, rev, &p)
		a.sequence(cs, fwd, rev, &p)
		r.Seglen, r.Present = seglen, HasSeglen
	}
	if rec.DataOff < 20 {
		// tshark gives up on the header here, after its analysis, printing none.
		*r = Result{}
		return
	}
	r.TimeRelative, r.TimeDelta = ts-cs.tsFirst, delta
	r.Present |= HasTime
	handshake(cs, fwd, &p)

	// Options come after the analysis and change what the next packets see.
	if rec.HasWScale {
		fwd.winScale = int8(min(rec.WScale, 14))
	}
	for i := 0; i < rec.NSACK && i < 3; i++ {
		fwd.sackBytes += rec.SACK[i].Right - rec.SACK[i].Left
	}
	if rec.Truncated == decode.LayerOptions {
		// tshark stops at the missing option bytes, before printing its
		// analysis or checking the window scales.
		return
	}
	if p.ta {
		a.print(cs, &p, r)
	}
	if p.flags&decode.SYN != 0 {
		// Scaling applies only when both SYNs carry the option.
		if fwd.winScale == -1 {
			fwd.winScale, rev.winScale = -2, -2
		} else if p.flags&decode.ACK != 0 && rev.winScale == -2 {
			fwd.winScale = -2
		}
	}
}

// segmentLength is the payload length tshark's analysis uses, and false when
// it has none: for a fragment (tshark analyses the reassembled datagram
// instead) or a header longer than the datagram. A datagram longer than the
// frame on the wire ends with the frame.
func segmentLength(rec *decode.Record) (uint32, bool) {
	l4 := rec.L4Len
	if rec.WireLen > 0 {
		l4 = min(l4, max(rec.WireLen-rec.TransOff, 0))
	}
	if hlen := int(rec.DataOff); rec.IPFlags&1 == 0 && hlen <= l4 {
		return uint32(l4 - hlen), true
	}
	return 0, false
}

// learnBases takes each direction's initial sequence number from its first
// segment (one before it without SYN, as tshark counts the first byte seen as
// 1) or from the first ACK of the other direction.
func learnBases(fwd, rev *dir, p *pkt) {
	if fwd.st&baseSet == 0 {
		fwd.base = p.seq
		if p.flags&decode.SYN == 0 {
			fwd.base--
		}
		fwd.st |= baseSet
	}
	if rev.st&baseSet == 0 && p.flags&decode.ACK != 0 {
		rev.base = p.ack - 1
		rev.st |= baseSet
	}
}

// handshake notes a SYN's time and takes the initial RTT from the first pure
// ACK after it; until a direction's first pure ACK, its window is unscaled.
func handshake(cs *conn, fwd *dir, p *pkt) {
	if p.flags&decode.SYN != 0 {
		if p.flags&decode.ACK == 0 {
			cs.tsMruSyn = p.ts
		}
		fwd.st |= isFirstAck
	}
	if p.flags&(decode.SYN|decode.ACK) == decode.ACK {
		if cs.tsMruSyn != 0 && cs.tsFirstRTT == 0 {
			cs.tsFirstRTT = p.ts - cs.tsMruSyn
		}
		fwd.st &^= isFirstAck
	}
}

// pkt is the packet under analysis and what the analysis found: Wireshark's
// tcp_acked record ("ta"), which exists (ta) once anything was found.
type pkt struct {
	frame          uint64
	ts             int64
	seq, ack       uint32
	seglen, window uint32
	flags          uint16

	ta            bool
	flagsOut      Flags
	dupAckNum     uint32
	dupAckFrame   uint64
	acked         uint64
	ackRTT        int64
	karn          bool // ackRTT passes Karn's rule
	bytesInFlight uint32
	pushBytes     uint32
	rto           int64
	rtoFrame      uint64
}

func (p *pkt) set(f Flags) {
	p.ta = true
	p.flagsOut |= f
}

// print fills r as tshark prints a packet's analysis record.
func (a *Analyzer) print(cs *conn, p *pkt, r *Result) {
	r.Flags = p.flagsOut
	if r.Flags&(FastRetransmission|SpuriousRetransmission) != 0 {
		// tshark's expert info marks these as retransmissions too.
		r.Flags |= Retransmission
	}
	if p.acked != 0 {
		r.AcksFrame = p.acked
		r.Present |= HasAcksFrame
		if p.ackRTT != 0 {
			r.AckRTT = p.ackRTT
			r.Present |= HasAckRTT
			if p.karn {
				r.Present |= KarnRTT
			}
		}
	}
	if cs.tsFirstRTT != 0 {
		r.IRTT = cs.tsFirstRTT
		r.Present |= HasIRTT
	}
	if p.bytesInFlight != 0 {
		r.BytesInFlight, r.PushBytesSent = p.bytesInFlight, p.pushBytes
		r.Present |= HasBytesInFlight
	}
	if p.flagsOut&Retransmission != 0 && p.rto != 0 {
		r.RTO, r.RTOFrame = p.rto, p.rtoFrame
		r.Present |= HasRTO
	}
	if p.dupAckNum != 0 {
		r.DupAckNum, r.DupAckFrame = p.dupAckNum, p.dupAckFrame
		r.Present |= HasDupAck
	}
}

const (
	synFinRst = decode.SYN | decode.FIN | decode.RST
	synFin    = decode.SYN | decode.FIN

	fastRetransWindow = 20e6 // ns after the last duplicate ACK

	// afterUnseen marks a direction whose peer ACKed a segment it never sent:
	// Wireshark stores -1 in an unsigned counter, so it also counts as "at least
	// two duplicate ACKs" for fast retransmissions.
	afterUnseen = ^uint32(0)
	oooDefault  = 3e6 // ns; the out-of-order threshold before the initial RTT is known
)

// sequence is Wireshark's tcp_analyze_sequence_number: the checks in its order,
// then the bookkeeping of the direction, the segments this packet acknowledges
// and the bytes in flight.
func (a *Analyzer) sequence(cs *conn, fwd, rev *dir, p *pkt) {
	seq, ack, seglen, flags, window := p.seq, p.ack, p.seglen, p.flags, p.window
	if flags&decode.ACK != 0 {
		rev.st |= validBif
	}

	if seglen == 1 && seq == fwd.nextSeq && rev.window == 0 {
		// A zero-window probe skips the checks below.
		p.set(ZeroWindowProbe)
	} else {
		a.checks(fwd, rev, p)
	}

	if ack != fwd.lastAck {
		fwd.lastNonDupAck = p.frame
		fwd.dupAcks = 0
	}

	if rev.maxSeqToBeAcked != 0 && gtSeq(ack, rev.maxSeqToBeAcked) && flags&decode.ACK != 0 {
		p.ta = true
		if ltSeq(rev.maxSeqToBeAcked, rev.nextSeq) {
			rev.maxSeqToBeAcked = rev.nextSeq
			p.flagsOut |= AckLostSegment
		} else {
			if rev.dupAcks == 0 {
				p.flagsOut |= AckLostSegment
			}
			rev.dupAcks = afterUnseen
		}
	}

	if seglen > 0 || flags&synFin != 0 {
		a.retransmission(cs, fwd, rev, p)
	}

	// SYN and FIN count as one sequence number, but Wireshark adds it only
	// when it remembers the segment: past the cap a FIN does not move nextseq.
	nextSeq := seq + seglen
	synFinAdd := uint32(0)
	if flags&synFin != 0 {
		synFinAdd = 1
	}
	if seglen > 0 || synFinAdd != 0 {
		if fwd.segs.len() < a.o.MaxSegments {
			nextSeq += synFinAdd
			a.order++
			o := segOrder(a.order, p.flagsOut&AnyRetransmission != 0)
			var sg segment
			sg.seq, sg.next, sg.frame, sg.ts, sg.order = seq, nextSeq, p.frame, p.ts, o
			if !fwd.segs.add(&a.pool, &sg) {
				a.dropped++
			}
		} else {
			a.dropped++
		}
	}
	zwp := p.flagsOut&ZeroWindowProbe != 0
	if (fwd.nextSeq == 0 || gtSeq(nextSeq, fwd.nextSeq)) && !zwp {
		fwd.nextSeq, fwd.nextSeqFrame, fwd.nextSeqTime = nextSeq, p.frame, p.ts
	}
	if (fwd.maxSeqToBeAcked == 0 || seq == fwd.maxSeqToBeAcked) && !zwp {
		fwd.maxSeqToBeAcked = fwd.nextSeq
	}

	fwd.window, fwd.lastAck, fwd.lastAckTime = window, ack, p.ts
	fwd.lastFlags = 0
	if p.ta {
		fwd.lastFlags = p.flagsOut
	}

	var s segment
	if ok, rexmit := rev.segs.acknowledge(p.ack, &s); ok {
		p.ta, p.acked, p.ackRTT = true, s.frame, p.ts-s.ts
		p.karn = !rexmit
	}
	a.inFlight(fwd, rev, p)
}

// checks are the flags tested before the acknowledgment bookkeeping, in
// Wireshark's order; a keep-alive ACK or zero-window-probe ACK ends them.
func (a *Analyzer) checks(fwd, rev *dir, p *pkt) {
	seq, ack, seglen, flags, window := p.seq, p.ack, p.seglen, p.flags, p.window
	plain := flags&synFinRst == 0
	if window == 0 && plain {
		p.set(ZeroWindow)
	}
	if fwd.nextSeq != 0 && gtSeq(seq, fwd.nextSeq) && flags&decode.RST == 0 {
		p.set(LostSegment)
		fwd.st &^= validBif
	}
	if seglen <= 1 && seq == fwd.nextSeq-1 && plain {
		p.set(KeepAlive)
	}
	same := seglen == 0 && seq == fwd.nextSeq && ack == fwd.lastAck && plain
	if same && window != 0 && window != fwd.window {
		p.set(WindowUpdate)
	}
	if seglen > 0 && rev.winScale != -1 && plain {
		shift := uint(0)
		if rev.st&isFirstAck == 0 && rev.winScale >= 0 {
			shift = uint(rev.winScale)
		}
		if seq+seglen == rev.lastAck+rev.window<<shift {
			p.set(WindowFull)
		}
	}
	if !same || window != fwd.window {
		return
	}
	if window != 0 && rev.lastFlags&KeepAlive != 0 {
		p.set(KeepAliveAck)
		return
	}
	if window == 0 && rev.lastFlags&ZeroWindowProbe != 0 {
		p.set(ZeroWindowProbeAck)
		return
	}
	if window != 0 {
		if fwd.dupAcks == afterUnseen {
			fwd.dupAcks = 1
		} else {
			fwd.dupAcks++
		}
		p.set(DupAck)
		p.dupAckNum, p.dupAckFrame = fwd.dupAcks, fwd.lastNonDupAck
	}
}

// retransmission classifies a segment that carries data, SYN or FIN and does
// not advance the sequence number: spurious, fast, out of order or plain.
func (a *Analyzer) retransmission(cs *conn, fwd, rev *dir, p *pkt) {
	seq, seglen, flags := p.seq, p.seglen, p.flags
	if p.flagsOut&KeepAlive != 0 {
		return
	}
	notAdvanced := fwd.nextSeq != 0 && ltSeq(seq, fwd.nextSeq)
	if seglen > 1 && fwd.nextSeq-1 == seq {
		// One byte below nextseq with new data after it: the previous segment
		// was likely a zero-window probe.
		notAdvanced = false
	}
	if seglen > 0 && rev.lastAck != 0 && leSeq(seq+seglen, rev.lastAck) {
		p.set(SpuriousRetransmission)
		return
	}
	if notAdvanced && rev.dupAcks >= 2 && rev.lastAck == seq && uint64(p.ts-rev.lastAckTime) < fastRetransWindow {
		p.set(FastRetransmission)
		return
	}
	thres := uint64(oooDefault)
	if cs.tsFirstRTT != 0 {
		thres = uint64(cs.tsFirstRTT)
	}
	if notAdvanced && uint64(p.ts-fwd.nextSeqTime) < thres {
		synFinAdd := uint32(0)
		if flags&synFin != 0 {
			synFinAdd = 1
		}
		if fwd.nextSeq != seq+seglen+synFinAdd {
			p.set(OutOfOrder)
			return
		}
	}
	if !notAdvanced {
		return
	}
	p.set(Retransmission)
	p.rto, p.rtoFrame = p.ts-fwd.nextSeqTime, fwd.nextSeqFrame
	// The oldest unacknowledged segment is taken as the one retransmitted
	// (tshark 4.0 does not look at its sequence number).
	if s, ok := fwd.segs.eldest(); ok {
		p.rto, p.rtoFrame = p.ts-s.ts, s.frame
	}
}

// inFlight computes bytes in flight after a data segment (the span of the
// direction's unacknowledged segments less what the other side SACKed) and the
// bytes pushed since the last PSH.
func (a *Analyzer) inFlight(fwd, rev *dir, p *pkt) {
	if p.seglen == 0 || fwd.segs.len() == 0 || fwd.st&validBif == 0 {
		return
	}
	first, last := fwd.segs.span(fwd.base)
	inFlight := last - first - rev.sackBytes
	p.ta = true
	if inFlight > 0 && inFlight < 2000000000 {
		p.bytesInFlight = inFlight
		if p.flags&synFin != 0 {
			p.bytesInFlight--
		}
	}
	switch set := fwd.st&pushSetLast != 0; {
	case p.flags&decode.PSH != 0 && !set:
		fwd.pushBytes += p.seglen
		fwd.st |= pushSetLast
	case p.flags&decode.PSH != 0:
		fwd.pushBytes = p.seglen
	case set:
		fwd.pushBytes = p.seglen
		fwd.st &^= pushSetLast
	default:
		fwd.pushBytes += p.seglen
	}
	p.pushBytes = fwd.pushBytes
}
