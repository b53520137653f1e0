package export

import (
	"bytes"
	"testing"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// TestParquetSchemaMatchesPqarrow: the schema pcaptk builds by hand (to keep
// pqarrow out of the binary) is the one pqarrow derives from the same arrow
// schema, for every column, nullable or not, with both timestamp units, and for
// a column subset as --columns makes.
func TestParquetSchemaMatchesPqarrow(t *testing.T) {
	subset := []Column{ColTS, ColSACK, ColSrcIP, ColSeqRel, ColSYN}
	for _, tc := range []struct {
		cols    []Column
		tsMicro bool
	}{{AllColumns(), false}, {AllColumns(), true}, {subset, false}} {
		want, err := pqarrow.ToParquet(ArrowSchema(tc.cols, tc.tsMicro), parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParquetSchema(tc.cols, tc.tsMicro)
		if err != nil {
			t.Fatal(err)
		}
		var w, g bytes.Buffer
		schema.PrintSchema(want.Root(), &w, 2)
		schema.PrintSchema(got.Root(), &g, 2)
		if w.String() != g.String() || !got.Equals(want) {
			t.Errorf("tsMicro=%v: schema differs from pqarrow's\n got:\n%s\nwant:\n%s", tc.tsMicro, g.String(), w.String())
		}
	}
}
