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
	r jsonb;
BEGIN
	IF length(code) <= 64 THEN
		jid := pg_wallet.journal_id_from_receipt(code);
	END IF;
	IF jid IS NOT NULL AND pg_wallet._owns(me, pg_wallet._fraud_score_owner(jid)) THEN
		r := pg_wallet.fraud_risk_score(jid);
	END IF;
	IF r IS NULL OR r ->> 'transactionId' IS DISTINCT FROM code THEN
		RAISE EXCEPTION 'transaction not found' USING ERRCODE = 'WL014';
	END IF;
	RETURN r || pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_risk_score(text, jsonb) IS
	'Tribble GET /transactions/:transactionId/risk-score: the fraud score recorded for one of '
	'the caller''s transactions (score, level, decision, confidence, factors with weights and '
	'explanations, model version); another user''s, unknown or unscored is 404 (WL014).';

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
