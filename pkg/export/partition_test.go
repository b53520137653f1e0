package export

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/pcaptk/pcaptk/internal/testcap"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// cyclingSource hands out n TCP packets whose times cycle through hours
// partitions, run packets in a row each: the capture of a clock that jumps
// back and forth, or of inputs merged out of order.
type cyclingSource struct {
	n, hours, run, i int
	pkt              reader.Packet
}

const cycleBase = int64(1764000000) // 2025-11-24 16:00:00 UTC, on the hour

func (s *cyclingSource) Next() (*reader.Packet, error) {
	if s.i >= s.n {
		return nil, io.EOF
	}
	h := int64(s.i / s.run % s.hours)
	s.pkt = reader.Packet{Data: testcap.SYN(), CapLen: 54, WireLen: 54, LinkType: 1, Number: uint64(s.i + 1),
		Timestamp: (cycleBase+h*3600)*1e9 + int64(s.i)}
	s.i++
	return &s.pkt, nil
}

// partLog records what a Partitioned opened and wrote.
type partLog struct {
	open, maxOpen int
	files         map[string]*fakePart // by dir/part
	order         []string
}

type fakePart struct {
	log    *partLog
	name   string
	frames []uint64
	closed bool
}

func (f *fakePart) WriteBatch(b *Batch) error {
	for i := range b.Rows {
		f.frames = append(f.frames, b.Rows[i].Frame)
	}
	return nil
}

func (f *fakePart) Close() error {
	if f.closed {
		return fmt.Errorf("%s closed twice", f.name)
	}
	f.closed = true
	f.log.open--
	return nil
}

func (l *partLog) opener() OpenPart {
	l.files = map[string]*fakePart{}
	return func(dir string, part int) (Encoder, func() error, error) {
		name := fmt.Sprintf("%s/part-%d", dir, part)
		if l.files[name] != nil {
			return nil, nil, fmt.Errorf("%s opened twice", name)
		}
		f := &fakePart{log: l, name: name}
		l.files[name] = f
		l.order = append(l.order, name)
		l.open++
		l.maxOpen = max(l.maxOpen, l.open)
		return f, nil, nil
	}
}

// TestPartitionedFileCount: rows cycling through up to MaxOpenPartitions hours
// make one file per hour, however they interleave; beyond that bound each
// return to a closed hour opens its next numbered part. Every row is written
// once, in order, and files are never more than MaxOpenPartitions open at once.
func TestPartitionedFileCount(t *testing.T) {
	tests := []struct {
		n, hours, run int
		files         int
	}{
		{3000, 5, 1, 5}, // the case: 3,000 files before
		{3000, 1, 1, 1},
		{100000, MaxOpenPartitions, 1, MaxOpenPartitions},
		{20000, MaxOpenPartitions, 7, MaxOpenPartitions},
		// beyond the bound, LRU: every change of hour reopens (run of 10)
		{3300, MaxOpenPartitions + 1, 10, 330},
		// one hour per row, 40 hours: a file per row
		{400, 40, 1, 400},
	}
	for _, tc := range tests {
		name := fmt.Sprintf("n%d-hours%d-run%d", tc.n, tc.hours, tc.run)
		var log partLog
		p := NewPartitioned(PartitionHour, log.opener())
		st, err := Run(&cyclingSource{n: tc.n, hours: tc.hours, run: tc.run}, p, RunOptions{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if st.Rows != uint64(tc.n) || len(log.files) != tc.files || log.open != 0 || log.maxOpen > MaxOpenPartitions {
			t.Errorf("%s: %d rows, %d files (want %d), %d left open, %d open at most",
				name, st.Rows, len(log.files), tc.files, log.open, log.maxOpen)
		}
		// Frames of each hour are the ones that fall in it, in order, split
		// into its parts in the order they were opened.
		byDir := map[string][]uint64{}
		for _, f := range log.order {
			d := f[:bytes.LastIndexByte([]byte(f), '/')]
			byDir[d] = append(byDir[d], log.files[f].frames...)
		}
		if len(byDir) != min(tc.hours, tc.n) {
			t.Errorf("%s: %d hour directories, want %d", name, len(byDir), tc.hours)
		}
		for h := 0; h < tc.hours; h++ {
			d := time.Unix(cycleBase+int64(h)*3600, 0).UTC().Format("date=2006-01-02/hour=15")
			var want []uint64
			for i := 0; i < tc.n; i++ {
				if i/tc.run%tc.hours == h {
					want = append(want, uint64(i+1))
				}
			}
			if fmt.Sprint(byDir[d]) != fmt.Sprint(want) {
				t.Errorf("%s: %s holds frames %v…, want %v…", name, d, head(byDir[d]), head(want))
			}
		}
	}
}

func head(v []uint64) []uint64 { return v[:min(len(v), 8)] }

// fakeGroups is an encoder with row groups, as Parquet's: it counts the rows of
// its open group and records the size of each group it ends.
type fakeGroups struct {
	size   int64
	open   int64
	groups []int64
	shared bool
}

func (f *fakeGroups) WriteBatch(b *Batch) error {
	for n := int64(len(b.Rows)); n > 0; {
		k := min(n, f.size-f.open)
		f.open += k
		n -= k
		if f.open == f.size {
			f.groups = append(f.groups, f.open)
			f.open = 0
		}
	}
	return nil
}

func (f *fakeGroups) Close() error {
	if f.open > 0 {
		f.groups = append(f.groups, f.open)
		f.open = 0
	}
	return nil
}

func (f *fakeGroups) rowGroupSize() int64 { return f.size }
func (f *fakeGroups) bufferedRows() int64 { return f.open }
func (f *fakeGroups) shareMemory()        { f.shared = true }
func (f *fakeGroups) flushRowGroup() error {
	if f.open > 0 {
		f.groups = append(f.groups, f.open)
		f.open = 0
	}
	return nil
}

// TestPartitionedRowGroupBudget: the rows held in the open row groups of all
// partitions together stay within max(row group size, MaxOpenPartitions ×
// MinRowGroupSize), and a group ended early for it is at least 1/
// MaxOpenPartitions of that; the rows Partitioned stages itself stay within
// stageRows.
func TestPartitionedRowGroupBudget(t *testing.T) {
	for _, tc := range []struct {
		rg                int64
		n, hours, run     int
		wantEarlyFlushes  bool
		wantBudget        int64
		wantGroupsAtLeast int64
	}{
		{DefaultRowGroupSize, 3_000_000, MaxOpenPartitions, 1, true, DefaultRowGroupSize, DefaultRowGroupSize / MaxOpenPartitions},
		{DefaultRowGroupSize, 3_000_000, 5, 3, true, DefaultRowGroupSize, DefaultRowGroupSize / MaxOpenPartitions},
		{MinRowGroupSize, 1_000_000, MaxOpenPartitions, 1, false, MaxOpenPartitions * MinRowGroupSize, MinRowGroupSize},
		{DefaultRowGroupSize, 500_000, 1, 1, false, DefaultRowGroupSize, 0},
	} {
		name := fmt.Sprintf("rg%d-n%d-hours%d", tc.rg, tc.n, tc.hours)
		var encs []*fakeGroups
		p := NewPartitioned(PartitionHour, func(dir string, part int) (Encoder, func() error, error) {
			f := &fakeGroups{size: tc.rg}
			encs = append(encs, f)
			return f, nil, nil
		})
		src := &cyclingSource{n: tc.n, hours: tc.hours, run: tc.run}
		var b Batch
		var maxHeld int64
		maxStaged := 0
		for done := false; !done; {
			b.Reset()
			for range BatchRows {
				pkt, err := src.Next()
				if err != nil {
					done = true
					break
				}
				b.Rows = append(b.Rows, Row{Frame: pkt.Number, TS: pkt.Timestamp})
			}
			if err := p.WriteBatch(&b); err != nil {
				t.Fatal(err)
			}
			var held int64
			for _, e := range encs {
				held += e.open
			}
			maxHeld, maxStaged = max(maxHeld, held), max(maxStaged, p.staged)
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		if p.budget != tc.wantBudget || maxHeld > p.budget || maxStaged > stageRows {
			t.Errorf("%s: budget %d (want %d), %d rows held at most, %d staged at most (bound %d)",
				name, p.budget, tc.wantBudget, maxHeld, maxStaged, stageRows)
		}
		var rows, early, smallest int64
		smallest = -1
		for _, e := range encs {
			if !e.shared {
				t.Errorf("%s: encoder not asked to share memory", name)
			}
			for i, g := range e.groups {
				rows += g
				if g < tc.rg && i < len(e.groups)-1 {
					early++
					if smallest < 0 || g < smallest {
						smallest = g
					}
				}
			}
		}
		if rows != int64(tc.n) || (early > 0) != tc.wantEarlyFlushes || (early > 0 && smallest < tc.wantGroupsAtLeast) {
			t.Errorf("%s: %d rows in groups, %d groups ended early, the smallest of %d rows (want at least %d)",
				name, rows, early, smallest, tc.wantGroupsAtLeast)
		}
	}
}

// TestPartitionedParquet writes real Parquet partitions from rows cycling
// through MaxOpenPartitions hours with row groups cut by the budget: every file
// reads back with all its rows, and its row groups are no smaller than the
// footer bound MinRowGroupSize (the last one excepted).
func TestPartitionedParquet(t *testing.T) {
	const n = 1_200_000
	files := map[string]*bytes.Buffer{}
	p := NewPartitioned(PartitionHour, func(dir string, part int) (Encoder, func() error, error) {
		buf := &bytes.Buffer{}
		files[fmt.Sprintf("%s/%d", dir, part)] = buf
		e, err := NewParquet(buf, ParquetOptions{Columns: []Column{ColFrame, ColTS, ColSrcIP, ColFlags, ColOptions}})
		return e, nil, err
	})
	st, err := Run(&cyclingSource{n: n, hours: MaxOpenPartitions, run: 1}, p, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows != n || len(files) != MaxOpenPartitions {
		t.Fatalf("%d rows, %d files", st.Rows, len(files))
	}
	var total int64
	groups := 0
	for name, buf := range files {
		pf, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		md := pf.MetaData()
		total += md.NumRows
		for i := 0; i < md.NumRowGroups(); i++ {
			rg := md.RowGroup(i).NumRows()
			if rg < MinRowGroupSize && i < md.NumRowGroups()-1 {
				t.Errorf("%s: row group %d has %d rows", name, i, rg)
			}
			groups++
		}
		pf.Close()
	}
	if total != n {
		t.Errorf("%d rows read back, want %d", total, n)
	}
	t.Logf("%d files, %d row groups", len(files), groups)
}

// TestPartitionedParquetMemory: with rows cycling through MaxOpenPartitions
// hours, the live heap of the open Parquet partitions stays within
// PartitionedMemory, the figure the command sets its memory limit from (it
// was over 260 MB before the partitions' encoders were made lighter).
func TestPartitionedParquetMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 2M rows")
	}
	var base runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&base)
	p := NewPartitioned(PartitionHour, func(dir string, part int) (Encoder, func() error, error) {
		e, err := NewParquet(io.Discard, ParquetOptions{})
		return e, nil, err
	})
	src := &cyclingSource{n: 2_000_000, hours: MaxOpenPartitions, run: 1}
	var peak uint64
	var b Batch
	opts := []byte("nop,nop,TS val 1 ecr 2")
	for done := false; !done; {
		b.Reset()
		for range BatchRows {
			pkt, err := src.Next()
			if err != nil {
				done = true
				break
			}
			n := uint32(pkt.Number)
			start := len(b.Text)
			b.Text = append(b.Text, opts...)
			b.Text = strconv.AppendUint(b.Text, uint64(n), 10)
			b.Rows = append(b.Rows, Row{Frame: pkt.Number, TS: pkt.Timestamp, Seq: n * 7919, Ack: n * 104729,
				SrcPort: uint16(n), DstPort: 443, SrcIP: [16]byte{10, 0, byte(n >> 8), byte(n)}, DstIP: [16]byte{10, 9, 9, 9},
				IPVersion: 4, Has: hasOptions | hasTS, TSVal: n, OptStart: uint32(start), OptEnd: uint32(len(b.Text))})
		}
		if err := p.WriteBatch(&b); err != nil {
			t.Fatal(err)
		}
		if src.i%(64*BatchRows) == 0 || done {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc-min(ms.HeapAlloc, base.HeapAlloc))
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	limit := uint64(PartitionedMemory(DefaultRowGroupSize))
	t.Logf("live heap at most %d MB with %d partitions open (limit %d MB)", peak>>20, MaxOpenPartitions, limit>>20)
	if peak > limit {
		t.Errorf("live heap %d MB, over PartitionedMemory's %d MB", peak>>20, limit>>20)
	}
}
