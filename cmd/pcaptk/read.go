package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/filter"
	"github.com/pcaptk/pcaptk/pkg/reader"
	"github.com/pcaptk/pcaptk/pkg/tcpdump"
)

// textFlags are tcpdump's printing flags, shared by read and capture.
type textFlags struct {
	n, t, x, X, v int
	S, e, A, q    bool
	nano          bool
}

// addTextFlags registers tcpdump's printing flags on fs.
func addTextFlags(fs *pflag.FlagSet, f *textFlags) {
	fs.CountVarP(&f.n, "numeric", "n", "print port numbers instead of /etc/services names (-nn is the same; pcaptk never looks up host names)")
	fs.BoolVarP(&f.S, "absolute-tcp-sequence-numbers", "S", false, "print absolute TCP sequence numbers")
	fs.CountVarP(&f.t, "time", "t", "-t: no time stamp; -tt: seconds since the epoch; -ttt: delta since the previous packet; -tttt: date and time; -ttttt: delta since the first packet")
	fs.BoolVar(&f.nano, "nano", false, "print time stamps with nanoseconds")
	fs.BoolVarP(&f.e, "link", "e", false, "print the link-level header")
	fs.CountVarP(&f.x, "hex", "x", "print the packet in hex (-xx: with the link header)")
	fs.CountVarP(&f.X, "hex-ascii", "X", "print the packet in hex and ASCII (-XX: with the link header)")
	fs.BoolVarP(&f.A, "ascii", "A", false, "print the packet in ASCII")
	fs.BoolVarP(&f.q, "quiet", "q", false, "print less protocol information")
	fs.CountVarP(&f.v, "verbose", "v", "print more (IP TTL, id, length, TCP checksum)")
}

func (f *textFlags) options() tcpdump.Options {
	o := tcpdump.Options{
		NoPortNames: f.n >= 1, // tcpdump 4.99: -n already numbers ports
		AbsoluteSeq: f.S,
		Nano:        f.nano,
		Link:        f.e,
		Hex:         f.x,
		HexASCII:    f.X,
		ASCII:       f.A,
		Quiet:       f.q,
		Verbose:     f.v,
	}
	switch {
	case f.t == 0:
		o.TimeFormat = tcpdump.TimeDefault
	case f.t >= 5:
		o.TimeFormat = tcpdump.TimeSinceFirst
	default:
		o.TimeFormat = [...]int{0, tcpdump.TimeNone, tcpdump.TimeEpoch, tcpdump.TimeDelta, tcpdump.TimeDate}[f.t]
	}
	return o
}

type readOptions struct {
	streams
	File       string
	FilterFile string
	Expr       string
	Count      int64
	Text       textFlags
}

func newCmdRead(s *streams) *cobra.Command {
	opts := &readOptions{streams: *s}
	cmd := &cobra.Command{
		Use:   "read -r FILE [flags] [EXPRESSION]",
		Short: "Print packets as tcpdump does",
		Long: `Print the packets of a capture file as tcpdump -r prints them: one line a
packet with time, addresses and ports, TCP flags, sequence numbers, window,
options and length. The filter EXPRESSION uses tcpdump's syntax (pcap-filter(7))
and is compiled by libpcap for each packet's link type.

pcaptk never looks host names up in DNS. Without -n (or -nn), ports are
named from /etc/services, as tcpdump does.`,
		Example: `  pcaptk read -nn -r cap.pcapng 'tcp[tcpflags] & tcp-syn != 0'
  pcaptk read -r cap.pcap -c 10 -tttt tcp port 80
  pcaptk capture -i lo -w - | pcaptk read -nn -r -`,
		Args: cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if opts.File == "" {
				return usageErrorf("read: -r FILE is required (use -r - for standard input)")
			}
			expr, err := filterExpression(opts.FilterFile, args)
			if err != nil {
				return err
			}
			opts.Expr = expr
			return runRead(opts)
		},
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	fs.StringVarP(&opts.File, "read", "r", "", "capture file to read (- for standard input; .gz accepted)")
	fs.Int64VarP(&opts.Count, "count", "c", 0, "stop after printing this many packets")
	fs.StringVarP(&opts.FilterFile, "filter-file", "F", "", "read the filter expression from this file")
	addTextFlags(fs, &opts.Text)
	return cmd
}

// filterExpression joins the trailing arguments into one expression, or reads
// it from -F FILE (tcpdump ignores the arguments then; pcaptk refuses both).
func filterExpression(file string, args []string) (string, error) {
	if file == "" {
		return strings.Join(args, " "), nil
	}
	if len(args) > 0 {
		return "", usageErrorf("give the filter either with -F or as arguments, not both")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", usageErrorf("filter file: %v", err)
	}
	// As tcpdump does, a '#' starts a comment that runs to the end of the line.
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if j := strings.IndexByte(l, '#'); j >= 0 {
			lines[i] = l[:j]
		}
	}
	return strings.TrimSpace(strings.Join(lines, " ")), nil
}

// compileFilter compiles expr, turning libpcap's complaint into a usage error.
func compileFilter(expr string) (*filter.Filter, error) {
	f, err := filter.Compile(expr)
	if err != nil {
		var se *filter.SyntaxError
		if errors.As(err, &se) {
			return nil, &usageError{err}
		}
		return nil, err
	}
	return f, nil
}

func runRead(opts *readOptions) error {
	flt, err := compileFilter(opts.Expr)
	if err != nil {
		return err
	}
	r, err := openInput(opts.File, &opts.streams)
	if err != nil {
		return err
	}
	defer r.Close()
	fmt.Fprintf(opts.ErrOut, "reading from file %s, %s\n", opts.File, describeInput(r))

	enc := tcpdump.NewPrinter(opts.Out, opts.Text.options())
	var printed int64
	err = prefetchDecoded(r, flt, opts.Count, func(p *reader.Packet, rec *decode.Record) error {
		printed++
		return enc.Print(p, rec)
	})
	if ferr := enc.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	if err := flt.Err(); err != nil {
		return fmt.Errorf("%s: %w", opts.File, err)
	}
	return nil
}

// decodedBatch is a run of packets read, filtered and decoded ahead of the
// printer. The packets' bytes live in data, which grows to its working size
// once and is then reused, so the pipeline allocates nothing per packet.
type decodedBatch struct {
	pkts []reader.Packet
	recs []decode.Record
	ends []int // end of each packet's bytes in data
	data []byte
	err  error // the reader's error after the last packet, if any
}

const (
	batchPackets = 512
	batchBytes   = 512 << 10
)

// prefetchDecoded reads, filters and decodes in one goroutine while fn (the
// printer, whose state must see packets in order) runs in the caller's: on two
// CPUs the line formatting no longer waits for reading and decoding. At most
// limit packets reach fn (0: all). Memory is bounded by three batches.
func prefetchDecoded(r *reader.Reader, flt *filter.Filter, limit int64, fn func(*reader.Packet, *decode.Record) error) error {
	free := make(chan *decodedBatch, 3)
	full := make(chan *decodedBatch, 3)
	done := make(chan struct{})
	for i := 0; i < cap(free); i++ {
		free <- &decodedBatch{
			pkts: make([]reader.Packet, 0, batchPackets),
			recs: make([]decode.Record, batchPackets),
			ends: make([]int, 0, batchPackets),
			data: make([]byte, 0, batchBytes),
		}
	}
	go func() {
		defer close(full)
		var matched int64
		for {
			var b *decodedBatch
			select {
			case b = <-free:
			case <-done:
				return
			}
			b.pkts, b.ends, b.data, b.err = b.pkts[:0], b.ends[:0], b.data[:0], nil
			for len(b.pkts) < batchPackets && len(b.data) < batchBytes {
				if limit > 0 && matched >= limit {
					b.err = io.EOF
					break
				}
				p, err := r.Next()
				if err != nil {
					b.err = err
					break
				}
				if !flt.Match(p) {
					continue
				}
				matched++
				// libpcap hands tcpdump at most the file's snapshot length of a
				// record that claims more; print what tcpdump prints.
				if snap := filter.Snapshot(p.LinkType, p.Snaplen); p.CapLen > snap {
					p.Data = p.Data[:snap]
				}
				i := len(b.pkts)
				b.data = append(b.data, p.Data...)
				b.ends = append(b.ends, len(b.data))
				b.pkts = append(b.pkts, *p)
				decode.Decode(p.LinkType, p.Data, p.WireLen, &b.recs[i])
			}
			start := 0
			for i := range b.pkts {
				b.pkts[i].Data = b.data[start:b.ends[i]:b.ends[i]]
				start = b.ends[i]
			}
			full <- b
			if b.err != nil {
				return
			}
		}
	}()
	defer func() {
		// Stop the reader goroutine and wait for it, so the caller may close r.
		close(done)
		for range full {
		}
	}()
	for b := range full {
		for i := range b.pkts {
			if err := fn(&b.pkts[i], &b.recs[i]); err != nil {
				return err
			}
		}
		if b.err != nil {
			if b.err == io.EOF {
				return nil
			}
			return b.err
		}
		free <- b
	}
	return nil
}

// describeInput says what tcpdump says on stderr before the packets: the first
// interface's link type and snapshot length.
func describeInput(r *reader.Reader) string {
	ifs := r.Interfaces()
	if len(ifs) == 0 {
		return "no interfaces yet"
	}
	return fmt.Sprintf("link-type %s, snapshot length %d", linkTypeName(ifs[0].LinkType), ifs[0].Snaplen)
}

func linkTypeName(lt uint16) string {
	switch lt {
	case 0:
		return "NULL (BSD loopback)"
	case 1:
		return "EN10MB (Ethernet)"
	case 101:
		return "RAW (Raw IP)"
	case 104:
		return "C_HDLC (Cisco HDLC)"
	case 108:
		return "LOOP (OpenBSD loopback)"
	case 113:
		return "LINUX_SLL (Linux cooked v1)"
	case 129:
		return "ARCNET_LINUX (Linux ARCNET)"
	case 228:
		return "IPV4 (Raw IPv4)"
	case 229:
		return "IPV6 (Raw IPv6)"
	case 276:
		return "LINUX_SLL2 (Linux cooked v2)"
	}
	return fmt.Sprintf("%d", lt)
}
