package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInfoErrorOncePerFile: each bad file is one line on stderr, whatever the
// number of files and the output form, and the exit status is 1.
func TestInfoErrorOncePerFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(corpusPcapDir(t), "dns_tcp.pcap")
	notCap := filepath.Join(dir, "notcap")
	if err := os.WriteFile(notCap, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.pcap")
	st, err := os.Stat(good)
	if err != nil {
		t.Fatal(err)
	}
	truncateCopy(t, good, cut, st.Size()-10)
	missing := filepath.Join(dir, "missing.pcap")
	tests := []struct {
		args []string
		bad  []string // files that must each be named on exactly one line
	}{
		{[]string{notCap}, []string{notCap}},
		{[]string{cut}, []string{cut}},
		{[]string{missing}, []string{missing}},
		{[]string{"--json", cut}, []string{cut}},
		{[]string{"--json", notCap}, []string{notCap}},
		{[]string{notCap, cut, good}, []string{notCap, cut}},
		{[]string{"--json", good, missing, cut}, []string{missing, cut}},
	}
	for _, tc := range tests {
		code, _, stderr := pcaptkRun(t, nil, append([]string{"info"}, tc.args...)...)
		lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
		if code != 1 || len(lines) != len(tc.bad) {
			t.Errorf("info %v: exit %d, %d stderr lines, want 1 and %d:\n%s", tc.args, code, len(lines), len(tc.bad), stderr)
			continue
		}
		for i, f := range tc.bad {
			if !strings.HasPrefix(lines[i], "pcaptk: ") || !strings.Contains(lines[i], f) {
				t.Errorf("info %v: line %d %q does not name %s", tc.args, i+1, lines[i], f)
			}
		}
	}
	if code, _, stderr := pcaptkRun(t, nil, "info", good, good); code != 0 || stderr != "" {
		t.Errorf("good files: exit %d, stderr %q", code, stderr)
	}
}

// failWriter fails every write after the first n bytes.
type failWriter struct{ n int }

var errNoSpace = errors.New("no space left on device")

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) <= w.n {
		w.n -= len(p)
		return len(p), nil
	}
	k := w.n
	w.n = 0
	return k, errNoSpace
}

// TestInfoOutputWriteFails: a summary that cannot be written is a failure (exit 1,
// one line naming standard output), in text and JSON, at the first file or a
// later one; /dev/full gives the real ENOSPC.
func TestInfoOutputWriteFails(t *testing.T) {
	good := filepath.Join(corpusPcapDir(t), "dns_tcp.pcap")
	for _, tc := range []struct {
		args  []string
		after int // bytes written before the failure
	}{
		{[]string{good}, 0},
		{[]string{good, good}, 100},
		{[]string{good, good}, 1200}, // during the second summary
		{[]string{"--json", good}, 0},
		{[]string{"--json", good, good}, 600},
	} {
		var errOut bytes.Buffer
		code := run(append([]string{"info"}, tc.args...), &streams{In: strings.NewReader(""), Out: &failWriter{n: tc.after}, ErrOut: &errOut})
		lines := strings.Split(strings.TrimSuffix(errOut.String(), "\n"), "\n")
		if code != 1 || len(lines) != 1 || !strings.Contains(lines[0], "standard output") || !strings.Contains(lines[0], errNoSpace.Error()) {
			t.Errorf("info %v failing after %d bytes: exit %d, stderr %q", tc.args, tc.after, code, errOut.String())
		}
	}

	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	defer full.Close()
	for _, args := range [][]string{{good}, {"--json", good}} {
		var errOut bytes.Buffer
		code := run(append([]string{"info"}, args...), &streams{In: strings.NewReader(""), Out: full, ErrOut: &errOut})
		if code != 1 || strings.Count(errOut.String(), "\n") != 1 || !strings.Contains(errOut.String(), "no space left on device") {
			t.Errorf("info %v > /dev/full: exit %d, stderr %q", args, code, errOut.String())
		}
	}
}
