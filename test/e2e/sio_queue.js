// test/e2e/sio_queue.js — a socket.io client's frames queued for a scenario (the
// socketio_*.js clients): queued(socket) records every connect, connect_error, disconnect and
// Tribble event as it comes and adds next(ms), which resolves with the next one (or
// {kind: 'timeout'} after ms), and pending(), what is queued and not read yet.
'use strict';

const EVENTS = ['transaction:completed', 'subscription:charged', 'dispute:created',
	'fraud:risk_alert'];

function queued(s) {
	const q = { frames: [], waiters: [] };
	const push = (f) => { if (q.waiters.length) q.waiters.shift()(f); else q.frames.push(f); };
	s.on('connect', () => push({ kind: 'connect', recovered: s.recovered }));
	s.on('connect_error', (e) => push({ kind: 'connect_error', message: e.message, data: e.data }));
	s.on('disconnect', (reason) => push({ kind: 'disconnect', reason }));
	for (const ev of EVENTS)
		s.on(ev, (data, offset) => push({ kind: 'event', event: ev, data, offset }));
	s.next = (ms = 15000) => new Promise((res) => {
		if (q.frames.length) return res(q.frames.shift());
		const t = setTimeout(() => { q.waiters.shift(); res({ kind: 'timeout' }); }, ms);
		q.waiters.push((f) => { clearTimeout(t); res(f); });
	});
	s.pending = () => q.frames.slice();
	return s;
}

module.exports = { queued };
