// duckdb-sql.js DBFILE: runs the SQL on standard input against the DuckDB database DBFILE
// (created if missing), one statement after another, and prints the rows of each statement
// that returns rows as one JSON object a line (DuckDB's own JSON conversion of the values:
// VARCHAR as strings, NULL as null). An error: "duckdb-sql: message" on stderr, exit 1.
// The tests' stand-in for the DuckDB CLI (`duckdb DBFILE < file.sql`), over @duckdb/node-api,
// which tests/load-duckdb.bats installs into build/duckdb (NODE_PATH).
'use strict';
const { DuckDBInstance, StatementType } = require('@duckdb/node-api');

async function main() {
	if (process.argv.length !== 3) {
		process.stderr.write('usage: duckdb-sql.js DBFILE < SQL\n');
		process.exit(2);
	}
	const chunks = [];
	for await (const c of process.stdin)
		chunks.push(c);
	const sql = Buffer.concat(chunks).toString('utf8');
	const db = await DuckDBInstance.create(process.argv[2]);
	const con = await db.connect();
	const stmts = await con.extractStatements(sql);
	for (let i = 0; i < stmts.count; i++) {
		const st = await stmts.prepare(i);
		const reader = await st.runAndReadAll();
		if (st.statementType !== StatementType.SELECT)
			continue;
		for (const row of reader.getRowObjectsJson())
			process.stdout.write(JSON.stringify(row) + '\n');
	}
	con.closeSync();
}

main().catch((e) => {
	process.stderr.write('duckdb-sql: ' + String(e.message || e).split('\n')[0] + '\n');
	process.exit(1);
});
