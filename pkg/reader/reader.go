package reader

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// Options tune a Reader. Start from DefaultOptions and change what you need.
type Options struct {
	// MaxRecord is the largest record (pcap packet record or pcapng block, headers
	// included) accepted, in bytes. A header claiming more is reported as ErrTooLarge
	// before anything is allocated for it. The default, 64 MiB, is far above any real
	// frame (Wireshark's own limit is 256 KiB, IPv6 jumbograms and BIG TCP frames in
	// practice stay below a few hundred KiB) and small enough that a lying header
	// cannot exhaust memory.
	MaxRecord uint32
	// BufferSize is the initial size of the read buffer. Records that fit are handed
	// out as slices of it without copying; the buffer grows (never beyond about
	// MaxRecord) only when a larger record actually arrives, and shrinks back once
	// the reader has moved past it. Zero means the default.
	BufferSize int
	// Budget, when set, is shared with other Readers: growing the buffer beyond
	// BufferSize takes from it, and a record that does not fit what is left is
	// refused (ErrTooLarge).
	Budget *Budget
}

// DefaultOptions are the options Open and NewReader use.
var DefaultOptions = Options{MaxRecord: 64 << 20, BufferSize: 1 << 20}

const minBufferSize = 4096

// Reader reads packets from one pcap or pcapng stream.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	name   string
	opts   Options
	format Format
	ifaces []Interface
	conv   []tsConv // per global interface, parallel to ifaces
	nano   bool
	size   int64
	closer io.Closer
	err    error // sticky: returned by every Next after the first failure

	// input buffer: buf[r:w] holds unread bytes, buf[0] is at input offset base.
	src     io.Reader
	buf     []byte
	extra   int64 // bytes of buf beyond opts.BufferSize, taken from opts.Budget
	r, w    int
	base    int64
	srcErr  error
	npkts   uint64
	pkt     Packet
	be      bool // current byte order is big-endian (pcap file, or current pcapng section)
	recHdr  int  // pcap record header length: 16, or 24 for the modified (Kuznetzov) format
	pcapIfc tsConv

	// pcapng section state
	section int // index of the current section, -1 before the first
	secBase int // global index of the current section's first interface
	secOS   string
}

// tsConv turns a raw timestamp of one interface into nanoseconds.
type tsConv struct {
	units    uint64 // timestamp units per second
	offsetNs int64  // if_tsoffset in nanoseconds
	linkType uint16
	snaplen  uint32
}

// Open opens a capture file; "-" means standard input. Gzip-compressed input is
// recognised by its magic number and decompressed transparently.
func Open(path string) (*Reader, error) { return OpenWith(path, DefaultOptions) }

// OpenWith is Open with explicit options.
func OpenWith(path string, o Options) (*Reader, error) {
	var f *os.File
	if path == "-" {
		f = os.Stdin
	} else {
		var err error
		if f, err = os.Open(path); err != nil {
			return nil, err // *fs.PathError names the file
		}
	}
	r, err := newReader(f, path, o)
	if err != nil {
		if path != "-" {
			f.Close()
		}
		return nil, err
	}
	if path != "-" {
		r.closer = f
	}
	return r, nil
}

// NewReader reads a capture from rd; name is used in errors. The header is read and
// checked at once: input that is neither pcap nor pcapng gives a *PacketError
// wrapping ErrNotCapture. The caller keeps ownership of rd; Close does not close it.
func NewReader(rd io.Reader, name string) (*Reader, error) {
	return newReader(rd, name, DefaultOptions)
}

// NewReaderWith is NewReader with explicit options.
func NewReaderWith(rd io.Reader, name string, o Options) (*Reader, error) {
	return newReader(rd, name, o)
}

func newReader(rd io.Reader, name string, o Options) (*Reader, error) {
	if o.MaxRecord == 0 {
		o.MaxRecord = DefaultOptions.MaxRecord
	}
	if o.BufferSize <= 0 {
		o.BufferSize = DefaultOptions.BufferSize
	}
	if o.BufferSize < minBufferSize {
		o.BufferSize = minBufferSize
	}
	r := &Reader{name: name, opts: o, src: rd, size: -1, section: -1}
	if f, ok := rd.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			r.size = st.Size()
		}
	}
	r.buf = make([]byte, o.BufferSize)
	r.fill(4)
	if r.w-r.r >= 2 && r.buf[0] == 0x1f && r.buf[1] == 0x8b {
		if err := r.startGzip(); err != nil {
			return nil, err
		}
		r.fill(4)
	}
	if r.w-r.r < 4 {
		if r.srcErr != nil && r.srcErr != io.EOF {
			return nil, r.errAt(0, 0, r.srcErr)
		}
		what := "empty input"
		if r.w > 0 {
			what = fmt.Sprintf("only %d bytes", r.w)
		}
		return nil, r.errAt(0, 0, fmt.Errorf("%w (%s)", ErrNotCapture, what))
	}
	var err error
	switch magic := binary.LittleEndian.Uint32(r.buf[r.r:]); magic {
	case blockSHB:
		err = r.openPcapng()
	default:
		err = r.openPcap(magic)
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// startGzip replaces the source by a gzip reader over the bytes already buffered
// followed by the rest of the source.
func (r *Reader) startGzip() error {
	prefix := append([]byte(nil), r.buf[r.r:r.w]...)
	rest := r.src
	if r.srcErr != nil {
		rest = errReader{r.srcErr}
	}
	zr, err := gzip.NewReader(io.MultiReader(bytes.NewReader(prefix), rest))
	if err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			err = fmt.Errorf("%w (gzip header)", ErrTruncated)
		} else {
			err = fmt.Errorf("gzip: %w", err)
		}
		return r.errAt(0, 0, err)
	}
	r.src = zr
	r.r, r.w, r.base, r.srcErr = 0, 0, 0, nil
	r.size = -1 // compressed size says nothing about how far Offset will go
	return nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// Next returns the next packet. The Packet and its Data belong to the Reader and are
// overwritten by the next call; use NextCopy or Packet.Clone to keep one. Next returns
// io.EOF at a clean end of input and a *PacketError for anything else; after an error
// every later call returns the same error.
func (r *Reader) Next() (*Packet, error) {
	if r.err != nil {
		return nil, r.err
	}
	if len(r.buf) > r.opts.BufferSize && r.w-r.r <= r.opts.BufferSize {
		r.shrink()
	}
	var err error
	if r.format == FormatPcap {
		err = r.nextPcap()
	} else {
		err = r.nextPcapng()
	}
	if err != nil {
		r.err = err
		return nil, err
	}
	return &r.pkt, nil
}

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

// Interfaces returns every interface seen so far, indexed by Packet.Iface. For pcapng,
// interfaces described before the first packet are known as soon as the Reader is
// opened; later sections may add more. The slice must not be modified.
func (r *Reader) Interfaces() []Interface { return r.ifaces }

// Nanosecond reports whether timestamps are finer than microseconds: the nanosecond
// pcap magic, or a pcapng interface with a resolution finer than 1µs.
func (r *Reader) Nanosecond() bool { return r.nano }

// Name returns the name given at open ("-" for standard input).
func (r *Reader) Name() string { return r.name }

// Size returns the input size in bytes if known (a regular, uncompressed file), else -1.
func (r *Reader) Size() int64 { return r.size }

// Offset returns the number of (decompressed) input bytes consumed so far.
func (r *Reader) Offset() int64 { return r.base + int64(r.r) }

// shrink gives back a buffer grown for a large record that has been handed out.
func (r *Reader) shrink() {
	nb := make([]byte, r.opts.BufferSize)
	r.w = copy(nb, r.buf[r.r:r.w])
	r.base += int64(r.r)
	r.r, r.buf = 0, nb
	r.pkt.Data = nil // the large buffer must not outlive the budget it no longer holds
	r.releaseBudget()
}

func (r *Reader) releaseBudget() {
	if r.extra > 0 && r.opts.Budget != nil {
		r.opts.Budget.give(r.extra)
	}
	r.extra = 0
}

// Close closes the file if the Reader opened it.
func (r *Reader) Close() error {
	r.releaseBudget()
	if zr, ok := r.src.(*gzip.Reader); ok {
		zr.Close()
	}
	if r.closer != nil {
		c := r.closer
		r.closer = nil
		return c.Close()
	}
	return nil
}

// fill makes at least n unread bytes available in buf[r.r:], reading and, when the
// record does not fit, compacting or growing the buffer. It reports false if the
// input ended (or failed, see srcErr) first.
func (r *Reader) fill(n int) bool {
	if r.w-r.r >= n {
		return true
	}
	return r.fillSlow(n)
}

func (r *Reader) fillSlow(n int) bool {
	empty := 0
	for r.w-r.r < n {
		if r.srcErr != nil {
			return false
		}
		if r.w == len(r.buf) {
			if r.r > 0 {
				r.w = copy(r.buf, r.buf[r.r:r.w])
				r.base += int64(r.r)
				r.r = 0
			} else {
				// Grow only as data actually arrives, so a header that lies about
				// its length costs at most twice the bytes really present.
				size := 2 * len(r.buf)
				if size > n || (r.size >= 0 && r.size-r.base >= int64(n)) {
					// The record fits in what remains of the file (or in the
					// doubled buffer): one buffer of its size, no garbage of
					// intermediate ones.
					size = max(n, len(r.buf)+minBufferSize)
				}
				if !r.takeBudget(size) {
					return false
				}
				nb := make([]byte, size)
				copy(nb, r.buf[:r.w])
				r.buf = nb
			}
		}
		m, err := r.src.Read(r.buf[r.w:])
		r.w += m
		if err != nil {
			r.srcErr = err
		} else if m == 0 {
			if empty++; empty > 100 {
				r.srcErr = io.ErrNoProgress
			}
		}
	}
	return true
}

// takeBudget takes what growing the buffer to size needs from the shared budget;
// when it cannot, the reader fails with a budgetError.
func (r *Reader) takeBudget(size int) bool {
	if r.opts.Budget == nil {
		return true
	}
	grow := int64(size-r.opts.BufferSize) - r.extra
	if grow <= 0 {
		return true
	}
	if !r.opts.Budget.take(grow) {
		// The reader is done for (its error is sticky): what it took goes back.
		r.srcErr = &budgetError{r.opts.Budget.limit}
		r.buf, r.r, r.w = nil, 0, 0
		r.releaseBudget()
		return false
	}
	r.extra += grow
	return true
}

// endErr explains why fill(need) failed for the record starting at offset off.
func (r *Reader) endErr(off int64, need int) error {
	have := r.w - r.r
	if be, ok := r.srcErr.(*budgetError); ok {
		return r.errAt(r.npkts+1, off, fmt.Errorf("%w (record of %d bytes: %v)", ErrTooLarge, need, be))
	}
	if r.srcErr == io.EOF {
		if have == 0 {
			return io.EOF
		}
		return r.errAt(r.npkts+1, off, fmt.Errorf("%w (record needs %d bytes, %d left)", ErrTruncated, need, have))
	}
	if r.srcErr == io.ErrUnexpectedEOF { // e.g. a gzip stream cut short
		return r.errAt(r.npkts+1, off, fmt.Errorf("%w (%d of %d bytes of the record present, input cut short: %v)", ErrTruncated, have, need, r.srcErr))
	}
	return r.errAt(r.npkts+1, off, r.srcErr)
}

// headerErr explains why fill(need) failed for the file header.
func (r *Reader) headerErr(need int) error {
	if r.srcErr == io.EOF || r.srcErr == io.ErrUnexpectedEOF {
		return r.errAt(0, 0, fmt.Errorf("%w (file header needs %d bytes, %d present)", ErrTruncated, need, r.w-r.r))
	}
	return r.errAt(0, 0, r.srcErr)
}

func (r *Reader) errAt(pkt uint64, off int64, err error) error {
	return &PacketError{File: r.name, Packet: pkt, Offset: off, Err: err}
}

func (r *Reader) u16(b []byte) uint16 {
	if r.be {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (r *Reader) u32(b []byte) uint32 {
	if r.be {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *Reader) u64(b []byte) uint64 {
	if r.be {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}
