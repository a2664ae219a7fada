// test/e2e/socketio_client.js — the Tribble socket.io scenario of the e2e suite, with the
// official `socket.io-client` (test/package.json, pinned by test/package-lock.json, installed
// by scripts/test with `npm ci`). Prints one line per check, "ok - NAME" or
// "not ok - NAME: DETAIL", read by test/e2e/75_socketio.sh.
// Usage: node socketio_client.js MODE URL TOKEN_A TOKEN_B WALLET_A WALLET_B OWNER_A OWNER_B
//   MODE: "default" (polling, then the upgrade to WebSocket) or "websocket"
//   (transports: ['websocket']). Events are caused with $SIO_PSQL (PGHOST, PGPORT,
//   PGDATABASE): a Tribble card funding through the REST API completed as the partner's
//   success callback completes it (pg_wallet._deposit_complete: a CREDIT posting).
'use strict';
const { io } = require('socket.io-client');
const { execFile, execFileSync } = require('child_process');
const frameLog = require('./frame_log');
const { queued } = require('./sio_queue');

const [mode, url, tokenA, tokenB, walletA, walletB] = process.argv.slice(2);
const T = '/tribble/api/v1';

function report(name, pass, detail) {
	console.log(pass ? `ok - ${mode}: ${name}` : `not ok - ${mode}: ${name}: ${detail}`);
}

const psqlArgs = (text) => ['-X', '-q', '-tA', '-v', 'ON_ERROR_STOP=1', '-c', text];

// SQL without blocking the loop (the sockets keep answering pings meanwhile)
function sql(text) {
	return new Promise((resolve, reject) => execFile(process.env.SIO_PSQL, psqlArgs(text),
		(e, out) => (e ? reject(e) : resolve(out.toString().trim()))));
}

// A client with its frames queued (sio_queue.js): next() resolves with the next one.
function client(token, extra = {}) {
	const opts = { reconnectionDelay: 100, reconnectionDelayMax: 500, ...extra };
	if (token !== undefined) opts.auth = { token };
	if (mode === 'websocket') opts.transports = ['websocket'];
	const s = frameLog.socketio(io(url, opts));
	if (token === undefined) frameLog.deliberate(s);	// a CONNECT without auth, on purpose
	return queued(s);
}

// The caller's first payment method (75_socketio.sh saved a card for each user): funding
// takes only one of the caller's own methods.
const methods = new Map();
async function paymentMethod(token) {
	if (!methods.has(token)) {
		const r = await fetch(url + T + '/payment-methods',
			{ headers: { Authorization: `Bearer ${token}` } });
		const b = await r.json();
		if (r.status !== 200 || !b.paymentMethods.length)
			throw new Error(`payment-methods: ${r.status} ${JSON.stringify(b)}`);
		methods.set(token, b.paymentMethods[0].paymentMethodId);
	}
	return methods.get(token);
}

// A Tribble card funding through REST: PROCESSING, no event yet. Returns the transactionId.
async function startFund(token, wallet, amount) {
	const paymentMethodId = await paymentMethod(token);
	const r = await fetch(url + T + '/wallets/fund', {
		method: 'POST',
		headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
		body: JSON.stringify({ walletId: wallet, amount, paymentMethodId }),
	});
	const b = await r.json();
	if (r.status !== 201) throw new Error(`fund: ${r.status} ${JSON.stringify(b)}`);
	return b.transactionId;
}

// The partner's success, as its callback completes a funding: the CREDIT posting and one
// transaction:completed event for the wallet's owner.
const completion = (ref) => `SELECT pg_wallet._deposit_complete('${ref}', 'psp-${ref}')`;

async function fund(token, wallet, amount) {
	const ref = await startFund(token, wallet, amount);
	await sql(completion(ref));
	return ref;
}

async function main() {
	// a missing and a bad token: CONNECT_ERROR, in the bridge's words
	let c = client(undefined, { reconnection: false });
	let f = await c.next();
	report('no token: connect_error 401', f.kind === 'connect_error' &&
		f.data && f.data.statusCode === 401, JSON.stringify(f));
	c.close();
	c = client('Bearer not.a.token', { reconnection: false });
	f = await c.next();
	report('a bad token: connect_error, errorCode UNAUTHORIZED as REST names it', f.kind ===
		'connect_error' && f.message.length > 0 && f.data && f.data.statusCode === 401 &&
		f.data.errorCode === 'UNAUTHORIZED', JSON.stringify(f));
	c.close();

	// A and B connect; A subscribes with an acknowledgement
	const a = client(`Bearer ${tokenA}`);
	f = await a.next();
	report('A connects with a good token', f.kind === 'connect' && !f.recovered,
		JSON.stringify(f));
	const b = client(`Bearer ${tokenB}`);
	f = await b.next();
	report('B connects', f.kind === 'connect', JSON.stringify(f));
	const ack = await a.timeout(10000).emitWithAck('subscribe',
		{ channels: ['transaction:all', 'user:someone-else'] }).catch((e) => ({ error: e.message }));
	report('subscribe is acknowledged with the caller\'s own channels',
		JSON.stringify(ack) === '{"subscribed":["transaction:all"]}', JSON.stringify(ack));
	if (mode === 'default') {
		if (a.io.engine.transport.name !== 'websocket')
			await new Promise((res) => a.io.engine.once('upgrade', res));
		report('the default client upgraded from polling to websocket',
			a.io.engine.transport.name === 'websocket', a.io.engine.transport.name);
	}

	// a posting for A: A receives it, with the spec's payload and an offset
	const ref1 = await fund(tokenA, walletA, 7);
	f = await a.next();
	report('A receives transaction:completed caused by its funding', f.kind === 'event' &&
		f.event === 'transaction:completed' && f.data.transactionId === ref1 &&
		f.data.amount === 7 && f.data.status === 'SUCCESS' && /Z$/.test(f.data.timestamp) &&
		/^[0-9]+$/.test(f.offset), JSON.stringify(f));

	// B's own event is the barrier: B has nothing of A's before it
	const refB = await fund(tokenB, walletB, 3);
	f = await b.next();
	report('B receives only its own event, never A\'s', f.kind === 'event' &&
		f.data.transactionId === refB && b.pending().length === 0, JSON.stringify(f));

	// the network drops: while A is away an event commits (the handler blocks the loop until
	// it has, so the client cannot come back first); the client reconnects by itself with
	// socket.io's connection-state recovery (pid, offset) and receives what it missed, and
	// nothing of B's before it (B's event committed earlier)
	const ref2 = await startFund(tokenA, walletA, 11);
	a.once('disconnect', () => execFileSync(process.env.SIO_PSQL, psqlArgs(completion(ref2))));
	const sock = a.io.engine.transport.ws && a.io.engine.transport.ws._socket;
	if (sock) sock.destroy();
	else a.io.engine.close();
	f = await a.next();
	report('A sees the drop', f.kind === 'disconnect' && f.reason === 'transport close',
		JSON.stringify(f));
	f = await a.next();
	report('A reconnects by itself and is told it recovered', f.kind === 'connect' &&
		f.recovered === true, JSON.stringify(f));
	f = await a.next();
	report('A receives the event it missed while disconnected, and B\'s never',
		f.kind === 'event' && f.data.transactionId === ref2 && f.data.amount === 11,
		JSON.stringify(f));

	a.close();
	b.close();
}

main().then(() => process.exit(0), (e) => {
	report('scenario', false, e.stack);
	process.exit(1);
});
