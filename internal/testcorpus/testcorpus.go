// Package testcorpus finds the reference corpora for tests: testdata/corpus
// (captures with tcpdump, tshark and capinfos references) and testdata/corpus-tcp
// (captures with tshark TCP analysis, tcptrace and Zeek references) of this
// repository, described in testdata/README.md. $PCAPTK_CORPUS and
// $PCAPTK_CORPUS_TCP name other directories laid out alike.
//
// The corpora are part of the repository, so a test that cannot find one, or a
// capture or reference in it, fails: a skip here would let a checkout without
// its references pass without testing anything.
package testcorpus

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// moduleRoot is the directory holding go.mod, found upwards from the working
// directory (go test runs each package's tests in its own directory).
var moduleRoot = sync.OnceValues(func() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find the repository: %w", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod in %s or above it", wd)
		}
	}
})

// locate returns the corpus directory named by the environment variable env,
// else the repository's testdata/sub, and fails the test when it has no pcap/.
func locate(t testing.TB, env, sub string) string {
	t.Helper()
	dir := os.Getenv(env)
	origin := "$" + env
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			t.Fatalf("reference corpus %s: %v", sub, err)
		}
		dir = filepath.Join(root, "testdata", sub)
		origin = "the repository"
	}
	st, err := os.Stat(filepath.Join(dir, "pcap"))
	if err != nil || !st.IsDir() {
		t.Fatalf("reference corpus missing: %s (from %s) has no pcap/ directory", dir, origin)
	}
	return dir
}

// Dir returns the general corpus directory (holding pcap/ and expected/).
func Dir(t testing.TB) string {
	t.Helper()
	return locate(t, "PCAPTK_CORPUS", "corpus")
}

// TCPDir returns the TCP analysis corpus directory (holding pcap/ and expected/).
func TCPDir(t testing.TB) string {
	t.Helper()
	return locate(t, "PCAPTK_CORPUS_TCP", "corpus-tcp")
}

// Pcap returns the path of one capture of the general corpus, failing the test
// when it is not there.
func Pcap(t testing.TB, name string) string {
	t.Helper()
	return mustExist(t, filepath.Join(Dir(t), "pcap", name))
}

// Expected returns the path of one reference file of the general corpus
// (expected/name), failing the test when it is not there.
func Expected(t testing.TB, name string) string {
	t.Helper()
	return mustExist(t, filepath.Join(Dir(t), "expected", name))
}

// Captures lists every capture of the general corpus; an empty corpus fails.
func Captures(t testing.TB) []string {
	t.Helper()
	dir := filepath.Join(Dir(t), "pcap")
	fs, err := filepath.Glob(filepath.Join(dir, "*.pcap*"))
	if err != nil || len(fs) == 0 {
		t.Fatalf("reference corpus: no captures in %s", dir)
	}
	return fs
}

func mustExist(t testing.TB, path string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			t.Fatalf("reference corpus: %s is missing", path)
		}
		t.Fatalf("reference corpus: %v", err)
	}
	return path
}
