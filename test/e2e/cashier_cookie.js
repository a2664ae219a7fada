// test/e2e/cashier_cookie.js — the cashier socket opened with the web page's session cookie
// instead of an Authorization header (test/e2e/81_cashier_session.sh), with the `ws` package.
// Prints one line: "connected" (the first frame was `connected`), "error CODE" (the first
// frame was an error frame: the connect call refused the token), "refused STATUS" (the
// handshake was refused), or "closed" (the socket closed before any frame).
//
//   node cashier_cookie.js WS_URL COOKIE_HEADER ORIGIN     ("-" for no Cookie or no Origin)
'use strict';
const WebSocket = require('ws');

const [url, cookie, origin] = process.argv.slice(2);
const headers = {};
if (cookie !== '-')
	headers.Cookie = cookie;
if (origin !== '-')
	headers.Origin = origin;
const ws = new WebSocket(url, { headers });
let done = false;
const end = (line) => {
	if (done)
		return;
	done = true;
	console.log(line);
	ws.terminate();
	setImmediate(() => process.exit(0));
};
ws.on('unexpected-response', (req, res) => end(`refused ${res.statusCode}`));
ws.on('message', (m) => {
	let f = null;
	try {
		f = JSON.parse(m);
	} catch (e) { /* not JSON: reported as closed below */ }
	if (f && f.type === 'connected')
		end('connected');
	else if (f && f.type === 'error')
		end(`error ${f.data && f.data.code}`);
	else
		end(`frame ${String(m).slice(0, 80)}`);
});
ws.on('close', () => end('closed'));
ws.on('error', () => end('closed'));
setTimeout(() => end('timeout'), 10000);
