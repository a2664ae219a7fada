// test/e2e/cashier_verify.js — REQUIRE_VERIFICATION over the cashier WebSocket (issue 12,
// docs/fraud.md): a transfer whose fraud score asks for a step-up verification is refused
// until the message carries a verification token of purpose "payment" (verification_request,
// verify_otp; the OTP code read with $CASHIER_PSQL and the test hook); the token is single
// use. `ws` from Debian (NODE_PATH=/usr/share/nodejs). Prints "ok - NAME" or
// "not ok - NAME: DETAIL" lines, read by test/e2e/49_fraud_verify.sh.
// Usage: node cashier_verify.js WS_URL TOKEN PRINCIPAL_ID TO_USER_ID [hold]
'use strict';
const WebSocket = require('ws');
const { execFileSync } = require('child_process');
const frameLog = require('./frame_log');

const [url, token, principal, toUser] = process.argv.slice(2);

function report(name, pass, detail) {
	console.log(pass ? `ok - ${name}` : `not ok - ${name}: ${detail}`);
}

function open() {
	return new Promise((resolve) => {
		const ws = frameLog.cashier(new WebSocket(url,
			{ headers: { Authorization: `Bearer ${token}` } }));
		const frames = [];
		const waiters = [];
		ws.on('message', (m) => {
			const f = JSON.parse(m.toString());
			if (f.event_id !== undefined) return;	// pushed events are not replies
			if (waiters.length) waiters.shift()(f); else frames.push(f);
		});
		const next = (ms = 5000) => new Promise((res) => {
			if (frames.length) return res(frames.shift());
			const t = setTimeout(() => { waiters.shift(); res({ type: 'timeout' }); }, ms);
			waiters.push((f) => { clearTimeout(t); res(f); });
		});
		ws.on('open', () => resolve({ ws, next }));
		ws.on('error', (e) => resolve({ error: e.message }));
	});
}

async function ask(c, type, data) {
	c.ws.send(JSON.stringify({ type, data }));
	return c.next();
}

function otpCode(purpose) {
	return execFileSync(process.env.CASHIER_PSQL, ['-X', '-q', '-At', '-c',
		'SET pg_wallet.enable_test_hooks = on',
		'-c', `SELECT pg_wallet.test_otp_code('${principal}', '${purpose}')`]).toString().trim();
}

async function main() {
	const c = await open();
	if (c.error) { report('the payer connects', false, c.error); return; }
	let f = await c.next();
	report('the payer connects', f.type === 'connected', JSON.stringify(f));
	const transfer = (extra) => ask(c, 'transfer',
		Object.assign({ to_user_id: toUser, amount: 10, currency: 'KES' }, extra));

	f = await transfer({});
	report('a transfer that needs a step-up verification is refused with the reason',
		f.type === 'error' && f.data.message === 'verification required by fraud detection',
		JSON.stringify(f));
	f = await transfer({ verification_token: 'vt_forged' });
	report('a forged verification token is refused',
		f.type === 'error' && /invalid or expired verification token/.test(f.data.message),
		JSON.stringify(f));
	frameLog.deliberate(c.ws);	// a token that is not a string, on purpose
	f = await transfer({ verification_token: 42 });
	report('a verification token that is not a string is refused',
		f.type === 'error' && /verification_token must be a string/.test(f.data.message),
		JSON.stringify(f));

	f = await ask(c, 'verification_request', { method: 'otp_sms', purpose: 'payment' });
	report('verification_request for a payment', f.type === 'success', JSON.stringify(f));
	f = await ask(c, 'verify_otp', { code: otpCode('payment'), purpose: 'payment' });
	const vt = f.data && f.data.data && f.data.data.verification_token;
	report('verify_otp returns a payment verification token',
		f.type === 'success' && typeof vt === 'string' && f.data.data.purpose === 'payment',
		JSON.stringify(f));
	f = await transfer({ verification_token: vt, reference: 'e2e-verified-1' });
	const rc = f.data && f.data.data && f.data.data.receipt_code;
	report('the transfer with the verification token posts',
		f.type === 'success' && f.data.message === 'transfer completed' &&
		/^RCP-/.test(rc || ''), JSON.stringify(f));
	console.log(`receipt ${rc}`);
	f = await transfer({ verification_token: vt });
	report('the verification token is single use',
		f.type === 'error' && /invalid or expired verification token/.test(f.data.message),
		JSON.stringify(f));
	f = await transfer({});
	report('the next transfer needs a verification again',
		f.type === 'error' && f.data.message === 'verification required by fraud detection',
		JSON.stringify(f));

	// a token for another purpose is not a payment verification
	f = await ask(c, 'verification_request', { method: 'otp_sms', purpose: 'withdrawal' });
	f = await ask(c, 'verify_otp', { code: otpCode('withdrawal'), purpose: 'withdrawal' });
	const wt = f.data && f.data.data && f.data.data.verification_token;
	f = await transfer({ verification_token: wt });
	report('a withdrawal token does not verify a transfer',
		f.type === 'error' && /invalid or expired verification token/.test(f.data.message),
		JSON.stringify(f));
	c.ws.close();
}

// hold mode: a transfer that scores HOLD is held for review: the success frame says so
async function hold() {
	const c = await open();
	if (c.error) { report('the payer connects (hold)', false, c.error); return; }
	let f = await c.next();
	f = await ask(c, 'transfer', { to_user_id: toUser, amount: 25, currency: 'KES',
		reference: 'e2e-held-1' });
	report('a transfer that scores HOLD is held for review',
		f.type === 'success' && f.data.message === 'transfer held for review' &&
		f.data.data.status === 'held_for_review' && Number.isInteger(f.data.data.hold_id) &&
		f.data.data.amount === 25, JSON.stringify(f));
	console.log(`hold ${f.data && f.data.data && f.data.data.hold_id}`);
	f = await ask(c, 'transfer', { to_user_id: toUser, amount: 25, currency: 'KES',
		reference: 'e2e-held-1' });
	report('its retry under the same reference is the same hold',
		f.type === 'success' && f.data.data.status === 'held_for_review', JSON.stringify(f));
	c.ws.close();
}

(process.argv[6] === 'hold' ? hold() : main())
	.catch((e) => { report('cashier_verify runs', false, e.stack); });
