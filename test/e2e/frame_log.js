// test/e2e/frame_log.js — when E2E_FRAME_LOG names a file, the e2e Node clients append one
// JSON line per WebSocket frame (cashier) or socket.io packet (Tribble's events) they send and
// receive, for test/contract/messages.js to validate against docs/api/asyncapi/*.json:
//
//   {"doc": "cashier"|"socketio", "dir": "send"|"receive", "event"?, "packet"?, "args"?,
//    "frame": <the parsed JSON payload>, "deliberate"?: true, "file": "<client script>"}
//
// cashier: frame is the whole message (a message sent in fragments is one line). socketio:
// packet is the socket.io packet type (CONNECT, EVENT, ACK, CONNECT_ERROR, DISCONNECT), event
// its event name (an ACK: the name of the event it acknowledges; CONNECT: "connect"), frame
// the first argument (CONNECT: the auth object or the server's {sid, pid}) and args the
// arguments after it. A frame that a test sends malformed on purpose is marked deliberate
// (deliberate(socket) before sending it): messages.js validates the reply, not the frame. So
// are the events a test writes itself with a payload of its own (pg_wallet.emit_event) and
// receives (fabricated(socket, event)): their payload is the test's, not the bridge's.
// Without E2E_FRAME_LOG nothing is hooked and nothing is written.
'use strict';
const fs = require('fs');
const path = require('path');

const LOG = process.env.E2E_FRAME_LOG || '';
const FILE = path.basename(process.argv[1] || 'node');
const marked = new WeakMap();	// socket -> sent frames still to mark deliberate
const made = new WeakMap();	// socket -> names of the events the test writes itself

function write(rec) {
	try {
		fs.appendFileSync(LOG, JSON.stringify(Object.assign(rec, { file: FILE })) + '\n');
	} catch (e) {
		// the log is a by-product: it never fails a check
	}
}

// The next frame the client sends on this socket (ws or socket.io) is malformed on purpose.
function deliberate(socket) {
	if (LOG && socket)
		marked.set(socket, (marked.get(socket) || 0) + 1);
	return socket;
}

// The events of this name the socket receives are the test's own (emit_event), not the bridge's.
function fabricated(socket, event) {
	if (LOG && socket) {
		if (!made.has(socket))
			made.set(socket, new Set());
		made.get(socket).add(event);
	}
	return socket;
}

function takeMark(socket) {
	const n = marked.get(socket) || 0;
	if (n > 0)
		marked.set(socket, n - 1);
	return n > 0;
}

function parsed(text) {
	try {
		return JSON.parse(text);
	} catch (e) {
		return text;			// not JSON: logged as the raw text
	}
}

// A cashier WebSocket (the `ws` package): every message sent and received.
function cashier(ws) {
	if (!LOG)
		return ws;
	const send = ws.send;
	let parts = [];
	ws.send = function (data, opts, cb) {
		parts.push(typeof data === 'string' ? data : Buffer.from(data).toString());
		if (!(opts && typeof opts === 'object' && opts.fin === false)) {
			const rec = { doc: 'cashier', dir: 'send', frame: parsed(parts.join('')) };
			parts = [];
			if (takeMark(ws))
				rec.deliberate = true;
			write(rec);
		}
		return send.call(this, data, opts, cb);
	};
	ws.on('message', (m) => write({ doc: 'cashier', dir: 'receive',
		frame: parsed(m.toString()) }));
	return ws;
}

const PACKETS = ['CONNECT', 'DISCONNECT', 'EVENT', 'ACK', 'CONNECT_ERROR', 'BINARY_EVENT',
	'BINARY_ACK'];

// One socket.io packet as a log line.
function sioRecord(dir, p, acks) {
	const packet = PACKETS[p.type] || String(p.type);
	const rec = { doc: 'socketio', dir, packet };
	const data = p.data;
	if (packet === 'EVENT' || packet === 'BINARY_EVENT') {
		const args = Array.isArray(data) ? data : [];
		rec.event = args[0];
		rec.frame = args.length > 1 ? args[1] : null;
		if (args.length > 2)
			rec.args = args.slice(2);
		if (dir === 'send' && p.id !== undefined)
			acks.set(p.id, args[0]);
	} else if (packet === 'ACK' || packet === 'BINARY_ACK') {
		const args = Array.isArray(data) ? data : [];
		rec.event = acks.get(p.id);
		acks.delete(p.id);
		rec.frame = args.length > 0 ? args[0] : null;
		if (args.length > 1)
			rec.args = args.slice(1);
	} else {
		rec.event = packet === 'CONNECT' ? 'connect' :
			packet === 'CONNECT_ERROR' ? 'connect_error' : 'disconnect';
		rec.frame = data === undefined ? null : data;
	}
	return rec;
}

// A socket.io-client socket: the packets of its Manager (the socket.io layer, not Engine.IO's
// packets), on every connection it makes (reconnections included). Received packets are
// logged as the decoder yields them, before the client adds to them (an ACK awaited with a
// timeout gets a null error argument in front).
function socketio(s) {
	if (!LOG || !s || !s.io || s.io.pgwFrameLog)
		return s;
	const mgr = s.io;
	const acks = new Map();	// ack id -> the event it acknowledges
	mgr.pgwFrameLog = true;
	const packet = mgr._packet;
	mgr._packet = function (p) {
		const rec = sioRecord('send', p, acks);
		if (takeMark(s))
			rec.deliberate = true;
		write(rec);
		return packet.call(this, p);
	};
	mgr.decoder.on('decoded', (p) => {
		const rec = sioRecord('receive', p, acks);
		if (made.has(s) && made.get(s).has(rec.event))
			rec.deliberate = true;
		write(rec);
	});
	return s;
}

module.exports = { cashier, socketio, deliberate, fabricated, enabled: !!LOG };
