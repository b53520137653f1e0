package export

import (
	"io"
	"strconv"
	"unicode/utf8"
)

// NewJSON returns an encoder writing one JSON object a line, null for unknown
// values, keys in column order.
func NewJSON(w io.Writer, o LineOptions) Encoder {
	e := newLineEncoder(w, o)
	e.json = true
	e.keys = jsonKeys(e.cols)
	e.prepareFlags()
	e.startHelpers()
	return e
}

// jsonKeys returns each column's key with the text before it: `{"frame":`,
// `,"ts":`, ...
func jsonKeys(cols []Column) [][]byte {
	var keys [][]byte
	for i, c := range cols {
		k := []byte{','}
		if i == 0 {
			k[0] = '{'
		}
		k = strconv.AppendQuote(k, c.String())
		keys = append(keys, append(k, ':'))
	}
	return keys
}

const jsonHex = "0123456789abcdef"

// jsonPlain reports whether s needs no escaping in a JSON string: no control
// character, quote, backslash or non-ASCII byte. It tests eight bytes a step.
func jsonPlain(s []byte) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := le.Uint64(s[i:])
		q := x ^ ('"' * ones)
		bs := x ^ ('\\' * ones)
		// A byte of the result has its high bit set where x's byte is below
		// 0x20, is '"' or '\\' (zero after the xor), or is 0x80 or above.
		if ((x-0x20*ones)|(q-ones)|(bs-ones)|x)&highs != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// appendJSONString quotes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b, s []byte) []byte {
	b = append(b, '"')
	if jsonPlain(s) {
		b = append(b, s...)
		return append(b, '"')
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', jsonHex[c>>4], jsonHex[c&15])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}
