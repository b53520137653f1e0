//go:build !linux

package capture

import (
	"fmt"
	"io"

	"github.com/pcaptk/pcaptk/pkg/reader"
)

// Ring is the AF_PACKET ring of Linux; elsewhere OpenRing always fails and
// OpenSource uses libpcap.
type Ring struct{}

// OpenRing fails: AF_PACKET is Linux's.
func OpenRing(device string, o LiveOptions) (*Ring, error) {
	return nil, fmt.Errorf("interface %q: %w (AF_PACKET is Linux's)", device, errRingUnsupported)
}

func (r *Ring) Interface() reader.Interface { return reader.Interface{} }
func (r *Ring) Stats() (LiveStats, error)   { return LiveStats{}, nil }
func (r *Ring) Close()                      {}
func (r *Ring) format() *ringFormat         { return &ringFormat{} }
func (r *Ring) blockCount() int             { return 0 }
func (r *Ring) wait() (int, error)          { return -1, io.EOF }
func (r *Ring) block(n int) []byte          { return nil }
func (r *Ring) release(n int)               {}
func (r *Ring) hold(n int) bool             { return false }
func (r *Ring) unhold()                     {}
