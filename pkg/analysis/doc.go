// Package analysis computes Wireshark 4.0's TCP analysis for every packet in one
// pass: the tcp.analysis flags (retransmissions, duplicate ACKs, zero windows,
// keep-alives, lost segments, ...), acks_frame and ack_rtt, the initial RTT,
// bytes in flight, push bytes, RTO, and tcp.time_relative/time_delta, as tshark
// prints them with default preferences. docs/analysis.md gives each rule and
// where pcaptk and tshark part.
//
// It builds on decode.ConnTracker, which numbers the connections and hands out
// the slot where the Analyzer keeps each one's state; the tracker's forget hook
// releases it. The caller owns the Record, the Conn and the Result, and reuses
// them:
//
//	ct := decode.NewConnTracker(decode.DefaultConnOptions)
//	a := analysis.New(analysis.Options{})
//	ct.OnForget(func(slot int32, _ uint64, _ decode.ForgetReason) { a.Forget(slot) })
//	var rec decode.Record
//	var res analysis.Result
//	for {
//		p, err := r.Next() // r: a *reader.Reader
//		if err != nil {
//			break
//		}
//		decode.Decode(p.LinkType, p.Data, p.WireLen, &rec)
//		c, ok := ct.Track(&rec, p.Timestamp)
//		if !ok {
//			continue // no complete TCP header
//		}
//		a.Packet(p.Number, p.Timestamp, &rec, &c, &res)
//		if res.Flags != 0 {
//			line = analysis.AppendInfo(line[:0], &res) // "[TCP Dup ACK 12#3]"
//		}
//	}
//	ct.Close() // forgets the connections still open, releasing their state
//
// Packets must come in capture order, each once. State is bounded: per
// connection a few hundred bytes, plus the unacknowledged segments of each
// direction (Options.MaxSegments, 10,000 as in Wireshark) within a budget over
// all connections (Options.SegmentBudget). Packet allocates nothing once the
// tables have grown. An Analyzer is not safe for concurrent use.
package analysis
