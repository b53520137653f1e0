// Package writer holds the sinks of pcaptk: pcap and pcapng file writers, a rotating
// sink that cuts files by size, packet count or time and keeps a ring of N files
// (shared by `pcaptk split` and `pcaptk capture -w`), and a per-flow splitter.
//
// Writers wrap an io.Writer the caller owns, buffer everything (Flush or Close at the
// end; Close does not close the io.Writer) and keep the first error, returning it again
// from every later call, like encoding/csv. WritePacket copies the packet's bytes into
// the buffer, so a zero-copy packet from reader.Reader.Next may be reused right after;
// it allocates nothing.
//
//	w, err := writer.NewPcapng(f, writer.PcapngOptions{AppName: "pcaptk 1.0", Interfaces: r.Interfaces()})
//	for {
//		p, err := r.Next()
//		if err != nil { break }
//		if err := w.WritePacket(p); err != nil { return err }
//	}
//	if err := w.Close(); err != nil { return err }
//	return f.Close()
//
// Rotating and Flows own the files they create and close them in Close:
//
//	rot, err := writer.NewRotating(writer.RotateOptions{Path: "out.pcap", MaxPackets: 1000})
//	... rot.WritePacket(p) ...; rot.Tick(time.Now()) in a timer loop for -G ...
//	err = rot.Close(); names := rot.Files()
package writer
