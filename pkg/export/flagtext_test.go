package export

import (
	"bytes"
	"testing"

	"github.com/pcaptk/pcaptk/internal/testcorpus"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// TestFlagTextFused: the eight flag columns written from one precomputed text
// per flag byte give exactly what writing them one by one gives, in CSV and
// JSON, with the flags first (no separator before them), in the middle, last,
// and out of their usual order (not fused).
func TestFlagTextFused(t *testing.T) {
	flags := []Column{ColSYN, ColACKFlag, ColFIN, ColRST, ColPSH, ColURG, ColECE, ColCWR}
	for _, cols := range [][]Column{
		append(append([]Column{}, flags...), ColFrame),
		append(append([]Column{ColFrame, ColFlags}, flags...), ColSeq),
		append([]Column{ColFrame}, flags...),
		{ColFIN, ColSYN, ColACKFlag, ColRST, ColPSH, ColURG, ColECE, ColCWR},
	} {
		for _, json := range []bool{false, true} {
			encode := func(fuse bool) []byte {
				var out bytes.Buffer
				var enc Encoder
				if json {
					enc = NewJSON(&out, LineOptions{Columns: cols})
				} else {
					enc = NewCSV(&out, LineOptions{Columns: cols})
				}
				if !fuse {
					le := enc.(*lineEncoder)
					le.flagsAt = -1
					for _, h := range le.helpers {
						h.flagsAt = -1
					}
				}
				r, err := reader.Open(testcorpus.Pcap(t, "print-flags.pcap"))
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				if _, err := Run(r, enc, RunOptions{Columns: cols}); err != nil {
					t.Fatal(err)
				}
				return out.Bytes()
			}
			fused, plain := encode(true), encode(false)
			if !bytes.Equal(fused, plain) || len(plain) == 0 {
				t.Errorf("json=%v columns %v: fused flags differ:\n%s\nvs\n%s", json, cols, fused, plain)
			}
		}
	}
}
