package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pcaptk/pcaptk/internal/testcorpus"
	"github.com/pcaptk/pcaptk/pkg/reader"
	"github.com/pcaptk/pcaptk/pkg/writer"
)

// corpusPcapDir holds the general corpus's captures (see internal/testcorpus).
func corpusPcapDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(testcorpus.Dir(t), "pcap")
}

func corpusCaptures(t *testing.T) []string {
	t.Helper()
	return testcorpus.Captures(t)
}

func needRefTools(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Skipf("%s not installed (apt-get install tcpdump tshark)", n)
		}
	}
}

// pcaptk runs the command in-process and returns its exit code, stdout and stderr.
func pcaptkRun(t *testing.T, stdin io.Reader, args ...string) (int, string, string) {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var out, errOut bytes.Buffer
	code := run(args, &streams{In: stdin, Out: &out, ErrOut: &errOut})
	return code, out.String(), errOut.String()
}

// tool runs a reference tool and fails the test if it fails.
func refTool(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// readPackets reads every packet of a capture (through pkg/reader) and the error that
// ended reading, if not EOF.
func capturePackets(t *testing.T, path string) ([]reader.Packet, error) {
	t.Helper()
	r, err := reader.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var ps []reader.Packet
	for {
		p, err := r.Next()
		if err == io.EOF {
			return ps, nil
		}
		if err != nil {
			return ps, err
		}
		ps = append(ps, p.Clone())
	}
}

func mustCapturePackets(t *testing.T, path string) []reader.Packet {
	t.Helper()
	ps, err := capturePackets(t, path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return ps
}

// samePackets compares two packet sequences: time (to usec when usec is set),
// captured and wire lengths, bytes.
func equalPackets(t *testing.T, label string, got, want []reader.Packet, usec bool) bool {
	t.Helper()
	return equalPacketsSnap(t, label, got, want, usec, 0)
}

// samePacketsSnap is samePackets against a libpcap-based tool that cut packets longer
// than the input's snaplen snap to snap when it read them (pcaptk keeps their bytes).
func equalPacketsSnap(t *testing.T, label string, got, want []reader.Packet, usec bool, snap uint32) bool {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d packets, want %d", label, len(got), len(want))
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		if snap > 0 && g.CapLen > snap {
			g.CapLen, g.Data = snap, g.Data[:snap]
		}
		gt, wt := g.Timestamp, w.Timestamp
		if usec {
			gt, wt = gt/1000, wt/1000
		}
		if gt != wt || g.CapLen != w.CapLen || g.WireLen != w.WireLen || !bytes.Equal(g.Data, w.Data) {
			t.Errorf("%s: packet %d differs: time %d/%d caplen %d/%d len %d/%d", label, i+1,
				g.Timestamp, w.Timestamp, g.CapLen, w.CapLen, g.WireLen, w.WireLen)
			return false
		}
	}
	return true
}

var tsharkAsRoot = regexp.MustCompile(`(?m)^Running as user .* This could be dangerous\.\n?`)

// toolsRead checks that capinfos and tshark read each file without error.
func readableByTools(t *testing.T, files ...string) {
	t.Helper()
	if _, err := exec.LookPath("capinfos"); err == nil && len(files) > 0 {
		if out, err := exec.Command("capinfos", files...).CombinedOutput(); err != nil {
			t.Errorf("capinfos rejects pcaptk output: %v\n%s", err, out)
		}
	}
	if _, err := exec.LookPath("tshark"); err != nil {
		return
	}
	for _, f := range files {
		var stderr bytes.Buffer
		cmd := exec.Command("tshark", "-n", "-r", f)
		cmd.Stderr = &stderr
		err := cmd.Run()
		if msg := strings.TrimSpace(tsharkAsRoot.ReplaceAllString(stderr.String(), "")); err != nil || msg != "" {
			t.Errorf("tshark -r %s: %v %s", f, err, msg)
		}
	}
}

// TestFilterMatchesTcpdump: for every corpus capture tcpdump can read, pcaptk filter
// keeps exactly the packets tcpdump -r -w keeps, byte for byte.
func TestFilterMatchesTcpdump(t *testing.T) {
	needRefTools(t, "tcpdump")
	dir := t.TempDir()
	exprs := []string{"tcp", "tcp port 80 or udp", "ip6 or arp", "tcp[tcpflags] & tcp-syn != 0"}
	var written []string
	for _, in := range corpusCaptures(t) {
		base := filepath.Base(in)
		if base == "timestamp_invalid_nano.pcap" {
			// nanosecond fields >= 10^9: tcpdump's conversion to microseconds and pcaptk's
			// reading of the same invalid field differ; nothing to compare
			continue
		}
		for i, expr := range exprs {
			want := filepath.Join(dir, fmt.Sprintf("%s.%d.tcpdump.pcap", base, i))
			out, err := exec.Command("tcpdump", "-r", in, "-w", want, expr).CombinedOutput()
			got := filepath.Join(dir, fmt.Sprintf("%s.%d.pcaptk", base, i))
			code, _, stderr := pcaptkRun(t, nil, "filter", "-r", in, "-w", got, expr)
			if err != nil {
				if bytes.Contains(out, []byte("different from the type of the first interface")) {
					// tcpdump cannot read pcapng files whose interfaces have different link
					// types; pcaptk filters each packet for its own link type. No reference:
					// the output must at least be a readable subset.
					if code != 0 || len(mustCapturePackets(t, got)) > len(mustCapturePackets(t, in)) {
						t.Errorf("%s %q: exit %d: %s", base, expr, code, stderr)
					}
					written = append(written, got)
					continue
				}
				// tcpdump refuses this expression for the file's link type: pcaptk must fail
				// too, with a message, not write a wrong answer.
				if code == 0 {
					t.Errorf("%s %q: tcpdump fails (%s) but pcaptk succeeds", base, expr, bytes.TrimSpace(out))
				}
				continue
			}
			if code != 0 {
				t.Errorf("%s %q: exit %d: %s", base, expr, code, stderr)
				continue
			}
			// tcpdump -w writes microseconds whatever the input's resolution
			equalPacketsSnap(t, base+" "+expr, mustCapturePackets(t, got), mustCapturePackets(t, want), true, headerSnaplen(t, in))
			if i == 0 {
				written = append(written, got)
			}
		}
	}
	readableByTools(t, written[:8]...) // tshark is slow to start: a sample
	readableByTools(t, written[len(written)-4:]...)
}

// TestFilterSelectionsMatchEditcap: --packets, --after/--before, -s and --dedup select
// what editcap's equivalents select.
func TestFilterSelectionsMatchEditcap(t *testing.T) {
	needRefTools(t, "editcap")
	dir := t.TempDir()
	in := testcorpus.Pcap(t, "pcpp-many-protocols.pcap")
	ps := mustCapturePackets(t, in)
	mid := ps[len(ps)/3].Timestamp
	late := ps[2*len(ps)/3].Timestamp
	// a capture with duplicates: every packet of a small file three times, and one
	// copy five packets later (outside the default window)
	dupIn := filepath.Join(dir, "dups.pcap")
	small := mustCapturePackets(t, filepath.Join(corpusPcapDir(t), "dns_tcp.pcap"))
	var dups []reader.Packet
	for i, p := range small {
		dups = append(dups, p, p, p)
		if i == 3 {
			dups = append(dups, small[0])
		}
	}
	writePcapFile(t, dupIn, dups)

	secs := func(ns int64) string { return fmt.Sprintf("%d.%09d", ns/1e9, ns%1e9) }
	cases := []struct {
		name   string
		in     string
		pcaptk []string
		editc  []string
	}{
		{"packets", in, []string{"--packets", "1-100,250,400-1000"}, []string{"-r", in, "OUT", "1-100", "250", "400-1000"}},
		{"after-before", in, []string{"--after", secs(mid), "--before", secs(late)},
			[]string{"-A", secs(mid), "-B", secs(late), in, "OUT"}},
		{"snaplen", in, []string{"-s", "60"}, []string{"-s", "60", in, "OUT"}},
		{"dedup", dupIn, []string{"--dedup"}, []string{"-d", dupIn, "OUT"}},
		{"dedup-window", dupIn, []string{"--dedup-window", "10"}, []string{"-D", "10", dupIn, "OUT"}},
	}
	for _, c := range cases {
		want := filepath.Join(dir, c.name+".editcap.pcap")
		args := append([]string(nil), c.editc...)
		for i := range args {
			if args[i] == "OUT" {
				args[i] = want
			}
		}
		refTool(t, "editcap", args...)
		got := filepath.Join(dir, c.name+".pcaptk.pcap")
		if code, _, stderr := pcaptkRun(t, nil, append([]string{"filter", "-r", c.in, "-w", got}, c.pcaptk...)...); code != 0 {
			t.Fatalf("%s: exit %d: %s", c.name, code, stderr)
		}
		w := mustCapturePackets(t, want)
		if len(w) == 0 || (len(w) == len(mustCapturePackets(t, c.in)) && c.name != "snaplen") {
			t.Errorf("%s: editcap kept %d packets: the case selects nothing", c.name, len(w))
		}
		equalPackets(t, c.name, mustCapturePackets(t, got), w, false)
	}
}

// writeTestPcap writes packets as a pcap through pcaptk's own writer.
func writePcapFile(t *testing.T, path string, ps []reader.Packet) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	o, err := writer.Create(path, f, writer.FileOptions{Format: reader.FormatPcap,
		Interfaces: func() []reader.Interface { return []reader.Interface{{LinkType: ps[0].LinkType, Snaplen: 262144}} }})
	if err != nil {
		t.Fatal(err)
	}
	for i := range ps {
		if err := o.WritePacket(&ps[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
}

// cutFile copies the first n bytes of src: a capture that ends mid-record.
func truncateCopy(t *testing.T, src, dst string, n int64) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b[:n], 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFilterStreamsAndErrors(t *testing.T) {
	dir := t.TempDir()
	in := testcorpus.Pcap(t, "pcpp-four_ipv6_http_streams.pcap")
	all := mustCapturePackets(t, in)

	// -r - and -w -: standard input to standard output
	data, _ := os.ReadFile(in)
	code, out, stderr := pcaptkRun(t, bytes.NewReader(data), "filter", "-r", "-", "-w", "-")
	if code != 0 {
		t.Fatalf("stdin to stdout: exit %d: %s", code, stderr)
	}
	piped := filepath.Join(dir, "piped.out")
	os.WriteFile(piped, []byte(out), 0o644)
	equalPackets(t, "stdin->stdout", mustCapturePackets(t, piped), all, false)

	// --format converts; pcapng -> pcap -> pcapng keeps the packets
	for _, f := range []string{"pcap", "pcapng"} {
		got := filepath.Join(dir, "conv."+f)
		if code, _, stderr := pcaptkRun(t, nil, "filter", "-r", in, "-w", got, "--format", f); code != 0 {
			t.Fatalf("--format %s: %s", f, stderr)
		}
		equalPackets(t, "--format "+f, mustCapturePackets(t, got), all, true)
		readableByTools(t, got)
	}

	// usage errors exit 2 and create nothing
	for _, args := range [][]string{
		{"filter", "-r", in, "-w", filepath.Join(dir, "u1"), "tcp port"},
		{"filter", "-r", in, "-w", filepath.Join(dir, "u2"), "--packets", "5-2"},
		{"filter", "-r", in, "-w", filepath.Join(dir, "u3"), "--after", "yesterday"},
		{"filter", "-r", in, "-w", filepath.Join(dir, "u4"), "--format", "csv"},
		{"filter", "-r", in},
		{"filter", "-r", piped, "-w", piped},
	} {
		if code, _, stderr := pcaptkRun(t, nil, args...); code != 2 || stderr == "" {
			t.Errorf("%v: exit %d (%q), want 2", args, code, stderr)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "u*")); len(m) > 0 {
		t.Errorf("usage errors created %v", m)
	}

	// an input cut mid-record: everything before is written, the file is valid, exit 1
	// with the file name and packet number
	src := filepath.Join(corpusPcapDir(t), "dns_tcp.pcap")
	cut := filepath.Join(dir, "cut.pcap")
	st, _ := os.Stat(src)
	truncateCopy(t, src, cut, st.Size()-10)
	got := filepath.Join(dir, "cut.out.pcap")
	code, _, stderr = pcaptkRun(t, nil, "filter", "-r", cut, "-w", got)
	if code != 1 || !strings.Contains(stderr, cut) || !strings.Contains(stderr, "packet 11") {
		t.Errorf("cut input: exit %d, %q", code, stderr)
	}
	equalPackets(t, "cut input", mustCapturePackets(t, got), mustCapturePackets(t, src)[:10], false)
	readableByTools(t, got)

	// not a capture at all: exit 1, named
	code, _, stderr = pcaptkRun(t, nil, "filter", "-r", "/etc/passwd", "-w", filepath.Join(dir, "x.pcap"))
	if code != 1 || !strings.Contains(stderr, "/etc/passwd") {
		t.Errorf("non-capture: exit %d, %q", code, stderr)
	}
}

// fileSnaplen is the snaplen of a pcap file's header (0 for pcapng: per interface).
func headerSnaplen(t *testing.T, path string) uint32 {
	r, err := reader.Open(path)
	if err != nil {
		return 0
	}
	defer r.Close()
	if r.Format() != reader.FormatPcap || len(r.Interfaces()) == 0 {
		return 0
	}
	return r.Interfaces()[0].Snaplen
}

// BenchmarkFilterWrite measures filter -r -w on a corpus capture (bytes = input size).
func BenchmarkFilterWrite(b *testing.B) {
	in := testcorpus.Pcap(b, "pcpp-many-protocols.pcap")
	st, err := os.Stat(in)
	if err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(b.TempDir(), "out.pcap")
	s := &streams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}
	b.SetBytes(st.Size())
	for b.Loop() {
		if err := runFilter(&filterOptions{inputs: inputFlags{reads: []string{in}}, Out: out, Expr: "tcp or udp", Window: 5}, s); err != nil {
			b.Fatal(err)
		}
	}
}

// TestToolsOnDamagedCorpus: every corpus capture, whole and cut at a few points, through
// filter, split --flows, merge and info: no panic, exit 0 or 1 (1 only when the input is
// damaged), and every output file reads back cleanly.
func TestToolsOnDamagedCorpus(t *testing.T) {
	dir := t.TempDir()
	for n, in := range corpusCaptures(t) {
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		for k, cut := range []int{len(data), len(data) - 1, len(data) * 2 / 3, 40} {
			if cut > len(data) || cut < 0 {
				continue
			}
			src := filepath.Join(dir, fmt.Sprintf("in%d_%d%s", n, k, filepath.Ext(in)))
			os.WriteFile(src, data[:cut], 0o644)
			_, readErr := capturePackets(t, src)
			damaged := readErr != nil
			sub := filepath.Join(dir, fmt.Sprintf("o%d_%d", n, k))
			os.Mkdir(sub, 0o755)
			for _, args := range [][]string{
				{"filter", "-r", src, "-w", filepath.Join(sub, "f.pcapng"), "--format", "pcapng"},
				{"split", "-r", src, "-w", filepath.Join(sub, "s.pcapng"), "--flows", "--max-open", "4", "--format", "pcapng"},
				{"merge", "-w", filepath.Join(sub, "m.pcapng"), src, in},
				{"info", "--json", src},
			} {
				code, _, stderr := pcaptkRun(t, nil, args...)
				if code != 0 && !(code == 1 && (damaged || strings.Contains(stderr, "not a pcap"))) {
					t.Errorf("%v: exit %d: %s", args, code, stderr)
				}
			}
			outs, _ := filepath.Glob(filepath.Join(sub, "*"))
			for _, o := range outs {
				if _, err := capturePackets(t, o); err != nil {
					t.Errorf("output %s of %s: %v", o, filepath.Base(in), err)
				}
			}
		}
	}
}
