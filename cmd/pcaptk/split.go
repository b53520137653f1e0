package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/pcaptk/pcaptk/pkg/reader"
	"github.com/pcaptk/pcaptk/pkg/writer"
)

type splitOptions struct {
	inputs  inputFlags
	Out     string
	Packets uint64
	SizeMB  float64
	Seconds float64
	Flows   bool
	MaxOpen int
	Format  string
}

func newCmdSplit(s *streams) *cobra.Command {
	o := &splitOptions{}
	c := &cobra.Command{
		Use:   "split -r IN [-r IN...] [-V LIST] -w OUT.pcap (--packets N | --size MB | --seconds S | --flows)",
		Short: "Split a capture into files by packet count, size, time or connection",
		Long: `Split a capture into several files, like editcap -c / -i or a per-connection
splitter. Files are named OUT_NNNNN_YYYYmmddHHMMSS.pcap: a sequence number from
00001 and the local time of the file's first packet, so sorting by name sorts
by time.

  --packets N   a new file every N packets (editcap -c N)
  --size MB     a new file before a packet that would take it past MB megabytes
                (10^6 bytes); a file exceeds it only if a single packet does
  --seconds S   a new file at every multiple of S seconds after the first
                packet's time (like editcap -i); empty intervals make no file
  --flows       one file per TCP or UDP connection, both directions, named
                OUT_NNNNN_SRC.SPORT-DST.DPORT.pcap for the first packet's direction;
                everything else (ARP, ICMP, later IP fragments...) goes to
                OUT_other.pcap. At most --max-open files are open at once; the
                least recently written is closed and reopened in append mode
                when its connection sends again. No packet is lost.

The output format is the input's unless --format says otherwise. Every file
name that was written is printed on standard output. Several inputs (-r
repeated, a directory, a quoted glob pattern, -V LIST) are split as one stream
in time order, as merge reads them.`,
		Example: `  pcaptk split -r big.pcap -w part.pcap --packets 100000
  pcaptk split -r day.pcapng -w hour.pcapng --seconds 3600
  pcaptk split -r trace.pcap -w conn.pcap --flows --max-open 500`,
		RunE: func(c *cobra.Command, args []string) error {
			if err := captureNameHint(args); err != nil {
				return err
			}
			if len(args) > 0 {
				return usageErrorf("split takes no arguments (got %q)", args[0])
			}
			if !o.inputs.given(nil) || o.Out == "" {
				return usageErrorf("split needs -r IN and -w OUT")
			}
			if o.Out == "-" {
				return usageErrorf("split writes several files: -w needs a file name, not -")
			}
			n := 0
			for _, name := range []string{"packets", "size", "seconds", "flows"} {
				if c.Flags().Changed(name) {
					n++
				}
			}
			if n != 1 {
				return usageErrorf("split needs exactly one of --packets, --size, --seconds, --flows")
			}
			if c.Flags().Changed("max-open") && !o.Flows {
				return usageErrorf("--max-open goes with --flows")
			}
			if (c.Flags().Changed("packets") && o.Packets == 0) || (c.Flags().Changed("size") && o.SizeMB <= 0) ||
				(c.Flags().Changed("seconds") && o.Seconds <= 0) || o.MaxOpen < 1 {
				return usageErrorf("split limits must be positive")
			}
			return runSplit(o, s)
		},
	}
	f := c.Flags()
	o.inputs.register(f)
	f.StringVarP(&o.Out, "write", "w", "", "output name pattern (`FILE`)")
	f.Uint64Var(&o.Packets, "packets", 0, "`N` packets per file")
	f.Float64Var(&o.SizeMB, "size", 0, "at most `MB` megabytes (10^6 bytes) per file")
	f.Float64Var(&o.Seconds, "seconds", 0, "a new file every `S` seconds from the first packet")
	f.BoolVar(&o.Flows, "flows", false, "one file per TCP/UDP connection")
	f.IntVar(&o.MaxOpen, "max-open", writer.DefaultMaxOpen, "with --flows: at most `N` files open at once")
	f.StringVar(&o.Format, "format", "", "output `FORMAT`, pcap or pcapng (default: the input's)")
	return c
}

// splitSink is what split writes to: a Rotating or a Flows.
type splitSink interface {
	writer.Sink
	Files() []string
	Damaged() []writer.Damage
}

func runSplit(o *splitOptions, s *streams) error {
	format, err := parseFormat(o.Format)
	if err != nil {
		return err
	}
	inputs, err := o.inputs.resolve(nil, s)
	if err != nil {
		return err
	}
	guard := inputGuard(inputs, s)
	if err := checkStdinOnce(inputs); err != nil {
		return err
	}
	rs, err := openInputs(inputs, s)
	if err != nil {
		return err
	}
	defer closeAll(rs)
	var src writer.Source = rs[0]
	interfaces := rs[0].Interfaces()
	nano := false
	if format == 0 {
		format = reader.FormatPcap
	}
	for _, r := range rs {
		nano = nano || r.Nanosecond()
		if o.Format == "" && r.Format() == reader.FormatPcapNG {
			format = reader.FormatPcapNG // the inputs' format; pcapng when one is
		}
	}
	if len(rs) > 1 {
		m := reader.Merge(rs, false)
		src, interfaces = m, m.Interfaces()
	}
	if lts := writer.LinkTypes(interfaces); format == reader.FormatPcap && len(lts) > 1 {
		if o.Format != "" {
			return writer.MixedLinkTypesError(lts)
		}
		format = reader.FormatPcapNG
	}
	const mode = 0o666 // like other tools: the umask decides
	var sink splitSink
	if o.Flows {
		maxOpen, note := fitOpenFiles(o.MaxOpen)
		if note != "" {
			fmt.Fprintf(s.ErrOut, "pcaptk: %s\n", note)
		}
		if maxOpen < 1 {
			return errors.New("split --flows: no file descriptor left to open output files (raise ulimit -n)")
		}
		sink, err = writer.NewFlows(writer.FlowOptions{Path: o.Out, Format: format, Nano: nano,
			Interfaces: interfaces, AppName: "pcaptk " + version, MaxOpen: maxOpen, Mode: mode, Guard: guard})
	} else {
		sink, err = writer.NewRotating(writer.RotateOptions{Path: o.Out, Format: format, Nano: nano,
			Interfaces: interfaces, AppName: "pcaptk " + version, Mode: mode,
			MaxPackets: o.Packets, MaxBytes: int64(o.SizeMB * 1e6),
			Interval: time.Duration(o.Seconds * float64(time.Second)), IntervalFromFirst: true,
			Atomic: true, Guard: guard})
	}
	if err != nil {
		return usageErrorf("%w", err)
	}
	stop := newOfflineStop(s.ErrOut)
	src = stop.source(src)
	var readErr error
	pcapLink := int(-1)
	if format == reader.FormatPcap && len(interfaces) > 0 {
		pcapLink = int(interfaces[0].LinkType)
	}
	for {
		p, err := src.Next()
		if err != nil {
			if err != io.EOF {
				readErr = err
			}
			break
		}
		if pcapLink >= 0 && int(p.LinkType) != pcapLink {
			readErr = fmt.Errorf("%s: packet %d has link type %d but the pcap output holds link type %d: write pcapng (--format pcapng)", strings.Join(inputs, ", "), p.Number, p.LinkType, pcapLink)
			break
		}
		if err := sink.WritePacket(p); err != nil {
			break // the sink keeps its error; Close returns it
		}
	}
	err = sink.Close()
	for _, f := range sink.Files() {
		fmt.Fprintln(s.Out, f)
	}
	if err != nil {
		return stop.finish(damageError(err, sink.Damaged()))
	}
	return stop.finish(readErr)
}

// damageError adds to a write error what became of the file it cut short.
func damageError(err error, damage []writer.Damage) error {
	for _, d := range damage {
		if d.Removed {
			return fmt.Errorf("%w (%s removed: not even its header could be written; no more files written)", err, d.Path)
		}
		return fmt.Errorf("%w (%s holds its first %d packets, cut back to the last whole one; no more files written)", err, d.Path, d.Kept)
	}
	return err
}

// fitOpenFiles lowers split --flows' bound on open files to what the process's
// descriptor limit (ulimit -n) leaves, keeping some for the input and the runtime.
func fitOpenFiles(want int) (int, string) {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) != nil || lim.Cur >= 1<<62 {
		return want, ""
	}
	inUse := 0
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		inUse = len(fds)
	}
	const spare = 8 // reopening a file, the reader's gzip, the runtime's own
	avail := int(min(lim.Cur, 1<<30)) - inUse - spare
	if avail >= want {
		return want, ""
	}
	return avail, fmt.Sprintf("split --flows: at most %d files open at once instead of %d (open-file limit %d; raise it with ulimit -n)", max(avail, 0), want, lim.Cur)
}
