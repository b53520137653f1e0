package tcpdump

import (
	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// appendNetwork appends the network and transport part of a tcpdump line.
func (t *Printer) appendNetwork(b []byte, p *reader.Packet, rec *decode.Record) []byte {
	if rec.Truncated == decode.LayerLink {
		return append(b, " [|"+linkProtoName(p.LinkType)+"]"...)
	}
	switch rec.NetType {
	case decode.EtherTypeIPv4:
		return t.appendIPv4(b, p, rec)
	case decode.EtherTypeIPv6:
		return t.appendIPv6(b, p, rec)
	case decode.EtherTypeARP:
		return t.appendARP(b, p, rec)
	}
	if t.o.Link {
		return b
	}
	// Anything else gets a short generic line.
	switch p.LinkType {
	case decode.LinkEthernet, decode.LinkLinuxSLL, decode.LinkLinuxSLL2, decode.LinkCHDLC:
		if rec.EthType <= 1500 && p.LinkType == decode.LinkEthernet {
			b = append(b, "802.3, length "...)
			return appendUint(b, uint64(p.WireLen))
		}
		b = appendEthertype(b, rec.EthType)
		b = append(b, ", length "...)
		return appendUint(b, uint64(p.WireLen))
	}
	b = append(b, "link-type "...)
	b = appendUint(b, uint64(p.LinkType))
	b = append(b, ", length "...)
	return appendUint(b, uint64(p.WireLen))
}

func linkProtoName(lt uint16) string {
	switch lt {
	case decode.LinkEthernet:
		return "ether"
	case decode.LinkLinuxSLL:
		return "sll"
	case decode.LinkLinuxSLL2:
		return "sll2"
	case decode.LinkNull, decode.LinkLoop:
		return "null"
	case decode.LinkCHDLC:
		return "chdlc"
	case decode.LinkArcnetLinx:
		return "arcnet"
	}
	return "ip"
}

func (t *Printer) appendIPv4(b []byte, p *reader.Packet, rec *decode.Record) []byte {
	if !t.o.Link {
		b = append(b, "IP "...)
	}
	if rec.IPVersion != 4 {
		if rec.Truncated == decode.LayerNetwork {
			return append(b, " [|ip]"...)
		}
		b = append(b, "IP "...)
		return append(b, "[|ip]"...)
	}
	if rec.IPHdrLen < 20 {
		b = append(b, "bad-hlen "...)
		return appendUint(b, uint64(rec.IPHdrLen))
	}
	if avail := int(p.WireLen) - rec.NetOff; avail < rec.IPLen {
		b = append(b, "truncated-ip - "...)
		b = appendUint(b, uint64(rec.IPLen-avail))
		b = append(b, " bytes missing! "...)
	}
	if rec.IPBadLen {
		b = append(b, "bad-len "...)
		return appendUint(b, uint64(rec.IPLen))
	}
	if t.o.Verbose > 0 {
		b = t.appendIPv4Verbose(b, p, rec)
	}
	if rec.Truncated == decode.LayerNetwork {
		return append(b, " [|ip]"...)
	}
	if rec.LaterFragment {
		b = decode.AppendIP(b, rec.SrcIP, 4)
		b = append(b, " > "...)
		b = decode.AppendIP(b, rec.DstIP, 4)
		b = append(b, ':')
		return t.appendProtoName(b, rec.Proto)
	}
	return t.appendTransport(b, p, rec)
}

func (t *Printer) appendProtoName(b []byte, proto uint8) []byte {
	if !t.o.NoPortNames {
		if n := ipProtoName(proto); n != "unknown" {
			b = append(b, ' ')
			for _, c := range []byte(n) {
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				b = append(b, c)
			}
			return b
		}
	}
	b = append(b, " ip-proto-"...)
	return appendUint(b, uint64(proto))
}

func (t *Printer) appendIPv4Verbose(b []byte, p *reader.Packet, rec *decode.Record) []byte {
	b = append(b, "(tos 0x"...)
	b = appendHexMin(b, uint64(rec.TOS))
	switch rec.TOS & 3 {
	case 1:
		b = append(b, ",ECT(1)"...)
	case 2:
		b = append(b, ",ECT(0)"...)
	case 3:
		b = append(b, ",CE"...)
	}
	if rec.TTL >= 1 {
		b = append(b, ", ttl "...)
		b = appendUint(b, uint64(rec.TTL))
	}
	b = append(b, ", id "...)
	b = appendUint(b, uint64(rec.IPID))
	b = append(b, ", offset "...)
	b = appendUint(b, uint64(rec.FragOff)*8)
	b = append(b, ", flags ["...)
	n := 0
	for _, f := range [...]struct {
		bit  uint8
		name string
	}{{1, "+"}, {2, "DF"}, {4, "rsvd"}} {
		if rec.IPFlags&f.bit != 0 {
			if n > 0 {
				b = append(b, ", "...)
			}
			b = append(b, f.name...)
			n++
		}
	}
	if n == 0 {
		b = append(b, "none"...)
	}
	b = append(b, "], proto "...)
	b = append(b, ipProtoName(rec.Proto)...)
	b = append(b, " ("...)
	b = appendUint(b, uint64(rec.Proto))
	b = append(b, "), length "...)
	b = appendUint(b, uint64(rec.IPLen))
	off := rec.NetOff
	if rec.IPOptLen > 0 && len(p.Data) >= off+rec.IPHdrLen {
		b = append(b, ", options ("...)
		b = appendIPOptions(b, p.Data[off+20:off+rec.IPHdrLen])
		b = append(b, ')')
	}
	if !t.o.NoChecksums && len(p.Data) >= off+rec.IPHdrLen {
		if sum := checksum(p.Data[off:off+rec.IPHdrLen], 0); sum != 0 {
			h := make16(p.Data[off+10], p.Data[off+11])
			b = append(b, ", bad cksum "...)
			b = appendHexMin(b, uint64(h))
			b = append(b, " (->"...)
			b = appendHexMin(b, uint64(shouldBe(h, sum)))
			b = append(b, ")!"...)
		}
	}
	return append(b, ")\n    "...)
}

func make16(hi, lo byte) uint16 { return uint16(hi)<<8 | uint16(lo) }

// appendIPOptions prints IPv4 options in tcpdump's -v form.
func appendIPOptions(b []byte, o []byte) []byte {
	for i := 0; i < len(o); {
		if i > 0 {
			b = append(b, ',')
		}
		kind := o[i]
		switch kind {
		case 0:
			b = append(b, "EOL"...)
		case 1:
			b = append(b, "NOP"...)
		case 7:
			b = append(b, "RR"...)
		case 0x44:
			b = append(b, "timestamp"...)
		case 0x82:
			b = append(b, "security"...)
		case 0x83:
			b = append(b, "LSRR"...)
		case 0x89:
			b = append(b, "SSRR"...)
		case 0x94:
			b = append(b, "RA"...)
		case 0x52:
			b = append(b, "traceroute"...)
		default:
			b = append(b, "unknown "...)
			b = appendUint(b, uint64(kind))
		}
		l := 1
		if kind > 1 {
			if i+1 >= len(o) {
				return append(b, " [|ip]"...)
			}
			l = int(o[i+1])
			if l < 2 {
				b = append(b, " [bad length "...)
				b = appendUint(b, uint64(l))
				return append(b, ']')
			}
		}
		if l > len(o)-i {
			b = append(b, " [bad length "...)
			b = appendUint(b, uint64(l))
			return append(b, ']')
		}
		opt := o[i : i+l]
		switch kind {
		case 0:
			return b
		case 7, 0x83, 0x89:
			b = appendIPRoute(b, opt)
		case 0x94:
			if l < 4 {
				b = append(b, " [bad length "...)
				b = appendUint(b, uint64(l))
				b = append(b, ']')
			} else if v := make16(opt[2], opt[3]); v != 0 {
				b = append(b, " value "...)
				b = appendUint(b, uint64(v))
			}
		}
		i += l
	}
	return b
}

// appendIPRoute prints a record-route style option's addresses; a comma
// follows each address the pointer has passed.
func appendIPRoute(b []byte, opt []byte) []byte {
	l := len(opt)
	if l < 3 {
		b = append(b, " [bad length "...)
		b = appendUint(b, uint64(l))
		return append(b, ']')
	}
	if (l+1)&3 != 0 {
		b = append(b, " [bad length "...)
		b = appendUint(b, uint64(l))
		b = append(b, ']')
	}
	ptr := int(opt[2]) - 1
	if ptr < 3 || (ptr+1)&3 != 0 || ptr > l+1 {
		b = append(b, " [bad ptr "...)
		b = appendUint(b, uint64(opt[2]))
		b = append(b, ']')
	}
	for n := 3; n < l; n += 4 {
		if n+4 > l {
			return append(b, " [|ip]"...)
		}
		b = append(b, ' ')
		b = decode.AppendIPv4(b, opt[n], opt[n+1], opt[n+2], opt[n+3])
		if ptr > n {
			b = append(b, ',')
		}
	}
	return b
}

func ipProtoName(p uint8) string {
	switch p {
	case 0:
		return "Options"
	case 1:
		return "ICMP"
	case 2:
		return "IGMP"
	case 4:
		return "IPIP"
	case 6:
		return "TCP"
	case 17:
		return "UDP"
	case 41:
		return "IPv6"
	case 43:
		return "Routing"
	case 44:
		return "Fragment"
	case 47:
		return "GRE"
	case 50:
		return "ESP"
	case 51:
		return "AH"
	case 58:
		return "ICMPv6"
	case 59:
		return "NONE"
	case 60:
		return "DSTOPTS"
	case 89:
		return "OSPF"
	case 103:
		return "PIM"
	case 112:
		return "VRRP"
	case 132:
		return "SCTP"
	}
	return "unknown"
}

func (t *Printer) appendIPv6(b []byte, p *reader.Packet, rec *decode.Record) []byte {
	if rec.IPVersion != 6 {
		if rec.Truncated == decode.LayerNetwork {
			return append(b, " [|ip6]"...)
		}
		if !t.o.Link {
			b = append(b, "IP6 "...)
		}
		b = append(b, "version error: "...)
		return append(appendUint(b, uint64(p.Data[rec.NetOff]>>4)), " != 6"...)
	}
	if !t.o.Link {
		b = append(b, "IP6 "...)
	}
	if avail := int(p.WireLen) - rec.NetOff; rec.IPLen > 40 && avail < rec.IPLen {
		b = append(b, "truncated-ip6 - "...)
		b = appendUint(b, uint64(rec.IPLen-avail))
		b = append(b, " bytes missing!"...)
	}
	if t.o.Verbose > 0 {
		b = append(b, '(')
		if rec.TOS != 0 {
			b = append(b, "class 0x"...)
			b = appendHexMin(b, uint64(rec.TOS))
			b = append(b, ", "...)
		}
		if rec.FlowLabel != 0 {
			b = append(b, "flowlabel 0x"...)
			fl := rec.FlowLabel
			b = append(b, hexdig[fl>>16&15], hexdig[fl>>12&15], hexdig[fl>>8&15], hexdig[fl>>4&15], hexdig[fl&15])
			b = append(b, ", "...)
		}
		nh := rec.Proto
		if rec.NExt > 0 {
			nh = rec.ExtTypes[0]
		}
		b = append(b, "hlim "...)
		b = appendUint(b, uint64(rec.TTL))
		b = append(b, ", next-header "...)
		b = append(b, ipProtoName(nh)...)
		b = append(b, " ("...)
		b = appendUint(b, uint64(nh))
		b = append(b, ") payload length: "...)
		b = appendUint(b, uint64(rec.IPLen-40))
		b = append(b, ") "...)
	}
	if rec.IPLen == 40 && rec.NExt > 0 && rec.ExtTypes[0] == 0 {
		// Payload length 0 with a hop-by-hop header: a jumbogram (BIG TCP).
		// tcpdump 4.99 takes the datagram as empty, so the transport header is
		// out of reach.
		b = decode.AppendIP(b, rec.SrcIP, 6)
		b = append(b, " > "...)
		b = decode.AppendIP(b, rec.DstIP, 6)
		b = append(b, ": [|"...)
		b = append(b, transportName(rec.Proto)...)
		return append(b, ']')
	}
	if rec.NExt == 0 {
		return t.appendTransport(b, p, rec)
	}
	// Extension headers: tcpdump names each after the addresses, then the
	// transport printer shows only the ports.
	b = decode.AppendIP(b, rec.SrcIP, 6)
	b = append(b, " > "...)
	b = decode.AppendIP(b, rec.DstIP, 6)
	b = append(b, ": "...)
	data := p.Data[:rec.End]
	off := rec.NetOff + 40
	nh := data[rec.NetOff+6]
	for n := 0; n < rec.NExt; n++ {
		if off+8 > len(data) {
			return append(b, "[|ip6]"...)
		}
		next, l := data[off], (int(data[off+1])+1)*8
		switch nh {
		case 0:
			b = append(b, "HBH "...)
		case 60:
			b = append(b, "DSTOPT "...)
		case 43:
			b = append(b, "srcrt (len="...)
			b = appendUint(b, uint64(data[off+1]))
			b = append(b, ", type="...)
			b = appendUint(b, uint64(data[off+2]))
			b = append(b, ", segleft="...)
			b = appendUint(b, uint64(data[off+3]))
			b = append(b, ") "...)
		case 44:
			l = 8
			b = append(b, "frag ("...)
			if t.o.Verbose > 0 {
				b = append(b, "0x"...)
				b = appendHex16(b, uint16(rec.FragID>>16))
				b = appendHex16(b, uint16(rec.FragID))
				b = append(b, ':')
			}
			b = appendUint(b, uint64(be.Uint16(data[off+2:])&0xfff8))
			b = append(b, '|')
			b = appendUint(b, uint64(max(rec.IPLen-(off-rec.NetOff)-8, 0)))
			if rec.LaterFragment {
				return append(b, ')')
			}
			b = append(b, ") "...)
		case 51:
			l = (int(data[off+1]) + 2) * 4
			b = append(b, "AH(spi=0x"...)
			b = appendHex16(b, be.Uint16(data[off+4:]))
			b = appendHex16(b, be.Uint16(data[off+6:]))
			if off+12 <= len(data) {
				b = append(b, ",seq=0x"...)
				b = appendHexMin(b, uint64(be.Uint32(data[off+8:])))
			}
			b = append(b, "): "...)
		default:
			b = append(b, "MH "...)
		}
		nh = next
		off += l
	}
	if rec.Truncated == decode.LayerNetwork {
		return append(b, "[|ip6]"...)
	}
	return t.appendTransport(b, p, rec)
}

func transportName(proto uint8) string {
	switch proto {
	case decode.ProtoTCP:
		return "tcp"
	case decode.ProtoUDP:
		return "udp"
	}
	return "ip6"
}

// appendAddrPort appends "addr.port" or just "addr".
func (t *Printer) appendAddrPort(b []byte, ip [16]byte, v uint8, port uint16, proto uint8) []byte {
	b = decode.AppendIP(b, ip, v)
	b = append(b, '.')
	return t.appendPort(b, port, proto)
}

func (t *Printer) appendPort(b []byte, port uint16, proto uint8) []byte {
	if t.services != nil {
		if n := t.services.Name(port, proto); n != "" {
			return append(b, n...)
		}
	}
	return appendUint(b, uint64(port))
}

func (t *Printer) appendTransport(b []byte, p *reader.Packet, rec *decode.Record) []byte {
	v := rec.IPVersion
	switch rec.Proto {
	case decode.ProtoTCP:
		return t.appendTCP(b, p, rec)
	case decode.ProtoUDP:
		if !rec.HasUDP {
			b = decode.AppendIP(b, rec.SrcIP, v)
			b = append(b, " > "...)
			b = decode.AppendIP(b, rec.DstIP, v)
			return append(b, ": [|udp]"...)
		}
		if rec.NExt > 0 {
			b = t.appendPort(b, rec.SrcPort, decode.ProtoUDP)
			b = append(b, " > "...)
			b = t.appendPort(b, rec.DstPort, decode.ProtoUDP)
		} else {
			b = t.appendAddrPort(b, rec.SrcIP, v, rec.SrcPort, decode.ProtoUDP)
			b = append(b, " > "...)
			b = t.appendAddrPort(b, rec.DstIP, v, rec.DstPort, decode.ProtoUDP)
		}
		b = append(b, ": "...)
		ulen := int(rec.UDPLen) - 8
		if ulen < 0 || int(rec.UDPLen) > rec.L4Len {
			ulen = rec.L4Len - 8
		}
		ulen = max(ulen, 0)
		if rec.SrcPort == 53 || rec.DstPort == 53 {
			return appendDNS(b, p.Data[rec.PayloadOff:rec.PayloadOff+rec.PayloadCap], ulen)
		}
		b = append(b, "UDP, length "...)
		return appendUint(b, uint64(ulen))
	}
	if rec.NExt == 0 {
		b = decode.AppendIP(b, rec.SrcIP, v)
		b = append(b, " > "...)
		b = decode.AppendIP(b, rec.DstIP, v)
		b = append(b, ": "...)
	}
	switch rec.Proto {
	case decode.ProtoICMP:
		return appendICMP(b, rec, "[|icmp]", "ICMP ", 8, 0)
	case decode.ProtoICMPv6:
		return appendICMP(b, rec, "[|icmp6]", "ICMP6, ", 128, 129)
	}
	b = append(b, ipProtoName(rec.Proto)...)
	if ipProtoName(rec.Proto) == "unknown" {
		b = b[:len(b)-len("unknown")]
		b = append(b, "ip-proto-"...)
		b = appendUint(b, uint64(rec.Proto))
	}
	b = append(b, ' ')
	return appendUint(b, uint64(rec.L4Len))
}

// appendICMP prints an ICMP or ICMPv6 message: echo requests and replies as
// tcpdump does, others by type and code.
func appendICMP(b []byte, rec *decode.Record, trunc, name string, echoReq, echoRep uint8) []byte {
	if !rec.HasICMP {
		return append(b, trunc...)
	}
	b = append(b, name...)
	switch rec.ICMPType {
	case echoReq, echoRep:
		if rec.ICMPType == echoReq {
			b = append(b, "echo request"...)
		} else {
			b = append(b, "echo reply"...)
		}
		b = append(b, ", id "...)
		b = appendUint(b, uint64(rec.ICMPID))
		b = append(b, ", seq "...)
		b = appendUint(b, uint64(rec.ICMPSeq))
	default:
		b = append(b, "type "...)
		b = appendUint(b, uint64(rec.ICMPType))
		b = append(b, ", code "...)
		b = appendUint(b, uint64(rec.ICMPCode))
	}
	b = append(b, ", length "...)
	return appendUint(b, uint64(rec.L4Len))
}

func (t *Printer) appendARP(b []byte, p *reader.Packet, rec *decode.Record) []byte {
	d := p.Data[min(rec.NetOff, len(p.Data)):]
	if !t.o.Link {
		b = append(b, "ARP, "...)
	}
	plen := int(p.WireLen) - rec.NetOff
	if len(d) < 8 {
		return append(b, "[|arp]"...)
	}
	hln, pln := int(d[4]), int(d[5])
	op := make16(d[6], d[7])
	if make16(d[2], d[3]) != 0x0800 || pln != 4 || len(d) < 8+2*hln+8 {
		b = append(b, "hardware type "...)
		b = appendUint(b, uint64(make16(d[0], d[1])))
		b = append(b, ", length "...)
		return appendUint(b, uint64(plen))
	}
	sha := d[8 : 8+hln]
	spa := d[8+hln : 12+hln]
	tha := d[12+hln : 12+2*hln]
	tpa := d[12+2*hln : 16+2*hln]
	switch op {
	case 1:
		b = append(b, "Request who-has "...)
		b = decode.AppendIPv4(b, tpa[0], tpa[1], tpa[2], tpa[3])
		if !allZero(tha) {
			b = append(b, " ("...)
			b = decode.AppendMAC(b, tha)
			b = append(b, ')')
		}
		b = append(b, " tell "...)
		b = decode.AppendIPv4(b, spa[0], spa[1], spa[2], spa[3])
	case 2:
		b = append(b, "Reply "...)
		b = decode.AppendIPv4(b, spa[0], spa[1], spa[2], spa[3])
		b = append(b, " is-at "...)
		b = decode.AppendMAC(b, sha)
	default:
		b = append(b, "opcode "...)
		b = appendUint(b, uint64(op))
	}
	b = append(b, ", length "...)
	return appendUint(b, uint64(plen))
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// checksum returns the ones' complement of the ones' complement sum of b, with
// initial (already folded or not) partial sum init. Zero means the data, checksum
// field included, verifies.
func checksum(b []byte, init uint32) uint16 {
	s := init
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// shouldBe is the checksum field value that would have verified, given the field
// and the checksum computed over the data with it.
func shouldBe(field, sum uint16) uint16 {
	s := uint32(field) + uint32(sum)
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	return uint16(s)
}
