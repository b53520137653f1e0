package export

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/pcaptk/pcaptk/internal/testcorpus"
)

// -update rewrites the golden files. Other tests of this package may register the
// same flag; it is registered here only if nobody did (package variables are set
// before init functions run).
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files in testdata/")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// TestGolden: the JSON and CSV of two small captures (an AccECN handshake, and a
// connection with SACK blocks and a FIN/RST close) are exactly testdata/golden/*.
func TestGolden(t *testing.T) {
	for _, name := range []string{"accecn_handshake.pcap", "pcpp-one_tcp_stream.pcap"} {
		for _, format := range []string{"csv", "json"} {
			got, _, err := exportBytes(t, testcorpus.Pcap(t, name), format, nil)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "golden", name+"."+format)
			if updating() {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s; run go test ./pkg/export -run Golden -update and review the diff", format, golden)
			}
		}
	}
}
