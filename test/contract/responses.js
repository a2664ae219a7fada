#!/usr/bin/env node
// test/contract/responses.js — every reply the e2e suite saw, checked against the OpenAPI
// documents (docs/api/openapi/*.json), as issue 17 asks: a reply whose path, method or status
// a document does not describe, or whose JSON body does not validate against the schema the
// document gives for it, fails.
//
//   node test/contract/responses.js LOG [DOC...]
//
// LOG: one JSON object per line, {method, path, status, type, file, body} (test/e2e/lib.sh's
// record_response when E2E_RESPONSE_LOG is set). DOC: the documents (default: every
// docs/api/openapi/*.json). A document's servers[0].url is the base path its paths are under.
// Replies under no document's base path are not checked (the cashier's WebSocket, /healthz,
// /metrics, /docs/). Prints one TAP-like line per (document, method, path, status) seen, with
// how many replies it covers, then "contract responses: N passed, M failed"; exit 1 on any
// failure.
'use strict';

const fs = require('fs');
const path = require('path');
const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats').default;

const ROOT = path.resolve(__dirname, '..', '..');
const args = process.argv.slice(2);
if (args.length < 1) {
	console.error('usage: responses.js LOG [DOC...]');
	process.exit(2);
}
const logFile = args[0];
const docFiles = args.length > 1 ? args.slice(1) :
	fs.readdirSync(path.join(ROOT, 'docs/api/openapi'))
		.filter((f) => f.endsWith('.json'))
		.map((f) => path.join(ROOT, 'docs/api/openapi', f));

const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
addFormats(ajv);

// A document: its base path, its operations as [regexp, literal segment count, method, op].
function loadDoc(file) {
	const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
	const id = 'doc:' + path.basename(file);
	ajv.addSchema(doc, id);
	const base = doc.servers && doc.servers[0] && doc.servers[0].url;
	if (!base || !base.startsWith('/'))
		throw new Error(`${file}: servers[0].url must be the base path (e.g. /waas/api/v1)`);
	const ops = [];
	for (const [p, item] of Object.entries(doc.paths || {})) {
		const segs = p.split('/');
		const re = new RegExp('^' + segs.map((s) => (/^\{[^}]+\}$/.test(s) ? '[^/]+' :
			s.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))).join('/') + '$');
		const literal = segs.filter((s) => !/^\{/.test(s)).length;
		for (const m of ['get', 'put', 'post', 'delete', 'patch'])
			if (item[m]) ops.push({ re, literal, method: m, op: item[m], path: p });
	}
	ops.sort((a, b) => b.literal - a.literal);	// /users/profile before /users/{id}
	return { file: path.basename(file), id, base, doc, ops };
}

const docs = docFiles.map(loadDoc);

function pointer(...parts) {
	return '#/' + parts.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
}

// The schema the document gives for this status: the exact code, else 4XX/5XX, else default.
function responseFor(op, status) {
	const rs = op.op.responses || {};
	for (const k of [String(status), `${String(status)[0]}XX`, 'default'])
		if (rs[k])
			return { key: k, resp: rs[k] };
	return null;
}

function resolve(doc, obj) {
	while (obj && obj.$ref) {
		const parts = obj.$ref.replace(/^#\//, '').split('/')
			.map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
		obj = parts.reduce((o, k) => (o ? o[k] : undefined), doc);
	}
	return obj;
}

const validators = new Map();
function validatorFor(d, op, key, mediaType) {
	// a response given as a $ref to components/responses: the schema is under its target
	const resp = op.op.responses[key];
	const at = resp.$ref ? resp.$ref.replace(/^#\//, '').split('/')
		.map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~')) :
		['paths', op.path, op.method, 'responses', key];
	const ref = d.id + pointer(...at, 'content', mediaType, 'schema');
	if (!validators.has(ref))
		validators.set(ref, ajv.compile({ $ref: ref }));
	return validators.get(ref);
}

// Each reply: the case it belongs to and its failure, if any.
const cases = new Map();
let lines = 0;
for (const line of fs.readFileSync(logFile, 'utf8').split('\n')) {
	if (!line.trim())
		continue;
	lines++;
	const r = JSON.parse(line);
	const d = docs.find((x) => r.path === x.base || r.path.startsWith(x.base + '/'));
	if (!d)
		continue;
	const sub = r.path.slice(d.base.length) || '/';
	const method = r.method.toLowerCase();
	const op = d.ops.find((o) => o.method === method && o.re.test(sub));
	let name, failure = null;
	if (!op) {
		// not a documented operation: a 404/405 of an unknown path must still be the
		// profile's error shape (components/responses/NotFound)
		name = `${d.file} ${r.method} (undocumented path) ${r.status}`;
		const nf = resolve(d.doc, d.doc.components && d.doc.components.responses &&
			d.doc.components.responses.NotFound);
		if (r.status !== 404 && r.status !== 405)
			failure = `${r.method} ${sub} is not in the document (status ${r.status})`;
		else if (!nf)
			failure = 'components.responses.NotFound is missing';
		else {
			const ref = d.id + pointer('components', 'responses', 'NotFound', 'content',
				'application/json', 'schema');
			if (!validators.has(ref))
				validators.set(ref, ajv.compile({ $ref: ref }));
			const v = validators.get(ref);
			if (!v(r.body))
				failure = ajv.errorsText(v.errors, { dataVar: 'body' });
		}
	} else {
		name = `${d.file} ${r.method} ${op.path} ${r.status}`;
		const found = responseFor(op, r.status);
		if (!found)
			failure = `status ${r.status} is not documented`;
		else {
			const resp = resolve(d.doc, found.resp);
			const content = (resp && resp.content) || {};
			const type = (r.type || '').split(';')[0].trim().toLowerCase();
			if (!Object.keys(content).length) {
				if (r.body !== '' && r.body !== null)
					failure = `a body came (${type}) where the document gives none`;
			} else if (!content[type])
				failure = `content type ${type || '(none)'} not among ` +
					Object.keys(content).join(', ');
			else if (content[type].schema && type.endsWith('json')) {
				const v = validatorFor(d, op, found.key, type);
				if (!v(r.body))
					failure = ajv.errorsText(v.errors, { dataVar: 'body' });
			}
		}
	}
	if (!cases.has(name))
		cases.set(name, { n: 0, failures: [] });
	const c = cases.get(name);
	c.n++;
	if (failure && c.failures.length < 3)
		c.failures.push(`${r.file || '?'}: ${failure}: ${JSON.stringify(r.body).slice(0, 300)}`);
	else if (failure)
		c.failures.push(null);
}

let passed = 0, failed = 0;
for (const [name, c] of [...cases.entries()].sort()) {
	if (c.failures.length === 0) {
		passed++;
		console.log(`ok - ${name} (${c.n} replies)`);
	} else {
		failed++;
		console.log(`not ok - ${name} (${c.failures.length} of ${c.n} replies)`);
		for (const f of c.failures.filter(Boolean))
			console.log(`#   ${f}`);
	}
}
if (lines === 0) {
	failed++;
	console.log(`not ok - ${logFile} holds no replies`);
}
console.log(`contract responses: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
