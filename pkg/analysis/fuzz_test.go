package analysis

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/pcaptk/pcaptk/pkg/decode"
)

// wsList is Wireshark's list of unacknowledged segments as packet-tcp.c keeps
// it: newest first, walked whole on every acknowledgment. The sorted segList
// must give the same answers.
type wsList struct{ segs []segment } // newest first

func (w *wsList) add(s segment) { w.segs = append([]segment{s}, w.segs...) }

func (w *wsList) acknowledge(ack uint32) (acked segment, ok, rexmit bool) {
	var keep []segment
	for _, s := range w.segs {
		// Karn: every segment the ACK removes or trims counts.
		switch {
		case ack == s.next:
			acked, ok = s, true // the last one walked, the oldest, wins
			rexmit = rexmit || s.retransmitted()
			continue
		case gtSeq(ack, s.seq) && leSeq(ack, s.next):
			s.seq = ack
			rexmit = rexmit || s.retransmitted()
		case gtSeq(s.next, ack):
		default:
			rexmit = rexmit || s.retransmitted()
			continue
		}
		keep = append(keep, s)
	}
	w.segs = keep
	return acked, ok, rexmit
}

func (w *wsList) span(base uint32) (first, last uint32) {
	first, last = w.segs[0].seq-base, w.segs[0].next-base
	for _, s := range w.segs {
		first = min(first, s.seq-base)
		last = max(last, s.next-base)
	}
	return first, last
}

// checkList verifies a segList's own invariants.
func checkList(l *segList) error {
	segs := l.segs()
	if l.head < 0 || int(l.head) > len(l.buf) {
		return fmt.Errorf("head %d of %d", l.head, len(l.buf))
	}
	if l.unsorted || len(segs) == 0 {
		return nil
	}
	if segs[0].seq != l.lo {
		return fmt.Errorf("lo %d, first segment at %d", l.lo, segs[0].seq)
	}
	var maxOff uint32
	for i, s := range segs {
		off, next := s.seq-l.lo, s.next-l.lo
		if off >= half || next >= half || next < off {
			return fmt.Errorf("segment %d [%d,%d) outside the sorted span from %d", i, s.seq, s.next, l.lo)
		}
		if i > 0 && off < segs[i-1].seq-l.lo {
			return fmt.Errorf("segment %d out of order", i)
		}
		maxOff = max(maxOff, next)
	}
	if maxOff != l.maxOff {
		return fmt.Errorf("maxOff %d, segments reach %d", l.maxOff, maxOff)
	}
	return nil
}

// FuzzSegList drives the sorted list and Wireshark's list with the same
// segments and acknowledgments: every acknowledgment must pick the same
// segment, and the spans and eldest segments must agree.
func FuzzSegList(f *testing.F) {
	f.Add([]byte("\x00\x10\x00\x00\x05\x01\x20\x00\x00\x05\x02\x10\x00\x00\x00"), uint32(1000))
	f.Add([]byte("\x00\xff\xff\xff\x7f\x00\x00\x00\x00\x80\x02\x00\x00\x00\x80"), uint32(0x7fffff00))
	f.Fuzz(func(t *testing.T, ops []byte, start uint32) {
		var pool segPool
		pool.budget = 1 << 20
		var l segList
		var w wsList
		order := uint64(0)
		seq := start
		for len(ops) >= 5 {
			op, v := ops[0], binary.LittleEndian.Uint32(ops[1:5])
			ops = ops[5:]
			switch op % 4 {
			case 0, 1: // a segment near the last one (or anywhere)
				s := seq + v%4096 - 2048
				if op%4 == 1 {
					s = v
				}
				n := 1 + v>>20%3000
				order++
				sg := segment{seq: s, next: s + n, frame: order, ts: int64(order), order: segOrder(order, v&1 != 0)}
				if !l.add(&pool, &sg) {
					t.Fatal("pool refused within its budget")
				}
				w.add(sg)
				seq = s + n
			case 2: // an acknowledgment near the segments (or anywhere)
				a := seq + v%8192 - 6000
				if op&4 != 0 {
					a = v
				}
				var got segment
				gok, grx := l.acknowledge(a, &got)
				want, wok, wrx := w.acknowledge(a)
				if gok != wok || got != want || grx != wrx {
					t.Fatalf("ack %d: got %+v %v %v, want %+v %v %v", a, got, gok, grx, want, wok, wrx)
				}
			case 3:
				if l.len() > 0 {
					g1, g2 := l.span(v)
					w1, w2 := w.span(v)
					if g1 != w1 || g2 != w2 {
						t.Fatalf("span from %d: got %d,%d want %d,%d", v, g1, g2, w1, w2)
					}
					e, _ := l.eldest()
					if e != w.segs[len(w.segs)-1] {
						t.Fatalf("eldest %+v, want %+v", e, w.segs[len(w.segs)-1])
					}
				}
			}
			if l.len() != len(w.segs) {
				t.Fatalf("%d segments, want %d", l.len(), len(w.segs))
			}
			if err := checkList(&l); err != nil {
				t.Fatal(err)
			}
			// Same segments, whatever the order.
			count := map[segment]int{}
			for _, s := range l.segs() {
				count[s]++
			}
			for _, s := range w.segs {
				count[s]--
			}
			for s, c := range count {
				if c != 0 {
					t.Fatalf("segment %+v differs by %d", s, c)
				}
			}
		}
		l.release(&pool)
		if pool.inUse != 0 || pool.held > pool.budget {
			t.Fatalf("pool: %d in use, %d held of %d", pool.inUse, pool.held, pool.budget)
		}
	})
}

// FuzzAnalyzer feeds random segments over a few connections through a
// ConnTracker and a small Analyzer: it must never panic, and its state must
// stay within its bounds.
func FuzzAnalyzer(f *testing.F) {
	f.Add([]byte("\x02\x00\x00\x00\x00\x00\x00\x12\x01\x00\x00\x00\x00\x00\x10\x10\x01\x05\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const maxSegs, budget = 16, 64
		ct := decode.NewConnTracker(decode.ConnOptions{MaxConns: 3, IdleTimeout: 5e9, ClosedTimeout: 1e9})
		a := New(Options{MaxSegments: maxSegs, SegmentBudget: budget})
		ct.OnForget(func(slot int32, _ uint64, _ decode.ForgetReason) { a.Forget(slot) })
		var seqs [8]uint32
		ts := int64(1e15)
		frame := uint64(0)
		for len(data) >= 12 {
			b := data[:12]
			data = data[12:]
			k := int(b[0] % 8) // connection and direction
			rec := decode.Record{HasTCP: true, IPVersion: 4, Flags: uint16(b[1]) | uint16(b[2]&1)<<8, Window: binary.BigEndian.Uint16(b[3:])}
			rec.SrcIP[0], rec.DstIP[0] = 10, 10
			rec.SrcIP[3], rec.DstIP[3] = byte(k&6), byte(k&6)+1
			rec.SrcPort, rec.DstPort = 1000, 80
			if k&1 != 0 {
				rec.SrcIP, rec.DstIP, rec.SrcPort, rec.DstPort = rec.DstIP, rec.SrcIP, rec.DstPort, rec.SrcPort
			}
			n := int(b[5] % 64)
			if b[5]&0x80 != 0 {
				n = int(b[5]) * 40
			}
			switch b[6] % 4 {
			case 0:
				seqs[k] += uint32(n)
			case 1:
				seqs[k] -= uint32(b[7]) * 10
			case 2:
				seqs[k] = binary.BigEndian.Uint32(b[7:])
			}
			rec.Seq = seqs[k]
			rec.Ack = seqs[k^1] - uint32(b[8]%4)*uint32(n)
			rec.DataOff = 20 + (b[9]%3)*4
			if b[9]&0x80 != 0 {
				rec.DataOff = b[9] & 0x3c
			}
			rec.L4Len = int(rec.DataOff) + n
			rec.WireLen = 20 + rec.L4Len + int(b[10]%3) - 1
			rec.TransOff = 20
			if b[10]&0x10 != 0 {
				rec.HasWScale, rec.WScale = true, b[10]>>5
			}
			if b[11]&1 != 0 {
				rec.NSACK = int(b[11]>>1) % 5
				for i := range rec.NSACK {
					rec.SACK[i] = decode.SACKBlock{Left: rec.Ack + uint32(i)*100, Right: rec.Ack + uint32(i)*100 + uint32(b[11])}
				}
			}
			ts += int64(int8(b[4])) * 1e6
			frame++
			c, ok := ct.Track(&rec, ts)
			if !ok {
				continue
			}
			var r Result
			a.Packet(frame, ts, &rec, &c, &r)
			var buf []byte
			buf = AppendInfo(AppendFlags(buf, r.Flags), &r)
			if r.Flags != 0 && len(buf) == 0 {
				t.Fatal("flags without text")
			}
			st := a.Stats()
			if st.SegmentsHeld > budget || st.Segments > st.SegmentsHeld {
				t.Fatalf("segments: %+v over the budget %d", st, budget)
			}
			for i := range int32(a.nconns) {
				cs := a.slot(i)
				for d := range cs.d {
					l := &cs.d[d].segs
					if l.len() > maxSegs {
						t.Fatalf("%d segments in a direction, cap %d", l.len(), maxSegs)
					}
					if err := checkList(l); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		ct.Close()
		if st := a.Stats(); st.Segments != 0 {
			t.Fatalf("%d segments held after every connection was forgotten", st.Segments)
		}
	})
}
