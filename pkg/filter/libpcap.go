package filter

/*
#cgo LDFLAGS: -lpcap
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pcap/pcap.h>

// pcaptk_open_file opens, with libpcap, a pcap file whose header says
// linktype and snaplen and that holds no packet (an in-memory header), so that
// libpcap itself maps LINKTYPE_ to DLT_ and clamps the snapshot length as it
// does for the files tcpdump -r reads.
static pcap_t *pcaptk_open_file(unsigned int linktype, unsigned int snaplen, char *errbuf) {
	unsigned char hdr[24];
	unsigned int magic = 0xa1b2c3d4;
	unsigned short major = 2, minor = 4;
	unsigned int zero = 0;
	memcpy(hdr, &magic, 4);
	memcpy(hdr + 4, &major, 2);
	memcpy(hdr + 6, &minor, 2);
	memcpy(hdr + 8, &zero, 4);
	memcpy(hdr + 12, &zero, 4);
	memcpy(hdr + 16, &snaplen, 4);
	memcpy(hdr + 20, &linktype, 4);
	FILE *f = fmemopen(hdr, sizeof hdr, "rb");
	if (f == NULL) {
		snprintf(errbuf, PCAP_ERRBUF_SIZE, "fmemopen failed");
		return NULL;
	}
	pcap_t *p = pcap_fopen_offline(f, errbuf);
	if (p == NULL)
		fclose(f);
	return p;
}

// pcaptk_compile compiles expr exactly as tcpdump -r does for a pcap file whose
// header says linktype and snaplen: with optimisation unless tcpdump's -O
// turns it off, and netmask 0, as tcpdump does for savefiles. A dlt of 0 or
// more compiles instead for that DLT_ with pcap_open_dead, as tcpdump -d does
// without an input.
// On success it returns 0 and sets *prog and *snap (libpcap's snapshot length);
// on failure it returns -1 with the message in errbuf.
static int pcaptk_compile(unsigned int linktype, unsigned int snaplen, int dlt, int optimize,
		const char *expr, struct bpf_program *prog, int *snap, char *errbuf) {
	pcap_t *p;
	if (dlt >= 0) {
		p = pcap_open_dead(dlt, (int)snaplen);
		if (p == NULL) {
			snprintf(errbuf, PCAP_ERRBUF_SIZE, "pcap_open_dead failed");
			return -1;
		}
	} else {
		p = pcaptk_open_file(linktype, snaplen, errbuf);
		if (p == NULL)
			return -1;
	}
	*snap = pcap_snapshot(p);
	if (pcap_compile(p, prog, expr, optimize, 0) < 0) {
		snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s", pcap_geterr(p));
		pcap_close(p);
		return -1;
	}
	pcap_close(p);
	return 0;
}

// pcaptk_file_dlt returns the DLT_ libpcap gives a file of this LINKTYPE_, or
// -1 when it does not read such files.
static int pcaptk_file_dlt(unsigned int linktype) {
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcaptk_open_file(linktype, 0, errbuf);
	if (p == NULL)
		return -1;
	int dlt = pcap_datalink(p);
	pcap_close(p);
	return dlt;
}
*/
import "C"

import (
	"strings"
	"sync"
	"unsafe"
)

// libpcap before 1.8 had a global parser; one compile at a time costs nothing here,
// since each filter compiles once per link type.
var compileMu sync.Mutex

// compileLibpcap returns the BPF program libpcap makes for expr on a savefile with
// the given LINKTYPE_ and header snaplen, and the snapshot length libpcap uses
// for such a file (a snaplen of 0 is replaced by the link type's maximum); the
// snapshot length is returned (if libpcap got that far) even when compiling fails.
func compileLibpcap(linkType uint16, snaplen uint32, expr string) ([]insn, uint32, error) {
	return compileWith(linkType, snaplen, -1, true, expr)
}

// compileWith compiles expr for a file of linkType and snaplen or, when dlt is
// 0 or more, for that DLT_ and snaplen; optimize false is tcpdump's -O.
func compileWith(linkType uint16, snaplen uint32, dlt int, optimize bool, expr string) ([]insn, uint32, error) {
	cexpr := C.CString(expr)
	defer C.free(unsafe.Pointer(cexpr))
	errbuf := (*C.char)(C.calloc(C.PCAP_ERRBUF_SIZE+1, 1))
	defer C.free(unsafe.Pointer(errbuf))

	var prog C.struct_bpf_program
	var snap C.int // set once libpcap has opened the header, even if compiling fails
	compileMu.Lock()
	opt := C.int(0)
	if optimize {
		opt = 1
	}
	rc := C.pcaptk_compile(C.uint(linkType), C.uint(snaplen), C.int(dlt), opt, cexpr, &prog, &snap, errbuf)
	compileMu.Unlock()
	if rc != 0 {
		return nil, uint32(max(snap, 0)), &libpcapError{msg: C.GoString(errbuf)}
	}
	defer C.pcap_freecode(&prog)

	n := int(prog.bf_len)
	cins := unsafe.Slice(prog.bf_insns, n)
	ins := make([]insn, n)
	for i, c := range cins {
		ins[i] = insn{Op: uint16(c.code), Jt: uint8(c.jt), Jf: uint8(c.jf), K: uint32(c.k)}
	}
	return ins, uint32(snap), nil
}

// libpcapError carries libpcap's message for a failed compile.
type libpcapError struct{ msg string }

func (e *libpcapError) Error() string { return e.msg }

// syntaxMsg trims the prefix libpcap puts before parser errors: the rest is the
// part that tells the user what is wrong.
func syntaxMsg(msg string) string {
	return strings.TrimPrefix(msg, "can't parse filter expression: ")
}

// cProgram copies ins into C memory for libpcap; the caller frees it.
func cProgram(ins []insn) *C.struct_bpf_insn {
	size := unsafe.Sizeof(C.struct_bpf_insn{})
	cins := (*C.struct_bpf_insn)(C.calloc(C.size_t(len(ins)+1), C.size_t(size)))
	for i, in := range ins {
		c := (*C.struct_bpf_insn)(unsafe.Add(unsafe.Pointer(cins), uintptr(i)*size))
		c.code, c.jt, c.jf, c.k = C.u_short(in.Op), C.u_char(in.Jt), C.u_char(in.Jf), C.bpf_u_int32(in.K)
	}
	return cins
}

// libpcapValidate runs libpcap's bpf_validate. The Go validator (load) is
// tested against it.
func libpcapValidate(ins []insn) bool {
	cins := cProgram(ins)
	defer C.free(unsafe.Pointer(cins))
	return C.bpf_validate(cins, C.int(len(ins))) != 0
}

// libpcapFilter runs ins with libpcap's own interpreter, bpf_filter: the
// reference the Go interpreter is tested and fuzzed against, never used to
// filter packets (see program.run for why). Only call it on programs load
// accepts and that cannot loop: libpcap aborts on opcodes it does not run
// and spins forever in an endless loop.
func libpcapFilter(ins []insn, data []byte, wireLen uint32) uint32 {
	cins := cProgram(ins)
	defer C.free(unsafe.Pointer(cins))
	cdata := (*C.u_char)(C.malloc(C.size_t(len(data) + 1)))
	defer C.free(unsafe.Pointer(cdata))
	copy(unsafe.Slice((*byte)(unsafe.Pointer(cdata)), len(data)), data)
	return uint32(C.bpf_filter(cins, cdata, C.u_int(wireLen), C.u_int(len(data))))
}

// bpfImage is libpcap's text for one instruction, as tcpdump -d prints it.
func bpfImage(in insn, n int) string {
	c := C.struct_bpf_insn{code: C.u_short(in.Op), jt: C.u_char(in.Jt), jf: C.u_char(in.Jf), k: C.bpf_u_int32(in.K)}
	compileMu.Lock() // bpf_image formats into a static buffer
	defer compileMu.Unlock()
	return C.GoString(C.bpf_image(&c, C.int(n)))
}

// fileDLT returns the DLT_ libpcap gives a capture file of this LINKTYPE_.
func fileDLT(linkType uint16) (int, bool) {
	compileMu.Lock()
	defer compileMu.Unlock()
	dlt := int(C.pcaptk_file_dlt(C.uint(linkType)))
	return dlt, dlt >= 0
}

// dltNames returns libpcap's name and description of a DLT_ ("EN10MB",
// "Ethernet"); ok is false when libpcap has none.
func dltNames(dlt int) (name, desc string, ok bool) {
	n := C.pcap_datalink_val_to_name(C.int(dlt))
	if n == nil {
		return "", "", false
	}
	return C.GoString(n), C.GoString(C.pcap_datalink_val_to_description(C.int(dlt))), true
}

// dltByName is pcap_datalink_name_to_val: the DLT_ named (case does not
// matter, "DLT_" may be left out), or -1.
func dltByName(name string) int {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	return int(C.pcap_datalink_name_to_val(cname))
}

// LibpcapVersion returns pcap_lib_version(), for reports and tests.
func LibpcapVersion() string { return C.GoString(C.pcap_lib_version()) }
