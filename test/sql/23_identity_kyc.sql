-- KYC: status and tier, document submissions, admin review (approve with a tier, reject with a
-- reason), resubmission, upgrades, and the tier's limits as /auth/kyc-status reports them.
-- Ids, uuids and times are not printed: their shape is.

CREATE OR REPLACE FUNCTION auth_err(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	d text;
BEGIN
	EXECUTE stmt;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
	RETURN regexp_replace(SQLSTATE || ': ' || SQLERRM || coalesce(' (' || nullif(d, '') || ')', ''),
		'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g');
END
$$;
-- a KYC answer without its ids and times, which are checked for shape instead
CREATE FUNCTION kyc_show(j jsonb) RETURNS jsonb LANGUAGE sql AS $$
	SELECT (j - 'userId' - 'submittedAt' - 'approvedAt' - 'rejectedAt' - 'submissionId'
	          - 'documentId')
		|| CASE WHEN j ? 'documents' THEN jsonb_build_object('documents',
			(SELECT coalesce(jsonb_agg(d - 'documentId' - 'uploadedAt' - 'verifiedAt' - 'rejectedAt'
			                           ORDER BY ord), '[]')
			 FROM jsonb_array_elements(j -> 'documents') WITH ORDINALITY AS e (d, ord)))
		   ELSE '{}' END
$$;
-- the times a KYC answer carries, each checked for the spec's format
CREATE FUNCTION kyc_times(j jsonb) RETURNS text LANGUAGE sql AS $$
	SELECT coalesce(string_agg(k || (CASE WHEN v ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$' THEN ''
	                                      ELSE ' BAD' END), ' ' ORDER BY k), '-')
	FROM (SELECT key AS k, value AS v FROM jsonb_each_text(j) WHERE key LIKE '%At'
	      UNION ALL
	      SELECT format('doc%s.%s', ord, key), value
	      FROM jsonb_array_elements(CASE WHEN j ? 'documents' THEN j -> 'documents'
	                                     ELSE '[]' END) WITH ORDINALITY AS e (d, ord),
	           jsonb_each_text(d) WHERE key LIKE '%At') t
$$;

SELECT principal_id AS kate FROM pg_wallet.register_user('kate@kyc.example.com', 'KatePass1',
	'Kate', 'Kyc', '0711000111') \gset
SELECT access_token AS tok FROM pg_wallet.login('kate@kyc.example.com', 'KatePass1') \gset
SELECT principal_id AS admin FROM pg_wallet.create_principal('admin', 'admin@kyc.example.com',
	'AdminPass1', 'Ada', 'Admin') \gset
SELECT access_token AS admin_tok FROM pg_wallet.login('admin@kyc.example.com', 'AdminPass1') \gset

-- ---------------------------------------------------------------------------------------
-- The tier limits table (kept exactly for the money rules) and its defaults
-- ---------------------------------------------------------------------------------------
SELECT tier, currency, per_transaction_max_minor, daily_max_minor, monthly_max_minor,
	transactions_per_day
FROM pg_wallet.kyc_tier_limits ORDER BY currency, tier;
SELECT auth_err($$INSERT INTO pg_wallet.kyc_tier_limits VALUES (4, 'KES', 1, 1, 1, 1)$$);
SELECT auth_err($$INSERT INTO pg_wallet.kyc_tier_limits VALUES (1, 'EUR', 10, 5, 100, 1)$$);

-- ---------------------------------------------------------------------------------------
-- A new user: PENDING, tier 0, tier 0 limits
-- ---------------------------------------------------------------------------------------
SELECT kyc_show(j), j ->> 'userId' = :'kate' AS own_status, kyc_times(j)
FROM pg_wallet.kyc_status(:'tok') j;
SELECT kyc_show(pg_wallet.kyc_status(:'tok', 'USD')) -> 'limits' AS usd_limits;
SELECT pg_wallet.kyc_status(:'tok', 'JPY') ? 'limits' AS jpy_has_limits;
SELECT auth_err(format('SELECT pg_wallet.kyc_status(%L, ''XXX'')', :'tok'));
SELECT auth_err($$SELECT pg_wallet.kyc_status('garbage')$$);

-- ---------------------------------------------------------------------------------------
-- Submitting documents
-- ---------------------------------------------------------------------------------------
SELECT kyc_show(j), j ->> 'submissionId' ~ '^kyc-submission-\d+$' AS submission_id_shape
FROM pg_wallet.kyc_submit_document(:'tok', 'national_id', 's3://kyc-docs/kate/id-front.jpg',
	encode(sha256('kate national id'), 'hex'),
	'{"firstName": "Kate", "lastName": "Kyc", "idNumber": "12345678"}') j;
-- the same document again while it waits: one submission
SELECT kyc_show(j) FROM pg_wallet.kyc_submit_document(:'tok', 'national_id',
	's3://kyc-docs/kate/id-front.jpg', upper(encode(sha256('kate national id'), 'hex'))) j;
SELECT kyc_show(j) FROM pg_wallet.kyc_submit_document(:'tok', 'selfie',
	's3://kyc-docs/kate/selfie.jpg', encode(sha256('kate selfie'), 'hex')) j;
SELECT kyc_show(j), kyc_times(j) FROM pg_wallet.kyc_status(:'tok') j;
-- stored: reference and hash, never the bytes
SELECT document_type, reference, encode(sha256, 'hex') = encode(sha256('kate selfie'),
	'hex') AS hash_ok,
	status
FROM pg_wallet.kyc_documents WHERE principal_id = :'kate' AND document_type = 'selfie';
-- refusals
SELECT auth_err(format('SELECT pg_wallet.kyc_submit_document(%L, ''library_card'', ''s3://x'', %L)',
	:'tok', repeat('a', 64)));
SELECT auth_err(format(
	'SELECT pg_wallet.kyc_submit_document(%L, ''passport'', ''s3://x'', ''abc'')', :'tok'));
SELECT auth_err(format('SELECT pg_wallet.kyc_submit_document(%L, ''passport'', ''s3://x'', %L)',
	:'tok', repeat('g', 64)));
SELECT auth_err(format('SELECT pg_wallet.kyc_submit_document(%L, ''passport'', '''', %L)', :'tok',
	repeat('a', 64)));
SELECT auth_err(format('SELECT pg_wallet.kyc_submit_document(%L, ''passport'', %L, %L)', :'tok',
	repeat('r', 501), repeat('a', 64)));
SELECT auth_err(format(
	'SELECT pg_wallet.kyc_submit_document(%L, ''passport'', ''s3://x'', %L, ''[]'')', :'tok',
	repeat('a', 64)));
SELECT auth_err(format('SELECT pg_wallet.kyc_submit_document(%L, ''passport'', ''s3://x'', %L, %L)',
	:'tok', repeat('a', 64),
	jsonb_build_object('blob', repeat('x', 5000))));
-- admins and services do not have KYC
SELECT auth_err(format('SELECT pg_wallet.kyc_submit_document(%L, ''passport'', ''s3://x'', %L)',
	:'admin_tok', repeat('a', 64)));

-- ---------------------------------------------------------------------------------------
-- Review (admin only)
-- ---------------------------------------------------------------------------------------
SELECT auth_err(format('SELECT pg_wallet.kyc_review(%L, %L, ''APPROVE'', 2)', :'tok', :'kate'));
SELECT auth_err(format('SELECT pg_wallet.kyc_pending_reviews(%L)', :'tok'));
SELECT auth_err(format('SELECT pg_wallet.kyc_review(%L, %L, ''APPROVE'', 2)', :'admin_tok',
	:'admin'));
SELECT auth_err(format('SELECT pg_wallet.kyc_review(%L, %L, ''APPROVE'', 2)', :'admin_tok',
	gen_random_uuid()));
SELECT auth_err(format('SELECT pg_wallet.kyc_review(%L, %L, ''MAYBE'', 2)', :'admin_tok', :'kate'));
SELECT auth_err(format('SELECT pg_wallet.kyc_review(%L, %L, ''APPROVE'')', :'admin_tok', :'kate'));
SELECT auth_err(format('SELECT pg_wallet.kyc_review(%L, %L, ''APPROVE'', 4)', :'admin_tok',
	:'kate'));
SELECT auth_err(format('SELECT pg_wallet.kyc_review(%L, %L, ''REJECT'')', :'admin_tok', :'kate'));
SELECT auth_err(format('SELECT pg_wallet.kyc_review(%L, %L, ''REJECT'', NULL, ''Bad Reason!'')',
	:'admin_tok', :'kate'));
-- pending reviews, oldest first
SELECT d ->> 'documentType' AS document_type, d ->> 'status' AS status, d ->> 'role' AS role,
	d ->> 'userId' = :'kate' AS kate
FROM jsonb_array_elements(pg_wallet.kyc_pending_reviews(:'admin_tok')) d
WHERE d ->> 'userId' = :'kate';
SELECT jsonb_array_length(pg_wallet.kyc_pending_reviews(:'admin_tok', 1)) AS one_per_page;
SELECT auth_err(format('SELECT pg_wallet.kyc_pending_reviews(%L, 0)', :'admin_tok'));
-- approve at tier 2: documents verified, the Tribble tier-2 limits apply
SELECT kyc_show(j), kyc_times(j) FROM pg_wallet.kyc_review(:'admin_tok', :'kate', 'approve', 2) j;
SELECT kyc_show(j), kyc_times(j) FROM pg_wallet.kyc_status(:'tok') j;
SELECT auth_err(format('SELECT pg_wallet.kyc_review(%L, %L, ''APPROVE'', 3)', :'admin_tok',
	:'kate'));
-- the tier is what authenticate() and login report from now on
SELECT kyc_status, kyc_tier FROM pg_wallet.authenticate(:'tok');
SELECT kyc_status, kyc_tier FROM pg_wallet.login('kate@kyc.example.com', 'KatePass1');

-- an upgrade request keeps the approval while it waits, and if it is refused
SELECT kyc_show(j) FROM pg_wallet.kyc_submit_document(:'tok', 'proof_of_address',
	's3://kyc-docs/kate/bill.pdf', encode(sha256('kate bill'), 'hex')) j;
SELECT j ->> 'kycStatus' AS kyc_status,
	j ->> 'kycTier' AS kyc_tier FROM pg_wallet.kyc_status(:'tok') j;
SELECT kyc_show(j), kyc_times(j) FROM pg_wallet.kyc_review(:'admin_tok', :'kate', 'REJECT', NULL,
	'document_expired', 'The utility bill is older than 3 months.') j;
SELECT kyc_show(j), kyc_times(j) FROM pg_wallet.kyc_status(:'tok') j;
-- a successful upgrade clears the rejection
SELECT kyc_show(j) ->> 'status' AS status FROM pg_wallet.kyc_submit_document(:'tok',
	'proof_of_address',
	's3://kyc-docs/kate/bill-2.pdf', encode(sha256('kate bill 2'), 'hex')) j;
SELECT kyc_show(j) FROM pg_wallet.kyc_review(:'admin_tok', :'kate', 'APPROVE', 3) j;
SELECT kyc_show(j) - 'documents' AS status FROM pg_wallet.kyc_status(:'tok') j;

-- ---------------------------------------------------------------------------------------
-- Rejection, resubmission, approval
-- ---------------------------------------------------------------------------------------
SELECT principal_id AS ken FROM pg_wallet.register_user('ken@kyc.example.com', 'KenPass12',
	'Ken', 'Kyc', '0711000222') \gset
SELECT access_token AS ken_tok FROM pg_wallet.login('ken@kyc.example.com', 'KenPass12') \gset
SELECT auth_err(format(
	'SELECT pg_wallet.kyc_review(%L, %L, ''REJECT'', NULL, ''invalid_documents'')', :'admin_tok',
	:'ken'));
SELECT kyc_show(j) ->> 'status' AS status FROM pg_wallet.kyc_submit_document(:'ken_tok', 'passport',
	's3://kyc-docs/ken/passport.jpg', encode(sha256('ken passport'), 'hex')) j;
SELECT kyc_show(j), kyc_times(j) FROM pg_wallet.kyc_review(:'admin_tok', :'ken', 'REJECT', NULL,
	'invalid_documents', 'Submitted documents do not match') j;
SELECT kyc_show(j), kyc_times(j) FROM pg_wallet.kyc_status(:'ken_tok') j;
SELECT kyc_show(j) ->> 'status' AS status FROM pg_wallet.kyc_submit_document(:'ken_tok', 'passport',
	's3://kyc-docs/ken/passport-2.jpg', encode(sha256('ken passport 2'), 'hex')) j;
SELECT kyc_show(j) - 'documents' AS status FROM pg_wallet.kyc_status(:'ken_tok') j;
SELECT kyc_show(j) FROM pg_wallet.kyc_review(:'admin_tok', :'ken', 'APPROVE', 1) j;
SELECT kyc_show(j), kyc_times(j) FROM pg_wallet.kyc_status(:'ken_tok', 'USD') j;

-- the audit trail of decisions
SELECT p.email, r.decision, r.tier, r.reason, r.reviewer_id = :'admin' AS by_admin
FROM pg_wallet.kyc_reviews r JOIN pg_wallet.principals p ON p.id = r.principal_id
WHERE p.email LIKE '%@kyc.example.com' ORDER BY r.id;
-- an operator reads any principal's status (no token)
SELECT j ->> 'kycStatus' AS kyc_status, j ->> 'kycTier' AS kyc_tier
FROM pg_wallet.kyc_status_of(:'ken') j;
SELECT auth_err(format('SELECT pg_wallet.kyc_status_of(%L)', gen_random_uuid()));
