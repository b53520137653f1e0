package capture

import (
	"bytes"
	"encoding/binary"
	"io"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pcaptk/pcaptk/pkg/reader"
	"github.com/pcaptk/pcaptk/pkg/writer"
)

// ringPkt is one packet as the kernel would put it in a TPACKET_V3 block.
type ringPkt struct {
	sec, nsec      uint32
	wirelen        uint32 // tp_len; 0: len(data)
	status         uint32
	vlanTCI        uint32
	vlanTPID       uint16
	protocol       uint16 // sll_protocol, in network order as the kernel stores it
	ifindex        int32
	hatype         uint16
	pkttype, halen uint8
	addr           [8]byte
	data           []byte
}

// testReserve is the room before each packet's data, as PACKET_RESERVE leaves it.
const testReserve = 16 + 8

// buildBlock lays packets out in a block of size bytes as the kernel does: the
// block descriptor, then for each packet its tpacket3_hdr, its sockaddr_ll, the
// reserved room and the data, each packet 16-byte aligned.
func buildBlock(size int, pkts []ringPkt) []byte {
	b := make([]byte, size)
	off := blkDescLen
	ne.PutUint32(b[blkStatusOff:], tpStatusUser)
	ne.PutUint32(b[blkNumPktsOff:], uint32(len(pkts)))
	ne.PutUint32(b[blkFirstPktOff:], uint32(off))
	for i, p := range pkts {
		h := b[off:]
		mac := pktHdrLen + sllLen + testReserve
		wl := p.wirelen
		if wl == 0 {
			wl = uint32(len(p.data))
		}
		ne.PutUint32(h[pktSecOff:], p.sec)
		ne.PutUint32(h[pktNsecOff:], p.nsec)
		ne.PutUint32(h[pktSnaplenOff:], uint32(len(p.data)))
		ne.PutUint32(h[pktLenOff:], wl)
		ne.PutUint32(h[pktStatusOff:], p.status|tpStatusUser)
		ne.PutUint16(h[pktMacOff:], uint16(mac))
		ne.PutUint32(h[pktVLANTCIOff:], p.vlanTCI)
		ne.PutUint16(h[pktVLANTPIDOff:], p.vlanTPID)
		sll := h[pktHdrLen:]
		ne.PutUint16(sll[0:], 17) // AF_PACKET
		binary.BigEndian.PutUint16(sll[2:], p.protocol)
		ne.PutUint32(sll[4:], uint32(p.ifindex))
		ne.PutUint16(sll[8:], p.hatype)
		sll[10], sll[11] = p.pkttype, p.halen
		copy(sll[12:20], p.addr[:])
		copy(h[mac:], p.data)
		next := (mac + len(p.data) + 15) &^ 15
		if i < len(pkts)-1 {
			ne.PutUint32(h[pktNextOff:], uint32(next))
		}
		off += next
	}
	ne.PutUint32(b[blkLenOff:], uint32(off))
	return b
}

func walk(blk []byte, f *ringFormat) []reader.Packet {
	var it blockIter
	it.reset(blk, f)
	var out []reader.Packet
	var p reader.Packet
	for it.next(&p) {
		q := p
		q.Data = append([]byte(nil), p.Data...)
		out = append(out, q)
	}
	return out
}

// The LINUX_SLL2 header of -i any, field by field as libpcap builds it.
func TestRingCookedHeader(t *testing.T) {
	f := &ringFormat{cooked: true, vlanOff: -1, snaplen: maxSnaplenTest, loIndex: 1}
	ip := []byte{0x45, 0, 0, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	blk := buildBlock(4096, []ringPkt{{
		sec: 1700000000, nsec: 123456789, protocol: 0x0800, ifindex: 0x01020304, hatype: 1,
		pkttype: 0 /* PACKET_HOST */, halen: 6, addr: [8]byte{0xde, 0xad, 0xbe, 0xef, 0, 1, 0xff, 0xee}, data: ip,
	}})
	got := walk(blk, f)
	if len(got) != 1 {
		t.Fatalf("%d packets", len(got))
	}
	want := []byte{
		0x08, 0x00, // protocol
		0, 0, // reserved
		0x01, 0x02, 0x03, 0x04, // interface index
		0x00, 0x01, // ARPHRD_ETHER
		0,                                        // packet type
		6,                                        // address length
		0xde, 0xad, 0xbe, 0xef, 0, 1, 0xff, 0xee, // address: all 8 bytes, as libpcap copies them
	}
	want = append(want, ip...)
	p := got[0]
	if !bytes.Equal(p.Data, want) {
		t.Errorf("data\n got % x\nwant % x", p.Data, want)
	}
	if p.CapLen != 40 || p.WireLen != 40 || p.Timestamp != 1700000000123456789 {
		t.Errorf("caplen %d wirelen %d ts %d", p.CapLen, p.WireLen, p.Timestamp)
	}
	// The snapshot length counts the header: libpcap cuts after adding it.
	f.snaplen = 30
	if p := walk(buildBlock(4096, []ringPkt{{protocol: 0x0800, data: ip, wirelen: 1500}}), f)[0]; p.CapLen != 30 ||
		len(p.Data) != 30 || p.WireLen != 1520 {
		t.Errorf("cut at 30: caplen %d len %d wirelen %d", p.CapLen, len(p.Data), p.WireLen)
	}
}

const maxSnaplenTest = 262144

// libpcap's direction rule: loopback's sent copies always go; -Q in drops sent
// packets, -Q out received ones; a CAN device's sent frames go unless -Q out.
func TestRingDirection(t *testing.T) {
	const lo, eth = 1, 2
	cases := []struct {
		pkttype uint8
		ifindex int32
		hatype  uint16
		dir     direction
		keep    bool
	}{
		{0, eth, 1, dirBoth, true},
		{packetOutgoing, eth, 1, dirBoth, true},
		{packetOutgoing, lo, 772, dirBoth, false},
		{0, lo, 772, dirBoth, true},
		{packetOutgoing, lo, 772, dirOut, false},
		{0, eth, 1, dirIn, true},
		{packetOutgoing, eth, 1, dirIn, false},
		{0, eth, 1, dirOut, false},
		{1 /* broadcast */, eth, 1, dirOut, false},
		{3 /* otherhost */, eth, 1, dirIn, true},
		{packetOutgoing, eth, 1, dirOut, true},
		{packetOutgoing, eth, arphrdCAN, dirBoth, false},
		{packetOutgoing, eth, arphrdCAN, dirOut, true},
	}
	for _, c := range cases {
		for _, cooked := range []bool{false, true} {
			f := &ringFormat{cooked: cooked, vlanOff: -1, snaplen: maxSnaplenTest, loIndex: lo, dir: c.dir}
			blk := buildBlock(4096, []ringPkt{{pkttype: c.pkttype, ifindex: c.ifindex, hatype: c.hatype,
				data: make([]byte, 60)}})
			if got := len(walk(blk, f)) == 1; got != c.keep {
				t.Errorf("%+v cooked %v: kept %v", c, cooked, got)
			}
		}
	}
	if _, err := parseDirection("sideways"); err == nil {
		t.Error("bad direction accepted")
	}
}

// A tag the kernel stripped goes back after the Ethernet addresses, with the
// TPID the kernel gave or 802.1Q when it gave none.
func TestRingVLAN(t *testing.T) {
	eth := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x08, 0x00, 0x45, 0}
	f := &ringFormat{vlanOff: 12, snaplen: maxSnaplenTest, loIndex: -1}
	cases := []struct {
		name   string
		status uint32
		tci    uint32
		tpid   uint16
		want   []byte // the 4 bytes put back; nil: none
	}{
		{"no tag", 0, 0, 0, nil},
		{"802.1ad", tpStatusVLANValid | tpStatusVLANTPIDValid, 0x2123, 0x88a8, []byte{0x88, 0xa8, 0x21, 0x23}},
		{"no tpid", tpStatusVLANValid, 0x0005, 0, []byte{0x81, 0x00, 0x00, 0x05}},
		{"vlan 0 flagged", tpStatusVLANValid, 0, 0, []byte{0x81, 0x00, 0, 0}},
		{"tci without flag", 0, 0x0007, 0x8100, []byte{0x81, 0x00, 0, 7}},
	}
	for _, c := range cases {
		got := walk(buildBlock(4096, []ringPkt{{status: c.status, vlanTCI: c.tci, vlanTPID: c.tpid, data: eth}}), f)[0]
		want := append([]byte(nil), eth[:12]...)
		want = append(want, c.want...)
		want = append(want, eth[12:]...)
		if !bytes.Equal(got.Data, want) || got.WireLen != uint32(len(want)) {
			t.Errorf("%s: % x (wirelen %d), want % x", c.name, got.Data, got.WireLen, want)
		}
	}
	// Cooked (LINUX_SLL2): libpcap puts no tag back.
	fc := &ringFormat{cooked: true, vlanOff: -1, snaplen: maxSnaplenTest, loIndex: -1}
	if got := walk(buildBlock(4096, []ringPkt{{status: tpStatusVLANValid, vlanTCI: 5, data: eth}}), fc)[0]; len(got.Data) != 20+len(eth) {
		t.Errorf("cooked packet with a tag: %d bytes", len(got.Data))
	}
}

// Headers that point outside the block end the walk: no panic, no wrong packet.
func TestRingMalformed(t *testing.T) {
	f := &ringFormat{cooked: true, vlanOff: -1, snaplen: maxSnaplenTest, loIndex: -1}
	good := buildBlock(1024, []ringPkt{{data: make([]byte, 100)}, {data: make([]byte, 100)}})
	mutate := []func(b []byte){
		func(b []byte) { ne.PutUint32(b[blkNumPktsOff:], 1000) },               // more packets than there are
		func(b []byte) { ne.PutUint32(b[blkFirstPktOff:], 5000) },              // first packet outside
		func(b []byte) { ne.PutUint32(b[blkDescLen+pktNextOff:], 0xfffffff0) }, // next outside
		func(b []byte) { ne.PutUint32(b[blkDescLen+pktSnaplenOff:], 1<<31) },   // data outside
		func(b []byte) { ne.PutUint16(b[blkDescLen+pktMacOff:], 3) },           // data over the header
		func(b []byte) { ne.PutUint16(b[blkDescLen+pktMacOff:], pktHdrLen+sllLen+4) },
	}
	for i, m := range mutate {
		b := append([]byte(nil), good...)
		m(b)
		for _, p := range walk(b, f) {
			if len(p.Data) != 120 {
				t.Errorf("case %d: packet of %d bytes", i, len(p.Data))
			}
		}
	}
	if n := len(walk(good[:20], f)); n != 0 {
		t.Errorf("short block: %d packets", n)
	}
}

// fakeRing is a blockSource whose blocks the test hands over.
type fakeRing struct {
	f        ringFormat
	blocks   [][]byte
	ready    chan int
	released chan int
	held     atomic.Int32
	mu       sync.Mutex
	closed   bool
}

func newFakeRing(blocks [][]byte) *fakeRing {
	return &fakeRing{f: ringFormat{vlanOff: 12, snaplen: maxSnaplenTest, loIndex: -1}, blocks: blocks,
		ready: make(chan int, len(blocks)), released: make(chan int, 64)}
}

func (r *fakeRing) Interface() reader.Interface {
	return reader.Interface{LinkType: 1, Snaplen: 262144}
}
func (r *fakeRing) Stats() (LiveStats, error) { return LiveStats{Received: 7}, nil }
func (r *fakeRing) Close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
}
func (r *fakeRing) format() *ringFormat         { return &r.f }
func (r *fakeRing) blockCount() int             { return len(r.blocks) }
func (r *fakeRing) blockTimeout() time.Duration { return 0 }
func (r *fakeRing) block(n int) []byte          { return r.blocks[n] }
func (r *fakeRing) release(n int)               { r.released <- n }
func (r *fakeRing) hold(n int) bool             { return r.held.CompareAndSwap(0, int32(n+1)) }
func (r *fakeRing) unhold()                     { r.held.Store(0) }
func (r *fakeRing) wait() (int, error) {
	select {
	case n, ok := <-r.ready:
		if !ok {
			return -1, io.EOF
		}
		return n, nil
	case <-time.After(5 * time.Millisecond):
		return -1, ErrLiveTimeout
	}
}

func seqPkts(from, n int, size int) []ringPkt {
	var ps []ringPkt
	for i := from; i < from+n; i++ {
		d := make([]byte, size)
		binary.BigEndian.PutUint32(d, uint32(i))
		ps = append(ps, ringPkt{sec: uint32(i), data: d})
	}
	return ps
}

func seqOf(p *reader.Packet) int { return int(binary.BigEndian.Uint32(p.Data)) }

// Blocks reach the consumer in order whether they go in place (the consumer idle)
// or copied (NoZeroCopy, or a queue too small for a block, which splits a block in
// two batches at the end of the byte ring); partly filled blocks give just their
// packets; every block goes back to the kernel once; Wait closes the ring.
func TestRingQueue(t *testing.T) {
	for _, c := range []struct {
		name       string
		zeroCopy   bool
		queueBytes int
	}{
		{"in place", true, 1 << 20},
		{"copied", false, 1 << 20},
		{"copied, wrapping", false, 3000},
	} {
		t.Run(c.name, func(t *testing.T) {
			blocks := [][]byte{
				buildBlock(8192, seqPkts(0, 10, 100)),
				buildBlock(8192, seqPkts(10, 3, 300)), // partly filled
				buildBlock(8192, seqPkts(13, 20, 60)),
				buildBlock(8192, nil), // the timer retired it empty
			}
			r := newFakeRing(blocks)
			q := StartQueue([]Source{r}, QueueOptions{QueueBytes: c.queueBytes, NoZeroCopy: !c.zeroCopy})
			want := 0
			for n, end := range []int{10, 13, 33, 33} {
				// The consumer takes each block's packets before the next comes, so
				// that the small queue never overflows.
				r.ready <- n
				for ; want < end; want++ {
					p, err := q.Next()
					if err != nil {
						t.Fatal(err)
					}
					if seqOf(p) != want || p.Timestamp != int64(want)*1e9 || p.Number != uint64(want+1) {
						t.Fatalf("packet %d: seq %d ts %d number %d", want, seqOf(p), p.Timestamp, p.Number)
					}
				}
			}
			close(r.ready)
			if _, err := q.Next(); err != io.EOF {
				t.Fatalf("after the last block: %v", err)
			}
			st := q.Wait()
			if st[0].Queued != 33 || st[0].QueueDrops != 0 || st[0].Received != 7 {
				t.Errorf("stats %+v", st[0])
			}
			seen := map[int]bool{}
			for len(r.released) > 0 {
				seen[<-r.released] = true
			}
			if len(seen) != 4 || !r.closed {
				t.Errorf("released %v, closed %v", seen, r.closed)
			}
		})
	}
}

// After Stop, a block's packets stamped at or after the stop are not delivered
// and the reader ends; a full queue drops and counts.
func TestRingQueueStopAndDrops(t *testing.T) {
	now := uint32(time.Now().Unix())
	pk := seqPkts(0, 6, 100)
	for i := range pk {
		pk[i].sec = now - 100 + uint32(i)*60 // 0, 1 before the stop; 2… after it
	}
	r := newFakeRing([][]byte{buildBlock(8192, pk)})
	q := StartQueue([]Source{r}, QueueOptions{})
	q.Stop()
	r.ready <- 0
	var got []int
	for {
		p, err := q.Next()
		if err != nil {
			break
		}
		got = append(got, seqOf(p))
	}
	if len(got) != 2 || got[0] != 0 || got[1] != 1 {
		t.Errorf("delivered %v, want [0 1]", got)
	}
	q.Wait()

	r = newFakeRing([][]byte{buildBlock(1<<16, seqPkts(0, 50, 500))})
	q = StartQueue([]Source{r}, QueueOptions{QueueBytes: 10 * (500 + batchHdrLen), NoZeroCopy: true})
	r.ready <- 0
	time.Sleep(50 * time.Millisecond)
	close(r.ready)
	n := 0
	for {
		if _, err := q.Next(); err != nil {
			break
		}
		n++
	}
	if st := q.Wait(); n != 10 || st[0].Queued != 10 || st[0].QueueDrops != 40 {
		t.Errorf("consumed %d, stats %+v; want 10 queued, 40 dropped", n, st[0])
	}
}

// A block handed over in place goes back to the kernel only after its last packet
// was taken; while the consumer holds it, the next block is copied.
func TestRingQueueHold(t *testing.T) {
	r := newFakeRing([][]byte{buildBlock(8192, seqPkts(0, 3, 100)), buildBlock(8192, seqPkts(3, 3, 100))})
	q := StartQueue([]Source{r}, QueueOptions{})
	// Wait until the consumer is idle so that the first block goes in place.
	go func() {
		for !q.q.idle.Load() {
			time.Sleep(time.Millisecond)
		}
		r.ready <- 0
		for r.held.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		r.ready <- 1
	}()
	p, err := q.Next()
	if err != nil || seqOf(p) != 0 {
		t.Fatalf("%v %v", p, err)
	}
	if r.held.Load() != 1 {
		t.Fatal("first block not held by the consumer")
	}
	// The second block is copied and released at once, the first is still held.
	if n := <-r.released; n != 1 {
		t.Fatalf("released block %d first", n)
	}
	for want := 1; want < 6; want++ {
		p, err := q.Next()
		if err != nil || seqOf(p) != want {
			t.Fatalf("packet %d: %v %v", want, p, err)
		}
		if want == 3 {
			if n := <-r.released; n != 0 || r.held.Load() != 0 {
				t.Fatalf("block 0 not released after its last packet (released %d)", n)
			}
		}
	}
	close(r.ready)
	q.Wait()
}

func TestRingQueueAllocs(t *testing.T) {
	blk := buildBlock(1<<16, seqPkts(0, 40, 1000))
	r := newFakeRing([][]byte{blk})
	c := newTestCapture(1<<20, 1024)
	c.srcs = []Source{r}
	c.handed = make([]uint64, 1)
	var it blockIter
	allocs := testing.AllocsPerRun(100, func() {
		it.reset(blk, &r.f)
		c.q.putBlock(0, &it, 0)
		for i := 0; i < 40; i++ {
			c.Poll(nil)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per block of 40 packets, want 0", allocs)
	}
}

// BenchmarkRingBlock is the consumer's cost per packet of a block copied into
// the queue (ns/op is per packet).
func BenchmarkRingBlock(b *testing.B) {
	blk := buildBlock(1<<18, seqPkts(0, 800, 200))
	f := &ringFormat{vlanOff: 12, snaplen: maxSnaplenTest, loIndex: -1}
	c := newTestCapture(64<<20, 1024)
	c.srcs = []Source{newFakeRing(nil)}
	c.handed = make([]uint64, 1)
	var it blockIter
	b.ReportAllocs()
	for i := 0; i < b.N; i += 800 {
		it.reset(blk, f)
		c.q.putBlock(0, &it, 0)
		for j := 0; j < 800; j++ {
			c.Poll(nil)
		}
	}
}

// heldWrites is a file that counts the writes made while the consumer holds
// a block of one of the rings.
type heldWrites struct {
	rings        []*fakeRing
	writes, held int
}

func (h *heldWrites) Write(b []byte) (int, error) {
	h.writes++
	for _, r := range h.rings {
		if r.held.Load() != 0 {
			h.held++
			break
		}
	}
	return len(b), nil
}

// writeAll is capture's pump for the tests: every packet of q to k until q
// ends, then q's counts, k closed.
func writeAll(t *testing.T, q *Queue, k *sink) (int, []Stats) {
	t.Helper()
	got := 0
	for {
		p, err := q.Next()
		if err != nil {
			break
		}
		if err := k.write(p); err != nil {
			t.Fatal(err)
		}
		got++
	}
	st := q.Wait()
	if err := k.close(); err != nil {
		t.Fatal(err)
	}
	return got, st
}

// With the sink's makeRoom as BeforeWait, the capture writes its file only
// between blocks, never while it holds one handed over in place (a slow write
// would keep the block from the kernel); without it, the buffered writer's
// flushes fall inside blocks, which shows the test can tell.
func TestRingQueueWritesBetweenBlocks(t *testing.T) {
	const blocks, rounds = 4, 48 // 4,800 packets: 2.5 MB of records, past the 1 MiB buffer twice
	for _, hook := range []bool{true, false} {
		var bs [][]byte
		for i := range blocks {
			bs = append(bs, buildBlock(1<<16, seqPkts(i*100, 100, 500)))
		}
		r := newFakeRing(bs)
		f := &heldWrites{rings: []*fakeRing{r}}
		w, err := writer.NewPcap(f, 1, 262144, false)
		if err != nil {
			t.Fatal(err)
		}
		k := &sink{single: w, flusher: w}
		o := QueueOptions{}
		if hook {
			o.BeforeWait = k.makeRoom
		}
		q := StartQueue([]Source{r}, o)
		go func() {
			for n := range rounds {
				for !q.q.idle.Load() || r.held.Load() != 0 {
					time.Sleep(50 * time.Microsecond)
				}
				r.ready <- n % blocks
				<-r.released // taken in place and written to the buffer, or copied
			}
			close(r.ready)
		}()
		got, st := writeAll(t, q, k)
		switch {
		case got != rounds*100 || st[0].QueueDrops != 0 || q.handed[0] != rounds*100:
			t.Fatalf("hook %v: %d packets, stats %+v", hook, got, st[0])
		case hook && (f.held != 0 || f.writes < 3):
			t.Errorf("with makeRoom: %d of %d writes while a block was held, want 0 of at least 3", f.held, f.writes)
		case !hook && f.held == 0:
			t.Errorf("without makeRoom: no write while a block was held (%d writes): the test cannot tell", f.writes)
		}
	}
}

// Two rings fed at once, without waiting for the consumer: blocks go in place
// or are copied as the consumer's state allows, and still no write happens
// while a block is held (a block is handed over only as the first entry after
// the consumer made room, never behind a copied batch).
func TestRingQueueWritesBetweenBlocksTwoRings(t *testing.T) {
	const blocks, rounds = 4, 64
	var rings []*fakeRing
	var srcs []Source
	for k := range 2 {
		var bs [][]byte
		for i := range blocks {
			bs = append(bs, buildBlock(1<<16, seqPkts((k*blocks+i)*100, 100, 500)))
		}
		r := newFakeRing(bs)
		rings, srcs = append(rings, r), append(srcs, r)
	}
	f := &heldWrites{rings: rings}
	w, err := writer.NewPcap(f, 1, 262144, false)
	if err != nil {
		t.Fatal(err)
	}
	k := &sink{single: w, flusher: w}
	q := StartQueue(srcs, QueueOptions{BeforeWait: k.makeRoom})
	for _, r := range rings {
		go func() {
			for n := range rounds {
				r.ready <- n % blocks
				<-r.released
			}
			close(r.ready)
		}()
	}
	got, st := writeAll(t, q, k)
	handed := q.handed[0] + q.handed[1]
	if got != 2*rounds*100 || st[0].QueueDrops+st[1].QueueDrops != 0 {
		t.Fatalf("%d packets, stats %+v %+v", got, st[0], st[1])
	}
	if f.held != 0 {
		t.Errorf("%d of %d writes while a block was held (%d packets taken in place)", f.held, f.writes, handed)
	}
	t.Logf("%d writes, %d of %d packets taken in place", f.writes, handed, got)
}

// When BeforeWait says no block should come in place (a rotation may fall in
// it, or -U), the readers copy every block, and the packets still come in
// order, once each.
func TestRingQueueNotInPlace(t *testing.T) {
	var bs [][]byte
	for i := range 4 {
		bs = append(bs, buildBlock(1<<16, seqPkts(i*100, 100, 500)))
	}
	r := newFakeRing(bs)
	calls := 0
	q := StartQueue([]Source{r}, QueueOptions{BeforeWait: func(int) bool { calls++; return false }})
	go func() {
		for n := range 8 {
			r.ready <- n % 4
			<-r.released
		}
		close(r.ready)
	}()
	for want := 0; ; want++ {
		p, err := q.Next()
		if err != nil {
			if want != 800 {
				t.Fatalf("%d packets, want 800", want)
			}
			break
		}
		if s := seqOf(p); s != want%400 {
			t.Fatalf("packet %d: seq %d", want, s)
		}
	}
	st := q.Wait()
	if q.handed[0] != 0 || st[0].Queued != 800 || calls == 0 {
		t.Errorf("%d packets taken in place, %d queued, BeforeWait called %d times; want 0, 800, some", q.handed[0], st[0].Queued, calls)
	}
}

// The sink's makeRoom: no block in place with -U or when a rotation may fall
// in the next block; otherwise in place, after a flush if the block might not
// fit in the buffer.
func TestSinkMakeRoom(t *testing.T) {
	f := &heldWrites{}
	w, err := writer.NewPcap(f, 1, 262144, false)
	if err != nil {
		t.Fatal(err)
	}
	k := &sink{single: w, flusher: w}
	if !k.makeRoom(1<<18) || f.writes != 0 {
		t.Errorf("empty buffer: in place %v after %d writes, want true after 0", k.makeRoom(1<<18), f.writes)
	}
	w.WritePacket(&reader.Packet{Data: make([]byte, 900<<10)})
	if !k.makeRoom(1<<18) || f.writes != 1 {
		t.Errorf("900 KiB buffered: %d writes, want the buffer written once", f.writes)
	}
	k.flushEach = true
	if k.makeRoom(1 << 18) {
		t.Error("-U: a block in place")
	}
	k.flushEach = false
	rot, err := writer.NewRotating(writer.RotateOptions{Path: filepath.Join(t.TempDir(), "r.pcap"), MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer rot.Close()
	k = &sink{single: rot, flusher: rot, rot: rot}
	rot.Open(time.Now())
	if !k.makeRoom(1 << 18) {
		t.Error("-C 1 MB, empty file: no block in place")
	}
	rot.WritePacket(&reader.Packet{Data: make([]byte, 800<<10)})
	if k.makeRoom(1 << 18) {
		t.Error("-C 1 MB, 800 KiB written: a 256 KiB block in place, which may cut the file")
	}
}
