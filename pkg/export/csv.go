package export

import (
	"bytes"
	"io"
)

// NewCSV returns an encoder writing CSV: a header row with the column names, then
// one line per row, RFC 4180 quoting, CRLF-free ("\n" line ends, as most tools
// write them), empty cells for null.
func NewCSV(w io.Writer, o LineOptions) Encoder {
	e := newLineEncoder(w, o)
	e.header = true
	e.prepareFlags()
	e.startHelpers()
	return e
}

// appendCSVField quotes s as RFC 4180 asks when it holds a comma, quote or line end.
func appendCSVField(b, s []byte) []byte {
	if bytes.IndexByte(s, '"') < 0 {
		// The common case for options text: commas, no quotes.
		if bytes.IndexByte(s, ',') >= 0 || bytes.IndexByte(s, '\n') >= 0 || bytes.IndexByte(s, '\r') >= 0 {
			b = append(b, '"')
			b = append(b, s...)
			return append(b, '"')
		}
		return append(b, s...)
	}
	b = append(b, '"')
	for _, c := range s {
		if c == '"' {
			b = append(b, '"')
		}
		b = append(b, c)
	}
	return append(b, '"')
}
