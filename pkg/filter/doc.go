// Package filter selects packets: tcpdump filter expressions (pcap-filter(7)),
// packet-number ranges, time bounds and duplicate removal.
//
// Expressions are compiled to BPF by libpcap, exactly as tcpdump -r compiles them
// for a savefile, once for each link type met in the input, and run by
// a small Go BPF interpreter that allocates nothing:
//
//	f, err := filter.Compile("tcp port 80") // *SyntaxError if libpcap refuses it
//	if err != nil { ... }                     // a usage error
//	for {
//		p, err := r.Next()                      // r is a *reader.Reader
//		if err != nil { ... }
//		if f.Match(p) { ... }
//	}
//	if err := f.Err(); err != nil { ... }      // expression invalid for some link type met
//
// A Filter caches per link type and is not safe for concurrent use. The program
// sees the packet as libpcap shows it for a file with that interface's snaplen:
// bytes past Snapshot(linkType, snaplen) are cut off (tcpdump -w writes them
// cut too), and "len" is the wire length.
//
// Selections for pcaptk filter:
//
//	rs, _ := filter.ParseRanges("1-100,200-") // packet numbers, from 1
//	rs.Contains(p.Number); rs.Done(p.Number)  // Done: no later packet can match
//	t, _ := filter.ParseTime("2023-11-14T22:13:20Z") // ns since the epoch
//	d, _ := filter.NewDedup(filter.DefaultDedupWindow) // editcap -d
//	if d.Duplicate(p.Data) { /* drop */ }
//
// The program libpcap makes, printed as tcpdump -d, -dd, -ddd prints it:
//
//	prog, err := filter.Program("tcp port 80", filter.FileTarget(linkType, snaplen))
//	os.Stdout.Write(filter.AppendDump(nil, prog, 1)) // 1: -d, 2: -dd, 3: -ddd
package filter
