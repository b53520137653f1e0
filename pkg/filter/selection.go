package filter

import (
	"fmt"

	"github.com/pcaptk/pcaptk/pkg/reader"
)

// Selection is what `pcaptk filter` keeps: packet numbers in Ranges, times in
// [After, Before), packets Analysis flags, packets Match matches and, with
// Dedup, no copy of a packet just kept; Snaplen then truncates what is kept.
type Selection struct {
	Match   *Filter // nil: every packet
	Ranges  Ranges  // nil: every number
	After   int64   // ns since the epoch
	Before  int64
	Dedup   *Dedup // nil: keep duplicates
	Snaplen int    // > 0: truncate kept packets to it
	// Analysis, when set, says whether a packet is wanted by what it knows of
	// the packets before it (filter --analysis: the TCP analysis flags). It is
	// asked about every packet, in order, before the other selections look at
	// it, so that its state covers the whole capture as tshark's -Y does, up
	// to the last packet Ranges can select.
	Analysis func(*reader.Packet) bool
}

// All is a Selection that keeps everything (set fields on a copy).
var All = Selection{After: -1 << 63, Before: 1<<63 - 1}

// Keep reports whether p is selected, truncating it to Snaplen when it is. done
// is set once no later packet can be selected (past the last range); err when
// the filter cannot run on p (its link type).
func (s *Selection) Keep(p *reader.Packet) (keep, done bool, err error) {
	in := s.Ranges == nil || s.Ranges.Contains(p.Number)
	if !in && s.Ranges.Done(p.Number) {
		return false, true, nil
	}
	flagged := true
	if s.Analysis != nil {
		flagged = s.Analysis(p)
	}
	if !in || !flagged || p.Timestamp < s.After || p.Timestamp >= s.Before {
		return false, false, nil
	}
	if s.Match != nil && !s.Match.Match(p) {
		if s.Match.Err() != nil {
			return false, true, fmt.Errorf("packet %d: %w", p.Number, s.Match.Err())
		}
		return false, false, nil
	}
	if s.Dedup != nil && s.Dedup.Duplicate(p.Data) {
		return false, false, nil
	}
	if s.Snaplen > 0 && len(p.Data) > s.Snaplen {
		p.Data = p.Data[:s.Snaplen]
		p.CapLen = uint32(s.Snaplen)
	}
	return true, false, nil
}
