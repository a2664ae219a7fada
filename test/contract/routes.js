#!/usr/bin/env node
// test/contract/routes.js — the bridge's route tables against the OpenAPI documents (issue 17):
// every route of every REST profile is an operation of docs/api/openapi/<profile>.json under
// the document's base path (servers[0].url), with the same SQL function (the operation's
// x-sql-function) and its success status documented; and every operation of a document is a
// route. Path parameters match whatever their names (":id" and "{transactionId}" alike).
//
//   bridge/pg_wallet_bridge --routes | node test/contract/routes.js
//
// Prints one TAP-like line per route and per document, then "contract routes: N passed,
// M failed"; exit 1 on any failure.
'use strict';

const fs = require('fs');
const path = require('path');

const DIR = path.resolve(__dirname, '..', '..', 'docs/api/openapi');
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];
const norm = (p) => p.split('/').map((s) => (/^(:\w+|\{[^}]+\})$/.test(s) ? '{}' : s)).join('/');

const routes = fs.readFileSync(0, 'utf8').split('\n').filter(Boolean).map((l) => {
	const [profile, method, p, fn, status] = l.split(' ');
	return { profile, method: method.toLowerCase(), path: p, fn, status };
});

let passed = 0, failed = 0;
const ok = (name) => { passed++; console.log(`ok - ${name}`); };
const notOk = (name, why) => { failed++; console.log(`not ok - ${name}\n#   ${why}`); };

if (routes.length === 0)
	notOk('routes', 'no routes on stdin (bridge/pg_wallet_bridge --routes)');
const profiles = [...new Set(routes.map((r) => r.profile))];
for (const profile of profiles) {
	const file = path.join(DIR, `${profile}.json`);
	if (!fs.existsSync(file)) {
		notOk(`${profile}: document`, `${path.relative(process.cwd(), file)} is missing`);
		continue;
	}
	const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
	const base = (doc.servers && doc.servers[0] && doc.servers[0].url) || '';
	const ops = new Map();
	for (const [p, item] of Object.entries(doc.paths || {}))
		for (const m of METHODS)
			if (item[m])
				ops.set(`${m} ${norm(base + p)}`, { p, op: item[m], seen: false });
	for (const r of routes.filter((x) => x.profile === profile)) {
		const name = `${profile}: ${r.method.toUpperCase()} ${r.path}`;
		const o = ops.get(`${r.method} ${norm(r.path)}`);
		if (!o) {
			notOk(name, `not in ${profile}.json`);
			continue;
		}
		o.seen = true;
		const fn = o.op['x-sql-function'];
		const rs = o.op.responses || {};
		if (fn !== r.fn)
			notOk(name, `x-sql-function is ${fn}, the route calls ${r.fn}`);
		else if (!rs[r.status])
			notOk(name, `success status ${r.status} is not among the responses`);
		else
			ok(name);
	}
	const extra = [...ops.entries()].filter(([, o]) => !o.seen).map(([k]) => k);
	if (extra.length)
		notOk(`${profile}.json: every operation is a route`, `no route for: ${extra.join(', ')}`);
	else
		ok(`${profile}.json: every operation is a route`);
}
console.log(`contract routes: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
