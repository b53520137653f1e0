package capture

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcap"

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
	// Direction is tcpdump's -Q: "in", "out", or "" for both.
	Direction string
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
	in, err := pcap.NewInactiveHandle(device)
	if err != nil {
		return nil, fmt.Errorf("interface %q: %w", device, err)
	}
	defer in.CleanUp()
	fail := func(what string, err error) (*Live, error) {
		return nil, fmt.Errorf("interface %q: %s: %w", device, what, err)
	}
	if err := in.SetSnapLen(o.Snaplen); err != nil {
		return fail("snaplen", err)
	}
	if err := in.SetPromisc(!o.NoPromisc); err != nil {
		return fail("promiscuous mode", err)
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
	h, err := in.Activate()
	if err != nil {
		return nil, activateError(device, err)
	}
	if d, err := parseDirection(o.Direction); err != nil || d != dirBoth {
		pd := map[direction]pcap.Direction{dirIn: pcap.DirectionIn, dirOut: pcap.DirectionOut}[d]
		if err == nil {
			err = h.SetDirection(pd)
		}
		if err != nil {
			h.Close()
			return fail("direction", err)
		}
	}
	if o.Filter != "" {
		if err := h.SetBPFFilter(o.Filter); err != nil {
			h.Close()
			return fail(fmt.Sprintf("filter %q", o.Filter), err)
		}
	}
	resol := uint64(1e9)
	if h.Resolution() == gopacket.TimestampResolutionMicrosecond {
		resol = 1e6
	}
	l := &Live{h: h, iface: reader.Interface{
		LinkType: uint16(h.LinkType()),
		Snaplen:  uint32(h.SnapLen()),
		Name:     device,
		Filter:   o.Filter,
		TSResol:  resol,
	}}
	l.pkt.Iface = 0
	l.pkt.LinkType = l.iface.LinkType
	l.pkt.Snaplen = l.iface.Snaplen
	return l, nil
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
