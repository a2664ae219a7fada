#!/usr/bin/env node
// test/contract/asyncapi.js — the AsyncAPI documents of the bridge's WebSocket interfaces
// (docs/api/asyncapi/*.json: the cashier WebSocket and Tribble's socket.io events) are valid
// AsyncAPI 3.0 documents: each is parsed with @asyncapi/parser, which validates it against
// the specification's JSON Schema, checks its references and runs its built-in rules; and
// every example of a message validates against the message's payload schema (the parser
// does not check that), as test/contract/messages.js validates the recorded frames.
//
//   node test/contract/asyncapi.js [DOC...]
//
// DOC: the documents (default: every docs/api/asyncapi/*.json). Prints "ok - FILE" or
// "not ok - FILE" with each diagnostic of severity error under it, warnings as "#" lines
// either way, then "contract asyncapi: N passed, M failed"; exit 1 on any failure.
'use strict';

const fs = require('fs');
const path = require('path');
const { Parser, DiagnosticSeverity } = require('@asyncapi/parser');
const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats').default;

const ROOT = path.resolve(__dirname, '..', '..');
const DIR = path.join(ROOT, 'docs/api/asyncapi');
const files = process.argv.length > 2 ? process.argv.slice(2) :
	fs.readdirSync(DIR).filter((f) => f.endsWith('.json')).sort()
		.map((f) => path.join(DIR, f));

// A diagnostic on one line: its rule, where (the JSON path) and what.
function describe(d) {
	const where = d.path && d.path.length ? d.path.join('.') : '(document)';
	const line = d.range && d.range.start ? ` (line ${d.range.start.line + 1})` : '';
	return `${d.code}: ${where}${line}: ${d.message}`;
}

// The examples of the document's messages that do not validate against their payload.
function badExamples(doc) {
	const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
	addFormats(ajv);
	// "id" is AsyncAPI's identifier, not a JSON Schema keyword: leave it out of the copy
	ajv.addSchema(Object.assign({}, doc, { id: undefined }), 'doc');
	const bad = [];
	const messages = (doc.components && doc.components.messages) || {};
	for (const [key, m] of Object.entries(messages)) {
		if (!m || !Array.isArray(m.examples) || !('payload' in m))
			continue;
		const v = ajv.compile({ $ref: `doc#/components/messages/${key}/payload` });
		m.examples.forEach((e, i) => {
			if (e && 'payload' in e && !v(e.payload))
				bad.push(`example-payload: components.messages.${key}.examples.${i} ` +
					`(${e.name || 'unnamed'}): ${ajv.errorsText(v.errors, { dataVar: 'payload' })}`);
		});
	}
	return bad;
}

async function lint(parser, file) {
	const name = path.relative(ROOT, path.resolve(file));
	let text;
	try {
		text = fs.readFileSync(file, 'utf8');
		JSON.parse(text);	// the documents are JSON (the parser would take YAML too)
	} catch (e) {
		return { name, errors: [`not readable as JSON: ${e.message}`], warnings: [] };
	}
	const { document, diagnostics } = await parser.parse(text, { source: path.resolve(file) });
	const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error)
		.map(describe);
	const warnings = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Warning)
		.map(describe);
	if (!document && errors.length === 0)
		errors.push('the parser returned no document');
	else if (document && document.version() !== '3.0.0')
		errors.push(`asyncapi ${document.version()}, not 3.0.0`);
	if (document && errors.length === 0)
		errors.push(...badExamples(JSON.parse(text)));
	return { name, errors, warnings };
}

async function main() {
	const parser = new Parser();
	let passed = 0, failed = 0;
	if (files.length === 0) {
		failed++;
		console.log(`not ok - no document in ${path.relative(ROOT, DIR)}`);
	}
	for (const file of files) {
		const r = await lint(parser, file);
		if (r.errors.length === 0) {
			passed++;
			console.log(`ok - ${r.name}`);
		} else {
			failed++;
			console.log(`not ok - ${r.name}`);
			for (const e of r.errors)
				console.log(`#   error ${e}`);
		}
		for (const w of r.warnings)
			console.log(`#   warning ${w}`);
	}
	console.log(`contract asyncapi: ${passed} passed, ${failed} failed`);
	process.exit(failed ? 1 : 0);
}

main().catch((e) => {
	console.log(`not ok - asyncapi.js crashed: ${e.stack || e}`);
	console.log('contract asyncapi: 0 passed, 1 failed');
	process.exit(1);
});
