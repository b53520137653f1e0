package tcpdump

import (
	"errors"
	"fmt"
	"io"

	"github.com/pcaptk/pcaptk/pkg/filter"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// ReadFiles is tcpdump -r with one or more files: each input printed (or with
// CountOnly counted) in turn, as tcpdump -V does, through one Printer, so that
// -#, -ttt and relative sequence numbers run on across inputs; Count limits
// each input's packets. An input damaged part way is reported on ErrOut and the
// next one read; one that cannot be opened stops, as it stops tcpdump.
type ReadFiles struct {
	Inputs    []string
	Open      func(name string) (*reader.Reader, error)
	Out       io.Writer
	ErrOut    io.Writer
	Options   Options
	Filter    *filter.Filter
	Count     int64 // packets of each input, 0: all
	CountOnly bool  // print "N packets" instead of the packets
	Quiet     bool  // no "reading from file" banner
	// AfterOpen runs once the first input is open (tcpdump -Z gives up root there).
	AfterOpen func() error
	// Notes, when set, gives each input the annotation of its printed lines
	// (PrintAllNotes): read --analysis analyses each file on its own, as tshark
	// reads a file.
	Notes func() Annotate
}

// Run reads the inputs. damaged is the first damage reported on ErrOut (the
// command then still exits 1); err stops the run.
func (rf *ReadFiles) Run() (damaged, err error) {
	pr := NewPrinter(rf.Out, rf.Options)
	var total uint64
	for i, in := range rf.Inputs {
		r, err := rf.Open(in)
		if err != nil {
			if ferr := pr.Flush(); ferr != nil {
				return damaged, ferr
			}
			return damaged, err
		}
		if !rf.Quiet {
			fmt.Fprint(rf.ErrOut, Banner(in, r.Interfaces(), i == 0))
		}
		if i == 0 && rf.AfterOpen != nil {
			if err := rf.AfterOpen(); err != nil {
				r.Close()
				return damaged, err
			}
		}
		if rf.CountOnly {
			var n uint64
			n, err = countMatches(r, rf.Filter, rf.Count)
			total += n
		} else if rf.Notes != nil {
			err = PrintAllNotes(r, rf.Filter, rf.Count, pr, rf.Notes())
		} else {
			err = PrintAll(r, rf.Filter, rf.Count, pr)
		}
		r.Close()
		if err == nil && rf.Filter.Err() != nil {
			err = fmt.Errorf("%s: %w", in, rf.Filter.Err())
		}
		if err == nil {
			continue
		}
		var pe *reader.PacketError
		if !errors.As(err, &pe) || i == len(rf.Inputs)-1 {
			if ferr := pr.Flush(); ferr != nil && damaged == nil {
				return damaged, ferr
			}
			return damaged, err
		}
		// Print what came before the damage first, then say where it is.
		if err := pr.Flush(); err != nil {
			return damaged, err
		}
		fmt.Fprintf(rf.ErrOut, "pcaptk: %v\n", err)
		if damaged == nil {
			damaged = err
		}
	}
	if err := pr.Flush(); err != nil {
		return damaged, err
	}
	if rf.CountOnly {
		if _, err := fmt.Fprintf(rf.Out, "%d %s\n", total, plural(total)); err != nil {
			return damaged, err
		}
	}
	return damaged, nil
}

func plural(n uint64) string {
	if n == 1 {
		return "packet"
	}
	return "packets"
}

// countMatches counts the packets of r that flt matches, at most limit (0: all).
func countMatches(r *reader.Reader, flt *filter.Filter, limit int64) (uint64, error) {
	var n uint64
	for limit <= 0 || int64(n) < limit {
		p, err := r.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if flt.Match(p) {
			n++
		}
	}
	return n, nil
}
