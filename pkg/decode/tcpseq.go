package decode

// SeqTracker reproduces tcpdump's relative sequence numbers: for each connection
// it remembers the sequence and acknowledgment numbers of the first packet with
// the ACK flag (or of the latest SYN with ACK) and prints the others relative to
// them. tcpdump keeps every connection forever; SeqTracker keeps at most Max, and
// when full forgets the connections not seen for the longest half of that time,
// so memory stays bounded on captures of millions of connections.
type SeqTracker struct {
	Max   int // most connections remembered; 0 means DefaultSeqTrackerMax
	m     map[seqKey]*seqEntry
	clock uint64
	free  []*seqEntry
}

// DefaultSeqTrackerMax is the default bound on remembered connections. An entry
// takes under 100 bytes with its map slot, so 262,144 of them stay under 32 MB.
const DefaultSeqTrackerMax = 1 << 18

type seqKey struct {
	src, dst [16]byte
	ports    uint32
	v6       bool
}

type seqEntry struct {
	seq, ack uint32
	seen     uint64
}

// Relative returns the sequence and acknowledgment numbers tcpdump prints for the
// TCP packet in rec (rec.HasTCP), and the bases it subtracts from SACK edges
// (thseq, thack) plus whether the connection key was reversed. It must be called
// once per packet, in capture order. Packets without ACK print absolute numbers.
func (t *SeqTracker) Relative(rec *Record) (seq, ack, thseq, thack uint32, rev bool) {
	seq, ack = rec.Seq, rec.Ack
	if rec.Flags&ACK == 0 {
		return seq, ack, 0, 0, false
	}
	if t.m == nil {
		if t.Max <= 0 {
			t.Max = DefaultSeqTrackerMax
		}
		t.m = make(map[seqKey]*seqEntry, 1024)
	}
	t.clock++
	var k seqKey
	n := 4
	if rec.IPVersion == 6 {
		n = 16
		k.v6 = true
	}
	sport, dport := rec.SrcPort, rec.DstPort
	c := compareBytes(rec.SrcIP[:n], rec.DstIP[:n])
	if c > 0 || (c == 0 && sport > dport) {
		rev = true
		k.src, k.dst = rec.DstIP, rec.SrcIP
		k.ports = uint32(dport)<<16 | uint32(sport)
	} else {
		k.src, k.dst = rec.SrcIP, rec.DstIP
		k.ports = uint32(sport)<<16 | uint32(dport)
	}
	e := t.m[k]
	if e == nil || rec.Flags&SYN != 0 {
		if e == nil {
			if len(t.m) >= t.Max {
				t.evict()
			}
			e = t.newEntry()
			t.m[k] = e
		}
		if rev {
			e.ack, e.seq = seq, ack-1
		} else {
			e.seq, e.ack = seq, ack-1
		}
	} else if rev {
		seq -= e.ack
		ack -= e.seq
	} else {
		seq -= e.seq
		ack -= e.ack
	}
	e.seen = t.clock
	return seq, ack, e.seq, e.ack, rev
}

func (t *SeqTracker) newEntry() *seqEntry {
	if n := len(t.free); n > 0 {
		e := t.free[n-1]
		t.free = t.free[:n-1]
		return e
	}
	return new(seqEntry)
}

// evict forgets the connections idle for the older half of the time window.
func (t *SeqTracker) evict() {
	var oldest uint64 = t.clock
	for _, e := range t.m {
		oldest = min(oldest, e.seen)
	}
	cut := oldest + (t.clock-oldest)/2
	for k, e := range t.m {
		if e.seen <= cut {
			delete(t.m, k)
			t.free = append(t.free, e)
		}
	}
}

func compareBytes(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}
