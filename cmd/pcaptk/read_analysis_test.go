package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pcaptk/pcaptk/internal/testcorpus"
)

// infoWord is one of the words Wireshark 4.0's TCP analysis puts in the Info
// column (other bracketed text there, "[TCP segment of a reassembled PDU]",
// is not the analysis).
var infoWord = regexp.MustCompile(`\[TCP (?:Retransmission|Fast Retransmission|Spurious Retransmission|Out-Of-Order|` +
	`Previous segment not captured|ACKed unseen segment|Dup ACK [0-9]+#[0-9]+|ZeroWindow|ZeroWindowProbe|ZeroWindowProbeAck|` +
	`Window Full|Window Update|Keep-Alive|Keep-Alive ACK|Port numbers reused)\]`)

// infoNoteAt finds the analysis words read --analysis put on a line: after
// "length N" (or -q's "tcp N"), single-spaced, before the line ends or an
// application summary starts.
var infoNoteAt = regexp.MustCompile(`(?:length|tcp) [0-9]+( ` + infoWord.String() + `(?: ` + infoWord.String() + `)*)(?::|$)`)

// tsharkInfo returns, frame by frame, the analysis words of tshark's Info
// column for each capture (in the column's order, single-spaced), running
// tshark on every CPU with default preferences.
func tsharkInfo(t *testing.T, pcaps []string) [][]string {
	t.Helper()
	cfg := t.TempDir()
	out := make([][]string, len(pcaps))
	errs := make([]error, len(pcaps))
	sem := make(chan struct{}, runtime.NumCPU())
	var wg sync.WaitGroup
	for i, p := range pcaps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			cmd := exec.Command("tshark", "-r", p, "-o", "tcp.calculate_timestamps:TRUE", "-T", "fields",
				"-e", "frame.number", "-e", "_ws.col.Info")
			cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C", "HOME="+cfg, "XDG_CONFIG_HOME="+cfg, "WIRESHARK_CONFIG_DIR="+cfg)
			b, err := cmd.Output()
			if err != nil {
				errs[i] = fmt.Errorf("tshark %s: %w", p, err)
				return
			}
			for n, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
				frame, info, _ := strings.Cut(line, "\t")
				if frame != strconv.Itoa(n+1) {
					errs[i] = fmt.Errorf("tshark %s: line %d is frame %q", p, n+1, frame)
					return
				}
				out[i] = append(out[i], strings.Join(infoWord.FindAllString(info, -1), " "))
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func needTshark(t *testing.T) {
	t.Helper()
	v, err := exec.Command("tshark", "-v").Output()
	if err != nil || !strings.Contains(string(v), "TShark (Wireshark) 4.0.") {
		t.Skip("tshark 4.0 is not installed (apt-get install tshark): the Wireshark references cannot be made")
	}
}

// TestReadAnalysisMatchesTshark: on every corpus-tcp capture, read -nn
// --analysis prints the lines of read -nn with, after "length N" of each packet
// tshark's analysis flags, the words of tshark 4.0's Info column, in its order.
func TestReadAnalysisMatchesTshark(t *testing.T) {
	needTshark(t)
	pcaps, _ := filepath.Glob(filepath.Join(testcorpus.TCPDir(t), "pcap", "*.pcap*"))
	if len(pcaps) == 0 {
		t.Fatal("no corpus-tcp captures")
	}
	want := tsharkInfo(t, pcaps)
	var frames, flagged, agree int
	var differ []string
	for i, p := range pcaps {
		name := filepath.Base(p)
		_, plain, _ := pcaptkRun(t, nil, "read", "-nn", "-r", p)
		code, got, stderr := pcaptkRun(t, nil, "read", "-nn", "--analysis", "-r", p)
		if code != 0 {
			t.Errorf("%s: read --analysis exited %d: %s", name, code, stderr)
			continue
		}
		pl := strings.Split(strings.TrimSuffix(plain, "\n"), "\n")
		gl := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
		if len(gl) != len(want[i]) || len(pl) != len(gl) {
			t.Errorf("%s: %d lines with --analysis, %d without, tshark %d frames", name, len(gl), len(pl), len(want[i]))
			continue
		}
		for n, w := range want[i] {
			frames++
			if w != "" {
				flagged++
			}
			line, words := gl[n], ""
			if m := infoNoteAt.FindStringSubmatchIndex(line); m != nil {
				words = line[m[2]+1 : m[3]]
				// The words are inserted and nothing else changes.
				if line[:m[2]]+line[m[3]:] != pl[n] {
					t.Errorf("%s frame %d: %q is not %q with words inserted", name, n+1, line, pl[n])
				}
			} else if line != pl[n] {
				t.Errorf("%s frame %d: %q differs from read without --analysis, %q", name, n+1, line, pl[n])
			}
			if words == w {
				agree++
			} else {
				differ = append(differ, fmt.Sprintf("%s frame %d: tshark %q, pcaptk %q", name, n+1, w, words))
			}
		}
	}
	t.Logf("%d/%d frames have tshark's analysis words (%d frames with words); %d differ", agree, frames, flagged, len(differ))
	for _, d := range differ[:min(len(differ), 20)] {
		t.Log(d)
	}
	if flagged < 1000 || len(differ) > 0 {
		t.Errorf("%d of %d frames differ from tshark's Info words (%d with words), want none", len(differ), frames, flagged)
	}
}

// noteInLine finds the words read --analysis inserts, wherever the options put
// the TCP line (-v puts it on a line of its own, -x/-X/-A add dump lines).
var noteInLine = regexp.MustCompile(`(?m)(?:length|tcp) [0-9]+( ` + infoWord.String() + `(?: ` + infoWord.String() + `)*)(?::|$)`)

// TestReadAnalysisOptions: with tcpdump's other printing options the words go
// to the same place, after the TCP length, and nothing else changes: the
// output without them is read's without --analysis, and they are tshark's, in
// frame order.
func TestReadAnalysisOptions(t *testing.T) {
	needTshark(t)
	dir := filepath.Join(testcorpus.TCPDir(t), "pcap")
	pcaps := []string{filepath.Join(dir, "local-problems-v6.pcap"), filepath.Join(dir, "zeek-tcp_retransmit-fast009.pcap"),
		filepath.Join(dir, "zeek-ftp_cwd-navigation.pcap"), filepath.Join(dir, "zeek-ftp_bigtransfer.pcap")}
	want := tsharkInfo(t, pcaps)
	for _, opts := range [][]string{{"-v"}, {"-vv"}, {"-x"}, {"-X"}, {"-XX", "-e"}, {"-A"}, {"-q"}, {"-S", "-tt"}, {"-v", "-X"}, {"-n"}} {
		for i, p := range pcaps {
			label := filepath.Base(p) + " " + strings.Join(opts, " ")
			args := append(append([]string{"read"}, opts...), "-r", p)
			_, plain, _ := pcaptkRun(t, nil, args...)
			code, got, stderr := pcaptkRun(t, nil, append(args, "--analysis")...)
			if code != 0 {
				t.Fatalf("%s: exit %d: %s", label, code, stderr)
			}
			var words []string
			var stripped strings.Builder
			last := 0
			for _, m := range noteInLine.FindAllStringSubmatchIndex(got, -1) {
				words = append(words, got[m[2]+1:m[3]])
				stripped.WriteString(got[last:m[2]])
				last = m[3]
			}
			stripped.WriteString(got[last:])
			if stripped.String() != plain {
				t.Errorf("%s: the output without the words is not read's without --analysis", label)
			}
			var wantWords []string
			for _, w := range want[i] {
				if w != "" {
					wantWords = append(wantWords, w)
				}
			}
			if strings.Join(words, "\n") != strings.Join(wantWords, "\n") {
				t.Errorf("%s: %d annotated packets, tshark flags %d, or their words differ", label, len(words), len(wantWords))
			}
			if len(wantWords) == 0 {
				t.Errorf("%s: tshark flags nothing: a capture that tests nothing", label)
			}
		}
	}
}

// TestReadAnalysisFilter: the words do not depend on the filter expression:
// read --analysis EXPR prints the lines of read --analysis that EXPR selects,
// words included, and -c stops the lines, not the analysis before them.
func TestReadAnalysisFilter(t *testing.T) {
	in := filepath.Join(testcorpus.TCPDir(t), "pcap", "local-problems-v4.pcap")
	_, all, _ := pcaptkRun(t, nil, "read", "-nn", "--analysis", "-r", in)
	_, sub, _ := pcaptkRun(t, nil, "read", "-nn", "--analysis", "-r", in, "src port 9001")
	_, plainSub, _ := pcaptkRun(t, nil, "read", "-nn", "-r", in, "src port 9001")
	want := map[string]bool{}
	for _, l := range strings.Split(all, "\n") {
		want[l] = true
	}
	lines := strings.Split(strings.TrimSuffix(sub, "\n"), "\n")
	words := 0
	for _, l := range lines {
		if !want[l] {
			t.Fatalf("filtered line %q is not a line of the whole capture's output", l)
		}
		if strings.Contains(l, "[TCP ") {
			words++
		}
	}
	if n := strings.Count(plainSub, "\n"); n != len(lines) || words < 100 {
		t.Errorf("%d lines (%d without --analysis), %d with words", len(lines), n, words)
	}
	_, head, _ := pcaptkRun(t, nil, "read", "-nn", "--analysis", "-c", "500", "-r", in)
	if !strings.HasPrefix(all, head) || strings.Count(head, "\n") != 500 {
		t.Error("-c 500 does not print the first 500 lines of the whole output")
	}
}
