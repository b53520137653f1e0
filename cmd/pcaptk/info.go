package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/pcaptk/pcaptk/pkg/stats"
)

type infoOptions struct {
	inputs inputFlags
	Files  []string
	JSON   bool
}

func newCmdInfo(s *streams) *cobra.Command {
	o := &infoOptions{}
	c := &cobra.Command{
		Use:   "info FILE... [-r FILE]... [-V LIST] [--json]",
		Short: "Summarise captures: format, interfaces, counts, times, rates, SHA-256",
		Long: `Summarise each capture like capinfos -M: format, encapsulation(s) and
interfaces, packet count, TCP packets and connections, data size, capture
duration, first and last packet time, data and packet rates, average packet
size, snaplen, whether packets are in time order, and the SHA-256 of the file.

As in capinfos, "data size" counts each packet's original (wire) length, the
first and last times are the earliest and latest timestamps, rates are n/a when
the duration is zero, and times are printed in UTC. TCP packets are those whose
IP header carries TCP (through VLAN tags, Linux cooked, loopback and raw IP
links); a TCP connection is one pair of address:port endpoints, either
direction. --json prints one object per file and line.

A file that is damaged part way is summarised up to the damage, the error is
reported once, and the exit status is 1. So is a summary that cannot be written
to standard output.

Inputs are named as arguments, with -r (repeated), or in -V LIST (one a line);
a directory stands for every capture file under it, a quoted glob pattern for
its matches.`,
		Example: `  pcaptk info trace.pcap
  pcaptk info --json *.pcapng | jq .packets
  tcpdump -w - -c 100 | pcaptk info -
  pcaptk info --json caps/ | jq -r '[.file, .packets] | @tsv'`,
		RunE: func(c *cobra.Command, args []string) error {
			if !o.inputs.given(args) {
				return usageErrorf("info needs at least one FILE")
			}
			var err error
			if o.Files, err = o.inputs.resolve(args, s); err != nil {
				return err
			}
			return runInfo(o, s)
		},
	}
	c.Flags().BoolVar(&o.JSON, "json", false, "one JSON object per file and line")
	o.inputs.register(c.Flags())
	return c
}

func runInfo(o *infoOptions, s *streams) error {
	var failed error
	enc := json.NewEncoder(s.Out)
	for i, path := range o.Files {
		fi, err := stats.Summarise(path, s.In)
		if err != nil {
			// Each bad file is reported once, here, in its place among the
			// summaries; the command's error then only sets the exit status.
			fmt.Fprintf(s.ErrOut, "pcaptk: %v\n", err)
			if failed == nil {
				failed = &reportedError{err}
			}
		}
		if fi == nil { // not even a capture
			continue
		}
		if err != nil {
			fi.Error = err.Error()
		}
		var werr error
		if o.JSON {
			werr = enc.Encode(fi)
		} else {
			if i > 0 {
				_, werr = io.WriteString(s.Out, "\n")
			}
			if werr == nil {
				werr = fi.WriteText(s.Out)
			}
		}
		if werr != nil {
			// A summary that did not reach its reader is a failure, as for
			// any other output: stop rather than go on writing into nothing.
			return fmt.Errorf("standard output: %w", werr)
		}
	}
	return failed
}
