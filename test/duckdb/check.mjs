// Reads pcaptk's exports with DuckDB and prints what it sees as one JSON object:
// per input, the column types DuckDB infers and a few aggregates. duckdb_test.go
// compares them with what it computed from the capture.
//   node check.mjs PARQUET CSV JSON DATASET_GLOB
import { DuckDBInstance } from '@duckdb/node-api';

const [parquet, csv, json, dataset] = process.argv.slice(2);
const quote = (s) => "'" + s.replaceAll("'", "''") + "'";
const sources = {
  parquet: `read_parquet(${quote(parquet)})`,
  csv: `read_csv(${quote(csv)}, header = true)`,
  json: `read_json(${quote(json)}, format = 'newline_delimited')`,
  dataset: `read_parquet(${quote(dataset)}, hive_partitioning = true)`,
};

const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
const out = {};
for (const [name, src] of Object.entries(sources)) {
  const types = {};
  const desc = await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${src}`);
  for (const r of desc.getRowObjectsJson()) types[r.column_name] = r.column_type;
  const agg = await conn.runAndReadAll(`SELECT
      count(*)::VARCHAR AS rows,
      sum(payload_len)::VARCHAR AS sum_payload_len,
      sum(seq)::VARCHAR AS sum_seq,
      sum(ack)::VARCHAR AS sum_ack,
      sum(stream)::VARCHAR AS sum_stream,
      count(seq_rel)::VARCHAR AS nonnull_seq_rel,
      sum(window_scaled)::VARCHAR AS sum_window_scaled,
      count(DISTINCT src_ip)::VARCHAR AS distinct_src_ip,
      sum(CASE WHEN syn THEN 1 ELSE 0 END)::VARCHAR AS syn_rows,
      strftime(min(ts::TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%fZ') AS min_ts
    FROM ${src}`);
  out[name] = { types, ...agg.getRowObjectsJson()[0] };
}
console.log(JSON.stringify(out));
