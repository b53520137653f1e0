package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pcaptk/pcaptk/internal/testcap"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// liveMemcached starts memcached on 127.0.0.1:port, or on a free port when
// port is taken, and returns the port.
func liveMemcached(t *testing.T, port int) int {
	t.Helper()
	if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil && port != 0 {
		ln.Close()
	} else {
		if err == nil {
			ln.Close()
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if port != 0 {
			t.Logf("port %d is taken: memcached listens on %d instead", port, ln.Addr().(*net.TCPAddr).Port)
		}
		port = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
	}
	mc := exec.Command("memcached", "-u", "nobody", "-l", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "0")
	if err := mc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mc.Process.Kill(); mc.Wait() })
	var err error
	for i := 0; i < 100; i++ {
		var conn net.Conn
		if conn, err = net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			conn.Close()
			return port
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("memcached does not answer: %v", err)
	return 0
}

// liveMemcachedSession is the README walkthrough's session: a miss, a set, a
// hit, then quit, which memcached answers by closing.
func liveMemcachedSession(t *testing.T, port int) {
	t.Helper()
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	for _, s := range []struct{ send, want string }{
		{"get userId\r\n", "END\r\n"},
		{"set username 0 0 4\r\nnick\r\n", "STORED\r\n"},
		{"get username\r\n", "VALUE username 0 4\r\nnick\r\nEND\r\n"},
	} {
		fmt.Fprint(conn, s.send)
		got := make([]byte, len(s.want))
		if _, err := io.ReadFull(br, got); err != nil || string(got) != s.want {
			t.Fatalf("memcached answered %q to %q (%v)", got, s.send, err)
		}
	}
	fmt.Fprint(conn, "quit\r\n")
	io.Copy(io.Discard, br)
	conn.Close()
}

// livePrinting is a capture (pcaptk's or tcpdump's) printing packets.
type livePrinting struct {
	cmd      *exec.Cmd
	out, err *testcap.SyncBuffer
	done     chan error
	exit     int
}

func liveStartPrinting(t *testing.T, name string, args ...string) *livePrinting {
	t.Helper()
	p := &livePrinting{cmd: exec.Command(name, args...), out: &testcap.SyncBuffer{}, err: &testcap.SyncBuffer{},
		done: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.err
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { p.cmd.Process.Kill() })
	return p
}

// waitListening waits until the capture says it is listening (with -q, when
// pcaptk says nothing, a second).
func (p *livePrinting) waitListening(t *testing.T) {
	t.Helper()
	if quiet(p.cmd.Args[1:]) && !strings.HasSuffix(p.cmd.Args[0], "tcpdump") {
		time.Sleep(time.Second)
		return
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.err.String(), "listening on") {
		select {
		case err := <-p.done:
			p.done <- err
			if !strings.Contains(p.err.String(), "listening on") {
				t.Fatalf("%v ended before listening: %v\n%s", p.cmd.Args, err, p.err)
			}
			return
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v not listening after 10 s:\n%s", p.cmd.Args, p.err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop interrupts the capture (unless it ended by itself) and waits for it.
func (p *livePrinting) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-p.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			p.exit = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("%v did not end:\n%s", p.cmd.Args, p.err)
	}
}

// liveTimeStamp matches the time stamp that starts a printed packet (after
// -#'s number): the two captures see the same packets, but only the kernel
// knows whether it stamped them identically for both.
var liveTimeStamp = regexp.MustCompile(`(?m)^( *\d+  )?(\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d\.\d+ `)

// liveBanner is the capture's stderr up to its "listening on" lines, and its
// "packets captured" line, tcpdump's name made pcaptk's; with quiet, only the
// latter (pcaptk -q leaves the banner out).
func liveBanner(stderr string, quiet bool) string {
	var keep []string
	for _, l := range strings.Split(stderr, "\n") {
		if quiet && !strings.HasSuffix(l, " captured") {
			continue
		}
		if strings.HasPrefix(l, "tcpdump: ") {
			l = "pcaptk: " + l[len("tcpdump: "):]
		}
		if strings.Contains(l, "data link type") || strings.Contains(l, "verbose output suppressed") ||
			strings.Contains(l, "listening on") || strings.HasSuffix(l, " captured") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// testLiveMatchesTcpdump runs pcaptk capture and tcpdump side by side, with
// the same options, on loopback while memcached serves the walkthrough's
// session, and compares what they print (without time stamps) and their
// banners. The first two are the tutorial's commands, verbatim.
func testLiveMatchesTcpdump(t *testing.T, bin string) {
	needCaptureRoot(t, "tcpdump", "memcached")
	port := liveMemcached(t, 11211)
	expr := []string{"tcp", "port", strconv.Itoa(port)}
	type run struct{ flags []string }
	var runs []run
	runs = append(runs, run{[]string{"-i", "any"}}, run{[]string{"-i", "any", "-Xnlps0"}})
	for _, iface := range []string{"lo", "any"} {
		for _, f := range [][]string{
			{"-nn"}, {"-nn", "-e"}, {"-nnvv"}, {"-nnKv"}, {"-nn#"}, {"-nnA"}, {"-nnAA"}, {"-nnq"},
			{"-nnXX"}, {"-nnxx"}, {"-nnS"}, {"-nnt"}, {"-nn", "-Q", "in"}, {"-nn", "-Q", "out"},
			{"-nnl"}, {"-nnU"}, {"-nn", "--nano"}, {"-nn", "--immediate-mode"}, {"-nn", "-B", "4096"},
			{"-nnc5"}, {"-nn", "-s", "60", "-X"}, {"-nn", "--count"}, {"-nn", "-j", "host"}, {"-nnNp"},
			{"-nnv", "--number", "-e"},
		} {
			runs = append(runs, run{append([]string{"-i", iface}, f...)})
		}
	}
	runs = append(runs, run{[]string{"-i", "any", "-nne", "-y", "LINUX_SLL"}}, run{[]string{"-i", "lo", "-nn", "-y", "EN10MB"}})
	compared := 0
	const batch = 9
	for start := 0; start < len(runs); start += batch {
		type pair struct {
			args         []string
			pcaptk, tdmp *livePrinting
		}
		var pairs []pair
		for _, r := range runs[start:min(start+batch, len(runs))] {
			args := append(append([]string{}, r.flags...), expr...)
			// pcaptk's kernel buffer is 32 MiB unless -B says otherwise;
			// tcpdump's 2 MiB holds eight 256 KiB frames in immediate mode,
			// and drops packets when a dozen captures share the CPUs.
			targs := args
			if !slices.Contains(args, "-B") {
				targs = append([]string{"-B", "32768"}, args...)
			}
			pairs = append(pairs, pair{args: args,
				pcaptk: liveStartPrinting(t, bin, append([]string{"capture"}, args...)...),
				tdmp:   liveStartPrinting(t, "tcpdump", targs...)})
		}
		for _, p := range pairs {
			p.pcaptk.waitListening(t)
			p.tdmp.waitListening(t)
		}
		liveMemcachedSession(t, port)
		// tcpdump hands packets over after its 1 s buffer timeout when it
		// does not print to a terminal, and drops what it holds when interrupted.
		time.Sleep(1500 * time.Millisecond)
		for _, p := range pairs {
			p.pcaptk.stop(t)
			p.tdmp.stop(t)
			got := liveTimeStamp.ReplaceAllString(p.pcaptk.out.String(), "$1")
			want := liveTimeStamp.ReplaceAllString(p.tdmp.out.String(), "$1")
			// Without -n tcpdump names 127.0.0.1 from /etc/hosts; pcaptk never
			// looks host names up (docs/read.md).
			want = strings.ReplaceAll(want, "localhost.", "127.0.0.1.")
			name := "capture " + strings.Join(p.args, " ")
			if got != want && sameLines(got, want) {
				// Two sockets on "any" may get packets handled on different
				// CPUs in a different order; the lines themselves agree.
				t.Logf("%s: the same lines as tcpdump's, in another order", name)
				got = want
			}
			if liveKernelDropsOf(p.tdmp.err.String())+liveKernelDropsOf(p.pcaptk.err.String()) > 0 {
				t.Logf("%s: the kernel dropped packets; not compared:\n%s%s", name, p.tdmp.err, p.pcaptk.err)
				continue
			}
			switch {
			case p.pcaptk.exit != p.tdmp.exit:
				t.Errorf("%s: exit %d, tcpdump %d\n%s", name, p.pcaptk.exit, p.tdmp.exit, p.pcaptk.err)
			case strings.Count(want, "\n") < 3 && !strings.Contains(name, "--count") && !strings.Contains(name, "-Q out"):
				t.Errorf("%s: tcpdump printed too little to compare:\n%s\n%s", name, want, p.tdmp.err)
			case got != want:
				t.Errorf("%s: prints differently from tcpdump:\n%s", name, firstDiff(want, got))
			case liveBanner(p.pcaptk.err.String(), false) != liveBanner(p.tdmp.err.String(), quiet(p.args)):
				t.Errorf("%s: stderr\n%s\ntcpdump's\n%s", name, p.pcaptk.err, p.tdmp.err)
			}
			compared++
		}
	}
	t.Logf("%d captures printed as tcpdump printed them", compared)
}

// liveKernelDropsOf reads "N packets dropped by kernel" (0 when absent).
func liveKernelDropsOf(stderr string) int {
	m := regexp.MustCompile(`(\d+) packets? dropped by kernel`).FindStringSubmatch(stderr)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// sameLines reports whether a and b hold the same lines, in any order.
func sameLines(a, b string) bool {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	sort.Strings(la)
	sort.Strings(lb)
	return slices.Equal(la, lb)
}

// testLiveAnyWritesCookedV2 checks that -i any writes Linux cooked v2 files,
// whose lines name the interface and direction as tcpdump's do, and that
// --print prints while writing.
func testLiveAnyWritesCookedV2(t *testing.T, bin string) {
	needCaptureRoot(t, "tcpdump", "memcached")
	port := liveMemcached(t, 0)
	out := filepath.Join(t.TempDir(), "any.pcap")
	args := []string{"capture", "-i", "any", "-w", out, "--print", "-U", "-nn", "tcp", "port", strconv.Itoa(port)}
	p := liveStartPrinting(t, bin, args...)
	p.waitListening(t)
	liveMemcachedSession(t, port)
	time.Sleep(400 * time.Millisecond)
	p.stop(t)
	if p.exit != 0 {
		t.Fatalf("exit %d: %s", p.exit, p.err)
	}
	r, err := reader.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	lt := r.Interfaces()[0].LinkType
	r.Close()
	if lt != 276 {
		t.Fatalf("-i any wrote link type %d, want 276 (LINUX_SLL2)", lt)
	}
	_, want, _ := tcpdumpRun(t, "", "-nn", "-r", out)
	if got := p.out.String(); got != want || !strings.Contains(got, "lo    In  IP 127.0.0.1.") {
		t.Errorf("--print printed\n%s\ntcpdump -r of the file prints\n%s", got, want)
	}
	if !strings.HasPrefix(p.err.String(), "pcaptk: data link type LINUX_SLL2\npcaptk: listening on any, link-type LINUX_SLL2 (Linux cooked v2), snapshot length 262144 bytes\n") {
		t.Errorf("banner:\n%s", p.err)
	}
}

// TestCaptureListsAndDumpsMatchTcpdump compares -L, -J and -d/-dd/-ddd on
// interfaces (opened with their link type, cooked v2 on "any") with tcpdump's.
func TestCaptureListsAndDumpsMatchTcpdump(t *testing.T) {
	needCaptureRoot(t, "tcpdump")
	var cases [][]string
	for _, iface := range []string{"lo", "any"} {
		cases = append(cases, []string{"-L", "-i", iface}, []string{"-J", "-i", iface})
		for _, d := range []string{"-d", "-dd", "-ddd"} {
			cases = append(cases, []string{d, "-i", iface, "tcp", "port", "80"}, []string{d, "-i", iface, "vlan", "and", "tcp"})
		}
		cases = append(cases, []string{"-d", "-i", iface, "-s", "96", "-y", map[string]string{"lo": "EN10MB", "any": "LINUX_SLL"}[iface], "tcp"})
	}
	cases = append(cases, []string{"-d", "tcp"}, []string{"-dd", "-y", "RAW", "tcp"}, []string{"-ddd", "-s", "100", "udp"})
	for _, args := range cases {
		wcode, want, wantErr := tcpdumpRun(t, "", args...)
		code, got, gotErr := pcaptkRun(t, nil, append([]string{"capture"}, args...)...)
		wantErr = strings.ReplaceAll(wantErr, "tcpdump: ", "pcaptk: ")
		if wcode != 0 && code == exitUsage {
			// A filter libpcap refuses: pcaptk's usage error quotes the
			// expression before libpcap's words, which tcpdump prints alone.
			wl := strings.Split(strings.TrimSpace(wantErr), "\n")
			gl := strings.Split(strings.TrimSpace(gotErr), "\n")
			msg := strings.TrimPrefix(wl[len(wl)-1], "pcaptk: ")
			if strings.HasSuffix(gl[len(gl)-1], ": "+msg) && len(gl) == len(wl) {
				wcode, gotErr = exitUsage, wantErr
			}
		}
		if code != wcode || got != want || gotErr != wantErr {
			t.Errorf("capture %v: exit %d (tcpdump %d)\nstderr %q\nwant   %q\n%s", args, code, wcode, gotErr, wantErr, firstDiff(want, got))
		}
	}
}
