package capture

/*
#cgo LDFLAGS: -lpcap
#include <pcap/pcap.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"

	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/filter"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// LiveOptions configure a libpcap capture handle (see OpenLive).
type LiveOptions struct {
	// Snaplen is the number of bytes kept of each packet; 0 means 262144, as in tcpdump.
	Snaplen int
	// NoPromisc leaves the interface out of promiscuous mode (tcpdump -p).
	NoPromisc bool
	// BufferSize is the kernel capture buffer in bytes (tcpdump -B takes KiB); 0 keeps
	// libpcap's default (2 MiB).
	BufferSize int
	// Immediate delivers each packet as soon as it arrives instead of in batches.
	Immediate bool
	// Timeout is libpcap's packet buffer timeout: how long a partly filled batch may
	// wait before it is delivered. It also bounds how long Stop takes. 0 means 100 ms.
	Timeout time.Duration
	// Filter is a tcpdump filter expression run in the kernel; empty keeps everything.
	Filter string
	// LinkType is the data link type to capture with, by libpcap's name
	// (tcpdump -y: "EN10MB", "LINUX_SLL"). Empty keeps the interface's own,
	// except on "any", which is captured as LINUX_SLL2 (Linux cooked v2, with
	// the interface index) where libpcap offers it, as tcpdump 4.99 does.
	LinkType string
	// Direction is tcpdump's -Q: "in", "out", or "" for both (the packets the
	// interface receives, sends, or both).
	Direction string
	// Monitor puts a Wi-Fi interface in monitor mode (tcpdump -I).
	Monitor bool
	// TimestampType is libpcap's time stamp type by name (tcpdump -j:
	// "host", "adapter", ...); empty keeps the default.
	TimestampType string
}

// DefaultSnaplen is tcpdump's default snapshot length.
const DefaultSnaplen = 262144

// ErrNoInterface says a capture interface does not exist.
var ErrNoInterface = errors.New("no such interface")

// ErrPermission says the process may not capture: it needs root or CAP_NET_RAW.
var ErrPermission = errors.New("permission denied: capturing needs root or the CAP_NET_RAW " +
	"capability (as root: setcap cap_net_raw,cap_net_admin=eip pcaptk)")

// Live reads packets from one network interface through libpcap.
type Live struct {
	h     *pcap.Handle
	iface reader.Interface
	pkt   reader.Packet
	n     uint64
	// setLink names the data link type OpenLive chose (-y, or LINUX_SLL2 on
	// "any"), which tcpdump reports; empty when the interface's own is kept.
	setLink string
}

// OpenLive opens device ("any" for all interfaces) for capture. Its errors name the
// device; ErrNoInterface and ErrPermission can be matched with errors.Is.
func OpenLive(device string, o LiveOptions) (*Live, error) {
	if device != "any" {
		if _, err := net.InterfaceByName(device); err != nil {
			return nil, fmt.Errorf("interface %q: %w (pcaptk capture -D lists them)", device, ErrNoInterface)
		}
	}
	if o.Snaplen <= 0 {
		o.Snaplen = DefaultSnaplen
	}
	if o.Timeout <= 0 {
		o.Timeout = 100 * time.Millisecond
	}
	h, err := activate(device, o)
	if err != nil {
		return nil, err
	}
	fail := func(what string, err error) (*Live, error) {
		h.Close()
		return nil, fmt.Errorf("interface %q: %s: %w", device, what, err)
	}
	// In tcpdump's order: direction, data link type, then the filter, which
	// is compiled for the link type.
	if d, err := parseDirection(o.Direction); err != nil || d != dirBoth {
		pd := map[direction]pcap.Direction{dirIn: pcap.DirectionIn, dirOut: pcap.DirectionOut}[d]
		if err == nil {
			err = h.SetDirection(pd)
		}
		if err != nil {
			return fail("direction", err)
		}
	}
	l := &Live{h: h}
	if o.LinkType != "" {
		dlt := pcap.DatalinkNameToVal(o.LinkType)
		if dlt < 0 {
			return fail("data link type", fmt.Errorf("invalid data link type %s", o.LinkType))
		}
		if err := h.SetLinkType(layers.LinkType(dlt)); err != nil {
			return fail("data link type "+o.LinkType, err)
		}
		l.setLink = pcap.DatalinkValToName(dlt)
	} else if device == "any" && h.SetLinkType(dltLinuxSLL2) == nil {
		l.setLink = pcap.DatalinkValToName(dltLinuxSLL2)
	}
	if o.Filter != "" {
		if err := h.SetBPFFilter(o.Filter); err != nil {
			return fail(fmt.Sprintf("filter %q", o.Filter), err)
		}
	}
	resol := uint64(1e9)
	if h.Resolution() == gopacket.TimestampResolutionMicrosecond {
		resol = 1e6
	}
	l.iface = reader.Interface{
		LinkType: dltToLinkType(int(h.LinkType())),
		Snaplen:  uint32(h.SnapLen()),
		Name:     device,
		Filter:   o.Filter,
		TSResol:  resol,
	}
	l.pkt.Iface = 0
	l.pkt.LinkType = l.iface.LinkType
	l.pkt.Snaplen = l.iface.Snaplen
	return l, nil
}

// dltLinuxSLL2 is DLT_LINUX_SLL2 (equal to its LINKTYPE_).
const dltLinuxSLL2 = 276

// dltToLinkType maps the DLT_ of a live handle to the LINKTYPE_ written in
// files and used by the decoders: they differ for raw IP only.
func dltToLinkType(dlt int) uint16 {
	if dlt == 12 || dlt == 14 { // DLT_RAW on Linux and on OpenBSD
		return decode.LinkRaw
	}
	return uint16(dlt)
}

// activate creates and activates a handle with o's settings, those that must
// be set before activation.
func activate(device string, o LiveOptions) (*pcap.Handle, error) {
	in, err := pcap.NewInactiveHandle(device)
	if err != nil {
		return nil, fmt.Errorf("interface %q: %w", device, err)
	}
	defer in.CleanUp()
	fail := func(what string, err error) (*pcap.Handle, error) {
		return nil, fmt.Errorf("interface %q: %s: %w", device, what, err)
	}
	if err := in.SetSnapLen(o.Snaplen); err != nil {
		return fail("snaplen", err)
	}
	if err := in.SetPromisc(!o.NoPromisc); err != nil {
		return fail("promiscuous mode", err)
	}
	if o.Monitor {
		if err := in.SetRFMon(true); err != nil {
			if errors.Is(err, pcap.CannotSetRFMon) {
				return nil, fmt.Errorf("interface %q: that device doesn't support monitor mode", device)
			}
			return fail("monitor mode", err)
		}
	}
	// A positive timeout makes reads return now and then even on a quiet link, so
	// that the reading goroutine sees Stop.
	if err := in.SetTimeout(o.Timeout); err != nil {
		return fail("timeout", err)
	}
	if o.BufferSize > 0 {
		if err := in.SetBufferSize(o.BufferSize); err != nil {
			return fail("buffer size", err)
		}
	}
	if o.Immediate {
		if err := in.SetImmediateMode(true); err != nil {
			return fail("immediate mode", err)
		}
	}
	if o.TimestampType != "" {
		t, err := pcap.TimestampSourceFromString(o.TimestampType)
		if err == nil {
			err = in.SetTimestampSource(t)
		}
		if err != nil {
			return fail("time stamp type "+o.TimestampType, err)
		}
	}
	h, err := in.Activate()
	if err != nil {
		return nil, activateError(device, err)
	}
	return h, nil
}

// CheckTimestampType refuses a time stamp type libpcap does not know, as
// tcpdump -j does before opening anything.
func CheckTimestampType(name string) error {
	if _, err := pcap.TimestampSourceFromString(name); err != nil {
		return fmt.Errorf("invalid time stamp type %s", name)
	}
	return nil
}

// Program returns the filter expr compiled by libpcap for the handle (its
// data link type and snapshot length, Linux's BPF extensions included), as
// the kernel runs it and as tcpdump -d -i prints it.
func (l *Live) Program(expr string) ([]filter.Instruction, error) {
	ins, err := l.h.CompileBPFFilter(expr)
	if err != nil {
		return nil, &filter.SyntaxError{Expr: expr, Msg: err.Error()}
	}
	out := make([]filter.Instruction, len(ins))
	for i, in := range ins {
		out[i] = filter.Instruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	return out, nil
}

// ListLinkTypes prints the data link types of device, as tcpdump -L does: the
// ones of the mode -I selects, each marked when pcaptk cannot print it.
// (tcpdump 4.99 prints the list on standard error.)
func ListLinkTypes(w io.Writer, device string, o LiveOptions) error {
	o.Filter, o.LinkType = "", ""
	if o.Snaplen <= 0 {
		o.Snaplen = DefaultSnaplen
	}
	if o.Timeout <= 0 {
		o.Timeout = 100 * time.Millisecond
	}
	monitorCapable := false
	if in, err := pcap.NewInactiveHandle(device); err == nil {
		monitorCapable = in.SetRFMon(false) == nil
		in.CleanUp()
	}
	h, err := activate(device, o)
	if err != nil {
		return err
	}
	defer h.Close()
	dlts, err := h.ListDataLinks()
	if err != nil {
		return fmt.Errorf("interface %q: %w", device, err)
	}
	if len(dlts) == 0 {
		return errors.New("no data link types")
	}
	var b strings.Builder
	b.WriteString("Data link types for " + device)
	if monitorCapable {
		if o.Monitor {
			b.WriteString(" when in monitor mode")
		} else {
			b.WriteString(" when not in monitor mode")
		}
	}
	b.WriteString(" (use option -y to set):\n")
	for _, d := range dlts {
		fmt.Fprintf(&b, "  %s (%s)", d.Name, d.Description)
		if !decode.Decodes(dltToLinkType(pcap.DatalinkNameToVal(d.Name))) {
			b.WriteString(" (printing not supported)")
		}
		b.WriteByte('\n')
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// ListTimestampTypes prints device's time stamp types as tcpdump -J does
// (tcpdump 4.99 prints them on standard error); when libpcap cannot set them
// it says so on errOut.
func ListTimestampTypes(w, errOut io.Writer, device string) error {
	in, err := pcap.NewInactiveHandle(device)
	if err != nil {
		return fmt.Errorf("interface %q: %w", device, err)
	}
	defer in.CleanUp()
	types := in.SupportedTimestamps()
	if len(types) == 0 {
		_, err := fmt.Fprintf(errOut, "Time stamp type cannot be set for %s\n", device)
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Time stamp types for %s (use option -j to set):\n", device)
	for _, t := range types {
		fmt.Fprintf(&b, "  %s (%s)\n", t, C.GoString(C.pcap_tstamp_type_val_to_description(C.int(t))))
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// printBanner writes what tcpdump writes on stderr as a capture starts: the
// data link type it chose (-y, or cooked v2 on "any"), then "listening on"
// each interface, after the line that suggests -v when packets are printed
// without it. It reads the interfaces as the backends describe them.
func printBanner(w io.Writer, o *Options, ifaces []reader.Interface) {
	var b strings.Builder
	for _, ifc := range ifaces {
		if o.LinkType != "" || ifc.Name == "any" && ifc.LinkType == decode.LinkLinuxSLL2 {
			fmt.Fprintf(&b, "pcaptk: data link type %s\n", pcap.DatalinkValToName(linkTypeToDLT(ifc.LinkType)))
		}
	}
	prefix := "pcaptk: "
	if o.Write == "" && !o.Verbose {
		b.WriteString("pcaptk: verbose output suppressed, use -v[v]... for full protocol decode\n")
		prefix = ""
	}
	for _, ifc := range ifaces {
		dlt := linkTypeToDLT(ifc.LinkType)
		fmt.Fprintf(&b, "%slistening on %s, link-type %s (%s), snapshot length %d bytes\n", prefix, ifc.Name,
			pcap.DatalinkValToName(dlt), pcap.DatalinkValToDescription(dlt), ifc.Snaplen)
	}
	io.WriteString(w, b.String())
}

// linkTypeToDLT undoes dltToLinkType, for libpcap's names.
func linkTypeToDLT(lt uint16) int {
	if lt == decode.LinkRaw {
		return 12 // DLT_RAW on Linux
	}
	return int(lt)
}

// activateError turns pcap_activate's failures into messages that say what to do.
func activateError(device string, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "Permission Denied"), strings.Contains(msg, "Operation not permitted"),
		strings.Contains(msg, "permission"):
		return fmt.Errorf("interface %q: %w", device, ErrPermission)
	case strings.Contains(msg, "No Such Device"):
		return fmt.Errorf("interface %q: %w (pcaptk capture -D lists them)", device, ErrNoInterface)
	case strings.Contains(msg, "Not Up"):
		return fmt.Errorf("interface %q: interface is down (ip link set %s up)", device, device)
	}
	return fmt.Errorf("interface %q: %s", device, strings.TrimPrefix(msg, "Error: "))
}

// LinkTypeSet names the data link type OpenLive set (LiveOptions.LinkType,
// or LINUX_SLL2 on "any"), which tcpdump reports; "" when the interface's own
// is kept.
func (l *Live) LinkTypeSet() string { return l.setLink }

// Interface describes the capture: link type, snaplen, name, filter.
func (l *Live) Interface() reader.Interface { return l.iface }

// Next returns the next packet. It reuses its Packet and the Data points into
// libpcap's buffer: both are valid only until the next call. On a quiet link it
// returns ErrLiveTimeout after the packet buffer timeout; io.EOF once the handle is closed.
func (l *Live) Next() (*reader.Packet, error) {
	data, ci, err := l.h.ZeroCopyReadPacketData()
	if err != nil {
		if err == pcap.NextErrorTimeoutExpired {
			return nil, ErrLiveTimeout
		}
		if err == io.EOF {
			return nil, io.EOF
		}
		if msg := l.h.Error(); msg != nil && msg.Error() != "" {
			return nil, fmt.Errorf("interface %q: %v", l.iface.Name, msg) // libpcap's own words
		}
		return nil, fmt.Errorf("interface %q: %w", l.iface.Name, err)
	}
	l.n++
	l.pkt.Data = data
	l.pkt.Timestamp = ci.Timestamp.UnixNano()
	l.pkt.CapLen = uint32(ci.CaptureLength)
	l.pkt.WireLen = uint32(ci.Length)
	l.pkt.Number = l.n
	return &l.pkt, nil
}

// ErrLiveTimeout is returned by Live.Next when no packet came within the timeout.
var ErrLiveTimeout = errors.New("no packet before the timeout")

// LiveStats are libpcap's counters for a handle (pcap_stats).
type LiveStats struct {
	Received  uint64 // packets that passed the filter ("received by filter")
	Dropped   uint64 // dropped by the kernel for lack of buffer space
	IfDropped uint64 // dropped by the network interface or its driver
}

// Stats returns libpcap's counters.
func (l *Live) Stats() (LiveStats, error) {
	s, err := l.h.Stats()
	if err != nil {
		return LiveStats{}, fmt.Errorf("interface %q: statistics: %w", l.iface.Name, err)
	}
	return LiveStats{Received: uint64(uint32(s.PacketsReceived)), Dropped: uint64(uint32(s.PacketsDropped)),
		IfDropped: uint64(uint32(s.PacketsIfDropped))}, nil
}

// Close releases the handle.
func (l *Live) Close() { l.h.Close() }

// Device is a network interface libpcap can capture on.
type Device struct {
	Name        string
	Description string
	Loopback    bool
	Up          bool
	Running     bool
	Wireless    bool
	Status      string // "Connected", "Disconnected", "" when unknown, "" when not applicable
}

// Flag bits of pcap_if_t, from pcap.h.
const (
	pcapIfLoopback     = 0x01
	pcapIfUp           = 0x02
	pcapIfRunning      = 0x04
	pcapIfWireless     = 0x08
	pcapIfStatusMask   = 0x30
	pcapIfConnected    = 0x10
	pcapIfDisconnected = 0x20
)

// Devices lists the interfaces available for capture, in libpcap's order.
func Devices() ([]Device, error) {
	ifs, err := pcap.FindAllDevs()
	if err != nil {
		return nil, fmt.Errorf("listing interfaces: %w", err)
	}
	out := make([]Device, 0, len(ifs))
	for _, i := range ifs {
		d := Device{Name: i.Name, Description: i.Description,
			Loopback: i.Flags&pcapIfLoopback != 0, Up: i.Flags&pcapIfUp != 0,
			Running: i.Flags&pcapIfRunning != 0, Wireless: i.Flags&pcapIfWireless != 0}
		switch i.Flags & pcapIfStatusMask {
		case pcapIfConnected:
			d.Status = "Connected"
		case pcapIfDisconnected:
			d.Status = "Disconnected"
		}
		out = append(out, d)
	}
	return out, nil
}
