// test/e2e/socketio_idle.js — many idle socket.io connections held by one bridge: N
// WebSocket sessions (raw Engine.IO with the `ws` package, lighter than N official clients)
// connect to namespace "/" with a Tribble token and answer the server's pings; the bridge's
// resident memory (VmRSS of BRIDGE_PID) is read once all are connected and a ping has been
// answered, and again after two more rounds of pings: idle connections must not make it grow.
// Prints "ok - NAME" / "not ok - NAME: DETAIL" lines, read by test/e2e/75_socketio.sh.
// Usage: node socketio_idle.js URL TOKEN N BRIDGE_PID
'use strict';
const fs = require('fs');
const WebSocket = require('ws');

const [url, token, n, pid] = [process.argv[2], process.argv[3], Number(process.argv[4]),
	process.argv[5]];
const u = url.replace(/^http/, 'ws') + '/socket.io/?EIO=4&transport=websocket';

function report(name, pass, detail) {
	console.log(pass ? `ok - idle: ${name}` : `not ok - idle: ${name}: ${detail}`);
}

function rssKb() {
	const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
	return m ? Number(m[1]) : 0;
}

// One session: resolves once connected; counts the pings it answered.
function session() {
	return new Promise((resolve) => {
		const ws = new WebSocket(u);
		const s = { ws, pings: 0, closed: false, connected: false };
		ws.on('message', (m) => {
			m = m.toString();
			if (m[0] === '0') ws.send('40' + JSON.stringify({ token: `Bearer ${token}` }));
			else if (m === '2') { s.pings++; ws.send('3'); }
			else if (m.startsWith('40{')) { s.connected = true; resolve(s); }
			else if (m.startsWith('44')) resolve(s);
		});
		ws.on('close', () => { s.closed = true; resolve(s); });
		ws.on('error', () => { s.closed = true; resolve(s); });
	});
}

// Until every open session has answered at least k pings.
function pinged(all, k) {
	return new Promise((resolve) => {
		const t = setInterval(() => {
			if (all.every((s) => s.closed || s.pings >= k)) { clearInterval(t); resolve(); }
		}, 100);
	});
}

(async () => {
	const all = [];
	for (let i = 0; i < n; i += 50)	// in batches: the handshakes are not a stampede
		all.push(...await Promise.all(Array.from({ length: Math.min(50, n - i) }, session)));
	const connected = all.filter((s) => s.connected && !s.closed).length;
	report(`${n} sessions connect with a token`, connected === n, `${connected} connected`);
	const base = all.reduce((k, s) => Math.max(k, s.pings), 0);
	await pinged(all, base + 1);
	const r1 = rssKb();
	await pinged(all, base + 3);
	const r2 = rssKb();
	const open = all.filter((s) => !s.closed).length;
	report(`the ${n} idle sessions answering pings stay open`, open === n, `${open} open`);
	report(`their bridge does not grow over two rounds of pings (${r1} kB, then ${r2} kB)`,
		r1 > 0 && r2 <= r1 + r1 / 20, `${r1} kB, then ${r2} kB`);
	for (const s of all) s.ws.close(1000);
	await Promise.all(all.map((s) => s.closed ? null :
		new Promise((res) => s.ws.on('close', res))));
})().then(() => process.exit(0), (e) => {
	report('scenario', false, e.stack);
	process.exit(1);
});
