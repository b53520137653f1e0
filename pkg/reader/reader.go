package reader

import (
	"errors"
	"io"
)

// Options tune a Reader. The zero value is not useful; start from DefaultOptions.
type Options struct {
	// MaxRecord is the largest record (pcap record or pcapng block) accepted, in bytes.
	// A header claiming more is reported as ErrTooLarge without allocating it.
	// 64 MiB: far above any real link MTU or pcapng block (Wireshark caps packets at
	// 256 KiB, bigtcp frames are below 4 GiB but captures of them stay under 1 MiB),
	// yet small enough that a hostile length cannot exhaust memory.
	MaxRecord uint32
	// BufferSize is the size of the read buffer. Records that fit in it are handed
	// out without copying; larger ones are copied into a growing owned buffer.
	BufferSize int
}

// DefaultOptions are the options Open and NewReader use.
var DefaultOptions = Options{MaxRecord: 64 << 20, BufferSize: 1 << 20}

// Reader reads packets from one pcap or pcapng stream.
type Reader struct {
	name   string
	opts   Options
	format Format
	ifaces []Interface
	nano   bool
	size   int64
	off    int64
	closer io.Closer
	pkt    Packet
}

// Open opens a capture file; "-" means standard input.
func Open(path string) (*Reader, error) { return OpenWith(path, DefaultOptions) }

// OpenWith is Open with explicit options.
func OpenWith(path string, o Options) (*Reader, error) {
	return nil, errors.New("not implemented yet")
}

// NewReader reads a capture from r; name is used in errors.
func NewReader(r io.Reader, name string) (*Reader, error) {
	return newReader(r, name, DefaultOptions)
}

func newReader(r io.Reader, name string, o Options) (*Reader, error) {
	return nil, errors.New("not implemented yet")
}

// Next returns the next packet. The Packet and its Data are reused by the next call.
// It returns io.EOF at a clean end and a *PacketError otherwise.
func (r *Reader) Next() (*Packet, error) { return nil, io.EOF }

// NextCopy is Next returning a Packet that owns its data.
func (r *Reader) NextCopy() (Packet, error) {
	p, err := r.Next()
	if err != nil {
		return Packet{}, err
	}
	return p.Clone(), nil
}

// Format reports the container format.
func (r *Reader) Format() Format { return r.format }

// Interfaces returns every interface seen so far.
func (r *Reader) Interfaces() []Interface { return r.ifaces }

// Nanosecond reports whether timestamps are finer than microseconds.
func (r *Reader) Nanosecond() bool { return r.nano }

// Name returns the name given at open.
func (r *Reader) Name() string { return r.name }

// Size returns the file size if known, else -1.
func (r *Reader) Size() int64 { return r.size }

// Offset returns the number of bytes consumed so far.
func (r *Reader) Offset() int64 { return r.off }

// Close closes the underlying file if the Reader opened it.
func (r *Reader) Close() error {
	if r.closer != nil {
		return r.closer.Close()
	}
	return nil
}
