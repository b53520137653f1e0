package tcpdump

import "github.com/pcaptk/pcaptk/pkg/decode"

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
	return mptcpPrinters[sub](b, o, syn, ack)
}

// mptcpPrinters print each MPTCP subtype after its name; false means a length
// or flags tcpdump takes as a bad option.
var mptcpPrinters = [...]func(b []byte, o []byte, syn, ack bool) ([]byte, bool){
	mptcpCapable,
	mptcpJoin,
	mptcpDSS,
	mptcpAddAddr,
	mptcpRemAddr,
	mptcpPrio,
	mptcpFail,
	mptcpFastClose,
}

// mptcpCapable prints MP_CAPABLE: version, checksum flag and the keys.
func mptcpCapable(b []byte, o []byte, syn, ack bool) ([]byte, bool) {
	l := len(o)
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
	return b, true
}

// mptcpJoin prints MP_JOIN: backup flag, address id, token, HMAC and nonce by the handshake step.
func mptcpJoin(b []byte, o []byte, syn, ack bool) ([]byte, bool) {
	l := len(o)
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
	return b, true
}

// mptcpDSS prints DSS: data FIN, data ACK and the mapping (sequence, subflow sequence, length, checksum).
func mptcpDSS(b []byte, o []byte, syn, ack bool) ([]byte, bool) {
	l := len(o)
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
	return b, true
}

// mptcpAddAddr prints ADD_ADDR: version or echo, address id, address, port and HMAC.
func mptcpAddAddr(b []byte, o []byte, syn, ack bool) ([]byte, bool) {
	l := len(o)
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
	return b, true
}

// mptcpRemAddr prints REMOVE_ADDR: the address ids.
func mptcpRemAddr(b []byte, o []byte, syn, ack bool) ([]byte, bool) {
	l := len(o)
	if l < 4 {
		return b, false
	}
	b = append(b, " id"...)
	for _, id := range o[3:] {
		b = append(b, ' ')
		b = appendUint(b, uint64(id))
	}
	return b, true
}

// mptcpPrio prints MP_PRIO: backup or not, and the address id.
func mptcpPrio(b []byte, o []byte, syn, ack bool) ([]byte, bool) {
	l := len(o)
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
	return b, true
}

// mptcpFail prints MP_FAIL: the data sequence number.
func mptcpFail(b []byte, o []byte, syn, ack bool) ([]byte, bool) {
	l := len(o)
	if l != 12 {
		return b, false
	}
	b = append(b, " seq "...)
	b = appendUint(b, be.Uint64(o[4:]))
	return b, true
}

// mptcpFastClose prints MP_FASTCLOSE: the receiver's key.
func mptcpFastClose(b []byte, o []byte, syn, ack bool) ([]byte, bool) {
	l := len(o)
	if l != 12 {
		return b, false
	}
	b = append(b, " key 0x"...)
	b = appendHexMin(b, be.Uint64(o[4:]))
	return b, true
}
