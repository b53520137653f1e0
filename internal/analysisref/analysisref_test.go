package analysisref

import (
	"os"
	"strings"
	"testing"
)

// TestCompare: the rules of analysis-diff.sh, one field at a time.
func TestCompare(t *testing.T) {
	col := func(name string) int {
		for i, f := range Fields {
			if f.Column == name {
				return i
			}
		}
		t.Fatalf("no field %s", name)
		return -1
	}
	base := func() Row {
		r := make(Row, len(Fields))
		r[col("stream")] = Some(3)
		r[col("time_delta")] = Some(0.25)
		return r
	}
	for _, c := range []struct {
		name   string
		change func(Row)
		agree  bool
	}{
		{"same", func(Row) {}, true},
		{"duration within 1 µs", func(r Row) { r[col("time_delta")] = Some(0.2500009) }, true},
		{"duration 2 µs off", func(r Row) { r[col("time_delta")] = Some(0.250002) }, false},
		{"another stream", func(r Row) { r[col("stream")] = Some(4) }, false},
		{"a flag only pcaptk sets", func(r Row) { r[col("dup_ack")] = Value{1, true} }, false},
		{"a value only pcaptk has", func(r Row) { r[col("acks_frame")] = Some(7) }, false},
		{"a value pcaptk lacks", func(r Row) { r[col("time_delta")] = Value{} }, false},
	} {
		ours := base()
		c.change(ours)
		ty := NewTally(0, nil)
		ty.Compare("x", []Ref{{Frame: 1, Row: base()}}, map[uint64]Row{1: ours})
		if got := ty.RowsOK == 1; got != c.agree {
			t.Errorf("%s: agree %v, want %v", c.name, got, c.agree)
		}
	}
	ty := NewTally(0, nil)
	ty.Compare("x", []Ref{{Frame: 2, Row: base()}}, map[uint64]Row{})
	if ty.Absent != 1 || ty.Rows != 0 {
		t.Errorf("a frame pcaptk has no row for: absent %d, rows %d", ty.Absent, ty.Rows)
	}
}

// TestReadTables: tshark's 1 and pcaptk's true set a flag, empty cells are
// absent, and the columns are found by name in either table.
func TestReadTables(t *testing.T) {
	var head, ours, theirs []string
	for _, f := range Fields {
		head = append(head, f.Column)
		switch {
		case f.Flag:
			ours, theirs = append(ours, "true"), append(theirs, "1")
		case f.Column == "ack_rtt":
			ours, theirs = append(ours, ""), append(theirs, "")
		default:
			ours, theirs = append(ours, "0.5"), append(theirs, "0.5")
		}
	}
	got, err := ReadExport(strings.NewReader("frame," + strings.Join(head, ",") + "\n7," + strings.Join(ours, ",") + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	row, ok := got[7]
	if !ok {
		t.Fatal("no frame 7")
	}
	for i, f := range Fields {
		want := Some(0.5)
		if f.Flag {
			want = Value{1, true}
		}
		if f.Column == "ack_rtt" {
			want = Value{}
		}
		if row[i] != want {
			t.Errorf("%s: %v, want %v", f.Column, row[i], want)
		}
	}
	if _, err := ReadExport(strings.NewReader("frame,stream\n1,2\n")); err == nil {
		t.Error("a table without the analysis columns was read")
	}
	var th []string
	for _, f := range Fields {
		th = append(th, f.Tshark)
	}
	ty := NewTally(0, nil)
	path := t.TempDir() + "/x.tshark-analysis.csv"
	if err := writeFile(path, "frame.number,"+strings.Join(th, ",")+"\n7,"+strings.Join(theirs, ",")+"\n"); err != nil {
		t.Fatal(err)
	}
	refs, err := ReadRef(path)
	if err != nil {
		t.Fatal(err)
	}
	ty.Compare("x", refs, got)
	if ty.RowsOK != 1 {
		t.Error("tshark's 1 and pcaptk's true do not agree")
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }
