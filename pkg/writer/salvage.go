package writer

import (
	"errors"
	"os"

	"github.com/pcaptk/pcaptk/pkg/reader"
)

// Salvage cuts a capture file that a write error left in the middle of a record
// back to the end of its last whole packet (truncating needs no disk space) and
// returns the number of packets it keeps. A file whose header is incomplete is
// removed (kept is then 0 and removed true).
func Salvage(path string) (kept uint64, removed bool) {
	r, err := reader.Open(path)
	if err != nil {
		if errors.Is(err, reader.ErrTruncated) || errors.Is(err, reader.ErrNotCapture) {
			removed = os.Remove(path) == nil
		}
		return 0, removed
	}
	defer r.Close()
	for {
		_, err := r.Next()
		var pe *reader.PacketError
		if errors.As(err, &pe) {
			os.Truncate(path, pe.Offset)
		}
		if err != nil {
			return kept, false
		}
		kept++
	}
}

// Damage describes an output file that a write error cut short: Written packets
// were handed to it, Kept remain after Salvage (Removed: none, not even a header).
type Damage struct {
	Path    string
	Written uint64
	Kept    uint64
	Removed bool
}
