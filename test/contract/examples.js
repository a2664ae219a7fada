#!/usr/bin/env node
// test/contract/examples.js — every example of the OpenAPI documents (docs/api/openapi) is
// valid against the schema it illustrates: request bodies and responses, inline or shared
// (components.responses, components.examples), so that an example a reader copies is an answer
// the document allows. (The AsyncAPI examples are checked by asyncapi.js.)
//
//   node test/contract/examples.js [DOC...]
//
// Prints one TAP-like line per document (how many examples it holds) and one per invalid
// example, then "contract examples: N passed, M failed"; exit 1 on any failure.
'use strict';

const fs = require('fs');
const path = require('path');
const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats').default;

const ROOT = path.resolve(__dirname, '..', '..');
const DIR = path.join(ROOT, 'docs/api/openapi');
const files = process.argv.length > 2 ? process.argv.slice(2) :
	fs.readdirSync(DIR).filter((f) => f.endsWith('.json')).map((f) => path.join(DIR, f));
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);

const esc = (p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1');
const unesc = (p) => p.replace(/~1/g, '/').replace(/~0/g, '~');

let passed = 0, failed = 0;
for (const file of files) {
	const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
	const id = 'ex:' + path.basename(file);
	ajv.addSchema(doc, id);
	// a $ref inside the document: [its JSON pointer parts, the object]
	const deref = (obj, at) => {
		while (obj && obj.$ref && obj.$ref.startsWith('#/')) {
			at = obj.$ref.slice(2).split('/').map(unesc);
			obj = at.reduce((o, k) => (o ? o[k] : undefined), doc);
		}
		return [at, obj];
	};
	const bad = [];
	let n = 0;
	// one media type object at pointer `at`: its example(s) against its schema
	const media = (at, m, where) => {
		if (!m || !m.schema)
			return;
		const vals = [];
		if (m.example !== undefined)
			vals.push(['example', m.example]);
		for (const [name, e] of Object.entries(m.examples || {})) {
			const [, ex] = deref(e, null);
			if (ex && ex.value !== undefined)
				vals.push([name, ex.value]);
		}
		if (!vals.length)
			return;
		const v = ajv.compile({ $ref: id + '#/' + [...at, 'schema'].map(esc).join('/') });
		for (const [name, value] of vals) {
			n++;
			if (!v(value))
				bad.push(`${where} example "${name}": ${ajv.errorsText(v.errors, { dataVar: 'example' })}`);
		}
	};
	const content = (at, obj, where) => {
		const [rat, r] = deref(obj, at);
		for (const [type, m] of Object.entries((r && r.content) || {}))
			if (type.endsWith('json'))
				media([...rat, 'content', type], m, `${where} ${type}`);
	};
	for (const [p, item] of Object.entries(doc.paths || {}))
		for (const [method, op] of Object.entries(item)) {
			if (!op || typeof op !== 'object' || !op.responses)
				continue;
			const at = ['paths', p, method];
			if (op.requestBody)
				content([...at, 'requestBody'], op.requestBody, `${method.toUpperCase()} ${p} request`);
			for (const [status, resp] of Object.entries(op.responses))
				content([...at, 'responses', status], resp, `${method.toUpperCase()} ${p} ${status}`);
		}
	const name = path.basename(file);
	if (bad.length) {
		failed++;
		console.log(`not ok - ${name}: ${bad.length} of ${n} examples invalid`);
		for (const b of bad.slice(0, 10))
			console.log(`#   ${b}`);
	} else if (n === 0) {
		failed++;
		console.log(`not ok - ${name}: no examples`);
	} else {
		passed++;
		console.log(`ok - ${name}: ${n} examples valid against their schemas`);
	}
}
console.log(`contract examples: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
