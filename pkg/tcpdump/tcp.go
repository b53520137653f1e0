package tcpdump

import (
	"encoding/binary"

	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

var be = binary.BigEndian

// appendTCP appends tcpdump's TCP line from the addresses on: ports, flags,
// sequence numbers, window, options, length and the application summary; a
// note (PrintNote) goes after the length, or ends the line when it has none.
func (t *Printer) appendTCP(b []byte, p *reader.Packet, rec *decode.Record) []byte {
	return t.appendNote(t.appendTCPLine(b, p, rec))
}

func (t *Printer) appendTCPLine(b []byte, p *reader.Packet, rec *decode.Record) []byte {
	v := rec.IPVersion
	data := p.Data[:rec.End]
	off := rec.TransOff
	if len(data) < off+4 {
		b = decode.AppendIP(b, rec.SrcIP, v)
		b = append(b, " > "...)
		b = decode.AppendIP(b, rec.DstIP, v)
		return append(b, ": [|tcp]"...)
	}
	if rec.NExt > 0 && v == 6 {
		// tcpdump names only the ports when extension headers came between.
		b = t.appendPort(b, rec.SrcPort, decode.ProtoTCP)
		b = append(b, " > "...)
		b = t.appendPort(b, rec.DstPort, decode.ProtoTCP)
	} else {
		b = t.appendAddrPort(b, rec.SrcIP, v, rec.SrcPort, decode.ProtoTCP)
		b = append(b, " > "...)
		b = t.appendAddrPort(b, rec.DstIP, v, rec.DstPort, decode.ProtoTCP)
	}
	b = append(b, ": "...)
	if len(data) < off+20 {
		return append(b, " [|tcp]"...)
	}
	hlen := int(rec.DataOff)
	length := rec.L4Len
	if hlen < 20 {
		b = append(b, " tcp "...)
		b = appendUint(b, uint64(uint32(length-hlen)))
		b = append(b, " [bad hdr length "...)
		b = appendUint(b, uint64(hlen))
		return append(b, " - too short, < 20]"...)
	}
	if t.o.Quiet {
		b = append(b, "tcp "...)
		b = appendUint(b, uint64(uint32(length-hlen)))
		if hlen > length {
			b = appendBadHdrLen(b, hlen, length)
		}
		return t.appendNote(b)
	}
	flags := uint8(rec.Flags)
	b = append(b, "Flags ["...)
	b = AppendTCPFlags(b, uint16(flags))
	b = append(b, ']')

	seq, ack := rec.Seq, rec.Ack
	var thseq, thack uint32
	var rev bool
	if !t.o.AbsoluteSeq {
		seq, ack, thseq, thack, rev = t.seq.Relative(rec)
	}
	if hlen > length {
		return appendBadHdrLen(b, hlen, length)
	}
	if t.o.Verbose > 0 && !t.o.NoChecksums && !rec.LaterFragment && len(data) >= off+length {
		b = t.appendTCPChecksum(b, data, rec, length)
	}
	length -= hlen
	if t.o.Verbose > 1 || length > 0 || flags&(decode.SYN|decode.FIN|decode.RST) != 0 {
		b = append(b, ", seq "...)
		b = appendUint(b, uint64(seq))
		if length > 0 {
			b = append(b, ':')
			b = appendUint(b, uint64(seq+uint32(length)))
		}
	}
	if flags&decode.ACK != 0 {
		b = append(b, ", ack "...)
		b = appendUint(b, uint64(ack))
	}
	b = append(b, ", win "...)
	b = appendUint(b, uint64(rec.Window))
	if flags&decode.URG != 0 {
		b = append(b, ", urg "...)
		b = appendUint(b, uint64(rec.Urgent))
	}
	if hlen > 20 {
		var stop bool
		b = append(b, ", options ["...)
		// The option walk may read a length byte past the header, as
		// tcpdump does, so it gets every captured byte from the options on.
		payloadCut := rec.PayloadCap < rec.PayloadLen
		b, stop, t.jumped = appendTCPOptionsText(b, data[min(off+20, len(data)):], hlen-20, flags, thseq, thack, rev, payloadCut)
		if stop {
			return b
		}
		b = append(b, ']')
	}
	b = append(b, ", length "...)
	b = appendUint(b, uint64(length))
	b = t.appendNote(b)
	if length <= 0 {
		return b
	}
	if len(data) < off+hlen {
		b = append(b, " [remaining caplen("...)
		b = appendUint(b, uint64(len(data)-off))
		b = append(b, ") < header length("...)
		b = appendUint(b, uint64(hlen))
		return append(b, ")] [|tcp]"...)
	}
	payload := data[off+hlen:]
	if flags&decode.RST != 0 && t.o.Verbose > 0 {
		return appendRSTData(b, payload, length)
	}
	st := appState{verbose: t.o.Verbose > 0}
	b = appendApp(b, rec.SrcPort, rec.DstPort, payload, length, &st)
	t.jumped = st.jumped
	return b
}

func appendBadHdrLen(b []byte, hlen, length int) []byte {
	b = append(b, " [bad hdr length "...)
	b = appendUint(b, uint64(hlen))
	b = append(b, " - too long, > "...)
	b = appendUint(b, uint64(length))
	return append(b, ']')
}

// AppendTCPFlags appends the flags in tcpdump's notation without brackets:
// F S R P . U E W in bit order, "none" when no flag is set. The AE bit is not
// shown, as in tcpdump 4.99.
func AppendTCPFlags(b []byte, flags uint16) []byte {
	const names = "FSRP.UEW"
	n := len(b)
	for i := 0; i < 8; i++ {
		if flags&(1<<i) != 0 {
			b = append(b, names[i])
		}
	}
	if len(b) == n {
		b = append(b, "none"...)
	}
	return b
}

// appendTCPChecksum appends ", cksum 0xNNNN (correct)" or "(incorrect -> 0xNNNN)"
// for a segment captured whole.
func (t *Printer) appendTCPChecksum(b []byte, data []byte, rec *decode.Record, length int) []byte {
	seg := data[rec.TransOff : rec.TransOff+length]
	var s uint32
	if rec.IPVersion == 4 {
		for i := 0; i < 4; i += 2 {
			s += uint32(rec.SrcIP[i])<<8 | uint32(rec.SrcIP[i+1])
			s += uint32(rec.DstIP[i])<<8 | uint32(rec.DstIP[i+1])
		}
	} else {
		for i := 0; i < 16; i += 2 {
			s += uint32(rec.SrcIP[i])<<8 | uint32(rec.SrcIP[i+1])
			s += uint32(rec.DstIP[i])<<8 | uint32(rec.DstIP[i+1])
		}
	}
	s += uint32(length) + decode.ProtoTCP
	sum := checksum(seg, s)
	b = append(b, ", cksum 0x"...)
	b = appendHex16(b, rec.TCPCsum)
	if sum != 0 {
		b = append(b, " (incorrect -> 0x"...)
		b = appendHex16(b, shouldBe(rec.TCPCsum, sum))
		return append(b, ')')
	}
	return append(b, " (correct)"...)
}

// appendRSTData prints the text some stacks put in a reset's payload (-v): at
// most 30 bytes, "+" when there was more, "!" when not all was captured.
func appendRSTData(b []byte, p []byte, length int) []byte {
	if len(p) >= length {
		b = append(b, " [RST"...)
	} else {
		b = append(b, " [!RST"...)
	}
	if length > 30 {
		length = 30
		b = append(b, '+')
	}
	b = append(b, ' ')
	for _, c := range p[:min(length, len(p))] {
		b = appendVisChar(b, c)
	}
	return append(b, ']')
}

// tcpOptionName is tcpdump's name of a TCP option kind ("" for unknown).
func tcpOptionName(kind byte) string {
	switch kind {
	case 0:
		return "eol"
	case 1:
		return "nop"
	case 2:
		return "mss"
	case 3:
		return "wscale"
	case 4:
		return "sackOK"
	case 5:
		return "sack"
	case 6:
		return "echo"
	case 7:
		return "echoreply"
	case 8:
		return "TS"
	case 11:
		return "cc"
	case 12:
		return "ccnew"
	case 13:
		return "ccecho"
	case 19:
		return "md5"
	case 20:
		return "scps"
	case 28:
		return "uto"
	case 29:
		return "tcp-ao"
	case 30:
		return "mptcp"
	case 34:
		return "tfo"
	case 254:
		return "exp"
	}
	return ""
}

// AppendTCPOptions appends the text tcpdump prints inside "options [...]" for the
// TCP packet in rec, with absolute SACK edges; nothing when it has no options.
func AppendTCPOptions(dst []byte, rec *decode.Record, data []byte) []byte {
	if !rec.HasTCP || rec.DataOff <= 20 || rec.OptOff == 0 {
		return dst
	}
	end := min(rec.OptOff+int(rec.DataOff)-20, len(data), rec.End)
	if end < rec.OptOff {
		return dst
	}
	dst, _, _ = appendTCPOptionsText(dst, data[rec.OptOff:min(len(data), rec.End)], int(rec.DataOff)-20, uint8(rec.Flags), 0, 0, false, rec.PayloadCap < rec.PayloadLen)
	return dst
}

const (
	failBad   = 1 // the option's length does not fit the header
	failTrunc = 2 // the capture ends inside the option
)

// appendTCPOptionsText walks the options as tcpdump does: o holds the captured
// bytes from the first option on, hlen the header's option length. stop
// reports that the line must end here (a bad or truncated option: tcpdump
// prints no closing bracket nor length then); jumped, that the capture ended
// where tcpdump reads an option's kind or length, which aborts its printer.
// payloadCut says the segment was not captured whole (MD5 cannot be checked).
func appendTCPOptionsText(b []byte, o []byte, hlen int, flags uint8, thseq, thack uint32, rev bool, payloadCut bool) (_ []byte, stop, jumped bool) {
	w := optWalk{o: o, hlen: hlen, flags: flags, thseq: thseq, thack: thack, rev: rev, payloadCut: payloadCut}
	sep := false
	bad := func(b []byte) ([]byte, bool, bool) {
		b = append(b, "[bad opt]"...)
		if sep {
			b = append(b, ']')
		}
		return b, true, false
	}
	for w.hlen > 0 {
		if sep {
			b = append(b, ',')
		}
		kind, l, ok := w.next()
		switch {
		case !ok:
			return append(b, " [|tcp]"...), true, true
		case l == 0:
			return bad(b)
		}
		if name := tcpOptionName(kind); name != "" {
			b = append(b, name...)
		} else {
			b = append(b, "unknown-"...)
			b = appendUint(b, uint64(kind))
		}
		var datalen int
		b, datalen = w.appendData(b, kind, l)
		switch w.fail {
		case failBad:
			return bad(b)
		case failTrunc:
			// tcpdump's truncation exit adds a '>' (not the ']' its bad
			// option exit adds) once an option has been printed.
			b = append(b, " [|tcp]"...)
			if sep {
				b = append(b, '>')
			}
			return b, true, false
		}
		w.i += datalen
		w.hlen -= datalen
		consumed := datalen + 1
		if kind != 0 && kind != 1 {
			consumed++
		}
		if consumed != l {
			b = append(b, "[len "...)
			b = appendUint(b, uint64(l))
			b = append(b, ']')
		}
		sep = true
		if kind == 0 {
			break
		}
	}
	return b, false, false
}

// optWalk is the state of appendTCPOptionsText's walk over the options.
type optWalk struct {
	o    []byte // the captured option bytes
	i    int    // where the current option's data starts in o
	hlen int    // header option bytes not walked yet
	fail int    // failBad or failTrunc once an option cannot be printed

	flags        uint8 // the segment's flags (MPTCP reads them)
	thseq, thack uint32
	rev          bool // SACK edges are relative to thseq, else to thack
	payloadCut   bool
}

// next reads an option's kind and length (1 for EOL and NOP). ok is false when
// the capture ends there; l is 0 for a length that does not fit the header.
func (w *optWalk) next() (kind byte, l int, ok bool) {
	if w.i >= len(w.o) {
		return 0, 0, false
	}
	kind = w.o[w.i]
	w.i++
	if kind == 0 || kind == 1 {
		w.hlen--
		return kind, 1, true
	}
	if w.i >= len(w.o) {
		return 0, 0, false
	}
	l = int(w.o[w.i])
	w.i++
	if l < 2 || l > w.hlen {
		return kind, 0, true
	}
	w.hlen -= 2
	return kind, l, true
}

// need reports whether n data bytes remain in the header and were captured;
// otherwise fail says which (tcpdump's "bad opt" or "[|tcp]").
func (w *optWalk) need(n int) bool {
	switch {
	case n > w.hlen:
		w.fail = failBad
	case w.i+n > len(w.o):
		w.fail = failTrunc
	default:
		return true
	}
	return false
}

// appendData appends what tcpdump prints of the data of option kind (length l)
// and returns how many data bytes the option has.
func (w *optWalk) appendData(b []byte, kind byte, l int) ([]byte, int) {
	o, i := w.o, w.i
	switch kind {
	case 0, 1, 4: // eol, nop, sackOK
		return b, 0
	case 2: // mss
		if w.need(2) {
			b = append(b, ' ')
			b = appendUint(b, uint64(be.Uint16(o[i:])))
		}
		return b, 2
	case 3: // wscale
		if w.need(1) {
			b = append(b, ' ')
			b = appendUint(b, uint64(o[i]))
		}
		return b, 1
	case 5:
		return w.appendSACK(b, l-2), l - 2
	case 6, 7, 11, 12, 13: // echo, echoreply, cc, ccnew, ccecho
		if w.need(4) {
			b = append(b, ' ')
			b = appendUint(b, uint64(be.Uint32(o[i:])))
		}
		return b, 4
	case 8: // timestamp
		if w.need(8) {
			b = append(b, " val "...)
			b = appendUint(b, uint64(be.Uint32(o[i:])))
			b = append(b, " ecr "...)
			b = appendUint(b, uint64(be.Uint32(o[i+4:])))
		}
		return b, 8
	case 19: // md5 signature
		if w.need(16) {
			if w.payloadCut {
				b = append(b, " snaplen too short, can't check - "...)
			} else {
				b = append(b, " shared secret not supplied with -M, can't check - "...)
			}
			b = appendHexBytes(b, o[i:i+16])
		}
		return b, 16
	case 20: // scps
		if w.need(2) {
			b = append(b, " cap "...)
			b = append(b, hexdig[o[i]>>4], hexdig[o[i]&15])
			b = append(b, " id "...)
			b = appendUint(b, uint64(o[i+1]))
		}
		return b, 2
	case 28:
		return w.appendUTO(b), 2
	case 29:
		return w.appendTCPAO(b, l-2), l - 2
	case 30: // mptcp
		if w.need(l - 2) {
			var ok bool
			if b, ok = appendMPTCP(b, o[i-2:i+l-2], w.flags); !ok {
				w.fail = failBad
			}
		}
		return b, l - 2
	case 34: // tfo
		if w.need(l - 2) {
			b = append(b, ' ')
			b = appendFastOpen(b, o[i:i+l-2])
		}
		return b, l - 2
	case 254:
		return w.appendExperimental(b, l-2), l - 2
	}
	if l > 2 {
		b = append(b, " 0x"...)
	}
	return w.appendHexData(b, 0, l-2), l - 2
}

// appendSACK prints the SACK blocks, relative to the other direction's base.
func (w *optWalk) appendSACK(b []byte, datalen int) []byte {
	if datalen%8 != 0 {
		return append(b, " invalid sack"...)
	}
	b = append(b, ' ')
	b = appendUint(b, uint64(datalen/8))
	b = append(b, ' ')
	for j := 0; j < datalen; j += 8 {
		if !w.need(j + 8) {
			break
		}
		s, e := be.Uint32(w.o[w.i+j:]), be.Uint32(w.o[w.i+j+4:])
		if w.rev {
			s -= w.thseq
			e -= w.thseq
		} else {
			s -= w.thack
			e -= w.thack
		}
		b = append(b, '{')
		b = appendUint(b, uint64(s))
		b = append(b, ':')
		b = appendUint(b, uint64(e))
		b = append(b, '}')
	}
	return b
}

// appendUTO prints the user timeout: its raw value, then seconds (the low bit
// says the rest counts minutes).
func (w *optWalk) appendUTO(b []byte) []byte {
	if !w.need(2) {
		return b
	}
	v := uint32(be.Uint16(w.o[w.i:]))
	b = append(b, " 0x"...)
	b = appendHexMin(b, uint64(v))
	if v&1 != 0 {
		v = (v >> 1) * 60
	} else {
		v >>= 1
	}
	b = append(b, ' ')
	return appendUint(b, uint64(v))
}

// appendTCPAO prints TCP-AO's key ids and MAC.
func (w *optWalk) appendTCPAO(b []byte, datalen int) []byte {
	if datalen < 2 {
		return append(b, " (invalid)"...)
	}
	if !w.need(1) {
		return b
	}
	b = append(b, " keyid "...)
	b = appendUint(b, uint64(w.o[w.i]))
	if !w.need(2) {
		return b
	}
	b = append(b, " rnextkeyid "...)
	b = appendUint(b, uint64(w.o[w.i+1]))
	if datalen > 2 {
		b = append(b, " mac 0x"...)
		b = w.appendHexData(b, 2, datalen)
	}
	return b
}

// appendExperimental prints an RFC 6994 experimental option: TFO under its
// magic number, else the magic number.
func (w *optWalk) appendExperimental(b []byte, datalen int) []byte {
	if !w.need(datalen) {
		return b
	}
	if datalen < 2 {
		w.fail = failBad
		return b
	}
	magic := be.Uint16(w.o[w.i:])
	b = append(b, '-')
	if magic == 0xf989 {
		b = append(b, "tfo"...)
		return appendFastOpen(b, w.o[w.i+2:w.i+datalen])
	}
	return appendHex16(b, magic)
}

// appendHexData prints data bytes from..to of the option in hex, as far as they
// were captured and fit the header.
func (w *optWalk) appendHexData(b []byte, from, to int) []byte {
	for j := from; j < to; j++ {
		if !w.need(j + 1) {
			break
		}
		b = append(b, hexdig[w.o[w.i+j]>>4], hexdig[w.o[w.i+j]&15])
	}
	return b
}

func appendFastOpen(b []byte, c []byte) []byte {
	if len(c) == 0 {
		return append(b, " cookiereq"...)
	}
	if len(c)%2 != 0 || len(c) < 4 || len(c) > 16 {
		return append(b, " (invalid)"...)
	}
	b = append(b, " cookie "...)
	return appendHexBytes(b, c)
}

func appendHexBytes(b []byte, c []byte) []byte {
	for _, x := range c {
		b = append(b, hexdig[x>>4], hexdig[x&15])
	}
	return b
}

// appendVisChar prints a byte the way tcpdump shows untrusted text: "M-" for
// the high bit, "^" and the letter for a control character.
func appendVisChar(b []byte, c byte) []byte {
	if c >= 0x80 {
		c &= 0x7f
		b = append(b, 'M', '-')
	}
	if !isPrint(c) {
		c ^= 0x40
		b = append(b, '^')
	}
	return append(b, c)
}

// appendDSSNumber prints an MPTCP data sequence number or acknowledgment of 8
// bytes (wide) or 4, and returns the bytes after it; ok is false when too few.
func appendDSSNumber(b, r []byte, wide bool) (_, rest []byte, ok bool) {
	if wide {
		if len(r) < 8 {
			return b, r, false
		}
		return appendUint(b, be.Uint64(r)), r[8:], true
	}
	if len(r) < 4 {
		return b, r, false
	}
	return appendUint(b, uint64(be.Uint32(r))), r[4:], true
}
