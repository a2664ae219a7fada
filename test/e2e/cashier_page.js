// test/e2e/cashier_page.js — the cashier web page (/cashier/, bridge/cashier_page) in a real
// browser (issue 17): Debian's Chromium driven by playwright-core, as a person uses it. Sign
// in, balances, history and its pages and filters, a transfer (fee quoted, then confirmed),
// events pushed while the page is open (a payment from someone else, a deposit the partner
// completes, one missed during a dropped connection), a withdrawal with its verification
// code, a statement, the phone width, sign-out, and a user with two factors. What the page
// shows is compared with the ledger (SQL). Over the whole way: no console error, page error,
// failed request or refused response, but the 401s the second-factor sign-in is answered with.
// Prints "ok - NAME" / "not ok - NAME: DETAIL"; screenshots go to SHOTS (cashier-*.png).
//
//   node cashier_page.js URL SHOTS      URL: the bridge (http://127.0.0.1:PORT); the users,
//                                       accounts and partner come from the environment
//                                       (82_cashier_page.sh), SQL through $CP_PSQL
'use strict';
const path = require('path');
const fs = require('fs');
const { execFileSync } = require('child_process');
const { chromium } = require('playwright-core');
const WebSocket = require('ws');

const [base, shots] = process.argv.slice(2);
const env = process.env;
const report = (name, pass, detail) =>
	console.log(pass ? `ok - ${name}` : `not ok - ${name}: ${detail}`);
const psql = (...cmds) => execFileSync(env.CP_PSQL,
	['-X', '-q', '-At', ...cmds.flatMap((c) => ['-c', c])]).toString().trim();
const balance = (acc) => psql(`SELECT balance || ' ' || available_balance
	FROM pg_wallet.get_balance('${acc}')`).split(' ').map(Number);
const entries = (acc) => Number(psql(`SELECT count(*) FROM pg_wallet.entries e
	JOIN pg_wallet.accounts a ON a.id = e.account_id WHERE a.account_number = '${acc}'`));

const BAL = '#balances tr[data-currency="KES"] td:nth-child(2)';
const AVAIL = '#balances tr[data-currency="KES"] td:nth-child(3)';

// the whole way: what went wrong in the browser (the sign-in answers the test provokes aside)
const problems = [];
const allowed401 = { console: 0, response: 0 };
const consoleText = []; // every console message, which must never show a secret
const secrets = [env.CP_PASSWORD]; // and the codes typed on the way
let shot = 0;

function watch(page) {
	page.on('console', (m) => {
		consoleText.push(m.text());
		if (m.type() !== 'error') return;
		if (allowed401.console > 0 && /status of 401/.test(m.text())) { allowed401.console--; return; }
		problems.push(`console: ${m.text()}`);
	});
	page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
	page.on('request', (r) => { // the cookie authenticates: the script never holds a token to send
		if (r.headers().authorization) problems.push(`Authorization header sent to ${r.url()}`);
	});
	page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure().errorText}`));
	page.on('response', (r) => {
		if (r.status() < 400) return;
		if (r.status() === 401 && r.url().endsWith('/cashier/svc/auth/login') && allowed401.response > 0) {
			allowed401.response--;
			return;
		}
		problems.push(`${r.status()} for ${r.url()}`);
	});
}

// the whole page unless told (viewport: what a phone's screen shows)
async function screenshot(page, name, viewportOnly) {
	shot++;
	await page.screenshot({ path: path.join(shots, `cashier-${String(shot).padStart(2, '0')}-${name}.png`),
		fullPage: !viewportOnly });
}

// wait until a cell's data-amount is the number (the page shows what the ledger says)
async function waitAmount(page, selector, want) {
	try {
		await page.waitForFunction(([s, w]) => {
			const e = document.querySelector(s);
			return e && Number(e.dataset.amount) === w;
		}, [selector, want], { timeout: 30000 });
		return true;
	} catch (e) {
		return false;
	}
}
const shown = async (page, selector) => Number(await page.getAttribute(selector, 'data-amount'));

async function step(name, fn) {
	try {
		await fn();
	} catch (e) {
		report(name, false, e.message.split('\n')[0]);
	}
}

async function signIn(page, email, password) {
	await page.fill('#email', email);
	await page.fill('#password', password);
	await page.click('#signin-submit');
}

// every cashier socket the page opens goes through here: the test can drop one (a network
// failure) and hold the next until it has made an event the page must not miss
const sockets = [];
let hold = null;
async function routeSockets(page) {
	await page.routeWebSocket(/\/cashier\/svc\/ws/, async (route) => {
		const s = { route, url: route.url(), pageClosed: null, server: null };
		sockets.push(s);
		route.onClose((code, reason) => {
			s.pageClosed = code;
			if (s.server) s.server.close({ code, reason });
		});
		if (hold) await hold;
		s.server = route.connectToServer();
	});
}

// the cookie that was the session, tried on a socket of its own: "connected" or what refused it
function trySocket(cookie) {
	return new Promise((resolve) => {
		const ws = new WebSocket(base.replace(/^http/, 'ws') + '/cashier/svc/ws',
			{ headers: { Cookie: `pgw_cashier=${cookie}`, Origin: base } });
		const end = (what) => { ws.terminate(); resolve(what); };
		ws.on('unexpected-response', (req, res) => end(`refused ${res.statusCode}`));
		ws.on('message', (m) => end(JSON.parse(m).type === 'connected' ? 'connected' : `frame ${m}`));
		ws.on('close', (code) => end(`closed ${code}`));
		ws.on('error', (e) => end(`error ${e.message}`));
		setTimeout(() => end('timeout'), 10000);
	});
}

async function main(browser) {
	const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
	const page = await context.newPage();
	page.setDefaultTimeout(30000);	// a loaded CI machine runs four stages at once
	watch(page);
	await routeSockets(page);
	let navigations = 0;
	page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations++; });

	await step('the page loads', async () => {
		await page.goto(base + '/cashier/', { waitUntil: 'load' });
		await page.waitForSelector('#email', { state: 'visible' });
		await page.waitForTimeout(300);
		await screenshot(page, 'signin');
		report('the page loads with the sign-in form and no console error',
			(await page.isHidden('#app')) && problems.length === 0, problems.join(' | '));
		const unlabelled = await page.$$eval('input, select', (els) =>
			els.filter((e) => !e.labels || e.labels.length === 0).map((e) => e.id));
		report('every field has a label; status messages are announced (aria-live)',
			unlabelled.length === 0 && (await page.getAttribute('#status', 'aria-live')) === 'polite',
			`unlabelled: ${unlabelled.join(', ')}`);
	});

	await step('sign in', async () => {
		await signIn(page, env.CP_A_EMAIL, env.CP_PASSWORD);
		await page.waitForSelector('#conn[data-state="online"]');
		const uid = await page.textContent('#user-id');
		report('sign in: the app shows and the socket is connected', uid === env.CP_A &&
			(await page.isHidden('#signin')), `user id ${uid}`);
		const cookie = (await context.cookies(base + '/cashier/svc/')).find((c) => c.name === 'pgw_cashier');
		const seen = await page.evaluate(() => ({ cookie: document.cookie,
			storage: localStorage.length + sessionStorage.length }));
		report('the session is an HttpOnly cookie the script cannot read; nothing in web storage; ' +
			'the password field is cleared',
			cookie && cookie.httpOnly && !seen.cookie.includes('pgw_cashier') && seen.storage === 0 &&
			(await page.inputValue('#password')) === '', JSON.stringify({ seen, httpOnly: cookie && cookie.httpOnly }));
		await page.evaluate(() => { window.e2eMarker = 'no reload'; });
	});

	await step('the balance shows', async () => {
		const [bal, avail] = balance(env.CP_AACC);
		const ok = (await waitAmount(page, BAL, bal)) && (await waitAmount(page, AVAIL, avail));
		await screenshot(page, 'balances');
		report(`the balance shows (${bal} KES, as the ledger)`, ok, `shown ${await shown(page, BAL)}`);
	});

	await step('history shows', async () => {
		const total = entries(env.CP_AACC);
		await page.waitForFunction((n) => document.querySelectorAll('#history tbody tr').length === n,
			Math.min(total, 10));
		const first = await page.textContent('#history tbody tr:first-child');
		report(`history shows the account's entries, newest first (${total}: a page of 10)`,
			/Top-up 12/.test(first) && (await page.isEnabled('#hi-next')) && (await page.isDisabled('#hi-prev')),
			first);
		await page.click('#hi-next');
		await page.waitForFunction((n) => document.querySelectorAll('#history tbody tr').length === n, total - 10);
		const last = await page.textContent('#history tbody tr:last-child');
		await screenshot(page, 'history-page-2');
		report('history: the next page holds the oldest entries', /Top-up 1(?![0-9])/.test(last) &&
			(await page.isDisabled('#hi-next')) && (await page.textContent('#hi-page')) === 'Page 2', last);
		await page.click('#hi-prev');
		await page.waitForFunction(() => document.querySelectorAll('#history tbody tr').length === 10);
		report('history: the previous page is the first again', (await page.textContent('#hi-page')) === 'Page 1', '');
	});

	await step('transfer', async () => {
		const [before] = balance(env.CP_AACC);
		const [beforeB] = balance(env.CP_BACC);
		await page.fill('#tr-to', env.CP_B);
		await page.fill('#tr-amount', '25');
		await page.selectOption('#tr-currency', 'KES');
		await page.fill('#tr-desc', 'Lunch (e2e)');
		await page.click('#tr-quote');
		await page.waitForSelector('#tr-confirm', { state: 'visible' });
		const fee = Number(await page.getAttribute('#tr-quote-text', 'data-fee'));
		const dbFee = Number(psql("SELECT fee FROM pg_wallet.calculate_fee('TRANSFER', 25, 'KES')"));
		const text = await page.textContent('#tr-quote-text');
		await screenshot(page, 'transfer-quote');
		report(`transfer: the fee is quoted first (${fee} KES) and nothing moves until confirmed`,
			fee === dbFee && fee > 0 && text.includes('27.50') && balance(env.CP_AACC)[0] === before,
			`${text} (ledger fee ${dbFee})`);
		await page.click('#tr-send');
		await page.waitForFunction(() => /^Sent /.test(document.querySelector('#tr-result').textContent));
		const dropped = await waitAmount(page, BAL, before - 25 - fee);
		const [after] = balance(env.CP_AACC);
		const [afterB] = balance(env.CP_BACC);
		report('transfer: confirmed, the balance shown drops by amount + fee',
			dropped, `shown ${await shown(page, BAL)}, expected ${before - 25 - fee}`);
		report('transfer: the ledger agrees (payer down by amount + fee, payee up by the amount)',
			after === (await shown(page, BAL)) && after === before - 25 - fee && afterB === beforeB + 25,
			`A ${before} -> ${after}, B ${beforeB} -> ${afterB}`);
		await page.waitForSelector('#notices li[data-type="transfer_completed"]');
		await screenshot(page, 'transfer-sent');
		report('transfer: its transfer_completed event shows as a notice',
			/You sent .*25\.00/.test(await page.textContent('#notices li:first-child')), '');
	});

	await step('receipt', async () => {
		// the newest history entry is the transfer just sent: its receipt opens in a new window
		await page.selectOption('#hi-view', { index: 0 });
		const button = '#history .receipt';
		await page.waitForSelector(button);
		const code = await page.getAttribute(button, 'data-receipt');
		const [popup] = await Promise.all([context.waitForEvent('page'), page.click(button)]);
		await popup.waitForLoadState('load');
		await popup.waitForFunction(() => /receipts\/rcpt-/.test(location.pathname), null,
			{ timeout: 30000 }).catch(() => {});
		const url = new URL(popup.url());
		const text = await popup.textContent('body').catch(() => '');
		await popup.screenshot({ path: path.join(shots, 'cashier-receipt.png') });
		report('a receipt code opens the signed HTML receipt under the cashier\'s path',
			/^\/cashier\/svc\/receipts\/rcpt-[0-9a-f]{32}\.html$/.test(url.pathname) &&
			url.searchParams.has('token') && text.includes(code) && /Signature/.test(text),
			`${url.pathname} ${text.slice(0, 120)}`);
		await popup.close();
	});

	await step('a live event', async () => {
		psql(`SELECT pg_wallet.send_funds_to_account('${env.CP_BACC}', '${env.CP_AACC}', 7,
			'e2e-cp-b-pays-a', 'Paid back by B')`);
		await page.waitForSelector('#notices li[data-type="transfer_completed"]:has-text("You received")');
		const [bal] = balance(env.CP_AACC);
		const followed = await waitAmount(page, BAL, bal);
		await page.waitForFunction(() => /Paid back by B/.test(
			document.querySelector('#history tbody tr:first-child').textContent));
		await screenshot(page, 'event-received');
		report("another user's payment shows at once (transfer_completed), balance and history " +
			'follow, without a reload', followed && navigations === 1 &&
			(await page.evaluate(() => window.e2eMarker)) === 'no reload', `navigations ${navigations}`);
	});

	await step('deposit', async () => {
		await page.waitForSelector(`#dep-partner option[value="${env.CP_PARTNER}"]`, { state: 'attached' });
		await page.selectOption('#dep-partner', env.CP_PARTNER);
		await page.fill('#dep-amount', '50');
		await page.fill('#dep-phone', '+254700000909');
		await page.click('#dep-submit');
		await page.waitForFunction(() => /DEP-REQ-/.test(document.querySelector('#dep-result').textContent));
		const text = await page.textContent('#dep-result');
		const ref = (text.match(/DEP-REQ-[0-9]{8}-[0-9]+/) || [''])[0];
		report('deposit: requested (sent to the partner)', ref && /sent to partner|pending/.test(text), text);
		psql(`SELECT pg_wallet._deposit_complete('${ref}', 'psp-e2e-82')`);
		await page.waitForSelector(`#notices li[data-type="deposit_completed"]:has-text("${ref}")`);
		await page.waitForFunction(() => document.querySelector('#dep-result').dataset.status === 'completed');
		const [bal] = balance(env.CP_AACC);
		const followed = await waitAmount(page, BAL, bal);
		await screenshot(page, 'deposit-completed');
		report('deposit: completed by the partner while the page is open: notice, status and ' +
			'balance update without a reload', followed && navigations === 1, await page.textContent('#dep-result'));
		await page.selectOption('#hi-view', 'requests');
		await page.selectOption('#hi-type', 'deposits');
		const row = `#history tr[data-ref="${ref}"]`;
		await page.waitForSelector(row);
		const receipt = await page.getAttribute(`${row} .receipt`, 'data-receipt');
		const dbReceipt = psql(`SELECT pg_wallet.receipt_code(j.id, j.created_at) FROM pg_wallet.deposits d
			JOIN pg_wallet.journals j ON j.id = d.journal_id WHERE d.request_ref = '${ref}'`);
		report('history filtered to deposits shows it, completed, with its receipt code',
			receipt === dbReceipt && /completed/.test(await page.textContent(row)), `${receipt} vs ${dbReceipt}`);
		await page.selectOption('#hi-type', 'withdrawals');
		await page.waitForSelector('#history-empty', { state: 'visible' });
		report('... and filtered to withdrawals it does not', (await page.$(row)) === null, '');
		await page.selectOption('#hi-view', 'entries');
	});

	await step('reconnect', async () => {
		const s = sockets[sockets.length - 1];
		let release;
		hold = new Promise((r) => { release = r; });
		await s.route.close({ code: 4000, reason: 'network drop (test)' });
		if (s.server) await s.server.close();
		await page.waitForSelector('#conn[data-state="reconnecting"]');
		const seen = psql(`SELECT max(e.id) FROM pg_wallet.events e JOIN pg_wallet.principals p
			ON p.owner_id = e.owner_id WHERE p.id = '${env.CP_A}' AND e.event_type IN ('transfer_completed',
			'deposit_completed', 'deposit_failed', 'withdrawal_completed', 'withdrawal_failed',
			'transaction_completed', 'transaction_failed')`);
		psql(`SELECT pg_wallet.send_funds_to_account('${env.CP_BACC}', '${env.CP_AACC}', 3,
			'e2e-cp-while-away', 'Sent while offline')`);
		const n = sockets.length;
		for (let i = 0; i < 100 && sockets.length === n; i++) await page.waitForTimeout(100);
		const again = sockets[sockets.length - 1];
		hold = null;
		release();
		await page.waitForSelector('#conn[data-state="online"]');
		await page.waitForSelector('#notices li[data-type="transfer_completed"]:has-text("3.00")');
		const [bal] = balance(env.CP_AACC);
		const followed = await waitAmount(page, BAL, bal);
		await screenshot(page, 'reconnected');
		report('after a dropped connection the page reconnects with ?last_event_id (the last event ' +
			'it saw) and shows the one it missed', sockets.length === n + 1 &&
			new URL(again.url).searchParams.get('last_event_id') === seen && followed,
			`${again.url}, last seen ${seen}`);
	});

	await step('withdrawal', async () => {
		await page.waitForSelector(`#wd-partner option[value="${env.CP_PARTNER}"]`, { state: 'attached' });
		await page.selectOption('#wd-partner', env.CP_PARTNER);
		await page.fill('#wd-amount', '30');
		await page.fill('#wd-dest', '+254700000909');
		await page.selectOption('#wd-method', 'otp_sms');
		await page.click('#wd-request');
		await page.waitForSelector('#wd-verify-form', { state: 'visible' });
		const challenge = await page.textContent('#wd-challenge');
		const code = psql('SET pg_wallet.enable_test_hooks = on',
			`SELECT pg_wallet.test_otp_code('${env.CP_A}', 'withdrawal')`);
		secrets.push(code);
		await page.fill('#wd-code', code);
		await page.click('#wd-submit');
		await page.waitForFunction(() => /WDL-REQ-/.test(document.querySelector('#wd-result').textContent));
		const text = await page.textContent('#wd-result');
		report('withdrawal: a code is sent, verified, and the request goes with its token',
			/OTP sent to .* via SMS/.test(challenge) && /processing/.test(text) &&
			(await page.isHidden('#wd-verify-form')), `${challenge} / ${text}`);
		const [bal, avail] = balance(env.CP_AACC);
		const ok = (await waitAmount(page, AVAIL, avail)) && (await waitAmount(page, BAL, bal));
		await screenshot(page, 'withdrawal');
		report('withdrawal: balance and available balance shown are the ledger\'s', ok,
			`ledger ${bal}/${avail}, shown ${await shown(page, BAL)}/${await shown(page, AVAIL)}`);
	});

	await step('statement', async () => {
		await page.click('#st-submit');
		await page.waitForSelector('#statement', { state: 'visible' });
		const [bal] = balance(env.CP_AACC);
		const closing = await page.textContent('dd[data-field="closing_balance"]');
		const opening = await page.textContent('dd[data-field="opening_balance"]');
		const lines = await page.$$eval('#statement-lines tbody tr', (r) => r.length);
		const total = entries(env.CP_AACC);
		await screenshot(page, 'statement');
		const fmt = (v) => v.toLocaleString('en-US', { minimumFractionDigits: 2 });
		report(`a statement for today shows: opening 0, closing ${bal} (the ledger), all ${total} entries`,
			opening.includes('0.00') && closing.includes(fmt(bal)) && lines === total,
			`opening ${opening}, closing ${closing}, ${lines} lines`);
	});

	await step('phone width', async () => {
		await page.setViewportSize({ width: 360, height: 780 });
		await page.evaluate(() => window.scrollTo(0, 0));
		await screenshot(page, 'phone', true);
		await screenshot(page, 'phone-whole-page');
		const width = await page.evaluate(() => document.documentElement.scrollWidth);
		report('at phone width (360 px) nothing overflows sideways', width <= 360, `scrollWidth ${width}`);
		await page.setViewportSize({ width: 1280, height: 900 });
	});

	await step('reload', async () => {
		const n = sockets.length;
		await page.reload({ waitUntil: 'load' });
		await page.waitForSelector('#app', { state: 'visible', timeout: 30000 });
		const who = await page.textContent('#user-id');
		await page.waitForTimeout(500);
		report('a reload while signed in goes on without a new sign-in (the session cookie)',
			who === env.CP_A && sockets.length === n + 1, `user ${who}, sockets ${sockets.length - n}`);
	});

	await step('sign out', async () => {
		const old = (await context.cookies(base + '/cashier/svc/')).find((c) => c.name === 'pgw_cashier');
		const s = sockets[sockets.length - 1];
		await page.click('#signout');
		await page.waitForSelector('#signin', { state: 'visible' });
		const cleared = await page.evaluate(() => ({
			app: document.getElementById('app').hidden,
			rows: document.querySelectorAll('#app tbody tr').length,
			notices: document.getElementById('notices').children.length,
			user: document.getElementById('user-id').textContent,
		}));
		await screenshot(page, 'signed-out');
		report('sign out: the socket is closed and the screen cleared', s.pageClosed === 1000 &&
			cleared.app && cleared.rows === 0 && cleared.notices === 0 && cleared.user === '',
			JSON.stringify({ closed: s.pageClosed, ...cleared }));
		const left = (await context.cookies(base + '/cashier/svc/')).find((c) => c.name === 'pgw_cashier');
		const tried = old ? await trySocket(old.value) : 'no cookie before';
		report('sign out: the cookie is gone and the old session opens no socket', !left &&
			tried !== 'connected' && tried !== 'no cookie before', `left ${Boolean(left)}, old cookie: ${tried}`);
		const n = navigations;
		await page.reload({ waitUntil: 'load' });
		await page.waitForSelector('#email', { state: 'visible' });
		report('a reload shows the sign-in form', navigations === n + 1 && (await page.isHidden('#app')), '');
	});

	await step('two factors', async () => {
		allowed401.console = 2;
		allowed401.response = 2;
		await signIn(page, env.CP_T_EMAIL, env.CP_PASSWORD);
		await page.waitForSelector('#totp', { state: 'visible' });
		await screenshot(page, 'totp-asked');
		report('a user with TOTP: the password is answered with a request for the code',
			(await page.isHidden('#password')) && (await page.inputValue('#password')) === '', '');
		const code = () => psql(`SELECT pg_wallet.totp_at(pg_wallet.base32_decode('${env.CP_T_B32}'),
			floor(extract(epoch FROM now()))::bigint)`);
		const wrong = String((Number(code()) + 500000) % 1000000).padStart(6, '0');
		secrets.push(wrong);
		await page.fill('#totp', wrong);
		await page.click('#signin-submit');
		await page.waitForFunction(() => document.getElementById('signin-error').textContent !== '');
		report('... a wrong code is refused and the code is asked again',
			(await page.isVisible('#totp')) && (await page.isHidden('#app')),
			await page.textContent('#signin-error'));
		const right = code();
		secrets.push(right);
		await page.fill('#totp', right);
		await page.click('#signin-submit');
		await page.waitForSelector('#conn[data-state="online"]');
		const [bal] = balance(env.CP_TACC);
		const ok = await waitAmount(page, BAL, bal);
		await screenshot(page, 'totp-signed-in');
		report('... the right code signs in; the balance shows', ok &&
			(await page.textContent('#user-id')) === env.CP_T, `shown ${await shown(page, BAL)}`);
		await page.click('#signout');
		await page.waitForSelector('#signin', { state: 'visible' });
		report('... and signs out', allowed401.response === 0, `401s left unseen: ${allowed401.response}`);
		allowed401.console = 0;
	});

	report('no console error, page error, failed request or refused response on the whole way',
		problems.length === 0, problems.slice(0, 5).join(' | '));
	const leaks = consoleText.filter((t) => /eyJ[A-Za-z0-9_-]{10,}/.test(t) || secrets.some((x) => t.includes(x)));
	report('the console never shows a token, the password or a code', leaks.length === 0,
		`${leaks.length} of ${consoleText.length} messages`);
	await context.close();
}

(async () => {
	fs.mkdirSync(shots, { recursive: true });
	const browser = await chromium.launch({
		executablePath: env.CHROMIUM || '/usr/bin/chromium',
		args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
	});
	try {
		await main(browser);
	} finally {
		await browser.close();
	}
})().catch((e) => {
	report('browser', false, e.message.split('\n')[0]);
	process.exit(1);
});
