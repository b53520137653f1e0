package conns

import (
	"github.com/pcaptk/pcaptk/pkg/analysis"
	"github.com/pcaptk/pcaptk/pkg/export"
)

// Columns is SCHEMA.md's connection table: each column's name, type and the
// field of analysis.ConnRow that holds it. Every format writes these names in
// this order (--columns chooses among them).
var Columns = []export.TableColumn{
	{Name: "stream", Type: export.TypeUint, Field: "Stream"},
	{Name: "community_id", Type: export.TypeText, Field: "CommunityID"},
	{Name: "orig_ip", Type: export.TypeIP, Field: "OrigIP", Aux: "IPVersion"},
	{Name: "resp_ip", Type: export.TypeIP, Field: "RespIP", Aux: "IPVersion"},
	{Name: "orig_port", Type: export.TypeUint, Field: "OrigPort"},
	{Name: "resp_port", Type: export.TypeUint, Field: "RespPort"},
	{Name: "ip_version", Type: export.TypeUint, Field: "IPVersion"},
	{Name: "first_ts", Type: export.TypeTime, Field: "FirstTS"},
	{Name: "last_ts", Type: export.TypeTime, Field: "LastTS"},
	{Name: "duration", Type: export.TypeDuration, Field: "Duration"},
	{Name: "orig_pkts", Type: export.TypeUint, Field: "OrigPkts"},
	{Name: "resp_pkts", Type: export.TypeUint, Field: "RespPkts"},
	{Name: "orig_ip_bytes", Type: export.TypeUint, Field: "OrigIPBytes"},
	{Name: "resp_ip_bytes", Type: export.TypeUint, Field: "RespIPBytes"},
	{Name: "orig_bytes", Type: export.TypeUint, Field: "OrigBytes"},
	{Name: "resp_bytes", Type: export.TypeUint, Field: "RespBytes"},
	{Name: "orig_unique_bytes", Type: export.TypeUint, Field: "OrigUniqueBytes"},
	{Name: "resp_unique_bytes", Type: export.TypeUint, Field: "RespUniqueBytes"},
	{Name: "missed_bytes", Type: export.TypeUint, Field: "MissedBytes"},
	{Name: "conn_state", Type: export.TypeEnum, Field: "ConnState", Names: connStateNames()},
	{Name: "history", Type: export.TypeText, Field: "History", Aux: "HistoryLen"},
	{Name: "close", Type: export.TypeEnum, Field: "Close", Names: closeNames()},
	{Name: "saw_syn", Type: export.TypeBool, Field: "SawSYN"},
	{Name: "saw_synack", Type: export.TypeBool, Field: "SawSYNACK"},
	{Name: "syn_rtt", Type: export.TypeDuration, Field: "SynRTT", Valid: "HasSynRTT"},
	{Name: "ack_rtt_hs", Type: export.TypeDuration, Field: "AckRTTHS", Valid: "HasAckRTTHS"},
	{Name: "irtt", Type: export.TypeDuration, Field: "IRTT", Valid: "HasIRTT"},
	{Name: "rtt_samples", Type: export.TypeUint, Field: "RTTSamples"},
	{Name: "rtt_min", Type: export.TypeDuration, Field: "RTTMin", Valid: "HasRTT"},
	{Name: "rtt_p50", Type: export.TypeDuration, Field: "RTTP50", Valid: "HasRTT"},
	{Name: "rtt_p99", Type: export.TypeDuration, Field: "RTTP99", Valid: "HasRTT"},
	{Name: "rtt_max", Type: export.TypeDuration, Field: "RTTMax", Valid: "HasRTT"},
	{Name: "orig_retrans_pkts", Type: export.TypeUint, Field: "OrigRetransPkts"},
	{Name: "resp_retrans_pkts", Type: export.TypeUint, Field: "RespRetransPkts"},
	{Name: "orig_retrans_bytes", Type: export.TypeUint, Field: "OrigRetransBytes"},
	{Name: "resp_retrans_bytes", Type: export.TypeUint, Field: "RespRetransBytes"},
	{Name: "out_of_order", Type: export.TypeUint, Field: "OutOfOrder"},
	{Name: "dup_acks", Type: export.TypeUint, Field: "DupAcks"},
	{Name: "zero_windows", Type: export.TypeUint, Field: "ZeroWindows"},
	{Name: "lost_segments", Type: export.TypeUint, Field: "LostSegments"},
	{Name: "orig_mss", Type: export.TypeUint, Field: "OrigMSS", Valid: "HasOrigMSS"},
	{Name: "resp_mss", Type: export.TypeUint, Field: "RespMSS", Valid: "HasRespMSS"},
	{Name: "orig_wscale", Type: export.TypeUint, Field: "OrigWScale", Valid: "HasOrigWScale"},
	{Name: "resp_wscale", Type: export.TypeUint, Field: "RespWScale", Valid: "HasRespWScale"},
	{Name: "sack_ok", Type: export.TypeBool, Field: "SACKOK"},
	{Name: "ts_ok", Type: export.TypeBool, Field: "TSOK"},
	{Name: "orig_max_in_flight", Type: export.TypeUint, Field: "OrigMaxInFlight"},
	{Name: "resp_max_in_flight", Type: export.TypeUint, Field: "RespMaxInFlight"},
}

func connStateNames() []string {
	var names []string
	for s := analysis.StateOTH; s <= analysis.StateSHR; s++ {
		names = append(names, s.String())
	}
	return names
}

func closeNames() []string {
	var names []string
	for c := analysis.CloseOpen; c <= analysis.CloseIdle; c++ {
		names = append(names, c.String())
	}
	return names
}

// Table is the connection table over analysis.ConnRow.
type Table = export.Table[analysis.ConnRow]

// NewTable returns the connection table restricted to the comma-separated
// columns in list ("" or "all": every column).
func NewTable(list string) (*Table, error) {
	t, err := export.NewTable[analysis.ConnRow](Columns)
	if err != nil {
		return nil, err // a column that does not fit ConnRow: a bug the tests catch
	}
	return t.Select(list)
}
