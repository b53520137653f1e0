package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pcaptk/pcaptk/internal/testcorpus"
)

func connsCmd(t *testing.T, s *streams, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	if s == nil {
		s = &streams{}
	}
	if s.In == nil {
		s.In = strings.NewReader("")
	}
	s.Out, s.ErrOut = &out, &errOut
	code := run(append([]string{"conns"}, args...), s)
	return code, out.String(), errOut.String()
}

func TestConnsUsageErrors(t *testing.T) {
	in := testcorpus.Pcap(t, "pcpp-one_tcp_stream.pcap")
	dir := t.TempDir()
	for _, args := range [][]string{
		{},
		{"-r", in, "--format", "xml"},
		{"-r", in, "--format", "parquet"},
		{"-r", in, "--format", "csv", "--columns", "stream,nope"},
		{"-r", in, "--columns", "stream"},
		{"-r", in, "--format", "csv", "--time-format", "iso"},
		{"-r", in, "--sort", "nope"},
		{"-r", in, "--top", "-1"},
		{"-r", in, "--top", "100001"},
		{"-r", in, "--color", "sometimes"},
		{"-r", in, "-o", dir + "/"},
		{"-r", in, "--format", "table", "-o", dir + "/"},
		{"-r", in, "--format", "csv", "--partition", "hour"},
		{"-r", in, "--format", "csv", "--partition", "week", "-o", dir + "/"},
		{"-r", "-", "-r", "-"},
		{"-r", in, "tcp", "and", "and"},
		{"-r", in, "-o", in},
	} {
		code, _, stderr := connsCmd(t, nil, args...)
		if code != exitUsage || !strings.HasPrefix(stderr, "pcaptk: ") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2", args, code, stderr)
		}
	}
}

// TestConnsStreamsMatchExport: conns' stream numbers are export's, and each
// connection's packets are its rows in export (less the packets whose TCP
// header the capture cut, which export has rows for and the counts leave out).
func TestConnsStreamsMatchExport(t *testing.T) {
	for _, name := range []string{"pcpp-many-protocols.pcap", "filesamples-200722_tcp_anon.pcapng", "pcpp-four_ipv6_http_streams.pcap"} {
		in := testcorpus.Pcap(t, name)
		code, ex, stderr := exportCmd(t, nil, "-r", in, "--format", "csv", "--columns", "stream,truncated")
		if code != 0 {
			t.Fatalf("export: %s", stderr)
		}
		perStream := map[string]int{}
		cut := map[string]bool{}
		for _, r := range csvRows(t, ex)[1:] {
			perStream[r[0]]++
			cut[r[0]] = cut[r[0]] || r[1] == "true"
		}
		code, cs, stderr := connsCmd(t, nil, "-r", in, "--format", "csv", "--columns", "stream,orig_pkts,resp_pkts", "--sort", "stream")
		if code != 0 {
			t.Fatalf("conns: %s", stderr)
		}
		rows := csvRows(t, cs)[1:]
		if len(rows) != len(perStream) || len(rows) == 0 {
			t.Errorf("%s: %d connections, export has %d streams", name, len(rows), len(perStream))
		}
		for i, r := range rows {
			if r[0] != strconv.Itoa(i) {
				t.Errorf("%s: row %d is stream %s", name, i, r[0])
			}
			o, _ := strconv.Atoi(r[1])
			p, _ := strconv.Atoi(r[2])
			if n, ok := perStream[r[0]]; !ok || (!cut[r[0]] && n != o+p) {
				t.Errorf("%s stream %s: %d+%d packets, export %d rows", name, r[0], o, p, n)
			}
		}
	}
}

// TestConnsOutputs: the table by default, formats from -o's extension, a
// filter, standard input, colour only when asked or on a terminal.
func TestConnsOutputs(t *testing.T) {
	in := testcorpus.Pcap(t, "pcpp-four_ipv6_http_streams.pcap")
	dir := t.TempDir()
	code, table, stderr := connsCmd(t, nil, "-r", in)
	if code != 0 || !strings.HasPrefix(table, "STREAM  ORIG") || !strings.Contains(table, "4 connections: S1 4") || strings.Contains(table, "\x1b[") || stderr != "" {
		t.Fatalf("table: exit %d\n%s%s", code, table, stderr)
	}
	code, colored, _ := connsCmd(t, &streams{OutIsTerminal: true}, "-r", in)
	if code != 0 || !strings.Contains(colored, "\x1b[33mS1\x1b[0m") {
		t.Errorf("no colour on a terminal:\n%s", colored)
	}
	t.Setenv("NO_COLOR", "1")
	if _, plain, _ := connsCmd(t, &streams{OutIsTerminal: true}, "-r", in); strings.Contains(plain, "\x1b[") {
		t.Errorf("colour despite NO_COLOR")
	}
	if _, forced, _ := connsCmd(t, nil, "-r", in, "--color", "always"); !strings.Contains(forced, "\x1b[1mSTREAM") {
		t.Errorf("--color always: no colour")
	}

	out := filepath.Join(dir, "c.json")
	if code, _, stderr := connsCmd(t, nil, "-r", in, "-o", out, "--columns", "stream,conn_state"); code != 0 {
		t.Fatalf("-o c.json: %s", stderr)
	}
	if b, _ := os.ReadFile(out); strings.Count(string(b), "\n") != 4 || !strings.HasPrefix(string(b), `{"stream":`) {
		t.Errorf("c.json: %s", b)
	}

	f, _ := os.Open(in)
	defer f.Close()
	code, stdin, stderr := connsCmd(t, &streams{In: f}, "-r", "-", "--format", "csv", "--columns", "stream", "src", "port", "80")
	if code != 0 || len(csvRows(t, stdin)) != 5 {
		t.Errorf("stdin with a filter: exit %d %q %s", code, stdin, stderr)
	}
}

// TestConnsBadInput: a capture cut mid-record gives the rows of the
// connections before the cut, a complete output file, and exit 1.
func TestConnsBadInput(t *testing.T) {
	src := testcorpus.Pcap(t, "filesamples-200722_tcp_anon.pcapng")
	dir := t.TempDir()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.pcapng")
	os.WriteFile(cut, b[:len(b)/2], 0o644)
	out := filepath.Join(dir, "cut.csv")
	code, _, stderr := connsCmd(t, nil, "-r", cut, "-o", out, "--columns", "stream,close")
	if code != exitFailure || !strings.Contains(stderr, cut) || !strings.Contains(stderr, "packet ") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil || len(csvRows(t, string(data))) < 2 {
		t.Fatalf("no rows before the cut: %v %q", err, data)
	}
	code, _, stderr = connsCmd(t, nil, "-r", filepath.Join(dir, "missing.pcap"))
	if code != exitFailure || !strings.Contains(stderr, "missing.pcap") {
		t.Fatalf("missing file: exit %d, %q", code, stderr)
	}
}

func TestConnsHelp(t *testing.T) {
	code, out, _ := connsCmd(t, nil, "--help")
	for _, want := range []string{"Examples:", "pcaptk conns -r cap.pcap --top 10", "Exit status:", "community_id", "--sort KEY", "--top N"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("help lacks %q (exit %d)", want, code)
		}
	}
}
