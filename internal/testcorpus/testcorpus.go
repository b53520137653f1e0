// Package testcorpus finds the shared capture corpus for tests: the folder
// shared/corpus beside the repository (as laid out for developers and CI), or
// the directory named by $PCAPTK_CORPUS.
package testcorpus

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the corpus directory (holding pcap/ and expected/), skipping the
// test when there is none.
func Dir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("PCAPTK_CORPUS"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			c := filepath.Join(d, "..", "shared", "corpus")
			if st, err := os.Stat(filepath.Join(c, "pcap")); err == nil && st.IsDir() {
				return filepath.Clean(c)
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	t.Skip("capture corpus not found: expected ../shared/corpus beside the repository, or set PCAPTK_CORPUS")
	return ""
}

// Pcap returns the path of one corpus capture.
func Pcap(t testing.TB, name string) string { return filepath.Join(Dir(t), "pcap", name) }

// Captures lists every corpus capture file.
func Captures(t testing.TB) []string {
	t.Helper()
	fs, _ := filepath.Glob(filepath.Join(Dir(t), "pcap", "*.pcap*"))
	if len(fs) == 0 {
		t.Skip("capture corpus is empty")
	}
	return fs
}
