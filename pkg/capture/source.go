package capture

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pcaptk/pcaptk/pkg/reader"
)

// Source is an open capture on one interface that a Queue reads: a libpcap
// handle (*Live) or, on Linux, an AF_PACKET ring (*Ring).
type Source interface {
	Interface() reader.Interface
	// Stats returns the kernel's counts, with libpcap's meaning whatever the backend.
	Stats() (LiveStats, error)
	Close()
}

// Backends for OpenSource.
const (
	BackendAuto     = ""         // the AF_PACKET ring where it can do the capture, else libpcap
	BackendLibpcap  = "libpcap"  // always libpcap
	BackendAFPacket = "afpacket" // always the ring; an error where it cannot
)

// errRingUnsupported says the ring cannot do this capture (another system, an
// interface type or a filter it does not handle as libpcap would): the automatic
// choice then opens libpcap instead.
var errRingUnsupported = errors.New("not supported by the AF_PACKET backend")

// OpenSource opens device with the backend asked for ("" chooses: the
// AF_PACKET ring, reading whole blocks with no system call per packet, where it
// can, else libpcap). Errors are OpenLive's.
func OpenSource(device string, o LiveOptions, backend string) (Source, error) {
	if _, err := parseDirection(o.Direction); err != nil {
		return nil, err
	}
	switch backend {
	case BackendLibpcap:
		return openLiveSource(device, o)
	case BackendAFPacket, BackendAuto:
	default:
		return nil, fmt.Errorf("unknown backend %q (libpcap or afpacket)", backend)
	}
	r, err := OpenRing(device, o)
	if err == nil {
		return r, nil
	}
	if backend == BackendAuto && errors.Is(err, errRingUnsupported) {
		return openLiveSource(device, o)
	}
	return nil, err
}

func openLiveSource(device string, o LiveOptions) (Source, error) {
	l, err := OpenLive(device, o)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// parseDirection reads -Q: "in", "out", or "" (or "inout", tcpdump's word) for both.
func parseDirection(s string) (direction, error) {
	switch strings.ToLower(s) {
	case "", "inout":
		return dirBoth, nil
	case "in":
		return dirIn, nil
	case "out":
		return dirOut, nil
	}
	return dirBoth, fmt.Errorf("unknown direction %q (in, out or inout)", s)
}
