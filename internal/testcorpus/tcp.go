package testcorpus

import (
	"os"
	"path/filepath"
	"testing"
)

// TCPDir returns the TCP analysis corpus directory (shared/corpus-tcp beside the
// repository, holding pcap/, expected/ and MANIFEST.tsv, or $PCAPTK_CORPUS_TCP),
// skipping the test when there is none.
func TCPDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("PCAPTK_CORPUS_TCP"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			c := filepath.Join(d, "..", "shared", "corpus-tcp")
			if st, err := os.Stat(filepath.Join(c, "pcap")); err == nil && st.IsDir() {
				return filepath.Clean(c)
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	t.Skip("TCP corpus not found: expected ../shared/corpus-tcp beside the repository, or set PCAPTK_CORPUS_TCP")
	return ""
}
