// bench/socketio_fanout.js — the socket.io fan-out figure of the bridge benchmark (issue 16),
// run by bench/socketio_fanout (which makes the database, the users and the bridge).
//
// Connects USERS x PER_USER official socket.io clients (socket.io-client from
// test/node_modules, transports: ['websocket']), each with its user's Tribble token; then, for
// each rate of RATES, emits EVENTS events through SQL (one psql session: a DO block that calls
// pg_wallet.emit_event and COMMITs once per event, paced on a schedule to the rate, 0 = as fast as
// it can),
// round-robin over the users' owners, so each event is delivered to PER_USER clients. Each
// payload carries the commit side's timestamp (clock_timestamp() just before the COMMIT, in ms
// since the epoch); a client takes its own clock at delivery (same machine). Prints, per
// rate: events emitted, deliveries, deliveries/s and events/s over the window from the first
// commit to the last delivery, and the commit-to-delivery delay (median, p99, max). No
// thresholds: a benchmark. Exit 1 when a client fails to connect or a delivery is missing.
//
// Usage: node socketio_fanout.js URL TOKENS_FILE OWNERS_FILE PER_USER EVENTS RATES
//   TOKENS_FILE / OWNERS_FILE: one access token / owner id per line, user by user.
//   Environment: PSQL (psql to run the emitter with, libpq environment for the database).
'use strict';
const fs = require('fs');
const { execFile } = require('child_process');
const { performance } = require('perf_hooks');
const { io } = require('socket.io-client');

const [url, tokensFile, ownersFile, perUserArg, eventsArg, ratesArg] = process.argv.slice(2);
const tokens = fs.readFileSync(tokensFile, 'utf8').split('\n').filter(Boolean);
const owners = fs.readFileSync(ownersFile, 'utf8').split('\n').filter(Boolean).map(Number);
const perUser = Number(perUserArg);
const nEvents = Number(eventsArg);
const rates = ratesArg.split(/[ ,]+/).filter(Boolean).map(Number);
const nowMs = () => performance.timeOrigin + performance.now();

let sink = null;	// the current run's delivery counter
function connect(token) {
	return new Promise((resolve) => {
		const s = io(url, { auth: { token: `Bearer ${token}` }, transports: ['websocket'],
			reconnection: false, timeout: 60000 });
		s.on('connect', () => resolve(s));
		s.on('connect_error', (e) => { console.error(`connect_error: ${e.message}`); resolve(null); });
		s.on('transaction:completed', (data) => {
			const t = nowMs();
			if (sink && data && data.run === sink.run) {
				sink.delays.push(t - data.committedAt);
				sink.last = t;
				if (sink.delays.length === sink.want) sink.done();
			}
		});
	});
}

function emitter(run, rate) {
	// one session, one transaction per event; the payload's committedAt is taken last
	// paced on a schedule (event i at t0 + i / rate), so the rate is what was asked for
	const sleep = rate > 0 ? `PERFORM pg_sleep(greatest(0, extract(epoch FROM t0 +
			make_interval(secs => (i + 1)::float8 / ${rate}) - clock_timestamp())));` : '';
	const sql = `DO $$
DECLARE
	owners bigint[] := '{${owners.join(',')}}';
	t0 timestamptz := clock_timestamp();
BEGIN
	FOR i IN 0..${nEvents - 1} LOOP
		PERFORM pg_wallet.emit_event(owners[1 + i % cardinality(owners)],
			'transaction:completed', jsonb_build_object('run', ${run}, 'seq', i,
			'committedAt', extract(epoch FROM clock_timestamp()) * 1000));
		COMMIT;
		${sleep}
	END LOOP;
END $$`;
	return new Promise((resolve, reject) => execFile(process.env.PSQL,
		['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql], (e) => (e ? reject(e) : resolve())));
}

function pct(sorted, p) {
	return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

async function main() {
	const t0 = nowMs();
	const clients = [];
	for (let u = 0; u < tokens.length; u++)	// a user's connections together, users in turn
		clients.push(...await Promise.all(Array.from({ length: perUser },
			() => connect(tokens[u]))));
	const up = clients.filter(Boolean).length;
	console.log(`clients: ${up} of ${clients.length} connected (${tokens.length} users x ` +
		`${perUser}) in ${((nowMs() - t0) / 1000).toFixed(1)} s`);
	if (up !== clients.length) process.exit(1);
	await new Promise((r) => setTimeout(r, 1000));	// let the CONNECTs' first reads settle

	let failed = false;
	for (const [i, rate] of rates.entries()) {
		const run = Date.now() * 10 + i;
		const want = nEvents * perUser;
		const done = new Promise((resolve) => {
			sink = { run, want, delays: [], last: 0, done: resolve };
		});
		const start = nowMs();
		await emitter(run, rate);
		const emitted = nowMs();
		const timeout = new Promise((r) => setTimeout(r, 120000, 'timeout'));
		const outcome = await Promise.race([done, timeout]);
		const d = sink.delays.slice().sort((a, b) => a - b);
		const window = ((sink.last || nowMs()) - start) / 1000;
		const label = rate > 0 ? `${rate} events/s` : 'as fast as it can';
		console.log(`run ${i + 1}: emit ${label}: ${nEvents} events in ` +
			`${((emitted - start) / 1000).toFixed(2)} s (${(nEvents / ((emitted - start) / 1000)).toFixed(0)}` +
			` committed/s); ${d.length} of ${want} deliveries in ${window.toFixed(2)} s: ` +
			`${(d.length / window).toFixed(0)} deliveries/s, ` +
			`${(d.length / perUser / window).toFixed(0)} events/s; ` +
			`commit-to-delivery ms: median ${pct(d, 0.5).toFixed(1)}, p99 ` +
			`${pct(d, 0.99).toFixed(1)}, max ${d[d.length - 1].toFixed(1)}`);
		if (outcome === 'timeout') {
			console.log(`run ${i + 1}: MISSING ${want - d.length} deliveries after 120 s`);
			failed = true;
		}
		sink = null;
	}
	clients.forEach((s) => s.close());
	process.exit(failed ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(1); });
