package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pcaptk/pcaptk/pkg/capture"
	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/filter"
	"github.com/pcaptk/pcaptk/pkg/reader"
	"github.com/pcaptk/pcaptk/pkg/tcpdump"
	"github.com/pcaptk/pcaptk/pkg/writer"
)

type readOptions struct {
	streams
	inputs   inputFlags
	tf       tcpdumpFlags
	refused  []refusal
	expr     string
	args     []string // the words the expression came from
	analysis analysisMode
}

// readRefusals are tcpdump options that make no sense for files.
var readRefusals = []refusal{
	{short: "i", long: "interface", arg: true, why: "read takes capture files (-r); to capture on an interface use pcaptk capture -i"},
	{short: "C", long: "file-size", arg: true, why: "read does not cut its output into files: use pcaptk split (or pcaptk capture -C)"},
	{short: "G", long: "rotate-seconds", arg: true, why: "read does not cut its output into files: use pcaptk split --seconds (or pcaptk capture -G)"},
	{short: "W", long: "file-count", arg: true, why: "read does not cut its output into files: use pcaptk split (or pcaptk capture -W)"},
	{short: "z", long: "postrotate-command", arg: true, why: "read does not cut its output into files: use pcaptk split (or pcaptk capture -z)"},
}

func newCmdRead(s *streams) *cobra.Command {
	opts := &readOptions{streams: *s}
	cmd := &cobra.Command{
		Use:   "read -r FILE [flags] [EXPRESSION]",
		Short: "Print packets as tcpdump does",
		Long: `Print the packets of capture files as tcpdump -r prints them: one line a
packet with time, addresses and ports, TCP flags, sequence numbers, window,
options and length. The filter EXPRESSION uses tcpdump's syntax (pcap-filter(7))
and is compiled by libpcap for each packet's link type.

Every tcpdump option that means something for files is taken with tcpdump's
meaning, combined short flags as tcpdump parses them (-nnvvXS, -tttt, -c5);
docs/read.md lists them all. Several inputs (-r repeated, a directory, a quoted
glob pattern, -V LIST) are printed one after the other, each after its
"reading from file" line, as tcpdump -V does; -c counts each input's packets.

pcaptk never looks host names up in DNS. Without -n (or -nn), ports are
named from /etc/services, as tcpdump does.

--analysis adds Wireshark's TCP analysis to the lines of the packets it flags,
as its Info column words it, after "length N": [TCP Retransmission],
[TCP Dup ACK 12#3], [TCP ZeroWindow], ... The analysis sees every packet of an
input, also those the EXPRESSION does not print; each input is analysed on its
own, as tshark reads a file.`,
		Example: `  pcaptk read -nn -r cap.pcapng 'tcp[tcpflags] & tcp-syn != 0'
  pcaptk read -r cap.pcap -c 10 -tttt tcp port 80
  pcaptk read -nnvvXS -r cap.pcap -c5
  pcaptk read -nn -r 'caps/*.pcap' port 443        # pcaptk expands the pattern
  pcaptk read -d -r cap.pcap tcp port 80            # the compiled filter
  pcaptk read -nn --analysis -r cap.pcap | grep -F '[TCP'   # Wireshark's analysis
  pcaptk capture -i lo -w - | pcaptk read -nn -r -`,
		Args: cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := opts.check(c.Flags()); err != nil {
				return err
			}
			opts.args = args
			return runRead(opts)
		},
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	opts.inputs.register(fs)
	fs.StringVarP(&opts.tf.write, "write", "w", "", "write the packets that match to `FILE` (- for standard output) instead of printing them, as tcpdump -r IN -w OUT")
	addTcpdumpFlags(fs, &opts.tf, 0)
	opts.refused = addRefused(fs, readRefusals)
	addAnalysisFlag(fs, &opts.analysis, "not tcpdump's: add Wireshark's TCP analysis words ([TCP Retransmission], ...) after the length")
	return cmd
}

func (o *readOptions) check(fs *pflag.FlagSet) error {
	if err := checkRefused(fs, o.refused); err != nil {
		return err
	}
	if err := o.tf.check(fs, o.ErrOut); err != nil {
		return err
	}
	if o.tf.foreign {
		return usageErrorf("-f can not be used with -V or -r") // tcpdump's refusal
	}
	if o.tf.print && o.tf.write == "" {
		return usageErrorf("--print goes with -w (without -w read prints anyway)")
	}
	if o.analysis.on() && o.tf.write != "" {
		return usageErrorf("--analysis adds words to printed lines, not to -w's file (pcaptk filter --analysis writes the packets it flags)")
	}
	return nil
}

func runRead(o *readOptions) error {
	switch {
	case o.tf.version:
		return printVersion(o.Out)
	case o.tf.listIfaces: // tcpdump lists them whatever else is given
		return capture.ListInterfaces(o.Out)
	}
	inputs, err := o.inputs.resolve(nil, &o.streams)
	if err != nil {
		return err
	}
	if o.expr, err = filterExpression(o.tf.filterFile, o.args); err != nil {
		return err
	}
	if o.tf.dump > 0 {
		return runReadDump(o, inputs)
	}
	if len(inputs) == 0 {
		return usageErrorf("read: -r FILE is required (use -r - for standard input)")
	}
	flt, err := compileFilter(o.expr)
	if err != nil {
		return err
	}
	var account *capture.Account
	if o.tf.user != "" && os.Geteuid() == 0 { // as tcpdump, -Z means nothing when not root
		if account, err = capture.LookupAccount(o.tf.user); err != nil {
			return usageErrorf("read: %w", err)
		}
	}
	if o.tf.write != "" {
		return runReadWrite(o, inputs, flt, account)
	}
	return runReadPrint(o, inputs, flt, account)
}

// runReadPrint prints (or with --count counts) the packets of each input in
// turn, as tcpdump -V does (tcpdump.ReadFiles).
func runReadPrint(o *readOptions, inputs []string, flt *filter.Filter, account *capture.Account) error {
	rf := tcpdump.ReadFiles{
		Inputs: inputs, Open: func(in string) (*reader.Reader, error) { return openInput(in, &o.streams) },
		Out: o.Out, ErrOut: o.ErrOut, Options: o.tf.text.options(), Filter: flt,
		Count: int64(o.tf.count), CountOnly: o.tf.countOnly, Quiet: o.tf.text.q,
	}
	if o.analysis.on() {
		rf.Notes = infoNotes
	}
	if account != nil {
		rf.AfterOpen = func() error {
			if err := account.Become(); err != nil {
				return fmt.Errorf("read: %w", err)
			}
			return nil
		}
	}
	damaged, err := rf.Run()
	if err == nil && damaged != nil {
		return &reportedError{damaged}
	}
	return err
}

// runReadWrite is tcpdump -r IN -w OUT: the packets that match, written to
// OUT, the inputs one after the other (as tcpdump -V does); --print prints
// them too.
func runReadWrite(o *readOptions, inputs []string, flt *filter.Filter, account *capture.Account) error {
	guard := inputGuard(inputs, &o.streams)
	if err := checkOutput(guard, o.tf.write, &o.streams); err != nil {
		return err
	}
	if err := checkStdinOnce(inputs); err != nil {
		return err
	}
	rs, err := openInputs(inputs, &o.streams)
	if err != nil {
		return err
	}
	defer closeAll(rs)
	if !o.tf.text.q {
		for i, r := range rs {
			fmt.Fprint(o.ErrOut, tcpdump.Banner(inputs[i], r.Interfaces(), i == 0))
		}
	}
	if account != nil {
		if err := account.Become(); err != nil {
			return fmt.Errorf("read: %w", err)
		}
	}
	m := reader.Merge(rs, true)
	// tcpdump writes pcap files; pcapng when asked by name, or when the inputs'
	// link types cannot share a pcap file.
	format := reader.FormatPcap
	if strings.EqualFold(filepath.Ext(o.tf.write), ".pcapng") {
		format = reader.FormatPcapNG
	}
	out, err := writer.Create(o.tf.write, o.Out, writer.FileOptions{
		Format: format, Nano: o.tf.text.precision == "nano", Interfaces: m.Interfaces,
		Guard: guard, AppName: "pcaptk " + version, PacketBuffered: o.tf.text.packetBuffered,
	})
	if err != nil {
		return err
	}
	var pr *tcpdump.Printer
	var rec decode.Record
	if o.tf.print {
		pr = tcpdump.NewPrinter(o.Out, o.tf.text.options())
	}
	limit := uint64(o.tf.count)
	input, inInput := -1, uint64(0)
	var written uint64
	stop := newOfflineStop(o.ErrOut)
	err = writer.Copy(out, stop.source(m), func(p *reader.Packet) (bool, bool, error) {
		if m.LastInput() != input { // -c counts each input's packets
			input, inInput = m.LastInput(), 0
		}
		if limit > 0 && inInput >= limit || !flt.Match(p) {
			return false, false, nil
		}
		inInput++
		written++
		if pr != nil {
			decode.Decode(p.LinkType, p.Data, p.WireLen, &rec)
			if err := pr.Print(p, &rec); err != nil {
				return false, true, err
			}
		}
		return true, false, nil
	})
	if pr != nil {
		if ferr := pr.Flush(); err == nil {
			err = ferr
		}
	}
	if err == nil && flt.Err() != nil {
		err = flt.Err()
	}
	if err == nil && o.tf.countOnly {
		_, err = fmt.Fprintf(o.Out, "%d %s\n", written, map[bool]string{true: "packet", false: "packets"}[written == 1])
	}
	return stop.finish(err)
}

// runReadDump prints the filter compiled for the first input's link type and
// snapshot length, as tcpdump -d -r does; with no input, for -y's link type
// (Ethernet when there is none) as tcpdump -d does without -r and -i.
func runReadDump(o *readOptions, inputs []string) error {
	t := filter.Target{DLT: 1, Snaplen: uint32(o.tf.snaplen), NoOptimize: o.tf.noOptimize}
	if len(inputs) > 0 {
		r, err := openInput(inputs[0], &o.streams)
		if err != nil {
			return err
		}
		ifs := r.Interfaces()
		r.Close()
		if !o.tf.text.q {
			fmt.Fprint(o.ErrOut, tcpdump.Banner(inputs[0], ifs, true))
		}
		if len(ifs) == 0 {
			return fmt.Errorf("%s: no interface to compile the filter for", inputs[0])
		}
		t = filter.Target{LinkType: ifs[0].LinkType, DLT: -1, Snaplen: ifs[0].Snaplen, NoOptimize: o.tf.noOptimize}
	} else if o.tf.linkType != "" {
		t.DLT, _ = filter.DLTByName(o.tf.linkType)
	} else {
		fmt.Fprintln(o.ErrOut, "Warning: assuming Ethernet")
	}
	prog, err := filter.Program(o.expr, t)
	if err != nil {
		return &usageError{err}
	}
	_, err = o.Out.Write(filter.AppendDump(nil, prog, o.tf.dump))
	return err
}
