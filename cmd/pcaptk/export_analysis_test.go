package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/pcaptk/pcaptk/internal/analysisref"
	"github.com/pcaptk/pcaptk/internal/parquettest"
	"github.com/pcaptk/pcaptk/internal/testcorpus"
)

// analysisColumns are the columns analysisref compares, after frame: what
// ../shared/tools/analysis-diff.sh asks export for.
func analysisColumns() string {
	cols := []string{"frame"}
	for _, f := range analysisref.Fields {
		cols = append(cols, f.Column)
	}
	return strings.Join(cols, ",")
}

// exportAgainstRefs runs export --format csv --analysis on every capture of a
// corpus and compares the analysis columns with tshark's references, as
// analysis-diff.sh does, holding the targets of issue 10 (analysisref.Report).
func exportAgainstRefs(t *testing.T, what, dir string) {
	pcaps, _ := filepath.Glob(filepath.Join(dir, "pcap", "*.pcap*"))
	sort.Strings(pcaps)
	if len(pcaps) == 0 {
		t.Fatalf("no captures in %s", dir)
	}
	shown := 0
	if testing.Verbose() {
		shown = 3
	}
	total := analysisref.NewTally(shown, t.Logf)
	for _, p := range pcaps {
		base := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		refs, err := analysisref.ReadRef(filepath.Join(dir, "expected", base+".tshark-analysis.csv"))
		if err != nil {
			t.Fatal(err)
		}
		code, out, stderr := exportCmd(t, nil, "-r", p, "--format", "csv", "--analysis", "--time-format", "epoch",
			"--columns", analysisColumns())
		if code != 0 {
			// A capture cut short still has its rows before the cut.
			t.Logf("%s: export exited %d: %s", base, code, strings.TrimSpace(stderr))
		}
		ours, err := analysisref.ReadExport(strings.NewReader(out))
		if err != nil {
			t.Fatalf("%s: export's CSV: %v", base, err)
		}
		total.Compare(filepath.Base(p), refs, ours)
	}
	total.Report(t, what)
}

// TestExportAnalysisTCPCorpus: export --analysis's CSV agrees with tshark on
// the corpus-tcp captures (the wiring of Engine, rows and encoder, which
// pkg/analysis's fidelity tests do not see).
func TestExportAnalysisTCPCorpus(t *testing.T) {
	exportAgainstRefs(t, "export corpus-tcp", testcorpus.TCPDir(t))
}

// TestExportAnalysisCorpus: the same on the general corpus.
func TestExportAnalysisCorpus(t *testing.T) {
	exportAgainstRefs(t, "export corpus", testcorpus.Dir(t))
}

// TestExportAnalysisFormats: JSON has the same analysis as CSV (durations as
// numbers of seconds, null where CSV is empty); --analysis adds the columns
// after the chosen ones, and naming one in --columns is enough; a filter
// expression narrows the rows but not the analysis; dataset mode carries the
// columns.
func TestExportAnalysisFormats(t *testing.T) {
	in := filepath.Join(testcorpus.TCPDir(t), "pcap", "local-problems-v4.pcap")
	cols := analysisColumns()
	_, csvOut, _ := exportCmd(t, nil, "-r", in, "--format", "csv", "--columns", cols)
	fromCSV, err := analysisref.ReadExport(strings.NewReader(csvOut))
	if err != nil {
		t.Fatal(err)
	}
	code, jsonOut, stderr := exportCmd(t, nil, "-r", in, "--format", "json", "--columns", cols)
	if code != 0 {
		t.Fatalf("json: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(jsonOut, "\n"), "\n")
	if len(lines) != len(fromCSV) || len(lines) < 8000 {
		t.Fatalf("%d JSON rows, %d CSV rows", len(lines), len(fromCSV))
	}
	flagged := 0
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		row := fromCSV[uint64(m["frame"].(float64))]
		for i, f := range analysisref.Fields {
			v, ok := m[f.Column]
			if !ok {
				t.Fatalf("no %s in %s", f.Column, l)
			}
			var got analysisref.Value
			switch x := v.(type) {
			case bool:
				got = analysisref.Value{V: 1, OK: x}
			case float64:
				got = analysisref.Some(x)
			case nil:
			default:
				t.Fatalf("%s: %T in %s", f.Column, v, l)
			}
			if f.Flag && got.OK {
				flagged++
			}
			if got != row[i] && !(f.Duration && got.OK && row[i].OK && abs(got.V-row[i].V) < 1e-9) {
				t.Fatalf("frame %v %s: JSON %v, CSV %v", m["frame"], f.Column, got, row[i])
			}
		}
	}
	if flagged < 1000 {
		t.Errorf("only %d flags set in a capture with loss", flagged)
	}

	// --analysis appends every analysis column to the chosen ones; a listed
	// one alone turns the analysis on.
	_, out, _ := exportCmd(t, nil, "-r", in, "--format", "csv", "--analysis", "--columns", "frame,ts")
	head, _, _ := strings.Cut(out, "\n")
	if want := "frame,ts,retransmission,"; !strings.HasPrefix(head, want) || !strings.HasSuffix(head, ",time_relative,time_delta") {
		t.Errorf("--analysis --columns frame,ts: header %q", head)
	}
	// The analysis text names the flags set in the flag columns, in their
	// order, comma-separated (quoted in CSV when there are several).
	_, out, _ = exportCmd(t, nil, "-r", in, "--format", "csv", "--columns", "frame,analysis")
	texts, several := 0, 0
	for _, rec := range csvRows(t, out)[1:] {
		frame, _ := strconv.ParseUint(rec[0], 10, 64)
		var want []string
		for i, f := range analysisref.Fields {
			if f.Flag && fromCSV[frame][i].OK {
				want = append(want, f.Column)
			}
		}
		if rec[1] != strings.Join(want, ",") {
			t.Fatalf("frame %d: analysis %q, flags %v", frame, rec[1], want)
		}
		if rec[1] != "" {
			texts++
		}
		if len(want) > 1 {
			several++
		}
	}
	if texts < 1000 || several == 0 {
		t.Errorf("%d rows with analysis text, %d with several flags", texts, several)
	}
	_, out, _ = exportCmd(t, nil, "-r", in, "--format", "csv")
	if strings.Contains(out, "retransmission") {
		t.Error("the default columns hold analysis columns")
	}

	// A filter expression selects rows; their analysis is the whole capture's.
	_, filtered, _ := exportCmd(t, nil, "-r", in, "--format", "csv", "--columns", cols, "src port 9001")
	sub, err := analysisref.ReadExport(strings.NewReader(filtered))
	if err != nil {
		t.Fatal(err)
	}
	if len(sub) == 0 || len(sub) >= len(fromCSV) {
		t.Fatalf("the filter kept %d of %d rows", len(sub), len(fromCSV))
	}
	for frame, row := range sub {
		for i := range row {
			if row[i] != fromCSV[frame][i] {
				t.Fatalf("frame %d %s: %v with the filter, %v without", frame, analysisref.Fields[i].Column, row[i], fromCSV[frame][i])
			}
		}
	}

	// --format text writes read --analysis's lines (this capture is all TCP).
	_, text, _ := exportCmd(t, nil, "-r", in, "--format", "text", "--analysis")
	_, lines2, _ := pcaptkRun(t, nil, "read", "-nn", "--analysis", "-r", in)
	if text != lines2 || !strings.Contains(text, "[TCP Dup ACK ") {
		t.Error("export --format text --analysis differs from read -nn --analysis")
	}

	// Dataset mode: one CSV per input, with the columns.
	dir := t.TempDir() + "/"
	if code, _, stderr := exportCmd(t, nil, "-r", in, "--format", "csv", "--analysis", "-o", dir); code != 0 {
		t.Fatalf("dataset: exit %d: %s", code, stderr)
	}
	sameRows(t, "dataset", readExportFiles(t, filepath.Join(dir, "local-problems-v4.csv")), fromCSV)
	// With partitions, whose rows are staged apart from the batches they came in.
	pdir := t.TempDir() + "/"
	if code, _, stderr := exportCmd(t, nil, "-r", in, "--format", "csv", "--columns", cols, "--partition", "hour", "-o", pdir); code != 0 {
		t.Fatalf("partitioned dataset: exit %d: %s", code, stderr)
	}
	parts, _ := filepath.Glob(filepath.Join(pdir, "*", "*", "*.csv"))
	sameRows(t, "partitioned dataset", readExportFiles(t, parts...), fromCSV)
}

// readExportFiles reads the analysis columns of export CSV files, by frame.
func readExportFiles(t *testing.T, paths ...string) map[uint64]analysisref.Row {
	t.Helper()
	all := map[uint64]analysisref.Row{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := analysisref.ReadExport(bufio.NewReader(f))
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for k, v := range rows {
			all[k] = v
		}
	}
	return all
}

func sameRows(t *testing.T, what string, got, want map[uint64]analysisref.Row) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d", what, len(got), len(want))
	}
	for frame, row := range got {
		for i := range row {
			if row[i] != want[frame][i] {
				t.Fatalf("%s frame %d %s: %v, want %v", what, frame, analysisref.Fields[i].Column, row[i], want[frame][i])
			}
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestExportAnalysisParquet: the Parquet file of export --analysis holds the
// analysis columns with the values of the CSV export (durations as int64
// nanoseconds), and the types SCHEMA.md gives them; arrow-go reads it.
func TestExportAnalysisParquet(t *testing.T) {
	for _, name := range []string{"local-problems-v4.pcap", "zeek-tcp_retransmit-fast009.pcap", "zeek-ftp_cwd-navigation.pcap"} {
		in := filepath.Join(testcorpus.TCPDir(t), "pcap", name)
		cols := analysisColumns()
		_, csvOut, _ := exportCmd(t, nil, "-r", in, "--format", "csv", "--columns", cols)
		want, err := analysisref.ReadExport(strings.NewReader(csvOut))
		if err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"--analysis"}, {"--columns", cols}, {"--analysis", "--row-group-size", "16384", "--compression", "snappy"}} {
			out := filepath.Join(t.TempDir(), "a.parquet")
			if code, _, stderr := exportCmd(t, nil, append([]string{"-r", in, "--format", "parquet", "-o", out}, args...)...); code != 0 {
				t.Fatalf("%s %v: exit %d: %s", name, args, code, stderr)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			_, cells, as, _ := parquettest.ReadCells(t, b, parquetCell)
			// The types: flags bool, frames uint64, counts uint32, durations int64.
			for _, f := range as.Fields() {
				var wantType string
				switch c := f.Name; {
				case c == "stream" || strings.HasSuffix(c, "frame"):
					wantType = "uint64"
				case c == "dup_ack_num" || c == "bytes_in_flight" || c == "push_bytes_sent":
					wantType = "uint32"
				case c == "ack_rtt" || c == "irtt" || c == "rto" || strings.HasPrefix(c, "time_"):
					wantType = "int64"
				case c == "analysis":
					wantType = "utf8"
				default:
					if _, ok := flagColumn(c); ok {
						wantType = "bool"
					}
				}
				if wantType != "" && f.Type.String() != wantType {
					t.Errorf("%s: column %s is %s, want %s", name, f.Name, f.Type, wantType)
				}
			}
			frames := cells["frame"]
			if len(frames) != len(want) {
				t.Fatalf("%s %v: %d Parquet rows, %d CSV rows", name, args, len(frames), len(want))
			}
			for i, fr := range frames {
				frame, _ := strconv.ParseUint(fr, 10, 64)
				w := want[frame]
				for k, f := range analysisref.Fields {
					col, ok := cells[f.Column]
					if !ok {
						t.Fatalf("%s: no column %s", name, f.Column)
					}
					var got analysisref.Value
					switch v := col[i]; {
					case v == "null":
					case f.Flag:
						got = analysisref.Value{V: 1, OK: v == "true"}
					case f.Duration:
						ns, _ := strconv.ParseInt(v, 10, 64)
						got = analysisref.Some(float64(ns) / 1e9)
					default:
						x, _ := strconv.ParseFloat(v, 64)
						got = analysisref.Some(x)
					}
					if got.OK != w[k].OK || (got.OK && abs(got.V-w[k].V) > 1e-12) {
						t.Fatalf("%s %v frame %d %s: Parquet %q, CSV %v", name, args, frame, f.Column, col[i], w[k])
					}
				}
			}
			// The analysis text is null without flags, else the CSV's.
			for i, v := range cells["analysis"] {
				frame, _ := strconv.ParseUint(frames[i], 10, 64)
				var flags []string
				for k, f := range analysisref.Fields {
					if f.Flag && want[frame][k].OK {
						flags = append(flags, f.Column)
					}
				}
				if (v == "null") != (len(flags) == 0) || (v != "null" && v != strings.Join(flags, ",")) {
					t.Fatalf("%s frame %d: analysis %q, flags %v", name, frame, v, flags)
				}
			}
		}
	}
}

// flagColumn reports whether c is an analysis flag column.
func flagColumn(c string) (analysisref.Field, bool) {
	for _, f := range analysisref.Fields {
		if f.Flag && f.Column == c {
			return f, true
		}
	}
	return analysisref.Field{}, false
}

// parquetCell writes a cell as text: null, true/false, integers in decimal.
func parquetCell(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "null"
	}
	return a.ValueStr(i)
}

// TestAnalysisFlagValues: --analysis and --analysis=wireshark (SCHEMA.md's
// name) are the same; another value is a usage error, in read and export.
func TestAnalysisFlagValues(t *testing.T) {
	in := filepath.Join(testcorpus.TCPDir(t), "pcap", "zeek-tcp_retransmit-fast009.pcap")
	for _, cmd := range [][]string{{"export", "--format", "csv"}, {"read", "-nn"}} {
		args := append(cmd, "-r", in)
		_, plain, _ := pcaptkRun(t, nil, append(args, "--analysis")...)
		code, named, stderr := pcaptkRun(t, nil, append(args, "--analysis=wireshark")...)
		if code != 0 || named != plain || !strings.Contains(plain, "etransmission") {
			t.Errorf("%s --analysis=wireshark: exit %d, %q; output differs from --analysis: %v", cmd[0], code, stderr, named != plain)
		}
		if code, _, stderr := pcaptkRun(t, nil, append(args, "--analysis=zeek")...); code != 2 || !strings.Contains(stderr, "unknown analysis") {
			t.Errorf("%s --analysis=zeek: exit %d, %q; want a usage error", cmd[0], code, stderr)
		}
	}
	out := filepath.Join(t.TempDir(), "w.pcap")
	if code, _, stderr := pcaptkRun(t, nil, "read", "--analysis", "-r", in, "-w", out); code != 2 || !strings.Contains(stderr, "--analysis") {
		t.Errorf("read --analysis -w: exit %d, %q; want a usage error", code, stderr)
	}
}
