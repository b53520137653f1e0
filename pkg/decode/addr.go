package decode

import "net/netip"

// AppendIP appends the text form of an address as tcpdump -n prints it: dotted
// quad for IPv4, RFC 5952 for IPv6 with glibc's inet_ntop quirk of printing an
// IPv4-compatible address (::a.b.c.d) in dotted form. It does not allocate.
func AppendIP(dst []byte, ip [16]byte, version uint8) []byte {
	if version == 4 {
		return AppendIPv4(dst, ip[0], ip[1], ip[2], ip[3])
	}
	if isV4Compatible(&ip) {
		dst = append(dst, ':', ':')
		return AppendIPv4(dst, ip[12], ip[13], ip[14], ip[15])
	}
	return netip.AddrFrom16(ip).AppendTo(dst)
}

// isV4Compatible reports the form inet_ntop prints as ::a.b.c.d: the first 96 bits
// zero and the seventh 16-bit group not zero (so :: and ::1 stay as they are).
func isV4Compatible(ip *[16]byte) bool {
	for _, b := range ip[:12] {
		if b != 0 {
			return false
		}
	}
	return ip[12] != 0 || ip[13] != 0
}

// AppendIPv4 appends a dotted-quad address.
func AppendIPv4(dst []byte, a, b, c, d byte) []byte {
	dst = appendUint8(dst, a)
	dst = append(dst, '.')
	dst = appendUint8(dst, b)
	dst = append(dst, '.')
	dst = appendUint8(dst, c)
	dst = append(dst, '.')
	return appendUint8(dst, d)
}

func appendUint8(dst []byte, v byte) []byte {
	switch {
	case v >= 100:
		return append(dst, '0'+v/100, '0'+v/10%10, '0'+v%10)
	case v >= 10:
		return append(dst, '0'+v/10, '0'+v%10)
	}
	return append(dst, '0'+v)
}

// AppendMAC appends a colon-separated lower-case hardware address.
func AppendMAC(dst []byte, mac []byte) []byte {
	const hex = "0123456789abcdef"
	for i, b := range mac {
		if i > 0 {
			dst = append(dst, ':')
		}
		dst = append(dst, hex[b>>4], hex[b&15])
	}
	return dst
}
