package export

import (
	"errors"
	"fmt"
	"io"

	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/export/parquet"
	"github.com/pcaptk/pcaptk/pkg/tcpdump"
)

// ParquetOptions configure the Parquet encoder.
type ParquetOptions struct {
	Columns      []Column // nil: every column
	RowGroupSize int64    // rows per row group; 0: DefaultRowGroupSize
	Compression  string   // zstd (default), snappy, gzip or none
	// TSMicro writes ts in microseconds instead of nanoseconds (Spark 3 rejects
	// nanosecond Parquet timestamps).
	TSMicro bool

	// CreatedBy is the footer's created_by; "" writes "pcaptk version unknown".
	// Readers parse it as "NAME version X" (parquet-java ignores the string
	// statistics of a file whose created_by it cannot parse).
	CreatedBy string

	// Inputs names the inputs for the input column: Row.Input indexes it.
	Inputs []string

	pageRows int // rows per data page; 0: parquet.DefaultPageRows (tests set less)
}

// DefaultRowGroupSize is 1,048,576 rows, as the issue asks. An open row group
// costs its compressed pages (about 40 bytes a row on the benchmark capture)
// plus one page of staged values per column.
const DefaultRowGroupSize = parquet.DefaultRowGroupSize

// MinRowGroupSize is the smallest row group the command accepts: the footer
// holds about 4 KB per row group, so this bounds it to a quarter byte a row.
const MinRowGroupSize = 16384

// MemoryPerRow estimates the bytes a row costs while its row group is open, for
// callers that set a memory limit: the compressed pages (about 40 bytes a row on
// the benchmark capture) and the slack of their growing buffers.
const MemoryPerRow = 48

// ParseCompression checks a --compression value.
func ParseCompression(s string) (parquet.Codec, error) { return parquet.ParseCompression(s) }

// Parquet writes rows to a Parquet file with the package parquet writer, the
// columns declared by parquetColumn (and analysisColumn).
type Parquet struct {
	w *parquet.Writer[Row] // without the analysis columns
	// wa, with the analysis columns, writes each row joined with its analysis
	// (analysisRow): the writer reads one row type, and a Row does not hold
	// the analysis, so that exports without it move no more bytes.
	wa *parquet.Writer[analysisRow]
	t  pqTable // w or wa
}

// pqTable is what the encoder asks of either writer besides the rows.
type pqTable interface {
	RowGroupSize() int64
	Buffered() int64
	ShareMemory()
	FlushRowGroup() error
	Close() error
}

// NewParquet returns an encoder writing a Parquet file to w. Close writes the
// footer; w itself is not closed.
func NewParquet(w io.Writer, o ParquetOptions) (*Parquet, error) {
	cols := o.Columns
	if cols == nil {
		cols = AllColumns()
	}
	if len(cols) == 0 {
		return nil, errors.New("parquet: no columns")
	}
	for _, c := range cols {
		if c >= numColumns && c != ColInput {
			return nil, fmt.Errorf("parquet: unknown column %d", c)
		}
	}
	po := parquet.Options{
		RowGroupSize: o.RowGroupSize,
		PageRows:     o.pageRows,
		Compression:  o.Compression,
		CreatedBy:    o.CreatedBy,
	}
	p := &Parquet{}
	var err error
	if WantsAnalysis(cols) {
		schema := make([]parquet.Column[analysisRow], len(cols))
		for i, c := range cols {
			if c.IsAnalysis() {
				schema[i] = analysisColumn(c)
			} else {
				schema[i] = parquet.Embedded(parquetColumn(c, o.TSMicro, o.Inputs), func(r *analysisRow) *Row { return &r.Row })
			}
		}
		p.wa, err = parquet.NewWriter(w, schema, po)
		p.t = p.wa
	} else {
		schema := make([]parquet.Column[Row], len(cols))
		for i, c := range cols {
			schema[i] = parquetColumn(c, o.TSMicro, o.Inputs)
		}
		p.w, err = parquet.NewWriter(w, schema, po)
		p.t = p.w
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// WriteBatch writes the rows of b, closing row groups as they fill, and returns
// when the writer is done with b.
func (p *Parquet) WriteBatch(b *Batch) error {
	if p.wa != nil {
		return p.wa.Write(b.joinAnalysis(), b.Text)
	}
	return p.w.Write(b.Rows, b.Text)
}

// WriteBatchAsync is WriteBatch returning at once: release is called (from
// another goroutine) when b is no longer used. Run uses it, so that reading
// goes on while the workers encode; on an error return b was not taken.
func (p *Parquet) WriteBatchAsync(b *Batch, release func()) error {
	if p.wa != nil {
		return p.wa.WriteAsync(b.joinAnalysis(), b.Text, release)
	}
	return p.w.WriteAsync(b.Rows, b.Text, release)
}

// Close waits for the workers, writes the open row group and the footer.
func (p *Parquet) Close() error { return p.t.Close() }

// rowGroupSize, bufferedRows, shareMemory and flushRowGroup make a Parquet
// encoder a rowGrouper, whose open row groups a Partitioned keeps within its
// budget (see parquet.Writer's RowGroupSize, Buffered, ShareMemory and
// FlushRowGroup).
func (p *Parquet) rowGroupSize() int64  { return p.t.RowGroupSize() }
func (p *Parquet) bufferedRows() int64  { return p.t.Buffered() }
func (p *Parquet) shareMemory()         { p.t.ShareMemory() }
func (p *Parquet) flushRowGroup() error { return p.t.FlushRowGroup() }

// parquetColumn declares column c: its type, its Row field, whether it is
// nullable (a Row.Has bit) and how it is encoded.
//
// Counters and small numbers are DELTA_BINARY_PACKED (the default); seq, ack
// and the TS option values are random 32-bit numbers, on which, measured, zstd
// saves nothing, so their pages are PLAIN and stored as they are. The address
// columns are keyed by the raw address and its version, and flags by the flag
// bits, so their text is formatted once per distinct value; the options text
// is read from the batch's text, and is its own key. The input column is keyed
// by the input's index, so each name is written once per dictionary.
func parquetColumn(c Column, micro bool, inputs []string) parquet.Column[Row] {
	name := c.String()
	has := func(bit uint16) parquet.Bit[Row] { return parquet.Mask(func(r *Row) *uint16 { return &r.Has }, bit) }
	flag := func(bit uint16) parquet.Column[Row] {
		return parquet.Bool(name, parquet.Mask(func(r *Row) *uint16 { return &r.Flags }, bit))
	}
	switch c {
	case ColInput:
		return parquet.String(name, func(dst []byte, r *Row, _ []byte) []byte {
			if int(r.Input) < len(inputs) {
				return append(dst, inputs[r.Input]...)
			}
			return dst
		}).Key(parquet.KeyOf(func(r *Row) *uint32 { return &r.Input }))
	case ColFrame:
		return parquet.Uint64(name, func(r *Row) *uint64 { return &r.Frame })
	case ColTS:
		unit := parquet.Nanos
		if micro {
			unit = parquet.Micros
		}
		return parquet.Timestamp(name, func(r *Row) *int64 { return &r.TS }, unit)
	case ColIface:
		return parquet.Uint32(name, func(r *Row) *uint32 { return &r.Iface })
	case ColCapLen:
		return parquet.Uint32(name, func(r *Row) *uint32 { return &r.CapLen })
	case ColWireLen:
		return parquet.Uint32(name, func(r *Row) *uint32 { return &r.WireLen })
	case ColIPVersion:
		return parquet.Uint8(name, func(r *Row) *uint8 { return &r.IPVersion })
	case ColSrcIP:
		return parquet.String(name, func(dst []byte, r *Row, _ []byte) []byte {
			return decode.AppendIP(dst, r.SrcIP, r.IPVersion)
		}).Key(parquet.KeyOf(func(r *Row) *[16]byte { return &r.SrcIP }), ipVersion)
	case ColDstIP:
		return parquet.String(name, func(dst []byte, r *Row, _ []byte) []byte {
			return decode.AppendIP(dst, r.DstIP, r.IPVersion)
		}).Key(parquet.KeyOf(func(r *Row) *[16]byte { return &r.DstIP }), ipVersion)
	case ColSrcPort:
		return parquet.Uint16(name, func(r *Row) *uint16 { return &r.SrcPort })
	case ColDstPort:
		return parquet.Uint16(name, func(r *Row) *uint16 { return &r.DstPort })
	case ColStream:
		return parquet.Uint64(name, func(r *Row) *uint64 { return &r.Stream })
	case ColFlags:
		return parquet.String(name, func(dst []byte, r *Row, _ []byte) []byte {
			return tcpdump.AppendTCPFlags(dst, r.Flags)
		}).Key(parquet.KeyOf(func(r *Row) *uint16 { return &r.Flags }))
	case ColFlagsRaw:
		return parquet.Uint16(name, func(r *Row) *uint16 { return &r.FlagsRaw })
	case ColSYN:
		return flag(decode.SYN)
	case ColACKFlag:
		return flag(decode.ACK)
	case ColFIN:
		return flag(decode.FIN)
	case ColRST:
		return flag(decode.RST)
	case ColPSH:
		return flag(decode.PSH)
	case ColURG:
		return flag(decode.URG)
	case ColECE:
		return flag(decode.ECE)
	case ColCWR:
		return flag(decode.CWR)
	case ColSeq:
		return parquet.Uint32(name, func(r *Row) *uint32 { return &r.Seq }).Plain().Uncompressed()
	case ColAck:
		return parquet.Uint32(name, func(r *Row) *uint32 { return &r.Ack }).Plain().Uncompressed()
	case ColSeqRel:
		return parquet.Uint32(name, func(r *Row) *uint32 { return &r.SeqRel }).Optional(has(hasSeqRel))
	case ColAckRel:
		return parquet.Uint32(name, func(r *Row) *uint32 { return &r.AckRel }).Optional(has(hasAckRel))
	case ColWindow:
		return parquet.Uint16(name, func(r *Row) *uint16 { return &r.Window })
	case ColWindowScaled:
		return parquet.Uint32(name, func(r *Row) *uint32 { return &r.WindowScaled }).Optional(has(hasWindowScaled))
	case ColPayloadLen:
		return parquet.Uint32(name, func(r *Row) *uint32 { return &r.PayloadLen })
	case ColUrgPtr:
		return parquet.Uint16(name, func(r *Row) *uint16 { return &r.UrgPtr })
	case ColMSS:
		return parquet.Uint16(name, func(r *Row) *uint16 { return &r.MSS }).Optional(has(hasMSS))
	case ColWScale:
		return parquet.Uint8(name, func(r *Row) *uint8 { return &r.WScale }).Optional(has(hasWScale))
	case ColSackOK:
		return parquet.Bool(name, has(isSackOK))
	case ColTSVal:
		return parquet.Uint32(name, func(r *Row) *uint32 { return &r.TSVal }).Optional(has(hasTS)).Plain().Uncompressed()
	case ColTSEcr:
		return parquet.Uint32(name, func(r *Row) *uint32 { return &r.TSEcr }).Optional(has(hasTS)).Plain().Uncompressed()
	case ColSACK:
		return parquet.PairList(name, "left", "right", func(r *Row) *decode.SACKBlock { return &r.SACK[0] },
			len(Row{}.SACK), func(r *Row) *uint8 { return &r.NSACK }).Optional(has(hasSACK))
	case ColOptions:
		// Min/max of the options text help no query.
		return parquet.ArenaString(name, func(r *Row) *uint32 { return &r.OptStart }, func(r *Row) *uint32 { return &r.OptEnd }).
			Optional(has(hasOptions)).NoStats()
	case ColTruncated:
		return parquet.Bool(name, has(isTruncated))
	case ColTTL:
		return parquet.Uint8(name, func(r *Row) *uint8 { return &r.TTL })
	case ColIPID:
		return parquet.Uint16(name, func(r *Row) *uint16 { return &r.IPID })
	}
	return parquet.Column[Row]{} // not reached: NewParquet checks c
}

// ipVersion is the tag of the address columns' keys: an IPv4 address and an
// IPv6 address may have the same 16 bytes.
var ipVersion = parquet.KeyOf(func(r *Row) *uint8 { return &r.IPVersion })
