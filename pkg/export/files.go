package export

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pcaptk/pcaptk/internal/outfile"
	"github.com/pcaptk/pcaptk/pkg/analysis"
	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/filter"
	"github.com/pcaptk/pcaptk/pkg/reader"
	"github.com/pcaptk/pcaptk/pkg/tcpdump"
)

// Files is an export of capture files, as `pcaptk export` runs it: every input
// as one chronological stream into one output (a file, or Stdout for "-"), or,
// with Dataset, one file per input (and partition) in the directory Output,
// Jobs inputs at a time.
type Files struct {
	Inputs []string  // capture files; "-" reads Stdin
	Stdin  io.Reader //
	Output string    // a file, "-" for Stdout, or the directory of a Dataset
	Stdout io.Writer
	// Dataset writes one file per input into the directory Output.
	Dataset   bool
	Jobs      int          // inputs exported at once in a Dataset; 0: 1
	Partition Partitioning // split a Dataset's rows into date=/hour= directories
	Format    string       // "json", "csv", "parquet" or "text"
	Filter    string       // tcpdump filter expression
	Columns   []Column     // nil: all
	Time      TSFormat     // ts in JSON and CSV
	Parquet   ParquetOptions
	// Guard refuses outputs that are inputs; outputs are written under temporary
	// names and renamed into place once complete (internal/outfile).
	Guard    *outfile.Guard
	Progress Progress     // nil: none
	Stop     *atomic.Bool // when set (a signal), the inputs end where they are
}

// Progress hears how far an export is: job has read packets packets and bytes
// bytes of its inputs.
type Progress interface {
	Update(job int, packets uint64, bytes int64)
}

type noProgress struct{}

func (noProgress) Update(int, uint64, int64) {}

// SetMemoryLimit sets a soft memory limit for a process reading n inputs at once
// (see reader.SharedOptions) and writing parquetFiles open Parquet files, unless
// GOMEMLIMIT is set; it returns the function that restores the previous one.
func SetMemoryLimit(n int, parquetFiles int, rowGroupSize int64) (restore func()) {
	return setMemoryLimit(n, parquetFiles, rowGroupSize, false, false)
}

// AnalysisMemory is what the TCP analysis of one export adds to its heap besides
// its Parquet pages: the analyzer's table and unacknowledged segments, the rows'
// analysis in the batches in flight and their joined copies for Parquet. Measured
// on the benchmark capture (17,026 connections), peak RSS went from 88 to 140 MB
// with the analysis columns in Parquet.
const AnalysisMemory = 40 << 20

// AnalysisMemoryPerRow is what the analysis columns add to MemoryPerRow: their
// compressed pages, about 13 bytes a row on the benchmark capture.
const AnalysisMemoryPerRow = 16

// setMemoryLimit is SetMemoryLimit; with partitioned, each Parquet "file" is a
// Partitioned with up to MaxOpenPartitions open encoders (PartitionedMemory);
// withAnalysis counts the TCP analysis of each export. A limit that leaves the
// live heap no room makes the collector run without pause: the analysis columns
// in Parquet took 1.7–1.9 s of CPU instead of 1.35 s under the limit without
// them.
func setMemoryLimit(n int, parquetFiles int, rowGroupSize int64, partitioned, withAnalysis bool) (restore func()) {
	if os.Getenv("GOMEMLIMIT") != "" || (parquetFiles == 0 && n < 2) {
		return func() {}
	}
	// Open row groups are the bulk of the heap, then large records of several
	// inputs; a soft limit a little above them keeps the garbage collector from
	// letting the heap double.
	var limit int64
	if parquetFiles > 0 {
		if rowGroupSize <= 0 {
			rowGroupSize = DefaultRowGroupSize
		}
		perFile := 48<<20 + min(rowGroupSize, 1<<32)*MemoryPerRow
		if partitioned {
			perFile = 48<<20 + PartitionedMemory(min(rowGroupSize, 1<<32))
		}
		if withAnalysis {
			perFile += AnalysisMemory + min(rowGroupSize, 1<<32)*AnalysisMemoryPerRow
		}
		limit = int64(parquetFiles) * perFile
	}
	if n > 1 {
		limit += reader.SoftMemoryLimit
	}
	old := debug.SetMemoryLimit(limit)
	return func() { debug.SetMemoryLimit(old) }
}

// Run exports the files.
func (f *Files) Run() error {
	if f.Progress == nil {
		f.Progress = noProgress{}
	}
	if f.Jobs <= 0 {
		f.Jobs = 1
	}
	parquets := 0
	if f.Format == "parquet" {
		parquets = 1
		if f.Dataset {
			parquets = min(f.Jobs, len(f.Inputs))
		}
	}
	defer setMemoryLimit(len(f.Inputs), parquets, f.Parquet.RowGroupSize, f.Dataset && f.Partition != PartitionNone, WantsAnalysis(f.Columns))()
	if f.Dataset {
		return f.dataset()
	}
	return f.stream()
}

// Inputs are a command's inputs open as one chronological stream: Source is
// the one reader, or Merged, the merge of them all.
type Inputs struct {
	Readers []*reader.Reader
	Source  reader.Source
	Merged  *reader.MergeReader // nil with one input
}

// OpenInputs opens every input (sharing one read budget when there are several)
// and merges them by time.
func OpenInputs(paths []string, stdin io.Reader) (*Inputs, error) {
	ropts := reader.DefaultOptions
	if len(paths) > 1 {
		ropts = reader.SharedOptions(len(paths))
	}
	in := &Inputs{}
	for _, p := range paths {
		r, err := OpenInput(p, stdin, ropts)
		if err != nil {
			in.Close()
			return nil, err
		}
		in.Readers = append(in.Readers, r)
	}
	switch len(in.Readers) {
	case 0:
		return nil, errors.New("no input")
	case 1:
		in.Source = in.Readers[0]
	default:
		in.Merged = reader.Merge(in.Readers, false)
		in.Source = in.Merged
	}
	return in, nil
}

// Offset is how many bytes of the inputs have been read.
func (in *Inputs) Offset() int64 {
	var n int64
	for _, r := range in.Readers {
		n += r.Offset()
	}
	return n
}

// Close closes every input.
func (in *Inputs) Close() {
	for _, r := range in.Readers {
		r.Close()
	}
}

// OpenInput opens one input of a command; "-" reads stdin (the process's
// standard input unless stdin is another reader, as in tests).
func OpenInput(path string, stdin io.Reader, o reader.Options) (*reader.Reader, error) {
	if path == "-" {
		if sf, ok := stdin.(*os.File); !ok || sf != os.Stdin {
			return reader.NewReaderWith(stdin, "-", o)
		}
	}
	return reader.OpenWith(path, o)
}

// stream reads every input as one chronological stream into one output.
func (f *Files) stream() error {
	flt, err := filter.Compile(f.Filter)
	if err != nil {
		return err
	}
	ins, err := OpenInputs(f.Inputs, f.Stdin)
	if err != nil {
		return err
	}
	defer ins.Close()
	var origin Origin
	if ins.Merged != nil {
		origin = ins.Merged
	}
	src := reader.Stoppable(ins.Source, f.Stop)
	offset := ins.Offset

	out, finish, err := f.create(f.Output)
	if err != nil {
		return err
	}
	if f.Format == "text" {
		err = writeText(src, out, flt, WantsAnalysis(f.Columns), func(n uint64) { f.Progress.Update(0, n, offset()) })
	} else {
		var enc Encoder
		if enc, err = f.encoder(out, f.Inputs); err == nil {
			_, err = Run(src, enc, RunOptions{
				Columns:  f.Columns,
				Match:    flt.Match,
				Progress: func(n uint64) { f.Progress.Update(0, n, offset()) },
				Origin:   origin,
			})
		}
	}
	if ferr := finish(err); err == nil {
		err = ferr
	}
	if err == nil && flt.Err() != nil {
		err = fmt.Errorf("%s: %w", strings.Join(f.Inputs, ", "), flt.Err())
	}
	return err
}

// writeText prints the TCP packets as read does; with the analysis, as read
// --analysis does.
func writeText(src Source, w io.Writer, flt *filter.Filter, withAnalysis bool, progress func(uint64)) error {
	enc := tcpdump.NewPrinter(w, tcpdump.Options{NoPortNames: true})
	var rec decode.Record
	var n uint64
	var an *analysis.Engine
	var c decode.Conn
	var res analysis.Result
	var note []byte
	if withAnalysis {
		an = analysis.NewEngine(analysis.EngineOptions{})
	}
	for {
		p, err := src.Next()
		if err != nil {
			ferr := enc.Flush()
			if err == io.EOF {
				return ferr
			}
			return err
		}
		if n++; n%BatchRows == 0 {
			progress(n)
		}
		note = note[:0]
		if an != nil {
			// The analysis sees every packet, matched or not.
			decode.Decode(p.LinkType, p.Data, p.WireLen, &rec)
			if an.Packet(p.Number, p.Timestamp, p.WireLen, &rec, &c, &res) {
				note = analysis.AppendInfo(note, &res)
			}
		}
		if !flt.Match(p) {
			continue
		}
		if an == nil {
			decode.Decode(p.LinkType, p.Data, p.WireLen, &rec)
		}
		if !Exportable(&rec) {
			continue
		}
		if err := enc.PrintNote(p, &rec, note); err != nil {
			return err
		}
	}
}

// encoder makes the table encoder of f.Format on w; inputs name the input
// column's values.
func (f *Files) encoder(w io.Writer, inputs []string) (Encoder, error) {
	switch f.Format {
	case "json":
		return NewJSON(w, LineOptions{Columns: f.Columns, Time: f.Time, Inputs: inputs}), nil
	case "csv":
		return NewCSV(w, LineOptions{Columns: f.Columns, Time: f.Time, Inputs: inputs}), nil
	case "parquet":
		o := f.Parquet
		o.Columns, o.Inputs = f.Columns, inputs
		return NewParquet(w, o)
	}
	return nil, fmt.Errorf("unknown format %q", f.Format)
}

// create opens path ("-": Stdout) behind a buffer (see CreateOutput).
func (f *Files) create(path string) (io.Writer, func(runErr error) error, error) {
	return CreateOutput(path, f.Stdout, f.Guard)
}

// CreateOutput opens path ("-" or "": stdout) behind a 1 MiB buffer for a
// command's output. A file is written under a temporary name (internal/outfile,
// refusing an input through guard); finish, given the run's result, flushes it
// and renames it into place when the run ended well or on bad input (the rows
// before it are complete, with a Parquet footer), and removes it when writing
// failed: an output is complete or absent. For stdout, finish only flushes.
func CreateOutput(path string, stdout io.Writer, guard *outfile.Guard) (w io.Writer, finish func(runErr error) error, err error) {
	if path == "-" || path == "" {
		bw := bufio.NewWriterSize(stdout, 1<<20)
		return bw, func(error) error { return bw.Flush() }, nil
	}
	out, err := outfile.Create(path, outfile.Options{Guard: guard})
	if err != nil {
		return nil, nil, err
	}
	bw := bufio.NewWriterSize(out, 1<<20)
	finish = func(runErr error) error {
		if runErr != nil && !IsInputError(runErr) {
			out.Abort()
			return nil // runErr says what went wrong
		}
		if err := bw.Flush(); err != nil {
			out.Abort()
			return fmt.Errorf("%s: %w", path, outfile.Cause(err))
		}
		return out.Commit()
	}
	return bw, finish, nil
}

// IsInputError reports whether err is about the input (after which the output
// holds every row before the bad record) rather than about writing.
func IsInputError(err error) bool {
	var pe *reader.PacketError
	return errors.As(err, &pe)
}

// dataset writes one file per input (or per input and partition) into the
// directory f.Output, f.Jobs inputs at a time.
func (f *Files) dataset() error {
	return EachInput(f.Output, f.Inputs, f.Jobs, f.Filter, f.Stdin, f.datasetFile)
}

// InputJob is one input of a dataset as EachInput hands it to its job.
type InputJob struct {
	Index  int            // the input's position
	Input  string         // its path ("-": standard input)
	Base   string         // its output path in the dataset's directory, without an extension
	Reader *reader.Reader // the input, open
	Filter *filter.Filter // the expression, compiled for this job alone (a Filter is not safe for concurrent use)
}

// EachInput runs job for each of inputs, jobs at a time, as a dataset's writers
// do: dir is created if missing, each input opened (their readers sharing one
// DefaultBudget; "-" reads stdin) with expr compiled for it, and closed after.
// A filter error the job did not report is reported with the input's name.
// Every input is tried; the errors are joined.
func EachInput(dir string, inputs []string, jobs int, expr string, stdin io.Reader, job func(*InputJob) error) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	names := OutputBases(inputs)
	ropts := reader.DefaultOptions
	ropts.Budget = reader.NewBudget(reader.DefaultBudget) // jobs at once, each with one reader
	run := func(i int) error {
		flt, err := filter.Compile(expr)
		if err != nil {
			return err
		}
		r, err := OpenInput(inputs[i], stdin, ropts)
		if err != nil {
			return err
		}
		defer r.Close()
		err = job(&InputJob{Index: i, Input: inputs[i], Base: filepath.Join(dir, names[i]), Reader: r, Filter: flt})
		if err == nil && flt.Err() != nil {
			err = fmt.Errorf("%s: %w", inputs[i], flt.Err())
		}
		return err
	}
	errs := make([]error, len(inputs))
	sem := make(chan struct{}, max(jobs, 1))
	var wg sync.WaitGroup
	for i := range inputs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = run(i)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// datasetFile exports one input to its base.<ext>, or to partitions under
// base's directory.
func (f *Files) datasetFile(j *InputJob) error {
	in, base, r, flt := j.Input, j.Base, j.Reader, j.Filter
	var err error
	ext := "." + f.Format
	var enc Encoder
	finish := func(error) error { return nil }
	if f.Partition == PartitionNone {
		var w io.Writer
		if w, finish, err = f.create(base + ext); err != nil {
			return err
		}
		if enc, err = f.encoder(w, []string{in}); err != nil {
			finish(err)
			return err
		}
	} else {
		root, name := filepath.Dir(base), filepath.Base(base)
		enc = NewPartitioned(f.Partition, func(sub string, part int) (Encoder, func() error, error) {
			d := filepath.Join(root, sub)
			if err := os.MkdirAll(d, 0o755); err != nil {
				return nil, nil, err
			}
			w, done, err := f.create(filepath.Join(d, fmt.Sprintf("part-%s-%d%s", name, part, ext)))
			if err != nil {
				return nil, nil, err
			}
			e, err := f.encoder(w, []string{in})
			if err != nil {
				done(err)
				return nil, nil, err
			}
			// The partition's encoder is closed first; a write error it met is
			// still in the buffer, which done then refuses to rename.
			return e, func() error { return done(nil) }, nil
		})
	}
	_, err = Run(reader.Stoppable(r, f.Stop), enc, RunOptions{
		Columns:  f.Columns,
		Match:    flt.Match,
		Progress: func(n uint64) { f.Progress.Update(j.Index, n, r.Offset()) },
	})
	if ferr := finish(err); err == nil {
		err = ferr
	}
	return err
}

// OutputBases names each input's output in a dataset: its file name without
// capture extensions, made unique with the input's position when two inputs
// share it.
func OutputBases(files []string) []string {
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
