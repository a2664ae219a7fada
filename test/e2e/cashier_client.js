// test/e2e/cashier_client.js — the cashier WebSocket scenario of the e2e suite, with the
// `ws` package (Debian node-ws; NODE_PATH=/usr/share/nodejs). Prints one line per check,
// "ok - NAME" or "not ok - NAME: DETAIL", read by test/e2e/38_cashier.sh.
// Usage: node cashier_client.js URL TOKEN_A TOKEN_B USER_ID_B ACCOUNT_A ACCOUNT_B IDLE_MS
//        node cashier_client.js withdraw URL
//        node cashier_client.js block URL CASE
// User C and D (reports(), withdraw()) come from the environment: CASHIER_C_TOKEN,
// CASHIER_C_ID, CASHIER_C_KES, CASHIER_C_USD, CASHIER_D_TOKEN; the OTP code of the
// withdrawal is read with $CASHIER_PSQL (PGHOST, PGPORT, PGDATABASE) and the test hook.
// block (test/e2e/49_fraud_block.sh): every money request of a user whose debits fraud
// scoring blocks gets the FRAUD_BLOCK error frame; the user and the secrets that must not be
// echoed come from the environment: BLOCK_TOKEN, BLOCK_USER_ID, BLOCK_TO_USER, BLOCK_KES,
// BLOCK_DEVICE; CASE prefixes the checks' names.
'use strict';
const WebSocket = require('ws');
const { execFileSync } = require('child_process');
const frameLog = require('./frame_log');

const [url, tokenA, tokenB, userB, accountA, accountB, idleMs] = process.argv.slice(2);
const auth = (t) => ({ headers: { Authorization: `Bearer ${t}` } });
// the next request on c is malformed on purpose (E2E_FRAME_LOG: not validated, its reply is)
const bad = (c) => frameLog.deliberate(c.ws) && c;

function report(name, pass, detail) {
	console.log(pass ? `ok - ${name}` : `not ok - ${name}: ${detail}`);
}

// Open a socket; resolves with {ws, frames, next()} once open, or {error} when refused.
function open(u, opts) {
	return new Promise((resolve) => {
		const ws = frameLog.cashier(new WebSocket(u, opts));
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

const env = process.env;

// FX, history, statements and ledgers, as user C (KES and USD wallets) and D (no account)
async function reports() {
	const c = await open(url, auth(env.CASHIER_C_TOKEN));
	if (c.error) { report('user C connects', false, c.error); return; }
	let f = await c.next();
	report('user C connects', f.type === 'connected', JSON.stringify(f));
	const kes = env.CASHIER_C_KES;
	const usd = env.CASHIER_C_USD;

	f = await ask(c, 'convert_and_transfer', { from_currency: 'KES', to_currency: 'USD',
		amount: 50, description: 'Convert KES to USD' });
	const d = f.data && f.data.data;
	report('convert_and_transfer converts between the caller\'s wallets',
		f.type === 'success' && f.data.message === 'conversion completed' &&
		/^RCP-/.test(d.receipt_code) && d.journal_id > 0 && d.source_currency === 'KES' &&
		d.dest_currency === 'USD' && Number(d.source_amount) === 50 &&
		Number(d.converted_amount) === 0.4 && typeof d.fx_rate === 'string' && Number(d.fx_rate) === 0.008 && d.fx_rate_id > 0 &&
		Number(d.fee) === 0 && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(d.created_at),
		JSON.stringify(f));
	f = await ask(c, 'get_account_balance', { account_number: usd });
	report('the converted amount is in the USD wallet',
		f.type === 'success' && Number(f.data.data.balance) === 0.4, JSON.stringify(f));
	f = await ask(bad(c), 'convert_and_transfer', { from_currency: 'KES', to_currency: 'USD' });
	report('convert_and_transfer without an amount is refused',
		f.type === 'error' && f.data.message ===
		'from_currency, to_currency and amount are required', JSON.stringify(f));
	f = await ask(bad(c), 'convert_and_transfer', { from_currency: 'KES', to_currency: 'USD',
		amount: 0 });
	report('convert_and_transfer of zero: "amount must be greater than zero"',
		f.type === 'error' && f.data.message === 'amount must be greater than zero',
		JSON.stringify(f));
	f = await ask(c, 'convert_and_transfer', { from_currency: 'KES', to_currency: 'USD',
		amount: 500 });
	report('convert_and_transfer beyond the balance: insufficient balance',
		f.type === 'error' && /insufficient/i.test(f.data.message), JSON.stringify(f));
	f = await ask(c, 'convert_and_transfer', { from_currency: 'KES', to_currency: 'EUR',
		amount: 1 });
	report('convert_and_transfer to a currency without a wallet is refused',
		f.type === 'error' && /EUR/.test(f.data.message), JSON.stringify(f));

	f = await ask(c, 'get_history', { type: 'all', limit: 20, offset: 0 });
	report('get_history lists deposits and withdrawals',
		f.type === 'success' && f.data.message === 'transaction history' &&
		Array.isArray(f.data.data.deposits) && Array.isArray(f.data.data.withdrawals),
		JSON.stringify(f));
	f = await ask(bad(c), 'get_history', { type: 'everything' });
	report('get_history with an unknown type is refused', f.type === 'error' &&
		/type must be/.test(f.data.message), JSON.stringify(f));
	f = await ask(bad(c), 'get_history', { limit: 1000 });
	report('get_history with a limit out of range is refused', f.type === 'error' &&
		/limit/.test(f.data.message), JSON.stringify(f));

	const from = new Date(Date.now() - 3600e3).toISOString();
	const to = new Date(Date.now() + 3600e3).toISOString();
	f = await ask(c, 'get_account_statement', { account_number: kes, from, to });
	let s = f.data && f.data.data;
	report('get_account_statement of an own account',
		f.type === 'success' && f.data.message === 'account statement' &&
		s.account_number === kes && Number(s.opening_balance) === 0 &&
		Number(s.closing_balance) === 150 && Number(s.total_credits) === 200 &&
		Number(s.total_debits) === 50 && s.transaction_count === 2 &&
		s.ledgers.length === 2 && s.ledgers[1].type === 'DR_CR_DEBIT' &&
		Number(s.ledgers[1].balance_after) === 150 && /^RCP-/.test(s.ledgers[1].receipt_code) &&
		/Z$/.test(s.period_start), JSON.stringify(f));
	f = await ask(c, 'get_account_statement', { account_number: accountA, from, to });
	report('get_account_statement of another user\'s account is "account not found"',
		f.type === 'error' && f.data.message === 'account not found', JSON.stringify(f));
	f = await ask(bad(c), 'get_account_statement', { account_number: kes, from: 'yesterday-ish',
		to });
	report('get_account_statement with a malformed time is refused',
		f.type === 'error' && /ISO 8601/.test(f.data.message), JSON.stringify(f));
	f = await ask(c, 'get_owner_statement', { from, to });
	s = f.data && f.data.data;
	report('get_owner_statement covers all the caller\'s accounts',
		f.type === 'success' && f.data.message === 'owner statement' && s.count === 2 &&
		s.statements[0].account_number === kes && s.statements[1].account_number === usd &&
		Number(s.statements[1].closing_balance) === 0.4 && /Z$/.test(s.period_end),
		JSON.stringify(f));
	f = await ask(c, 'get_ledgers', { account_number: kes, limit: 1, offset: 1 });
	s = f.data && f.data.data;
	report('get_ledgers pages an own account\'s entries',
		f.type === 'success' && f.data.message === 'ledgers retrieved' && s.total === 2 &&
		s.limit === 1 && s.offset === 1 && s.ledgers.length === 1 &&
		s.ledgers[0].type === 'DR_CR_DEBIT' && s.ledgers[0].journal_id > 0 &&
		Number(s.ledgers[0].amount) === 50, JSON.stringify(f));
	f = await ask(c, 'get_ledgers', { account_number: accountA });
	report('get_ledgers of another user\'s account is "account not found"',
		f.type === 'error' && f.data.message === 'account not found', JSON.stringify(f));
	f = await ask(bad(c), 'get_ledgers', { account_number: kes, limit: 'many' });
	report('get_ledgers with a bad limit is refused',
		f.type === 'error' && /limit must be/.test(f.data.message), JSON.stringify(f));
	c.ws.close();
	await c.closed;

	const dd = await open(url, auth(env.CASHIER_D_TOKEN));
	if (dd.error) { report('user D connects', false, dd.error); return; }
	await dd.next();
	f = await ask(dd, 'get_owner_statement', {});
	report('get_owner_statement of a user without accounts: "user has no accounts"',
		f.type === 'error' && f.data.message === 'user has no accounts', JSON.stringify(f));
	dd.ws.close();
	await dd.closed;
}

// A withdrawal end to end as user C: OTP, verification token, withdraw_request, the partner
// simulator pays out and calls back, withdrawal_completed is pushed on the socket.
async function withdraw(wsUrl) {
	const c = await open(wsUrl, auth(env.CASHIER_C_TOKEN));
	if (c.error) { report('user C connects for a withdrawal', false, c.error); return; }
	let f = await c.next();
	report('user C connects for a withdrawal', f.type === 'connected', JSON.stringify(f));
	f = await ask(c, 'verification_request', { method: 'otp_email', purpose: 'withdrawal' });
	report('verification_request for the withdrawal', f.type === 'success', JSON.stringify(f));
	const code = execFileSync(env.CASHIER_PSQL, ['-X', '-q', '-At', '-c',
		'SET pg_wallet.enable_test_hooks = on',
		'-c', `SELECT pg_wallet.test_otp_code('${env.CASHIER_C_ID}', 'withdrawal')`])
		.toString().trim();
	f = await ask(c, 'verify_otp', { code, purpose: 'withdrawal' });
	const vt = f.data && f.data.data && f.data.data.verification_token;
	report('verify_otp with the code returns a verification token',
		f.type === 'success' && f.data.message === 'verification successful' &&
		typeof vt === 'string' && f.data.data.purpose === 'withdrawal', JSON.stringify(f));
	f = await ask(c, 'withdraw_request', { amount: 20, currency: 'KES',
		destination: '+254712000200', verification_token: 'vt_forged' });
	report('withdraw_request with a forged verification token is refused',
		f.type === 'error' && /invalid or expired verification token/.test(f.data.message),
		JSON.stringify(f));
	f = await ask(c, 'withdraw_request', { amount: 20, currency: 'KES',
		destination: '+254712000200', verification_token: vt, service: 'sim_payout',
		partner_id: 'PTN-E2E', reference: 'w-1' });
	const ref = f.data && f.data.data && f.data.data.request_ref;
	report('withdraw_request with the verification token is accepted',
		f.type === 'success' &&
		f.data.message === 'withdrawal request created and being processed' &&
		f.data.data.status === 'processing' && f.data.data.withdrawal_type === 'direct' &&
		typeof ref === 'string', JSON.stringify(f));
	f = await ask(c, 'withdraw_request', { amount: 20, currency: 'KES',
		destination: '+254712000200', verification_token: vt, service: 'sim_payout' });
	report('the verification token is single use',
		f.type === 'error' && /verification token/.test(f.data.message), JSON.stringify(f));
	for (;;) {
		f = await c.nextEvent(20000);
		if (f.type === 'timeout' || f.type === 'withdrawal_completed' ||
			f.type === 'withdrawal_failed') break;
	}
	report('withdrawal_completed is pushed when the partner confirms',
		f.type === 'withdrawal_completed' && f.data.request_ref === ref && f.event_id > 0,
		JSON.stringify(f));
	f = await ask(c, 'get_history', { type: 'withdrawals' });
	const w = f.data && f.data.data && f.data.data.withdrawals;
	report('get_history shows the completed withdrawal',
		f.type === 'success' && w.length === 1 && w[0].request_ref === ref &&
		w[0].status === 'completed' && /^RCP-/.test(w[0].receipt_code), JSON.stringify(f));
	c.ws.close();
	await c.closed;
}

// The error frame of WL047, exactly: {"type": "error", "data": {"message"}, "timestamp"},
// the wallet's message and nothing else (no score, no SQLSTATE, no device id, no token).
function blocked(name, f) {
	const raw = JSON.stringify(f);
	report(name, f.type === 'error' &&
		JSON.stringify(Object.keys(f).sort()) === '["data","timestamp","type"]' &&
		JSON.stringify(Object.keys(f.data).sort()) === '["code","message"]' &&
		f.data.message === 'transaction blocked by fraud detection' && f.data.code === 'FRAUD_BLOCK' &&
		Number.isInteger(f.timestamp) && f.timestamp > 1700000000 &&
		!raw.includes(env.BLOCK_DEVICE) && !raw.includes(env.BLOCK_TOKEN) &&
		!/WL047|risk score|device/i.test(raw), raw);
}

// A user whose debits are blocked (by a deny rule or by the score): transfer,
// convert_and_transfer and withdraw_request (after a real OTP verification) are refused with
// the FRAUD_BLOCK frame, and the balance does not move. The handshake carries a device id
// and a User-Agent, which the bridge passes to the score of every call of the session.
async function block(wsUrl, label) {
	const c = await open(wsUrl, { headers: { Authorization: `Bearer ${env.BLOCK_TOKEN}`,
		'X-Device-Id': env.BLOCK_DEVICE, 'User-Agent': 'e2e-block/1.0' } });
	if (c.error) { report(`${label}: the user connects`, false, c.error); return; }
	let f = await c.next();
	report(`${label}: the user connects`, f.type === 'connected', JSON.stringify(f));
	f = await ask(c, 'get_account_balance', { account_number: env.BLOCK_KES });
	const before = f.data && f.data.data;
	report(`${label}: the balance before`, f.type === 'success' && Number(before.balance) > 0,
		JSON.stringify(f));

	blocked(`${label}: transfer is the FRAUD_BLOCK error frame`, await ask(c, 'transfer', {
		to_user_id: env.BLOCK_TO_USER, amount: 10, currency: 'KES', reference: `blk-${label}` }));
	blocked(`${label}: convert_and_transfer is the FRAUD_BLOCK error frame`,
		await ask(c, 'convert_and_transfer', { from_currency: 'KES', to_currency: 'USD',
			amount: 10 }));
	f = await ask(c, 'verification_request', { method: 'otp_email', purpose: 'withdrawal' });
	report(`${label}: verification_request for a withdrawal`, f.type === 'success',
		JSON.stringify(f));
	const code = execFileSync(env.CASHIER_PSQL, ['-X', '-q', '-At', '-c',
		'SET pg_wallet.enable_test_hooks = on',
		'-c', `SELECT pg_wallet.test_otp_code('${env.BLOCK_USER_ID}', 'withdrawal')`])
		.toString().trim();
	f = await ask(c, 'verify_otp', { code, purpose: 'withdrawal' });
	const vt = f.data && f.data.data && f.data.data.verification_token;
	report(`${label}: verify_otp returns a verification token`,
		f.type === 'success' && typeof vt === 'string', JSON.stringify(f));
	blocked(`${label}: withdraw_request is the FRAUD_BLOCK error frame`,
		await ask(c, 'withdraw_request', { amount: 10, currency: 'KES',
			destination: '+254712000490', verification_token: vt, service: 'mpesa' }));
	// the token is checked (and consumed) before the money: the block rolled that back too
	blocked(`${label}: withdraw_request again with the same token: blocked, not spent`,
		await ask(c, 'withdraw_request', { amount: 10, currency: 'KES',
			destination: '+254712000490', verification_token: vt, service: 'mpesa' }));

	f = await ask(c, 'get_account_balance', { account_number: env.BLOCK_KES });
	const after = f.data && f.data.data;
	report(`${label}: the balance did not move`, f.type === 'success' &&
		after.balance === before.balance &&
		after.available_balance === before.available_balance, JSON.stringify(f));
	c.ws.close();
	await c.closed;
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
		f.type === 'success' && f.data.data.ledgers.length >= 2, JSON.stringify(f));
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
	f = await ask(bad(a), 'verify_otp', { code: '12345x', purpose: 'withdrawal' });
	report('verify_otp with a wrong code is an error frame', f.type === 'error',
		JSON.stringify(f));
	f = await ask(a, 'verification_request', { method: 'totp', purpose: 'withdrawal' });
	report('verification_request by TOTP without 2FA is an error frame',
		f.type === 'error' && /2FA/.test(f.data.message), JSON.stringify(f));
	f = await ask(bad(a), 'withdraw_request', { amount: 5, currency: 'KES',
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

	bad(a).ws.send('this is not json');
	f = await a.next();
	report('an unparseable frame is "invalid request format"',
		f.type === 'error' && f.data.message === 'invalid request format', JSON.stringify(f));
	f = await ask(bad(a), 'no_such_type', {});
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

	await reports();
}

const mode = process.argv[2];
(mode === 'withdraw' ? withdraw(process.argv[3]) :
	mode === 'block' ? block(process.argv[3], process.argv[4]) : main()).then(
	() => process.exit(0),
	(e) => { console.log(`not ok - client crashed: ${e}`); process.exit(1); });
