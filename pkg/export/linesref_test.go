package export

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/pcaptk/pcaptk/internal/testcorpus"
	"github.com/pcaptk/pcaptk/pkg/analysis"
	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/reader"
	"github.com/pcaptk/pcaptk/pkg/tcpdump"
)

// refEncoder is the CSV and JSON row formatting as it was before rows were
// written in place (putRow): one append per piece, no fused texts. It is kept
// as the reference the fast path must equal byte for byte.
type refEncoder struct {
	cols     []Column
	time     TSFormat
	json     bool
	keys     [][]byte
	tsf      tsFormatter
	flagsAt  int
	flagText *[256][]byte
}

func (e *refEncoder) rows(bt *Batch) []byte {
	var b []byte
	for i := range bt.Rows {
		if e.json {
			b = e.appendJSON(b, bt, &bt.Rows[i], bt.analysisOf(i))
		} else {
			b = e.appendCSV(b, bt, &bt.Rows[i], bt.analysisOf(i))
		}
	}
	return b
}

func (e *refEncoder) appendCSV(b []byte, bt *Batch, r *Row, a *analysis.Result) []byte {
	for i := 0; i < len(e.cols); i++ {
		if i == e.flagsAt {
			b = append(b, e.flagText[uint8(r.Flags)]...)
			i += len(flagColumns) - 1
			continue
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = e.appendValue(b, bt, r, a, e.cols[i])
	}
	return append(b, '\n')
}

func (e *refEncoder) appendJSON(b []byte, bt *Batch, r *Row, a *analysis.Result) []byte {
	for i := 0; i < len(e.cols); i++ {
		if i == e.flagsAt {
			b = append(b, e.flagText[uint8(r.Flags)]...)
			i += len(flagColumns) - 1
			continue
		}
		b = append(b, e.keys[i]...)
		b = e.appendValue(b, bt, r, a, e.cols[i])
	}
	if len(e.cols) == 0 {
		b = append(b, '{')
	}
	return append(b, '}', '\n')
}

func (e *refEncoder) appendNull(b []byte) []byte {
	if e.json {
		return append(b, "null"...)
	}
	return b
}

// appendValue appends one cell; strings are quoted for JSON and, when needed, CSV.
func (e *refEncoder) appendValue(b []byte, bt *Batch, r *Row, a *analysis.Result, c Column) []byte {
	if c.IsAnalysis() {
		return e.appendAnalysis(b, a, c)
	}
	switch c {
	case ColFrame:
		return appendU(b, r.Frame)
	case ColTS:
		switch e.time {
		case TSEpoch:
			return appendEpoch(b, r.TS)
		case TSEpochNS:
			return strconv.AppendInt(b, r.TS, 10)
		}
		if e.json {
			b = append(b, '"')
			b = e.tsf.appendRFC3339(b, r.TS)
			return append(b, '"')
		}
		return e.tsf.appendRFC3339(b, r.TS)
	case ColIface:
		return appendU(b, uint64(r.Iface))
	case ColCapLen:
		return appendU(b, uint64(r.CapLen))
	case ColWireLen:
		return appendU(b, uint64(r.WireLen))
	case ColIPVersion:
		return appendU(b, uint64(r.IPVersion))
	case ColSrcIP, ColDstIP:
		ip := &r.SrcIP
		if c == ColDstIP {
			ip = &r.DstIP
		}
		if e.json {
			b = append(b, '"')
			b = decode.AppendIP(b, *ip, r.IPVersion)
			return append(b, '"')
		}
		return decode.AppendIP(b, *ip, r.IPVersion)
	case ColSrcPort:
		return appendU(b, uint64(r.SrcPort))
	case ColDstPort:
		return appendU(b, uint64(r.DstPort))
	case ColStream:
		return appendU(b, r.Stream)
	case ColFlags:
		if e.json {
			b = append(b, '"')
			b = tcpdump.AppendTCPFlags(b, r.Flags)
			return append(b, '"')
		}
		return tcpdump.AppendTCPFlags(b, r.Flags)
	case ColFlagsRaw:
		return appendU(b, uint64(r.FlagsRaw))
	case ColSYN:
		return appendBool(b, r.Flags&decode.SYN != 0)
	case ColACKFlag:
		return appendBool(b, r.Flags&decode.ACK != 0)
	case ColFIN:
		return appendBool(b, r.Flags&decode.FIN != 0)
	case ColRST:
		return appendBool(b, r.Flags&decode.RST != 0)
	case ColPSH:
		return appendBool(b, r.Flags&decode.PSH != 0)
	case ColURG:
		return appendBool(b, r.Flags&decode.URG != 0)
	case ColECE:
		return appendBool(b, r.Flags&decode.ECE != 0)
	case ColCWR:
		return appendBool(b, r.Flags&decode.CWR != 0)
	case ColSeq:
		return appendU(b, uint64(r.Seq))
	case ColAck:
		return appendU(b, uint64(r.Ack))
	case ColSeqRel:
		return e.appendOptU(b, r.Has&hasSeqRel != 0, uint64(r.SeqRel))
	case ColAckRel:
		return e.appendOptU(b, r.Has&hasAckRel != 0, uint64(r.AckRel))
	case ColWindow:
		return appendU(b, uint64(r.Window))
	case ColWindowScaled:
		return e.appendOptU(b, r.Has&hasWindowScaled != 0, uint64(r.WindowScaled))
	case ColPayloadLen:
		return appendU(b, uint64(r.PayloadLen))
	case ColUrgPtr:
		return appendU(b, uint64(r.UrgPtr))
	case ColMSS:
		return e.appendOptU(b, r.Has&hasMSS != 0, uint64(r.MSS))
	case ColWScale:
		return e.appendOptU(b, r.Has&hasWScale != 0, uint64(r.WScale))
	case ColSackOK:
		return appendBool(b, r.Has&isSackOK != 0)
	case ColTSVal:
		return e.appendOptU(b, r.Has&hasTS != 0, uint64(r.TSVal))
	case ColTSEcr:
		return e.appendOptU(b, r.Has&hasTS != 0, uint64(r.TSEcr))
	case ColSACK:
		return e.appendSACK(b, r)
	case ColOptions:
		if r.Has&hasOptions == 0 {
			return e.appendNull(b)
		}
		if e.json {
			return appendJSONString(b, bt.options(r))
		}
		return appendCSVField(b, bt.options(r))
	case ColTruncated:
		return appendBool(b, r.Has&isTruncated != 0)
	case ColTTL:
		return appendU(b, uint64(r.TTL))
	case ColIPID:
		return appendU(b, uint64(r.IPID))
	}
	return b
}

// appendAnalysis appends an analysis column, through fmt and the name table.
func (e *refEncoder) appendAnalysis(b []byte, a *analysis.Result, c Column) []byte {
	dur := func(ok bool, d int64) []byte {
		if !ok {
			return e.appendNull(b)
		}
		sign, u := "", uint64(d)
		if d < 0 {
			sign, u = "-", -u
		}
		return fmt.Appendf(b, "%s%d.%09d", sign, u/1e9, u%1e9)
	}
	if c < ColAnalysis {
		f := analysis.Flags(1) << (c - ColRetransmission)
		if analysis.FlagName(f) != c.String() {
			panic("analysis column " + c.String() + " is flag " + analysis.FlagName(f))
		}
		return appendBool(b, a.Flags&f != 0)
	}
	switch c {
	case ColAnalysis:
		if a.Flags == 0 {
			return e.appendNull(b)
		}
		var names []byte
		for i := range analysis.NumFlags {
			if f := analysis.Flags(1) << i; a.Flags&f != 0 {
				if len(names) > 0 {
					names = append(names, ',')
				}
				names = append(names, analysis.FlagName(f)...)
			}
		}
		if e.json {
			return appendJSONString(b, names)
		}
		return appendCSVField(b, names)
	case ColDupAckNum:
		return e.appendOptU(b, a.Has(analysis.HasDupAck), uint64(a.DupAckNum))
	case ColDupAckFrame:
		return e.appendOptU(b, a.Has(analysis.HasDupAck), a.DupAckFrame)
	case ColAcksFrame:
		return e.appendOptU(b, a.Has(analysis.HasAcksFrame), a.AcksFrame)
	case ColAckRTT:
		return dur(a.Has(analysis.HasAckRTT), a.AckRTT)
	case ColIRTT:
		return dur(a.Has(analysis.HasIRTT), a.IRTT)
	case ColBytesInFlight:
		return e.appendOptU(b, a.Has(analysis.HasBytesInFlight), uint64(a.BytesInFlight))
	case ColPushBytesSent:
		return e.appendOptU(b, a.Has(analysis.HasBytesInFlight), uint64(a.PushBytesSent))
	case ColRTO:
		return dur(a.Has(analysis.HasRTO), a.RTO)
	case ColRTOFrame:
		return e.appendOptU(b, a.Has(analysis.HasRTO), a.RTOFrame)
	case ColTimeRelative:
		return dur(a.Has(analysis.HasTime), a.TimeRelative)
	case ColTimeDelta:
		return dur(a.Has(analysis.HasTime), a.TimeDelta)
	}
	panic("no reference for column " + c.String())
}

func (e *refEncoder) appendOptU(b []byte, ok bool, v uint64) []byte {
	if !ok {
		return e.appendNull(b)
	}
	return appendU(b, v)
}

// appendSACK uses the encoder's own SACK formatting: the in-place writer did
// not change it, so a copy here would check it against itself. TestFormatsAgree
// checks it independently (JSON parsed back, against CSV and Parquet).
func (e *refEncoder) appendSACK(b []byte, r *Row) []byte {
	if r.Has&hasSACK == 0 {
		return e.appendNull(b)
	}
	le := lineEncoder{json: e.json}
	return le.appendSACK(b, r)
}

// TestPutRowMatchesReference: for every corpus capture, CSV and JSON rows written
// in place equal the reference formatting, with every time format, all columns
// and random selections and orders of columns, the analysis ones too.
func TestPutRowMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sets := [][]Column{nil, {}, {ColFrame}, {ColOptions, ColSACK, ColSrcIP}, WithAnalysis(nil), AnalysisColumns()}
	for range 6 {
		all := append(AllColumns(), AnalysisColumns()...)
		rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		sets = append(sets, all[:1+rng.IntN(len(all))])
	}
	for _, path := range testcorpus.Captures(t) {
		bt := corpusBatch(t, path)
		for _, cols := range sets {
			for _, tf := range []TSFormat{TSRFC3339, TSEpoch, TSEpochNS} {
				for _, json := range []bool{false, true} {
					var fast *lineEncoder
					if json {
						fast = newLineEncoder(nil, LineOptions{Columns: cols, Time: tf})
						fast.json = true
						fast.keys = jsonKeys(fast.cols)
					} else {
						fast = newLineEncoder(nil, LineOptions{Columns: cols, Time: tf})
					}
					fast.prepareFlags()
					ref := &refEncoder{cols: fast.cols, time: tf, json: json, keys: fast.keys, flagsAt: -1}
					got := fast.formatRows(nil, bt, 0, len(bt.Rows))
					want := ref.rows(bt)
					if !bytes.Equal(got, want) {
						t.Fatalf("%s json=%v time=%d columns %v:\n%s", filepath.Base(path), json, tf, cols, firstDiff(got, want))
					}
				}
			}
		}
	}
}

// TestPutNumbers: the in-place number writers give strconv's digits.
func TestPutNumbers(t *testing.T) {
	vals := []uint64{0, 9, 10, 99, 100, 999, 1000, 9999, 10000, 99999999, 1e8, 1<<32 - 1, 1 << 32, 1e17, 1<<63 + 5, 1<<64 - 1}
	for v := uint64(1); v < 1<<60; v = v*7 + 3 {
		vals = append(vals, v, v-1)
	}
	w := make([]byte, 64)
	for _, v := range vals {
		if got, want := string(w[:putU64(w, 0, v)]), strconv.FormatUint(v, 10); got != want {
			t.Fatalf("putU64(%d) = %s", v, got)
		}
		if v < 1<<32 {
			if got, want := string(w[:putU32(w, 0, uint32(v))]), strconv.FormatUint(v, 10); got != want {
				t.Fatalf("putU32(%d) = %s", v, got)
			}
		}
		if v < 1e9 {
			if got, want := string(w[:putNine(w, 0, uint32(v))]), fmt.Sprintf("%09d", v); got != want {
				t.Fatalf("putNine(%d) = %s", v, got)
			}
		}
	}
	for i := range 256 {
		ip := [16]byte{byte(i), byte(255 - i), 0, byte(i * 7)}
		if got, want := string(w[:putIP(w, 0, &ip, 4, false)]), string(decode.AppendIP(nil, ip, 4)); got != want {
			t.Fatalf("putIP(%v) = %s, want %s", ip[:4], got, want)
		}
	}
}

// corpusBatch holds every exportable packet of a capture as rows.
func corpusBatch(t *testing.T, path string) *Batch {
	t.Helper()
	r, err := reader.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	bt := &Batch{}
	var rec decode.Record
	e := analysis.NewEngine(analysis.EngineOptions{})
	for {
		p, err := r.Next()
		if err != nil {
			break
		}
		decode.Decode(p.LinkType, p.Data, p.WireLen, &rec)
		var c decode.Conn
		var res analysis.Result
		e.Packet(p.Number, p.Timestamp, p.WireLen, &rec, &c, &res)
		if Exportable(&rec) {
			bt.Add(p, &rec, &c, true)
			bt.An = append(bt.An, res)
		}
	}
	return bt
}

func firstDiff(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-80)
	return fmt.Sprintf("at byte %d:\n got %q\nwant %q", i, got[lo:min(len(got), i+80)], want[lo:min(len(want), i+80)])
}

// TestJSONPlain: the eight-bytes-a-step test agrees with a byte loop, for every
// byte value at every position of strings of several lengths.
func TestJSONPlain(t *testing.T) {
	slow := func(s []byte) bool {
		for _, c := range s {
			if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
				return false
			}
		}
		return true
	}
	for _, n := range []int{1, 7, 8, 9, 16, 23, 40} {
		for pos := range n {
			for c := range 256 {
				s := bytes.Repeat([]byte{'a'}, n)
				s[pos] = byte(c)
				if got, want := jsonPlain(s), slow(s); got != want {
					t.Fatalf("%q: %v, want %v", s, got, want)
				}
			}
		}
	}
}

// TestPutRowExtremes: rows with the longest values of every column (largest
// numbers, IPv6 addresses of the longest text form, four SACK blocks, options
// text that escapes to six bytes a byte, timestamps at both ends of int64) are
// written exactly as the reference writes them: the room reserved per row holds
// them, so no append in putRow moves the buffer.
func TestPutRowExtremes(t *testing.T) {
	bt := &Batch{}
	long6 := [16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff}
	mapped := [16]byte{10: 0xff, 11: 0xff, 12: 255, 13: 255, 14: 255, 15: 255}
	compat := [16]byte{12: 255, 13: 255, 14: 255, 15: 255}
	texts := [][]byte{bytes.Repeat([]byte{0x01}, 300), bytes.Repeat([]byte{0xff}, 300), []byte(`a"b\c,d` + "\n\r"), bytes.Repeat([]byte(`"`), 100)}
	for i, ts := range []int64{-1 << 63, 1<<63 - 1, 0, -1, 1764088003065693000} {
		for j, ip := range [][16]byte{long6, mapped, compat, {255, 255, 255, 255}} {
			r := Row{Frame: 1<<64 - 1, TS: ts, Stream: 1<<64 - 1 - uint64(i), Iface: 1<<32 - 1, CapLen: 1<<32 - 1, WireLen: 1<<32 - 1,
				Seq: 1<<32 - 1, Ack: 1<<32 - 1, SeqRel: 1<<32 - 1, AckRel: 1<<32 - 1, WindowScaled: 1<<32 - 1, PayloadLen: 1<<32 - 1,
				TSVal: 1<<32 - 1, TSEcr: 1<<32 - 1, SrcIP: ip, DstIP: ip, SrcPort: 65535, DstPort: 65535, Flags: 0x1ff, FlagsRaw: 0xfff,
				Window: 65535, UrgPtr: 65535, MSS: 65535, IPID: 65535, Has: 0xffff, IPVersion: 6, WScale: 255, TTL: 255, NSACK: 4}
			if j == 3 {
				r.IPVersion = 4
			}
			for k := range r.SACK {
				r.SACK[k] = decode.SACKBlock{Left: 1<<32 - 1, Right: 1<<32 - 1}
			}
			text := texts[(i+j)%len(texts)]
			r.OptStart = uint32(len(bt.Text))
			bt.Text = append(bt.Text, text...)
			r.OptEnd = uint32(len(bt.Text))
			bt.Rows = append(bt.Rows, r)
			bt.An = append(bt.An, analysis.Result{Flags: analysis.AllFlags, Present: 0xffff, DupAckNum: 1<<32 - 1,
				DupAckFrame: 1<<64 - 1, AcksFrame: 1<<64 - 1, AckRTT: ts, IRTT: -ts, BytesInFlight: 1<<32 - 1,
				PushBytesSent: 1<<32 - 1, RTO: -1 << 63, RTOFrame: 1<<64 - 1, TimeRelative: 1<<63 - 1, TimeDelta: ts})
			r.Flags, r.Has, r.NSACK = 0, 0, 0
			bt.Rows = append(bt.Rows, r)
			bt.An = append(bt.An, analysis.Result{Flags: analysis.Flags(i + j)})
		}
	}
	for _, cols := range [][]Column{nil, {ColOptions}, {ColSACK, ColTS, ColSrcIP}, WithAnalysis(nil), AnalysisColumns()} {
		for _, tf := range []TSFormat{TSRFC3339, TSEpoch, TSEpochNS} {
			for _, json := range []bool{false, true} {
				fast := newLineEncoder(nil, LineOptions{Columns: cols, Time: tf})
				if json {
					fast.json = true
					fast.keys = jsonKeys(fast.cols)
				}
				fast.prepareFlags()
				ref := &refEncoder{cols: fast.cols, time: tf, json: json, keys: fast.keys, flagsAt: -1}
				want := ref.rows(bt)
				// Row by row from an empty buffer, so that each row gets only the
				// room reserved for it.
				var got []byte
				for i := range bt.Rows {
					got = append(got, fast.formatRows(nil, bt, i, i+1)...)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("json=%v time=%d columns %v:\n%s", json, tf, cols, firstDiff(got, want))
				}
			}
		}
	}
}

// TestHelpers: with CPUs to spare the CSV and JSON encoders share each batch
// with helper goroutines; the output is the same as without them, and encoding
// still allocates nothing per batch.
func TestHelpers(t *testing.T) {
	bt := corpusBatch(t, testcorpus.Pcap(t, "filesamples-200722_tcp_anon.pcapng"))
	big := &Batch{Text: bt.Text}
	for len(big.Rows) < 3*minSplit {
		big.Rows = append(big.Rows, bt.Rows...)
		big.An = append(big.An, bt.An...)
	}
	for _, json := range []bool{false, true} {
		encode := func(procs int) ([]byte, int) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			var out bytes.Buffer
			var enc Encoder
			// The analysis columns too: each helper finds its rows' analysis.
			o := LineOptions{Columns: WithAnalysis(nil)}
			if json {
				enc = NewJSON(&out, o)
			} else {
				enc = NewCSV(&out, o)
			}
			helpers := len(enc.(*lineEncoder).helpers)
			for range 3 {
				if err := enc.WriteBatch(big); err != nil {
					t.Fatal(err)
				}
			}
			if err := enc.Close(); err != nil {
				t.Fatal(err)
			}
			return out.Bytes(), helpers
		}
		alone, h1 := encode(1)
		shared, h4 := encode(4)
		if h1 != 0 || h4 == 0 {
			t.Fatalf("helpers: %d with 1 CPU, %d with 4", h1, h4)
		}
		if !bytes.Equal(alone, shared) {
			t.Fatalf("json=%v: output with helpers differs:\n%s", json, firstDiff(shared, alone))
		}
		prev := runtime.GOMAXPROCS(4)
		var enc Encoder = NewCSV(io.Discard, LineOptions{})
		if json {
			enc = NewJSON(io.Discard, LineOptions{})
		}
		runtime.GOMAXPROCS(prev)
		enc.WriteBatch(big)
		if n := testing.AllocsPerRun(10, func() { enc.WriteBatch(big) }); n != 0 {
			t.Errorf("json=%v: %v allocations per batch with helpers", json, n)
		}
		enc.Close()
	}
}
