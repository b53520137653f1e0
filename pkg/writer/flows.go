package writer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/pcaptk/pcaptk/internal/outfile"
	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// DefaultMaxOpen is how many flow files Flows keeps open when FlowOptions.MaxOpen is 0.
const DefaultMaxOpen = 128

// FlowOptions configure a Flows sink (`pcaptk split --flows`).
type FlowOptions struct {
	// Path BASE.EXT names the files: BASE_NNNNN_SRC.SPORT-DST.DPORT.EXT for each TCP or
	// UDP connection, numbered from 00001 in the order their first packet arrives and
	// named for the direction of that packet, and BASE_other.EXT for every other packet
	// (not IP, not TCP/UDP, later IP fragments, too short to hold the ports).
	Path string
	// Format, Nano, Interfaces and AppName are as in RotateOptions.
	Format     reader.Format
	Nano       bool
	Interfaces []reader.Interface
	AppName    string
	// MaxOpen bounds the files open at once; beyond it the least recently written one
	// is closed and later reopened in append mode. 0 means DefaultMaxOpen.
	MaxOpen int
	// Mode of created files; 0 means 0600.
	Mode os.FileMode
	// BufferSize of each open file's buffer; 0 means 64 KiB.
	BufferSize int
	// Guard refuses file names that are inputs of the command.
	Guard *outfile.Guard
}

// flowKey is a connection, both directions alike: protocol, then the lower (address,
// port) endpoint, then the higher one, then the IP version.
type flowKey [1 + 2*18 + 1]byte

type flow struct {
	path       string
	out        *outfile.File // written under a temporary name until Flows.Close
	f          *os.File      // open descriptor, nil while closed by the LRU
	packets    uint64
	bw         *bufio.Writer
	w          fileWriter
	nIfaces    int // interface blocks in the file (pcapng), for appending
	prev, next *flow
}

// Flows writes each TCP/UDP connection to its own file, keeping at most MaxOpen files
// open. It holds a small record per connection seen, so its memory grows with the
// number of connections (about 200 bytes each), not with packets.
type Flows struct {
	o      FlowOptions
	flows  map[flowKey]*flow
	other  *flow
	head   flow // sentinel of the open files' list, most recently used first
	open   int
	seq    int
	rec    decode.Record
	known  []reader.Interface // declared interfaces, including those met in packets
	pool   []*bufio.Writer
	all    []*flow // in order of creation
	files  []string
	bad    *flow // the flow a write error cut short
	damage []Damage
	err    error
}

// NewFlows checks o and returns the sink. Files are created as connections appear.
func NewFlows(o FlowOptions) (*Flows, error) {
	if o.Path == "" || o.Path == "-" {
		return nil, errors.New("per-flow output needs a file name, not standard output")
	}
	if o.Format == 0 {
		o.Format = reader.FormatPcap
	}
	if o.MaxOpen <= 0 {
		o.MaxOpen = DefaultMaxOpen
	}
	if o.Mode == 0 {
		o.Mode = 0o600
	}
	if o.BufferSize <= 0 {
		o.BufferSize = 64 << 10
	}
	fl := &Flows{o: o, flows: make(map[flowKey]*flow), known: append([]reader.Interface(nil), o.Interfaces...)}
	fl.head.next, fl.head.prev = &fl.head, &fl.head
	return fl, nil
}

// WritePacket appends p to the file of its connection.
func (fl *Flows) WritePacket(p *reader.Packet) error {
	if fl.err != nil {
		return fl.err
	}
	for p.Iface >= len(fl.known) {
		fl.known = append(fl.known, reader.Interface{LinkType: p.LinkType, Snaplen: p.Snaplen, TSResol: 1e9})
	}
	fw := fl.lookup(p)
	if fw == nil {
		return fl.err
	}
	if fw.f == nil && fl.reopen(fw, p) != nil {
		return fl.err
	}
	fl.touch(fw)
	if err := fw.w.WritePacket(p); err != nil {
		fl.failFlow(fw, err)
	} else {
		fw.packets++
	}
	return fl.err
}

// lookup finds or creates the flow of p (not opening its file).
func (fl *Flows) lookup(p *reader.Packet) *flow {
	decode.Decode(p.LinkType, p.Data, p.WireLen, &fl.rec)
	r := &fl.rec
	if r.IPVersion == 0 || !(r.HasTCP || r.HasUDP) || r.FragOff != 0 {
		if fl.other == nil {
			ext := filepath.Ext(fl.o.Path)
			fl.other = &flow{path: strings.TrimSuffix(fl.o.Path, ext) + "_other" + ext}
		}
		return fl.other
	}
	n := 4
	if r.IPVersion == 6 {
		n = 16
	}
	var k flowKey
	k[0], k[37] = r.Proto, r.IPVersion
	a, b := k[1:19], k[19:37]
	copy(a, r.SrcIP[:n])
	a[16], a[17] = byte(r.SrcPort>>8), byte(r.SrcPort)
	copy(b, r.DstIP[:n])
	b[16], b[17] = byte(r.DstPort>>8), byte(r.DstPort)
	if bytes.Compare(a, b) > 0 {
		var t [18]byte
		copy(t[:], a)
		copy(a, b)
		copy(b, t[:])
	}
	if fw, ok := fl.flows[k]; ok {
		return fw
	}
	fl.seq++
	src := endpoint(r.SrcIP[:n], r.SrcPort)
	dst := endpoint(r.DstIP[:n], r.DstPort)
	ext := filepath.Ext(fl.o.Path)
	fw := &flow{path: fmt.Sprintf("%s_%05d_%s-%s%s", strings.TrimSuffix(fl.o.Path, ext), fl.seq, src, dst, ext)}
	fl.flows[k] = fw
	return fw
}

func endpoint(ip []byte, port uint16) string {
	a, _ := netip.AddrFromSlice(ip)
	return fmt.Sprintf("%s.%d", a, port)
}

// reopen opens fw's file: created on first use, appended to after an LRU close.
func (fl *Flows) reopen(fw *flow, p *reader.Packet) error {
	if fl.open >= fl.o.MaxOpen {
		fl.closeFlow(fl.head.prev)
	}
	created := fw.out == nil // else it was closed by the LRU and is continued
	var err error
	if created {
		fw.out, err = outfile.Create(fw.path, outfile.Options{Mode: fl.o.Mode, Guard: fl.o.Guard})
		if err == nil {
			fl.all = append(fl.all, fw)
		}
	} else {
		err = fw.out.Resume()
	}
	if err != nil {
		fl.fail(err)
		return fl.err
	}
	f := fw.out.File
	fw.f = f
	if n := len(fl.pool); n > 0 {
		fw.bw = fl.pool[n-1]
		fl.pool = fl.pool[:n-1]
		fw.bw.Reset(f)
	} else {
		fw.bw = bufio.NewWriterSize(f, fl.o.BufferSize)
	}
	ifaces := fl.known
	switch {
	case fl.o.Format != reader.FormatPcapNG:
		ifaces = fl.known[p.Iface : p.Iface+1] // pcap: the link type of the file's first packet
	case !created:
		ifaces = fl.known[:fw.nIfaces]
	}
	fw.w, err = newFileWriter(fw.bw, fl.o.Format, fl.o.Nano, ifaces, fl.o.AppName, p, created)
	if err != nil {
		fl.failFlow(fw, err)
	}
	fl.open++
	return fl.err
}

// touch moves fw to the front of the open list.
func (fl *Flows) touch(fw *flow) {
	if fl.head.next == fw {
		return
	}
	if fw.prev != nil {
		fw.prev.next, fw.next.prev = fw.next, fw.prev
	}
	fw.next, fw.prev = fl.head.next, &fl.head
	fl.head.next.prev = fw
	fl.head.next = fw
}

func (fl *Flows) closeFlow(fw *flow) {
	if err := fw.w.Close(); err != nil {
		fl.failFlow(fw, err)
	}
	if err := fw.out.Suspend(); err != nil {
		fl.failFlow(fw, err)
	}
	if ng, ok := fw.w.(*Pcapng); ok {
		fw.nIfaces = ng.Interfaces()
	}
	fw.bw.Reset(nil)
	fl.pool = append(fl.pool, fw.bw)
	fw.f, fw.bw = nil, nil
	fw.prev.next, fw.next.prev = fw.next, fw.prev
	fw.prev, fw.next = nil, nil
	fl.open--
}

// Close closes every open file and renames them all into place; after a write
// error, the file it cut short is first cut back to its last whole packet (see
// Damaged). It returns the first error met.
func (fl *Flows) Close() error {
	for fl.head.next != &fl.head {
		fl.closeFlow(fl.head.next)
	}
	for _, fw := range fl.all {
		if fw == fl.bad {
			d := Damage{Path: fw.path, Written: fw.packets}
			if d.Kept, d.Removed = Salvage(fw.out.Written()); d.Removed {
				fw.out.Abort()
				fl.damage = append(fl.damage, d)
				continue
			}
			fl.damage = append(fl.damage, d)
		}
		if err := fw.out.Commit(); err != nil {
			fl.fail(err)
			continue
		}
		fl.files = append(fl.files, fw.path)
	}
	fl.all = nil
	return fl.err
}

// Abort removes every file written so far: for a command stopped before the end.
func (fl *Flows) Abort() {
	for _, fw := range fl.all {
		fw.out.Abort()
	}
	fl.all = nil
}

// Files lists the files completed by Close, in the order their first packet arrived.
func (fl *Flows) Files() []string { return append([]string(nil), fl.files...) }

// Damaged lists the file a write error cut short, once Close has cut it back.
func (fl *Flows) Damaged() []Damage { return append([]Damage(nil), fl.damage...) }

// Connections is the number of TCP/UDP connections seen.
func (fl *Flows) Connections() int { return len(fl.flows) }

// failFlow records a write error on fw's file.
func (fl *Flows) failFlow(fw *flow, err error) {
	if fl.err == nil {
		fl.bad = fw
	}
	fl.fail(fmt.Errorf("%s: %w", fw.path, outfile.Cause(err)))
}

func (fl *Flows) fail(err error) {
	if fl.err == nil {
		fl.err = err
	}
}
