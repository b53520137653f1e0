package tcpdump

import "github.com/pcaptk/pcaptk/pkg/decode"

// DNS summaries as tcpdump prints them without -v: the id and flags, then the
// question of a query or the counts and answers of a response, then the
// message length in parentheses.

const dnsTrunc = " [|domain]"

var dnsOps = [...]string{"", " inv_q", " stat", " op3", " notify", " update", " op6", " op7",
	" op8", " updateA", " updateD", " updateDA", " updateM", " updateMA", " zoneInit", " zoneRef"}

var dnsRcodes = [...]string{"", " FormErr", " ServFail", " NXDomain", " NotImp", " Refused",
	" YXDomain", " YXRRSet", " NXRRSet", " NotAuth", " NotZone", " Resp11", " Resp12",
	" Resp13", " Resp14", " NoChange"}

func dnsTypeName(t uint16) string {
	switch t {
	case 1:
		return "A"
	case 2:
		return "NS"
	case 5:
		return "CNAME"
	case 6:
		return "SOA"
	case 12:
		return "PTR"
	case 13:
		return "HINFO"
	case 15:
		return "MX"
	case 16:
		return "TXT"
	case 17:
		return "RP"
	case 24:
		return "SIG"
	case 25:
		return "KEY"
	case 28:
		return "AAAA"
	case 29:
		return "LOC"
	case 33:
		return "SRV"
	case 35:
		return "NAPTR"
	case 38:
		return "A6"
	case 39:
		return "DNAME"
	case 41:
		return "OPT"
	case 43:
		return "DS"
	case 44:
		return "SSHFP"
	case 46:
		return "RRSIG"
	case 47:
		return "NSEC"
	case 48:
		return "DNSKEY"
	case 50:
		return "NSEC3"
	case 51:
		return "NSEC3PARAM"
	case 52:
		return "TLSA"
	case 64:
		return "SVCB"
	case 65:
		return "HTTPS"
	case 99:
		return "SPF"
	case 249:
		return "TKEY"
	case 250:
		return "TSIG"
	case 251:
		return "IXFR"
	case 252:
		return "AXFR"
	case 253:
		return "MAILB"
	case 254:
		return "MAILA"
	case 255:
		return "ANY"
	case 256:
		return "URI"
	case 257:
		return "CAA"
	}
	return ""
}

func appendDNSType(b []byte, t uint16) []byte {
	if n := dnsTypeName(t); n != "" {
		return append(b, n...)
	}
	b = append(b, "Type"...)
	return appendUint(b, uint64(t))
}

func appendDNSClass(b []byte, c uint16) []byte {
	switch c {
	case 3:
		return append(b, "CHAOS"...)
	case 4:
		return append(b, "HS"...)
	case 255:
		return append(b, "ANY"...)
	}
	b = append(b, "(Class "...)
	b = appendUint(b, uint64(c))
	return append(b, ')')
}

// appendDNSOverTCP prints a DNS message preceded by its two-byte length.
func appendDNSOverTCP(b []byte, p []byte, n int) []byte {
	if n < 2 {
		b = append(b, " [DNS over TCP: length "...)
		b = appendUint(b, uint64(n))
		return append(b, " < 2] (invalid)"...)
	}
	if len(p) < 2 {
		return append(b, dnsTrunc...)
	}
	if pl := int(be.Uint16(p)); pl != n-2 {
		b = append(b, " [prefix length("...)
		b = appendUint(b, uint64(pl))
		b = append(b, ") != length("...)
		b = appendUint(b, uint64(n-2))
		return append(b, ")] (invalid)"...)
	}
	b = append(b, ' ')
	return appendDNS(b, p[2:], n-2)
}

// appendDNS prints the DNS message in p (captured part of n bytes).
func appendDNS(b []byte, p []byte, n int) []byte {
	if len(p) > n {
		p = p[:n]
	}
	if len(p) < 12 {
		return append(b, dnsTrunc...)
	}
	id := be.Uint16(p)
	f1, f2 := p[2], p[3]
	qd, an, ns, ar := be.Uint16(p[4:]), be.Uint16(p[6:]), be.Uint16(p[8:]), be.Uint16(p[10:])
	op := (f1 >> 3) & 15
	b = appendUint(b, uint64(id))
	b = append(b, dnsOps[op]...)
	cp := 12
	var ok bool
	if f1&0x80 != 0 { // response
		b = append(b, dnsRcodes[f2&15]...)
		if f1&0x04 != 0 {
			b = append(b, '*')
		}
		if f2&0x80 == 0 {
			b = append(b, '-')
		}
		if f1&0x02 != 0 {
			b = append(b, '|')
		}
		if f2&0x20 != 0 {
			b = append(b, '$')
		}
		if qd != 1 {
			b = append(b, " ["...)
			b = appendUint(b, uint64(qd))
			b = append(b, "q]"...)
		}
		for i := 0; i < int(qd); i++ {
			if cp, ok = dnsSkipName(p, cp); !ok || cp+4 > len(p) {
				return append(b, dnsTrunc...)
			}
			cp += 4
		}
		b = append(b, ' ')
		b = appendUint(b, uint64(an))
		b = append(b, '/')
		b = appendUint(b, uint64(ns))
		b = append(b, '/')
		b = appendUint(b, uint64(ar))
		for i := 0; i < int(an); i++ {
			if i > 0 {
				if cp >= len(p) {
					return append(b, dnsTrunc...)
				}
				b = append(b, ',')
			}
			if b, cp, ok = appendDNSRR(b, p, cp); !ok {
				return append(b, dnsTrunc...)
			}
		}
	} else {
		if f1&0x01 != 0 {
			b = append(b, '+')
		}
		if f2&0x10 != 0 {
			b = append(b, '%')
		}
		if w := be.Uint16(p[2:]); w&0x6cf != 0 {
			b = append(b, " [b2&3=0x"...)
			b = appendHexMin(b, uint64(w))
			b = append(b, ']')
		}
		if op == 1 {
			if qd != 0 {
				b = appendDNSCount(b, qd, "q")
			}
			if an != 1 {
				b = appendDNSCount(b, an, "a")
			}
		} else {
			if an != 0 {
				b = appendDNSCount(b, an, "a")
			}
			if qd != 1 {
				b = appendDNSCount(b, qd, "q")
			}
		}
		if ns != 0 {
			b = appendDNSCount(b, ns, "n")
		}
		if ar != 0 {
			b = appendDNSCount(b, ar, "au")
		}
		for i := 0; i < int(qd); i++ {
			if i > 0 && cp >= len(p) {
				return append(b, dnsTrunc...)
			}
			if b, cp, ok = appendDNSQuestion(b, p, cp); !ok {
				return append(b, dnsTrunc...)
			}
		}
	}
	b = append(b, " ("...)
	b = appendUint(b, uint64(n))
	return append(b, ')')
}

func appendDNSCount(b []byte, n uint16, what string) []byte {
	b = append(b, " ["...)
	b = appendUint(b, uint64(n))
	b = append(b, what...)
	return append(b, ']')
}

func appendDNSQuestion(b []byte, p []byte, cp int) ([]byte, int, bool) {
	end, ok := dnsSkipName(p, cp)
	if !ok || end+4 > len(p) {
		return b, 0, false
	}
	b = append(b, ' ')
	b = appendDNSType(b, be.Uint16(p[end:]))
	if c := be.Uint16(p[end+2:]); c != 1 {
		b = append(b, ' ')
		b = appendDNSClass(b, c)
	}
	b = append(b, "? "...)
	if b, ok = appendDNSName(b, p, cp); !ok {
		return b, 0, false
	}
	return b, end + 4, true
}

func appendDNSRR(b []byte, p []byte, cp int) ([]byte, int, bool) {
	start, ok := dnsSkipName(p, cp)
	if !ok || start+10 > len(p) {
		return b, 0, false
	}
	typ, class := be.Uint16(p[start:]), be.Uint16(p[start+2:])
	rdlen := int(be.Uint16(p[start+8:]))
	rd := start + 10
	rp := rd + rdlen
	if class != 1 && typ != 41 {
		b = append(b, ' ')
		b = appendDNSClass(b, class)
	}
	b = append(b, ' ')
	b = appendDNSType(b, typ)
	if rp > len(p) {
		return b, 0, false
	}
	switch typ {
	case 1: // A
		if rd+4 > len(p) {
			return b, 0, false
		}
		b = append(b, ' ')
		b = decode.AppendIPv4(b, p[rd], p[rd+1], p[rd+2], p[rd+3])
	case 2, 5, 12, 39: // NS, CNAME, PTR, DNAME
		b = append(b, ' ')
		if b, ok = appendDNSName(b, p, rd); !ok {
			return b, 0, false
		}
	case 15: // MX
		if rd+2 > len(p) {
			return b, 0, false
		}
		b = append(b, ' ')
		if b, ok = appendDNSName(b, p, rd+2); !ok {
			return b, 0, false
		}
		b = append(b, ' ')
		b = appendUint(b, uint64(be.Uint16(p[rd:])))
	case 16: // TXT
		for c := rd; c < rp; {
			l := int(p[c])
			if c+1+l > len(p) {
				return b, 0, false
			}
			b = append(b, " \""...)
			for _, ch := range p[c+1 : c+1+l] {
				b = appendVisChar(b, ch)
			}
			b = append(b, '"')
			c += 1 + l
		}
	case 33: // SRV
		if rd+6 > len(p) {
			return b, 0, false
		}
		b = append(b, ' ')
		if b, ok = appendDNSName(b, p, rd+6); !ok {
			return b, 0, false
		}
		b = append(b, ':')
		b = appendUint(b, uint64(be.Uint16(p[rd+4:])))
		b = append(b, ' ')
		b = appendUint(b, uint64(be.Uint16(p[rd:])))
		b = append(b, ' ')
		b = appendUint(b, uint64(be.Uint16(p[rd+2:])))
	case 28: // AAAA
		if rd+16 > len(p) {
			return b, 0, false
		}
		var ip [16]byte
		copy(ip[:], p[rd:rd+16])
		b = append(b, ' ')
		b = decode.AppendIP(b, ip, 6)
	}
	return b, rp, true
}

// dnsSkipName returns the offset after the (possibly compressed) name at cp.
func dnsSkipName(p []byte, cp int) (int, bool) {
	for {
		if cp >= len(p) {
			return 0, false
		}
		l := int(p[cp])
		cp++
		switch {
		case l == 0:
			return cp, true
		case l&0xc0 == 0xc0:
			return cp + 1, true
		case l&0xc0 == 0x40:
			return 0, false
		}
		cp += l
	}
}

// appendDNSName prints a name, following compression pointers only backwards
// (so a hostile message cannot loop), "." after each label.
func appendDNSName(b []byte, p []byte, cp int) ([]byte, bool) {
	if cp >= len(p) {
		return b, false
	}
	if p[cp] == 0 {
		return append(b, '.'), true
	}
	maxOff := cp
	chars := 0
	for {
		if cp >= len(p) {
			return b, false
		}
		l := int(p[cp])
		if l == 0 {
			break
		}
		if l&0xc0 == 0xc0 {
			if cp+1 >= len(p) {
				return b, false
			}
			off := (l<<8 | int(p[cp+1])) & 0x3fff
			if off >= maxOff {
				return append(b, "<BAD PTR>"...), false
			}
			maxOff, cp = off, off
			continue
		}
		if l&0xc0 != 0 {
			b = append(b, "<ELT "...)
			b = appendUint(b, uint64(l&0x3f))
			return append(b, '>'), false
		}
		if cp+1+l > len(p) {
			return b, false
		}
		if chars+l <= 255 {
			for _, c := range p[cp+1 : cp+1+l] {
				b = appendVisChar(b, c)
			}
		} else if chars < 255 {
			for _, c := range p[cp+1 : cp+1+255-chars] {
				b = appendVisChar(b, c)
			}
		}
		chars += l
		if chars <= 255 {
			b = append(b, '.')
		}
		chars++
		cp += 1 + l
	}
	if chars > 255 {
		b = append(b, "<DOMAIN NAME TOO LONG>"...)
	}
	return b, true
}
