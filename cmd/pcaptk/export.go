package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pcaptk/pcaptk/internal/progress"
	"github.com/pcaptk/pcaptk/pkg/export"
)

type exportOptions struct {
	streams
	inputs     inputFlags
	Files      []string // the inputs, expanded
	Format     string
	Output     string
	Columns    string
	TimeFormat string
	parquet    parquetFlags
	Jobs       int
	Partition  string
	Quiet      bool
	FilterFile string
	Expr       string
	Analysis   analysisMode

	// parsed
	cols     []export.Column
	tsFormat export.TSFormat
	part     export.Partitioning
}

func newCmdExport(s *streams) *cobra.Command {
	opts := &exportOptions{streams: *s}
	cmd := &cobra.Command{
		Use:   "export -r FILE|DIR|'GLOB' [-r ...] [-V LIST] --format text|json|csv|parquet [-o PATH|-] [EXPRESSION]",
		Short: "Write TCP packets as JSON, CSV or Parquet rows",
		Long: `Write one row per TCP packet (with a complete TCP header) as JSON (one object
a line), CSV (header row, RFC 4180 quoting), Parquet (typed columns, zstd) or
tcpdump's text. Several inputs (-r repeated, a directory, a quoted glob pattern,
-V LIST) are read as one chronological stream, frame numbers counted in each
input and an input column naming it, or, with -o DIR/, written to one file per
input in parallel (--jobs), optionally in hive-style partitions (--partition
date|hour) that DuckDB, Spark or Trino read with one glob. The filter
EXPRESSION uses tcpdump's syntax, as in read.

Columns: ` + strings.Join(export.ColumnNames(), ",") + `
and input, the name of the input a row comes from: it comes first when several
inputs go to one output (frame and iface then count within each input).
Per-connection columns (stream, seq_rel, ack_rel, window_scaled) follow tshark's
tcp.stream, tcp.seq, tcp.ack and tcp.window_size.

--analysis adds Wireshark's TCP analysis (tshark's tcp.analysis.* and tcp.time_*
fields), as the columns ` + strings.Join(export.AnalysisColumnNames(), ",") + `
(naming one in --columns turns it on too; durations in seconds in JSON and CSV).
The analysis sees every packet, also those the EXPRESSION drops, and then
numbers streams over the whole capture, as tshark -Y does.`,
		Example: `  pcaptk export -r cap.pcap --format parquet -o cap.parquet
  pcaptk export -r cap.pcap --format csv --columns ts,src_ip,dst_ip,flags,payload_len 'port 443'
  pcaptk export -r cap.pcap --format json | jq -c 'select(.syn and .ack_flag)'
  pcaptk export -r cap.pcap --format csv --columns frame,stream,ts,analysis,ack_rtt,bytes_in_flight
  pcaptk export --format parquet --partition hour -o dataset/ -r day1.pcap -r day2.pcap
  pcaptk export --format parquet -o all.parquet -r 'caps/*.pcap'     # pcaptk expands the pattern`,
		Args: cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			var err error
			if opts.Expr, opts.Files, err = tableInputs("export", opts.FilterFile, args, &opts.inputs, &opts.streams); err != nil {
				return err
			}
			if err := opts.validate(); err != nil {
				return err
			}
			return runExport(opts)
		},
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	opts.inputs.register(fs)
	fs.StringVarP(&opts.Format, "format", "f", "", "output format: text, json, csv or parquet (required)")
	fs.StringVarP(&opts.Output, "output", "o", "-", "output file, - for standard output, or DIR/ for one file per input")
	fs.StringVar(&opts.Columns, "columns", "", "comma-separated columns to write (default: all)")
	fs.StringVar(&opts.TimeFormat, "time-format", "rfc3339", "ts in JSON and CSV: rfc3339, epoch or epoch_ns")
	opts.parquet.register(fs, export.DefaultRowGroupSize, "ts")
	fs.IntVarP(&opts.Jobs, "jobs", "j", runtime.NumCPU(), "inputs exported at once with -o DIR/")
	fs.StringVar(&opts.Partition, "partition", "", "with -o DIR/: split rows into date=YYYY-MM-DD[/hour=HH] directories: date or hour")
	fs.BoolVarP(&opts.Quiet, "quiet", "q", false, "no progress bar")
	fs.StringVarP(&opts.FilterFile, "filter-file", "F", "", "read the filter expression from this file")
	addAnalysisFlag(fs, &opts.Analysis, "add the TCP analysis columns (Wireshark's tcp.analysis.*, tcp.time_*)")
	return cmd
}

func (o *exportOptions) validate() error {
	if len(o.Files) == 0 {
		return usageErrorf("export: -r FILE is required (use -r - for standard input)")
	}
	stdin := 0
	for _, f := range o.Files {
		if f == "-" {
			stdin++
		}
	}
	if stdin > 1 {
		return usageErrorf("export: standard input (-r -) can be read only once")
	}
	switch o.Format {
	case "text", "json", "csv", "parquet":
	case "":
		return usageErrorf("export: --format is required (text, json, csv or parquet)")
	default:
		return usageErrorf("export: unknown format %q (want text, json, csv or parquet)", o.Format)
	}
	var err error
	if o.cols, err = export.ParseColumns(o.Columns); err != nil {
		return usageErrorf("export: --columns: %v", err)
	}
	if o.Columns == "" && len(o.Files) > 1 && !o.dirMode() {
		// Rows of several inputs in one output say which input they are from.
		o.cols = append([]export.Column{export.ColInput}, o.cols...)
	}
	if o.Analysis.on() {
		o.cols = export.WithAnalysis(o.cols)
	}
	if o.tsFormat, err = export.ParseTSFormat(o.TimeFormat); err != nil {
		return usageErrorf("export: --time-format: %v", err)
	}
	if err = o.parquet.validate("export"); err != nil {
		return err
	}
	if o.Jobs <= 0 {
		return usageErrorf("export: --jobs must be positive")
	}
	if o.part, err = export.ParsePartitioning(o.Partition); err != nil {
		return usageErrorf("export: --partition: %v", err)
	}
	if o.dirMode() && o.Format == "text" {
		return usageErrorf("export: -o DIR/ writes json, csv or parquet files, not text")
	}
	if o.part != export.PartitionNone && !o.dirMode() {
		return usageErrorf("export: --partition needs -o DIR/")
	}
	return nil
}

// dirMode: -o names a directory (ends in a slash or exists as one).
func (o *exportOptions) dirMode() bool {
	if o.Output == "-" || o.Output == "" {
		return false
	}
	if strings.HasSuffix(o.Output, "/") || strings.HasSuffix(o.Output, string(filepath.Separator)) {
		return true
	}
	fi, err := os.Stat(o.Output)
	return err == nil && fi.IsDir()
}

func runExport(o *exportOptions) error {
	if _, err := compileFilter(o.Expr); err != nil {
		return err
	}
	guard := inputGuard(o.Files, &o.streams)
	if !o.dirMode() {
		if err := checkOutput(guard, o.Output, &o.streams); err != nil {
			return err
		}
	}
	job := &export.Files{
		Inputs: o.Files, Stdin: o.In, Output: o.Output, Stdout: o.Out,
		Dataset: o.dirMode(), Jobs: o.Jobs, Partition: o.part,
		Format: o.Format, Filter: o.Expr, Columns: o.cols, Time: o.tsFormat,
		Parquet: o.parquet.options(),
		Guard:   guard,
	}
	if o.ErrIsTerminal && !o.Quiet {
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
