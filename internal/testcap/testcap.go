// Package testcap holds helpers for tests of captures. It builds small capture
// files byte by byte for tests that need what pkg/writer will not write: raw
// pcapng timestamps of any 64-bit value, if_tsoffset, and pcap records whose
// time fields are out of range; reference tools (tcpdump, capinfos) then read
// the same bytes as pcaptk. SyncBuffer collects a running process's output.
package testcap

import (
	"bytes"
	"encoding/binary"
	"sync"
)

// SyncBuffer is a bytes.Buffer that a process (os/exec's copying goroutine)
// may write while the test reads it, as when waiting for a capture's
// "listening on" line.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var le = binary.LittleEndian

// Iface is a pcapng interface: Ethernet, with if_tsresol 10^-Resol and, when
// not zero, if_tsoffset in seconds.
type Iface struct {
	Resol    uint8 // 0 means 6 (microseconds), as pcapng's default
	TSOffset int64
}

// Packet is a pcapng Enhanced Packet Block: Ticks is the raw 64-bit timestamp in
// the interface's units. Nil Data means SYN().
type Packet struct {
	Iface uint32
	Ticks uint64
	Data  []byte
}

// Pcapng returns a little-endian pcapng file with the interfaces and packets.
func Pcapng(ifaces []Iface, pkts []Packet) []byte {
	shb := le.AppendUint32(nil, 0x1A2B3C4D)
	shb = le.AppendUint16(shb, 1)
	shb = le.AppendUint16(shb, 0)
	shb = le.AppendUint64(shb, ^uint64(0)) // section length unknown
	out := block(nil, 0x0A0D0D0A, shb)
	for _, ifc := range ifaces {
		resol := ifc.Resol
		if resol == 0 {
			resol = 6
		}
		b := le.AppendUint16(nil, 1) // LINKTYPE_ETHERNET
		b = le.AppendUint16(b, 0)
		b = le.AppendUint32(b, 65535)
		b = option(b, 9, []byte{resol})
		if ifc.TSOffset != 0 {
			b = option(b, 14, le.AppendUint64(nil, uint64(ifc.TSOffset)))
		}
		b = option(b, 0, nil)
		out = block(out, 1, b)
	}
	for _, p := range pkts {
		data := p.Data
		if data == nil {
			data = SYN()
		}
		b := le.AppendUint32(nil, p.Iface)
		b = le.AppendUint32(b, uint32(p.Ticks>>32))
		b = le.AppendUint32(b, uint32(p.Ticks))
		b = le.AppendUint32(b, uint32(len(data)))
		b = le.AppendUint32(b, uint32(len(data)))
		out = block(out, 6, append(b, data...))
	}
	return out
}

// Record is a pcap record with its time fields as stored. Nil Data means SYN().
type Record struct {
	Sec, Frac uint32
	Data      []byte
}

// Pcap returns a little-endian pcap file (nanosecond magic with nano) of
// Ethernet records.
func Pcap(nano bool, recs []Record) []byte {
	magic := uint32(0xA1B2C3D4)
	if nano {
		magic = 0xA1B23C4D
	}
	out := le.AppendUint32(nil, magic)
	out = le.AppendUint16(out, 2)
	out = le.AppendUint16(out, 4)
	out = le.AppendUint64(out, 0) // thiszone, sigfigs
	out = le.AppendUint32(out, 65535)
	out = le.AppendUint32(out, 1)
	for _, r := range recs {
		data := r.Data
		if data == nil {
			data = SYN()
		}
		out = le.AppendUint32(out, r.Sec)
		out = le.AppendUint32(out, r.Frac)
		out = le.AppendUint32(out, uint32(len(data)))
		out = le.AppendUint32(out, uint32(len(data)))
		out = append(out, data...)
	}
	return out
}

// SYN returns an Ethernet frame holding a TCP SYN from 10.0.0.1:12345 to
// 10.0.0.2:80 (checksums zero), a packet every printer and exporter takes.
func SYN() []byte {
	return []byte{
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 8, 0,
		0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
		0x30, 0x39, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
	}
}

func block(out []byte, typ uint32, body []byte) []byte {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := uint32(12 + len(body))
	out = le.AppendUint32(out, typ)
	out = le.AppendUint32(out, n)
	out = append(out, body...)
	return le.AppendUint32(out, n)
}

func option(b []byte, code uint16, v []byte) []byte {
	b = le.AppendUint16(b, code)
	b = le.AppendUint16(b, uint16(len(v)))
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}
