// Joins pcaptk conns' connection rows with pcaptk export's packet rows in
// DuckDB and prints what it finds as one JSON object: the types DuckDB sees in
// the connections' Parquet file and infers for their CSV, per connection
// whether its packet count agrees with the packet rows joined to it on stream,
// and the connection that retransmitted most with its joined packets.
// duckdb_test.go checks them.
//   node conns.mjs PACKETS.parquet CONNS.parquet CONNS.csv PACKETS_DATASET_GLOB CONNS_DATASET_GLOB
import { DuckDBInstance } from '@duckdb/node-api';

const [packets, conns, connsCSV, pkDataset, cnDataset] = process.argv.slice(2);
const quote = (s) => "'" + s.replaceAll("'", "''") + "'";
const instance = await DuckDBInstance.create(':memory:');
const db = await instance.connect();
const rows = async (sql) => (await db.runAndReadAll(sql)).getRowObjectsJson();

const out = { types: {}, csvTypes: {} };
for (const r of await rows(`DESCRIBE SELECT * FROM read_parquet(${quote(conns)})`)) {
  out.types[r.column_name] = r.column_type;
}
for (const r of await rows(`DESCRIBE SELECT * FROM read_csv(${quote(connsCSV)}, header = true)`)) {
  out.csvTypes[r.column_name] = r.column_type;
}
await db.run(`CREATE VIEW p AS SELECT * FROM read_parquet(${quote(packets)})`);
await db.run(`CREATE VIEW c AS SELECT * FROM read_parquet(${quote(conns)})`);
// The CSV holds the same rows.
out.csvSame = (await rows(`SELECT count(*)::VARCHAR AS n FROM (
    SELECT stream, conn_state, orig_pkts, history FROM c
    EXCEPT SELECT stream, conn_state, orig_pkts, history FROM read_csv(${quote(connsCSV)}, header = true))`))[0].n;
// Packets whose TCP header the capture cut belong to the stream but are not
// counted in orig_pkts/resp_pkts.
out.join = (await rows(`SELECT
    count(*)::VARCHAR AS connections,
    count(*) FILTER (WHERE n = c.orig_pkts + c.resp_pkts)::VARCHAR AS agree,
    sum(n)::VARCHAR AS joined_packets
  FROM c JOIN (SELECT stream, count(*) FILTER (WHERE NOT truncated) AS n FROM p GROUP BY stream) USING (stream)`))[0];
out.worst = (await rows(`WITH worst AS (
    SELECT stream, orig_retrans_pkts + resp_retrans_pkts AS retrans, orig_ip, orig_port
    FROM c ORDER BY retrans DESC, stream LIMIT 1)
  SELECT w.stream::VARCHAR AS stream, w.retrans::VARCHAR AS retrans,
    count(*)::VARCHAR AS packets,
    count(*) FILTER (WHERE p.src_ip = w.orig_ip AND p.src_port = w.orig_port)::VARCHAR AS from_orig,
    count(*) FILTER (WHERE p.retransmission)::VARCHAR AS retransmitted,
    min(p.frame) FILTER (WHERE p.retransmission)::VARCHAR AS first_retransmitted
  FROM worst w JOIN p USING (stream) GROUP BY ALL`))[0];
// Every connection's analysis counts are the sums of its packets' flags.
out.flags = (await rows(`SELECT count(*)::VARCHAR AS connections,
    count(*) FILTER (WHERE r = c.orig_retrans_pkts + c.resp_retrans_pkts AND d = c.dup_acks
      AND z = c.zero_windows AND o = c.out_of_order AND l = c.lost_segments)::VARCHAR AS agree
  FROM c JOIN (SELECT stream,
      count(*) FILTER (WHERE retransmission) AS r, count(*) FILTER (WHERE dup_ack) AS d,
      count(*) FILTER (WHERE zero_window) AS z, count(*) FILTER (WHERE out_of_order) AS o,
      count(*) FILTER (WHERE lost_segment) AS l
    FROM p GROUP BY stream) USING (stream)`))[0];
// Datasets: each input's stream numbers are its own, so the key is the input
// (its name in the part files' names) and stream.
const name = (col) => `regexp_extract(${col}, 'part-(.*)-[0-9]+\\.[a-z]+$', 1)`;
out.dataset = (await rows(`WITH
    pk AS (SELECT ${name('filename')} AS input, stream, count(*) FILTER (WHERE NOT truncated) AS n
           FROM read_parquet(${quote(pkDataset)}, hive_partitioning = true, filename = true) GROUP BY ALL),
    cn AS (SELECT ${name('filename')} AS input, stream, orig_pkts + resp_pkts AS pkts
           FROM read_parquet(${quote(cnDataset)}, hive_partitioning = true, filename = true))
  SELECT count(*)::VARCHAR AS connections, count(*) FILTER (WHERE n = pkts)::VARCHAR AS agree,
    count(DISTINCT input)::VARCHAR AS inputs
  FROM cn JOIN pk USING (input, stream)`))[0];
console.log(JSON.stringify(out));
