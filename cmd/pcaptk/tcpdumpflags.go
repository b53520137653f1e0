package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/pcaptk/pcaptk/pkg/capture"
	"github.com/pcaptk/pcaptk/pkg/filter"
	"github.com/pcaptk/pcaptk/pkg/tcpdump"
)

// textFlags are tcpdump's printing flags, shared by read and capture.
type textFlags struct {
	n, t, x, X, v, A int
	S, e, q          bool
	number           bool   // -#
	noChecksums      bool   // -K
	noDomains        bool   // -N: pcaptk prints no host names, so no domains to leave out
	lineBuffered     bool   // -l
	packetBuffered   bool   // -U
	precision        string // "micro" or "nano": --micro, --nano, --time-stamp-precision
}

// addTextFlags registers tcpdump's printing flags on fs.
func addTextFlags(fs *pflag.FlagSet, f *textFlags) {
	fs.CountVarP(&f.n, "numeric", "n", "print port numbers instead of /etc/services names (-nn is the same; pcaptk never looks up host names)")
	fs.BoolVarP(&f.noDomains, "no-domain", "N", false, "print host names without their domain (pcaptk prints no host names: no effect)")
	fs.BoolVarP(&f.S, "absolute-tcp-sequence-numbers", "S", false, "print absolute TCP sequence numbers")
	fs.CountVarP(&f.t, "time", "t", "-t: no time stamp; -tt: seconds since the epoch; -ttt: delta since the previous packet; -tttt: date and time; -ttttt: delta since the first packet")
	f.precision = "micro"
	prec := precisionFlag{&f.precision}
	fs.Var(prec, "time-stamp-precision", "time stamps in `micro` or nano seconds")
	fs.VarPF(prec, "nano", "", "print (and with capture -w, write) time stamps with nanoseconds").NoOptDefVal = "nano"
	fs.VarPF(prec, "micro", "", "print time stamps with microseconds (the default)").NoOptDefVal = "micro"
	fs.BoolVarP(&f.number, "number", "#", false, "print each packet's number, from 1, at the start of its line")
	fs.BoolVarP(&f.e, "link", "e", false, "print the link-level header")
	fs.CountVarP(&f.x, "hex", "x", "print the packet in hex (-xx: with the link header)")
	fs.CountVarP(&f.X, "hex-ascii", "X", "print the packet in hex and ASCII (-XX: with the link header)")
	fs.CountVarP(&f.A, "ascii", "A", "print the packet in ASCII (-AA: with the link header)")
	fs.BoolVarP(&f.q, "quiet", "q", false, "print less protocol information (and no \"reading from\" or \"listening on\" lines)")
	fs.CountVarP(&f.v, "verbose", "v", "print more (IP TTL, id, length, TCP checksum)")
	fs.BoolVarP(&f.noChecksums, "dont-verify-checksums", "K", false, "do not check IP and TCP checksums under -v")
	fs.BoolVarP(&f.lineBuffered, "line-buffered", "l", false, "write each packet's line out at once (for | tee, tail -f)")
	fs.BoolVarP(&f.packetBuffered, "packet-buffered", "U", false, "write each packet out at once: printed lines, and -w files")
}

func (f *textFlags) options() tcpdump.Options {
	o := tcpdump.Options{
		NoPortNames:  f.n >= 1, // tcpdump 4.99: -n already numbers ports
		AbsoluteSeq:  f.S,
		Nano:         f.precision == "nano",
		Link:         f.e,
		Hex:          f.x,
		HexASCII:     f.X,
		ASCII:        f.A,
		Quiet:        f.q,
		Verbose:      f.v,
		Number:       f.number,
		NoChecksums:  f.noChecksums,
		LineBuffered: f.lineBuffered || f.packetBuffered,
	}
	switch {
	case f.t == 0:
		o.TimeFormat = tcpdump.TimeDefault
	case f.t >= 5:
		o.TimeFormat = tcpdump.TimeSinceFirst
	default:
		o.TimeFormat = [...]int{0, tcpdump.TimeNone, tcpdump.TimeEpoch, tcpdump.TimeDelta, tcpdump.TimeDate}[f.t]
	}
	return o
}

// check refuses what tcpdump refuses. (tcpdump 4.99 says nothing about dumps
// that exclude each other: -X wins over -x, -x over -A.)
func (f *textFlags) check() error {
	if f.t > 5 {
		return usageErrorf("only -t, -tt, -ttt, -tttt and -ttttt are supported")
	}
	return nil
}

// precisionFlag is the time stamp precision that --micro, --nano and
// --time-stamp-precision all set: the last one given wins, as in tcpdump.
type precisionFlag struct{ p *string }

func (v precisionFlag) String() string { return *v.p }
func (v precisionFlag) Type() string   { return "precision" }

// Set takes what tcpdump takes: a word starting with "micro" or "nano".
func (v precisionFlag) Set(s string) error {
	switch {
	case strings.HasPrefix(s, "nano"):
		*v.p = "nano"
	case strings.HasPrefix(s, "micro"):
		*v.p = "micro"
	default:
		return fmt.Errorf("unsupported time stamp precision %q (micro or nano)", s)
	}
	return nil
}

// tcpdumpFlags are tcpdump 4.99's other options that read and capture both
// take: capture uses them, read checks them as tcpdump does and, where tcpdump
// -r ignores them, ignores them too.
type tcpdumpFlags struct {
	text        textFlags
	count       int    // -c
	countOnly   bool   // --count
	dump        int    // -d, -dd, -ddd
	noOptimize  bool   // -O
	filterFile  string // -F
	write       string // -w
	print       bool   // --print
	linkType    string // -y
	listLinks   bool   // -L
	direction   string // -Q
	monitor     bool   // -I
	tstampType  string // -j
	listTstamps bool   // -J
	snaplen     int    // -s
	bufferKiB   int    // -B
	noPromisc   bool   // -p
	immediate   bool   // --immediate-mode
	user        string // -Z
	listIfaces  bool   // -D
	foreign     bool   // -f
	compat      bool   // -a: accepted and ignored, as tcpdump does
	version     bool
	refused     []refusal
}

// addTcpdumpFlags registers the options read and capture share; bufferKiB is
// -B's default.
func addTcpdumpFlags(fs *pflag.FlagSet, f *tcpdumpFlags, bufferKiB int) {
	fs.IntVarP(&f.count, "max-count", "c", 0, "stop after `N` packets (of each input, with read)")
	fs.BoolVar(&f.countOnly, "count", false, "print only the number of packets that match, not the packets")
	fs.StringVarP(&f.filterFile, "filter-file", "F", "", "read the filter expression from `FILE` ('#' starts a comment)")
	fs.CountVarP(&f.dump, "dump-filter", "d", "print the compiled filter for the input's link type and stop (-dd: as C, -ddd: as decimal numbers)")
	fs.BoolVarP(&f.noOptimize, "no-optimize", "O", false, "with -d: leave libpcap's filter optimizer out")
	fs.BoolVar(&f.print, "print", false, "print the packets even while writing them with -w")
	fs.StringVarP(&f.linkType, "linktype", "y", "", "capture with data link type `TYPE` (see -L), or compile -d's filter for it")
	fs.BoolVarP(&f.listLinks, "list-data-link-types", "L", false, "list the interface's data link types and stop")
	fs.StringVarP(&f.direction, "direction", "Q", "", "capture only packets received (`in`), sent (out) or both (inout)")
	fs.BoolVarP(&f.monitor, "monitor-mode", "I", false, "put the Wi-Fi interface in monitor mode")
	fs.StringVarP(&f.tstampType, "time-stamp-type", "j", "", "time stamp `TYPE` of the capture (see -J)")
	fs.BoolVarP(&f.listTstamps, "list-time-stamp-types", "J", false, "list the interface's time stamp types and stop")
	fs.IntVarP(&f.snaplen, "snapshot-length", "s", capture.DefaultSnaplen, "keep at most `N` bytes of each packet (0: 262144)")
	fs.IntVarP(&f.bufferKiB, "buffer-size", "B", bufferKiB, "kernel capture buffer in `KiB`")
	fs.BoolVarP(&f.noPromisc, "no-promiscuous-mode", "p", false, "do not put the interface in promiscuous mode")
	fs.BoolVar(&f.immediate, "immediate-mode", false, "deliver each packet at once instead of in batches (more CPU)")
	fs.StringVarP(&f.user, "relinquish-privileges", "Z", "", "when root, switch to `USER` once the inputs or interfaces are open")
	fs.BoolVarP(&f.listIfaces, "list-interfaces", "D", false, "list the interfaces available for capture and stop")
	fs.BoolVarP(&f.foreign, "numeric-foreign", "f", false, "print foreign IPv4 addresses numerically (pcaptk always does)")
	fs.BoolVarP(&f.compat, "compat-a", "a", false, "accepted for compatibility, as tcpdump does; no effect")
	fs.BoolVar(&f.version, "version", false, "print pcaptk's and libpcap's versions and stop")
	fs.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		switch name { // pcaptk's earlier names for tcpdump's options
		case "snaplen":
			name = "snapshot-length"
		case "immediate":
			name = "immediate-mode"
		}
		return pflag.NormalizedName(name)
	})
	for _, h := range []string{"compat-a", "numeric-foreign"} {
		fs.MarkHidden(h)
	}
	addTextFlags(fs, &f.text)
	f.refused = addRefused(fs, commonRefusals)
}

// check validates the values as tcpdump does when it parses them.
func (f *tcpdumpFlags) check(fs *pflag.FlagSet, errOut io.Writer) error {
	if err := checkRefused(fs, f.refused); err != nil {
		return err
	}
	if err := f.text.check(); err != nil {
		return err
	}
	switch {
	case fs.Changed("max-count") && f.count <= 0:
		return usageErrorf("invalid packet count %d", f.count)
	case fs.Changed("buffer-size") && f.bufferKiB <= 0:
		return usageErrorf("invalid packet buffer size %d", f.bufferKiB)
	case f.snaplen < 0 || f.snaplen > capture.DefaultSnaplen:
		return usageErrorf("invalid snaplen %d (must be >= 0 and <= %d)", f.snaplen, capture.DefaultSnaplen)
	}
	if f.linkType != "" {
		if _, ok := filter.DLTByName(f.linkType); !ok {
			return usageErrorf("invalid data link type %s", f.linkType)
		}
	}
	if f.tstampType != "" {
		if err := capture.CheckTimestampType(f.tstampType); err != nil {
			return &usageError{err}
		}
	}
	switch strings.ToLower(f.direction) {
	case "", "in", "out", "inout":
	default:
		return usageErrorf("unknown capture direction `%s'", f.direction)
	}
	return nil
}

// refusal is a tcpdump option that pcaptk accepts only to say why it cannot
// apply, in one line, rather than "unknown flag".
type refusal struct {
	short, long string
	arg         bool   // takes a value
	why         string // what the error says after the option
	value       *string
	seen        *bool
}

// commonRefusals are tcpdump options that neither read nor capture can apply.
var commonRefusals = []refusal{
	{short: "E", long: "esp-secret", arg: true, why: "pcaptk does not decrypt IPsec ESP"},
	{short: "M", long: "tcp-md5-secret", arg: true, why: "pcaptk does not validate TCP-MD5 signatures"},
	{short: "T", long: "packet-type", arg: true},
	{short: "b", long: "bgp-asdot", why: "pcaptk does not decode BGP AS paths"},
	{short: "H", long: "mesh-headers", why: "pcaptk does not decode 802.11 (no mesh headers to detect)"},
	{short: "m", long: "mib-module", arg: true, why: "pcaptk does not decode SNMP (no MIB to load)"},
	{short: "u", long: "undecoded-nfs-handles", why: "pcaptk does not decode NFS"},
	{short: "Y", long: "debug-filter-parser", why: "libpcap's filter parser debugging is not available"},
	{long: "fp-type", why: "pcaptk's output holds no floating-point arithmetic to report on"},
}

// packetTypes are the names tcpdump's -T takes.
var packetTypes = []string{"aodv", "carp", "cnfp", "domain", "lmp", "pgm", "pgm_zmtp1", "ptp", "radius",
	"resp", "rpc", "rtcp", "rtp", "snmp", "someip", "tftp", "vat", "vxlan", "wb", "zmtp1"}

// addRefused registers the refused options (hidden from --help: docs/read.md
// lists them) and returns them ready for checkRefused.
func addRefused(fs *pflag.FlagSet, rs []refusal) []refusal {
	out := make([]refusal, len(rs))
	for i, r := range rs {
		r.value, r.seen = new(string), new(bool)
		if r.arg {
			fs.StringVarP(r.value, r.long, r.short, "", r.why)
		} else {
			fs.BoolVarP(r.seen, r.long, r.short, false, r.why)
		}
		fs.MarkHidden(r.long)
		out[i] = r
	}
	return out
}

// checkRefused returns the one-line error for the first refused option given.
func checkRefused(fs *pflag.FlagSet, rs []refusal) error {
	for _, r := range rs {
		if !fs.Changed(r.long) {
			continue
		}
		name := "--" + r.long
		if r.short != "" {
			name = "-" + r.short
		}
		if r.short == "T" {
			return packetTypeError(*r.value)
		}
		return usageErrorf("%s: %s", name, r.why)
	}
	return nil
}

func packetTypeError(t string) error {
	for _, known := range packetTypes {
		if strings.EqualFold(t, known) {
			return usageErrorf("-T %s: pcaptk decodes protocols by their port, as tcpdump does without -T, and cannot force a decoder", t)
		}
	}
	return usageErrorf("unknown packet type `%s'", t)
}

func printVersion(w io.Writer) error {
	_, err := fmt.Fprintf(w, "pcaptk version %s\n%s\n", version, filter.LibpcapVersion())
	return err
}
