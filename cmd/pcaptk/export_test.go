package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/pcaptk/pcaptk/internal/testcorpus"
)

func exportCmd(t *testing.T, stdin io.Reader, args ...string) (int, string, string) {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var out, errOut bytes.Buffer
	code := run(append([]string{"export"}, args...), &streams{In: stdin, Out: &out, ErrOut: &errOut})
	return code, out.String(), errOut.String()
}

func csvRows(t *testing.T, s string) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v\n%s", err, s)
	}
	return recs
}

// parquetColumn reads one uint or timestamp column of a Parquet file as int64s.
func parquetColumn(t *testing.T, path, col string) []int64 {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	idx := tbl.Schema().FieldIndices(col)
	if len(idx) != 1 {
		t.Fatalf("%s: no column %s", path, col)
	}
	var out []int64
	for _, ch := range tbl.Column(idx[0]).Data().Chunks() {
		for i := 0; i < ch.Len(); i++ {
			switch a := ch.(type) {
			case *array.Uint64:
				out = append(out, int64(a.Value(i)))
			case *array.Timestamp:
				out = append(out, int64(a.Value(i)))
			default:
				v, _ := strconv.ParseInt(ch.ValueStr(i), 10, 64)
				out = append(out, v)
			}
		}
	}
	return out
}

func TestExportUsageErrors(t *testing.T) {
	in := testcorpus.Pcap(t, "pcpp-one_tcp_stream.pcap")
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--format", "csv"},
		{"-r", in},
		{"-r", in, "--format", "xml"},
		{"-r", in, "--format", "csv", "--columns", "frame,nope"},
		{"-r", in, "--format", "csv", "--time-format", "iso"},
		{"-r", in, "--format", "parquet", "--compression", "lz4"},
		{"-r", in, "--format", "parquet", "--ts-unit", "ms"},
		{"-r", in, "--format", "parquet", "--row-group-size", "0"},
		{"-r", in, "--format", "parquet", "--row-group-size", "1000"},
		{"-r", in, "--format", "parquet", "--partition", "week", "-o", dir + "/"},
		{"-r", in, "--format", "parquet", "--partition", "hour"},
		{"-r", in, "--format", "text", "-o", dir + "/"},
		{"-r", "-", "-r", "-", "--format", "csv"},
		{"-r", in, "--format", "csv", "tcp", "and", "and"},
		{"-r", in, "--format", "csv", "--bogus"},
	} {
		code, _, stderr := exportCmd(t, nil, args...)
		if code != exitUsage || !strings.HasPrefix(stderr, "pcaptk: ") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2", args, code, stderr)
		}
	}
}

// TestExportBadInput: a capture cut mid-record exports the rows before the cut,
// writes a complete Parquet file, and exits 1 naming the file and packet.
func TestExportBadInput(t *testing.T) {
	src := testcorpus.Pcap(t, "filesamples-200722_tcp_anon.pcapng")
	dir := t.TempDir()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.pcapng")
	os.WriteFile(cut, b[:len(b)/2], 0o644)

	code, out, stderr := exportCmd(t, nil, "-r", cut, "--format", "csv", "--columns", "frame")
	if code != exitFailure || !strings.Contains(stderr, cut) || !strings.Contains(stderr, "packet ") || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	rows := csvRows(t, out)
	if len(rows) < 2 {
		t.Fatalf("no rows before the cut: %q", out)
	}
	pq := filepath.Join(dir, "cut.parquet")
	code, _, _ = exportCmd(t, nil, "-r", cut, "--format", "parquet", "-o", pq)
	if code != exitFailure {
		t.Fatalf("parquet: exit %d", code)
	}
	if got := parquetColumn(t, pq, "frame"); len(got) != len(rows)-1 {
		t.Fatalf("parquet holds %d rows, csv %d", len(got), len(rows)-1)
	}
	// A file that is no capture at all.
	code, _, stderr = exportCmd(t, nil, "-r", filepath.Join(dir, "missing.pcap"), "--format", "json")
	if code != exitFailure || !strings.Contains(stderr, "missing.pcap") {
		t.Fatalf("missing file: exit %d, %q", code, stderr)
	}
}

// TestExportFilterAndFormats: the filter selects rows as the port columns say,
// and the time formats, text and standard input work.
func TestExportFilterAndFormats(t *testing.T) {
	in := testcorpus.Pcap(t, "pcpp-many-protocols.pcap")
	code, all, stderr := exportCmd(t, nil, "-r", in, "--format", "csv", "--columns", "frame,src_port,dst_port,ts")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := 0
	for _, r := range csvRows(t, all)[1:] {
		if r[1] == "443" || r[2] == "443" {
			want++
		}
	}
	code, some, _ := exportCmd(t, nil, "-r", in, "--format", "csv", "--columns", "frame,src_port,dst_port,ts", "tcp", "port", "443")
	if got := len(csvRows(t, some)) - 1; code != 0 || got != want || want == 0 {
		t.Fatalf("filter 'tcp port 443': %d rows, want %d", got, want)
	}

	first := csvRows(t, all)[1]
	tm, err := time.Parse(time.RFC3339Nano, first[3])
	if err != nil {
		t.Fatal(err)
	}
	_, epochNS, _ := exportCmd(t, nil, "-r", in, "--format", "json", "--columns", "ts", "--time-format", "epoch_ns")
	if line, _, _ := strings.Cut(epochNS, "\n"); line != `{"ts":`+strconv.FormatInt(tm.UnixNano(), 10)+`}` {
		t.Errorf("epoch_ns: %s", line)
	}
	_, epoch, _ := exportCmd(t, nil, "-r", in, "--format", "csv", "--columns", "ts", "--time-format", "epoch")
	if got := csvRows(t, epoch)[1][0]; got != fmt.Sprintf("%d.%09d", tm.Unix(), tm.Nanosecond()) {
		t.Errorf("epoch: %s for %s", got, first[3])
	}

	// Standard input, text format: one tcpdump line per TCP row.
	f, _ := os.Open(in)
	defer f.Close()
	code, text, stderr := exportCmd(t, f, "-r", "-", "--format", "text")
	if lines := strings.Count(text, "\n"); code != 0 || lines < len(csvRows(t, all))-1 {
		t.Errorf("text: exit %d, %d lines for %d rows: %s", code, lines, len(csvRows(t, all))-1, stderr)
	}
}

// TestExportMergeAndDatasets: several -r inputs form one chronological stream;
// -o DIR/ writes one Parquet per input; --partition hour writes hive directories.
func TestExportMergeAndDatasets(t *testing.T) {
	a := testcorpus.Pcap(t, "filesamples-200722_tcp_anon.pcapng")
	b := testcorpus.Pcap(t, "pcpp-four_ipv6_http_streams.pcap")
	count := func(in string) int {
		_, out, _ := exportCmd(t, nil, "-r", in, "--format", "csv", "--columns", "frame")
		return len(csvRows(t, out)) - 1
	}
	na, nb := count(a), count(b)

	code, out, stderr := exportCmd(t, nil, "-r", a, "-r", b, "--format", "csv", "--columns", "ts,frame")
	if code != 0 {
		t.Fatalf("merge: exit %d %s", code, stderr)
	}
	rows := csvRows(t, out)[1:]
	if len(rows) != na+nb {
		t.Fatalf("merge: %d rows, want %d", len(rows), na+nb)
	}
	if !sort.SliceIsSorted(rows, func(i, j int) bool { return rows[i][0] < rows[j][0] }) {
		t.Errorf("merged rows are not in time order")
	}

	dir := t.TempDir()
	code, _, stderr = exportCmd(t, nil, "-r", a, "-r", b, "--format", "parquet", "-o", dir+"/", "--jobs", "2")
	if code != 0 {
		t.Fatalf("dir: exit %d %s", code, stderr)
	}
	if got := len(parquetColumn(t, filepath.Join(dir, "filesamples-200722_tcp_anon.parquet"), "frame")); got != na {
		t.Errorf("per-input file a: %d rows, want %d", got, na)
	}
	if got := len(parquetColumn(t, filepath.Join(dir, "pcpp-four_ipv6_http_streams.parquet"), "frame")); got != nb {
		t.Errorf("per-input file b: %d rows, want %d", got, nb)
	}

	pdir := filepath.Join(t.TempDir(), "ds")
	code, _, stderr = exportCmd(t, nil, "-r", a, "-r", b, "--format", "parquet", "-o", pdir+"/", "--partition", "hour")
	if code != 0 {
		t.Fatalf("partition: exit %d %s", code, stderr)
	}
	parts, _ := filepath.Glob(filepath.Join(pdir, "date=*", "hour=*", "part-*.parquet"))
	total := 0
	for _, p := range parts {
		rel, _ := filepath.Rel(pdir, p)
		segs := strings.Split(rel, string(filepath.Separator))
		for _, ts := range parquetColumn(t, p, "ts") {
			tm := time.Unix(0, ts).UTC()
			if segs[0] != "date="+tm.Format("2006-01-02") || segs[1] != "hour="+tm.Format("15") {
				t.Errorf("%s holds a row of %s", rel, tm)
			}
			total++
		}
	}
	if len(parts) < 2 || total != na+nb {
		t.Errorf("partitions: %d files, %d rows, want %d rows: %v", len(parts), total, na+nb, parts)
	}
}

// TestExportProgress: a progress line on a terminal, none in a pipe or with --quiet.
func TestExportProgress(t *testing.T) {
	in := testcorpus.Pcap(t, "pcpp-many-protocols.pcap")
	for _, c := range []struct {
		terminal bool
		args     []string
		want     bool
	}{
		{true, nil, true},
		{true, []string{"--quiet"}, false},
		{false, nil, false},
	} {
		var out, errOut bytes.Buffer
		args := append([]string{"export", "-r", in, "--format", "csv"}, c.args...)
		code := run(args, &streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, ErrIsTerminal: c.terminal})
		got := strings.Contains(errOut.String(), " packets ") && strings.Contains(errOut.String(), "MB/s")
		if code != 0 || got != c.want {
			t.Errorf("terminal=%v %v: exit %d, stderr %q", c.terminal, c.args, code, errOut.String())
		}
	}
}
