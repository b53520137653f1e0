// Package packets loads every packet of the shared capture corpus into memory,
// for benchmarks, allocation tests and fuzz seeds. (It is apart from testcorpus
// so that pkg/reader's own tests can use testcorpus without an import cycle.)
package packets

import (
	"testing"

	"github.com/pcaptk/pcaptk/internal/testcorpus"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// Load returns a copy of every readable packet of every corpus capture, in
// file and capture order; a file's damaged tail is left out.
func Load(tb testing.TB) []reader.Packet {
	tb.Helper()
	var ps []reader.Packet
	for _, f := range testcorpus.Captures(tb) {
		r, err := reader.Open(f)
		if err != nil {
			continue
		}
		for {
			p, err := r.Next()
			if err != nil {
				break
			}
			ps = append(ps, p.Clone())
		}
		r.Close()
	}
	return ps
}
