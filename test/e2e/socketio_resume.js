// test/e2e/socketio_resume.js — resuming Tribble's socket.io events across a bridge restart,
// with the official socket.io-client (transports: ['websocket']). Prints "ok - NAME" /
// "not ok - NAME: DETAIL" lines, read by test/e2e/75_socketio.sh.
//   node socketio_resume.js start URL TOKEN FILE WALLET   connect, cause an event (a funding
//       completed as the partner's callback completes it, with $SIO_PSQL), receive it, and
//       keep the pid and offset the client learnt in FILE;
//   node socketio_resume.js resume URL TOKEN FILE REF     connect again with that pid and
//       offset in the auth payload, as the client's connection-state recovery sends them, and
//       receive the event REF that committed while the bridge was down.
'use strict';
const fs = require('fs');
const { io } = require('socket.io-client');
const { execFile } = require('child_process');
const frameLog = require('./frame_log');

// SQL without blocking the loop (the socket keeps answering pings meanwhile)
function sql(text) {
	return new Promise((resolve, reject) => execFile(process.env.SIO_PSQL,
		['-X', '-q', '-tA', '-v', 'ON_ERROR_STOP=1', '-c', text],
		(e, out) => (e ? reject(e) : resolve(out.toString().trim()))));
}

const [step, url, token, file, arg] = process.argv.slice(2);

function report(name, pass, detail) {
	console.log(pass ? `ok - resume: ${name}` : `not ok - resume: ${name}: ${detail}`);
}

function next(s, what) {
	return new Promise((res) => {
		const t = setTimeout(() => res({ kind: 'timeout' }), 20000);
		s.once(what, (data, offset) => { clearTimeout(t); res({ kind: what, data, offset }); });
		s.once('connect_error', (e) => { clearTimeout(t); res({ kind: 'error', data: e.message }); });
	});
}

async function start() {
	const s = frameLog.socketio(io(url, { auth: { token: `Bearer ${token}` },
		transports: ['websocket'], reconnection: false }));
	let f = await next(s, 'connect');
	report('A connects before the restart', f.kind === 'connect', JSON.stringify(f));
	const ref = await sql(
		`SELECT f ->> 'transactionId' FROM pg_wallet.fund_wallet('${arg}', 5, 'card-001') f`);
	const got = next(s, 'transaction:completed');
	await sql(`SELECT pg_wallet._deposit_complete('${ref}', 'psp-${ref}')`);
	f = await got;
	report('A receives an event and its offset', f.kind === 'transaction:completed' &&
		f.data.transactionId === ref && /^[0-9]+$/.test(f.offset), JSON.stringify(f));
	fs.writeFileSync(file, JSON.stringify({ pid: s._pid, offset: f.offset }));
	s.close();
}

async function resume() {
	const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
	const s = frameLog.socketio(io(url, { auth: { token: `Bearer ${token}`, ...saved },
		transports: ['websocket'], reconnection: false }));
	const got = next(s, 'transaction:completed');
	const f = await next(s, 'connect');
	report('A connects to the restarted bridge with its pid and offset', f.kind === 'connect',
		JSON.stringify(f));
	const e = await got;
	report('A receives the event that committed while the bridge was down',
		e.kind === 'transaction:completed' && e.data.transactionId === arg &&
		Number(e.offset) > Number(saved.offset), JSON.stringify(e));
	s.close();
}

(step === 'start' ? start() : resume()).then(() => process.exit(0), (e) => {
	report('scenario', false, e.stack);
	process.exit(1);
});
