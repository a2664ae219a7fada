-- API layer: the rest of Tribble's account endpoints (tribble-rest-api.md), served by
-- pg_wallet_bridge under /tribble/api/v1 like sql/api/tribble.sql:
--   POST /auth/submit-kyc        pg_wallet.api_tribble_submit_kyc
--   PUT  /users/profile          pg_wallet.api_tribble_update_profile
--   POST /users/change-password  pg_wallet.api_tribble_change_password
-- Each authenticates a Tribble token first, acts on the caller only, and reports the caller's
-- rate limits per KYC tier in "_bridge" (sql/api/tribble.sql, _tribble_bridge), which the
-- bridge counts per user.

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_submit_kyc(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	b jsonb := args -> 'body';
	doc jsonb := b -> 'document';
	r jsonb;
	m text;
	h text;
	col text;
BEGIN
	PERFORM pg_wallet._tribble_require(b, ARRAY['documentType']);
	IF jsonb_typeof(doc) IS DISTINCT FROM 'object'
		OR jsonb_typeof(doc -> 'reference') IS DISTINCT FROM 'string'
		OR jsonb_typeof(doc -> 'sha256') IS DISTINCT FROM 'string' THEN
		RAISE EXCEPTION 'document must be {"reference", "sha256"} of the stored file'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'document';
	END IF;
	IF b -> 'ocr' IS NOT NULL AND jsonb_typeof(b -> 'ocr') <> 'object' THEN
		RAISE EXCEPTION 'ocr must be an object' USING ERRCODE = 'invalid_parameter_value',
			COLUMN = 'ocr';
	END IF;
	BEGIN
		r := pg_wallet.kyc_submit_document(token, b ->> 'documentType', doc ->> 'reference',
			doc ->> 'sha256', coalesce(b -> 'ocr', '{}'));
	EXCEPTION WHEN invalid_parameter_value THEN
		-- the refusal names the request's field, not the identity function's parameter
		GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, h = PG_EXCEPTION_HINT, col = COLUMN_NAME;
		RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = m,
			HINT = coalesce(h, ''),
			COLUMN = CASE col WHEN 'document_type' THEN 'documentType'
				WHEN 'reference' THEN 'document' WHEN 'sha256' THEN 'document'
				ELSE coalesce(col, '') END;
	END;
	RETURN jsonb_build_object('submissionId', r -> 'submissionId', 'status', r -> 'status',
		'documentsSubmitted', r -> 'documentsSubmitted',
		'estimatedReviewTime', r -> 'estimatedReviewTime', 'message', r -> 'message')
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_submit_kyc(text, jsonb) IS
	'Tribble POST /auth/submit-kyc: a document by reference, {"documentType", "document": '
	'{"reference", "sha256"}, "ocr"}, for review (kyc_submit_document; KYC status SUBMITTED '
	'until kyc_review decides). Returns submissionId, status, documentsSubmitted, '
	'estimatedReviewTime, message.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_update_profile(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	b jsonb := args -> 'body';
	f text;
	p pg_wallet.principal_info;
BEGIN
	IF b IS NULL OR jsonb_typeof(b) <> 'object' THEN
		RAISE EXCEPTION 'the body must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOREACH f IN ARRAY ARRAY['firstName', 'lastName', 'phoneNumber'] LOOP
		IF b ? f AND jsonb_typeof(b -> f) <> 'string' THEN
			RAISE EXCEPTION '% must be a string', f
				USING ERRCODE = 'invalid_parameter_value', COLUMN = f;
		END IF;
	END LOOP;
	IF NOT (b ?| ARRAY['firstName', 'lastName', 'phoneNumber']) THEN
		RAISE EXCEPTION 'nothing to update: give firstName, lastName or phoneNumber'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	p := pg_wallet.update_profile(token, b ->> 'firstName', b ->> 'lastName',
		b ->> 'phoneNumber');
	RETURN jsonb_build_object('userId', p.principal_id, 'message', 'Profile updated successfully',
		'updatedAt', pg_wallet._ts_iso(now())) || pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_update_profile(text, jsonb) IS
	'Tribble PUT /users/profile: change firstName, lastName, phoneNumber (each optional, '
	'strings; update_profile checks them). Returns userId, message, updatedAt.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_change_password(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	b jsonb := args -> 'body';
	r pg_wallet.auth_outcome;
	revoked integer;
	m text;
	d text;
BEGIN
	PERFORM pg_wallet._tribble_require(b, ARRAY['currentPassword', 'newPassword']);
	-- a weak new password: the policy's refusal, naming the field it is about
	BEGIN
		PERFORM pg_wallet._password_check_strength(b ->> 'newPassword');
	EXCEPTION WHEN SQLSTATE 'WL030' THEN
		GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL;
		RAISE EXCEPTION USING ERRCODE = 'WL030', MESSAGE = m, DETAIL = coalesce(d, ''),
			COLUMN = 'newPassword';
	END;
	r := pg_wallet.change_password(token, b ->> 'currentPassword', b ->> 'newPassword');
	IF r.status <> 'OK' THEN
		-- returned, not raised: the failed attempt change_password() counted must be kept
		RETURN jsonb_build_object('error', jsonb_build_object('code', r.sqlstate,
			'message', r.message));
	END IF;
	-- the sessions change_password() revoked just now (the auth clock is the transaction's)
	SELECT count(*) INTO revoked FROM pg_wallet.auth_sessions s
	WHERE s.principal_id = me.principal_id AND s.revoked_at = pg_wallet._auth_now()
		AND s.revoke_reason = 'password changed';
	-- the change is an event of the durable log, in this transaction; no secret in it
	PERFORM pg_wallet.emit_event(me.owner_id, 'account:password_changed',
		jsonb_build_object('userId', me.principal_id, 'changedAt', pg_wallet._ts_iso(now()),
			'sessionsRevoked', revoked), me.principal_id);
	RETURN jsonb_build_object('message', 'Password changed successfully')
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_change_password(text, jsonb) IS
	'Tribble POST /users/change-password: the current password is required (a wrong one is '
	'401 and counts as a failed login); the new one must pass the policy (400); every other '
	'session and its refresh tokens are revoked (change_password), and the event '
	'account:password_changed {"userId", "changedAt", "sessionsRevoked"} is written.';
