package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gopacket/gopacket/pcap"
	"github.com/spf13/cobra"

	"github.com/pcaptk/pcaptk/internal/outfile"
	"github.com/pcaptk/pcaptk/pkg/filter"
	"github.com/pcaptk/pcaptk/pkg/reader"
	"github.com/pcaptk/pcaptk/pkg/writer"
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
		Long: `Capture packets from one or more network interfaces through libpcap, like tcpdump.

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
	f.IntVarP(&o.snaplen, "snaplen", "s", reader.DefaultSnaplen, "keep at most `N` bytes of each packet (0: 262144)")
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
		return listInterfaces(s.Out)
	}
	// From here on a signal stops the capture cleanly (one that comes before the
	// capture starts is remembered). Echoes of it within signalGrace are ignored; a
	// later one stops waiting for -z commands, but the files are still completed.
	stopSig := make(chan struct{})
	var aborted atomic.Bool
	var post atomic.Pointer[postRotate]
	intr := catchSignals(func(os.Signal) { close(stopSig) }, func(sig os.Signal) {
		if aborted.CompareAndSwap(false, true) {
			fmt.Fprintf(s.ErrOut, "pcaptk: %s again: completing the file without waiting for -z commands\n", signalName(sig))
			if p := post.Load(); p != nil {
				p.abort()
			}
		}
	})
	defer intr.release()
	var drop *account
	if o.user != "" && os.Geteuid() == 0 {
		a, err := lookupAccount(o.user)
		if err != nil {
			return &usageError{err}
		}
		drop = a
	}
	if len(o.ifaces) == 0 {
		d, err := defaultInterface()
		if err != nil {
			return err
		}
		o.ifaces = []string{d}
	}

	// As tcpdump: packets printed on a terminal should show up at once.
	if f, ok := s.Out.(*os.File); ok && o.write == "" && isTerminal(f) {
		o.immediate = true
	}
	lives, err := openInterfaces(o)
	if err != nil {
		return err
	}
	ifaces := make([]reader.Interface, len(lives))
	for i, l := range lives {
		ifaces[i] = l.Interface()
	}
	sink, err := newCaptureSink(o, s, ifaces)
	if err != nil {
		for _, l := range lives {
			l.Close()
		}
		return err
	}
	post.Store(sink.post)
	if drop != nil {
		if err := sink.chown(drop); err == nil {
			err = drop.become()
		}
		if err != nil {
			for _, l := range lives {
				l.Close()
			}
			sink.close()
			return err
		}
	}
	for _, ifc := range ifaces {
		fmt.Fprintf(s.ErrOut, "listening on %s, link-type %s (%s), snapshot length %d bytes\n", ifc.Name,
			pcap.DatalinkValToName(int(ifc.LinkType)), pcap.DatalinkValToDescription(int(ifc.LinkType)), ifc.Snaplen)
	}

	capt := reader.StartCapture(lives, reader.CaptureOptions{QueueBytes: o.queueMB << 20})
	go func() {
		var timeout <-chan time.Time
		if o.duration > 0 {
			timeout = time.After(time.Duration(o.duration * float64(time.Second)))
		}
		select {
		case <-stopSig:
		case <-timeout:
		}
		capt.Stop()
	}()

	captured, runErr := pump(o, capt, sink)
	stats := capt.Wait()
	now := time.Now().UnixNano()
	for i, st := range stats {
		sink.stats(i, st.Received, st.Dropped+st.IfDropped+st.QueueDrops, now)
	}
	if err := sink.close(); err != nil && runErr == nil {
		runErr = err
	}
	printCaptureCounts(s.ErrOut, captured-sink.lost, stats)
	sink.wait()
	if runErr != nil {
		sink.reportFiles(s.ErrOut)
	}
	return runErr
}

// pump moves packets from the capture to the sink until the capture ends, -c is
// reached or the sink fails. It returns the number of packets written.
func pump(o *captureOptions, capt *reader.Capture, sink *captureSink) (uint64, error) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var n uint64
	for {
		p, err := capt.Poll(tick.C)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			capt.Stop()
			return n, fmt.Errorf("capture: %w", err)
		}
		if p == nil {
			if err := sink.tick(time.Now()); err != nil {
				capt.Stop()
				return n, err
			}
			continue
		}
		if err := sink.write(p); err != nil {
			capt.Stop()
			return n, err
		}
		n++
		if o.count > 0 && n >= o.count {
			capt.Stop()
			return n, nil
		}
	}
}

func printCaptureCounts(w io.Writer, captured uint64, stats []reader.CaptureStats) {
	var recv, drop, ifdrop, qdrop uint64
	var failed error
	for _, st := range stats {
		recv += st.Received
		drop += st.Dropped
		ifdrop += st.IfDropped
		qdrop += st.QueueDrops
		if st.StatsFailed != nil && failed == nil {
			failed = st.StatsFailed
		}
	}
	fmt.Fprintf(w, "%d %s captured\n", captured, plural(captured))
	if failed != nil {
		fmt.Fprintf(w, "pcaptk: kernel counts unavailable: %v\n", failed)
	} else {
		fmt.Fprintf(w, "%d %s received by filter\n", recv, plural(recv))
		fmt.Fprintf(w, "%d %s dropped by kernel\n", drop, plural(drop))
		if ifdrop > 0 {
			fmt.Fprintf(w, "%d %s dropped by interface\n", ifdrop, plural(ifdrop))
		}
	}
	if qdrop > 0 {
		fmt.Fprintf(w, "%d %s dropped by pcaptk (write queue full: output too slow; raise --queue-size)\n", qdrop, plural(qdrop))
	}
}

func plural(n uint64) string {
	if n == 1 {
		return "packet"
	}
	return "packets"
}

func openInterfaces(o *captureOptions) ([]*reader.Live, error) {
	lo := reader.LiveOptions{Snaplen: o.snaplen, NoPromisc: o.noPromisc, BufferSize: o.bufferKiB << 10,
		Immediate: o.immediate, Filter: o.expr}
	var lives []*reader.Live
	for _, name := range o.ifaces {
		l, err := reader.OpenLive(name, lo)
		if err != nil {
			for _, l := range lives {
				l.Close()
			}
			return nil, fmt.Errorf("capture: %w", err)
		}
		lives = append(lives, l)
	}
	return lives, nil
}

// defaultInterface is tcpdump's choice: the first interface that is up and not loopback.
func defaultInterface() (string, error) {
	devs, err := reader.Devices()
	if err != nil {
		return "", fmt.Errorf("capture: %w", err)
	}
	for _, d := range devs {
		if d.Up && !d.Loopback && d.Name != "any" {
			return d.Name, nil
		}
	}
	return "", errors.New("capture: no interface is up; name one with -i (pcaptk capture -D lists them)")
}

// listInterfaces prints the interfaces as tcpdump -D does.
func listInterfaces(w io.Writer) error {
	devs, err := reader.Devices()
	if err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	bw := bufio.NewWriter(w)
	for i, d := range devs {
		var flags []string
		if d.Up {
			flags = append(flags, "Up")
		}
		if d.Running {
			flags = append(flags, "Running")
		}
		if d.Wireless {
			flags = append(flags, "Wireless")
		}
		if d.Loopback {
			flags = append(flags, "Loopback")
		}
		if d.Status != "" {
			flags = append(flags, d.Status)
		}
		fmt.Fprintf(bw, "%d.%s", i+1, d.Name)
		if d.Description != "" {
			fmt.Fprintf(bw, " (%s)", d.Description)
		}
		if len(flags) > 0 {
			fmt.Fprintf(bw, " [%s]", strings.Join(flags, ", "))
		}
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// outputFormat picks the file format: --format, else the name's extension, else pcapng;
// standard output gets pcap unless several interfaces need pcapng.
func outputFormat(o *captureOptions, ifaces []reader.Interface) (reader.Format, error) {
	sameLink := true
	for _, ifc := range ifaces[1:] {
		sameLink = sameLink && ifc.LinkType == ifaces[0].LinkType
	}
	switch o.format {
	case "pcap":
		if !sameLink {
			return 0, usageErrorf("capture: the interfaces have different link types, which pcap cannot hold; use --format pcapng")
		}
		return reader.FormatPcap, nil
	case "pcapng":
		return reader.FormatPcapNG, nil
	}
	if o.write == "-" {
		if len(ifaces) == 1 {
			return reader.FormatPcap, nil
		}
		return reader.FormatPcapNG, nil
	}
	switch strings.ToLower(filepath.Ext(o.write)) {
	case ".pcap", ".cap", ".dmp":
		if sameLink && len(ifaces) == 1 {
			return reader.FormatPcap, nil
		}
	}
	return reader.FormatPcapNG, nil
}

// captureSink is where captured packets go: the printer, one file or standard output,
// or a rotating series of files.
type captureSink struct {
	printer packetPrinter // without -w
	file    *os.File      // -w FILE without rotation (nil for stdout)
	single  writer.Sink   // -w FILE or -w -
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
}

type packetPrinter interface {
	Print(p *reader.Packet) error
	Flush() error
}

func newCaptureSink(o *captureOptions, s *streams, ifaces []reader.Interface) (*captureSink, error) {
	k := &captureSink{}
	if o.write == "" {
		pr, err := newCapturePrinter(s.Out, &o.print)
		if err != nil {
			return nil, err
		}
		k.printer = pr
		return k, nil
	}
	format, err := outputFormat(o, ifaces)
	if err != nil {
		return nil, err
	}
	app := "pcaptk " + version
	if o.fileMB > 0 || o.seconds > 0 || o.packetsPerFile > 0 {
		ring := o.ring
		if o.postRotate != "" {
			// The ring must not remove a file before its -z command has run: with -z,
			// postRotate keeps the ring, removing files once their command is done.
			k.post = newPostRotate(o.postRotate, o.ring, s)
			ring = 0
		}
		// Each file is created afresh (O_EXCL|O_NOFOLLOW under a temporary name,
		// then renamed into place): as root in a directory others can write, a
		// symbolic link or a file planted at a predictable name is replaced, never
		// followed or written into.
		k.rot, err = writer.NewRotating(writer.RotateOptions{
			Path: o.write, Format: format, Nano: o.nano, Interfaces: ifaces, AppName: app,
			MaxBytes: int64(o.fileMB * 1e6), MaxPackets: o.packetsPerFile,
			Interval: time.Duration(o.seconds) * time.Second, Ring: ring, Mode: 0o600,
			OnClose: k.closed,
		})
		if err == nil {
			err = k.rot.Open(time.Now())
		}
		if err != nil {
			if k.post != nil {
				k.post.finish()
			}
			return nil, fmt.Errorf("capture: %w", err)
		}
		k.single, k.flusher, k.statser = k.rot, k.rot, k.rot
		return k, nil
	}
	out := s.Out
	if o.write != "-" {
		f, err := outfile.Create(o.write, outfile.Options{Mode: 0o600})
		if err == nil {
			err = f.Publish()
		}
		if err != nil {
			return nil, fmt.Errorf("capture: %w", err)
		}
		k.out, k.file, out = f, f.File, f
	}
	if format == reader.FormatPcap {
		w, err := writer.NewPcap(out, ifaces[0].LinkType, ifaces[0].Snaplen, o.nano)
		k.single, k.flusher = w, w
		if err == nil {
			err = w.Flush() // the header reaches the file (and a pipe's reader) at once
		}
		if err != nil {
			k.closeFile()
			return nil, fmt.Errorf("capture: %s: %w", o.write, err)
		}
	} else {
		w, err := writer.NewPcapng(out, writer.PcapngOptions{AppName: app, Interfaces: ifaces})
		k.single, k.flusher, k.statser = w, w, w
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			k.closeFile()
			return nil, fmt.Errorf("capture: %s: %w", o.write, err)
		}
	}
	return k, nil
}

func (k *captureSink) closeFile() {
	if k.out != nil {
		k.out.Close()
		k.out, k.file = nil, nil
	}
}

// closed is the rotating sink's OnClose, called for each complete file (one that a
// write error cut is not complete): it goes to -z.
func (k *captureSink) closed(path string) {
	if k.post != nil {
		k.post.add(path, k.closing)
	}
}

// reportFiles names, after a write error, the files completed before it and the
// one it cut short.
func (k *captureSink) reportFiles(w io.Writer) {
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

func (k *captureSink) write(p *reader.Packet) error {
	var err error
	if k.printer != nil {
		err = k.printer.Print(p)
	} else {
		err = k.single.WritePacket(p)
	}
	if err != nil {
		k.fail(err)
	} else {
		k.inFile++
	}
	return k.err
}

func (k *captureSink) fail(err error) {
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
func (k *captureSink) tick(now time.Time) error {
	if k.err != nil {
		return k.err
	}
	var err error
	switch {
	case k.printer != nil:
		err = k.printer.Flush()
	case k.rot != nil:
		// Packets reach the queue up to a packet buffer timeout (100 ms) after their
		// timestamp: a late one must still find its interval's file open.
		err = k.rot.Tick(now.Add(-250 * time.Millisecond))
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

func (k *captureSink) stats(iface int, received, dropped uint64, ts int64) {
	if k.statser != nil && k.err == nil {
		if err := k.statser.WriteStats(iface, received, dropped, ts); err != nil {
			k.fail(err)
		}
	}
}

// chown gives the first file to the user -Z switches to, so that later -z commands
// running as that user can read it.
func (k *captureSink) chown(a *account) error {
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
func (k *captureSink) close() error {
	k.closing = true
	var err error
	switch {
	case k.printer != nil:
		err = k.printer.Flush()
	case k.single != nil:
		err = k.single.Close()
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
		k.out, k.file = nil, nil
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
func (k *captureSink) wait() {
	if k.post != nil {
		k.post.finish()
	}
}

// postRotate runs -z COMMAND on each completed file, one at a time, in a goroutine of
// its own so that the capture never waits for it. With -W N it keeps the ring: once a
// file's command has run, the oldest completed files beyond N-1 (the file being
// written is the Nth) are removed.
type postRotate struct {
	cmd     string
	ring    int
	kept    []string // completed files whose command has run, oldest first
	s       *streams
	mu      sync.Mutex
	pending []postFile
	wake    chan struct{}
	done    chan struct{}
	closing bool
	aborted bool
	running *exec.Cmd
}

// abort kills the command running now and drops those still queued: the user
// asked to stop at once.
func (p *postRotate) abort() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.aborted, p.pending = true, nil
	if p.running != nil && p.running.Process != nil {
		syscall.Kill(-p.running.Process.Pid, syscall.SIGKILL) // the shell and what it started
	}
}

func newPostRotate(cmd string, ring int, s *streams) *postRotate {
	p := &postRotate{cmd: cmd, ring: ring, s: s, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go p.run()
	return p
}

// postFile is a completed file; last is set for the file closed at the end.
type postFile struct {
	path string
	last bool
}

func (p *postRotate) add(path string, last bool) {
	p.mu.Lock()
	p.pending = append(p.pending, postFile{path, last})
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *postRotate) run() {
	defer close(p.done)
	for {
		p.mu.Lock()
		if p.aborted {
			p.mu.Unlock()
			return
		}
		if len(p.pending) == 0 {
			closing := p.closing
			p.mu.Unlock()
			if closing {
				return
			}
			<-p.wake
			continue
		}
		path, last := p.pending[0].path, p.pending[0].last
		p.pending = p.pending[1:]
		p.mu.Unlock()
		c := exec.Command("/bin/sh", "-c", p.cmd+` "$1"`, "pcaptk-z", path)
		c.Stdout, c.Stderr = p.s.ErrOut, p.s.ErrOut
		// A group of its own: the terminal's Ctrl-C does not cut short the command
		// on the last file, which the capture still waits for, and abort can end
		// the shell with whatever it started.
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		p.mu.Lock()
		err := c.Start()
		p.running = c
		p.mu.Unlock()
		if err == nil {
			err = c.Wait()
		}
		p.mu.Lock()
		p.running = nil
		aborted := p.aborted
		p.mu.Unlock()
		if aborted {
			return
		}
		if err != nil {
			fmt.Fprintf(p.s.ErrOut, "pcaptk: -z %s %s: %v\n", p.cmd, path, err)
		}
		if p.ring > 0 {
			p.kept = append(p.kept, path)
			keep := p.ring - 1 // and the file being written
			if last {
				keep = p.ring
			}
			for len(p.kept) > keep {
				// The command may have moved the file (gzip): nothing left to remove.
				os.Remove(p.kept[0])
				p.kept = p.kept[1:]
			}
		}
	}
}

// finish waits until every queued command has run.
func (p *postRotate) finish() {
	p.mu.Lock()
	p.closing = true
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	<-p.done
}

// account is the user -Z switches to.
type account struct {
	name     string
	uid, gid int
}

func lookupAccount(name string) (*account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("capture: -Z: %w", err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("capture: -Z %s: non-numeric uid or gid", name)
	}
	return &account{name: name, uid: uid, gid: gid}, nil
}

// become drops root for good: supplementary groups, then group, then user (Go applies
// these to every thread of the process).
func (a *account) become() error {
	if err := syscall.Setgroups([]int{a.gid}); err != nil {
		return fmt.Errorf("capture: -Z %s: setgroups: %w", a.name, err)
	}
	if err := syscall.Setgid(a.gid); err != nil {
		return fmt.Errorf("capture: -Z %s: setgid: %w", a.name, err)
	}
	if err := syscall.Setuid(a.uid); err != nil {
		return fmt.Errorf("capture: -Z %s: setuid: %w", a.name, err)
	}
	return nil
}
