// Package export turns decoded packets into rows: JSON, CSV and Parquet (and,
// for export --format text, tcpdump's lines through pkg/tcpdump). The table
// encoders write one row per TCP packet with the columns of SCHEMA.md (see
// Column); Files runs a whole export of capture files or a dataset:
//
//	r, _ := reader.Open("cap.pcap")           // the caller owns and closes r
//	f, _ := os.Create("cap.parquet")          // and the output
//	enc, _ := export.NewParquet(f, export.ParquetOptions{})
//	st, err := export.Run(r, enc, export.RunOptions{Match: flt.Match})
//	// Run always closes enc: a Parquet file gets its footer even when r fails
//	// mid-way (err is then the reader's *reader.PacketError).
//	f.Close()
//
// Run decodes and tracks connections (decode.ConnTracker) in one goroutine and
// encodes in another, handing over Batches of flat Rows that own no memory of
// the reader. Encoders reuse their buffers: NewCSV and NewJSON append each row
// to one buffer written in 256 KiB pieces, allocate nothing per row, and format
// large batches in parts on every CPU. The Parquet encoder declares the
// columns (parquet.go: each Column's type, Row field, presence bit and
// encoding, the address and flags dictionaries keyed by their raw bits, the
// options text read from the batch's Text) for the writer of package
// export/parquet, whose workers share the columns and take batches at their
// own pace (Run hands them over with WriteBatchAsync); it holds at most one
// row group, compressed, in memory. Encoders are not safe for concurrent use;
// Close must be called (it stops their goroutines) and does not close the
// writer.
package export
