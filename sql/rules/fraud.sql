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

-- Identity's consume_verification_token tells the rules that an owner presented a step-up
-- verification in this transaction (REQUIRE_VERIFICATION, docs/fraud.md). Not granted: only
-- the extension's SECURITY DEFINER functions reach it.
CREATE OR REPLACE FUNCTION pg_wallet._fraud_verified(owner_id bigint, method text)
RETURNS void
AS 'MODULE_PATHNAME', 'wallet_fraud_verified'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pg_wallet._fraud_verified(bigint, text) IS
	'Internal: the owner presented a step-up verification (method otp_sms, totp, ...) in the '
	'current transaction, so a posting whose fraud decision is REQUIRE_VERIFICATION may go on '
	'in it (cleared at its end). Called by consume_verification_token.';

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

-- The score of a debit refused by fraud whose refusal was raised and caught (a card payment's
-- authorisation hold): the caught error rolled the posting path's record back.
CREATE OR REPLACE FUNCTION pg_wallet._fraud_score_record(
	account_number text,
	amount numeric,
	counterpart text,
	request_ref text,
	transaction_id text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'wallet_fraud_score_record'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION pg_wallet._fraud_score_record(text, numeric, text, text, text) IS
	'Internal: record the score of a debit of the account that fraud refused and whose '
	'refusal was raised and caught (so the posting path''s record was rolled back), computed '
	'as fraud_score_preview computes it (the refusal changed nothing); HIGH and CRITICAL ones '
	'announce fraud:risk_alert naming transaction_id. Returns the record''s id, NULL when '
	'such a debit is not scored.';

-- A score record's factors as the spec's riskFactors, their explanations rendered from the
-- stored notes (src/rules/fraud_explain.c).
CREATE OR REPLACE FUNCTION pg_wallet.fraud_score_factors(
	scores smallint[],
	weights smallint[],
	notes bigint[],
	currency text,
	ip_label text,
	rule text,
	verification text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'wallet_fraud_score_factors'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet.fraud_score_factors(smallint[], smallint[], bigint[], text, text,
	text, text) IS
	'The riskFactors of a score record ([{name, weight, score, explanation}], then a Rule and '
	'a Verification entry when they apply) from its factor_scores, factor_weights, '
	'factor_notes, currency, ip_label, rule and verification columns.';

CREATE OR REPLACE FUNCTION pg_wallet.fraud_score_factors(s pg_wallet.fraud_scores)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	-- (PL/pgSQL: a SQL function with a pinned search_path is planned again at every call)
	RETURN pg_wallet.fraud_score_factors(s.factor_scores, s.factor_weights, s.factor_notes,
		s.currency, s.ip_label, s.rule, s.verification);
END
$$;
COMMENT ON FUNCTION pg_wallet.fraud_score_factors(pg_wallet.fraud_scores) IS
	'The riskFactors of a score record (see the other form).';

CREATE OR REPLACE FUNCTION pg_wallet.fraud_factor_names()
RETURNS text[]
AS 'MODULE_PATHNAME', 'wallet_fraud_factor_names'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet.fraud_factor_names() IS
	'The names of the fraud factors, in the order of a score record''s factor arrays.';

-- The score record of a journal: its own, or that of the request held for review that the
-- journal posted (post_hold of a review hold).
CREATE OR REPLACE FUNCTION pg_wallet._fraud_score_of(journal_id bigint)
RETURNS pg_wallet.fraud_scores
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s pg_wallet.fraud_scores;
BEGIN
	-- each branch through its own index (an OR under ORDER BY id LIMIT 1 walked the primary
	-- key: 90 ms a read after 120,000 scores)
	SELECT x.* INTO s FROM (
		SELECT f.* FROM pg_wallet.fraud_scores f
		WHERE f.journal_id = _fraud_score_of.journal_id
		UNION ALL
		SELECT f.* FROM pg_wallet.fraud_scores f
		WHERE f.hold_id = (SELECT h.id FROM pg_wallet.holds h
		                   WHERE h.journal_id = _fraud_score_of.journal_id
		                   AND h.review IS NOT NULL)) x
	ORDER BY x.id LIMIT 1;
	RETURN s;
END
$$;
COMMENT ON FUNCTION pg_wallet._fraud_score_of(bigint) IS
	'Internal: the fraud score record of a journal, or of the request held for review that '
	'the journal posted; NULL fields when none.';

-- The spec's risk-score response for a recorded score (GET /transactions/:id/risk-score).
-- A score record in the risk-score response shape, named by transaction_id.
CREATE OR REPLACE FUNCTION pg_wallet._fraud_risk_score_json(s pg_wallet.fraud_scores,
	transaction_id text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN jsonb_build_object(
		'transactionId', transaction_id,
		'riskScore', s.score, 'riskLevel', s.risk_level, 'decision', s.decision,
		'confidence', s.confidence, 'riskFactors', pg_wallet.fraud_score_factors(s),
		'modelVersion', s.model_version,
		'calculatedAt', to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'));
END
$$;
COMMENT ON FUNCTION pg_wallet._fraud_risk_score_json(pg_wallet.fraud_scores, text) IS
	'Internal: a fraud score record as tribble-rest-api.md''s risk-score response, under the '
	'given transactionId.';

CREATE OR REPLACE FUNCTION pg_wallet.fraud_risk_score(journal_id bigint)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s pg_wallet.fraud_scores;
	created timestamptz;
BEGIN
	s := pg_wallet._fraud_score_of(fraud_risk_score.journal_id);
	IF s.id IS NULL THEN
		RETURN NULL;
	END IF;
	SELECT j.created_at INTO created FROM pg_wallet.journals j
	WHERE j.id = fraud_risk_score.journal_id;
	RETURN pg_wallet._fraud_risk_score_json(s,
		pg_wallet.receipt_code(fraud_risk_score.journal_id, created));
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
	RETURN (pg_wallet._fraud_score_of(_fraud_score_owner.journal_id)).owner_id;
END
$$;
COMMENT ON FUNCTION pg_wallet._fraud_score_owner(bigint) IS
	'Internal: the owner whose account a scored journal debited, or NULL.';

-- ---------------------------------------------------------------------------------------
-- HOLD: requests held for review (holds.review), released (posted) or rejected by an admin
-- ---------------------------------------------------------------------------------------

-- The ACTIVE review hold hold_id, locked; WL016 when there is no such hold, WL008 when it is
-- not ACTIVE.
CREATE OR REPLACE FUNCTION pg_wallet._fraud_review_hold(hold_id bigint)
RETURNS pg_wallet.holds
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	h pg_wallet.holds;
BEGIN
	SELECT * INTO h FROM pg_wallet.holds x
	WHERE x.id = _fraud_review_hold.hold_id AND x.review IS NOT NULL FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no request held for review with hold id %', hold_id
			USING ERRCODE = 'WL016';
	END IF;
	IF h.status <> 'ACTIVE' THEN
		RAISE EXCEPTION 'the review of hold % is over: it is %', hold_id, h.status
			USING ERRCODE = 'WL008';
	END IF;
	RETURN h;
END
$$;
COMMENT ON FUNCTION pg_wallet._fraud_review_hold(bigint) IS
	'Internal: lock the ACTIVE hold of a request held for fraud review (WL016 none, WL008 '
	'no longer ACTIVE).';

CREATE OR REPLACE FUNCTION pg_wallet.fraud_reviews(
	lim integer DEFAULT 50,
	off integer DEFAULT 0)
RETURNS TABLE (hold_id bigint, account_number text, counterpart text, amount numeric,
	currency text, request_type text, request_ref text, score smallint, risk_level text,
	factors jsonb, held_at timestamptz, expires_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF lim IS NULL OR lim NOT BETWEEN 1 AND 500 OR off IS NULL OR off < 0 THEN
		RAISE EXCEPTION 'lim must be 1 to 500 and off at least 0'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN QUERY
	SELECT h.id, a.account_number, c.account_number,
		pg_wallet.minor_to_numeric(h.amount, cur.exponent), a.currency, h.review ->> 'type',
		h.idempotency_key, f.score, f.risk_level,
		CASE WHEN f.id IS NOT NULL THEN pg_wallet.fraud_score_factors(f) END, h.created_at,
		h.expires_at
	FROM pg_wallet.holds h
	JOIN pg_wallet.accounts a ON a.id = h.account_id
	JOIN pg_wallet.accounts c ON c.id = h.counterpart_account_id
	JOIN pg_wallet.currencies cur ON cur.code = a.currency
	LEFT JOIN pg_wallet.fraud_scores f ON f.hold_id = h.id
	WHERE h.status = 'ACTIVE' AND h.review IS NOT NULL
	ORDER BY h.id
	LIMIT lim OFFSET off;
END
$$;
COMMENT ON FUNCTION pg_wallet.fraud_reviews(integer, integer) IS
	'Administration: the requests fraud scoring holds for review (decision HOLD), oldest '
	'first, with the score that held them; paginated (lim 1..500, off >= 0).';

CREATE OR REPLACE FUNCTION pg_wallet.fraud_review_release(hold_id bigint)
RETURNS pg_wallet.journal_result
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM pg_wallet._fraud_review_hold(hold_id);
	RETURN pg_wallet.post_hold(hold_id);
END
$$;
COMMENT ON FUNCTION pg_wallet.fraud_review_release(bigint) IS
	'Administration: release a request held for fraud review: post it as it was asked (its '
	'journal type, legs, fee and money rules, not scored again), releasing its hold in the '
	'same posting. WL016 no such review, WL008 review over; the posting''s own refusals '
	'(funds, account status) raise and leave the hold ACTIVE.';

CREATE OR REPLACE FUNCTION pg_wallet.fraud_review_reject(hold_id bigint, reason text)
RETURNS pg_wallet.hold_info
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF reason IS NULL OR length(btrim(reason)) NOT BETWEEN 1 AND 500 THEN
		RAISE EXCEPTION 'reason must be 1 to 500 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM pg_wallet._fraud_review_hold(hold_id);
	RETURN pg_wallet.void_hold(hold_id, 'fraud review: ' || btrim(reason));
END
$$;
COMMENT ON FUNCTION pg_wallet.fraud_review_reject(bigint, text) IS
	'Administration: reject a request held for fraud review: its hold is voided (the funds '
	'are available again, its limit usage given back) with the reason; a retry of the '
	'request under its idempotency key is then refused (WL008). WL016 / WL008 as release.';

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
	-- only users' debits are scored: a rule naming another owner would never apply
	IF subject = 'USER' AND NOT EXISTS (SELECT FROM pg_wallet.owners o
		WHERE o.id = subject_value::bigint AND o.kind = 'user') THEN
		RAISE EXCEPTION 'owner % is not a user: only users'' debits are scored', subject_value
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

-- Admin analytics (GET /admin/fraud/analytics): aggregates over the score records of a
-- period, read through fraud_scores_created_idx (the period is at most a year). A record is
-- "fraudulent" when its decision is not ALLOW: blocked (BLOCK) or declined as asked (HOLD,
-- REQUIRE_VERIFICATION). A factor "occurs" in a record when it scored above 0 (the Rule entry,
-- weight and score 0, never does). Times in UTC; the period is [start, "end").
CREATE OR REPLACE FUNCTION pg_wallet._fraud_analytics_check(
	start timestamptz,
	"end" timestamptz,
	group_by text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF start IS NULL OR NOT isfinite(start) THEN
		RAISE EXCEPTION 'start must be a finite timestamp'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'start';
	END IF;
	IF _fraud_analytics_check."end" IS NULL OR NOT isfinite(_fraud_analytics_check."end") THEN
		RAISE EXCEPTION 'end must be a finite timestamp'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'end';
	END IF;
	IF _fraud_analytics_check."end" <= start THEN
		RAISE EXCEPTION 'end must be after start'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'end';
	END IF;
	IF _fraud_analytics_check."end" > start + interval '1 year' THEN
		RAISE EXCEPTION 'the period must be at most one year'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'end',
			      DETAIL = 'The analytics read every score record of the period.';
	END IF;
	IF group_by IS NOT NULL AND group_by NOT IN ('day', 'week', 'month') THEN
		RAISE EXCEPTION 'group_by must be day, week or month'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'group_by';
	END IF;
END
$$;
COMMENT ON FUNCTION pg_wallet._fraud_analytics_check(timestamptz, timestamptz, text) IS
	'Internal: fraud_analytics arguments: finite start < end, at most one year apart, group_by '
	'NULL, day, week or month; 22023 naming the argument (COLUMN) otherwise.';

-- One bucket's figures (or the period's): the spec's summary fields from the counts.
CREATE OR REPLACE FUNCTION pg_wallet._fraud_analytics_figures(
	total bigint,
	blocked bigint,
	declined bigint,
	score_avg numeric)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_build_object('totalTransactions', total,
		'fraudulentTransactions', blocked + declined,
		'fraudRate', CASE WHEN total > 0
			THEN trim_scale(round(100.0 * (blocked + declined) / total, 2)) ELSE 0 END,
		'averageFraudScore', coalesce(trim_scale(round(score_avg, 2)), 0),
		'blockedTransactions', blocked, 'declinedTransactions', declined)
$$;
COMMENT ON FUNCTION pg_wallet._fraud_analytics_figures(bigint, bigint, bigint, numeric) IS
	'Internal: totalTransactions, fraudulentTransactions (blocked + declined), fraudRate (% of '
	'the total, 2 decimals), averageFraudScore (2 decimals), blocked and declined counts.';

-- The series of a grouped analytics: every day, week (ISO, from Monday) or month of the
-- period, empty ones included (at most 367 buckets: the period is at most a year).
CREATE OR REPLACE FUNCTION pg_wallet._fraud_analytics_series(
	start timestamptz,
	"end" timestamptz,
	unit text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t timestamptz := _fraud_analytics_series."end";
BEGIN
	RETURN (SELECT coalesce(jsonb_agg(jsonb_build_object('period', to_char(b.b, 'YYYY-MM-DD'))
			|| pg_wallet._fraud_analytics_figures(coalesce(x.n, 0), coalesce(x.blocked, 0),
				coalesce(x.declined, 0), x.score_avg) ORDER BY b.b), '[]')
		FROM generate_series(date_trunc(unit, start AT TIME ZONE 'UTC'),
			t AT TIME ZONE 'UTC' - interval '1 microsecond', ('1 ' || unit)::interval) AS b (b)
		LEFT JOIN (
			SELECT date_trunc(unit, f.created_at AT TIME ZONE 'UTC') AS b, count(*) AS n,
				count(*) FILTER (WHERE f.decision = 'BLOCK') AS blocked,
				count(*) FILTER (WHERE f.decision IN ('HOLD', 'REQUIRE_VERIFICATION'))
					AS declined,
				avg(f.score) AS score_avg
			FROM pg_wallet.fraud_scores f
			WHERE f.created_at >= start AND f.created_at < t
			GROUP BY 1) x ON x.b = b.b);
END
$$;
COMMENT ON FUNCTION pg_wallet._fraud_analytics_series(timestamptz, timestamptz, text) IS
	'Internal: the figures of each day, week or month (UTC) of a period, empty ones included, '
	'as [{"period": "YYYY-MM-DD" (the bucket''s first day), the summary fields}].';

CREATE OR REPLACE FUNCTION pg_wallet.fraud_analytics(
	start timestamptz,
	"end" timestamptz,
	group_by text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t timestamptz := fraud_analytics."end";
	total bigint;
	r jsonb;
BEGIN
	PERFORM pg_wallet._fraud_analytics_check(start, t, group_by);
	SELECT count(*), jsonb_build_object(
			'period', jsonb_build_object(
				'start', to_char(start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
				'end', to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
			'summary', pg_wallet._fraud_analytics_figures(count(*),
				count(*) FILTER (WHERE f.decision = 'BLOCK'),
				count(*) FILTER (WHERE f.decision IN ('HOLD', 'REQUIRE_VERIFICATION')),
				avg(f.score)),
			'riskLevelDistribution', jsonb_build_object(
				'LOW', count(*) FILTER (WHERE f.risk_level = 'LOW'),
				'MEDIUM', count(*) FILTER (WHERE f.risk_level = 'MEDIUM'),
				'HIGH', count(*) FILTER (WHERE f.risk_level = 'HIGH'),
				'CRITICAL', count(*) FILTER (WHERE f.risk_level = 'CRITICAL')))
		INTO total, r
	FROM pg_wallet.fraud_scores f
	WHERE f.created_at >= start AND f.created_at < t;
	r := r || jsonb_build_object('topFraudFactors', (
		SELECT coalesce(jsonb_agg(jsonb_build_object('factor', x.name, 'occurrences', x.n,
				'percentage', trim_scale(round(100.0 * x.n / total, 2)))
			ORDER BY x.n DESC, x.name), '[]')
		FROM (SELECT (pg_wallet.fraud_factor_names())[u.i] AS name, count(*) AS n
			FROM pg_wallet.fraud_scores f,
				unnest(f.factor_scores) WITH ORDINALITY AS u (score, i)
			WHERE f.created_at >= start AND f.created_at < t AND u.score > 0
			GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10) x));
	IF group_by IS NOT NULL THEN
		r := r || jsonb_build_object('series',
			pg_wallet._fraud_analytics_series(start, t, group_by));
	END IF;
	RETURN r;
END
$$;
COMMENT ON FUNCTION pg_wallet.fraud_analytics(timestamptz, timestamptz, text) IS
	'Fraud analytics of the score records created in [start, end) (at most a year; 22023 '
	'naming the argument otherwise): period, summary (totalTransactions, '
	'fraudulentTransactions = blocked + declined, fraudRate %, averageFraudScore, '
	'blockedTransactions = BLOCK, declinedTransactions = HOLD or REQUIRE_VERIFICATION), '
	'riskLevelDistribution, topFraudFactors (the 10 factors most often scored above 0, with '
	'their share of the records) and, with group_by day, week or month, a series. '
	'Administration: no caller check, grant with care.';

CREATE OR REPLACE FUNCTION pg_wallet.fraud_disable_rule(rule_id bigint)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	UPDATE pg_wallet.fraud_rules r SET is_active = false
	WHERE r.id = fraud_disable_rule.rule_id AND r.is_active;
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION pg_wallet.fraud_disable_rule(bigint) IS
	'Deactivate an allow or deny rule (kept, is_active false): it no longer applies from the '
	'next posting on. True when an active rule was deactivated. Administration: no caller '
	'check, grant with care.';

-- The scoring's settings (the one row of pg_wallet.fraud_settings): the columns an object
-- names, each checked by the table's CHECKs; the others kept.
CREATE OR REPLACE FUNCTION pg_wallet.set_fraud_settings(settings jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s pg_wallet.fraud_settings;
	unknown text;
	c text;
BEGIN
	IF settings IS NULL OR jsonb_typeof(settings) <> 'object'
		OR octet_length(settings::text) > 4096 THEN
		RAISE EXCEPTION 'settings must be a JSON object of at most 4096 bytes'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT string_agg(k, ', ' ORDER BY k) INTO unknown
	FROM jsonb_object_keys(settings) AS k
	WHERE k IN ('id', 'updated_at') OR NOT EXISTS (SELECT 1 FROM pg_attribute a
		WHERE a.attrelid = 'pg_wallet.fraud_settings'::regclass AND a.attname = k
		  AND a.attnum > 0 AND NOT a.attisdropped);
	IF unknown IS NOT NULL THEN
		RAISE EXCEPTION 'unknown fraud settings: %', left(unknown, 200)
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'The settings are the columns of pg_wallet.fraud_settings (docs/fraud.md).';
	END IF;
	SELECT * INTO STRICT s FROM pg_wallet.fraud_settings FOR UPDATE;
	BEGIN
		s := jsonb_populate_record(s, settings);
	EXCEPTION WHEN data_exception THEN
		RAISE EXCEPTION 'a fraud setting has the wrong type: %', SQLERRM
			USING ERRCODE = 'invalid_parameter_value';
	END;
	s.updated_at := now();
	BEGIN
		DELETE FROM pg_wallet.fraud_settings;
		INSERT INTO pg_wallet.fraud_settings SELECT (s).*;
	EXCEPTION WHEN check_violation THEN
		GET STACKED DIAGNOSTICS c = CONSTRAINT_NAME;
		RAISE EXCEPTION 'fraud settings out of range (%)', c
			USING ERRCODE = 'invalid_parameter_value', HINT = 'docs/fraud.md lists each setting''s range.';
	END;
	RETURN to_jsonb(s) - 'id';
END
$$;
COMMENT ON FUNCTION pg_wallet.set_fraud_settings(jsonb) IS
	'Admin: change the fraud scoring''s settings named in an object (weights, level and '
	'decision thresholds, velocity ceilings, model_version, is_enabled, ...: the columns of '
	'fraud_settings); the settings after. Postings begun after the commit use them.';

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

-- A payee becomes known when money reaches it. The posting path records the new payees of
-- the requests it posts; a request it holds (a review hold, or any hold placement) is
-- recorded here when the hold is posted (trigger holds_posted_beneficiary,
-- rules/triggers.sql), so a held request that is rejected, voided or left to expire never
-- makes its payee known. The owner's statistics row in the currency is locked first, as the
-- posting path locks it before it probes and inserts known payees (after the accounts, which
-- the posting of the hold has locked already).
CREATE OR REPLACE FUNCTION pg_wallet._fraud_hold_posted()
RETURNS trigger
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	a pg_wallet.accounts;
	c pg_wallet.accounts;
BEGIN
	SELECT * INTO a FROM pg_wallet.accounts x WHERE x.id = NEW.account_id;
	SELECT * INTO c FROM pg_wallet.accounts x WHERE x.id = NEW.counterpart_account_id;
	IF a.is_system OR c.is_system OR c.owner_id = a.owner_id
		OR NOT EXISTS (SELECT 1 FROM pg_wallet.owners o WHERE o.id = a.owner_id
			AND o.kind = 'user') THEN
		RETURN NULL;
	END IF;
	PERFORM 1 FROM pg_wallet.fraud_owner_stats s
	WHERE s.owner_id = a.owner_id AND s.currency = a.currency FOR UPDATE;
	INSERT INTO pg_wallet.fraud_known_beneficiaries (owner_id, account_id)
	VALUES (a.owner_id, c.id) ON CONFLICT DO NOTHING;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION pg_wallet._fraud_hold_posted() IS
	'Internal: trigger of holds: a posted hold of a user''s account makes its counterpart (another '
	'owner''s non-system account) a known beneficiary of the user (New Beneficiary factor).';

-- Identity (a layer above) tells the rules that an owner's password or phone number changed;
-- the rules never read identity's tables. The stamp is kept in the owner's statistics rows
-- (one per currency of the owner's non-system accounts, created when missing), where the
-- posting path reads it with the row it locks anyway: the first scored posting in each
-- currency within credential_window_hours scores the Credential Change factor, and clears it.
CREATE OR REPLACE FUNCTION pg_wallet._fraud_note_credential_change(owner_id bigint, what text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF what IS NULL OR what NOT IN ('password', 'phone') THEN
		RAISE EXCEPTION 'what must be password or phone' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF owner_id IS NULL THEN
		RETURN;
	END IF;
	INSERT INTO pg_wallet.fraud_owner_stats AS s (owner_id, currency, credential_change,
		credential_changed_at)
	SELECT DISTINCT a.owner_id, a.currency, what, now()
	FROM pg_wallet.accounts a
	WHERE a.owner_id = _fraud_note_credential_change.owner_id AND NOT a.is_system
	ORDER BY 1, 2
	ON CONFLICT ON CONSTRAINT fraud_owner_stats_pkey DO UPDATE
	SET credential_change = excluded.credential_change,
		credential_changed_at = excluded.credential_changed_at;
END
$$;
COMMENT ON FUNCTION pg_wallet._fraud_note_credential_change(bigint, text) IS
	'Internal (identity calls it): the owner''s password or phone (what) changed now; the first '
	'scored posting in each currency within fraud_settings.credential_window_hours scores the '
	'Credential Change factor. Not granted to PUBLIC.';
