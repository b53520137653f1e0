package tcpdump

func isGraph(c byte) bool { return c > 0x20 && c < 0x7f }

// appendHex appends tcpdump's -x dump: 16 bytes a line as 16-bit groups.
func appendHex(b []byte, d []byte) []byte {
	for off := 0; off < len(d); off += 16 {
		b = append(b, "\n\t0x"...)
		b = appendHexOffset(b, off)
		b = append(b, ':', ' ')
		line := d[off:min(off+16, len(d))]
		for i := 0; i < len(line); i += 2 {
			b = append(b, ' ')
			b = append(b, hexdig[line[i]>>4], hexdig[line[i]&15])
			if i+1 < len(line) {
				b = append(b, hexdig[line[i+1]>>4], hexdig[line[i+1]&15])
			}
		}
	}
	return b
}

// appendHexASCII appends tcpdump's -X dump: the hex columns padded to 40
// characters, two spaces, then the bytes as text ('.' for anything else).
func appendHexASCII(b []byte, d []byte) []byte {
	for off := 0; off < len(d); off += 16 {
		b = append(b, "\n\t0x"...)
		b = appendHexOffset(b, off)
		b = append(b, ':', ' ')
		line := d[off:min(off+16, len(d))]
		w := 0
		for i := 0; i < len(line); i += 2 {
			b = append(b, ' ')
			b = append(b, hexdig[line[i]>>4], hexdig[line[i]&15])
			w += 3
			if i+1 < len(line) {
				b = append(b, hexdig[line[i+1]>>4], hexdig[line[i+1]&15])
				w += 2
			}
		}
		for ; w < 40; w++ {
			b = append(b, ' ')
		}
		b = append(b, ' ', ' ')
		for _, c := range line {
			if isGraph(c) {
				b = append(b, c)
			} else {
				b = append(b, '.')
			}
		}
	}
	return b
}

// appendASCII appends tcpdump's -A dump: printable bytes, newlines and tabs as
// they are, a CR before LF dropped, anything else as '.'.
func appendASCII(b []byte, d []byte) []byte {
	b = append(b, '\n')
	for i, c := range d {
		switch {
		case c == '\r':
			// A CR ending a line is left out, and so (a tcpdump quirk kept for
			// identical output) is one of the last two bytes.
			if len(d)-i-1 > 1 && d[i+1] != '\n' {
				b = append(b, '.')
			}
		case isGraph(c) || c == '\t' || c == ' ' || c == '\n':
			b = append(b, c)
		default:
			b = append(b, '.')
		}
	}
	return b
}

// appendHexOffset appends a dump offset as at least four hex digits.
func appendHexOffset(b []byte, off int) []byte {
	for w := 0x1000; w > 1 && off < w; w >>= 4 {
		b = append(b, '0')
	}
	return appendHexMin(b, uint64(off))
}
