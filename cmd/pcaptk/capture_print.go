package main

import (
	"io"

	"github.com/pcaptk/pcaptk/pkg/capture"
	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/reader"
	"github.com/pcaptk/pcaptk/pkg/tcpdump"
)

// textPrinter decodes and prints each captured packet as `pcaptk read` does, with
// read's flags (addTextFlags).
type textPrinter struct {
	enc *tcpdump.Printer
	rec decode.Record
}

func newCapturePrinter(w io.Writer, f *textFlags) capture.Printer {
	return &textPrinter{enc: tcpdump.NewPrinter(w, f.options())}
}

func (p *textPrinter) Print(pk *reader.Packet) error {
	decode.Decode(pk.LinkType, pk.Data, pk.WireLen, &p.rec)
	return p.enc.Print(pk, &p.rec)
}

func (p *textPrinter) Flush() error { return p.enc.Flush() }
