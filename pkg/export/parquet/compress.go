package parquet

import (
	"encoding/binary"
	"fmt"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// Codec is a Parquet compression codec, numbered as in parquet.thrift.
type Codec int32

const (
	CodecNone   Codec = 0
	CodecSnappy Codec = 1
	CodecGzip   Codec = 2
	CodecZstd   Codec = 6
)

// ParseCompression checks a --compression value.
func ParseCompression(s string) (Codec, error) {
	switch s {
	case "zstd", "":
		return CodecZstd, nil
	case "snappy":
		return CodecSnappy, nil
	case "gzip":
		return CodecGzip, nil
	case "none", "uncompressed":
		return CodecNone, nil
	}
	return 0, fmt.Errorf("unknown compression %q (want zstd, snappy, gzip or none)", s)
}

// compressor compresses pages; each worker has its own, created on first use.
type compressor struct {
	window int // zstd window in bytes; 0: the library's default for the level
	zstd   *zstd.Encoder
	gz     *gzip.Writer
	out    sliceWriter
	buf    []byte // the last page compressed
}

type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// compress appends page compressed with codec to dst[:0].
func (c *compressor) compress(dst []byte, codec Codec, page []byte) ([]byte, error) {
	switch codec {
	case CodecNone:
		return append(dst[:0], page...), nil
	case CodecZstd:
		if c.zstd == nil {
			// The fastest level: on packet headers it compresses nearly as well as
			// the default at half the CPU time. A page is one frame, so the
			// frame checksum would only repeat what the page sizes check.
			opts := []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedFastest),
				zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false), zstd.WithLowerEncoderMem(true)}
			if c.window > 0 {
				opts = append(opts, zstd.WithWindowSize(c.window))
			}
			enc, err := zstd.NewWriter(nil, opts...)
			if err != nil {
				return nil, err
			}
			c.zstd = enc
		}
		return c.zstd.EncodeAll(page, dst[:0]), nil
	case CodecSnappy:
		n := s2.MaxEncodedLen(len(page))
		if n < 0 {
			return nil, fmt.Errorf("snappy: page of %d bytes is too large", len(page))
		}
		if cap(dst) < n {
			dst = make([]byte, n)
		}
		return s2.EncodeSnappy(dst[:n], page), nil
	case CodecGzip:
		c.out.b = dst[:0]
		if c.gz == nil {
			c.gz = gzip.NewWriter(&c.out)
		} else {
			c.gz.Reset(&c.out)
		}
		if _, err := c.gz.Write(page); err != nil {
			return nil, err
		}
		if err := c.gz.Close(); err != nil {
			return nil, err
		}
		dst, c.out.b = c.out.b, nil
		return dst, nil
	}
	return nil, fmt.Errorf("unknown codec %d", codec)
}

// appendZstdStored appends page as a zstd frame of stored (raw) blocks: what a
// compressor emits for data it cannot shrink, written here without the search.
// Every zstd decoder reads it (RFC 8878: single-segment frame, 4-byte content
// size, raw blocks of at most 128 KiB).
func appendZstdStored(dst, page []byte) []byte {
	dst = append(dst, 0x28, 0xb5, 0x2f, 0xfd, 0xa0)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(page)))
	const maxBlock = 128 << 10
	for {
		n := min(len(page), maxBlock)
		h := uint32(n) << 3 // block type 0: raw
		if n == len(page) {
			h |= 1 // last block
		}
		dst = append(dst, byte(h), byte(h>>8), byte(h>>16))
		dst = append(dst, page[:n]...)
		page = page[n:]
		if h&1 != 0 {
			return dst
		}
	}
}
