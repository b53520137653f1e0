package main

import (
	"errors"
	"os"
	"strings"

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
