package export

import (
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"

	"github.com/pcaptk/pcaptk/pkg/reader"
)

func TestProfExport(t *testing.T) {
	path := os.Getenv("PROF_CAP")
	if path == "" {
		t.Skip()
	}
	r, err := reader.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Create("/tmp/cpu.prof")
	pprof.StartCPUProfile(f)
	var enc Encoder
	switch os.Getenv("PROF_FMT") {
	case "csv":
		enc = NewCSV(io.Discard, LineOptions{})
	case "json":
		enc = NewJSON(io.Discard, LineOptions{})
	default:
		enc, _ = NewParquet(io.Discard, ParquetOptions{RowGroupSize: rgSize()})
	}
	h := &heapAt{Encoder: enc}
	st, err := Run(r, h, RunOptions{Sync: os.Getenv("PROF_SYNC") != ""})
	t.Logf("max heap alloc %d MB at row %d", h.max>>20, h.at)
	pprof.StopCPUProfile()
	t.Log(st, err)
}

type heapAt struct {
	Encoder
	n   int
	max uint64
	at  int
}

func (h *heapAt) WriteBatch(b *Batch) error {
	h.n += b.Len()
	var ms runtime.MemStats
	if h.n%(BatchRows*8) == 0 {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	if ms.HeapAlloc > h.max {
		h.max = ms.HeapAlloc
		h.at = h.n
	}
	if h.n >= 1000000 && h.n < 1000000+BatchRows {
		runtime.GC()
		f, _ := os.Create("/tmp/heap.prof")
		pprof.WriteHeapProfile(f)
		f.Close()
	}
	return h.Encoder.WriteBatch(b)
}

func rgSize() int64 {
	if v := os.Getenv("PROF_RG"); v != "" {
		n, _ := strconv.Atoi(v)
		return int64(n)
	}
	return 0
}
