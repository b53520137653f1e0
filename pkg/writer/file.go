package writer

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/pcaptk/pcaptk/internal/outfile"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// FileOptions say what capture file Create makes.
type FileOptions struct {
	Format   reader.Format
	Explicit bool // the user asked for Format (an impossible pcap is then a usage error)
	Nano     bool // pcap: nanosecond timestamps
	// Interfaces returns the input's interfaces as known so far; pcapng declares each
	// one as the first packet on it arrives (so later pcapng sections work).
	Interfaces func() []reader.Interface
	Snaplen    uint32         // > 0: packets are truncated to it, declare it
	Guard      *outfile.Guard // refuses an output that is an input
	AppName    string         // pcapng shb_userappl
	// PacketBuffered writes each packet through at once (tcpdump -U), for a
	// reader at the other end of a pipe.
	PacketBuffered bool
}

// File is a pcap or pcapng file on a path, or a stream. A file is written under
// a temporary name and renamed into place by Close.
type File struct {
	name   string
	file   *outfile.File // nil for standard output
	pcap   *Pcap
	ng     *Pcapng
	ifaces func() []reader.Interface
	snap   uint32
	link   uint16
	flush  bool
}

// LinkTypes returns the distinct link types of ifaces, in order.
func LinkTypes(ifaces []reader.Interface) []uint16 {
	var lts []uint16
	for _, ifc := range ifaces {
		seen := false
		for _, lt := range lts {
			seen = seen || lt == ifc.LinkType
		}
		if !seen {
			lts = append(lts, ifc.LinkType)
		}
	}
	return lts
}

// Create creates the capture file path ("-": stdout) and writes its header. A pcap
// output for interfaces of several link types is made pcapng, or refused (a
// usage error) when the pcap format was asked for.
func Create(path string, stdout io.Writer, spec FileOptions) (*File, error) {
	ifaces := spec.Interfaces()
	if spec.Format == reader.FormatPcap {
		if lts := LinkTypes(ifaces); len(lts) > 1 {
			if spec.Explicit {
				return nil, MixedLinkTypesError(lts)
			}
			spec.Format = reader.FormatPcapNG
		}
	}
	o := &File{name: path, ifaces: spec.Interfaces, snap: spec.Snaplen, flush: spec.PacketBuffered}
	var w io.Writer = stdout
	if path != "-" {
		f, err := outfile.Create(path, outfile.Options{Guard: spec.Guard})
		if err != nil {
			return nil, err
		}
		o.file, w = f, f
	}
	var err error
	if spec.Format == reader.FormatPcapNG {
		o.ng, err = NewPcapng(w, PcapngOptions{AppName: spec.AppName})
	} else {
		var ifc reader.Interface
		if len(ifaces) > 0 {
			ifc = ifaces[0]
		}
		o.link = ifc.LinkType
		snap := ifc.Snaplen
		if o.snap > 0 && (snap == 0 || o.snap < snap) {
			snap = o.snap
		}
		o.pcap, err = NewPcap(w, ifc.LinkType, snap, spec.Nano)
	}
	if err != nil {
		if o.file != nil {
			o.file.Abort()
		}
		return nil, fmt.Errorf("%s: %w", path, outfile.Cause(err))
	}
	return o, nil
}

// MixedLinkTypesError says that interfaces of several link types cannot go into
// one pcap file; it is the command line's fault (UsageError).
func MixedLinkTypesError(lts []uint16) error { return mixedLinkTypes(lts) }

type mixedLinkTypes []uint16

func (m mixedLinkTypes) Error() string {
	return fmt.Sprintf("the input has link types %s but a pcap file holds one: write pcapng (--format pcapng)", joinLinkTypes(m))
}

// UsageError marks the error as the command line's fault.
func (mixedLinkTypes) UsageError() bool { return true }

func joinLinkTypes(lts []uint16) string {
	s := make([]string, len(lts))
	for i, lt := range lts {
		s[i] = fmt.Sprint(lt)
	}
	return strings.Join(s, ", ")
}

// ErrLinkType: a packet whose link type the pcap output cannot hold.
var ErrLinkType = errors.New("the pcap output holds link type")

// WritePacket writes p; pcapng declares p's interface first if it is new.
func (o *File) WritePacket(p *reader.Packet) error {
	var err error
	if o.ng != nil {
		if p.Iface >= o.ng.Interfaces() {
			o.declare(p.Iface)
		}
		err = o.ng.WritePacket(p)
	} else {
		if p.LinkType != o.link {
			return fmt.Errorf("packet %d has link type %d but %w %d: write pcapng (--format pcapng)", p.Number, p.LinkType, ErrLinkType, o.link)
		}
		err = o.pcap.WritePacket(p)
	}
	if err == nil && o.flush {
		if o.ng != nil {
			err = o.ng.Flush()
		} else {
			err = o.pcap.Flush()
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", o.name, outfile.Cause(err))
	}
	return nil
}

// declare adds interface blocks up to and including index i.
func (o *File) declare(i int) {
	ifaces := o.ifaces()
	for n := o.ng.Interfaces(); n <= i && n < len(ifaces); n++ {
		ifc := ifaces[n]
		if o.snap > 0 && (ifc.Snaplen == 0 || o.snap < ifc.Snaplen) {
			ifc.Snaplen = o.snap
		}
		o.ng.AddInterface(ifc)
	}
}

// Close completes the output: it flushes it and renames a file into place. After
// a write error (a full disk), the file is cut back to its last whole packet and
// kept, and the error says how many packets it holds.
func (o *File) Close() error {
	var err error
	switch {
	case o.ng != nil:
		err = o.ng.Close()
	case o.pcap != nil:
		err = o.pcap.Close()
	}
	if o.file == nil {
		if err != nil {
			return fmt.Errorf("%s: %w", o.name, outfile.Cause(err))
		}
		return nil
	}
	if err == nil {
		return o.file.Commit()
	}
	err = outfile.Cause(err)
	o.file.Close()
	kept, removed := Salvage(o.file.Written())
	if removed {
		o.file.Abort()
		return fmt.Errorf("%s: %w (nothing written)", o.name, err)
	}
	if cerr := o.file.Commit(); cerr != nil {
		return fmt.Errorf("%s: %w", o.name, err)
	}
	return fmt.Errorf("%s: %w: it holds the first %d packets, cut back to the last whole one", o.name, err, kept)
}

// Source is reader.Source: packets in order, each valid until the next call.
type Source = reader.Source

// Copy writes the packets of src that keep selects to f and closes f. keep may
// say done (no later packet will be kept) or fail. A read error (bad input) or a
// keep error ends the copy with every packet before it written and f completed;
// a write error is returned as Close reports it (the file cut back to whole
// packets).
func Copy(f *File, src Source, keep func(*reader.Packet) (keep, done bool, err error)) error {
	var inErr error
	for {
		p, err := src.Next()
		if err != nil {
			if err != io.EOF {
				inErr = err
			}
			break
		}
		k, done, err := keep(p)
		if err != nil {
			inErr = err
			break
		}
		if k {
			if err := f.WritePacket(p); err != nil {
				if errors.Is(err, ErrLinkType) {
					f.Close()
					return err
				}
				return f.Close()
			}
		}
		if done {
			break
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	return inErr
}
