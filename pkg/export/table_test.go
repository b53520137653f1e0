package export

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/pcaptk/pcaptk/internal/parquettest"
	"github.com/pcaptk/pcaptk/pkg/export/parquet"
)

type testRow struct {
	N       uint64
	Port    uint16
	Signed  int32
	On      bool
	TS      int64
	Dur     int64
	HasDur  bool
	State   uint8
	IP      [16]byte
	Version uint8
	Hist    [8]byte
	HistLen uint8
	ID      [6]byte
}

var testCols = []TableColumn{
	{Name: "n", Type: TypeUint, Field: "N"},
	{Name: "port", Type: TypeUint, Field: "Port"},
	{Name: "signed", Type: TypeInt, Field: "Signed"},
	{Name: "on", Type: TypeBool, Field: "On"},
	{Name: "ts", Type: TypeTime, Field: "TS"},
	{Name: "dur", Type: TypeDuration, Field: "Dur", Valid: "HasDur"},
	{Name: "state", Type: TypeEnum, Field: "State", Names: []string{"S0", "SF", `a "quoted", name`}},
	{Name: "ip", Type: TypeIP, Field: "IP", Aux: "Version"},
	{Name: "hist", Type: TypeText, Field: "Hist", Aux: "HistLen"},
	{Name: "id", Type: TypeText, Field: "ID"},
}

func testRows() []testRow {
	v6 := [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}
	return []testRow{
		{N: 1<<64 - 1, Port: 443, Signed: -7, On: true, TS: 1764088003065693000, Dur: 1500, HasDur: true,
			State: 1, IP: [16]byte{10, 0, 0, 1}, Version: 4, Hist: [8]byte{'S', 'h', 'A'}, HistLen: 3, ID: [6]byte{'1', ':', 'a', 'b'}},
		{N: 0, Port: 80, Signed: 0, TS: -1, State: 2, IP: v6, Version: 6, Hist: [8]byte{'^', 'd', ','}, HistLen: 3, ID: [6]byte{'x', '"', '\n'}},
		{State: 9, Version: 4, Hist: [8]byte{'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x'}, HistLen: 200},
	}
}

func TestTableCSVAndJSON(t *testing.T) {
	tab, err := NewTable[testRow](testCols)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		json bool
		tf   TSFormat
		want string
	}{
		{"csv", false, TSRFC3339, `n,port,signed,on,ts,dur,state,ip,hist,id
18446744073709551615,443,-7,true,2025-11-25T16:26:43.065693000Z,0.000001500,SF,10.0.0.1,ShA,1:ab
0,80,0,false,1969-12-31T23:59:59.999999999Z,,"a ""quoted"", name",2001:db8::1,"^d,","x""
"
0,0,0,false,1970-01-01T00:00:00.000000000Z,,9,0.0.0.0,xxxxxxxx,
`},
		{"csv-epoch", false, TSEpoch, `n,port,signed,on,ts,dur,state,ip,hist,id
18446744073709551615,443,-7,true,1764088003.065693000,0.000001500,SF,10.0.0.1,ShA,1:ab
0,80,0,false,-0.000000001,,"a ""quoted"", name",2001:db8::1,"^d,","x""
"
0,0,0,false,0.000000000,,9,0.0.0.0,xxxxxxxx,
`},
		{"json-epoch-ns", true, TSEpochNS, `{"n":18446744073709551615,"port":443,"signed":-7,"on":true,"ts":1764088003065693000,"dur":0.000001500,"state":"SF","ip":"10.0.0.1","hist":"ShA","id":"1:ab"}
{"n":0,"port":80,"signed":0,"on":false,"ts":-1,"dur":null,"state":"a \"quoted\", name","ip":"2001:db8::1","hist":"^d,","id":"x\"\u000a"}
{"n":0,"port":0,"signed":0,"on":false,"ts":0,"dur":null,"state":9,"ip":"0.0.0.0","hist":"xxxxxxxx","id":""}
`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			var w *TableWriter[testRow]
			if c.json {
				w = NewTableJSON(&out, tab, TableOptions{Time: c.tf})
			} else {
				w = NewTableCSV(&out, tab, TableOptions{Time: c.tf})
			}
			rows := testRows()
			for i := range rows {
				if err := w.Write(&rows[i]); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if out.String() != c.want {
				t.Errorf("got\n%s\nwant\n%s", out.String(), c.want)
			}
			// What the standard library's readers make of it.
			if c.json {
				for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
					var m map[string]any
					if err := json.Unmarshal([]byte(line), &m); err != nil || len(m) != len(testCols) {
						t.Errorf("%v: %d keys in %s", err, len(m), line)
					}
				}
			} else {
				recs, err := csv.NewReader(&out).ReadAll()
				if err != nil || len(recs) != 4 || recs[2][6] != `a "quoted", name` || recs[2][9] != "x\"\n" {
					t.Errorf("csv: %v %q", err, recs)
				}
			}
		})
	}
}

func TestTableSelectAndErrors(t *testing.T) {
	tab, err := NewTable[testRow](testCols)
	if err != nil {
		t.Fatal(err)
	}
	sel, err := tab.Select("ip, n")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w := NewTableJSON(&out, sel, TableOptions{})
	rows := testRows()
	w.Write(&rows[0])
	w.Close()
	if got := out.String(); got != "{\"ip\":\"10.0.0.1\",\"n\":18446744073709551615}\n" {
		t.Errorf("selected: %s", got)
	}
	// The full table's keys are untouched by the selection.
	out.Reset()
	w = NewTableJSON(&out, tab, TableOptions{})
	w.Write(&rows[0])
	w.Close()
	if !strings.HasPrefix(out.String(), `{"n":`) {
		t.Errorf("full table after a selection: %s", out.String())
	}
	for _, bad := range []string{"nope", "n,n", "n,,ip"} {
		if _, err := tab.Select(bad); err == nil {
			t.Errorf("Select(%q) accepted", bad)
		}
	}
	for _, c := range []TableColumn{
		{Name: "x", Type: TypeUint, Field: "Missing"},
		{Name: "x", Type: TypeUint, Field: "On"},
		{Name: "x", Type: TypeTime, Field: "Port"},
		{Name: "x", Type: TypeIP, Field: "IP"}, // no version field
		{Name: "x", Type: TypeDuration, Field: "Dur", Valid: "Port"},
		{Name: "x", Type: TypeText, Field: "Hist", Aux: "On"},
	} {
		if _, err := NewTable[testRow]([]TableColumn{c}); err == nil {
			t.Errorf("NewTable accepted %+v", c)
		}
	}
	// A CSV without rows still has its header.
	out.Reset()
	NewTableCSV(&out, sel, TableOptions{}).Close()
	if out.String() != "ip,n\n" {
		t.Errorf("empty CSV: %q", out.String())
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	f.n++
	return 0, io.ErrShortWrite
}

func TestTableWriterKeepsFirstError(t *testing.T) {
	tab, _ := NewTable[testRow](testCols)
	fw := &failWriter{}
	w := NewTableCSV(fw, tab, TableOptions{})
	rows := testRows()
	var err error
	for i := 0; i < 5000 && err == nil; i++ {
		err = w.Write(&rows[i%len(rows)])
	}
	if err != io.ErrShortWrite || w.Close() != io.ErrShortWrite || w.Write(&rows[0]) != io.ErrShortWrite || fw.n != 1 {
		t.Errorf("err %v, %d writes", err, fw.n)
	}
}

func TestTableWriterAllocs(t *testing.T) {
	tab, _ := NewTable[testRow](testCols)
	rows := testRows()
	for _, json := range []bool{false, true} {
		var w *TableWriter[testRow]
		if json {
			w = NewTableJSON(io.Discard, tab, TableOptions{})
		} else {
			w = NewTableCSV(io.Discard, tab, TableOptions{})
		}
		i := 0
		if n := testing.AllocsPerRun(10000, func() {
			w.Write(&rows[i%len(rows)])
			i++
		}); n != 0 {
			t.Errorf("json %v: %.1f allocations a row", json, n)
		}
	}
}

// TestTableParquet: the table's Parquet columns hold the values CSV shows, in
// the types SCHEMA gives them (what arrow-go reads back).
func TestTableParquet(t *testing.T) {
	full, _ := NewTable[testRow](testCols)
	if _, err := ParquetColumns(full, parquet.Nanos); err == nil {
		t.Error("a 32-bit signed column was accepted")
	}
	tab, err := full.Select("n,port,on,ts,dur,state,ip,hist,id")
	if err != nil {
		t.Fatal(err)
	}
	cols, err := ParquetColumns(tab, parquet.Nanos)
	if err != nil {
		t.Fatal(err)
	}
	var pq, csvOut bytes.Buffer
	w, err := parquet.NewWriter(&pq, cols, parquet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rows := testRows()
	if err := w.Write(rows, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	cw := NewTableCSV(&csvOut, tab, TableOptions{})
	for i := range rows {
		cw.Write(&rows[i])
	}
	cw.Close()
	recs, _ := csv.NewReader(&csvOut).ReadAll()

	names, cells, as, _ := parquettest.ReadCells(t, pq.Bytes(), arrowCell)
	if strings.Join(names, ",") != strings.Join(recs[0], ",") {
		t.Fatalf("columns %v, CSV %v", names, recs[0])
	}
	wantTypes := map[string]string{"n": "uint64", "port": "uint16", "on": "bool", "ts": "timestamp[ns, tz=UTC]",
		"dur": "int64", "state": "utf8", "ip": "utf8", "hist": "utf8", "id": "utf8"}
	for _, f := range as.Fields() {
		if f.Type.String() != wantTypes[f.Name] || f.Nullable != (f.Name == "dur") {
			t.Errorf("%s: %s (nullable %v)", f.Name, f.Type, f.Nullable)
		}
	}
	for i, name := range names {
		for r := range rows {
			got, want := cells[name][r], recs[r+1][i]
			if name == "dur" && got != "" {
				ns, _ := strconv.ParseInt(got, 10, 64)
				got = string(appendEpoch(nil, ns))
			}
			if got != want {
				t.Errorf("row %d %s: parquet %q, csv %q", r, name, got, want)
			}
		}
	}
}
