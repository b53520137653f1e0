package capture

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pcaptk/pcaptk/pkg/reader"
)

// Options describe a capture, as `pcaptk capture`'s flags do.
type Options struct {
	Interfaces []string // names ("any" for all); empty: the first up interface that is not loopback
	Filter     string   // tcpdump filter expression, run in the kernel
	Snaplen    int      // 0: 262144
	BufferSize int      // kernel buffer in bytes; 0: libpcap's default
	NoPromisc  bool
	Direction  string        // -Q: "in", "out" or "" for both
	Backend    string        // "libpcap", "afpacket" or "" (the ring where it can, else libpcap)
	Immediate  bool          // deliver each packet at once
	Count      uint64        // stop after this many packets (0: no limit)
	Duration   time.Duration // stop after this long (0: no limit)
	QueueBytes int           // memory for packets waiting to be written; 0: 64 MiB
	// LinkType, Monitor and TimestampType are LiveOptions' (-y, -I, -j).
	LinkType      string
	Monitor       bool
	TimestampType string
	// Quiet leaves out tcpdump's "listening on" lines (-q); Verbose (-v) drops
	// the line that suggests it.
	Quiet, Verbose bool

	// Write is "" to print each packet with Env.Printer, "-" to write a capture to
	// Env.Out, else a file name (a pattern with strftime fields when rotating).
	Write          string
	Format         string // "pcap", "pcapng" or "" (from the name, else pcapng)
	Nano           bool   // nanosecond timestamps in pcap files
	FileBytes      int64  // -C: a new file before one grows past this
	RotateEvery    time.Duration
	PacketsPerFile uint64
	Ring           int    // -W: keep the newest Ring files
	PostRotate     string // -z: shell command run on each completed file
	User           *Account
	AppName        string // pcapng shb_userappl
	// Print prints the packets with Env.Printer while writing them (--print).
	Print bool
	// PacketBuffered writes each packet to the file at once (-U).
	PacketBuffered bool
}

func (o *Options) rotating() bool {
	return o.FileBytes > 0 || o.RotateEvery > 0 || o.PacketsPerFile > 0
}

// Env is what a capture runs against.
type Env struct {
	Out, ErrOut io.Writer
	Printer     Printer // prints packets when Options.Write is "" (or Options.Print is set)
	// Stop is closed to end the capture (the first Ctrl-C): the packets captured
	// before it are still written and the files completed.
	Stop <-chan struct{}
	// Abort is closed when the user insists (a second Ctrl-C): -z commands are
	// killed and no longer waited for; the files are completed all the same.
	Abort <-chan struct{}
}

// usageError marks errors in the options (exit status 2 in pcaptk).
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// UsageError reports that the error is the command line's fault.
func (e usageError) UsageError() bool { return true }

// Run captures until Env.Stop, Options.Count, Options.Duration or an error: it
// opens the interfaces and the output, gives up root for Options.User, prints
// tcpdump's "listening on" lines and, at the end, its counts on Env.ErrOut.
func Run(o Options, env Env) error {
	if len(o.Interfaces) == 0 {
		d, err := DefaultInterface()
		if err != nil {
			return err
		}
		o.Interfaces = []string{d}
	}
	lives, err := openInterfaces(&o)
	if err != nil {
		return err
	}
	ifaces := make([]reader.Interface, len(lives))
	for i, l := range lives {
		ifaces[i] = l.Interface()
	}
	closeAll := func() {
		for _, l := range lives {
			l.Close()
		}
	}
	k, err := newSink(&o, &env, ifaces)
	if err != nil {
		closeAll()
		return err
	}
	for _, l := range lives {
		if b, ok := l.(blockSource); ok {
			k.late = max(k.late, b.blockTimeout()+150*time.Millisecond)
		}
	}
	if o.User != nil {
		if err := k.chown(o.User); err == nil {
			err = o.User.become()
		}
		if err != nil {
			closeAll()
			k.close()
			return fmt.Errorf("capture: %w", err)
		}
	}
	if !o.Quiet {
		printBanner(env.ErrOut, &o, ifaces)
	}

	q := StartQueue(lives, QueueOptions{QueueBytes: o.QueueBytes, BeforeWait: k.makeRoom})
	done := make(chan struct{})
	defer close(done)
	var interrupted atomic.Bool
	go func() {
		var timeout <-chan time.Time
		if o.Duration > 0 {
			timeout = time.After(o.Duration)
		}
		select {
		case <-env.Stop:
			interrupted.Store(true)
		case <-timeout:
		case <-done:
		}
		q.Stop()
	}()
	if k.post != nil {
		go func() {
			select {
			case <-env.Abort:
				k.post.abort()
			case <-done:
			}
		}()
	}

	captured, runErr := pump(&o, q, k)
	stats := q.Wait()
	now := time.Now().UnixNano()
	for i, st := range stats {
		k.stats(i, st.Received, st.Dropped+st.IfDropped+st.QueueDrops, now)
	}
	if err := k.close(); err != nil && runErr == nil {
		runErr = err
	}
	if o.Write == "" && interrupted.Load() {
		// As tcpdump: an interrupt may have cut a line short; end it.
		io.WriteString(env.Out, "\n")
	}
	printCounts(env.ErrOut, captured-k.lost, stats)
	k.wait()
	if runErr != nil {
		k.reportFiles(env.ErrOut)
	}
	return runErr
}

// pump moves packets from the queue to the sink until the capture ends, -c is
// reached or the sink fails. It returns the number of packets written.
func pump(o *Options, q *Queue, k *sink) (uint64, error) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var n uint64
	for {
		p, err := q.Poll(tick.C)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			q.Stop()
			return n, fmt.Errorf("capture: %w", err)
		}
		if p == nil {
			if err := k.tick(time.Now()); err != nil {
				q.Stop()
				return n, err
			}
			continue
		}
		if err := k.write(p); err != nil {
			q.Stop()
			return n, err
		}
		n++
		if o.Count > 0 && n >= o.Count {
			q.Stop()
			return n, nil
		}
	}
}

// printCounts prints tcpdump's three count lines (and pcaptk's own queue drops).
func printCounts(w io.Writer, captured uint64, stats []Stats) {
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

func openInterfaces(o *Options) ([]Source, error) {
	lo := LiveOptions{Snaplen: o.Snaplen, NoPromisc: o.NoPromisc, BufferSize: o.BufferSize,
		Immediate: o.Immediate, Filter: o.Filter, Direction: o.Direction, LinkType: o.LinkType,
		Monitor: o.Monitor, TimestampType: o.TimestampType}
	var lives []Source
	for _, name := range o.Interfaces {
		l, err := OpenSource(name, lo, o.Backend)
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

// DefaultInterface is tcpdump's choice: the first interface that is up and not loopback.
func DefaultInterface() (string, error) {
	devs, err := Devices()
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

// ListInterfaces prints the interfaces as tcpdump -D does.
func ListInterfaces(w io.Writer) error {
	devs, err := Devices()
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
