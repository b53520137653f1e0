package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pcaptk/pcaptk/internal/progress"
	"github.com/pcaptk/pcaptk/pkg/conns"
	"github.com/pcaptk/pcaptk/pkg/export"
)

type connsOptions struct {
	streams
	inputs     inputFlags
	Files      []string // the inputs, expanded
	Format     string
	Output     string
	Columns    string
	TimeFormat string
	Sort       string
	Top        int
	parquet    parquetFlags
	Color      string
	Jobs       int
	Partition  string
	Quiet      bool
	FilterFile string
	Expr       string

	// parsed
	table    *conns.Table
	order    *conns.Order
	tsFormat export.TSFormat
	part     export.Partitioning
}

func newCmdConns(s *streams) *cobra.Command {
	opts := &connsOptions{streams: *s}
	cmd := &cobra.Command{
		Use:   "conns -r FILE|DIR|'GLOB' [-r ...] [-V LIST] [--format table|csv|json|parquet] [-o PATH|-|DIR/] [EXPRESSION]",
		Short: "One row per TCP connection: how it opened and ended, bytes each way, RTT, retransmissions",
		Long: `Write one row per TCP connection: its ends, Zeek's conn_state and history, how
it closed, packets and bytes each way, handshake and RTT figures, and the packet
analysis counts (retransmissions, duplicate ACKs, zero windows, lost segments),
summed from the same per-packet analysis as export --analysis. stream numbers
are export's, so the two tables join on stream within a file (across files, on
community_id and first_ts).

Formats: table (the default) prints an aligned line per connection for a
person, in order of first packet, with packets and bytes each way in human
units, the RTT (the handshake's, else the median ack_rtt sample) and the
retransmitted packets each way, then the count of connections by state;
colour only on a terminal (--color).
csv, json and parquet write every column of the connection table (--columns
chooses) as export writes its rows (Parquet: typed columns, durations as int64
nanoseconds, zstd, row groups of 131,072 rows), one row as each connection
ends, so memory is bounded by the connections open at once. Several inputs (-r
repeated, a directory, a quoted glob pattern, -V LIST) are read as one
chronological stream, or, with -o DIR/, written to one file per input (--jobs at
once), optionally in date=/hour= partitions by first_ts (--partition).

--sort KEY orders the rows by a column or by bytes, pkts or retrans (both ways
together), ascending, or descending with a leading "-". --top N keeps the first
N in that order (by default the N with the most bytes). Sorting holds at most
` + "100,000" + ` rows; past that, pcaptk says so and writes the rest as they end.

The filter EXPRESSION uses tcpdump's syntax and selects connections: those with
a packet it matches. Every packet is analysed, matched or not, so stream numbers
and counts are those of the whole capture, as export --analysis has them (and
tshark -Y).

Columns: ` + strings.Join(mustConnsTable().Names(), ",") + `
docs/conns.md defines each column and its agreement with Zeek, tshark and
tcptrace.`,
		Example: `  pcaptk conns -r cap.pcap
  pcaptk conns -r cap.pcap --top 10 'port 443'
  pcaptk conns -r cap.pcap --sort -retrans --top 20
  pcaptk conns -r cap.pcap --format csv --columns stream,orig_ip,resp_ip,conn_state,duration -o conns.csv
  pcaptk conns -r cap.pcap --format json | jq -c 'select(.conn_state == "REJ")'
  pcaptk conns -r cap.pcap -o conns.parquet
  pcaptk conns --format parquet --partition hour -o conns/ -r day1.pcap -r day2.pcap
  pcaptk conns --format parquet -o conns/ -r 'caps/*.pcap'     # pcaptk expands the pattern`,
		Args: cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			var err error
			if opts.Expr, opts.Files, err = tableInputs("conns", opts.FilterFile, args, &opts.inputs, &opts.streams); err != nil {
				return err
			}
			if err := opts.validate(); err != nil {
				return err
			}
			return runConns(opts)
		},
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	opts.inputs.register(fs)
	fs.StringVarP(&opts.Format, "format", "f", "", "output format: table, csv, json or parquet (default: table, or the -o file's extension)")
	fs.StringVarP(&opts.Output, "output", "o", "-", "output file, - for standard output, or DIR/ for one file per input")
	fs.StringVar(&opts.Columns, "columns", "", "comma-separated columns of csv, json and parquet (default: all)")
	fs.StringVar(&opts.TimeFormat, "time-format", "rfc3339", "first_ts and last_ts in csv and json: rfc3339, epoch or epoch_ns")
	fs.StringVar(&opts.Sort, "sort", "", "order rows by `KEY`: a column, bytes, pkts or retrans; -KEY for descending")
	fs.IntVar(&opts.Top, "top", 0, "only the first `N` rows in --sort's order (default order: most bytes)")
	opts.parquet.register(fs, conns.DefaultRowGroupSize, "first_ts and last_ts")
	fs.StringVar(&opts.Color, "color", "auto", "colour the table: auto (on a terminal, unless NO_COLOR is set), always or never")
	fs.IntVarP(&opts.Jobs, "jobs", "j", runtime.NumCPU(), "inputs read at once with -o DIR/")
	fs.StringVar(&opts.Partition, "partition", "", "with -o DIR/: split rows by first_ts into date=YYYY-MM-DD[/hour=HH] directories: date or hour")
	fs.BoolVarP(&opts.Quiet, "quiet", "q", false, "no progress bar")
	fs.StringVarP(&opts.FilterFile, "filter-file", "F", "", "read the filter expression from this file")
	return cmd
}

func mustConnsTable() *conns.Table {
	t, err := conns.NewTable("")
	if err != nil {
		panic(err)
	}
	return t
}

func (o *connsOptions) validate() error {
	if len(o.Files) == 0 {
		return usageErrorf("conns: -r FILE is required (use -r - for standard input)")
	}
	stdin := 0
	for _, f := range o.Files {
		if f == "-" {
			stdin++
		}
	}
	if stdin > 1 {
		return usageErrorf("conns: standard input (-r -) can be read only once")
	}
	dir := dirOutput(o.Output)
	if o.Format == "" {
		o.Format = "table"
		switch ext := strings.ToLower(filepath.Ext(o.Output)); {
		case dir:
			return usageErrorf("conns: -o DIR/ needs --format csv, json or parquet")
		case ext == ".csv" || ext == ".json" || ext == ".parquet":
			o.Format = ext[1:]
		}
	}
	switch o.Format {
	case "table", "csv", "json", "parquet":
	default:
		return usageErrorf("conns: unknown format %q (want table, csv, json or parquet)", o.Format)
	}
	if err := o.parquet.validate("conns"); err != nil {
		return err
	}
	if o.Format == "parquet" && o.Output == "-" && o.OutIsTerminal {
		return usageErrorf("conns: Parquet is not for a terminal: give -o FILE")
	}
	var err error
	if o.table, err = conns.NewTable(o.Columns); err != nil {
		return usageErrorf("conns: --columns: %v", err)
	}
	if o.Columns != "" && o.Format == "table" {
		return usageErrorf("conns: --columns chooses the columns of csv, json and parquet, not of the table")
	}
	if o.tsFormat, err = export.ParseTSFormat(o.TimeFormat); err != nil {
		return usageErrorf("conns: --time-format: %v", err)
	}
	if o.Sort != "" {
		if o.order, err = conns.ParseOrder(o.Sort); err != nil {
			return usageErrorf("conns: --sort: %v", err)
		}
	}
	if o.Top < 0 {
		return usageErrorf("conns: --top must be positive")
	}
	if o.Top > conns.DefaultSortLimit {
		return usageErrorf("conns: --top keeps at most %d rows", conns.DefaultSortLimit)
	}
	switch o.Color {
	case "auto", "always", "never":
	default:
		return usageErrorf("conns: --color: want auto, always or never, not %q", o.Color)
	}
	if o.Jobs <= 0 {
		return usageErrorf("conns: --jobs must be positive")
	}
	if o.part, err = export.ParsePartitioning(o.Partition); err != nil {
		return usageErrorf("conns: --partition: %v", err)
	}
	if dir && o.Format == "table" {
		return usageErrorf("conns: -o DIR/ writes csv, json or parquet files, not a table")
	}
	if o.part != export.PartitionNone && !dir {
		return usageErrorf("conns: --partition needs -o DIR/")
	}
	return nil
}

// dirOutput: -o names a directory (ends in a slash or exists as one).
func dirOutput(out string) bool {
	if out == "-" || out == "" {
		return false
	}
	if strings.HasSuffix(out, "/") || strings.HasSuffix(out, string(filepath.Separator)) {
		return true
	}
	fi, err := os.Stat(out)
	return err == nil && fi.IsDir()
}

func (o *connsOptions) color() bool {
	switch o.Color {
	case "always":
		return true
	case "never":
		return false
	}
	_, noColor := os.LookupEnv("NO_COLOR")
	return o.OutIsTerminal && o.Output == "-" && !noColor
}

func runConns(o *connsOptions) error {
	if _, err := compileFilter(o.Expr); err != nil {
		return err
	}
	guard := inputGuard(o.Files, &o.streams)
	dir := dirOutput(o.Output)
	if !dir {
		if err := checkOutput(guard, o.Output, &o.streams); err != nil {
			return err
		}
	}
	job := &conns.Files{
		Inputs: o.Files, Stdin: o.In, Output: o.Output, Stdout: o.Out, Notes: o.ErrOut,
		Dataset: dir, Jobs: o.Jobs, Partition: o.part,
		Format: o.Format, Filter: o.Expr, Table: o.table, Time: o.tsFormat,
		Order: o.order, Top: o.Top, Color: o.color(),
		Parquet: o.parquet.options(),
		Guard:   guard,
	}
	// A bar on the terminal the rows are printed to would be drawn over them.
	if o.ErrIsTerminal && !o.Quiet && !(o.OutIsTerminal && o.Output == "-") {
		var total int64
		for _, f := range o.Files {
			if fi, err := os.Stat(f); err == nil && fi.Mode().IsRegular() {
				total += fi.Size()
			}
		}
		bar := progress.New(o.ErrOut, total, len(o.Files))
		defer bar.Finish()
		job.Progress = bar
	}
	stop := newOfflineStop(o.ErrOut)
	job.Stop = &stop.stopped
	return stop.finish(job.Run())
}
