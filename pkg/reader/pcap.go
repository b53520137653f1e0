package reader

import (
	"encoding/binary"
	"fmt"
)

// pcap magic numbers as read little-endian from the first four bytes.
const (
	pcapMagicMicro     = 0xa1b2c3d4
	pcapMagicNano      = 0xa1b23c4d
	pcapMagicModified  = 0xa1b2cd34 // Alexey Kuznetzov's patched libpcap: 24-byte record headers
	pcapHeaderLen      = 24
	pcapLinkTypeMask   = 0x03ffffff // the upper bits carry the FCS length, not the link type
	pcapRecordHeader   = 16
	pcapModifiedHeader = 24
)

func (r *Reader) openPcap(magic uint32) error {
	var units uint64 = 1e6
	switch magic {
	case pcapMagicMicro, pcapMagicModified:
	case pcapMagicNano:
		units = 1e9
	default:
		switch bswap32(magic) {
		case pcapMagicMicro, pcapMagicModified:
			r.be = true
		case pcapMagicNano:
			units = 1e9
			r.be = true
		default:
			return r.errAt(0, 0, fmt.Errorf("%w (magic number %08x)", ErrNotCapture, binary.BigEndian.Uint32(r.buf[r.r:])))
		}
	}
	r.recHdr = pcapRecordHeader
	if magic == pcapMagicModified || bswap32(magic) == pcapMagicModified {
		r.recHdr = pcapModifiedHeader
	}
	if !r.fill(pcapHeaderLen) {
		return r.headerErr(pcapHeaderLen)
	}
	h := r.buf[r.r : r.r+pcapHeaderLen]
	snaplen := r.u32(h[16:])
	linkType := uint16(r.u32(h[20:]) & pcapLinkTypeMask)
	r.format = FormatPcap
	r.nano = units == 1e9
	r.pcapIfc = tsConv{units: units, linkType: linkType, snaplen: snaplen}
	r.ifaces = []Interface{{LinkType: linkType, Snaplen: snaplen, TSResol: units}}
	r.conv = []tsConv{r.pcapIfc}
	r.r += pcapHeaderLen
	return nil
}

func (r *Reader) nextPcap() error {
	off := r.base + int64(r.r)
	hl := r.recHdr
	if !r.fill(hl) {
		return r.endErr(off, hl)
	}
	h := r.buf[r.r : r.r+hl]
	sec := r.u32(h[0:])
	frac := r.u32(h[4:])
	caplen := r.u32(h[8:])
	wirelen := r.u32(h[12:])
	if caplen > r.opts.MaxRecord-uint32(hl) || r.opts.MaxRecord < uint32(hl) {
		return r.errAt(r.npkts+1, off, fmt.Errorf("%w (captured length %d, limit %d)", ErrTooLarge, caplen, r.opts.MaxRecord))
	}
	n := hl + int(caplen)
	if !r.fill(n) {
		return r.endErr(off, n)
	}
	r.npkts++
	p := &r.pkt
	p.Data = r.buf[r.r+hl : r.r+n : r.r+n]
	if r.pcapIfc.units == 1e9 {
		p.Timestamp = int64(sec)*1e9 + int64(frac)
		p.FracUnits = 1e9
	} else {
		p.Timestamp = int64(sec)*1e9 + int64(frac)*1e3
		p.FracUnits = 1e6
	}
	p.RawFrac = frac
	p.CapLen = caplen
	p.WireLen = wirelen
	p.Iface = 0
	p.LinkType = r.pcapIfc.linkType
	p.Snaplen = r.pcapIfc.snaplen
	p.Number = r.npkts
	p.Offset = off
	r.r += n
	return nil
}

func bswap32(v uint32) uint32 {
	return v>>24 | (v>>8)&0xff00 | (v<<8)&0xff0000 | v<<24
}
