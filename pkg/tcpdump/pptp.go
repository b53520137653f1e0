package tcpdump

// PPTP control messages (RFC 2637) as tcpdump prints them without -v. The five
// messages a call set-up uses are decoded field by field; others by name.

var pptpTypes = [...]string{"NULL", "SCCRQ", "SCCRP", "StopCCRQ", "StopCCRP", "ECHORQ", "ECHORP",
	"OCRQ", "OCRP", "ICRQ", "ICRP", "ICCN", "CCRQ", "CDN", "WEN", "SLI"}

const pptpMagic = 0x1a2b3c4d

// pptpFields appends "NAME(value)" items from a message body; it records when
// the body is shorter than a field needs.
type pptpFields struct {
	b       []byte
	p       []byte
	short   bool
	verbose bool
}

func (f *pptpFields) has(off, n int) bool {
	if off+n > len(f.p) {
		f.short = true
	}
	return !f.short
}

func (f *pptpFields) uint(name string, off, n int) {
	if !f.has(off, n) {
		return
	}
	var v uint64
	for _, c := range f.p[off : off+n] {
		v = v<<8 | uint64(c)
	}
	f.b = append(f.b, ' ')
	f.b = append(f.b, name...)
	f.b = append(f.b, '(')
	f.b = appendUint(f.b, v)
	f.b = append(f.b, ')')
}

func (f *pptpFields) hex32(name string, off int) {
	if !f.has(off, 4) {
		return
	}
	f.b = append(f.b, ' ')
	f.b = append(f.b, name...)
	f.b = append(f.b, "(0x"...)
	f.b = appendHex16(f.b, be.Uint16(f.p[off:]))
	f.b = appendHex16(f.b, be.Uint16(f.p[off+2:]))
	f.b = append(f.b, ')')
}

// code prints a result or error code, with its meaning under -v.
func (f *pptpFields) code(name string, off int, meanings ...string) {
	if !f.has(off, 1) {
		return
	}
	v := f.p[off]
	f.b = append(f.b, ' ')
	f.b = append(f.b, name...)
	f.b = append(f.b, '(')
	f.b = appendUint(f.b, uint64(v))
	if f.verbose {
		f.b = append(f.b, ':')
		if int(v) < len(meanings) && meanings[v] != "" {
			f.b = append(f.b, meanings[v]...)
		} else {
			f.b = append(f.b, '?')
		}
	}
	f.b = append(f.b, ')')
}

var (
	pptpErrCodes   = []string{"None", "Not-Connected", "Bad-Format", "Bad-Value", "No-Resource", "Bad-Call ID", "PAC-Error"}
	pptpSCCRPCodes = []string{"", "Successful channel establishment", "General error", "Command channel already exists",
		"Requester is not authorized to establish a command channel", "The protocol version of the requester is not supported"}
	pptpOCRPCodes = []string{"", "Connected", "General Error", "No Carrier", "Busy", "No Dial Tone", "Time-out", "Do Not Accept"}
)

func (f *pptpFields) protoVer(off int) {
	if !f.has(off, 2) {
		return
	}
	f.b = append(f.b, " PROTO_VER("...)
	f.b = appendUint(f.b, uint64(f.p[off]))
	f.b = append(f.b, '.')
	f.b = appendUint(f.b, uint64(f.p[off+1]))
	f.b = append(f.b, ')')
}

// bits prints the letters of the set low bits of a 32-bit field, in the given
// bit order (framing: A=1 S=2; bearer: D=2 A=1).
func (f *pptpFields) bits(name string, off int, letters string, masks ...uint32) {
	if !f.has(off, 4) {
		return
	}
	v := be.Uint32(f.p[off:])
	f.b = append(f.b, ' ')
	f.b = append(f.b, name...)
	f.b = append(f.b, '(')
	for i, m := range masks {
		if v&m != 0 {
			f.b = append(f.b, letters[i])
		}
	}
	f.b = append(f.b, ')')
}

// choice prints a 32-bit field's value as one of names (1-based), "?" otherwise.
func (f *pptpFields) choice(name string, off int, names ...string) {
	if !f.has(off, 4) {
		return
	}
	v := be.Uint32(f.p[off:])
	f.b = append(f.b, ' ')
	f.b = append(f.b, name...)
	f.b = append(f.b, '(')
	if v >= 1 && int(v) <= len(names) {
		f.b = append(f.b, names[v-1]...)
	} else {
		f.b = append(f.b, '?')
	}
	f.b = append(f.b, ')')
}

// text prints a NUL-padded string field of n bytes.
func (f *pptpFields) text(name string, off, n int) {
	if !f.has(off, n) {
		return
	}
	f.b = append(f.b, ' ')
	f.b = append(f.b, name...)
	f.b = append(f.b, '(')
	for _, c := range f.p[off : off+n] {
		if c == 0 {
			break
		}
		f.b = appendVisChar(f.b, c)
	}
	f.b = append(f.b, ')')
}

func appendPPTP(b []byte, p []byte, verbose bool) []byte {
	b = append(b, ": pptp"...)
	if len(p) < 12 {
		return append(b, " [|pptp]"...)
	}
	if verbose {
		b = append(b, " Length="...)
		b = appendUint(b, uint64(be.Uint16(p)))
		switch be.Uint16(p[2:]) {
		case 1:
			b = append(b, " CTRL-MSG"...)
		case 2:
			b = append(b, " MGMT-MSG"...)
		default:
			b = append(b, " UNKNOWN-MSG-TYPE"...)
		}
	}
	mc := be.Uint32(p[4:])
	if mc != pptpMagic {
		b = append(b, " UNEXPECTED Magic-Cookie!!("...)
		b = appendHex16(b, uint16(mc>>16))
		b = appendHex16(b, uint16(mc))
		b = append(b, ')')
	}
	if verbose || mc != pptpMagic {
		b = append(b, " Magic-Cookie="...)
		b = appendHex16(b, uint16(mc>>16))
		b = appendHex16(b, uint16(mc))
	}
	typ := be.Uint16(p[8:])
	if int(typ) < len(pptpTypes) {
		b = append(b, " CTRL_MSGTYPE="...)
		b = append(b, pptpTypes[typ]...)
	} else {
		b = append(b, " UNKNOWN_CTRL_MSGTYPE("...)
		b = appendUint(b, uint64(typ))
		return append(b, ')')
	}
	f := pptpFields{b: b, p: p[12:], verbose: verbose}
	switch typ {
	case 1, 2: // SCCRQ, SCCRP
		f.protoVer(0)
		if typ == 2 {
			f.code("RESULT_CODE", 2, pptpSCCRPCodes...)
			f.code("ERR_CODE", 3, pptpErrCodes...)
		}
		f.bits("FRAME_CAP", 4, "AS", 1, 2)
		f.bits("BEARER_CAP", 8, "DA", 2, 1)
		f.uint("MAX_CHAN", 12, 2)
		f.uint("FIRM_REV", 14, 2)
		f.text("HOSTNAME", 16, 64)
		f.text("VENDOR", 80, 64)
	case 7: // OCRQ
		f.uint("CALL_ID", 0, 2)
		f.uint("CALL_SER_NUM", 2, 2)
		f.uint("MIN_BPS", 4, 4)
		f.uint("MAX_BPS", 8, 4)
		f.choice("BEARER_TYPE", 12, "A", "D", "Any")
		f.choice("FRAME_TYPE", 16, "A", "S", "E")
		f.uint("RECV_WIN", 20, 2)
		f.uint("PROC_DELAY", 22, 2)
		f.uint("PHONE_NO_LEN", 24, 2)
		f.text("PHONE_NO", 28, 64)
		f.text("SUB_ADDR", 92, 64)
	case 8: // OCRP
		f.uint("CALL_ID", 0, 2)
		f.uint("PEER_CALL_ID", 2, 2)
		f.code("RESULT_CODE", 4, pptpOCRPCodes...)
		f.code("ERR_CODE", 5, pptpErrCodes...)
		f.uint("CAUSE_CODE", 6, 2)
		f.uint("CONN_SPEED", 8, 4)
		f.uint("RECV_WIN", 12, 2)
		f.uint("PROC_DELAY", 14, 2)
		f.uint("PHY_CHAN_ID", 16, 4)
	case 15: // SLI
		f.uint("PEER_CALL_ID", 0, 2)
		f.hex32("SEND_ACCM", 4)
		f.hex32("RECV_ACCM", 8)
	}
	if f.short {
		return append(f.b, " [|pptp]"...)
	}
	return f.b
}
