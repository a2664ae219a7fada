-- The batch call: many transfers in one round trip, atomic or per item.

SELECT pg_wallet.create_owner('partner', 'Bank') AS bank \gset
SELECT pg_wallet.create_owner('user', 'Batcher') AS u \gset
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:bank, 'KES', 'SETTLEMENT', 'BANK-KES', can_overdraw => true)
	UNION ALL SELECT pg_wallet.create_account(:u, 'KES', 'WALLET', 'BT-' || i)
	FROM generate_series(1, 5) i) a;
SELECT status FROM pg_wallet.credit('BT-1', 100, 'BANK-KES');

-- atomic: all posted, in order, chained through balances
SELECT item, status, replayed, receipt_code IS NOT NULL AS has_receipt, sqlstate
FROM pg_wallet.post_transfers('[
	{"from": "BT-1", "to": "BT-2", "amount": 60},
	{"from": "BT-2", "to": "BT-3", "amount": "50.50", "description": "onward"},
	{"from": "BT-3", "to": "BT-4", "amount": 50.5, "idempotency_key": "bt-a3",
	 "metadata": {"order": 7}}]');
SELECT bal('BT-1'), bal('BT-2'), bal('BT-3'), bal('BT-4');

-- atomic: one refusal refuses the batch and names the item; nothing is posted
SELECT count(*) AS journals_before FROM pg_wallet.journals \gset
SELECT err($$SELECT * FROM pg_wallet.post_transfers('[
	{"from": "BT-4", "to": "BT-5", "amount": 10},
	{"from": "BT-4", "to": "BT-5", "amount": 41}]')$$);
SELECT err($$SELECT * FROM pg_wallet.post_transfers('[
	{"from": "BT-4", "to": "BT-5", "amount": 10},
	{"from": "BT-4", "to": "NOPE", "amount": 1}]')$$);
SELECT count(*) - :journals_before AS journals_added FROM pg_wallet.journals;
SELECT bal('BT-4'), bal('BT-5');

-- per item: each posted or refused on its own; refusals with keys are recorded
SELECT item, status, replayed, journal_id IS NOT NULL AS has_journal, sqlstate, message
FROM pg_wallet.post_transfers('[
	{"from": "BT-4", "to": "BT-5", "amount": 30, "idempotency_key": "bt-p1"},
	{"from": "BT-4", "to": "BT-5", "amount": 30, "idempotency_key": "bt-p2"},
	{"from": "BT-4", "to": "NOPE", "amount": 1, "idempotency_key": "bt-p3"},
	{"from": "BT-4", "to": "BT-5", "amount": 0.001},
	{"from": "BT-5", "to": "BT-1", "amount": 5},
	{"from": "BT-3", "to": "BT-4", "amount": 50.5, "idempotency_key": "bt-a3",
	 "metadata": {"order": 7}}]', false);
SELECT bal('BT-4'), bal('BT-5'), bal('BT-1');
-- retry of the same batch: every keyed item gets its first answer
SELECT item, status, replayed, sqlstate
FROM pg_wallet.post_transfers('[
	{"from": "BT-4", "to": "BT-5", "amount": 30, "idempotency_key": "bt-p1"},
	{"from": "BT-4", "to": "BT-5", "amount": 30, "idempotency_key": "bt-p2"},
	{"from": "BT-4", "to": "NOPE", "amount": 1, "idempotency_key": "bt-p3"}]', false);
-- a different payload under a used key is a conflict, reported per item
SELECT item, status, sqlstate
FROM pg_wallet.post_transfers('[{"from": "BT-4", "to": "BT-5", "amount": 31,
                                 "idempotency_key": "bt-p1"}]', false);

-- malformed batches are refused whole
SELECT err($$SELECT * FROM pg_wallet.post_transfers('{}')$$);
SELECT err($$SELECT * FROM pg_wallet.post_transfers(NULL)$$);
SELECT err($$SELECT * FROM pg_wallet.post_transfers('[{"from": "BT-4", "amount": 1}]')$$);
SELECT err($$SELECT * FROM pg_wallet.post_transfers('[{"from": "BT-4", "to": "BT-4", "amount": 1}]')$$);
SELECT err($$SELECT * FROM pg_wallet.post_transfers('[
	{"from": "BT-4", "to": "BT-5", "amount": 1, "idempotency_key": "dup"},
	{"from": "BT-4", "to": "BT-5", "amount": 1, "idempotency_key": "dup"}]')$$);
SELECT err($$SELECT * FROM pg_wallet.post_transfers((SELECT jsonb_agg(jsonb_build_object(
	'from', 'BT-4', 'to', 'BT-5', 'amount', 1)) FROM generate_series(1, 5001)))$$);
SELECT count(*) FROM pg_wallet.post_transfers('[]');

-- a large batch: 2000 transfers around a ring, in one call
SELECT status FROM pg_wallet.credit('BT-1', 1000, 'BANK-KES');
SELECT status, count(*) FROM pg_wallet.post_transfers((
	SELECT jsonb_agg(jsonb_build_object('from', 'BT-' || (i % 5 + 1),
	                                    'to', 'BT-' || ((i + 1) % 5 + 1), 'amount', 0.01)
	                 ORDER BY i)
	FROM generate_series(0, 1999) i)) GROUP BY status;
SELECT sum(b.balance) AS user_total FROM generate_series(1, 5) i,
	pg_wallet.get_balance('BT-' || i) b;

SELECT ledger_ok();
