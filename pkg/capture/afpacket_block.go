package capture

import (
	"encoding/binary"
	"time"

	"github.com/pcaptk/pcaptk/pkg/reader"
)

// The AF_PACKET TPACKET_V3 ring, as the kernel lays it out (linux/if_packet.h): a
// block is a block descriptor followed by packets, each a tpacket3_hdr, the
// sockaddr_ll of the packet and, at tp_mac, its bytes. Fields are in host order
// except the sockaddr_ll's protocol. This part only parses: it has no system
// calls, so that the rules libpcap applies to each packet are tested on blocks
// built in memory on any system.
const (
	blkStatusOff   = 8  // tpacket_block_desc.hdr.bh1.block_status
	blkNumPktsOff  = 12 // .num_pkts
	blkFirstPktOff = 16 // .offset_to_first_pkt
	blkLenOff      = 20 // .blk_len: bytes used, descriptor included
	blkDescLen     = 48 // sizeof(struct tpacket_block_desc)

	tpStatusKernel        = 0
	tpStatusUser          = 1
	tpStatusVLANValid     = 0x10
	tpStatusVLANTPIDValid = 0x40

	pktNextOff     = 0 // tpacket3_hdr.tp_next_offset
	pktSecOff      = 4
	pktNsecOff     = 8
	pktSnaplenOff  = 12
	pktLenOff      = 16
	pktStatusOff   = 20
	pktMacOff      = 24
	pktVLANTCIOff  = 32 // hv1.tp_vlan_tci
	pktVLANTPIDOff = 36 // hv1.tp_vlan_tpid
	pktHdrLen      = 48 // TPACKET_ALIGN(sizeof(struct tpacket3_hdr)): the sockaddr_ll follows
	sllLen         = 20 // sizeof(struct sockaddr_ll)

	sll2HdrLen     = 20  // the LINUX_SLL2 pseudo-header
	vlanTagLen     = 4   // a VLAN tag put back between the MAC addresses and the type
	packetOutgoing = 4   // sll_pkttype of a packet this host sent
	arphrdCAN      = 280 // CAN devices loop sent frames back as received ones

	linkTypeEthernet = 1
	linkTypeSLL2     = 276
)

var ne = binary.NativeEndian

// direction is -Q: which packets of an interface to keep.
type direction uint8

const (
	dirBoth direction = iota
	dirIn
	dirOut
)

// ringFormat is what turning the ring's packets into capture records needs,
// fixed when the socket is opened.
type ringFormat struct {
	// cooked: a SOCK_DGRAM socket (-i any) whose packets start at the network
	// header; a LINUX_SLL2 header is built in front of each from its sockaddr_ll.
	cooked bool
	// vlanOff is where a VLAN tag the kernel stripped goes back (12, after the
	// Ethernet addresses); -1 leaves it out, as libpcap does for LINUX_SLL2.
	vlanOff int
	snaplen uint32
	// loIndex is the loopback interface's index: the copy of each packet it sends
	// is dropped, as the same packet is also seen received. -1: no loopback.
	loIndex int32
	dir     direction
}

// keep is libpcap's direction rule (linux_check_direction in pcap-linux.c).
func (f *ringFormat) keep(pkttype uint8, ifindex int32, hatype uint16) bool {
	if pkttype == packetOutgoing {
		if ifindex == f.loIndex {
			return false
		}
		if hatype == arphrdCAN && f.dir != dirOut {
			return false
		}
		return f.dir != dirIn
	}
	return f.dir != dirOut
}

// blockIter walks the packets of one block the kernel has handed over. It
// writes into the block (the cooked header and the VLAN tag go in the room the
// kernel leaves before each packet, as PACKET_RESERVE asked), so a block is
// walked once.
type blockIter struct {
	f    *ringFormat
	blk  []byte
	left uint32 // packets not yet walked
	off  uint64 // offset of the next packet's header in blk
}

func (it *blockIter) reset(blk []byte, f *ringFormat) {
	it.f, it.blk, it.left, it.off = f, blk, 0, 0
	if len(blk) < blkDescLen {
		return
	}
	it.left = ne.Uint32(blk[blkNumPktsOff:])
	it.off = uint64(ne.Uint32(blk[blkFirstPktOff:]))
}

// next sets p's Data, Timestamp, CapLen and WireLen to the block's next packet
// that passes the direction rule; false at the end of the block. Data points
// into the block. A header pointing outside the block ends the walk: the kernel
// never writes one, and nothing it says is trusted to index memory.
func (it *blockIter) next(p *reader.Packet) bool {
	f := it.f
	for it.left > 0 {
		it.left--
		if it.off+pktHdrLen+sllLen > uint64(len(it.blk)) {
			it.left = 0
			return false
		}
		h := it.blk[it.off:]
		if nxt := ne.Uint32(h[pktNextOff:]); nxt != 0 {
			it.off += uint64(nxt)
		} else {
			it.left = 0
		}
		snap := ne.Uint32(h[pktSnaplenOff:])
		mac := uint64(ne.Uint16(h[pktMacOff:]))
		if mac < pktHdrLen+sllLen || mac+uint64(snap) > uint64(len(h)) {
			it.left = 0
			return false
		}
		sll := h[pktHdrLen : pktHdrLen+sllLen]
		pkttype, ifindex, hatype := sll[10], int32(ne.Uint32(sll[4:])), ne.Uint16(sll[8:])
		if !f.keep(pkttype, ifindex, hatype) {
			continue
		}
		start, caplen, wirelen := mac, snap, ne.Uint32(h[pktLenOff:])
		if f.cooked {
			if start < pktHdrLen+sllLen+sll2HdrLen {
				continue // no room for the header: libpcap fails the read, pcaptk skips the packet
			}
			start -= sll2HdrLen
			putSLL2(h[start:start+sll2HdrLen], sll)
			caplen += sll2HdrLen
			wirelen += sll2HdrLen
		}
		status := ne.Uint32(h[pktStatusOff:])
		tci := ne.Uint32(h[pktVLANTCIOff:])
		if f.vlanOff >= 0 && (tci != 0 || status&tpStatusVLANValid != 0) && snap >= uint32(f.vlanOff) &&
			start >= pktHdrLen+sllLen+vlanTagLen {
			tpid := ne.Uint16(h[pktVLANTPIDOff:])
			if tpid == 0 && status&tpStatusVLANTPIDValid == 0 {
				tpid = 0x8100 // kernels before 3.14 say nothing: 802.1Q
			}
			start -= vlanTagLen
			v := uint64(f.vlanOff)
			copy(h[start:start+v], h[start+vlanTagLen:start+vlanTagLen+v])
			binary.BigEndian.PutUint16(h[start+v:], tpid)
			binary.BigEndian.PutUint16(h[start+v+2:], uint16(tci))
			caplen += vlanTagLen
			wirelen += vlanTagLen
		}
		if caplen > f.snaplen {
			caplen = f.snaplen
		}
		end := start + uint64(caplen)
		p.Data = h[start:end:end]
		p.Timestamp = int64(ne.Uint32(h[pktSecOff:]))*1e9 + int64(ne.Uint32(h[pktNsecOff:]))
		p.CapLen = caplen
		p.WireLen = wirelen
		return true
	}
	return false
}

// putSLL2 writes the LINUX_SLL2 header of a packet from its sockaddr_ll, field by
// field as pcap-linux.c does: protocol (already in network order), reserved 0,
// interface index, ARPHRD type, packet type, address length, 8 address bytes.
func putSLL2(hdr, sll []byte) {
	hdr[0], hdr[1] = sll[2], sll[3]
	hdr[2], hdr[3] = 0, 0
	binary.BigEndian.PutUint32(hdr[4:], ne.Uint32(sll[4:]))
	binary.BigEndian.PutUint16(hdr[8:], ne.Uint16(sll[8:]))
	hdr[10] = sll[10]
	hdr[11] = sll[11]
	copy(hdr[12:20], sll[12:20])
}

// blockSource is a Source read a block at a time: the AF_PACKET ring.
type blockSource interface {
	Source
	format() *ringFormat
	blockCount() int
	// blockTimeout is how long the kernel may keep a partly filled block.
	blockTimeout() time.Duration
	// wait returns the next block in ring order once the kernel has handed it
	// over; ErrLiveTimeout when none came within the poll timeout.
	wait() (int, error)
	block(n int) []byte
	// release hands block n back to the kernel; any goroutine may call it.
	release(n int)
	// hold records that the consumer has block n, unless it has another: wait
	// must not return a held block again when the ring wraps before the consumer
	// is done with it. unhold ends the hold, after release.
	hold(n int) bool
	unhold()
}
