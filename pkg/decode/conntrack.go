package decode

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
)

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

	// Slot is the connection's index in the tracker's table, stable for as long
	// as the connection is tracked: a consumer keeping per-connection state of
	// its own (pkg/analysis) keeps it in a table indexed by Slot, reset when New
	// is set and released when the tracker's Forget hook names the slot.
	Slot int32
	// Dir is 0 when the packet goes the way of the stream's first packet, 1 when
	// it goes the other way.
	Dir uint8
	// New is set on the first packet of a stream.
	New bool
	// Reused is set, with New, when a SYN with another initial sequence number
	// replaced a connection still tracked on the same addresses and ports
	// (tshark's tcp.analysis.reused_ports).
	Reused bool
}

// ForgetReason says why a ConnTracker let go of a connection.
type ForgetReason uint8

const (
	ForgetClosed  ForgetReason = iota + 1 // FIN both ways or RST, then ClosedTimeout of quiet
	ForgetIdle                            // IdleTimeout without a packet
	ForgetEvicted                         // the table was full (MaxConns)
	ForgetReused                          // a new SYN on the same addresses and ports started a new stream
	ForgetEnd                             // the input ended (ConnTracker.Close)
)

// String names the reason as SCHEMA.md's connection table does in `close`
// (evicted and reused connections were still open).
func (r ForgetReason) String() string {
	switch r {
	case ForgetClosed:
		return "closed"
	case ForgetIdle:
		return "idle"
	case ForgetEvicted:
		return "evicted"
	case ForgetReused:
		return "reused"
	case ForgetEnd:
		return "end"
	}
	return "unknown"
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

// connKey names a connection by its two endpoints in a fixed order (a <= b,
// comparing address then port), so both directions find it: each address as two
// big-endian words, then both ports and the IP version in one word.
type connKey struct {
	a0, a1, b0, b1 uint64
	pv             uint64 // pa<<24 | pb<<8 | version
}

// equal compares field by field: == on the struct compares with wider loads,
// which wait for the stores that just filled the key (see TrackTo).
func (k *connKey) equal(o *connKey) bool {
	return k.a0 == o.a0 && k.a1 == o.a1 && k.b0 == o.b0 && k.b1 == o.b1 && k.pv == o.pv
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
	firstDir   uint8 // key direction of the stream's first packet
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
	index  connIndex
	conns  []conn
	free   []int32
	open   lru
	closed lru
	now    int64
	pkts   uint64
	// quiet: no connection can time out at a capture time up to this one
	// (see expire).
	quiet  int64
	stats  ConnStats
	forget func(slot int32, stream uint64, why ForgetReason)
}

// OnForget sets fn to be called as each connection is forgotten, before its slot
// is reused, with the reason. It is called from Track (a connection expired,
// evicted or replaced) and from Close, never concurrently.
func (t *ConnTracker) OnForget(fn func(slot int32, stream uint64, why ForgetReason)) {
	t.forget = fn
}

// Close forgets every connection still tracked, oldest first, calling the
// OnForget hook with ForgetEnd for each: the end of the input.
func (t *ConnTracker) Close() {
	for _, l := range [2]*lru{&t.closed, &t.open} {
		for l.tail >= 0 {
			t.remove(l.tail, ForgetEnd)
		}
	}
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
		index:  newConnIndex(),
		open:   lru{-1, -1},
		closed: lru{-1, -1},
		quiet:  math.MinInt64,
	}
}

// Stats returns counters of the tracker's work so far.
func (t *ConnTracker) Stats() ConnStats {
	s := t.stats
	s.Active = t.index.n
	return s
}

// Track updates the connection of rec, a packet seen at ts (ns since the epoch),
// and returns its per-connection columns. ok is false when rec has no complete TCP
// header (then c is zero). Track allocates nothing once its table has grown.
func (t *ConnTracker) Track(rec *Record, ts int64) (c Conn, ok bool) {
	ok = t.TrackTo(rec, ts, &c)
	return c, ok
}

// TrackTo is Track writing the columns into *c (untouched when it reports
// false). The packet loops use it: a Conn returned by value is written field
// by field and then copied with wider loads, which the CPU cannot serve from
// the stores still in flight, and the copy waits for them (perf put 40% of
// Track's samples on two such copies; the key and the Conn below are filled in
// place for the same reason).
func (t *ConnTracker) TrackTo(rec *Record, ts int64, c *Conn) bool {
	if !rec.HasTCP || rec.IPVersion == 0 || (rec.Truncated != LayerNone && rec.Truncated <= LayerTransport) {
		return false
	}
	*c = Conn{}
	if ts > t.now {
		t.now = ts
	}
	t.pkts++
	t.expire()

	var k connKey
	d := makeKey(rec, &k)
	syn := rec.Flags&(SYN|ACK) == SYN
	h := t.index.hash(&k)
	i, found := t.index.find(&k, h, t.conns)
	reused := false
	if found {
		cn := &t.conns[i]
		// A SYN with another initial sequence number reuses the ports of an
		// earlier connection: tshark starts a new stream.
		if syn && cn.dir[d].baseSet && rec.Seq != cn.dir[d].base {
			t.remove(i, ForgetReused)
			found, reused = false, true
		}
	}
	if !found {
		i = t.insert(k, h, uint8(d))
	}
	cn := &t.conns[i]
	cn.last, cn.lastPkt = t.now, t.pkts
	t.touch(i)
	if int(rec.DataOff) < 20 || int(rec.DataOff) > rec.L4Len {
		// The header length field is impossible: like tshark, number the stream
		// but learn nothing from it.
		c.Stream = cn.stream
	} else {
		cn.update(rec, d, c)
	}
	c.Slot, c.Dir, c.New, c.Reused = i, uint8(d)^cn.firstDir, !found, reused
	if cn.closed {
		t.moveToClosed(i)
	}
	return true
}

// makeKey fills k with rec's connection key and returns the packet's key
// direction.
func makeKey(rec *Record, k *connKey) int {
	be := binary.BigEndian
	s0, s1 := be.Uint64(rec.SrcIP[:8]), be.Uint64(rec.SrcIP[8:])
	d0, d1 := be.Uint64(rec.DstIP[:8]), be.Uint64(rec.DstIP[8:])
	sp, dp := uint64(rec.SrcPort), uint64(rec.DstPort)
	if s0 < d0 || (s0 == d0 && (s1 < d1 || (s1 == d1 && sp <= dp))) {
		k.a0, k.a1, k.b0, k.b1, k.pv = s0, s1, d0, d1, sp<<24|dp<<8|uint64(rec.IPVersion)
		return 0
	}
	k.a0, k.a1, k.b0, k.b1, k.pv = d0, d1, s0, s1, dp<<24|sp<<8|uint64(rec.IPVersion)
	return 1
}

// update applies one packet in direction d and computes its columns into c,
// which is zero.
func (cn *conn) update(rec *Record, d int, c *Conn) {
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
	c.Stream, c.SeqRel, c.HasSeqRel = cn.stream, rec.Seq-fwd.base, true
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
}

func (t *ConnTracker) insert(k connKey, h uint64, d uint8) int32 {
	if t.index.n >= t.o.MaxConns {
		victim := t.closed.tail
		if victim < 0 {
			victim = t.open.tail
		}
		t.remove(victim, ForgetEvicted)
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
		key:      k,
		stream:   t.stats.Streams,
		firstDir: d,
		dir:      [2]half{{scale: scaleUnknown}, {scale: scaleUnknown}},
		prev:     -1, next: -1,
	}
	t.stats.Streams++
	t.index.add(h, i)
	t.push(&t.open, i)
	if n := t.index.n; n > t.stats.MaxTable {
		t.stats.MaxTable = n
	}
	return i
}

func (t *ConnTracker) remove(i int32, why ForgetReason) {
	cn := &t.conns[i]
	if t.forget != nil {
		t.forget(i, cn.stream, why)
	}
	if cn.onClosed {
		t.unlink(&t.closed, i)
	} else {
		t.unlink(&t.open, i)
	}
	t.index.remove(&cn.key, i)
	t.free = append(t.free, i)
}

// expire forgets connections whose timeout has passed; each is forgotten once, so
// the cost per packet is constant on average. It looks at the lists' oldest
// connections only once the capture's time passes t.quiet, the earliest time
// either could time out: a list's oldest only ever makes way for one seen
// later, and an empty list's first will be seen now or later. (Looking every
// packet was 1.5-2% of conns' CPU time: the open list's oldest connection is
// rarely in the cache.)
func (t *ConnTracker) expire() {
	if t.now <= t.quiet {
		return
	}
	t.quiet = math.MaxInt64
	for l, list := range [2]*lru{&t.closed, &t.open} {
		limit := t.o.ClosedTimeout
		if l == 1 {
			limit = t.o.IdleTimeout
		}
		why := ForgetClosed
		if l == 1 {
			why = ForgetIdle
		}
		for {
			i := list.tail
			if i < 0 || t.now-t.conns[i].last <= limit || t.pkts-t.conns[i].lastPkt <= t.o.MinIdlePackets {
				from := t.now
				if i >= 0 {
					from = t.conns[i].last
				}
				t.quiet = min(t.quiet, addSat(from, limit))
				break
			}
			t.remove(i, why)
			t.stats.Expired++
		}
	}
}

// addSat is a+b for b ≥ 0, at most math.MaxInt64.
func addSat(a, b int64) int64 {
	if s := a + b; s >= a {
		return s
	}
	return math.MaxInt64
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

// connIndex finds a connection's slot in ConnTracker.conns by its key: an
// open-addressing table with linear probing and deletion by backward shift (no
// tombstones), holding each entry's hash so that most probes compare no key.
// It replaced a Go map, whose hashing of the 37-byte key made Track 30% dearer.
// The hash is seeded per tracker, so a crafted capture cannot aim collisions.
type connIndex struct {
	slots []connSlot
	mask  uint64
	n     int
	seed  uint64
}

type connSlot struct {
	hash uint32
	conn int32 // index into ConnTracker.conns; -1: empty
}

const connIndexMin = 1024

func newConnIndex() connIndex {
	x := connIndex{seed: rand.Uint64() | 1}
	x.alloc(connIndexMin)
	return x
}

func (x *connIndex) alloc(size int) {
	x.slots = make([]connSlot, size)
	for i := range x.slots {
		x.slots[i].conn = -1
	}
	x.mask = uint64(size - 1)
}

// hash mixes the key's words (multiply-xorshift, seeded).
func (x *connIndex) hash(k *connKey) uint64 {
	const m = 0x9e3779b97f4a7c15
	h := (x.seed ^ k.a0) * m
	h = (h ^ h>>32 ^ k.a1) * m
	h = (h ^ h>>32 ^ k.b0) * m
	h = (h ^ h>>32 ^ k.b1) * m
	h = (h ^ h>>32 ^ k.pv) * m
	return h ^ h>>32
}

// find returns the connection with key k (of hash h).
func (x *connIndex) find(k *connKey, h uint64, conns []conn) (int32, bool) {
	for i := h & x.mask; ; i = (i + 1) & x.mask {
		s := x.slots[i]
		if s.conn < 0 {
			return 0, false
		}
		if s.hash == uint32(h) && conns[s.conn].key.equal(k) {
			return s.conn, true
		}
	}
}

// add records connection c of hash h, which is not in the table.
func (x *connIndex) add(h uint64, c int32) {
	if 2*(x.n+1) > len(x.slots) {
		x.grow()
	}
	i := h & x.mask
	for x.slots[i].conn >= 0 {
		i = (i + 1) & x.mask
	}
	x.slots[i] = connSlot{hash: uint32(h), conn: c}
	x.n++
}

// grow doubles the table; the hashes kept in the slots place the entries (the
// table never exceeds 2^32 slots, so their low 32 bits suffice).
func (x *connIndex) grow() {
	old := x.slots
	x.alloc(2 * len(old))
	for _, s := range old {
		if s.conn < 0 {
			continue
		}
		i := uint64(s.hash) & x.mask
		for x.slots[i].conn >= 0 {
			i = (i + 1) & x.mask
		}
		x.slots[i] = s
	}
}

// remove deletes connection c (key k) and shifts back the entries after it
// that would otherwise no longer be found.
func (x *connIndex) remove(k *connKey, c int32) {
	h := x.hash(k)
	i := h & x.mask
	for x.slots[i].conn != c {
		if x.slots[i].conn < 0 {
			return
		}
		i = (i + 1) & x.mask
	}
	x.n--
	for {
		x.slots[i].conn = -1
		j := i
		for {
			j = (j + 1) & x.mask
			s := x.slots[j]
			if s.conn < 0 {
				return
			}
			// The entry at j may move to the hole at i unless its home slot
			// lies cyclically in (i, j].
			home := uint64(s.hash) & x.mask
			if (j-home)&x.mask >= (j-i)&x.mask {
				x.slots[i] = s
				i = j
				break
			}
		}
	}
}
