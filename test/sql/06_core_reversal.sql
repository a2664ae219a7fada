-- Reversals: once, mirror entries, linked; not of a reversal; floor unless forced.

SELECT pg_wallet.create_owner('partner', 'Rev partner') AS p \gset
SELECT pg_wallet.create_owner('user', 'Rev user') AS u \gset
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:p, 'KES', 'SETTLEMENT', 'RV-P', can_overdraw => true)
	UNION ALL SELECT pg_wallet.create_account(:u, 'KES', 'WALLET', 'RV-A')
	UNION ALL SELECT pg_wallet.create_account(:u, 'KES', 'WALLET', 'RV-B')) a;

SELECT receipt_code AS dep FROM pg_wallet.credit('RV-A', 100, 'RV-P') \gset
SELECT receipt_code AS pay FROM pg_wallet.transfer('RV-A', 'RV-B', 40) \gset
SELECT bal('RV-A'), bal('RV-B');

-- reverse the payment: B gives 40 back to A
SELECT status, replayed FROM pg_wallet.reverse_journal(:'pay', 'rev-pay', 'customer dispute');
SELECT bal('RV-A'), bal('RV-B');
-- retry with the key: same answer; another attempt: already reversed
SELECT status, replayed FROM pg_wallet.reverse_journal(:'pay', 'rev-pay', 'customer dispute');
SELECT regexp_replace(err(format($$SELECT pg_wallet.reverse_journal(%L, 'rev-pay-2')$$, :'pay')),
                      'RCP-[0-9]{4}-[0-9]{18}', 'RCP-…');
SELECT regexp_replace(err(format($$SELECT pg_wallet.reverse_journal(%L)$$, :'pay')),
                      'RCP-[0-9]{4}-[0-9]{18}', 'RCP-…');
-- the reversal is linked both ways and mirrors every entry
SELECT j->'journal'->>'journal_type' AS type, j->'journal'->>'description' AS description,
       j->'journal'->>'reverses' = :'pay' AS links_original,
       jsonb_path_query_array(j, '$.entries[*].side') AS sides,
       jsonb_path_query_array(j, '$.entries[*].amount') AS amounts
FROM (SELECT pg_wallet.get_journal(
	(SELECT pg_wallet.receipt_code(r.id, r.created_at) FROM pg_wallet.journals r
	 WHERE r.reverses_journal_id = pg_wallet.journal_id_from_receipt(:'pay')))) AS t(j);
SELECT (pg_wallet.get_journal(:'pay')->'journal'->>'reversed_by') IS NOT NULL AS reversed;

-- a reversal cannot be reversed
SELECT pg_wallet.receipt_code(r.id, r.created_at) AS rev FROM pg_wallet.journals r
WHERE r.reverses_journal_id = pg_wallet.journal_id_from_receipt(:'pay') \gset
SELECT regexp_replace(err(format($$SELECT pg_wallet.reverse_journal(%L)$$, :'rev')),
                      'RCP-[0-9]{4}-[0-9]{18}', 'RCP-…');

-- reversing the deposit would take A below its floor once A has spent it
SELECT status FROM pg_wallet.transfer('RV-A', 'RV-B', 90);
SELECT err(format($$SELECT pg_wallet.reverse_journal(%L)$$, :'dep'));
SELECT bal('RV-A');
-- an admin may force it: A goes negative, the ledger stays balanced
SELECT status FROM pg_wallet.force_reverse_journal(:'dep', NULL, 'chargeback from partner');
SELECT bal('RV-A'), bal('RV-P');

-- unknown or malformed receipts
SELECT err($$SELECT pg_wallet.reverse_journal('RCP-2025-000000000000000001')$$);
SELECT err($$SELECT pg_wallet.reverse_journal('nonsense')$$);
SELECT err($$SELECT pg_wallet.reverse_journal(NULL)$$);
SELECT err(format($$SELECT pg_wallet.reverse_journal(%L)$$,
                  regexp_replace(:'pay', '^RCP-[0-9]{4}', 'RCP-1999')));

SELECT ledger_ok();
