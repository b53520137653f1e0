package analysis

import (
	"fmt"
	"strconv"
	"strings"
)

// Flags holds one bit per tcp.analysis flag, in the order of SCHEMA.md's
// "TCP analysis columns" (which is also the order AppendFlags writes them). As
// in tshark, a fast or spurious retransmission is also a retransmission: the
// Retransmission bit alone marks a plain one.
type Flags uint16

const (
	Retransmission Flags = 1 << iota
	FastRetransmission
	SpuriousRetransmission
	OutOfOrder
	LostSegment    // tshark: "previous segment not captured"
	AckLostSegment // tshark: "ACKed unseen segment"
	DupAck
	ZeroWindow
	ZeroWindowProbe
	ZeroWindowProbeAck
	WindowFull
	WindowUpdate
	KeepAlive
	KeepAliveAck
	ReusedPorts

	// AnyRetransmission is what tshark's expert info counts as a retransmission.
	AnyRetransmission = Retransmission | FastRetransmission | SpuriousRetransmission
	// AllFlags is every flag.
	AllFlags = ReusedPorts<<1 - 1
)

// flagNames are the column names of the flags, bit by bit.
var flagNames = [...]string{
	"retransmission", "fast_retransmission", "spurious_retransmission", "out_of_order",
	"lost_segment", "ack_lost_segment", "dup_ack", "zero_window", "zero_window_probe",
	"zero_window_probe_ack", "window_full", "window_update", "keep_alive", "keep_alive_ack",
	"reused_ports",
}

// NumFlags is the number of flags.
const NumFlags = len(flagNames)

// FlagName returns the column name of the single flag f ("" if f is not one flag).
func FlagName(f Flags) string {
	for i := range flagNames {
		if f == 1<<i {
			return flagNames[i]
		}
	}
	return ""
}

// ParseFlag returns the flag named name (a column name, or tshark's
// "duplicate_ack"), and false when there is none.
func ParseFlag(name string) (Flags, bool) {
	if name == "duplicate_ack" {
		return DupAck, true
	}
	for i, n := range flagNames {
		if n == name {
			return 1 << i, true
		}
	}
	return 0, false
}

// ParseFlags parses a comma-separated list of flag names (as ParseFlag takes
// them), or "any" for every flag, as filter --analysis takes it.
func ParseFlags(list string) (Flags, error) {
	var f Flags
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "any" {
			f |= AllFlags
			continue
		}
		g, ok := ParseFlag(name)
		if !ok {
			return 0, fmt.Errorf("unknown analysis flag %q (known: any, %s)", name, strings.Join(flagNames[:], ", "))
		}
		f |= g
	}
	return f, nil
}

// Present says which nullable values of a Result hold something, one bit each.
type Present uint16

const (
	HasDupAck        Present = 1 << iota // DupAckNum and DupAckFrame
	HasAcksFrame                         // AcksFrame
	HasAckRTT                            // AckRTT (an RTT sample)
	HasIRTT                              // IRTT
	HasBytesInFlight                     // BytesInFlight and PushBytesSent
	HasRTO                               // RTO and RTOFrame
	HasTime                              // TimeRelative and TimeDelta
	HasSeglen                            // Seglen: tshark knew the segment length and ran its sequence analysis
	// KarnRTT marks an AckRTT that also passes Karn's rule: none of the
	// segments this ACK acknowledged (wholly or in part) was a retransmission,
	// so the sample cannot be measuring from the wrong copy of a segment.
	// Wireshark takes ack_rtt regardless; per-connection RTT figures
	// (ConnRow.RTTSamples and the percentiles) take only these.
	KarnRTT
)

// Result is the analysis of one TCP packet. The caller owns it; Analyzer.Packet
// overwrites every field. Durations are in nanoseconds and may be negative when
// the capture's clock goes backwards, as tshark's are.
type Result struct {
	Flags   Flags
	Present Present

	DupAckNum     uint32 // tcp.analysis.duplicate_ack_num
	DupAckFrame   uint64 // tcp.analysis.duplicate_ack_frame
	AcksFrame     uint64 // tcp.analysis.acks_frame
	AckRTT        int64  // tcp.analysis.ack_rtt
	IRTT          int64  // tcp.analysis.initial_rtt
	BytesInFlight uint32 // tcp.analysis.bytes_in_flight
	PushBytesSent uint32 // tcp.analysis.push_bytes_sent
	RTO           int64  // tcp.analysis.rto
	RTOFrame      uint64 // tcp.analysis.rto_frame
	TimeRelative  int64  // tcp.time_relative
	TimeDelta     int64  // tcp.time_delta

	// Seglen is the TCP payload length the analysis used (tcp.len), valid with
	// HasSeglen.
	Seglen uint32
}

// Has reports whether all of the values named by p are present.
func (r *Result) Has(p Present) bool { return r.Present&p == p }

// RetransmittedBytes is the payload of the packet counted as retransmitted: its
// length when tshark flags it as a retransmission of any kind, else 0.
func (r *Result) RetransmittedBytes() uint32 {
	if r.Flags&AnyRetransmission != 0 && r.Present&HasSeglen != 0 {
		return r.Seglen
	}
	return 0
}

// RTTSample returns the packet's RTT sample (ack_rtt) and whether it took one.
func (r *Result) RTTSample() (int64, bool) { return r.AckRTT, r.Present&HasAckRTT != 0 }

// KarnRTTSample returns the packet's RTT sample when it passes Karn's rule (see
// KarnRTT).
func (r *Result) KarnRTTSample() (int64, bool) {
	return r.AckRTT, r.Present&(HasAckRTT|KarnRTT) == HasAckRTT|KarnRTT
}

// AppendFlags appends the names of the set flags to dst, comma-separated in
// column order (e.g. "retransmission,dup_ack"), and returns the extended slice.
// Nothing is appended when no flag is set.
func AppendFlags(dst []byte, f Flags) []byte {
	first := true
	for i := 0; f != 0; i++ {
		if f&1 != 0 {
			if !first {
				dst = append(dst, ',')
			}
			dst = append(dst, flagNames[i]...)
			first = false
		}
		f >>= 1
	}
	return dst
}

// AppendInfo appends the words Wireshark 4.0 puts at the start of the Info
// column for r's flags, with its spelling and in its order, separated by single
// spaces (e.g. "[TCP Window Full] [TCP Retransmission]"), and returns the
// extended slice. Wireshark prepends each word in turn, so they read in the
// reverse of the order its code visits them.
func AppendInfo(dst []byte, r *Result) []byte {
	f := r.Flags
	if f == 0 {
		return dst
	}
	n := len(dst)
	word := func(w string) {
		if len(dst) > n {
			dst = append(dst, ' ')
		}
		dst = append(dst, w...)
	}
	if f&ZeroWindowProbeAck != 0 {
		word("[TCP ZeroWindowProbeAck]")
	}
	if f&ZeroWindow != 0 {
		word("[TCP ZeroWindow]")
	}
	if f&ZeroWindowProbe != 0 {
		word("[TCP ZeroWindowProbe]")
	}
	if f&DupAck != 0 && r.Present&HasDupAck != 0 {
		word("[TCP Dup ACK ")
		dst = strconv.AppendUint(dst, r.DupAckFrame, 10)
		dst = append(dst, '#')
		dst = strconv.AppendUint(dst, uint64(r.DupAckNum), 10)
		dst = append(dst, ']')
	}
	if f&KeepAliveAck != 0 {
		word("[TCP Keep-Alive ACK]")
	}
	if f&KeepAlive != 0 {
		word("[TCP Keep-Alive]")
	}
	if f&WindowFull != 0 {
		word("[TCP Window Full]")
	}
	if f&WindowUpdate != 0 {
		word("[TCP Window Update]")
	}
	if f&AckLostSegment != 0 {
		word("[TCP ACKed unseen segment]")
	}
	if f&LostSegment != 0 {
		word("[TCP Previous segment not captured]")
	}
	if f&OutOfOrder != 0 {
		word("[TCP Out-Of-Order]")
	}
	if f&SpuriousRetransmission != 0 {
		word("[TCP Spurious Retransmission]")
	}
	if f&FastRetransmission != 0 {
		word("[TCP Fast Retransmission]")
	}
	if f&Retransmission != 0 && f&(FastRetransmission|SpuriousRetransmission) == 0 {
		word("[TCP Retransmission]")
	}
	if f&ReusedPorts != 0 {
		word("[TCP Port numbers reused]")
	}
	return dst
}
