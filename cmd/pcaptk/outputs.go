package main

import (
	"os"

	"github.com/pcaptk/pcaptk/internal/outfile"
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
