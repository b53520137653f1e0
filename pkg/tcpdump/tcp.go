package tcpdump

import (
	"encoding/binary"

	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

var be = binary.BigEndian

// appendTCP appends tcpdump's TCP line from the addresses on: ports, flags,
// sequence numbers, window, options, length and the application summary.
func (t *Printer) appendTCP(b []byte, p *reader.Packet, rec *decode.Record) []byte {
	v := rec.IPVersion
	data := p.Data[:rec.End]
	off := rec.TransOff
	if len(data) < off+4 {
		b = decode.AppendIP(b, rec.SrcIP, v)
		b = append(b, " > "...)
		b = decode.AppendIP(b, rec.DstIP, v)
		return append(b, ": [|tcp]"...)
	}
	if rec.NExt > 0 && v == 6 {
		// tcpdump names only the ports when extension headers came between.
		b = t.appendPort(b, rec.SrcPort, decode.ProtoTCP)
		b = append(b, " > "...)
		b = t.appendPort(b, rec.DstPort, decode.ProtoTCP)
	} else {
		b = t.appendAddrPort(b, rec.SrcIP, v, rec.SrcPort, decode.ProtoTCP)
		b = append(b, " > "...)
		b = t.appendAddrPort(b, rec.DstIP, v, rec.DstPort, decode.ProtoTCP)
	}
	b = append(b, ": "...)
	if len(data) < off+20 {
		return append(b, " [|tcp]"...)
	}
	hlen := int(rec.DataOff)
	length := rec.L4Len
	if hlen < 20 {
		b = append(b, " tcp "...)
		b = appendUint(b, uint64(uint32(length-hlen)))
		b = append(b, " [bad hdr length "...)
		b = appendUint(b, uint64(hlen))
		return append(b, " - too short, < 20]"...)
	}
	if t.o.Quiet {
		b = append(b, "tcp "...)
		b = appendUint(b, uint64(uint32(length-hlen)))
		if hlen > length {
			b = appendBadHdrLen(b, hlen, length)
		}
		return b
	}
	flags := uint8(rec.Flags)
	b = append(b, "Flags ["...)
	b = AppendTCPFlags(b, uint16(flags))
	b = append(b, ']')

	seq, ack := rec.Seq, rec.Ack
	var thseq, thack uint32
	var rev bool
	if !t.o.AbsoluteSeq {
		seq, ack, thseq, thack, rev = t.seq.Relative(rec)
	}
	if hlen > length {
		return appendBadHdrLen(b, hlen, length)
	}
	if t.o.Verbose > 0 && !rec.LaterFragment && len(data) >= off+length {
		b = t.appendTCPChecksum(b, data, rec, length)
	}
	length -= hlen
	if t.o.Verbose > 1 || length > 0 || flags&(decode.SYN|decode.FIN|decode.RST) != 0 {
		b = append(b, ", seq "...)
		b = appendUint(b, uint64(seq))
		if length > 0 {
			b = append(b, ':')
			b = appendUint(b, uint64(seq+uint32(length)))
		}
	}
	if flags&decode.ACK != 0 {
		b = append(b, ", ack "...)
		b = appendUint(b, uint64(ack))
	}
	b = append(b, ", win "...)
	b = appendUint(b, uint64(rec.Window))
	if flags&decode.URG != 0 {
		b = append(b, ", urg "...)
		b = appendUint(b, uint64(rec.Urgent))
	}
	if hlen > 20 {
		var stop bool
		b = append(b, ", options ["...)
		// The option walk may read a length byte past the header, as
		// tcpdump does, so it gets every captured byte from the options on.
		payloadCut := rec.PayloadCap < rec.PayloadLen
		b, stop, t.jumped = appendTCPOptionsText(b, data[min(off+20, len(data)):], hlen-20, flags, thseq, thack, rev, payloadCut)
		if stop {
			return b
		}
		b = append(b, ']')
	}
	b = append(b, ", length "...)
	b = appendUint(b, uint64(length))
	if length <= 0 {
		return b
	}
	if len(data) < off+hlen {
		b = append(b, " [remaining caplen("...)
		b = appendUint(b, uint64(len(data)-off))
		b = append(b, ") < header length("...)
		b = appendUint(b, uint64(hlen))
		return append(b, ")] [|tcp]"...)
	}
	payload := data[off+hlen:]
	if flags&decode.RST != 0 && t.o.Verbose > 0 {
		return appendRSTData(b, payload, length)
	}
	st := appState{verbose: t.o.Verbose > 0}
	b = appendApp(b, rec.SrcPort, rec.DstPort, payload, length, &st)
	t.jumped = st.jumped
	return b
}

func appendBadHdrLen(b []byte, hlen, length int) []byte {
	b = append(b, " [bad hdr length "...)
	b = appendUint(b, uint64(hlen))
	b = append(b, " - too long, > "...)
	b = appendUint(b, uint64(length))
	return append(b, ']')
}

// AppendTCPFlags appends the flags in tcpdump's notation without brackets:
// F S R P . U E W in bit order, "none" when no flag is set. The AE bit is not
// shown, as in tcpdump 4.99.
func AppendTCPFlags(b []byte, flags uint16) []byte {
	const names = "FSRP.UEW"
	n := len(b)
	for i := 0; i < 8; i++ {
		if flags&(1<<i) != 0 {
			b = append(b, names[i])
		}
	}
	if len(b) == n {
		b = append(b, "none"...)
	}
	return b
}

// appendTCPChecksum appends ", cksum 0xNNNN (correct)" or "(incorrect -> 0xNNNN)"
// for a segment captured whole.
func (t *Printer) appendTCPChecksum(b []byte, data []byte, rec *decode.Record, length int) []byte {
	seg := data[rec.TransOff : rec.TransOff+length]
	var s uint32
	if rec.IPVersion == 4 {
		for i := 0; i < 4; i += 2 {
			s += uint32(rec.SrcIP[i])<<8 | uint32(rec.SrcIP[i+1])
			s += uint32(rec.DstIP[i])<<8 | uint32(rec.DstIP[i+1])
		}
	} else {
		for i := 0; i < 16; i += 2 {
			s += uint32(rec.SrcIP[i])<<8 | uint32(rec.SrcIP[i+1])
			s += uint32(rec.DstIP[i])<<8 | uint32(rec.DstIP[i+1])
		}
	}
	s += uint32(length) + decode.ProtoTCP
	sum := checksum(seg, s)
	b = append(b, ", cksum 0x"...)
	b = appendHex16(b, rec.TCPCsum)
	if sum != 0 {
		b = append(b, " (incorrect -> 0x"...)
		b = appendHex16(b, shouldBe(rec.TCPCsum, sum))
		return append(b, ')')
	}
	return append(b, " (correct)"...)
}

// appendRSTData prints the text some stacks put in a reset's payload (-v): at
// most 30 bytes, "+" when there was more, "!" when not all was captured.
func appendRSTData(b []byte, p []byte, length int) []byte {
	if len(p) >= length {
		b = append(b, " [RST"...)
	} else {
		b = append(b, " [!RST"...)
	}
	if length > 30 {
		length = 30
		b = append(b, '+')
	}
	b = append(b, ' ')
	for _, c := range p[:min(length, len(p))] {
		b = appendVisChar(b, c)
	}
	return append(b, ']')
}

// tcpOptionName is tcpdump's name of a TCP option kind ("" for unknown).
func tcpOptionName(kind byte) string {
	switch kind {
	case 0:
		return "eol"
	case 1:
		return "nop"
	case 2:
		return "mss"
	case 3:
		return "wscale"
	case 4:
		return "sackOK"
	case 5:
		return "sack"
	case 6:
		return "echo"
	case 7:
		return "echoreply"
	case 8:
		return "TS"
	case 11:
		return "cc"
	case 12:
		return "ccnew"
	case 13:
		return "ccecho"
	case 19:
		return "md5"
	case 20:
		return "scps"
	case 28:
		return "uto"
	case 29:
		return "tcp-ao"
	case 30:
		return "mptcp"
	case 34:
		return "tfo"
	case 254:
		return "exp"
	}
	return ""
}

// AppendTCPOptions appends the text tcpdump prints inside "options [...]" for the
// TCP packet in rec, with absolute SACK edges; nothing when it has no options.
func AppendTCPOptions(dst []byte, rec *decode.Record, data []byte) []byte {
	if !rec.HasTCP || rec.DataOff <= 20 || rec.OptOff == 0 {
		return dst
	}
	end := min(rec.OptOff+int(rec.DataOff)-20, len(data), rec.End)
	if end < rec.OptOff {
		return dst
	}
	dst, _, _ = appendTCPOptionsText(dst, data[rec.OptOff:min(len(data), rec.End)], int(rec.DataOff)-20, uint8(rec.Flags), 0, 0, false, rec.PayloadCap < rec.PayloadLen)
	return dst
}

const (
	failBad   = 1 // the option's length does not fit the header
	failTrunc = 2 // the capture ends inside the option
)

// appendTCPOptionsText walks the options as tcpdump does: o holds the captured
// bytes from the first option on, hlen the header's option length. stop
// reports that the line must end here (a bad or truncated option: tcpdump
// prints no closing bracket nor length then); jumped, that the capture ended
// where tcpdump reads an option's kind or length, which aborts its printer.
// payloadCut says the segment was not captured whole (MD5 cannot be checked).
func appendTCPOptionsText(b []byte, o []byte, hlen int, flags uint8, thseq, thack uint32, rev bool, payloadCut bool) (_ []byte, stop, jumped bool) {
	sep := false
	i := 0
	trunc := func(b []byte) ([]byte, bool, bool) { return append(b, " [|tcp]"...), true, false }
	jump := func(b []byte) ([]byte, bool, bool) { return append(b, " [|tcp]"...), true, true }
	bad := func(b []byte) ([]byte, bool, bool) {
		b = append(b, "[bad opt]"...)
		if sep {
			b = append(b, ']')
		}
		return b, true, false
	}
	for hlen > 0 {
		if sep {
			b = append(b, ',')
		}
		if i >= len(o) {
			return jump(b)
		}
		kind := o[i]
		i++
		var l int
		if kind == 0 || kind == 1 {
			l = 1
		} else {
			if i >= len(o) {
				return jump(b)
			}
			l = int(o[i])
			i++
			if l < 2 || l > hlen {
				return bad(b)
			}
			hlen--
		}
		hlen--
		// need reports whether n option bytes remain in the header and were
		// captured; otherwise fail says which (tcpdump's "bad opt" or "[|tcp]").
		fail := 0
		need := func(n int) bool {
			switch {
			case n > hlen:
				fail = failBad
			case i+n > len(o):
				fail = failTrunc
			default:
				return true
			}
			return false
		}
		if name := tcpOptionName(kind); name != "" {
			b = append(b, name...)
		} else {
			b = append(b, "unknown-"...)
			b = appendUint(b, uint64(kind))
		}
		datalen := 0
		switch kind {
		case 2: // mss
			datalen = 2
			if !need(2) {
				break
			}
			b = append(b, ' ')
			b = appendUint(b, uint64(be.Uint16(o[i:])))
		case 3: // wscale
			datalen = 1
			if !need(1) {
				break
			}
			b = append(b, ' ')
			b = appendUint(b, uint64(o[i]))
		case 5: // sack
			datalen = l - 2
			if datalen%8 != 0 {
				b = append(b, " invalid sack"...)
			} else {
				b = append(b, ' ')
				b = appendUint(b, uint64(datalen/8))
				b = append(b, ' ')
				for j := 0; j < datalen; j += 8 {
					if !need(j + 8) {
						break
					}
					s, e := be.Uint32(o[i+j:]), be.Uint32(o[i+j+4:])
					if rev {
						s -= thseq
						e -= thseq
					} else {
						s -= thack
						e -= thack
					}
					b = append(b, '{')
					b = appendUint(b, uint64(s))
					b = append(b, ':')
					b = appendUint(b, uint64(e))
					b = append(b, '}')
				}
			}
		case 6, 7, 11, 12, 13: // echo, echoreply, cc, ccnew, ccecho
			datalen = 4
			if !need(4) {
				break
			}
			b = append(b, ' ')
			b = appendUint(b, uint64(be.Uint32(o[i:])))
		case 8: // timestamp
			datalen = 8
			if !need(8) {
				break
			}
			b = append(b, " val "...)
			b = appendUint(b, uint64(be.Uint32(o[i:])))
			b = append(b, " ecr "...)
			b = appendUint(b, uint64(be.Uint32(o[i+4:])))
		case 19: // md5 signature
			datalen = 16
			if !need(16) {
				break
			}
			if payloadCut {
				b = append(b, " snaplen too short, can't check - "...)
			} else {
				b = append(b, " shared secret not supplied with -M, can't check - "...)
			}
			b = appendHexBytes(b, o[i:i+16])
		case 20: // scps
			datalen = 2
			if !need(2) {
				break
			}
			b = append(b, " cap "...)
			b = append(b, hexdig[o[i]>>4], hexdig[o[i]&15])
			b = append(b, " id "...)
			b = appendUint(b, uint64(o[i+1]))
		case 29: // tcp-ao
			datalen = l - 2
			if datalen < 2 {
				b = append(b, " (invalid)"...)
			} else {
				if !need(1) {
					break
				}
				b = append(b, " keyid "...)
				b = appendUint(b, uint64(o[i]))
				if !need(2) {
					break
				}
				b = append(b, " rnextkeyid "...)
				b = appendUint(b, uint64(o[i+1]))
				if datalen > 2 {
					b = append(b, " mac 0x"...)
					for j := 2; j < datalen; j++ {
						if !need(j + 1) {
							break
						}
						b = append(b, hexdig[o[i+j]>>4], hexdig[o[i+j]&15])
					}
				}
			}
		case 0, 1, 4: // eol, nop, sackOK
		case 28: // uto
			datalen = 2
			if !need(2) {
				break
			}
			v := uint32(be.Uint16(o[i:]))
			b = append(b, " 0x"...)
			b = appendHexMin(b, uint64(v))
			if v&1 != 0 {
				v = (v >> 1) * 60
			} else {
				v >>= 1
			}
			b = append(b, ' ')
			b = appendUint(b, uint64(v))
		case 30: // mptcp
			datalen = l - 2
			if !need(datalen) {
				break
			}
			var ok bool
			if b, ok = appendMPTCP(b, o[i-2:i+datalen], flags); !ok {
				fail = failBad
			}
		case 34: // tfo
			datalen = l - 2
			if !need(datalen) {
				break
			}
			b = append(b, ' ')
			b = appendFastOpen(b, o[i:i+datalen])
		case 254: // experimental, RFC 6994
			datalen = l - 2
			if !need(datalen) {
				break
			}
			if datalen < 2 {
				fail = failBad
				break
			}
			magic := be.Uint16(o[i:])
			b = append(b, '-')
			if magic == 0xf989 {
				b = append(b, "tfo"...)
				b = appendFastOpen(b, o[i+2:i+datalen])
			} else {
				b = appendHex16(b, magic)
			}
		default:
			datalen = l - 2
			if datalen > 0 {
				b = append(b, " 0x"...)
			}
			for j := 0; j < datalen; j++ {
				if !need(j + 1) {
					break
				}
				b = append(b, hexdig[o[i+j]>>4], hexdig[o[i+j]&15])
			}
		}
		switch fail {
		case failBad:
			return bad(b)
		case failTrunc:
			return trunc(b)
		}
		i += datalen
		hlen -= datalen
		consumed := datalen + 1
		if kind != 0 && kind != 1 {
			consumed++
		}
		if consumed != l {
			b = append(b, "[len "...)
			b = appendUint(b, uint64(l))
			b = append(b, ']')
		}
		sep = true
		if kind == 0 {
			break
		}
	}
	return b, false, false
}

func appendFastOpen(b []byte, c []byte) []byte {
	if len(c) == 0 {
		return append(b, " cookiereq"...)
	}
	if len(c)%2 != 0 || len(c) < 4 || len(c) > 16 {
		return append(b, " (invalid)"...)
	}
	b = append(b, " cookie "...)
	return appendHexBytes(b, c)
}

func appendHexBytes(b []byte, c []byte) []byte {
	for _, x := range c {
		b = append(b, hexdig[x>>4], hexdig[x&15])
	}
	return b
}

// appendMPTCP prints a multipath TCP option (o holds kind and length bytes too)
// as tcpdump 4.99 does; ok false means tcpdump calls it a bad option.
func appendMPTCP(b []byte, o []byte, flags uint8) (_ []byte, ok bool) {
	l := len(o)
	if l < 3 {
		return b, false
	}
	sub := o[2] >> 4
	b = append(b, ' ')
	b = appendUint(b, uint64(l))
	names := [...]string{"capable", "join", "dss", "add-addr", "rem-addr", "prio", "fail", "fast-close"}
	if int(sub) >= len(names) {
		return append(b, " unknown"...), true
	}
	b = append(b, ' ')
	b = append(b, names[sub]...)
	syn, ack := flags&decode.SYN != 0, flags&decode.ACK != 0
	switch sub {
	case 0: // capable
		if !((l == 12 || l == 4) && syn) && !((l == 20 || l == 22) && ack && !syn) {
			return b, false
		}
		ver := o[2] & 0x0f
		if ver > 1 {
			b = append(b, " Unknown Version ("...)
			b = appendUint(b, uint64(ver))
			return append(b, ')'), true
		}
		b = append(b, " v"...)
		b = appendUint(b, uint64(ver))
		if o[3]&0x80 != 0 {
			b = append(b, " csum"...)
		}
		if l == 12 || l >= 20 {
			b = append(b, " {0x"...)
			b = appendHexMin(b, be.Uint64(o[4:]))
			if l >= 20 {
				b = append(b, ",0x"...)
				b = appendHexMin(b, be.Uint64(o[12:]))
			}
			b = append(b, '}')
		}
	case 1: // join
		if !(l == 12 && syn) && !(l == 16 && syn && ack) && !(l == 24 && ack) {
			return b, false
		}
		if l != 24 {
			if o[2]&1 != 0 {
				b = append(b, " backup"...)
			}
			b = append(b, " id "...)
			b = appendUint(b, uint64(o[3]))
		}
		switch l {
		case 12:
			b = append(b, " token 0x"...)
			b = appendHexMin(b, uint64(be.Uint32(o[4:])))
			b = append(b, " nonce 0x"...)
			b = appendHexMin(b, uint64(be.Uint32(o[8:])))
		case 16:
			b = append(b, " hmac 0x"...)
			b = appendHexMin(b, be.Uint64(o[4:]))
			b = append(b, " nonce 0x"...)
			b = appendHexMin(b, uint64(be.Uint32(o[12:])))
		case 24:
			b = append(b, " hmac 0x"...)
			b = appendHexBytes(b, o[4:24])
		}
	case 2: // dss
		if l < 4 || syn {
			return b, false
		}
		f := o[3]
		if f&0x10 != 0 {
			b = append(b, " fin"...)
		}
		r := o[4:]
		var ok bool
		if f&0x01 != 0 {
			b = append(b, " ack "...)
			if b, r, ok = appendDSSNumber(b, r, f&0x02 != 0); !ok {
				return b, false
			}
		}
		if f&0x04 != 0 {
			b = append(b, " seq "...)
			if b, r, ok = appendDSSNumber(b, r, f&0x08 != 0); !ok {
				return b, false
			}
			if len(r) < 4 {
				return b, false
			}
			b = append(b, " subseq "...)
			b = appendUint(b, uint64(be.Uint32(r)))
			r = r[4:]
			if len(r) < 2 {
				return b, false
			}
			b = append(b, " len "...)
			b = appendUint(b, uint64(be.Uint16(r)))
			r = r[2:]
			if len(r) >= 2 {
				b = append(b, " csum 0x"...)
				b = appendHexMin(b, uint64(be.Uint16(r)))
				r = r[2:]
			}
		}
		if len(r) != 0 {
			return b, false
		}
	case 3: // add-addr
		switch l {
		case 8, 10, 16, 18, 20, 22, 28, 30:
		default:
			return b, false
		}
		switch o[2] & 0x0f {
		case 6:
			b = append(b, " v0-ip6"...)
		case 4:
			b = append(b, " v0-ip4"...)
		case 1:
			b = append(b, " v1-echo"...)
		case 0:
			b = append(b, " v1"...)
		default:
			b = append(b, " [bad version/echo]"...)
		}
		b = append(b, " id "...)
		b = appendUint(b, uint64(o[3]))
		b = append(b, ' ')
		if l <= 18 {
			b = decode.AppendIPv4(b, o[4], o[5], o[6], o[7])
			if l == 10 || l == 18 {
				b = append(b, ':')
				b = appendUint(b, uint64(be.Uint16(o[8:])))
			}
			if l == 16 {
				b = append(b, " hmac 0x"...)
				b = appendHexMin(b, be.Uint64(o[8:]))
			}
			if l == 18 {
				b = append(b, " hmac 0x"...)
				b = appendHexMin(b, be.Uint64(o[10:]))
			}
		} else {
			var ip [16]byte
			copy(ip[:], o[4:20])
			b = decode.AppendIP(b, ip, 6)
			if l == 22 || l == 30 {
				b = append(b, ':')
				b = appendUint(b, uint64(be.Uint16(o[20:])))
			}
			if l == 28 {
				b = append(b, " hmac 0x"...)
				b = appendHexMin(b, be.Uint64(o[20:]))
			}
			if l == 30 {
				b = append(b, " hmac 0x"...)
				b = appendHexMin(b, be.Uint64(o[22:]))
			}
		}
	case 4: // rem-addr
		if l < 4 {
			return b, false
		}
		b = append(b, " id"...)
		for _, id := range o[3:] {
			b = append(b, ' ')
			b = appendUint(b, uint64(id))
		}
	case 5: // prio
		if l != 3 && l != 4 {
			return b, false
		}
		if o[2]&1 != 0 {
			b = append(b, " backup"...)
		} else {
			b = append(b, " non-backup"...)
		}
		if l == 4 {
			b = append(b, " id "...)
			b = appendUint(b, uint64(o[3]))
		}
	case 6: // fail
		if l != 12 {
			return b, false
		}
		b = append(b, " seq "...)
		b = appendUint(b, be.Uint64(o[4:]))
	case 7: // fast-close
		if l != 12 {
			return b, false
		}
		b = append(b, " key 0x"...)
		b = appendHexMin(b, be.Uint64(o[4:]))
	}
	return b, true
}

// appendVisChar prints a byte the way tcpdump shows untrusted text: "M-" for
// the high bit, "^" and the letter for a control character.
func appendVisChar(b []byte, c byte) []byte {
	if c >= 0x80 {
		c &= 0x7f
		b = append(b, 'M', '-')
	}
	if !isPrint(c) {
		c ^= 0x40
		b = append(b, '^')
	}
	return append(b, c)
}

// appendDSSNumber prints an MPTCP data sequence number or acknowledgment of 8
// bytes (wide) or 4, and returns the bytes after it; ok is false when too few.
func appendDSSNumber(b, r []byte, wide bool) (_, rest []byte, ok bool) {
	if wide {
		if len(r) < 8 {
			return b, r, false
		}
		return appendUint(b, be.Uint64(r)), r[8:], true
	}
	if len(r) < 4 {
		return b, r, false
	}
	return appendUint(b, uint64(be.Uint32(r))), r[4:], true
}
