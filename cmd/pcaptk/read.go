package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

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
	Analysis   analysisMode
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
named from /etc/services, as tcpdump does.

--analysis adds Wireshark's TCP analysis to the lines of the packets it flags,
as its Info column words it, after "length N": [TCP Retransmission],
[TCP Dup ACK 12#3], [TCP ZeroWindow], ... The analysis sees every packet of the
capture, also those the EXPRESSION does not print.`,
		Example: `  pcaptk read -nn -r cap.pcapng 'tcp[tcpflags] & tcp-syn != 0'
  pcaptk read -r cap.pcap -c 10 -tttt tcp port 80
  pcaptk read -nn --analysis -r cap.pcap | grep -F '[TCP'
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
	addAnalysisFlag(fs, &opts.Analysis, "add Wireshark's TCP analysis words ([TCP Retransmission], ...) after the length")
	return cmd
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
	fmt.Fprintf(opts.ErrOut, "reading from file %s, %s\n", opts.File, tcpdump.DescribeInput(r.Interfaces()))

	enc := tcpdump.NewPrinter(opts.Out, opts.Text.options())
	if opts.Analysis.on() {
		err = tcpdump.PrintAllNotes(r, flt, opts.Count, enc, infoNotes())
	} else {
		err = tcpdump.PrintAll(r, flt, opts.Count, enc)
	}
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
