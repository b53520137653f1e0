package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pcaptk/pcaptk/internal/outfile"
	"github.com/pcaptk/pcaptk/pkg/filter"
	"github.com/pcaptk/pcaptk/pkg/reader"
	"github.com/pcaptk/pcaptk/pkg/writer"
	"github.com/spf13/cobra"
)

type filterOptions struct {
	In      string
	Out     string
	Expr    string
	After   string
	Before  string
	Packets string
	Snaplen int
	Dedup   bool
	Window  int
	Format  string
}

func newCmdFilter(s *streams) *cobra.Command {
	o := &filterOptions{}
	c := &cobra.Command{
		Use:   "filter -r IN -w OUT [EXPRESSION]",
		Short: "Write the packets of a capture that match a filter to a new capture",
		Long: `Write the packets of a capture that match a tcpdump filter expression
(pcap-filter(7)) to a new capture, like tcpdump -r IN -w OUT EXPRESSION, with
editcap's selections: a time window, packet-number ranges, truncation and
duplicate removal. Packets are copied byte for byte with their timestamps and
lengths. The output has the input's format unless --format says otherwise.

A packet is kept when its number is in --packets, its time is in
[--after, --before), it matches EXPRESSION and (with --dedup) it is not a copy
of one of the kept packets just before it; -s then truncates it.`,
		Example: `  pcaptk filter -r big.pcap -w web.pcap 'tcp port 80 or tcp port 443'
  pcaptk filter -r in.pcapng -w - --after 2024-03-01T12:00:00Z --before 1709298000 | tcpdump -r -
  pcaptk filter -r in.pcap -w head.pcap --packets 1-1000 -s 96 --dedup`,
		RunE: func(c *cobra.Command, args []string) error {
			o.Expr = strings.Join(args, " ")
			if o.In == "" || o.Out == "" {
				return usageErrorf("filter needs -r IN and -w OUT")
			}
			if c.Flags().Changed("dedup-window") {
				o.Dedup = true
			}
			return runFilter(o, s)
		},
	}
	f := c.Flags()
	f.StringVarP(&o.In, "read", "r", "", "input capture (`FILE`, - for standard input)")
	f.StringVarP(&o.Out, "write", "w", "", "output capture (`FILE`, - for standard output)")
	f.StringVar(&o.After, "after", "", "keep packets at or after `TIME` (RFC 3339 or epoch seconds; no zone means UTC)")
	f.StringVar(&o.Before, "before", "", "keep packets before `TIME`")
	f.StringVar(&o.Packets, "packets", "", "keep packet numbers in `RANGES` (from 1), e.g. 1-100,200-")
	f.IntVarP(&o.Snaplen, "snaplen", "s", 0, "truncate packets to `N` bytes")
	f.BoolVar(&o.Dedup, "dedup", false, "drop a packet identical to one of the previous 4 kept (editcap -d)")
	f.IntVar(&o.Window, "dedup-window", 5, "duplicate window counting the packet itself (editcap -D `N`); implies --dedup")
	f.StringVar(&o.Format, "format", "", "output `FORMAT`, pcap or pcapng (default: the input's)")
	return c
}

func runFilter(o *filterOptions, s *streams) error {
	flt, err := filter.Compile(o.Expr)
	if err != nil {
		return &usageError{err}
	}
	var ranges filter.Ranges
	if o.Packets != "" {
		if ranges, err = filter.ParseRanges(o.Packets); err != nil {
			return &usageError{err}
		}
	}
	after, before := int64(-1<<63), int64(1<<63-1)
	if o.After != "" {
		if after, err = filter.ParseTime(o.After); err != nil {
			return usageErrorf("--after: %w", err)
		}
	}
	if o.Before != "" {
		if before, err = filter.ParseTime(o.Before); err != nil {
			return usageErrorf("--before: %w", err)
		}
	}
	if o.Snaplen < 0 {
		return usageErrorf("-s %d: snaplen must not be negative", o.Snaplen)
	}
	var dedup *filter.Dedup
	if o.Dedup {
		if dedup, err = filter.NewDedup(o.Window); err != nil {
			return &usageError{err}
		}
	}
	format, err := parseFormat(o.Format)
	if err != nil {
		return err
	}
	guard := inputGuard([]string{o.In}, s)
	if err := checkOutput(guard, o.Out, s); err != nil {
		return err
	}

	r, err := openInput(o.In, s)
	if err != nil {
		return err
	}
	defer r.Close()
	// Like tcpdump, refuse an expression that cannot apply to the input's link types
	// before writing anything.
	for _, ifc := range r.Interfaces() {
		flt.MatchData(ifc.LinkType, ifc.Snaplen, nil, 0)
	}
	if err := flt.Err(); err != nil {
		return fmt.Errorf("%s: %w", o.In, err)
	}
	if format == 0 {
		format = r.Format()
	}
	out, err := newOutput(o.Out, s, outputSpec{
		Format: format, Explicit: o.Format != "", Nano: r.Nanosecond(),
		Interfaces: r.Interfaces, Snaplen: uint32(o.Snaplen), Guard: guard,
	})
	if err != nil {
		return err
	}
	stop := newOfflineStop(s.ErrOut)
	src := stop.source(r)
	snap := o.Snaplen
	var readErr error
	for {
		p, err := src.Next()
		if err != nil {
			if err != io.EOF {
				readErr = err
			}
			break
		}
		if ranges != nil && !ranges.Contains(p.Number) {
			if ranges.Done(p.Number) {
				break
			}
			continue
		}
		if p.Timestamp < after || p.Timestamp >= before || !flt.Match(p) {
			if flt.Err() != nil {
				readErr = fmt.Errorf("%s: packet %d: %w", o.In, p.Number, flt.Err())
				break
			}
			continue
		}
		if dedup != nil && dedup.Duplicate(p.Data) {
			continue
		}
		if snap > 0 && len(p.Data) > snap {
			p.Data = p.Data[:snap]
			p.CapLen = uint32(snap)
		}
		if err := out.WritePacket(p); err != nil {
			return stop.finish(out.Close())
		}
	}
	if err := out.Close(); err != nil {
		return stop.finish(err)
	}
	return stop.finish(readErr)
}

// checkOutput refuses an output path (or standard output, "-") that is an input.
func checkOutput(g *outfile.Guard, path string, s *streams) error {
	if path == "-" {
		return checkStdout(g, s)
	}
	return g.Check(path)
}

// parseFormat reads --format; "" means "decide from the input".
func parseFormat(s string) (reader.Format, error) {
	switch strings.ToLower(s) {
	case "":
		return 0, nil
	case "pcap":
		return reader.FormatPcap, nil
	case "pcapng":
		return reader.FormatPcapNG, nil
	}
	return 0, usageErrorf("--format %q: want pcap or pcapng", s)
}

// openInput opens a capture; "-" reads the command's standard input.
func openInput(path string, s *streams) (*reader.Reader, error) {
	return openInputWith(path, s, reader.DefaultOptions)
}

// openInputWith is openInput with reader options (a shared Budget when several
// inputs are open at once).
func openInputWith(path string, s *streams, o reader.Options) (*reader.Reader, error) {
	if path == "-" {
		if f, ok := s.In.(*os.File); !ok || f != os.Stdin {
			return reader.NewReaderWith(s.In, "-", o)
		}
	}
	return reader.OpenWith(path, o)
}

// outputSpec says what output a command wants.
type outputSpec struct {
	Format   reader.Format
	Explicit bool // the user asked for Format (an impossible pcap is then a usage error)
	Nano     bool // pcap: nanosecond timestamps
	// Interfaces returns the input's interfaces as known so far; pcapng declares each
	// one as the first packet on it arrives (so later pcapng sections work).
	Interfaces func() []reader.Interface
	Snaplen    uint32         // > 0: packets are truncated to it, declare it
	Guard      *outfile.Guard // refuses an output that is an input
}

// output is a pcap or pcapng file writer on a path or standard output. A file is
// written under a temporary name and renamed into place by Close.
type output struct {
	name   string
	file   *outfile.File // nil for standard output
	pcap   *writer.Pcap
	ng     *writer.Pcapng
	ifaces func() []reader.Interface
	snap   uint32
	link   uint16
}

// linkTypes returns the distinct link types of ifaces, in order.
func linkTypes(ifaces []reader.Interface) []uint16 {
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

// newOutput creates the output file ("-": the command's standard output) and writes
// its header. A pcap output for interfaces of several link types is refused.
func newOutput(path string, s *streams, spec outputSpec) (*output, error) {
	ifaces := spec.Interfaces()
	if spec.Format == reader.FormatPcap {
		if lts := linkTypes(ifaces); len(lts) > 1 {
			msg := fmt.Errorf("the input has link types %s but a pcap file holds one: write pcapng (--format pcapng)", joinLinkTypes(lts))
			if spec.Explicit {
				return nil, &usageError{msg}
			}
			spec.Format = reader.FormatPcapNG
		}
	}
	o := &output{name: path, ifaces: spec.Interfaces, snap: spec.Snaplen}
	var w io.Writer = s.Out
	if path != "-" {
		f, err := outfile.Create(path, outfile.Options{Guard: spec.Guard})
		if err != nil {
			return nil, err
		}
		o.file, w = f, f
	}
	var err error
	if spec.Format == reader.FormatPcapNG {
		o.ng, err = writer.NewPcapng(w, writer.PcapngOptions{AppName: "pcaptk " + version})
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
		o.pcap, err = writer.NewPcap(w, ifc.LinkType, snap, spec.Nano)
	}
	if err != nil {
		if o.file != nil {
			o.file.Abort()
		}
		return nil, fmt.Errorf("%s: %w", path, outfile.Cause(err))
	}
	return o, nil
}

func joinLinkTypes(lts []uint16) string {
	s := make([]string, len(lts))
	for i, lt := range lts {
		s[i] = fmt.Sprint(lt)
	}
	return strings.Join(s, ", ")
}

// errLinkType: a packet whose link type the pcap output cannot hold.
var errLinkType = errors.New("the pcap output holds link type")

// WritePacket writes p; pcapng declares p's interface first if it is new.
func (o *output) WritePacket(p *reader.Packet) error {
	var err error
	if o.ng != nil {
		if p.Iface >= o.ng.Interfaces() {
			o.declare(p.Iface)
		}
		err = o.ng.WritePacket(p)
	} else {
		if p.LinkType != o.link {
			return fmt.Errorf("packet %d has link type %d but %w %d: write pcapng (--format pcapng)", p.Number, p.LinkType, errLinkType, o.link)
		}
		err = o.pcap.WritePacket(p)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", o.name, outfile.Cause(err))
	}
	return nil
}

// declare adds interface blocks up to and including index i.
func (o *output) declare(i int) {
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
func (o *output) Close() error {
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
	kept, removed := writer.Salvage(o.file.Written())
	if removed {
		o.file.Abort()
		return fmt.Errorf("%s: %w (nothing written)", o.name, err)
	}
	if cerr := o.file.Commit(); cerr != nil {
		return fmt.Errorf("%s: %w", o.name, err)
	}
	return fmt.Errorf("%s: %w: it holds the first %d packets, cut back to the last whole one", o.name, err, kept)
}
