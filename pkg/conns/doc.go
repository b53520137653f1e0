// Package conns runs pcaptk conns: one row per TCP connection (SCHEMA.md's
// connection table) from capture files, as a table for a person, CSV or JSON
// lines or Parquet for programs, or a dataset of files per input and partition.
//
//	f := &conns.Files{Inputs: []string{"cap.pcap"}, Output: "-", Stdout: os.Stdout,
//		Format: "csv", Notes: os.Stderr}
//	err := f.Run()
//
// The rows come from analysis.Engine (connection tracking, the packet analyzer
// and the connection table, so stream numbers and counts agree with export
// --analysis), run as a pipeline of four goroutines (read and decode; track;
// analyse; account), and are written as their connections end: memory is
// bounded by the connections open at once (analysis.ConnTableOptions), not by
// the capture. An order (Order, Top) holds rows to sort them, at most
// SortLimit (with a note past it) or Top. CSV and JSON go through export's
// table writer with the column table Columns, Parquet through
// export.ParquetColumns and pkg/export/parquet; the person's table (text.go)
// aligns its columns, sizes numbers in human units and colours states on a
// terminal.
package conns
