// Package reader reads packet captures: pcap and pcapng files (or standard input,
// optionally gzip-compressed), and merges several captures into one stream.
//
// It is its own parser rather than a wrapper of gopacket's pcapgo, because pcaptk
// needs things pcapgo does not give: errors that name the file, packet number and
// byte offset; a truncated pcapng file reported as truncated, not as a clean end;
// records bounded whatever a header claims; pcapng sections and interfaces with
// different link types; and no allocation per packet.
//
// Reading one file:
//
//	r, err := reader.Open(path) // "-" is standard input
//	if err != nil {
//		return err // *fs.PathError, or *reader.PacketError wrapping ErrNotCapture/ErrTruncated
//	}
//	defer r.Close()
//	for {
//		p, err := r.Next()
//		if err == io.EOF {
//			break
//		}
//		if err != nil {
//			return err // *reader.PacketError: file, packet number, byte offset
//		}
//		use(p.Data, p.Timestamp, r.Interfaces()[p.Iface].LinkType)
//	}
//
// Buffers: the *Packet returned by Next, and its Data, belong to the Reader and are
// overwritten by the next call to Next. Keep a packet with p.Clone() or read with
// NextCopy. Records that fit in the read buffer (Options.BufferSize, 1 MiB by
// default) are handed out in place; larger ones make the buffer grow, as data
// arrives and never beyond Options.MaxRecord, which is also the largest record
// accepted (ErrTooLarge beyond it).
//
// Errors: Next returns io.EOF only at a clean record boundary. Anything else is a
// *PacketError whose Err wraps one of ErrNotCapture, ErrTruncated, ErrTooLarge,
// ErrCorrupt (or the underlying I/O or gzip error); every complete packet before
// the damage has been returned first, and later calls return the same error.
//
// Ownership: Open and OpenWith open the file and Close closes it (never standard
// input); NewReader leaves the io.Reader to its caller.
//
// Several files as one stream:
//
//	m := reader.Merge(readers, false) // true: one after another, like mergecap -a
//	defer m.Close()                   // closes every input
//	for {
//		p, err := m.Next() // same buffer rules as Reader.Next
//		...
//		// p.Iface indexes m.Interfaces(); m.LastInput() and m.LastNumber() say
//		// which input and which of its packets p is.
//	}
//
// What the user named as inputs, expanded into the files to read (directories
// walked for capture files, glob patterns matched, "-" kept for standard
// input), for every command alike:
//
//	names, _ := reader.ReadInputList(listFile, "list") // tcpdump -V: one name a line
//	files, err := reader.ExpandInputs(append(rFlags, names...))
package reader
