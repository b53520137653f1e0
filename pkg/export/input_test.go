package export

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"

	"github.com/pcaptk/pcaptk/internal/testcorpus"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// exportMerged exports several captures merged in time order, as export does
// with several inputs and one output: the input column first, frames and
// interfaces counted per input.
func exportMerged(t *testing.T, paths []string, format string, cols []Column) []byte {
	t.Helper()
	var rs []*reader.Reader
	for _, p := range paths {
		r, err := reader.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		rs = append(rs, r)
	}
	m := reader.Merge(rs, false)
	var buf bytes.Buffer
	var enc Encoder
	switch format {
	case "csv":
		enc = NewCSV(&buf, LineOptions{Columns: cols, Inputs: paths})
	case "json":
		enc = NewJSON(&buf, LineOptions{Columns: cols, Inputs: paths})
	case "parquet":
		p, err := NewParquet(&buf, ParquetOptions{Columns: cols, RowGroupSize: 7, Inputs: paths})
		if err != nil {
			t.Fatal(err)
		}
		enc = p
	}
	if _, err := Run(m, enc, RunOptions{Columns: cols, Origin: m}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestInputColumn: with several inputs the input column names each row's
// input and frame and iface count within it, the same in CSV, JSON and
// Parquet (a dictionary string column); each input's rows equal that input
// exported alone.
func TestInputColumn(t *testing.T) {
	paths := []string{testcorpus.Pcap(t, "pcpp-many_interfaces-1.pcapng"), testcorpus.Pcap(t, "ssh.pcap"),
		testcorpus.Pcap(t, "print-flags.pcap")}
	for _, cols := range [][]Column{append([]Column{ColInput}, AllColumns()...), {ColFrame, ColInput, ColIface, ColSrcPort}} {
		c := parseCSV(t, exportMerged(t, paths, "csv", cols))
		j := parseJSON(t, exportMerged(t, paths, "json", cols))
		pq, sch, _ := parseParquet(t, exportMerged(t, paths, "parquet", cols))
		if f, ok := sch.FieldsByName("input"); !ok || f[0].Type.String() != "utf8" && f[0].Type.String() != "dictionary<values=utf8, indices=int32, ordered=false>" {
			t.Errorf("parquet input column: %v", f)
		}
		if len(c.rows) != len(j.rows) || len(c.rows) != len(pq.rows) {
			t.Fatalf("rows: csv %d json %d parquet %d", len(c.rows), len(j.rows), len(pq.rows))
		}
		byInput := map[string][]map[string]string{}
		for i := range c.rows {
			for _, col := range c.cols {
				if c.rows[i][col] != j.rows[i][col] || c.rows[i][col] != pq.rows[i][col] {
					t.Fatalf("row %d %s: csv %q json %q parquet %q", i, col, c.rows[i][col], j.rows[i][col], pq.rows[i][col])
				}
			}
			in := c.rows[i]["input"]
			byInput[in] = append(byInput[in], c.rows[i])
		}
		if len(byInput) != len(paths) {
			t.Errorf("rows from %d inputs, want %d", len(byInput), len(paths))
		}
		for _, p := range paths {
			var own []Column
			for _, col := range cols {
				if col != ColInput {
					own = append(own, col)
				}
			}
			b, _, err := exportBytes(t, p, "csv", own)
			if err != nil {
				t.Fatal(err)
			}
			alone := parseCSV(t, b)
			got := byInput[p]
			if len(got) != len(alone.rows) {
				t.Fatalf("%s: %d rows merged, %d alone", p, len(got), len(alone.rows))
			}
			for i := range got {
				for _, col := range []string{"frame", "iface", "src_port"} {
					if got[i][col] != alone.rows[i][col] {
						t.Errorf("%s row %d %s: %q merged, %q alone", p, i, col, got[i][col], alone.rows[i][col])
					}
				}
			}
		}
	}
}

// TestInputColumnAllocs: the input column keeps the hot path allocation-free.
func TestInputColumnAllocs(t *testing.T) {
	var inputs []string
	for i := range 3 {
		inputs = append(inputs, "in-"+strconv.Itoa(i)+".pcap")
	}
	b := &Batch{}
	for i := range 100 {
		b.Rows = append(b.Rows, Row{Frame: uint64(i + 1), Input: uint32(i % 4)}) // 3: beyond the list
	}
	for _, json := range []bool{false, true} {
		var out bytes.Buffer
		o := LineOptions{Columns: []Column{ColInput, ColFrame}, Inputs: inputs}
		enc := NewCSV(&out, o)
		if json {
			enc = NewJSON(&out, o)
		}
		enc.WriteBatch(b)
		if n := testing.AllocsPerRun(20, func() { enc.WriteBatch(b) }); n != 0 {
			t.Errorf("json=%v: %v allocations a batch", json, n)
		}
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		if json && !bytes.Contains(out.Bytes(), []byte(`{"input":null,"frame":4}`)) {
			t.Errorf("an input beyond the list is not null: %s", out.Bytes()[:min(200, out.Len())])
		}
		if !json && !bytes.HasPrefix(out.Bytes(), []byte("input,frame\nin-0.pcap,1\n")) {
			t.Errorf("csv: %s", fmt.Sprint(out.String()[:min(40, out.Len())]))
		}
	}
}
