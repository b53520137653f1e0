package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcaptk/pcaptk/internal/testcorpus"
	"github.com/pcaptk/pcaptk/pkg/stats"
)

// capinfosFields parses "Label: value" lines (the first of each label; a repeated
// "Packet size limit" gets the suffix " 2").
func capinfosFields(text string) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, " ") {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if _, dup := m[k]; dup {
			k += " 2"
		}
		m[k] = v
	}
	return m
}

// infoDiffers lists corpus files whose capinfos report pcaptk cannot match, and why.
var infoDiffers = map[string]string{
	// nanosecond or microsecond fields out of range: capinfos prints the raw field
	// ("10.1000000"), pcaptk's reader carries it into the seconds
	"timestamp_invalid_micro.pcap": "invalid timestamp fields",
	"timestamp_invalid_nano.pcap":  "invalid timestamp fields",
	// timestamps in the year 586524: beyond int64 nanoseconds
	"pcpp-pcapng-example.pcapng": "timestamps beyond 2262",
}

// TestInfoMatchesCapinfos compares every field capinfos -M prints for each corpus
// capture (the stored reference outputs) with pcaptk info's.
func TestInfoMatchesCapinfos(t *testing.T) {
	fields := []string{"File type", "File encapsulation", "File timestamp precision", "Packet size limit",
		"Packet size limit 2", "Number of packets", "File size", "Data size", "Capture duration",
		"First packet time", "Last packet time", "Data byte rate", "Data bit rate", "Average packet size",
		"Average packet rate", "SHA256", "Strict time order", "Number of interfaces in file"}
	checked := 0
	for _, in := range corpusCaptures(t) {
		base := filepath.Base(in)
		ref, err := os.ReadFile(testcorpus.Expected(t, base+".capinfos.txt"))
		if err != nil {
			t.Fatal(err)
		}
		if why, ok := infoDiffers[base]; ok {
			t.Logf("%s: not compared (%s)", base, why)
			continue
		}
		code, out, stderr := pcaptkRun(t, nil, "info", in)
		if code != 0 {
			t.Errorf("%s: exit %d: %s", base, code, stderr)
			continue
		}
		want, got := capinfosFields(string(ref)), capinfosFields(out)
		if got["File name"] != in {
			t.Errorf("%s: file name %q", base, got["File name"])
		}
		for _, f := range fields {
			if got[f] != want[f] {
				t.Errorf("%s: %s = %q, capinfos says %q", base, f, got[f], want[f])
			}
		}
		checked++
	}
	if checked < 60 {
		t.Errorf("only %d files compared", checked)
	}
}

// TestInfoTCP compares the TCP packet and connection counts with tshark's (-Y tcp
// packets, distinct endpoint pairs) on captures where tshark finds no TCP inside
// other protocols.
func TestInfoTCP(t *testing.T) {
	needRefTools(t, "tshark")
	for _, base := range []string{"dns_tcp.pcap", "pcpp-four_ipv6_http_streams.pcap", "filesamples-simple_http_sll2.pcap",
		"pcpp-many-protocols.pcap", "gopacket-test_vlan.pcap", "pcpp-null_loopback.pcap"} {
		in := testcorpus.Pcap(t, base)
		out, err := exec.Command("tshark", "-n", "-r", in, "-Y", "tcp", "-T", "fields", "-E", "separator=,",
			"-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport").Output()
		if err != nil {
			t.Fatalf("tshark %s: %v", base, err)
		}
		pkts := 0
		pairs := map[string]bool{}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Split(line, ",")
			if len(f) != 6 {
				t.Fatalf("%s: tshark line %q", base, line)
			}
			a, b := f[0]+f[1]+":"+f[2], f[3]+f[4]+":"+f[5]
			if a > b {
				a, b = b, a
			}
			pairs[a+" "+b] = true
			pkts++
		}
		conns := len(pairs)
		code, js, stderr := pcaptkRun(t, nil, "info", "--json", in)
		if code != 0 {
			t.Fatalf("%s: %s", base, stderr)
		}
		var fi stats.Summary
		if err := json.Unmarshal([]byte(js), &fi); err != nil {
			t.Fatalf("%s: --json output %q: %v", base, js, err)
		}
		if int(fi.TCPPackets) != pkts || int(fi.TCPConnections) != conns {
			t.Errorf("%s: %d TCP packets, %d connections; tshark: %d, %d", base, fi.TCPPackets, fi.TCPConnections, pkts, conns)
		}
		if pkts == 0 {
			t.Errorf("%s: no TCP: the case proves nothing", base)
		}
	}
}

func TestInfoJSONAndErrors(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(corpusPcapDir(t), "dns_tcp.pcap")
	b := filepath.Join(corpusPcapDir(t), "pcpp-many_interfaces-1.pcapng")
	code, out, stderr := pcaptkRun(t, nil, "info", "--json", a, b)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d JSON lines, want 2", len(lines))
	}
	var objs []map[string]any
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, m)
	}
	if objs[0]["packets"] != 11.0 || objs[1]["packets"] != 64.0 || objs[1]["encapsulation"] != "per-packet" {
		t.Errorf("JSON: %v / %v %v", objs[0]["packets"], objs[1]["packets"], objs[1]["encapsulation"])
	}
	if n := len(objs[1]["interfaces"].([]any)); n != 11 {
		t.Errorf("%d interfaces, want 11", n)
	}

	// standard input: same counts and hash as the file
	data, _ := os.ReadFile(a)
	code, out, _ = pcaptkRun(t, strings.NewReader(string(data)), "info", "-")
	fileOut := capinfosFields(infoText(t, a))
	got := capinfosFields(out)
	if code != 0 || got["SHA256"] != fileOut["SHA256"] || got["Number of packets"] != "11" {
		t.Errorf("stdin: exit %d, %v", code, got)
	}

	// a cut file: summary of what was read, error naming the file and packet, exit 1;
	// a non-capture among others: reported, the others still summarised
	cut := filepath.Join(dir, "cut.pcap")
	st, _ := os.Stat(a)
	truncateCopy(t, a, cut, st.Size()-10)
	code, out, stderr = pcaptkRun(t, nil, "info", cut, "/etc/hostname", a)
	if code != 1 || !strings.Contains(stderr, cut+": packet 11") || !strings.Contains(stderr, "/etc/hostname") {
		t.Errorf("bad inputs: exit %d, stderr %q", code, stderr)
	}
	if n := strings.Count(out, "Number of packets:   10\n"); n != 1 || !strings.Contains(out, "Number of packets:   11\n") {
		t.Errorf("bad inputs: summaries %q", out)
	}
	if code, _, _ := pcaptkRun(t, nil, "info"); code != 2 {
		t.Errorf("no file: exit %d, want 2", code)
	}
}

func infoText(t *testing.T, path string) string {
	t.Helper()
	code, out, stderr := pcaptkRun(t, nil, "info", path)
	if code != 0 {
		t.Fatalf("info %s: %s", path, stderr)
	}
	return out
}

// BenchmarkInfo measures info on a corpus capture (bytes = input size).
func BenchmarkInfo(b *testing.B) {
	in := testcorpus.Pcap(b, "pcpp-many-protocols.pcap")
	st, err := os.Stat(in)
	if err != nil {
		b.Fatal(err)
	}
	s := &streams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}
	b.SetBytes(st.Size())
	for b.Loop() {
		if err := runInfo(&infoOptions{Files: []string{in}}, s); err != nil {
			b.Fatal(err)
		}
	}
}
