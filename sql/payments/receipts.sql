-- Receipts (issue 13; tribble-rest-api.md "Receipts", docs/receipts.md): every posted journal
-- has one receipt, issued when first asked for (receipt_issue): a public id, the document it
-- states (amount, fee, currency, masked accounts, type, description, time) and a signature,
-- HMAC-SHA256 under a server key over the document's canonical text (jsonb's text form,
-- numbers trimmed), which receipt_verify checks. A person reads it at a URL that carries its
-- own capability token (receipt_url_token: an HMAC of the receipt id, so a URL cannot be guessed or forged), as
-- HTML or PDF rendered by the bridge from receipt_layout (bridge/document.c): what a receipt
-- says is written once, here.

-- The active signing key, created (pg_strong_random) on first use.
CREATE OR REPLACE FUNCTION pg_wallet._receipt_key()
RETURNS pg_wallet.receipt_keys
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	k pg_wallet.receipt_keys;
BEGIN
	SELECT * INTO k FROM pg_wallet.receipt_keys WHERE is_active;
	IF NOT FOUND THEN
		INSERT INTO pg_wallet.receipt_keys (secret) VALUES (pg_wallet._random_bytes(32))
		ON CONFLICT (is_active) WHERE is_active DO NOTHING;
		SELECT * INTO k FROM pg_wallet.receipt_keys WHERE is_active;
	END IF;
	RETURN k;
END
$$;
COMMENT ON FUNCTION pg_wallet._receipt_key() IS
	'Internal: the active receipt signing key, created on first use.';

CREATE OR REPLACE FUNCTION pg_wallet.receipt_rotate_key()
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	UPDATE pg_wallet.receipt_keys SET is_active = false WHERE is_active;
	RETURN (pg_wallet._receipt_key()).id;
END
$$;
COMMENT ON FUNCTION pg_wallet.receipt_rotate_key() IS
	'Administration: a new active receipt signing key (its id); receipts signed with older '
	'keys still verify.';

CREATE OR REPLACE FUNCTION pg_wallet._receipt_mac(secret bytea, label text, data text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_wallet.base64url_encode(pg_wallet._hmac_sha256(secret,
		convert_to(label || ':' || data, 'UTF8')))
$$;
COMMENT ON FUNCTION pg_wallet._receipt_mac(bytea, text, text) IS
	'Internal: base64url(HMAC-SHA256(secret, label || '':'' || data)); the label keeps the '
	'signature and the URL token apart.';

-- The canonical text of a receipt document, the bytes its signature covers: the jsonb text of
-- the (flat) document with every number's trailing zeros trimmed, so that a client that
-- parses the JSON and writes it back (120.50 becomes 120.5) still has the signed document.
CREATE OR REPLACE FUNCTION pg_wallet._receipt_canonical(document jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce(jsonb_object_agg(d.key, CASE jsonb_typeof(d.value)
			WHEN 'number' THEN to_jsonb(trim_scale(d.value::text::numeric))
			ELSE d.value END), '{}'::jsonb)::text
	FROM jsonb_each(CASE jsonb_typeof(document) WHEN 'object' THEN document
		ELSE '{}'::jsonb END) d
$$;
COMMENT ON FUNCTION pg_wallet._receipt_canonical(jsonb) IS
	'Internal: the bytes a receipt signature covers: the document''s jsonb text with every '
	'number written without trailing zeros (120.50 and 120.5 sign alike).';

-- The signature of a receipt document: v1.<key id>.<base64url HMAC-SHA256 of
-- "receipt:" || the canonical text of the document (_receipt_canonical)>.
CREATE OR REPLACE FUNCTION pg_wallet.receipt_verify(document jsonb, signature text)
RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	parts text[];
	k pg_wallet.receipt_keys;
BEGIN
	IF document IS NULL OR signature IS NULL OR length(signature) > 100
		OR signature !~ '^v1\.[0-9]{1,9}\.[A-Za-z0-9_-]{43}$' THEN
		RETURN false;
	END IF;
	parts := string_to_array(signature, '.');
	SELECT * INTO k FROM pg_wallet.receipt_keys WHERE id = parts[2]::integer;
	RETURN FOUND AND pg_wallet._ct_equal(
		convert_to(pg_wallet._receipt_mac(k.secret, 'receipt',
			pg_wallet._receipt_canonical(document)), 'UTF8'),
		convert_to(parts[3], 'UTF8'));
END
$$;
COMMENT ON FUNCTION pg_wallet.receipt_verify(jsonb, text) IS
	'Whether a receipt''s digitalSignature was made by this database over exactly this '
	'document: v1.<key id>.<base64url(HMAC-SHA256(key, ''receipt:'' || canonical text))>, '
	'the canonical text being the document''s jsonb text with numbers trimmed (docs/receipts.md).';

-- What the receipt of a posted journal states: the payer and payee are the first debited and
-- the first credited account, masked to their last four characters.
CREATE OR REPLACE FUNCTION pg_wallet._receipt_document(journal_id bigint, receipt_id text)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_build_object(
		'receiptId', receipt_id,
		'transactionId', pg_wallet.receipt_code(j.id, j.created_at),
		'type', j.journal_type,
		'amount', pg_wallet.amount_format(cr.amount, ca.currency),
		'fee', pg_wallet.amount_format(j.fee_minor, ca.currency),
		'currency', ca.currency,
		'from', '****' || right(da.account_number, 4),
		'to', '****' || right(ca.account_number, 4),
		'description', j.description,
		'status', 'COMPLETED',
		'postedAt', to_char(j.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
	FROM pg_wallet.journals j
	JOIN LATERAL (SELECT e.* FROM pg_wallet.entries e WHERE e.journal_id = j.id
		AND e.side = 'DR' ORDER BY e.leg LIMIT 1) dr ON true
	JOIN LATERAL (SELECT e.* FROM pg_wallet.entries e WHERE e.journal_id = j.id
		AND e.side = 'CR' ORDER BY e.leg LIMIT 1) cr ON true
	JOIN pg_wallet.accounts da ON da.id = dr.account_id
	JOIN pg_wallet.accounts ca ON ca.id = cr.account_id
	WHERE j.id = _receipt_document.journal_id AND j.status = 'POSTED'
$$;
COMMENT ON FUNCTION pg_wallet._receipt_document(bigint, text) IS
	'Internal: the document of the receipt of a posted journal (NULL when it is not one).';

CREATE OR REPLACE FUNCTION pg_wallet.receipt_issue(journal_id bigint)
RETURNS pg_wallet.receipts
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r pg_wallet.receipts;
	k pg_wallet.receipt_keys;
	rid text;
	doc jsonb;
BEGIN
	SELECT * INTO r FROM pg_wallet.receipts x WHERE x.journal_id = receipt_issue.journal_id;
	IF FOUND THEN
		RETURN r;
	END IF;
	rid := 'rcpt-' || encode(pg_wallet._random_bytes(16), 'hex');
	doc := pg_wallet._receipt_document(receipt_issue.journal_id, rid);
	IF doc IS NULL THEN
		RAISE EXCEPTION 'transaction not found' USING ERRCODE = 'WL014';
	END IF;
	k := pg_wallet._receipt_key();
	INSERT INTO pg_wallet.receipts (receipt_id, journal_id, document, key_id, signature)
	VALUES (rid, receipt_issue.journal_id, doc, k.id,
		'v1.' || k.id || '.' || pg_wallet._receipt_mac(k.secret, 'receipt',
			pg_wallet._receipt_canonical(doc)))
	ON CONFLICT ON CONSTRAINT receipts_journal_id_key DO NOTHING;
	-- a concurrent first request issued it: that one is the receipt
	SELECT * INTO r FROM pg_wallet.receipts x WHERE x.journal_id = receipt_issue.journal_id;
	RETURN r;
END
$$;
COMMENT ON FUNCTION pg_wallet.receipt_issue(bigint) IS
	'The receipt of a posted journal, issued and signed on first call (the same one after); '
	'WL014 when the journal is not a posted one. No caller check: the api_* functions check '
	'that the transaction is the caller''s.';

-- The capability token of a receipt's URL: the first 22 characters (132 bits) of an HMAC of
-- its id under the key that signed it.
CREATE OR REPLACE FUNCTION pg_wallet._receipt_url_token(r pg_wallet.receipts)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT left(pg_wallet._receipt_mac(k.secret, 'receipt-url', r.receipt_id), 22)
	FROM pg_wallet.receipt_keys k WHERE k.id = r.key_id
$$;
COMMENT ON FUNCTION pg_wallet._receipt_url_token(pg_wallet.receipts) IS
	'Internal: the token a receipt''s public URL carries (HMAC of its id, 22 characters).';

CREATE OR REPLACE FUNCTION pg_wallet.receipt_url(r pg_wallet.receipts, base text, format text)
RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce(base, '') || '/receipts/' || r.receipt_id || '.' || format || '?token='
		|| pg_wallet._receipt_url_token(r)
$$;
COMMENT ON FUNCTION pg_wallet.receipt_url(pg_wallet.receipts, text, text) IS
	'The URL a person opens a receipt at (format html or pdf): base (the bridge''s public URL '
	'and profile path) || /receipts/<receiptId>.<format>?token=<capability token>.';

-- The lines of a receipt as a person reads them: a title, then "label<TAB>value" lines.
CREATE OR REPLACE FUNCTION pg_wallet._receipt_lines(r pg_wallet.receipts)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT 'Payment receipt' || E'\n' || string_agg(l.label || E'\t' ||
		translate(l.value, E'\t\n\r', '   '), E'\n' ORDER BY l.n)
	FROM (VALUES
		(1, 'Receipt', r.document ->> 'receiptId'),
		(2, 'Transaction', r.document ->> 'transactionId'),
		(3, 'Status', r.document ->> 'status'),
		(4, 'Type', r.document ->> 'type'),
		(5, 'Amount', (r.document ->> 'amount') || ' ' || (r.document ->> 'currency')),
		(6, 'Fee', (r.document ->> 'fee') || ' ' || (r.document ->> 'currency')),
		(7, 'From', r.document ->> 'from'),
		(8, 'To', r.document ->> 'to'),
		(9, 'Description', r.document ->> 'description'),
		(10, 'Date (UTC)', replace(replace(r.document ->> 'postedAt', 'T', ' '), 'Z', '')),
		(11, 'Signature', r.signature)) AS l (n, label, value)
	WHERE l.value IS NOT NULL
$$;
COMMENT ON FUNCTION pg_wallet._receipt_lines(pg_wallet.receipts) IS
	'Internal: a receipt as a title line and label<TAB>value lines (the bridge renders them '
	'as HTML or PDF).';

-- GET <base>/receipts/<receiptId>.<html|pdf>?token=...: no bearer; the token is the
-- capability. An unknown receipt and a wrong token are the same 404.
CREATE OR REPLACE FUNCTION pg_wallet.receipt_layout(file text, token text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m text[] := regexp_match(left(file, 64), '^(rcpt-[0-9a-f]{32})\.(html|pdf)$');
	r pg_wallet.receipts;
BEGIN
	IF m IS NOT NULL AND length(token) <= 64 THEN
		SELECT * INTO r FROM pg_wallet.receipts x WHERE x.receipt_id = m[1];
	END IF;
	IF r.id IS NULL OR NOT pg_wallet._ct_equal(
			convert_to(pg_wallet._receipt_url_token(r), 'UTF8'), convert_to(token, 'UTF8')) THEN
		RAISE EXCEPTION 'receipt not found' USING ERRCODE = 'WL014';
	END IF;
	RETURN jsonb_build_object('format', m[2], 'lines', pg_wallet._receipt_lines(r));
END
$$;
COMMENT ON FUNCTION pg_wallet.receipt_layout(text, text) IS
	'A receipt for a person, by its URL''s file name (<receiptId>.html or .pdf) and token: '
	'{"format", "lines": title, then label<TAB>value lines}; WL014 for an unknown receipt or '
	'a wrong token alike.';
