package analysis

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
)

// CommunityID is a Community ID v1 flow hash in its text form, "1:" and the
// base64 of a SHA-1, as Zeek, Suricata and Arkime print it (the
// corelight/community-id-spec). The zero value is no ID. It is an array so that
// rows carrying one allocate nothing.
type CommunityID [30]byte

// String returns the ID's text, or "" for the zero value.
func (c CommunityID) String() string {
	if c[0] == 0 {
		return ""
	}
	return string(c[:])
}

// AppendTo appends the ID's text to dst.
func (c *CommunityID) AppendTo(dst []byte) []byte {
	if c[0] == 0 {
		return dst
	}
	return append(dst, c[:]...)
}

// CommunityIDv1 hashes a flow's endpoints: src and dst are 4-byte (IPv4) or
// 16-byte (IPv6) addresses, proto the IP protocol number. Ports are hashed when
// hasPorts is set (TCP, UDP, SCTP; for ICMP the caller passes the type and the
// code mapped as the spec says). The endpoints are put in a fixed order first,
// so both directions of a flow get the same ID.
func CommunityIDv1(seed uint16, proto uint8, src, dst []byte, sport, dport uint16, hasPorts bool) CommunityID {
	if c := bytes.Compare(src, dst); c > 0 || (c == 0 && hasPorts && sport > dport) {
		src, dst, sport, dport = dst, src, dport, sport
	}
	var buf [2 + 16 + 16 + 2 + 4]byte
	be := binary.BigEndian
	be.PutUint16(buf[:], seed)
	n := 2
	n += copy(buf[n:], src)
	n += copy(buf[n:], dst)
	buf[n], buf[n+1] = proto, 0
	n += 2
	if hasPorts {
		be.PutUint16(buf[n:], sport)
		be.PutUint16(buf[n+2:], dport)
		n += 4
	}
	sum := sha1.Sum(buf[:n])
	var id CommunityID
	id[0], id[1] = '1', ':'
	base64.StdEncoding.Encode(id[2:], sum[:])
	return id
}
