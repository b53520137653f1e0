//go:build linux

package capture

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/afpacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/pcaptk/pcaptk/internal/testcap"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// The ring against real loopback datagrams: every datagram once (loopback's sent
// copies dropped, as libpcap does, but counted by the kernel), in order, with the
// kernel's counts; -i any gives LINUX_SLL2 packets whose header says lo and "in".
func TestRingLoopback(t *testing.T) {
	needRoot(t)
	const n = 300
	for _, dev := range []string{"lo", "any"} {
		t.Run(dev, func(t *testing.T) {
			port := udpSink(t)
			r, err := OpenRing(dev, LiveOptions{Filter: fmt.Sprintf("udp dst port %d", port), BufferSize: 4 << 20})
			if err != nil {
				t.Fatal(err)
			}
			c := StartQueue([]Source{r}, QueueOptions{})
			ifc := c.Interfaces()[0]
			wantLink := uint16(linkTypeEthernet)
			if dev == "any" {
				wantLink = linkTypeSLL2
			}
			if ifc.LinkType != wantLink || ifc.Snaplen != DefaultSnaplen || ifc.TSResol != 1e9 {
				t.Errorf("interface %+v", ifc)
			}
			before := time.Now().UnixNano()
			udpBurst(t, port, n)
			for i := 0; i < n; i++ {
				p, err := c.Next()
				if err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
				want := []byte(fmt.Sprintf("pcaptk-live-%d-%06d", port, i))
				if !bytes.HasSuffix(p.Data, want) || p.CapLen != uint32(len(p.Data)) || p.WireLen != p.CapLen ||
					p.Timestamp < before || p.Timestamp > time.Now().UnixNano() {
					t.Fatalf("packet %d: %+v", i, p)
				}
				if dev == "any" && (p.Data[10] != 0 /* PACKET_HOST */ || p.Data[0] != 0x08 || p.Data[1] != 0 ||
					p.Data[8] != 0x03 || p.Data[9] != 0x04 /* ARPHRD_LOOPBACK */) {
					t.Fatalf("cooked header % x", p.Data[:20])
				}
			}
			st := c.Wait()
			if _, err := c.Next(); err != io.EOF {
				t.Errorf("after Wait: %v", err)
			}
			if st[0].Queued != n || st[0].QueueDrops != 0 || st[0].Received != 2*n || st[0].Dropped != 0 {
				t.Errorf("stats %+v", st[0])
			}
		})
	}
}

// -Q out on a veth keeps only what this host sends, -Q in only what it receives;
// the kernel counts both either way.
func TestRingDirectionLive(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("no ip command")
	}
	ns, a, b := "pcRing", "pcr0", "pcr1"
	sh := func(args ...string) error { return exec.Command("ip", args...).Run() }
	sh("netns", "del", ns)
	sh("link", "del", a)
	t.Cleanup(func() { sh("link", "del", a); sh("netns", "del", ns) })
	for _, cmd := range [][]string{{"netns", "add", ns}, {"link", "add", a, "type", "veth", "peer", "name", b},
		{"link", "set", b, "netns", ns}, {"addr", "add", "10.97.0.1/24", "dev", a}, {"link", "set", a, "up"},
		{"-n", ns, "addr", "add", "10.97.0.2/24", "dev", b}, {"-n", ns, "link", "set", b, "up"}} {
		if err := sh(cmd...); err != nil {
			t.Skipf("cannot build the test network: ip %v: %v", cmd, err)
		}
	}
	// Datagrams to a closed port in the namespace go out; its ICMP port
	// unreachable answers come in.
	for _, dir := range []string{"out", "in"} {
		r, err := OpenRing(a, LiveOptions{Filter: "udp or icmp", Direction: dir})
		if err != nil {
			t.Fatal(err)
		}
		q := StartQueue([]Source{r}, QueueOptions{})
		u, err := net.ListenPacket("udp", "10.97.0.1:0") // unconnected: an ICMP error does not stop the next send
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			u.WriteTo([]byte("pcaptk"), &net.UDPAddr{IP: net.IPv4(10, 97, 0, 2), Port: 9})
			time.Sleep(100 * time.Millisecond)
		}
		u.Close()
		time.Sleep(200 * time.Millisecond)
		q.Stop()
		var protos []byte
		for {
			p, err := q.Next()
			if err != nil {
				break
			}
			protos = append(protos, p.Data[14+9]) // IPv4 protocol: 17 sent, 1 received
		}
		st := q.Wait()
		want := byte(17)
		if dir == "in" {
			want = 1
		}
		if len(protos) == 0 || (dir == "out" && len(protos) != 3) || st[0].Received <= uint64(len(protos)) {
			t.Errorf("-Q %s: protocols %v, kernel received %d", dir, protos, st[0].Received)
		}
		for _, p := range protos {
			if p != want {
				t.Errorf("-Q %s: a packet of protocol %d", dir, p)
			}
		}
	}
}

// OpenSource falls back to libpcap where the ring cannot do the capture as
// libpcap would; --backend afpacket then fails instead.
func TestRingFallback(t *testing.T) {
	needRoot(t)
	s, err := OpenSource("lo", LiveOptions{Filter: "vlan and udp"}, BackendAuto)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*Live); !ok {
		t.Errorf("vlan filter: %T, want libpcap", s)
	}
	s.Close()
	if _, err := OpenSource("lo", LiveOptions{Filter: "vlan"}, BackendAFPacket); !errors.Is(err, errRingUnsupported) {
		t.Errorf("forced afpacket with a vlan filter: %v", err)
	}
	s, err = OpenSource("lo", LiveOptions{}, BackendAuto)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*Ring); !ok {
		t.Errorf("lo: %T, want the ring", s)
	}
	s.Close()
	if _, err := OpenRing("pcaptk-nosuch0", LiveOptions{}); !errors.Is(err, ErrNoInterface) {
		t.Errorf("missing interface: %v", err)
	}
}

// The filter of a cooked socket moves past the LINUX_SLL2 header, and reads of
// its protocol, interface and packet type become the kernel's ancillary loads.
func TestRingCookedFilter(t *testing.T) {
	prog, err := ringFilter(linkTypeSLL2, 262144, "inbound and ip and udp", true)
	if err != nil {
		t.Fatal(err)
	}
	var sawType, sawProto bool
	for _, in := range prog {
		if in.Code&0x07 == 0 && in.Code&0xe0 == 0x20 { // ld abs
			switch in.K {
			case skfAdOff + skfAdPkttype:
				sawType = true
			case skfAdOff + skfAdProtocol:
				sawProto = true
			default:
				if in.K < 9 || in.K >= skfAdOff {
					t.Errorf("load at %#x: not moved past the header", in.K)
				}
			}
		}
	}
	if !sawType || !sawProto {
		t.Errorf("no ancillary loads in %v", prog)
	}
	// A read of the header's address bytes (ldb [12]) cannot run in the kernel.
	if err := fixCooked([]unix.SockFilter{{Code: 0x30, K: 12}}); !errors.Is(err, errRingUnsupported) {
		t.Errorf("a read of the address: %v", err)
	}
	moved := []unix.SockFilter{{Code: 0x28, K: 20 + 9}, {Code: 0x28, K: 4}, {Code: 0x30, K: skfAdOff + 8}}
	if err := fixCooked(moved); err != nil || moved[0].K != 9 || moved[1].K != skfAdOff+skfAdIfindex ||
		moved[2].K != skfAdOff+8 {
		t.Errorf("fixed: %+v, %v", moved, err)
	}
}

// BenchmarkRingRead compares, on the same loopback datagrams already waiting in
// a ring, the user-space cost per packet of reading blocks here against gopacket
// afpacket's ZeroCopyReadPacketData (the kernel's work is the same for both).
// Needs root; ns/pkt is the metric.
func BenchmarkRingRead(b *testing.B) {
	needRoot(b)
	const n = 20000
	b.Run("pcaptk-blocks", func(b *testing.B) {
		var total time.Duration
		for i := 0; i < b.N; i++ {
			port := udpSink(b)
			r, err := OpenRing("lo", LiveOptions{Filter: fmt.Sprintf("udp dst port %d", port), BufferSize: 32 << 20,
				Timeout: 10 * time.Millisecond})
			if err != nil {
				b.Fatal(err)
			}
			r.fmt.loIndex = -1 // keep both copies, as gopacket does
			udpBurst(b, port, n)
			time.Sleep(100 * time.Millisecond)
			var it blockIter
			var p reader.Packet
			got := 0
			t0 := time.Now()
			for got < 2*n {
				k, err := r.wait()
				if err != nil {
					b.Fatalf("after %d packets: %v", got, err)
				}
				it.reset(r.block(k), &r.fmt)
				for it.next(&p) {
					got++
				}
				r.release(k)
			}
			total += time.Since(t0)
			r.Close()
		}
		b.ReportMetric(float64(total.Nanoseconds())/float64(b.N*2*n), "ns/pkt")
	})
	b.Run("gopacket-afpacket", func(b *testing.B) {
		var total time.Duration
		for i := 0; i < b.N; i++ {
			port := udpSink(b)
			tp, err := afpacket.NewTPacket(afpacket.OptInterface("lo"), afpacket.OptFrameSize(1<<18),
				afpacket.OptBlockSize(1<<18), afpacket.OptNumBlocks(128), afpacket.OptBlockTimeout(10*time.Millisecond),
				afpacket.OptPollTimeout(time.Second))
			if err != nil {
				b.Fatal(err)
			}
			ins, err := pcap.CompileBPFFilter(layers.LinkTypeEthernet, 262144, fmt.Sprintf("udp dst port %d", port))
			if err != nil {
				b.Fatal(err)
			}
			raw := make([]bpf.RawInstruction, len(ins))
			for j, in := range ins {
				raw[j] = bpf.RawInstruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
			}
			if err := tp.SetBPF(raw); err != nil {
				b.Fatal(err)
			}
			udpBurst(b, port, n)
			time.Sleep(100 * time.Millisecond)
			got := 0
			t0 := time.Now()
			for got < 2*n {
				data, _, err := tp.ZeroCopyReadPacketData()
				if err != nil {
					b.Fatalf("after %d packets: %v", got, err)
				}
				if len(data) > 0 {
					got++
				}
			}
			total += time.Since(t0)
			tp.Close()
		}
		b.ReportMetric(float64(total.Nanoseconds())/float64(b.N*2*n), "ns/pkt")
	})
}

// -i any on the ring gives the bytes tcpdump -i any (libpcap, LINUX_SLL2) gives for
// the same datagrams: the cooked header built field by field as pcap-linux.c does.
func TestRingAnyEqualsTcpdump(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump is not installed")
	}
	const n = 50
	port := udpSink(t)
	filter := fmt.Sprintf("udp dst port %d", port)
	out := t.TempDir() + "/td.pcap"
	td := exec.Command("tcpdump", "-i", "any", "-B", "8192", "-U", "-w", out, filter)
	var tdErr testcap.SyncBuffer // os/exec writes it while the test reads
	td.Stderr = &tdErr
	if err := td.Start(); err != nil {
		t.Fatal(err)
	}
	defer td.Process.Kill()
	for i := 0; i < 100 && !strings.Contains(tdErr.String(), "listening"); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	r, err := OpenRing("any", LiveOptions{Filter: filter})
	if err != nil {
		t.Fatal(err)
	}
	q := StartQueue([]Source{r}, QueueOptions{})
	udpBurst(t, port, n)
	var ours [][]byte
	for len(ours) < n {
		p, err := q.Next()
		if err != nil {
			t.Fatal(err)
		}
		ours = append(ours, append([]byte(nil), p.Data...))
	}
	q.Stop()
	q.Wait()
	time.Sleep(1500 * time.Millisecond) // tcpdump's block timeout is 1 s; on SIGINT it takes no partial block
	td.Process.Signal(os.Interrupt)
	td.Wait()
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := reader.NewReader(f, out)
	if err != nil {
		t.Fatal(err)
	}
	var theirs [][]byte
	for {
		p, err := rd.Next()
		if err != nil {
			break
		}
		if p.LinkType != linkTypeSLL2 {
			t.Fatalf("tcpdump wrote link type %d", p.LinkType)
		}
		theirs = append(theirs, append([]byte(nil), p.Data...))
	}
	if len(theirs) != n {
		t.Fatalf("tcpdump captured %d packets, want %d\n%s", len(theirs), n, tdErr.String())
	}
	for i := range ours {
		if !bytes.Equal(ours[i], theirs[i]) {
			t.Fatalf("packet %d:\nring    % x\ntcpdump % x", i, ours[i], theirs[i])
		}
	}
}

// The block timeout: tcpdump's second for rings of fewer than 8 blocks (the
// kernel's timer closes a block early each time, which a small ring cannot
// afford), 100 ms for bigger ones, the caller's or --immediate's otherwise.
func TestRingTimeout(t *testing.T) {
	for _, c := range []struct {
		o      LiveOptions
		blocks int
		want   uint32
	}{
		{LiveOptions{}, 1, 1000},
		{LiveOptions{}, 2, 1000},
		{LiveOptions{}, 7, 1000},
		{LiveOptions{}, 8, 100},
		{LiveOptions{}, 128, 100},
		{LiveOptions{Immediate: true}, 2, 1},
		{LiveOptions{Timeout: 20 * time.Millisecond}, 2, 20},
		{LiveOptions{Timeout: time.Microsecond}, 128, 1},
	} {
		if got := ringTimeout(c.o, c.blocks); got != c.want {
			t.Errorf("%+v, %d blocks: %d ms, want %d", c.o, c.blocks, got, c.want)
		}
	}
}
