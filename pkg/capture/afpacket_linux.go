//go:build linux

package capture

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
	"golang.org/x/sys/unix"

	"github.com/pcaptk/pcaptk/pkg/reader"
)

// Why not gopacket's afpacket package: its TPacket binds the socket before the
// ring and filter exist (packets that do not match the filter get in), it does
// not expose the sockaddr_ll of a packet (the packet type for -Q and for
// dropping loopback's sent copies, the fields of the LINUX_SLL2 header for -i
// any) nor the descriptor to set PACKET_RESERVE, and its per-packet
// ZeroCopyReadPacketData releases a block as soon as the next packet is asked
// for, so a block cannot be handed to the writer while the reader goes on. Its
// per-packet cost, measured with BenchmarkRingRead on the same traffic, is in
// docs/capture.md. The ring here is libpcap's (pcap-linux.c) set-up, in Go.

// Ring reads one interface (or "any") through an AF_PACKET socket with a
// TPACKET_V3 memory-mapped ring: the kernel fills blocks of packets and hands
// each over whole, so reading costs a wake-up per block, not a call per packet.
// It is read by a Queue (StartQueue), which owns it.
type Ring struct {
	fd       int
	file     *os.File // fd, registered with Go's poller: waiting parks no thread
	rc       syscall.RawConn
	ring     []byte
	blkSize  int
	nBlocks  int
	next     int          // the next block to look at, in ring order (reader only)
	held     atomic.Int32 // 1 + the block the consumer holds, 0 for none
	fmt      ringFormat
	iface    reader.Interface
	poll     time.Duration
	tov      time.Duration // the kernel's block timeout
	promisc  bool
	sysfsDrp int64 // interface drops counted by the driver at open (-p not given)
	stats    LiveStats
	closed   bool
}

const (
	maxSnaplen   = 262144 // libpcap's MAXIMUM_SNAPLEN: the ring's "frame", one block
	defaultRing  = 2 << 20
	arphrdEther  = 1
	arphrdLoopbk = 772
)

// OpenRing opens device ("any" for all interfaces) on an AF_PACKET ring, set up
// as libpcap sets up its own: the ring is LiveOptions.BufferSize (2 MiB by
// default) in blocks of 256 KiB; LiveOptions.Timeout (100 ms) is how long the
// kernel keeps a partly filled block, 1 ms with Immediate; the filter is
// compiled by libpcap for the link type and runs in the kernel, attached before
// the socket receives anything. Its errors are OpenLive's; one that wraps
// errRingUnsupported means libpcap should do this capture (OpenSource then does).
func OpenRing(device string, o LiveOptions) (*Ring, error) {
	isAny := device == "any"
	ifindex := 0
	if !isAny {
		ifc, err := net.InterfaceByName(device)
		if err != nil {
			return nil, fmt.Errorf("interface %q: %w (pcaptk capture -D lists them)", device, ErrNoInterface)
		}
		ifindex = ifc.Index
	}
	dir, err := parseDirection(o.Direction)
	if err != nil {
		return nil, err
	}
	if o.LinkType != "" || o.Monitor || o.TimestampType != "" {
		// -y, -I and -j are libpcap's settings.
		return nil, fmt.Errorf("interface %q: data link type, monitor mode or time stamp type: %w", device, errRingUnsupported)
	}
	if strings.Contains(strings.ToLower(o.Filter), "vlan") {
		// libpcap compiles "vlan" for a live Linux socket with the kernel's VLAN
		// extensions (the kernel strips tags before the filter); a filter compiled
		// here would look for the tag in the packet.
		return nil, fmt.Errorf("interface %q: filter %q: %w", device, o.Filter, errRingUnsupported)
	}
	fail := func(what string, err error) (*Ring, error) {
		return nil, fmt.Errorf("interface %q: %s: %w", device, what, err)
	}
	typ := unix.SOCK_RAW
	if isAny {
		typ = unix.SOCK_DGRAM
	}
	// Protocol 0: the socket receives nothing until the last bind, so the ring
	// and the filter are in place before the first packet.
	fd, err := unix.Socket(unix.AF_PACKET, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		if err == unix.EPERM || err == unix.EACCES {
			return nil, fmt.Errorf("interface %q: %w", device, ErrPermission)
		}
		return fail("AF_PACKET socket", fmt.Errorf("%w: %w", errRingUnsupported, err))
	}
	r := &Ring{fd: fd, poll: o.Timeout, promisc: !o.NoPromisc && !isAny}
	ok := false
	defer func() {
		if !ok {
			r.Close()
		}
	}()
	r.fmt = ringFormat{cooked: isAny, vlanOff: 2 * 6, loIndex: -1, dir: dir}
	if lo, err := net.InterfaceByName("lo"); err == nil {
		r.fmt.loIndex = int32(lo.Index)
	}
	linkType := uint16(linkTypeEthernet)
	if isAny {
		linkType, r.fmt.vlanOff = linkTypeSLL2, -1
	} else {
		if err := ringLinkType(fd, device); err != nil {
			return nil, fmt.Errorf("interface %q: %w", device, err)
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: ifindex}); err != nil {
			return fail("bind", err)
		}
	}
	if r.promisc {
		mr := unix.PacketMreq{Ifindex: int32(ifindex), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mr); err != nil {
			return fail("promiscuous mode", err)
		}
		r.sysfsDrp = ifDrops(device)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1); err != nil && err != unix.ENOPROTOOPT {
		return fail("PACKET_AUXDATA", err)
	}
	snap := o.Snaplen
	if snap <= 0 || snap > maxSnaplen {
		snap = maxSnaplen
	}
	if isAny && snap < sll2HdrLen+1 {
		snap = sll2HdrLen + 1
	}
	r.fmt.snaplen = uint32(snap)
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return fail("TPACKET_V3", fmt.Errorf("%w: %w", errRingUnsupported, err))
	}
	// Room before each packet: the VLAN tag put back and, cooked, the part of the
	// LINUX_SLL2 header beyond the 16 bytes the kernel leaves anyway.
	reserve := vlanTagLen
	if isAny {
		reserve += sll2HdrLen - 16
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_RESERVE, reserve); err != nil {
		return fail("PACKET_RESERVE", err)
	}
	if err := r.mapRing(o); err != nil {
		return fail("ring", err)
	}
	prog, err := ringFilter(linkType, snap, o.Filter, isAny)
	if err != nil {
		return fail(fmt.Sprintf("filter %q", o.Filter), err)
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		return fail(fmt.Sprintf("filter %q", o.Filter), err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex}); err != nil {
		if err == unix.ENETDOWN {
			return nil, fmt.Errorf("interface %q: interface is down (ip link set %s up)", device, device)
		}
		return fail("bind", err)
	}
	if e, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); err == nil && e == int(unix.ENETDOWN) {
		return nil, fmt.Errorf("interface %q: interface is down (ip link set %s up)", device, device)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		return fail("non-blocking", err)
	}
	r.file = os.NewFile(uintptr(fd), "packet:"+device)
	if r.rc, err = r.file.SyscallConn(); err != nil {
		return fail("poller", err)
	}
	if r.poll <= 0 {
		r.poll = 100 * time.Millisecond
	}
	r.iface = reader.Interface{LinkType: linkType, Snaplen: uint32(snap), Name: device, Filter: o.Filter, TSResol: 1e9}
	ok = true
	return r, nil
}

// ringLinkType accepts the interfaces whose packets the ring gives as libpcap
// would give them, with link type Ethernet: ARPHRD_ETHER (not a DSA master,
// not one of the names libpcap treats apart) and loopback. libpcap does the rest.
func ringLinkType(fd int, device string) error {
	ifr, err := unix.NewIfreq(device)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNoInterface, err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFHWADDR, ifr); err != nil {
		return fmt.Errorf("hardware type: %w", err)
	}
	switch ifr.Uint16() {
	case arphrdLoopbk:
		return nil
	case arphrdEther:
		if _, err := os.Stat("/sys/class/net/" + device + "/dsa/tagging"); err == nil {
			break
		}
		for _, p := range []string{"cdma_rmnet", "isdn", "isdY"} {
			if strings.HasPrefix(device, p) {
				return errRingUnsupported
			}
		}
		return nil
	}
	return fmt.Errorf("link type %d: %w", ifr.Uint16(), errRingUnsupported)
}

// mapRing creates and maps the ring: libpcap's sizes, and its retry with 5% less
// when the kernel cannot find the memory.
func (r *Ring) mapRing(o LiveOptions) error {
	size := o.BufferSize
	if size <= 0 {
		size = defaultRing
	}
	blk := os.Getpagesize()
	for blk < maxSnaplen {
		blk <<= 1
	}
	nr := (size + maxSnaplen - 1) / maxSnaplen
	for {
		tov := ringTimeout(o, nr)
		r.tov = time.Duration(tov) * time.Millisecond
		req := unix.TpacketReq3{Block_size: uint32(blk), Block_nr: uint32(nr), Frame_size: maxSnaplen,
			Frame_nr: uint32(nr * (blk / maxSnaplen)), Retire_blk_tov: tov}
		err := unix.SetsockoptTpacketReq3(r.fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req)
		if err == unix.ENOMEM && nr > 1 {
			if nr < 20 {
				nr--
			} else {
				nr -= nr / 20
			}
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	m, err := unix.Mmap(r.fd, 0, blk*nr, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return err
	}
	r.ring, r.blkSize, r.nBlocks = m, blk, nr
	return nil
}

// ringTimeout is the block timeout in ms: LiveOptions.Timeout, else 100 ms
// for rings of smallRing blocks or more and tcpdump's 1,000 ms for smaller ones;
// 1 ms with Immediate. The kernel's timer closes the block being filled each
// time it expires, however full; the next block must then be free at once. With
// two blocks and 100 ms, pcaptk dropped 0-86 packets a run at 100,000 packets/s
// (four runs) where tcpdump, at 1,000 ms, dropped 0-1; with 1,000 ms, 0 in all
// four. Past eight blocks the early closing costs nothing measurable, and 100
// ms brings a quiet link's packets to the file sooner.
func ringTimeout(o LiveOptions, blocks int) uint32 {
	switch {
	case o.Immediate:
		return 1
	case o.Timeout > 0:
		return uint32(max(o.Timeout/time.Millisecond, 1))
	case blocks < smallRing:
		return 1000
	}
	return 100
}

// smallRing is the fewest blocks for which the block timeout is 100 ms.
const smallRing = 8

// Ancillary loads of the kernel's socket filter (linux/filter.h).
const (
	skfAdOff      = 0xfffff000 // SKF_AD_OFF, -4096
	skfAdProtocol = 0
	skfAdPkttype  = 4
	skfAdIfindex  = 8
)

// ringFilter compiles expr as libpcap does for the socket: for the link type and
// snapshot length; "" keeps every packet and still cuts it at the snapshot
// length in the kernel. A cooked socket's filter is rewritten as pcap-linux.c's
// fix_offset does: the kernel sees packets from their network header, so
// offsets past the LINUX_SLL2 header move back by its length, and loads of its
// protocol, interface index and packet type become the kernel's ancillary
// loads. A filter that reads other header fields would have to run in user
// space: libpcap runs it then.
func ringFilter(linkType uint16, snap int, expr string, cooked bool) ([]unix.SockFilter, error) {
	ins, err := pcap.CompileBPFFilter(layers.LinkType(linkType), snap, expr)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errRingUnsupported, err)
	}
	if len(ins) == 0 || len(ins) > 0xffff {
		return nil, fmt.Errorf("%w: %d instructions", errRingUnsupported, len(ins))
	}
	prog := make([]unix.SockFilter, len(ins))
	for i, in := range ins {
		prog[i] = unix.SockFilter{Code: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	if cooked {
		if err := fixCooked(prog); err != nil {
			return nil, err
		}
	}
	return prog, nil
}

func fixCooked(prog []unix.SockFilter) error {
	for i := range prog {
		p := &prog[i]
		class, mode := p.Code&0x07, p.Code&0xe0
		if (class != unix.BPF_LD && class != unix.BPF_LDX) ||
			(mode != unix.BPF_ABS && mode != unix.BPF_IND && mode != unix.BPF_MSH) {
			continue
		}
		switch k := p.K; {
		case k >= skfAdOff:
		case k >= sll2HdrLen:
			p.K -= sll2HdrLen
		case k == 0:
			p.K = skfAdOff + skfAdProtocol
		case k == 4:
			p.K = skfAdOff + skfAdIfindex
		case k == 10:
			p.K = skfAdOff + skfAdPkttype
		case int32(k) > 0:
			return fmt.Errorf("%w: the filter reads LINUX_SLL2 header bytes the kernel does not have", errRingUnsupported)
		}
	}
	return nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// ifDrops is what libpcap counts as "dropped by interface": the driver's missed
// and FIFO errors.
func ifDrops(device string) int64 {
	get := func(name string) int64 {
		b, err := os.ReadFile("/sys/class/net/" + device + "/statistics/" + name)
		if err != nil {
			return 0
		}
		v, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		return v
	}
	return get("rx_missed_errors") + get("rx_fifo_errors")
}

// Interface describes the capture: link type, snaplen, name, filter.
func (r *Ring) Interface() reader.Interface { return r.iface }

func (r *Ring) format() *ringFormat { return &r.fmt }
func (r *Ring) blockTimeout() time.Duration {
	return r.tov
}
func (r *Ring) blockCount() int { return r.nBlocks }

func (r *Ring) block(n int) []byte {
	return r.ring[n*r.blkSize : (n+1)*r.blkSize : (n+1)*r.blkSize]
}

func (r *Ring) status(n int) *uint32 {
	return (*uint32)(unsafe.Pointer(&r.ring[n*r.blkSize+blkStatusOff]))
}

func (r *Ring) ready(n int) bool {
	return atomic.LoadUint32(r.status(n))&tpStatusUser != 0 && r.held.Load() != int32(n+1)
}

func (r *Ring) release(n int) { atomic.StoreUint32(r.status(n), tpStatusKernel) }

func (r *Ring) hold(n int) bool { return r.held.CompareAndSwap(0, int32(n+1)) }
func (r *Ring) unhold()         { r.held.Store(0) }

func (r *Ring) wait() (int, error) {
	n := r.next
	if !r.ready(n) {
		if err := r.file.SetReadDeadline(time.Now().Add(r.poll)); err != nil {
			return -1, fmt.Errorf("interface %q: %w", r.iface.Name, err)
		}
		err := r.rc.Read(func(uintptr) bool { return r.ready(n) })
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			return -1, ErrLiveTimeout
		case errors.Is(err, os.ErrClosed):
			return -1, io.EOF
		case err != nil:
			return -1, fmt.Errorf("interface %q: %w", r.iface.Name, err)
		}
	}
	r.next = (n + 1) % r.nBlocks
	return n, nil
}

// Stats returns the kernel's counts as libpcap reports them: PACKET_STATISTICS
// (which the kernel zeroes at each read, hence the running totals; its packet
// count already includes the drops) and, in promiscuous mode, the driver's drops
// since the ring was opened.
func (r *Ring) Stats() (LiveStats, error) {
	s, err := unix.GetsockoptTpacketStatsV3(r.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return LiveStats{}, fmt.Errorf("interface %q: statistics: %w", r.iface.Name, err)
	}
	r.stats.Received += uint64(s.Packets)
	r.stats.Dropped += uint64(s.Drops)
	if r.promisc {
		now := ifDrops(r.iface.Name)
		r.stats.IfDropped += uint64(uint32(now - r.sysfsDrp))
		r.sysfsDrp = now
	}
	return r.stats, nil
}

// Close unmaps the ring and closes the socket.
func (r *Ring) Close() {
	if r.closed {
		return
	}
	r.closed = true
	if r.ring != nil {
		unix.Munmap(r.ring)
		r.ring = nil
	}
	if r.file != nil {
		r.file.Close()
	} else {
		unix.Close(r.fd)
	}
}
