package export

import (
	"bytes"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/pcaptk/pcaptk/internal/parquettest"
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
		var buf bytes.Buffer
		enc, err := NewParquet(&buf, ParquetOptions{Columns: tc.cols, TSMicro: tc.tsMicro})
		if err != nil {
			t.Fatal(err)
		}
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		parquettest.CheckSchema(t, buf.Bytes(), arrowSchema(tc.cols, tc.tsMicro))
	}
}
