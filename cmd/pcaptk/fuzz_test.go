package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcaptk/pcaptk/internal/testcorpus"
)

// FuzzCommands runs the commands, flags and files as a user would, on mutated
// captures: none may panic, exit with anything but 0 or 1, or leave a temporary
// output behind, and every capture a command writes must read back whole.
func FuzzCommands(f *testing.F) {
	for _, name := range []string{"pcpp-one_tcp_stream.pcap", "tcp-handshake-nano.pcap", "pcpp-many_interfaces-1.pcapng", "pcpp-tcp-malformed.pcap"} {
		if b, err := os.ReadFile(testcorpus.Pcap(f, name)); err == nil && len(b) < 1<<16 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		dir := t.TempDir()
		in := filepath.Join(dir, "in.pcap")
		if err := os.WriteFile(in, data, 0o644); err != nil {
			t.Fatal(err)
		}
		o := func(n string) string { return filepath.Join(dir, n) }
		for _, args := range [][]string{
			{"read", "-nn", "-v", "-r", in},
			{"read", "-e", "-X", "-tttt", "-r", in, "tcp"},
			{"read", "-v", "--analysis", "-r", in},
			{"export", "-r", in, "--format", "csv"},
			{"export", "-r", in, "--format", "json", "--time-format", "epoch"},
			{"export", "-r", in, "--format", "parquet", "-o", o("x.parquet"), "--row-group-size", "16384"},
			{"export", "-r", in, "-r", in, "--format", "csv", "-o", o("ds") + "/", "--partition", "hour"},
			{"export", "-r", in, "--format", "json", "--analysis", "tcp port 80"},
			{"filter", "-r", in, "-w", o("f.pcapng"), "--format", "pcapng", "tcp or udp"},
			{"filter", "-r", in, "-w", o("a.pcap"), "--analysis", "any", "-s", "60"},
			{"merge", "-w", o("m.pcap"), in, in},
			{"split", "-r", in, "-w", o("s.pcap"), "--packets", "3"},
			{"split", "-r", in, "-w", o("fl.pcap"), "--flows"},
			{"info", in},
		} {
			code, stdout, stderr := pcaptkRun(t, nil, args...)
			if code != exitOK && code != exitFailure {
				t.Fatalf("%v: exit %d\n%s", args, code, stderr)
			}
			if code == exitFailure && strings.Count(stderr, "\n") == 0 {
				t.Fatalf("%v: exit 1 without a message", args)
			}
			if args[0] == "split" {
				for _, p := range strings.Fields(stdout) {
					if _, err := capturePackets(t, p); err != nil {
						t.Fatalf("%v wrote %s, which does not read back: %v", args, p, err)
					}
				}
			}
		}
		for _, p := range []string{o("f.pcapng"), o("m.pcap"), o("a.pcap")} {
			if _, err := os.Stat(p); err == nil {
				if _, err := capturePackets(t, p); err != nil {
					t.Fatalf("%s does not read back: %v", p, err)
				}
			}
		}
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(p, ".pcaptk-tmp") {
				t.Fatalf("temporary left behind: %s", p)
			}
			return nil
		})
	})
}
