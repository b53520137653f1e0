package filter

import (
	"testing"
)

func stmt(op uint16, k uint32) insn               { return insn{Op: op, K: k} }
func jump(op uint16, k uint32, jt, jf uint8) insn { return insn{Op: op, Jt: jt, Jf: jf, K: k} }

// Opcodes spelled as bpf.h composes them, so the tests read like tcpdump -d.
const (
	ldW    = clsLD | szW | modeABS
	ldH    = clsLD | szH | modeABS
	ldB    = clsLD | szB | modeABS
	ldIndW = clsLD | szW | modeIND
	ldIndH = clsLD | szH | modeIND
	ldIndB = clsLD | szB | modeIND
	ldImm  = clsLD | modeIMM
	ldMem  = clsLD | modeMEM
	ldLen  = clsLD | szW | modeLEN
	ldxImm = clsLDX | modeIMM
	ldxMem = clsLDX | modeMEM
	ldxLen = clsLDX | szW | modeLEN
	ldxMsh = clsLDX | szB | modeMSH
	st     = clsST
	stx    = clsSTX
	retK   = clsRET | rvalK
	retA   = clsRET | rvalA
	tax    = clsMISC | miscTAX
	txa    = clsMISC | miscTXA
	ja     = clsJMP | jmpJA
)

func alu(op uint16, src uint16) uint16 { return clsALU | op | src }
func jmp(op uint16, src uint16) uint16 { return clsJMP | op | src }

var pkt = []byte{0x45, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0xff, 0x80}

// vmCases cover every opcode libpcap emits, both outcomes of every jump, and
// every way a run ends early. Each is also run through libpcap's bpf_filter.
var vmCases = []struct {
	name    string
	prog    []insn
	data    []byte
	wireLen uint32
	want    uint32
}{
	{"ret k", []insn{stmt(retK, 7)}, pkt, 10, 7},
	{"ld w", []insn{stmt(ldW, 1), stmt(retA, 0)}, pkt, 10, 0x00010203},
	{"ld h", []insn{stmt(ldH, 8), stmt(retA, 0)}, pkt, 10, 0xff80},
	{"ld b", []insn{stmt(ldB, 9), stmt(retA, 0)}, pkt, 10, 0x80},
	{"ld w last word", []insn{stmt(ldW, 6), stmt(retA, 0)}, pkt, 10, 0x0506ff80},
	{"ld w past end", []insn{stmt(ldW, 7), stmt(retK, 1)}, pkt, 10, 0},
	{"ld h past end", []insn{stmt(ldH, 9), stmt(retK, 1)}, pkt, 10, 0},
	{"ld b past end", []insn{stmt(ldB, 10), stmt(retK, 1)}, pkt, 10, 0},
	{"ld w huge k", []insn{stmt(ldW, 0xfffffffe), stmt(retK, 1)}, pkt, 10, 0},
	{"ld beyond caplen within wirelen", []insn{stmt(ldB, 12), stmt(retK, 1)}, pkt, 1500, 0},
	{"ld ind w", []insn{stmt(ldxImm, 2), stmt(ldIndW, 1), stmt(retA, 0)}, pkt, 10, 0x02030405},
	{"ld ind h", []insn{stmt(ldxImm, 7), stmt(ldIndH, 1), stmt(retA, 0)}, pkt, 10, 0xff80},
	{"ld ind b", []insn{stmt(ldxImm, 8), stmt(ldIndB, 0), stmt(retA, 0)}, pkt, 10, 0xff},
	{"ld ind past end", []insn{stmt(ldxImm, 8), stmt(ldIndH, 1), stmt(retK, 1)}, pkt, 10, 0},
	{"ld ind b past end", []insn{stmt(ldxImm, 9), stmt(ldIndB, 1), stmt(retK, 1)}, pkt, 10, 0},
	{"ld ind x+k wraps", []insn{stmt(ldxImm, 0xffffffff), stmt(ldIndB, 2), stmt(retK, 1)}, pkt, 10, 0},
	{"ld ind w x+k wraps", []insn{stmt(ldxImm, 0xfffffffe), stmt(ldIndW, 3), stmt(retK, 1)}, pkt, 10, 0},
	{"ldx msh", []insn{stmt(ldxMsh, 0), stmt(txa, 0), stmt(retA, 0)}, pkt, 10, 20},
	{"ldx msh past end", []insn{stmt(ldxMsh, 10), stmt(retK, 1)}, pkt, 10, 0},
	{"ld len is wire length", []insn{stmt(ldLen, 0), stmt(retA, 0)}, pkt, 1514, 1514},
	{"ldx len", []insn{stmt(ldxLen, 0), stmt(txa, 0), stmt(retA, 0)}, pkt, 60, 60},
	{"ld imm", []insn{stmt(ldImm, 0xdeadbeef), stmt(retA, 0)}, pkt, 10, 0xdeadbeef},
	{"st ld mem", []insn{stmt(ldImm, 5), stmt(st, 15), stmt(ldImm, 0), stmt(ldMem, 15), stmt(retA, 0)}, pkt, 10, 5},
	{"stx ldx mem", []insn{stmt(ldxImm, 9), stmt(stx, 3), stmt(ldxImm, 0), stmt(ldxMem, 3), stmt(txa, 0), stmt(retA, 0)}, pkt, 10, 9},
	{"tax", []insn{stmt(ldImm, 6), stmt(tax, 0), stmt(ldImm, 0), stmt(txa, 0), stmt(retA, 0)}, pkt, 10, 6},
	{"add k", []insn{stmt(ldImm, 0xffffffff), stmt(alu(aluADD, srcK), 2), stmt(retA, 0)}, pkt, 10, 1},
	{"sub k", []insn{stmt(ldImm, 1), stmt(alu(aluSUB, srcK), 2), stmt(retA, 0)}, pkt, 10, 0xffffffff},
	{"mul k", []insn{stmt(ldImm, 0x10000), stmt(alu(aluMUL, srcK), 0x10001), stmt(retA, 0)}, pkt, 10, 0x10000},
	{"div k", []insn{stmt(ldImm, 100), stmt(alu(aluDIV, srcK), 7), stmt(retA, 0)}, pkt, 10, 14},
	{"mod k", []insn{stmt(ldImm, 100), stmt(alu(aluMOD, srcK), 7), stmt(retA, 0)}, pkt, 10, 2},
	{"or k", []insn{stmt(ldImm, 0xf0), stmt(alu(aluOR, srcK), 0x0f), stmt(retA, 0)}, pkt, 10, 0xff},
	{"and k", []insn{stmt(ldImm, 0xf3), stmt(alu(aluAND, srcK), 0x3f), stmt(retA, 0)}, pkt, 10, 0x33},
	{"xor k", []insn{stmt(ldImm, 0xff), stmt(alu(aluXOR, srcK), 0x0f), stmt(retA, 0)}, pkt, 10, 0xf0},
	{"lsh k", []insn{stmt(ldImm, 3), stmt(alu(aluLSH, srcK), 31), stmt(retA, 0)}, pkt, 10, 0x80000000},
	{"rsh k", []insn{stmt(ldImm, 0x80000000), stmt(alu(aluRSH, srcK), 31), stmt(retA, 0)}, pkt, 10, 1},
	{"neg", []insn{stmt(ldImm, 1), stmt(alu(aluNEG, 0), 0), stmt(retA, 0)}, pkt, 10, 0xffffffff},
	{"add x", []insn{stmt(ldxImm, 3), stmt(ldImm, 4), stmt(alu(aluADD, srcX), 0), stmt(retA, 0)}, pkt, 10, 7},
	{"sub x", []insn{stmt(ldxImm, 3), stmt(ldImm, 4), stmt(alu(aluSUB, srcX), 0), stmt(retA, 0)}, pkt, 10, 1},
	{"mul x", []insn{stmt(ldxImm, 3), stmt(ldImm, 4), stmt(alu(aluMUL, srcX), 0), stmt(retA, 0)}, pkt, 10, 12},
	{"div x", []insn{stmt(ldxImm, 3), stmt(ldImm, 10), stmt(alu(aluDIV, srcX), 0), stmt(retA, 0)}, pkt, 10, 3},
	{"mod x", []insn{stmt(ldxImm, 3), stmt(ldImm, 10), stmt(alu(aluMOD, srcX), 0), stmt(retA, 0)}, pkt, 10, 1},
	{"div x zero rejects", []insn{stmt(ldxImm, 0), stmt(ldImm, 10), stmt(alu(aluDIV, srcX), 0), stmt(retK, 1)}, pkt, 10, 0},
	{"mod x zero rejects", []insn{stmt(ldxImm, 0), stmt(ldImm, 10), stmt(alu(aluMOD, srcX), 0), stmt(retK, 1)}, pkt, 10, 0},
	{"or x", []insn{stmt(ldxImm, 1), stmt(ldImm, 2), stmt(alu(aluOR, srcX), 0), stmt(retA, 0)}, pkt, 10, 3},
	{"and x", []insn{stmt(ldxImm, 3), stmt(ldImm, 6), stmt(alu(aluAND, srcX), 0), stmt(retA, 0)}, pkt, 10, 2},
	{"xor x", []insn{stmt(ldxImm, 3), stmt(ldImm, 6), stmt(alu(aluXOR, srcX), 0), stmt(retA, 0)}, pkt, 10, 5},
	{"lsh x", []insn{stmt(ldxImm, 4), stmt(ldImm, 1), stmt(alu(aluLSH, srcX), 0), stmt(retA, 0)}, pkt, 10, 16},
	{"rsh x", []insn{stmt(ldxImm, 4), stmt(ldImm, 0x100), stmt(alu(aluRSH, srcX), 0), stmt(retA, 0)}, pkt, 10, 16},
	{"lsh x 32 is zero", []insn{stmt(ldxImm, 32), stmt(ldImm, 1), stmt(alu(aluLSH, srcX), 0), stmt(retA, 0)}, pkt, 10, 0},
	{"rsh x 40 is zero", []insn{stmt(ldxImm, 40), stmt(ldImm, 0xffffffff), stmt(alu(aluRSH, srcX), 0), stmt(retA, 0)}, pkt, 10, 0},
	{"ja", []insn{stmt(ja, 1), stmt(retK, 1), stmt(retK, 2)}, pkt, 10, 2},
	{"jeq k true", []insn{stmt(ldB, 0), jump(jmp(jmpJEQ, srcK), 0x45, 0, 1), stmt(retK, 1), stmt(retK, 2)}, pkt, 10, 1},
	{"jeq k false", []insn{stmt(ldB, 0), jump(jmp(jmpJEQ, srcK), 0x46, 0, 1), stmt(retK, 1), stmt(retK, 2)}, pkt, 10, 2},
	{"jgt k true", []insn{stmt(ldB, 0), jump(jmp(jmpJGT, srcK), 0x44, 0, 1), stmt(retK, 1), stmt(retK, 2)}, pkt, 10, 1},
	{"jgt k false", []insn{stmt(ldB, 0), jump(jmp(jmpJGT, srcK), 0x45, 0, 1), stmt(retK, 1), stmt(retK, 2)}, pkt, 10, 2},
	{"jge k true", []insn{stmt(ldB, 0), jump(jmp(jmpJGE, srcK), 0x45, 0, 1), stmt(retK, 1), stmt(retK, 2)}, pkt, 10, 1},
	{"jge k false", []insn{stmt(ldB, 0), jump(jmp(jmpJGE, srcK), 0x46, 0, 1), stmt(retK, 1), stmt(retK, 2)}, pkt, 10, 2},
	{"jset k true", []insn{stmt(ldB, 0), jump(jmp(jmpJSET, srcK), 0x04, 0, 1), stmt(retK, 1), stmt(retK, 2)}, pkt, 10, 1},
	{"jset k false", []insn{stmt(ldB, 0), jump(jmp(jmpJSET, srcK), 0x02, 0, 1), stmt(retK, 1), stmt(retK, 2)}, pkt, 10, 2},
	{"jeq x true", []insn{stmt(ldxImm, 0x45), stmt(ldB, 0), jump(jmp(jmpJEQ, srcX), 0, 0, 1), stmt(retK, 1), stmt(retK, 2)}, pkt, 10, 1},
	{"jeq x false", []insn{stmt(ldxImm, 0x44), stmt(ldB, 0), jump(jmp(jmpJEQ, srcX), 0, 0, 1), stmt(retK, 1), stmt(retK, 2)}, pkt, 10, 2},
	{"jgt x true", []insn{stmt(ldxImm, 0x44), stmt(ldB, 0), jump(jmp(jmpJGT, srcX), 0, 0, 1), stmt(retK, 1), stmt(retK, 2)}, pkt, 10, 1},
	{"jgt x false", []insn{stmt(ldxImm, 0x45), stmt(ldB, 0), jump(jmp(jmpJGT, srcX), 0, 0, 1), stmt(retK, 1), stmt(retK, 2)}, pkt, 10, 2},
	{"jge x true", []insn{stmt(ldxImm, 0x45), stmt(ldB, 0), jump(jmp(jmpJGE, srcX), 0, 0, 1), stmt(retK, 1), stmt(retK, 2)}, pkt, 10, 1},
	{"jge x false", []insn{stmt(ldxImm, 0x46), stmt(ldB, 0), jump(jmp(jmpJGE, srcX), 0, 0, 1), stmt(retK, 1), stmt(retK, 2)}, pkt, 10, 2},
	{"jset x true", []insn{stmt(ldxImm, 0x41), stmt(ldB, 0), jump(jmp(jmpJSET, srcX), 0, 0, 1), stmt(retK, 1), stmt(retK, 2)}, pkt, 10, 1},
	{"jset x false", []insn{stmt(ldxImm, 0x3a), stmt(ldB, 0), jump(jmp(jmpJSET, srcX), 0, 0, 1), stmt(retK, 1), stmt(retK, 2)}, pkt, 10, 2},
	{"empty packet", []insn{stmt(ldB, 0), stmt(retK, 1)}, nil, 0, 0},
	{"empty packet len", []insn{stmt(ldLen, 0), stmt(retA, 0)}, nil, 64, 64},
	// protochain's shape: a backward ja closes a loop that walks forward
	// until a load falls off the packet.
	{"backward ja loop ends on bounds", []insn{
		stmt(ldxImm, 0),
		stmt(ldIndB, 0),                          // 1: A = P[x]
		jump(jmp(jmpJEQ, srcK), 0xee, 4, 0),      // 2: found 0xee → 7 (it is not there)
		stmt(txa, 0),                             // 3
		stmt(alu(aluADD, srcK), 1), stmt(tax, 0), // 4,5: x++
		stmt(ja, 0xfffffffa), // 6 → 1
		stmt(txa, 0), stmt(retA, 0),
	}, pkt, 10, 0},
}

func TestVM(t *testing.T) {
	for _, c := range vmCases {
		prog, err := load(c.prog)
		if err != nil {
			t.Errorf("%s: load: %v", c.name, err)
			continue
		}
		if got := prog.run(c.data, c.wireLen); got != c.want {
			t.Errorf("%s: run = %#x, want %#x", c.name, got, c.want)
		}
		if !libpcapValidate(c.prog) {
			t.Errorf("%s: libpcap's bpf_validate refuses the program", c.name)
		} else if ref := libpcapFilter(c.prog, c.data, c.wireLen); ref != c.want {
			t.Errorf("%s: libpcap's bpf_filter = %#x, the test wants %#x", c.name, ref, c.want)
		}
	}
}

func TestVMBackwardJumpFound(t *testing.T) {
	// The same loop as above, but finding its byte: ends on the ret, not on bounds.
	ins := []insn{
		stmt(ldxImm, 0),
		stmt(ldIndB, 0),
		jump(jmp(jmpJEQ, srcK), 0xff, 5, 0),
		stmt(txa, 0),
		stmt(alu(aluADD, srcK), 1), stmt(tax, 0),
		stmt(ja, 0xfffffffa),
		stmt(retK, 0),
		stmt(txa, 0), stmt(retA, 0),
	}
	prog, err := load(ins)
	if err != nil {
		t.Fatal(err)
	}
	got := prog.run(pkt, 10)
	if !libpcapValidate(ins) {
		t.Fatal("libpcap's bpf_validate refuses the program")
	}
	if ref := libpcapFilter(ins, pkt, 10); got != 8 || ref != got {
		t.Errorf("run = %d, libpcap = %d, want 8", got, ref)
	}
}

func TestVMEndlessLoopStops(t *testing.T) {
	// libpcap would spin forever on this; the Go interpreter gives up and rejects.
	prog, err := load([]insn{stmt(ldImm, 1), stmt(ja, 0xfffffffe), stmt(retK, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if got := prog.run(pkt, 10); got != 0 {
		t.Errorf("run = %d, want 0", got)
	}
}

func TestLoadRejects(t *testing.T) {
	cases := []struct {
		name      string
		prog      []insn
		libpcapOK bool // what libpcap's bpf_validate says
	}{
		{"empty", nil, false},
		{"no final ret", []insn{stmt(ldImm, 1)}, false},
		{"jump past end", []insn{jump(jmp(jmpJEQ, srcK), 0, 1, 0), stmt(retK, 0)}, false},
		{"ja past end", []insn{stmt(ja, 1), stmt(retK, 0)}, false},
		{"ja before start", []insn{stmt(ja, 0xfffffff0), stmt(retK, 0)}, false},
		{"mem index 16", []insn{stmt(st, 16), stmt(retK, 0)}, false},
		{"ldx mem index 16", []insn{stmt(ldxMem, 16), stmt(retK, 0)}, false},
		{"div by constant zero", []insn{stmt(alu(aluDIV, srcK), 0), stmt(retK, 0)}, false},
		{"mod by constant zero", []insn{stmt(alu(aluMOD, srcK), 0), stmt(retK, 0)}, false},
		// libpcap's validator lets this through too, then its interpreter aborts.
		{"unknown misc opcode", []insn{stmt(0xff, 0), stmt(retK, 0)}, true},
		{"unknown alu opcode", []insn{stmt(clsALU|0xb0, 0), stmt(retK, 0)}, false},
		// libpcap's validator lets this through, then its interpreter aborts.
		{"ld len with size h", []insn{stmt(clsLD|szH|modeLEN, 0), stmt(retK, 0)}, true},
		{"lsh by constant 32", []insn{stmt(alu(aluLSH, srcK), 32), stmt(retK, 0)}, true},
	}
	for _, c := range cases {
		if _, err := load(c.prog); err == nil {
			t.Errorf("%s: load accepted it", c.name)
		}
		if ok := len(c.prog) > 0 && libpcapValidate(c.prog); ok != c.libpcapOK {
			t.Errorf("%s: libpcap's bpf_validate says %v, the test expects %v", c.name, ok, c.libpcapOK)
		}
	}
}

// TestLongProgram: libpcap's userland interpreter runs programs longer than the
// kernel's 4096 instructions (an expression naming 1500 hosts compiles to about
// 8,800, though libpcap's optimiser takes minutes over it), so must this one.
func TestLongProgram(t *testing.T) {
	ins := []insn{stmt(ldImm, 0)}
	for i := 0; i < 10000; i++ {
		ins = append(ins, stmt(alu(aluADD, srcK), 1))
	}
	ins = append(ins, jump(jmp(jmpJEQ, srcK), 10000, 0, 1), stmt(retA, 0), stmt(retK, 0))
	prog, err := load(ins)
	if err != nil {
		t.Fatal(err)
	}
	if got := prog.run(pkt, 10); got != 10000 || !libpcapValidate(ins) || libpcapFilter(ins, pkt, 10) != got {
		t.Errorf("run = %d, want 10000 as libpcap", got)
	}
}
