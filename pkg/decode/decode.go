package decode

import "encoding/binary"

// Link types (LINKTYPE_* values as stored in pcap and pcapng files).
const (
	LinkNull       = 0   // BSD loopback, host byte order family
	LinkEthernet   = 1   // Ethernet, with or without 802.1Q/802.1ad tags
	LinkRawOld     = 12  // raw IP (DLT_RAW as some systems store it)
	LinkRawOld2    = 14  // raw IP (DLT_RAW on OpenBSD)
	LinkRaw        = 101 // raw IP
	LinkCHDLC      = 104 // Cisco HDLC
	LinkLoop       = 108 // OpenBSD loopback, network byte order family
	LinkLinuxSLL   = 113 // Linux cooked capture v1
	LinkArcnetLinx = 129 // ARCnet, Linux header
	LinkIPv4       = 228 // raw IPv4
	LinkIPv6       = 229 // raw IPv6
	LinkLinuxSLL2  = 276 // Linux cooked capture v2
)

// Decodes reports whether Decode knows the link type's header (LINKTYPE_).
func Decodes(linkType uint16) bool {
	switch linkType {
	case LinkNull, LinkEthernet, LinkRawOld, LinkRawOld2, LinkRaw, LinkCHDLC, LinkLoop,
		LinkLinuxSLL, LinkArcnetLinx, LinkIPv4, LinkIPv6, LinkLinuxSLL2:
		return true
	}
	return false
}

// Ethertypes.
const (
	EtherTypeIPv4  = 0x0800
	EtherTypeARP   = 0x0806
	EtherTypeVLAN  = 0x8100
	EtherTypeQinQ  = 0x88a8
	EtherTypeQinQ2 = 0x9100
	EtherTypeIPv6  = 0x86dd
)

// IP protocol numbers.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

var be = binary.BigEndian

// Decode decodes data, a packet captured on a link of type linkType with wireLen
// bytes on the wire, into rec. It never allocates and never reads past data: a
// packet cut short decodes as far as it goes and rec.Truncated names the layer at
// which the bytes ran out.
func Decode(linkType uint16, data []byte, wireLen uint32, rec *Record) {
	*rec = Record{LinkType: linkType, WireLen: int(wireLen), End: len(data)}
	off, netType, ok := decodeLink(linkType, data, rec)
	if !ok {
		rec.Truncated = LayerLink
		return
	}
	rec.NetOff = off
	rec.NetType = netType
	switch netType {
	case EtherTypeIPv4:
		decodeIPv4(data, off, int(wireLen), rec)
	case EtherTypeIPv6:
		decodeIPv6(data, off, rec)
	}
}

// decodeLink parses the link header and returns the offset of the network header
// and its ethertype (0 when it is not one we decode).
func decodeLink(linkType uint16, data []byte, rec *Record) (int, uint16, bool) {
	switch linkType {
	case LinkEthernet:
		if len(data) < 14 {
			return 0, 0, false
		}
		rec.HasEth = true
		copy(rec.EthDst[:], data[0:6])
		copy(rec.EthSrc[:], data[6:12])
		off := 12
		et := be.Uint16(data[off:])
		for (et == EtherTypeVLAN || et == EtherTypeQinQ || et == EtherTypeQinQ2) && rec.NVLAN < len(rec.VLANs) {
			if len(data) < off+6 {
				rec.EthType = et
				return 0, 0, false
			}
			rec.VLANs[rec.NVLAN] = uint32(et)<<16 | uint32(be.Uint16(data[off+2:]))
			rec.NVLAN++
			off += 4
			et = be.Uint16(data[off:])
		}
		rec.EthType = et
		if et <= 1500 { // 802.3 length field: LLC follows, not decoded
			return off + 2, 0, true
		}
		return off + 2, et, true
	case LinkLinuxSLL:
		if len(data) < 16 {
			return 0, 0, false
		}
		rec.HasSLL, rec.SLLVersion = true, 1
		rec.SLLPktType = be.Uint16(data[0:])
		rec.SLLHAType = be.Uint16(data[2:])
		rec.SLLAddrLen = uint8(min(be.Uint16(data[4:]), 255))
		copy(rec.SLLAddr[:], data[6:14])
		rec.EthType = be.Uint16(data[14:])
		return 16, rec.EthType, true
	case LinkLinuxSLL2:
		if len(data) < 20 {
			return 0, 0, false
		}
		rec.HasSLL, rec.SLLVersion = true, 2
		rec.EthType = be.Uint16(data[0:])
		rec.SLLIfIndex = be.Uint32(data[4:])
		rec.SLLHAType = be.Uint16(data[8:])
		rec.SLLPktType = uint16(data[10])
		rec.SLLAddrLen = data[11]
		copy(rec.SLLAddr[:], data[12:20])
		return 20, rec.EthType, true
	case LinkRaw, LinkRawOld, LinkRawOld2:
		if len(data) < 1 {
			return 0, 0, false
		}
		switch data[0] >> 4 {
		case 4:
			return 0, EtherTypeIPv4, true
		case 6:
			return 0, EtherTypeIPv6, true
		}
		return 0, 0, true
	case LinkIPv4:
		return 0, EtherTypeIPv4, true
	case LinkIPv6:
		return 0, EtherTypeIPv6, true
	case LinkNull, LinkLoop:
		if len(data) < 4 {
			return 0, 0, false
		}
		fam := be.Uint32(data)
		if linkType == LinkNull && fam&0xffff == 0 {
			// Written in the capturing host's byte order: a little-endian host.
			fam = binary.LittleEndian.Uint32(data)
		}
		rec.LoopFamily = fam
		switch fam {
		case 2:
			return 4, EtherTypeIPv4, true
		case 24, 28, 30: // AF_INET6 on NetBSD/OpenBSD, FreeBSD, Darwin
			return 4, EtherTypeIPv6, true
		}
		return 4, 0, true
	case LinkCHDLC:
		if len(data) < 4 {
			return 0, 0, false
		}
		rec.EthType = be.Uint16(data[2:])
		return 4, rec.EthType, true
	case LinkArcnetLinx:
		return decodeArcnetLinux(data, rec)
	}
	return 0, 0, true
}

// ARCnet protocol ids (RFC 1201 and the older RFC 1051 ones).
const (
	arcTypeIPOld   = 0xf0
	arcTypeARPOld  = 0xf1
	arcTypeIP      = 0xd4
	arcTypeARP     = 0xd5
	arcTypeINET6   = 0xc4
	arcTypeDiag    = 0x80
	arcTypeATalk   = 0xdd
	arcTypeBanyan  = 0xe8
	arcTypeIPX     = 0xfa
	arcTypeREVARP  = 0xd6
	arcLinuxHdr    = 4 // source, destination, 2-byte offset
	arcNewHdrExtra = 4 // protocol, split flag, 2-byte sequence id
)

func decodeArcnetLinux(data []byte, rec *Record) (int, uint16, bool) {
	if len(data) < arcLinuxHdr+1 {
		return 0, 0, false
	}
	typ := data[arcLinuxHdr]
	hdr := arcLinuxHdr + 1
	switch typ {
	case arcTypeIPOld, arcTypeARPOld, arcTypeDiag:
	default:
		// RFC 1201 framing: split flag and sequence id follow; flag 0xff marks an
		// exception packet with four more bytes.
		hdr = arcLinuxHdr + arcNewHdrExtra
		if len(data) < hdr {
			return 0, 0, false
		}
		if data[arcLinuxHdr+1] == 0xff {
			hdr += 4
			if len(data) < hdr {
				return 0, 0, false
			}
		}
	}
	switch typ {
	case arcTypeIP, arcTypeIPOld:
		return hdr, EtherTypeIPv4, true
	case arcTypeINET6:
		return hdr, EtherTypeIPv6, true
	case arcTypeARP, arcTypeARPOld:
		return hdr, EtherTypeARP, true
	}
	return hdr, 0, true
}

func decodeIPv4(data []byte, off, wireLen int, rec *Record) {
	if len(data) < off+20 || data[off]>>4 != 4 {
		if len(data) < off+20 {
			rec.Truncated = LayerNetwork
		}
		return
	}
	h := data[off:]
	hlen := int(h[0]&0x0f) * 4
	rec.IPVersion = 4
	rec.TOS = h[1]
	rec.IPLen = int(be.Uint16(h[2:]))
	rec.IPID = be.Uint16(h[4:])
	fo := be.Uint16(h[6:])
	rec.IPFlags = uint8(fo >> 13)
	rec.FragOff = fo & 0x1fff
	rec.TTL = h[8]
	rec.Proto = h[9]
	rec.IPCsum = be.Uint16(h[10:])
	copy(rec.SrcIP[:4], h[12:16])
	copy(rec.DstIP[:4], h[16:20])
	rec.IPHdrLen = hlen
	ipLen := rec.IPLen
	if hlen < 20 || ipLen < hlen {
		rec.IPBadLen = true
		if hlen < 20 || ipLen != 0 {
			return
		}
		// Total length 0: a segment captured before TCP segmentation
		// offload split it. tcpdump stops at "bad-len 0"; tshark (and so
		// pcaptk's tables) take the datagram to run to the frame's end.
		if ipLen = wireLen - off; ipLen < hlen {
			return
		}
	}
	rec.IPOptLen = hlen - 20
	if end := off + ipLen; end < rec.End {
		rec.End = end
	}
	if rec.End < off+hlen {
		rec.Truncated = LayerNetwork
		return
	}
	rec.L4Len = ipLen - hlen
	if rec.FragOff != 0 {
		rec.LaterFragment = true
		return
	}
	decodeTransport(data, off+hlen, rec)
}

// IPv6 extension headers that are walked to reach the transport header.
const (
	ip6HopByHop = 0
	ip6Routing  = 43
	ip6Fragment = 44
	ip6AH       = 51
	ip6DestOpts = 60
	ip6Mobility = 135
	ip6NoNext   = 59
)

func decodeIPv6(data []byte, off int, rec *Record) {
	if len(data) < off+40 || data[off]>>4 != 6 {
		if len(data) < off+40 {
			rec.Truncated = LayerNetwork
		}
		return
	}
	h := data[off:]
	rec.IPVersion = 6
	vtf := be.Uint32(h)
	rec.TOS = uint8(vtf >> 20)
	rec.FlowLabel = vtf & 0xfffff
	plen := int(be.Uint16(h[4:]))
	rec.IPLen = 40 + plen
	nh := h[6]
	rec.TTL = h[7]
	copy(rec.SrcIP[:], h[8:24])
	copy(rec.DstIP[:], h[24:40])
	if end := off + rec.IPLen; end < rec.End {
		rec.End = end
	}
	p := off + 40
	for {
		switch nh {
		case ip6HopByHop, ip6Routing, ip6DestOpts, ip6Mobility, ip6AH, ip6Fragment:
		default:
			rec.Proto = nh
			rec.IPHdrLen = p - off
			rec.L4Len = rec.IPLen - rec.IPHdrLen
			if rec.L4Len < 0 {
				rec.L4Len = 0
			}
			if rec.LaterFragment {
				return
			}
			if p > rec.End {
				rec.Truncated = LayerNetwork
				return
			}
			decodeTransport(data, p, rec)
			return
		}
		if rec.NExt < len(rec.ExtTypes) {
			rec.ExtTypes[rec.NExt] = nh
		}
		rec.NExt++
		if rec.End < p+8 {
			rec.Proto = nh
			rec.IPHdrLen = p - off
			rec.Truncated = LayerNetwork
			return
		}
		next := data[p]
		var l int
		switch nh {
		case ip6Fragment:
			l = 8
			fo := be.Uint16(data[p+2:])
			rec.HasFragHdr = true
			rec.FragOff = fo >> 3
			if fo&1 != 0 {
				rec.IPFlags = 1
			}
			rec.FragID = be.Uint32(data[p+4:])
			if rec.FragOff != 0 {
				rec.LaterFragment = true
			}
		case ip6AH:
			l = (int(data[p+1]) + 2) * 4
		default:
			l = (int(data[p+1]) + 1) * 8
		}
		p += l
		nh = next
		if rec.NExt > 16 { // a chain this long is malformed; stop walking
			rec.Proto = nh
			rec.IPHdrLen = p - off
			return
		}
	}
}

func decodeTransport(data []byte, off int, rec *Record) {
	rec.TransOff = off
	end := rec.End
	switch rec.Proto {
	case ProtoTCP:
		rec.HasTCP = true
		decodeTCP(data[:end], off, rec)
	case ProtoUDP:
		if end < off+8 {
			rec.Truncated = LayerTransport
			if end >= off+4 {
				rec.SrcPort = be.Uint16(data[off:])
				rec.DstPort = be.Uint16(data[off+2:])
			}
			return
		}
		rec.HasUDP = true
		rec.SrcPort = be.Uint16(data[off:])
		rec.DstPort = be.Uint16(data[off+2:])
		rec.UDPLen = be.Uint16(data[off+4:])
		rec.PayloadOff = off + 8
		rec.PayloadLen = max(rec.L4Len-8, 0)
		rec.PayloadCap = max(min(end-rec.PayloadOff, rec.PayloadLen), 0)
	case ProtoICMP, ProtoICMPv6:
		if end < off+4 {
			rec.Truncated = LayerTransport
			return
		}
		rec.HasICMP = true
		rec.ICMPType = data[off]
		rec.ICMPCode = data[off+1]
		if end >= off+8 {
			rec.ICMPID = be.Uint16(data[off+4:])
			rec.ICMPSeq = be.Uint16(data[off+6:])
			rec.PayloadOff = off + 8
			rec.PayloadLen = max(rec.L4Len-8, 0)
			rec.PayloadCap = max(min(end-rec.PayloadOff, rec.PayloadLen), 0)
		} else {
			rec.Truncated = LayerTransport
		}
	}
}

// TCP option kinds.
const (
	OptEOL       = 0
	OptNOP       = 1
	OptMSS       = 2
	OptWScale    = 3
	OptSACKOK    = 4
	OptSACK      = 5
	OptTimestamp = 8
	OptMD5       = 19
	OptTCPAO     = 29
	OptMPTCP     = 30
	OptFastOpen  = 34
)

// decodeTCP parses the TCP header at off; data is already cut at the datagram end.
func decodeTCP(data []byte, off int, rec *Record) {
	if len(data) < off+4 {
		rec.Truncated = LayerTransport
		return
	}
	rec.SrcPort = be.Uint16(data[off:])
	rec.DstPort = be.Uint16(data[off+2:])
	if len(data) < off+20 {
		rec.Truncated = LayerTransport
		return
	}
	h := data[off:]
	rec.Seq = be.Uint32(h[4:])
	rec.Ack = be.Uint32(h[8:])
	rec.DataOff = (h[12] >> 4) * 4
	rec.Flags = uint16(h[12]&0x01)<<8 | uint16(h[13])
	rec.Window = be.Uint16(h[14:])
	rec.TCPCsum = be.Uint16(h[16:])
	rec.Urgent = be.Uint16(h[18:])
	hlen := int(rec.DataOff)
	if hlen < 20 {
		return
	}
	rec.OptOff = off + 20
	rec.OptLen = min(hlen, len(data)-off) - 20
	rec.PayloadOff = off + hlen
	rec.PayloadLen = max(rec.L4Len-hlen, 0)
	rec.PayloadCap = max(min(len(data)-rec.PayloadOff, rec.PayloadLen), 0)
	parseTCPOptions(data[rec.OptOff:rec.OptOff+rec.OptLen], rec)
	switch {
	case rec.OptLen < hlen-20:
		rec.Truncated = LayerOptions
	case rec.PayloadCap < rec.PayloadLen:
		rec.Truncated = LayerPayload
	}
}

// parseTCPOptions fills the option fields pcaptk exports as columns. The text
// encoder walks the raw option bytes itself, as tcpdump prints every option.
func parseTCPOptions(o []byte, rec *Record) {
	// Linux and the BSDs send NOP, NOP, timestamps on every segment after the
	// handshake (the layout RFC 7323's appendix A suggests): read it at once.
	if len(o) == 12 && o[0] == OptNOP && o[1] == OptNOP && o[2] == OptTimestamp && o[3] == 10 {
		rec.HasTS, rec.TSVal, rec.TSEcr = true, be.Uint32(o[4:]), be.Uint32(o[8:])
		return
	}
	for i := 0; i < len(o); {
		kind := o[i]
		if kind == OptEOL {
			return
		}
		if kind == OptNOP {
			i++
			continue
		}
		if i+1 >= len(o) {
			return
		}
		l := int(o[i+1])
		if l < 2 || i+l > len(o) {
			return
		}
		v := o[i+2 : i+l]
		switch kind {
		case OptMSS:
			if len(v) == 2 {
				rec.HasMSS, rec.MSS = true, be.Uint16(v)
			}
		case OptWScale:
			if len(v) == 1 {
				rec.HasWScale, rec.WScale = true, v[0]
			}
		case OptSACKOK:
			rec.SACKOK = true
		case OptTimestamp:
			if len(v) == 8 {
				rec.HasTS, rec.TSVal, rec.TSEcr = true, be.Uint32(v), be.Uint32(v[4:])
			}
		case OptSACK:
			for j := 0; j+8 <= len(v) && rec.NSACK < len(rec.SACK); j += 8 {
				rec.SACK[rec.NSACK] = SACKBlock{be.Uint32(v[j:]), be.Uint32(v[j+4:])}
				rec.NSACK++
			}
		}
		i += l
	}
}
