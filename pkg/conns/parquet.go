package conns

import (
	"io"

	"github.com/pcaptk/pcaptk/pkg/analysis"
	"github.com/pcaptk/pcaptk/pkg/export"
	"github.com/pcaptk/pcaptk/pkg/export/parquet"
)

// DefaultRowGroupSize is the Parquet row group of conns: 131,072 rows (a
// connection row's 48 columns take about 82 bytes compressed, as files of the
// benchmark capture show, so an open group stays near 11 MB; DuckDB's own
// groups are 122,880 rows).
const DefaultRowGroupSize = 1 << 17

// parquetBatch is how many rows go to the Parquet writer at once.
const parquetBatch = 4096

// parquetSink writes rows to a Parquet file through the connection table's
// columns (export.ParquetColumns), handing the writer a batch at a time.
type parquetSink struct {
	w    *parquet.Writer[analysis.ConnRow]
	rows []analysis.ConnRow
}

func newParquetSink(w io.Writer, t *Table, o export.ParquetOptions, shared bool) (*parquetSink, error) {
	unit := parquet.Nanos
	if o.TSMicro {
		unit = parquet.Micros
	}
	cols, err := export.ParquetColumns(t, unit)
	if err != nil {
		return nil, err
	}
	if o.RowGroupSize <= 0 {
		o.RowGroupSize = DefaultRowGroupSize
	}
	pw, err := parquet.NewWriter(w, cols, parquet.Options{RowGroupSize: o.RowGroupSize,
		Compression: o.Compression, CreatedBy: o.CreatedBy})
	if err != nil {
		return nil, err
	}
	if shared {
		pw.ShareMemory()
	}
	return &parquetSink{w: pw, rows: make([]analysis.ConnRow, 0, parquetBatch)}, nil
}

func (p *parquetSink) Write(r *analysis.ConnRow) error {
	p.rows = append(p.rows, *r)
	if len(p.rows) < parquetBatch {
		return nil
	}
	return p.flush()
}

func (p *parquetSink) flush() error {
	err := p.w.Write(p.rows, nil)
	p.rows = p.rows[:0]
	return err
}

// buffered is the rows held: in the batch, and in the open row group.
func (p *parquetSink) buffered() int64 { return int64(len(p.rows)) + p.w.Buffered() }

// flushRowGroup ends the open row group now (a partition's, to keep the
// rows held by all partitions within a bound).
func (p *parquetSink) flushRowGroup() error {
	if err := p.flush(); err != nil {
		return err
	}
	return p.w.FlushRowGroup()
}

func (p *parquetSink) Close() error {
	err := p.flush()
	if cerr := p.w.Close(); err == nil {
		err = cerr
	}
	return err
}
