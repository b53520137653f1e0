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
	"github.com/pcaptk/pcaptk/pkg/export"
	"github.com/pcaptk/pcaptk/pkg/filter"
	"github.com/pcaptk/pcaptk/pkg/reader"
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

func (f *textFlags) options() export.TextOptions {
	o := export.TextOptions{
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
		o.TimeFormat = export.TimeDefault
	case f.t >= 5:
		o.TimeFormat = export.TimeSinceFirst
	default:
		o.TimeFormat = [...]int{0, export.TimeNone, export.TimeEpoch, export.TimeDelta, export.TimeDate}[f.t]
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

	enc := export.NewText(opts.Out, opts.Text.options())
	var rec decode.Record
	var printed int64
	for opts.Count <= 0 || printed < opts.Count {
		p, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			enc.Flush()
			return err
		}
		if !flt.Match(p) {
			continue
		}
		// libpcap hands tcpdump at most the file's snapshot length of a record
		// that claims more; print what tcpdump prints.
		if p.Snaplen > 0 && p.CapLen > p.Snaplen {
			p.Data = p.Data[:p.Snaplen]
		}
		decode.Decode(p.LinkType, p.Data, p.WireLen, &rec)
		if err := enc.Encode(p, &rec); err != nil {
			return err
		}
		printed++
	}
	if err := enc.Flush(); err != nil {
		return err
	}
	if err := flt.Err(); err != nil {
		return fmt.Errorf("%s: %w", opts.File, err)
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
