package decode

import (
	"encoding/csv"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pcaptk/pcaptk/internal/testcorpus"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// The references in testdata/conntrack are tshark's own per-connection fields for
// every corpus capture; -update-conntrack regenerates them with the installed tshark.
var updateConntrack = flag.Bool("update-conntrack", false, "regenerate testdata/conntrack with tshark")

var tsharkConnFields = []string{"frame.number", "tcp.stream", "tcp.flags", "tcp.seq_raw", "tcp.seq",
	"tcp.ack", "tcp.window_size", "tcp.window_size_scalefactor"}

func corpusFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, f := range testcorpus.Captures(t) {
		out = append(out, filepath.Base(f))
	}
	return out
}

// corpusRecords reads a capture with pkg/reader and decodes every packet, keyed by
// frame number.
func corpusRecords(path string) (map[int]*Record, map[int]int64, error) {
	r, err := reader.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	recs, ts := map[int]*Record{}, map[int]int64{}
	for {
		p, err := r.Next()
		if err != nil {
			break // the corpus's cut files end here; earlier frames are kept
		}
		rec := new(Record)
		Decode(p.LinkType, p.Data, p.WireLen, rec)
		recs[int(p.Number)], ts[int(p.Number)] = rec, p.Timestamp
	}
	return recs, ts, nil
}

func regenerateConntrack(t *testing.T, name, out string) {
	args := []string{"-r", testcorpus.Pcap(t, name), "-Y", "tcp", "-T", "fields", "-E", "header=y", "-E", "separator=,", "-E", "quote=d"}
	for _, f := range tsharkConnFields {
		args = append(args, "-e", f)
	}
	cmd := exec.Command("tshark", args...)
	cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C")
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", name, err)
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestConnTrackCorpus checks stream numbers, relative numbers and scaled windows
// against tshark on every corpus capture.
func TestConnTrackCorpus(t *testing.T) {
	files := corpusFiles(t)
	if *updateConntrack {
		os.MkdirAll("testdata/conntrack", 0o755)
	}
	total := 0
	for _, name := range files {
		ref := filepath.Join("testdata/conntrack", name+".tshark.csv")
		if *updateConntrack {
			regenerateConntrack(t, name, ref)
		}
		t.Run(name, func(t *testing.T) {
			rf, err := os.Open(ref)
			if err != nil {
				t.Fatalf("reference missing (run with -update-conntrack): %v", err)
			}
			defer rf.Close()
			rows, err := csv.NewReader(rf).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			recs, ts, err := corpusRecords(testcorpus.Pcap(t, name))
			if err != nil {
				t.Fatal(err)
			}
			tr := NewConnTracker(DefaultConnOptions)
			got := map[int]Conn{}
			for n := 1; n <= len(recs); n++ {
				rec, ok := recs[n]
				if !ok {
					continue
				}
				if c, ok := tr.Track(rec, ts[n]); ok {
					got[n] = c
				}
			}
			for _, r := range rows[1:] {
				// tshark -Y tcp also matches TCP headers quoted inside other packets
				// (ICMP errors, sFlow, OpenFlow): those rows hold several values; skip them.
				if strings.Contains(strings.Join(r, ""), ",") {
					continue
				}
				n, _ := strconv.Atoi(r[0])
				if r[1] == "" {
					continue // tshark found no TCP header to number either
				}
				c, ok := got[n]
				if !ok && recs[n] != nil && recs[n].IPVersion == 4 && recs[n].IPLen == 0 {
					// IPv4 total length 0 (TSO, BIG TCP): the decoder follows tcpdump
					// ("bad-len 0") and stops at IP; tshark decodes the TCP header.
					continue
				}
				if !ok {
					t.Errorf("frame %d: tshark decodes TCP, the tracker got no complete TCP header", n)
					continue
				}
				total++
				want := fmt.Sprintf("stream=%s seq=%s ack=%s", r[1], r[4], r[5])
				// Where the tracker learns nothing (impossible header length), tshark
				// prints the raw numbers; the tracker's columns are null.
				have := fmt.Sprintf("stream=%d seq=%s ack=%s", c.Stream, optU32(c.SeqRel, c.HasSeqRel, r[3]), optU32(c.AckRel, c.HasAckRel, r[5]))
				if want != have {
					t.Errorf("frame %d (flags %s): tshark %s, tracker %s", n, r[2], want, have)
				}
				// tshark prints the raw window when it does not know the scale (factor
				// -1); the tracker says null then.
				if r[7] != "-1" {
					w := "null"
					if c.HasWindow {
						w = strconv.Itoa(int(c.WindowScaled))
					}
					if w != r[6] {
						t.Errorf("frame %d (flags %s): tshark window %s (factor %s), tracker %s", n, r[2], r[6], r[7], w)
					}
				} else if c.HasWindow && r[2] != "0x0002" && !strings.HasPrefix(r[2], "0x001") {
					t.Errorf("frame %d: tshark scale unknown, tracker %d", n, c.WindowScaled)
				}
			}
		})
	}
	t.Logf("%d packets compared", total)
}

// optU32 prints v, or tshark's value when the tracker leaves it null (ACK flag
// clear: tshark then prints the raw field, which is not a relative number).
func optU32(v uint32, ok bool, tshark string) string {
	if !ok {
		return tshark
	}
	return strconv.FormatUint(uint64(v), 10)
}

func tcpRec(src, dst byte, sp, dp uint16, flags uint16, seq, ack uint32) *Record {
	r := &Record{HasTCP: true, IPVersion: 4, DataOff: 20, L4Len: 20, SrcPort: sp, DstPort: dp, Flags: flags, Seq: seq, Ack: ack, Window: 100}
	r.SrcIP[0], r.DstIP[0] = src, dst
	return r
}

func TestConnTrackReuseAndExpiry(t *testing.T) {
	tr := NewConnTracker(ConnOptions{MaxConns: 2, IdleTimeout: 10e9, ClosedTimeout: 1e9})
	step := func(r *Record, ts int64) Conn {
		c, ok := tr.Track(r, ts)
		if !ok {
			t.Fatal("not tracked")
		}
		return c
	}
	if c := step(tcpRec(1, 2, 1000, 80, SYN, 500, 0), 0); c.Stream != 0 || c.SeqRel != 0 || c.HasAckRel {
		t.Fatalf("syn: %+v", c)
	}
	if c := step(tcpRec(2, 1, 80, 1000, SYN|ACK, 9000, 501), 1); c.Stream != 0 || c.AckRel != 1 {
		t.Fatalf("syn-ack: %+v", c)
	}
	// A retransmitted SYN keeps the stream; a SYN with a new ISN starts a new one.
	if c := step(tcpRec(1, 2, 1000, 80, SYN, 500, 0), 2); c.Stream != 0 {
		t.Fatalf("retransmitted syn: %+v", c)
	}
	if c := step(tcpRec(1, 2, 1000, 80, SYN, 7000, 0), 3); c.Stream != 1 || c.SeqRel != 0 {
		t.Fatalf("port reuse: %+v", c)
	}
	// RST closes; within ClosedTimeout a straggler keeps the stream, after it a new one.
	step(tcpRec(2, 1, 80, 1000, RST|ACK, 1, 7001), 4)
	if c := step(tcpRec(1, 2, 1000, 80, ACK, 7001, 1), 4+5e8); c.Stream != 1 {
		t.Fatalf("straggler: %+v", c)
	}
	if c := step(tcpRec(1, 2, 1000, 80, ACK, 7001, 1), 4+3e9); c.Stream != 2 {
		t.Fatalf("after close timeout: %+v", c)
	}
	// The table holds two connections: a third evicts the least recently seen.
	step(tcpRec(3, 2, 1, 2, ACK, 1, 1), 5e9)
	step(tcpRec(4, 2, 1, 2, ACK, 1, 1), 6e9)
	if s := tr.Stats(); s.Active != 2 || s.Evicted != 1 || s.Streams != 5 {
		t.Fatalf("stats %+v", s)
	}
	// Idle connections go after IdleTimeout.
	step(tcpRec(5, 2, 1, 2, ACK, 1, 1), 30e9)
	if s := tr.Stats(); s.Active != 1 || s.Expired < 2 {
		t.Fatalf("stats after idle %+v", s)
	}
}

func TestConnTrackNoAllocs(t *testing.T) {
	tr := NewConnTracker(DefaultConnOptions)
	recs := make([]*Record, 64)
	for i := range recs {
		recs[i] = tcpRec(byte(i), 200, uint16(i), 80, ACK|PSH, uint32(i)*1000, 5)
	}
	var ts int64
	for _, r := range recs {
		tr.Track(r, ts)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		for _, r := range recs {
			ts += 1000
			tr.Track(r, ts)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per 64 packets", allocs)
	}
}

func BenchmarkConnTrack(b *testing.B) {
	tr := NewConnTracker(DefaultConnOptions)
	recs := make([]*Record, 4096)
	for i := range recs {
		recs[i] = tcpRec(byte(i), byte(i>>8), uint16(i), 80, ACK, uint32(i), 5)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		tr.Track(recs[i&4095], int64(i))
	}
}

// TestConnIndexAgainstMap: random adds and removes (growth, long probe runs and
// backward shifts included) find exactly what a Go map holds.
func TestConnIndexAgainstMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := newConnIndex()
	x.seed = 1 // fixed, so that a failure repeats
	var conns []conn
	ref := map[connKey]int32{}
	var live []int32
	for step := range 200000 {
		if len(live) > 0 && (rng.IntN(3) == 0 || len(live) > 5000) {
			j := rng.IntN(len(live))
			c := live[j]
			live[j] = live[len(live)-1]
			live = live[:len(live)-1]
			x.remove(&conns[c].key, c)
			delete(ref, conns[c].key)
		} else {
			k := connKey{a0: uint64(rng.IntN(64)), b0: uint64(rng.IntN(64)), pv: uint64(rng.IntN(1 << 16))}
			if _, ok := ref[k]; ok {
				continue
			}
			conns = append(conns, conn{key: k})
			c := int32(len(conns) - 1)
			x.add(x.hash(&k), c)
			ref[k] = c
			live = append(live, c)
		}
		if x.n != len(ref) {
			t.Fatalf("step %d: %d entries, want %d", step, x.n, len(ref))
		}
		if step%997 == 0 {
			for k, c := range ref {
				if got, ok := x.find(&k, x.hash(&k), conns); !ok || got != c {
					t.Fatalf("step %d: key %+v: %d %v, want %d", step, k, got, ok, c)
				}
			}
			for range 100 {
				k := connKey{a0: 99, pv: uint64(rng.IntN(1 << 16))}
				if _, ok := x.find(&k, x.hash(&k), conns); ok {
					t.Fatalf("step %d: found absent key %+v", step, k)
				}
			}
		}
	}
}

// The hooks pkg/analysis builds on: slots, directions, new and reused streams,
// and a forget call for every connection with its reason.
func TestConnTrackSlotsAndForget(t *testing.T) {
	tr := NewConnTracker(ConnOptions{MaxConns: 2, IdleTimeout: 10e9, ClosedTimeout: 1e9})
	type forgotten struct {
		slot   int32
		stream uint64
		why    ForgetReason
	}
	var got []forgotten
	tr.OnForget(func(slot int32, stream uint64, why ForgetReason) {
		got = append(got, forgotten{slot, stream, why})
	})
	step := func(r *Record, ts int64) Conn {
		c, ok := tr.Track(r, ts)
		if !ok {
			t.Fatal("not tracked")
		}
		return c
	}
	// The server (2) has the lower key but is not the first sender: Dir follows
	// the stream's first packet, not the key order.
	c0 := step(tcpRec(9, 2, 1000, 80, SYN, 500, 0), 0)
	if !c0.New || c0.Dir != 0 || c0.Reused {
		t.Fatalf("syn: %+v", c0)
	}
	if c := step(tcpRec(2, 9, 80, 1000, SYN|ACK, 9000, 501), 1); c.New || c.Dir != 1 || c.Slot != c0.Slot {
		t.Fatalf("syn-ack: %+v", c)
	}
	if c := step(tcpRec(9, 2, 1000, 80, SYN, 7000, 0), 2); !c.New || !c.Reused || c.Stream != 1 || c.Dir != 0 {
		t.Fatalf("reused: %+v", c)
	}
	step(tcpRec(3, 2, 1, 2, ACK, 1, 1), 3)
	step(tcpRec(4, 2, 1, 2, ACK, 1, 1), 4) // evicts stream 1
	step(tcpRec(4, 2, 1, 2, RST, 1, 1), 5)
	step(tcpRec(5, 2, 1, 2, ACK, 1, 1), 5+2e9) // stream 3 closed long ago: forgotten; stream 2 stays
	tr.Close()
	want := []forgotten{
		{c0.Slot, 0, ForgetReused},
		{c0.Slot, 1, ForgetEvicted},
		{got[2].slot, 3, ForgetClosed},
		{got[3].slot, 2, ForgetEnd},
		{got[4].slot, 4, ForgetEnd},
	}
	if len(got) != len(want) {
		t.Fatalf("forgotten %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("forgotten %+v, want %+v", got, want)
		}
	}
	if s := tr.Stats(); s.Active != 0 {
		t.Fatalf("after Close: %+v", s)
	}
}

// TestConnTrackQuiet: a tracker that skips looking for timed-out connections
// until quiet (expire) forgets the same connections, in the same order, with
// the same columns and counters as one made to look on every packet, over
// random traffic on a few ports: small tables that evict, MinIdlePackets,
// timeouts near the largest time, times near both ends of int64 and going
// backwards, SYNs that reuse ports, FINs, RSTs and Close midway.
func TestConnTrackQuiet(t *testing.T) {
	type forgot struct {
		slot   int32
		stream uint64
		why    ForgetReason
	}
	for run := range 3000 {
		r := rand.New(rand.NewPCG(uint64(run), 7))
		o := ConnOptions{MaxConns: 1 + r.IntN(8), IdleTimeout: 1 + r.Int64N(100),
			ClosedTimeout: 1 + r.Int64N(50), MinIdlePackets: uint64(r.IntN(4))}
		if r.IntN(10) == 0 {
			o.IdleTimeout = math.MaxInt64 - r.Int64N(100)
		}
		if r.IntN(10) == 0 {
			o.ClosedTimeout = math.MaxInt64 - r.Int64N(100)
		}
		skip, look := NewConnTracker(o), NewConnTracker(o)
		var fs, fl []forgot
		skip.OnForget(func(s int32, st uint64, w ForgetReason) { fs = append(fs, forgot{s, st, w}) })
		look.OnForget(func(s int32, st uint64, w ForgetReason) { fl = append(fl, forgot{s, st, w}) })
		ts := int64(r.IntN(1000)) - 500
		if r.IntN(5) == 0 {
			ts = math.MinInt64 + int64(r.IntN(100))
		}
		for i := range 400 {
			switch k := r.IntN(20); {
			case k < 12:
				ts += int64(r.IntN(20))
			case k < 15:
				ts -= int64(r.IntN(60))
			case k < 16:
				ts += int64(r.IntN(300))
			case k < 17 && ts > 0:
				ts = math.MaxInt64 - int64(r.IntN(50))
			}
			if r.IntN(200) == 0 {
				skip.Close()
				look.Close()
			}
			flags := []uint16{ACK, ACK, ACK, SYN, SYN | ACK, FIN | ACK, RST}[r.IntN(7)]
			rec := tcpRec(byte(r.IntN(4)), byte(r.IntN(3)), uint16(r.IntN(3)), 80, flags, uint32(r.IntN(3)), 1)
			look.quiet = math.MinInt64 // look every packet
			cs, oks := skip.Track(rec, ts)
			cl, okl := look.Track(rec, ts)
			if cs != cl || oks != okl || !slices.Equal(fs, fl) || skip.Stats() != look.Stats() {
				t.Fatalf("run %d, packet %d: %+v %v, forgot %v, %+v; looking every packet: %+v %v, forgot %v, %+v",
					run, i, cs, oks, fs, skip.Stats(), cl, okl, fl, look.Stats())
			}
		}
	}
}
