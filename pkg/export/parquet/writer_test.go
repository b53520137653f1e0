package parquet

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/pcaptk/pcaptk/internal/parquettest"
)

// batchRows is the rows the tests hand over at once, as export does.
const batchRows = 4096

// TestWriterRoundTrip: every cell of rows that reach the writer's corners
// reads back through arrow-go as written, with its statistics, with every
// codec, both timestamp units, row groups and pages cut inside batches,
// dictionaries that hold or overflow, nullable and all-null columns.
func TestWriterRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rows     int
		batch    int
		distinct bool
		micro    bool
		o        Options
	}{
		{"zstd", 70000, batchRows, false, false, Options{}},
		{"zstd-fallback", 70000, batchRows, true, false, Options{RowGroupSize: 60000}},
		{"snappy-groups-mid-batch", 9000, 1000, false, false, Options{Compression: "snappy", RowGroupSize: 700}},
		{"gzip-micro", 9000, 3000, false, true, Options{Compression: "gzip", RowGroupSize: 4097}},
		{"none-small-pages", 60000, batchRows, true, false, Options{Compression: "none", PageRows: 333, RowGroupSize: 50000}},
		{"one-row", 1, batchRows, false, false, Options{}},
		{"rows-of-one", 50, 1, false, true, Options{RowGroupSize: 7, PageRows: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			batches := makeRows(uint64(len(tc.name)), tc.rows, tc.batch, tc.distinct)
			b := writeTest(t, batches, tc.o, tc.micro)
			got, _ := readBack(t, b)
			w := want(batches, tc.micro)
			compareTables(t, got, w)
			checkStats(t, b, w)
			if len(got["id"]) != tc.rows {
				t.Errorf("%d rows, want %d", len(got["id"]), tc.rows)
			}
			if tc.o.RowGroupSize > 0 {
				groups := (int64(tc.rows) + tc.o.RowGroupSize - 1) / tc.o.RowGroupSize
				if n := rowGroups(t, b); n != int(groups) {
					t.Errorf("%d row groups, want %d", n, groups)
				}
			}
			// Distinct names overflow the dictionary: the chunk goes on PLAIN.
			encs := parquettest.PageEncodings(t, b, "name")
			if tc.distinct != encs[parquet.Encodings.Plain] || !encs[parquet.Encodings.RLEDict] {
				t.Errorf("name data pages are encoded %v", encs)
			}
		})
	}
}

func rowGroups(t testing.TB, b []byte) int {
	pf, err := file.NewParquetReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	return pf.NumRowGroups()
}

// TestWriterNulls: a nullable column with no value in the whole file, or in a
// whole row group, reads back as nulls with a null count and no bounds; rows
// whose every nullable column is null too.
func TestWriterNulls(t *testing.T) {
	batches := makeRows(9, 12000, 2000, false)
	for i := range batches {
		for k := range batches[i].rows {
			r := &batches[i].rows[k]
			if i >= 3 { // the second row group: all null
				r.Has, r.HasRTT = 0, false
			}
		}
	}
	b := writeTest(t, batches, Options{RowGroupSize: 6000}, false)
	got, _ := readBack(t, b)
	w := want(batches, false)
	compareTables(t, got, w)
	checkStats(t, b, w)
	for _, col := range []string{"never", "len", "rtt", "note", "pairs", "opt_state"} {
		nulls := 0
		for _, v := range got[col][6000:] {
			if v == nullCell {
				nulls++
			}
		}
		if nulls != 6000 {
			t.Errorf("%s: %d nulls in the all-null row group", col, nulls)
		}
	}
}

// TestWriterSchema: the schema in the footer is the one arrow-go's pqarrow
// derives from the Arrow types the columns stand for (a duration as int64),
// and arrow-go reads it back as those types.
func TestWriterSchema(t *testing.T) {
	for _, micro := range []bool{false, true} {
		unit := arrow.Nanosecond
		if micro {
			unit = arrow.Microsecond
		}
		pair := arrow.ListOf(arrow.StructOf(
			arrow.Field{Name: "lo", Type: arrow.PrimitiveTypes.Uint32},
			arrow.Field{Name: "hi", Type: arrow.PrimitiveTypes.Uint32}))
		as := arrow.NewSchema([]arrow.Field{
			{Name: "id", Type: arrow.PrimitiveTypes.Uint64},
			{Name: "ts", Type: &arrow.TimestampType{Unit: unit, TimeZone: "UTC"}},
			{Name: "rtt", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			{Name: "delta", Type: arrow.PrimitiveTypes.Int64},
			{Name: "seq", Type: arrow.PrimitiveTypes.Uint32},
			{Name: "len", Type: arrow.PrimitiveTypes.Uint32, Nullable: true},
			{Name: "port", Type: arrow.PrimitiveTypes.Uint16},
			{Name: "ttl", Type: arrow.PrimitiveTypes.Uint8, Nullable: true},
			{Name: "state", Type: arrow.BinaryTypes.String},
			{Name: "opt_state", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "addr", Type: arrow.BinaryTypes.String},
			{Name: "ok", Type: arrow.FixedWidthTypes.Boolean},
			{Name: "ttl_bit", Type: arrow.FixedWidthTypes.Boolean},
			{Name: "len_ok", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
			{Name: "name", Type: arrow.BinaryTypes.String},
			{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "pairs", Type: pair, Nullable: true},
			{Name: "never", Type: arrow.PrimitiveTypes.Uint32, Nullable: true},
		}, nil)
		parquettest.CheckSchema(t, writeTest(t, nil, Options{}, micro), as)
	}
}

// TestWriterAllocs: once the first row groups have sized the buffers, the
// writer allocates only per row group (its footer entry and statistics),
// never per row.
func TestWriterAllocs(t *testing.T) {
	batches := makeRows(11, 8*batchRows, batchRows, false)
	w, err := NewWriter(io.Discard, testColumns(false), Options{RowGroupSize: 8 * batchRows})
	if err != nil {
		t.Fatal(err)
	}
	group := func() {
		for _, b := range batches {
			if err := w.Write(b.rows, b.arena); err != nil {
				t.Fatal(err)
			}
		}
	}
	group()
	group()
	n := testing.AllocsPerRun(5, group)
	if perRow := n / float64(8*batchRows); perRow > 0.01 {
		t.Errorf("%v allocations per row group of %d rows", n, 8*batchRows)
	}
	t.Logf("%v allocations per row group of %d rows", n, 8*batchRows)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestWriterNoRows: a file without rows is a valid Parquet file (schema, no
// row group) that arrow-go opens.
func TestWriterNoRows(t *testing.T) {
	b := writeTest(t, []testBatch{{}}, Options{}, false)
	pf, err := file.NewParquetReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	if pf.NumRows() != 0 || pf.NumRowGroups() != 0 || pf.MetaData().Schema.NumColumns() != len(testColumns(false))+1 {
		t.Errorf("rows %d groups %d columns %d", pf.NumRows(), pf.NumRowGroups(), pf.MetaData().Schema.NumColumns())
	}
}

// TestWriterCreatedBy: the footer's created_by has the "NAME version X" form
// parquet-java parses; it ignores the string statistics of files whose
// created_by it cannot parse.
func TestWriterCreatedBy(t *testing.T) {
	for _, tc := range []struct{ set, want string }{{"", "pcaptk version unknown"}, {"pcaptk version 1.2.3", "pcaptk version 1.2.3"}} {
		b := writeTest(t, makeRows(5, 10, 10, false), Options{CreatedBy: tc.set}, false)
		pf, err := file.NewParquetReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if got := pf.MetaData().GetCreatedBy(); got != tc.want {
			t.Errorf("created_by %q, want %q", got, tc.want)
		}
		pf.Close()
	}
}

// TestColumnErrors: column definitions that cannot be written are refused by
// NewWriter with the column's name, before anything is written.
func TestColumnErrors(t *testing.T) {
	var outside uint32
	ok := Uint32("ok", func(r *testRow) *uint32 { return &r.Seq })
	for _, tc := range []struct {
		name string
		cols []Column[testRow]
	}{
		{"none", nil},
		{"outside", []Column[testRow]{Uint32("x", func(*testRow) *uint32 { return &outside })}},
		{"nil-field", []Column[testRow]{Uint32[testRow, uint32]("x", nil)}},
		{"nil-pointer", []Column[testRow]{Uint32("x", func(*testRow) *uint32 { return nil })}},
		{"nil-text", []Column[testRow]{String[testRow]("x", nil)}},
		{"mask-spans-bytes", []Column[testRow]{ok.Optional(Mask(func(r *testRow) *uint32 { return &r.Len }, 0x101))}},
		{"empty-mask", []Column[testRow]{Bool("x", Mask(func(r *testRow) *uint16 { return &r.Port }, 0))}},
		{"zero-bit", []Column[testRow]{Bool("x", Bit[testRow]{})}},
		{"key-not-string", []Column[testRow]{ok.Key(KeyOf(func(r *testRow) *uint32 { return &r.Seq }))}},
		{"key-three-fields", []Column[testRow]{String("x", func(d []byte, _ *testRow, _ []byte) []byte { return d }).Key(
			KeyOf(func(r *testRow) *uint8 { return &r.TTL }), KeyOf(func(r *testRow) *uint8 { return &r.Ver }), KeyOf(func(r *testRow) *uint8 { return &r.Has }))}},
		{"key-long-tag", []Column[testRow]{String("x", func(d []byte, _ *testRow, _ []byte) []byte { return d }).Key(
			KeyOf(func(r *testRow) *uint8 { return &r.TTL }), KeyOf(func(r *testRow) *[16]byte { return &r.Addr }))}},
		{"pairs-past-row", []Column[testRow]{PairList("x", "a", "b", func(r *testRow) *[2]uint32 { return &r.Pairs[0] }, 10, func(r *testRow) *uint8 { return &r.NPairs })}},
		{"repeated-name", []Column[testRow]{ok, ok}},
		{"no-name", []Column[testRow]{Uint8("", func(r *testRow) *uint8 { return &r.TTL })}},
	} {
		var buf bytes.Buffer
		if _, err := NewWriter(&buf, tc.cols, Options{}); err == nil {
			t.Errorf("%s: no error", tc.name)
		} else if buf.Len() != 0 {
			t.Errorf("%s: %d bytes written before the error %v", tc.name, buf.Len(), err)
		}
	}
	if _, err := NewWriter(io.Discard, []Column[testRow]{ok}, Options{Compression: "lz4"}); err == nil {
		t.Error("unknown compression accepted")
	}
}

// TestWriterBadSpan: an arena span outside the arena fails the writer; it does
// not panic.
func TestWriterBadSpan(t *testing.T) {
	batches := makeRows(4, 100, 100, false)
	batches[0].rows[50].NEnd = uint32(len(batches[0].arena) + 1)
	w, err := NewWriter(io.Discard, testColumns(false), Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = w.Write(batches[0].rows, batches[0].arena)
	if err == nil {
		err = w.Close()
	} else {
		w.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "span") {
		t.Errorf("error %v, want one about the span", err)
	}
}

// FuzzWriter: rows made from arbitrary bytes, written with pages and row
// groups of a few rows, read back by arrow-go cell for cell.
func FuzzWriter(f *testing.F) {
	f.Add([]byte("\x03\x02hello, world; some bytes to make a few rows of the test type"))
	f.Add(bytes.Repeat([]byte{0xff, 0, 0x80, 1}, 64))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		o := Options{RowGroupSize: int64(data[0]%32) + 1, PageRows: int(data[1]%16) + 1}
		o.Compression = []string{"zstd", "snappy", "gzip", "none"}[data[0]>>6]
		micro := data[1]&0x80 != 0
		data = data[2:]
		b := testBatch{}
		le := binary.LittleEndian
		for len(data) >= 24 && len(b.rows) < 512 {
			c := data[:24]
			data = data[24:]
			r := testRow{ID: le.Uint64(c), TS: int64(le.Uint64(c[4:])) >> 4, Delta: int64(le.Uint64(c[8:]))}
			r.RTT, r.HasRTT = time.Duration(int32(le.Uint32(c[12:]))), c[16]&1 != 0
			r.Seq, r.Len, r.Port = le.Uint32(c[16:]), le.Uint32(c[20:]), le.Uint16(c[2:])
			r.TTL, r.State, r.Has, r.OK = c[5], c[6]%uint8(len(stateNames)), c[7]&^hasNever, c[8]&1 != 0
			r.Ver = 4 + 2*(c[9]&1)
			copy(r.Addr[:], c[10:])
			if r.Ver == 4 {
				clear(r.Addr[4:])
			}
			r.NameLen = uint8(copy(r.Name[:], c[c[11]%24:]))
			r.NStart = uint32(len(b.arena))
			b.arena = append(b.arena, c[:c[12]%24]...)
			r.NEnd = uint32(len(b.arena))
			r.NPairs = c[13] % 4
			for j := range int(r.NPairs) {
				r.Pairs[j] = [2]uint32{le.Uint32(c[j:]), le.Uint32(c[j+4:])}
			}
			b.rows = append(b.rows, r)
		}
		if len(b.rows) == 0 {
			return
		}
		batches := []testBatch{b}
		pq := writeTest(t, batches, o, micro)
		got, _ := readBack(t, pq)
		w := want(batches, micro)
		compareTables(t, got, w)
		checkStats(t, pq, w)
	})
}

// TestWriterAsyncRelease: every batch handed to WriteAsync is released
// exactly once, and before Close returns, whether the writer works or fails,
// with row groups cut inside batches; empty batches too.
func TestWriterAsyncRelease(t *testing.T) {
	batches := makeRows(5, 5*batchRows+17, batchRows, false)
	batches = append(batches, testBatch{})
	for _, limit := range []int{1 << 40, 30000} {
		for _, rg := range []int64{DefaultRowGroupSize, 5000, batchRows} {
			var w io.Writer = &parquettest.FailAfter{N: limit}
			enc, err := NewWriter(w, testColumns(false), Options{RowGroupSize: rg})
			if err != nil {
				t.Fatal(err)
			}
			var released atomic.Int32
			counts := make([]atomic.Int32, len(batches))
			taken := 0
			var writeErr error
			parquettest.Within(t, 10*time.Second, func() {
				for i, b := range batches {
					err := enc.WriteAsync(b.rows, b.arena, func() { counts[i].Add(1); released.Add(1) })
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
			if limit < 1<<40 && !errors.Is(writeErr, parquettest.ErrDiskFull) {
				t.Errorf("limit %d rg %d: error %v", limit, rg, writeErr)
			}
			if limit == 1<<40 {
				if writeErr != nil {
					t.Fatal(writeErr)
				}
				pf, err := file.NewParquetReader(bytes.NewReader(w.(*parquettest.FailAfter).Buf.Bytes()))
				if err != nil {
					t.Fatal(err)
				}
				if pf.NumRows() != 5*batchRows+17 {
					t.Errorf("rg %d: %d rows", rg, pf.NumRows())
				}
				pf.Close()
			}
		}
	}
}

// TestWriterArenaBounded: the page arenas the leaves keep between row groups
// stop growing once they fit the largest row group, when row groups alternate
// between small and large pages (text that falls back to PLAIN).
func TestWriterArenaBounded(t *testing.T) {
	small := makeRows(7, 10*batchRows, batchRows, false)
	large := makeRows(8, 10*batchRows, batchRows, true)
	var buf bytes.Buffer
	enc, err := NewWriter(&buf, testColumns(false), Options{RowGroupSize: 10 * batchRows, PageRows: 1000})
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
			if err := enc.Write(b.rows, b.arena); err != nil {
				t.Fatal(err)
			}
		}
		sizes = append(sizes, arena())
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	if encs := parquettest.PageEncodings(t, buf.Bytes(), "name"); !encs[parquet.Encodings.Plain] {
		t.Errorf("no name chunk fell back to PLAIN: %v", encs)
	}
	if last, early := sizes[len(sizes)-1], sizes[5]; last > early+early/10 {
		t.Errorf("arena bytes after each row group grow: %v", sizes)
	}
	t.Logf("arena bytes: %v", sizes)
}

// TestWriterFailingWriter: a writer that fails part-way through (a full disk)
// makes Write or Close report the error, whatever the row-group size, and
// nothing hangs or leaks.
func TestWriterFailingWriter(t *testing.T) {
	batches := makeRows(3, 3*batchRows, batchRows, false)
	for _, rg := range []int64{DefaultRowGroupSize, 4096, 1000, 1} {
		for _, limit := range []int{0, 3, 100, 5000, 200000} {
			t.Logf("rg %d limit %d", rg, limit)
			before := runtime.NumGoroutine()
			w := &parquettest.FailAfter{N: limit}
			var gotErr error
			parquettest.Within(t, 10*time.Second, func() {
				enc, err := NewWriter(w, testColumns(false), Options{RowGroupSize: rg})
				if err != nil {
					gotErr = err
					return
				}
				for _, b := range batches {
					if err := enc.Write(b.rows, b.arena); err != nil {
						gotErr = err
						break
					}
				}
				if err := enc.Close(); gotErr == nil {
					gotErr = err
				}
				if err := enc.Write(batches[0].rows, batches[0].arena); err == nil {
					t.Errorf("rg %d limit %d: Write after Close: no error", rg, limit)
				}
			})
			if !errors.Is(gotErr, parquettest.ErrDiskFull) {
				t.Errorf("rg %d limit %d: error %v, want %v", rg, limit, gotErr, parquettest.ErrDiskFull)
			}
			time.Sleep(10 * time.Millisecond)
			if after := runtime.NumGoroutine(); after > before {
				t.Errorf("rg %d limit %d: %d goroutines before, %d after", rg, limit, before, after)
			}
		}
	}
}

// keyRow has key fields of every size, for TestWriterKeys.
type keyRow struct {
	A    uint8
	B    uint16
	C    uint32
	D    uint64
	Addr [16]byte
	T16  uint16
	T64  uint64
}

// TestWriterKeys: keyed String columns read back as their text functions
// write them, for keys of one field of each size (small values, found in the
// table, and large ones, in the dictionary), an address with tags of each
// size, and keys no specialised loop covers; across row groups, which start
// new dictionaries.
func TestWriterKeys(t *testing.T) {
	u := func(v uint64) []byte { return strconv.AppendUint(nil, v, 10) }
	text := func(f func(r *keyRow) []byte) TextFunc[keyRow] {
		return func(dst []byte, r *keyRow, _ []byte) []byte { return append(dst, f(r)...) }
	}
	addr := func(r *keyRow) []byte { return hex.AppendEncode(nil, r.Addr[:]) }
	cols := []Column[keyRow]{
		String("a", text(func(r *keyRow) []byte { return u(uint64(r.A)) })).Key(KeyOf(func(r *keyRow) *uint8 { return &r.A })),
		String("b", text(func(r *keyRow) []byte { return u(uint64(r.B)) })).Key(KeyOf(func(r *keyRow) *uint16 { return &r.B })),
		String("c", text(func(r *keyRow) []byte { return u(uint64(r.C)) })).Key(KeyOf(func(r *keyRow) *uint32 { return &r.C })),
		String("d", text(func(r *keyRow) []byte { return u(r.D) })).Key(KeyOf(func(r *keyRow) *uint64 { return &r.D })),
		String("addr16", text(func(r *keyRow) []byte { return append(addr(r), u(uint64(r.T16))...) })).
			Key(KeyOf(func(r *keyRow) *[16]byte { return &r.Addr }), KeyOf(func(r *keyRow) *uint16 { return &r.T16 })),
		String("addr64", text(func(r *keyRow) []byte { return append(addr(r), u(r.T64)...) })).
			Key(KeyOf(func(r *keyRow) *[16]byte { return &r.Addr }), KeyOf(func(r *keyRow) *uint64 { return &r.T64 })),
		String("addr", text(addr)).Key(KeyOf(func(r *keyRow) *[16]byte { return &r.Addr })),
		String("ab", text(func(r *keyRow) []byte { return append(u(uint64(r.A)), u(uint64(r.B))...) })).
			Key(KeyOf(func(r *keyRow) *uint8 { return &r.A }), KeyOf(func(r *keyRow) *uint16 { return &r.B })),
	}
	rng := rand.New(rand.NewPCG(1, 1))
	rows := make([]keyRow, 20000)
	for i := range rows {
		r := &rows[i]
		if i > 0 && rng.IntN(3) == 0 {
			*r = rows[i-1] // runs of equal keys
			continue
		}
		big := uint64(rng.IntN(2)) << 40 // half the keys past the small table
		r.A, r.B, r.C, r.D = uint8(rng.IntN(256)), uint16(rng.IntN(1000)), uint32(rng.IntN(700)+int(big>>30)), uint64(rng.IntN(600))+big
		r.Addr[0], r.Addr[15], r.T16, r.T64 = byte(rng.IntN(4)), byte(rng.IntN(3)), uint16(rng.IntN(3)), uint64(rng.IntN(3))
	}
	b := writeBatches(t, cols, Options{RowGroupSize: 7000, PageRows: 1000}, [][]keyRow{rows[:3000], rows[3000:]}, nil)
	got, _ := readBack(t, b)
	w := table{}
	for i := range rows {
		for _, c := range cols {
			w[c.name] = append(w[c.name], string(c.text(nil, &rows[i], nil)))
		}
	}
	compareTables(t, got, w)
	checkStats(t, b, w)
}

// TestWriterShareAndFlush: a writer made lighter (ShareMemory) and whose row
// groups are cut early (FlushRowGroup) at any row writes every cell as one
// that was not, reports the rows it holds, and gives back its buffers on a
// flush; ShareMemory after the first row changes nothing.
func TestWriterShareAndFlush(t *testing.T) {
	batches := makeRows(12, 30000, 3000, true)
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testColumns(false), Options{RowGroupSize: 20000})
	if err != nil {
		t.Fatal(err)
	}
	w.ShareMemory()
	if len(w.workers) > 2 || w.pageRows != DefaultPageRows/4 || w.leaves[0].dictLimit != dictionaryLimit/8 {
		t.Errorf("ShareMemory: %d workers, pages of %d rows, dictionary limit %d", len(w.workers), w.pageRows, w.leaves[0].dictLimit)
	}
	if w.RowGroupSize() != 20000 {
		t.Errorf("RowGroupSize %d", w.RowGroupSize())
	}
	var open int64
	groups := 0
	for i, b := range batches {
		if err := w.Write(b.rows, b.arena); err != nil {
			t.Fatal(err)
		}
		open += int64(len(b.rows))
		if open >= 20000 {
			open -= 20000
			groups++
		}
		if w.Buffered() != open {
			t.Fatalf("batch %d: Buffered %d, want %d", i, w.Buffered(), open)
		}
		if i == 1 || i == 7 { // groups of 6,000 and 18,000 rows, then 6,000
			if err := w.FlushRowGroup(); err != nil {
				t.Fatal(err)
			}
			if open > 0 {
				groups++
			}
			open = 0
			for _, l := range w.leaves {
				if l.segs != nil || l.i32 != nil || l.idx != nil || l.plain != nil {
					t.Fatalf("leaf %s keeps its buffers after a flush", l.name)
				}
			}
		}
		if i == 0 {
			pages := w.pageRows
			w.ShareMemory() // after rows: no change
			if w.pageRows != pages {
				t.Error("ShareMemory after the first row changed the pages")
			}
		}
	}
	if open > 0 {
		groups++
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := readBack(t, buf.Bytes())
	wt := want(batches, false)
	compareTables(t, got, wt)
	checkStats(t, buf.Bytes(), wt)
	if n := rowGroups(t, buf.Bytes()); n != groups {
		t.Errorf("%d row groups, want %d", n, groups)
	}
	// Lighter dictionaries: the 18,000-row group falls back to PLAIN.
	if encs := parquettest.PageEncodings(t, buf.Bytes(), "name"); !encs[parquet.Encodings.Plain] {
		t.Errorf("name never fell back to PLAIN: %v", encs)
	}
}

// BenchmarkWriter writes batches of 4,096 test rows (every column kind) to
// io.Discard; compare with export's BenchmarkEncodeParquet, export's rows.
func BenchmarkWriter(b *testing.B) {
	bt := makeRows(1, batchRows, batchRows, false)[0]
	w, err := NewWriter(io.Discard, testColumns(false), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := w.Write(bt.rows, bt.arena); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N*len(bt.rows))/b.Elapsed().Seconds(), "rows/s")
}

// embedRow carries a testRow whole, away from the start of the row, between
// fields of its own.
type embedRow struct {
	Before [3]uint64
	Row    testRow
	After  uint8
}

// TestEmbedded: a table of rows that carry the test rows, written with the
// test columns made Embedded, is the very file the test rows make, byte for
// byte (every column kind: offsets, presence and value bits, keys, arena
// spans, pairs, text functions).
func TestEmbedded(t *testing.T) {
	for _, micro := range []bool{false, true} {
		batches := makeRows(5, 20000, 3000, false)
		direct := writeTest(t, batches, Options{RowGroupSize: 9000}, micro)
		var cols []Column[embedRow]
		for _, c := range testColumns(micro) {
			cols = append(cols, Embedded(c, func(r *embedRow) *testRow { return &r.Row }))
		}
		var rows [][]embedRow
		var arenas [][]byte
		for _, b := range batches {
			e := make([]embedRow, len(b.rows))
			for i := range b.rows {
				e[i] = embedRow{Before: [3]uint64{^uint64(0), 1, 2}, Row: b.rows[i], After: 0xff}
			}
			rows, arenas = append(rows, e), append(arenas, b.arena)
		}
		if got := writeBatches(t, cols, Options{RowGroupSize: 9000}, rows, arenas); !bytes.Equal(got, direct) {
			t.Fatalf("micro=%v: the embedded rows make another file (%d bytes, %d directly)", micro, len(got), len(direct))
		}
	}
	// A field outside the row is refused, as any other.
	bad := Embedded(Uint64("x", func(r *testRow) *uint64 { return &r.ID }), func(*embedRow) *testRow { return new(testRow) })
	if _, err := NewWriter(io.Discard, []Column[embedRow]{bad}, Options{}); err == nil {
		t.Error("a column embedded through a field outside the row was accepted")
	}
}
