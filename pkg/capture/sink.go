package capture

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pcaptk/pcaptk/internal/outfile"
	"github.com/pcaptk/pcaptk/pkg/reader"
	"github.com/pcaptk/pcaptk/pkg/writer"
)

// outputFormat picks the file format: --format, else the name's extension, else pcapng;
// standard output gets pcap unless several interfaces need pcapng.
func outputFormat(o *Options, ifaces []reader.Interface) (reader.Format, error) {
	sameLink := true
	for _, ifc := range ifaces[1:] {
		sameLink = sameLink && ifc.LinkType == ifaces[0].LinkType
	}
	switch o.Format {
	case "pcap":
		if !sameLink {
			return 0, usageError{errors.New("the interfaces have different link types, which pcap cannot hold; use --format pcapng")}
		}
		return reader.FormatPcap, nil
	case "pcapng":
		return reader.FormatPcapNG, nil
	}
	if o.Write == "-" {
		if len(ifaces) == 1 {
			return reader.FormatPcap, nil
		}
		return reader.FormatPcapNG, nil
	}
	switch strings.ToLower(filepath.Ext(o.Write)) {
	case ".pcap", ".cap", ".dmp":
		if sameLink && len(ifaces) == 1 {
			return reader.FormatPcap, nil
		}
	}
	return reader.FormatPcapNG, nil
}

// sink is where captured packets go: the printer, one file or standard output,
// or a rotating series of files.
type sink struct {
	printer Printer     // without -w
	single  writer.Sink // -w FILE or -w -
	flusher interface{ Flush() error }
	statser interface {
		WriteStats(iface int, received, dropped uint64, ts int64) error
	}
	out     *outfile.File // -w FILE without rotation
	rot     *writer.Rotating
	post    *postRotate
	closing bool   // set while close completes the last file
	inFile  uint64 // packets written into the -w FILE
	damage  []writer.Damage
	lost    uint64 // packets counted as written that a write error kept off the disk
	err     error
	// flushEach writes each packet through to the file at once (-U).
	flushEach bool
	// late is how long after its time stamp a packet may still come (the
	// longest buffer timeout, and 150 ms more).
	late time.Duration
}

// Printer prints captured packets (capture without -w): pkg/tcpdump's lines.
type Printer interface {
	Print(p *reader.Packet) error
	Flush() error
}

func newSink(o *Options, env *Env, ifaces []reader.Interface) (*sink, error) {
	k := &sink{flushEach: o.PacketBuffered, late: 250 * time.Millisecond}
	if o.Write == "" || o.Print {
		if env.Printer == nil {
			return nil, errors.New("no printer to print the packets")
		}
		k.printer = env.Printer
	}
	if o.Write == "" {
		return k, nil
	}
	format, err := outputFormat(o, ifaces)
	if err != nil {
		return nil, err
	}
	if o.rotating() {
		ring := o.Ring
		if o.PostRotate != "" {
			// The ring must not remove a file before its -z command has run: with -z,
			// postRotate keeps the ring, removing files once their command is done.
			k.post = newPostRotate(o.PostRotate, o.Ring, env.ErrOut)
			ring = 0
		}
		// Each file is created afresh (O_EXCL|O_NOFOLLOW under a temporary name,
		// then renamed into place): as root in a directory others can write, a
		// symbolic link or a file planted at a predictable name is replaced, never
		// followed or written into.
		k.rot, err = writer.NewRotating(writer.RotateOptions{
			Path: o.Write, Format: format, Nano: o.Nano, Interfaces: ifaces, AppName: o.AppName,
			MaxBytes: o.FileBytes, MaxPackets: o.PacketsPerFile,
			Interval: o.RotateEvery, Ring: ring, Mode: 0o600,
			OnClose: k.closed,
		})
		if err == nil {
			err = k.rot.Open(time.Now())
		}
		if err != nil {
			if k.post != nil {
				k.post.finish()
			}
			return nil, err
		}
		k.single, k.flusher, k.statser = k.rot, k.rot, k.rot
		return k, nil
	}
	out := env.Out
	if o.Write != "-" {
		f, err := outfile.Create(o.Write, outfile.Options{Mode: 0o600})
		if err == nil {
			err = f.Publish()
		}
		if err != nil {
			return nil, fmt.Errorf("capture: %w", err)
		}
		k.out, out = f, f
	}
	if format == reader.FormatPcap {
		w, err := writer.NewPcap(out, ifaces[0].LinkType, ifaces[0].Snaplen, o.Nano)
		k.single, k.flusher = w, w
		if err == nil {
			err = w.Flush() // the header reaches the file (and a pipe's reader) at once
		}
		if err != nil {
			k.closeFile()
			return nil, fmt.Errorf("capture: %s: %w", o.Write, err)
		}
	} else {
		w, err := writer.NewPcapng(out, writer.PcapngOptions{AppName: o.AppName, Interfaces: ifaces})
		k.single, k.flusher, k.statser = w, w, w
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			k.closeFile()
			return nil, fmt.Errorf("capture: %s: %w", o.Write, err)
		}
	}
	return k, nil
}

func (k *sink) closeFile() {
	if k.out != nil {
		k.out.Close()
		k.out = nil
	}
}

// closed is the rotating sink's OnClose, called for each complete file (one that a
// write error cut is not complete): it goes to -z.
func (k *sink) closed(path string) {
	if k.post != nil {
		k.post.add(path, k.closing)
	}
}

// reportFiles names, after a write error, the files completed before it and the
// one it cut short.
func (k *sink) reportFiles(w io.Writer) {
	if k.rot == nil {
		return
	}
	cut := map[string]bool{}
	for _, d := range k.damage {
		cut[d.Path] = true
	}
	for _, f := range k.rot.Files() {
		if !cut[f] {
			fmt.Fprintf(w, "pcaptk: complete: %s\n", f)
		}
	}
	for _, d := range k.damage {
		if !d.Removed {
			fmt.Fprintf(w, "pcaptk: cut short: %s (its first %d packets)\n", d.Path, d.Kept)
		}
	}
}

func (k *sink) write(p *reader.Packet) error {
	var err error
	if k.single != nil {
		err = k.single.WritePacket(p)
		if err == nil && k.flushEach {
			err = k.flusher.Flush()
		}
	}
	if err == nil && k.printer != nil {
		err = k.printer.Print(p)
	}
	if err != nil {
		k.fail(err)
	} else {
		k.inFile++
	}
	return k.err
}

// makeRoom writes the file's buffered packets out when fewer than n more bytes
// would fit: the queue's BeforeWait, called while the consumer holds no ring
// block, so that the next block handed over in place (at most n bytes of
// packets, and fewer bytes of records) goes into the buffer without a write
// and returns to the kernel without waiting for the disk. With a block held
// across a write, one slow write (the page cache of a virtual machine can take
// tens of milliseconds) let the kernel fill the rest of a small ring and drop:
// at -B 512 and 200,000 packets/s, 8-16% of the packets in runs where tcpdump
// dropped 0-2%. Flushing between blocks, a slow write holds up the queue only.
// The writers' buffer (1 MiB) holds four of the ring's blocks (256 KiB).
//
// It says no block should come in place when the next one would make the sink
// write or open files however much room there is: with -U (a write per
// packet), or when a rotation (-C, -G, --packets-per-file) could fall inside
// it; the readers then copy blocks into the queue, and the rotation holds up
// the queue, not the ring.
func (k *sink) makeRoom(n int) (inPlace bool) {
	if n == 0 || k.err != nil {
		return true
	}
	if k.flushEach || (k.rot != nil && k.rot.MayCut(int64(n), minRingRecord, time.Now().Add(k.late))) {
		return false
	}
	b, ok := k.single.(interface{ Available() int })
	if !ok || b.Available() >= n {
		return true
	}
	if err := k.flusher.Flush(); err != nil {
		k.fail(err)
	}
	return true
}

// minRingRecord is the fewest bytes a packet takes in a ring block (its
// tpacket3_hdr and sockaddr_ll), so a block of n bytes holds at most
// n/minRingRecord packets.
const minRingRecord = pktHdrLen + sllLen

func (k *sink) fail(err error) {
	if k.err != nil {
		return
	}
	var pe *os.PathError
	if errors.As(err, &pe) { // the writers wrap it with the file name once more
		err = pe
	}
	k.err = fmt.Errorf("capture: %w", err)
}

// tick runs while no packet comes: rotation on time, and a flush so that what was
// captured reaches the screen, the pipe or the disk soon.
func (k *sink) tick(now time.Time) error {
	if k.err != nil {
		return k.err
	}
	var err error
	if k.printer != nil {
		err = k.printer.Flush()
	}
	switch {
	case err != nil:
	case k.single == nil:
	case k.rot != nil:
		// Packets reach the queue up to a packet buffer timeout (100 ms, a small
		// ring's 1 s) after their timestamp: a late one must still find its
		// interval's file open.
		err = k.rot.Tick(now.Add(-k.late))
		if err == nil {
			err = k.rot.Flush()
		}
	default:
		err = k.flusher.Flush()
	}
	if err != nil {
		k.fail(err)
	}
	return k.err
}

func (k *sink) stats(iface int, received, dropped uint64, ts int64) {
	if k.statser != nil && k.err == nil {
		if err := k.statser.WriteStats(iface, received, dropped, ts); err != nil {
			k.fail(err)
		}
	}
}

// chown gives the first file to the user -Z switches to, so that later -z commands
// running as that user can read it.
func (k *sink) chown(a *Account) error {
	var name string
	switch {
	case k.rot != nil:
		name = k.rot.Current()
	case k.out != nil:
		name = k.out.Path()
	}
	if name == "" {
		return nil
	}
	if err := os.Chown(name, a.uid, a.gid); err != nil {
		return fmt.Errorf("capture: -Z: %w", err)
	}
	return nil
}

// close completes the output. Files a write error cut in the middle of a packet are
// truncated to their last whole packet so that they stay valid, and the packets that
// did not reach them are counted in lost.
func (k *sink) close() error {
	k.closing = true
	var err error
	if k.printer != nil {
		err = k.printer.Flush()
	}
	if k.single != nil {
		if cerr := k.single.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		k.fail(err)
	}
	if k.out != nil {
		if err := k.out.Commit(); err != nil {
			k.fail(err)
		}
		if k.err != nil {
			d := writer.Damage{Path: k.out.Path(), Written: k.inFile}
			d.Kept, d.Removed = writer.Salvage(d.Path)
			k.damage = append(k.damage, d)
		}
		k.out = nil
	}
	if k.rot != nil {
		k.damage = append(k.damage, k.rot.Damaged()...)
	}
	for _, d := range k.damage {
		if d.Kept < d.Written {
			k.lost += d.Written - d.Kept
		}
	}
	return k.err
}

// wait waits for the -z commands still running.
func (k *sink) wait() {
	if k.post != nil {
		k.post.finish()
	}
}
