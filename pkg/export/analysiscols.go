package export

import (
	"slices"
	"strings"

	"github.com/pcaptk/pcaptk/pkg/analysis"
	"github.com/pcaptk/pcaptk/pkg/export/parquet"
)

// analysisTextMax bounds what the analysis column writes: every flag's name,
// the commas between them and two quotes.
var analysisTextMax = len(strings.Join(columnNames[ColRetransmission:ColAnalysis], ",")) + 2

// prepareAnalysisFlags fills anFlagText when the fifteen analysis flag
// columns come together in their order, as --analysis writes them: each row
// then appends two texts for them instead of fifteen values (the CSV and JSON
// formatting of the analysis columns took about as long as all the others).
func (e *lineEncoder) prepareAnalysisFlags() {
	e.anFlagsAt = -1
	const n = analysis.NumFlags
	for i := 0; i+n <= len(e.cols); i++ {
		match := true
		for j := range n {
			if e.cols[i+j] != ColRetransmission+Column(j) {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		e.anFlagsAt = i
		e.anFlagText = new([2][256][]byte)
		for half := range 2 {
			for v := range 256 {
				var t []byte
				for j := range 8 {
					k := i + half*8 + j
					if half*8+j >= n {
						break
					}
					switch {
					case e.json:
						t = append(t, e.keys[k]...)
					case k > 0:
						t = append(t, ',')
					}
					t = appendBool(t, v&(1<<j) != 0)
				}
				e.anFlagText[half][v] = t
			}
		}
		return
	}
}

// putAnalysis writes analysis column c of a row whose analysis is a. Flags are
// booleans; values are null where tshark shows no field; durations are
// seconds with nine fractional digits, as tshark writes them.
func (e *lineEncoder) putAnalysis(w []byte, n int, c Column, a *analysis.Result) int {
	json := e.json
	if c < ColAnalysis {
		return putBool(w, n, a.Flags&(1<<(c-ColRetransmission)) != 0)
	}
	switch c {
	case ColAnalysis:
		if a.Flags == 0 {
			return putNull(w, n, json)
		}
		// Two flags or more hold a comma, which CSV quotes.
		quote := json || a.Flags&(a.Flags-1) != 0
		if quote {
			w[n] = '"'
			n++
		}
		n = len(analysis.AppendFlags(w[:n], a.Flags))
		if quote {
			w[n] = '"'
			n++
		}
		return n
	case ColDupAckNum:
		return putOptU32(w, n, a.Present&analysis.HasDupAck != 0, a.DupAckNum, json)
	case ColDupAckFrame:
		return putOptU64(w, n, a.Present&analysis.HasDupAck != 0, a.DupAckFrame, json)
	case ColAcksFrame:
		return putOptU64(w, n, a.Present&analysis.HasAcksFrame != 0, a.AcksFrame, json)
	case ColAckRTT:
		return putOptDuration(w, n, a.Present&analysis.HasAckRTT != 0, a.AckRTT, json)
	case ColIRTT:
		return putOptDuration(w, n, a.Present&analysis.HasIRTT != 0, a.IRTT, json)
	case ColBytesInFlight:
		return putOptU32(w, n, a.Present&analysis.HasBytesInFlight != 0, a.BytesInFlight, json)
	case ColPushBytesSent:
		return putOptU32(w, n, a.Present&analysis.HasBytesInFlight != 0, a.PushBytesSent, json)
	case ColRTO:
		return putOptDuration(w, n, a.Present&analysis.HasRTO != 0, a.RTO, json)
	case ColRTOFrame:
		return putOptU64(w, n, a.Present&analysis.HasRTO != 0, a.RTOFrame, json)
	case ColTimeRelative:
		return putOptDuration(w, n, a.Present&analysis.HasTime != 0, a.TimeRelative, json)
	case ColTimeDelta:
		return putOptDuration(w, n, a.Present&analysis.HasTime != 0, a.TimeDelta, json)
	}
	return n
}

func putOptU64(w []byte, n int, ok bool, v uint64, json bool) int {
	if !ok {
		return putNull(w, n, json)
	}
	return putU64(w, n, v)
}

// putOptDuration writes d ns as seconds with nine fractional digits
// ("0.000512000", "-0.000001000"), or null.
func putOptDuration(w []byte, n int, ok bool, d int64, json bool) int {
	if !ok {
		return putNull(w, n, json)
	}
	if d < 0 {
		return len(appendEpoch(w[:n], d))
	}
	sec := uint64(d) / 1e9
	n = putU64(w, n, sec)
	w[n] = '.'
	return putNine(w, n+1, uint32(uint64(d)-sec*1e9))
}

// analysisRow is a row joined with its analysis, as the Parquet writer takes
// the rows of an export with analysis columns.
type analysisRow struct {
	Row
	An      analysis.Result
	flagged uint8 // 1 when An.Flags is not 0: the analysis text is not null
}

// joinAnalysis returns the rows of b joined with their analysis, in a buffer
// of b's (valid until b is reset and joined again).
func (b *Batch) joinAnalysis() []analysisRow {
	b.joined = slices.Grow(b.joined[:0], len(b.Rows))[:len(b.Rows)]
	for i := range b.Rows {
		j := &b.joined[i]
		j.Row = b.Rows[i]
		j.An = *b.analysisOf(i)
		j.flagged = 0
		if j.An.Flags != 0 {
			j.flagged = 1
		}
	}
	return b.joined
}

// analysisColumn declares analysis column c for Parquet: the flags as
// BOOLEAN, the analysis text as a dictionary STRING keyed by the flags (made
// once per combination), frame numbers as UINT64, counts as UINT32, and the
// durations as signed INT64 nanoseconds (Parquet has no duration type; the
// docs give the unit). A value is null where tshark shows no field.
//
// The times, RTTs and byte counts are stored uncompressed: measured on the
// benchmark capture, zstd saved 0–2% of their delta-packed pages (time_delta
// 3,212,483 -> 3,212,915 bytes) for a quarter of the export's CPU.
func analysisColumn(c Column) parquet.Column[analysisRow] {
	name := c.String()
	present := func(p analysis.Present) parquet.Bit[analysisRow] {
		return parquet.Mask(func(r *analysisRow) *analysis.Present { return &r.An.Present }, p)
	}
	if c < ColAnalysis {
		f := analysis.Flags(1) << (c - ColRetransmission)
		return parquet.Bool(name, parquet.Mask(func(r *analysisRow) *analysis.Flags { return &r.An.Flags }, f))
	}
	switch c {
	case ColAnalysis:
		return parquet.String(name, func(dst []byte, r *analysisRow, _ []byte) []byte {
			return analysis.AppendFlags(dst, r.An.Flags)
		}).Key(parquet.KeyOf(func(r *analysisRow) *analysis.Flags { return &r.An.Flags })).
			Optional(parquet.Mask(func(r *analysisRow) *uint8 { return &r.flagged }, 1))
	case ColDupAckNum:
		return parquet.Uint32(name, func(r *analysisRow) *uint32 { return &r.An.DupAckNum }).Optional(present(analysis.HasDupAck))
	case ColDupAckFrame:
		return parquet.Uint64(name, func(r *analysisRow) *uint64 { return &r.An.DupAckFrame }).Optional(present(analysis.HasDupAck))
	case ColAcksFrame:
		return parquet.Uint64(name, func(r *analysisRow) *uint64 { return &r.An.AcksFrame }).Optional(present(analysis.HasAcksFrame))
	case ColAckRTT:
		return parquet.Duration(name, func(r *analysisRow) *int64 { return &r.An.AckRTT }).Optional(present(analysis.HasAckRTT)).Uncompressed()
	case ColIRTT:
		return parquet.Duration(name, func(r *analysisRow) *int64 { return &r.An.IRTT }).Optional(present(analysis.HasIRTT))
	case ColBytesInFlight:
		return parquet.Uint32(name, func(r *analysisRow) *uint32 { return &r.An.BytesInFlight }).Optional(present(analysis.HasBytesInFlight)).Uncompressed()
	case ColPushBytesSent:
		return parquet.Uint32(name, func(r *analysisRow) *uint32 { return &r.An.PushBytesSent }).Optional(present(analysis.HasBytesInFlight)).Uncompressed()
	case ColRTO:
		return parquet.Duration(name, func(r *analysisRow) *int64 { return &r.An.RTO }).Optional(present(analysis.HasRTO))
	case ColRTOFrame:
		return parquet.Uint64(name, func(r *analysisRow) *uint64 { return &r.An.RTOFrame }).Optional(present(analysis.HasRTO))
	case ColTimeRelative:
		return parquet.Duration(name, func(r *analysisRow) *int64 { return &r.An.TimeRelative }).Optional(present(analysis.HasTime)).Uncompressed()
	case ColTimeDelta:
		return parquet.Duration(name, func(r *analysisRow) *int64 { return &r.An.TimeDelta }).Optional(present(analysis.HasTime)).Uncompressed()
	}
	return parquet.Column[analysisRow]{} // not reached: c is an analysis column
}
