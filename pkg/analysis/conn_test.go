package analysis

import (
	"strings"
	"testing"

	"github.com/pcaptk/pcaptk/pkg/decode"
)

// flow crafts the packets of TCP connections between a client and a server
// and runs them through ConnTracker and Conns, as pcaptk conns does.
type flow struct {
	tr   *decode.ConnTracker
	c    *Conns
	rows []ConnRow
	ts   int64 // capture time of the next packet, ns
	cli  [4]byte
	srv  [4]byte
	cp   uint16 // client port
	sp   uint16 // server port
}

func newFlow(o decode.ConnOptions) *flow {
	f := &flow{ts: 1e18, cli: [4]byte{10, 0, 0, 1}, srv: [4]byte{10, 0, 0, 2}, cp: 40000, sp: 5555}
	f.tr = decode.NewConnTracker(o)
	f.c = NewConns(func(r *ConnRow) { f.rows = append(f.rows, *r) })
	f.tr.OnForget(f.c.Forget)
	return f
}

// seg describes one segment: from the client unless srv, flags in tcpdump's
// letters (S, F, R, P, . for ACK), payload length n.
type seg struct {
	srv      bool
	flags    string
	seq, ack uint32
	n        int
	win      uint16 // 0 means 1000 unless zeroWin
	zeroWin  bool
	gap      int64 // ns since the previous packet (default 1 ms)
	wire     uint32
	opts     func(*decode.Record)
	corrupt  bool
	cutShort bool // the capture cut the TCP options
	capped   int  // payload bytes captured when less than n (cap+1)
}

func (f *flow) record(s seg) decode.Record {
	var r decode.Record
	r.IPVersion, r.HasTCP, r.Proto = 4, true, 6
	src, dst, sp, dp := f.cli, f.srv, f.cp, f.sp
	if s.srv {
		src, dst, sp, dp = dst, src, dp, sp
	}
	copy(r.SrcIP[:], src[:])
	copy(r.DstIP[:], dst[:])
	r.SrcPort, r.DstPort = sp, dp
	r.Seq, r.Ack = s.seq, s.ack
	for _, c := range s.flags {
		switch c {
		case 'S':
			r.Flags |= decode.SYN
		case 'F':
			r.Flags |= decode.FIN
		case 'R':
			r.Flags |= decode.RST
		case 'P':
			r.Flags |= decode.PSH
		case '.':
			r.Flags |= decode.ACK
		}
	}
	r.Window = 1000
	if s.win != 0 || s.zeroWin {
		r.Window = s.win
	}
	r.DataOff = 20
	r.IPHdrLen = 20
	r.L4Len = 20 + s.n
	r.IPLen = 20 + r.L4Len
	r.PayloadLen = s.n
	r.PayloadCap = s.n
	if s.capped > 0 {
		r.PayloadCap = s.capped - 1
		r.Truncated = decode.LayerPayload
	}
	if s.cutShort {
		r.DataOff = 40
		r.L4Len = 40 + s.n
		r.Truncated = decode.LayerOptions
	}
	if s.opts != nil {
		s.opts(&r)
	}
	return r
}

func (f *flow) send(segs ...seg) *flow {
	for _, s := range segs {
		gap := s.gap
		if gap == 0 {
			gap = 1e6
		}
		f.ts += gap
		r := f.record(s)
		c, ok := f.tr.Track(&r, f.ts)
		if !ok {
			panic("segment not tracked")
		}
		wire := s.wire
		if wire == 0 {
			wire = uint32(14 + r.IPLen)
		}
		if s.corrupt {
			f.c.Corrupt(&r, &c, f.ts)
			continue
		}
		f.c.Packet(&r, &c, f.ts, wire)
	}
	return f
}

// end closes the input and returns the rows in stream order.
func (f *flow) end() []ConnRow {
	f.tr.Close()
	out := make([]ConnRow, len(f.rows))
	for _, r := range f.rows {
		out[r.Stream] = r
	}
	return out
}

func one(t *testing.T, f *flow) ConnRow {
	t.Helper()
	rows := f.end()
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1", len(rows))
	}
	return rows[0]
}

// A client at ISN 1000 and a server at ISN 5000.
const ciss, siss = 1000, 5000

var (
	segSYN    = seg{flags: "S", seq: ciss}
	segSYNACK = seg{srv: true, flags: "S.", seq: siss, ack: ciss + 1}
	segACK    = seg{flags: ".", seq: ciss + 1, ack: siss + 1}
)

func data(srv bool, seq, ackN uint32, n int) seg {
	return seg{srv: srv, flags: "P.", seq: seq, ack: ackN, n: n}
}

// TestConnStates drives one connection per Zeek conn_state and checks the
// state, the history and the close column.
func TestConnStates(t *testing.T) {
	finC := seg{flags: "F.", seq: ciss + 11, ack: siss + 21}
	finS := seg{srv: true, flags: "F.", seq: siss + 21, ack: ciss + 12}
	lastAck := seg{flags: ".", seq: ciss + 12, ack: siss + 22}
	exchange := []seg{segSYN, segSYNACK, segACK, data(false, ciss+1, siss+1, 10), data(true, siss+1, ciss+11, 20)}
	with := func(more ...seg) []seg { return append(append([]seg(nil), exchange...), more...) }
	tests := []struct {
		name    string
		sp      uint16 // server port (default 5555, not a likely server port)
		segs    []seg
		state   ConnState
		history string
		close   Close
	}{
		{"S0", 0, []seg{segSYN}, StateS0, "S", CloseOpen},
		{"S1", 0, []seg{segSYN, segSYNACK, segACK}, StateS1, "ShA", CloseOpen},
		{"SF", 0, with(finC, finS, lastAck), StateSF, "ShADdFf", CloseFIN},
		{"REJ", 0, []seg{segSYN, {srv: true, flags: "R.", seq: 0, ack: ciss + 1}}, StateREJ, "Sr", CloseRST},
		{"S2", 0, with(finC), StateS2, "ShADdF", CloseOpen},
		{"S3", 0, with(seg{srv: true, flags: "F.", seq: siss + 21, ack: ciss + 11}), StateS3, "ShADdf", CloseOpen},
		{"RSTO", 0, with(seg{flags: "R.", seq: ciss + 11, ack: siss + 21}), StateRSTO, "ShADdR", CloseRST},
		{"RSTR", 0, with(seg{srv: true, flags: "R", seq: siss + 21}), StateRSTR, "ShADdr", CloseRST},
		{"RSTOS0", 0, []seg{segSYN, {flags: "R", seq: ciss + 1}}, StateRSTOS0, "SR", CloseRST},
		// A SYN-ACK from a likely server port, seen without its SYN, then
		// a RST: the roles are flipped at once.
		{"RSTRH", 80, []seg{segSYNACK, {srv: true, flags: "R", seq: siss + 1}}, StateRSTRH, "^hr", CloseRST},
		{"SH", 0, []seg{segSYN, {flags: "F.", seq: ciss + 1, ack: 0}}, StateSH, "SF", CloseOpen},
		{"SHR", 80, []seg{segSYNACK, {srv: true, flags: "F.", seq: siss + 1, ack: ciss + 1}}, StateSHR, "^hf", CloseOpen},
		// Mid-stream data: no SYN, no flip (port 5555 is not a server's).
		{"OTH", 0, []seg{data(false, ciss+1, siss+1, 10), data(true, siss+1, ciss+11, 20)}, StateOTH, "Dd", CloseOpen},
		// Mid-stream from port 80: the server's data comes first, Zeek
		// makes the client the originator.
		{"OTH flipped", 80, []seg{data(true, siss+1, ciss+1, 20), data(false, ciss+1, siss+21, 10)}, StateOTH, "^dD", CloseOpen},
		// A SYN-ACK first from a port that is not a server's: the
		// client's ACK right after turns the connection around.
		{"SYN-ACK then ACK", 0, []seg{segSYNACK, segACK}, StateS1, "^hA", CloseOpen},
		// Only the server's side captured: its own ACK after the SYN-ACK
		// turns the connection around too.
		{"one-sided", 0, []seg{segSYNACK, {srv: true, flags: ".", seq: siss + 1, ack: ciss + 1},
			{srv: true, flags: "F.", seq: siss + 1, ack: ciss + 1}}, StateSHR, "^haf", CloseOpen},
		// A lone RST: from the originator it is OTH (no SYN before it);
		// from a server port it is flipped and counts as the responder's.
		{"lone RST", 0, []seg{{flags: "R", seq: ciss}}, StateOTH, "R", CloseRST},
		{"lone RST from port 80", 80, []seg{{srv: true, flags: "R", seq: siss}}, StateRSTRH, "^r", CloseRST},
		// SYN then a FIN+RST from the client, SYN+FIN from the server (which
		// Zeek then counts as established: RSTO).
		{"odd flags", 0, []seg{segSYN, {flags: "FR", seq: ciss + 1}, {srv: true, flags: "SF", seq: siss}}, StateRSTO, "SIq", CloseRST},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFlow(decode.DefaultConnOptions)
			if tc.sp != 0 {
				f.sp = tc.sp
			}
			r := one(t, f.send(tc.segs...))
			if r.ConnState != tc.state || r.HistoryString() != tc.history || r.Close != tc.close {
				t.Errorf("state %s history %q close %s, want %s %q %s", r.ConnState, r.HistoryString(), r.Close, tc.state, tc.history, tc.close)
			}
		})
	}
}

// TestConnHistoryRules checks the repeat rule (S, F, R again only with another
// sequence number), the once-per-direction letters and the logarithmic letters
// (1, 10, 100 occurrences).
func TestConnHistoryRules(t *testing.T) {
	open := []seg{segSYN, segSYNACK, segACK}
	rep := func(s seg, n int) []seg {
		out := make([]seg, n)
		for i := range out {
			out[i] = s
		}
		return out
	}
	cat := func(parts ...[]seg) []seg {
		var out []seg
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	sent := data(false, ciss+1, siss+1, 100)
	tests := []struct {
		name    string
		segs    []seg
		history string
	}{
		{"SYN repeated, same ISN", []seg{segSYN, segSYN, segSYN}, "S"},
		{"FIN repeated, same and another sequence number", cat(open, []seg{
			{flags: "F.", seq: ciss + 1, ack: siss + 1}, {flags: "F.", seq: ciss + 1, ack: siss + 1},
			{flags: "F.", seq: ciss + 5, ack: siss + 1}}), "ShAFF"},
		{"RST repeated", cat(open, []seg{{flags: "R", seq: ciss + 1}, {flags: "R", seq: ciss + 1}, {flags: "R", seq: ciss + 9}}), "ShARR"},
		{"data and ACKs once per side", cat(open, rep(sent, 1), []seg{
			data(false, ciss+101, siss+1, 5), {srv: true, flags: ".", seq: siss + 1, ack: ciss + 106},
			{srv: true, flags: ".", seq: siss + 1, ack: ciss + 106}}), "ShADa"},
		// 1, 10 and 100 retransmissions of the same segment: T, TT, TTT.
		{"retransmitted once", cat(open, rep(sent, 2)), "ShADT"},
		{"retransmitted 10 times", cat(open, rep(sent, 11)), "ShADTT"},
		{"retransmitted 100 times", cat(open, rep(sent, 101)), "ShADTTT"},
		{"zero windows 1 and 10", cat(open, rep(seg{srv: true, flags: ".", seq: siss + 1, ack: ciss + 1, zeroWin: true}, 10)), "ShAaww"},
		// The server acknowledges 50 bytes the capture never saw: a gap.
		{"content gap", cat(open, []seg{{srv: true, flags: ".", seq: siss + 1, ack: ciss + 51}}), "ShAaG"},
		{"bad checksums", cat(open, rep(seg{flags: ".", seq: ciss + 1, ack: siss + 1, corrupt: true}, 10)), "ShACC"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := one(t, newFlow(decode.DefaultConnOptions).send(tc.segs...))
			if r.HistoryString() != tc.history {
				t.Errorf("history %q, want %q", r.HistoryString(), tc.history)
			}
		})
	}
}

// TestConnCounts checks packets, IP and frame bytes, sequence-number sizes,
// missed and unique bytes and the handshake columns on one connection.
func TestConnCounts(t *testing.T) {
	synOpts := func(mss uint16, ws uint8) func(*decode.Record) {
		return func(r *decode.Record) {
			r.HasMSS, r.MSS, r.HasWScale, r.WScale, r.SACKOK, r.HasTS = true, mss, true, ws, true, true
		}
	}
	s, sa := segSYN, segSYNACK
	s.opts, sa.opts = synOpts(1460, 7), synOpts(1400, 9)
	sa.gap = 30e6 // SYN → SYN-ACK 30 ms
	a := segACK
	a.gap = 5e6 // SYN-ACK → ACK 5 ms
	f := newFlow(decode.DefaultConnOptions).send(
		s, sa, a,
		data(false, ciss+1, siss+1, 100),
		data(false, ciss+1, siss+1, 100),   // retransmitted: not unique
		data(false, ciss+201, siss+1, 100), // 100 bytes at 101 never seen
		seg{srv: true, flags: ".", seq: siss + 1, ack: ciss + 301},
		seg{flags: "F.", seq: ciss + 301, ack: siss + 1},
		seg{srv: true, flags: "F.", seq: siss + 1, ack: ciss + 302},
		seg{flags: ".", seq: ciss + 302, ack: siss + 2},
		seg{srv: true, flags: ".", seq: siss + 2, ack: ciss + 302, cutShort: true}, // not counted
	)
	r := one(t, f)
	want := ConnRow{
		OrigPkts: 7, RespPkts: 3,
		OrigIPBytes: 7*40 + 300, RespIPBytes: 3 * 40,
		OrigFrameBytes: 7*54 + 300, RespFrameBytes: 3 * 54,
		OrigBytes: 300, RespBytes: 0, MissedBytes: 100,
		OrigUniqueBytes: 200,
		SynRTT:          30e6, AckRTTHS: 5e6, IRTT: 35e6,
		OrigMSS: 1460, RespMSS: 1400, OrigWScale: 7, RespWScale: 9,
	}
	type cols struct {
		pkts, ipBytes, frames, bytes, missed, unique [2]uint64
		rtt                                          [3]int64
		mss                                          [2]uint16
		ws                                           [2]uint8
	}
	pick := func(r ConnRow) cols {
		return cols{
			[2]uint64{r.OrigPkts, r.RespPkts}, [2]uint64{r.OrigIPBytes, r.RespIPBytes},
			[2]uint64{r.OrigFrameBytes, r.RespFrameBytes}, [2]uint64{r.OrigBytes, r.RespBytes},
			[2]uint64{r.MissedBytes, 0}, [2]uint64{r.OrigUniqueBytes, r.RespUniqueBytes},
			[3]int64{r.SynRTT, r.AckRTTHS, r.IRTT}, [2]uint16{r.OrigMSS, r.RespMSS}, [2]uint8{r.OrigWScale, r.RespWScale},
		}
	}
	if got, w := pick(r), pick(want); got != w {
		t.Errorf("got  %+v\nwant %+v", got, w)
	}
	if !r.SawSYN || !r.SawSYNACK || !r.SACKOK || !r.TSOK || !r.HasSynRTT || !r.HasAckRTTHS || !r.HasIRTT ||
		!r.HasOrigMSS || !r.HasRespMSS || !r.HasOrigWScale || !r.HasRespWScale {
		t.Errorf("handshake flags not all set: %+v", r)
	}
	if r.HistoryString() != "ShADTaGFf" || r.ConnState != StateSF || r.Close != CloseFIN {
		t.Errorf("history %q state %s close %s", r.HistoryString(), r.ConnState, r.Close)
	}
	if r.Duration != r.LastTS-r.FirstTS || r.Duration <= 0 {
		t.Errorf("duration %d, first %d last %d", r.Duration, r.FirstTS, r.LastTS)
	}
	wantID := CommunityIDv1(0, 6, []byte{10, 0, 0, 1}, []byte{10, 0, 0, 2}, 40000, 5555, true)
	if r.CommunityID != wantID || !strings.HasPrefix(r.CommunityID.String(), "1:") {
		t.Errorf("community id %s, want %s", r.CommunityID.String(), wantID.String())
	}
}

// TestConnSynAckNewISN: a SYN-ACK repeated with another initial sequence number
// after the client acknowledged the first does not re-base the server's
// sequence space (where Zeek would count some gigabytes for the server).
func TestConnSynAckNewISN(t *testing.T) {
	bogus := segSYNACK
	bogus.seq = siss + 1<<30
	r := one(t, newFlow(decode.DefaultConnOptions).send(
		segSYN, segSYNACK, segACK, bogus,
		data(true, siss+1, ciss+1, 100),
		seg{flags: ".", seq: ciss + 1, ack: siss + 101},
	))
	if r.RespBytes != 100 {
		t.Errorf("resp_bytes %d, want 100", r.RespBytes)
	}
}

// TestConnClose checks the close column for each way a connection is forgotten.
func TestConnClose(t *testing.T) {
	o := decode.ConnOptions{MaxConns: 2, IdleTimeout: 10e9, ClosedTimeout: 1e9}
	fin := []seg{
		{flags: "F.", seq: ciss + 1, ack: siss + 1},
		{srv: true, flags: "F.", seq: siss + 1, ack: ciss + 2},
	}
	later := seg{srv: true, flags: ".", seq: siss + 1, ack: ciss + 1, gap: 20e9}
	tests := []struct {
		name  string
		run   func(f *flow)
		close []Close // by stream
	}{
		{"fin then quiet", func(f *flow) {
			f.send(append([]seg{segSYN, segSYNACK, segACK}, fin...)...)
			f.cp++
			f.send(seg{flags: "S", seq: 1, gap: 2e9}) // another connection, after the grace
		}, []Close{CloseFIN, CloseOpen}},
		{"rst", func(f *flow) {
			f.send(segSYN, seg{srv: true, flags: "R.", ack: ciss + 1})
		}, []Close{CloseRST}},
		{"idle", func(f *flow) {
			f.send(segSYN, segSYNACK, segACK)
			f.cp++
			f.send(later)
		}, []Close{CloseIdle, CloseOpen}},
		{"evicted", func(f *flow) {
			for range 3 {
				f.send(segSYN)
				f.cp++
			}
		}, []Close{CloseIdle, CloseOpen, CloseOpen}},
		{"reused ports", func(f *flow) {
			f.send(segSYN, segSYNACK, segACK, seg{flags: "S", seq: 77777})
		}, []Close{CloseIdle, CloseOpen}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFlow(o)
			tc.run(f)
			rows := f.end()
			var got []Close
			for _, r := range rows {
				got = append(got, r.Close)
			}
			if len(got) != len(tc.close) {
				t.Fatalf("close %v, want %v", got, tc.close)
			}
			for i := range got {
				if got[i] != tc.close[i] {
					t.Fatalf("close %v, want %v", got, tc.close)
				}
			}
		})
	}
}
