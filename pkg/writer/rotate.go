package writer

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pcaptk/pcaptk/internal/outfile"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// Sink takes packets. *Pcap, *Pcapng, *Rotating and *Flows are Sinks.
type Sink interface {
	WritePacket(p *reader.Packet) error
	Close() error
}

// fileWriter is what Rotating and Flows need from the pcap and pcapng writers.
type fileWriter interface {
	Sink
	RecordSize(p *reader.Packet) int64
	Size() int64
	Flush() error
}

// RotateOptions configure a Rotating sink. Used by `pcaptk split` and `pcaptk capture -w`.
type RotateOptions struct {
	// Path is the name pattern (-w). When it holds strftime fields (%Y %m %d %H %M %S %y
	// %j %s %%), each file's name is Path expanded with the file's time, plus "_NNNNN"
	// (a sequence number from 00001) before the extension when MaxBytes or MaxPackets
	// may cut several files within one second, or when the expansion names a file
	// this sink already wrote (a pattern coarser than Interval): no file is overwritten. Without fields, files are named
	// BASE_NNNNN_YYYYmmddHHMMSS.EXT (Path = BASE.EXT). Either way the file's time is
	// the time given to Open, or else the timestamp of the file's first packet, in the
	// local time zone; so names sort chronologically.
	Path string
	// Format is reader.FormatPcap or reader.FormatPcapNG (0 means pcap).
	Format reader.Format
	// Nano writes nanosecond timestamps in pcap files (pcapng keeps each interface's).
	Nano bool
	// Interfaces of the packets to come. Pcap files take link type and snaplen from the
	// first (or from the first packet when empty); pcapng files declare them all.
	Interfaces []reader.Interface
	// AppName is the pcapng shb_userappl, e.g. "pcaptk 0.1.0".
	AppName string

	// MaxBytes > 0 starts a new file before a packet that would make the current one
	// larger than MaxBytes (a file holds at least one packet, so it can exceed
	// MaxBytes only by a single oversized packet).
	MaxBytes int64
	// MaxPackets > 0 starts a new file after that many packets.
	MaxPackets uint64
	// Interval > 0 starts a new file when a packet (or Tick) reaches the next multiple of
	// Interval since the Unix epoch (wall-clock aligned: -G 60 cuts on the minute).
	Interval time.Duration
	// IntervalFromFirst counts the Interval multiples from the first packet's time
	// instead of the epoch, as editcap -i does (used by split --seconds).
	IntervalFromFirst bool
	// Ring > 0 keeps only the newest Ring files: opening one more removes the oldest.
	Ring int
	// OnClose, if set, is called with the path of each file once it is complete
	// (flushed and closed), synchronously; run slow work in a goroutine.
	OnClose func(path string)
	// Mode of created files; 0 means 0600. The umask applies.
	Mode os.FileMode
	// BufferSize of the write buffer; 0 means DefaultBufferSize.
	BufferSize int
	// Atomic writes each file under a temporary name and renames it into place when
	// it is complete (split). Otherwise each file appears under its final name as
	// soon as it is opened and grows there (capture). Either way a file is created
	// afresh (never through a planted symbolic link, never into an existing file)
	// and replaces what had its name.
	Atomic bool
	// Guard refuses file names that are inputs of the command.
	Guard *outfile.Guard
}

// Rotating writes packets to a series of files, starting a new one on size, packet
// count or time. Files are opened when their first packet arrives (or by Open).
// It is not safe for concurrent use.
type Rotating struct {
	o       RotateOptions
	bw      *bufio.Writer
	f       *outfile.File
	w       fileWriter
	path    string
	seq     int
	packets uint64
	bucket  int64 // Interval bucket of the current file
	origin  int64 // time Interval buckets count from
	started bool  // origin is set
	files   []string
	names   map[string]struct{} // every name written, for used(): a day of -G 1 is 86,400 files
	damage  []Damage
	err     error
}

// NewRotating checks o and returns a sink; no file is created until the first packet
// or Open.
func NewRotating(o RotateOptions) (*Rotating, error) {
	if o.Path == "" || o.Path == "-" {
		return nil, errors.New("rotating output needs a file name, not standard output")
	}
	if o.Format == 0 {
		o.Format = reader.FormatPcap
	}
	if o.Format != reader.FormatPcap && o.Format != reader.FormatPcapNG {
		return nil, fmt.Errorf("unknown output format %v", o.Format)
	}
	if o.Mode == 0 {
		o.Mode = 0o600
	}
	if o.BufferSize <= 0 {
		o.BufferSize = DefaultBufferSize
	}
	if o.Interval < 0 || o.MaxBytes < 0 || o.Ring < 0 {
		return nil, errors.New("negative rotation limit")
	}
	return &Rotating{o: o, bw: bufio.NewWriterSize(nil, o.BufferSize)}, nil
}

// Open starts a new file now, named for time t, closing the current one if any.
// Capture calls it at start so a file exists even before the first packet.
func (r *Rotating) Open(t time.Time) error {
	if r.err != nil {
		return r.err
	}
	if r.f != nil {
		r.closeFile()
	}
	return r.open(t.UnixNano(), nil)
}

// WritePacket writes p, first starting a new file if a limit says so.
func (r *Rotating) WritePacket(p *reader.Packet) error {
	if r.err != nil {
		return r.err
	}
	if r.f != nil && r.mustCut(p) {
		if r.closeFile(); r.err != nil {
			return r.err
		}
	}
	if r.f == nil {
		if r.open(p.Timestamp, p) != nil {
			return r.err
		}
	}
	if err := r.w.WritePacket(p); err != nil {
		r.fail(fmt.Errorf("%s: %w", r.path, outfile.Cause(err)))
		return r.err
	}
	r.packets++
	return nil
}

func (r *Rotating) mustCut(p *reader.Packet) bool {
	if r.packets == 0 {
		return false
	}
	if r.o.MaxPackets > 0 && r.packets >= r.o.MaxPackets {
		return true
	}
	if r.o.MaxBytes > 0 && r.w.Size()+r.w.RecordSize(p) > r.o.MaxBytes {
		return true
	}
	return r.o.Interval > 0 && r.bucketOf(p.Timestamp) > r.bucket
}

// bucketOf is the number of the Interval that time ts (ns) falls in.
func (r *Rotating) bucketOf(ts int64) int64 {
	if !r.started {
		r.started = true
		if r.o.IntervalFromFirst {
			r.origin = ts
		}
	}
	return floorDiv(ts-r.origin, int64(r.o.Interval))
}

// Tick closes the current file if the interval it belongs to has ended by now, so that
// a quiet capture still completes its files on time. The next packet opens a new one.
func (r *Rotating) Tick(now time.Time) error {
	if r.err != nil {
		return r.err
	}
	if r.f != nil && r.o.Interval > 0 && r.bucketOf(now.UnixNano()) > r.bucket {
		r.closeFile()
	}
	return r.err
}

// Flush writes buffered packets of the current file to disk.
func (r *Rotating) Flush() error {
	if r.err == nil && r.w != nil {
		if err := r.w.Flush(); err != nil {
			r.fail(fmt.Errorf("%s: %w", r.path, outfile.Cause(err)))
		}
	}
	return r.err
}

// Available is how many more bytes the writer buffers before it writes to the
// current file (a new file's header takes some of it).
func (r *Rotating) Available() int { return r.bw.Available() }

// MayCut reports whether packets of n more bytes in all (records included),
// stamped up to until, could start a new file: a limit of size, of packets
// (counting each packet as at least minRecord bytes) or of time would be
// reached. With no file open, the next packet opens one.
func (r *Rotating) MayCut(n, minRecord int64, until time.Time) bool {
	if r.err != nil || r.f == nil {
		return r.err == nil
	}
	switch {
	case r.o.MaxBytes > 0 && r.w.Size()+n > r.o.MaxBytes:
		return true
	case r.o.MaxPackets > 0 && r.packets+uint64(n/max(minRecord, 1)) > r.o.MaxPackets:
		return true
	}
	return r.o.Interval > 0 && r.bucketOf(until.UnixNano()) > r.bucket
}

// WriteStats writes an Interface Statistics Block into the current pcapng file (capture
// does this before Close); for pcap output, or when no file is open, it does nothing.
func (r *Rotating) WriteStats(iface int, received, dropped uint64, ts int64) error {
	if r.err != nil {
		return r.err
	}
	if ng, ok := r.w.(*Pcapng); ok && r.f != nil {
		if err := ng.WriteStats(iface, received, dropped, ts); err != nil {
			r.fail(fmt.Errorf("%s: %w", r.path, outfile.Cause(err)))
		}
	}
	return r.err
}

// Close completes the current file. It returns the first error met, if any.
func (r *Rotating) Close() error {
	if r.f != nil {
		r.closeFile()
	}
	return r.err
}

// Files lists the files written so far and not removed by Ring, oldest first.
// After a write error, the last one is the file it cut short (see Damaged), unless
// not even its header could be written.
func (r *Rotating) Files() []string { return append([]string(nil), r.files...) }

// Damaged lists the file a write error cut short, once Close has cut it back to
// its last whole packet. After the first error no file is opened or removed.
func (r *Rotating) Damaged() []Damage { return append([]Damage(nil), r.damage...) }

// Current is the path of the file being written, empty when none is open.
func (r *Rotating) Current() string {
	if r.f == nil {
		return ""
	}
	return r.path
}

func (r *Rotating) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *Rotating) open(ts int64, p *reader.Packet) error {
	r.seq++
	r.path = r.name(ts)
	f, err := outfile.Create(r.path, outfile.Options{Mode: r.o.Mode, Guard: r.o.Guard})
	if err == nil && !r.o.Atomic {
		err = f.Publish()
	}
	if err != nil {
		r.fail(err)
		return r.err
	}
	r.f = f
	r.bw.Reset(f)
	r.w, err = newFileWriter(r.bw, r.o.Format, r.o.Nano, r.o.Interfaces, r.o.AppName, p, true)
	if err != nil {
		r.fail(fmt.Errorf("%s: %w", r.path, outfile.Cause(err)))
	}
	r.packets = 0
	if r.o.Interval > 0 {
		r.bucket = r.bucketOf(ts)
	}
	r.files = append(r.files, r.path)
	if r.names == nil {
		r.names = make(map[string]struct{})
	}
	r.names[r.path] = struct{}{}
	for r.o.Ring > 0 && len(r.files) > r.o.Ring {
		if err := os.Remove(r.files[0]); err != nil && !errors.Is(err, os.ErrNotExist) {
			r.fail(err)
		}
		r.files = r.files[1:]
	}
	return r.err
}

// closeFile completes the current file, or, after a write error, cuts it back to
// its last whole packet: OnClose is called only for complete files.
func (r *Rotating) closeFile() {
	if err := r.w.Close(); err != nil {
		r.fail(fmt.Errorf("%s: %w", r.path, outfile.Cause(err)))
	}
	f := r.f
	r.f, r.w = nil, nil
	if r.err != nil {
		f.Suspend()
		d := Damage{Path: r.path, Written: r.packets}
		d.Kept, d.Removed = Salvage(f.Written())
		if d.Removed {
			f.Abort()
			r.files = r.files[:len(r.files)-1]
		} else {
			f.Commit()
		}
		r.damage = append(r.damage, d)
		return
	}
	if err := f.Commit(); err != nil {
		r.fail(err)
		r.files = r.files[:len(r.files)-1]
		return
	}
	if r.o.OnClose != nil {
		r.o.OnClose(r.path)
	}
}

// name builds the name of file number r.seq, whose time is ts.
func (r *Rotating) name(ts int64) string {
	t := time.Unix(0, ts)
	if strings.Contains(r.o.Path, "%") {
		n := Strftime(r.o.Path, t)
		if r.o.MaxBytes > 0 || r.o.MaxPackets > 0 || r.used(n) {
			ext := filepath.Ext(n)
			n = fmt.Sprintf("%s_%05d%s", strings.TrimSuffix(n, ext), r.seq, ext)
		}
		return n
	}
	ext := filepath.Ext(r.o.Path)
	return fmt.Sprintf("%s_%05d_%s%s", strings.TrimSuffix(r.o.Path, ext), r.seq, t.Format("20060102150405"), ext)
}

// used reports whether this sink already wrote a file named n (a pattern coarser than
// the interval would otherwise overwrite it).
func (r *Rotating) used(n string) bool {
	_, ok := r.names[n]
	return ok
}

// newFileWriter starts a pcap or pcapng writer on bw. For pcap the link type and
// snaplen come from the first interface, else from p. With header false it continues
// an existing file (the interfaces are taken as already declared).
func newFileWriter(bw *bufio.Writer, format reader.Format, nano bool, ifaces []reader.Interface,
	app string, p *reader.Packet, header bool) (fileWriter, error) {
	if format == reader.FormatPcapNG {
		w := &Pcapng{bw: bw}
		return w, w.start(PcapngOptions{AppName: app, Interfaces: ifaces}, header)
	}
	var lt uint16
	var snap uint32
	switch {
	case len(ifaces) > 0:
		lt, snap = ifaces[0].LinkType, ifaces[0].Snaplen
	case p != nil:
		lt, snap = p.LinkType, p.Snaplen
	}
	w := &Pcap{bw: bw, nano: nano, linkType: lt}
	return w, w.start(snap, header)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Strftime expands %Y %m %d %H %M %S %y %j %s and %% in pattern with t; other
// sequences are kept as they are.
func Strftime(pattern string, t time.Time) string {
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c != '%' || i+1 == len(pattern) {
			b.WriteByte(c)
			continue
		}
		i++
		switch pattern[i] {
		case 'Y':
			fmt.Fprintf(&b, "%04d", t.Year())
		case 'y':
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 's':
			fmt.Fprintf(&b, "%d", t.Unix())
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(pattern[i])
		}
	}
	return b.String()
}
