-- KYC: status and tier per principal (PENDING, SUBMITTED, APPROVED, REJECTED; tier 0-3),
-- document submissions (a storage reference and a SHA-256, never the bytes), admin review,
-- and the tier's limits (pg_wallet.kyc_tier_limits, enforced by the posting rules).
-- jsonb answers use the Tribble spec's field names (/auth/kyc-status, /auth/submit-kyc,
-- /admin/.../approve|reject).

-- A timestamp as the specs show it: 2025-11-10T10:30:00Z.
CREATE OR REPLACE FUNCTION pg_wallet._iso_time(ts timestamptz)
RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');
END
$$;
COMMENT ON FUNCTION pg_wallet._iso_time(timestamptz) IS
	'Internal: a timestamp in ISO 8601 UTC with a Z (2025-11-10T10:30:00Z).';

CREATE OR REPLACE FUNCTION pg_wallet.kyc_status_of(principal_id uuid, currency text DEFAULT 'KES')
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.principals := pg_wallet._principal_row(principal_id);
	docs jsonb;
	limits jsonb;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_wallet.currencies c WHERE c.code = currency) THEN
		RAISE EXCEPTION 'unknown currency "%"', left(currency, 10) USING ERRCODE = 'WL015';
	END IF;
	SELECT coalesce(jsonb_agg(jsonb_build_object(
			'documentId', d.id, 'documentType', d.document_type, 'status', d.status,
			'uploadedAt', pg_wallet._iso_time(d.uploaded_at),
			'verifiedAt', pg_wallet._iso_time(d.verified_at),
			'rejectedAt', pg_wallet._iso_time(d.rejected_at)) ORDER BY d.id), '[]')
	INTO docs
	FROM (SELECT * FROM pg_wallet.kyc_documents x WHERE x.principal_id = p.id
	      ORDER BY x.id DESC LIMIT 50) d;
	SELECT jsonb_build_object('currency', l.currency,
			'perTransactionLimit', pg_wallet.amount_format(l.per_transaction_max_minor, l.currency),
			'dailyLimit', pg_wallet.amount_format(l.daily_max_minor, l.currency),
			'monthlyLimit', pg_wallet.amount_format(l.monthly_max_minor, l.currency),
			'transactionsPerDay', l.transactions_per_day)
	INTO limits
	FROM pg_wallet.kyc_tier_limits l
	WHERE l.tier = p.kyc_tier AND l.currency = kyc_status_of.currency;
	RETURN jsonb_strip_nulls(jsonb_build_object(
		'userId', p.id, 'kycStatus', p.kyc_status, 'kycTier', p.kyc_tier,
		'submittedAt', pg_wallet._iso_time(p.kyc_submitted_at),
		'approvedAt', pg_wallet._iso_time(p.kyc_approved_at),
		'rejectedAt', pg_wallet._iso_time(p.kyc_rejected_at),
		'rejectionReason', p.kyc_rejection_reason,
		'rejectionMessage', p.kyc_rejection_message,
		'documents', docs, 'limits', limits));
END
$$;
COMMENT ON FUNCTION pg_wallet.kyc_status_of(uuid, text) IS
	'Operator: the KYC status of a principal as /auth/kyc-status shows it: kycStatus, kycTier, '
	'times, documents (the last 50), and the tier''s limits in a currency (from '
	'kyc_tier_limits; absent when none is defined).';

CREATE OR REPLACE FUNCTION pg_wallet.kyc_status(token text, currency text DEFAULT 'KES')
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN pg_wallet.kyc_status_of((pg_wallet.authenticate(token)).principal_id, currency);
END
$$;
COMMENT ON FUNCTION pg_wallet.kyc_status(text, text) IS
	'Tribble GET /auth/kyc-status: the caller''s KYC status, documents and tier limits.';

CREATE OR REPLACE FUNCTION pg_wallet.kyc_submit_document(
	token text,
	document_type text,
	reference text,
	sha256 text,
	ocr jsonb DEFAULT '{}')
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal :=
		pg_wallet.authenticate(token, ARRAY['user', 'merchant', 'client']);
	t timestamptz := pg_wallet._auth_now();
	p pg_wallet.principals := pg_wallet._principal_row(me.principal_id, true);
	digest bytea;
	doc pg_wallet.kyc_documents;
	replayed boolean := false;
BEGIN
	IF document_type IS NULL OR document_type NOT IN ('national_id', 'passport',
		'drivers_license', 'proof_of_address', 'selfie', 'business_registration',
		'tax_certificate', 'bank_statement', 'other') THEN
		RAISE EXCEPTION 'document type is not valid' USING ERRCODE = 'invalid_parameter_value',
			COLUMN = 'document_type', HINT = 'Use national_id, passport, drivers_license, proof_of_address, selfie, '
			       'business_registration, tax_certificate, bank_statement or other.';
	END IF;
	IF reference IS NULL OR length(reference) NOT BETWEEN 1 AND 500 OR reference ~ '[[:cntrl:]]'
	THEN
		RAISE EXCEPTION 'document reference must be 1 to 500 characters'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'reference';
	END IF;
	IF sha256 IS NULL OR sha256 !~ '^[0-9a-fA-F]{64}$' THEN
		RAISE EXCEPTION 'sha256 must be 64 hexadecimal digits'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'sha256';
	END IF;
	IF ocr IS NULL OR jsonb_typeof(ocr) <> 'object' OR octet_length(ocr::text) > 4096 THEN
		RAISE EXCEPTION 'ocr must be a JSON object of at most 4096 bytes'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'ocr';
	END IF;
	digest := decode(lower(sha256), 'hex');
	SELECT * INTO doc FROM pg_wallet.kyc_documents d
	WHERE d.principal_id = p.id AND d.sha256 = digest AND d.status = 'PENDING_REVIEW';
	IF FOUND THEN
		replayed := true;	-- the same document again while it waits: one submission
	ELSE
		IF (SELECT count(*) FROM pg_wallet.kyc_documents d WHERE d.principal_id = p.id) >= 50 THEN
			RAISE EXCEPTION 'at most 50 KYC documents can be submitted'
				USING ERRCODE = 'program_limit_exceeded';
		END IF;
		INSERT INTO pg_wallet.kyc_documents (principal_id, document_type, reference, sha256,
			ocr, uploaded_at)
		VALUES (p.id, document_type, reference, digest, ocr, t)
		RETURNING * INTO doc;
		UPDATE pg_wallet.principals x
		SET kyc_status = CASE WHEN x.kyc_status = 'APPROVED' THEN 'APPROVED' ELSE 'SUBMITTED' END,
			kyc_submitted_at = t, updated_at = now()
		WHERE x.id = p.id;
	END IF;
	RETURN jsonb_build_object(
		'submissionId', 'kyc-submission-' || doc.id,
		'documentId', doc.id,
		'documentType', doc.document_type,
		'status', 'SUBMITTED',
		'documentsSubmitted', (SELECT count(*) FROM pg_wallet.kyc_documents d
		                       WHERE d.principal_id = p.id AND d.status = 'PENDING_REVIEW'),
		'estimatedReviewTime', '2-3 days',
		'replayed', replayed,
		'message', 'KYC documents submitted successfully');
END
$$;
COMMENT ON FUNCTION pg_wallet.kyc_submit_document(text, text, text, text, jsonb) IS
	'Tribble POST /auth/submit-kyc: record a document (type, storage reference, SHA-256 hex, '
	'OCR fields) for review; KYC status becomes SUBMITTED (an APPROVED principal stays '
	'APPROVED while an upgrade is reviewed). The same pending document again is one '
	'submission (replayed). Roles user, merchant, client.';

CREATE OR REPLACE FUNCTION pg_wallet.kyc_review(
	token text,
	principal_id uuid,
	decision text,
	tier integer DEFAULT NULL,
	reason text DEFAULT NULL,
	message text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	admin pg_wallet.auth_principal := pg_wallet.authenticate(token, ARRAY['admin']);
	t timestamptz := pg_wallet._auth_now();
	p pg_wallet.principals := pg_wallet._principal_row(principal_id, true);
	pending integer;
BEGIN
	IF decision IS NULL OR upper(decision) NOT IN ('APPROVE', 'REJECT') THEN
		RAISE EXCEPTION 'decision must be APPROVE or REJECT'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF admin.principal_id = p.id THEN
		RAISE EXCEPTION 'forbidden: an administrator cannot review their own KYC'
			USING ERRCODE = 'WL031';
	END IF;
	SELECT count(*) INTO pending FROM pg_wallet.kyc_documents d
	WHERE d.principal_id = p.id AND d.status = 'PENDING_REVIEW';
	IF pending = 0 THEN
		RAISE EXCEPTION 'no KYC documents of principal % are awaiting review', p.id
			USING ERRCODE = 'WL032';
	END IF;
	IF upper(decision) = 'APPROVE' THEN
		IF tier IS NULL OR tier NOT BETWEEN 1 AND 3 THEN
			RAISE EXCEPTION 'an approval needs a tier of 1, 2 or 3' USING ERRCODE = 'WL032';
		END IF;
		UPDATE pg_wallet.kyc_documents d SET status = 'VERIFIED', verified_at = t
		WHERE d.principal_id = p.id AND d.status = 'PENDING_REVIEW';
		UPDATE pg_wallet.principals x
		SET kyc_status = 'APPROVED', kyc_tier = tier, kyc_approved_at = t,
			kyc_rejected_at = NULL, kyc_rejection_reason = NULL, kyc_rejection_message = NULL,
			updated_at = now()
		WHERE x.id = p.id
		RETURNING * INTO p;
	ELSE
		IF reason IS NULL OR reason !~ '^[a-z][a-z0-9_]{1,99}$' THEN
			RAISE EXCEPTION 'a rejection needs a reason code such as invalid_documents'
				USING ERRCODE = 'WL032';
		END IF;
		IF length(message) > 500 THEN
			RAISE EXCEPTION 'message is longer than 500 characters'
				USING ERRCODE = 'string_data_right_truncation';
		END IF;
		UPDATE pg_wallet.kyc_documents d SET status = 'REJECTED', rejected_at = t
		WHERE d.principal_id = p.id AND d.status = 'PENDING_REVIEW';
		-- refusing an upgrade leaves an earlier approval (and its tier) in place
		UPDATE pg_wallet.principals x
		SET kyc_status = CASE WHEN x.kyc_status = 'APPROVED' THEN 'APPROVED' ELSE 'REJECTED' END,
			kyc_rejected_at = t, kyc_rejection_reason = reason,
			kyc_rejection_message = message, updated_at = now()
		WHERE x.id = p.id
		RETURNING * INTO p;
	END IF;
	INSERT INTO pg_wallet.kyc_reviews (principal_id, reviewer_id, decision, tier, reason, message)
	VALUES (p.id, admin.principal_id, upper(decision), p.kyc_tier, reason, message);
	RETURN jsonb_strip_nulls(jsonb_build_object(
		'userId', p.id, 'kycStatus', p.kyc_status, 'kycTier', p.kyc_tier,
		'approvedAt', CASE WHEN upper(decision) = 'APPROVE' THEN pg_wallet._iso_time(t) END,
		'rejectedAt', CASE WHEN upper(decision) = 'REJECT' THEN pg_wallet._iso_time(t) END,
		'rejectionReason', CASE WHEN upper(decision) = 'REJECT' THEN reason END,
		'rejectionMessage', CASE WHEN upper(decision) = 'REJECT' THEN message END,
		'documentsReviewed', pending,
		'message', CASE WHEN upper(decision) = 'APPROVE' THEN 'KYC approved successfully'
		                ELSE 'KYC rejected. The user can resubmit.' END));
END
$$;
COMMENT ON FUNCTION pg_wallet.kyc_review(text, uuid, text, integer, text, text) IS
	'Admin (role admin): APPROVE with a tier 1-3 (documents VERIFIED, status APPROVED) or '
	'REJECT with a reason code and message (documents REJECTED; status REJECTED unless '
	'already APPROVED). WL032 when nothing awaits review; WL031 on one''s own KYC. Audited '
	'in kyc_reviews.';

CREATE OR REPLACE FUNCTION pg_wallet.kyc_pending_reviews(
	token text,
	page_size integer DEFAULT 20,
	after_document_id bigint DEFAULT 0)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM pg_wallet.authenticate(token, ARRAY['admin']);
	IF page_size IS NULL OR page_size NOT BETWEEN 1 AND 100 THEN
		RAISE EXCEPTION 'page_size must be between 1 and 100'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN (SELECT coalesce(jsonb_agg(jsonb_build_object(
			'documentId', d.id, 'userId', d.principal_id, 'role', p.role,
			'documentType', d.document_type, 'status', d.status,
			'uploadedAt', pg_wallet._iso_time(d.uploaded_at)) ORDER BY d.id), '[]')
		FROM (SELECT * FROM pg_wallet.kyc_documents x
		      WHERE x.status = 'PENDING_REVIEW' AND x.id > coalesce(after_document_id, 0)
		      ORDER BY x.id LIMIT page_size) d
		JOIN pg_wallet.principals p ON p.id = d.principal_id);
END
$$;
COMMENT ON FUNCTION pg_wallet.kyc_pending_reviews(text, integer, bigint) IS
	'Admin (role admin): documents awaiting review, oldest first, one page at a time (pass '
	'the last documentId seen).';
