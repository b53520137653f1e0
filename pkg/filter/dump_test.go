package filter

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/pcaptk/pcaptk/internal/testcorpus"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// TestDumpMatchesTcpdump compares -d, -dd and -ddd (with and without -O) with
// the installed tcpdump's, byte for byte, on captures of several link types.
func TestDumpMatchesTcpdump(t *testing.T) {
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("tcpdump not installed")
	}
	exprs := []string{"", "tcp", "tcp port 22 or udp", "vlan and tcp", "ip6 and tcp[tcpflags] & tcp-syn != 0", "inbound", "ip broadcast"}
	captures := []string{"ssh.pcap", "filesamples-simple_http_sll2.pcap", "pcpp-SllPacket.pcap", "pcpp-raw_ip.pcap",
		"pcpp-null_loopback.pcap", "pcpp-linktype_ipv6.pcap", "pcpp-CiscoHDLC.pcap", "pcpp-many_interfaces-1.pcapng"}
	n := 0
	for _, name := range captures {
		path := testcorpus.Pcap(t, name)
		r, err := reader.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		ifc := r.Interfaces()[0]
		r.Close()
		for _, expr := range exprs {
			for _, opt := range []string{"", "-O"} {
				for level := 1; level <= 3; level++ {
					args := []string{"-" + strings.Repeat("d", level), "-r", path}
					if opt != "" {
						args = append(args, opt)
					}
					if expr != "" {
						args = append(args, expr)
					}
					want, werr := exec.Command(tcpdump, args...).Output()
					prog, err := Program(expr, Target{LinkType: ifc.LinkType, DLT: -1, Snaplen: ifc.Snaplen, NoOptimize: opt != ""})
					if werr != nil {
						if err == nil {
							t.Errorf("tcpdump %v failed but pcaptk compiled it", args)
						}
						continue
					}
					if err != nil {
						t.Errorf("tcpdump %v: %v", args, err)
						continue
					}
					if got := string(AppendDump(nil, prog, level)); got != string(want) {
						t.Errorf("tcpdump %v:\n got %q\nwant %q", args, got, want)
					}
					n++
				}
			}
		}
	}
	// Without an input tcpdump compiles for -y's DLT (Ethernet by default).
	for _, y := range []string{"EN10MB", "LINUX_SLL2", "RAW", "NULL"} {
		dlt, ok := DLTByName(y)
		if !ok {
			t.Fatalf("libpcap does not know %s", y)
		}
		for _, s := range []int{0, 96} {
			args := []string{"-dd", "-y", y, "tcp port 80"}
			if s != 0 {
				args = append(args, "-s", strconv.Itoa(s))
			}
			cmd := exec.Command(tcpdump, args...)
			cmd.Stderr = os.Stderr
			want, err := cmd.Output()
			if err != nil {
				t.Fatalf("tcpdump %v: %v", args, err)
			}
			prog, err := Program("tcp port 80", Target{DLT: dlt, Snaplen: uint32(s)})
			if err != nil {
				t.Fatal(err)
			}
			if got := string(AppendDump(nil, prog, 2)); got != string(want) {
				t.Errorf("tcpdump %v:\n got %q\nwant %q", args, got, want)
			}
			n++
		}
	}
	t.Logf("%d dumps identical to tcpdump's", n)
}
