package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pcaptk/pcaptk/pkg/reader"
	"github.com/pcaptk/pcaptk/pkg/writer"
)

type mergeOptions struct {
	inputs inputFlags
	Out    string
	Inputs []string
	Concat bool
	Format string
}

func newCmdMerge(s *streams) *cobra.Command {
	o := &mergeOptions{}
	c := &cobra.Command{
		Use:   "merge -w OUT IN... [-r IN]... [-V LIST]",
		Short: "Merge captures into one, in time order",
		Long: `Merge captures into one, like mergecap: packets in time order, equal times
in input order (-a: each input after the other). Memory stays bounded whatever
the number and size of the inputs.

The output format is --format's, else the output name's (.pcap or .pcapng),
else pcap when every input is pcap, else pcapng. pcapng gets one interface
block per input interface. A pcap file has one link type: inputs of several
link types are written as pcapng unless --format pcap asks otherwise, which is
then refused.

Bad inputs: every input is opened and its header checked before the output is
created, so a file that is not a capture fails the merge without writing
anything. An input that turns out damaged further on (cut short, corrupt
record) is reported at once on stderr with its name, packet number and byte
offset; the merge goes on with the other inputs, skipping the rest of the
damaged one. The output is a valid file holding every valid packet, and pcaptk
exits 1 to say something was skipped.

Inputs are named as arguments, with -r (repeated), or in -V LIST (one a line);
a directory stands for every capture file under it, a quoted glob pattern for
its matches (beyond the shell's argument limit).`,
		Example: `  pcaptk merge -w all.pcap eth0.pcap eth1.pcap
  pcaptk merge -a -w day.pcapng part-*.pcapng
  pcaptk merge -w - a.pcap b.pcap | pcaptk read -r -
  pcaptk merge -w all.pcapng 'caps/*.pcap'      # pcaptk expands the pattern
  pcaptk merge -w all.pcapng caps/              # every capture file under caps/`,
		RunE: func(c *cobra.Command, args []string) error {
			if o.Out == "" || !o.inputs.given(args) {
				return usageErrorf("merge needs -w OUT and at least one input")
			}
			var err error
			if o.Inputs, err = o.inputs.resolve(args, s); err != nil {
				return err
			}
			return runMerge(o, s)
		},
	}
	f := c.Flags()
	f.StringVarP(&o.Out, "write", "w", "", "output capture (`FILE`, - for standard output)")
	o.inputs.register(f)
	f.BoolVarP(&o.Concat, "append", "a", false, "concatenate the inputs in order instead of merging by time")
	f.StringVar(&o.Format, "format", "", "output `FORMAT`, pcap or pcapng (default: from the -w name, else pcap if every input is pcap)")
	return c
}

func runMerge(o *mergeOptions, s *streams) error {
	if os.Getenv("GOMEMLIMIT") == "" {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(reader.SoftMemoryLimit))
	}
	format, err := parseFormat(o.Format)
	if err != nil {
		return err
	}
	ropts := reader.SharedOptions(len(o.Inputs))
	rs := make([]*reader.Reader, 0, len(o.Inputs))
	defer func() {
		for _, r := range rs {
			r.Close()
		}
	}()
	guard := inputGuard(o.Inputs, s)
	if err := checkOutput(guard, o.Out, s); err != nil {
		return err
	}
	stdin := 0
	for _, in := range o.Inputs {
		if in == "-" {
			if stdin++; stdin > 1 {
				return usageErrorf("standard input (-) can be merged only once")
			}
		}
	}
	allPcap, nano := true, false
	for _, in := range o.Inputs {
		r, err := openInputWith(in, s, ropts)
		if err != nil {
			return err
		}
		rs = append(rs, r)
		allPcap = allPcap && r.Format() == reader.FormatPcap
		nano = nano || r.Nanosecond()
	}
	m := reader.Merge(rs, o.Concat)
	if format == 0 {
		format = reader.FormatPcapNG
		switch strings.ToLower(filepath.Ext(o.Out)) {
		case ".pcap":
			format = reader.FormatPcap // writer.Create falls back to pcapng for several link types
		case ".pcapng":
		default:
			if allPcap {
				format = reader.FormatPcap
			}
		}
	}
	out, err := writer.Create(o.Out, s.Out, writer.FileOptions{
		Format: format, Explicit: o.Format != "", Nano: nano, Interfaces: m.Interfaces, Guard: guard,
		AppName: "pcaptk " + version,
	})
	if err != nil {
		return err
	}
	stop := newOfflineStop(s.ErrOut)
	src := stop.source(m)
	var damaged []string
	for {
		p, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			// MergeReader counts that input as ended and goes on with the others.
			fmt.Fprintf(s.ErrOut, "pcaptk: %v (rest of this input skipped)\n", err)
			damaged = append(damaged, err.Error())
			continue
		}
		if err := out.WritePacket(p); err != nil {
			if !errors.Is(err, writer.ErrLinkType) {
				// A write error: the output's own message says which file and what it kept.
				return stop.finish(out.Close())
			}
			out.Close()
			return stop.finish(fmt.Errorf("%s: %w", o.Inputs[m.LastInput()], err))
		}
	}
	if err := out.Close(); err != nil {
		return stop.finish(err)
	}
	if len(damaged) > 0 {
		return stop.finish(fmt.Errorf("%d damaged input(s): merged every packet before the damage", len(damaged)))
	}
	return stop.finish(nil)
}
