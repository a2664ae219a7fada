-- Fraud scoring (issue 12, docs/fraud.md): the request context a caller sets before a
-- money-moving call, a preview of the score a debit would get, the record of a posting's
-- score in the spec's risk-score shape, and the administration of allow/deny rules. The
-- scoring itself runs in C inside the posting path (src/rules/fraud.c), for every posting.

CREATE OR REPLACE FUNCTION pg_wallet.set_request_context(context jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'wallet_set_request_context'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pg_wallet.set_request_context(jsonb) IS
	'Set the request context fraud scoring uses for the rest of the current transaction '
	'(cleared at its end): {"ip", "device_id", "user_agent", "country", "lat", "lon"}, each '
	'optional, bounded and validated (22023 otherwise); the device id is kept only as its '
	'SHA-256. NULL or {} clears it. Call it in the same transaction, before the posting.';

CREATE OR REPLACE FUNCTION pg_wallet.request_context()
RETURNS jsonb
AS 'MODULE_PATHNAME', 'wallet_request_context'
LANGUAGE C STABLE;
COMMENT ON FUNCTION pg_wallet.request_context() IS
	'The current transaction''s request context as a score records it (device_sha256 instead '
	'of the device id), or NULL when none is set.';

CREATE OR REPLACE FUNCTION pg_wallet.fraud_score_preview(
	account_number text,
	amount numeric,
	counterpart text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'wallet_fraud_score_preview'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.fraud_score_preview(text, numeric, text) IS
	'The risk-score response a debit of the account would get now (current request context, '
	'counterpart for merchant rules), computed by the posting path''s code without posting, '
	'locking or recording anything; transactionId is null; "scored": false when such a debit '
	'is not scored.';

-- The spec's risk-score response for a recorded score (GET /transactions/:id/risk-score).
CREATE OR REPLACE FUNCTION pg_wallet.fraud_risk_score(journal_id bigint)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s pg_wallet.fraud_scores;
	created timestamptz;
BEGIN
	SELECT * INTO s FROM pg_wallet.fraud_scores f WHERE f.journal_id = fraud_risk_score.journal_id
	ORDER BY f.id LIMIT 1;
	IF s.id IS NULL THEN
		RETURN NULL;
	END IF;
	SELECT j.created_at INTO created FROM pg_wallet.journals j WHERE j.id = s.journal_id;
	RETURN jsonb_build_object(
		'transactionId', pg_wallet.receipt_code(s.journal_id, created),
		'riskScore', s.score, 'riskLevel', s.risk_level, 'decision', s.decision,
		'confidence', s.confidence, 'riskFactors', s.factors,
		'modelVersion', s.model_version,
		'calculatedAt', to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'));
END
$$;
COMMENT ON FUNCTION pg_wallet.fraud_risk_score(bigint) IS
	'The recorded fraud score of a journal (a posting, or a recorded refusal) in the '
	'risk-score response shape of tribble-rest-api.md, or NULL when it was not scored. No '
	'caller check: the api_* functions check that the transaction is the caller''s.';

CREATE OR REPLACE FUNCTION pg_wallet._fraud_score_owner(journal_id bigint)
RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN (SELECT f.owner_id FROM pg_wallet.fraud_scores f
	        WHERE f.journal_id = _fraud_score_owner.journal_id ORDER BY f.id LIMIT 1);
END
$$;
COMMENT ON FUNCTION pg_wallet._fraud_score_owner(bigint) IS
	'Internal: the owner whose account a scored journal debited, or NULL.';

-- subject_value: the owner id (USER), the device id as the client sends it (DEVICE: stored
-- as its SHA-256), a CIDR range (IP) or an account number (MERCHANT).
CREATE OR REPLACE FUNCTION pg_wallet.fraud_add_rule(
	action text,
	subject text,
	subject_value text,
	reason text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	new_id bigint;
BEGIN
	IF action IS NULL OR action NOT IN ('ALLOW', 'DENY') THEN
		RAISE EXCEPTION 'action must be ALLOW or DENY' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF subject IS NULL OR subject NOT IN ('USER', 'DEVICE', 'IP', 'MERCHANT') THEN
		RAISE EXCEPTION 'subject must be USER, DEVICE, IP or MERCHANT'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF subject_value IS NULL OR length(subject_value) NOT BETWEEN 1 AND 200 THEN
		RAISE EXCEPTION 'subject_value must be 1 to 200 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF subject = 'USER' AND subject_value !~ '^[0-9]{1,18}$' THEN
		RAISE EXCEPTION 'a USER rule''s subject_value is an owner id'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO pg_wallet.fraud_rules (action, subject, owner_id, device_hash, ip_range,
		account_number, reason)
	VALUES (action, subject,
		CASE subject WHEN 'USER' THEN subject_value::bigint END,
		CASE subject WHEN 'DEVICE' THEN sha256(convert_to(subject_value, 'UTF8')) END,
		CASE subject WHEN 'IP' THEN subject_value::cidr END,
		CASE subject WHEN 'MERCHANT' THEN subject_value END,
		reason)
	RETURNING id INTO new_id;
	RETURN new_id;
END
$$;
COMMENT ON FUNCTION pg_wallet.fraud_add_rule(text, text, text, text) IS
	'Add an allow or deny rule for a user (owner id), a device (its id, stored as SHA-256), '
	'an IP range (CIDR) or a merchant account (the account credited); it overrides the '
	'score from the next posting on. Administration: no caller check, grant with care.';

-- The settings, rules and IP reputation ranges are cached per backend with the rules stamp
-- (src/rules/fraud_stats.c): any change to them, by these functions or by a plain UPDATE of
-- fraud_settings, bumps the stamp (statement triggers, rules/triggers.sql).
CREATE OR REPLACE FUNCTION pg_wallet._fraud_config_changed()
RETURNS trigger
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM pg_wallet._bump_rules_generation();
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION pg_wallet._fraud_config_changed() IS
	'Internal: statement trigger of fraud_settings, fraud_rules and fraud_ip_reputation; '
	'bumps the rules stamp so every backend reloads its cached fraud configuration.';
