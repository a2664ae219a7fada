// test/e2e/socketio_raw.js — the socket.io endpoint's framing over raw sockets (HTTP
// long-polling with node's http, WebSocket with the `ws` package): Engine.IO's handshake and
// error codes, oversized payloads refused, bad packets ending the session, binary frames, a
// second poll at once, missed pongs. Prints "ok - NAME" / "not ok - NAME: DETAIL" lines, read
// by test/e2e/75_socketio.sh. Usage: node socketio_raw.js URL MAX_PAYLOAD TOKEN
'use strict';
const http = require('http');
const WebSocket = require('ws');

const [url, maxPayload, token] = [process.argv[2], Number(process.argv[3]), process.argv[4]];
const base = url + '/socket.io/?EIO=4&transport=';

function report(name, pass, detail) {
	console.log(pass ? `ok - raw: ${name}` : `not ok - raw: ${name}: ${detail}`);
}

// One HTTP request: {status, body}. A fresh connection each, so a held poll blocks nothing.
function request(method, u, body) {
	return new Promise((resolve) => {
		const req = http.request(u, { method, agent: false }, (res) => {
			let b = '';
			res.setEncoding('utf8');
			res.on('data', (d) => { b += d; });
			res.on('end', () => resolve({ status: res.statusCode, body: b }));
		});
		req.on('error', (e) => resolve({ status: 0, body: e.message }));
		if (body !== undefined) req.end(body); else req.end();
	});
}

async function handshake() {
	const r = await request('GET', base + 'polling');
	const open = r.status === 200 && r.body[0] === '0' ? JSON.parse(r.body.slice(1)) : {};
	return { r, open, sid: open.sid };
}

// A WebSocket: resolves with {ws, frames, closed} once open, or {error}.
function wsOpen(u) {
	return new Promise((resolve) => {
		const ws = new WebSocket(u);
		const frames = [];
		const closed = new Promise((res) => ws.on('close', (code) => res(code)));
		ws.on('message', (m) => frames.push(m.toString()));
		ws.on('open', () => resolve({ ws, frames, closed }));
		ws.on('unexpected-response', (req, res) => resolve({ error: `HTTP ${res.statusCode}` }));
		ws.on('error', (e) => resolve({ error: e.message }));
	});
}

async function polling() {
	let r = await request('GET', url + '/socket.io/?EIO=3&transport=polling');
	report('EIO=3 is 400 code 5', r.status === 400 && JSON.parse(r.body).code === 5, r.body);
	r = await request('GET', base + 'carrier-pigeon');
	report('an unknown transport is 400 code 0', r.status === 400 &&
		JSON.parse(r.body).code === 0, r.body);
	r = await request('GET', base + 'polling&sid=AAAAAAAAAAAAAAAAAAAA');
	report('an unknown sid is 400 code 1', r.status === 400 && JSON.parse(r.body).code === 1,
		r.body);
	r = await request('POST', base + 'polling', '40');
	report('a handshake by POST is 400 code 2', r.status === 400 &&
		JSON.parse(r.body).code === 2, r.body);

	let h = await handshake();
	report('the handshake: sid, upgrades, pingInterval, pingTimeout, maxPayload',
		typeof h.sid === 'string' && h.sid.length === 20 &&
		JSON.stringify(h.open.upgrades) === '["websocket"]' && h.open.pingInterval > 0 &&
		h.open.pingTimeout > 0 && h.open.maxPayload === maxPayload, h.r.body);
	r = await request('POST', base + 'polling&sid=' + h.sid, '4' + 'x'.repeat(maxPayload));
	report('a POST body over maxPayload is refused (413)', r.status === 413, r.status);

	h = await handshake();
	r = await request('POST', base + 'polling&sid=' + h.sid, '9');
	report('a bad packet is 400', r.status === 400, `${r.status} ${r.body}`);
	r = await request('GET', base + 'polling&sid=' + h.sid);
	report('... and ends the session (its sid is unknown)', r.status === 400 &&
		JSON.parse(r.body).code === 1, r.body);

	h = await handshake();
	r = await request('POST', base + 'polling&sid=' + h.sid, '451-["x",{"_placeholder":true,"num":0}]');
	report('a binary socket.io packet is refused', r.status === 400, `${r.status} ${r.body}`);

	h = await handshake();
	r = await request('POST', base + 'polling&sid=' + h.sid, '40"not an object"');
	const poll = await request('GET', base + 'polling&sid=' + h.sid);
	report('a CONNECT whose auth is not an object gets CONNECT_ERROR', r.status === 200 &&
		poll.status === 200 && /^44\{"message":/.test(poll.body), poll.body);

	h = await handshake();
	r = await request('GET', base + 'polling&sid=' + h.sid);
	report('a poll with nothing to send is held, and answered by the server\'s ping',
		r.status === 200 && r.body === '2', `${r.status} ${JSON.stringify(r.body)}`);

	h = await handshake();
	const first = request('GET', base + 'polling&sid=' + h.sid);
	await new Promise((res) => setTimeout(res, 200));	// (lets the first poll arrive first)
	const second = await request('GET', base + 'polling&sid=' + h.sid);
	const one = await first;
	report('a second poll at once is 400 and the first is closed', second.status === 400 &&
		one.status === 200 && one.body.split('\x1e').includes('1'),
		`${second.status} ${one.status} ${JSON.stringify(one.body)}`);
}

async function websocket() {
	let c = await wsOpen(base + 'websocket&sid=AAAAAAAAAAAAAAAAAAAA');
	report('a WebSocket with an unknown sid is refused', !!c.error, c.error || 'opened');
	if (c.ws) c.ws.close();

	c = await wsOpen(base + 'websocket');
	c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
	let code = await c.closed;
	report('a binary frame closes with 1003', code === 1003, code);

	c = await wsOpen(base + 'websocket');
	c.ws.send('4' + 'x'.repeat(maxPayload));
	code = await c.closed;
	report('a message over maxPayload closes with 1009', code === 1009, code);

	c = await wsOpen(base + 'websocket');
	c.ws.send('x');
	code = await c.closed;
	report('a bad packet closes with 1002', code === 1002, code);

	// a client that never answers the server's pings: the session ends after pingTimeout
	c = await wsOpen(base + 'websocket');
	code = await c.closed;
	report('a session whose pongs do not come is closed by the server',
		c.frames[0][0] === '0' && c.frames.includes('2'), JSON.stringify(c.frames));

	// a connected client that answers them stays (two pings answered, then it leaves)
	c = await wsOpen(base + 'websocket');
	c.ws.send('40' + JSON.stringify({ token: `Bearer ${token}` }));
	let pings = 0;
	const left = await new Promise((res) => {
		c.ws.on('message', (m) => {
			if (m.toString() === '2' && ++pings <= 2) c.ws.send('3');
			if (pings === 2) { c.ws.close(1000); res('client'); }
		});
		c.closed.then(() => res('server'));
	});
	report('a connected session that answers its pings is kept', left === 'client' &&
		c.frames.some((f) => f.startsWith('40{')), `${left} ${JSON.stringify(c.frames)}`);
}

(async () => {
	await polling();
	await websocket();
})().then(() => process.exit(0), (e) => {
	report('scenario', false, e.stack);
	process.exit(1);
});
