package writer

import (
	"bufio"
	"encoding/binary"
	"io"

	"github.com/pcaptk/pcaptk/internal/numfmt"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// DefaultBufferSize is the write buffer of a writer made by NewPcap or NewPcapng.
const DefaultBufferSize = 1 << 20

const (
	pcapMagicMicro = 0xa1b2c3d4
	pcapMagicNano  = 0xa1b23c4d
	pcapHeaderLen  = 24
	pcapRecordLen  = 16
)

// Pcap writes a classic pcap file (little-endian, version 2.4) with one link type.
type Pcap struct {
	bw       *bufio.Writer
	nano     bool
	linkType uint16
	size     int64
	err      error
	hdr      [pcapRecordLen]byte
}

// NewPcap writes a pcap file header for linkType and snaplen to w and returns a writer for
// the packets. Timestamps are stored in microseconds, or nanoseconds when nano is set.
// The header is buffered like everything else: call Flush (or Close) at the end.
// The caller keeps ownership of w; Close does not close it.
func NewPcap(w io.Writer, linkType uint16, snaplen uint32, nano bool) (*Pcap, error) {
	p := &Pcap{bw: bufio.NewWriterSize(w, DefaultBufferSize), nano: nano, linkType: linkType}
	return p, p.start(snaplen, true)
}

// start writes the file header; with header false it continues an existing file.
func (p *Pcap) start(snaplen uint32, header bool) error {
	if !header {
		return nil
	}
	if snaplen == 0 {
		snaplen = 262144
	}
	var h [pcapHeaderLen]byte
	magic := uint32(pcapMagicMicro)
	if p.nano {
		magic = pcapMagicNano
	}
	le := binary.LittleEndian
	le.PutUint32(h[0:], magic)
	le.PutUint16(h[4:], 2)
	le.PutUint16(h[6:], 4)
	le.PutUint32(h[16:], snaplen)
	le.PutUint32(h[20:], uint32(p.linkType))
	p.write(h[:])
	return p.err
}

func (w *Pcap) write(b []byte) {
	if w.err != nil {
		return
	}
	n, err := w.bw.Write(b)
	w.size += int64(n)
	if err != nil {
		w.err = err
	}
}

// WritePacket appends one packet record: len(p.Data) captured bytes, p.WireLen as the
// original length and p.Timestamp (truncated to µs unless the file is nanosecond).
// The packet's link type is not checked: a pcap file has one, chosen by the caller.
func (w *Pcap) WritePacket(p *reader.Packet) error {
	if w.err != nil {
		return w.err
	}
	sec, frac := numfmt.SplitNS(p.Timestamp)
	if !w.nano {
		frac /= 1000
	}
	le := binary.LittleEndian
	le.PutUint32(w.hdr[0:], uint32(sec))
	le.PutUint32(w.hdr[4:], uint32(frac))
	le.PutUint32(w.hdr[8:], uint32(len(p.Data)))
	le.PutUint32(w.hdr[12:], p.WireLen)
	w.write(w.hdr[:])
	w.write(p.Data)
	return w.err
}

// RecordSize is the number of bytes WritePacket adds to the file for p.
func (w *Pcap) RecordSize(p *reader.Packet) int64 { return pcapRecordLen + int64(len(p.Data)) }

// Size is the number of bytes written so far, buffered or not.
func (w *Pcap) Size() int64 { return w.size }

// Available is how many more bytes the writer buffers before it writes to
// the underlying writer.
func (w *Pcap) Available() int { return w.bw.Available() }

// Flush writes buffered data to the underlying writer.
func (w *Pcap) Flush() error {
	if w.err != nil {
		return w.err
	}
	w.err = w.bw.Flush()
	return w.err
}

// Close flushes. It does not close the underlying writer.
func (w *Pcap) Close() error { return w.Flush() }

// Error returns the first error met while writing, if any.
func (w *Pcap) Error() error { return w.err }
