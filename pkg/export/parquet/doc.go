// Package parquet writes Parquet files of a fixed schema from batches of the
// caller's row structs: pcaptk's own writer (its Thrift footer, PLAIN,
// DELTA_BINARY_PACKED, dictionary and RLE/bit-packed encodings, zstd, snappy
// or gzip pages, statistics), with no reflection and no allocation per row.
//
// The caller describes each column once: its name and type, the row field it
// reads (given as a function from a row to the field's address, called once to
// find the offset), and optionally a presence bit that makes it nullable:
//
//	type Conn struct {
//		Stream  uint64
//		First   int64 // ns since the epoch
//		RTT     int64 // ns
//		HasRTT  bool
//		State   uint8
//		SawSYN  bool
//	}
//
//	cols := []parquet.Column[Conn]{
//		parquet.Uint64("stream", func(c *Conn) *uint64 { return &c.Stream }),
//		parquet.Timestamp("first_ts", func(c *Conn) *int64 { return &c.First }, parquet.Nanos),
//		parquet.Duration("rtt", func(c *Conn) *int64 { return &c.RTT }).
//			Optional(parquet.True(func(c *Conn) *bool { return &c.HasRTT })),
//		parquet.String("state", func(dst []byte, c *Conn, _ []byte) []byte {
//			return append(dst, stateNames[c.State]...)
//		}).Key(parquet.KeyOf(func(c *Conn) *uint8 { return &c.State })),
//		parquet.Bool("saw_syn", parquet.True(func(c *Conn) *bool { return &c.SawSYN })),
//	}
//	w, err := parquet.NewWriter(f, cols, parquet.Options{}) // zstd, 1,048,576-row groups
//	...
//	err = w.Write(rows, nil) // as often as needed; WriteAsync returns at once
//	err = w.Close()          // the footer; f itself is not closed
//
// The types: Bool (a bit of the row: Mask of an unsigned field, or True of a
// bool), Uint8/16/32/64, Int64, Duration (int64 ns, written as Int64),
// Timestamp (ns since the epoch, written in ns or µs), String, ArenaString
// (text the row keeps in the batch's arena as a start:end span) and PairList
// (list<struct<uint32, uint32>>, export's sack). Integers are
// DELTA_BINARY_PACKED unless Plain; Uncompressed skips the codec for values
// none shrinks. Strings are dictionary encoded while the dictionary holds 1
// MiB of text, then PLAIN; Key makes the dictionary key the raw bytes of the
// row fields the text is made from (an address and its IP version, flag bits),
// so that the text is made once per distinct value.
//
// Rows are read by field offset: a worker goroutine per CPU (up to 4) stages
// its share of the columns from each batch into typed slices, encodes and
// compresses a page in one pass, and keeps the open row group's pages,
// compressed, until the group is complete. The rows and the arena handed to
// Write or WriteAsync must not change until the writer is done with them.
package parquet
