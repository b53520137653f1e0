package analysis

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/reader"
	"github.com/pcaptk/pcaptk/pkg/writer"
)

// Crafted connections, one rule or precedence each. The unit test states what
// each packet must be flagged; -update-analysis also writes every scenario as a
// pcap into testdata/analysis/pcap (crafted-NAME.pcap) and remakes its tshark
// reference, so TestFidelityRecorded holds the same packets to tshark in every
// field: the expectations below are tshark 4.0's, not only ours.

// step is one segment of a scenario. Sequence numbers are relative to the
// sender's initial sequence number, acknowledgment numbers to the receiver's.
type step struct {
	srv    bool    // sent by the server
	at     float64 // ms since the scenario's start (may go backwards)
	flags  uint16
	seq    uint32
	ack    uint32
	n      int    // payload bytes
	win    uint16 // window field
	opts   []byte // TCP options, padded to 4 bytes
	hlen   int    // TCP header length field in bytes, when not the real one
	extra  int    // bytes the IP total length claims beyond the datagram
	snap   int    // bytes captured, when fewer than the packet's
	want   Flags
	check  func(r *Result) string // further checks; "" when fine
	client uint16                 // client port, when not the scenario's
}

type scenario struct {
	name     string
	isnC     uint32 // client and server initial sequence numbers
	isnS     uint32
	v6       bool
	steps    []step
	segments int // MaxSegments for the unit test (0: default)
}

const (
	syn = decode.SYN
	ack = decode.ACK
	fin = decode.FIN
	rst = decode.RST
	psh = decode.PSH
)

func wscale(n byte) []byte { return []byte{1, 3, 3, n} }

func sack(blocks ...uint32) []byte {
	o := []byte{1, 1, 5, byte(2 + 4*len(blocks))}
	for _, b := range blocks {
		o = binary.BigEndian.AppendUint32(o, b)
	}
	return o
}

func has(p Present, what string, r *Result) string {
	if r.Present&p == 0 {
		return what + " missing"
	}
	return ""
}

func eq[T comparable](what string, got, want T) string {
	if got != want {
		return fmt.Sprintf("%s %v, want %v", what, got, want)
	}
	return ""
}

// opening is the usual handshake: SYN, SYN-ACK, ACK at 0, 10 and 20 ms (an
// initial RTT of 20 ms), windows of 65535 without scaling.
func opening() []step {
	return []step{
		{flags: syn, win: 65535},
		{srv: true, at: 10, flags: syn | ack, ack: 1, win: 65535},
		{at: 20, flags: ack, seq: 1, ack: 1, win: 65535, check: func(r *Result) string {
			return eq("irtt", r.IRTT, int64(20e6)) + eq("acks_frame", r.AcksFrame, uint64(2))
		}},
	}
}

func join(parts ...[]step) []step {
	var out []step
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var scenarios = []scenario{
	{name: "rtt-inflight", isnC: 1000, isnS: 5000, steps: join(opening(), []step{
		{at: 30, flags: ack, seq: 1, ack: 1, n: 100, win: 65535, check: func(r *Result) string {
			return eq("bytes_in_flight", r.BytesInFlight, uint32(100)) + eq("push", r.PushBytesSent, uint32(100))
		}},
		{at: 31, flags: ack | psh, seq: 101, ack: 1, n: 50, win: 65535, check: func(r *Result) string {
			return eq("bytes_in_flight", r.BytesInFlight, uint32(150)) + eq("push", r.PushBytesSent, uint32(150))
		}},
		{at: 32, flags: ack, seq: 151, ack: 1, n: 10, win: 65535, check: func(r *Result) string {
			return eq("push after PSH", r.PushBytesSent, uint32(10))
		}},
		{srv: true, at: 45, flags: ack, seq: 1, ack: 151, win: 65535, check: func(r *Result) string {
			return eq("acks_frame", r.AcksFrame, uint64(5)) + eq("ack_rtt", r.AckRTT, int64(14e6))
		}},
		{srv: true, at: 46, flags: ack, seq: 1, ack: 161, win: 65535, check: func(r *Result) string {
			return eq("acks_frame", r.AcksFrame, uint64(6))
		}},
	})},
	{name: "retransmission", isnC: 1 << 31, isnS: 77, steps: join(opening(), []step{
		{at: 30, flags: ack, seq: 1, ack: 1, n: 100, win: 65535},
		{at: 31, flags: ack, seq: 101, ack: 1, n: 100, win: 65535},
		{at: 330, flags: ack, seq: 1, ack: 1, n: 100, win: 65535, want: Retransmission, check: func(r *Result) string {
			return eq("rto", r.RTO, int64(300e6)) + eq("rto_frame", r.RTOFrame, uint64(4))
		}},
		{srv: true, at: 340, flags: ack, seq: 1, ack: 201, win: 65535},
		// Already acknowledged: spurious.
		{at: 350, flags: ack, seq: 101, ack: 1, n: 100, win: 65535, want: Retransmission | SpuriousRetransmission},
		// A FIN, retransmitted: FIN counts as one sequence number.
		{at: 360, flags: fin | ack, seq: 201, ack: 1, win: 65535},
		{at: 700, flags: fin | ack, seq: 201, ack: 1, win: 65535, want: Retransmission},
	})},
	{name: "fast-retransmission", isnC: 4294967000, isnS: 9, steps: join(opening(), []step{
		// Sequence numbers wrap during this exchange.
		{at: 30, flags: ack, seq: 1, ack: 1, n: 100, win: 65535},
		// seq 101..200 lost before the capture point
		{at: 31, flags: ack, seq: 201, ack: 1, n: 100, win: 65535, want: LostSegment},
		{at: 32, flags: ack, seq: 301, ack: 1, n: 100, win: 65535},
		{at: 33, flags: ack, seq: 401, ack: 1, n: 100, win: 65535},
		{srv: true, at: 40, flags: ack, seq: 1, ack: 101, win: 65535},
		{srv: true, at: 41, flags: ack, seq: 1, ack: 101, win: 65535, want: DupAck, check: func(r *Result) string {
			return eq("dup num", r.DupAckNum, uint32(1)) + eq("dup frame", r.DupAckFrame, uint64(8))
		}},
		{srv: true, at: 42, flags: ack, seq: 1, ack: 101, win: 65535, want: DupAck},
		{srv: true, at: 43, flags: ack, seq: 1, ack: 101, win: 65535, want: DupAck, check: func(r *Result) string {
			return eq("dup num", r.DupAckNum, uint32(3))
		}},
		{at: 45, flags: ack, seq: 101, ack: 1, n: 100, win: 65535, want: Retransmission | FastRetransmission},
		{srv: true, at: 50, flags: ack, seq: 1, ack: 501, win: 65535},
	})},
	{name: "out-of-order", isnC: 100, isnS: 200, steps: join([]step{
		{flags: syn, win: 65535},
		{srv: true, at: 10, flags: syn | ack, ack: 1, win: 65535},
		{at: 20, flags: ack, seq: 1, ack: 1, win: 65535},
	}, []step{
		{at: 30, flags: ack, seq: 101, ack: 1, n: 100, win: 65535, want: LostSegment},
		// 5 ms later: within the initial RTT (20 ms), so out of order
		{at: 35, flags: ack, seq: 1, ack: 1, n: 100, win: 65535, want: OutOfOrder},
		// 30 ms after the highest segment: a retransmission
		{at: 61, flags: ack, seq: 1, ack: 1, n: 100, win: 65535, want: Retransmission},
	})},
	{name: "out-of-order-3ms", isnC: 100, isnS: 200, steps: []step{
		// No handshake: without an initial RTT the threshold is 3 ms.
		{at: 0, flags: ack, seq: 1, ack: 1, win: 65535},
		{at: 1, flags: ack, seq: 101, ack: 1, n: 100, win: 65535, want: LostSegment},
		{at: 2, flags: ack, seq: 1, ack: 1, n: 100, win: 65535, want: OutOfOrder},
		{at: 10, flags: ack, seq: 201, ack: 1, n: 100, win: 65535},
		{at: 14, flags: ack, seq: 1, ack: 1, n: 50, win: 65535, want: Retransmission},
	}},
	{name: "keep-alive", isnC: 10, isnS: 20, steps: join(opening(), []step{
		{at: 30, flags: ack | psh, seq: 1, ack: 1, n: 10, win: 65535},
		{srv: true, at: 40, flags: ack, seq: 1, ack: 11, win: 65535},
		{at: 2040, flags: ack, seq: 10, ack: 1, win: 65535, want: KeepAlive},
		{srv: true, at: 2041, flags: ack, seq: 1, ack: 11, win: 65535, want: KeepAliveAck},
		// One byte of garbage below nextseq: still a keep-alive, not a
		// retransmission.
		{at: 4041, flags: ack, seq: 10, ack: 1, n: 1, win: 65535, want: KeepAlive},
		{srv: true, at: 4042, flags: ack, seq: 1, ack: 11, win: 65535, want: KeepAliveAck},
		// A FIN at nextseq-1 is no keep-alive.
		{at: 5000, flags: ack | fin, seq: 10, ack: 1, win: 65535, want: Retransmission},
	})},
	{name: "zero-window", isnC: 3, isnS: 4, steps: join(opening(), []step{
		{at: 30, flags: ack, seq: 1, ack: 1, n: 1000, win: 65535},
		{srv: true, at: 40, flags: ack, seq: 1, ack: 1001, win: 0, want: ZeroWindow},
		{at: 240, flags: ack, seq: 1001, ack: 1, n: 1, win: 65535, want: ZeroWindowProbe},
		{srv: true, at: 241, flags: ack, seq: 1, ack: 1001, win: 0, want: ZeroWindow | ZeroWindowProbeAck},
		{at: 640, flags: ack, seq: 1001, ack: 1, n: 1, win: 65535, want: ZeroWindowProbe},
		{srv: true, at: 641, flags: ack, seq: 1, ack: 1001, win: 0, want: ZeroWindow | ZeroWindowProbeAck},
		{srv: true, at: 900, flags: ack, seq: 1, ack: 1001, win: 8000, want: WindowUpdate},
		// The probes did not move nextseq: this is new data.
		{at: 901, flags: ack, seq: 1001, ack: 1, n: 500, win: 65535},
		{srv: true, at: 910, flags: ack, seq: 1, ack: 1501, win: 7500},
	})},
	{name: "window-full", isnC: 50, isnS: 60, steps: join([]step{
		{flags: syn, win: 65535, opts: wscale(2)},
		{srv: true, at: 10, flags: syn | ack, ack: 1, win: 2000, opts: wscale(3)},
		{at: 20, flags: ack, seq: 1, ack: 1, win: 1000},
	}, []step{
		// The client's window is scaled by 4: 1 + 1000*4.
		{srv: true, at: 21, flags: ack, seq: 1, ack: 1, n: 4000, win: 4000, want: WindowFull},
		{at: 30, flags: ack, seq: 1, ack: 4001, win: 250},
		{srv: true, at: 31, flags: ack, seq: 4001, ack: 1, n: 1000, win: 4000, want: WindowFull},
		{srv: true, at: 32, flags: ack, seq: 5001, ack: 1, n: 10, win: 4000, want: 0},
	})},
	{name: "dup-ack-window-change", isnC: 7, isnS: 8, steps: join(opening(), []step{
		{srv: true, at: 30, flags: ack, seq: 1, ack: 1, n: 100, win: 65535},
		{srv: true, at: 31, flags: ack, seq: 201, ack: 1, n: 100, win: 65535, want: LostSegment},
		{at: 40, flags: ack, seq: 1, ack: 101, win: 65535},
		{at: 41, flags: ack, seq: 1, ack: 101, win: 65535, want: DupAck},
		// The window changes: a window update, not a duplicate ACK...
		{at: 42, flags: ack, seq: 1, ack: 101, win: 60000, want: WindowUpdate},
		// ...and the count goes on where it was.
		{at: 43, flags: ack, seq: 1, ack: 101, win: 60000, want: DupAck, check: func(r *Result) string {
			return eq("dup num", r.DupAckNum, uint32(2)) + eq("dup frame", r.DupAckFrame, uint64(6))
		}},
		{at: 44, flags: ack, seq: 1, ack: 301, win: 60000, want: AckLostSegment},
	})},
	{name: "reused-ports", isnC: 1000, isnS: 2000, steps: join(opening(), []step{
		{at: 30, flags: ack | psh, seq: 1, ack: 1, n: 5, win: 65535},
		{srv: true, at: 31, flags: rst | ack, seq: 1, ack: 6, win: 0},
		// Same initial sequence number after the RST: a retransmitted SYN of the
		// same stream (out of order had it come within the initial RTT).
		{at: 80, flags: syn, win: 65535, want: Retransmission},
		{srv: true, at: 81, flags: rst | ack, seq: 1, ack: 1, win: 0},
		// Another initial sequence number: a new stream on the same ports.
		{at: 90, flags: syn, seq: 777777, win: 65535, want: ReusedPorts, check: func(r *Result) string {
			return eq("time_relative", r.TimeRelative, int64(0))
		}},
		{srv: true, at: 91, flags: syn | ack, seq: 5555, ack: 777778, win: 65535},
		// A SYN-ACK with yet another initial sequence number moves the base
		// (and lies beyond the first one's nextseq).
		{srv: true, at: 92, flags: syn | ack, seq: 9999, ack: 777778, win: 65535, want: ReusedPorts | LostSegment},
	})},
	{name: "acked-unseen-once", isnC: 21, isnS: 22, steps: join(opening(), []step{
		{at: 30, flags: ack, seq: 1, ack: 1, n: 100, win: 65535},
		// seq 101..200 lost before the capture point
		{at: 31, flags: ack, seq: 201, ack: 1, n: 100, win: 65535, want: LostSegment},
		{srv: true, at: 40, flags: ack, seq: 1, ack: 301, win: 65535, want: AckLostSegment},
		{srv: true, at: 41, flags: ack | psh, seq: 1, ack: 301, n: 50, win: 65535},
		{at: 42, flags: ack, seq: 301, ack: 51, win: 65535},
		// The same ACK again: a duplicate, but the unseen segment was reported.
		{srv: true, at: 43, flags: ack, seq: 51, ack: 301, win: 65535, want: DupAck},
		// More than one byte starting at nextseq-1 is new data.
		{at: 44, flags: ack, seq: 300, ack: 51, n: 10, win: 65535},
	})},
	{name: "time-backwards", isnC: 11, isnS: 12, steps: join(opening(), []step{
		{at: 30, flags: ack, seq: 1, ack: 1, n: 100, win: 65535},
		{at: 31, flags: ack, seq: 201, ack: 1, n: 100, win: 65535, want: LostSegment},
		{srv: true, at: 32, flags: ack, seq: 1, ack: 101, win: 65535},
		{srv: true, at: 33, flags: ack, seq: 1, ack: 101, win: 65535, want: DupAck},
		{srv: true, at: 34, flags: ack, seq: 1, ack: 101, win: 65535, want: DupAck},
		// 10 ms back in time: neither fast (needs < 20 ms after the dup ACK)
		// nor out of order; a plain retransmission with a negative delta.
		{at: 24, flags: ack, seq: 101, ack: 1, n: 100, win: 65535, want: Retransmission, check: func(r *Result) string {
			return eq("time_delta", r.TimeDelta, int64(-10e6))
		}},
	})},
	{name: "mid-connection", isnC: 123456, isnS: 654321, steps: []step{
		// No handshake: bases from the first packets, window scale unknown, no
		// window-full check, no initial RTT.
		{at: 0, flags: ack | psh, seq: 1000, ack: 500, n: 100, win: 100},
		{srv: true, at: 1, flags: ack, seq: 500, ack: 1100, win: 25},
		{at: 2, flags: ack, seq: 1100, ack: 500, n: 25, win: 100, want: 0, check: func(r *Result) string {
			if r.Present&HasIRTT != 0 {
				return "irtt present"
			}
			return ""
		}},
		{srv: true, at: 3, flags: ack, seq: 500, ack: 1125, win: 25},
		{srv: true, at: 4, flags: ack, seq: 500, ack: 1125, win: 25, want: DupAck},
	}},
	{name: "rst-and-syn-data", isnC: 5, isnS: 6, steps: []step{
		// A SYN carrying data.
		{flags: syn, n: 20, win: 65535},
		{srv: true, at: 10, flags: syn | ack, ack: 21, win: 65535, check: func(r *Result) string {
			return eq("acks_frame", r.AcksFrame, uint64(1))
		}},
		{at: 20, flags: ack, seq: 21, ack: 1, win: 65535},
		// A RST beyond nextseq is no lost segment.
		{srv: true, at: 30, flags: rst, seq: 5000, win: 0, want: 0},
		{srv: true, at: 31, flags: rst | ack, seq: 1, ack: 21, win: 0, want: 0},
	}},
	{name: "bad-header-length", isnC: 5, isnS: 6, steps: join(opening(), []step{
		{at: 30, flags: ack, seq: 1, ack: 1, n: 100, win: 65535},
		// Header length 12: tshark analyses it with the header bytes counted as
		// payload, then prints nothing.
		{at: 31, flags: ack, seq: 101, ack: 1, n: 100, hlen: 12, win: 65535},
		// Header length 60 with 40 bytes after the header: no segment length,
		// no analysis.
		{at: 32, flags: ack, seq: 209, ack: 1, n: 20, hlen: 60, win: 65535},
		{at: 33, flags: ack, seq: 209, ack: 1, n: 100, win: 65535, want: 0},
		// An IP total length beyond the frame: the segment ends with the frame.
		{at: 34, flags: ack, seq: 309, ack: 1, n: 100, extra: 8, win: 65535},
		{at: 35, flags: ack, seq: 409, ack: 1, n: 100, win: 65535, want: 0},
	})},
	{name: "snapped-options", isnC: 1, isnS: 2, steps: join([]step{
		{flags: syn, win: 65535, opts: wscale(4)},
		// Cut inside its options: tshark runs the analysis, then stops before
		// printing it and before taking the window scale.
		{srv: true, at: 10, flags: syn | ack, ack: 1, win: 65535, opts: wscale(2), snap: 20 + 22},
		{at: 20, flags: ack, seq: 1, ack: 1, win: 100},
		// The client's scale (16) is known, the server's is not.
		{srv: true, at: 30, flags: ack, seq: 1, ack: 1, n: 1600, win: 100, want: WindowFull},
		// A segment with its payload cut counts its whole length.
		{srv: true, at: 31, flags: ack, seq: 1601, ack: 1, n: 100, win: 100, snap: 60},
		{at: 40, flags: ack, seq: 1, ack: 1701, win: 100, check: func(r *Result) string {
			return eq("acks_frame", r.AcksFrame, uint64(5))
		}},
	})},
	{name: "late-window-scale", isnC: 1, isnS: 2, steps: join(opening(), []step{
		// No scaling was negotiated, but a window-scale option on a later
		// segment sets the sender's scale all the same.
		{at: 30, flags: ack, seq: 1, ack: 1, win: 100, opts: wscale(3), want: WindowUpdate},
		{srv: true, at: 31, flags: ack, seq: 1, ack: 1, n: 800, win: 100, want: WindowFull},
	})},
	{name: "sack-in-flight", isnC: 1, isnS: 2, steps: join(opening(), []step{
		{at: 30, flags: ack, seq: 1, ack: 1, n: 100, win: 65535},
		{at: 30.1, flags: ack, seq: 101, ack: 1, n: 100, win: 65535},
		{at: 30.2, flags: ack, seq: 201, ack: 1, n: 100, win: 65535},
		{at: 30.3, flags: ack, seq: 301, ack: 1, n: 100, win: 65535},
		{at: 30.4, flags: ack, seq: 401, ack: 1, n: 100, win: 65535},
		{at: 30.5, flags: ack, seq: 501, ack: 1, n: 100, win: 65535},
		// Four SACK blocks (the first segment lost): tshark counts three.
		{srv: true, at: 40, flags: ack, seq: 1, ack: 1, win: 65535, want: DupAck, opts: sack(3+101, 3+201, 3+201, 3+301, 3+401, 3+501, 3+501, 3+601)},
		{at: 41, flags: ack, seq: 601, ack: 1, n: 100, win: 65535, check: func(r *Result) string {
			return eq("bytes_in_flight", r.BytesInFlight, uint32(700-300))
		}},
		// The SACK blocks are the other side's last segment's: none now.
		{srv: true, at: 42, flags: ack, seq: 1, ack: 1, win: 65535, want: DupAck},
		{at: 43, flags: ack, seq: 701, ack: 1, n: 100, win: 65535, check: func(r *Result) string {
			return eq("bytes_in_flight", r.BytesInFlight, uint32(800))
		}},
	})},
	{name: "v6-handshake", isnC: 99, isnS: 98, v6: true, steps: join(opening(), []step{
		{at: 30, flags: ack | psh, seq: 1, ack: 1, n: 100, win: 65535},
		{srv: true, at: 35, flags: ack, seq: 1, ack: 101, win: 65535},
		{at: 36, flags: ack | fin, seq: 101, ack: 1, win: 65535},
		{srv: true, at: 37, flags: ack | fin, seq: 1, ack: 102, win: 65535},
		{at: 38, flags: ack, seq: 102, ack: 2, win: 65535},
	})},
}

// capScenario sends more segments than Wireshark remembers (10,000) before the
// receiver acknowledges any: the ones past the cap get no acks_frame and no RTT,
// and a FIN past it does not move nextseq (so a byte sent at the FIN's sequence
// number afterwards is new data, not a retransmission), in tshark as here.
func capScenario() scenario {
	sc := scenario{name: "segment-cap", isnC: 4000000000, isnS: 1, steps: opening()}
	const n = 10003
	at := 30.0
	for i := range n {
		sc.steps = append(sc.steps, step{at: at, flags: ack, seq: uint32(1 + i), ack: 1, n: 1, win: 65535})
		at += 0.01
	}
	last := uint32(1 + n)
	sc.steps = append(sc.steps,
		step{at: at + 1, flags: fin | ack, seq: last, ack: 1, win: 65535},
		step{at: at + 2, flags: ack, seq: last, ack: 1, n: 1, win: 65535, want: 0},
		// Acknowledges segment 10,000 (frame 10,003): remembered.
		step{srv: true, at: at + 50, flags: ack, seq: 1, ack: 10001, win: 65535, check: func(r *Result) string {
			return eq("acks_frame", r.AcksFrame, uint64(10003))
		}},
		// Acknowledges segment 10,002, which was not.
		step{srv: true, at: at + 51, flags: ack, seq: 1, ack: 10003, win: 65535, check: func(r *Result) string {
			if r.Present&HasAcksFrame != 0 {
				return "acks a segment past the cap"
			}
			return ""
		}},
	)
	return sc
}

func init() { scenarios = append(scenarios, capScenario()) }

var (
	clientV4 = []byte{10, 0, 0, 1}
	serverV4 = []byte{10, 0, 0, 2}
	clientV6 = []byte{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}
	serverV6 = []byte{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}
)

const scenarioEpoch = 1700000000e9

// packets builds the raw IP packets of a scenario (link type raw IP) with their
// times and lengths on the wire.
func (sc *scenario) packets() []reader.Packet {
	var out []reader.Packet
	for i, st := range sc.steps {
		opts := st.opts
		for len(opts)%4 != 0 {
			opts = append(opts, 0)
		}
		tcp := make([]byte, 20+len(opts)+st.n)
		cport, sport := uint16(40000), uint16(80)
		if st.client != 0 {
			cport = st.client
		}
		src, dst := cport, sport
		isnSrc, isnDst := sc.isnC, sc.isnS
		if st.srv {
			src, dst, isnSrc, isnDst = sport, cport, sc.isnS, sc.isnC
		}
		be := binary.BigEndian
		be.PutUint16(tcp[0:], src)
		be.PutUint16(tcp[2:], dst)
		be.PutUint32(tcp[4:], isnSrc+st.seq)
		if st.flags&ack != 0 {
			be.PutUint32(tcp[8:], isnDst+st.ack)
		}
		hlen := 20 + len(opts)
		if st.hlen != 0 {
			hlen = st.hlen
		}
		tcp[12] = byte(hlen/4) << 4
		tcp[13] = byte(st.flags)
		be.PutUint16(tcp[14:], st.win)
		copy(tcp[20:], opts)
		for j := 20 + len(opts); j < len(tcp); j++ {
			tcp[j] = byte('a' + j%26)
		}
		var ip []byte
		if sc.v6 {
			ip = make([]byte, 40, 40+len(tcp))
			ip[0] = 0x60
			be.PutUint16(ip[4:], uint16(len(tcp)+st.extra))
			ip[6], ip[7] = 6, 64
			c, s := clientV6, serverV6
			if st.srv {
				c, s = s, c
			}
			copy(ip[8:], c)
			copy(ip[24:], s)
		} else {
			ip = make([]byte, 20, 20+len(tcp))
			ip[0] = 0x45
			be.PutUint16(ip[2:], uint16(20+len(tcp)+st.extra))
			be.PutUint16(ip[4:], uint16(i))
			ip[8], ip[9] = 64, 6
			c, s := clientV4, serverV4
			if st.srv {
				c, s = s, c
			}
			copy(ip[12:], c)
			copy(ip[16:], s)
		}
		data := append(ip, tcp...)
		wire := len(data)
		if st.snap != 0 {
			data = data[:st.snap]
		}
		out = append(out, reader.Packet{
			Data: data, Timestamp: scenarioEpoch + int64(st.at*1e6), CapLen: uint32(len(data)),
			WireLen: uint32(wire), LinkType: decode.LinkRaw, Number: uint64(i + 1),
		})
	}
	return out
}

// run feeds a scenario's packets through decode, a ConnTracker and an Analyzer.
func (sc *scenario) run(o Options) []Result {
	ct := decode.NewConnTracker(decode.DefaultConnOptions)
	a := New(o)
	ct.OnForget(func(slot int32, _ uint64, _ decode.ForgetReason) { a.Forget(slot) })
	var rec decode.Record
	var out []Result
	for _, p := range sc.packets() {
		decode.Decode(p.LinkType, p.Data, p.WireLen, &rec)
		var r Result
		if c, ok := ct.Track(&rec, p.Timestamp); ok {
			a.Packet(p.Number, p.Timestamp, &rec, &c, &r)
		}
		out = append(out, r)
	}
	return out
}

func (sc *scenario) writePcap(path string) error {
	var b bytes.Buffer
	w, err := writer.NewPcap(&b, decode.LinkRaw, 65535, true)
	if err != nil {
		return err
	}
	for _, p := range sc.packets() {
		if err := w.WritePacket(&p); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

func TestScenarios(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			rs := sc.run(Options{MaxSegments: sc.segments})
			for i, st := range sc.steps {
				r := &rs[i]
				var msg []string
				if r.Flags != st.want {
					msg = append(msg, fmt.Sprintf("flags %q, want %q", AppendFlags(nil, r.Flags), AppendFlags(nil, st.want)))
				}
				if st.check != nil {
					if m := st.check(r); m != "" {
						msg = append(msg, m)
					}
				}
				if len(msg) > 0 {
					t.Errorf("packet %d: %s", i+1, strings.Join(msg, "; "))
				}
			}
		})
	}
}
