package conns

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/pcaptk/pcaptk/internal/parquettest"
	"github.com/pcaptk/pcaptk/internal/testcap"
	"github.com/pcaptk/pcaptk/internal/testcorpus"
	"github.com/pcaptk/pcaptk/pkg/analysis"
	"github.com/pcaptk/pcaptk/pkg/export"
	"github.com/pcaptk/pcaptk/pkg/filter"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestColumnsSchema holds the column table to SCHEMA.md's connection table,
// transcribed here: names in order, Parquet types (integer widths checked
// against ConnRow's fields) and nullability.
func TestColumnsSchema(t *testing.T) {
	schema := []struct{ name, typ string }{
		{"stream", "uint64"}, {"community_id", "string"}, {"orig_ip", "string"}, {"resp_ip", "string"},
		{"orig_port", "uint16"}, {"resp_port", "uint16"}, {"ip_version", "uint8"},
		{"first_ts", "timestamp"}, {"last_ts", "timestamp"}, {"duration", "duration"},
		{"orig_pkts", "uint64"}, {"resp_pkts", "uint64"}, {"orig_ip_bytes", "uint64"}, {"resp_ip_bytes", "uint64"},
		{"orig_bytes", "uint64"}, {"resp_bytes", "uint64"}, {"orig_unique_bytes", "uint64"}, {"resp_unique_bytes", "uint64"},
		{"missed_bytes", "uint64"}, {"conn_state", "string"}, {"history", "string"}, {"close", "string"},
		{"saw_syn", "bool"}, {"saw_synack", "bool"},
		{"syn_rtt", "duration?"}, {"ack_rtt_hs", "duration?"}, {"irtt", "duration?"},
		{"rtt_samples", "uint32"}, {"rtt_min", "duration?"}, {"rtt_p50", "duration?"}, {"rtt_p99", "duration?"}, {"rtt_max", "duration?"},
		{"orig_retrans_pkts", "uint32"}, {"resp_retrans_pkts", "uint32"}, {"orig_retrans_bytes", "uint64"}, {"resp_retrans_bytes", "uint64"},
		{"out_of_order", "uint32"}, {"dup_acks", "uint32"}, {"zero_windows", "uint32"}, {"lost_segments", "uint32"},
		{"orig_mss", "uint16?"}, {"resp_mss", "uint16?"}, {"orig_wscale", "uint8?"}, {"resp_wscale", "uint8?"},
		{"sack_ok", "bool"}, {"ts_ok", "bool"}, {"orig_max_in_flight", "uint32"}, {"resp_max_in_flight", "uint32"},
	}
	if len(Columns) != len(schema) {
		t.Fatalf("%d columns, SCHEMA has %d", len(Columns), len(schema))
	}
	rt := reflect.TypeFor[analysis.ConnRow]()
	for i, want := range schema {
		c := Columns[i]
		typ, nullable := strings.CutSuffix(want.typ, "?")
		if c.Name != want.name || (c.Valid != "") != nullable {
			t.Errorf("column %d: %s (nullable %v), SCHEMA %s %s", i, c.Name, c.Valid != "", want.name, want.typ)
			continue
		}
		f, _ := rt.FieldByName(c.Field)
		var got string
		switch c.Type {
		case export.TypeUint:
			got = "uint" + strconv.Itoa(int(f.Type.Size())*8)
		case export.TypeTime:
			got = "timestamp"
		case export.TypeDuration:
			got = "duration"
		case export.TypeBool:
			got = "bool"
		case export.TypeIP, export.TypeText, export.TypeEnum:
			got = "string"
		}
		if got != typ {
			t.Errorf("%s: %s, SCHEMA %s", c.Name, got, typ)
		}
	}
	if _, err := NewTable(""); err != nil {
		t.Fatal(err)
	}
}

func TestHumanUnits(t *testing.T) {
	for _, c := range []struct {
		n    uint64
		want string
	}{{0, "0 B"}, {999, "999 B"}, {1000, "1.00 kB"}, {1434, "1.43 kB"}, {14349, "14.3 kB"}, {143490, "143 kB"},
		{999_499, "999 kB"}, {999_500, "1.00 MB"}, {9_401_740, "9.40 MB"}, {1 << 62, "4.61 EB"}} {
		if got := string(appendHumanBytes(nil, c.n)); got != c.want {
			t.Errorf("%d bytes: %q, want %q", c.n, got, c.want)
		}
	}
	for _, c := range []struct {
		ns   int64
		want string
	}{{0, "0 ns"}, {999, "999 ns"}, {1000, "1.00 µs"}, {56_000, "56.0 µs"}, {999_499, "999 µs"}, {999_500, "1.00 ms"},
		{125_314_000, "125 ms"}, {5_846_547_000, "5.85 s"}, {59_994_999_999, "60.0 s"}, {60e9, "1m00s"}, {185e9, "3m05s"},
		{3599_600_000_000, "60m00s"}, {3600e9, "1h00m"}, {7290e9, "2h02m"}, {-1500, "-1.50 µs"}} {
		if got := string(appendHumanDuration(nil, c.ns)); got != c.want {
			t.Errorf("%d ns: %q, want %q", c.ns, got, c.want)
		}
	}
}

// run runs f over captures of the corpus with output to a buffer.
func run(t *testing.T, f *Files, captures ...string) (stdout, notes string) {
	t.Helper()
	var out, errOut bytes.Buffer
	for _, c := range captures {
		f.Inputs = append(f.Inputs, testcorpus.Pcap(t, c))
	}
	if f.Output == "" {
		f.Output = "-"
	}
	f.Stdout, f.Notes = &out, &errOut
	if err := f.Run(); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	return out.String(), errOut.String()
}

func tcpPcap(t *testing.T, name string) string {
	return filepath.Join(testcorpus.TCPDir(t), "pcap", name)
}

// TestTableGolden: the person's table of a few corpus captures
// (testdata/*.table; -update rewrites them).
func TestTableGolden(t *testing.T) {
	for _, c := range []struct {
		name string
		f    Files
	}{
		{"local-problems-v6", Files{Format: "table"}},
		{"local-problems-v6-color", Files{Format: "table", Color: true}},
		{"local-problems-v4-top2", Files{Format: "table", Top: 2}},
		{"local-problems-v4-sort-duration", Files{Format: "table", Order: mustOrder("-duration")}},
		{"zeek-http_concurrent-range-requests", Files{Format: "table"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(c.name, "-color"), "-top2"), "-sort-duration")
			c.f.Inputs = []string{tcpPcap(t, in+".pcap")}
			got, notes := run(t, &c.f)
			if notes != "" {
				t.Errorf("notes: %s", notes)
			}
			golden := filepath.Join("testdata", c.name+".table")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// readCSV runs f as CSV over the input and returns the rows by stream.
func readCSV(t *testing.T, s string) (head []string, rows [][]string) {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("csv: %v\n%s", err, s)
	}
	return recs[0], recs[1:]
}

// TestOrders: CSV rows come as connections end, or sorted; --top keeps the
// first N of the order; every stream appears once.
func TestOrders(t *testing.T) {
	in := tcpPcap(t, "local-problems-v4.pcap")
	streams := func(s string) []string {
		_, rows := readCSV(t, s)
		var out []string
		for _, r := range rows {
			out = append(out, r[0])
		}
		return out
	}
	tab, _ := NewTable("stream,duration,orig_ip_bytes,resp_ip_bytes")
	asEnded, _ := run(t, &Files{Inputs: []string{in}, Format: "csv", Table: tab})
	byStream, _ := run(t, &Files{Inputs: []string{in}, Format: "csv", Table: tab, Order: ByStream})
	got := streams(asEnded)
	sorted := slices.Clone(got)
	slices.SortFunc(sorted, func(a, b string) int {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return x - y
	})
	if !slices.Equal(streams(byStream), sorted) || slices.Equal(got, sorted) || len(got) != 7 {
		t.Errorf("as ended %v, by stream %v", got, streams(byStream))
	}
	longest, _ := run(t, &Files{Inputs: []string{in}, Format: "csv", Table: tab, Order: mustOrder("-duration"), Top: 3})
	_, rows := readCSV(t, longest)
	if len(rows) != 3 {
		t.Fatalf("top 3: %v", rows)
	}
	for i := 1; i < len(rows); i++ {
		a, _ := strconv.ParseFloat(rows[i-1][1], 64)
		b, _ := strconv.ParseFloat(rows[i][1], 64)
		if a < b {
			t.Errorf("not longest first: %v", rows)
		}
	}
	biggest, _ := run(t, &Files{Inputs: []string{in}, Format: "csv", Table: tab, Top: 1})
	if s := streams(biggest); !slices.Equal(s, []string{"0"}) {
		t.Errorf("biggest: %v", s)
	}
}

// TestSortLimit: past the bound, the rows held are written sorted, the others
// as they end, and a note says so; nothing is lost.
func TestSortLimit(t *testing.T) {
	in := tcpPcap(t, "zeek-ssh_ssh.pcap")
	tab, _ := NewTable("stream")
	all, _ := run(t, &Files{Inputs: []string{in}, Format: "csv", Table: tab, Order: ByStream})
	_, want := readCSV(t, all)
	got, notes := run(t, &Files{Inputs: []string{in}, Format: "csv", Table: tab, Order: ByStream, SortLimit: 5})
	_, rows := readCSV(t, got)
	if !strings.Contains(notes, "more than 5 connections: the first 5 to end are written in stream order, the others as they end") {
		t.Errorf("notes: %q", notes)
	}
	if len(rows) != len(want) || len(want) <= 5 {
		t.Fatalf("%d rows with the bound, %d without", len(rows), len(want))
	}
	for i := 1; i < 5; i++ {
		a, _ := strconv.Atoi(rows[i-1][0])
		b, _ := strconv.Atoi(rows[i][0])
		if a > b {
			t.Errorf("first five not sorted: %v", rows[:5])
		}
	}
}

// TestJSONMatchesCSV: both formats carry the same values.
func TestJSONMatchesCSV(t *testing.T) {
	in := tcpPcap(t, "zeek-http_concurrent-range-requests.pcap")
	c, _ := run(t, &Files{Inputs: []string{in}, Format: "csv", Order: ByStream, Time: export.TSEpoch})
	j, _ := run(t, &Files{Inputs: []string{in}, Format: "json", Order: ByStream, Time: export.TSEpoch})
	head, rows := readCSV(t, c)
	lines := strings.Split(strings.TrimSpace(j), "\n")
	if len(lines) != len(rows) {
		t.Fatalf("%d JSON lines, %d CSV rows", len(lines), len(rows))
	}
	for i, line := range lines {
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		for k, name := range head {
			var s string
			switch v := m[name].(type) {
			case json.Number:
				s = v.String()
			case string:
				s = v
			case bool:
				s = strconv.FormatBool(v)
			}
			if s != rows[i][k] {
				t.Errorf("row %d %s: json %q, csv %q", i, name, s, rows[i][k])
			}
		}
	}
}

// TestDataset: one file per input, or partitions by first_ts, holding every
// connection once, in CSV and in Parquet.
func TestDataset(t *testing.T) {
	ins := []string{tcpPcap(t, "local-problems-v4.pcap"), tcpPcap(t, "zeek-http_concurrent-range-requests.pcap")}
	tab, _ := NewTable("stream,first_ts")
	for _, format := range []string{"csv", "parquet"} {
		for _, part := range []export.Partitioning{export.PartitionNone, export.PartitionHour} {
			dir := t.TempDir()
			f := &Files{Inputs: ins, Output: dir, Dataset: true, Jobs: 2, Partition: part, Format: format, Table: tab}
			if err := f.Run(); err != nil {
				t.Fatal(err)
			}
			var files []string
			total := 0
			filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
				if err != nil || fi.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(dir, p)
				files = append(files, rel)
				b, _ := os.ReadFile(p)
				var firsts []string
				if format == "csv" {
					_, rows := readCSV(t, string(b))
					for _, r := range rows {
						firsts = append(firsts, r[1])
					}
				} else {
					_, cells, _, _ := parquettest.ReadCells(t, b, func(a arrow.Array, i int) string {
						if ts, ok := a.(*array.Timestamp); ok {
							return time.Unix(0, int64(ts.Value(i))).UTC().Format(time.RFC3339Nano)
						}
						return a.ValueStr(i)
					})
					firsts = cells["first_ts"]
				}
				total += len(firsts)
				for _, ts := range firsts {
					if part == export.PartitionHour && !strings.Contains(rel, "date="+ts[:10]+"/hour="+ts[11:13]) {
						t.Errorf("%s holds a connection of %s", rel, ts)
					}
				}
				return nil
			})
			slices.Sort(files)
			want := []string{"local-problems-v4." + format, "zeek-http_concurrent-range-requests." + format}
			if part == export.PartitionHour {
				want = []string{"date=2022-07-12/hour=17/part-zeek-http_concurrent-range-requests-0." + format,
					"date=2026-12-01/hour=01/part-local-problems-v4-0." + format}
			}
			if !slices.Equal(files, want) || total != 10 {
				t.Errorf("%s, partition %v: %v, %d rows", format, part, files, total)
			}
		}
	}
}

// TestParquetMatchesCSV: the Parquet file holds the CSV's values, in SCHEMA's
// types as arrow-go reads them (durations as int64 nanoseconds).
func TestParquetMatchesCSV(t *testing.T) {
	in := tcpPcap(t, "local-problems-v6.pcap")
	dir := t.TempDir()
	pq := filepath.Join(dir, "c.parquet")
	run(t, &Files{Inputs: []string{in}, Format: "parquet", Output: pq, Order: ByStream})
	c, _ := run(t, &Files{Inputs: []string{in}, Format: "csv", Order: ByStream})
	head, rows := readCSV(t, c)
	b, err := os.ReadFile(pq)
	if err != nil {
		t.Fatal(err)
	}
	names, cells, as, _ := parquettest.ReadCells(t, b, func(a arrow.Array, i int) string {
		if a.IsNull(i) {
			return ""
		}
		if ts, ok := a.(*array.Timestamp); ok {
			return time.Unix(0, int64(ts.Value(i))).UTC().Format("2006-01-02T15:04:05.000000000Z")
		}
		return a.ValueStr(i)
	})
	if !slices.Equal(names, head) {
		t.Fatalf("columns %v, CSV %v", names, head)
	}
	for _, f := range as.Fields() {
		c, _ := mustTable(t).Column(f.Name)
		want := map[export.ColumnType]string{export.TypeTime: "timestamp[ns, tz=UTC]", export.TypeDuration: "int64",
			export.TypeBool: "bool", export.TypeIP: "utf8", export.TypeEnum: "utf8", export.TypeText: "utf8"}[c.Type]
		if c.Type == export.TypeUint {
			rt := reflect.TypeFor[analysis.ConnRow]()
			sf, _ := rt.FieldByName(c.Field)
			want = "uint" + strconv.Itoa(int(sf.Type.Size())*8)
		}
		if f.Type.String() != want || f.Nullable != (c.Valid != "") {
			t.Errorf("%s: %s (nullable %v), want %s", f.Name, f.Type, f.Nullable, want)
		}
	}
	for i, name := range names {
		c, _ := mustTable(t).Column(name)
		for r := range rows {
			got := cells[name][r]
			if c.Type == export.TypeDuration && got != "" {
				ns, _ := strconv.ParseInt(got, 10, 64)
				got = fmt.Sprintf("%d.%09d", ns/1e9, ns%1e9)
			}
			if got != rows[r][i] {
				t.Errorf("row %d %s: parquet %q, csv %q", r, name, got, rows[r][i])
			}
		}
	}
}

func mustTable(t *testing.T) *Table {
	tab, err := NewTable("")
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// endless is a source of the same TCP packet forever: a reader that never ends.
type endless struct{ p reader.Packet }

func (e *endless) Next() (*reader.Packet, error) {
	e.p.Number++
	e.p.Timestamp += 1000
	return &e.p, nil
}

// TestPipelineStopsEarly: a run that stops taking batches (a write error) ends
// the reading and tracking goroutines, even over an endless input.
func TestPipelineStopsEarly(t *testing.T) {
	r, err := reader.Open(tcpPcap(t, "local-problems-v4.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	first, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	src := &endless{p: *first}
	src.p.Data = slices.Clone(first.Data)
	r.Close()
	flt, _ := filter.Compile("")
	eng := analysis.NewEngine(analysis.EngineOptions{Rows: func(*analysis.ConnRow) {}})
	p := newPipeline(src, flt, eng, func(uint64) {})
	for range 3 {
		b := <-p.analysed
		if b.n == 0 || b.end {
			t.Fatalf("batch of %d packets, end %v", b.n, b.end)
		}
		p.free <- b
	}
	done := make(chan struct{})
	go func() {
		p.stop()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the pipeline did not stop")
	}
}

// failing is a writer that always fails.
type failing struct{}

func (failing) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestWriteError: a failing output is reported, whatever the format.
func TestWriteError(t *testing.T) {
	for _, format := range []string{"table", "csv", "json", "parquet"} {
		f := &Files{Inputs: []string{tcpPcap(t, "local-problems-v4.pcap")}, Output: "-", Stdout: failing{}, Format: format}
		if err := f.Run(); err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("%s: %v", format, err)
		}
	}
}

// TestTailRows: the rows of the many connections still open at the end of the
// input, made two goroutines at a time (tailRows), are those made one by one,
// in the same order, with and without a filter choosing some of them.
func TestTailRows(t *testing.T) {
	const n = 3*tailChunk/2 + 7 // more than a chunk: two chunks, the second partial
	recs := make([]testcap.Record, 0, 2*n)
	for i := range n {
		syn := testcap.SYN()
		binary.BigEndian.PutUint16(syn[34:], uint16(1024+i)) // source port
		recs = append(recs, testcap.Record{Sec: 1700000000, Frac: uint32(i), Data: syn})
	}
	in := filepath.Join(t.TempDir(), "syns.pcap")
	if err := os.WriteFile(in, testcap.Pcap(false, recs), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(expr string, min int) string {
		defer func(m int) { tailMin = m }(tailMin)
		tailMin = min
		var out bytes.Buffer
		f := &Files{Inputs: []string{in}, Output: "-", Stdout: &out, Format: "csv", Filter: expr}
		if err := f.Run(); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	for _, c := range []struct {
		expr string
		rows int
	}{{"", n}, {"src portrange 2000-3999", 2000}} {
		parallel, serial := run(c.expr, 512), run(c.expr, 1<<30)
		if parallel != serial {
			t.Errorf("%q: the rows made in parallel differ from those made one by one", c.expr)
		}
		if got := strings.Count(serial, "\n") - 1; got != c.rows {
			t.Errorf("%q: %d rows, want %d", c.expr, got, c.rows)
		}
	}
}
