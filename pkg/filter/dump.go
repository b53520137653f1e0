package filter

import (
	"fmt"
	"strconv"
)

// Instruction is one BPF instruction as libpcap compiles it.
type Instruction struct {
	Op     uint16
	Jt, Jf uint8
	K      uint32
}

// Target is what a program is compiled for, as tcpdump picks it for -d: a
// capture file's LINKTYPE_ and snapshot length (the file it would read), or,
// with DLT set to 0 or more, a DLT_ and snapshot length (a live handle's, or
// -y's when there is no input).
type Target struct {
	LinkType   uint16 // LINKTYPE_ of a capture file (when DLT < 0)
	DLT        int    // DLT_, or -1 to compile for the file
	Snaplen    uint32 // 0: libpcap's default for the link type
	NoOptimize bool   // tcpdump -O: leave libpcap's optimizer out
}

// FileTarget is the Target for a capture file with this LINKTYPE_ and snaplen.
func FileTarget(linkType uint16, snaplen uint32) Target {
	return Target{LinkType: linkType, DLT: -1, Snaplen: snaplen}
}

// Program returns the BPF program libpcap compiles expr to for t, exactly as
// tcpdump compiles it before -d prints it. An expression libpcap refuses is a
// *SyntaxError.
func Program(expr string, t Target) ([]Instruction, error) {
	snap := t.Snaplen
	if t.DLT >= 0 && snap == 0 {
		snap = MaxSnaplen // tcpdump's default when no -s was given
	}
	ins, _, err := compileWith(t.LinkType, snap, t.DLT, !t.NoOptimize, expr)
	if err != nil {
		return nil, &SyntaxError{Expr: expr, Msg: syntaxMsg(err.Error())}
	}
	out := make([]Instruction, len(ins))
	for i, in := range ins {
		out[i] = Instruction(in)
	}
	return out, nil
}

// AppendDump appends prog as tcpdump prints it: -d (level 1) in libpcap's
// assembler notation, -dd (2) as a C array, -ddd (3) as decimal numbers after
// their count.
func AppendDump(b []byte, prog []Instruction, level int) []byte {
	switch {
	case level >= 3:
		b = strconv.AppendInt(b, int64(len(prog)), 10)
		b = append(b, '\n')
		for _, in := range prog {
			b = fmt.Appendf(b, "%d %d %d %d\n", in.Op, in.Jt, in.Jf, in.K)
		}
	case level == 2:
		for _, in := range prog {
			b = fmt.Appendf(b, "{ 0x%x, %d, %d, 0x%08x },\n", in.Op, in.Jt, in.Jf, in.K)
		}
	default:
		for i, in := range prog {
			b = append(b, bpfImage(insn(in), i)...)
			b = append(b, '\n')
		}
	}
	return b
}

// LinkTypeName returns libpcap's name and description of the link type of a
// capture file with this LINKTYPE_ ("EN10MB", "Ethernet"), as tcpdump prints
// them in "reading from file" lines; ok is false when libpcap has no name for
// it (tcpdump then prints the number).
func LinkTypeName(linkType uint16) (name, desc string, ok bool) {
	dlt, ok := fileDLT(linkType)
	if !ok {
		return "", "", false
	}
	return dltNames(dlt)
}

// DLTName returns libpcap's name and description of a DLT_.
func DLTName(dlt int) (name, desc string, ok bool) { return dltNames(dlt) }

// DLTByName returns the DLT_ that libpcap names name (tcpdump -y: "EN10MB",
// "LINUX_SLL2", case and a "DLT_" prefix left to the user); ok is false for a
// name libpcap does not know.
func DLTByName(name string) (int, bool) {
	dlt := dltByName(name)
	return dlt, dlt >= 0
}
