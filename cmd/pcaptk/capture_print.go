package main

import (
	"io"

	"github.com/spf13/pflag"

	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/export"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// printOptions are tcpdump's printing flags, for capture without -w.
type printOptions struct {
	n, t, x, xx, v int
	text           export.TextOptions
}

func addCapturePrintFlags(f *pflag.FlagSet, o *printOptions) {
	f.CountVarP(&o.n, "numeric", "n", "no name lookups (-nn: no port names either)")
	f.BoolVarP(&o.text.AbsoluteSeq, "absolute-tcp-sequence-numbers", "S", false, "print absolute TCP sequence numbers")
	f.CountVarP(&o.t, "time", "t", "-t: no time, -tt: epoch, -ttt: delta, -tttt: date, -ttttt: since first")
	f.BoolVar(&o.text.Nano, "nano", false, "print times with nanoseconds")
	f.BoolVarP(&o.text.Link, "link", "e", false, "print the link-level header")
	f.CountVarP(&o.x, "hex", "x", "hex dump (-xx: with the link header)")
	f.CountVarP(&o.xx, "hex-ascii", "X", "hex and ASCII dump (-XX: with the link header)")
	f.BoolVarP(&o.text.ASCII, "ascii", "A", false, "print the payload as ASCII")
	f.BoolVarP(&o.text.Quiet, "quiet", "q", false, "print less protocol information")
	f.CountVarP(&o.v, "verbose", "v", "print more (IP TTL, id, length)")
}

// textPrinter decodes and prints each packet as `pcaptk read` does.
type textPrinter struct {
	enc *export.Text
	rec decode.Record
}

func newCapturePrinter(w io.Writer, o *printOptions) (packetPrinter, error) {
	t := o.text
	t.NoPortNames = o.n >= 2
	t.TimeFormat = o.t // -t count maps onto TimeNone … TimeSinceFirst
	t.Hex, t.HexASCII, t.Verbose = o.x, o.xx, o.v
	return &textPrinter{enc: export.NewText(w, t)}, nil
}

func (p *textPrinter) Print(pk *reader.Packet) error {
	decode.Decode(pk.LinkType, pk.Data, pk.WireLen, &p.rec)
	return p.enc.Encode(pk, &p.rec)
}

func (p *textPrinter) Flush() error { return p.enc.Flush() }
