package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pcaptk/pcaptk/internal/testcorpus"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// inputsFixture is a directory of captures in name order a, b-sub/b, c (pcapng),
// with a file that is no capture, a hidden capture and an empty directory,
// and a list naming the three captures.
type inputsFixture struct {
	dir, caps string
	files     []string // the captures, in name order
	packets   []int    // packets in each
	list      string   // file naming files, one a line
}

func newInputsFixture(t *testing.T) *inputsFixture {
	t.Helper()
	f := &inputsFixture{dir: t.TempDir()}
	f.caps = filepath.Join(f.dir, "caps")
	for _, d := range []string{"b-sub", "empty", ".hidden"} {
		if err := os.MkdirAll(filepath.Join(f.caps, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ name, corpus string }{
		{"a.pcap", "ssh.pcap"},
		{"b-sub/b.pcap", "print-flags.pcap"},
		{"c.pcapng", "pcpp-mysql.pcapng"},
		{".hidden/d.pcap", "dns_tcp.pcap"},
		{".e.pcap", "dns_tcp.pcap"},
	} {
		b, err := os.ReadFile(testcorpus.Pcap(t, c.corpus))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(f.caps, c.name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(c.name, ".hidden") || strings.HasPrefix(c.name, ".") {
			continue
		}
		f.files = append(f.files, p)
		f.packets = append(f.packets, len(mustCapturePackets(t, p)))
	}
	if err := os.WriteFile(filepath.Join(f.caps, "notes.txt"), []byte("not a capture\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.list = filepath.Join(f.dir, "list")
	if err := os.WriteFile(f.list, []byte(strings.Join(f.files, "\n")+"\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *inputsFixture) total() int {
	n := 0
	for _, p := range f.packets {
		n += p
	}
	return n
}

// forms are the ways of naming the fixture's three captures: each gives the
// arguments and, for the list read from standard input, the input.
func (f *inputsFixture) forms(positional bool) []struct {
	name  string
	args  []string
	stdin string
} {
	forms := []struct {
		name  string
		args  []string
		stdin string
	}{
		{"-r -r -r", []string{"-r", f.files[0], "-r", f.files[1], "-r", f.files[2]}, ""},
		{"-r DIR", []string{"-r", f.caps}, ""},
		{"-r GLOB", []string{"-r", filepath.Join(f.caps, "[a]*.pcap"), "-r", filepath.Join(f.caps, "b-*"), "-r", filepath.Join(f.caps, "*.pcapng")}, ""},
		{"-V LIST", []string{"-V", f.list}, ""},
		{"-V -", []string{"-V", "-"}, strings.Join(f.files, "\n") + "\n"},
	}
	if positional {
		forms = append(forms, struct {
			name  string
			args  []string
			stdin string
		}{"positional", f.files, ""})
	}
	return forms
}

// TestInputFormsInEveryCommand gives each command that reads captures its
// inputs every way there is and checks it read exactly the three captures,
// in order: the hidden ones, the file that is no capture and the empty
// directory left out.
func TestInputFormsInEveryCommand(t *testing.T) {
	f := newInputsFixture(t)
	// What read prints for the three, one after the other.
	var wantRead string
	for _, p := range f.files {
		_, out, _ := pcaptkRun(t, nil, "read", "-nn", "-r", p)
		wantRead += out
	}
	for _, cmd := range []string{"read", "export", "filter", "merge", "split", "info"} {
		positional := cmd == "merge" || cmd == "info"
		for _, form := range f.forms(positional) {
			t.Run(cmd+" "+form.name, func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "out.pcapng")
				var args []string
				switch cmd {
				case "read":
					args = []string{"read", "-nn"}
				case "export":
					args = []string{"export", "--format", "csv", "--columns", "input,frame"}
				case "filter", "merge":
					args = []string{cmd, "-w", out}
				case "split":
					args = []string{"split", "-w", out, "--packets", "7"}
				case "info":
					args = []string{"info", "--json"}
				}
				code, stdout, stderr := pcaptkRun(t, strings.NewReader(form.stdin), append(args, form.args...)...)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				switch cmd {
				case "read":
					if stdout != wantRead {
						t.Errorf("read printed other lines:\n%s", firstDiff(wantRead, stdout))
					}
					if n := strings.Count(stderr, "reading from file "); n != 3 {
						t.Errorf("%d \"reading from file\" lines:\n%s", n, stderr)
					}
				case "export":
					f.checkExportInputs(t, stdout)
				case "filter", "merge":
					if n := len(mustCapturePackets(t, out)); n != f.total() {
						t.Errorf("%d packets written, the inputs hold %d", n, f.total())
					}
				case "split":
					n := 0
					for _, part := range strings.Fields(stdout) {
						n += len(mustCapturePackets(t, part))
					}
					if n != f.total() {
						t.Errorf("%d packets in the parts, the inputs hold %d", n, f.total())
					}
				case "info":
					var files []string
					for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
						i := strings.Index(l, `"file":"`)
						if i < 0 {
							t.Fatalf("no file in %s", l)
						}
						files = append(files, strings.SplitN(l[i+8:], `"`, 2)[0])
					}
					if !slices.Equal(files, f.files) {
						t.Errorf("info summarised %v, want %v", files, f.files)
					}
				}
			})
		}
	}
}

// checkExportInputs checks that the CSV rows name each input and number its
// frames from 1, in its own order.
func (f *inputsFixture) checkExportInputs(t *testing.T, out string) {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	last := map[string]int{}
	for _, r := range rows[1:] {
		frame := 0
		for _, c := range r[1] {
			frame = frame*10 + int(c-'0')
		}
		if frame <= last[r[0]] {
			t.Fatalf("input %s: frame %d after %d", r[0], frame, last[r[0]])
		}
		last[r[0]] = frame
	}
	var seen []string
	for name := range last {
		seen = append(seen, name)
	}
	slices.Sort(seen)
	want := slices.Clone(f.files)
	slices.Sort(want)
	if !slices.Equal(seen, want) {
		t.Errorf("rows from %v, want %v", seen, want)
	}
}

// TestInputStandardInput reads a capture from standard input (-r -) in every
// command, and refuses standard input twice (-r - with -V -).
func TestInputStandardInput(t *testing.T) {
	b, err := os.ReadFile(testcorpus.Pcap(t, "ssh.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.pcap")
	for _, args := range [][]string{
		{"read", "-nn", "-c", "3", "-r", "-"},
		{"export", "--format", "csv", "-r", "-"},
		{"filter", "-w", out, "-r", "-"},
		{"merge", "-w", out, "-"},
		{"split", "-w", out, "--packets", "100", "-r", "-"},
		{"info", "-"},
	} {
		code, stdout, stderr := pcaptkRun(t, bytes.NewReader(b), args...)
		if code != 0 || stdout == "" && args[0] != "filter" && args[0] != "merge" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
	code, _, stderr := pcaptkRun(t, strings.NewReader("-\n"), "read", "-V", "-", "-r", "-")
	if code != exitUsage || !strings.Contains(stderr, "standard input") {
		t.Errorf("-V - with -r -: exit %d, %s", code, stderr)
	}
}

// TestInputErrors: a glob that matches nothing, a directory without captures,
// a list that does not exist or names nothing, and an output that is one of a
// directory's captures.
func TestInputErrors(t *testing.T) {
	f := newInputsFixture(t)
	empty := filepath.Join(f.dir, "none")
	os.WriteFile(empty, []byte("\n\n"), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"read", "-r", filepath.Join(f.caps, "*.nothing")}, exitFailure, "no file matches"},
		{[]string{"read", "-r", filepath.Join(f.caps, "empty")}, exitFailure, "no pcap or pcapng file"},
		{[]string{"export", "--format", "csv", "-V", filepath.Join(f.dir, "missing")}, exitFailure, "missing"},
		{[]string{"info", "-V", empty}, exitFailure, "no input named"},
		{[]string{"filter", "-r", f.caps, "-w", f.files[1]}, exitUsage, "is an input"},
		{[]string{"merge", "-w", f.files[2], f.caps}, exitUsage, "is an input"},
		{[]string{"export", "--format", "csv", "-o", f.files[0], "-V", f.list}, exitUsage, "is an input"},
	} {
		code, _, stderr := pcaptkRun(t, nil, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and one line with %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
	// Nothing was overwritten.
	for i, p := range f.files {
		if n := len(mustCapturePackets(t, p)); n != f.packets[i] {
			t.Errorf("%s now holds %d packets, not %d", p, n, f.packets[i])
		}
	}
}

// TestCaptureNameHint: names the shell expanded from -r caps/*.pcap after the
// first land in the filter expression; pcaptk says what happened instead of a
// filter error, by name (an extension) or by content (an existing capture).
func TestCaptureNameHint(t *testing.T) {
	f := newInputsFixture(t)
	noExt := filepath.Join(f.dir, "capture")
	b, _ := os.ReadFile(f.files[0])
	os.WriteFile(noExt, b, 0o644)
	for _, tc := range []struct {
		args []string
		word string // the word the hint names
	}{
		{[]string{"read", "-r", f.files[0], f.files[1]}, f.files[1]},
		{[]string{"read", "-nn", "-r", f.files[0], "tcp", "and", "b.pcap"}, "b.pcap"},
		{[]string{"export", "--format", "csv", "-r", f.files[0], f.files[1], f.files[2]}, f.files[1]},
		{[]string{"filter", "-w", filepath.Join(f.dir, "o.pcap"), "-r", f.files[0], f.files[2]}, f.files[2]},
		{[]string{"split", "-w", filepath.Join(f.dir, "o.pcap"), "--packets", "5", "-r", f.files[0], f.files[1]}, f.files[1]},
		{[]string{"capture", "-i", "lo", "-r", f.files[0]}, ""},
		{[]string{"read", "-r", f.files[0], noExt}, noExt},
		{[]string{"read", "-r", f.files[0], "x.PCAP.gz"}, "x.PCAP.gz"},
	} {
		args := tc.args
		code, stdout, stderr := pcaptkRun(t, nil, args...)
		want := "\"" + tc.word + "\" looks like a capture file: give each input with -r"
		if args[0] == "capture" {
			want = "capture reads interfaces"
		}
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", args, code, stderr, want)
		}
	}
	// Words that only resemble capture names are left to libpcap.
	for _, w := range []string{"pcap.example", ".pcap", "pcap", "tcp", "10.0.0.1", "cap"} {
		if reader.LooksLikeCaptureName(w) {
			t.Errorf("%q taken for a capture file name", w)
		}
	}
}

// TestExpandInputs: ExpandInputs directly, for what the tests above cannot
// see: the order of a directory's files and the errors' wording.
func TestExpandInputs(t *testing.T) {
	f := newInputsFixture(t)
	got, err := reader.ExpandInputs([]string{f.caps, "-", f.files[1]})
	if err != nil {
		t.Fatal(err)
	}
	want := append(append(slices.Clone(f.files), "-"), f.files[1])
	if !slices.Equal(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}
