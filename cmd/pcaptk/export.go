package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/pcaptk/pcaptk/internal/outfile"
	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/export"
	"github.com/pcaptk/pcaptk/pkg/filter"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

type exportOptions struct {
	streams
	Files        []string
	Format       string
	Output       string
	Columns      string
	TimeFormat   string
	RowGroupSize int64
	Compression  string
	TSUnit       string
	Jobs         int
	Partition    string
	Quiet        bool
	FilterFile   string
	Expr         string

	// parsed
	cols     []export.Column
	tsFormat export.TSFormat
	part     export.Partitioning
}

func newCmdExport(s *streams) *cobra.Command {
	opts := &exportOptions{streams: *s}
	cmd := &cobra.Command{
		Use:   "export -r FILE [-r FILE ...] --format text|json|csv|parquet [-o PATH|-] [EXPRESSION]",
		Short: "Write TCP packets as JSON, CSV or Parquet rows",
		Long: `Write one row per TCP packet (with a complete TCP header) as JSON (one object
a line), CSV (header row, RFC 4180 quoting), Parquet (typed columns, zstd) or
tcpdump's text. Several -r inputs are read as one chronological stream, or, with
-o DIR/, written to one file per input in parallel (--jobs), optionally in
hive-style partitions (--partition date|hour) that DuckDB, Spark or Trino read
with one glob. The filter EXPRESSION uses tcpdump's syntax, as in read.

Columns: ` + strings.Join(export.ColumnNames(), ",") + `
Per-connection columns (stream, seq_rel, ack_rel, window_scaled) follow tshark's
tcp.stream, tcp.seq, tcp.ack and tcp.window_size.`,
		Example: `  pcaptk export -r cap.pcap --format parquet -o cap.parquet
  pcaptk export -r cap.pcap --format csv --columns ts,src_ip,dst_ip,flags,payload_len 'port 443'
  pcaptk export -r cap.pcap --format json | jq -c 'select(.syn and .ack_flag)'
  pcaptk export --format parquet --partition hour -o dataset/ -r day1.pcap -r day2.pcap`,
		Args: cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			expr, err := filterExpression(opts.FilterFile, args)
			if err != nil {
				return err
			}
			opts.Expr = expr
			if err := opts.validate(); err != nil {
				return err
			}
			return runExport(opts)
		},
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	fs.StringArrayVarP(&opts.Files, "read", "r", nil, "capture file to read (- for standard input); repeat for several")
	fs.StringVarP(&opts.Format, "format", "f", "", "output format: text, json, csv or parquet (required)")
	fs.StringVarP(&opts.Output, "output", "o", "-", "output file, - for standard output, or DIR/ for one file per input")
	fs.StringVar(&opts.Columns, "columns", "", "comma-separated columns to write (default: all)")
	fs.StringVar(&opts.TimeFormat, "time-format", "rfc3339", "ts in JSON and CSV: rfc3339, epoch or epoch_ns")
	fs.Int64Var(&opts.RowGroupSize, "row-group-size", export.DefaultRowGroupSize, "Parquet rows per row group")
	fs.StringVar(&opts.Compression, "compression", "zstd", "Parquet compression: zstd, snappy, gzip or none")
	fs.StringVar(&opts.TSUnit, "ts-unit", "ns", "Parquet ts unit: ns, or us for Spark 3")
	fs.IntVarP(&opts.Jobs, "jobs", "j", runtime.NumCPU(), "inputs exported at once with -o DIR/")
	fs.StringVar(&opts.Partition, "partition", "", "with -o DIR/: split rows into date=YYYY-MM-DD[/hour=HH] directories: date or hour")
	fs.BoolVarP(&opts.Quiet, "quiet", "q", false, "no progress bar")
	fs.StringVarP(&opts.FilterFile, "filter-file", "F", "", "read the filter expression from this file")
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
	if o.tsFormat, err = export.ParseTSFormat(o.TimeFormat); err != nil {
		return usageErrorf("export: --time-format: %v", err)
	}
	if _, err = export.ParseCompression(o.Compression); err != nil {
		return usageErrorf("export: --compression: %v", err)
	}
	if o.TSUnit != "ns" && o.TSUnit != "us" {
		return usageErrorf("export: --ts-unit: want ns or us, not %q", o.TSUnit)
	}
	// The footer keeps an entry per row group and column: tiny row groups would
	// let it grow with the input (one-row groups took 500 MB for 50,000 rows).
	if o.RowGroupSize < export.MinRowGroupSize {
		return usageErrorf("export: --row-group-size must be at least %d", export.MinRowGroupSize)
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
	flt, err := compileFilter(o.Expr)
	if err != nil {
		return err
	}
	var total int64
	for _, f := range o.Files {
		if fi, err := os.Stat(f); err == nil && fi.Mode().IsRegular() {
			total += fi.Size()
		}
	}
	var prog progress = noProgress{}
	if o.ErrIsTerminal && !o.Quiet {
		prog = newProgressBar(o.ErrOut, total, len(o.Files))
	}
	defer prog.finish()
	if os.Getenv("GOMEMLIMIT") == "" && (o.Format == "parquet" || len(o.Files) > 1) {
		// Open row groups are the bulk of the heap, then large records of several
		// inputs (their shared budget); a soft limit a little above them keeps the
		// garbage collector from letting the heap double.
		var limit int64
		if o.Format == "parquet" {
			jobs := 1
			if o.dirMode() {
				jobs = min(o.Jobs, len(o.Files))
			}
			limit = int64(jobs) * (48<<20 + min(o.RowGroupSize, 1<<32)*export.MemoryPerRow)
		}
		if len(o.Files) > 1 {
			limit += readMemoryLimit
		}
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(limit))
	}
	guard := inputGuard(o.Files, &o.streams)
	stop := newOfflineStop(o.ErrOut)
	if o.dirMode() {
		return stop.finish(exportDir(o, prog, guard, stop))
	}
	if err := checkOutput(guard, o.Output, &o.streams); err != nil {
		return stop.finish(err)
	}
	return stop.finish(exportStream(o, flt, prog, guard, stop))
}

// exportStream reads every input as one chronological stream into one output.
func exportStream(o *exportOptions, flt *filter.Filter, prog progress, guard *outfile.Guard, stop *offlineStop) error {
	rs := make([]*reader.Reader, 0, len(o.Files))
	defer func() {
		for _, r := range rs {
			r.Close()
		}
	}()
	ropts := reader.DefaultOptions
	if len(o.Files) > 1 {
		ropts = sharedReadOptions(len(o.Files))
	}
	for _, f := range o.Files {
		r, err := openInputWith(f, &o.streams, ropts)
		if err != nil {
			return err
		}
		rs = append(rs, r)
	}
	var src export.Source = rs[0]
	if len(rs) > 1 {
		src = reader.Merge(rs, false)
	}
	src = stop.source(src)
	offset := func() int64 {
		var n int64
		for _, r := range rs {
			n += r.Offset()
		}
		return n
	}

	out, closeOut, err := createOutput(o.Output, o.Out, guard)
	if err != nil {
		return err
	}
	if o.Format == "text" {
		err = exportText(src, out, flt, prog, offset)
	} else {
		var enc export.Encoder
		if enc, err = o.newEncoder(out); err == nil {
			_, err = export.Run(src, enc, export.RunOptions{
				Columns:  o.cols,
				Match:    flt.Match,
				Progress: func(n uint64) { prog.update(0, n, offset()) },
			})
		}
	}
	if cerr := closeOut(err); err == nil {
		err = cerr
	}
	if err == nil && flt.Err() != nil {
		err = fmt.Errorf("%s: %w", strings.Join(o.Files, ", "), flt.Err())
	}
	return err
}

// exportText prints the TCP packets as read does.
func exportText(src export.Source, w io.Writer, flt *filter.Filter, prog progress, offset func() int64) error {
	enc := export.NewText(w, export.TextOptions{NoPortNames: true})
	var rec decode.Record
	var n uint64
	for {
		p, err := src.Next()
		if err != nil {
			ferr := enc.Flush()
			if err == io.EOF {
				return ferr
			}
			return err
		}
		if n++; n%export.BatchRows == 0 {
			prog.update(0, n, offset())
		}
		if !flt.Match(p) {
			continue
		}
		decode.Decode(p.LinkType, p.Data, p.WireLen, &rec)
		if !export.Exportable(&rec) {
			continue
		}
		if err := enc.Encode(p, &rec); err != nil {
			return err
		}
	}
}

func (o *exportOptions) newEncoder(w io.Writer) (export.Encoder, error) {
	switch o.Format {
	case "json":
		return export.NewJSON(w, export.LineOptions{Columns: o.cols, Time: o.tsFormat}), nil
	case "csv":
		return export.NewCSV(w, export.LineOptions{Columns: o.cols, Time: o.tsFormat}), nil
	}
	return export.NewParquet(w, export.ParquetOptions{
		Columns:      o.cols,
		RowGroupSize: o.RowGroupSize,
		Compression:  o.Compression,
		TSMicro:      o.TSUnit == "us",
		CreatedBy:    "pcaptk version " + version,
	})
}

// createOutput opens path ("-": stdout) behind a buffer. A file is written under
// a temporary name; finish, given the run's result, flushes it and renames it
// into place when the run ended well or on bad input (the rows before it are
// complete, with a Parquet footer), and removes it when writing failed: an output
// is complete or absent.
func createOutput(path string, stdout io.Writer, guard *outfile.Guard) (io.Writer, func(runErr error) error, error) {
	if path == "-" || path == "" {
		bw := bufio.NewWriterSize(stdout, 1<<20)
		return bw, func(error) error { return bw.Flush() }, nil
	}
	f, err := outfile.Create(path, outfile.Options{Guard: guard})
	if err != nil {
		return nil, nil, err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	finish := func(runErr error) error {
		if runErr != nil && !isInputError(runErr) {
			f.Abort()
			return nil // runErr says what went wrong
		}
		if err := bw.Flush(); err != nil {
			f.Abort()
			return fmt.Errorf("%s: %w", path, outfile.Cause(err))
		}
		return f.Commit()
	}
	return bw, finish, nil
}

// isInputError reports whether err is about the input (after which the output
// holds every row before the bad record) rather than about writing.
func isInputError(err error) bool {
	var pe *reader.PacketError
	return errors.As(err, &pe)
}

// exportDir writes one file per input (or per input and partition) into the
// directory -o names, --jobs inputs at a time.
func exportDir(o *exportOptions, prog progress, guard *outfile.Guard, stop *offlineStop) error {
	dir := o.Output
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	names := outputBases(o.Files)
	ropts := reader.DefaultOptions
	ropts.Budget = reader.NewBudget(reader.DefaultBudget) // jobs at once, each with one reader
	errs := make([]error, len(o.Files))
	sem := make(chan struct{}, o.Jobs)
	var wg sync.WaitGroup
	for i, in := range o.Files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = o.exportOne(i, in, filepath.Join(dir, names[i]), prog, guard, stop, ropts)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// exportOne exports input in to base.<ext>, or to partitions under base's directory.
func (o *exportOptions) exportOne(job int, in, base string, prog progress, guard *outfile.Guard, stop *offlineStop, ropts reader.Options) error {
	// Each job compiles its own filter: a Filter is not safe for concurrent use.
	flt, err := compileFilter(o.Expr)
	if err != nil {
		return err
	}
	r, err := openInputWith(in, &o.streams, ropts)
	if err != nil {
		return err
	}
	defer r.Close()
	ext := "." + o.Format
	var enc export.Encoder
	closeOut := func(error) error { return nil }
	if o.part == export.PartitionNone {
		var w io.Writer
		if w, closeOut, err = createOutput(base+ext, nil, guard); err != nil {
			return err
		}
		if enc, err = o.newEncoder(w); err != nil {
			closeOut(err)
			return err
		}
	} else {
		root, name := filepath.Dir(base), filepath.Base(base)
		enc = export.NewPartitioned(o.part, func(sub string, part int) (export.Encoder, func() error, error) {
			d := filepath.Join(root, sub)
			if err := os.MkdirAll(d, 0o755); err != nil {
				return nil, nil, err
			}
			w, finish, err := createOutput(filepath.Join(d, fmt.Sprintf("part-%s-%d%s", name, part, ext)), nil, guard)
			if err != nil {
				return nil, nil, err
			}
			e, err := o.newEncoder(w)
			if err != nil {
				finish(err)
				return nil, nil, err
			}
			// The partition's encoder is closed first; a write error it met is
			// still in the buffer, which finish then refuses to rename.
			return e, func() error { return finish(nil) }, nil
		})
	}
	_, err = export.Run(stop.source(r), enc, export.RunOptions{
		Columns:  o.cols,
		Match:    flt.Match,
		Progress: func(n uint64) { prog.update(job, n, r.Offset()) },
	})
	if cerr := closeOut(err); err == nil {
		err = cerr
	}
	if err == nil && flt.Err() != nil {
		err = fmt.Errorf("%s: %w", in, flt.Err())
	}
	return err
}

// outputBases names each input's output: its file name without capture
// extensions, made unique with the input's position when two inputs share it.
func outputBases(files []string) []string {
	names := make([]string, len(files))
	seen := map[string]int{}
	for i, f := range files {
		n := filepath.Base(f)
		if f == "-" {
			n = "stdin"
		}
		for _, ext := range []string{".gz", ".pcapng", ".pcap", ".cap"} {
			n = strings.TrimSuffix(n, ext)
		}
		seen[n]++
		names[i] = n
	}
	for i, n := range names {
		if seen[n] > 1 {
			names[i] = fmt.Sprintf("%s-%d", n, i)
		}
	}
	return names
}

// progress reports how far a long export is; the command shows it on stderr only
// when stderr is a terminal.
type progress interface {
	// update says that job has read packets packets and bytes bytes of its input(s).
	update(job int, packets uint64, bytes int64)
	finish()
}

type noProgress struct{}

func (noProgress) update(int, uint64, int64) {}
func (noProgress) finish()                   {}

// progressBar redraws one stderr line at most every 200 ms: packets, MB/s, and
// percent and ETA when the input sizes are known.
type progressBar struct {
	w     io.Writer
	total int64
	start time.Time
	mu    sync.Mutex
	pkts  []uint64
	bytes []int64
	last  time.Time
	drawn bool
}

func newProgressBar(w io.Writer, total int64, jobs int) *progressBar {
	return &progressBar{w: w, total: total, start: time.Now(), pkts: make([]uint64, jobs), bytes: make([]int64, jobs)}
}

func (p *progressBar) update(job int, packets uint64, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pkts[job], p.bytes[job] = packets, bytes
	now := time.Now()
	if now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last = now
	p.draw(now)
}

func (p *progressBar) draw(now time.Time) {
	var n uint64
	var b int64
	for i := range p.pkts {
		n += p.pkts[i]
		b += p.bytes[i]
	}
	el := now.Sub(p.start).Seconds()
	line := fmt.Sprintf("\r%d packets  %.0f MB/s", n, float64(b)/1e6/max(el, 1e-3))
	if p.total > 0 && b > 0 {
		frac := min(float64(b)/float64(p.total), 1)
		eta := time.Duration(el*(1-frac)/frac) * time.Second
		line += fmt.Sprintf("  %3.0f%%  ETA %s", frac*100, eta.Round(time.Second))
	}
	fmt.Fprintf(p.w, "%-60s", line)
	p.drawn = true
}

func (p *progressBar) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		p.draw(time.Now())
		fmt.Fprintln(p.w)
	}
}
