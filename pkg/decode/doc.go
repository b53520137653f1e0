// Package decode turns a captured packet's bytes into a flat Record: link layer
// (Ethernet with VLAN tags, Linux cooked v1/v2, raw IP, BSD loopback, Cisco
// HDLC, ARCnet), IPv4/IPv6 with options and extension headers, and TCP with
// every option, UDP or ICMP. The caller owns the Record and reuses it, so
// decoding allocates nothing:
//
//	var rec decode.Record
//	for {
//		p, err := r.Next()                // r: a *reader.Reader
//		if err != nil {
//			break
//		}
//		decode.Decode(p.LinkType, p.Data, p.WireLen, &rec)
//		if rec.HasTCP {
//			use(rec.SrcPort, rec.Seq, rec.Flags) // offsets in rec index p.Data
//		}
//	}
//
// A packet cut short decodes as far as its bytes go; rec.Truncated names the
// layer where they ran out. Offsets in a Record are valid only while the
// packet's buffer is (until the reader's next Next).
//
// Two kinds of per-connection state live here, one per tool whose numbers
// users compare against: SeqTracker gives tcpdump's relative sequence numbers
// (keyed on the address/port pair, based on the first packet with ACK);
// ConnTracker gives tshark's tcp.stream numbering, relative seq/ack and scaled
// windows. Both must see packets in capture order and both are bounded.
package decode
