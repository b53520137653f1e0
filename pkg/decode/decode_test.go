package decode

import (
	"encoding/binary"
	"testing"

	"github.com/pcaptk/pcaptk/internal/testcorpus/packets"
)

// tcpSeg builds a TCP header with the given options (padded to 4 bytes) and payload.
func tcpSeg(sport, dport uint16, seq, ack uint32, flags uint8, opts []byte, payload []byte) []byte {
	for len(opts)%4 != 0 {
		opts = append(opts, 0)
	}
	h := make([]byte, 20+len(opts))
	binary.BigEndian.PutUint16(h[0:], sport)
	binary.BigEndian.PutUint16(h[2:], dport)
	binary.BigEndian.PutUint32(h[4:], seq)
	binary.BigEndian.PutUint32(h[8:], ack)
	h[12] = byte((20+len(opts))/4) << 4
	h[13] = flags
	binary.BigEndian.PutUint16(h[14:], 65535)
	copy(h[20:], opts)
	return append(h, payload...)
}

func ipv4(proto uint8, src, dst [4]byte, opts []byte, l4 []byte) []byte {
	h := make([]byte, 20+len(opts))
	h[0] = 0x40 | byte((20+len(opts))/4)
	binary.BigEndian.PutUint16(h[2:], uint16(len(h)+len(l4)))
	binary.BigEndian.PutUint16(h[4:], 0x1234)
	h[8] = 64
	h[9] = proto
	copy(h[12:], src[:])
	copy(h[16:], dst[:])
	copy(h[20:], opts)
	return append(h, l4...)
}

func ipv6(next uint8, ext []byte, l4 []byte) []byte {
	h := make([]byte, 40)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(ext)+len(l4)))
	h[6] = next
	h[7] = 63
	h[8], h[23] = 0x20, 1
	h[24], h[39] = 0x20, 2
	return append(append(h, ext...), l4...)
}

func ether(et uint16, payload []byte, tags ...uint16) []byte {
	h := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	for i := 0; i+1 < len(tags); i += 2 {
		h = binary.BigEndian.AppendUint16(h, tags[i])
		h = binary.BigEndian.AppendUint16(h, tags[i+1])
	}
	h = binary.BigEndian.AppendUint16(h, et)
	return append(h, payload...)
}

var (
	srcA = [4]byte{10, 0, 0, 1}
	dstB = [4]byte{10, 0, 0, 2}
)

func TestDecodeLinkTypes(t *testing.T) {
	opts := []byte{2, 4, 0x05, 0xb4, 1, 3, 3, 7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}
	seg := tcpSeg(40000, 80, 1000, 2000, SYN|ACK, opts, []byte("hello"))
	v4 := ipv4(ProtoTCP, srcA, dstB, nil, seg)
	v6 := ipv6(ProtoTCP, nil, seg)
	le := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	bef := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	sll1 := func(et uint16, p []byte) []byte {
		h := make([]byte, 16)
		binary.BigEndian.PutUint16(h[0:], 4) // outgoing
		binary.BigEndian.PutUint16(h[2:], 1)
		binary.BigEndian.PutUint16(h[4:], 6)
		binary.BigEndian.PutUint16(h[14:], et)
		return append(h, p...)
	}
	sll2 := func(et uint16, p []byte) []byte {
		h := make([]byte, 20)
		binary.BigEndian.PutUint16(h[0:], et)
		binary.BigEndian.PutUint32(h[4:], 7)
		h[10] = 0
		h[11] = 6
		return append(h, p...)
	}
	for _, tc := range []struct {
		name string
		lt   uint16
		data []byte
		ver  uint8
	}{
		{"ethernet ipv4", LinkEthernet, ether(EtherTypeIPv4, v4), 4},
		{"ethernet 802.1Q", LinkEthernet, ether(EtherTypeIPv4, v4, EtherTypeVLAN, 100), 4},
		{"ethernet 802.1ad+802.1Q", LinkEthernet, ether(EtherTypeIPv6, v6, EtherTypeQinQ, 10, EtherTypeVLAN, 20), 6},
		{"ethernet ipv6", LinkEthernet, ether(EtherTypeIPv6, v6), 6},
		{"linux cooked v1", LinkLinuxSLL, sll1(EtherTypeIPv4, v4), 4},
		{"linux cooked v2", LinkLinuxSLL2, sll2(EtherTypeIPv6, v6), 6},
		{"raw 101 v4", LinkRaw, v4, 4},
		{"raw 101 v6", LinkRaw, v6, 6},
		{"raw 12", LinkRawOld, v4, 4},
		{"raw 14", LinkRawOld2, v6, 6},
		{"raw ipv4 228", LinkIPv4, v4, 4},
		{"raw ipv6 229", LinkIPv6, v6, 6},
		{"null little-endian inet", LinkNull, append(le(2), v4...), 4},
		{"null big-endian inet", LinkNull, append(bef(2), v4...), 4},
		{"null little-endian inet6 (BSD 24)", LinkNull, append(le(24), v6...), 6},
		{"null big-endian inet6 (FreeBSD 28)", LinkNull, append(bef(28), v6...), 6},
		{"null inet6 (Darwin 30)", LinkNull, append(le(30), v6...), 6},
		{"loop", LinkLoop, append(bef(2), v4...), 4},
		{"cisco hdlc", LinkCHDLC, append([]byte{0x0f, 0, 0x86, 0xdd}, v6...), 6},
		{"arcnet linux rfc1201", LinkArcnetLinx, append([]byte{1, 2, 0, 0, 0xd4, 0, 0, 0}, v4...), 4},
		{"arcnet linux rfc1051", LinkArcnetLinx, append([]byte{1, 2, 0, 0, 0xf0}, v4...), 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Record
			Decode(tc.lt, tc.data, uint32(len(tc.data)), &r)
			if !r.HasTCP || r.IPVersion != tc.ver {
				t.Fatalf("HasTCP=%v IPVersion=%d, want TCP over IPv%d (%+v)", r.HasTCP, r.IPVersion, tc.ver, r)
			}
			if r.SrcPort != 40000 || r.DstPort != 80 || r.Seq != 1000 || r.Ack != 2000 || r.Flags != SYN|ACK {
				t.Errorf("header fields wrong: %+v", r)
			}
			if !r.HasMSS || r.MSS != 1460 || !r.HasWScale || r.WScale != 7 || !r.SACKOK || !r.HasTS || r.TSVal != 1 || r.TSEcr != 2 {
				t.Errorf("options wrong: mss %v/%d ws %v/%d sack %v ts %v %d %d", r.HasMSS, r.MSS, r.HasWScale, r.WScale, r.SACKOK, r.HasTS, r.TSVal, r.TSEcr)
			}
			if r.PayloadLen != 5 || r.PayloadCap != 5 || string(tc.data[r.PayloadOff:r.PayloadOff+5]) != "hello" {
				t.Errorf("payload: len %d cap %d off %d", r.PayloadLen, r.PayloadCap, r.PayloadOff)
			}
			if r.Truncated != LayerNone {
				t.Errorf("Truncated = %d", r.Truncated)
			}
		})
	}
}

func TestDecodeVLANFields(t *testing.T) {
	seg := tcpSeg(1, 2, 3, 4, ACK, nil, nil)
	var r Record
	d := ether(EtherTypeIPv4, ipv4(ProtoTCP, srcA, dstB, nil, seg), EtherTypeQinQ, 0x2005, EtherTypeVLAN, 0x0064)
	Decode(LinkEthernet, d, uint32(len(d)), &r)
	if r.NVLAN != 2 || r.VLANs[0] != 0x88a82005 || r.VLANs[1] != 0x81000064 || r.EthType != EtherTypeIPv4 {
		t.Errorf("VLANs %x n=%d ethertype %x", r.VLANs, r.NVLAN, r.EthType)
	}
}

func TestDecodeIPv4(t *testing.T) {
	seg := tcpSeg(1, 2, 3, 4, ACK, nil, []byte("abcdef"))
	t.Run("options", func(t *testing.T) {
		var r Record
		d := ipv4(ProtoTCP, srcA, dstB, []byte{1, 1, 1, 0}, seg)
		Decode(LinkRaw, d, uint32(len(d)), &r)
		if !r.HasTCP || r.IPHdrLen != 24 || r.IPOptLen != 4 || r.PayloadLen != 6 {
			t.Errorf("%+v", r)
		}
	})
	t.Run("first fragment carries TCP", func(t *testing.T) {
		var r Record
		d := ipv4(ProtoTCP, srcA, dstB, nil, seg)
		d[6] = 0x20 // MF
		Decode(LinkRaw, d, uint32(len(d)), &r)
		if !r.HasTCP || r.LaterFragment {
			t.Errorf("first fragment: HasTCP=%v Later=%v", r.HasTCP, r.LaterFragment)
		}
	})
	t.Run("later fragment has no TCP", func(t *testing.T) {
		var r Record
		d := ipv4(ProtoTCP, srcA, dstB, nil, seg)
		binary.BigEndian.PutUint16(d[6:], 0x0003) // offset 24 bytes
		Decode(LinkRaw, d, uint32(len(d)), &r)
		if r.HasTCP || !r.LaterFragment || r.FragOff != 3 {
			t.Errorf("later fragment: HasTCP=%v Later=%v off=%d", r.HasTCP, r.LaterFragment, r.FragOff)
		}
	})
	t.Run("ethernet padding is not payload", func(t *testing.T) {
		var r Record
		d := ether(EtherTypeIPv4, ipv4(ProtoTCP, srcA, dstB, nil, tcpSeg(1, 2, 3, 4, ACK, nil, nil)))
		d = append(d, 0, 0, 0, 0, 0, 0) // pad to 60 bytes
		Decode(LinkEthernet, d, uint32(len(d)), &r)
		if r.PayloadLen != 0 || r.PayloadCap != 0 || r.End != 14+40 {
			t.Errorf("padding counted: len %d cap %d end %d", r.PayloadLen, r.PayloadCap, r.End)
		}
	})
	t.Run("bad length", func(t *testing.T) {
		var r Record
		d := ipv4(ProtoTCP, srcA, dstB, nil, seg)
		binary.BigEndian.PutUint16(d[2:], 10)
		Decode(LinkRaw, d, uint32(len(d)), &r)
		if !r.IPBadLen || r.HasTCP {
			t.Errorf("IPBadLen=%v HasTCP=%v", r.IPBadLen, r.HasTCP)
		}
	})
	t.Run("wire length kept", func(t *testing.T) {
		// An IP length past the frame's end: L4Len is the header's claim, and
		// WireLen tells where the frame ended (tshark cuts the datagram there).
		var r Record
		d := ipv4(ProtoTCP, srcA, dstB, nil, seg)
		binary.BigEndian.PutUint16(d[2:], uint16(len(d)+8))
		Decode(LinkRaw, d[:30], uint32(len(d)), &r)
		if r.WireLen != len(d) || r.L4Len != len(seg)+8 || r.TransOff != 20 {
			t.Errorf("WireLen %d L4Len %d TransOff %d", r.WireLen, r.L4Len, r.TransOff)
		}
	})
	t.Run("length 0 (TSO) runs to the frame's end", func(t *testing.T) {
		var r Record
		d := ipv4(ProtoTCP, srcA, dstB, nil, seg)
		binary.BigEndian.PutUint16(d[2:], 0)
		Decode(LinkRaw, d, uint32(len(d)), &r)
		if !r.IPBadLen || !r.HasTCP || r.PayloadLen != 6 {
			t.Errorf("IPBadLen=%v HasTCP=%v payload %d", r.IPBadLen, r.HasTCP, r.PayloadLen)
		}
	})
}

func TestDecodeIPv6ExtensionHeaders(t *testing.T) {
	seg := tcpSeg(5, 6, 7, 8, ACK|PSH, nil, []byte("xy"))
	hbh := []byte{60, 0, 1, 4, 0, 0, 0, 0}         // next: destination options
	dst := []byte{44, 0, 1, 4, 0, 0, 0, 0}         // next: fragment
	frag := []byte{ProtoTCP, 0, 0, 1, 0, 0, 0, 42} // offset 0, more fragments
	var r Record
	d := ipv6(0, append(append(append([]byte{}, hbh...), dst...), frag...), seg)
	Decode(LinkIPv6, d, uint32(len(d)), &r)
	if !r.HasTCP || r.NExt != 3 || r.IPHdrLen != 64 || !r.HasFragHdr || r.FragID != 42 || r.PayloadLen != 2 {
		t.Fatalf("%+v", r)
	}
	later := append([]byte{}, d...)
	later[40+16+2] = 0x01 // fragment offset 32 bytes
	Decode(LinkIPv6, later, uint32(len(later)), &r)
	if r.HasTCP || !r.LaterFragment {
		t.Errorf("later IPv6 fragment decoded as TCP")
	}
}

// TestDecodeTruncation cuts one packet at every length: decoding never panics
// and says where it stopped.
func TestDecodeTruncation(t *testing.T) {
	opts := []byte{2, 4, 0x05, 0xb4, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}
	d := ether(EtherTypeIPv4, ipv4(ProtoTCP, srcA, dstB, nil, tcpSeg(1, 2, 3, 4, ACK, opts, []byte("payload"))))
	want := map[int]Layer{0: LayerLink, 13: LayerLink, 14: LayerNetwork, 33: LayerNetwork, 34: LayerTransport,
		53: LayerTransport, 54: LayerOptions, 69: LayerOptions, 70: LayerPayload, 76: LayerPayload, 77: LayerNone}
	for n := 0; n <= len(d); n++ {
		var r Record
		Decode(LinkEthernet, d[:n], uint32(len(d)), &r)
		if w, ok := want[n]; ok && r.Truncated != w {
			t.Errorf("cut at %d: Truncated=%d, want %d", n, r.Truncated, w)
		}
	}
}

func TestAppendIP(t *testing.T) {
	for _, tc := range []struct {
		ip   [16]byte
		v    uint8
		want string
	}{
		{[16]byte{192, 168, 0, 1}, 4, "192.168.0.1"},
		{[16]byte{15: 1}, 6, "::1"},
		{[16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}, 6, "2001:db8::1"},
		{[16]byte{10: 0xff, 11: 0xff, 12: 1, 13: 2, 14: 3, 15: 4}, 6, "::ffff:1.2.3.4"},
		{[16]byte{12: 1, 13: 2, 14: 3, 15: 4}, 6, "::1.2.3.4"},
		{[16]byte{0x20, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, 6, "2001:0:0:1::1"},
	} {
		if got := string(AppendIP(nil, tc.ip, tc.v)); got != tc.want {
			t.Errorf("AppendIP(%v) = %q, want %q", tc.ip, got, tc.want)
		}
	}
}

func TestSeqTrackerBounded(t *testing.T) {
	tr := SeqTracker{Max: 64}
	var r Record
	r.HasTCP, r.IPVersion, r.Flags = true, 4, ACK
	for i := 0; i < 10000; i++ {
		r.SrcIP = [16]byte{10, byte(i >> 8), byte(i), 1}
		r.DstIP = [16]byte{10, 0, 0, 2}
		r.Seq, r.Ack = uint32(i), uint32(i)*7
		tr.Relative(&r)
		if len(tr.m) > 64 {
			t.Fatalf("tracker holds %d connections, max 64", len(tr.m))
		}
	}
	// The newest connection is still known: its next packet prints relative.
	r.Seq += 10
	if seq, _, _, _, _ := tr.Relative(&r); seq != 10 {
		t.Errorf("relative seq %d, want 10", seq)
	}
}

func TestDecodeAllocatesNothing(t *testing.T) {
	ps := packets.Load(t)
	var r Record
	allocs := testing.AllocsPerRun(5, func() {
		for i := range ps {
			Decode(ps[i].LinkType, ps[i].Data, ps[i].WireLen, &r)
		}
	})
	if allocs != 0 {
		t.Errorf("Decode allocates %.1f times per corpus pass", allocs)
	}
}

func BenchmarkDecode(b *testing.B) {
	ps := packets.Load(b)
	var r Record
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := &ps[i%len(ps)]
		Decode(p.LinkType, p.Data, p.WireLen, &r)
	}
}

func FuzzDecode(f *testing.F) {
	for i, p := range packets.Load(f) {
		if i%7 == 0 { // a sample keeps seeding fast
			f.Add(p.LinkType, p.Data)
		}
	}
	f.Fuzz(func(t *testing.T, lt uint16, data []byte) {
		var r Record
		Decode(lt, data, uint32(len(data)), &r)
		if r.NetOff > len(data) || r.TransOff > len(data) {
			t.Fatalf("header offsets %d/%d beyond %d bytes", r.NetOff, r.TransOff, len(data))
		}
		for _, off := range []int{r.PayloadOff, r.OptOff} {
			if off < 0 || off > len(data)+60 {
				t.Fatalf("offset %d out of range for %d bytes", off, len(data))
			}
		}
		if r.PayloadCap > 0 && r.PayloadOff+r.PayloadCap > len(data) {
			t.Fatalf("payload %d+%d beyond %d bytes", r.PayloadOff, r.PayloadCap, len(data))
		}
		if r.OptLen > 0 && r.OptOff+r.OptLen > len(data) {
			t.Fatalf("options beyond data")
		}
	})
}

// TestTimestampOptionLayouts: the usual NOP, NOP, timestamps layout (read at
// once) gives what the same option in other places gives (walked), and a
// layout that only looks like it is walked.
func TestTimestampOptionLayouts(t *testing.T) {
	ts := []byte{8, 10, 0x01, 0x02, 0x03, 0x04, 0xa0, 0xb0, 0xc0, 0xd0}
	cat := func(parts ...[]byte) []byte {
		var o []byte
		for _, p := range parts {
			o = append(o, p...)
		}
		return o
	}
	for _, c := range []struct {
		name string
		o    []byte
		has  bool
	}{
		{"nop nop ts", cat([]byte{1, 1}, ts), true},
		{"ts nop nop", cat(ts, []byte{1, 1}), true},
		{"nop ts nop", cat([]byte{1}, ts, []byte{1}), true},
		{"nop nop ts of length 9", cat([]byte{1, 1, 8, 9}, ts[2:]), false},
		{"nop nop mss", []byte{1, 1, 2, 4, 0x05, 0xb4, 1, 1, 1, 1, 1, 0}, false},
	} {
		var rec Record
		parseTCPOptions(c.o, &rec)
		if rec.HasTS != c.has || (c.has && (rec.TSVal != 0x01020304 || rec.TSEcr != 0xa0b0c0d0)) {
			t.Errorf("%s: HasTS %v TSVal %#x TSEcr %#x", c.name, rec.HasTS, rec.TSVal, rec.TSEcr)
		}
	}
}
