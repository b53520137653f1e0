package testcorpus

import (
	"os"
	"path/filepath"
	"testing"
)

// TCPDir returns the TCP analysis corpus (holding pcap/ and expected/): the
// folder shared/corpus-tcp beside the repository, or the directory named by
// $PCAPTK_CORPUS_TCP. It skips the test when there is none.
func TCPDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("PCAPTK_CORPUS_TCP"); d != "" {
		return d
	}
	if wd, err := os.Getwd(); err == nil {
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
	t.Skip("TCP analysis corpus not found: expected ../shared/corpus-tcp beside the repository, or set PCAPTK_CORPUS_TCP")
	return ""
}
