package tcpdump

// appendApp appends the application-layer summary tcpdump prints after
// "length N" for the well-known ports it decodes by default. payload holds the
// captured part of the length payload bytes.
//
// st carries -v in and, out, whether tcpdump would have run off the end of the
// captured bytes in a way that aborts its printer (it then dumps -x from the
// packet's first byte).
func appendApp(b []byte, sport, dport uint16, payload []byte, length int, st *appState) []byte {
	verbose := st.verbose
	port := func(p uint16) bool { return sport == p || dport == p }
	switch {
	case port(25):
		b = append(b, ": "...)
		return appendTxtProto(b, "SMTP", "smtp", payload, length, nil, st)
	case port(43):
		b = append(b, ": "...)
		return appendTxtProto(b, "WHOIS", "whois", payload, length, nil, st)
	case port(179):
		return append(b, ": BGP"...)
	case port(1723):
		return appendPPTP(b, payload[:min(len(payload), length)], verbose)
	case port(22):
		return appendSSH(b, payload, length, st)
	case port(6633), port(6653):
		return appendOpenFlow(b, payload, length)
	case port(21):
		b = append(b, ": "...)
		return appendTxtProto(b, "FTP", "ftp", payload, length, nil, st)
	case port(80), port(8080):
		b = append(b, ": "...)
		return appendTxtProto(b, "HTTP", "http", payload, length, httpCommands, st)
	case port(554), port(8554):
		b = append(b, ": "...)
		return appendTxtProto(b, "RTSP", "rtsp", payload, length, rtspCommands, st)
	case port(53):
		return appendDNSOverTCP(b, payload, length)
	}
	return b
}

var httpCommands = []string{
	"OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "CONNECT",
	"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK",
	"VERSION-CONTROL", "REPORT", "CHECKOUT", "CHECKIN", "UNCHECKOUT",
	"MKWORKSPACE", "UPDATE", "LABEL", "MERGE", "BASELINE-CONTROL",
	"MKACTIVITY", "ORDERPATCH", "ACL", "PATCH", "SEARCH", "BIND", "UNBIND",
	"REBIND", "MKREDIRECTREF", "UPDATEREDIRECTREF", "MKCALENDAR",
}

var rtspCommands = []string{"DESCRIBE", "ANNOUNCE", "GET_PARAMETER", "OPTIONS", "PAUSE",
	"PLAY", "RECORD", "REDIRECT", "SETUP", "SET_PARAMETER", "TEARDOWN"}

func isPrint(c byte) bool { return c >= 0x20 && c < 0x7f }

// fetchToken reads a token from p[idx:n] (n is the protocol length, p the
// captured bytes) and skips the blanks after it; it returns the index after
// them, or 0 when there is no printable token. A token longer than 128 bytes
// does not count.
func fetchToken(p []byte, idx, n int) (tok []byte, next int) {
	start := idx
	for ; idx < n; idx++ {
		if idx >= len(p) {
			return nil, 0
		}
		c := p[idx]
		if c >= 0x80 {
			return nil, 0
		}
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			break
		}
		if !isPrint(c) {
			return nil, 0
		}
		if idx-start+2 > 129 {
			return nil, 0
		}
	}
	if idx == start {
		return nil, 0
	}
	tok = p[start:idx]
	for ; idx < n && idx < len(p); idx++ {
		c := p[idx]
		if c == '\r' || c == '\n' || !isPrint(c) || (c != ' ' && c != '\t') {
			break
		}
	}
	return tok, idx
}

func equalFold(a []byte, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		c := a[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != b[i] {
			return false
		}
	}
	return true
}

// appendTxtProto prints a text protocol's first line when it is a request or a
// response ("HTTP: GET / HTTP/1.1"), else just the protocol's name.
func appendTxtProto(b []byte, name, lower string, p []byte, n int, cmds []string, st *appState) []byte {
	printIt := cmds == nil
	tok, idx := fetchToken(p, 0, n)
	if cmds != nil && idx != 0 {
		for _, c := range cmds {
			if equalFold(tok, c) {
				printIt = true
				break
			}
		}
		if name == "HTTP" || name == "RTSP" { // "HTTP/1.1 200 OK": the code comes second
			tok, idx = fetchToken(p, idx, n)
		}
		if idx != 0 && len(tok) == 3 && isDigit(tok[0]) && isDigit(tok[1]) && isDigit(tok[2]) {
			printIt = true
		}
	}
	b = append(b, name...)
	if !printIt {
		return b
	}
	if !st.verbose {
		b, _ = appendTxtLineAt(b, ": ", lower, p, 0, n, st)
		return b
	}
	// Verbose: every text line, each on its own indented line.
	b = append(b, ", length: "...)
	b = appendUint(b, uint64(n))
	for idx := 0; idx < n; {
		var next int
		b, next = appendTxtLineAt(b, "\n\t", lower, p, idx, n, st)
		if next == 0 {
			break
		}
		idx = next
	}
	return b
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// appendTxtLineAt prints the line of p starting at start if it is all printable
// text ending in LF or CRLF, and returns the index after the line ending (0 when
// nothing more is to be printed). A printable line that runs to the protocol
// length without an ending is printed with the truncation mark; reaching the end
// of the captured bytes first prints only the mark.
func appendTxtLineAt(b []byte, prefix, proto string, p []byte, start, n int, st *appState) ([]byte, int) {
	for idx := start; idx < n; idx++ {
		if idx >= len(p) {
			st.jumped = true
			return append(append(append(b, " [|"...), proto...), ']'), 0
		}
		c := p[idx]
		switch {
		case c == '\n':
			b = append(b, prefix...)
			return append(b, p[start:idx]...), idx + 1
		case c == '\r':
			if idx+1 >= n {
				return b, 0
			}
			if idx+1 >= len(p) {
				st.jumped = true
				return append(append(append(b, " [|"...), proto...), ']'), 0
			}
			if p[idx+1] == '\n' {
				b = append(b, prefix...)
				return append(b, p[start:idx]...), idx + 2
			}
			return b, 0
		case !isPrint(c) && c != '\t':
			return b, 0
		}
	}
	b = append(b, prefix...)
	b = append(b, p[start:n]...)
	return append(append(append(b, " [|"...), proto...), ']'), 0
}

// appendSSH prints the protocol version line of an SSH connection. Like
// tcpdump it reads the first four bytes whatever the length, and gives up with
// the truncation mark where the captured bytes end first.
func appendSSH(b []byte, p []byte, n int, st *appState) []byte {
	trunc := func() []byte { st.jumped = true; return append(b, " [|ssh]"...) }
	for i := 0; i < 4; i++ {
		if i >= len(p) {
			return trunc()
		}
		if p[i] != "SSH-"[i] {
			return b
		}
	}
	for idx := 4; idx < n; idx++ {
		if idx >= len(p) {
			return trunc()
		}
		c := p[idx]
		switch {
		case c == '\n':
			return append(append(b, ": SSH: "...), p[:idx]...)
		case c == '\r':
			if idx+1 >= n {
				return b
			}
			if idx+1 >= len(p) {
				return trunc()
			}
			if p[idx+1] != '\n' {
				return b
			}
			return append(append(b, ": SSH: "...), p[:idx]...)
		case !isPrint(c):
			return b
		}
	}
	return b
}

// appState is what application printers need from and tell the packet printer.
type appState struct {
	verbose bool
	jumped  bool
}

var (
	openflow10Types = [...]string{"HELLO", "ERROR", "ECHO_REQUEST", "ECHO_REPLY", "VENDOR",
		"FEATURES_REQUEST", "FEATURES_REPLY", "GET_CONFIG_REQUEST", "GET_CONFIG_REPLY",
		"SET_CONFIG", "PACKET_IN", "FLOW_REMOVED", "PORT_STATUS", "PACKET_OUT", "FLOW_MOD",
		"PORT_MOD", "STATS_REQUEST", "STATS_REPLY", "BARRIER_REQUEST", "BARRIER_REPLY",
		"QUEUE_GET_CONFIG_REQUEST", "QUEUE_GET_CONFIG_REPLY"}
	openflow13Types = [...]string{"HELLO", "ERROR", "ECHO_REQUEST", "ECHO_REPLY", "EXPERIMENTER",
		"FEATURES_REQUEST", "FEATURES_REPLY", "GET_CONFIG_REQUEST", "GET_CONFIG_REPLY",
		"SET_CONFIG", "PACKET_IN", "FLOW_REMOVED", "PORT_STATUS", "PACKET_OUT", "FLOW_MOD",
		"GROUP_MOD", "PORT_MOD", "TABLE_MOD", "MULTIPART_REQUEST", "MULTIPART_REPLY",
		"BARRIER_REQUEST", "BARRIER_REPLY", "QUEUE_GET_CONFIG_REQUEST", "QUEUE_GET_CONFIG_REPLY",
		"ROLE_REQUEST", "ROLE_REPLY", "GET_ASYNC_REQUEST", "GET_ASYNC_REPLY", "SET_ASYNC", "METER_MOD"}
)

// appendOpenFlow prints one header line per OpenFlow message in the segment, as
// tcpdump does without -v.
func appendOpenFlow(b []byte, p []byte, n int) []byte {
	b = append(b, ": OpenFlow"...)
	for off := 0; off < n; {
		if off+8 > n || off+8 > len(p) {
			return append(b, " [|openflow]"...)
		}
		h := p[off:]
		ver, typ, l, xid := h[0], h[1], int(be.Uint16(h[2:])), be.Uint32(h[4:])
		b = append(b, "\n\tversion "...)
		var names []string
		switch ver {
		case 1:
			b = append(b, "1.0"...)
			names = openflow10Types[:]
		case 2, 3, 5, 6:
			b = append(b, "1."...)
			b = appendUint(b, uint64(ver-1))
		case 4:
			b = append(b, "1.3"...)
			names = openflow13Types[:]
		default:
			b = append(b, "unknown (0x"...)
			b = append(b, hexdig[ver>>4], hexdig[ver&15], ')')
		}
		b = append(b, ", type "...)
		if int(typ) < len(names) {
			b = append(b, names[typ]...)
		} else {
			b = append(b, "unknown (0x"...)
			b = append(b, hexdig[typ>>4], hexdig[typ&15], ')')
		}
		b = append(b, ", length "...)
		b = appendUint(b, uint64(l))
		if l < 8 {
			return append(b, " (too short!)"...)
		}
		b = append(b, ", xid 0x"...)
		b = appendHex16(b, uint16(xid>>16))
		b = appendHex16(b, uint16(xid))
		if off+l > len(p) {
			return append(b, " [|openflow]"...)
		}
		off += l
	}
	return b
}
