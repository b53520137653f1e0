package analysis

import (
	"encoding/binary"
	"testing"

	"github.com/pcaptk/pcaptk/pkg/decode"
)

// FuzzConnPackets feeds random segments over a few connections (four client
// ports, both directions, any flags, sequence and acknowledgment numbers near
// or far from the last ones, payloads captured whole or not, bad checksums) to
// ConnTracker and Conns: nothing may panic, every row must be consistent and
// the state must stay within its bounds.
func FuzzConnPackets(f *testing.F) {
	f.Add([]byte{0, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x12, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0x10, 0, 1, 0, 1, 0, 0, 10, 0})
	f.Add([]byte("\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x80\x04\x11\x00\x00\x00\x10\x00\x00\x00\x30\x00\xff\x01\x05\xff\xff\xff\xff\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const segLen = 11
		var rows []ConnRow
		tr := decode.NewConnTracker(decode.ConnOptions{MaxConns: 3, IdleTimeout: 50e9, ClosedTimeout: 5e9})
		conns := NewConns(func(r *ConnRow) { rows = append(rows, *r) })
		tr.OnForget(conns.Forget)
		var seq, ack [2]uint32
		ts := int64(1e18)
		fed := 0
		for ; len(data) >= segLen; data = data[segLen:] {
			// ctl: bits 0-1 client port, 2 direction, 3 bad checksum, 4 payload
			// cut short, 5 far sequence number, 6 far acknowledgment.
			ctl, flags := data[0], uint16(data[1])|uint16(data[2]&1)<<8
			d := ctl >> 2 & 1
			dseq := uint32(binary.BigEndian.Uint16(data[3:]))
			dack := uint32(binary.BigEndian.Uint16(data[5:]))
			if ctl&0x20 != 0 {
				dseq <<= 16
			}
			if ctl&0x40 != 0 {
				dack <<= 16
			}
			seq[d] += dseq - 0x4000
			ack[d] += dack - 0x4000
			n := int(data[7])
			win := binary.BigEndian.Uint16(data[8:])
			ts += int64(data[10]) * 1e8

			var r decode.Record
			r.IPVersion, r.HasTCP, r.Proto, r.DataOff, r.IPHdrLen = 4, true, 6, 20, 20
			cli := [16]byte{10, 0, 0, 1}
			srv := [16]byte{10, 0, 0, 2}
			cp, sp := 1000+uint16(ctl&3), uint16(80)
			r.SrcIP, r.DstIP, r.SrcPort, r.DstPort = cli, srv, cp, sp
			if d == 1 {
				r.SrcIP, r.DstIP, r.SrcPort, r.DstPort = srv, cli, sp, cp
			}
			r.Flags, r.Seq, r.Ack, r.Window = flags, seq[d], ack[d], win
			r.L4Len, r.PayloadLen, r.PayloadCap, r.IPLen = 20+n, n, n, 40+n
			if ctl&0x10 != 0 {
				r.PayloadCap, r.Truncated = n/2, decode.LayerPayload
			}
			c, ok := tr.Track(&r, ts)
			if !ok {
				continue
			}
			fed++
			if ctl&8 != 0 {
				conns.Corrupt(&r, &c, ts)
				continue
			}
			conns.Packet(&r, &c, ts, uint32(14+r.IPLen))
			a := conns.Acc(&decode.Conn{Slot: c.Slot})
			for _, e := range a.z.ep {
				if e.reasm.holes.n > maxSpans {
					t.Fatalf("%d holes", e.reasm.holes.n)
				}
			}
			for _, x := range a.tt {
				if x.cover.n > maxSpans {
					t.Fatalf("%d covered ranges", x.cover.n)
				}
			}
		}
		tr.Close()
		var counted uint64
		for _, r := range rows {
			counted += r.OrigPkts + r.RespPkts
			if int(r.HistoryLen) > len(r.History) {
				t.Fatalf("history length %d", r.HistoryLen)
			}
			if r.ConnState.String() != connStateNames[r.ConnState] || r.Close.String() != closeNames[r.Close] {
				t.Fatalf("state %d close %d", r.ConnState, r.Close)
			}
			if r.Duration < 0 || r.LastTS < r.FirstTS {
				t.Fatalf("duration %d", r.Duration)
			}
			if r.CommunityID.String() == "" {
				t.Fatal("no community id")
			}
		}
		if counted > uint64(fed) {
			t.Fatalf("%d packets counted of %d fed", counted, fed)
		}
	})
}
