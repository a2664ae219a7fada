// test/e2e/cashier_client.js — the cashier WebSocket scenario of the e2e suite, with the
// `ws` package (Debian node-ws; NODE_PATH=/usr/share/nodejs). Prints one line per check,
// "ok - NAME" or "not ok - NAME: DETAIL", read by test/e2e/38_cashier.sh.
// Usage: node cashier_client.js URL TOKEN_A TOKEN_B USER_ID_B ACCOUNT_A ACCOUNT_B IDLE_MS
'use strict';
const WebSocket = require('ws');

const [url, tokenA, tokenB, userB, accountA, accountB, idleMs] = process.argv.slice(2);
const auth = (t) => ({ headers: { Authorization: `Bearer ${t}` } });

function report(name, pass, detail) {
	console.log(pass ? `ok - ${name}` : `not ok - ${name}: ${detail}`);
}

// Open a socket; resolves with {ws, frames, next()} once open, or {error} when refused.
function open(u, opts) {
	return new Promise((resolve) => {
		const ws = new WebSocket(u, opts);
		// replies and pushed events (frames with an event_id) are queued apart
		const q = { reply: { frames: [], waiters: [] }, event: { frames: [], waiters: [] } };
		ws.on('message', (m) => {
			const f = JSON.parse(m.toString());
			const k = f.event_id !== undefined ? q.event : q.reply;
			if (k.waiters.length) k.waiters.shift()(f); else k.frames.push(f);
		});
		const take = (k, ms) => new Promise((res) => {
			if (k.frames.length) return res(k.frames.shift());
			const t = setTimeout(() => { k.waiters.shift(); res({ type: 'timeout' }); }, ms);
			k.waiters.push((f) => { clearTimeout(t); res(f); });
		});
		ws.on('open', () => resolve({
			ws,
			next: (ms = 5000) => take(q.reply, ms),
			nextEvent: (ms = 5000) => take(q.event, ms),
			closed: new Promise((res) => ws.on('close', (code) => res(code))),
		}));
		ws.on('unexpected-response', (req, res) => resolve({ error: `HTTP ${res.statusCode}` }));
		ws.on('error', (e) => resolve({ error: e.message }));
	});
}

async function ask(c, type, data) {
	c.ws.send(JSON.stringify({ type, data }));
	return c.next();
}

async function main() {
	let r = await open(url);
	report('an upgrade without Authorization is refused', !!r.error, 'accepted');
	r = await open(url.replace('/cashier/svc/ws', '/other/ws'), auth(tokenA));
	report('an upgrade at another path is refused', !!r.error, 'accepted');

	const forged = await open(url, auth('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'));
	if (forged.error) {
		report('a forged token gets an error frame and close 1008', false, forged.error);
	} else {
		const f = await forged.next();
		const code = await forged.closed;
		report('a forged token gets an error frame and close 1008',
			f.type === 'error' && code === 1008, `${JSON.stringify(f)} close ${code}`);
	}

	const a = await open(url, auth(tokenA));
	if (a.error) { report('user A connects', false, a.error); return; }
	let f = await a.next();
	report('the first frame is "connected" with the user id',
		f.type === 'connected' && typeof f.data.user_id === 'string' && f.timestamp > 0,
		JSON.stringify(f));

	const b = await open(url, auth(tokenB));
	if (b.error) { report('user B connects', false, b.error); return; }
	f = await b.next();
	report('user B connects', f.type === 'connected', JSON.stringify(f));

	f = await ask(a, 'get_accounts', {});
	report('get_accounts lists the caller\'s accounts',
		f.type === 'success' && f.data.message === 'accounts retrieved' &&
		f.data.data.count === 1 && f.data.data.accounts[0].account_number === accountA,
		JSON.stringify(f));
	f = await ask(a, 'get_account_balance', { account_number: accountA });
	report('get_account_balance of an own account',
		f.type === 'success' && Number(f.data.data.balance) === 100 &&
		f.data.data.currency === 'KES', JSON.stringify(f));
	f = await ask(a, 'get_account_balance', { account_number: accountB });
	report('get_account_balance of another user\'s account is refused',
		f.type === 'error' && /not found/.test(f.data.message), JSON.stringify(f));

	f = await ask(a, 'transfer', { to_user_id: userB, amount: 10, currency: 'KES',
		description: 'lunch', reference: 't-1' });
	report('transfer to another user',
		f.type === 'success' && /^RCP-/.test(f.data.data.receipt_code) &&
		Number(f.data.data.amount) === 10, JSON.stringify(f));
	const receipt = f.data && f.data.data && f.data.data.receipt_code;
	f = await b.nextEvent();
	report('the recipient is pushed the event of the transfer',
		/_completed$/.test(f.type) && f.event_id > 0 && typeof f.data === 'object',
		JSON.stringify(f));
	let lastB = f.event_id;
	f = await a.nextEvent();
	report('the sender is pushed its event too', /_completed$/.test(f.type), JSON.stringify(f));
	f = await ask(a, 'get_transaction_by_receipt', { receipt_code: receipt });
	report('get_transaction_by_receipt of an own transaction',
		f.type === 'success' && f.data.data.entries.length >= 2, JSON.stringify(f));
	f = await ask(a, 'get_partners', { service: 'mpesa' });
	report('get_partners lists the service\'s partners',
		f.type === 'success' && f.data.data.count >= 1, JSON.stringify(f));
	f = await ask(a, 'deposit_request', { amount: 50, currency: 'KES', service: 'mpesa',
		phone: '+254712345678' });
	report('deposit_request creates a pending request',
		f.type === 'success' && f.data.message === 'deposit request created' &&
		typeof f.data.data.request_ref === 'string', JSON.stringify(f));
	const ref = f.data && f.data.data && f.data.data.request_ref;
	f = await ask(a, 'get_deposit_status', { request_ref: ref });
	report('get_deposit_status of an own deposit',
		f.type === 'success' && f.data.data.request_ref === ref, JSON.stringify(f));
	f = await ask(a, 'cancel_deposit', { request_ref: ref });
	report('cancel_deposit', f.type === 'success', JSON.stringify(f));
	f = await ask(a, 'get_deposit_status', { request_ref: ref });
	report('a cancelled deposit shows status cancelled',
		f.type === 'success' && f.data.data.status === 'cancelled', JSON.stringify(f));
	f = await ask(a, 'verification_request', { method: 'otp_email', purpose: 'withdrawal' });
	report('verification_request sends an OTP to the masked address',
		f.type === 'success' && f.data.data.next_step === 'verify_otp' &&
		/\*/.test(f.data.data.recipient), JSON.stringify(f));
	f = await ask(a, 'verify_otp', { code: '12345x', purpose: 'withdrawal' });
	report('verify_otp with a wrong code is an error frame', f.type === 'error',
		JSON.stringify(f));
	f = await ask(a, 'verification_request', { method: 'totp', purpose: 'withdrawal' });
	report('verification_request by TOTP without 2FA is an error frame',
		f.type === 'error' && /2FA/.test(f.data.message), JSON.stringify(f));
	f = await ask(a, 'withdraw_request', { amount: 5, currency: 'KES',
		destination: '+254712345678' });
	report('withdraw_request without a verification token is refused',
		f.type === 'error' && /verification/.test(f.data.message), JSON.stringify(f));
	f = await ask(a, 'transfer', { to_user_id: userB, amount: 500, currency: 'KES' });
	report('a transfer beyond the balance is an error frame',
		f.type === 'error' && /insufficient/i.test(f.data.message), JSON.stringify(f));
	f = await ask(a, 'calculate_fee', { transaction_type: 'transfer', amount: 100,
		source_currency: 'KES' });
	report('calculate_fee', f.type === 'success' && f.data.message === 'fee calculated' &&
		f.data.data.currency === 'KES', JSON.stringify(f));

	a.ws.send('this is not json');
	f = await a.next();
	report('an unparseable frame is "invalid request format"',
		f.type === 'error' && f.data.message === 'invalid request format', JSON.stringify(f));
	f = await ask(a, 'no_such_type', {});
	report('an unknown type is an error frame', f.type === 'error', JSON.stringify(f));

	const whole = JSON.stringify({ type: 'get_account_balance',
		data: { account_number: accountA } });
	a.ws.send(whole.slice(0, 10), { fin: false });
	a.ws.send(whole.slice(10), { fin: true });
	f = await a.next();
	report('a fragmented message is reassembled',
		f.type === 'success' && Number(f.data.data.balance) === 90, JSON.stringify(f));

	const pong = new Promise((res) => a.ws.once('pong', () => res(true)));
	a.ws.ping();
	report('a WebSocket ping is answered with a pong',
		await Promise.race([pong, new Promise((res) => setTimeout(() => res(false), 3000))]),
		'no pong');

	f = await ask(b, 'get_account_balance', { account_number: accountB });
	report('the recipient sees the transfer', f.type === 'success' &&
		Number(f.data.data.balance) === 10, JSON.stringify(f));
	f = await ask(b, 'get_transaction_by_receipt', { receipt_code: receipt });
	report('B can read the transfer it received', f.type === 'success', JSON.stringify(f));
	f = await ask(b, 'get_deposit_status', { request_ref: ref });
	report('B cannot read A\'s deposit', f.type === 'error', JSON.stringify(f));
	f = await ask(b, 'cancel_deposit', { request_ref: ref });
	report('B cannot cancel A\'s deposit', f.type === 'error', JSON.stringify(f));
	f = await ask(b, 'transfer', { to_user_id: userB, amount: 1, currency: 'XXX' });
	report('B cannot move A\'s money (only its own wallets)', f.type === 'error',
		JSON.stringify(f));

	// resume: B goes away, A pays B again, B comes back with its last event id
	for (;;) {
		f = await b.nextEvent(500);
		if (f.type === 'timeout') break;
		lastB = f.event_id;
	}
	b.ws.close();
	await b.closed;
	f = await ask(a, 'transfer', { to_user_id: userB, amount: 5, currency: 'KES',
		reference: 't-2' });
	report('a transfer while the recipient is offline', f.type === 'success', JSON.stringify(f));
	const b2 = await open(`${url}?last_event_id=${lastB}`, auth(tokenB));
	f = await b2.next();
	report('B reconnects with ?last_event_id', f.type === 'connected' &&
		f.data.last_event_id === lastB, JSON.stringify(f));
	f = await b2.nextEvent();
	report('the reconnected client receives the event it missed',
		/_completed$/.test(f.type) && f.event_id > lastB, JSON.stringify(f));

	// rate limit: the bridge of the suite allows 30 messages per minute per user
	let limited = false;
	for (let i = 0; i < 35 && !limited; i++) {
		f = await ask(b2, 'ping', {});
		limited = f.type === 'error' && /rate limit/.test(f.data.message);
	}
	report('more messages than the per-user rate limit get an error frame', limited,
		JSON.stringify(f));
	b2.ws.close();

	// inactivity: a silent socket is closed with 1001 after ws_idle_timeout_ms
	const start = Date.now();
	f = await a.next(Number(idleMs) + 3000);
	const code = await Promise.race([a.closed,
		new Promise((res) => setTimeout(() => res('open'), 3000))]);
	report('an idle socket is closed (1001) after the inactivity timeout',
		code === 1001 && Date.now() - start >= Number(idleMs) - 600,
		`close ${code} after ${Date.now() - start} ms, last frame ${JSON.stringify(f)}`);
}

main().then(() => process.exit(0), (e) => { console.log(`not ok - client crashed: ${e}`);
	process.exit(1); });
