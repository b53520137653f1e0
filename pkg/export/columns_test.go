package export

import (
	"testing"

	"github.com/pcaptk/pcaptk/internal/testcorpus"
	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/reader"
	"github.com/pcaptk/pcaptk/pkg/tcpdump"
)

// TestTSOnlyFastPath: the options text Add writes for NOP NOP TS headers equals
// AppendTCPOptions', for every corpus packet and for each of them cut short at
// every length (the fast path must step aside for truncated options).
func TestTSOnlyFastPath(t *testing.T) {
	fast := 0
	for _, path := range testcorpus.Captures(t) {
		r, err := reader.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var rec decode.Record
		for {
			p, err := r.Next()
			if err != nil {
				break
			}
			for cut := len(p.Data); cut >= 0 && cut >= len(p.Data)-60; cut-- {
				data := p.Data[:cut]
				decode.Decode(p.LinkType, data, p.WireLen, &rec)
				if !rec.HasTCP || rec.DataOff <= 20 {
					continue
				}
				var b Batch
				if !b.addTSOnly(&rec, data) {
					continue
				}
				fast++
				if want := tcpdump.AppendTCPOptions(nil, &rec, data); string(b.Text) != string(want) {
					t.Fatalf("%s packet %d cut to %d bytes: %q, want %q", path, p.Number, cut, b.Text, want)
				}
			}
		}
		r.Close()
	}
	if fast == 0 {
		t.Fatal("no corpus packet took the fast path")
	}
}
