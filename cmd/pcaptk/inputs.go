package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/pcaptk/pcaptk/internal/outfile"
	"github.com/pcaptk/pcaptk/pkg/filter"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// inputGuard returns a guard that knows the command's inputs, standard input
// included when it is read (-r -) and is a file.
func inputGuard(inputs []string, s *streams) *outfile.Guard {
	g := &outfile.Guard{}
	for _, in := range inputs {
		if in == "-" {
			if f, ok := s.In.(*os.File); ok {
				g.AddFile("standard input", f)
			}
			continue
		}
		g.AddInput(in)
	}
	return g
}

// checkStdout refuses standard output as the output when it is a file that is
// also an input (pcaptk filter -r a.pcap -w - >> a.pcap would read its own
// output without end).
func checkStdout(g *outfile.Guard, s *streams) error {
	if f, ok := s.Out.(*os.File); ok {
		return g.CheckFile("standard output", f)
	}
	return nil
}

// inputFlags are the ways every command that reads captures is told its
// inputs, besides the positional names of merge and info.
type inputFlags struct {
	reads []string // -r: a file, "-", a directory or a glob pattern; repeatable
	lists []string // -V: files naming inputs one a line ("-": standard input)
}

func (f *inputFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVarP(&f.reads, "read", "r", nil, "read `FILE` (\"-\": standard input; a directory: every capture file under it; a quoted glob pattern: its matches); repeat for several")
	fs.StringArrayVarP(&f.lists, "input-list", "V", nil, "read the inputs named in `LIST`, one a line (\"-\": standard input), after the -r ones")
}

// given reports whether any input was named.
func (f *inputFlags) given(positional []string) bool {
	return len(f.reads) > 0 || len(f.lists) > 0 || len(positional) > 0
}

// resolve returns the capture files to read, in order: the -r names, the
// positional names, then those of each -V list, each expanded by
// reader.ExpandInputs (directories, glob patterns). Standard input can be read
// once, as a capture or as a list.
func (f *inputFlags) resolve(positional []string, s *streams) ([]string, error) {
	names := append(append([]string(nil), f.reads...), positional...)
	stdinUse := ""
	for _, l := range f.lists {
		var in []string
		var err error
		if l == "-" {
			if stdinUse != "" {
				return nil, usageErrorf("standard input can hold one input list (-V -), not two")
			}
			stdinUse = "-V -"
			in, err = reader.ReadInputList(s.In, "standard input")
		} else {
			var lf *os.File
			if lf, err = os.Open(l); err == nil {
				in, err = reader.ReadInputList(lf, l)
				lf.Close()
			}
		}
		if err != nil {
			return nil, fmt.Errorf("-V: %w", err)
		}
		if len(in) == 0 {
			return nil, fmt.Errorf("-V %s: no input named in it", l)
		}
		names = append(names, in...)
	}
	files, err := reader.ExpandInputs(names)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if f != "-" {
			continue
		}
		if stdinUse != "" {
			return nil, usageErrorf("standard input (-) can be read once: as a capture or as an input list (%s), not both", stdinUse)
		}
		stdinUse = "-"
	}
	return files, nil
}

// captureNameHint refuses an expression one of whose words names a capture
// file: the shell expanded -r caps/*.pcap into -r caps/a.pcap caps/b.pcap, and
// the names after the first became the "expression". A word counts when it ends
// as capture file names do (.pcap, .pcapng, .cap, .dmp, with or without .gz) or
// names an existing file that starts as a capture does. It runs before libpcap
// compiles anything: libpcap would look "b.pcap" up as a host name.
func captureNameHint(args []string) error {
	for _, a := range args {
		for _, w := range strings.Fields(a) {
			if reader.LooksLikeCaptureName(w) || isCaptureFile(w) {
				return usageErrorf("%q looks like a capture file: give each input with -r", w)
			}
		}
	}
	return nil
}

func isCaptureFile(path string) bool {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	ok, _ := reader.IsCapture(path)
	return ok
}

// filterExpression joins the trailing arguments into one expression, or reads
// it from -F FILE (tcpdump ignores the arguments then; pcaptk refuses both).
func filterExpression(file string, args []string) (string, error) {
	if err := captureNameHint(args); err != nil {
		return "", err
	}
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

// tableInputs is how export and conns take their inputs: the filter expression
// from args (or -F), and the input files of -r, which must be given.
func tableInputs(cmd, filterFile string, args []string, in *inputFlags, s *streams) (expr string, files []string, err error) {
	if expr, err = filterExpression(filterFile, args); err != nil {
		return "", nil, err
	}
	if !in.given(nil) {
		return "", nil, usageErrorf("%s: -r FILE is required (use -r - for standard input)", cmd)
	}
	files, err = in.resolve(nil, s)
	return expr, files, err
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

// checkOutput refuses an output path (or standard output, "-") that is an input.
func checkOutput(g *outfile.Guard, path string, s *streams) error {
	if path == "-" {
		return checkStdout(g, s)
	}
	return g.Check(path)
}

// parseFormat reads --format; "" means "decide from the input".
func parseFormat(s string) (reader.Format, error) {
	switch strings.ToLower(s) {
	case "":
		return 0, nil
	case "pcap":
		return reader.FormatPcap, nil
	case "pcapng":
		return reader.FormatPcapNG, nil
	}
	return 0, usageErrorf("--format %q: want pcap or pcapng", s)
}

// openInput opens a capture; "-" reads the command's standard input.
func openInput(path string, s *streams) (*reader.Reader, error) {
	return openInputWith(path, s, reader.DefaultOptions)
}

// openInputWith is openInput with reader options (a shared Budget when several
// inputs are open at once).
func openInputWith(path string, s *streams, o reader.Options) (*reader.Reader, error) {
	if path == "-" {
		if f, ok := s.In.(*os.File); !ok || f != os.Stdin {
			return reader.NewReaderWith(s.In, "-", o)
		}
	}
	return reader.OpenWith(path, o)
}

// checkStdinOnce refuses standard input named twice among the inputs.
func checkStdinOnce(inputs []string) error {
	n := 0
	for _, in := range inputs {
		if in == "-" {
			if n++; n > 1 {
				return usageErrorf("standard input (-) can be read only once")
			}
		}
	}
	return nil
}

// openInputs opens every input at once, sharing one memory budget (see
// reader.SharedOptions), for commands that read them together; on an error the
// ones already open are closed.
func openInputs(inputs []string, s *streams) ([]*reader.Reader, error) {
	ropts := reader.DefaultOptions
	if len(inputs) > 1 {
		ropts = reader.SharedOptions(len(inputs))
	}
	rs := make([]*reader.Reader, 0, len(inputs))
	for _, in := range inputs {
		r, err := openInputWith(in, s, ropts)
		if err != nil {
			closeAll(rs)
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, nil
}

func closeAll(rs []*reader.Reader) {
	for _, r := range rs {
		r.Close()
	}
}
