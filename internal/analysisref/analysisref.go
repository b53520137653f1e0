// Package analysisref compares TCP analysis fields with tshark 4.0's, as
// ../shared/tools/analysis-diff.sh does: the references are
// NAME.tshark-analysis.csv files (frame.number, tcp.stream and the
// tcp.analysis.* and tcp.time_* fields of every TCP packet, as corpus-tcp's
// README gives the command); durations agree within 1 µs (tshark rounds some
// to microseconds), other values exactly, flags when both set them or neither.
//
// pkg/analysis's fidelity tests compare its Results through it, and the export
// tests compare `export --analysis`'s CSV, so that both hold the same targets.
// It has no dependency on pkg/analysis, whose tests import it.
package analysisref

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Field is one compared value: its tshark field, pcaptk's column for it, and
// whether it is a flag (set or not) or a duration (seconds).
type Field struct {
	Tshark, Column string
	Flag, Duration bool
}

// Fields are the compared values in the references' order after frame.number.
var Fields = []Field{
	{Tshark: "tcp.stream", Column: "stream"},
	flag("retransmission"), flag("fast_retransmission"), flag("spurious_retransmission"), flag("out_of_order"),
	flag("lost_segment"), flag("ack_lost_segment"),
	{Tshark: "tcp.analysis.duplicate_ack", Column: "dup_ack", Flag: true},
	{Tshark: "tcp.analysis.duplicate_ack_num", Column: "dup_ack_num"},
	{Tshark: "tcp.analysis.duplicate_ack_frame", Column: "dup_ack_frame"},
	flag("zero_window"), flag("zero_window_probe"), flag("zero_window_probe_ack"), flag("window_full"),
	flag("window_update"), flag("keep_alive"), flag("keep_alive_ack"), flag("reused_ports"),
	{Tshark: "tcp.analysis.acks_frame", Column: "acks_frame"},
	{Tshark: "tcp.analysis.ack_rtt", Column: "ack_rtt", Duration: true},
	{Tshark: "tcp.analysis.initial_rtt", Column: "irtt", Duration: true},
	{Tshark: "tcp.analysis.bytes_in_flight", Column: "bytes_in_flight"},
	{Tshark: "tcp.analysis.push_bytes_sent", Column: "push_bytes_sent"},
	{Tshark: "tcp.analysis.rto", Column: "rto", Duration: true},
	{Tshark: "tcp.analysis.rto_frame", Column: "rto_frame"},
	{Tshark: "tcp.time_relative", Column: "time_relative", Duration: true},
	{Tshark: "tcp.time_delta", Column: "time_delta", Duration: true},
}

// flag is the Field of tshark's flag tcp.analysis.name, pcaptk's column name.
func flag(name string) Field {
	return Field{Tshark: "tcp.analysis." + name, Column: name, Flag: true}
}

// Value is one field of one packet: absent (a flag not set, a value tshark or
// pcaptk does not show), or V (1 for a set flag).
type Value struct {
	V  float64
	OK bool
}

// Some is a present value.
func Some(v float64) Value { return Value{v, true} }

// Row is the values of one packet, indexed like Fields.
type Row []Value

// Ref is one packet of a reference.
type Ref struct {
	Frame uint64
	Row   Row
}

// parse reads a cell of field f: a flag is set by "1" (tshark) or "true"
// (pcaptk); a value is absent when empty.
func parse(f *Field, v string) (Value, error) {
	v = strings.TrimSpace(v)
	if f.Flag {
		return Value{1, v == "1" || v == "true" || v == "True"}, nil
	}
	if v == "" {
		return Value{}, nil
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return Value{}, fmt.Errorf("field %s: %q: %w", f.Tshark, v, err)
	}
	return Some(x), nil
}

// readTable reads a CSV with a header, returning each row's frame number and
// values, the columns found by name (frame column frameCol, field i's column
// name(i)).
func readTable(r io.Reader, frameCol string, name func(*Field) string, each func(frame uint64, row Row)) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	fc, ok := col[frameCol]
	if !ok {
		return fmt.Errorf("no column %s", frameCol)
	}
	idx := make([]int, len(Fields))
	for i := range Fields {
		if idx[i], ok = col[name(&Fields[i])]; !ok {
			return fmt.Errorf("no column %s", name(&Fields[i]))
		}
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		frame, err := strconv.ParseUint(rec[fc], 10, 64)
		if err != nil {
			return fmt.Errorf("frame %q: %w", rec[fc], err)
		}
		row := make(Row, len(Fields))
		for i := range Fields {
			if idx[i] >= len(rec) {
				return fmt.Errorf("frame %d: a short row", frame)
			}
			if row[i], err = parse(&Fields[i], rec[idx[i]]); err != nil {
				return fmt.Errorf("frame %d: %w", frame, err)
			}
		}
		each(frame, row)
	}
}

// ReadRef reads a tshark reference, NAME.tshark-analysis.csv.
func ReadRef(path string) ([]Ref, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var refs []Ref
	err = readTable(f, "frame.number", func(f *Field) string { return f.Tshark }, func(frame uint64, row Row) {
		refs = append(refs, Ref{frame, row})
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return refs, nil
}

// ReadExport reads `pcaptk export --format csv` output with the frame column
// and the Fields' columns, by frame.
func ReadExport(r io.Reader) (map[uint64]Row, error) {
	rows := map[uint64]Row{}
	err := readTable(r, "frame", func(f *Field) string { return f.Column }, func(frame uint64, row Row) {
		rows[frame] = row
	})
	return rows, err
}

func same(f *Field, a, b Value) bool {
	switch {
	case !a.OK || !b.OK:
		return a.OK == b.OK
	case f.Duration:
		return math.Abs(a.V-b.V) <= 1.0000001e-6
	}
	return a.V == b.V
}

func show(v Value) string {
	if !v.OK {
		return "-"
	}
	return strconv.FormatFloat(v.V, 'f', -1, 64)
}

// Tally counts agreement over captures.
type Tally struct {
	FieldOK, FieldAll []int
	TsharkSet, OurSet []int // packets where each side has the flag or value
	BothSet           []int
	Rows, RowsOK      int
	Absent            int // tshark rows pcaptk has no row for
	AbsentFirst       string
	Shown, MaxShown   int // differing packets logged, and how many may be
	Logf              func(format string, args ...any)
}

// NewTally returns an empty tally logging up to maxShown differing packets
// per capture with logf (nil: none).
func NewTally(maxShown int, logf func(format string, args ...any)) *Tally {
	n := len(Fields)
	return &Tally{FieldOK: make([]int, n), FieldAll: make([]int, n), TsharkSet: make([]int, n),
		OurSet: make([]int, n), BothSet: make([]int, n), MaxShown: maxShown, Logf: logf}
}

// Compare adds capture name's packets: tshark's refs against ours, by frame.
func (t *Tally) Compare(name string, refs []Ref, ours map[uint64]Row) {
	shown := 0
	log := func(format string, args ...any) {
		if t.Logf != nil && shown < t.MaxShown {
			t.Logf(format, args...)
			shown++
		}
	}
	for _, ref := range refs {
		g, ok := ours[ref.Frame]
		if !ok {
			if t.Absent == 0 {
				t.AbsentFirst = fmt.Sprintf("%s frame %d", name, ref.Frame)
			}
			t.Absent++
			log("%s frame %d: a TCP row for tshark, none for pcaptk", name, ref.Frame)
			continue
		}
		t.Rows++
		var diffs []string
		for i := range Fields {
			f := &Fields[i]
			want, have := ref.Row[i], g[i]
			t.FieldAll[i]++
			if want.OK {
				t.TsharkSet[i]++
			}
			if have.OK {
				t.OurSet[i]++
			}
			if want.OK && have.OK {
				t.BothSet[i]++
			}
			if same(f, want, have) {
				t.FieldOK[i]++
			} else {
				diffs = append(diffs, fmt.Sprintf("%s: tshark %s pcaptk %s", strings.TrimPrefix(f.Tshark, "tcp."), show(want), show(have)))
			}
		}
		if len(diffs) == 0 {
			t.RowsOK++
		} else {
			log("%s frame %d: %s", name, ref.Frame, strings.Join(diffs, "; "))
		}
	}
}

// Report logs per-field agreement (with -v) and checks the targets of issue
// 10: ≥ 99.9% of packets equal in every field, and for every flag tshark set
// more than 10 times, ≥ 99.5% agreement over the packets where either side
// set it.
func (t *Tally) Report(tb testing.TB, what string) {
	tb.Helper()
	if testing.Verbose() {
		for i, f := range Fields {
			tb.Logf("%-40s %8d/%-8d %8.3f%%  (tshark %d, pcaptk %d, both %d)", f.Tshark, t.FieldOK[i], t.FieldAll[i],
				100*float64(t.FieldOK[i])/float64(max(t.FieldAll[i], 1)), t.TsharkSet[i], t.OurSet[i], t.BothSet[i])
		}
	}
	pct := 100 * float64(t.RowsOK) / float64(max(t.Rows, 1))
	tb.Logf("%s: %d/%d packets agree with tshark in every field (%.3f%%); %d tshark rows without a pcaptk row (first: %s)",
		what, t.RowsOK, t.Rows, pct, t.Absent, t.AbsentFirst)
	if t.Rows == 0 {
		tb.Fatalf("%s: nothing compared", what)
	}
	if pct < 99.9 {
		tb.Errorf("%s: %.3f%% of packets agree in every field, want ≥ 99.9%%", what, pct)
	}
	for i, f := range Fields {
		if !f.Flag || t.TsharkSet[i] <= 10 {
			continue
		}
		either := t.TsharkSet[i] + t.OurSet[i] - t.BothSet[i]
		if own := 100 * float64(t.BothSet[i]) / float64(either); own < 99.5 {
			tb.Errorf("%s: %s agrees on %.2f%% of the packets where either side set it (tshark %d, pcaptk %d, both %d), want ≥ 99.5%%",
				what, f.Tshark, own, t.TsharkSet[i], t.OurSet[i], t.BothSet[i])
		}
	}
}
