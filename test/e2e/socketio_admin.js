// test/e2e/socketio_admin.js — admins receive the fraud alerts (issue 16): an admin connected
// with the official `socket.io-client` receives a fraud:risk_alert emitted for a user (user
// A's owner) with the spec's payload, from the fraud-alerts stream; a plain user B does not
// (B's own later event is the barrier: nothing of A's comes before it); the admin, away while
// another alert commits, connects again with the offset of the last alert it saw and
// receives the one it missed, once. Prints "ok - NAME" / "not ok - NAME: DETAIL" lines, read
// by test/e2e/75_socketio.sh. Events are written with $SIO_PSQL (PGHOST, PGPORT, PGDATABASE)
// through pg_wallet.emit_event, as the fraud domain will.
// Usage: node socketio_admin.js MODE URL ADMIN_TOKEN TOKEN_B OWNER_A OWNER_B
'use strict';
const { io } = require('socket.io-client');
const { execFile } = require('child_process');
const frameLog = require('./frame_log');
const { queued } = require('./sio_queue');

const [mode, url, tokenAdmin, tokenB, ownerA, ownerB] = process.argv.slice(2);

function report(name, pass, detail) {
	console.log(pass ? `ok - admin ${mode}: ${name}` :
		`not ok - admin ${mode}: ${name}: ${detail}`);
}

function sql(text) {
	return new Promise((resolve, reject) => execFile(process.env.SIO_PSQL,
		['-X', '-q', '-tA', '-v', 'ON_ERROR_STOP=1', '-c', text],
		(e, out) => (e ? reject(e) : resolve(out.toString().trim()))));
}

// A client with its frames queued (sio_queue.js): next() resolves with the next one.
function client(auth) {
	const opts = { auth, reconnection: false };
	if (mode === 'websocket') opts.transports = ['websocket'];
	return queued(frameLog.socketio(io(url, opts)));
}

const alert = (owner, txn) => `SELECT pg_wallet.emit_event(${Number(owner)}, 'fraud:risk_alert',
	jsonb_build_object('transactionId', '${txn}', 'riskScore', 85, 'riskLevel', 'CRITICAL',
	'decision', 'HOLD', 'requiresAction', true, 'timestamp', '2025-11-10T10:35:00Z'))`;

async function main() {
	const adm = client({ token: `Bearer ${tokenAdmin}` });
	let f = await adm.next();
	report('the admin connects', f.kind === 'connect', JSON.stringify(f));
	// B's barrier event below is written by this test with a payload of its own
	const b = frameLog.fabricated(client({ token: `Bearer ${tokenB}` }), 'dispute:created');
	f = await b.next();
	report('B connects', f.kind === 'connect', JSON.stringify(f));

	const txn1 = `txn-fraud-${mode}-1`;
	await sql(alert(ownerA, txn1));
	f = await adm.next();
	const d = f.data || {};
	report('the admin receives the fraud:risk_alert emitted for A, with the spec\'s payload',
		f.kind === 'event' && f.event === 'fraud:risk_alert' && d.transactionId === txn1 &&
		d.riskScore === 85 && d.riskLevel === 'CRITICAL' && d.decision === 'HOLD' &&
		d.requiresAction === true && d.timestamp === '2025-11-10T10:35:00Z' &&
		/^[0-9]+$/.test(f.offset), JSON.stringify(f));
	const offset = f.offset;

	// B's own event is the barrier: B gets it, and nothing of A's (the alert) before it
	await sql(`SELECT pg_wallet.emit_event(${Number(ownerB)}, 'dispute:created',
		'{"disputeId": "dsp-admin-${mode}"}')`);
	f = await b.next();
	report('B does not receive A\'s alert (its own later event comes first, alone)',
		f.kind === 'event' && f.event === 'dispute:created' && b.pending().length === 0,
		JSON.stringify(f));
	report('the admin receives no user\'s other events', adm.pending().length === 0,
		JSON.stringify(adm.pending()));
	b.close();

	// the admin is away while another alert commits; with its offset it gets it, once
	adm.close();
	const txn2 = `txn-fraud-${mode}-2`;
	await sql(alert(ownerA, txn2));
	const again = client({ token: `Bearer ${tokenAdmin}`, offset });
	f = await again.next();
	report('the admin connects again with its offset', f.kind === 'connect', JSON.stringify(f));
	f = await again.next();
	report('... and receives the alert it missed, and not the one it had',
		f.kind === 'event' && f.event === 'fraud:risk_alert' && f.data.transactionId === txn2,
		JSON.stringify(f));
	again.close();
}

main().then(() => process.exit(0), (e) => {
	console.log(`not ok - admin ${mode}: the scenario ran: ${e.message}`);
	process.exit(1);
});
