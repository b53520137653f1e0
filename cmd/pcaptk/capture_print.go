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

// newCapturePrinter returns the printer of capture's packets; with countOnly
// (--count) one that prints nothing, as tcpdump --count prints no packet
// (the count is in the "packets captured" line).
func newCapturePrinter(w io.Writer, f *textFlags, countOnly bool) capture.Printer {
	if countOnly {
		return silentPrinter{}
	}
	return &textPrinter{enc: tcpdump.NewPrinter(w, f.options())}
}

func (p *textPrinter) Print(pk *reader.Packet) error {
	decode.Decode(pk.LinkType, pk.Data, pk.WireLen, &p.rec)
	return p.enc.Print(pk, &p.rec)
}

func (p *textPrinter) Flush() error { return p.enc.Flush() }

type silentPrinter struct{}

func (silentPrinter) Print(*reader.Packet) error { return nil }
func (silentPrinter) Flush() error               { return nil }
