-- Receipts (issue 13, docs/receipts.md): one signed receipt per posted journal, issued on
-- first request; receipt_verify checks a document against its signature, across a key
-- rotation; the URL's token opens receipt_layout, a wrong token or name does not; a journal
-- that is not posted has no receipt.
SET client_min_messages = warning;
CREATE FUNCTION rc_err(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE stmt;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
SELECT pg_wallet.create_owner('user', 'Receipt A') AS a \gset
SELECT pg_wallet.create_owner('user', 'Receipt B') AS b \gset
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:a, 'KES', 'WALLET', 'RC-A-0001')
	UNION ALL SELECT pg_wallet.create_account(:b, 'KES', 'WALLET', 'RC-B-0002')) x;
SELECT status FROM pg_wallet.credit('RC-A-0001', 100, 'SYS-SUSPENSE-KES');
SELECT journal_id AS j FROM pg_wallet.transfer('RC-A-0001', 'RC-B-0002', 12.5, 'rc-1',
	'tea & <cake>') \gset

SELECT receipt_id AS rid, signature AS sig FROM pg_wallet.receipt_issue(:j) \gset
SELECT document - 'receiptId' - 'transactionId' - 'postedAt' AS document,
	document ->> 'receiptId' = receipt_id AS own_id
FROM pg_wallet.receipts WHERE journal_id = :j;
-- the same receipt on every later request
SELECT receipt_id = :'rid' AS same, signature = :'sig' AS same_signature
FROM pg_wallet.receipt_issue(:j);
-- the signature: of exactly this document, by a key of this database
SELECT pg_wallet.receipt_verify(document, :'sig') AS verifies,
	pg_wallet.receipt_verify(jsonb_set(document, '{amount}', '125.00'), :'sig') AS changed,
	pg_wallet.receipt_verify(document, 'v1.1.' || repeat('A', 43)) AS forged,
	pg_wallet.receipt_verify(document, 'garbage') AS garbage,
	pg_wallet.receipt_verify(document, NULL) AS missing
FROM pg_wallet.receipts WHERE journal_id = :j;
-- a rotation: new receipts are signed with the new key, old ones still verify
SELECT pg_wallet.receipt_rotate_key() > 0 AS rotated;
SELECT journal_id AS j2 FROM pg_wallet.transfer('RC-A-0001', 'RC-B-0002', 1) \gset
SELECT r2.key_id <> r1.key_id AS new_key, pg_wallet.receipt_verify(r1.document, r1.signature)
	AND pg_wallet.receipt_verify(r2.document, r2.signature) AS both_verify
FROM pg_wallet.receipts r1, pg_wallet.receipt_issue(:j2) r2 WHERE r1.journal_id = :j;
-- the page for people: the URL's token opens it, nothing else does
SELECT split_part(pg_wallet.receipt_url(r, 'https://pay.example', 'pdf'), 'token=', 2) AS tok,
	pg_wallet.receipt_url(r, 'https://pay.example', 'pdf') LIKE
		'https://pay.example/receipts/' || :'rid' || '.pdf?token=%' AS url
FROM pg_wallet.receipts r WHERE journal_id = :j \gset
SELECT :'url' AS url;
SELECT l ->> 'format' AS format, split_part(l ->> 'lines', E'\n', 1) AS title,
	(SELECT string_agg(split_part(x, E'\t', 1), ', ')
	 FROM unnest(string_to_array(l ->> 'lines', E'\n')) WITH ORDINALITY AS u (x, n)
	 WHERE n > 1) AS labels,
	position(E'Description\ttea & <cake>' IN l ->> 'lines') > 0 AS description
FROM pg_wallet.receipt_layout(:'rid' || '.html', :'tok') l;
SELECT rc_err(format('SELECT pg_wallet.receipt_layout(%L, %L)', :'rid' || '.pdf',
	'AAAAAAAAAAAAAAAAAAAAAA'));
SELECT rc_err(format('SELECT pg_wallet.receipt_layout(%L, %L)', :'rid' || '.doc', :'tok'));
SELECT rc_err(format('SELECT pg_wallet.receipt_layout(%L, %L)',
	'rcpt-00000000000000000000000000000000.pdf', :'tok'));
SELECT rc_err('SELECT pg_wallet.receipt_layout(NULL, NULL)');
-- no receipt for what is not a posted journal
SELECT rc_err('SELECT pg_wallet.receipt_issue(999999999)');
-- the keys and receipts are nobody's but the functions'
SELECT has_table_privilege('public', 'pg_wallet.receipt_keys', 'SELECT') AS public_keys,
	has_function_privilege('public', 'pg_wallet.receipt_issue(bigint)', 'EXECUTE') AS issue;
SELECT count(*) AS unverified FROM pg_wallet.verify_ledger();
