package export

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/pcaptk/pcaptk/internal/testcorpus"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// failAfter is a writer that accepts n bytes and then fails, as a full disk.
type failAfter struct {
	n   int
	buf bytes.Buffer
}

var errDiskFull = errors.New("no space left on device")

func (w *failAfter) Write(p []byte) (int, error) {
	if w.buf.Len()+len(p) > w.n {
		k := w.n - w.buf.Len()
		w.buf.Write(p[:k])
		return k, errDiskFull
	}
	return w.buf.Write(p)
}

// within fails the test if f does not return within d.
func within(t *testing.T, d time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("did not return within %v (deadlock or endless loop)", d)
	}
}

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
	if pf.NumRows() != 0 || pf.NumRowGroups() != 0 || pf.MetaData().Schema.NumColumns() != len(enc.leaves) {
		t.Errorf("rows %d groups %d columns %d", pf.NumRows(), pf.NumRowGroups(), pf.MetaData().Schema.NumColumns())
	}
}

// TestParquetAsyncRelease: every batch handed to WriteBatchAsync is released
// exactly once, and before Close returns, whether the writer works or fails,
// with row groups cut inside batches; empty batches too.
func TestParquetAsyncRelease(t *testing.T) {
	batches := synthRows(5, 5*BatchRows+17, false)
	batches = append(batches, &Batch{})
	for _, limit := range []int{1 << 40, 30000} {
		for _, rg := range []int64{DefaultRowGroupSize, 5000, 4096} {
			var w io.Writer = &failAfter{n: limit}
			enc, err := NewParquet(w, ParquetOptions{RowGroupSize: rg})
			if err != nil {
				t.Fatal(err)
			}
			var released atomic.Int32
			counts := make([]atomic.Int32, len(batches))
			taken := 0
			var writeErr error
			within(t, 10*time.Second, func() {
				for i, b := range batches {
					err := enc.WriteBatchAsync(b, func() { counts[i].Add(1); released.Add(1) })
					if err != nil {
						writeErr = err
						break
					}
					taken++
				}
				if err := enc.Close(); writeErr == nil {
					writeErr = err
				}
			})
			if int(released.Load()) != taken {
				t.Errorf("limit %d rg %d: %d batches taken, %d released by Close", limit, rg, taken, released.Load())
			}
			for i := range counts {
				if n := counts[i].Load(); n > 1 {
					t.Errorf("limit %d rg %d: batch %d released %d times", limit, rg, i, n)
				}
			}
			if limit < 1<<40 && !errors.Is(writeErr, errDiskFull) {
				t.Errorf("limit %d rg %d: error %v", limit, rg, writeErr)
			}
			if limit == 1<<40 {
				if writeErr != nil {
					t.Fatal(writeErr)
				}
				pf, err := file.NewParquetReader(bytes.NewReader(w.(*failAfter).buf.Bytes()))
				if err != nil {
					t.Fatal(err)
				}
				if pf.NumRows() != 5*BatchRows+17 {
					t.Errorf("rg %d: %d rows", rg, pf.NumRows())
				}
				pf.Close()
			}
		}
	}
}

// TestParquetArenaBounded: the page arenas the leaves keep between row groups
// stop growing once they fit the largest row group, when row groups alternate
// between small and large pages (options text that falls back to PLAIN).
func TestParquetArenaBounded(t *testing.T) {
	small := synthRows(7, 10*BatchRows, false)
	large := synthRows(8, 10*BatchRows, true)
	var buf bytes.Buffer
	enc, err := NewParquet(&buf, ParquetOptions{RowGroupSize: 10 * BatchRows, pageRows: 1000})
	if err != nil {
		t.Fatal(err)
	}
	arena := func() (n int) {
		for _, l := range enc.leaves {
			for _, s := range l.segs {
				n += cap(s)
			}
			for _, s := range l.free {
				n += cap(s)
			}
			n += cap(l.hdrs) + cap(l.i32)*4 + cap(l.i64)*8 + cap(l.plain) + cap(l.idx)*4 + cap(l.def) + cap(l.rep) + cap(l.bits)
			if l.dict != nil {
				n += cap(l.dict.keys) + cap(l.dict.vals) + cap(l.dict.slots)*4 + cap(l.dict.keyEnd)*4 + cap(l.dict.valEnd)*4
			}
		}
		return n
	}
	var sizes []int
	for g := range 16 {
		src := small
		if g%3 == 1 {
			src = large
		}
		for _, b := range src {
			if err := enc.WriteBatch(b); err != nil {
				t.Fatal(err)
			}
		}
		sizes = append(sizes, arena())
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	if encs := pageEncodings(t, buf.Bytes(), "options"); !encs[parquet.Encodings.Plain] {
		t.Errorf("no options chunk fell back to PLAIN: %v", encs)
	}
	if last, early := sizes[len(sizes)-1], sizes[5]; last > early+early/10 {
		t.Errorf("arena bytes after each row group grow: %v", sizes)
	}
	t.Logf("arena bytes: %v", sizes)
}

// The tests below hung before the fixes of the review: an endless loop when
// the writer failed with a row group ending inside a batch, and a deadlock with
// no columns.

// TestParquetFailingWriter: a writer that fails part-way through (a full disk)
// makes WriteBatch or Close report the error, whatever the row-group size, and
// nothing hangs or leaks.
func TestParquetFailingWriter(t *testing.T) {
	batches := synthRows(3, 3*BatchRows, false)
	for _, rg := range []int64{DefaultRowGroupSize, 4096, 1000, 1} {
		for _, limit := range []int{0, 3, 100, 5000, 200000} {
			t.Logf("rg %d limit %d", rg, limit)
			before := runtime.NumGoroutine()
			w := &failAfter{n: limit}
			var gotErr error
			within(t, 10*time.Second, func() {
				enc, err := NewParquet(w, ParquetOptions{RowGroupSize: rg})
				if err != nil {
					gotErr = err
					return
				}
				for _, b := range batches {
					if err := enc.WriteBatch(b); err != nil {
						gotErr = err
						break
					}
				}
				if err := enc.Close(); gotErr == nil {
					gotErr = err
				}
				if err := enc.WriteBatch(batches[0]); err == nil {
					t.Errorf("rg %d limit %d: WriteBatch after Close: no error", rg, limit)
				}
			})
			if !errors.Is(gotErr, errDiskFull) {
				t.Errorf("rg %d limit %d: error %v, want %v", rg, limit, gotErr, errDiskFull)
			}
			time.Sleep(10 * time.Millisecond)
			if after := runtime.NumGoroutine(); after > before {
				t.Errorf("rg %d limit %d: %d goroutines before, %d after", rg, limit, before, after)
			}
		}
	}
}

// TestParquetNoColumns: an empty (non-nil) column list either fails or
// writes; it must not hang.
func TestParquetNoColumns(t *testing.T) {
	within(t, 10*time.Second, func() {
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
			within(t, 10*time.Second, func() {
				enc, err := NewParquet(&failAfter{n: limit}, ParquetOptions{RowGroupSize: rg})
				if err != nil {
					t.Fatal(err)
				}
				_, runErr = Run(r, enc, RunOptions{})
			})
			r.Close()
			if !errors.Is(runErr, errDiskFull) {
				t.Errorf("rg %d limit %d: Run returned %v, want %v", rg, limit, runErr, errDiskFull)
			}
		}
	}
}
