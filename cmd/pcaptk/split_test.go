package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// splitFiles runs pcaptk split and returns the files it printed, checking they exist.
func splitOutputs(t *testing.T, args ...string) []string {
	t.Helper()
	code, out, stderr := pcaptkRun(t, nil, append([]string{"split"}, args...)...)
	if code != 0 {
		t.Fatalf("split %v: exit %d: %s", args, code, stderr)
	}
	files := strings.Fields(out)
	if !sort.StringsAreSorted(files) && args[len(args)-1] != "3" { // flows: first-packet order
		t.Errorf("%d file names do not sort in creation order", len(files))
	}
	return files
}

// TestSplitMatchesEditcap: --packets N gives editcap -c N's parts and --seconds S
// editcap -i S's, packet for packet.
func TestSplitMatchesEditcap(t *testing.T) {
	needRefTools(t, "editcap")
	dir := t.TempDir()
	cases := []struct {
		in     string
		pcaptk []string
		editc  string
		n      string
	}{
		{"pcpp-many-protocols.pcap", []string{"--packets", "1000"}, "-c", "1000"},
		{"pcpp-http-packets2.pcap", []string{"--packets", "50"}, "-c", "50"},
		{"pcpp-four_ipv6_http_streams.pcap", []string{"--packets", "7"}, "-c", "7"},
		{"nfs-write-verf-cookie.pcapng", []string{"--packets", "1"}, "-c", "1"},
		{"pcpp-http-packets2.pcap", []string{"--seconds", "5"}, "-i", "5"},
		{"pcpp-tcp-reassembly.pcap", []string{"--seconds", "10"}, "-i", "10"},
	}
	for i, c := range cases {
		in := filepath.Join(corpusPcapDir(t), c.in)
		ext := filepath.Ext(c.in)
		sub := filepath.Join(dir, string(rune('a'+i)))
		os.Mkdir(sub, 0o755)
		refTool(t, "editcap", c.editc, c.n, in, filepath.Join(sub, "ref"+ext))
		all, _ := filepath.Glob(filepath.Join(sub, "ref_*"+ext))
		sort.Strings(all)
		var ref []string // editcap -i also writes empty files for empty intervals; pcaptk does not
		for _, f := range all {
			if len(mustCapturePackets(t, f)) > 0 {
				ref = append(ref, f)
			}
		}
		got := splitOutputs(t, append([]string{"-r", in, "-w", filepath.Join(sub, "out"+ext)}, c.pcaptk...)...)
		if len(got) != len(ref) || len(ref) < 2 {
			t.Errorf("%s %v: %d files, editcap made %d", c.in, c.pcaptk, len(got), len(ref))
			continue
		}
		for j := range got {
			equalPackets(t, filepath.Base(got[j]), mustCapturePackets(t, got[j]), mustCapturePackets(t, ref[j]), false)
			// named for the first packet, numbered from 1 (editcap numbers from 0 and
			// counts its empty files)
			stamp := filepath.Base(ref[j])[len("ref_00000_"):]
			if want := fmt.Sprintf("out_%05d_%s", j+1, stamp); filepath.Base(got[j]) != want {
				t.Errorf("file %d named %s, want %s", j, filepath.Base(got[j]), want)
			}
		}
		if i == 0 || i == 2 {
			readableByTools(t, got[0], got[len(got)-1])
		}
	}
}

func TestSplitSize(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(corpusPcapDir(t), "pcpp-many-protocols.pcap")
	all := mustCapturePackets(t, in)
	files := splitOutputs(t, "-r", in, "-w", filepath.Join(dir, "s.pcap"), "--size", "0.5")
	if len(files) < 3 {
		t.Fatalf("%d files", len(files))
	}
	var got []reader.Packet
	for _, f := range files {
		st, _ := os.Stat(f)
		if st.Size() > 500_000 {
			t.Errorf("%s: %d bytes > 0.5 MB", f, st.Size())
		}
		got = append(got, mustCapturePackets(t, f)...)
	}
	equalPackets(t, "--size parts joined", got, all, false)
}

// TestSplitFlows: every packet lands in exactly one file, each file holds one
// connection (or non-TCP/UDP packets), with few files open at once.
func TestSplitFlows(t *testing.T) {
	for _, base := range []string{"pcpp-many-protocols.pcap", "pcpp-four_ipv6_http_streams.pcap", "pcpp-many_interfaces-1.pcapng"} {
		dir := t.TempDir()
		in := filepath.Join(corpusPcapDir(t), base)
		ext := filepath.Ext(base)
		files := splitOutputs(t, "-r", in, "-w", filepath.Join(dir, "f"+ext), "--flows", "--max-open", "3")
		if len(files) < 3 {
			t.Fatalf("%s: %d files", base, len(files))
		}
		total := 0
		var rec decode.Record
		for _, f := range files {
			ps := mustCapturePackets(t, f)
			total += len(ps)
			if strings.HasSuffix(f, "_other"+ext) {
				continue
			}
			var first string
			for _, p := range ps {
				decode.Decode(p.LinkType, p.Data, p.WireLen, &rec)
				if !rec.HasTCP && !rec.HasUDP {
					t.Fatalf("%s: non-TCP/UDP packet", f)
				}
				a := string(rec.SrcIP[:]) + string(rune(rec.SrcPort))
				b := string(rec.DstIP[:]) + string(rune(rec.DstPort))
				if a > b {
					a, b = b, a
				}
				if first == "" {
					first = a + b
				} else if a+b != first {
					t.Fatalf("%s holds packets of two connections", f)
				}
			}
		}
		if want := len(mustCapturePackets(t, in)); total != want {
			t.Errorf("%s: %d packets in the flow files, %d in the input", base, total, want)
		}
		readableByTools(t, files[0], files[len(files)-1])
	}
}

func TestSplitUsage(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(corpusPcapDir(t), "dns_tcp.pcap")
	w := filepath.Join(dir, "x.pcap")
	for _, args := range [][]string{
		{"split", "-r", in, "-w", w},
		{"split", "-r", in, "-w", w, "--packets", "10", "--flows"},
		{"split", "-r", in, "-w", "-", "--packets", "10"},
		{"split", "-r", in, "-w", w, "--packets", "0"},
		{"split", "-r", in, "-w", w, "--seconds", "5", "--max-open", "3"},
	} {
		if code, _, _ := pcaptkRun(t, nil, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*")); len(m) != 0 {
		t.Errorf("usage errors created %v", m)
	}
	// a cut input: parts written up to the damage, all valid, exit 1
	cut := filepath.Join(dir, "cut.pcap")
	st, _ := os.Stat(in)
	truncateCopy(t, in, cut, st.Size()-10)
	code, out, stderr := pcaptkRun(t, nil, "split", "-r", cut, "-w", w, "--packets", "4")
	files := strings.Fields(out)
	if code != 1 || len(files) != 3 || !strings.Contains(stderr, "packet 11") {
		t.Fatalf("cut input: exit %d, files %v, %q", code, files, stderr)
	}
	if n := len(mustCapturePackets(t, files[2])); n != 2 {
		t.Errorf("last part holds %d packets, want 2", n)
	}
}
