package reader

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrNoMatch says a glob pattern given as an input matched no file.
var ErrNoMatch = errors.New("no file matches")

// maxListLine bounds a line of an input list (-V): PATH_MAX, as tcpdump reads them.
const maxListLine = 4096

// ExpandInputs turns the inputs a user named into the capture files to read, in
// order, each name as:
//
//   - "-": standard input, kept as "-";
//   - an existing file (of any kind): itself;
//   - a directory: every capture file under it, recursively, in name order (the
//     entries of a directory sorted by name, a subdirectory's files in its place),
//     recognised by their magic number (IsCapture); files and directories whose
//     names start with "." are left out, and so are symbolic links to directories
//     (a loop cannot make the walk endless); a directory holding no capture file
//     is an error;
//   - a name with *, ? or [ that does not exist: a glob pattern (filepath.Match
//     syntax) expanded here, so that it is not bound by the shell's argument limit;
//     its matches in name order, a matched directory expanded as above; a pattern
//     that matches nothing is an error wrapping ErrNoMatch;
//   - anything else: itself (opening it reports what is wrong).
func ExpandInputs(names []string) ([]string, error) {
	var out []string
	for _, name := range names {
		if name == "-" {
			out = append(out, name)
			continue
		}
		fi, err := os.Stat(name)
		switch {
		case err == nil && fi.IsDir():
			files, err := captureFilesUnder(name)
			if err != nil {
				return nil, err
			}
			out = append(out, files...)
		case err != nil && strings.ContainsAny(name, "*?["):
			files, err := expandPattern(name)
			if err != nil {
				return nil, err
			}
			out = append(out, files...)
		default:
			out = append(out, name)
		}
	}
	return out, nil
}

func expandPattern(pattern string) ([]string, error) {
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("input pattern %q: %w", pattern, err)
	}
	if len(matches) == 0 {
		return nil, fmt.Errorf("input pattern %q: %w", pattern, ErrNoMatch)
	}
	var out []string
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil && fi.IsDir() {
			files, err := captureFilesUnder(m)
			if err != nil {
				return nil, err
			}
			out = append(out, files...)
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

// captureFilesUnder lists the capture files under dir in name order. Only
// regular files are opened to be recognised: a FIFO or a device met on the way
// would block or never end.
func captureFilesUnder(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("input directory %s: %w", dir, err)
		}
		if path != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		fi, err := os.Stat(path) // follows a link to a file; links to directories are not walked
		if err != nil || !fi.Mode().IsRegular() {
			return nil
		}
		ok, err := IsCapture(path)
		if err != nil {
			return fmt.Errorf("input directory %s: %w", dir, err)
		}
		if ok {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("input directory %s: no pcap or pcapng file in it", dir)
	}
	return out, nil
}

// IsCapture reports whether the file at path starts as a pcap or pcapng file
// does (either byte order, micro- or nanosecond pcap, the modified pcap format),
// also inside gzip compression.
func IsCapture(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var head [4]byte
	if _, err := io.ReadFull(f, head[:]); err != nil {
		return false, nil // shorter than any capture header
	}
	if head[0] == 0x1f && head[1] == 0x8b {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return false, err
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			return false, nil
		}
		defer zr.Close()
		if _, err := io.ReadFull(zr, head[:]); err != nil {
			return false, nil
		}
	}
	return isCaptureMagic(binary.LittleEndian.Uint32(head[:])), nil
}

func isCaptureMagic(m uint32) bool {
	switch m {
	case blockSHB, pcapMagicMicro, pcapMagicNano, pcapMagicModified:
		return true
	}
	switch bswap32(m) {
	case pcapMagicMicro, pcapMagicNano, pcapMagicModified:
		return true
	}
	return false
}

// ReadInputList reads a list of inputs, one name a line, as tcpdump -V does:
// the line ends ("\n", "\r\n") are not part of the names; empty lines are
// skipped. name is used in errors. A line longer than 4096 bytes (PATH_MAX) is
// an error.
func ReadInputList(r io.Reader, name string) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), maxListLine+2)
	var out []string
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSuffix(sc.Text(), "\r")
		if s != "" {
			out = append(out, s)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("input list %s: a line longer than %d bytes", name, maxListLine)
		}
		return nil, fmt.Errorf("input list %s: %w", name, err)
	}
	return out, nil
}

// LooksLikeCaptureName reports whether a word ends as capture file names do:
// .pcap, .pcapng, .cap or .dmp, each also followed by .gz.
func LooksLikeCaptureName(word string) bool {
	w := strings.TrimSuffix(strings.ToLower(word), ".gz")
	for _, ext := range []string{".pcap", ".pcapng", ".cap", ".dmp"} {
		if strings.HasSuffix(w, ext) && len(w) > len(ext) {
			return true
		}
	}
	return false
}
