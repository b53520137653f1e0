package capture

import (
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pcaptk/pcaptk/pkg/reader"
)

// QueueOptions size the queue between the libpcap readers and the consumer.
type QueueOptions struct {
	// QueueBytes is the memory for packet bytes waiting for the consumer; 0 means 64 MiB.
	QueueBytes int
	// QueuePackets is the most packets waiting for the consumer; 0 means 131072.
	QueuePackets int
}

// Stats are the counts of one interface of a Capture.
type Stats struct {
	LiveStats
	Queued      uint64 // packets read from libpcap and queued
	QueueDrops  uint64 // packets read from libpcap but dropped because the queue was full
	StatsFailed error  // why LiveStats are missing, if they are
}

// Queue reads several live handles at once, each in its own goroutine, into one
// bounded queue that the consumer empties with Next or Poll: a slow consumer (a disk,
// a file rotation) never stalls the reads. When the queue is full a packet is dropped
// and counted (Stats.QueueDrops). Packets come out in the order they were read.
//
//	l, err := capture.OpenLive("eth0", capture.LiveOptions{Filter: "tcp port 80"})
//	c := capture.StartQueue([]*capture.Live{l}, capture.QueueOptions{})
//	// on SIGINT: c.Stop()
//	for {
//		p, err := c.Poll(ticker.C) // nil, nil when the ticker fires first
//		if err != nil { break }    // io.EOF after Stop, or a read error
//		if p != nil { sink.WritePacket(p) } // p and p.Data valid until the next Poll
//	}
//	stats := c.Wait() // per interface: libpcap's counts and the queue's
//
// The Queue owns the Live handles and closes them; a single goroutine consumes.
type Queue struct {
	lives   []*Live
	ifaces  []reader.Interface
	q       queue
	stopAt  atomic.Int64 // when Stop was called (ns), 0 before
	abort   atomic.Bool  // stop reading at once
	wg      sync.WaitGroup
	errMu   sync.Mutex
	err     error
	stats   []Stats
	pkt     reader.Packet
	held    bool
	heldEnd uint64
	n       uint64
}

// queue is a byte ring that the readers fill (under mu, in the order they send on ch)
// and the single consumer frees in the same order, by moving tail forward.
type queue struct {
	mu   sync.Mutex
	buf  []byte
	head uint64        // bytes ever reserved (with the padding skipped at each wrap)
	tail atomic.Uint64 // bytes ever freed by the consumer
	ch   chan slot
}

type slot struct {
	start   uint32
	caplen  uint32
	wirelen uint32
	iface   uint32
	ts      int64
	end     uint64 // head after this packet: freeing it sets tail to end
}

// StartQueue starts reading every handle. The Queue owns them from then on and
// closes them when reading stops. Interface i of the packets is lives[i].
func StartQueue(lives []*Live, o QueueOptions) *Queue {
	if o.QueueBytes <= 0 {
		o.QueueBytes = 64 << 20
	}
	if o.QueuePackets <= 0 {
		o.QueuePackets = 128 << 10
	}
	c := &Queue{lives: lives, stats: make([]Stats, len(lives))}
	c.q.buf = make([]byte, o.QueueBytes)
	c.q.ch = make(chan slot, o.QueuePackets)
	for i, l := range lives {
		c.ifaces = append(c.ifaces, l.iface)
		c.wg.Add(1)
		go c.read(i, l)
	}
	go func() {
		c.wg.Wait()
		close(c.q.ch)
	}()
	return c
}

// Interfaces lists the interfaces, in the order given to StartQueue.
func (c *Queue) Interfaces() []reader.Interface { return c.ifaces }

func (c *Queue) read(i int, l *Live) {
	defer c.wg.Done()
	st := &c.stats[i]
	var queued, drops uint64
	for !c.abort.Load() {
		stopAt := c.stopAt.Load()
		if stopAt != 0 && time.Now().UnixNano() > stopAt+int64(drainTime) {
			break
		}
		p, err := l.Next()
		if err != nil {
			if err == ErrLiveTimeout {
				continue
			}
			if err != io.EOF {
				c.fail(err)
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
	var s slot
	var ok bool
	select {
	case s, ok = <-c.q.ch:
	default:
		select {
		case s, ok = <-c.q.ch:
		case <-wake:
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
	c.held, c.heldEnd = true, s.end
	c.n++
	ifc := &c.ifaces[s.iface]
	c.pkt = reader.Packet{
		Data:      c.q.buf[s.start : s.start+s.caplen : s.start+s.caplen],
		Timestamp: s.ts,
		CapLen:    s.caplen,
		WireLen:   s.wirelen,
		Iface:     int(s.iface),
		LinkType:  ifc.LinkType,
		Snaplen:   ifc.Snaplen,
		Number:    c.n,
	}
	return &c.pkt, nil
}

// drainTime bounds how long readers go on after Stop collecting the packets captured
// before it: libpcap hands a batch over up to a packet buffer timeout late.
const drainTime = 300 * time.Millisecond

// Stop asks the readers to stop. They still take what the kernel captured before the
// call (for at most drainTime) and then end. It may be called from any goroutine, more
// than once. Next then returns the packets still queued and ends.
func (c *Queue) Stop() { c.stopAt.CompareAndSwap(0, time.Now().UnixNano()) }

// Wait waits until every reader has stopped (after Stop) and returns their counts,
// one per interface. Packets left in the queue are discarded.
func (c *Queue) Wait() []Stats {
	c.Stop()
	c.wg.Wait()
	return c.stats
}
