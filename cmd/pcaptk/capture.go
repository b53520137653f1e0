package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pcaptk/pcaptk/pkg/capture"
	"github.com/pcaptk/pcaptk/pkg/filter"
)

// captureOptions are the flags of `pcaptk capture`.
type captureOptions struct {
	ifaces         []string
	write          string
	snaplen        int
	count          uint64
	bufferKiB      int
	noPromisc      bool
	immediate      bool
	fileMB         float64
	seconds        int
	ring           int
	postRotate     string
	user           string
	format         string
	packetsPerFile uint64
	duration       float64
	list           bool
	nano           bool
	queueMB        int
	backend        string
	direction      string
	expr           string
	print          textFlags
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
filter compiled by libpcap and run in the kernel); elsewhere, and for interfaces the ring
does not handle, through libpcap (--backend chooses).

Without -w each packet is printed as 'pcaptk read' prints it. With -w the packets go to a
pcap or pcapng file (-w - streams to standard output); -C, -G and --packets-per-file cut
the output into a series of files, -W keeps only the newest N of them and -z runs a
command on each completed file. Several -i write one pcapng file with an interface block
for each. Files are created with mode 0600.

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
  pcaptk capture -i eth0 -w cap.pcapng -C 100 -W 10
  pcaptk capture -i eth0 -w 'cap-%Y%m%d-%H%M%S.pcap' -G 3600 -z gzip
  pcaptk capture -i veth0 -i veth1 -w both.pcapng --duration 60
  pcaptk capture -i lo -w - tcp | pcaptk read -r -`,
		RunE: func(c *cobra.Command, args []string) error {
			o.expr = strings.Join(args, " ")
			if err := o.check(); err != nil {
				return err
			}
			return runCapture(o, s)
		},
	}
	f := c.Flags()
	f.SortFlags = false
	f.StringArrayVarP(&o.ifaces, "interface", "i", nil, "capture on `IFACE` (repeat for several; \"any\" for all)")
	f.StringVarP(&o.write, "write", "w", "", "write packets to `FILE` (\"-\": standard output) instead of printing them")
	f.IntVarP(&o.snaplen, "snaplen", "s", capture.DefaultSnaplen, "keep at most `N` bytes of each packet (0: 262144)")
	f.Uint64VarP(&o.count, "count", "c", 0, "stop after `N` packets")
	f.IntVarP(&o.bufferKiB, "buffer-size", "B", defaultBufferKiB, "kernel capture buffer in `KiB`")
	f.BoolVarP(&o.noPromisc, "no-promiscuous-mode", "p", false, "do not put the interface in promiscuous mode")
	f.BoolVar(&o.immediate, "immediate", false, "deliver each packet at once instead of in batches (more CPU)")
	f.Float64VarP(&o.fileMB, "file-size", "C", 0, "start a new file before one grows over `MB` millions of bytes")
	f.IntVarP(&o.seconds, "rotate-seconds", "G", 0, "start a new file every `SECONDS`, on wall-clock multiples")
	f.Uint64Var(&o.packetsPerFile, "packets-per-file", 0, "start a new file after `N` packets")
	f.IntVarP(&o.ring, "file-count", "W", 0, "keep only the newest `N` files (with -C, -G or --packets-per-file)")
	f.StringVarP(&o.postRotate, "postrotate-command", "z", "", "run `COMMAND` on each completed file (through sh, with the file name appended)")
	f.StringVarP(&o.user, "relinquish-privileges", "Z", "", "switch to `USER` once interfaces and the first file are open")
	f.StringVar(&o.format, "format", "", "output `FORMAT`: pcap or pcapng (default: from the file name, else pcapng)")
	f.BoolVar(&o.nano, "nano-pcap", false, "write nanosecond timestamps in pcap files (default: microseconds, as tcpdump)")
	f.Float64Var(&o.duration, "duration", 0, "stop after `SECONDS`")
	f.BoolVarP(&o.list, "list-interfaces", "D", false, "list the interfaces available for capture and exit")
	f.IntVar(&o.queueMB, "queue-size", 64, "memory in `MiB` for packets waiting to be written")
	f.StringVarP(&o.direction, "direction", "Q", "", "capture packets sent (`out`), received (in), or both (inout, the default)")
	f.StringVar(&o.backend, "backend", os.Getenv("PCAPTK_CAPTURE_BACKEND"),
		"capture `BACKEND`: afpacket (Linux's memory-mapped ring) or libpcap; default: $PCAPTK_CAPTURE_BACKEND, else afpacket where it can, else libpcap")
	addTextFlags(f, &o.print)
	return c
}

// check validates the flags that do not need an open interface.
func (o *captureOptions) check() error {
	if o.list {
		return nil
	}
	rotating := o.fileMB > 0 || o.seconds > 0 || o.packetsPerFile > 0
	switch {
	case o.snaplen < 0 || o.bufferKiB < 0 || o.fileMB < 0 || o.seconds < 0 || o.ring < 0 || o.duration < 0 || o.queueMB <= 0:
		return usageErrorf("capture: negative or zero size, count or time")
	case o.ring > 0 && !rotating:
		return usageErrorf("capture: -W needs -C, -G or --packets-per-file to cut files")
	case rotating && o.write == "":
		return usageErrorf("capture: -C, -G and --packets-per-file need -w FILE")
	case rotating && o.write == "-":
		return usageErrorf("capture: cannot cut standard output into files; give -w a file name")
	case o.postRotate != "" && (o.write == "" || o.write == "-"):
		return usageErrorf("capture: -z needs -w FILE")
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
	switch strings.ToLower(o.direction) {
	case "", "in", "out", "inout":
	default:
		return usageErrorf("capture: unknown -Q direction %q (in, out or inout)", o.direction)
	}
	if o.expr != "" {
		if _, err := filter.Compile(o.expr); err != nil {
			var se *filter.SyntaxError
			if errors.As(err, &se) {
				return &usageError{err}
			}
			return err
		}
	}
	return nil
}

func runCapture(o *captureOptions, s *streams) error {
	if o.list {
		return capture.ListInterfaces(s.Out)
	}
	co := capture.Options{
		Interfaces: o.ifaces, Filter: o.expr, Snaplen: o.snaplen, BufferSize: o.bufferKiB << 10,
		NoPromisc: o.noPromisc, Immediate: o.immediate, Count: o.count,
		Direction: o.direction, Backend: o.backend,
		Duration: time.Duration(o.duration * float64(time.Second)), QueueBytes: o.queueMB << 20,
		Write: o.write, Format: o.format, Nano: o.nano, FileBytes: int64(o.fileMB * 1e6),
		RotateEvery: time.Duration(o.seconds) * time.Second, PacketsPerFile: o.packetsPerFile,
		Ring: o.ring, PostRotate: o.postRotate, AppName: "pcaptk " + version,
	}
	if o.user != "" && os.Geteuid() == 0 { // as tcpdump, -Z means nothing when not root
		a, err := capture.LookupAccount(o.user)
		if err != nil {
			return usageErrorf("capture: %w", err)
		}
		co.User = a
	}
	env := capture.Env{Out: s.Out, ErrOut: s.ErrOut}
	if o.write == "" {
		env.Printer = newCapturePrinter(s.Out, &o.print)
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
