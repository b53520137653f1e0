package main

import (
	"slices"
	"strings"
	"testing"
)

// TestExpandLongOptions: long options by unambiguous prefix, as getopt_long
// takes them, without touching option values, short groups or what follows --.
func TestExpandLongOptions(t *testing.T) {
	root := newRootCmd(&streams{})
	for _, tc := range []struct {
		in, want []string
		err      string
	}{
		{[]string{"read", "--numb", "-r", "x"}, []string{"read", "--number", "-r", "x"}, ""},
		{[]string{"read", "--time-stamp-p=nano"}, []string{"read", "--time-stamp-precision=nano"}, ""},
		{[]string{"read", "--time-stamp-p", "nano"}, []string{"read", "--time-stamp-precision", "nano"}, ""},
		{[]string{"read", "-F", "--numb", "--numb"}, []string{"read", "-F", "--numb", "--number"}, ""},
		{[]string{"read", "-nF", "--numb"}, []string{"read", "-nF", "--numb"}, ""},
		{[]string{"read", "-Fx", "--numb"}, []string{"read", "-Fx", "--number"}, ""},
		{[]string{"read", "-r", "--numb", "tcp"}, []string{"read", "-r", "--numb", "tcp"}, ""},
		{[]string{"read", "--", "--numb"}, []string{"read", "--", "--numb"}, ""},
		{[]string{"read", "--bogus"}, []string{"read", "--bogus"}, ""},
		{[]string{"read", "--snaplen", "0"}, []string{"read", "--snaplen", "0"}, ""},
		{[]string{"capture", "--immediate", "-i", "lo"}, []string{"capture", "--immediate", "-i", "lo"}, ""},
		{[]string{"capture", "--list-d"}, []string{"capture", "--list-data-link-types"}, ""},
		{[]string{"read", "--n"}, nil, "option '--n' is ambiguous; possibilities:"},
		{[]string{"export", "--col", "frame", "-r", "x"}, []string{"export", "--columns", "frame", "-r", "x"}, ""},
		{[]string{"nosuchcommand", "--numb"}, []string{"nosuchcommand", "--numb"}, ""},
	} {
		got, err := expandArgs(root, tc.in)
		switch {
		case tc.err != "":
			if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
				t.Errorf("%v: error %v, want %q", tc.in, err, tc.err)
			}
		case err != nil || !slices.Equal(got, tc.want):
			t.Errorf("%v: %v (%v), want %v", tc.in, got, err, tc.want)
		}
	}
}

// TestAbbreviationsAsTcpdump: tcpdump refuses an ambiguous prefix too.
func TestAbbreviationsAsTcpdump(t *testing.T) {
	needTcpdump(t)
	_, _, wantErr := tcpdumpRun(t, "", "--n", "-r", "x")
	code, _, gotErr := pcaptkRun(t, nil, "read", "--n", "-r", "x")
	const msg = "option '--n' is ambiguous; possibilities:"
	if !strings.Contains(wantErr, msg) || !strings.Contains(gotErr, msg) || code != exitUsage {
		t.Errorf("pcaptk (exit %d): %s\ntcpdump: %s", code, gotErr, wantErr)
	}
}

// TestTcpdumpOptionsRefused: every tcpdump option pcaptk cannot apply, and
// every value tcpdump refuses, gives one line saying why and exit 2, never
// "unknown flag"; each refusal is checked before any input or interface is
// opened.
func TestTcpdumpOptionsRefused(t *testing.T) {
	common := []struct {
		args []string
		want string
	}{
		{[]string{"-E", "esp:secret"}, "-E: pcaptk does not decrypt IPsec ESP"},
		{[]string{"-M", "secret"}, "-M: pcaptk does not validate TCP-MD5"},
		{[]string{"-T", "rtp"}, "-T rtp: pcaptk decodes protocols by their port"},
		{[]string{"-T", "nothing"}, "unknown packet type `nothing'"},
		{[]string{"-b"}, "-b: pcaptk does not decode BGP"},
		{[]string{"-nbq"}, "-b: pcaptk does not decode BGP"},
		{[]string{"-H"}, "-H: pcaptk does not decode 802.11"},
		{[]string{"-m", "mib"}, "-m: pcaptk does not decode SNMP"},
		{[]string{"-u"}, "-u: pcaptk does not decode NFS"},
		{[]string{"-Y"}, "-Y: libpcap's filter parser debugging"},
		{[]string{"--fp-type"}, "--fp-type:"},
		{[]string{"-c", "0"}, "invalid packet count 0"},
		{[]string{"-B", "0"}, "invalid packet buffer size 0"},
		{[]string{"-s", "300000"}, "invalid snaplen 300000"},
		{[]string{"-Q", "sideways"}, "unknown capture direction `sideways'"},
		{[]string{"-y", "NOSUCHLINK"}, "invalid data link type NOSUCHLINK"},
		{[]string{"-j", "nosuchclock"}, "invalid time stamp type nosuchclock"},
		{[]string{"--time-stamp-precision=pico"}, "unsupported time stamp precision"},
		{[]string{"-tttttt"}, "only -t, -tt, -ttt, -tttt and -ttttt are supported"},
	}
	for _, cmd := range []string{"read", "capture"} {
		cases := append([]struct {
			args []string
			want string
		}{}, common...)
		if cmd == "read" {
			cases = append(cases, []struct {
				args []string
				want string
			}{
				{[]string{"-i", "eth0"}, "read takes capture files"},
				{[]string{"-C", "10"}, "-C: read does not cut its output"},
				{[]string{"-G", "60"}, "-G: read does not cut its output"},
				{[]string{"-W", "3"}, "-W: read does not cut its output"},
				{[]string{"-z", "gzip"}, "-z: read does not cut its output"},
				{[]string{"-f"}, "-f can not be used with -V or -r"},
				{[]string{"--print"}, "--print goes with -w"},
			}...)
		} else {
			cases = append(cases, []struct {
				args []string
				want string
			}{
				{[]string{"-r", "x.pcap"}, "capture reads interfaces"},
				{[]string{"-V", "list"}, "capture reads interfaces"},
				{[]string{"-O"}, "-O: libpcap's optimizer always runs"},
				{[]string{"--print"}, "--print goes with -w"},
			}...)
		}
		for _, tc := range cases {
			args := append([]string{cmd}, tc.args...)
			if cmd == "read" {
				args = append(args, "-r", "/nonexistent/x.pcap")
			} else {
				args = append(args, "-i", "nosuchiface0")
			}
			code, out, stderr := pcaptkRun(t, nil, args...)
			if code != exitUsage || out != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) ||
				strings.Contains(stderr, "unknown flag") || strings.Contains(stderr, "unknown shorthand") {
				t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line with %q", args, code, stderr, tc.want)
			}
		}
	}
}
