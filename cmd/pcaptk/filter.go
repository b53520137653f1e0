package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pcaptk/pcaptk/pkg/analysis"
	"github.com/pcaptk/pcaptk/pkg/filter"
	"github.com/pcaptk/pcaptk/pkg/reader"
	"github.com/pcaptk/pcaptk/pkg/writer"
)

type filterOptions struct {
	inputs   inputFlags
	Out      string
	Expr     string
	After    string
	Before   string
	Packets  string
	Snaplen  int
	Dedup    bool
	Window   int
	Format   string
	Analysis string
}

func newCmdFilter(s *streams) *cobra.Command {
	o := &filterOptions{}
	c := &cobra.Command{
		Use:   "filter -r IN [-r IN...] [-V LIST] -w OUT [EXPRESSION]",
		Short: "Write the packets of a capture that match a filter to a new capture",
		Long: `Write the packets of a capture that match a tcpdump filter expression
(pcap-filter(7)) to a new capture, like tcpdump -r IN -w OUT EXPRESSION, with
editcap's selections: a time window, packet-number ranges, truncation and
duplicate removal. Packets are copied byte for byte with their timestamps and
lengths. The output has the input's format unless --format says otherwise.
Several inputs (-r repeated, a directory, a quoted glob pattern, -V LIST) are
read as one stream in time order, as merge reads them; packet numbers
(--packets) count that stream.

A packet is kept when its number is in --packets, its time is in
[--after, --before), it matches EXPRESSION and (with --dedup) it is not a copy
of one of the kept packets just before it; -s then truncates it.

--analysis FLAG[,FLAG] keeps only the TCP packets that Wireshark's TCP analysis
flags with one of the FLAGs (as tshark -Y tcp.analysis.FLAG does): names as
export's columns (retransmission, dup_ack or tshark's duplicate_ack, ...), or
any for every flag. The analysis sees every packet of the input in order, also
those the other selections drop, so a packet's flags do not depend on them.`,
		Example: `  pcaptk filter -r big.pcap -w web.pcap 'tcp port 80 or tcp port 443'
  pcaptk filter -r in.pcapng -w - --after 2024-03-01T12:00:00Z --before 1709298000 | tcpdump -r -
  pcaptk filter -r in.pcap -w head.pcap --packets 1-1000 -s 96 --dedup
  pcaptk filter -r 'day/*.pcap' -w day-dns.pcap port 53
  pcaptk filter -r in.pcap -w retrans.pcap --analysis retransmission,fast_retransmission 'port 443'`,
		RunE: func(c *cobra.Command, args []string) error {
			if !o.inputs.given(nil) || o.Out == "" {
				return usageErrorf("filter needs -r IN and -w OUT")
			}
			var err error
			if o.Expr, err = filterExpression("", args); err != nil {
				return err
			}
			if c.Flags().Changed("dedup-window") {
				o.Dedup = true
			}
			return runFilter(o, s)
		},
	}
	f := c.Flags()
	o.inputs.register(f)
	f.StringVarP(&o.Out, "write", "w", "", "output capture (`FILE`, - for standard output)")
	f.StringVar(&o.After, "after", "", "keep packets at or after `TIME` (RFC 3339 or epoch seconds; no zone means UTC)")
	f.StringVar(&o.Before, "before", "", "keep packets before `TIME`")
	f.StringVar(&o.Packets, "packets", "", "keep packet numbers in `RANGES` (from 1), e.g. 1-100,200-")
	f.IntVarP(&o.Snaplen, "snaplen", "s", 0, "truncate packets to `N` bytes")
	f.BoolVar(&o.Dedup, "dedup", false, "drop a packet identical to one of the previous 4 kept (editcap -d)")
	f.IntVar(&o.Window, "dedup-window", 5, "duplicate window counting the packet itself (editcap -D `N`); implies --dedup")
	f.StringVar(&o.Format, "format", "", "output `FORMAT`, pcap or pcapng (default: the input's)")
	f.StringVar(&o.Analysis, "analysis", "", "keep TCP packets with one of these analysis `FLAGS` (retransmission,dup_ack,...; any: every flag)")
	return c
}

func runFilter(o *filterOptions, s *streams) error {
	sel := filter.All
	var err error
	if sel.Match, err = compileFilter(o.Expr); err != nil {
		return err
	}
	if o.Packets != "" {
		if sel.Ranges, err = filter.ParseRanges(o.Packets); err != nil {
			return &usageError{err}
		}
	}
	if o.After != "" {
		if sel.After, err = filter.ParseTime(o.After); err != nil {
			return usageErrorf("--after: %w", err)
		}
	}
	if o.Before != "" {
		if sel.Before, err = filter.ParseTime(o.Before); err != nil {
			return usageErrorf("--before: %w", err)
		}
	}
	if o.Snaplen < 0 {
		return usageErrorf("-s %d: snaplen must not be negative", o.Snaplen)
	}
	sel.Snaplen = o.Snaplen
	if o.Dedup {
		if sel.Dedup, err = filter.NewDedup(o.Window); err != nil {
			return &usageError{err}
		}
	}
	if o.Analysis != "" {
		want, err := analysis.ParseFlags(o.Analysis)
		if err != nil {
			return usageErrorf("--analysis: %w", err)
		}
		sel.Analysis = flaggedBy(want)
	}
	format, err := parseFormat(o.Format)
	if err != nil {
		return err
	}
	inputs, err := o.inputs.resolve(nil, s)
	if err != nil {
		return err
	}
	guard := inputGuard(inputs, s)
	if err := checkOutput(guard, o.Out, s); err != nil {
		return err
	}
	if err := checkStdinOnce(inputs); err != nil {
		return err
	}
	rs, err := openInputs(inputs, s)
	if err != nil {
		return err
	}
	defer closeAll(rs)
	var src writer.Source = rs[0]
	interfaces := rs[0].Interfaces
	if len(rs) > 1 {
		m := reader.Merge(rs, false)
		src, interfaces = m, m.Interfaces
	}
	// Like tcpdump, refuse an expression that cannot apply to the input's link types
	// before writing anything.
	for _, ifc := range interfaces() {
		sel.Match.MatchData(ifc.LinkType, ifc.Snaplen, nil, 0)
	}
	if err := sel.Match.Err(); err != nil {
		return fmt.Errorf("%s: %w", strings.Join(inputs, ", "), err)
	}
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
	out, err := writer.Create(o.Out, s.Out, writer.FileOptions{
		Format: format, Explicit: o.Format != "", Nano: nano, Interfaces: interfaces,
		Snaplen: uint32(o.Snaplen), Guard: guard, AppName: "pcaptk " + version,
	})
	if err != nil {
		return err
	}
	stop := newOfflineStop(s.ErrOut)
	err = writer.Copy(out, stop.source(src), func(p *reader.Packet) (bool, bool, error) {
		keep, done, err := sel.Keep(p)
		if err != nil {
			in := inputs[0]
			if m, ok := src.(*reader.MergeReader); ok {
				in = inputs[m.LastInput()]
			}
			err = fmt.Errorf("%s: %w", in, err)
		}
		return keep, done, err
	})
	return stop.finish(err)
}
