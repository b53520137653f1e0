package main

import (
	"github.com/spf13/pflag"

	"github.com/pcaptk/pcaptk/pkg/export"
)

// parquetFlags are the Parquet options of export and conns.
type parquetFlags struct {
	RowGroupSize int64
	Compression  string
	TSUnit       string
}

// register adds --row-group-size (default rowGroup), --compression and
// --ts-unit (tsWhat names the timestamp columns in its help).
func (p *parquetFlags) register(fs *pflag.FlagSet, rowGroup int64, tsWhat string) {
	fs.Int64Var(&p.RowGroupSize, "row-group-size", rowGroup, "Parquet rows per row group")
	fs.StringVar(&p.Compression, "compression", "zstd", "Parquet compression: zstd, snappy, gzip or none")
	fs.StringVar(&p.TSUnit, "ts-unit", "ns", "Parquet "+tsWhat+" unit: ns, or us for Spark 3")
}

// validate checks the flags for command cmd.
func (p *parquetFlags) validate(cmd string) error {
	if _, err := export.ParseCompression(p.Compression); err != nil {
		return usageErrorf("%s: --compression: %v", cmd, err)
	}
	if p.TSUnit != "ns" && p.TSUnit != "us" {
		return usageErrorf("%s: --ts-unit: want ns or us, not %q", cmd, p.TSUnit)
	}
	// The footer keeps an entry per row group and column: tiny row groups would
	// let it grow with the input (one-row groups took 500 MB for 50,000 rows).
	if p.RowGroupSize < export.MinRowGroupSize {
		return usageErrorf("%s: --row-group-size must be at least %d", cmd, export.MinRowGroupSize)
	}
	return nil
}

// options are the writer's options the flags give.
func (p *parquetFlags) options() export.ParquetOptions {
	return export.ParquetOptions{RowGroupSize: p.RowGroupSize, Compression: p.Compression,
		TSMicro: p.TSUnit == "us", CreatedBy: "pcaptk version " + version}
}
