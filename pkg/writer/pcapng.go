package writer

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"runtime"

	"github.com/pcaptk/pcaptk/pkg/reader"
)

const (
	blockSHB = 0x0A0D0D0A
	blockIDB = 0x00000001
	blockISB = 0x00000005
	blockEPB = 0x00000006

	optEnd         = 0
	optSHBHardware = 2
	optSHBOS       = 3
	optSHBUserAppl = 4
	optIfName      = 2
	optIfDesc      = 3
	optIfTSResol   = 9
	optIfFilter    = 11
	optIfOS        = 12
	optISBStart    = 2
	optISBEnd      = 3
	optISBIfRecv   = 4
	optISBIfDrop   = 5

	epbHeaderLen = 28 // type, length, interface, ts high, ts low, caplen, origlen
)

// PcapngOptions say what goes into the section header and which interfaces are declared
// up front.
type PcapngOptions struct {
	// AppName is written as shb_userappl, e.g. "pcaptk 0.1.0". Empty: no option.
	AppName string
	// OS is written as shb_os. Empty: runtime.GOOS.
	OS string
	// Interfaces get an Interface Description Block each, in order, right after the
	// section header; a packet's Iface indexes this list. More can be added with
	// AddInterface, and a packet whose Iface has no block yet gets one made from its
	// LinkType and Snaplen.
	Interfaces []reader.Interface
	// BufferSize of the write buffer; 0 means DefaultBufferSize.
	BufferSize int
}

// Pcapng writes a pcapng file: one section, little-endian, Enhanced Packet Blocks.
type Pcapng struct {
	bw     *bufio.Writer
	ifaces []ngIface
	size   int64
	err    error
	hdr    [epbHeaderLen]byte
	opts   []byte // scratch for building option lists (not on the packet path)
}

type ngIface struct {
	linkType uint16
	resol    int64 // units per second of this interface's timestamps (10^k, k <= 9)
	div      int64 // 1e9 / resol
}

// NewPcapng writes a section header and the interface blocks of o.Interfaces to w.
// The caller keeps ownership of w; Close flushes but does not close it.
func NewPcapng(w io.Writer, o PcapngOptions) (*Pcapng, error) {
	bs := o.BufferSize
	if bs <= 0 {
		bs = DefaultBufferSize
	}
	p := &Pcapng{bw: bufio.NewWriterSize(w, bs)}
	return p, p.start(o, true)
}

// start writes the section header and interface blocks; with header false it continues
// an existing file whose blocks for o.Interfaces are already written.
func (p *Pcapng) start(o PcapngOptions, header bool) error {
	if header {
		osName := o.OS
		if osName == "" {
			osName = runtime.GOOS
		}
		p.opts = p.opts[:0]
		p.opts = appendOpt(p.opts, optSHBOS, []byte(osName))
		if o.AppName != "" {
			p.opts = appendOpt(p.opts, optSHBUserAppl, []byte(o.AppName))
		}
		p.opts = appendOpt(p.opts, optEnd, nil)
		var b [16]byte
		le := binary.LittleEndian
		le.PutUint32(b[0:], 0x1A2B3C4D)
		le.PutUint16(b[4:], 1)
		le.PutUint16(b[6:], 0)
		le.PutUint64(b[8:], ^uint64(0)) // section length unknown
		p.block(blockSHB, b[:], p.opts)
	}
	for _, ifc := range o.Interfaces {
		p.addInterface(ifc, header)
	}
	return p.err
}

// AddInterface declares one more interface and returns its index (the Iface packets
// must carry to be written on it).
func (w *Pcapng) AddInterface(ifc reader.Interface) int {
	return w.addInterface(ifc, true)
}

// addInterface records ifc; with write false (append mode) the block is already in the file.
func (w *Pcapng) addInterface(ifc reader.Interface, write bool) int {
	resol, code := tsResolution(ifc.TSResol)
	w.ifaces = append(w.ifaces, ngIface{linkType: ifc.LinkType, resol: resol, div: 1e9 / resol})
	if !write {
		return len(w.ifaces) - 1
	}
	w.opts = w.opts[:0]
	if ifc.Name != "" {
		w.opts = appendOpt(w.opts, optIfName, []byte(ifc.Name))
	}
	if ifc.Description != "" {
		w.opts = appendOpt(w.opts, optIfDesc, []byte(ifc.Description))
	}
	w.opts = appendOpt(w.opts, optIfTSResol, []byte{code})
	if ifc.Filter != "" {
		w.opts = appendOpt(w.opts, optIfFilter, append([]byte{0}, ifc.Filter...))
	}
	if ifc.OS != "" {
		w.opts = appendOpt(w.opts, optIfOS, []byte(ifc.OS))
	}
	w.opts = appendOpt(w.opts, optEnd, nil)
	var b [8]byte
	le := binary.LittleEndian
	le.PutUint16(b[0:], ifc.LinkType)
	le.PutUint32(b[4:], ifc.Snaplen)
	w.block(blockIDB, b[:], w.opts)
	return len(w.ifaces) - 1
}

// tsResolution keeps an interface's decimal resolution up to nanoseconds; anything else
// (binary fractions, finer than ns, absent) is written as microseconds when absent and
// nanoseconds otherwise, which loses nothing of the nanosecond timestamps packets carry.
func tsResolution(r uint64) (resol int64, code byte) {
	if r == 0 {
		return 1e6, 6
	}
	p := int64(1)
	for k := byte(0); k <= 9; k++ {
		if uint64(p) == r {
			return p, k
		}
		p *= 10
	}
	return 1e9, 9
}

// Interfaces is the number of interfaces declared so far.
func (w *Pcapng) Interfaces() int { return len(w.ifaces) }

// WritePacket appends an Enhanced Packet Block on interface p.Iface, declaring the
// interface from the packet's LinkType and Snaplen if it has not been declared.
func (w *Pcapng) WritePacket(p *reader.Packet) error {
	if w.err != nil {
		return w.err
	}
	if p.Iface < 0 {
		w.err = fmt.Errorf("packet %d: negative interface index %d", p.Number, p.Iface)
		return w.err
	}
	for p.Iface >= len(w.ifaces) {
		w.AddInterface(reader.Interface{LinkType: p.LinkType, Snaplen: p.Snaplen, TSResol: 1e9})
	}
	ifc := &w.ifaces[p.Iface]
	var ts uint64
	if p.Timestamp >= 0 {
		ts = uint64(p.Timestamp / ifc.div)
	} else {
		ts = uint64((p.Timestamp - ifc.div + 1) / ifc.div) // floor, two's complement
	}
	n := len(p.Data)
	pad := (4 - n&3) & 3
	total := uint32(epbHeaderLen + n + pad + 4)
	le := binary.LittleEndian
	le.PutUint32(w.hdr[0:], blockEPB)
	le.PutUint32(w.hdr[4:], total)
	le.PutUint32(w.hdr[8:], uint32(p.Iface))
	le.PutUint32(w.hdr[12:], uint32(ts>>32))
	le.PutUint32(w.hdr[16:], uint32(ts))
	le.PutUint32(w.hdr[20:], uint32(n))
	le.PutUint32(w.hdr[24:], p.WireLen)
	w.write(w.hdr[:])
	w.write(p.Data)
	w.write(zeros[:pad])
	le.PutUint32(w.hdr[0:], total)
	w.write(w.hdr[:4])
	return w.err
}

var zeros [8]byte

// RecordSize is the number of bytes WritePacket adds to the file for p.
func (w *Pcapng) RecordSize(p *reader.Packet) int64 {
	n := int64(len(p.Data))
	return epbHeaderLen + n + (4-n&3)&3 + 4
}

// WriteStats writes an Interface Statistics Block for interface iface: packets received
// and dropped (as libpcap counts them) at time ts (ns since the epoch).
func (w *Pcapng) WriteStats(iface int, received, dropped uint64, ts int64) error {
	if w.err != nil {
		return w.err
	}
	if iface < 0 || iface >= len(w.ifaces) {
		w.err = fmt.Errorf("statistics for undeclared interface %d", iface)
		return w.err
	}
	ifc := w.ifaces[iface]
	t := uint64(ts / ifc.div)
	var v [8]byte
	le := binary.LittleEndian
	w.opts = w.opts[:0]
	le.PutUint64(v[:], received)
	w.opts = appendOpt(w.opts, optISBIfRecv, v[:])
	le.PutUint64(v[:], dropped)
	w.opts = appendOpt(w.opts, optISBIfDrop, v[:])
	w.opts = appendOpt(w.opts, optEnd, nil)
	var b [12]byte
	le.PutUint32(b[0:], uint32(iface))
	le.PutUint32(b[4:], uint32(t>>32))
	le.PutUint32(b[8:], uint32(t))
	w.block(blockISB, b[:], w.opts)
	return w.err
}

// block writes a whole block whose body is fixed followed by opts (both 4-byte aligned).
func (w *Pcapng) block(typ uint32, fixed, opts []byte) {
	total := uint32(12 + len(fixed) + len(opts))
	var b [8]byte
	le := binary.LittleEndian
	le.PutUint32(b[0:], typ)
	le.PutUint32(b[4:], total)
	w.write(b[:])
	w.write(fixed)
	w.write(opts)
	w.write(b[4:8])
}

// appendOpt appends one option (code, length, value padded to 4 bytes).
func appendOpt(b []byte, code uint16, val []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, code)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(val)))
	b = append(b, val...)
	return append(b, zeros[:(4-len(val)&3)&3]...)
}

func (w *Pcapng) write(b []byte) {
	if w.err != nil {
		return
	}
	n, err := w.bw.Write(b)
	w.size += int64(n)
	if err != nil {
		w.err = err
	}
}

// Size is the number of bytes written so far, buffered or not.
func (w *Pcapng) Size() int64 { return w.size }

// Available is how many more bytes the writer buffers before it writes to
// the underlying writer.
func (w *Pcapng) Available() int { return w.bw.Available() }

// Flush writes buffered data to the underlying writer.
func (w *Pcapng) Flush() error {
	if w.err != nil {
		return w.err
	}
	w.err = w.bw.Flush()
	return w.err
}

// Close flushes. It does not close the underlying writer.
func (w *Pcapng) Close() error { return w.Flush() }

// Error returns the first error met while writing, if any.
func (w *Pcapng) Error() error { return w.err }
