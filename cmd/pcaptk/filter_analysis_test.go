package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/pcaptk/pcaptk/internal/testcorpus"
)

// tsharkSelect writes, for each case, the packets tshark -Y selects from its
// input into dir/NAME.pcapng, with tshark on every CPU (default preferences,
// timestamps on as in the corpus references).
func tsharkSelect(t *testing.T, dir string, cases []filterCase) {
	t.Helper()
	cfg := t.TempDir()
	errs := make([]error, len(cases))
	sem := make(chan struct{}, runtime.NumCPU())
	var wg sync.WaitGroup
	for i, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			cmd := exec.Command("tshark", "-r", c.in, "-o", "tcp.calculate_timestamps:TRUE", "-Y", c.display,
				"-w", filepath.Join(dir, c.name+".pcapng"))
			cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C", "HOME="+cfg, "XDG_CONFIG_HOME="+cfg, "WIRESHARK_CONFIG_DIR="+cfg)
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("tshark -r %s -Y %q: %w\n%s", c.in, c.display, err, out)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// filterCase is one filter run compared with tshark -Y: pcaptk's arguments
// after -r and -w, and tshark's display filter for the same selection.
type filterCase struct {
	name, in string
	args     []string
	display  string
}

// TestFilterAnalysisMatchesTshark: filter --analysis writes exactly the frames
// tshark -Y selects, on every corpus-tcp capture, and with a BPF expression
// and packet ranges on the recorded ones (the analysis still sees the packets
// they drop).
func TestFilterAnalysisMatchesTshark(t *testing.T) {
	needTshark(t)
	dir := filepath.Join(testcorpus.TCPDir(t), "pcap")
	pcaps, _ := filepath.Glob(filepath.Join(dir, "*.pcap*"))
	if len(pcaps) == 0 {
		t.Fatal("no corpus-tcp captures")
	}
	var cases []filterCase
	for _, p := range pcaps {
		cases = append(cases, filterCase{name: filepath.Base(p), in: p,
			args:    []string{"--analysis", "retransmission,fast_retransmission,spurious_retransmission"},
			display: "tcp.analysis.retransmission || tcp.analysis.fast_retransmission || tcp.analysis.spurious_retransmission"})
	}
	for _, v := range []string{"v4", "v6"} {
		p := filepath.Join(dir, "local-problems-"+v+".pcap")
		cases = append(cases,
			filterCase{"dupack-bpf-" + v, p, []string{"--analysis", "duplicate_ack", "src port 9001"},
				"tcp.analysis.duplicate_ack && tcp.srcport == 9001"},
			filterCase{"window-ranges-" + v, p, []string{"--analysis", "window_full,zero_window,window_update", "--packets", "2000-5000,7000-"},
				"(tcp.analysis.window_full || tcp.analysis.zero_window || tcp.analysis.window_update) && (frame.number in {2000..5000} || frame.number >= 7000)"},
			filterCase{"keepalive-lost-" + v, p, []string{"--analysis", "keep_alive,keep_alive_ack,lost_segment,ack_lost_segment,out_of_order,reused_ports"},
				"tcp.analysis.keep_alive || tcp.analysis.keep_alive_ack || tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment || tcp.analysis.out_of_order || tcp.analysis.reused_ports"},
		)
	}
	want := t.TempDir()
	tsharkSelect(t, want, cases)
	out := t.TempDir()
	total := 0
	for _, c := range cases {
		got := filepath.Join(out, c.name+".pcap")
		args := append([]string{"filter", "-r", c.in, "-w", got}, c.args...)
		if code, _, stderr := pcaptkRun(t, nil, args...); code != 0 {
			t.Errorf("%s: pcaptk %s: exit %d: %s", c.name, strings.Join(args, " "), code, stderr)
			continue
		}
		w := mustCapturePackets(t, filepath.Join(want, c.name+".pcapng"))
		equalPackets(t, c.name, mustCapturePackets(t, got), w, false)
		total += len(w)
	}
	t.Logf("%d cases, %d packets selected by tshark", len(cases), total)
	if total < 1000 {
		t.Errorf("tshark selected only %d packets over all cases: the test tests little", total)
	}
}

// TestFilterAnalysisAny: --analysis any keeps the packets with any flag, which
// the union of the flags one by one gives, and bad names are usage errors.
func TestFilterAnalysisAny(t *testing.T) {
	in := filepath.Join(testcorpus.TCPDir(t), "pcap", "local-problems-v4.pcap")
	dir := t.TempDir()
	if code, _, stderr := pcaptkRun(t, nil, "filter", "-r", in, "-w", filepath.Join(dir, "any.pcap"), "--analysis", "any"); code != 0 {
		t.Fatalf("--analysis any: exit %d: %s", code, stderr)
	}
	all := "retransmission,fast_retransmission,spurious_retransmission,out_of_order,lost_segment,ack_lost_segment," +
		"dup_ack,zero_window,zero_window_probe,zero_window_probe_ack,window_full,window_update,keep_alive,keep_alive_ack,reused_ports"
	if code, _, stderr := pcaptkRun(t, nil, "filter", "-r", in, "-w", filepath.Join(dir, "all.pcap"), "--analysis", all); code != 0 {
		t.Fatalf("--analysis %s: exit %d: %s", all, code, stderr)
	}
	a, b := mustCapturePackets(t, filepath.Join(dir, "any.pcap")), mustCapturePackets(t, filepath.Join(dir, "all.pcap"))
	if len(a) < 1000 {
		t.Errorf("--analysis any kept %d packets of a capture with loss", len(a))
	}
	equalPackets(t, "any vs every flag", a, b, false)
	for _, bad := range []string{"nonsense", "retransmission,", "Retransmission"} {
		code, _, stderr := pcaptkRun(t, nil, "filter", "-r", in, "-w", filepath.Join(dir, "bad.pcap"), "--analysis", bad)
		if code != 2 || !strings.Contains(stderr, "unknown analysis flag") {
			t.Errorf("--analysis %q: exit %d, %q; want a usage error", bad, code, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.pcap")); err == nil {
		t.Error("a usage error left an output")
	}
}
