-- The payment rules and answers in C (src/payments/, src/partners/events_queue.c,
-- src/core/format.c), through their SQL functions: the field each refusal names (the
-- bridge shows it), characters and not bytes in the length checks, merchantIds in any case
-- or malformed, the dated public ids, the API timestamp, the NOTIFY payload, the summary
-- and answer of a payment and its replay, and the ledger balanced.

CREATE FUNCTION mask69(t text) RETURNS text LANGUAGE sql AS $$
	SELECT regexp_replace(regexp_replace(regexp_replace(t,
		'TXN-[0-9]{8}-', 'TXN-<date>-', 'g'),
		'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g'),
		'"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z"', '"<ts>"', 'g')
$$;

SELECT principal_id AS c, owner_id AS c_owner FROM pg_wallet.register_user('rules-c@example.com',
	'Passw0rd-69', 'Cee', 'Customer', '+254700006901') \gset
SELECT principal_id AS m, owner_id AS m_owner FROM pg_wallet.create_principal('merchant',
	'rules-m@example.com', 'Passw0rd-69') \gset
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:c_owner, 'KES', 'WALLET', 'P69-C')
	UNION ALL SELECT pg_wallet.create_account(:m_owner, 'KES', 'WALLET', 'P69-M')) x;
SELECT status FROM pg_wallet.credit('P69-C', 100, 'SYS-SUSPENSE-KES');

-- each refusal names its field
SELECT err_col(format($$SELECT pg_wallet.payment_create(%L, %L, 1, 'kes')$$, :'c', :'m'));
SELECT err_col(format($$SELECT pg_wallet.payment_create(%L, %L, 0, 'KES')$$, :'c', :'m'));
SELECT err_col(format($$SELECT pg_wallet.payment_create(%L, %L, 1, 'KES',
	description => repeat('é', 201))$$, :'c', :'m'));
SELECT err_col(format($$SELECT pg_wallet.payment_create(%L, %L, 1, 'KES',
	metadata => '"text"')$$, :'c', :'m'));
SELECT err_col(format($$SELECT pg_wallet.payment_create(%L, %L, 1, 'KES', repeat('é', 101))$$,
	:'c', :'m'));
SELECT err_col(format($$SELECT pg_wallet.payment_create(%L, 'not-a-uuid', 1, 'KES')$$, :'c'));
SELECT err_col(format($$SELECT pg_wallet.payment_create(%L, %L, 1, 'USD')$$, :'c', :'m'));
SELECT err_col(format($$SELECT pg_wallet.payment_create(%L, %L, 1, 'KES',
	wallet => repeat('W', 65))$$, :'c', :'m'));
SELECT err_col(format($$SELECT pg_wallet.payment_create(%L, %L, 1, 'KES')$$, :'m', :'m'));
SELECT err_col($$SELECT pg_wallet.payment_create(NULL, NULL, 1, 'KES')$$);
-- characters, not bytes: 200 two-byte characters and a 100-character reference are accepted
SELECT mask69(pg_wallet.payment_create(:'c', :'m', 1, 'KES', repeat('é', 100),
	description => repeat('é', 200)) ->> 'status') AS status;

-- a merchantId in capitals is the same merchant; a malformed one is nobody
-- ((...).p).id: a row IS NOT NULL only when every one of its fields is
SELECT ((pg_wallet._merchant_principal(upper(:'m'))).p).id = :'m' AS upper_found,
	((pg_wallet._merchant_principal(:'m' || 'x')).p).id IS NULL AS longer_not_found,
	((pg_wallet._merchant_principal(:'c')).p).id IS NULL AS user_not_found,
	((pg_wallet._merchant_principal(NULL)).p).id IS NULL AS null_not_found;
SELECT (pg_wallet._payment_merchant(:'m')).id = :'m' AS merchant_row,
	(pg_wallet._payment_customer(:'c')).owner_id = :c_owner AS customer_row,
	(pg_wallet._payment_customer_wallet(:c_owner, 'KES', NULL)).account_number AS wallet,
	(pg_wallet._payment_merchant_account(:m_owner, 'KES')).account_number AS paid_into;

-- the dated ids: six digits at least, never cut
SELECT regexp_replace(pg_wallet._dated_ref('TXN', 5), '[0-9]{8}', '<date>') AS short,
	regexp_replace(pg_wallet._dated_ref('RFD', 12345678), '[0-9]{8}-', '<date>-') AS long,
	pg_wallet._dated_ref('TXN', NULL) IS NULL AS null_id;
-- the API timestamp: UTC, to the second; NULL for an infinite one
SELECT pg_wallet._ts_iso('2025-12-07 13:00:00.987+02') AS ts,
	pg_wallet._ts_iso('infinity') IS NULL AS infinite, pg_wallet._ts_iso(NULL) IS NULL AS null_ts;
-- the NOTIFY payload the bridge routes by
SELECT pg_wallet._event_notification(7, 42, 'transaction:completed', NULL) AS notification,
	mask69(pg_wallet._event_notification(8, 42, 'x', :'c')) AS with_principal;
-- an enqueued event's owners each need their principal
SELECT err_col(format($$SELECT pg_wallet._events_enqueue(ARRAY[%s, %s]::bigint[],
	'transaction:completed', '{}', ARRAY[%L]::uuid[])$$, :c_owner, :m_owner, :'c'));

-- a payment's summary, answer and replay: the same object, replayed true the second time
SELECT pg_wallet.payment_create(:'c', :'m', 2.5, 'KES', 'ref-69', 'Coffee') AS first \gset
SELECT mask69(:'first') AS first;
SELECT mask69(pg_wallet.payment_create(:'c', :'m', 2.5, 'KES', 'ref-69', 'Coffee')::text)
	AS replay;
SELECT (:'first'::jsonb - 'replayed' - 'error') = pg_wallet._payment_summary(p) AS summary_same,
	(pg_wallet._payment_answer(p, true) ->> 'replayed')::boolean AS replayed,
	(pg_wallet._payment_score(p)).decision AS scored
FROM pg_wallet.payments p WHERE p.reference = 'ref-69';
SELECT err_col($$SELECT pg_wallet._payment_summary(NULL)$$);

SELECT ledger_ok();
