-- The one idempotency claim (src/core/idempotency.c): keys are scoped by the owner of the
-- account a request acts for, claimed once in pg_wallet.idempotency_keys whatever the kind of
-- request (posting, hold, deposit, withdrawal), replayed on the same request, refused (WL003)
-- on anything else under the key.

SELECT pg_wallet.create_owner('partner', 'Idem rail') AS rail \gset
SELECT pg_wallet.create_owner('user', 'Idem A') AS a \gset
SELECT pg_wallet.create_owner('user', 'Idem B') AS b \gset
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:rail, 'KES', 'SETTLEMENT', 'I-RAIL', can_overdraw => true)
	UNION ALL SELECT pg_wallet.create_account(:a, 'KES', 'WALLET', 'I-A1')
	UNION ALL SELECT pg_wallet.create_account(:a, 'KES', 'WALLET', 'I-A2')
	UNION ALL SELECT pg_wallet.create_account(:b, 'KES', 'WALLET', 'I-B1')) x;
SELECT status FROM pg_wallet.credit('I-A1', 100, 'I-RAIL', 'fund-a');
SELECT status FROM pg_wallet.credit('I-B1', 100, 'I-RAIL', 'fund-b');

-- one owner's key never replays or refuses another owner's request: both post
SELECT status, replayed FROM pg_wallet.transfer('I-A1', 'I-B1', 1, 'order-1');
SELECT status, replayed FROM pg_wallet.transfer('I-B1', 'I-A1', 2, 'order-1');
SELECT scope = :a AS scope_is_a, kind FROM pg_wallet.idempotency_keys
WHERE key = 'order-1' ORDER BY result_id LIMIT 1;
SELECT count(*) FROM pg_wallet.idempotency_keys WHERE key = 'order-1';

-- the same owner's retry replays; a different request under its key is refused
SELECT status, replayed FROM pg_wallet.transfer('I-A1', 'I-B1', 1, 'order-1');
SELECT err($$SELECT pg_wallet.transfer('I-A1', 'I-B1', 1.5, 'order-1')$$);
SELECT err($$SELECT pg_wallet.transfer('I-A2', 'I-B1', 1, 'order-1')$$);
-- a credit's key is the credited account owner's, like a debit's is the debited one's
SELECT err($$SELECT pg_wallet.credit('I-A2', 5, 'I-RAIL', 'order-1')$$);
SELECT status FROM pg_wallet.credit('I-A2', 5, 'I-RAIL', 'credit-a2');
SELECT scope = :a AS scope_is_a FROM pg_wallet.idempotency_keys WHERE key = 'credit-a2';

-- one key space for every kind: a key a posting used cannot place a hold, and back
SELECT err($$SELECT pg_wallet.place_hold('I-A1', 3, 'I-RAIL', 'order-1')$$);
SELECT hold_id AS h FROM pg_wallet.place_hold('I-A1', 3, 'I-RAIL', 'hold-1') \gset
SELECT replayed, hold_id = :h AS same FROM pg_wallet.place_hold('I-A1', 3, 'I-RAIL', 'hold-1');
SELECT err($$SELECT pg_wallet.place_hold('I-A1', 4, 'I-RAIL', 'hold-1')$$);
SELECT err($$SELECT pg_wallet.transfer('I-A1', 'I-B1', 3, 'hold-1')$$);
-- B may use the key A's hold took
SELECT status FROM pg_wallet.transfer('I-B1', 'I-A1', 3, 'hold-1');
SELECT kind, scope = :a AS scope_is_a FROM pg_wallet.idempotency_keys
WHERE key = 'hold-1' ORDER BY kind, scope;

-- a remembered refusal is the key's result: the retry gets it even once the money is there
SELECT status, sqlstate, replayed
FROM pg_wallet.transfer('I-B1', 'I-A1', 1000, 'big-1', record_refusal => true);
SELECT status FROM pg_wallet.credit('I-B1', 1000, 'I-RAIL');
SELECT status, sqlstate, replayed
FROM pg_wallet.transfer('I-B1', 'I-A1', 1000, 'big-1', record_refusal => true);
SELECT j.status, k.kind, k.scope = :b AS scope_is_b
FROM pg_wallet.idempotency_keys k JOIN pg_wallet.journals j ON j.id = k.result_id
WHERE k.key = 'big-1' AND k.scope IN (:a, :b);

-- batches claim their keys with the same rule, in one statement: an item that repeats an
-- earlier transfer under its key replays it
SELECT item, status, replayed, sqlstate FROM pg_wallet.post_transfers(
	'[{"from": "I-A1", "to": "I-B1", "amount": 1, "idempotency_key": "order-1"},
	  {"from": "I-A1", "to": "I-B1", "amount": 1, "idempotency_key": "batch-2"},
	  {"from": "I-B1", "to": "I-A1", "amount": 1, "idempotency_key": "batch-2b"}]', false);
SELECT item, status, replayed FROM pg_wallet.post_transfers(
	'[{"from": "I-A1", "to": "I-B1", "amount": 1, "idempotency_key": "batch-2"}]', false);

-- keys are bounded
SELECT err(format($$SELECT pg_wallet.transfer('I-A1', 'I-B1', 1, %L)$$, repeat('k', 129)));
SELECT status FROM pg_wallet.transfer('I-A1', 'I-B1', 1, repeat('k', 128));

-- the internal claim functions: a NULL key claims nothing; a bad hash is refused
SELECT pg_wallet._idempotency_find(:a, NULL, 'deposit', '\x00') IS NULL AS null_key;
SELECT err($$SELECT pg_wallet._idempotency_find(1, 'k', 'deposit', '\x00')$$);
-- and nobody but the extension's functions may call them
SELECT has_function_privilege('public', 'pg_wallet._idempotency_record(bigint, text, text, bytea, bigint)', 'EXECUTE') AS public_may_record;

SELECT kind, count(*) FROM pg_wallet.idempotency_keys WHERE scope IN (:a, :b)
GROUP BY kind ORDER BY kind;
SELECT ledger_ok();
