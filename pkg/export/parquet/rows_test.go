package parquet

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"

	"github.com/pcaptk/pcaptk/internal/parquettest"
)

// testRow is a row type unlike export's: every column kind, nullable ones
// with presence bits in a byte and in bools, keys of one small field and of
// an address with a tag, text made by a function and text in the arena.
type testRow struct {
	ID      uint64
	TS      int64
	RTT     time.Duration
	Delta   int64
	Seq     uint32
	Len     uint32
	Port    uint16
	TTL     uint8
	State   uint8
	Ver     uint8
	Addr    [16]byte
	Has     uint8
	OK      bool
	HasRTT  bool
	Name    [32]byte
	NameLen uint8
	NStart  uint32
	NEnd    uint32
	NPairs  uint8
	Pairs   [3][2]uint32
	Never   uint32
}

// Presence bits of testRow.Has.
const (
	hasLen   = 1 << 0
	hasTTL   = 1 << 1
	hasNote  = 1 << 2
	hasNever = 1 << 3 // never set: an all-null column
	hasState = 1 << 4
	hasPairs = 1 << 7
)

var stateNames = []string{"S0", "S1", "SF", "REJ", "RSTO", "OTH"}

// addrText writes an address as tcpdump would, roughly, without allocating.
func addrText(dst []byte, a [16]byte, v uint8) []byte {
	if v == 4 {
		for i, x := range a[:4] {
			if i > 0 {
				dst = append(dst, '.')
			}
			dst = strconv.AppendUint(dst, uint64(x), 10)
		}
		return dst
	}
	return hex.AppendEncode(dst, a[:])
}

// testColumns is the schema of testRow; micro picks the timestamp unit.
func testColumns(micro bool) []Column[testRow] {
	unit := Nanos
	if micro {
		unit = Micros
	}
	has := func(b uint8) Bit[testRow] { return Mask(func(r *testRow) *uint8 { return &r.Has }, b) }
	return []Column[testRow]{
		Uint64("id", func(r *testRow) *uint64 { return &r.ID }),
		Timestamp("ts", func(r *testRow) *int64 { return &r.TS }, unit),
		Duration("rtt", func(r *testRow) *time.Duration { return &r.RTT }).Optional(True(func(r *testRow) *bool { return &r.HasRTT })),
		Int64("delta", func(r *testRow) *int64 { return &r.Delta }).Plain(),
		Uint32("seq", func(r *testRow) *uint32 { return &r.Seq }).Plain().Uncompressed(),
		Uint32("len", func(r *testRow) *uint32 { return &r.Len }).Optional(has(hasLen)),
		Uint16("port", func(r *testRow) *uint16 { return &r.Port }),
		Uint8("ttl", func(r *testRow) *uint8 { return &r.TTL }).Optional(has(hasTTL)),
		String("state", func(dst []byte, r *testRow, _ []byte) []byte {
			return append(dst, stateNames[int(r.State)%len(stateNames)]...)
		}).Key(KeyOf(func(r *testRow) *uint8 { return &r.State })),
		String("opt_state", func(dst []byte, r *testRow, _ []byte) []byte {
			return append(dst, stateNames[int(r.State)%len(stateNames)]...)
		}).Key(KeyOf(func(r *testRow) *uint8 { return &r.State })).Optional(has(hasState)),
		String("addr", func(dst []byte, r *testRow, _ []byte) []byte {
			return addrText(dst, r.Addr, r.Ver)
		}).Key(KeyOf(func(r *testRow) *[16]byte { return &r.Addr }), KeyOf(func(r *testRow) *uint8 { return &r.Ver })),
		Bool("ok", True(func(r *testRow) *bool { return &r.OK })),
		Bool("ttl_bit", has(hasTTL)),
		Bool("len_ok", True(func(r *testRow) *bool { return &r.OK })).Optional(has(hasLen)),
		String("name", func(dst []byte, r *testRow, _ []byte) []byte {
			return append(dst, r.Name[:min(int(r.NameLen), len(r.Name))]...)
		}),
		ArenaString("note", func(r *testRow) *uint32 { return &r.NStart }, func(r *testRow) *uint32 { return &r.NEnd }).
			Optional(has(hasNote)).NoStats(),
		PairList("pairs", "lo", "hi", func(r *testRow) *[2]uint32 { return &r.Pairs[0] }, 3,
			func(r *testRow) *uint8 { return &r.NPairs }).Optional(has(hasPairs)),
		Uint32("never", func(r *testRow) *uint32 { return &r.Never }).Optional(has(hasNever)),
	}
}

// testBatch is rows and the arena their note column refers to.
type testBatch struct {
	rows  []testRow
	arena []byte
}

// makeRows makes n rows in batches of size: extreme and wrapping values,
// presence in long runs and scattered, IPv4 and IPv6 addresses, and names
// that are few or all distinct (distinct ones overflow the 1 MiB dictionary).
func makeRows(seed uint64, n, size int, distinct bool) []testBatch {
	rng := rand.New(rand.NewPCG(seed, 2))
	pick32 := func() uint32 { return parquettest.Pick32(rng) }
	var out []testBatch
	b := testBatch{}
	ts := int64(-3e9) // before 1970: ts is signed, and floors to µs
	for i := range n {
		if len(b.rows) == size {
			out = append(out, b)
			b = testBatch{}
		}
		ts += int64(rng.IntN(3e6)) - 1000
		r := testRow{ID: uint64(i) * 3, TS: ts, Seq: pick32(), Len: pick32(), Port: uint16(rng.Uint32())}
		if rng.IntN(300) == 0 {
			r.ID = math.MaxUint64 - uint64(rng.IntN(3))
		}
		r.Delta = int64(rng.Uint64())
		if rng.IntN(3) == 0 {
			r.Delta = -int64(rng.IntN(1000))
		}
		r.TTL, r.State = uint8(rng.Uint32()), uint8(rng.IntN(len(stateNames)))
		run := (i / 3000) % 3 // presence in runs: all, some, none
		for _, bit := range []uint8{hasLen, hasTTL, hasNote, hasState, hasPairs} {
			if run == 0 || (run == 1 && rng.IntN(2) == 0) {
				r.Has |= bit
			}
		}
		if run != 2 && rng.IntN(4) != 0 {
			r.HasRTT, r.RTT = true, time.Duration(rng.Int64N(int64(time.Second)))-time.Millisecond
		}
		r.OK = rng.IntN(3) == 0
		if rng.IntN(2) == 0 {
			r.Ver, r.Addr = 4, [16]byte{10, 0, byte(rng.IntN(3)), byte(rng.IntN(200))}
		} else {
			r.Ver = 6
			r.Addr[0], r.Addr[1], r.Addr[15] = 0x20, 0x01, byte(rng.IntN(9))
		}
		if n := len(b.rows); n > 0 && rng.IntN(4) != 0 { // consecutive rows mostly share their address
			r.Addr, r.Ver = b.rows[n-1].Addr, b.rows[n-1].Ver
		}
		name := fmt.Sprintf("n%d", rng.IntN(20))
		if distinct {
			name = fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64())
		}
		r.NameLen = uint8(copy(r.Name[:], name))
		r.NStart = uint32(len(b.arena))
		if distinct {
			b.arena = fmt.Appendf(b.arena, "note %d of %x", i, rng.Uint64())
		} else {
			b.arena = fmt.Appendf(b.arena, "note %d", rng.IntN(50))
		}
		r.NEnd = uint32(len(b.arena))
		r.NPairs = uint8(rng.IntN(4))
		for j := range int(r.NPairs) {
			r.Pairs[j] = [2]uint32{pick32(), pick32()}
		}
		b.rows = append(b.rows, r)
	}
	return append(out, b)
}

// table is a file's cells as text keyed by column name (null is nullCell),
// in row order.
type table map[string][]string

// nullCell is a null in a table: not "", which is a text like any other.
const nullCell = "\x00null"

// want returns the cells testColumns should write for the batches.
func want(batches []testBatch, micro bool) table {
	t := table{}
	add := func(col string, present bool, v string) {
		if !present {
			v = nullCell
		}
		t[col] = append(t[col], v)
	}
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	for _, b := range batches {
		for _, r := range b.rows {
			add("id", true, u(r.ID))
			ts := r.TS
			if micro {
				ts = ts / 1000 * 1000
				if r.TS < 0 && r.TS%1000 != 0 {
					ts -= 1000
				}
			}
			add("ts", true, time.Unix(0, ts).UTC().Format(time.RFC3339Nano))
			add("rtt", r.HasRTT, strconv.FormatInt(int64(r.RTT), 10))
			add("delta", true, strconv.FormatInt(r.Delta, 10))
			add("seq", true, u(uint64(r.Seq)))
			add("len", r.Has&hasLen != 0, u(uint64(r.Len)))
			add("port", true, u(uint64(r.Port)))
			add("ttl", r.Has&hasTTL != 0, u(uint64(r.TTL)))
			add("state", true, stateNames[r.State])
			add("opt_state", r.Has&hasState != 0, stateNames[r.State])
			add("addr", true, string(addrText(nil, r.Addr, r.Ver)))
			add("ok", true, strconv.FormatBool(r.OK))
			add("ttl_bit", true, strconv.FormatBool(r.Has&hasTTL != 0))
			add("len_ok", r.Has&hasLen != 0, strconv.FormatBool(r.OK))
			add("name", true, string(r.Name[:r.NameLen]))
			add("note", r.Has&hasNote != 0, string(b.arena[r.NStart:r.NEnd]))
			var pairs []string
			for j := range int(r.NPairs) {
				pairs = append(pairs, fmt.Sprintf("%d-%d", r.Pairs[j][0], r.Pairs[j][1]))
			}
			add("pairs", r.Has&hasPairs != 0 && r.NPairs > 0, strings.Join(pairs, " "))
			add("never", false, "")
		}
	}
	return t
}

// writeBatches writes the batches with cols and o, and returns the file.
func writeBatches[T any](t testing.TB, cols []Column[T], o Options, batches [][]T, arenas [][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, cols, o)
	if err != nil {
		t.Fatal(err)
	}
	for i, rows := range batches {
		var arena []byte
		if arenas != nil {
			arena = arenas[i]
		}
		if err := w.Write(rows, arena); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeTest(t testing.TB, batches []testBatch, o Options, micro bool) []byte {
	t.Helper()
	var rows [][]testRow
	var arenas [][]byte
	for _, b := range batches {
		rows, arenas = append(rows, b.rows), append(arenas, b.arena)
	}
	return writeBatches(t, testColumns(micro), o, rows, arenas)
}

// readBack reads a file with arrow-go's reader (pqarrow): its cells as text,
// and its Arrow schema.
func readBack(t testing.TB, b []byte) (table, *arrow.Schema) {
	t.Helper()
	_, cells, as, _ := parquettest.ReadCells(t, b, cell)
	return cells, as
}

func cell(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return nullCell
	}
	switch x := a.(type) {
	case *array.Timestamp:
		unit := x.DataType().(*arrow.TimestampType).Unit
		return x.Value(i).ToTime(unit).UTC().Format(time.RFC3339Nano)
	case *array.List:
		st := x.ListValues().(*array.Struct)
		lo, hi := st.Field(0).(*array.Uint32), st.Field(1).(*array.Uint32)
		start, end := x.ValueOffsets(i)
		var parts []string
		for k := start; k < end; k++ {
			parts = append(parts, fmt.Sprintf("%d-%d", lo.Value(int(k)), hi.Value(int(k))))
		}
		return strings.Join(parts, " ")
	}
	return a.ValueStr(i)
}

// compareTables reports the cells of got that differ from want.
func compareTables(t testing.TB, got, want table) {
	t.Helper()
	bad := 0
	for col, w := range want {
		g, ok := got[col]
		if !ok {
			t.Errorf("column %s missing", col)
			continue
		}
		if len(g) != len(w) {
			t.Errorf("column %s: %d rows, want %d", col, len(g), len(w))
			continue
		}
		for i := range w {
			if g[i] != w[i] && bad < 10 {
				t.Errorf("row %d %s: %q, want %q", i, col, g[i], w[i])
				bad++
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d columns, want %d", len(got), len(want))
	}
}

// checkStats: each row group's null count and min/max, as arrow-go decodes
// them, are those of its rows (unsigned columns compared unsigned, the others
// signed, strings bytewise); columns written NoStats have no min/max.
func checkStats(t testing.TB, b []byte, w table) {
	t.Helper()
	pf, err := file.NewParquetReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	first := 0
	for g := 0; g < pf.NumRowGroups(); g++ {
		rg := pf.MetaData().RowGroup(g)
		n := int(rg.NumRows())
		for c := 0; c < rg.NumColumns(); c++ {
			cc, err := rg.ColumnChunk(c)
			if err != nil {
				t.Fatal(err)
			}
			name := cc.PathInSchema().String()
			cells, ok := w[name]
			if !ok { // a pair list's leaves: no statistics
				if set, _ := cc.StatsSet(); set {
					if st, _ := cc.Statistics(); st.HasMinMax() {
						t.Errorf("group %d %s: min/max written", g, name)
					}
				}
				continue
			}
			cells = cells[first : first+n]
			st, err := cc.Statistics()
			if err != nil || st == nil {
				t.Fatalf("group %d %s: no statistics (%v)", g, name, err)
			}
			var nulls int64
			var lo, hi string
			seen := false
			phys := cc.Type()
			text := phys == parquet.Types.ByteArray || phys == parquet.Types.Boolean
			for _, v := range cells {
				if v == nullCell {
					nulls++
					continue
				}
				if !seen || less(name, text, v, lo) {
					lo = v
				}
				if !seen || less(name, text, hi, v) {
					hi = v
				}
				seen = true
			}
			if !st.HasNullCount() || st.NullCount() != nulls {
				t.Errorf("group %d %s: null count %d (set %v), want %d", g, name, st.NullCount(), st.HasNullCount(), nulls)
			}
			if name == "note" {
				if st.HasMinMax() {
					t.Errorf("group %d %s: min/max of a NoStats column", g, name)
				}
				continue
			}
			if !st.HasMinMax() {
				// A string chunk that fell back to PLAIN has no bounds.
				if _, text := st.(*metadata.ByteArrayStatistics); seen && !text {
					t.Errorf("group %d %s: no min/max with %d nulls of %d", g, name, nulls, n)
				}
				continue
			}
			if !seen {
				t.Errorf("group %d %s: min/max of a column of nulls", g, name)
				continue
			}
			glo, ghi := bounds(st, name)
			if glo != lo || ghi != hi {
				t.Errorf("group %d %s: min/max %q/%q, want %q/%q", g, name, glo, ghi, lo, hi)
			}
		}
		first += n
	}
}

func bounds(st metadata.TypedStatistics, name string) (string, string) {
	switch s := st.(type) {
	case *metadata.Int32Statistics:
		return fmt.Sprint(uint32(s.Min())), fmt.Sprint(uint32(s.Max()))
	case *metadata.Int64Statistics:
		switch name {
		case "id":
			return fmt.Sprint(uint64(s.Min())), fmt.Sprint(uint64(s.Max()))
		case "ts":
			f := func(v int64) string { return time.Unix(0, v).UTC().Format(time.RFC3339Nano) }
			if strings.Contains(st.Descr().LogicalType().String(), "microseconds") {
				return f(s.Min() * 1000), f(s.Max() * 1000)
			}
			return f(s.Min()), f(s.Max())
		}
		return fmt.Sprint(s.Min()), fmt.Sprint(s.Max())
	case *metadata.BooleanStatistics:
		return fmt.Sprint(s.Min()), fmt.Sprint(s.Max())
	case *metadata.ByteArrayStatistics:
		return string(s.Min()), string(s.Max())
	}
	return "?", "?"
}

// less orders two cells of a column as Parquet's statistics do: text (and
// booleans) bytewise, numbers as numbers (signed where they may be negative),
// times as times.
func less(col string, text bool, a, b string) bool {
	if text {
		return a < b
	}
	if x, err := strconv.ParseUint(a, 10, 64); err == nil {
		if y, err := strconv.ParseUint(b, 10, 64); err == nil {
			return x < y
		}
	}
	if x, err := strconv.ParseInt(a, 10, 64); err == nil {
		if y, err := strconv.ParseInt(b, 10, 64); err == nil {
			return x < y
		}
	}
	if col == "ts" {
		x, _ := time.Parse(time.RFC3339Nano, a)
		y, _ := time.Parse(time.RFC3339Nano, b)
		return x.Before(y)
	}
	return a < b
}
