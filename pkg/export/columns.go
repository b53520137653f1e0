package export

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/pcaptk/pcaptk/pkg/analysis"
	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/reader"
	"github.com/pcaptk/pcaptk/pkg/tcpdump"
)

// Column identifies one exported column (see SCHEMA.md for the contract).
type Column uint8

// The columns, in their default order.
const (
	ColFrame Column = iota
	ColTS
	ColIface
	ColCapLen
	ColWireLen
	ColIPVersion
	ColSrcIP
	ColDstIP
	ColSrcPort
	ColDstPort
	ColStream
	ColFlags
	ColFlagsRaw
	ColSYN
	ColACKFlag
	ColFIN
	ColRST
	ColPSH
	ColURG
	ColECE
	ColCWR
	ColSeq
	ColAck
	ColSeqRel
	ColAckRel
	ColWindow
	ColWindowScaled
	ColPayloadLen
	ColUrgPtr
	ColMSS
	ColWScale
	ColSackOK
	ColTSVal
	ColTSEcr
	ColSACK
	ColOptions
	ColTruncated
	// Beyond SCHEMA.md: cheap IP fields users ask for.
	ColTTL
	ColIPID
	numPacketColumns // the columns above are the default ones

	// The TCP analysis columns (SCHEMA.md, "TCP analysis columns"), written
	// when asked for (export --analysis, or named in --columns): one per
	// analysis.Flags bit in its order, then the analysis text and the values
	// of analysis.Result.
	ColRetransmission Column = iota - 1
	ColFastRetransmission
	ColSpuriousRetransmission
	ColOutOfOrder
	ColLostSegment
	ColAckLostSegment
	ColDupAck
	ColZeroWindow
	ColZeroWindowProbe
	ColZeroWindowProbeAck
	ColWindowFull
	ColWindowUpdate
	ColKeepAlive
	ColKeepAliveAck
	ColReusedPorts
	ColAnalysis
	ColDupAckNum
	ColDupAckFrame
	ColAcksFrame
	ColAckRTT
	ColIRTT
	ColBytesInFlight
	ColPushBytesSent
	ColRTO
	ColRTOFrame
	ColTimeRelative
	ColTimeDelta
	numColumns
)

// ColInput is the input a row comes from, its name as given ("-" for standard
// input). It stands apart from the default columns, which describe a packet
// whatever file held it: export puts it first when it reads several inputs
// into one output, and --columns can name it. (numColumns and numColumns+1
// are taken by the line encoders' fused flag columns.)
const ColInput Column = numColumns + 2

var columnNames = [numColumns]string{
	"frame", "ts", "iface", "caplen", "wirelen", "ip_version", "src_ip", "dst_ip", "src_port", "dst_port",
	"stream", "flags", "flags_raw", "syn", "ack_flag", "fin", "rst", "psh", "urg", "ece", "cwr",
	"seq", "ack", "seq_rel", "ack_rel", "window", "window_scaled", "payload_len", "urg_ptr",
	"mss", "wscale", "sack_ok", "ts_val", "ts_ecr", "sack", "options", "truncated", "ttl", "ip_id",
	// analysis.FlagName of each flag, in bit order
	"retransmission", "fast_retransmission", "spurious_retransmission", "out_of_order", "lost_segment",
	"ack_lost_segment", "dup_ack", "zero_window", "zero_window_probe", "zero_window_probe_ack",
	"window_full", "window_update", "keep_alive", "keep_alive_ack", "reused_ports",
	"analysis", "dup_ack_num", "dup_ack_frame", "acks_frame", "ack_rtt", "irtt", "bytes_in_flight",
	"push_bytes_sent", "rto", "rto_frame", "time_relative", "time_delta",
}

func (c Column) String() string {
	if c < numColumns {
		return columnNames[c]
	}
	if c == ColInput {
		return "input"
	}
	return fmt.Sprintf("column(%d)", c)
}

// AllColumns returns the default columns in their order: every column but the
// analysis ones.
func AllColumns() []Column {
	cols := make([]Column, numPacketColumns)
	for i := range cols {
		cols[i] = Column(i)
	}
	return cols
}

// AnalysisColumns returns the TCP analysis columns in their order.
func AnalysisColumns() []Column {
	cols := make([]Column, 0, numColumns-ColRetransmission)
	for c := ColRetransmission; c < numColumns; c++ {
		cols = append(cols, c)
	}
	return cols
}

// IsAnalysis reports whether c is a TCP analysis column.
func (c Column) IsAnalysis() bool { return c >= ColRetransmission && c < numColumns }

// WantsAnalysis reports whether cols include an analysis column, which the
// pipeline then computes (Run).
func WantsAnalysis(cols []Column) bool {
	return slices.ContainsFunc(cols, Column.IsAnalysis)
}

// WithAnalysis returns cols (nil: the default columns) followed by the
// analysis columns, unless cols name some already: export --analysis.
func WithAnalysis(cols []Column) []Column {
	if cols == nil {
		cols = AllColumns()
	}
	if WantsAnalysis(cols) {
		return cols
	}
	return append(slices.Clip(cols), AnalysisColumns()...)
}

// ColumnNames lists the names of the default columns, for help texts.
func ColumnNames() []string { return columnNames[:numPacketColumns] }

// AnalysisColumnNames lists the names of the analysis columns.
func AnalysisColumnNames() []string { return columnNames[ColRetransmission:] }

// ParseColumns parses a comma-separated list of column names ("" means the
// default ones).
func ParseColumns(s string) ([]Column, error) {
	if strings.TrimSpace(s) == "" {
		return AllColumns(), nil
	}
	var cols []Column
	seen := map[Column]bool{}
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		c, ok := columnByName(name)
		if !ok {
			return nil, fmt.Errorf("unknown column %q (known: %s,%s)", name, strings.Join(columnNames[:], ","), ColInput)
		}
		if seen[c] {
			return nil, fmt.Errorf("column %q listed twice", name)
		}
		seen[c] = true
		cols = append(cols, c)
	}
	return cols, nil
}

func columnByName(name string) (Column, bool) {
	if name == ColInput.String() {
		return ColInput, true
	}
	for i, n := range columnNames {
		if n == name {
			return Column(i), true
		}
	}
	return 0, false
}

// Row flags: which nullable values are present, and the boolean columns.
const (
	hasSeqRel uint16 = 1 << iota
	hasAckRel
	hasWindowScaled
	hasMSS
	hasWScale
	hasTS
	hasSACK
	hasOptions
	isSackOK
	isTruncated
)

// Row is one exported packet, flattened so that it can be handed to another
// goroutine after the reader's buffer has moved on. It holds no pointers.
type Row struct {
	Frame        uint64
	TS           int64 // ns since the epoch, UTC
	Stream       uint64
	Iface        uint32
	Input        uint32 // index of the input in the encoder's list of input names
	CapLen       uint32
	WireLen      uint32
	Seq, Ack     uint32
	SeqRel       uint32
	AckRel       uint32
	WindowScaled uint32
	PayloadLen   uint32
	TSVal, TSEcr uint32
	OptStart     uint32 // options text is Batch.Text[OptStart:OptEnd]
	OptEnd       uint32
	SrcIP, DstIP [16]byte
	SrcPort      uint16
	DstPort      uint16
	Flags        uint16 // decode.Record.Flags: the 8 classic flags plus AE
	FlagsRaw     uint16 // all 12 flag bits, reserved ones included
	Window       uint16
	UrgPtr       uint16
	MSS          uint16
	IPID         uint16
	Has          uint16 // has* and is* bits
	IPVersion    uint8
	WScale       uint8
	TTL          uint8
	NSACK        uint8
	SACK         [4]decode.SACKBlock
}

// Batch is a group of rows with the text their options column refers to.
// Batches are reused: Reset keeps the memory.
type Batch struct {
	Rows []Row
	Text []byte
	// An holds the TCP analysis of each row, An[i] that of Rows[i], when the
	// analysis columns are wanted (Run fills it then); it is empty otherwise,
	// so that exports without them move no more bytes per row.
	An []analysis.Result

	joined []analysisRow // the rows with their analysis, for Parquet (joinAnalysis)

	release func() // Run's: gives the batch back to the reading goroutine
}

// Reset empties b, keeping its memory.
func (b *Batch) Reset() {
	b.Rows = b.Rows[:0]
	b.Text = b.Text[:0]
	b.An = b.An[:0]
}

// noAnalysis stands for the analysis of a row in a batch without one: every
// flag false, every value null.
var noAnalysis analysis.Result

// analysisOf returns the analysis of row i of b.
func (b *Batch) analysisOf(i int) *analysis.Result {
	if i < len(b.An) {
		return &b.An[i]
	}
	return &noAnalysis
}

// Len is the number of rows.
func (b *Batch) Len() int { return len(b.Rows) }

// Exportable reports whether rec is a TCP packet with a complete 20-byte header,
// the packets export writes a row for.
func Exportable(rec *decode.Record) bool {
	return rec.HasTCP && (rec.Truncated == decode.LayerNone || rec.Truncated > decode.LayerTransport)
}

// Add appends the row of packet p, decoded into rec, with its connection columns
// c. With options set the options column's text is formatted (it needs p.Data).
// Add allocates only while the batch grows to its working size.
func (b *Batch) Add(p *reader.Packet, rec *decode.Record, c *decode.Conn, options bool) {
	b.Rows = append(b.Rows, Row{})
	r := &b.Rows[len(b.Rows)-1]
	r.Frame = p.Number
	r.TS = p.Timestamp
	r.Iface = uint32(p.Iface)
	r.CapLen = p.CapLen
	r.WireLen = p.WireLen
	r.IPVersion = rec.IPVersion
	r.SrcIP, r.DstIP = rec.SrcIP, rec.DstIP
	r.SrcPort, r.DstPort = rec.SrcPort, rec.DstPort
	r.TTL, r.IPID = rec.TTL, rec.IPID
	r.Stream = c.Stream
	r.Flags = rec.Flags
	r.FlagsRaw = rec.Flags
	if rec.TransOff+14 <= len(p.Data) {
		r.FlagsRaw = uint16(p.Data[rec.TransOff+12]&0x0f)<<8 | uint16(p.Data[rec.TransOff+13])
	}
	r.Seq, r.Ack = rec.Seq, rec.Ack
	r.Window = rec.Window
	r.UrgPtr = rec.Urgent
	r.PayloadLen = uint32(rec.PayloadLen)
	var has uint16
	if c.HasSeqRel {
		has |= hasSeqRel
		r.SeqRel = c.SeqRel
	}
	if c.HasAckRel {
		has |= hasAckRel
		r.AckRel = c.AckRel
	}
	if c.HasWindow {
		has |= hasWindowScaled
		r.WindowScaled = c.WindowScaled
	}
	if rec.HasMSS {
		has |= hasMSS
		r.MSS = rec.MSS
	}
	if rec.HasWScale {
		has |= hasWScale
		r.WScale = rec.WScale
	}
	if rec.HasTS {
		has |= hasTS
		r.TSVal, r.TSEcr = rec.TSVal, rec.TSEcr
	}
	if rec.NSACK > 0 {
		has |= hasSACK
		n := min(rec.NSACK, len(r.SACK))
		r.NSACK = uint8(n)
		copy(r.SACK[:n], rec.SACK[:n])
	}
	if rec.SACKOK {
		has |= isSackOK
	}
	if rec.Truncated != decode.LayerNone && rec.Truncated <= decode.LayerOptions {
		has |= isTruncated
	}
	if options && rec.DataOff > 20 {
		start := len(b.Text)
		if !b.addTSOnly(rec, p.Data) {
			b.Text = tcpdump.AppendTCPOptions(b.Text, rec, p.Data)
		}
		if len(b.Text) > start {
			has |= hasOptions
			r.OptStart, r.OptEnd = uint32(start), uint32(len(b.Text))
		}
	}
	r.Has = has
}

// addTSOnly appends the options text of the header most TCP stacks send on
// every segment after the handshake, NOP NOP TS and nothing else, captured
// whole: "nop,nop,TS val V ecr E", as AppendTCPOptions writes it, for a third
// of its cost (97% of the rows of a Linux capture take this path). It reports
// false, appending nothing, for any other header.
var tsOnlyText = [16]byte([]byte("nop,nop,TS val  "))

func (b *Batch) addTSOnly(rec *decode.Record, data []byte) bool {
	const text = "nop,nop,TS val "
	o := rec.OptOff
	if rec.DataOff != 32 || o == 0 || o+12 > min(len(data), rec.End) ||
		data[o] != decode.OptNOP || data[o+1] != decode.OptNOP || data[o+2] != decode.OptTimestamp || data[o+3] != 10 {
		return false
	}
	if cap(b.Text)-len(b.Text) < 64 {
		b.Text = slices.Grow(b.Text, 64)
	}
	w := b.Text[:cap(b.Text)]
	n := len(b.Text)
	*(*[16]byte)(w[n:]) = tsOnlyText
	n = putU32(w, n+len(text), binary.BigEndian.Uint32(data[o+4:]))
	le.PutUint64(w[n:], ' '|'e'<<8|'c'<<16|'r'<<24|' '<<32)
	n = putU32(w, n+5, binary.BigEndian.Uint32(data[o+8:]))
	b.Text = w[:n]
	return true
}

// options returns the options text of r (valid while b is).
func (b *Batch) options(r *Row) []byte { return b.Text[r.OptStart:r.OptEnd] }

// wantsOptions reports whether cols include the options column.
func wantsOptions(cols []Column) bool {
	for _, c := range cols {
		if c == ColOptions {
			return true
		}
	}
	return false
}
