package analysis

import "math"

// Zeek's per-connection TCP model, as its conn.log reports it: the state of each
// endpoint (from which conn_state is derived), the history letters, payload sizes
// from sequence numbers and the content gaps behind missed_bytes. The rules are
// those of Zeek's TCP session adapter, endpoint and reassembler (zeek/zeek
// src/packet_analysis/protocol/tcp, src/analyzer/protocol/tcp), re-expressed over
// a fixed-size value so that a table of connections needs no allocation. Where
// Zeek keeps unbounded state (the reassembler's blocks, the history string) this
// keeps a bounded summary; docs/conns.md says where that can differ.

// zstate is a Zeek TCP endpoint state.
type zstate uint8

const (
	zInactive    zstate = iota // nothing seen from this side
	zSynSent                   // SYN seen, no ACK
	zSynAckSent                // SYN-ACK seen, no initial SYN
	zPartial                   // data seen, but no SYN
	zEstablished               // SYN-ACK seen (or the handshake's ACK)
	zClosed                    // FIN seen
	zReset                     // RST seen
)

// tooLargeSeqDelta is Zeek's bound on a believable sequence jump for SYN and RST
// segments and for an acknowledgment number of zero.
const tooLargeSeqDelta = 1 << 20

// History codes kept once per direction (Zeek's hist_seen bits); the
// responder's are shifted up by 16.
const (
	histSYN     = 0x1
	histFIN     = 0x2
	histRST     = 0x4
	histFINRST  = 0x8
	histData    = 0x10
	histACK     = 0x20
	histMulti   = 0x40
	histMaxSize = 32 // longest history kept; Zeek's is unbounded
)

// Reassembler limits, Zeek's defaults: data buffered above a hole before any of
// it was acknowledged, and data buffered without further acknowledgments, past
// which Zeek stops reassembling (and so stops reporting gaps).
const (
	maxAboveHoleWithoutAcks = 16384
	maxDataWithoutAcks      = 10 << 20
)

// scaled counts an event and says when it reaches 1, 10, 100, … occurrences:
// Zeek's logarithmic history letters (c, g, t, w). The count saturates far
// beyond what a capture can hold.
type scaled uint32

func (s *scaled) hit() bool {
	if *s == math.MaxUint32 {
		return false
	}
	*s++
	for n := *s; ; n /= 10 {
		switch {
		case n == 1:
			return true
		case n%10 != 0:
			return false
		}
	}
}

// zend is one endpoint as Zeek sees it, keyed by tracker direction (the role,
// originator or responder, is the connection's).
type zend struct {
	state, prev zstate
	finSeen     bool // FIN_cnt > 0
	didClose    bool // Zeek reported this side closed (stops last_time)
	didEOF      bool // the reassembler delivered everything after the close
	firstSeen   bool // a packet from this side was processed (partial-status rule)
	start       uint32
	lastSeq     uint32 // one past the highest sequence number sent
	ackSeq      uint32 // highest acknowledgment of this side's data
	seqWraps    uint32
	ackWraps    uint32
	finSeq      uint64 // relative sequence number just past the FIN
	hSYN, hFIN  uint32 // relative sequence numbers (low 32 bits) of the last SYN,
	hRST        uint32 // FIN and RST, for the history's repeat rule
	rxmt, win0  scaled
	gap, chk    scaled
	reasm       reasm
}

func full(seq, wraps uint32) uint64 { return uint64(wraps)<<32 + uint64(seq) }

func (e *zend) set(s zstate) {
	if s != e.state {
		e.prev, e.state = e.state, s
	}
}

func (e *zend) initSeqs(start, last uint32) {
	e.start, e.ackSeq, e.lastSeq = start, start, last
}

func (e *zend) updateLastSeq(seq uint32) {
	if seq < e.lastSeq {
		e.seqWraps++
	}
	e.lastSeq = seq
}

func (e *zend) updateAckSeq(seq uint32) {
	if seq < e.ackSeq {
		e.ackWraps++
	}
	e.ackSeq = seq
}

// noDataAcked: none of this side's data was acknowledged (one octet, the SYN's,
// is allowed).
func (e *zend) noDataAcked() bool {
	ack, start := full(e.ackSeq, e.ackWraps), uint64(e.start)
	return ack == start || ack == start+1
}

func (e *zend) relAck() uint64 { return full(e.ackSeq, e.ackWraps) - uint64(e.start) }

// relSeq expresses seq relative to the endpoint's start, counting wraps from the
// reference point last (Zeek's get_relative_seq). underflow reports a sequence
// number before the start.
func (e *zend) relSeq(seq, last, wraps uint32) (rel uint64, underflow bool) {
	switch d := int32(seq - last); {
	case d < 0:
		if wraps > 0 && seq > last {
			wraps--
		}
	case d > 0:
		if seq < last {
			wraps++
		}
	}
	if wraps == 0 {
		d := int32(seq - e.start)
		return uint64(int64(d)), d < 0
	}
	return full(seq, wraps) - uint64(e.start), false
}

// size is the payload this side sent according to its sequence numbers
// (Zeek's TCP_Endpoint::Size, conn.log's orig_bytes/resp_bytes).
func (e *zend) size(peer *zend) uint64 {
	if e.prev == zSynSent && e.state == zReset && peer.state == zInactive && !e.noDataAcked() {
		return 0 // a half-open connection discovered and aborted
	}
	last, ack := full(e.lastSeq, e.seqWraps), full(e.ackSeq, e.ackWraps)
	n := ack - uint64(e.start)
	if last > ack {
		n = last - uint64(e.start)
	}
	if n != 0 {
		n-- // the SYN's octet (assumed for partial connections too)
	}
	if e.finSeen && n != 0 {
		n-- // the FIN's octet
	}
	return n
}

func isClean(e *zend) bool {
	return e.state == zEstablished || (e.state == zClosed && e.prev == zEstablished)
}

// zconn is a connection as Zeek models it.
type zconn struct {
	ep         [2]zend // by tracker direction
	origDir    uint8   // the tracker direction of Zeek's originator
	started    bool
	partial    bool // Zeek's is_partial: a side's first packet was not a plain SYN
	deferClose bool // a close waits for the reassembler to deliver pending data
	histSeen   uint32
	histLen    uint8
	history    [histMaxSize]byte
	missed     uint64
	lastTime   int64 // Zeek's last_time: not moved by packets after both sides closed
}

// zpkt is what the model needs of one packet.
type zpkt struct {
	dir      uint8
	flags    uint16
	seq, ack uint32
	win      uint16
	len      int // payload length the IP header implies
	capLen   int // payload bytes captured
	ts       int64
}

func (z *zconn) isOrig(dir uint8) bool { return dir == z.origDir }

func (z *zconn) addHistory(c byte) {
	if int(z.histLen) < len(z.history) {
		z.history[z.histLen] = c
		z.histLen++
	}
}

// letter gives code in the case of the role of the side in direction dir.
func (z *zconn) letter(dir uint8, code byte) byte {
	if z.isOrig(dir) {
		return code
	}
	return code + ('a' - 'A')
}

// checkHistory adds the letter the first time its code is seen from that side
// and reports whether it had been seen before.
func (z *zconn) checkHistory(dir uint8, mask uint32, code byte) bool {
	mask <<= 16 * uint32(dir)
	if z.histSeen&mask != 0 {
		return true
	}
	z.histSeen |= mask
	z.addHistory(z.letter(dir, code))
	return false
}

func (z *zconn) scaledHistory(dir uint8, s *scaled, code byte) {
	if s.hit() {
		z.addHistory(z.letter(dir, code))
	}
}

// flip swaps the roles: the history so far changes case and starts with '^'
// (Zeek 8 rewrites the history so a flip on the second packet reads as one at
// the first).
func (z *zconn) flip() {
	z.origDir ^= 1
	z.partial = false
	n := z.histLen
	if int(n) == len(z.history) {
		n--
	}
	copy(z.history[1:n+1], z.history[:n])
	for i := 1; i <= int(n); i++ {
		switch c := z.history[i]; {
		case c >= 'a' && c <= 'z':
			z.history[i] = c - ('a' - 'A')
		case c >= 'A' && c <= 'Z':
			z.history[i] = c + ('a' - 'A')
		}
	}
	z.history[0] = '^'
	z.histLen = n + 1
}

// begin sets up the connection at its first packet, flipping the roles the way
// Zeek does when that packet is not a plain SYN and comes from a likely server
// port.
func (z *zconn) begin(dir uint8, flags uint16, sport, dport uint16) {
	z.started = true
	z.origDir = dir
	if flags&synFlag != 0 && flags&ackFlag == 0 {
		return
	}
	if LikelyServerPort(sport) {
		if !LikelyServerPort(dport) || (flags&synFlag == 0 && sport < dport) {
			z.flip()
		}
	}
}

// corrupt records a packet Zeek drops for its checksum.
func (z *zconn) corrupt(dir uint8) {
	z.scaledHistory(dir, &z.ep[dir].chk, 'C')
}

const (
	finFlag = 0x01
	synFlag = 0x02
	rstFlag = 0x04
	ackFlag = 0x10
)

// packet runs one packet through Zeek's TCP session adapter.
func (z *zconn) packet(p *zpkt) {
	// A connection that began with a SYN-ACK is turned around at the first ACK
	// or data segment after it, in either direction (Zeek PR 2191), as if it
	// had been flipped at its first packet.
	o, r := &z.ep[z.origDir], &z.ep[z.origDir^1]
	if o.state == zSynAckSent && r.state == zInactive && p.flags&(synFlag|rstFlag) == 0 && (p.flags&ackFlag != 0 || p.len > 0) {
		z.flip()
		o.set(zEstablished)
	}

	d := p.dir
	e, peer := &z.ep[d], &z.ep[d^1]
	orig := z.isOrig(d)
	syn, fin, rst, ack := p.flags&synFlag != 0, p.flags&finFlag != 0, p.flags&rstFlag != 0, p.flags&ackFlag != 0

	// Zeek's is_partial: the first packet of each side decides it.
	if orig {
		if !e.firstSeen {
			z.partial = !syn || ack
		}
	} else if !e.firstSeen && !z.partial {
		z.partial = !syn
	}

	segLen := p.len
	if syn {
		segLen++
	}
	if fin {
		segLen++
	}
	if rst {
		segLen -= p.len // a RST's data is not part of the stream
	}
	onePast := p.seq + uint32(segLen)
	z.initEndpoint(e, syn, p.seq, onePast)

	relSeq, underflow := e.relSeq(p.seq, e.lastSeq, e.seqWraps)
	z.updateHistory(d, e, p, relSeq)
	if p.win == 0 && !rst && peer.state != zClosed && e.state != zReset {
		z.scaledHistory(d, &e.win0, 'W')
	}
	if !z.ep[0].didClose || !z.ep[1].didClose {
		z.lastTime = p.ts
	}
	if fin {
		e.finSeen = true
		e.finSeq = relSeq + uint64(segLen)
	}

	var relAck uint64
	if ack {
		if peer.state == zInactive {
			relAck = 1
			peer.initSeqs(p.ack-1, p.ack-1)
		} else {
			var under bool
			relAck, under = peer.relSeq(p.ack, peer.ackSeq, peer.ackWraps)
			if under {
				relAck = 0
			} else if !rst { // acknowledgments in a RST are not trusted
				if delta := int32(p.ack - peer.ackSeq); !(p.ack == 0 && delta > tooLargeSeqDelta) && delta > 0 {
					peer.updateAckSeq(p.ack)
				}
			}
		}
	}

	z.updateLastSeq(d, e, onePast, syn, fin, rst, p.len)
	doClose := z.stateMachine(e, peer, p, orig)

	if ack {
		z.ackReceived(d^1, relAck)
	}
	e.firstSeen = true

	dataSeq := relSeq
	if syn {
		dataSeq++
	}
	if p.len > 0 && !rst && !underflow && p.capLen >= p.len {
		z.dataSent(d, dataSeq, uint64(p.len))
	}
	z.checkEOF(d)
	if doClose {
		z.closed(d)
	}
}

func (z *zconn) initEndpoint(e *zend, syn bool, seq, onePast uint32) {
	switch e.state {
	case zInactive:
		if syn {
			e.initSeqs(seq, onePast)
		} else {
			// Picked up mid-stream: number as if a SYN came just before.
			e.initSeqs(seq-1, seq)
		}
	case zSynSent, zSynAckSent:
		if syn && seq != e.start {
			e.initSeqs(seq, onePast)
		}
	case zEstablished, zPartial:
		// Zeek takes any SYN here as the one that really opens the
		// connection. One repeated with another initial sequence number
		// after the peer acknowledged this side's first SYN is not believed:
		// the peer's later acknowledgments, numbered from the first, would
		// otherwise count gigabytes never sent (Zeek issue 3313).
		if syn && (seq == e.start || full(e.ackSeq, e.ackWraps) == uint64(e.start)) {
			e.initSeqs(seq, onePast)
		}
	case zReset:
		if syn && e.prev == zInactive {
			// Numbers learnt from a RST may have been forged: trust the SYN.
			e.initSeqs(seq, onePast)
		}
	}
}

func (z *zconn) updateHistory(d uint8, e *zend, p *zpkt, relSeq uint64) {
	syn, fin, rst := p.flags&synFlag != 0, p.flags&finFlag != 0, p.flags&rstFlag != 0
	n := 0
	for _, b := range [3]bool{syn, fin, rst} {
		if b {
			n++
		}
	}
	switch {
	case n > 1:
		if fin && rst {
			z.checkHistory(d, histFINRST, 'I')
		} else {
			z.checkHistory(d, histMulti, 'Q')
		}
	case syn:
		code := byte('S')
		if p.flags&ackFlag != 0 {
			code = 'H'
		}
		if z.checkHistory(d, histSYN, code) && uint32(relSeq) != e.hSYN {
			z.addHistory(z.letter(d, code))
		}
		e.hSYN = uint32(relSeq)
	case fin:
		// A FIN's sequence number is that of the end of its data.
		end := uint32(relSeq) + uint32(p.len)
		if z.checkHistory(d, histFIN, 'F') && end != e.hFIN {
			z.addHistory(z.letter(d, 'F'))
		}
		e.hFIN = end
	case rst:
		if z.checkHistory(d, histRST, 'R') && uint32(relSeq) != e.hRST {
			z.addHistory(z.letter(d, 'R'))
		}
		e.hRST = uint32(relSeq)
	case p.len > 0:
		z.checkHistory(d, histData, 'D')
	case p.flags&ackFlag != 0:
		z.checkHistory(d, histACK, 'A')
	}
}

func (z *zconn) updateLastSeq(d uint8, e *zend, last uint32, syn, fin, rst bool, length int) {
	delta := int32(last - e.lastSeq)
	switch {
	case (syn || rst) && (delta > tooLargeSeqDelta || delta < -tooLargeSeqDelta):
		// An implausible jump in a SYN or RST: not believed.
	case fin && e.lastSeq == e.start+1:
		// Only the SYN and the FIN seen: believe the FIN even if it looks
		// backwards, for connections of more than 2 GB.
		e.updateLastSeq(last)
	case e.state == zReset:
		// Nothing after a RST is trusted.
	case delta > 0:
		e.updateLastSeq(last)
	case length > 0:
		z.scaledHistory(d, &e.rxmt, 'T')
	}
}

// stateMachine moves the sending endpoint's state and reports whether the packet
// closed its side.
func (z *zconn) stateMachine(e, peer *zend, p *zpkt, orig bool) (doClose bool) {
	syn, fin, rst, ack := p.flags&synFlag != 0, p.flags&finFlag != 0, p.flags&rstFlag != 0, p.flags&ackFlag != 0
	switch e.state {
	case zInactive:
		if syn {
			switch {
			case orig && ack:
				e.set(zSynAckSent)
			case orig:
				e.set(zSynSent)
			default:
				if !ack && peer.state == zSynAckSent && p.seq == e.start {
					// The SYN-ACK was seen before its SYN: turn the
					// connection around and call it established.
					z.flip()
					peer.set(zEstablished)
				}
				if peer.state == zSynSent {
					peer.set(zEstablished)
				}
				e.set(zEstablished)
			}
		}
		if fin {
			e.set(zClosed)
			doClose = true
		}
		if rst {
			e.set(zReset)
			doClose = true
		}
		if e.state == zInactive {
			o := &z.ep[z.origDir]
			switch {
			case !orig && p.len == 0 && o.state == zSynSent:
				// An ACK of the SYN before the SYN-ACK: not a partial
				// connection yet.
			case ack && peer.state == zEstablished:
				// The SYN was missed but the SYN-ACK seen.
				e.set(zEstablished)
				z.partial = false
			default:
				e.set(zPartial)
			}
		}
	case zSynSent, zSynAckSent:
		if fin {
			e.set(zClosed)
			doClose = true
		}
		if rst {
			e.set(zReset)
			doClose = true
		}
	case zEstablished, zPartial:
		if syn && e.state == zPartial && peer.state == zInactive && !ack {
			e.set(zSynSent)
		}
		if fin && !rst {
			e.set(zClosed)
			if peer.state == zReset && peer.prev == zClosed {
				// A FIN then a RST from the peer was a normal close.
				peer.set(zClosed)
			}
			doClose = true
		}
		if rst {
			e.set(zReset)
			doClose = true
		}
	case zClosed:
		if rst && peer.state != zClosed {
			e.set(zReset)
			if !e.didClose {
				doClose = true
			}
		}
	}
	return doClose
}

// closed is Zeek's ConnectionClosed: the side is reported closed unless its
// reassembler still has data to deliver.
func (z *zconn) closed(d uint8) {
	if z.dataPending(d) {
		z.deferClose = true
		return
	}
	z.deferClose = false
	z.ep[d].didClose = true
}

// dataPending: the side has sent data its reassembler has not delivered, or the
// peer has data buffered.
func (z *zconn) dataPending(d uint8) bool {
	e, peer := &z.ep[d], &z.ep[d^1]
	if e.reasm.skip {
		return false
	}
	delivered := uint64(e.start) + e.reasm.delivered()
	last := full(e.lastSeq, e.seqWraps)
	if last < delivered {
		return false
	}
	if delivered != last-1 && delivered != last {
		return true
	}
	return e.state != zReset && peer.reasm.hasBlocks()
}

func (z *zconn) checkEOF(d uint8) {
	e := &z.ep[d]
	if e.didEOF || !(e.finSeen || e.state == zClosed || e.state == zReset) || z.dataPending(d) {
		return
	}
	e.didEOF = true
	if z.deferClose {
		z.closed(d)
		z.deferClose = false
	}
}

// reasm summarises Zeek's reassembler for one direction: how far the stream was
// delivered, how far it was acknowledged, and the data received above holes
// (relative sequence numbers, the first data octet being 1).
type reasm struct {
	last  uint64 // last_reassem_seq - 1 (zero value: nothing delivered)
	trim  uint64 // trim_seq - 1: acknowledged up to here
	hi    uint64 // highest end of data received - 1
	holes spans  // data above holes, not yet delivered
	skip  bool   // Zeek gave up reassembling this direction
}

func (r *reasm) delivered() uint64 { return r.last + 1 }
func (r *reasm) hasBlocks() bool   { return r.hi > r.trim }

// dataSent inserts the segment [seq, seq+n) of side d (Zeek's DataSent and
// NewBlock).
func (z *zconn) dataSent(d uint8, seq, n uint64) {
	e := &z.ep[d]
	r := &e.reasm
	if r.skip {
		return
	}
	upper := seq + n
	if ack := e.relAck(); seq < ack {
		if upper <= ack {
			return // delivered and acknowledged already
		}
		seq = ack
	}
	trim, last := r.trim+1, r.last+1
	if upper <= trim {
		return
	}
	seq = max(seq, trim)
	if upper-1 > r.hi {
		r.hi = upper - 1
	}
	switch {
	case seq <= last && upper > last:
		last = upper
		for r.holes.n > 0 && r.holes.first().lo <= last {
			last = max(last, r.holes.first().hi)
			r.holes.popFront()
		}
		r.last = last - 1
	case seq > last:
		r.holes.add(seq, upper)
	}
	undelivered := uint64(0)
	if r.hi+1 > last {
		undelivered = r.hi + 1 - last
	}
	if e.noDataAcked() && undelivered > maxAboveHoleWithoutAcks {
		r.skip = true
		r.holes = spans{}
	}
	buffered := r.holes.size()
	if last > trim {
		buffered += last - trim
	}
	if buffered > maxDataWithoutAcks {
		r.skip = true
		r.holes = spans{}
	}
}

// ackReceived trims side d's reassembler at the peer's acknowledgment ack
// (relative), reporting as gaps the acknowledged data never seen.
func (z *zconn) ackReceived(d uint8, ack uint64) {
	e := &z.ep[d]
	r := &e.reasm
	if e.finSeen && ack >= e.finSeq {
		ack = e.finSeq - 1
	}
	if ack <= r.trim+1 {
		return
	}
	if last := r.last + 1; ack > last {
		z.undelivered(d, ack)
	}
	r.trim = ack - 1
	z.checkEOF(d)
}

func (z *zconn) undelivered(d uint8, upTo uint64) {
	r := &z.ep[d].reasm
	if upTo <= 2 && z.partial {
		// The first acknowledgment of a partial connection, whose start was
		// guessed: not a gap.
		return
	}
	last := r.last + 1
	if !r.skip {
		for r.holes.n > 0 && r.holes.first().lo < upTo {
			h := r.holes.first()
			r.holes.popFront()
			if h.lo > last {
				z.gap(d, h.lo-last)
			}
			last = max(last, h.hi)
			for r.holes.n > 0 && r.holes.first().lo <= last {
				last = max(last, r.holes.first().hi)
				r.holes.popFront()
			}
		}
		if upTo > last {
			z.gap(d, upTo-last)
		}
	}
	r.last = max(last, upTo) - 1
}

func (z *zconn) gap(d uint8, n uint64) {
	e, peer := &z.ep[d], &z.ep[d^1]
	if !isClean(e) || !isClean(peer) {
		return
	}
	z.scaledHistory(d, &e.gap, 'G')
	z.missed += n
}

// state returns conn_state as Zeek's base/protocols/conn/main.zeek derives it.
func (z *zconn) state() ConnState {
	o, r := &z.ep[z.origDir], &z.ep[z.origDir^1]
	os, rs := o.state, r.state
	oInactive := os == zInactive || os == zPartial
	rInactive := rs == zInactive || rs == zPartial
	switch {
	case rs == zReset:
		switch {
		case os == zSynSent || os == zSynAckSent || (os == zReset && o.size(r) == 0 && r.size(o) == 0):
			return StateREJ
		case oInactive:
			return StateRSTRH
		}
		return StateRSTR
	case os == zReset:
		if rInactive {
			if z.synThenOrigRST() {
				return StateRSTOS0
			}
			return StateOTH
		}
		return StateRSTO
	case rs == zClosed && os == zClosed:
		return StateSF
	case os == zClosed:
		if rInactive {
			return StateSH
		}
		return StateS2
	case rs == zClosed:
		if oInactive {
			return StateSHR
		}
		return StateS3
	case os == zSynSent && rs == zInactive:
		return StateS0
	case os == zEstablished && rs == zEstablished:
		return StateS1
	}
	return StateOTH
}

// synThenOrigRST matches the history against Zeek's ^?S[^HAFGIQ]*R.* : an
// originator SYN, then an originator RST with no handshake, ACK, FIN, gap or
// odd flags from the originator in between.
func (z *zconn) synThenOrigRST() bool {
	h := z.history[:z.histLen]
	if len(h) > 0 && h[0] == '^' {
		h = h[1:]
	}
	if len(h) == 0 || h[0] != 'S' {
		return false
	}
	for _, c := range h[1:] {
		switch c {
		case 'R':
			return true
		case 'H', 'A', 'F', 'G', 'I', 'Q':
			return false
		}
	}
	return false
}

// zeekServerPorts are the TCP ports Zeek's default scripts (base/init-default)
// make likely server ports, by script, as of the zeek/zeek commit of the
// corpus baselines (testdata/corpus-tcp/expected/TOOL-VERSIONS.txt). A script
// adds its analyzer's ports to likely_server_ports either with a redef or
// through Analyzer::register_for_ports, which (since Zeek 8) adds the server
// ports it is given. Scripts that register only UDP ports (DHCP, NTP, RADIUS,
// SIP, SNMP, syslog, QUIC, OpenVPN, the tunnel decapsulators) add nothing here:
// Zeek's lookup is by protocol. Checked against the scripts' source in
// zeek/zeek (recent versions; XMPP's and syslog's ports against Zeek 8.2's
// documentation of them). In bare mode (-b, most baselines) Zeek knows only
// the ports of the scripts a test loads, which pcaptk cannot know.
var zeekServerPorts = []struct {
	script string
	ports  []uint16
}{
	{"base/protocols/dce-rpc/main.zeek", []uint16{135}},
	{"base/protocols/dnp3/main.zeek", []uint16{20000}},
	{"base/protocols/dns/main.zeek", []uint16{53}},
	{"base/protocols/finger/main.zeek", []uint16{79}},
	{"base/protocols/ftp/main.zeek", []uint16{21, 2811}},
	{"base/protocols/http/main.zeek", []uint16{80, 81, 631, 1080, 3128, 8000, 8080, 8888}},
	{"base/protocols/imap/main.zeek", []uint16{143}},
	{"base/protocols/irc/main.zeek", []uint16{6666, 6667, 6668, 6669}},
	{"base/protocols/krb/main.zeek", []uint16{88}},
	{"base/protocols/ldap/main.zeek", []uint16{389, 3268}},
	{"base/protocols/modbus/main.zeek", []uint16{502}},
	{"base/protocols/mqtt/main.zeek", []uint16{1883}},
	{"base/protocols/mysql/main.zeek", []uint16{1434, 3306}},
	{"base/protocols/postgresql/main.zeek", []uint16{5432}},
	{"base/protocols/rdp/main.zeek", []uint16{3389}},
	{"base/protocols/redis/main.zeek", []uint16{6379}},
	{"base/protocols/smb/main.zeek", []uint16{139, 445}},
	{"base/protocols/smtp/main.zeek", []uint16{25, 587}},
	{"base/protocols/socks/main.zeek", []uint16{1080}},
	{"base/protocols/ssh/main.zeek", []uint16{22}},
	{"base/protocols/ssl/main.zeek", []uint16{443, 563, 585, 614, 636, 989, 990, 992, 993, 995, 5223}},
	{"base/protocols/whois/main.zeek", []uint16{43}},
	{"base/protocols/xmpp/main.zeek", []uint16{5222, 5269}},
}

// likelyServerPorts is zeekServerPorts as a bitmap.
var likelyServerPorts [65536 / 64]uint64

func init() {
	for _, s := range zeekServerPorts {
		for _, p := range s.ports {
			likelyServerPorts[p/64] |= 1 << (p % 64)
		}
	}
}

// LikelyServerPort reports whether Zeek's default configuration treats port as a
// server's when deciding which side of a connection seen without its SYN is the
// originator.
func LikelyServerPort(port uint16) bool {
	return likelyServerPorts[port/64]&(1<<(port%64)) != 0
}
