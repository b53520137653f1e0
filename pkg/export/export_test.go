package export

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/pcaptk/pcaptk/internal/parquettest"
	"github.com/pcaptk/pcaptk/internal/testcorpus"
	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

func corpusCaptures(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, f := range testcorpus.Captures(t) {
		names = append(names, filepath.Base(f))
	}
	return names
}

// exportBytes runs the whole pipeline over a capture into one format.
func exportBytes(t *testing.T, path, format string, cols []Column) ([]byte, Stats, error) {
	t.Helper()
	r, err := reader.Open(path)
	if err != nil {
		return nil, Stats{}, err
	}
	defer r.Close()
	var buf bytes.Buffer
	var enc Encoder
	switch format {
	case "csv":
		enc = NewCSV(&buf, LineOptions{Columns: cols})
	case "json":
		enc = NewJSON(&buf, LineOptions{Columns: cols})
	case "parquet":
		// Small row groups and chunks so that the corpus exercises several of each.
		p, err := NewParquet(&buf, ParquetOptions{Columns: cols, RowGroupSize: 7})
		if err != nil {
			t.Fatal(err)
		}
		enc = p
	}
	st, err := Run(r, enc, RunOptions{Columns: cols})
	return buf.Bytes(), st, err
}

// table is exported rows as text cells keyed by column name, the way CSV writes
// them (null is "").
type table struct {
	cols []string
	rows []map[string]string
}

func parseCSV(t *testing.T, b []byte) table {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v", err)
	}
	tb := table{cols: recs[0]}
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, c := range tb.cols {
			m[c] = rec[i]
		}
		tb.rows = append(tb.rows, m)
	}
	return tb
}

func parseJSON(t *testing.T, b []byte) table {
	t.Helper()
	var tb table
	for i, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		d := json.NewDecoder(bytes.NewReader(line))
		d.UseNumber()
		var obj map[string]any
		if err := d.Decode(&obj); err != nil {
			t.Fatalf("json line %d: %v: %s", i+1, err, line)
		}
		m := map[string]string{}
		for k, v := range obj {
			m[k] = jsonCell(v)
		}
		tb.rows = append(tb.rows, m)
	}
	return tb
}

// jsonCell renders a decoded JSON value as CSV would write it.
func jsonCell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return x.String()
	case []any:
		var parts []string
		for _, e := range x {
			o := e.(map[string]any)
			parts = append(parts, fmt.Sprintf("%s-%s", o["left"], o["right"]))
		}
		return strings.Join(parts, " ")
	}
	return fmt.Sprint(v)
}

// parseParquet reads a file back with arrow-go's own Parquet reader.
func parseParquet(t *testing.T, b []byte) (table, *arrow.Schema, *schema.Schema) {
	t.Helper()
	names, cells, as, ps := parquettest.ReadCells(t, b, arrowCell)
	out := table{cols: names}
	for _, name := range names {
		if out.rows == nil {
			out.rows = make([]map[string]string, len(cells[name]))
			for i := range out.rows {
				out.rows[i] = map[string]string{}
			}
		}
		for i, v := range cells[name] {
			out.rows[i][name] = v
		}
	}
	return out, as, ps
}

func arrowCell(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return ""
	}
	switch x := a.(type) {
	case *array.Timestamp:
		ts := int64(x.Value(i))
		if x.DataType().(*arrow.TimestampType).Unit == arrow.Microsecond {
			ts *= 1000
		}
		var f tsFormatter
		return string(f.appendRFC3339(nil, ts))
	case *array.List:
		st := x.ListValues().(*array.Struct)
		l := st.Field(0).(*array.Uint32)
		r := st.Field(1).(*array.Uint32)
		start, end := x.ValueOffsets(i)
		var parts []string
		for k := start; k < end; k++ {
			parts = append(parts, fmt.Sprintf("%d-%d", l.Value(int(k)), r.Value(int(k))))
		}
		return strings.Join(parts, " ")
	}
	return a.ValueStr(i)
}

func exportTable(t *testing.T, path, format string) (table, Stats, error) {
	b, st, err := exportBytes(t, path, format, nil)
	switch format {
	case "csv":
		return parseCSV(t, b), st, err
	case "json":
		return parseJSON(t, b), st, err
	}
	tb, _, _ := parseParquet(t, b)
	return tb, st, err
}

// tsharkRow is one row of expected/F.tshark.csv.
type tsharkRow map[string]string

func readTshark(t *testing.T, name string) []tsharkRow {
	t.Helper()
	f, err := os.Open(filepath.Join(testcorpus.Dir(t), "expected", name+".tshark.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var rows []tsharkRow
	for _, rec := range recs[1:] {
		m := tsharkRow{}
		for i, h := range recs[0] {
			m[h] = rec[i]
		}
		rows = append(rows, m)
	}
	return rows
}

// epochMicros turns tshark's "1658816767.794026000" into microseconds.
func epochMicros(s string) (int64, error) {
	sec, frac, _ := strings.Cut(s, ".")
	frac = (frac + "000000")[:6]
	a, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return 0, err
	}
	b, err := strconv.ParseInt(frac, 10, 64)
	return a*1e6 + b, err
}

// skippedFrame says why a frame tshark calls TCP has no row, or "" when that is a bug.
func skippedFrame(t *testing.T, path string, frame uint64) string {
	r, err := reader.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for {
		p, err := r.Next()
		if err != nil {
			return ""
		}
		if p.Number != frame {
			continue
		}
		var rec decode.Record
		decode.Decode(p.LinkType, p.Data, p.WireLen, &rec)
		switch {
		case rec.IPVersion == 4 && (rec.IPLen == 0 || rec.IPBadLen):
			// TSO/BIG TCP frames with IPv4 total length 0: pcaptk follows
			// tcpdump ("IP bad-len 0") and does not decode TCP; tshark does.
			return "IPv4 total length 0"
		case rec.HasTCP && !Exportable(&rec):
			return "TCP header cut"
		}
		return ""
	}
}

// TestCorpusAgainstTshark: every TCP packet's fields, in all three formats, equal
// tshark's for every corpus capture.
func TestCorpusAgainstTshark(t *testing.T) {
	compared := 0
	for _, name := range corpusCaptures(t) {
		t.Run(name, func(t *testing.T) {
			path := testcorpus.Pcap(t, name)
			want := readTshark(t, name)
			for _, format := range []string{"csv", "json", "parquet"} {
				tb, _, err := exportTable(t, path, format)
				var pe *reader.PacketError
				if err != nil && !errors.As(err, &pe) {
					t.Fatalf("%s: %v", format, err)
				}
				got := map[string]map[string]string{}
				for _, r := range tb.rows {
					got[r["frame"]] = r
				}
				seen, multi := 0, 0
				for _, w := range want {
					if strings.Contains(w["tcp.srcport"]+w["tcp.seq_raw"]+w["ip.src"]+w["tcp.flags"], ",") {
						// tshark -Y tcp also matches TCP headers inside other packets
						// (ICMP errors, sFlow samples, OpenFlow payloads): several
						// comma-joined values in one field. Such rows are skipped.
						if _, ok := got[w["frame.number"]]; ok {
							multi++
						}
						continue
					}
					if w["tcp.seq_raw"] == "" {
						continue // tshark saw no complete TCP header either
					}
					g, ok := got[w["frame.number"]]
					if !ok {
						fr, _ := strconv.ParseUint(w["frame.number"], 10, 64)
						if why := skippedFrame(t, path, fr); why != "" {
							continue
						}
						t.Errorf("%s: frame %s: tshark has a TCP row, pcaptk none", format, w["frame.number"])
						continue
					}
					seen++
					compareTshark(t, name, format, w, g)
				}
				if format == "csv" {
					compared += seen
				}
				if seen+multi != len(tb.rows) {
					t.Errorf("%s: %d rows, %d of them match tshark rows", format, len(tb.rows), seen)
				}
			}
		})
	}
	t.Logf("%d TCP packets compared with tshark in each format", compared)
}

func compareTshark(t *testing.T, name, format string, w tsharkRow, g map[string]string) {
	t.Helper()
	src, dst := w["ip.src"], w["ip.dst"]
	if src == "" {
		src, dst = w["ipv6.src"], w["ipv6.dst"]
	}
	flags, _ := strconv.ParseUint(strings.TrimPrefix(w["tcp.flags"], "0x"), 16, 16)
	checks := [][3]string{
		{"src_ip", g["src_ip"], src},
		{"dst_ip", g["dst_ip"], dst},
		{"src_port", g["src_port"], w["tcp.srcport"]},
		{"dst_port", g["dst_port"], w["tcp.dstport"]},
		{"flags_raw", g["flags_raw"], strconv.FormatUint(flags, 10)},
		{"seq", g["seq"], w["tcp.seq_raw"]},
		{"ack", g["ack"], w["tcp.ack_raw"]},
		{"window", g["window"], w["tcp.window_size_value"]},
		{"wirelen", g["wirelen"], w["frame.len"]},
		{"caplen", g["caplen"], w["frame.cap_len"]},
	}
	if w["tcp.len"] != "" {
		checks = append(checks, [3]string{"payload_len", g["payload_len"], w["tcp.len"]})
	}
	for _, c := range checks {
		if c[1] != c[2] {
			t.Errorf("%s: frame %s: %s = %q, tshark %q", format, w["frame.number"], c[0], c[1], c[2])
		}
	}
	if strings.HasPrefix(name, "timestamp_invalid_") {
		// Sub-second fields of 10^6 µs / 10^9 ns and more: the reader carries
		// them into seconds; tshark prints them unnormalised or clamps them.
		return
	}
	wantUS, err := epochMicros(w["frame.time_epoch"])
	if err != nil {
		t.Fatalf("tshark time %q: %v", w["frame.time_epoch"], err)
	}
	gotUS, err := rfc3339Micros(g["ts"])
	if err != nil || gotUS != wantUS {
		t.Errorf("%s: frame %s: ts %q (%d µs), tshark %s (%d µs) %v", format, w["frame.number"], g["ts"], gotUS, w["frame.time_epoch"], wantUS, err)
	}
}

// rfc3339Micros parses "2026-11-25T16:26:43.065693000Z" with the standard library.
func rfc3339Micros(s string) (int64, error) {
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, err
	}
	sec, ns := tm.Unix(), int64(tm.Nanosecond())
	return sec*1e6 + ns/1e3, nil
}

// TestFormatsAgree: CSV, JSON and Parquet hold the same value in every cell of
// every column, on the whole corpus.
func TestFormatsAgree(t *testing.T) {
	for _, name := range corpusCaptures(t) {
		path := testcorpus.Pcap(t, name)
		c, cst, _ := exportTable(t, path, "csv")
		j, jst, _ := exportTable(t, path, "json")
		p, pst, _ := exportTable(t, path, "parquet")
		if cst != jst || cst != pst {
			t.Errorf("%s: stats differ: csv %+v json %+v parquet %+v", name, cst, jst, pst)
		}
		if len(c.rows) != len(j.rows) || len(c.rows) != len(p.rows) || uint64(len(c.rows)) != cst.Rows {
			t.Fatalf("%s: rows csv %d json %d parquet %d stats %d", name, len(c.rows), len(j.rows), len(p.rows), cst.Rows)
		}
		if strings.Join(c.cols, ",") != strings.Join(p.cols, ",") || strings.Join(c.cols, ",") != strings.Join(ColumnNames(), ",") {
			t.Fatalf("%s: columns csv %v parquet %v", name, c.cols, p.cols)
		}
		for i := range c.rows {
			for _, col := range c.cols {
				if c.rows[i][col] != j.rows[i][col] || c.rows[i][col] != p.rows[i][col] {
					t.Errorf("%s row %d %s: csv %q json %q parquet %q", name, i, col, c.rows[i][col], j.rows[i][col], p.rows[i][col])
				}
			}
		}
	}
}

// TestParquetSchema checks the physical and logical types SCHEMA.md promises,
// which DuckDB maps to UBIGINT, UINTEGER, USMALLINT, UTINYINT and TIMESTAMP WITH
// TIME ZONE.
func TestParquetSchema(t *testing.T) {
	for _, micro := range []bool{false, true} {
		var buf bytes.Buffer
		p, err := NewParquet(&buf, ParquetOptions{TSMicro: micro})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		_, as, ps := parseParquet(t, buf.Bytes())
		want := map[string]string{
			"frame": "Int(bitWidth=64, isSigned=false)", "stream": "Int(bitWidth=64, isSigned=false)",
			"iface": "Int(bitWidth=32, isSigned=false)", "seq": "Int(bitWidth=32, isSigned=false)",
			"seq_rel": "Int(bitWidth=32, isSigned=false)", "src_port": "Int(bitWidth=16, isSigned=false)",
			"flags_raw": "Int(bitWidth=16, isSigned=false)", "ip_version": "Int(bitWidth=8, isSigned=false)",
			"wscale": "Int(bitWidth=8, isSigned=false)", "src_ip": "String", "options": "String",
			"ts": "Timestamp(isAdjustedToUTC=true, timeUnit=nanoseconds, is_from_converted_type=false, force_set_converted_type=false)",
		}
		if micro {
			want["ts"] = strings.Replace(want["ts"], "nanoseconds", "microseconds", 1)
		}
		nullable := map[string]bool{"seq_rel": true, "ack_rel": true, "window_scaled": true, "mss": true,
			"wscale": true, "ts_val": true, "ts_ecr": true, "sack": true, "options": true}
		for i := 0; i < ps.Root().NumFields(); i++ {
			n := ps.Root().Field(i)
			if lt, ok := want[n.Name()]; ok {
				got := n.LogicalType().String()
				if got != lt {
					t.Errorf("ts micro=%v: %s logical type %s, want %s", micro, n.Name(), got, lt)
				}
			}
			if opt := n.RepetitionType() == parquet.Repetitions.Optional; opt != nullable[n.Name()] {
				t.Errorf("%s: optional=%v, want %v", n.Name(), opt, nullable[n.Name()])
			}
		}
		if f, _ := as.FieldsByName("ts"); len(f) != 1 || f[0].Type.(*arrow.TimestampType).TimeZone != "UTC" {
			t.Errorf("ts arrow type %v", f)
		}
	}
}

// TestParquetFooterOnBadInput: when the input is cut mid-record, the rows before
// the cut form a complete Parquet file and the reader's error comes back.
func TestParquetFooterOnBadInput(t *testing.T) {
	src := testcorpus.Pcap(t, "filesamples-200722_tcp_anon.pcapng")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.pcapng")
	if err := os.WriteFile(cut, b[:len(b)*2/3], 0o644); err != nil {
		t.Fatal(err)
	}
	out, st, err := exportBytes(t, cut, "parquet", nil)
	var pe *reader.PacketError
	if !errors.As(err, &pe) || pe.File != cut || pe.Packet == 0 {
		t.Fatalf("error %v, want a *reader.PacketError naming the file and packet", err)
	}
	tb, _, _ := parseParquet(t, out)
	if len(tb.rows) == 0 || uint64(len(tb.rows)) != st.Rows {
		t.Fatalf("%d rows in the file, %d exported", len(tb.rows), st.Rows)
	}
	last, _ := strconv.ParseUint(tb.rows[len(tb.rows)-1]["frame"], 10, 64)
	if last >= pe.Packet {
		t.Fatalf("last row is frame %d, the error is at packet %d", last, pe.Packet)
	}
}

// TestColumnsSelection: --columns picks and orders columns in every format.
func TestColumnsSelection(t *testing.T) {
	path := testcorpus.Pcap(t, "pcpp-one_tcp_stream.pcap")
	cols, err := ParseColumns("seq_rel,src_ip,sack,ts")
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := exportBytes(t, path, "csv", cols)
	if err != nil {
		t.Fatal(err)
	}
	if h, _, _ := strings.Cut(string(b), "\n"); h != "seq_rel,src_ip,sack,ts" {
		t.Fatalf("header %q", h)
	}
	b, _, err = exportBytes(t, path, "parquet", cols)
	if err != nil {
		t.Fatal(err)
	}
	tb, _, _ := parseParquet(t, b)
	if strings.Join(tb.cols, ",") != "seq_rel,src_ip,sack,ts" {
		t.Fatalf("parquet columns %v", tb.cols)
	}
	for _, bad := range []string{"nope", "seq,seq"} {
		if _, err := ParseColumns(bad); err == nil {
			t.Errorf("ParseColumns(%q) accepted", bad)
		}
	}
}

func TestTimestampFormats(t *testing.T) {
	var f tsFormatter
	vals := []int64{0, 1, 999_999_999, 1_000_000_000, 1658816767_794026000, -1, -1_500_000_000, 951782400_000000000, 4102444799_999999999,
		1 << 32 * 1e9, 1 << 33 * 1e9, math.MaxInt64, math.MinInt64, math.MinInt64 + 1}
	x := big.NewInt(1)
	for i := 0; i < 2000; i++ {
		x.Mul(x, big.NewInt(6364136223846793005)).Add(x, big.NewInt(1442695040888963407)).Mod(x, new(big.Int).Lsh(big.NewInt(1), 62))
		vals = append(vals, x.Int64()%(1<<61)-(1<<60))
	}
	for _, v := range vals {
		want := time.Unix(0, v).UTC().Format("2006-01-02T15:04:05.000000000Z")
		if got := string(f.appendRFC3339(nil, v)); got != want {
			t.Fatalf("%d: %s, want %s", v, got, want)
		}
		sec, frac := splitNS(v)
		if got, want := string(appendEpoch(nil, v)), epochRef(sec, frac); got != want {
			t.Fatalf("%d epoch: %s, want %s", v, got, want)
		}
	}
}

func epochRef(sec, frac int64) string {
	if sec < 0 && frac != 0 {
		return fmt.Sprintf("-%d.%09d", -(sec + 1), 1e9-frac)
	}
	return fmt.Sprintf("%d.%09d", sec, frac)
}

// TestHotPathAllocs: building and encoding rows allocates nothing per packet.
func TestHotPathAllocs(t *testing.T) {
	path := testcorpus.Pcap(t, "filesamples-200722_tcp_anon.pcapng")
	r, err := reader.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var pkts []reader.Packet
	for {
		p, err := r.Next()
		if err != nil {
			break
		}
		pkts = append(pkts, p.Clone())
	}
	b := &Batch{}
	var rec decode.Record
	ct := decode.NewConnTracker(decode.DefaultConnOptions)
	fill := func() {
		b.Reset()
		for i := range pkts {
			decode.Decode(pkts[i].LinkType, pkts[i].Data, pkts[i].WireLen, &rec)
			if Exportable(&rec) {
				c, _ := ct.Track(&rec, pkts[i].Timestamp)
				b.Add(&pkts[i], &rec, &c, true)
			}
		}
	}
	fill()
	if n := testing.AllocsPerRun(20, fill); n != 0 {
		t.Errorf("decode, track and Add: %v allocations per %d packets", n, len(pkts))
	}
	// Enough rows for the encoders to share each batch among goroutines.
	big := &Batch{Text: b.Text}
	for len(big.Rows) < 2*minSplit {
		big.Rows = append(big.Rows, b.Rows...)
	}
	for _, mk := range []func(io.Writer) Encoder{
		func(w io.Writer) Encoder { return NewCSV(w, LineOptions{}) },
		func(w io.Writer) Encoder { return NewJSON(w, LineOptions{Time: TSEpoch}) },
	} {
		enc := mk(io.Discard)
		for _, bt := range []*Batch{b, big} {
			enc.WriteBatch(bt)
			if n := testing.AllocsPerRun(20, func() { enc.WriteBatch(bt) }); n != 0 {
				t.Errorf("%T: %v allocations per batch of %d rows", enc, n, bt.Len())
			}
		}
		enc.Close()
	}
}

func TestAppendU(t *testing.T) {
	vals := []uint64{0, 9, 10, 99, 100, 101, 999, 1000, 65535, 1<<32 - 1, 1 << 32, 1<<64 - 1}
	for v := uint64(1); v < 1<<60; v = v*7 + 3 {
		vals = append(vals, v)
	}
	for _, v := range vals {
		if got, want := string(appendU(nil, v)), strconv.FormatUint(v, 10); got != want {
			t.Fatalf("appendU(%d) = %s", v, got)
		}
	}
}

// TestParquetMicroseconds: --ts-unit us stores the same instants, floored to µs.
func TestParquetMicroseconds(t *testing.T) {
	path := testcorpus.Pcap(t, "tcp-handshake-nano.pcap")
	r, err := reader.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var buf bytes.Buffer
	p, err := NewParquet(&buf, ParquetOptions{TSMicro: true, Columns: []Column{ColFrame, ColTS}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(r, p, RunOptions{Columns: []Column{ColFrame, ColTS}}); err != nil {
		t.Fatal(err)
	}
	micro, _, _ := parseParquet(t, buf.Bytes())
	nano, _, _ := exportTable(t, path, "csv")
	if len(micro.rows) == 0 || len(micro.rows) != len(nano.rows) {
		t.Fatalf("%d rows in µs, %d in ns", len(micro.rows), len(nano.rows))
	}
	for i := range nano.rows {
		tn, _ := time.Parse(time.RFC3339Nano, nano.rows[i]["ts"])
		tu, _ := time.Parse(time.RFC3339Nano, micro.rows[i]["ts"])
		if !tu.Equal(tn.Truncate(time.Microsecond)) {
			t.Errorf("row %d: µs %s, ns %s", i, micro.rows[i]["ts"], nano.rows[i]["ts"])
		}
	}
}

func TestJSONString(t *testing.T) {
	for _, s := range []string{"", "mss 1460,nop", "a\"b\\c", "tab\there\x01", "caf\xc3\xa9", "bad\xff utf8"} {
		got := appendJSONString(nil, []byte(s))
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q: %s: %v", s, got, err)
		}
		if want := strings.ToValidUTF8(s, "\uFFFD"); back != want {
			t.Errorf("%q came back as %q", s, back)
		}
	}
}

// benchBatch is a corpus capture's rows, repeated to a full batch.
func benchBatch(b *testing.B) *Batch {
	r, err := reader.Open(testcorpus.Pcap(b, "pcpp-many-protocols.pcap"))
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	bt := &Batch{}
	var rec decode.Record
	ct := decode.NewConnTracker(decode.DefaultConnOptions)
	for bt.Len() < BatchRows {
		p, err := r.Next()
		if err != nil {
			break
		}
		decode.Decode(p.LinkType, p.Data, p.WireLen, &rec)
		if Exportable(&rec) {
			c, _ := ct.Track(&rec, p.Timestamp)
			bt.Add(p, &rec, &c, true)
		}
	}
	for n := bt.Len(); bt.Len()+n <= BatchRows; {
		bt.Rows = append(bt.Rows, bt.Rows[:n]...)
	}
	return bt
}

func benchEncoder(b *testing.B, mk func(io.Writer) Encoder) {
	bt := benchBatch(b)
	enc := mk(io.Discard)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := enc.WriteBatch(bt); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	enc.Close()
	b.ReportMetric(float64(b.N*bt.Len())/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkEncodeCSV(b *testing.B) {
	benchEncoder(b, func(w io.Writer) Encoder { return NewCSV(w, LineOptions{}) })
}

func BenchmarkEncodeJSON(b *testing.B) {
	benchEncoder(b, func(w io.Writer) Encoder { return NewJSON(w, LineOptions{}) })
}

func BenchmarkEncodeParquet(b *testing.B) {
	benchEncoder(b, func(w io.Writer) Encoder {
		p, err := NewParquet(w, ParquetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		return p
	})
}

// TestExtremeTimesCSVJSON writes the ts column at the ends of the int64
// nanosecond range through the CSV and JSON encoders in every time format.
func TestExtremeTimesCSVJSON(t *testing.T) {
	tests := []struct {
		ts                 int64
		epoch, ns, rfc3339 string
	}{
		{0, "0.000000000", "0", "1970-01-01T00:00:00.000000000Z"},
		{-1, "-0.000000001", "-1", "1969-12-31T23:59:59.999999999Z"},
		{-1_500_000_000, "-1.500000000", "-1500000000", "1969-12-31T23:59:58.500000000Z"},
		{1 << 32 * 1e9, "4294967296.000000000", "4294967296000000000", "2106-02-07T06:28:16.000000000Z"},
		{math.MaxInt64, "9223372036.854775807", "9223372036854775807", "2262-04-11T23:47:16.854775807Z"},
		{math.MinInt64, "-9223372036.854775808", "-9223372036854775808", "1677-09-21T00:12:43.145224192Z"},
	}
	for _, format := range []TSFormat{TSEpoch, TSEpochNS, TSRFC3339} {
		for _, isJSON := range []bool{false, true} {
			var out bytes.Buffer
			o := LineOptions{Columns: []Column{ColTS}, Time: format}
			enc := NewCSV(&out, o)
			if isJSON {
				enc = NewJSON(&out, o)
			}
			var b Batch
			for _, tc := range tests {
				b.Rows = append(b.Rows, Row{TS: tc.ts})
			}
			if err := enc.WriteBatch(&b); err != nil {
				t.Fatal(err)
			}
			if err := enc.Close(); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if !isJSON {
				lines = lines[1:] // header
			}
			if len(lines) != len(tests) {
				t.Fatalf("format %d json %v: %d lines: %q", format, isJSON, len(lines), out.String())
			}
			for i, tc := range tests {
				want := map[TSFormat]string{TSEpoch: tc.epoch, TSEpochNS: tc.ns, TSRFC3339: tc.rfc3339}[format]
				if isJSON {
					if format == TSRFC3339 {
						want = `"` + want + `"`
					}
					want = `{"ts":` + want + `}`
				}
				if lines[i] != want {
					t.Errorf("format %d json %v ts %d: %s, want %s", format, isJSON, tc.ts, lines[i], want)
				}
			}
		}
	}
}
