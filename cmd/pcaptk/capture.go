package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pcaptk/pcaptk/pkg/capture"
	"github.com/pcaptk/pcaptk/pkg/filter"
)

// captureOptions are the flags of `pcaptk capture`.
type captureOptions struct {
	tf             tcpdumpFlags
	ifaces         []string
	fileMB         float64
	seconds        int
	ring           int
	postRotate     string
	format         string
	packetsPerFile uint64
	duration       float64
	nanoPcap       bool
	queueMB        int
	backend        string
	expr           string
	args           []string // the words the expression came from
	refused        []refusal
}

// captureRefusals are tcpdump options that make no sense on interfaces.
var captureRefusals = []refusal{
	{short: "r", long: "read", arg: true, why: "capture reads interfaces (-i); to read a capture file use pcaptk read -r"},
	{short: "V", long: "input-list", arg: true, why: "capture reads interfaces (-i); to read a list of capture files use pcaptk read -V"},
}

// Default kernel buffer: libpcap's 2 MiB drops packets in bursts at a few hundred
// thousand packets a second; 32 MiB rides them out (tcpdump -B 32768 gives the same).
const defaultBufferKiB = 32 << 10

func newCmdCapture(s *streams) *cobra.Command {
	o := &captureOptions{}
	c := &cobra.Command{
		Use:   "capture [-i IFACE]... [-w FILE|-] [EXPRESSION]",
		Short: "Capture packets from network interfaces, print them or write them to rotating files",
		Long: `Capture packets from one or more network interfaces, like tcpdump. On Linux the packets
come through an AF_PACKET memory-mapped ring (whole blocks of packets per wake-up, the
filter compiled by libpcap and run in the kernel); elsewhere, for interfaces the ring
does not handle, and for libpcap's own settings (-y, -I, -j), through libpcap
(--backend chooses).

Without -w each packet is printed as 'pcaptk read' prints it; every tcpdump option
that means something for a capture is taken with tcpdump's meaning, combined short
flags as tcpdump parses them (-i any -Xnlps0); docs/read.md lists them all. On "any"
the capture is Linux cooked v2, as in tcpdump 4.99: each line names the interface and
the direction. With -w the packets go to a pcap or pcapng file (-w - streams to
standard output); -C, -G and --packets-per-file cut the output into a series of files,
-W keeps only the newest N of them and -z runs a command on each completed file.
Several -i write one pcapng file with an interface block for each. Files are created
with mode 0600.

Reading from the kernel and writing to disk run apart, through a bounded queue: a slow
disk or a file rotation never stalls reading. Packets that find the queue full are
counted and reported, never lost silently. On SIGINT or SIGTERM (or after -c,
--duration) the capture stops, the file is completed (pcapng files end with an
interface statistics block) and tcpdump's counts are printed on standard error.

Capturing needs root or the CAP_NET_RAW capability; -Z USER gives root up once the
interfaces and the first file are open. Without root:
  sudo setcap cap_net_raw,cap_net_admin=eip ./pcaptk`,
		Example: `  pcaptk capture -D
  pcaptk capture -i lo -nn tcp port 11211
  pcaptk capture -i any -Xnlps0 tcp port 11211
  pcaptk capture -i eth0 -w cap.pcapng -C 100 -W 10
  pcaptk capture -i eth0 -w 'cap-%Y%m%d-%H%M%S.pcap' -G 3600 -z gzip
  pcaptk capture -i veth0 -i veth1 -w both.pcapng --duration 60
  pcaptk capture -i lo -w - tcp | pcaptk read -r -`,
		RunE: func(c *cobra.Command, args []string) error {
			o.args = args
			if err := o.check(c.Flags(), s); err != nil {
				return err
			}
			return runCapture(o, s)
		},
	}
	f := c.Flags()
	f.SortFlags = false
	f.StringArrayVarP(&o.ifaces, "interface", "i", nil, "capture on `IFACE` (repeat for several; \"any\" for all)")
	f.StringVarP(&o.tf.write, "write", "w", "", "write packets to `FILE` (\"-\": standard output) instead of printing them")
	addTcpdumpFlags(f, &o.tf, defaultBufferKiB)
	f.Float64VarP(&o.fileMB, "file-size", "C", 0, "start a new file before one grows over `MB` millions of bytes")
	f.IntVarP(&o.seconds, "rotate-seconds", "G", 0, "start a new file every `SECONDS`, on wall-clock multiples")
	f.Uint64Var(&o.packetsPerFile, "packets-per-file", 0, "start a new file after `N` packets")
	f.IntVarP(&o.ring, "file-count", "W", 0, "keep only the newest `N` files (with -C, -G or --packets-per-file)")
	f.StringVarP(&o.postRotate, "postrotate-command", "z", "", "run `COMMAND` on each completed file (through sh, with the file name appended)")
	f.StringVar(&o.format, "format", "", "output `FORMAT`: pcap or pcapng (default: from the file name, else pcapng)")
	f.BoolVar(&o.nanoPcap, "nano-pcap", false, "write nanosecond timestamps in pcap files without printing them (--nano does both)")
	f.Float64Var(&o.duration, "duration", 0, "stop after `SECONDS`")
	f.IntVar(&o.queueMB, "queue-size", 64, "memory in `MiB` for packets waiting to be written")
	f.StringVar(&o.backend, "backend", os.Getenv("PCAPTK_CAPTURE_BACKEND"),
		"capture `BACKEND`: afpacket (Linux's memory-mapped ring) or libpcap; default: $PCAPTK_CAPTURE_BACKEND, else afpacket where it can, else libpcap")
	o.refused = addRefused(f, captureRefusals)
	return c
}

// check validates the flags that do not need an open interface.
func (o *captureOptions) check(fs *pflag.FlagSet, s *streams) error {
	if err := checkRefused(fs, o.refused); err != nil {
		return err
	}
	if err := o.tf.check(fs, s.ErrOut); err != nil {
		return err
	}
	if o.tf.listIfaces || o.tf.version {
		return nil
	}
	rotating := o.fileMB > 0 || o.seconds > 0 || o.packetsPerFile > 0
	switch {
	case o.fileMB < 0 || o.seconds < 0 || o.ring < 0 || o.duration < 0 || o.queueMB <= 0:
		return usageErrorf("capture: negative or zero size, count or time")
	case o.tf.noOptimize:
		return usageErrorf("-O: libpcap's optimizer always runs on pcaptk's live captures")
	case o.ring > 0 && !rotating:
		return usageErrorf("capture: -W needs -C, -G or --packets-per-file to cut files")
	case rotating && o.tf.write == "":
		return usageErrorf("capture: -C, -G and --packets-per-file need -w FILE")
	case rotating && o.tf.write == "-":
		return usageErrorf("capture: cannot cut standard output into files; give -w a file name")
	case o.postRotate != "" && (o.tf.write == "" || o.tf.write == "-"):
		return usageErrorf("capture: -z needs -w FILE")
	case o.tf.print && o.tf.write == "":
		return usageErrorf("--print goes with -w (without -w capture prints anyway)")
	case o.tf.print && o.tf.write == "-":
		return usageErrorf("--print with -w -: the packets and their lines would share standard output")
	}
	switch o.format {
	case "", "pcap", "pcapng":
	default:
		return usageErrorf("capture: unknown --format %q (pcap or pcapng)", o.format)
	}
	switch o.backend {
	case capture.BackendAuto, capture.BackendLibpcap, capture.BackendAFPacket:
	default:
		return usageErrorf("capture: unknown --backend %q (afpacket or libpcap)", o.backend)
	}
	expr, err := filterExpression(o.tf.filterFile, o.args)
	if err != nil {
		return err
	}
	o.expr = expr
	if expr != "" && o.tf.dump == 0 {
		if _, err := compileFilter(expr); err != nil {
			return err
		}
	}
	return nil
}

func (o *captureOptions) liveOptions() capture.LiveOptions {
	return capture.LiveOptions{Snaplen: o.tf.snaplen, NoPromisc: o.tf.noPromisc, BufferSize: o.tf.bufferKiB << 10,
		Immediate: o.tf.immediate, LinkType: o.tf.linkType, Direction: o.tf.direction,
		Monitor: o.tf.monitor, TimestampType: o.tf.tstampType}
}

// device is the interface -L, -J and -d look at: the first -i, else tcpdump's
// default one.
func (o *captureOptions) device() (string, error) {
	if len(o.ifaces) > 0 {
		return o.ifaces[0], nil
	}
	return capture.DefaultInterface()
}

func runCapture(o *captureOptions, s *streams) error {
	switch {
	case o.tf.version:
		return printVersion(s.Out)
	case o.tf.listIfaces:
		return capture.ListInterfaces(s.Out)
	case o.tf.listTstamps:
		dev, err := o.device()
		if err != nil {
			return err
		}
		return capture.ListTimestampTypes(s.ErrOut, s.ErrOut, dev) // tcpdump 4.99 lists on stderr
	case o.tf.listLinks:
		dev, err := o.device()
		if err != nil {
			return err
		}
		return capture.ListLinkTypes(s.ErrOut, dev, o.liveOptions()) // tcpdump 4.99 lists on stderr
	case o.tf.dump > 0:
		return runCaptureDump(o, s)
	}
	co := capture.Options{
		Interfaces: o.ifaces, Filter: o.expr, Snaplen: o.tf.snaplen, BufferSize: o.tf.bufferKiB << 10,
		NoPromisc: o.tf.noPromisc, Immediate: o.tf.immediate, Count: uint64(o.tf.count),
		Duration: time.Duration(o.duration * float64(time.Second)), QueueBytes: o.queueMB << 20,
		LinkType: o.tf.linkType, Direction: o.tf.direction, Monitor: o.tf.monitor, TimestampType: o.tf.tstampType,
		Backend: o.backend,
		Quiet:   o.tf.text.q, Verbose: o.tf.text.v > 0,
		Write: o.tf.write, Format: o.format, Nano: o.nanoPcap || o.tf.text.precision == "nano",
		FileBytes: int64(o.fileMB * 1e6), RotateEvery: time.Duration(o.seconds) * time.Second,
		PacketsPerFile: o.packetsPerFile, Ring: o.ring, PostRotate: o.postRotate, AppName: "pcaptk " + version,
		Print: o.tf.print, PacketBuffered: o.tf.text.packetBuffered,
	}
	if o.tf.user != "" && os.Geteuid() == 0 { // as tcpdump, -Z means nothing when not root
		a, err := capture.LookupAccount(o.tf.user)
		if err != nil {
			return usageErrorf("capture: %w", err)
		}
		co.User = a
	}
	env := capture.Env{Out: s.Out, ErrOut: s.ErrOut}
	if o.tf.write == "" || o.tf.print {
		env.Printer = newCapturePrinter(s.Out, &o.tf.text, o.tf.countOnly)
		// As tcpdump: packets printed on a terminal should show up at once.
		if f, ok := s.Out.(*os.File); ok && isTerminal(f) {
			co.Immediate = true
		}
	}
	// A signal stops the capture cleanly (one that comes before it starts is
	// remembered). Echoes of it within signalGrace are ignored; a later one stops
	// waiting for -z commands, but the files are still completed.
	stop, abort := make(chan struct{}), make(chan struct{})
	intr := catchSignals(func(os.Signal) { close(stop) }, func(sig os.Signal) {
		select {
		case <-abort:
		default:
			fmt.Fprintf(s.ErrOut, "pcaptk: %s again: completing the file without waiting for -z commands\n", signalName(sig))
			close(abort)
		}
	})
	defer intr.release()
	env.Stop, env.Abort = stop, abort
	return capture.Run(co, env)
}

// runCaptureDump prints the filter as compiled for the interface, as tcpdump
// -d -i does (the interface opened with -y's link type, or cooked v2 on
// "any"); without -i, for -y's link type or Ethernet, as tcpdump -d does.
func runCaptureDump(o *captureOptions, s *streams) error {
	var prog []filter.Instruction
	var err error
	if len(o.ifaces) == 0 {
		t := filter.Target{DLT: 1, Snaplen: uint32(o.tf.snaplen)}
		if o.tf.linkType != "" {
			t.DLT, _ = filter.DLTByName(o.tf.linkType)
		} else {
			fmt.Fprintln(s.ErrOut, "Warning: assuming Ethernet")
		}
		prog, err = filter.Program(o.expr, t)
	} else {
		var l *capture.Live
		if l, err = capture.OpenLive(o.ifaces[0], o.liveOptions()); err != nil {
			return fmt.Errorf("capture: %w", err)
		}
		if name := l.LinkTypeSet(); name != "" && !o.tf.text.q {
			fmt.Fprintf(s.ErrOut, "pcaptk: data link type %s\n", name)
		}
		prog, err = l.Program(o.expr)
		l.Close()
	}
	if err != nil {
		return &usageError{err}
	}
	_, err = s.Out.Write(filter.AppendDump(nil, prog, o.tf.dump))
	return err
}
