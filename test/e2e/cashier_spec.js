// test/e2e/cashier_spec.js — the cashier checks of test/e2e/47_spec_clients.sh, written from
// cashier-websocket-api.md's text: get_transaction_by_receipt's shape (journal.transaction_type,
// ledgers[] with DR_CR_DEBIT / DR_CR_CREDIT, fees[]) and what each party sees of it (its own
// balances only, issue 10 finding 5), calculate_fee's checks, "amount must be greater than
// zero", cancel_deposit's null data, get_owner_summary's message, deposit_request's
// sent_to_partner and convert_and_transfer's insufficient-balance text.
// Usage: node cashier_spec.js URL; users E (sender, KES 100 and a USD wallet), F (recipient)
// and G (no part) from the environment: SPEC_{E,F,G}_TOKEN, SPEC_F_ID, SPEC_{E,F}_ACC.
// Prints "ok - NAME" or "not ok - NAME: DETAIL" per check.
'use strict';
const WebSocket = require('ws');
const frameLog = require('./frame_log');

const url = process.argv[2];
const env = process.env;

function report(name, pass, detail) {
	console.log(pass ? `ok - ${name}` : `not ok - ${name}: ${detail}`);
}

// A socket past its "connected" frame, with ask(type, data) for one request and its reply.
function connect(token) {
	return new Promise((resolve) => {
		const ws = frameLog.cashier(new WebSocket(url,
			{ headers: { Authorization: `Bearer ${token}` } }));
		const replies = [];
		const waiters = [];
		ws.on('message', (m) => {
			const f = JSON.parse(m.toString());
			if (f.event_id !== undefined) return;	// pushed events are not replies
			if (waiters.length) waiters.shift()(f); else replies.push(f);
		});
		const next = () => new Promise((res) => {
			if (replies.length) return res(replies.shift());
			const t = setTimeout(() => { waiters.shift(); res({ type: 'timeout' }); }, 5000);
			waiters.push((f) => { clearTimeout(t); res(f); });
		});
		ws.on('open', async () => {
			const hello = await next();
			resolve({
				ok: hello.type === 'connected',
				// malformed: sent so on purpose (E2E_FRAME_LOG: the reply is validated, not it)
				ask: (type, data, malformed) => {
					if (malformed) frameLog.deliberate(ws);
					ws.send(JSON.stringify({ type, data }));
					return next();
				},
				close: () => new Promise((res) => {
					if (ws.readyState === WebSocket.CLOSED) return res();
					ws.on('close', res);
					ws.close();
				}),
			});
		});
		ws.on('error', (e) => resolve({ ok: false, error: e.message }));
	});
}

const js = JSON.stringify;
const isError = (f, text) => f.type === 'error' && f.data.message === text;

async function receipts(e, f, g) {
	let r = await e.ask('transfer', { to_user_id: env.SPEC_F_ID, amount: 10, currency: 'KES',
		description: 'lunch' });
	const receipt = r.data && r.data.data && r.data.data.receipt_code;
	report('E pays F 10 KES', r.type === 'success' && /^RCP-/.test(receipt), js(r));

	r = await f.ask('get_transaction_by_receipt', { receipt_code: receipt });
	const d = r.data && r.data.data;
	const leg = (acc) => d.ledgers.find((l) => l.account_number === acc);
	report('get_transaction_by_receipt has the spec\'s shape: journal, ledgers, fees',
		r.type === 'success' && r.data.message === 'transaction details' &&
		d.journal.id > 0 && d.journal.transaction_type === 'TRANSACTION_TYPE_TRANSFER' &&
		typeof d.journal.description === 'string' && /Z$/.test(d.journal.created_at) &&
		Array.isArray(d.ledgers) && d.ledgers.length >= 2 &&
		d.ledgers.every((l) => ['DR_CR_DEBIT', 'DR_CR_CREDIT'].includes(l.type) &&
			typeof l.amount === 'number' && typeof l.account_number === 'string') &&
		Array.isArray(d.fees), js(r));
	report('the recipient sees its own balance_after on its credit',
		r.type === 'success' && leg(env.SPEC_F_ACC).type === 'DR_CR_CREDIT' &&
		leg(env.SPEC_F_ACC).amount === 10 && leg(env.SPEC_F_ACC).balance_after === 10, js(r));
	report('the recipient does not see the sender\'s balance (finding 5)',
		r.type === 'success' && leg(env.SPEC_E_ACC).type === 'DR_CR_DEBIT' &&
		!('balance_after' in leg(env.SPEC_E_ACC)) && !/"balance_after":90\b/.test(js(r)),
		js(r));
	report('no one else\'s leg carries a balance for the recipient',
		r.type === 'success' && d.ledgers.filter((l) => 'balance_after' in l)
			.every((l) => l.account_number === env.SPEC_F_ACC), js(r));

	r = await e.ask('get_transaction_by_receipt', { receipt_code: receipt });
	const de = r.data && r.data.data;
	report('the sender sees its own balance_after and not the recipient\'s',
		r.type === 'success' &&
		de.ledgers.find((l) => l.account_number === env.SPEC_E_ACC).balance_after === 90 &&
		!('balance_after' in de.ledgers.find((l) => l.account_number === env.SPEC_F_ACC)),
		js(r));
	r = await g.ask('get_transaction_by_receipt', { receipt_code: receipt });
	report('a third user gets "transaction not found"', isError(r, 'transaction not found'),
		js(r));
}

async function texts(e) {
	let r = await e.ask('calculate_fee', { transaction_type: 'conversion', amount: 100,
		source_currency: 'KES' }, true);
	report('calculate_fee: a conversion requires target_currency', r.type === 'error' &&
		/target_currency/.test(r.data.message), js(r));
	r = await e.ask('calculate_fee', { transaction_type: 'conversion', amount: 100,
		source_currency: 'KES', target_currency: 'USD' });
	report('calculate_fee: a conversion with target_currency is quoted',
		r.type === 'success' && r.data.message === 'fee calculated' &&
		r.data.data.currency === 'KES' && typeof r.data.data.amount === 'number', js(r));
	r = await e.ask('calculate_fee', { transaction_type: 'teleport', amount: 100,
		source_currency: 'KES' }, true);
	report('calculate_fee: an unknown transaction_type is refused',
		r.type === 'error' && /transaction_type/.test(r.data.message), js(r));
	r = await e.ask('calculate_fee', { transaction_type: 'withdrawal', amount: 0,
		source_currency: 'KES' }, true);
	report('calculate_fee of zero: "amount must be greater than zero"',
		isError(r, 'amount must be greater than zero'), js(r));
	r = await e.ask('transfer', { to_user_id: env.SPEC_F_ID, amount: 0, currency: 'KES' }, true);
	report('transfer of zero: "amount must be greater than zero"',
		isError(r, 'amount must be greater than zero'), js(r));
	r = await e.ask('transfer', { to_user_id: env.SPEC_F_ID, amount: -3, currency: 'KES' },
		true);
	report('a negative transfer: "amount must be greater than zero"',
		isError(r, 'amount must be greater than zero'), js(r));
	r = await e.ask('get_owner_summary', {});
	report('get_owner_summary\'s message is "owner summary"',
		r.type === 'success' && r.data.message === 'owner summary', js(r));

	r = await e.ask('deposit_request', { amount: 50, currency: 'KES', service: 'mpesa',
		phone: '+254712345678' });
	const ref = r.data && r.data.data && r.data.data.request_ref;
	report('deposit_request answers status sent_to_partner (both spec examples)',
		r.type === 'success' && r.data.message === 'deposit request created' &&
		r.data.data.status === 'sent_to_partner' && typeof ref === 'string', js(r));
	r = await e.ask('cancel_deposit', { request_ref: ref });
	report('cancel_deposit: "deposit cancelled" with data null',
		r.type === 'success' && r.data.message === 'deposit cancelled' && r.data.data === null &&
		'data' in r.data, js(r));

	r = await e.ask('convert_and_transfer', { from_currency: 'KES', to_currency: 'USD',
		amount: 500 });
	report('convert_and_transfer beyond the balance: "insufficient balance: available X CUR"',
		r.type === 'error' && /^insufficient balance: available \d+(\.\d+)? KES$/
			.test(r.data.message), js(r));
	r = await e.ask('withdraw_request', { amount: 0, currency: 'KES',
		destination: '+254712345678', verification_token: 'vt_x' }, true);
	report('withdraw_request of zero: "amount must be greater than zero"',
		isError(r, 'amount must be greater than zero'), js(r));
}

async function main() {
	const e = await connect(env.SPEC_E_TOKEN);
	const f = await connect(env.SPEC_F_TOKEN);
	const g = await connect(env.SPEC_G_TOKEN);
	report('users E, F and G connect', e.ok && f.ok && g.ok, js([e.error, f.error, g.error]));
	if (!(e.ok && f.ok && g.ok)) return;
	await receipts(e, f, g);
	await texts(e);
	await Promise.all([e.close(), f.close(), g.close()]);
}

main().then(() => process.exit(0), (err) => {
	console.log(`not ok - cashier_spec.js crashed: ${err}`);
	process.exit(1);
});
