// test/e2e/socketio_nodes.js — events of a scale-out cluster (86_scale_events.sh): two users
// whose principals live on two different data nodes each connect to a bridge that talks to
// the router and LISTENs on both nodes (listen_conninfo with two strings); an event written
// on each node reaches its user, and only its user. Prints "ok - NAME" / "not ok - NAME:
// DETAIL" per check.
// Usage: node socketio_nodes.js URL TOKEN_A DB_A OWNER_A TOKEN_B DB_B OWNER_B
//   (events are written with $SIO_PSQL, PGHOST and PGPORT, in database DB_A or DB_B)
'use strict';
const { io } = require('socket.io-client');
const { execFile } = require('child_process');
const frameLog = require('./frame_log');
const { queued } = require('./sio_queue');

const [url, tokenA, dbA, ownerA, tokenB, dbB, ownerB] = process.argv.slice(2);

function report(name, pass, detail) {
	console.log(pass ? `ok - scale-out: ${name}` : `not ok - scale-out: ${name}: ${detail}`);
}

function sql(db, text) {
	return new Promise((resolve, reject) => execFile(process.env.SIO_PSQL,
		['-X', '-q', '-tA', '-v', 'ON_ERROR_STOP=1', '-d', db, '-c', text],
		(e, out) => (e ? reject(e) : resolve(out.toString().trim()))));
}

// A client with its frames queued (sio_queue.js): next() resolves with the next one.
function client(token) {
	return queued(frameLog.fabricated(frameLog.socketio(io(url, {
		auth: { token: `Bearer ${token}` }, transports: ['websocket'], reconnection: false,
	})), 'transaction:completed'));
}

// An event written on a node, with a payload of the test's own
const emit = (db, owner, txn) => sql(db, `SELECT pg_wallet.emit_event(${Number(owner)},
	'transaction:completed', jsonb_build_object('transactionId', '${txn}', 'amount', 1,
	'currency', 'KES', 'status', 'SUCCESS', 'timestamp', '2025-11-10T10:35:00Z'))`);

async function main() {
	const a = client(tokenA);
	const b = client(tokenB);
	let f = await a.next();
	report('A (on the first node) connects through the router', f.kind === 'connect',
		JSON.stringify(f));
	f = await b.next();
	report('B (on the second node) connects through the router', f.kind === 'connect',
		JSON.stringify(f));

	await emit(dbB, ownerB, 'txn-node-b');
	f = await b.next();
	report('B receives the event written on its node (the second LISTEN connection)',
		f.kind === 'event' && f.data.transactionId === 'txn-node-b', JSON.stringify(f));
	await emit(dbA, ownerA, 'txn-node-a');
	f = await a.next();
	report('A receives the event written on its node (the first LISTEN connection)',
		f.kind === 'event' && f.data.transactionId === 'txn-node-a', JSON.stringify(f));
	// a barrier for each: nothing of the other's came before it
	await emit(dbA, ownerA, 'txn-node-a2');
	await emit(dbB, ownerB, 'txn-node-b2');
	const fa = await a.next();
	const fb = await b.next();
	report('each gets only its own events',
		fa.kind === 'event' && fa.data.transactionId === 'txn-node-a2' &&
		fb.kind === 'event' && fb.data.transactionId === 'txn-node-b2' &&
		a.pending().length === 0 && b.pending().length === 0,
		JSON.stringify({ fa, fb, a: a.pending(), b: b.pending() }));
	a.close();
	b.close();
}

main().catch((e) => { report('the scenario runs', false, e.stack); }).finally(() => {
	setTimeout(() => process.exit(0), 100);
});
