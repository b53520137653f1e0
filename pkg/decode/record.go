package decode

// Layer names how far decoding got.
type Layer uint8

const (
	LayerNone      Layer = iota
	LayerLink            // link header
	LayerNetwork         // IPv4/IPv6/ARP header
	LayerTransport       // TCP/UDP/ICMP header
	LayerOptions         // TCP options
	LayerPayload         // payload
)

// Record is one decoded packet, flat, written by Decode into a caller-owned value
// so that decoding allocates nothing. Offsets index the packet's Data; they stay
// valid only as long as that buffer.
type Record struct {
	LinkType uint16
	// WireLen is the packet's length on the wire, as given to Decode. Where an
	// IP header claims more bytes than the frame carried, tshark's dissectors
	// cut the datagram at the frame's end (pkg/analysis needs that length).
	WireLen int
	// Ethernet (and the Ethernet-like header inside Linux cooked captures)
	HasEth  bool
	EthDst  [6]byte
	EthSrc  [6]byte
	EthType uint16    // innermost ethertype after VLAN tags
	VLANs   [4]uint32 // TPID<<16 | TCI of each tag, outermost first
	NVLAN   int
	// Linux cooked capture v1/v2
	HasSLL     bool
	SLLVersion uint8
	SLLPktType uint16 // 0 host, 1 broadcast, 2 multicast, 3 otherhost, 4 outgoing
	SLLIfIndex uint32 // v2 only
	SLLHAType  uint16
	SLLAddrLen uint8
	SLLAddr    [8]byte
	// BSD loopback / null
	LoopFamily uint32

	// Network layer
	NetOff    int    // offset of the network header in Data
	NetType   uint16 // ethertype of the network layer: 0x0800, 0x86dd, 0x0806, ...
	IPVersion uint8  // 4 or 6, 0 when not IP
	SrcIP     [16]byte
	DstIP     [16]byte // IPv4 addresses in the first 4 bytes
	IPHdrLen  int      // IPv4 header or IPv6 header plus extension headers
	IPLen     int      // IPv4 total length / IPv6 40+payload length (0 for jumbo)
	TOS       uint8    // IPv4 TOS / IPv6 traffic class
	TTL       uint8    // TTL / hop limit
	IPID      uint16
	IPFlags   uint8  // IPv4 flags (DF=2, MF=1); IPv6 fragment header: MF=1
	FragOff   uint16 // fragment offset in 8-byte units
	FlowLabel uint32
	IPOptLen  int   // IPv4 options bytes
	Proto     uint8 // transport protocol (after IPv6 extension headers)
	IPCsum    uint16
	// L4Len is the transport length the IP header implies (IPv4 total length minus
	// header, IPv6 payload length minus extension headers): what tcpdump's
	// transport printers receive as "length".
	L4Len int
	// End is where the packet's meaningful bytes end: the captured length cut at the
	// IP datagram's end, so link-layer padding is never read as payload.
	End int
	// IPBadLen is set when the IPv4 total length is smaller than its header
	// (tcpdump prints "bad-len N" and stops).
	IPBadLen bool
	// Fragment: IPv4 offset != 0 or IPv6 fragment header with offset != 0. Only the
	// first fragment carries the transport header.
	LaterFragment bool
	// HasFragHdr: an IPv6 fragment header was seen (FragID holds its identification).
	HasFragHdr bool
	FragID     uint32
	// NExt counts IPv6 extension headers before the transport header; ExtTypes holds
	// the first few of their next-header values.
	NExt     int
	ExtTypes [4]uint8

	// Transport layer
	TransOff int // offset of the transport header in Data
	HasTCP   bool
	HasUDP   bool
	HasICMP  bool // ICMP or ICMPv6
	SrcPort  uint16
	DstPort  uint16
	// TCP header
	Seq     uint32
	Ack     uint32
	DataOff uint8  // header length in bytes
	Flags   uint16 // 12 flag bits: CWR=0x80 ECE=0x40 URG=0x20 ACK=0x10 PSH=0x08 RST=0x04 SYN=0x02 FIN=0x01, AE=0x100
	Window  uint16
	TCPCsum uint16
	Urgent  uint16
	OptOff  int // offset of TCP options in Data
	OptLen  int // bytes of TCP options captured (may be less than DataOff-20 when truncated)
	// TCP options, parsed
	HasMSS    bool
	MSS       uint16
	HasWScale bool
	WScale    uint8
	SACKOK    bool
	HasTS     bool
	TSVal     uint32
	TSEcr     uint32
	NSACK     int
	SACK      [4]SACKBlock
	// UDP header
	UDPLen uint16
	// ICMP header
	ICMPType uint8
	ICMPCode uint8
	ICMPID   uint16
	ICMPSeq  uint16

	// Payload of the transport protocol
	PayloadOff int // offset of the payload in Data
	PayloadLen int // payload length as the IP header says (tcpdump's "length N")
	PayloadCap int // payload bytes actually captured

	// Truncated is the layer at which the captured bytes ran out (LayerNone: complete).
	Truncated Layer
}

// SACKBlock is one SACK edge pair.
type SACKBlock struct{ Left, Right uint32 }

// TCP flag bits as in Record.Flags.
const (
	FIN = 0x01
	SYN = 0x02
	RST = 0x04
	PSH = 0x08
	ACK = 0x10
	URG = 0x20
	ECE = 0x40
	CWR = 0x80
	AE  = 0x100
)
