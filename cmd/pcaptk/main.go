// Command pcaptk reads, filters, merges, splits, captures and exports packet captures.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"

	"github.com/pcaptk/pcaptk/internal/outfile"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// Exit codes, in one place (listed in every command's help).
const (
	exitOK      = 0
	exitFailure = 1 // bad input, I/O error, capture error
	exitUsage   = 2 // bad flags or filter expression
)

const exitCodesHelp = `
Exit status:
  0  success
  1  bad input (not a capture, cut mid-record, ...), I/O or capture error
  2  usage error (bad flag, bad filter expression, an output that is an input)
  129, 130, 143  stopped by SIGHUP, SIGINT or SIGTERM after completing the outputs`

// usageError marks errors that are the user's command line's fault (exit 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// reportedError is a failure the command has already printed (info reports
// each bad file as it goes): it sets the exit status without a second line.
type reportedError struct{ err error }

func (e *reportedError) Error() string { return e.err.Error() }
func (e *reportedError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// isUsage reports whether a package marked err as the command line's fault.
func isUsage(err error) bool {
	var u interface{ UsageError() bool }
	return errors.As(err, &u) && u.UsageError()
}

// streams are the standard streams a command runs against; tests substitute buffers.
type streams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// ErrIsTerminal reports whether ErrOut is a terminal (progress bars only then).
	ErrIsTerminal bool
}

func newRootCmd(s *streams) *cobra.Command {
	root := &cobra.Command{
		Use:           "pcaptk",
		Short:         "Read, filter, merge, split, capture and export packet captures",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.ErrOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &usageError{err} })
	for _, mk := range []func(*streams) *cobra.Command{
		newCmdRead, newCmdExport, newCmdFilter, newCmdMerge, newCmdSplit, newCmdInfo, newCmdCapture,
	} {
		c := mk(s)
		c.SilenceUsage = true
		c.SilenceErrors = true
		c.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &usageError{err} })
		if c.Long == "" {
			c.Long = c.Short
		}
		c.Long += "\n" + exitCodesHelp
		root.AddCommand(c)
	}
	return root
}

// run executes pcaptk with args and returns the exit code.
func run(args []string, s *streams) int {
	root := newRootCmd(s)
	args, err := expandArgs(root, args)
	if err != nil {
		return exitCode(err, s.ErrOut)
	}
	root.SetArgs(args)
	return exitCode(root.Execute(), s.ErrOut)
}

func exitCode(err error, errOut io.Writer) int {
	if err == nil {
		return exitOK
	}
	var ue *usageError
	var ie *outfile.InputError
	var se *interruptedError
	var re *reportedError
	switch {
	case errors.As(err, &re):
		return exitFailure
	case errors.As(err, &se):
		fmt.Fprintf(errOut, "pcaptk: %v\n", err)
		return signalExit(se.sig)
	case errors.As(err, &ue), errors.As(err, &ie), isUsage(err):
		fmt.Fprintf(errOut, "pcaptk: %v\n", err)
		return exitUsage
	case isCobraUsage(err):
		fmt.Fprintf(errOut, "pcaptk: %v\n", err)
		return exitUsage
	default:
		fmt.Fprintf(errOut, "pcaptk: %v\n", err)
		return exitFailure
	}
}

func main() {
	s := &streams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, ErrIsTerminal: isTerminal(os.Stderr)}
	stop := startProfile(os.Getenv("PCAPTK_CPUPROFILE"), s.ErrOut)
	code := run(os.Args[1:], s)
	stop()
	os.Exit(code)
}

// startProfile writes a CPU profile of the run to path, when set: for
// scripts/pgo.sh, which builds cmd/pcaptk/default.pgo from such profiles, and
// for anyone measuring where the time goes.
func startProfile(path string, errOut io.Writer) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(errOut, "pcaptk: PCAPTK_CPUPROFILE: %v\n", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
