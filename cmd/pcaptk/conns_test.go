package main

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet/file"

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
		{"-r", in, "--format", "parquet", "--row-group-size", "1000", "-o", dir + "/x.parquet"},
		{"-r", in, "--format", "parquet", "--compression", "lz4", "-o", dir + "/x.parquet"},
		{"-r", in, "--format", "parquet", "--ts-unit", "ms", "-o", dir + "/x.parquet"},
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

// TestConnsStreamsMatchExport: conns' stream numbers are export --analysis's, of
// one input or of several read as one stream, and each connection's packets
// are its rows in export (less the packets whose TCP header the capture cut,
// which export has rows for and the counts leave out).
func TestConnsStreamsMatchExport(t *testing.T) {
	for _, names := range [][]string{{"pcpp-many-protocols.pcap"}, {"filesamples-200722_tcp_anon.pcapng"},
		{"pcpp-four_ipv6_http_streams.pcap"}, {"pcpp-four_ipv6_http_streams.pcap", "filesamples-200722_tcp_anon.pcapng"}} {
		var ins []string
		for _, n := range names {
			ins = append(ins, "-r", testcorpus.Pcap(t, n))
		}
		name := strings.Join(names, "+")
		code, ex, stderr := exportCmd(t, nil, append(ins, "--format", "csv", "--analysis", "--columns", "stream,truncated")...)
		if code != 0 {
			t.Fatalf("export: %s", stderr)
		}
		perStream := map[string]int{}
		cut := map[string]bool{}
		for _, r := range csvRows(t, ex)[1:] {
			perStream[r[0]]++
			cut[r[0]] = cut[r[0]] || r[1] == "true"
		}
		code, cs, stderr := connsCmd(t, nil, append(ins, "--format", "csv", "--columns", "stream,orig_pkts,resp_pkts", "--sort", "stream")...)
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

// TestConnsFilterSelectsConnections: with a filter, the rows are the
// connections with a matching packet, numbered and counted over the whole
// capture, as export --analysis numbers the rows it keeps.
func TestConnsFilterSelectsConnections(t *testing.T) {
	in := filepath.Join(testcorpus.TCPDir(t), "pcap", "local-problems-v4.pcap")
	_, all, _ := connsCmd(t, nil, "-r", in, "--format", "csv", "--columns", "stream,orig_pkts,resp_pkts")
	whole := map[string][]string{}
	for _, r := range csvRows(t, all)[1:] {
		whole[r[0]] = r
	}
	for _, expr := range []string{"port 9003", "tcp[tcpflags] & tcp-rst != 0", "port 1"} {
		code, ex, stderr := exportCmd(t, nil, "-r", in, "--analysis", "--format", "csv", "--columns", "stream", expr)
		if code != 0 {
			t.Fatalf("export %q: %s", expr, stderr)
		}
		want := map[string]bool{}
		for _, r := range csvRows(t, ex)[1:] {
			want[r[0]] = true
		}
		code, cs, stderr := connsCmd(t, nil, "-r", in, "--format", "csv", "--columns", "stream,orig_pkts,resp_pkts", expr)
		if code != 0 {
			t.Fatalf("conns %q: %s", expr, stderr)
		}
		rows := csvRows(t, cs)[1:]
		if len(rows) != len(want) {
			t.Errorf("%q: %d connections, export --analysis has %d streams", expr, len(rows), len(want))
		}
		for _, r := range rows {
			if !want[r[0]] || !slices.Equal(r, whole[r[0]]) {
				t.Errorf("%q: row %v, unfiltered %v", expr, r, whole[r[0]])
			}
		}
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
	// A Parquet file gets its footer, with the same rows.
	pq := filepath.Join(dir, "cut.parquet")
	if code, _, stderr := connsCmd(t, nil, "-r", cut, "-o", pq); code != exitFailure {
		t.Fatalf("parquet: exit %d, %s", code, stderr)
	}
	if got := parquetColumn(t, pq, "stream"); len(got) != len(csvRows(t, string(data)))-1 {
		t.Errorf("parquet holds %d rows, csv %d", len(got), len(csvRows(t, string(data)))-1)
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

// writeManyConns writes a pcap of n TCP connections, one begun every 10 µs: a
// client's SYN, answered by the server's SYN-ACK for every other one and by a
// RST for every third of the others, so most stay open (an hour's idle timeout
// is far away) and the connection table fills and evicts, the worst case for
// memory. It streams the file out rather than building it.
func writeManyConns(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var hdr [24]byte
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], 1)
	w.Write(hdr[:])
	var pkt [16 + 54]byte
	put := func(us int64, client [4]byte, cport uint16, fromServer bool, flags byte, seq, ack uint32) {
		rec := pkt[:]
		binary.LittleEndian.PutUint32(rec[0:], uint32(us/1e6))
		binary.LittleEndian.PutUint32(rec[4:], uint32(us%1e6))
		binary.LittleEndian.PutUint32(rec[8:], 54)
		binary.LittleEndian.PutUint32(rec[12:], 54)
		e := rec[16:]
		binary.BigEndian.PutUint16(e[12:], 0x0800)
		ip := e[14:]
		ip[0], ip[8], ip[9] = 0x45, 64, 6
		binary.BigEndian.PutUint16(ip[2:], 40)
		server := [4]byte{10, 200, 0, 1}
		src, dst, sport, dport := client, server, cport, uint16(80)
		if fromServer {
			src, dst, sport, dport = server, client, 80, cport
		}
		copy(ip[12:], src[:])
		copy(ip[16:], dst[:])
		tcp := ip[20:]
		binary.BigEndian.PutUint16(tcp[0:], sport)
		binary.BigEndian.PutUint16(tcp[2:], dport)
		binary.BigEndian.PutUint32(tcp[4:], seq)
		binary.BigEndian.PutUint32(tcp[8:], ack)
		tcp[12], tcp[13] = 5<<4, flags
		binary.BigEndian.PutUint16(tcp[14:], 65535)
		w.Write(rec)
	}
	us := int64(1_700_000_000) * 1e6
	for k := range n {
		client := [4]byte{10, byte(k >> 16), byte(k >> 8), byte(k)}
		cport := uint16(1024 + k%60000)
		put(us, client, cport, false, 0x02, uint32(k), 0)
		switch {
		case k%2 == 0:
			put(us+5, client, cport, true, 0x12, 7, uint32(k)+1)
		case k%3 == 0:
			put(us+5, client, cport, true, 0x14, 0, uint32(k)+1)
		}
		us += 10
	}
	if err := cmp.Or(w.Flush(), f.Close()); err != nil {
		t.Fatal(err)
	}
}

// TestConnsMillionConnections: a capture of a million connections, most of them
// open at once, runs in at most 256 MB (peak RSS), every connection gets its
// row, and the table says why it does not sort them all.
func TestConnsMillionConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 100 MB capture")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "million.pcap")
	const n = 1_000_000
	writeManyConns(t, in, n)
	for _, c := range []struct {
		name string
		args []string
		note string
	}{
		{"csv", []string{"conns", "-r", in, "--format", "csv", "--columns", "stream,conn_state"}, "connections were forgotten before they ended"},
		{"parquet", []string{"conns", "-r", in, "-o", filepath.Join(dir, "million.parquet")}, "connections were forgotten before they ended"},
		{"table", []string{"conns", "-r", in}, "more than 100000 connections"},
		{"info", []string{"info", in}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd, peak := timedCommand(t, c.args...)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var errOut bytes.Buffer
			cmd.Stderr = &errOut
			start := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := 0
			sc := bufio.NewScanner(stdout)
			var last string
			for sc.Scan() {
				lines++
				last = sc.Text()
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("%v\n%s", err, errOut.String())
			}
			rss := peak()
			t.Logf("%d lines in %.1f s, peak RSS %d MB", lines, time.Since(start).Seconds(), rss>>20)
			if rss > 256<<20 {
				t.Errorf("peak RSS %d MB", rss>>20)
			}
			if !strings.Contains(errOut.String(), c.note) {
				t.Errorf("stderr: %q", errOut.String())
			}
			switch c.name {
			case "csv":
				if lines != n+1 {
					t.Errorf("%d rows", lines-1)
				}
			case "table":
				if lines != n+2 || !strings.HasPrefix(last, "1000000 connections: ") {
					t.Errorf("%d lines, last %q", lines, last)
				}
			case "parquet":
				pf, err := file.OpenParquetFile(filepath.Join(dir, "million.parquet"), false)
				if err != nil {
					t.Fatal(err)
				}
				if got := pf.NumRows(); got != n {
					t.Errorf("%d rows", got)
				}
				pf.Close()
			}
		})
	}
}
