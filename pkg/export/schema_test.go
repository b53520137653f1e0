package export

import (
	"bytes"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// arrowSchema is SCHEMA.md's contract as an Arrow schema: the types pandas,
// polars and DuckDB should see.
func arrowSchema(cols []Column, tsMicro bool) *arrow.Schema {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		f := arrow.Field{Name: c.String()}
		switch c {
		case ColFrame, ColStream:
			f.Type = arrow.PrimitiveTypes.Uint64
		case ColTS:
			unit := arrow.Nanosecond
			if tsMicro {
				unit = arrow.Microsecond
			}
			f.Type = &arrow.TimestampType{Unit: unit, TimeZone: "UTC"}
		case ColIface, ColCapLen, ColWireLen, ColSeq, ColAck, ColPayloadLen:
			f.Type = arrow.PrimitiveTypes.Uint32
		case ColSeqRel, ColAckRel, ColWindowScaled, ColTSVal, ColTSEcr:
			f.Type, f.Nullable = arrow.PrimitiveTypes.Uint32, true
		case ColIPVersion, ColTTL:
			f.Type = arrow.PrimitiveTypes.Uint8
		case ColWScale:
			f.Type, f.Nullable = arrow.PrimitiveTypes.Uint8, true
		case ColSrcPort, ColDstPort, ColFlagsRaw, ColWindow, ColUrgPtr, ColIPID:
			f.Type = arrow.PrimitiveTypes.Uint16
		case ColMSS:
			f.Type, f.Nullable = arrow.PrimitiveTypes.Uint16, true
		case ColSrcIP, ColDstIP, ColFlags:
			f.Type = arrow.BinaryTypes.String
		case ColOptions:
			f.Type, f.Nullable = arrow.BinaryTypes.String, true
		case ColSYN, ColACKFlag, ColFIN, ColRST, ColPSH, ColURG, ColECE, ColCWR, ColSackOK, ColTruncated:
			f.Type = arrow.FixedWidthTypes.Boolean
		case ColSACK:
			f.Type = arrow.ListOf(arrow.StructOf(
				arrow.Field{Name: "left", Type: arrow.PrimitiveTypes.Uint32},
				arrow.Field{Name: "right", Type: arrow.PrimitiveTypes.Uint32},
			))
			f.Nullable = true
		}
		fields[i] = f
	}
	return arrow.NewSchema(fields, nil)
}

// TestParquetSchemaMatchesPqarrow: the schema in the footer pcaptk writes is the
// one pqarrow derives from the contract's Arrow schema, for every column,
// nullable or not, with both timestamp units, and for a column subset as
// --columns makes; and arrow-go reads it back as that Arrow schema.
func TestParquetSchemaMatchesPqarrow(t *testing.T) {
	subset := []Column{ColTS, ColSACK, ColSrcIP, ColSeqRel, ColSYN}
	for _, tc := range []struct {
		cols    []Column
		tsMicro bool
	}{{AllColumns(), false}, {AllColumns(), true}, {subset, false}} {
		want, err := pqarrow.ToParquet(arrowSchema(tc.cols, tc.tsMicro), parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		enc, err := NewParquet(&buf, ParquetOptions{Columns: tc.cols, TSMicro: tc.tsMicro})
		if err != nil {
			t.Fatal(err)
		}
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		pf, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		got := pf.MetaData().Schema
		var w, g bytes.Buffer
		schema.PrintSchema(want.Root(), &w, 2)
		schema.PrintSchema(got.Root(), &g, 2)
		if normSchema(w.String()) != normSchema(g.String()) {
			t.Errorf("tsMicro=%v: schema differs from pqarrow's\n got:\n%s\nwant:\n%s", tc.tsMicro, g.String(), w.String())
		}
		as, err := pqarrow.FromParquet(got, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if wantA := arrowSchema(tc.cols, tc.tsMicro); normArrow(as) != normArrow(wantA) {
			t.Errorf("tsMicro=%v: arrow reads the schema as\n%s\nwant\n%s", tc.tsMicro, as, wantA)
		}
	}
}

// normSchema drops what differs between pqarrow's in-memory schema and the one
// read from a footer without changing the file: the root's repetition (a footer
// gives the root none) and pqarrow's flag to force a converted type (timestamps
// in ns have none to force).
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
