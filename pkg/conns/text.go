package conns

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pcaptk/pcaptk/pkg/analysis"
	"github.com/pcaptk/pcaptk/pkg/decode"
)

// textSink prints the table for a person: one aligned line per connection with
// its ends, state, duration, packets and bytes each way in human units, RTT
// (the handshake's, else the median ack_rtt sample) and retransmitted packets
// each way, then a line of counts by state. Columns are sized from the
// rows when they are all known first (size), else from typical widths. With
// color, the header is bold and states and retransmissions are coloured (ANSI
// escapes, for a terminal).
type textSink struct {
	w      *bufio.Writer
	color  bool
	widths [numText]int
	header bool
	states [analysis.StateSHR + 1]uint64
	rows   uint64
	line   []byte
	cells  [numText][]byte
}

// The table's columns.
const (
	txStream = iota
	txOrig
	txResp
	txState
	txDuration
	txOrigPkts
	txOrigBytes
	txRespPkts
	txRespBytes
	txRTT
	txRetrans
	numText
)

var textHeads = [numText]string{"STREAM", "ORIG", "RESP", "STATE", "DURATION", "PKTS→", "BYTES→", "PKTS←", "BYTES←", "RTT", "RETRANS"}

// textLeft are the columns aligned left.
var textLeft = [numText]bool{txOrig: true, txResp: true, txState: true}

func newTextSink(w io.Writer, color bool) *textSink {
	t := &textSink{w: bufio.NewWriter(w), color: color, header: true}
	// Typical widths, for rows printed before all are known.
	t.widths = [numText]int{6, 21, 21, 6, 8, 6, 8, 6, 8, 8, 7}
	for i, h := range textHeads {
		t.widths[i] = max(t.widths[i], utf8.RuneCountInString(h))
	}
	return t
}

// size fits the columns to rows.
func (t *textSink) size(rows *rowBuf) {
	for i, h := range textHeads {
		t.widths[i] = utf8.RuneCountInString(h)
	}
	for i := range rows.n {
		t.cellsOf(rows.at(i))
		for c := range t.cells {
			t.widths[c] = max(t.widths[c], utf8.RuneCount(t.cells[c]))
		}
	}
}

// cellsOf formats the row's cells into t.cells.
func (t *textSink) cellsOf(r *analysis.ConnRow) {
	for i := range t.cells {
		t.cells[i] = t.cells[i][:0]
	}
	t.cells[txStream] = strconv.AppendUint(t.cells[txStream], r.Stream, 10)
	t.cells[txOrig] = appendEnd(t.cells[txOrig], r.OrigIP, r.IPVersion, r.OrigPort)
	t.cells[txResp] = appendEnd(t.cells[txResp], r.RespIP, r.IPVersion, r.RespPort)
	t.cells[txState] = append(t.cells[txState], r.ConnState.String()...)
	t.cells[txDuration] = appendHumanDuration(t.cells[txDuration], r.Duration)
	t.cells[txOrigPkts] = strconv.AppendUint(t.cells[txOrigPkts], r.OrigPkts, 10)
	t.cells[txOrigBytes] = appendHumanBytes(t.cells[txOrigBytes], r.OrigIPBytes)
	t.cells[txRespPkts] = strconv.AppendUint(t.cells[txRespPkts], r.RespPkts, 10)
	t.cells[txRespBytes] = appendHumanBytes(t.cells[txRespBytes], r.RespIPBytes)
	// The handshake's round trip (SYN to ACK) is the whole path's wherever
	// the capture was taken; the ack_rtt samples mix both directions' ACK
	// delays, and near one end that end's are close to zero.
	switch {
	case r.HasIRTT:
		t.cells[txRTT] = appendHumanDuration(t.cells[txRTT], r.IRTT)
	case r.HasRTT:
		t.cells[txRTT] = appendHumanDuration(t.cells[txRTT], r.RTTP50)
	default:
		t.cells[txRTT] = append(t.cells[txRTT], '-')
	}
	if r.OrigRetransPkts+r.RespRetransPkts == 0 {
		t.cells[txRetrans] = append(t.cells[txRetrans], '-')
	} else {
		t.cells[txRetrans] = strconv.AppendUint(t.cells[txRetrans], uint64(r.OrigRetransPkts), 10)
		t.cells[txRetrans] = append(t.cells[txRetrans], '/')
		t.cells[txRetrans] = strconv.AppendUint(t.cells[txRetrans], uint64(r.RespRetransPkts), 10)
	}
}

// appendEnd appends addr:port, an IPv6 address in brackets.
func appendEnd(b []byte, ip [16]byte, v uint8, port uint16) []byte {
	if v == 6 {
		b = append(b, '[')
	}
	b = decode.AppendIP(b, ip, v)
	if v == 6 {
		b = append(b, ']')
	}
	b = append(b, ':')
	return strconv.AppendUint(b, uint64(port), 10)
}

// ANSI escapes.
const (
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiReset  = "\x1b[0m"
)

// stateColor is how a state reads at a glance: closed normally green, refused
// or reset red, still open or one-sided yellow.
func stateColor(s analysis.ConnState) string {
	switch s {
	case analysis.StateSF:
		return ansiGreen
	case analysis.StateREJ, analysis.StateRSTO, analysis.StateRSTR, analysis.StateRSTOS0, analysis.StateRSTRH:
		return ansiRed
	}
	return ansiYellow
}

// sep is what comes before column c: two spaces, or the arrow from the
// originator to the responder.
func sep(c int, header bool) string {
	switch {
	case c == 0:
		return ""
	case c == txResp && header:
		return "   "
	case c == txResp:
		return " → "
	}
	return "  "
}

// put appends cell c, padded to its width, in color when set (a terminal).
func (t *textSink) put(c int, s []byte, color string, header bool) {
	t.line = append(t.line, sep(c, header)...)
	pad := t.widths[c] - utf8.RuneCount(s)
	if !textLeft[c] {
		t.line = appendSpaces(t.line, pad)
	}
	if t.color && color != "" {
		t.line = append(t.line, color...)
		t.line = append(t.line, s...)
		t.line = append(t.line, ansiReset...)
	} else {
		t.line = append(t.line, s...)
	}
	if textLeft[c] {
		t.line = appendSpaces(t.line, pad)
	}
}

func appendSpaces(b []byte, n int) []byte {
	for ; n > 0; n-- {
		b = append(b, ' ')
	}
	return b
}

func (t *textSink) writeHeader() error {
	t.line = t.line[:0]
	for c, h := range textHeads {
		t.put(c, []byte(h), ansiBold, true)
	}
	t.line = append(trimRight(t.line), '\n')
	_, err := t.w.Write(t.line)
	return err
}

func trimRight(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	return b
}

func (t *textSink) Write(r *analysis.ConnRow) error {
	if t.header {
		t.header = false
		if err := t.writeHeader(); err != nil {
			return err
		}
	}
	t.rows++
	if int(r.ConnState) < len(t.states) {
		t.states[r.ConnState]++
	}
	t.cellsOf(r)
	t.line = t.line[:0]
	for c := range t.cells {
		color := ""
		switch {
		case c == txState:
			color = stateColor(r.ConnState)
		case c == txRetrans && r.OrigRetransPkts+r.RespRetransPkts > 0:
			color = ansiYellow
		}
		t.put(c, t.cells[c], color, false)
	}
	t.line = append(trimRight(t.line), '\n')
	_, err := t.w.Write(t.line)
	return err
}

// Close prints the count of connections by state and flushes.
func (t *textSink) Close() error {
	// By state, most frequent first, as info prints them.
	var states []analysis.ConnState
	for s, n := range t.states {
		if n > 0 {
			states = append(states, analysis.ConnState(s))
		}
	}
	sort.SliceStable(states, func(i, j int) bool {
		a, b := t.states[states[i]], t.states[states[j]]
		return a > b || (a == b && states[i].String() < states[j].String())
	})
	var b strings.Builder
	fmt.Fprintf(&b, "%d connections", t.rows)
	sep := ": "
	for _, s := range states {
		fmt.Fprintf(&b, "%s%s %d", sep, s, t.states[s])
		sep = ", "
	}
	b.WriteByte('\n')
	if t.header {
		b.Reset()
		b.WriteString("no TCP connections\n")
	}
	t.w.WriteString(b.String())
	return t.w.Flush()
}

// appendHumanBytes appends n bytes in SI units with three significant digits:
// 999 B, 1.43 kB, 14.3 kB, 143 kB, 1.43 MB ...
func appendHumanBytes(b []byte, n uint64) []byte {
	if n < 1000 {
		b = strconv.AppendUint(b, n, 10)
		return append(b, " B"...)
	}
	v := float64(n)
	units := []string{"kB", "MB", "GB", "TB", "PB", "EB"}
	u := 0
	for v /= 1000; v >= 999.5 && u < len(units)-1; u++ {
		v /= 1000
	}
	b = appendSig3(b, v)
	b = append(b, ' ')
	return append(b, units[u]...)
}

// appendHumanDuration appends ns as a short duration: 850 µs, 12.3 ms, 1.20 s,
// 3m05s, 2h01m.
func appendHumanDuration(b []byte, ns int64) []byte {
	if ns < 0 {
		b = append(b, '-')
		ns = -ns
	}
	switch {
	case ns < 1e3:
		b = strconv.AppendInt(b, ns, 10)
		return append(b, " ns"...)
	case ns < 999_500:
		b = appendSig3(b, float64(ns)/1e3)
		return append(b, " µs"...)
	case ns < 999_500_000:
		b = appendSig3(b, float64(ns)/1e6)
		return append(b, " ms"...)
	case ns < 59_995_000_000:
		b = appendSig3(b, float64(ns)/1e9)
		return append(b, " s"...)
	case ns < 3600e9:
		s := (ns + 5e8) / 1e9
		return fmt.Appendf(b, "%dm%02ds", s/60, s%60)
	}
	m := (ns + 30e9) / 60e9
	return fmt.Appendf(b, "%dh%02dm", m/60, m%60)
}

// appendSig3 appends v (1 <= v < 1000 after rounding) with three significant
// digits.
func appendSig3(b []byte, v float64) []byte {
	switch {
	case v < 9.995:
		return strconv.AppendFloat(b, v, 'f', 2, 64)
	case v < 99.95:
		return strconv.AppendFloat(b, v, 'f', 1, 64)
	}
	return strconv.AppendFloat(b, v, 'f', 0, 64)
}
