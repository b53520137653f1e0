package tcpdump

import (
	"bufio"
	"io"
	"strconv"
	"time"

	"github.com/pcaptk/pcaptk/internal/numfmt"
	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// Time stamp formats, as tcpdump's -t flags select them.
const (
	TimeDefault    = iota // HH:MM:SS.frac in the local time zone
	TimeNone              // -t
	TimeEpoch             // -tt
	TimeDelta             // -ttt: since the previous packet
	TimeDate              // -tttt: date and time
	TimeSinceFirst        // -ttttt: since the first packet
)

// Options select what the printer prints; each field is one of
// tcpdump's flags.
type Options struct {
	NoPortNames bool // -nn: print port numbers, not /etc/services names
	AbsoluteSeq bool // -S
	TimeFormat  int  // TimeDefault … TimeSinceFirst
	Nano        bool // --nano: nine fractional digits
	Link        bool // -e: print the link-level header
	Hex         int  // -x (1) / -xx (2): hex dump without / with the link header
	HexASCII    int  // -X (1) / -XX (2): hex and ASCII dump
	ASCII       int  // -A (1) / -AA (2): ASCII dump without / with the link header
	Quiet       bool // -q
	Verbose     int  // -v count
	Number      bool // -#: the packet's number, from 1, before each line (Print)
	NoChecksums bool // -K: leave IP and TCP checksums unchecked under -v
	// LineBuffered writes each packet's text out at once (-l, -U) instead of
	// when the buffer fills.
	LineBuffered bool
	// Location for TimeDefault and TimeDate; nil means time.Local (TZ).
	Location *time.Location
	// IfName names a Linux interface index for cooked v2 captures, as tcpdump
	// does with if_indextoname on the machine that reads the file. Nil means
	// the local machine's names.
	IfName func(index uint32) string
}

// Printer writes packets as the lines tcpdump prints. It keeps tcpdump's
// per-connection state for relative sequence numbers, so one Printer must see the
// packets of a capture in order. Call Flush when done.
type Printer struct {
	w        *bufio.Writer
	o        Options
	buf      []byte
	seq      decode.SeqTracker
	refSec   int64 // -ttt/-ttttt reference time, as timeval returns it
	refFrac  int64
	services *Services
	n        uint64 // packets printed, for -#
	// numbered is set when packets are numbered (-#) or written out one by
	// one (-l, -U): Print takes printNumbered then, leaving the common path
	// one test longer.
	numbered  bool
	ifnames   map[uint32]string
	ifnamesAt time.Time
	err       error
	clockBuf  [32]byte // the formatted date/time of second clockSec
	clockSec  int64
	clockLen  int
	// jumped is set while printing a packet when tcpdump's printer would have
	// been aborted by reading past the captured bytes; its dumps then start at
	// the packet's first byte, link header included.
	jumped bool
	// note is what PrintNote puts after the TCP line's "length N"; noteDone
	// is set once it is placed.
	note     []byte
	noteDone bool
}

// NewPrinter returns a printer writing to w.
func NewPrinter(w io.Writer, o Options) *Printer {
	if o.Location == nil {
		o.Location = time.Local
	}
	t := &Printer{w: bufio.NewWriterSize(w, 1<<20), o: o, buf: make([]byte, 0, 4096),
		numbered: o.Number || o.LineBuffered}
	if !o.NoPortNames {
		t.services = LoadServices()
	}
	return t
}

// Print writes the line (and the dumps the options ask for) of one packet. rec
// must be p decoded with decode.Decode. The first write error is kept and
// returned by every later call.
func (t *Printer) Print(p *reader.Packet, rec *decode.Record) error {
	if t.err != nil {
		return t.err
	}
	if t.numbered {
		return t.printNumbered(p, rec)
	}
	t.buf = t.AppendPacket(t.buf[:0], p, rec)
	if _, err := t.w.Write(t.buf); err != nil {
		t.err = err
	}
	return t.err
}

// PrintNote is Print with note (when not empty) put after the TCP length, as
// read --analysis puts Wireshark's words there: " " and note follow "length N"
// (-q: "tcp N"), before an application summary and the dumps; on a packet
// whose TCP line has no length (a header too short or cut), they end its line.
func (t *Printer) PrintNote(p *reader.Packet, rec *decode.Record, note []byte) error {
	t.note = note
	err := t.Print(p, rec)
	t.note = nil
	return err
}

// printNumbered is Print with -# (the packet's number first) or -l/-U (the
// text written out at once).
func (t *Printer) printNumbered(p *reader.Packet, rec *decode.Record) error {
	b := t.buf[:0]
	if t.o.Number {
		t.n++
		b = appendNumber(b, t.n)
	}
	t.buf = t.AppendPacket(b, p, rec)
	if _, err := t.w.Write(t.buf); err != nil {
		t.err = err
	} else if t.o.LineBuffered {
		t.err = t.w.Flush()
	}
	return t.err
}

// Flush writes any buffered lines.
func (t *Printer) Flush() error {
	if t.err != nil {
		return t.err
	}
	t.err = t.w.Flush()
	return t.err
}

// AppendPacket appends the full text of one packet, ending in a newline
// (without -#'s number, which Print puts first).
func (t *Printer) AppendPacket(b []byte, p *reader.Packet, rec *decode.Record) []byte {
	if bad := invalidHeader(b, p); len(bad) > len(b) {
		return append(bad, '\n')
	}
	t.jumped = false
	t.noteDone = false
	b = t.appendTime(b, p)
	b = t.appendLink(b, p, rec)
	b = t.appendNetwork(b, p, rec)
	b = t.appendNote(b)
	linkLen := rec.NetOff
	if t.jumped {
		linkLen = 0
	}
	switch {
	case t.o.HexASCII > 0:
		if t.o.HexASCII > 1 {
			b = appendHexASCII(b, p.Data)
		} else if len(p.Data) > linkLen {
			b = appendHexASCII(b, p.Data[linkLen:])
		}
	case t.o.Hex > 0:
		if t.o.Hex > 1 {
			b = appendHex(b, p.Data)
		} else if len(p.Data) > linkLen {
			b = appendHex(b, p.Data[linkLen:])
		}
	case t.o.ASCII > 1:
		b = appendASCII(b, p.Data)
	case t.o.ASCII > 0:
		if len(p.Data) > linkLen {
			b = appendASCII(b, p.Data[linkLen:])
		}
	}
	return append(b, '\n')
}

// appendNote appends the packet's note, unless it is empty or placed already.
func (t *Printer) appendNote(b []byte) []byte {
	if len(t.note) == 0 || t.noteDone {
		return b
	}
	t.noteDone = true
	b = append(b, ' ')
	return append(b, t.note...)
}

// appendNumber appends -#'s packet number as tcpdump's "%5u  " does.
func appendNumber(b []byte, n uint64) []byte {
	for w := uint64(10000); w > 1 && n < w; w /= 10 {
		b = append(b, ' ')
	}
	b = appendUint(b, n)
	return append(b, ' ', ' ')
}

// invalidHeader appends tcpdump's complaint about a record header that cannot
// be right (nothing captured, nothing on the wire, more captured than sent,
// lengths past 256 KiB); it appends nothing for a sound header.
func invalidHeader(b []byte, p *reader.Packet) []byte {
	const maxSnaplen = 262144
	n := len(b)
	item := func(b []byte) []byte {
		if len(b) == n {
			return append(b, "[Invalid header:"...)
		}
		return append(b, ',')
	}
	capLen := uint32(len(p.Data))
	if capLen == 0 {
		b = append(b, "[Invalid header: caplen==0"...)
	}
	if p.WireLen == 0 {
		b = append(item(b), " len==0"...)
	} else if p.WireLen < capLen {
		b = append(item(b), " len("...)
		b = appendUint(b, uint64(p.WireLen))
		b = append(b, ") < caplen("...)
		b = appendUint(b, uint64(capLen))
		b = append(b, ')')
	}
	if capLen > maxSnaplen {
		b = append(item(b), " caplen("...)
		b = appendUint(b, uint64(capLen))
		b = append(b, ") > 262144"...)
	}
	if p.WireLen > maxSnaplen {
		b = append(item(b), " len("...)
		b = appendUint(b, uint64(p.WireLen))
		b = append(b, ") > 262144"...)
	}
	if len(b) > n {
		b = append(b, ']')
	}
	return b
}

// timeval returns the packet's time as tcpdump gets it from libpcap: seconds
// as a 64-bit time_t and the fraction in the printed unit (µs, or ns with
// --nano), which tcpdump formats and subtracts as they are.
func (t *Printer) timeval(p *reader.Packet) (sec, frac int64) {
	if p.FracUnits == 0 {
		// pcapng and live packets: libpcap computes 64-bit seconds and a
		// fraction in [0, 1 s), truncated to microseconds without --nano.
		sec, frac = numfmt.SplitNS(p.Timestamp)
		if !t.o.Nano {
			frac /= 1000
		}
		return sec, frac
	}
	// A pcap record's fields reach tcpdump as libpcap reads them: signed 32-bit
	// numbers (so seconds from 2^31 on are negative), the fraction as stored
	// even when it is a second or more, scaled to the printed unit in 64 bits
	// (a nanosecond field is divided, as a signed number, by 1000).
	unitNs := int64(1e9) / int64(p.FracUnits)
	sec = int64(int32(uint32((p.Timestamp - int64(p.RawFrac)*unitNs) / 1e9)))
	frac = int64(int32(p.RawFrac))
	switch {
	case t.o.Nano && p.FracUnits == 1e6:
		frac *= 1000
	case !t.o.Nano && p.FracUnits == 1e9:
		frac /= 1000
	}
	return sec, frac
}

// errConvertingTime is what tcpdump 4.99 prints for a time whose seconds, taken
// as 32 bits, have the top bit set: from 2^31 to 2^32 s and every 2^32 s after,
// most negative times, and differences of 2^31 s or more between packets.
const errConvertingTime = "[Error converting time]"

func timeFails(sec int64) bool { return uint32(sec)&0x80000000 != 0 }

func (t *Printer) appendTime(b []byte, p *reader.Packet) []byte {
	if t.o.TimeFormat == TimeNone {
		return b
	}
	sec, frac := t.timeval(p)
	switch t.o.TimeFormat {
	case TimeEpoch:
		if timeFails(sec) {
			return append(b, errConvertingTime+" "...)
		}
		// tcpdump prints the seconds as an unsigned 32-bit number: from 2^32 s
		// on they wrap around.
		b = appendUint(b, uint64(uint32(sec)))
		b = t.appendFrac(b, frac)
	case TimeDelta, TimeSinceFirst:
		// tcpdump keeps the reference time in a timeval that counts as unset
		// while it is zero: a packet at exactly 0 s becomes no reference.
		if t.refSec == 0 && t.refFrac == 0 {
			t.refSec, t.refFrac = sec, frac
		}
		neg := sec < t.refSec || sec == t.refSec && frac < t.refFrac
		ds, df := sec-t.refSec, frac-t.refFrac
		if neg {
			ds, df = -ds, -df
			b = append(b, '-')
		} else {
			b = append(b, ' ')
		}
		if df < 0 {
			ds--
			df += t.fracUnit()
		}
		if t.o.TimeFormat == TimeDelta {
			t.refSec, t.refFrac = sec, frac
		}
		if timeFails(ds) {
			return append(b, errConvertingTime+" "...)
		}
		// The difference is formatted as a time of day: whole days drop out.
		s := ds % 86400
		b = appendClock(b, int(s/3600), int(s/60%60), int(s%60))
		b = t.appendFrac(b, df)
	default:
		if timeFails(sec) {
			return append(b, errConvertingTime+" "...)
		}
		// Packets come many to a second: format each second once.
		if sec != t.clockSec || t.clockLen == 0 {
			c := t.clockBuf[:0]
			tm := time.Unix(sec, 0).In(t.o.Location)
			if t.o.TimeFormat == TimeDate {
				y, mo, d := tm.Date()
				c = appendInt(c, y, 4)
				c = append(c, '-')
				c = appendInt(c, int(mo), 2)
				c = append(c, '-')
				c = appendInt(c, d, 2)
				c = append(c, ' ')
			}
			h, m, s := tm.Clock()
			c = appendClock(c, h, m, s)
			t.clockSec, t.clockLen = sec, len(c)
		}
		b = append(b, t.clockBuf[:t.clockLen]...)
		b = t.appendFrac(b, frac)
	}
	return append(b, ' ')
}

func (t *Printer) fracUnit() int64 {
	if t.o.Nano {
		return 1e9
	}
	return 1e6
}

// appendFrac appends the fraction as tcpdump's ".%06u" or ".%09u" does: an
// out-of-range value as its unsigned 32 bits, longer than six or nine digits.
func (t *Printer) appendFrac(b []byte, frac int64) []byte {
	b = append(b, '.')
	if t.o.Nano {
		return appendInt(b, int(uint32(frac)), 9)
	}
	return appendInt(b, int(uint32(frac)), 6)
}

func appendClock(b []byte, h, m, s int) []byte {
	b = appendInt(b, h, 2)
	b = append(b, ':')
	b = appendInt(b, m, 2)
	b = append(b, ':')
	return appendInt(b, s, 2)
}

// appendInt appends v (not negative) zero-padded to width digits, two digits
// a step.
func appendInt(b []byte, v, width int) []byte {
	var tmp [20]byte
	i := len(tmp)
	for v >= 100 {
		q := v / 100
		d := (v - q*100) * 2
		i -= 2
		tmp[i], tmp[i+1] = digitPairs[d], digitPairs[d+1]
		v = q
		width -= 2
	}
	if v >= 10 {
		i -= 2
		tmp[i], tmp[i+1] = digitPairs[v*2], digitPairs[v*2+1]
		width -= 2
	} else {
		i--
		tmp[i] = byte('0' + v)
		width--
	}
	for ; width > 0; width-- {
		i--
		tmp[i] = '0'
	}
	return append(b, tmp[i:]...)
}

const digitPairs = numfmt.DigitPairs

func appendUint(b []byte, v uint64) []byte { return numfmt.AppendUint(b, v) }

const hexdig = "0123456789abcdef"

func appendHex16(b []byte, v uint16) []byte {
	return append(b, hexdig[v>>12], hexdig[v>>8&15], hexdig[v>>4&15], hexdig[v&15])
}

// appendHexMin appends v in lower-case hex without leading zeros (printf %x).
func appendHexMin(b []byte, v uint64) []byte { return strconv.AppendUint(b, v, 16) }
