package decode

import "encoding/binary"

// Per-connection TCP state for the columns that need more than one packet:
// tshark's tcp.stream number, relative sequence and acknowledgment numbers, and
// windows scaled by the handshake's window-scale option.
//
// State is bounded. A connection is forgotten when it has been closed (FIN seen in
// both directions, or a RST) for ConnOptions.ClosedTimeout of capture time, when it
// has been idle for ConnOptions.IdleTimeout, or, when the table holds MaxConns
// connections, to make room (closed ones first, then the least recently seen). A
// forgotten connection that sends again is numbered as a new stream and its bases
// are learnt again; tshark, which never forgets, would keep the old number.

// ConnOptions bound a ConnTracker.
type ConnOptions struct {
	// MaxConns is the most connections tracked at once (about 150 bytes each).
	MaxConns int
	// IdleTimeout forgets an open connection after this much capture time without
	// a packet, in nanoseconds.
	IdleTimeout int64
	// MinIdlePackets is how many packets of other connections must also have gone by
	// before an idle or closed connection is forgotten, so that a capture whose
	// clock jumps (a zero timestamp, a merge of unsynchronised inputs) does not
	// split its connections. Zero: no such condition.
	MinIdlePackets uint64
	// ClosedTimeout forgets a closed connection (FIN both ways, or RST) after this
	// much capture time without a packet, in nanoseconds. It is not zero so that the
	// last ACK and retransmitted FINs or RSTs keep their stream number.
	ClosedTimeout int64
}

// DefaultConnOptions: 262,144 connections (about 40 MB at most), idle for an hour,
// closed for 60 seconds.
var DefaultConnOptions = ConnOptions{
	MaxConns:       1 << 18,
	IdleTimeout:    3600e9,
	ClosedTimeout:  60e9,
	MinIdlePackets: 10000,
}

// Conn holds the per-connection columns of one TCP packet.
type Conn struct {
	Stream       uint64 // tshark's tcp.stream: connections numbered from 0 in order of first packet
	SeqRel       uint32 // sequence number relative to the direction's base (tshark's tcp.seq)
	AckRel       uint32 // acknowledgment number relative to the other direction's base (tshark's tcp.ack)
	WindowScaled uint32 // window << scale
	HasSeqRel    bool
	HasAckRel    bool // false when the ACK flag is clear
	HasWindow    bool // false when the scale is unknown (handshake not seen)
}

// ConnStats counts what a ConnTracker did.
type ConnStats struct {
	Streams  uint64 // stream numbers handed out
	Active   int    // connections tracked now
	Expired  uint64 // forgotten after their timeout
	Evicted  uint64 // forgotten early because MaxConns was reached
	MaxTable int    // largest number of connections tracked at once
}

// Window-scale states of one direction.
const (
	scaleUnknown int8 = -1 // no SYN seen in this direction
	scaleNone    int8 = -2 // handshake seen, scaling not negotiated: windows are as on the wire
)

type connKey struct {
	a, b   [16]byte // the two endpoints' addresses, a <= b (with ports)
	pa, pb uint16
	v      uint8
}

type half struct {
	base    uint32
	baseSet bool
	scale   int8
	fin     bool
}

type conn struct {
	key        connKey
	stream     uint64
	last       int64  // capture time of the last packet
	lastPkt    uint64 // ConnTracker.pkts at the last packet
	dir        [2]half
	closed     bool  // FIN both ways or RST seen
	onClosed   bool  // linked in the closed list
	prev, next int32 // LRU list links (indices into ConnTracker.conns, -1 for none)
}

// lru is a doubly linked list threaded through ConnTracker.conns; head is the most
// recently seen connection.
type lru struct{ head, tail int32 }

// ConnTracker assigns per-connection columns to TCP packets in capture order.
// It is not safe for concurrent use.
type ConnTracker struct {
	o      ConnOptions
	index  map[connKey]int32
	conns  []conn
	free   []int32
	open   lru
	closed lru
	now    int64
	pkts   uint64
	stats  ConnStats
}

// NewConnTracker returns a tracker bounded by o (zero limits and timeouts take
// DefaultConnOptions' values).
func NewConnTracker(o ConnOptions) *ConnTracker {
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultConnOptions.MaxConns
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultConnOptions.IdleTimeout
	}
	if o.ClosedTimeout <= 0 {
		o.ClosedTimeout = DefaultConnOptions.ClosedTimeout
	}
	return &ConnTracker{
		o:      o,
		index:  make(map[connKey]int32, 1024),
		open:   lru{-1, -1},
		closed: lru{-1, -1},
	}
}

// Stats returns counters of the tracker's work so far.
func (t *ConnTracker) Stats() ConnStats {
	s := t.stats
	s.Active = len(t.index)
	return s
}

// Track updates the connection of rec, a packet seen at ts (ns since the epoch),
// and returns its per-connection columns. ok is false when rec has no complete TCP
// header (then c is zero). Track allocates nothing once its table has grown.
func (t *ConnTracker) Track(rec *Record, ts int64) (c Conn, ok bool) {
	if !rec.HasTCP || rec.IPVersion == 0 || (rec.Truncated != LayerNone && rec.Truncated <= LayerTransport) {
		return Conn{}, false
	}
	if ts > t.now {
		t.now = ts
	}
	t.pkts++
	t.expire()

	k, d := makeKey(rec)
	syn := rec.Flags&(SYN|ACK) == SYN
	i, found := t.index[k]
	if found {
		cn := &t.conns[i]
		// A SYN with another initial sequence number reuses the ports of an
		// earlier connection: tshark starts a new stream.
		if syn && cn.dir[d].baseSet && rec.Seq != cn.dir[d].base {
			t.remove(i)
			found = false
		}
	}
	if !found {
		i = t.insert(k)
	}
	cn := &t.conns[i]
	cn.last, cn.lastPkt = t.now, t.pkts
	t.touch(i)
	if int(rec.DataOff) < 20 || int(rec.DataOff) > rec.L4Len {
		// The header length field is impossible: like tshark, number the stream
		// but learn nothing from it.
		return Conn{Stream: cn.stream}, true
	}
	c = cn.update(rec, d)
	if cn.closed {
		t.moveToClosed(i)
	}
	return c, true
}

func makeKey(rec *Record) (connKey, int) {
	k := connKey{v: rec.IPVersion}
	if less(rec.SrcIP, rec.SrcPort, rec.DstIP, rec.DstPort) {
		k.a, k.pa, k.b, k.pb = rec.SrcIP, rec.SrcPort, rec.DstIP, rec.DstPort
		return k, 0
	}
	k.a, k.pa, k.b, k.pb = rec.DstIP, rec.DstPort, rec.SrcIP, rec.SrcPort
	return k, 1
}

func less(a [16]byte, pa uint16, b [16]byte, pb uint16) bool {
	a0, b0 := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8])
	if a0 != b0 {
		return a0 < b0
	}
	a1, b1 := binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:])
	if a1 != b1 {
		return a1 < b1
	}
	return pa <= pb
}

// update applies one packet in direction d and computes its columns.
func (cn *conn) update(rec *Record, d int) Conn {
	fwd, rev := &cn.dir[d], &cn.dir[1-d]
	isSyn := rec.Flags&SYN != 0
	if !fwd.baseSet {
		fwd.base, fwd.baseSet = rec.Seq, true
		if !isSyn {
			// Picked up mid-stream: tshark counts the first byte seen as 1.
			fwd.base--
		}
	}
	hasAck := rec.Flags&ACK != 0
	if hasAck && !rev.baseSet {
		rev.base, rev.baseSet = rec.Ack-1, true
	}
	c := Conn{Stream: cn.stream, SeqRel: rec.Seq - fwd.base, HasSeqRel: true}
	if hasAck {
		c.AckRel, c.HasAckRel = rec.Ack-rev.base, true
	}

	if isSyn {
		fwd.scale = scaleNone
		if rec.HasWScale {
			fwd.scale = int8(min(rec.WScale, 14))
		}
		if hasAck && (rev.scale == scaleNone || fwd.scale == scaleNone) {
			// Scaling applies only when both SYNs carried the option.
			fwd.scale, rev.scale = scaleNone, scaleNone
		}
		// Windows of SYN segments are never scaled.
		c.WindowScaled, c.HasWindow = uint32(rec.Window), true
	} else {
		switch s := fwd.scale; {
		case s == scaleNone:
			c.WindowScaled, c.HasWindow = uint32(rec.Window), true
		case s >= 0:
			c.WindowScaled, c.HasWindow = uint32(rec.Window)<<uint(s), true
		}
	}

	if rec.Flags&FIN != 0 {
		fwd.fin = true
	}
	if rec.Flags&RST != 0 || (fwd.fin && rev.fin) {
		cn.closed = true
	}
	return c
}

func (t *ConnTracker) insert(k connKey) int32 {
	if len(t.index) >= t.o.MaxConns {
		victim := t.closed.tail
		if victim < 0 {
			victim = t.open.tail
		}
		t.remove(victim)
		t.stats.Evicted++
	}
	var i int32
	if n := len(t.free); n > 0 {
		i = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		t.conns = append(t.conns, conn{})
		i = int32(len(t.conns) - 1)
	}
	t.conns[i] = conn{
		key:    k,
		stream: t.stats.Streams,
		dir:    [2]half{{scale: scaleUnknown}, {scale: scaleUnknown}},
		prev:   -1, next: -1,
	}
	t.stats.Streams++
	t.index[k] = i
	t.push(&t.open, i)
	if n := len(t.index); n > t.stats.MaxTable {
		t.stats.MaxTable = n
	}
	return i
}

func (t *ConnTracker) remove(i int32) {
	cn := &t.conns[i]
	if cn.onClosed {
		t.unlink(&t.closed, i)
	} else {
		t.unlink(&t.open, i)
	}
	delete(t.index, cn.key)
	t.free = append(t.free, i)
}

// expire forgets connections whose timeout has passed; each is forgotten once, so
// the cost per packet is constant on average.
func (t *ConnTracker) expire() {
	for l, list := range [2]*lru{&t.closed, &t.open} {
		limit := t.o.ClosedTimeout
		if l == 1 {
			limit = t.o.IdleTimeout
		}
		for {
			i := list.tail
			if i < 0 || t.now-t.conns[i].last <= limit || t.pkts-t.conns[i].lastPkt <= t.o.MinIdlePackets {
				break
			}
			t.remove(i)
			t.stats.Expired++
		}
	}
}

func (t *ConnTracker) list(i int32) *lru {
	if t.conns[i].onClosed {
		return &t.closed
	}
	return &t.open
}

// touch makes i the most recently seen connection of its list.
func (t *ConnTracker) touch(i int32) {
	l := t.list(i)
	if l.head == i {
		return
	}
	t.unlink(l, i)
	t.push(l, i)
}

func (t *ConnTracker) moveToClosed(i int32) {
	if t.conns[i].onClosed {
		return
	}
	t.unlink(&t.open, i)
	t.push(&t.closed, i)
	t.conns[i].onClosed = true
}

func (t *ConnTracker) push(l *lru, i int32) {
	cn := &t.conns[i]
	cn.prev, cn.next = -1, l.head
	if l.head >= 0 {
		t.conns[l.head].prev = i
	}
	l.head = i
	if l.tail < 0 {
		l.tail = i
	}
}

func (t *ConnTracker) unlink(l *lru, i int32) {
	cn := &t.conns[i]
	if cn.prev >= 0 {
		t.conns[cn.prev].next = cn.next
	} else {
		l.head = cn.next
	}
	if cn.next >= 0 {
		t.conns[cn.next].prev = cn.prev
	} else {
		l.tail = cn.prev
	}
	cn.prev, cn.next = -1, -1
}
