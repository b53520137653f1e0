package tcpdump

import (
	"net"
	"time"

	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// appendLink appends what tcpdump prints for the link layer: only the cooked v2
// interface and direction by default, the whole header with -e.
func (t *Printer) appendLink(b []byte, p *reader.Packet, rec *decode.Record) []byte {
	switch p.LinkType {
	case decode.LinkLinuxSLL2:
		if !rec.HasSLL {
			return b
		}
		name := t.ifName(rec.SLLIfIndex)
		b = append(b, name...)
		for i := len(name); i < 5; i++ {
			b = append(b, ' ')
		}
		b = append(b, ' ')
		b = append(b, sll2Direction(rec.SLLPktType)...)
		if t.o.Link {
			b = append(b, "ifindex "...)
			b = appendUint(b, uint64(rec.SLLIfIndex))
			b = append(b, ' ')
			b = t.appendSLLTail(b, p, rec)
		}
	case decode.LinkLinuxSLL:
		if !t.o.Link || !rec.HasSLL {
			return b
		}
		d := sll1Direction(rec.SLLPktType)
		for i := len(d); i < 3; i++ {
			b = append(b, ' ')
		}
		b = append(b, d...)
		b = append(b, ' ')
		b = t.appendSLLTail(b, p, rec)
	case decode.LinkEthernet:
		if !t.o.Link || !rec.HasEth {
			return b
		}
		b = decode.AppendMAC(b, rec.EthSrc[:])
		b = append(b, " > "...)
		b = decode.AppendMAC(b, rec.EthDst[:])
		b = append(b, ", "...)
		if rec.NVLAN == 0 {
			switch {
			case rec.EthType <= 1500:
				b = append(b, "802.3"...)
			case t.o.Quiet:
				b = append(b, ethertypeName(rec.EthType)...)
			default:
				b = appendEthertype(b, rec.EthType)
			}
			return appendFrameLen(b, p.WireLen)
		}
		b = appendEthertype(b, uint16(rec.VLANs[0]>>16))
		b = appendFrameLen(b, p.WireLen)
		for i := 0; i < rec.NVLAN; i++ {
			tci := uint16(rec.VLANs[i])
			b = append(b, "vlan "...)
			b = appendUint(b, uint64(tci&0x0fff))
			b = append(b, ", p "...)
			b = appendUint(b, uint64(tci>>13))
			if tci&0x1000 != 0 {
				b = append(b, ", DEI"...)
			}
			b = append(b, ", "...)
			if i+1 < rec.NVLAN {
				b = appendEthertype(b, uint16(rec.VLANs[i+1]>>16))
			} else {
				b = appendEthertype(b, rec.EthType)
			}
			b = append(b, ", "...)
		}
	case decode.LinkNull, decode.LinkLoop:
		if !t.o.Link {
			return b
		}
		name := "Unknown"
		switch rec.NetType {
		case decode.EtherTypeIPv4:
			name = "IPv4"
		case decode.EtherTypeIPv6:
			name = "IPv6"
		}
		if t.o.Quiet {
			if name == "Unknown" {
				b = append(b, "Unknown AF "...)
				b = appendUint(b, uint64(rec.LoopFamily))
			} else {
				b = append(b, name...)
			}
		} else {
			b = append(b, "AF "...)
			b = append(b, name...)
			b = append(b, " ("...)
			b = appendUint(b, uint64(rec.LoopFamily))
			b = append(b, ')')
		}
		b = appendFrameLen(b, p.WireLen)
	case decode.LinkArcnetLinx:
		if !t.o.Link || len(p.Data) < 3 {
			return b
		}
		// tcpdump reads the protocol from the third byte here, which in the
		// Linux header is the offset field; kept for identical lines.
		d := p.Data
		b = append(b, hexdig[d[0]>>4], hexdig[d[0]&15], ' ', hexdig[d[1]>>4], hexdig[d[1]&15], ' ')
		if !t.o.Quiet {
			if n := arcTypeName(d[2]); n != "" {
				b = append(b, n...)
			} else {
				b = append(b, hexdig[d[2]>>4], hexdig[d[2]&15])
			}
			b = append(b, ' ')
		}
		b = appendUint(b, uint64(p.WireLen))
		b = append(b, ':', ' ')
	case decode.LinkRaw, decode.LinkRawOld, decode.LinkRawOld2, decode.LinkIPv4, decode.LinkIPv6:
		if t.o.Link {
			b = append(b, "ip: "...)
		}
	case decode.LinkCHDLC:
		if !t.o.Link || len(p.Data) < 1 {
			return b
		}
		if p.Data[0] == 0x8f {
			b = append(b, "bcast, "...)
		} else {
			b = append(b, "unicast, "...)
		}
		b = appendEthertype(b, rec.EthType)
		b = appendFrameLen(b, p.WireLen)
	}
	return b
}

// appendSLLTail appends the rest of a cooked header under -e: the link address
// when it is a 6-byte one, then (unless -q) the protocol and frame length.
func (t *Printer) appendSLLTail(b []byte, p *reader.Packet, rec *decode.Record) []byte {
	if rec.SLLAddrLen == 6 {
		b = decode.AppendMAC(b, rec.SLLAddr[:6])
		b = append(b, ' ')
	}
	if t.o.Quiet {
		return b
	}
	b = appendEthertype(b, rec.EthType)
	return appendFrameLen(b, p.WireLen)
}

func arcTypeName(t byte) string {
	switch t {
	case 0xf0:
		return "oldip"
	case 0xf1:
		return "oldarp"
	case 0xd4:
		return "ip"
	case 0xd5:
		return "arp"
	case 0xd6:
		return "rarp"
	case 0xdd:
		return "atalk"
	case 0xe8:
		return "banyan"
	case 0xfa:
		return "ipx"
	case 0xc4:
		return "ipv6"
	case 0x80:
		return "diag"
	}
	return ""
}

// appendFrameLen appends ", length N: ", the frame length in -e headers.
func appendFrameLen(b []byte, n uint32) []byte {
	b = append(b, ", length "...)
	b = appendUint(b, uint64(n))
	return append(b, ": "...)
}

func appendEthertype(b []byte, et uint16) []byte {
	b = append(b, "ethertype "...)
	b = append(b, ethertypeName(et)...)
	b = append(b, " (0x"...)
	b = appendHex16(b, et)
	return append(b, ')')
}

func ethertypeName(et uint16) string {
	switch et {
	case 0x0800:
		return "IPv4"
	case 0x86dd:
		return "IPv6"
	case 0x0806:
		return "ARP"
	case 0x8035:
		return "Reverse ARP"
	case 0x8100:
		return "802.1Q"
	case 0x88a8:
		return "802.1Q-QinQ"
	case 0x9100:
		return "802.1Q-9100"
	case 0x8847:
		return "MPLS unicast"
	case 0x8848:
		return "MPLS multicast"
	case 0x8863:
		return "PPPoE D"
	case 0x8864:
		return "PPPoE S"
	case 0x88cc:
		return "LLDP"
	case 0x888e:
		return "EAPOL"
	case 0x9000:
		return "Loopback"
	}
	return "Unknown"
}

func sll2Direction(t uint16) string {
	switch t {
	case 0:
		return "In  "
	case 1:
		return "B   "
	case 2:
		return "M   "
	case 3:
		return "P   "
	case 4:
		return "Out "
	}
	return "?   "
}

func sll1Direction(t uint16) string {
	switch t {
	case 0:
		return "In"
	case 1:
		return "B"
	case 2:
		return "M"
	case 3:
		return "P"
	case 4:
		return "Out"
	}
	return "?"
}

// ifName names a Linux interface index as tcpdump's if_indextoname does on
// the machine that reads the file ("?" when there is none). The table of local
// interfaces is read once and again at most once a second when an unknown
// index turns up, so a capture of many indexes costs no lookup per packet.
func (t *Printer) ifName(idx uint32) string {
	if t.o.IfName != nil {
		return t.o.IfName(idx)
	}
	if n, ok := t.ifnames[idx]; ok {
		return n
	}
	if now := time.Now(); t.ifnames == nil || now.Sub(t.ifnamesAt) > time.Second {
		t.ifnamesAt = now
		if t.ifnames == nil {
			t.ifnames = make(map[uint32]string)
		}
		clear(t.ifnames)
		if ifs, err := net.Interfaces(); err == nil {
			for _, ifi := range ifs {
				t.ifnames[uint32(ifi.Index)] = ifi.Name
			}
		}
		if n, ok := t.ifnames[idx]; ok {
			return n
		}
	}
	return "?"
}
