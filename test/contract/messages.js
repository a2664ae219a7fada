#!/usr/bin/env node
// test/contract/messages.js — every WebSocket frame the e2e suite exchanged, checked against
// the AsyncAPI documents (docs/api/asyncapi/*.json): a frame that is no message of its
// document, or whose payload does not validate against that message's payload schema, fails.
// It does for the cashier WebSocket and Tribble's socket.io events what responses.js does for
// the REST replies.
//
//   node test/contract/messages.js LOG [DOC...]
//
// LOG: one JSON object per line, {doc, dir, event?, packet?, args?, frame, deliberate?, file}
// (test/e2e/frame_log.js when E2E_FRAME_LOG is set). doc names the document (cashier:
// cashier.json, socketio: socketio.json); dir is the client's: "send" or "receive". DOC: the
// documents (default: every docs/api/asyncapi/*.json).
//
// Which message a frame is: the messages of the document's operations in that direction (a
// send operation's messages are sent, its reply's and a receive operation's are received);
// cashier: those whose payload's "type" is the frame's type; socket.io: those of the packet
// type (x-socketio-packet; EVENT when the line has none) whose name is the event's (an ACK:
// the event it acknowledges). When several share a type (the cashier's success replies), the
// frame must validate against one of them, and is counted under the one whose constant and
// pattern fields (data.message, ...) it matches best. socket.io: the arguments after the
// first (args) must validate against the message's x-socketio-args, none when it has none.
// Frames marked deliberate (sent malformed on purpose, or events whose payload the test wrote
// itself) are counted, not validated; the replies to them are. Prints one TAP-like line per (document, direction, message) seen, with how many
// frames it covers, the messages no frame exercised as "#" lines, then
// "contract messages: N passed, M failed"; exit 1 on any failure.
'use strict';

const fs = require('fs');
const path = require('path');
const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats').default;

const ROOT = path.resolve(__dirname, '..', '..');
const args = process.argv.slice(2);
if (args.length < 1) {
	console.error('usage: messages.js LOG [DOC...]');
	process.exit(2);
}
const logFile = args[0];
const docFiles = args.length > 1 ? args.slice(1) :
	fs.readdirSync(path.join(ROOT, 'docs/api/asyncapi'))
		.filter((f) => f.endsWith('.json')).sort()
		.map((f) => path.join(ROOT, 'docs/api/asyncapi', f));

const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
addFormats(ajv);

function pointer(...parts) {
	return '#/' + parts.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
}

// Follow $refs (local ones) to the object, and the JSON pointer where it is.
function resolve(doc, obj, at) {
	while (obj && obj.$ref) {
		at = obj.$ref;
		const parts = obj.$ref.replace(/^#\//, '').split('/')
			.map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
		obj = parts.reduce((o, k) => (o ? o[k] : undefined), doc);
	}
	return { obj, at };
}

// A document: its messages in each direction, as the client sees them.
function loadDoc(file) {
	const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
	const name = path.basename(file, '.json');
	const id = 'asyncapi:' + name;
	// "id" is AsyncAPI's identifier, not a JSON Schema keyword: leave it out of the copy
	ajv.addSchema(Object.assign({}, doc, { id: undefined }), id);
	const msgs = new Map();	// dir + pointer -> message
	const add = (dir, mref, opName) => {
		const { obj, at } = resolve(doc, mref, null);
		if (!obj || !at)
			throw new Error(`${file}: operation ${opName}: unresolvable message ${mref.$ref}`);
		const k = `${dir} ${at}`;
		if (msgs.has(k))
			return;
		msgs.set(k, {
			dir, at, msg: obj,
			key: at.split('/').pop(),
			name: obj.name,
			packet: obj['x-socketio-packet'] || 'EVENT',
			payload: resolve(doc, obj.payload, null).obj,
		});
	};
	for (const [opName, op0] of Object.entries(doc.operations || {})) {
		const op = resolve(doc, op0, null).obj;
		const dir = op.action === 'send' ? 'send' : 'receive';
		for (const m of op.messages || [])
			add(dir, m, opName);
		const reply = op.reply && resolve(doc, op.reply, null).obj;
		for (const m of (reply && reply.messages) || [])
			add(dir === 'send' ? 'receive' : 'send', m, opName);
	}
	return { name, id, doc, messages: [...msgs.values()] };
}

const docs = new Map(docFiles.map((f) => {
	const d = loadDoc(f);
	return [d.name, d];
}));

const validators = new Map();
function validator(d, at, suffix) {
	const ref = d.id + at + suffix;
	if (!validators.has(ref))
		validators.set(ref, ajv.compile({ $ref: ref }));
	return validators.get(ref);
}

// The values a payload schema fixes along its properties (const, enum, pattern), and how
// many of them the frame matches: which of several messages a frame is meant to be.
function score(doc, schema, value, depth = 0) {
	schema = resolve(doc, schema, null).obj;
	if (!schema || typeof schema !== 'object' || depth > 6)
		return 0;
	let n = 0;
	if ('const' in schema && JSON.stringify(schema.const) === JSON.stringify(value))
		n++;
	if (Array.isArray(schema.enum) && schema.enum.some((e) =>
		JSON.stringify(e) === JSON.stringify(value)))
		n++;
	if (typeof schema.pattern === 'string' && typeof value === 'string' &&
		new RegExp(schema.pattern, 'u').test(value))
		n++;
	if (schema.properties && value && typeof value === 'object' && !Array.isArray(value))
		for (const [k, s] of Object.entries(schema.properties))
			if (k in value)
				n += score(doc, s, value[k], depth + 1);
	return n;
}

// The types a cashier message's payload gives its "type" member.
function typesOf(d, m) {
	const t = m.payload && m.payload.properties &&
		resolve(d.doc, m.payload.properties.type, null).obj;
	if (!t)
		return [];
	return 'const' in t ? [t.const] : (t.enum || []);
}

function candidates(d, r) {
	const dir = r.dir === 'send' ? 'send' : 'receive';
	if (d.name === 'socketio') {
		const packet = r.packet || 'EVENT';
		return d.messages.filter((m) => m.dir === dir && m.packet === packet &&
			m.name === r.event);
	}
	const f = r.frame;
	if (!f || typeof f !== 'object' || Array.isArray(f) || typeof f.type !== 'string')
		return [];
	return d.messages.filter((m) => m.dir === dir && typesOf(d, m).includes(f.type));
}

function failureOf(v, dataVar) {
	return ajv.errorsText(v.errors, { dataVar });
}

// One frame: the message it is and its failure, if any.
function check(d, r) {
	const cands = candidates(d, r);
	const what = d.name === 'socketio' ?
		`${r.packet || 'EVENT'} "${r.event}"` :
		`type ${JSON.stringify(r.frame && r.frame.type)}`;
	if (cands.length === 0)
		return { name: `${d.name} ${r.dir} (no message: ${what})`,
			failure: `no ${r.dir} message of ${d.name} is ${what}` };
	const results = cands.map((m) => {
		const v = validator(d, m.at, '/payload');
		let failure = v(r.frame) ? null : failureOf(v, 'frame');
		if (!failure && d.name === 'socketio') {
			const extra = r.args || [];
			if (m.msg['x-socketio-args']) {
				const va = validator(d, m.at, '/x-socketio-args');
				if (!va(extra))
					failure = failureOf(va, 'args');
			} else if (extra.length)
				failure = `${extra.length} argument(s) after the first, where the message has none`;
		}
		return { m, failure, score: score(d.doc, m.payload, r.frame) };
	});
	const best = (list) => list.reduce((a, b) => (b.score > a.score ? b : a));
	const ok = results.filter((x) => !x.failure);
	const pick = ok.length ? best(ok) : best(results);
	return { name: `${d.name} ${r.dir} ${pick.m.key}`, failure: ok.length ? null : pick.failure,
		at: `${r.dir} ${pick.m.at}` };
}

const cases = new Map();
const seen = new Set();
const skipped = new Map();
let lines = 0;
function count(name, file, failure, frame) {
	if (!cases.has(name))
		cases.set(name, { n: 0, failures: [] });
	const c = cases.get(name);
	c.n++;
	if (failure && c.failures.length < 3)
		c.failures.push(`${file || '?'}: ${failure}: ${JSON.stringify(frame).slice(0, 300)}`);
	else if (failure)
		c.failures.push(null);
}

for (const line of fs.readFileSync(logFile, 'utf8').split('\n')) {
	if (!line.trim())
		continue;
	lines++;
	let r;
	try {
		r = JSON.parse(line);
	} catch (e) {
		count('(log) a line that is not JSON', null, e.message, line);
		continue;
	}
	const d = docs.get(r.doc);
	if (!d) {
		count(`(log) doc ${JSON.stringify(r.doc)}`, r.file, 'no such document', r.frame);
		continue;
	}
	if (r.deliberate) {
		const k = `${d.name} ${r.dir}`;
		skipped.set(k, (skipped.get(k) || 0) + 1);
		continue;
	}
	const res = check(d, r);
	if (res.at)
		seen.add(`${d.name} ${res.at}`);
	count(res.name, r.file, res.failure, r.frame);
}

let passed = 0, failed = 0;
for (const [name, c] of [...cases.entries()].sort()) {
	if (c.failures.length === 0) {
		passed++;
		console.log(`ok - ${name} (${c.n} frames)`);
	} else {
		failed++;
		console.log(`not ok - ${name} (${c.failures.length} of ${c.n} frames)`);
		for (const f of c.failures.filter(Boolean))
			console.log(`#   ${f}`);
	}
}
for (const [k, n] of [...skipped.entries()].sort())
	console.log(`# ${k}: ${n} frames marked deliberate (malformed on purpose, or the test's own `
		+ 'payload), not validated');
for (const d of docs.values()) {
	const unseen = d.messages.filter((m) => !seen.has(`${d.name} ${m.dir} ${m.at}`))
		.map((m) => `${m.dir} ${m.key}`);
	if (unseen.length)
		console.log(`# ${d.name}: no frame of ${unseen.join(', ')}`);
}
if (lines === 0) {
	failed++;
	console.log(`not ok - ${logFile} holds no frames`);
}
console.log(`contract messages: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
