package export

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/pcaptk/pcaptk/internal/parquettest"
	"github.com/pcaptk/pcaptk/internal/testcorpus"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// TestParquetNoRows: a file without rows is a valid Parquet file (schema, no
// row group) that arrow-go opens.
func TestParquetNoRows(t *testing.T) {
	var buf bytes.Buffer
	enc, err := NewParquet(&buf, ParquetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.WriteBatch(&Batch{}); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	pf, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	if pf.NumRows() != 0 || pf.NumRowGroups() != 0 || pf.MetaData().Schema.NumColumns() != len(AllColumns())+1 /* sack has two leaves */ {
		t.Errorf("rows %d groups %d columns %d", pf.NumRows(), pf.NumRowGroups(), pf.MetaData().Schema.NumColumns())
	}
}

// The tests below hung before the fixes of the review: an endless loop when
// the writer failed with a row group ending inside a batch, and a deadlock with
// no columns.

// TestParquetNoColumns: an empty (non-nil) column list either fails or
// writes; it must not hang.
func TestParquetNoColumns(t *testing.T) {
	parquettest.Within(t, 10*time.Second, func() {
		enc, err := NewParquet(io.Discard, ParquetOptions{Columns: []Column{}})
		if err != nil {
			return
		}
		_ = enc.WriteBatch(synthRows(1, 10, false)[0])
		_ = enc.Close()
	})
}

// TestParquetRunFailingWriter: the whole pipeline over a corpus capture into a
// writer that fails part-way returns the writer's error, with row groups
// smaller and larger than a batch.
func TestParquetRunFailingWriter(t *testing.T) {
	path := filepath.Join(testcorpus.Dir(t), "pcap", "pcpp-many-protocols.pcap")
	for _, rg := range []int64{DefaultRowGroupSize, 7} {
		for _, limit := range []int{4, 2000, 50000} {
			t.Logf("rg %d limit %d", rg, limit)
			r, err := reader.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			var runErr error
			parquettest.Within(t, 10*time.Second, func() {
				enc, err := NewParquet(&parquettest.FailAfter{N: limit}, ParquetOptions{RowGroupSize: rg})
				if err != nil {
					t.Fatal(err)
				}
				_, runErr = Run(r, enc, RunOptions{})
			})
			r.Close()
			if !errors.Is(runErr, parquettest.ErrDiskFull) {
				t.Errorf("rg %d limit %d: Run returned %v, want %v", rg, limit, runErr, parquettest.ErrDiskFull)
			}
		}
	}
}
