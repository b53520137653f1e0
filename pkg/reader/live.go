package reader

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcap"
)

// LiveOptions configure a libpcap capture handle (see OpenLive).
type LiveOptions struct {
	// Snaplen is the number of bytes kept of each packet; 0 means 262144, as in tcpdump.
	Snaplen int
	// NoPromisc leaves the interface out of promiscuous mode (tcpdump -p).
	NoPromisc bool
	// BufferSize is the kernel capture buffer in bytes (tcpdump -B takes KiB); 0 keeps
	// libpcap's default (2 MiB).
	BufferSize int
	// Immediate delivers each packet as soon as it arrives instead of in batches.
	Immediate bool
	// Timeout is libpcap's packet buffer timeout: how long a partly filled batch may
	// wait before it is delivered. It also bounds how long Stop takes. 0 means 100 ms.
	Timeout time.Duration
	// Filter is a tcpdump filter expression run in the kernel; empty keeps everything.
	Filter string
}

// DefaultSnaplen is tcpdump's default snapshot length.
const DefaultSnaplen = 262144

// ErrNoInterface says a capture interface does not exist.
var ErrNoInterface = errors.New("no such interface")

// ErrPermission says the process may not capture: it needs root or CAP_NET_RAW.
var ErrPermission = errors.New("permission denied: capturing needs root or the CAP_NET_RAW " +
	"capability (as root: setcap cap_net_raw,cap_net_admin=eip pcaptk)")

// Live reads packets from one network interface through libpcap.
type Live struct {
	h     *pcap.Handle
	iface Interface
	pkt   Packet
	n     uint64
}

// OpenLive opens device ("any" for all interfaces) for capture. Its errors name the
// device; ErrNoInterface and ErrPermission can be matched with errors.Is.
func OpenLive(device string, o LiveOptions) (*Live, error) {
	if device != "any" {
		if _, err := net.InterfaceByName(device); err != nil {
			return nil, fmt.Errorf("interface %q: %w (pcaptk capture -D lists them)", device, ErrNoInterface)
		}
	}
	if o.Snaplen <= 0 {
		o.Snaplen = DefaultSnaplen
	}
	if o.Timeout <= 0 {
		o.Timeout = 100 * time.Millisecond
	}
	in, err := pcap.NewInactiveHandle(device)
	if err != nil {
		return nil, fmt.Errorf("interface %q: %w", device, err)
	}
	defer in.CleanUp()
	fail := func(what string, err error) (*Live, error) {
		return nil, fmt.Errorf("interface %q: %s: %w", device, what, err)
	}
	if err := in.SetSnapLen(o.Snaplen); err != nil {
		return fail("snaplen", err)
	}
	if err := in.SetPromisc(!o.NoPromisc); err != nil {
		return fail("promiscuous mode", err)
	}
	// A positive timeout makes reads return now and then even on a quiet link, so
	// that the reading goroutine sees Stop.
	if err := in.SetTimeout(o.Timeout); err != nil {
		return fail("timeout", err)
	}
	if o.BufferSize > 0 {
		if err := in.SetBufferSize(o.BufferSize); err != nil {
			return fail("buffer size", err)
		}
	}
	if o.Immediate {
		if err := in.SetImmediateMode(true); err != nil {
			return fail("immediate mode", err)
		}
	}
	h, err := in.Activate()
	if err != nil {
		return nil, activateError(device, err)
	}
	if o.Filter != "" {
		if err := h.SetBPFFilter(o.Filter); err != nil {
			h.Close()
			return fail(fmt.Sprintf("filter %q", o.Filter), err)
		}
	}
	resol := uint64(1e9)
	if h.Resolution() == gopacket.TimestampResolutionMicrosecond {
		resol = 1e6
	}
	l := &Live{h: h, iface: Interface{
		LinkType: uint16(h.LinkType()),
		Snaplen:  uint32(h.SnapLen()),
		Name:     device,
		Filter:   o.Filter,
		TSResol:  resol,
	}}
	l.pkt.Iface = 0
	l.pkt.LinkType = l.iface.LinkType
	l.pkt.Snaplen = l.iface.Snaplen
	return l, nil
}

// activateError turns pcap_activate's failures into messages that say what to do.
func activateError(device string, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "Permission Denied"), strings.Contains(msg, "Operation not permitted"),
		strings.Contains(msg, "permission"):
		return fmt.Errorf("interface %q: %w", device, ErrPermission)
	case strings.Contains(msg, "No Such Device"):
		return fmt.Errorf("interface %q: %w (pcaptk capture -D lists them)", device, ErrNoInterface)
	case strings.Contains(msg, "Not Up"):
		return fmt.Errorf("interface %q: interface is down (ip link set %s up)", device, device)
	}
	return fmt.Errorf("interface %q: %s", device, strings.TrimPrefix(msg, "Error: "))
}

// Interface describes the capture: link type, snaplen, name, filter.
func (l *Live) Interface() Interface { return l.iface }

// Next returns the next packet. It reuses its Packet and the Data points into
// libpcap's buffer: both are valid only until the next call. On a quiet link it
// returns ErrLiveTimeout after the packet buffer timeout; io.EOF once the handle is closed.
func (l *Live) Next() (*Packet, error) {
	data, ci, err := l.h.ZeroCopyReadPacketData()
	if err != nil {
		if err == pcap.NextErrorTimeoutExpired {
			return nil, ErrLiveTimeout
		}
		if err == io.EOF {
			return nil, io.EOF
		}
		if msg := l.h.Error(); msg != nil && msg.Error() != "" {
			return nil, fmt.Errorf("interface %q: %v", l.iface.Name, msg) // libpcap's own words
		}
		return nil, fmt.Errorf("interface %q: %w", l.iface.Name, err)
	}
	l.n++
	l.pkt.Data = data
	l.pkt.Timestamp = ci.Timestamp.UnixNano()
	l.pkt.CapLen = uint32(ci.CaptureLength)
	l.pkt.WireLen = uint32(ci.Length)
	l.pkt.Number = l.n
	return &l.pkt, nil
}

// ErrLiveTimeout is returned by Live.Next when no packet came within the timeout.
var ErrLiveTimeout = errors.New("no packet before the timeout")

// LiveStats are libpcap's counters for a handle (pcap_stats).
type LiveStats struct {
	Received  uint64 // packets that passed the filter ("received by filter")
	Dropped   uint64 // dropped by the kernel for lack of buffer space
	IfDropped uint64 // dropped by the network interface or its driver
}

// Stats returns libpcap's counters.
func (l *Live) Stats() (LiveStats, error) {
	s, err := l.h.Stats()
	if err != nil {
		return LiveStats{}, fmt.Errorf("interface %q: statistics: %w", l.iface.Name, err)
	}
	return LiveStats{Received: uint64(uint32(s.PacketsReceived)), Dropped: uint64(uint32(s.PacketsDropped)),
		IfDropped: uint64(uint32(s.PacketsIfDropped))}, nil
}

// Close releases the handle.
func (l *Live) Close() { l.h.Close() }

// Device is a network interface libpcap can capture on.
type Device struct {
	Name        string
	Description string
	Loopback    bool
	Up          bool
	Running     bool
	Wireless    bool
	Status      string // "Connected", "Disconnected", "" when unknown, "" when not applicable
}

// Flag bits of pcap_if_t, from pcap.h.
const (
	pcapIfLoopback     = 0x01
	pcapIfUp           = 0x02
	pcapIfRunning      = 0x04
	pcapIfWireless     = 0x08
	pcapIfStatusMask   = 0x30
	pcapIfConnected    = 0x10
	pcapIfDisconnected = 0x20
)

// Devices lists the interfaces available for capture, in libpcap's order.
func Devices() ([]Device, error) {
	ifs, err := pcap.FindAllDevs()
	if err != nil {
		return nil, fmt.Errorf("listing interfaces: %w", err)
	}
	out := make([]Device, 0, len(ifs))
	for _, i := range ifs {
		d := Device{Name: i.Name, Description: i.Description,
			Loopback: i.Flags&pcapIfLoopback != 0, Up: i.Flags&pcapIfUp != 0,
			Running: i.Flags&pcapIfRunning != 0, Wireless: i.Flags&pcapIfWireless != 0}
		switch i.Flags & pcapIfStatusMask {
		case pcapIfConnected:
			d.Status = "Connected"
		case pcapIfDisconnected:
			d.Status = "Disconnected"
		}
		out = append(out, d)
	}
	return out, nil
}

// CaptureOptions size the queue between the libpcap readers and the consumer.
type CaptureOptions struct {
	// QueueBytes is the memory for packet bytes waiting for the consumer; 0 means 64 MiB.
	QueueBytes int
	// QueuePackets is the most packets waiting for the consumer; 0 means 131072.
	QueuePackets int
}

// CaptureStats are the counts of one interface of a Capture.
type CaptureStats struct {
	LiveStats
	Queued      uint64 // packets read from libpcap and queued
	QueueDrops  uint64 // packets read from libpcap but dropped because the queue was full
	StatsFailed error  // why LiveStats are missing, if they are
}

// Capture reads several live handles at once, each in its own goroutine, into one
// bounded queue that the consumer empties with Next or Poll: a slow consumer (a disk,
// a file rotation) never stalls the reads. When the queue is full a packet is dropped
// and counted (CaptureStats.QueueDrops). Packets come out in the order they were read.
//
//	l, err := reader.OpenLive("eth0", reader.LiveOptions{Filter: "tcp port 80"})
//	c := reader.StartCapture([]*reader.Live{l}, reader.CaptureOptions{})
//	// on SIGINT: c.Stop()
//	for {
//		p, err := c.Poll(ticker.C) // nil, nil when the ticker fires first
//		if err != nil { break }    // io.EOF after Stop, or a read error
//		if p != nil { sink.WritePacket(p) } // p and p.Data valid until the next Poll
//	}
//	stats := c.Wait() // per interface: libpcap's counts and the queue's
//
// The Capture owns the Live handles and closes them; a single goroutine consumes.
type Capture struct {
	lives   []*Live
	ifaces  []Interface
	q       queue
	stopAt  atomic.Int64 // when Stop was called (ns), 0 before
	abort   atomic.Bool  // stop reading at once
	wg      sync.WaitGroup
	errMu   sync.Mutex
	err     error
	stats   []CaptureStats
	pkt     Packet
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

// StartCapture starts reading every handle. The Capture owns them from then on and
// closes them when reading stops. Interface i of the packets is lives[i].
func StartCapture(lives []*Live, o CaptureOptions) *Capture {
	if o.QueueBytes <= 0 {
		o.QueueBytes = 64 << 20
	}
	if o.QueuePackets <= 0 {
		o.QueuePackets = 128 << 10
	}
	c := &Capture{lives: lives, stats: make([]CaptureStats, len(lives))}
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

// Interfaces lists the interfaces, in the order given to StartCapture.
func (c *Capture) Interfaces() []Interface { return c.ifaces }

func (c *Capture) read(i int, l *Live) {
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
func (q *queue) put(iface uint32, p *Packet) bool {
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

func (c *Capture) fail(err error) {
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
func (c *Capture) Next() (*Packet, error) { return c.Poll(nil) }

// Poll is Next that also returns (nil, nil) when wake fires first, so that a consumer
// can act on a timer (close a file on time) while no packet comes.
func (c *Capture) Poll(wake <-chan time.Time) (*Packet, error) {
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
	c.pkt = Packet{
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
func (c *Capture) Stop() { c.stopAt.CompareAndSwap(0, time.Now().UnixNano()) }

// Wait waits until every reader has stopped (after Stop) and returns their counts,
// one per interface. Packets left in the queue are discarded.
func (c *Capture) Wait() []CaptureStats {
	c.Stop()
	c.wg.Wait()
	return c.stats
}
