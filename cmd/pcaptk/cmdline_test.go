package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcaptk/pcaptk/internal/testcorpus"
)

// readTcpdumpSkip are captures whose lines differ from tcpdump's for reasons
// docs/read.md gives (NFS decoded further by tcpdump, pcapng interfaces of
// several link types that stop tcpdump, times beyond int64 nanoseconds).
var readTcpdumpSkip = map[string]bool{
	"hoobr_nfs_printfh.pcap": true, "nfs-write-verf-cookie.pcapng": true,
	"pcpp-many_interfaces-1.pcapng": true, "pcpp-pcapng-example.pcapng": true,
}

// readTcpdumpSkipVerbose are captures whose -v lines differ: tcpdump also
// decodes BGP and OpenFlow bodies and DNS's other sections under -v.
var readTcpdumpSkipVerbose = map[string]bool{
	"bgp-as-path-oobr.pcap": true, "bgp-enhanced-route-refresh-subtype.pcapng": true,
	"of13_ericsson.pcapng": true, "dns_tcp.pcap": true, "gopacket-ip6defrag-tcptest.pcap": true,
}

// cmdlineCaptures are the corpus captures the option tests run on: every link
// type pcaptk decodes, pcap and pcapng, micro- and nanosecond time stamps,
// VLAN tags, IP options, IPv6 extension headers, truncated and malformed
// packets, bad checksums, payloads tcpdump decodes (HTTP, SSH, DNS).
var cmdlineCaptures = []string{
	"arcnet-rfc1201-arp-icmp-http.pcap", "beep-oobr.pcap", "bgp-enhanced-route-refresh-subtype.pcapng",
	"dns_tcp.pcap", "filesamples-200722_tcp_anon.pcapng", "filesamples-simple_http_sll2.pcap",
	"gopacket-ip6defrag-tcptest.pcap", "gopacket-test_loopback.pcap", "gopacket-test_vlan.pcap",
	"heapoverflow-tcp_print.pcap", "mptcp-v1.pcap", "pcpp-CiscoHDLC.pcap", "pcpp-SllPacket.pcap",
	"pcpp-ipv4-options.pcap", "pcpp-linktype_ipv6.pcap", "pcpp-nanosecs_big_endian.pcap",
	"pcpp-raw_ip.pcap", "pcpp-tcp-malformed.pcap", "ssh.pcap", "tcp-handshake-nano.pcap",
	"tcp_header_heapoverflow.pcap", "timestamp_invalid_micro.pcap",
}

func quiet(flags []string) bool {
	for _, f := range flags {
		if len(f) > 1 && f[0] == '-' && f[1] != '-' && strings.ContainsRune(f, 'q') {
			return true
		}
	}
	return false
}

// dropBanner removes tcpdump's "reading from file" lines (and the cooked v2
// warning that goes with them).
func dropBanner(s string) string {
	var keep []string
	for _, l := range strings.SplitAfter(s, "\n") {
		if l != "" && !strings.HasPrefix(l, "reading from file ") && l != "Warning: interface names might be incorrect\n" {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "")
}

// tcpdumpRun runs the installed tcpdump in UTC and returns its exit code,
// standard output and standard error.
func tcpdumpRun(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command("tcpdump", args...)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errOut.String()
}

func needTcpdump(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump not installed (apt-get install tcpdump)")
	}
}

// TestReadOptionsMatchTcpdump runs tcpdump 4.99's options, alone and combined
// as people type them (grouped short flags included), through tcpdump -r and
// pcaptk read on the corpus captures, and compares standard output byte for
// byte, and standard error with tcpdump's name for pcaptk's.
func TestReadOptionsMatchTcpdump(t *testing.T) {
	needTcpdump(t)
	ff := filepath.Join(t.TempDir(), "filter")
	if err := os.WriteFile(ff, []byte("tcp # only TCP\nand not port 9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		flags   []string
		verbose bool // -v: skip the captures tcpdump decodes further
		noExpr  bool // the expression comes from -F
	}{
		{flags: []string{"-nn", "-#"}},
		{flags: []string{"-n#"}},
		{flags: []string{"-nn", "--number", "-e"}},
		{flags: []string{"-nnK", "-v"}, verbose: true},
		{flags: []string{"-nnKvv"}, verbose: true},
		{flags: []string{"-nn", "--dont-verify-checksums", "-vvv"}, verbose: true},
		{flags: []string{"-nnvvv"}, verbose: true},
		{flags: []string{"-nn", "-AA"}},
		{flags: []string{"-nnA"}},
		{flags: []string{"-nnl"}},
		{flags: []string{"-nnU"}},
		{flags: []string{"-nn", "--micro"}},
		{flags: []string{"-nn", "--nano"}},
		{flags: []string{"-nn", "--nano", "--micro", "-tt"}},
		{flags: []string{"-nn", "--time-stamp-precision=nano", "-ttt"}},
		{flags: []string{"-nn", "--time-stamp-precision", "micro", "-tt"}},
		{flags: []string{"-nnN"}},
		{flags: []string{"-nna"}},
		{flags: []string{"-nn", "-s", "96", "-x"}},
		{flags: []string{"-nnp"}},
		{flags: []string{"-nn", "-B", "1024"}},
		{flags: []string{"-nn", "-j", "host"}},
		{flags: []string{"-nn", "-Q", "in"}},
		{flags: []string{"-nn", "-y", "LINUX_SLL"}},
		{flags: []string{"-nnI"}},
		{flags: []string{"-nn", "--immediate-mode"}},
		{flags: []string{"-nnc5"}},
		{flags: []string{"-c5", "-nn"}},
		{flags: []string{"-nnvvXS"}, verbose: true},
		{flags: []string{"-Xnlps0"}},
		{flags: []string{"-nntttt"}},
		{flags: []string{"-nn", "-ttttt", "-#"}},
		{flags: []string{"--count"}},
		{flags: []string{"--count", "-c", "3"}},
		{flags: []string{"-nne#"}},
		{flags: []string{"-nnxx#"}},
		{flags: []string{"-nnqe"}},
		{flags: []string{"-nnXX", "-c", "4"}},
		{flags: []string{"-nnx", "-A"}},
		{flags: []string{"-nnXx"}},
		{flags: []string{"-nn", "--numb"}},
		{flags: []string{"-nn", "--absolute-tcp"}},
		{flags: []string{"-nnS", "--packet-buffered", "-tttt"}},
		{flags: []string{"-nn", "-F", ff}, noExpr: true},
		{flags: []string{"-d"}},
		{flags: []string{"-dd"}},
		{flags: []string{"-ddd"}},
		{flags: []string{"-dO"}},
		{flags: []string{"-d", "--no-optimize"}},
	}
	// The corpus has no capture whose snapshot length cuts TCP options: make
	// one: the ssh exchange cut to 70 bytes, where options end after their
	// kind and length (16 of its lines differed from tcpdump's before the fix).
	cut := filepath.Join(t.TempDir(), "ssh-s70.pcap")
	if code, _, stderr := pcaptkRun(t, nil, "filter", "-r", testcorpus.Pcap(t, "ssh.pcap"), "-w", cut, "-s", "70"); code != 0 {
		t.Fatalf("filter -s 70: %s", stderr)
	}
	compared := 0
	for _, name := range append(cmdlineCaptures, cut) {
		path := name
		if !filepath.IsAbs(name) {
			path = testcorpus.Pcap(t, name)
		}
		for _, tc := range cases {
			if tc.verbose && readTcpdumpSkipVerbose[name] {
				continue
			}
			args := append(append([]string{}, tc.flags...), "-r", path)
			if !tc.noExpr {
				args = append(args, "tcp")
			}
			wcode, want, wantErr := tcpdumpRun(t, "", args...)
			code, got, gotErr := pcaptkRun(t, nil, append([]string{"read"}, args...)...)
			wantErr = strings.ReplaceAll(wantErr, "tcpdump: ", "pcaptk: ")
			if quiet(tc.flags) { // pcaptk -q leaves the "reading from file" lines out
				wantErr = dropBanner(wantErr)
			}
			switch {
			case code != wcode:
				t.Errorf("read %s: exit %d, tcpdump %d (%s)", strings.Join(args, " "), code, wcode, gotErr)
			case got != want:
				t.Errorf("read %s: output differs from tcpdump:\n%s", strings.Join(args, " "), firstDiff(want, got))
			case gotErr != wantErr:
				t.Errorf("read %s: stderr\n%q\ntcpdump's\n%q", strings.Join(args, " "), gotErr, wantErr)
			}
			compared++
		}
	}
	t.Logf("%d option/capture combinations identical to tcpdump", compared)
}

// TestReadManyInputsMatchTcpdumpV reads several captures, of several link
// types, given every way pcaptk takes them (-V LIST as tcpdump, -V - on
// standard input, repeated -r, a directory, a glob pattern) and compares the
// output with tcpdump -V's: the inputs one after the other, -c counting each
// input's packets, -# and -ttt running on across them.
func TestReadManyInputsMatchTcpdumpV(t *testing.T) {
	needTcpdump(t)
	dir := t.TempDir()
	// tcpdump run as root reads the files after the first as its own user.
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	caps := filepath.Join(dir, "caps")
	if err := os.MkdirAll(filepath.Join(caps, "b-sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Name order: a-ssh, b-sub/c-sll2, d-loop; e-notes.txt is no capture.
	files := []struct{ name, corpus string }{
		{"a-ssh.pcap", "ssh.pcap"},
		{"b-sub/c-sll2.pcap", "filesamples-simple_http_sll2.pcap"},
		{"d-loop.pcap", "gopacket-test_loopback.pcap"},
	}
	var list []string
	for _, f := range files {
		b, err := os.ReadFile(testcorpus.Pcap(t, f.corpus))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(caps, f.name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		list = append(list, p)
	}
	if err := os.WriteFile(filepath.Join(caps, "e-notes.txt"), []byte("not a capture\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	listFile := filepath.Join(dir, "list")
	listText := strings.Join(list, "\n") + "\n"
	if err := os.WriteFile(listFile, []byte(listText), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, flags := range [][]string{{"-nn"}, {"-nn", "-c", "2"}, {"-nn#", "-ttt"}, {"--count"}, {"-nne", "-c3", "--count"}} {
		_, want, wantErr := tcpdumpRun(t, "", append(append([]string{}, flags...), "-V", listFile, "tcp")...)
		if !strings.Contains(wantErr, "c-sll2.pcap") {
			t.Fatalf("tcpdump did not read the list: %s", wantErr)
		}
		for _, form := range []struct {
			name  string
			args  []string
			stdin string
		}{
			{"-V LIST", []string{"-V", listFile}, ""},
			{"-V -", []string{"-V", "-"}, listText},
			{"-r -r -r", []string{"-r", list[0], "-r", list[1], "-r", list[2]}, ""},
			{"-r DIR", []string{"-r", caps}, ""},
			{"-r GLOB", []string{"-r", filepath.Join(caps, "[ad]-*.pcap"), "-r", filepath.Join(caps, "b-*")}, ""},
		} {
			args := append(append(append([]string{"read"}, flags...), form.args...), "tcp")
			var stdin *strings.Reader
			if form.stdin != "" {
				stdin = strings.NewReader(form.stdin)
			}
			code, got, gotErr := pcaptkRun(t, readerOrNil(stdin), args...)
			if form.name == "-r GLOB" { // the glob gives a, d, then the directory b-sub
				wantErr, want = "", ""
				_, want, wantErr = tcpdumpRunList(t, append(append([]string{}, flags...), "tcp"), list[0], list[2], list[1])
			}
			if code != 0 || got != want || gotErr != wantErr {
				t.Errorf("read %v (%s): exit %d\nstderr %q\nwant   %q\n%s", flags, form.name, code, gotErr, wantErr, firstDiff(want, got))
			}
		}
	}
}

// tcpdumpRunList runs tcpdump -V on a list of the files given.
func tcpdumpRunList(t *testing.T, args []string, files ...string) (int, string, string) {
	t.Helper()
	return tcpdumpRun(t, strings.Join(files, "\n")+"\n", append([]string{"-V", "-"}, args...)...)
}

func readerOrNil(r *strings.Reader) io.Reader {
	if r == nil {
		return nil
	}
	return r
}

// TestReadWriteMatchesTcpdump: read -w writes the file tcpdump -r IN -w OUT
// writes, byte for byte (with -c, --nano, several inputs), and --print prints
// what tcpdump --print prints.
func TestReadWriteMatchesTcpdump(t *testing.T) {
	needTcpdump(t)
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755) // tcpdump as root writes as its own user
	os.Chmod(dir, 0o777)
	// Malformed headers tcpdump copies as they are and pcaptk writes valid:
	// bits above the link type (FCS fields) set at random, microseconds of a
	// second or more (pcaptk carries them into the seconds).
	malformed := map[string]bool{"beep-oobr.pcap": true, "heapoverflow-tcp_print.pcap": true,
		"tcp_header_heapoverflow.pcap": true, "timestamp_invalid_micro.pcap": true}
	n := 0
	for _, name := range cmdlineCaptures {
		if malformed[name] {
			continue
		}
		in := testcorpus.Pcap(t, name)
		for _, flags := range [][]string{{}, {"-c", "3", "--nano"}, {"--print", "-nn", "-U"}} {
			want, got := filepath.Join(dir, "tcpdump.pcap"), filepath.Join(dir, "pcaptk.pcap")
			args := append(append([]string{}, flags...), "-r", in, "tcp")
			wcode, wout, _ := tcpdumpRun(t, "", append(args, "-w", want)...)
			code, out, stderr := pcaptkRun(t, nil, append(append([]string{"read"}, args...), "-w", got)...)
			if code != wcode || out != wout {
				t.Errorf("read %v -w: exit %d (tcpdump %d) %s\n%s", args, code, wcode, stderr, firstDiff(wout, out))
				continue
			}
			if wcode != 0 {
				continue
			}
			wb, _ := os.ReadFile(want)
			gb, _ := os.ReadFile(got)
			if !bytes.Equal(wb, gb) {
				t.Errorf("read %v -w: %d bytes written, tcpdump's file has %d (or other bytes)", args, len(gb), len(wb))
			}
			n++
		}
	}
	// Several inputs one after the other, as tcpdump -V -w writes them.
	a, b := testcorpus.Pcap(t, "ssh.pcap"), testcorpus.Pcap(t, "print-flags.pcap")
	want, got := filepath.Join(dir, "v-tcpdump.pcap"), filepath.Join(dir, "v-pcaptk.pcap")
	tcpdumpRunList(t, []string{"-c", "4", "-w", want}, a, b)
	if code, _, stderr := pcaptkRun(t, nil, "read", "-c", "4", "-r", a, "-r", b, "-w", got); code != 0 {
		t.Fatal(stderr)
	}
	wb, _ := os.ReadFile(want)
	gb, _ := os.ReadFile(got)
	if len(wb) == 0 || !bytes.Equal(wb, gb) {
		t.Errorf("two inputs: %d bytes, tcpdump -V wrote %d", len(gb), len(wb))
	}
	t.Logf("%d files identical to tcpdump's", n+1)
}

// TestReadRelinquishPrivileges: as root, read -Z USER reads the first input
// as root and the others as USER, as tcpdump -Z does: an input only root may
// read, after the first, is refused.
func TestReadRelinquishPrivileges(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("-Z needs root; not root")
	}
	needTcpdump(t)
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	open, closed := filepath.Join(dir, "open"), filepath.Join(dir, "closed")
	for _, d := range []string{open, closed} {
		os.Mkdir(d, 0o755)
	}
	os.Chmod(closed, 0o700)
	b, err := os.ReadFile(testcorpus.Pcap(t, "ssh.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	first, second := filepath.Join(closed, "first.pcap"), filepath.Join(closed, "second.pcap")
	third := filepath.Join(open, "third.pcap")
	for _, p := range []string{first, second, third} {
		os.WriteFile(p, b, 0o644)
	}
	// The first input in the closed directory is read as root, then the third
	// in the open one as nobody. (In a process of its own: -Z is for good.)
	code, out, stderr := pcaptkProcess(t, "read", "-Z", "nobody", "-nn", "-c", "1", "-r", first, "-r", third)
	if code != 0 || strings.Count(out, "\n") != 2 {
		t.Fatalf("-Z nobody first, third: exit %d, %d lines: %s", code, strings.Count(out, "\n"), stderr)
	}
	wcode, _, wantErr := tcpdumpRunList(t, []string{"-Z", "nobody", "-nn", "-c", "1"}, first, second)
	code, _, stderr = pcaptkProcess(t, "read", "-Z", "nobody", "-nn", "-c", "1", "-r", first, "-r", second)
	if wcode == 0 || code != exitFailure || !strings.Contains(stderr, "permission denied") || !strings.Contains(wantErr, "Permission denied") {
		t.Errorf("-Z nobody first, second: exit %d: %s\ntcpdump exit %d: %s", code, stderr, wcode, wantErr)
	}
}

// pcaptkProcess runs pcaptk in a process of its own, the test binary run again
// as TestPcaptkProcess does: for what must not happen to the test process
// (giving root up).
func pcaptkProcess(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestPcaptkProcess$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), "PCAPTK_TEST_PROCESS=1")
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errOut.String()
}

// TestPcaptkProcess is pcaptk's main when pcaptkProcess runs the test binary;
// otherwise it does nothing.
func TestPcaptkProcess(t *testing.T) {
	if os.Getenv("PCAPTK_TEST_PROCESS") != "1" {
		return
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Exit(run(args, &streams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}))
}
