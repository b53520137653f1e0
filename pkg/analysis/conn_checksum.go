package analysis

import (
	"encoding/binary"

	"github.com/pcaptk/pcaptk/pkg/decode"
)

// Checksum is the verdict on a packet's checksums.
type Checksum uint8

const (
	ChecksumOK        Checksum = iota // both right
	ChecksumBadIP                     // the IPv4 header's checksum is wrong
	ChecksumBadTCP                    // the TCP checksum is wrong
	ChecksumUnchecked                 // the segment was not captured whole
)

// CheckTCPChecksums verifies the IPv4 header checksum and the TCP checksum of
// the packet rec was decoded from (data, its captured bytes), as Zeek does when
// it is not run with -C: the TCP checksum only when the whole segment was
// captured. A caller reproducing Zeek drops a ChecksumBadIP packet altogether
// (Zeek never sees its connection) and passes a ChecksumBadTCP one to
// ConnAcc.Corrupt. It allocates nothing.
func CheckTCPChecksums(rec *decode.Record, data []byte) Checksum {
	if rec.IPVersion == 4 {
		h := rec.NetOff + rec.IPHdrLen
		if rec.IPHdrLen < 20 || h > len(data) || fold(sum16(data[rec.NetOff:h], 0)) != 0xffff {
			return ChecksumBadIP
		}
	}
	end := rec.TransOff + rec.L4Len
	if !rec.HasTCP || rec.L4Len < 20 || end > len(data) {
		return ChecksumUnchecked
	}
	var s uint64
	if rec.IPVersion == 4 {
		s = sum16(rec.SrcIP[:4], s)
		s = sum16(rec.DstIP[:4], s)
	} else {
		s = sum16(rec.SrcIP[:], s)
		s = sum16(rec.DstIP[:], s)
	}
	var ph [4]byte
	binary.BigEndian.PutUint16(ph[0:], 6)
	binary.BigEndian.PutUint16(ph[2:], uint16(rec.L4Len))
	s = sum16(ph[:], s)
	s = sum16(data[rec.TransOff:end], s)
	if fold(s) != 0xffff {
		return ChecksumBadTCP
	}
	return ChecksumOK
}

// sum16 adds b as big-endian 16-bit words (an odd last byte padded with zero).
func sum16(b []byte, s uint64) uint64 {
	for len(b) >= 8 {
		v := binary.BigEndian.Uint64(b)
		s += v>>48 + v>>32&0xffff + v>>16&0xffff + v&0xffff
		b = b[8:]
	}
	for len(b) >= 2 {
		s += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	return s
}

func fold(s uint64) uint16 {
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}
