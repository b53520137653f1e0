// Package parquettest holds what the tests of pkg/export and
// pkg/export/parquet both use to check Parquet files: cells and page
// encodings read back with arrow-go, the schema compared with pqarrow's, a
// writer that fails like a full disk, a deadline for code that could hang. Only tests import it, so the binary does not link arrow-go.
package parquettest

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	pqfile "github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// PageEncodings returns the encodings of the data pages of column name that
// hold level entries.
func PageEncodings(t testing.TB, pq []byte, name string) map[parquet.Encoding]bool {
	t.Helper()
	pf, err := pqfile.NewParquetReader(bytes.NewReader(pq))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	col := pf.MetaData().Schema.ColumnIndexByName(name)
	encs := map[parquet.Encoding]bool{}
	for g := 0; g < pf.NumRowGroups(); g++ {
		pr, err := pf.RowGroup(g).GetColumnPageReader(col)
		if err != nil {
			t.Fatal(err)
		}
		for pr.Next() {
			if p := pr.Page(); p.Type() == pqfile.PageTypeDataPage && p.NumValues() > 0 {
				encs[parquet.Encoding(p.Encoding())] = true
			}
		}
		if pr.Err() != nil {
			t.Fatal(pr.Err())
		}
	}
	return encs
}

// CheckSchema checks that the schema in the footer of file is the one
// arrow-go's pqarrow derives from the Arrow schema want, and that arrow-go
// reads it back as want.
func CheckSchema(t testing.TB, file []byte, want *arrow.Schema) {
	t.Helper()
	ws, err := pqarrow.ToParquet(want, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	pf, err := pqfile.NewParquetReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	got := pf.MetaData().Schema
	var w, g bytes.Buffer
	schema.PrintSchema(ws.Root(), &w, 2)
	schema.PrintSchema(got.Root(), &g, 2)
	if normSchema(w.String()) != normSchema(g.String()) {
		t.Errorf("schema differs from pqarrow's\n got:\n%s\nwant:\n%s", g.String(), w.String())
	}
	as, err := pqarrow.FromParquet(got, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if normArrow(as) != normArrow(want) {
		t.Errorf("arrow reads the schema as\n%s\nwant\n%s", as, want)
	}
}

// ReadCells reads file with arrow-go's reader (pqarrow): the column names in
// order, each column's cells as cell writes them, and the file's Arrow and
// Parquet schemas.
func ReadCells(t testing.TB, file []byte, cell func(arrow.Array, int) string) ([]string, map[string][]string, *arrow.Schema, *schema.Schema) {
	t.Helper()
	pf, err := pqfile.NewParquetReader(bytes.NewReader(file))
	if err != nil {
		t.Fatalf("parquet: %v", err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatalf("parquet read: %v", err)
	}
	defer tbl.Release()
	var names []string
	cells := map[string][]string{}
	for ci := 0; ci < int(tbl.NumCols()); ci++ {
		col := tbl.Column(ci)
		names = append(names, col.Name())
		c := []string{}
		for _, chunk := range col.Data().Chunks() {
			for k := 0; k < chunk.Len(); k++ {
				c = append(c, cell(chunk, k))
			}
		}
		cells[col.Name()] = c
	}
	return names, cells, tbl.Schema(), pf.MetaData().Schema
}

// normSchema drops what differs between pqarrow's in-memory schema and the
// one read from a footer without changing the file: the root's repetition (a
// footer gives the root none) and pqarrow's flag to force a converted type
// (timestamps in ns have none to force).
func normSchema(s string) string {
	first, rest, _ := strings.Cut(s, "\n")
	first = strings.Replace(strings.Replace(first, "repeated group", "group", 1), "required group", "group", 1)
	rest = strings.ReplaceAll(rest, ", force_set_converted_type=true", ", force_set_converted_type=false")
	return first + "\n" + rest
}

// normArrow prints the field names and types only: arrow-go adds field-id
// metadata when it reads a footer, and names a list's elements "element", as
// Parquet's LIST convention does, where arrow.ListOf says "item".
func normArrow(s *arrow.Schema) string {
	var b strings.Builder
	for _, f := range s.Fields() {
		b.WriteString(f.Name + " " + strings.ReplaceAll(f.Type.String(), "element:", "item:"))
		if f.Nullable {
			b.WriteString(" nullable")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// Pick32 returns a 32-bit number for a column that should reach its corners:
// 0, the largest, small ones, and random ones, half of the time.
func Pick32(rng *rand.Rand) uint32 {
	switch rng.IntN(8) {
	case 0:
		return 0
	case 1:
		return math.MaxUint32
	case 2:
		return uint32(rng.IntN(300))
	}
	return rng.Uint32()
}

// FailAfter is a writer that accepts N bytes and then fails with
// ErrDiskFull, as a full disk; Buf holds what it accepted.
type FailAfter struct {
	N   int
	Buf bytes.Buffer
}

// ErrDiskFull is FailAfter's error.
var ErrDiskFull = errors.New("no space left on device")

func (w *FailAfter) Write(p []byte) (int, error) {
	if w.Buf.Len()+len(p) > w.N {
		k := w.N - w.Buf.Len()
		w.Buf.Write(p[:k])
		return k, ErrDiskFull
	}
	return w.Buf.Write(p)
}

// Within fails the test if f does not return within d.
func Within(t testing.TB, d time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("did not return within %v (deadlock or endless loop)", d)
	}
}
