-- API layer, Tribble profile: fraud detection (tribble-rest-api.md, "Fraud Detection").
-- GET /transactions/:transactionId/risk-score reads the score recorded when the payment was
-- posted (src/rules/fraud.c); another user's transaction, an unknown one and an unscored one
-- are the same 404 (WL014), so a caller cannot tell them apart. GET /admin/fraud/analytics
-- (admins only: 403 WL031 for a user or a merchant) serves pg_wallet.fraud_analytics over
-- whole UTC days, its query parameters validated here (400 naming the parameter).

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_risk_score(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	code text := args #>> '{path,id}';
	jid bigint;
	p pg_wallet.payments;
	s pg_wallet.fraud_scores;
	r jsonb;
BEGIN
	IF code ~ '^TXN-[0-9]{8}-[0-9]{1,18}$' THEN
		-- a payment (POST /transactions): its customer's score, the hold's or the posting's
		SELECT * INTO p FROM pg_wallet.payments x WHERE x.transaction_ref = code;
		IF p.id IS NOT NULL AND pg_wallet._owns(me, p.customer_owner_id) THEN
			s := pg_wallet._payment_score(p);
			IF s.id IS NOT NULL THEN
				r := pg_wallet._fraud_risk_score_json(s, p.transaction_ref);
			END IF;
		END IF;
	ELSIF length(code) <= 64 THEN
		jid := pg_wallet.journal_id_from_receipt(code);
		IF jid IS NOT NULL AND pg_wallet._owns(me, pg_wallet._fraud_score_owner(jid)) THEN
			r := pg_wallet.fraud_risk_score(jid);
		END IF;
	END IF;
	IF r IS NULL OR r ->> 'transactionId' IS DISTINCT FROM code THEN
		RAISE EXCEPTION 'transaction not found' USING ERRCODE = 'WL014';
	END IF;
	RETURN r || pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_risk_score(text, jsonb) IS
	'Tribble GET /transactions/:transactionId/risk-score: the fraud score recorded for one of '
	'the caller''s transactions, named by a payment''s transactionId (TXN-..., its customer''s '
	'score) or a receipt code (score, level, decision, confidence, factors with weights and '
	'explanations, model version); another user''s (a payment''s merchant included), unknown '
	'or unscored is 404 (WL014).';

-- A date query parameter (YYYY-MM-DD, a real date), dflt when absent; 22023 naming it else.
CREATE OR REPLACE FUNCTION pg_wallet._tribble_query_date(q jsonb, name text, dflt date)
RETURNS date
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT q ? name THEN
		RETURN dflt;
	END IF;
	IF coalesce(q ->> name, '') ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN
		BEGIN
			RETURN (q ->> name)::date;	-- DateStyle cannot change how ISO is read
		EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
			NULL;
		END;
	END IF;
	RAISE EXCEPTION '% must be a date (YYYY-MM-DD)', name
		USING ERRCODE = 'invalid_parameter_value', COLUMN = name;
END
$$;
COMMENT ON FUNCTION pg_wallet._tribble_query_date(jsonb, text, date) IS
	'Internal: a Tribble date query parameter (YYYY-MM-DD, a valid date) or its default; '
	'22023 naming the parameter otherwise.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_admin_fraud_analytics(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._api_caller(token, 'tribble', ARRAY['admin']);
	q jsonb := coalesce(args -> 'query', '{}');
	d_end date := pg_wallet._tribble_query_date(q, 'endDate', (now() AT TIME ZONE 'UTC')::date);
	d_start date := pg_wallet._tribble_query_date(q, 'startDate', d_end - 29);
	unit text := CASE q ->> 'groupBy' WHEN 'daily' THEN 'day' WHEN 'weekly' THEN 'week'
		WHEN 'monthly' THEN 'month' END;
	field text;
	r jsonb;
BEGIN
	IF q ? 'groupBy' AND unit IS NULL THEN
		RAISE EXCEPTION 'groupBy must be daily, weekly or monthly'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'groupBy';
	END IF;
	IF d_end < d_start THEN
		RAISE EXCEPTION 'endDate must not be before startDate'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'endDate';
	END IF;
	BEGIN
		-- whole UTC days: [startDate 00:00, the day after endDate 00:00)
		r := pg_wallet.fraud_analytics(d_start::timestamp AT TIME ZONE 'UTC',
			(d_end + 1)::timestamp AT TIME ZONE 'UTC', unit);
	EXCEPTION WHEN invalid_parameter_value THEN
		GET STACKED DIAGNOSTICS field = COLUMN_NAME;
		RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
			MESSAGE = replace(SQLERRM, 'the period', 'the period from startDate to endDate'),
			COLUMN = CASE field WHEN 'start' THEN 'startDate' WHEN 'group_by' THEN 'groupBy'
				ELSE 'endDate' END;
	END;
	RETURN r || jsonb_build_object('period', jsonb_build_object(
			'startDate', to_char(d_start, 'YYYY-MM-DD'), 'endDate', to_char(d_end, 'YYYY-MM-DD')))
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_admin_fraud_analytics(text, jsonb) IS
	'Tribble GET /admin/fraud/analytics[?startDate&endDate&groupBy]: fraud_analytics over whole '
	'UTC days (endDate included; default the last 30 days to today), groupBy daily, weekly or '
	'monthly adds "series"; admins only (403 WL031); a bad date, endDate before startDate, a '
	'period over a year or another groupBy is 400 naming the parameter.';

-- Fraud rules for Tribble admins, from SQL only: the spec has no endpoint for them, so the
-- bridge routes none. A USER rule names the user by its userId, a MERCHANT rule an account
-- (walletId), a DEVICE rule the device id as clients send it, an IP rule a CIDR range.
CREATE OR REPLACE FUNCTION pg_wallet._tribble_fraud_rule(r pg_wallet.fraud_rules)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN jsonb_build_object('ruleId', r.id, 'action', r.action, 'subject', r.subject,
		'value', CASE r.subject
			WHEN 'USER' THEN (SELECT p.id::text FROM pg_wallet.principals p
				WHERE p.owner_id = r.owner_id ORDER BY p.created_at LIMIT 1)
			WHEN 'DEVICE' THEN encode(r.device_hash, 'hex')
			WHEN 'IP' THEN r.ip_range::text
			ELSE r.account_number END,
		'reason', r.reason, 'isActive', r.is_active,
		'createdAt', to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'));
END
$$;
COMMENT ON FUNCTION pg_wallet._tribble_fraud_rule(pg_wallet.fraud_rules) IS
	'Internal: a fraud rule as the Tribble admin functions show it (a USER rule''s value is '
	'the userId, a DEVICE rule''s the SHA-256 of the device id in hex).';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_admin_fraud_rule_add(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._api_caller(token, 'tribble', ARRAY['admin']);
	b jsonb := args -> 'body';
	v text;
	msg text;
	new_id bigint;
	rule pg_wallet.fraud_rules;
BEGIN
	PERFORM pg_wallet._tribble_require(b, ARRAY['action', 'subject', 'value', 'reason']);
	IF length(b ->> 'reason') > 200 THEN
		RAISE EXCEPTION 'reason must be at most 200 characters'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'reason';
	END IF;
	v := b ->> 'value';
	IF b ->> 'subject' = 'USER' THEN
		v := (SELECT p.owner_id::text FROM pg_wallet.principals p
		      WHERE v ~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$' AND p.id = v::uuid);
		IF v IS NULL THEN
			RAISE EXCEPTION 'value must be the userId of a user'
				USING ERRCODE = 'invalid_parameter_value', COLUMN = 'value';
		END IF;
	END IF;
	BEGIN
		new_id := pg_wallet.fraud_add_rule(b ->> 'action', b ->> 'subject', v, b ->> 'reason');
	EXCEPTION WHEN invalid_parameter_value OR invalid_text_representation THEN
		msg := SQLERRM;
		RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
			MESSAGE = replace(msg, 'subject_value', 'value'),
			COLUMN = CASE WHEN msg LIKE 'action %' THEN 'action'
				WHEN msg LIKE 'subject must %' THEN 'subject' ELSE 'value' END;
	END;
	SELECT * INTO rule FROM pg_wallet.fraud_rules r WHERE r.id = new_id;
	RETURN pg_wallet._tribble_fraud_rule(rule) || pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_admin_fraud_rule_add(text, jsonb) IS
	'Tribble admins, SQL only (no route: not in the spec): add a fraud rule, body {action '
	'ALLOW|DENY, subject USER|DEVICE|IP|MERCHANT, value (userId, device id, CIDR range, '
	'walletId), reason}; the rule as _tribble_fraud_rule shows it; 403 (WL031) for a '
	'non-admin, 22023 naming the field.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_admin_fraud_rules(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._api_caller(token, 'tribble', ARRAY['admin']);
	q jsonb := coalesce(args -> 'query', '{}');
	lim integer;
	off integer;
	total bigint;
	rules jsonb;
BEGIN
	IF coalesce(q ->> 'limit', '20') !~ '^[0-9]{1,3}$'
		OR coalesce(q ->> 'limit', '20')::integer NOT BETWEEN 1 AND 100 THEN
		RAISE EXCEPTION 'limit must be between 1 and 100'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'limit';
	END IF;
	IF coalesce(q ->> 'offset', '0') !~ '^[0-9]{1,9}$' THEN
		RAISE EXCEPTION 'offset must be a number from 0'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'offset';
	END IF;
	lim := coalesce(q ->> 'limit', '20')::integer;
	off := coalesce(q ->> 'offset', '0')::integer;
	SELECT count(*) INTO total FROM pg_wallet.fraud_rules r WHERE r.is_active;
	SELECT coalesce(jsonb_agg(pg_wallet._tribble_fraud_rule(r) ORDER BY r.id), '[]') INTO rules
	FROM (SELECT * FROM pg_wallet.fraud_rules x WHERE x.is_active ORDER BY x.id
	      LIMIT lim OFFSET off) r;
	RETURN jsonb_build_object('rules', rules, 'pagination', jsonb_build_object('total', total,
		'limit', lim, 'offset', off, 'hasMore', off + lim < total)) || pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_admin_fraud_rules(text, jsonb) IS
	'Tribble admins, SQL only (no route): the active fraud rules, oldest first, with '
	'pagination {total, limit (1-100, default 20), offset, hasMore}; 403 (WL031) for a '
	'non-admin.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_admin_fraud_rule_disable(token text,
	args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._api_caller(token, 'tribble', ARRAY['admin']);
	given text := args #>> '{path,id}';
	rule pg_wallet.fraud_rules;
BEGIN
	IF coalesce(given, '') !~ '^[0-9]{1,18}$'
		OR NOT pg_wallet.fraud_disable_rule(given::bigint) THEN
		RAISE EXCEPTION 'no such active fraud rule'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'ruleId';
	END IF;
	SELECT * INTO rule FROM pg_wallet.fraud_rules r WHERE r.id = given::bigint;
	RETURN pg_wallet._tribble_fraud_rule(rule) || pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_admin_fraud_rule_disable(text, jsonb) IS
	'Tribble admins, SQL only (no route): deactivate the active fraud rule args.path.id; the '
	'rule (isActive false); 22023 naming ruleId when there is no such active rule, 403 '
	'(WL031) for a non-admin.';
