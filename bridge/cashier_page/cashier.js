// cashier.js — the cashier web page of pg_wallet_bridge (/cashier/): sign-in over REST (the
// session is an HttpOnly cookie the bridge sets; this script never sees a token), then the
// cashier WebSocket (/cashier/svc/ws, docs/api/asyncapi/cashier.json) for everything else.
// One place sends a request and matches its reply (call), one place handles pushed events
// (onEvent), one function renders each panel. No token, password or code is ever logged or
// stored: the password and a verification token live in memory only as long as a step needs.
'use strict';
(() => {
	const $ = (id) => document.getElementById(id);
	const PAGE_SIZE = 10;
	const KEEPALIVE_MS = 45000;
	const MAX_FAILED_CONNECTS = 6;

	const state = {
		user: null, ws: null, ready: false, queue: [], inflight: null, lastEventId: null,
		backoff: 1000, failedConnects: 0, reconnectTimer: null, expiryTimer: null,
		lastSent: 0, lastError: '', accounts: [], pendingLogin: null, quote: null,
		depositRef: null, challenge: null, refreshTimer: null, noticedReceipts: new Set(),
		history: { view: 'entries', page: 0, hasNext: false },
	};

	// ---- small helpers ------------------------------------------------------------------

	function el(tag, attrs, ...children) {
		const e = document.createElement(tag);
		for (const [k, v] of Object.entries(attrs || {})) {
			if (k === 'class') e.className = v;
			else if (k.startsWith('data-')) e.setAttribute(k, v);
			else e[k] = v;
		}
		for (const c of children) e.append(c instanceof Node ? c : String(c ?? ''));
		return e;
	}

	function money(amount, currency) {
		try {
			return new Intl.NumberFormat(undefined, { style: 'currency', currency, currencyDisplay: 'code' }).format(amount);
		} catch (e) { // not an ISO 4217 code the browser knows
			return `${amount} ${currency}`;
		}
	}

	const when = (iso) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' }) : '');

	function setStatus(text, kind) {
		const s = $('status');
		s.textContent = text || '';
		s.classList.toggle('error', kind === 'error');
	}

	// an error of a request made while signed in (after sign-out they are only 'signed out')
	function report(e) {
		if (state.user && !e.quiet) setStatus(e.message, 'error');
	}

	function showResult(id, text, isError) {
		const p = $(id);
		p.textContent = text;
		p.classList.toggle('error', Boolean(isError));
	}

	// an idempotency key for a money request, so that a retry cannot pay twice
	function newReference(prefix) {
		const b = crypto.getRandomValues(new Uint8Array(12));
		return prefix + '-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
	}

	// a local date (YYYY-MM-DD) at midnight, plus days, as ISO 8601 UTC
	function dayStart(date, plusDays) {
		const d = new Date(`${date}T00:00:00`);
		d.setDate(d.getDate() + plusDays);
		return d.toISOString();
	}

	const today = () => new Date(Date.now() - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 10);

	function amountOf(input) {
		const v = Number(input.value);
		if (!input.value || !Number.isFinite(v) || v <= 0) throw new Error('Enter an amount greater than zero.');
		return v;
	}

	// run an action with its button disabled; its error goes to the result line
	async function busy(button, resultId, fn) {
		button.disabled = true;
		try {
			await fn();
		} catch (e) {
			if (state.user) showResult(resultId, e.message, true);
		} finally {
			button.disabled = false;
		}
	}

	// ---- sign-in and sign-out (REST, same origin: the cookie comes and goes by itself) ----

	// POST JSON under /cashier/: {status, body} (status 0 when the server cannot be reached)
	async function postJson(path, body) {
		try {
			const r = await fetch(new URL(path, document.baseURI), {
				method: 'POST', credentials: 'same-origin',
				headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
				body: JSON.stringify(body),
			});
			return { status: r.status, body: await r.json().catch(() => null) };
		} catch (e) {
			return { status: 0, body: null };
		}
	}

	function showTotpStep(on) {
		$('signin-credentials').hidden = on;
		$('signin-totp').hidden = !on;
		$('signin-cancel').hidden = !on;
		$('signin-submit').textContent = on ? 'Verify code' : 'Sign in';
		$('totp').value = '';
		(on ? $('totp') : $('email')).focus();
	}

	function resetSignIn() {
		state.pendingLogin = null;
		$('password').value = '';
		showTotpStep(false);
	}

	async function signIn(ev) {
		ev.preventDefault();
		const err = $('signin-error');
		err.textContent = '';
		let body;
		if (state.pendingLogin) {
			const code = $('totp').value.trim();
			if (!/^[0-9]{6}$/.test(code)) { err.textContent = 'Enter the 6-digit code.'; return; }
			body = { ...state.pendingLogin, totpCode: code };
		} else {
			const email = $('email').value.trim();
			const password = $('password').value;
			if (!email || !password) { err.textContent = 'Enter your email and password.'; return; }
			body = { email, password };
		}
		$('signin-submit').disabled = true;
		const r = await postJson('svc/auth/login', body);
		$('signin-submit').disabled = false;
		const code = r.body && r.body.data && r.body.data.code;
		if (r.status === 0) {
			err.textContent = 'The server cannot be reached. Try again.';
		} else if (r.status === 200 && r.body && r.body.user) {
			resetSignIn();
			startSession(r.body.user, r.body.expiresIn);
		} else if (code === 'SECOND_FACTOR_REQUIRED') {
			state.pendingLogin = { email: body.email, password: body.password };
			$('password').value = '';
			showTotpStep(true);
		} else if (code === 'INVALID_CODE' && state.pendingLogin) {
			err.textContent = r.body.data.message;
			$('totp').value = '';
			$('totp').focus();
		} else {
			resetSignIn();
			err.textContent = (r.body && r.body.data && r.body.data.message) ||
				`Sign-in failed (HTTP ${r.status}).`;
		}
	}

	function startSession(user, expiresIn) {
		state.user = user;
		$('user-name').textContent = [user.firstName, user.lastName].filter(Boolean).join(' ') || user.email;
		$('user-id').textContent = user.userId;
		$('signin').hidden = true;
		$('app').hidden = false;
		$('who').hidden = false;
		$('st-from').value = today();
		$('st-to').value = today();
		setStatus(`Signed in as ${user.email}.`);
		if (expiresIn > 0) {
			state.expiryTimer = setTimeout(() => endSession('Your session has ended. Please sign in again.'),
				expiresIn * 1000);
		}
		connect();
	}

	async function signOut() {
		$('signout').disabled = true;
		const r = await postJson('svc/auth/logout', {}); // the bridge revokes the session, clears the cookie
		$('signout').disabled = false;
		endSession(r.status === 200 || r.status === 401 ? 'Signed out.'
			: 'Signed out here, but the server could not be told: the session ends when it expires.');
	}

	// close the socket for good and clear everything the screen shows
	function endSession(message) {
		clearTimeout(state.expiryTimer);
		clearTimeout(state.reconnectTimer);
		clearTimeout(state.refreshTimer);
		const ws = state.ws;
		state.ws = null;
		state.ready = false;
		if (ws) ws.close(1000, 'signed out');
		failAll(new Error('signed out'));
		Object.assign(state, { user: null, lastEventId: null, accounts: [], quote: null,
			depositRef: null, challenge: null, backoff: 1000, failedConnects: 0,
			history: { view: 'entries', page: 0, hasNext: false } });
		state.noticedReceipts.clear();
		clearScreen();
		setConn('offline');
		setStatus(message);
	}

	function clearScreen() {
		for (const f of document.querySelectorAll('#app form')) f.reset();
		for (const tb of document.querySelectorAll('#app tbody')) tb.replaceChildren();
		for (const s of document.querySelectorAll('.currency-select, .account-select')) s.replaceChildren();
		for (const id of ['notices', 'statement-summary', 'hi-page', 'user-name', 'user-id'])
			$(id).replaceChildren();
		for (const id of ['tr-result', 'dep-result', 'wd-result']) showResult(id, '', false);
		for (const id of ['tr-confirm', 'dep-status', 'wd-verify-form', 'statement'])
			$(id).hidden = true;
		$('app').hidden = true;
		$('who').hidden = true;
		$('signin').hidden = false;
		resetSignIn();
		$('email').value = '';
	}

	// ---- the socket: one request in flight at a time, so a reply is always the oldest's ----

	function setConn(s) {
		$('conn').dataset.state = s;
		$('conn').textContent = s;
	}

	function connect() {
		const url = new URL('svc/ws', document.baseURI);
		url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
		if (state.lastEventId !== null) url.searchParams.set('last_event_id', state.lastEventId);
		const ws = new WebSocket(url);
		state.ws = ws;
		state.ready = false;
		setConn(state.lastEventId === null ? 'connecting' : 'reconnecting');
		ws.onmessage = (ev) => { if (state.ws === ws) onFrame(ev.data); };
		ws.onclose = (ev) => { if (state.ws === ws) onClose(ev); };
	}

	function onFrame(text) {
		let f;
		try { f = JSON.parse(text); } catch (e) { return; }
		if (!f || typeof f.type !== 'string') return;
		if (f.type === 'connected') {
			state.ready = true;
			state.backoff = 1000;
			state.failedConnects = 0;
			const resumed = state.lastEventId !== null;
			if (!resumed) state.lastEventId = f.data.last_event_id;
			setConn('online');
			pump();
			if (!resumed) loadEverything();
			else scheduleRefresh();
		} else if (f.event_id !== undefined) {
			onEvent(f);
		} else if (state.inflight) {
			const r = state.inflight;
			state.inflight = null;
			if (f.type === 'error') r.reject(new Error(f.data && f.data.message || 'request refused'));
			else r.resolve(f.data || {});
			pump();
		} else if (f.type === 'error') {
			// a frame about the session itself (refused, idle, too many sessions)
			state.lastError = f.data && f.data.message || '';
			setStatus(state.lastError, 'error');
		}
	}

	function onClose(ev) {
		const wasReady = state.ready;
		state.ready = false;
		state.ws = null;
		if (state.inflight) { // a person's action is told; a refresh is simply made again
			state.inflight.reject(Object.assign(new Error('The connection was lost; try again.'), { quiet: true }));
			state.inflight = null;
		}
		if (!state.user) return;
		if (ev.code === 1008) { // the server refused the session: it will not take it back
			endSession(state.lastError || 'Your session has ended. Please sign in again.');
			return;
		}
		if (!wasReady && ++state.failedConnects >= MAX_FAILED_CONNECTS) {
			endSession('The connection cannot be restored. Please sign in again.');
			return;
		}
		setConn('reconnecting');
		state.reconnectTimer = setTimeout(connect, state.backoff);
		state.backoff = Math.min(state.backoff * 2, 30000);
	}

	// send a request {type, data}; resolves with the reply's data ({message, data}) or rejects
	// with the error frame's message. Requests wait in order while the socket is not ready.
	function call(type, data) {
		return new Promise((resolve, reject) => {
			state.queue.push({ type, data: data || {}, resolve, reject });
			pump();
		});
	}

	function pump() {
		if (!state.ready || state.inflight || state.queue.length === 0) return;
		const r = state.queue.shift();
		state.inflight = r;
		state.lastSent = Date.now();
		state.ws.send(JSON.stringify({ type: r.type, data: r.data }));
	}

	function failAll(err) {
		if (state.inflight) state.inflight.reject(err);
		state.inflight = null;
		for (const r of state.queue.splice(0)) r.reject(err);
	}

	async function ask(type, data) {
		return (await call(type, data)).data;
	}

	// ---- pushed events ----------------------------------------------------------------------

	function onEvent(f) {
		if (f.event_id <= state.lastEventId) return; // already seen (a resumed session replays)
		state.lastEventId = f.event_id;
		const d = f.data || {};
		const text = describeEvent(f.type, d);
		const code = d.receipt_code;
		if (text && !(f.type === 'transaction_completed' && state.noticedReceipts.has(code))) {
			if (code) state.noticedReceipts.add(code);
			addNotice(f.type, text, code, f.timestamp);
		}
		if (f.type.startsWith('deposit_') && d.transaction_ref === state.depositRef) checkDeposit();
		scheduleRefresh();
	}

	// what each pushed event says to the person (the spec's seven types)
	const EVENTS = {
		deposit_completed: (d) => `Deposit ${d.transaction_ref} completed: ${money(d.amount, d.currency)} ` +
			`received (fee ${money(d.fee_amount, d.currency)}); balance ${money(d.user_balance, d.currency)}.`,
		deposit_failed: (d) => `Deposit ${d.transaction_ref} of ${money(d.amount, d.currency)} failed: ${d.error_message}.`,
		withdrawal_completed: (d) => `Withdrawal ${d.request_ref} paid out.`,
		withdrawal_failed: (d) => `Withdrawal ${d.request_ref} failed: ${d.error}. The money is available again.`,
		transfer_completed: (d) => (state.accounts.some((a) => a.account_number === d.from_account)
			? `You sent ${money(d.amount, d.currency)} to ${d.to_account} (fee ${money(d.fee, d.currency)}).`
			: `You received ${money(d.amount, d.currency)} from ${d.from_account}.`),
		transaction_completed: (d) => `${d.transaction_type} of ${money(d.amount, d.currency)} completed; ` +
			`balance ${money(d.balance_after, d.currency)}.`,
		transaction_failed: (d) => `${d.transaction_type} of ${money(d.amount, d.currency)} failed: ${d.error}.`,
	};
	const describeEvent = (type, d) => (EVENTS[type] ? EVENTS[type](d) : `${type}.`);

	function addNotice(type, text, receipt, ts) {
		const li = el('li', { class: type.endsWith('_failed') ? 'failed' : 'ok', 'data-type': type },
			el('time', {}, new Date((ts || Date.now() / 1000) * 1000).toLocaleTimeString()), ' ', text);
		if (receipt) li.append(' ', receiptCode(receipt));
		const list = $('notices');
		list.prepend(li);
		while (list.children.length > 20) list.lastChild.remove();
	}

	// several events come together (a deposit sends two): refresh once after them
	function scheduleRefresh() {
		clearTimeout(state.refreshTimer);
		state.refreshTimer = setTimeout(() => {
			loadBalances().then(loadHistory).catch(report);
		}, 250);
	}

	// ---- panels -----------------------------------------------------------------------------

	const loadEverything = () => loadBalances()
		.then(() => Promise.all([loadHistory(), loadPartners('dep'), loadPartners('wd')])).catch(report);

	async function loadBalances() {
		const { accounts } = await ask('get_accounts');
		const rows = [];
		for (const a of accounts) rows.push({ ...a, ...(await ask('get_account_balance', { account_number: a.account_number })) });
		state.accounts = rows;
		renderBalances();
		fillSelects();
	}

	function renderBalances() {
		const tb = $('balances').tBodies[0];
		tb.replaceChildren(...state.accounts.map((a) => el('tr', { 'data-currency': a.currency },
			el('td', {}, el('strong', {}, a.currency), el('br'), el('span', { class: 'mono' }, a.account_number)),
			el('td', { class: 'num', 'data-amount': a.balance }, money(a.balance, a.currency)),
			el('td', { class: 'num', 'data-amount': a.available_balance }, money(a.available_balance, a.currency)))));
		if (state.accounts.length === 0)
			tb.append(el('tr', {}, el('td', { colSpan: 3 }, 'You have no accounts yet.')));
	}

	function fillSelects() {
		const currencies = [...new Set(state.accounts.map((a) => a.currency))];
		for (const s of document.querySelectorAll('.currency-select'))
			refill(s, currencies.map((c) => [c, c]));
		for (const s of document.querySelectorAll('.account-select'))
			refill(s, state.accounts.map((a) => [a.account_number, `${a.currency} · ${a.account_number}`]));
	}

	function refill(select, options) {
		const keep = select.value;
		select.replaceChildren(...options.map(([v, t]) => el('option', { value: v }, t)));
		if (options.some(([v]) => v === keep)) select.value = keep;
	}

	async function loadPartners(prefix) {
		const service = $(`${prefix}-service`).value.trim();
		const select = $(`${prefix}-partner`);
		let partners = [];
		if (/^[a-z][a-z0-9_]{1,31}$/.test(service)) {
			try { partners = (await ask('get_partners', { service })).partners; } catch (e) { partners = []; }
		}
		refill(select, [['', 'Automatic'], ...partners.map((p) => [p.id, `${p.name} (${p.country})`])]);
	}

	async function loadHistory() {
		const h = state.history;
		const rows = h.view === 'requests' ? await loadRequests(h) : await loadEntries(h);
		renderHistory(h.view, rows);
	}

	async function loadRequests(h) {
		const type = $('hi-type').value;
		const r = await ask('get_history', { type, limit: PAGE_SIZE, offset: h.page * PAGE_SIZE });
		const deposits = (r.deposits || []).map((x) => ({ ...x, kind: 'Deposit' }));
		const withdrawals = (r.withdrawals || []).map((x) => ({ ...x, kind: 'Withdrawal' }));
		h.hasNext = deposits.length === PAGE_SIZE || withdrawals.length === PAGE_SIZE;
		return [...deposits, ...withdrawals].sort((a, b) => b.created_at.localeCompare(a.created_at));
	}

	// get_ledgers pages in time order: ask the total first, then the page, newest first
	async function loadEntries(h) {
		const account = $('hi-account').value;
		if (!account) { h.hasNext = false; return []; }
		const { total } = await ask('get_ledgers', { account_number: account, limit: 1 });
		const end = total - h.page * PAGE_SIZE;
		if (end <= 0) { h.hasNext = false; return []; }
		const offset = Math.max(0, end - PAGE_SIZE);
		const r = await ask('get_ledgers', { account_number: account, limit: end - offset, offset });
		h.hasNext = offset > 0;
		return r.ledgers.slice().reverse();
	}

	function renderHistory(view, rows) {
		const t = $('history');
		const heads = view === 'requests'
			? ['Date', 'Type', 'Reference', 'Amount', 'Status', 'Receipt']
			: ['Date', 'Description', 'Amount', 'Balance after', 'Receipt'];
		t.tHead.rows[0].replaceChildren(...heads.map((h) => el('th', { scope: 'col' }, h)));
		t.tBodies[0].replaceChildren(...rows.map((r) => (view === 'requests' ? requestRow(r) : entryRow(r))));
		labelCells(t);
		$('history-empty').hidden = rows.length > 0;
		$('hi-page').textContent = `Page ${state.history.page + 1}`;
		$('hi-prev').disabled = state.history.page === 0;
		$('hi-next').disabled = !state.history.hasNext;
	}

	// each cell names its column, for the narrow layout where a row is a stack of cells
	function labelCells(table) {
		const heads = Array.from(table.tHead.rows[0].cells, (c) => c.textContent);
		for (const row of table.tBodies[0].rows)
			Array.from(row.cells).forEach((c, i) => c.setAttribute('data-label', heads[i]));
	}

	function requestRow(r) {
		return el('tr', { 'data-ref': r.request_ref },
			el('td', {}, when(r.created_at)), el('td', {}, r.kind),
			el('td', { class: 'mono' }, r.request_ref),
			el('td', { class: 'num' }, money(r.amount, r.currency)),
			el('td', {}, el('span', { class: `badge ${r.status}` }, r.status)),
			el('td', {}, r.receipt_code ? receiptCode(r.receipt_code) : ''));
	}

	function entryRow(r) {
		const sign = r.type === 'DR_CR_DEBIT' ? -1 : 1;
		return el('tr', { 'data-receipt': r.receipt_code },
			el('td', {}, when(r.created_at)), el('td', {}, r.description || ''),
			el('td', { class: `num ${sign < 0 ? 'debit' : 'credit'}`, 'data-amount': sign * r.amount },
				money(sign * r.amount, r.currency)),
			el('td', { class: 'num' }, money(r.balance_after, r.currency)),
			el('td', {}, receiptCode(r.receipt_code)));
	}

	// a receipt code opens its receipt (get_receipt gives the URL; the URL's token opens it)
	function receiptCode(code) {
		const b = el('button', { type: 'button', class: 'receipt', 'data-receipt': code,
			title: 'Open the receipt' }, code);
		b.addEventListener('click', () => openReceipt(code));
		return b;
	}

	async function openReceipt(code) {
		// a window opened by the click itself (a pop-up blocker lets it through), filled after
		const w = window.open('about:blank', '_blank');
		if (w) w.opener = null;
		try {
			const r = await ask('get_receipt', { receipt_code: code });
			if (w) w.location.href = r.url;
			else setStatus('Allow pop-ups for this page to open receipts.', 'error');
		} catch (e) {
			if (w) w.close();
			report(e);
		}
	}

	async function loadStatement(ev) {
		ev.preventDefault();
		const from = $('st-from').value;
		const to = $('st-to').value;
		if (!from || !to || to < from) { setStatus('Choose a period: from a day to the same or a later day.', 'error'); return; }
		const account = $('st-account').value;
		await busy($('st-submit'), 'status', async () => {
			renderStatement(await ask('get_account_statement',
				{ account_number: account, from: dayStart(from, 0), to: dayStart(to, 1) }));
		});
	}

	function renderStatement(s) {
		const c = s.currency;
		const items = [['Account', s.account_number], ['Period', `${when(s.period_start)} – ${when(s.period_end)}`],
			['Opening balance', money(s.opening_balance, c)], ['Credits', money(s.total_credits, c)],
			['Debits', money(s.total_debits, c)], ['Closing balance', money(s.closing_balance, c)],
			['Entries', s.transaction_count + (s.has_more ? ' (first 1000 shown)' : '')]];
		$('statement-summary').replaceChildren(...items.flatMap(([k, v]) => [el('dt', {}, k),
			el('dd', { 'data-field': k.toLowerCase().replace(/ /g, '_') }, v)]));
		$('statement-lines').tBodies[0].replaceChildren(...s.ledgers.map((l) => el('tr', {},
			el('td', {}, when(l.created_at)), el('td', {}, l.description || ''),
			el('td', { class: 'num' }, l.type === 'DR_CR_DEBIT' ? money(l.amount, c) : ''),
			el('td', { class: 'num' }, l.type === 'DR_CR_CREDIT' ? money(l.amount, c) : ''),
			el('td', { class: 'num' }, money(l.balance_after, c)),
			el('td', {}, receiptCode(l.receipt_code)))));
		labelCells($('statement-lines'));
		$('statement').hidden = false;
	}

	// ---- transfer: quote the fee, then send only on confirmation ----------------------------

	async function quoteTransfer(ev) {
		ev.preventDefault();
		showResult('tr-result', '', false);
		await busy($('tr-quote'), 'tr-result', async () => {
			const to = $('tr-to').value.trim();
			if (!to) throw new Error("Enter the recipient's user ID.");
			const amount = amountOf($('tr-amount'));
			const currency = $('tr-currency').value;
			const fee = await ask('calculate_fee', { transaction_type: 'transfer', amount, source_currency: currency });
			state.quote = { to_user_id: to, amount, currency, description: $('tr-desc').value.trim(),
				reference: newReference('web-tr') };
			$('tr-quote-text').textContent = `Send ${money(amount, currency)} to ${to}. Fee: ` +
				`${money(fee.amount, fee.currency)}. Total debited: ${money(amount + fee.amount, currency)}.`;
			$('tr-quote-text').dataset.fee = fee.amount;
			$('tr-confirm').hidden = false;
			$('tr-send').focus();
		});
	}

	function cancelTransfer() {
		state.quote = null;
		$('tr-confirm').hidden = true;
	}

	async function sendTransfer() {
		const q = state.quote;
		if (!q) return;
		await busy($('tr-send'), 'tr-result', async () => {
			const data = { to_user_id: q.to_user_id, amount: q.amount, currency: q.currency, reference: q.reference };
			if (q.description) data.description = q.description;
			const r = await ask('transfer', data);
			cancelTransfer();
			$('transfer-form').reset();
			if (r.status === 'held_for_review') {
				showResult('tr-result', `The transfer of ${money(r.amount, q.currency)} is held for review; ` +
					'the money is reserved until it is decided.', false);
			} else {
				showResult('tr-result', `Sent ${money(r.amount, q.currency)} (fee ${money(r.fee, q.currency)}). ` +
					`Receipt ${r.receipt_code}.`, false);
			}
			scheduleRefresh();
		});
	}

	// ---- deposit ------------------------------------------------------------------------------

	async function requestDeposit(ev) {
		ev.preventDefault();
		await busy($('dep-submit'), 'dep-result', async () => {
			const data = { amount: amountOf($('dep-amount')), currency: $('dep-currency').value,
				service: $('dep-service').value.trim(), reference: newReference('web-dep') };
			if ($('dep-partner').value) data.partner_id = $('dep-partner').value;
			if ($('dep-phone').value.trim()) data.phone = $('dep-phone').value.trim();
			const d = await ask('deposit_request', data);
			state.depositRef = d.request_ref;
			renderDeposit(d);
			$('dep-status').hidden = false;
		});
	}

	function renderDeposit(d) {
		let text = `Deposit ${d.request_ref} of ${money(d.amount, d.currency)} via ${d.partner_name}: ` +
			`${d.status.replace(/_/g, ' ')}.`;
		if (d.status === 'sent_to_partner' || d.status === 'pending') text += ' Approve the payment on your phone.';
		if (d.receipt_code) text += ` Receipt ${d.receipt_code}.`;
		if (d.error) text += ` ${d.error}.`;
		showResult('dep-result', text, d.status === 'failed');
		$('dep-result').dataset.status = d.status;
	}

	async function checkDeposit() {
		if (!state.depositRef) return;
		await busy($('dep-status'), 'dep-result', async () => {
			renderDeposit(await ask('get_deposit_status', { request_ref: state.depositRef }));
		});
	}

	// ---- withdrawal: a verification code, then the request with its single-use token -------

	async function requestVerification(ev) {
		ev.preventDefault();
		showResult('wd-result', '', false);
		await busy($('wd-request'), 'wd-result', async () => {
			const order = { amount: amountOf($('wd-amount')), currency: $('wd-currency').value,
				destination: $('wd-dest').value.trim(), service: $('wd-service').value.trim(),
				partner_id: $('wd-partner').value, reference: newReference('web-wd') };
			if (!order.destination) throw new Error('Enter the phone number to pay.');
			const r = await call('verification_request', { method: $('wd-method').value, purpose: 'withdrawal' });
			state.challenge = { order, next: r.data.next_step };
			$('wd-challenge').textContent = r.message;
			$('wd-verify-form').hidden = false;
			$('wd-code').value = '';
			$('wd-code').focus();
		});
	}

	async function verifyAndWithdraw(ev) {
		ev.preventDefault();
		const c = state.challenge;
		if (!c) return;
		await busy($('wd-submit'), 'wd-result', async () => {
			const code = $('wd-code').value.trim();
			if (!/^[0-9]{6}$/.test(code)) throw new Error('Enter the 6-digit code.');
			const v = await ask(c.next === 'verify_totp' ? 'verify_totp' : 'verify_otp', { code, purpose: 'withdrawal' });
			const data = { ...c.order, verification_token: v.verification_token };
			if (!data.partner_id) delete data.partner_id;
			try {
				const w = await ask('withdraw_request', data);
				showResult('wd-result', `Withdrawal ${w.request_ref} of ${money(w.amount, w.currency)} to ` +
					`${w.destination}: ${w.status}.`, false);
			} finally {
				delete data.verification_token; // single use: forgotten whatever the answer
				cancelWithdrawal();
			}
			$('withdraw-form').reset();
			scheduleRefresh();
		});
	}

	function cancelWithdrawal() {
		state.challenge = null;
		$('wd-code').value = '';
		$('wd-verify-form').hidden = true;
	}

	// ---- wiring ------------------------------------------------------------------------------

	function changeHistory(reset) {
		const h = state.history;
		h.view = $('hi-view').value;
		if (reset) h.page = 0;
		$('hi-account-box').hidden = h.view !== 'entries';
		$('hi-type-box').hidden = h.view !== 'requests';
		loadHistory().catch(report);
	}

	function keepAlive() {
		if (state.ready && !state.inflight && Date.now() - state.lastSent > KEEPALIVE_MS)
			call('ping').catch(() => {});
	}

	// a page loaded again while its session cookie still signs someone in goes on at once
	async function resumeSession() {
		try {
			const r = await fetch(new URL('svc/auth/session', document.baseURI),
				{ credentials: 'same-origin', headers: { Accept: 'application/json' } });
			const body = r.ok ? await r.json() : null;
			if (body && body.user && !state.user)
				startSession(body.user, body.expiresIn);
		} catch (e) { /* the sign-in form stays */ }
	}

	function init() {
		$('signin-form').addEventListener('submit', signIn);
		$('signin-cancel').addEventListener('click', () => { resetSignIn(); $('signin-error').textContent = ''; });
		$('signout').addEventListener('click', signOut);
		$('balances-refresh').addEventListener('click', () => loadBalances().catch(report));
		$('transfer-form').addEventListener('submit', quoteTransfer);
		$('transfer-form').addEventListener('input', cancelTransfer);
		$('tr-send').addEventListener('click', sendTransfer);
		$('tr-cancel').addEventListener('click', cancelTransfer);
		$('deposit-form').addEventListener('submit', requestDeposit);
		$('dep-status').addEventListener('click', checkDeposit);
		for (const p of ['dep', 'wd']) $(`${p}-service`).addEventListener('change', () => loadPartners(p));
		$('withdraw-form').addEventListener('submit', requestVerification);
		$('wd-verify-form').addEventListener('submit', verifyAndWithdraw);
		$('wd-cancel').addEventListener('click', cancelWithdrawal);
		for (const id of ['hi-view', 'hi-account', 'hi-type']) $(id).addEventListener('change', () => changeHistory(true));
		$('history-form').addEventListener('submit', (ev) => ev.preventDefault());
		$('hi-prev').addEventListener('click', () => { state.history.page--; changeHistory(false); });
		$('hi-next').addEventListener('click', () => { state.history.page++; changeHistory(false); });
		$('statement-form').addEventListener('submit', loadStatement);
		setInterval(keepAlive, 15000);
		$('email').focus();
		resumeSession();
	}

	init();
})();
