// Runs SQL recipes with DuckDB and prints their rows as one JSON array per
// recipe; duckdb_test.go passes the recipes of docs/analysis.md, as the page
// shows them, and checks the rows.
//   node recipes.mjs RECIPES.json   (a JSON array of SQL texts)
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

const recipes = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
const out = [];
for (const sql of recipes) {
  const r = await conn.runAndReadAll(sql);
  out.push(r.getRowObjectsJson());
}
console.log(JSON.stringify(out));
