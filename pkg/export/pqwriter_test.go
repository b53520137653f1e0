package export

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"

	"github.com/pcaptk/pcaptk/internal/parquettest"
	"github.com/pcaptk/pcaptk/pkg/decode"
)

// synthRows makes n rows that reach the corners of the writer: full-range and
// extreme values, wrapping differences, long runs and scattered nulls, IPv4
// and IPv6 addresses, every flag combination, 0-4 SACK blocks, and options
// texts that are few or all distinct (distinct ones overflow the 1 MiB
// dictionary, so the chunk falls back to PLAIN).
func synthRows(seed uint64, n int, distinct bool) []*Batch {
	rng := rand.New(rand.NewPCG(seed, 1))
	pick32 := func() uint32 { return parquettest.Pick32(rng) }
	var out []*Batch
	b := &Batch{}
	ts := int64(-5e9) // before 1970 at first: ts is signed
	frame := uint64(0)
	for i := range n {
		if len(b.Rows) == BatchRows {
			out = append(out, b)
			b = &Batch{}
		}
		frame += 1 + uint64(rng.IntN(3))
		ts += int64(rng.IntN(2e6))
		if rng.IntN(1000) == 0 {
			ts -= 1e9 // out of order
		}
		r := Row{Frame: frame, TS: ts, Stream: uint64(rng.IntN(1 << 20)), Iface: uint32(rng.IntN(3))}
		if rng.IntN(500) == 0 {
			r.Stream = math.MaxUint64 - uint64(rng.IntN(5))
		}
		r.CapLen, r.WireLen = uint32(40+rng.IntN(1500)), pick32()
		r.Seq, r.Ack, r.PayloadLen = pick32(), pick32(), uint32(rng.IntN(65536))
		r.SrcPort, r.DstPort = uint16(rng.Uint32()), uint16(rng.IntN(3))
		r.Flags, r.FlagsRaw = uint16(rng.IntN(0x200)), uint16(rng.IntN(0x1000))
		r.Window, r.UrgPtr, r.MSS, r.IPID = uint16(rng.Uint32()), math.MaxUint16, uint16(rng.Uint32()), uint16(i)
		r.TTL, r.WScale = uint8(rng.Uint32()), uint8(rng.IntN(15))
		// Presence in runs: long stretches with and without a value.
		run := (i / 5000) % 3
		for bit := hasSeqRel; bit <= isTruncated; bit <<= 1 {
			if run == 0 || (run == 1 && rng.IntN(2) == 0) {
				r.Has |= bit
			}
		}
		r.SeqRel, r.AckRel, r.WindowScaled = pick32(), uint32(i), pick32()
		r.TSVal, r.TSEcr = pick32(), pick32()
		if r.Has&hasSACK != 0 {
			r.NSACK = uint8(rng.IntN(5))
			for j := range int(r.NSACK) {
				r.SACK[j] = decode.SACKBlock{Left: pick32(), Right: pick32()}
			}
		}
		if rng.IntN(2) == 0 {
			r.IPVersion = 4
			r.SrcIP[12], r.SrcIP[15] = byte(rng.IntN(4)), byte(rng.IntN(200))
			r.DstIP[12], r.DstIP[13], r.DstIP[14], r.DstIP[15] = 10, byte(rng.Uint32()), byte(rng.Uint32()), 1
		} else {
			r.IPVersion = 6
			r.SrcIP[0], r.SrcIP[1], r.SrcIP[15] = 0x20, 0x01, byte(rng.IntN(7))
			r.DstIP[0], r.DstIP[1] = 0xfe, 0x80
			for k := 8; k < 16; k++ {
				r.DstIP[k] = byte(rng.Uint32())
			}
		}
		if r.Has&hasOptions != 0 {
			r.OptStart = uint32(len(b.Text))
			if distinct {
				b.Text = fmt.Appendf(b.Text, "nop,nop,TS val %d ecr %d,nop,nop,sack 1 {%d:%d}", rng.Uint32(), rng.Uint32(), rng.Uint32(), rng.Uint32())
			} else {
				b.Text = fmt.Appendf(b.Text, "mss %d,nop,wscale %d", 1400+rng.IntN(3)*30, rng.IntN(2)+7)
			}
			r.OptEnd = uint32(len(b.Text))
		}
		b.Rows = append(b.Rows, r)
	}
	return append(out, b)
}

// encodeBatches runs batches through enc and returns what it wrote.
func encodeBatches(t *testing.T, mk func(*bytes.Buffer) (Encoder, error), batches []*Batch) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc, err := mk(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batches {
		if err := enc.WriteBatch(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestParquetWriterRoundTrip: every cell of synthetic rows that reach the
// writer's corners reads back through arrow-go's reader as the CSV encoder
// writes it, with every codec, row groups of several sizes (pages and row groups
// cut mid-batch), both timestamp units, and dictionaries that hold or overflow.
func TestParquetWriterRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rows     int
		distinct bool
		o        ParquetOptions
	}{
		{"zstd", 70000, false, ParquetOptions{}},
		{"zstd-fallback", 70000, true, ParquetOptions{RowGroupSize: 60000}},
		{"snappy-small-groups", 9000, false, ParquetOptions{Compression: "snappy", RowGroupSize: 1000}},
		{"gzip-micro", 9000, false, ParquetOptions{Compression: "gzip", TSMicro: true, RowGroupSize: 4097}},
		{"none", 70000, true, ParquetOptions{Compression: "none"}},
		{"one-row", 1, false, ParquetOptions{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			batches := synthRows(uint64(len(tc.name)), tc.rows, tc.distinct)
			csvOut := encodeBatches(t, func(w *bytes.Buffer) (Encoder, error) {
				return NewCSV(w, LineOptions{}), nil
			}, batches)
			pq := encodeBatches(t, func(w *bytes.Buffer) (Encoder, error) {
				return NewParquet(w, tc.o)
			}, batches)
			want := parseCSV(t, csvOut)
			got, _, _ := parseParquet(t, pq)
			if len(got.rows) != tc.rows || len(want.rows) != tc.rows {
				t.Fatalf("rows: parquet %d, csv %d, want %d", len(got.rows), len(want.rows), tc.rows)
			}
			bad := 0
			for i := range want.rows {
				for _, col := range want.cols {
					w, g := want.rows[i][col], got.rows[i][col]
					if tc.o.TSMicro && col == "ts" {
						w = w[:26] + "000Z" // truncated to the microsecond
						if want.rows[i]["frame"] != "" && batches[i/BatchRows].Rows[i%BatchRows].TS < 0 {
							continue // floor, not truncation: checked by TestParquetMicroseconds
						}
					}
					if w != g && bad < 10 {
						t.Errorf("row %d %s: parquet %q, csv %q", i, col, g, w)
						bad++
					}
				}
			}
			checkStatistics(t, pq, got, tc.o.TSMicro)
			// Distinct options overflow the dictionary: the chunk goes on PLAIN.
			if encs := parquettest.PageEncodings(t, pq, "options"); tc.distinct != encs[parquet.Encodings.Plain] || !encs[parquet.Encodings.RLEDict] {
				t.Errorf("options data pages are encoded %v", encs)
			}
			// The options text compresses: pages after a fallback are not
			// stored because the dictionary indexes before them did not shrink.
			if raw, comp := chunkSizes(t, pq, "options"); tc.distinct && tc.o.Compression == "" && 10*comp > 7*raw {
				t.Errorf("options: %d bytes compressed to %d", raw, comp)
			}
		})
	}
}

// checkStatistics: each row group's min, max and null count, as arrow-go
// decodes them (unsigned columns compared unsigned), are those of its rows.
func checkStatistics(t *testing.T, pq []byte, want table, micro bool) {
	t.Helper()
	pf, err := file.NewParquetReader(bytes.NewReader(pq))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	first := 0
	for g := 0; g < pf.NumRowGroups(); g++ {
		rg := pf.MetaData().RowGroup(g)
		n := int(rg.NumRows())
		rows := want.rows[first : first+n]
		first += n
		for c := 0; c < rg.NumColumns(); c++ {
			cc, err := rg.ColumnChunk(c)
			if err != nil {
				t.Fatal(err)
			}
			name := cc.PathInSchema().String()
			ok, err := cc.StatsSet()
			if err != nil || !ok {
				continue
			}
			st, err := cc.Statistics()
			if err != nil {
				t.Fatalf("group %d %s: %v", g, name, err)
			}
			var nulls int64
			for _, r := range rows {
				if r[name] == "" {
					nulls++
				}
			}
			if st.HasNullCount() && st.NullCount() != nulls {
				t.Errorf("group %d %s: null count %d, want %d", g, name, st.NullCount(), nulls)
			}
			if !st.HasMinMax() {
				continue
			}
			lo, hi := statBounds(st, name == "ts", micro)
			wlo, whi := "", ""
			for _, r := range rows {
				v := r[name]
				if v == "" {
					continue
				}
				if wlo == "" || less(name, v, wlo) {
					wlo = v
				}
				if whi == "" || less(name, whi, v) {
					whi = v
				}
			}
			if lo != wlo || hi != whi {
				t.Errorf("group %d %s: min/max %q/%q, want %q/%q", g, name, lo, hi, wlo, whi)
			}
		}
	}
}

// chunkSizes sums the uncompressed and compressed sizes of column name.
func chunkSizes(t *testing.T, pq []byte, name string) (raw, comp int64) {
	t.Helper()
	pf, err := file.NewParquetReader(bytes.NewReader(pq))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	col := pf.MetaData().Schema.ColumnIndexByName(name)
	for g := 0; g < pf.NumRowGroups(); g++ {
		cc, err := pf.MetaData().RowGroup(g).ColumnChunk(col)
		if err != nil {
			t.Fatal(err)
		}
		raw += cc.TotalUncompressedSize()
		comp += cc.TotalCompressedSize()
	}
	return raw, comp
}

func statBounds(st metadata.TypedStatistics, ts, micro bool) (string, string) {
	if s, ok := st.(*metadata.Int64Statistics); ok && ts {
		lo, hi := s.Min(), s.Max()
		if micro {
			lo, hi = lo*1000, hi*1000
		}
		var f tsFormatter
		return string(f.appendRFC3339(nil, lo)), string(f.appendRFC3339(nil, hi))
	}
	switch s := st.(type) {
	case *metadata.Int32Statistics:
		return fmt.Sprint(uint32(s.Min())), fmt.Sprint(uint32(s.Max()))
	case *metadata.Int64Statistics:
		return fmt.Sprint(uint64(s.Min())), fmt.Sprint(uint64(s.Max()))
	case *metadata.BooleanStatistics:
		return fmt.Sprint(s.Min()), fmt.Sprint(s.Max())
	case *metadata.ByteArrayStatistics:
		return string(s.Min()), string(s.Max())
	}
	return "?", "?"
}

// less orders two CSV cells of a column the way Parquet's statistics do.
func less(col, a, b string) bool {
	x, err1 := strconv.ParseUint(a, 10, 64)
	y, err2 := strconv.ParseUint(b, 10, 64)
	if err1 == nil && err2 == nil {
		return x < y
	}
	return a < b
}

// TestParquetAllocs: once the first row groups have sized the buffers, the
// Parquet writer allocates only per row group (its footer entry and statistics),
// never per row.
func TestParquetAllocs(t *testing.T) {
	batches := synthRows(11, 8*BatchRows, false)
	enc, err := NewParquet(io.Discard, ParquetOptions{RowGroupSize: 8 * BatchRows})
	if err != nil {
		t.Fatal(err)
	}
	group := func() {
		for _, b := range batches {
			if err := enc.WriteBatch(b); err != nil {
				t.Fatal(err)
			}
		}
	}
	group()
	group()
	n := testing.AllocsPerRun(5, group)
	if perRow := n / float64(8*BatchRows); perRow > 0.01 {
		t.Errorf("%v allocations per row group of %d rows", n, 8*BatchRows)
	}
	t.Logf("%v allocations per row group of %d rows", n, 8*BatchRows)
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
}

// FuzzParquetWriter: rows made from arbitrary bytes, written with pages and row
// groups of a few rows, read back by arrow-go cell for cell as CSV writes them.
func FuzzParquetWriter(f *testing.F) {
	f.Add([]byte("\x03\x02hello, world; \"quoted\" options and a few more bytes to make rows"))
	f.Add(bytes.Repeat([]byte{0xff, 0, 0x80, 1}, 64))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		o := ParquetOptions{RowGroupSize: int64(data[0]%32) + 1, pageRows: int(data[1]%16) + 1}
		o.Compression = []string{"zstd", "snappy", "gzip", "none"}[data[0]>>6]
		data = data[2:]
		b := &Batch{}
		for len(data) >= 24 && len(b.Rows) < 512 {
			c := data[:24]
			data = data[24:]
			le := binary.LittleEndian
			r := Row{Frame: uint64(len(b.Rows)) + 1, TS: int64(le.Uint64(c)) >> 8, Stream: le.Uint64(c) >> 40}
			r.Seq, r.Ack = le.Uint32(c[8:]), le.Uint32(c[12:])
			r.SeqRel, r.AckRel, r.WindowScaled, r.TSVal, r.TSEcr = r.Seq^r.Ack, r.Ack>>3, r.Seq>>7, r.Ack, r.Seq
			r.SrcPort, r.DstPort, r.Window, r.MSS, r.IPID = le.Uint16(c[16:]), le.Uint16(c[18:]), le.Uint16(c[17:]), le.Uint16(c[19:]), le.Uint16(c[15:])
			r.Flags, r.FlagsRaw, r.Has = le.Uint16(c[20:])&0x1ff, le.Uint16(c[20:])&0xfff, le.Uint16(c[21:])&0x3ff
			r.IPVersion, r.TTL, r.WScale = 4+2*(c[22]&1), c[22], c[23]%15
			r.CapLen, r.WireLen, r.PayloadLen = uint32(c[22]), uint32(c[23])<<8, uint32(c[21])
			copy(r.SrcIP[12:], c[:4])
			copy(r.DstIP[:], c[4:20])
			if r.IPVersion == 4 {
				clear(r.DstIP[:12])
			}
			r.NSACK = c[23] % 5
			for j := range int(r.NSACK) {
				r.SACK[j] = decode.SACKBlock{Left: le.Uint32(c[j:]), Right: le.Uint32(c[j+4:])}
			}
			if r.Has&hasOptions != 0 {
				r.OptStart = uint32(len(b.Text))
				for _, x := range c[:1+c[23]%23] { // never empty, as tcpdump's text
					b.Text = append(b.Text, ' '+x%95) // printable ASCII, as tcpdump's text
				}
				r.OptEnd = uint32(len(b.Text))
			}
			b.Rows = append(b.Rows, r)
		}
		if len(b.Rows) == 0 {
			return
		}
		batches := []*Batch{b}
		want := parseCSV(t, encodeBatches(t, func(w *bytes.Buffer) (Encoder, error) { return NewCSV(w, LineOptions{}), nil }, batches))
		pq := encodeBatches(t, func(w *bytes.Buffer) (Encoder, error) { return NewParquet(w, o) }, batches)
		got, _, _ := parseParquet(t, pq)
		if len(got.rows) != len(want.rows) {
			t.Fatalf("rows: parquet %d, csv %d", len(got.rows), len(want.rows))
		}
		for i := range want.rows {
			for _, col := range want.cols {
				if want.rows[i][col] != got.rows[i][col] {
					t.Fatalf("row %d %s: parquet %q, csv %q (%+v)", i, col, got.rows[i][col], want.rows[i][col], o)
				}
			}
		}
		checkStatistics(t, pq, got, false)
	})
}
