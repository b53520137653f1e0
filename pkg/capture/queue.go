package capture

import (
	"encoding/binary"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pcaptk/pcaptk/pkg/reader"
)

// QueueOptions size the queue between the readers and the consumer.
type QueueOptions struct {
	// QueueBytes is the memory for packet bytes waiting for the consumer; 0 means 64 MiB.
	QueueBytes int
	// QueuePackets is the most entries waiting for the consumer: a packet read
	// through libpcap, or the packets one AF_PACKET block left in the queue; 0 means 131072.
	QueuePackets int
	// NoZeroCopy makes ring readers copy every block into the queue instead of
	// handing an idle consumer the block itself (to measure what that saves).
	NoZeroCopy bool
	// BeforeWait, when set, is called by Poll on the consumer's goroutine each
	// time it is about to wait for the readers, holding no ring block; blockBytes
	// is the largest block a ring reader may hand over next (0: no ring). A
	// consumer that buffers its output writes it out here when a block might
	// not fit, so that its buffer never fills (and writes) while it holds a
	// block: a block is handed over only as the first entry after this call.
	// It returns false when the next block should not come in place at all
	// (its packets would make the consumer write or open files): the readers
	// then copy blocks into the queue until the next call says yes.
	BeforeWait func(blockBytes int) (inPlace bool)
}

// Stats are the counts of one interface of a Capture.
type Stats struct {
	LiveStats
	Queued      uint64 // packets read and queued (or handed to the consumer in place)
	QueueDrops  uint64 // packets read but dropped because the queue was full
	StatsFailed error  // why LiveStats are missing, if they are
}

// Queue reads several sources at once, each in its own goroutine, into one
// bounded queue that the consumer empties with Next or Poll: a slow consumer (a disk,
// a file rotation) never stalls the reads. When the queue is full a packet is dropped
// and counted (Stats.QueueDrops). Packets come out in the order they were read.
//
// An AF_PACKET ring (see OpenRing) is read a block at a time. While the consumer
// is idle the block itself goes to it, and returns to the kernel once the
// consumer has taken its last packet: no copy. Otherwise the reader copies the
// block's packets into the queue as one entry and returns the block at once.
//
//	l, err := capture.OpenSource("eth0", capture.LiveOptions{Filter: "tcp port 80"}, "")
//	c := capture.StartQueue([]capture.Source{l}, capture.QueueOptions{})
//	// on SIGINT: c.Stop()
//	for {
//		p, err := c.Poll(ticker.C) // nil, nil when the ticker fires first
//		if err != nil { break }    // io.EOF after Stop, or a read error
//		if p != nil { sink.WritePacket(p) } // p and p.Data valid until the next Poll
//	}
//	stats := c.Wait() // per interface: the kernel's counts and the queue's
//
// The Queue owns the sources and closes them; a single goroutine consumes, and
// calls Wait once it has stopped consuming.
type Queue struct {
	srcs     []Source
	ifaces   []reader.Interface
	q        queue
	stopAt   atomic.Int64 // when Stop was called (ns), 0 before
	abort    atomic.Bool  // stop reading at once
	zeroCopy bool
	wg       sync.WaitGroup
	errMu    sync.Mutex
	err      error
	stats    []Stats
	pkt      reader.Packet
	held     bool
	heldEnd  uint64
	n        uint64
	cur      entry    // the batch or block being consumed
	handed   []uint64 // per source: packets the consumer took from ring blocks in place
	closed   bool
	// beforeWait is QueueOptions.BeforeWait; blockBytes the largest ring block.
	beforeWait func(blockBytes int) bool
	blockBytes int
}

// entry is a batch or a ring block that Poll is walking through.
type entry struct {
	kind     uint8
	iface    int
	pos, lim uint64 // batch: the next packet's record, the batch's end in q.buf
	end      uint64 // batch: tail once it is consumed
	blk      int    // block: its index in the ring
	src      blockSource
	it       blockIter
}

// queue is a byte ring that the readers fill (under mu, in the order they send on ch)
// and the single consumer frees in the same order, by moving tail forward.
type queue struct {
	mu   sync.Mutex
	buf  []byte
	head uint64        // bytes ever reserved (with the padding skipped at each wrap)
	tail atomic.Uint64 // bytes ever freed by the consumer
	ch   chan slot
	// idle: the consumer waits with nothing queued, having made room for a
	// block (BeforeWait) since its last entry. Set by the consumer under mu
	// and only with ch empty, cleared by every enqueue (under mu): so a block
	// is handed over in place only as the first entry after the consumer
	// made room, never behind a batch that may have filled its buffer.
	idle atomic.Bool
}

// markIdle sets idle unless an entry is queued; it reports whether it did.
func (q *queue) markIdle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.ch) != 0 {
		return false
	}
	q.idle.Store(true)
	return true
}

// unmarkIdle clears idle and reports whether an entry is queued.
func (q *queue) unmarkIdle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.idle.Store(false)
	return len(q.ch) != 0
}

type slot struct {
	start   uint32 // packet and batch: offset in buf; block: index in the ring
	caplen  uint32 // packet: its length; batch: the bytes of its records
	wirelen uint32
	iface   uint32
	kind    uint8
	ts      int64
	end     uint64 // head after this entry: freeing it sets tail to end
}

// Kinds of slot: one packet; a batch of records (batchHdrLen bytes of time
// stamp and lengths, then the bytes) copied from a ring block; a ring block
// itself, handed over in place.
const (
	slotPacket = iota
	slotBatch
	slotBlock
)

const batchHdrLen = 16

// StartQueue starts reading every source. The Queue owns them from then on and
// closes them when reading stops. Interface i of the packets is srcs[i].
func StartQueue(srcs []Source, o QueueOptions) *Queue {
	if o.QueueBytes <= 0 {
		o.QueueBytes = 64 << 20
	}
	if o.QueuePackets <= 0 {
		o.QueuePackets = 128 << 10
	}
	c := &Queue{srcs: srcs, stats: make([]Stats, len(srcs)), handed: make([]uint64, len(srcs)),
		zeroCopy: !o.NoZeroCopy, beforeWait: o.BeforeWait}
	c.q.buf = make([]byte, o.QueueBytes)
	c.q.ch = make(chan slot, o.QueuePackets)
	for i, s := range srcs {
		c.ifaces = append(c.ifaces, s.Interface())
		if b, ok := s.(blockSource); ok && c.zeroCopy {
			c.blockBytes = max(c.blockBytes, len(b.block(0)))
		}
		c.wg.Add(1)
		go c.read(i, s)
	}
	go func() {
		c.wg.Wait()
		close(c.q.ch)
	}()
	return c
}

// Interfaces lists the interfaces, in the order given to StartQueue.
func (c *Queue) Interfaces() []reader.Interface { return c.ifaces }

func (c *Queue) read(i int, s Source) {
	defer c.wg.Done()
	st := &c.stats[i]
	if b, ok := s.(blockSource); ok {
		// The ring stays mapped until Wait: the consumer may still walk a block.
		st.Queued, st.QueueDrops = c.readBlocks(i, b)
		st.LiveStats, st.StatsFailed = b.Stats()
		return
	}
	l := s.(*Live)
	var queued, drops uint64
	for {
		stopAt, ok := c.reading(drainTime)
		if !ok {
			break
		}
		p, err := l.Next()
		if err != nil {
			if c.retry(err) {
				continue
			}
			break
		}
		if stopAt != 0 && p.Timestamp >= stopAt {
			break // the rest came after Stop
		}
		if c.q.put(uint32(i), p) {
			queued++
		} else {
			drops++
		}
	}
	st.Queued, st.QueueDrops = queued, drops
	st.LiveStats, st.StatsFailed = l.Stats()
	l.Close()
}

// put copies p into the ring; false when there is no room (the packet is dropped).
func (q *queue) put(iface uint32, p *reader.Packet) bool {
	n := uint64(len(p.Data))
	size := uint64(len(q.buf))
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.ch) == cap(q.ch) {
		return false
	}
	pos := q.head % size
	start, need := pos, n
	if pos+n > size { // does not fit before the end: skip to the start
		start, need = 0, n+size-pos
	}
	if q.head+need-q.tail.Load() > size {
		return false
	}
	q.head += need
	copy(q.buf[start:start+n], p.Data)
	q.ch <- slot{start: uint32(start), caplen: uint32(n), wirelen: p.WireLen, iface: iface,
		ts: p.Timestamp, end: q.head}
	q.idle.Store(false)
	return true
}

func (c *Queue) fail(err error) {
	c.errMu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.errMu.Unlock()
	c.abort.Store(true)
}

// Next returns the next packet, waiting for one. The Packet and its Data are valid
// until the next call to Next or Poll. After Stop (or a read error) it returns the
// packets still queued, then io.EOF, or the read error.
func (c *Queue) Next() (*reader.Packet, error) { return c.Poll(nil) }

// Poll is Next that also returns (nil, nil) when wake fires first, so that a consumer
// can act on a timer (close a file on time) while no packet comes.
func (c *Queue) Poll(wake <-chan time.Time) (*reader.Packet, error) {
	if c.held {
		c.q.tail.Store(c.heldEnd)
		c.held = false
	}
	for {
		if c.cur.kind != slotPacket {
			if c.nextInEntry() {
				return &c.pkt, nil
			}
			c.finishEntry()
		}
		var s slot
		var ok bool
		select {
		case s, ok = <-c.q.ch:
		default:
			if c.beforeWait == nil || c.beforeWait(c.blockBytes) {
				if !c.q.markIdle() {
					continue // an entry came meanwhile
				}
			}
			select {
			case s, ok = <-c.q.ch:
				c.q.unmarkIdle()
			case <-wake:
				if c.q.unmarkIdle() {
					// A reader may have handed over a block (held from now
					// on): take it before the caller acts on the timer.
					continue
				}
				return nil, nil
			}
		}
		if !ok {
			c.errMu.Lock()
			defer c.errMu.Unlock()
			if c.err != nil {
				return nil, c.err
			}
			return nil, io.EOF
		}
		switch s.kind {
		case slotBatch:
			c.cur = entry{kind: slotBatch, iface: int(s.iface), pos: uint64(s.start),
				lim: uint64(s.start) + uint64(s.caplen), end: s.end}
			continue
		case slotBlock:
			b := c.srcs[s.iface].(blockSource)
			c.cur = entry{kind: slotBlock, iface: int(s.iface), blk: int(s.start), src: b}
			c.cur.it.reset(b.block(int(s.start)), b.format())
			continue
		}
		c.held, c.heldEnd = true, s.end
		c.setPacket(int(s.iface), c.q.buf[s.start:s.start+s.caplen:s.start+s.caplen], s.ts, s.wirelen)
		return &c.pkt, nil
	}
}

func (c *Queue) setPacket(iface int, data []byte, ts int64, wirelen uint32) {
	c.n++
	ifc := &c.ifaces[iface]
	c.pkt = reader.Packet{
		Data:      data,
		Timestamp: ts,
		CapLen:    uint32(len(data)),
		WireLen:   wirelen,
		Iface:     iface,
		LinkType:  ifc.LinkType,
		Snaplen:   ifc.Snaplen,
		Number:    c.n,
	}
}

// nextInEntry sets c.pkt to the next packet of the batch or block being consumed.
func (c *Queue) nextInEntry() bool {
	e := &c.cur
	if e.kind == slotBlock {
		var p reader.Packet
		if !e.it.next(&p) {
			return false
		}
		c.handed[e.iface]++
		c.setPacket(e.iface, p.Data, p.Timestamp, p.WireLen)
		return true
	}
	if e.pos+batchHdrLen > e.lim {
		return false
	}
	h := c.q.buf[e.pos : e.pos+batchHdrLen]
	ts := int64(binary.LittleEndian.Uint64(h))
	caplen := uint64(binary.LittleEndian.Uint32(h[8:]))
	wirelen := binary.LittleEndian.Uint32(h[12:])
	start := e.pos + batchHdrLen
	e.pos = start + caplen
	c.setPacket(e.iface, c.q.buf[start:e.pos:e.pos], ts, wirelen)
	return true
}

// finishEntry frees the batch's room in the queue or returns the block to the kernel.
func (c *Queue) finishEntry() {
	e := &c.cur
	if e.kind == slotBlock {
		e.src.release(e.blk)
		e.src.unhold()
	} else {
		c.q.tail.Store(e.end)
	}
	*e = entry{}
}

// drainTime bounds how long readers go on after Stop collecting the packets captured
// before it: libpcap hands a batch over up to a packet buffer timeout late.
const drainTime = 300 * time.Millisecond

// Stop asks the readers to stop. They still take what the kernel captured before the
// call (for at most drainTime, or a ring's block timeout and 100 ms) and then end.
// It may be called from any goroutine, more than once. Next then returns the
// packets still queued and ends.
func (c *Queue) Stop() { c.stopAt.CompareAndSwap(0, time.Now().UnixNano()) }

// Wait waits until every reader has stopped (after Stop) and returns their counts,
// one per interface. Packets left in the queue are discarded. The consumer calls it
// once it no longer calls Next or Poll: it unmaps the AF_PACKET rings.
func (c *Queue) Wait() []Stats {
	c.Stop()
	c.wg.Wait()
	if !c.closed {
		c.closed = true
		if c.cur.kind == slotBlock {
			c.finishEntry()
		}
		for i, s := range c.srcs {
			if _, ok := s.(blockSource); ok {
				c.stats[i].Queued += c.handed[i]
				s.Close()
			}
		}
	}
	return c.stats
}
