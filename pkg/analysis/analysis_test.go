package analysis

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/pcaptk/pcaptk/pkg/decode"
)

func TestAppendFlags(t *testing.T) {
	for _, c := range []struct {
		f    Flags
		want string
	}{
		{0, ""},
		{DupAck, "dup_ack"},
		{Retransmission | DupAck, "retransmission,dup_ack"},
		{ReusedPorts | Retransmission | FastRetransmission, "retransmission,fast_retransmission,reused_ports"},
		{1<<NumFlags - 1, "retransmission,fast_retransmission,spurious_retransmission,out_of_order,lost_segment," +
			"ack_lost_segment,dup_ack,zero_window,zero_window_probe,zero_window_probe_ack,window_full," +
			"window_update,keep_alive,keep_alive_ack,reused_ports"},
	} {
		if got := string(AppendFlags([]byte("x"), c.f)); got != "x"+c.want {
			t.Errorf("%#x: %q, want %q", c.f, got, "x"+c.want)
		}
	}
	for i := range NumFlags {
		f := Flags(1) << i
		if g, ok := ParseFlag(FlagName(f)); !ok || g != f {
			t.Errorf("ParseFlag(FlagName(%#x)) = %#x, %v", f, g, ok)
		}
	}
	if f, ok := ParseFlag("duplicate_ack"); !ok || f != DupAck {
		t.Error("tshark's name duplicate_ack not understood")
	}
	if _, ok := ParseFlag("nonsense"); ok {
		t.Error("ParseFlag accepted nonsense")
	}
}

// Wireshark 4.0's Info words: the order below is the one its column shows
// (seen on the corpus, e.g. "[TCP Window Full] [TCP Retransmission]").
func TestAppendInfo(t *testing.T) {
	for _, c := range []struct {
		r    Result
		want string
	}{
		{Result{}, ""},
		{Result{Flags: Retransmission}, "[TCP Retransmission]"},
		{Result{Flags: Retransmission | FastRetransmission}, "[TCP Fast Retransmission]"},
		{Result{Flags: Retransmission | SpuriousRetransmission}, "[TCP Spurious Retransmission]"},
		{Result{Flags: Retransmission | WindowFull}, "[TCP Window Full] [TCP Retransmission]"},
		{Result{Flags: DupAck, Present: HasDupAck, DupAckNum: 3, DupAckFrame: 12}, "[TCP Dup ACK 12#3]"},
		{Result{Flags: ZeroWindow | ZeroWindowProbeAck}, "[TCP ZeroWindowProbeAck] [TCP ZeroWindow]"},
		{Result{Flags: LostSegment | AckLostSegment | ReusedPorts},
			"[TCP ACKed unseen segment] [TCP Previous segment not captured] [TCP Port numbers reused]"},
		{Result{Flags: KeepAlive}, "[TCP Keep-Alive]"},
		{Result{Flags: KeepAliveAck}, "[TCP Keep-Alive ACK]"},
		{Result{Flags: WindowUpdate}, "[TCP Window Update]"},
		{Result{Flags: OutOfOrder}, "[TCP Out-Of-Order]"},
		{Result{Flags: ZeroWindowProbe}, "[TCP ZeroWindowProbe]"},
	} {
		if got := string(AppendInfo(nil, &c.r)); got != c.want {
			t.Errorf("%q: %q, want %q", AppendFlags(nil, c.r.Flags), got, c.want)
		}
	}
}

func TestResultHelpers(t *testing.T) {
	r := Result{Flags: Retransmission | FastRetransmission, Present: HasSeglen | HasAckRTT, Seglen: 1448, AckRTT: 5}
	if r.RetransmittedBytes() != 1448 {
		t.Errorf("retransmitted bytes %d", r.RetransmittedBytes())
	}
	if v, ok := r.RTTSample(); !ok || v != 5 {
		t.Errorf("rtt sample %d %v", v, ok)
	}
	if !r.Has(HasSeglen|HasAckRTT) || r.Has(HasRTO) {
		t.Error("Has")
	}
	r.Flags = DupAck
	if r.RetransmittedBytes() != 0 {
		t.Error("a dup ack counted as retransmitted")
	}
}

// segmentSteps is a connection whose client sends n one-byte segments that
// the server acknowledges at the end, one by one.
func segmentSteps(n int) scenario {
	sc := scenario{name: "segments", isnC: 100, isnS: 200, steps: opening()}
	for i := range n {
		sc.steps = append(sc.steps, step{at: 30 + float64(i), flags: ack, seq: uint32(1 + i), ack: 1, n: 1, win: 65535})
	}
	for i := range n {
		sc.steps = append(sc.steps, step{srv: true, at: 1000 + float64(i), flags: ack, seq: 1, ack: uint32(2 + i), win: uint16(1000 + i)})
	}
	return sc
}

// A direction remembers at most MaxSegments: the ACKs of the segments past the
// cap name no frame and take no RTT, and bytes in flight stop growing.
func TestMaxSegments(t *testing.T) {
	const n, max = 10, 4
	sc := segmentSteps(n)
	rs := sc.run(Options{MaxSegments: max})
	for i := range n {
		data, ackr := &rs[3+i], &rs[3+n+i]
		if want := uint32(min(i+1, max)); data.BytesInFlight != want {
			t.Errorf("segment %d: %d bytes in flight, want %d", i, data.BytesInFlight, want)
		}
		if got := ackr.Present&HasAcksFrame != 0; got != (i < max) {
			t.Errorf("ack of segment %d: acks_frame present %v", i, got)
		}
	}
	// With room for all, every ACK names its segment.
	for i, r := range sc.run(Options{})[3+n:] {
		if r.AcksFrame != uint64(4+i) {
			t.Errorf("default cap: ack %d names frame %d", i, r.AcksFrame)
		}
	}
}

// The budget holds over all connections: past it segments are dropped and
// counted, and the memory held never exceeds it.
func TestSegmentBudget(t *testing.T) {
	a := New(Options{SegmentBudget: 32})
	ct := decode.NewConnTracker(decode.DefaultConnOptions)
	ct.OnForget(func(slot int32, _ uint64, _ decode.ForgetReason) { a.Forget(slot) })
	var r Result
	for conn := range 10 {
		for i := range 20 {
			rec := decode.Record{HasTCP: true, IPVersion: 4, DataOff: 20, L4Len: 21, Flags: decode.ACK, Seq: uint32(1 + i), Ack: 1, Window: 100, SrcPort: uint16(1000 + conn), DstPort: 80}
			rec.SrcIP[0], rec.DstIP[0] = 1, 2
			c, ok := ct.Track(&rec, int64(conn*100+i)*1e6)
			if !ok {
				t.Fatal("not tracked")
			}
			a.Packet(uint64(conn*100+i+1), int64(conn*100+i)*1e6, &rec, &c, &r)
			if st := a.Stats(); st.SegmentsHeld > 32 || st.Segments > st.SegmentsHeld {
				t.Fatalf("stats %+v over the budget", st)
			}
		}
	}
	st := a.Stats()
	if st.SegmentsDropped == 0 || st.SegmentsHeld != 32 {
		t.Fatalf("stats %+v: expected drops at a full budget", st)
	}
	ct.Close()
	if st := a.Stats(); st.Segments != 0 || st.SegmentsHeld > 32 {
		t.Fatalf("after Close: %+v", st)
	}
	// Freed memory is reused by the next connections without growing.
	rec := decode.Record{HasTCP: true, IPVersion: 4, DataOff: 20, L4Len: 21, Flags: decode.ACK, Seq: 1, Ack: 1, Window: 100, SrcPort: 5000, DstPort: 80}
	c, _ := ct.Track(&rec, 2e12)
	a.Packet(10000, 2e12, &rec, &c, &r)
	if st := a.Stats(); st.Segments == 0 || st.SegmentsHeld > 32 {
		t.Fatalf("after reuse: %+v", st)
	}
}

// A forgotten connection's slot starts afresh: a later connection in the same
// slot inherits nothing.
func TestForgetAndReuseSlot(t *testing.T) {
	a := New(Options{})
	ct := decode.NewConnTracker(decode.ConnOptions{MaxConns: 1})
	ct.OnForget(func(slot int32, _ uint64, _ decode.ForgetReason) { a.Forget(slot) })
	var r Result
	step := func(src byte, seq uint32, n int, ts int64) Result {
		rec := decode.Record{HasTCP: true, IPVersion: 4, DataOff: 20, L4Len: 20 + n, Flags: decode.ACK, Seq: seq, Ack: 1, Window: 100, SrcPort: 1000, DstPort: 80}
		rec.SrcIP[0], rec.DstIP[0] = src, 2
		c, _ := ct.Track(&rec, ts)
		a.Packet(uint64(ts), ts, &rec, &c, &r)
		return r
	}
	step(1, 1000, 100, 1)
	step(1, 1100, 100, 2)
	// Another connection evicts the first (one slot): its first segment far
	// from the old one's sequence numbers is no "previous segment not captured".
	if r := step(3, 5000, 100, 3); r.Flags != 0 || r.TimeRelative != 0 {
		t.Fatalf("new connection in a reused slot: %q, time_relative %d", AppendFlags(nil, r.Flags), r.TimeRelative)
	}
	if st := a.Stats(); st.Segments > 8 {
		t.Fatalf("the evicted connection's segments are still held: %+v", st)
	}
}

// Packets ConnTracker would not give (no slot) are ignored; a Result is always
// fully overwritten.
func TestResultOverwritten(t *testing.T) {
	a := New(Options{})
	r := Result{Flags: DupAck, Present: HasRTO, RTO: 5}
	a.Packet(1, 1, &decode.Record{}, &decode.Conn{Slot: -1}, &r)
	if r != (Result{}) {
		t.Fatalf("result not cleared: %+v", r)
	}
	if s := string(AppendInfo(nil, &r)); strings.TrimSpace(s) != "" {
		t.Fatal(s)
	}
}

// The per-connection state docs/analysis.md promises (264 bytes, 32 per
// segment): a change that grows it must change the docs too.
func TestStateSize(t *testing.T) {
	if s := unsafe.Sizeof(conn{}); s > 264 {
		t.Errorf("conn is %d bytes, documented as 264", s)
	}
	if s := unsafe.Sizeof(segment{}); s != segmentBytes {
		t.Errorf("segment is %d bytes, documented as %d", s, segmentBytes)
	}
}

func TestParseFlags(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Flags
		err  bool
	}{
		{"retransmission", Retransmission, false},
		{"retransmission, fast_retransmission,spurious_retransmission", AnyRetransmission, false},
		{"duplicate_ack,zero_window", DupAck | ZeroWindow, false},
		{"any", AllFlags, false},
		{"dup_ack,any", AllFlags, false},
		{"", 0, true},
		{"retransmission,", 0, true},
		{"retransmissions", 0, true},
	} {
		got, err := ParseFlags(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("ParseFlags(%q) = %#x, %v; want %#x, error %v", c.in, got, err, c.want, c.err)
		}
	}
	if AllFlags != 1<<NumFlags-1 {
		t.Errorf("AllFlags = %#x, want the %d flags", AllFlags, NumFlags)
	}
}
