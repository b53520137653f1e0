package reader

import (
	"encoding/binary"
)

// Byte builders for small captures written by the tests themselves, so every reader
// path (byte order, resolution, block type) can be exercised without fixture files.

type pcapBuilder struct {
	bo   order
	nano bool
	b    []byte
}

func newPcap(bo order, nano bool, snaplen, linkType uint32) *pcapBuilder {
	p := &pcapBuilder{bo: bo, nano: nano}
	magic := uint32(0xa1b2c3d4)
	if nano {
		magic = 0xa1b23c4d
	}
	p.b = bo.AppendUint32(p.b, magic)
	p.b = bo.AppendUint16(p.b, 2)
	p.b = bo.AppendUint16(p.b, 4)
	p.b = bo.AppendUint32(p.b, 0) // thiszone
	p.b = bo.AppendUint32(p.b, 0) // sigfigs
	p.b = bo.AppendUint32(p.b, snaplen)
	p.b = bo.AppendUint32(p.b, linkType)
	return p
}

// add appends a record; frac is µs or ns according to the magic.
func (p *pcapBuilder) add(sec, frac uint32, data []byte, wirelen uint32) *pcapBuilder {
	p.b = p.bo.AppendUint32(p.b, sec)
	p.b = p.bo.AppendUint32(p.b, frac)
	p.b = p.bo.AppendUint32(p.b, uint32(len(data)))
	p.b = p.bo.AppendUint32(p.b, wirelen)
	p.b = append(p.b, data...)
	return p
}

// raw appends a record header with an arbitrary captured length and the given data.
func (p *pcapBuilder) raw(sec, frac, caplen, wirelen uint32, data []byte) *pcapBuilder {
	p.b = p.bo.AppendUint32(p.b, sec)
	p.b = p.bo.AppendUint32(p.b, frac)
	p.b = p.bo.AppendUint32(p.b, caplen)
	p.b = p.bo.AppendUint32(p.b, wirelen)
	p.b = append(p.b, data...)
	return p
}

type ngOpt struct {
	code uint16
	val  []byte
}

type pcapngBuilder struct {
	bo order
	b  []byte
}

func newPcapng() *pcapngBuilder { return &pcapngBuilder{} }

func pad4(n int) int { return (n + 3) &^ 3 }

func (p *pcapngBuilder) opts(opts []ngOpt) []byte {
	var b []byte
	if len(opts) == 0 {
		return nil
	}
	for _, o := range opts {
		b = p.bo.AppendUint16(b, o.code)
		b = p.bo.AppendUint16(b, uint16(len(o.val)))
		b = append(b, o.val...)
		b = append(b, make([]byte, pad4(len(o.val))-len(o.val))...)
	}
	b = p.bo.AppendUint32(b, 0) // opt_endofopt
	return b
}

func (p *pcapngBuilder) block(typ uint32, body []byte) *pcapngBuilder {
	body = append(body, make([]byte, pad4(len(body))-len(body))...)
	n := uint32(12 + len(body))
	p.b = p.bo.AppendUint32(p.b, typ)
	p.b = p.bo.AppendUint32(p.b, n)
	p.b = append(p.b, body...)
	p.b = p.bo.AppendUint32(p.b, n)
	return p
}

// section starts a section in byte order bo.
func (p *pcapngBuilder) section(bo order, os string) *pcapngBuilder {
	p.bo = bo
	var body []byte
	body = bo.AppendUint32(body, byteOrderMagic)
	body = bo.AppendUint16(body, 1)
	body = bo.AppendUint16(body, 0)
	body = bo.AppendUint64(body, ^uint64(0)) // section length unknown
	var o []ngOpt
	if os != "" {
		o = append(o, ngOpt{optSHBOS, []byte(os)})
	}
	body = append(body, p.opts(o)...)
	return p.block(blockSHB, body)
}

func (p *pcapngBuilder) iface(linkType uint16, snaplen uint32, opts ...ngOpt) *pcapngBuilder {
	var body []byte
	body = p.bo.AppendUint16(body, linkType)
	body = p.bo.AppendUint16(body, 0)
	body = p.bo.AppendUint32(body, snaplen)
	body = append(body, p.opts(opts)...)
	return p.block(blockIDB, body)
}

func (p *pcapngBuilder) epb(ifid uint32, ts uint64, data []byte, wirelen uint32) *pcapngBuilder {
	var body []byte
	body = p.bo.AppendUint32(body, ifid)
	body = p.bo.AppendUint32(body, uint32(ts>>32))
	body = p.bo.AppendUint32(body, uint32(ts))
	body = p.bo.AppendUint32(body, uint32(len(data)))
	body = p.bo.AppendUint32(body, wirelen)
	body = append(body, data...)
	return p.block(blockEPB, body)
}

func (p *pcapngBuilder) opb(ifid uint16, ts uint64, data []byte, wirelen uint32) *pcapngBuilder {
	var body []byte
	body = p.bo.AppendUint16(body, ifid)
	body = p.bo.AppendUint16(body, 0) // drops
	body = p.bo.AppendUint32(body, uint32(ts>>32))
	body = p.bo.AppendUint32(body, uint32(ts))
	body = p.bo.AppendUint32(body, uint32(len(data)))
	body = p.bo.AppendUint32(body, wirelen)
	body = append(body, data...)
	return p.block(blockOPB, body)
}

func (p *pcapngBuilder) spb(data []byte, wirelen uint32) *pcapngBuilder {
	var body []byte
	body = p.bo.AppendUint32(body, wirelen)
	body = append(body, data...)
	return p.block(blockSPB, body)
}

func strOpt(code uint16, s string) ngOpt { return ngOpt{code, []byte(s)} }

func (p *pcapngBuilder) u64Opt(code uint16, v uint64) ngOpt {
	return ngOpt{code, p.bo.AppendUint64(nil, v)}
}

func payload(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}

// order is a byte order that can also append.
type order interface {
	binary.ByteOrder
	binary.AppendByteOrder
}
