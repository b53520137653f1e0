package reader

import (
	"errors"
	"fmt"
)

// Packet is one captured packet: its bytes plus what the capture recorded about it.
// A Packet returned by Reader.Next shares Data with the reader's buffer and is only
// valid until the next call to Next; use Packet.Clone to keep one.
type Packet struct {
	Data      []byte // captured bytes (len(Data) == CapLen)
	Timestamp int64  // capture time, nanoseconds since the Unix epoch (UTC)
	CapLen    uint32 // bytes captured
	WireLen   uint32 // bytes on the wire (original length)
	Iface     int    // index into Reader.Interfaces() (global across pcapng sections); 0 for pcap
	LinkType  uint16 // LINKTYPE_* of the packet's interface
	Snaplen   uint32 // snapshot length of the packet's interface
	Number    uint64 // packet number in the input, from 1
	Offset    int64  // byte offset of the packet's record in the (decompressed) input
	// RawFrac is a pcap record's fraction-of-second field as stored, in units of
	// FracUnits (1e6 or 1e9). Malformed files hold values of a second or more,
	// which Timestamp folds into the seconds while tcpdump prints them as stored.
	// FracUnits is 0 for pcapng packets.
	RawFrac   uint32
	FracUnits uint32
}

// Clone returns a copy of p that owns its data.
func (p *Packet) Clone() Packet {
	c := *p
	c.Data = append([]byte(nil), p.Data...)
	return c
}

// Format is the container format of a capture file.
type Format int

const (
	FormatPcap Format = iota + 1
	FormatPcapNG
)

func (f Format) String() string {
	switch f {
	case FormatPcap:
		return "pcap"
	case FormatPcapNG:
		return "pcapng"
	}
	return "unknown"
}

// Interface describes one capture interface: the single pseudo-interface of a pcap
// file, or one pcapng Interface Description Block.
type Interface struct {
	LinkType    uint16
	Snaplen     uint32
	Name        string // if_name, empty if absent
	Description string // if_description
	Filter      string // if_filter (string form), empty if absent
	OS          string // shb_os of its section
	TSResol     uint64 // timestamp units per second (1e6 for µs, 1e9 for ns)
	TSOffset    int64  // if_tsoffset, seconds
	Section     int    // index of the pcapng section, from 0
	SectionID   int    // interface id inside its section
}

// Sentinel errors, matched with errors.Is.
var (
	ErrNotCapture = errors.New("not a pcap or pcapng file")
	ErrTruncated  = errors.New("file ends in the middle of a record")
	ErrTooLarge   = errors.New("record length exceeds the limit")
	ErrCorrupt    = errors.New("malformed record")
)

// PacketError says where in which file reading failed.
type PacketError struct {
	File   string // file name as given ("-" for stdin)
	Packet uint64 // number of the packet being read (from 1); 0 for the file header
	Offset int64  // byte offset of the record
	Err    error
}

func (e *PacketError) Error() string {
	if e.Packet == 0 {
		return fmt.Sprintf("%s: offset %d: %v", e.File, e.Offset, e.Err)
	}
	return fmt.Sprintf("%s: packet %d at offset %d: %v", e.File, e.Packet, e.Offset, e.Err)
}

func (e *PacketError) Unwrap() error { return e.Err }
