package main

import (
	"github.com/spf13/pflag"

	"github.com/pcaptk/pcaptk/pkg/analysis"
	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/reader"
	"github.com/pcaptk/pcaptk/pkg/tcpdump"
)

// analysisMode is the value of read's and export's --analysis: "" (off) or
// "wireshark" (tshark 4.0's TCP analysis, the only one there is; SCHEMA.md
// names it so that a later pcaptk-own variant can be told apart).
type analysisMode string

func (m *analysisMode) String() string { return string(*m) }
func (m *analysisMode) Type() string   { return "mode" }
func (m *analysisMode) Set(v string) error {
	switch v {
	case "wireshark", "true":
		*m = "wireshark"
	case "", "false", "none":
		*m = ""
	default:
		return usageErrorf("--analysis: unknown analysis %q (want wireshark)", v)
	}
	return nil
}

// on reports whether the analysis was asked for.
func (m analysisMode) on() bool { return m != "" }

// addAnalysisFlag registers --analysis[=wireshark] on fs.
func addAnalysisFlag(fs *pflag.FlagSet, m *analysisMode, usage string) {
	fs.Var(m, "analysis", usage)
	fs.Lookup("analysis").NoOptDefVal = "wireshark"
}

// infoNotes returns read --analysis's annotation: Wireshark's Info words for
// the flags of each TCP packet, from one analysis Engine that sees every
// packet of the capture in order.
func infoNotes() tcpdump.Annotate {
	e := analysis.NewEngine(analysis.EngineOptions{})
	var c decode.Conn
	var res analysis.Result
	return func(dst []byte, p *reader.Packet, rec *decode.Record) []byte {
		if !e.Packet(p.Number, p.Timestamp, p.WireLen, rec, &c, &res) || res.Flags == 0 {
			return dst
		}
		return analysis.AppendInfo(dst, &res)
	}
}

// flaggedBy returns filter --analysis's selection: whether a packet has one of
// the flags want, from one analysis Engine that sees every packet in order.
// The packet is decoded whole, before any truncation (-s) of what is written.
func flaggedBy(want analysis.Flags) func(*reader.Packet) bool {
	e := analysis.NewEngine(analysis.EngineOptions{})
	var rec decode.Record
	var c decode.Conn
	var res analysis.Result
	return func(p *reader.Packet) bool {
		decode.Decode(p.LinkType, p.Data, p.WireLen, &rec)
		return e.Packet(p.Number, p.Timestamp, p.WireLen, &rec, &c, &res) && res.Flags&want != 0
	}
}
