package reader

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strings"
)

// pcapng block types.
const (
	blockSHB = 0x0a0d0d0a // palindromic, so it reads the same in either byte order
	blockIDB = 0x00000001
	blockOPB = 0x00000002 // obsolete Packet Block
	blockSPB = 0x00000003
	blockEPB = 0x00000006

	byteOrderMagic = 0x1a2b3c4d

	// Limits that keep the memory spent on interface descriptions bounded whatever
	// the input: real captures have a handful of interfaces (merged ones, hundreds).
	maxInterfaces = 1 << 14
	maxOptString  = 1024 // longer names, descriptions and filters are cut
	minBlockLen   = 12   // type, length, trailing length
	minSHBLen     = 28
)

// option codes used here
const (
	optEnd         = 0
	optSHBOS       = 3
	optIfName      = 2
	optIfDesc      = 3
	optIfTSResol   = 9
	optIfFilter    = 11
	optIfOS        = 12
	optIfTSOffset  = 14
	filterIsString = 0 // first byte of if_filter: libpcap filter string
)

// errStop tells nextBlock that a packet block is next and was left unread.
var errStop = errors.New("stop before packet")

func (r *Reader) openPcapng() error {
	r.format = FormatPcapNG
	if err := r.readSHB(0); err != nil {
		return err
	}
	// Read the interface descriptions (and anything else) up to the first packet so
	// that Interfaces and Nanosecond are useful right after Open. An error met here is
	// kept for the first Next: the file header itself was fine.
	if err := r.nextBlock(true); err != nil && err != errStop {
		r.err = err
	}
	return nil
}

func (r *Reader) nextPcapng() error { return r.nextBlock(false) }

// nextBlock reads blocks until one holds a packet, which it puts in r.pkt. With
// peek it instead stops, leaving the packet block unread, and returns errStop.
func (r *Reader) nextBlock(peek bool) error {
	for {
		off := r.Offset()
		if !r.fill(8) {
			return r.endErr(off, 8)
		}
		typ := r.u32(r.buf[r.r:])
		switch typ {
		case blockSHB:
			if err := r.readSHB(off); err != nil {
				return err
			}
			continue
		case blockEPB, blockSPB, blockOPB:
			if peek {
				return errStop
			}
		}
		blen, err := r.blockLen(off)
		if err != nil {
			return err
		}
		body := r.buf[r.r+8 : r.r+blen-4]
		switch typ {
		case blockEPB, blockSPB, blockOPB:
			err = r.packetBlock(typ, body, off)
			r.r += blen
			return err
		case blockIDB:
			err = r.readIDB(body, off)
		}
		// Other blocks (name resolution, statistics, decryption secrets, custom,
		// unknown) carry nothing a packet reader needs.
		r.r += blen
		if err != nil {
			return err
		}
	}
}

// blockLen validates the length of the block at r.r, buffers the whole block and
// checks its trailing copy of the length.
func (r *Reader) blockLen(off int64) (int, error) {
	blen := r.u32(r.buf[r.r+4:])
	if blen < minBlockLen || blen%4 != 0 {
		return 0, r.errAt(r.npkts+1, off, fmt.Errorf("%w: block length %d (must be a multiple of 4, at least %d)", ErrCorrupt, blen, minBlockLen))
	}
	if blen > r.opts.MaxRecord {
		return 0, r.errAt(r.npkts+1, off, fmt.Errorf("%w (block length %d, limit %d)", ErrTooLarge, blen, r.opts.MaxRecord))
	}
	n := int(blen)
	if !r.fill(n) {
		return 0, r.endErr(off, n)
	}
	if t := r.u32(r.buf[r.r+n-4:]); t != blen {
		return 0, r.errAt(r.npkts+1, off, fmt.Errorf("%w: block length %d but trailing length %d", ErrCorrupt, blen, t))
	}
	return n, nil
}

// readSHB reads a Section Header Block at r.r, which sets the byte order of the
// section and starts a new interface numbering.
func (r *Reader) readSHB(off int64) error {
	pkt := r.npkts + 1
	if off == 0 {
		pkt = 0
	}
	if !r.fill(12) {
		if off == 0 {
			return r.headerErr(12)
		}
		return r.endErr(off, 12)
	}
	switch binary.LittleEndian.Uint32(r.buf[r.r+8:]) {
	case byteOrderMagic:
		r.be = false
	case bswap32(byteOrderMagic):
		r.be = true
	default:
		sentinel := ErrCorrupt
		if off == 0 {
			sentinel = ErrNotCapture
		}
		return r.errAt(pkt, off, fmt.Errorf("%w: pcapng section header with bad byte-order magic %x", sentinel, r.buf[r.r+8:r.r+12]))
	}
	if blen := r.u32(r.buf[r.r+4:]); blen < minSHBLen {
		return r.errAt(pkt, off, fmt.Errorf("%w: section header length %d (at least %d)", ErrCorrupt, blen, minSHBLen))
	}
	blen, err := r.blockLen(off)
	if err != nil {
		if off == 0 {
			var pe *PacketError
			if errors.As(err, &pe) {
				pe.Packet = 0
			}
		}
		return err
	}
	b := r.buf[r.r : r.r+blen]
	if major := r.u16(b[12:]); major != 1 {
		return r.errAt(pkt, off, fmt.Errorf("%w: unsupported pcapng version %d.%d", ErrCorrupt, major, r.u16(b[14:])))
	}
	r.section++
	r.secBase = len(r.ifaces)
	r.secOS = ""
	r.options(b[24:blen-4], func(code uint16, v []byte) {
		if code == optSHBOS {
			r.secOS = optString(v)
		}
	})
	r.r += blen
	return nil
}

// readIDB adds the interface an Interface Description Block describes.
func (r *Reader) readIDB(body []byte, off int64) error {
	if len(body) < 8 {
		return r.errAt(r.npkts+1, off, fmt.Errorf("%w: interface description block too short (%d bytes)", ErrCorrupt, len(body)+12))
	}
	if len(r.ifaces) >= maxInterfaces {
		return r.errAt(r.npkts+1, off, fmt.Errorf("%w: more than %d interfaces", ErrCorrupt, maxInterfaces))
	}
	ifc := Interface{
		LinkType:  r.u16(body[0:]),
		Snaplen:   r.u32(body[4:]),
		OS:        r.secOS,
		TSResol:   1e6,
		Section:   r.section,
		SectionID: len(r.ifaces) - r.secBase,
	}
	var bad error
	r.options(body[8:], func(code uint16, v []byte) {
		switch code {
		case optIfName:
			ifc.Name = optString(v)
		case optIfDesc:
			ifc.Description = optString(v)
		case optIfFilter:
			if len(v) > 0 && v[0] == filterIsString {
				ifc.Filter = optString(v[1:])
			}
		case optIfOS:
			if ifc.OS == "" {
				ifc.OS = optString(v)
			}
		case optIfTSResol:
			if len(v) < 1 {
				return
			}
			units, ok := tsResolUnits(v[0])
			if !ok {
				bad = fmt.Errorf("%w: if_tsresol %#x out of range", ErrCorrupt, v[0])
				return
			}
			ifc.TSResol = units
		case optIfTSOffset:
			if len(v) == 8 {
				ifc.TSOffset = int64(r.u64(v))
			}
		}
	})
	if bad != nil {
		return r.errAt(r.npkts+1, off, bad)
	}
	r.ifaces = append(r.ifaces, ifc)
	r.conv = append(r.conv, tsConv{
		units:    ifc.TSResol,
		offsetNs: ifc.TSOffset * 1e9,
		linkType: ifc.LinkType,
		snaplen:  ifc.Snaplen,
	})
	if ifc.TSResol > 1e6 {
		r.nano = true
	}
	return nil
}

// tsResolUnits decodes if_tsresol into timestamp units per second.
func tsResolUnits(v byte) (uint64, bool) {
	e := uint(v & 0x7f)
	if v&0x80 != 0 {
		if e > 63 {
			return 0, false
		}
		return 1 << e, true
	}
	if e > 19 { // 10^20 does not fit in 64 bits
		return 0, false
	}
	u := uint64(1)
	for ; e > 0; e-- {
		u *= 10
	}
	return u, true
}

// options calls fn for each option in opts. A malformed option list ends the walk
// quietly: options are descriptive, and Wireshark still reads such files' packets.
func (r *Reader) options(opts []byte, fn func(code uint16, v []byte)) {
	for len(opts) >= 4 {
		code, l := r.u16(opts), int(r.u16(opts[2:]))
		if code == optEnd || 4+l > len(opts) {
			return
		}
		fn(code, opts[4:4+l])
		adv := 4 + (l+3)&^3
		if adv > len(opts) {
			return
		}
		opts = opts[adv:]
	}
}

func optString(v []byte) string {
	v = v[:min(len(v), maxOptString)]
	return strings.TrimRight(string(v), "\x00")
}

// packetBlock fills r.pkt from an enhanced, simple or obsolete packet block body.
func (r *Reader) packetBlock(typ uint32, body []byte, off int64) error {
	var (
		ifid            uint32
		tsHi, tsLo      uint32
		caplen, wirelen uint32
		data            []byte
		hasTS           = true
	)
	switch typ {
	case blockEPB, blockOPB:
		if len(body) < 20 {
			return r.errAt(r.npkts+1, off, fmt.Errorf("%w: packet block too short (%d bytes)", ErrCorrupt, len(body)+12))
		}
		if typ == blockEPB {
			ifid = r.u32(body)
		} else {
			ifid = uint32(r.u16(body))
		}
		tsHi, tsLo = r.u32(body[4:]), r.u32(body[8:])
		caplen, wirelen = r.u32(body[12:]), r.u32(body[16:])
		if uint64(caplen) > uint64(len(body)-20) {
			return r.errAt(r.npkts+1, off, fmt.Errorf("%w: captured length %d exceeds the block's %d data bytes", ErrCorrupt, caplen, len(body)-20))
		}
		data = body[20 : 20+caplen]
	case blockSPB:
		if len(body) < 4 {
			return r.errAt(r.npkts+1, off, fmt.Errorf("%w: simple packet block too short (%d bytes)", ErrCorrupt, len(body)+12))
		}
		hasTS = false
		wirelen = r.u32(body)
		caplen = uint32(len(body) - 4) // includes padding; trimmed below
	}
	if int(ifid) >= len(r.ifaces)-r.secBase {
		return r.errAt(r.npkts+1, off, fmt.Errorf("%w: packet for interface %d, but the section describes %d", ErrCorrupt, ifid, len(r.ifaces)-r.secBase))
	}
	gi := r.secBase + int(ifid)
	c := &r.conv[gi]
	if typ == blockSPB {
		// The block has no captured length: it is the original length cut by the
		// snapshot length, and never more than the block holds.
		caplen = min(caplen, wirelen)
		if c.snaplen != 0 {
			caplen = min(caplen, c.snaplen)
		}
		data = body[4 : 4+caplen]
	}
	r.npkts++
	p := &r.pkt
	p.Data = data[:len(data):len(data)]
	if hasTS {
		p.Timestamp = c.nanos(uint64(tsHi)<<32 | uint64(tsLo))
	} else {
		p.Timestamp = 0
	}
	p.CapLen = caplen
	p.WireLen = wirelen
	p.Iface = gi
	p.LinkType = c.linkType
	p.Snaplen = c.snaplen
	p.Number = r.npkts
	p.Offset = off
	return nil
}

// nanos converts a raw timestamp to nanoseconds since the epoch.
func (c *tsConv) nanos(ts uint64) int64 {
	switch c.units {
	case 1e6:
		return int64(ts*1e3) + c.offsetNs
	case 1e9:
		return int64(ts) + c.offsetNs
	}
	sec, frac := ts/c.units, ts%c.units
	hi, lo := bits.Mul64(frac, 1e9)
	ns, _ := bits.Div64(hi, lo, c.units) // hi < units because frac < units
	return int64(sec)*1e9 + int64(ns) + c.offsetNs
}
