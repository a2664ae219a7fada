-- FX: rates, the rate choice (_fx_rate, the only one), locked quotes, conversion (C,
-- src/rules/fx.c) and the owner summary.

CREATE OR REPLACE FUNCTION pg_wallet.set_fx_rate(
	base_currency text,
	quote_currency text,
	rate numeric,
	spread numeric DEFAULT 0,
	valid_from timestamptz DEFAULT NULL,
	valid_to timestamptz DEFAULT NULL,
	source text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	new_id bigint;
BEGIN
	IF (SELECT count(*) FROM pg_wallet.currencies c
	    WHERE c.code IN (base_currency, quote_currency) AND c.is_active) <> 2
		OR base_currency = quote_currency THEN
		RAISE EXCEPTION 'an fx rate needs two different active currencies, not % and %',
			coalesce(base_currency, 'NULL'), coalesce(quote_currency, 'NULL')
			USING ERRCODE = 'WL015';
	END IF;
	IF rate IS NULL OR rate <= 0 OR rate >= 1000000000000 OR scale(rate) > 12 THEN
		RAISE EXCEPTION 'rate must be positive, below 10^12, with at most 12 decimals'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF spread IS NULL OR spread < 0 OR spread >= 1 OR scale(spread) > 8 THEN
		RAISE EXCEPTION 'spread is a fraction in [0, 1) with at most 8 decimals (0.005 = 0.5%%)'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF valid_to IS NOT NULL AND valid_to <= coalesce(valid_from, now()) THEN
		RAISE EXCEPTION 'valid_to must be after valid_from'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF source IS NOT NULL AND length(source) > 100 THEN
		RAISE EXCEPTION 'source is longer than 100 characters'
			USING ERRCODE = 'string_data_right_truncation';
	END IF;
	INSERT INTO pg_wallet.fx_rates (base_currency, quote_currency, rate, spread, valid_from,
		valid_to, source)
	VALUES (base_currency, quote_currency, rate, spread, coalesce(valid_from, now()), valid_to,
		source)
	RETURNING id INTO new_id;
	RETURN new_id;
END
$$;
COMMENT ON FUNCTION pg_wallet.set_fx_rate(text, text, numeric, numeric, timestamptz,
	timestamptz, text) IS
	'Publish a rate: 1 base = rate quote (exact decimal), spread a fraction taken from '
	'customers, valid from valid_from (default now) until valid_to (default open). The latest '
	'valid rate of a pair supersedes earlier ones; rates are never updated.';

-- The rate choice, the one place it is written: every reader of fx_rates that needs "the rate
-- of a pair" (get_fx_rate, fx_quote through it, convert() in src/rules/fx.c, get_owner_summary)
-- calls this. The chosen rate from -> to at a time: of the rates valid then, the direct pair's
-- latest (valid_from, then id), else the reverse pair's latest inverted (1/rate rounded to 16
-- decimals); rate_id, when given, restricts the choice to that rate (still valid at that time).
-- No row when none is valid. mid_rate is 1 from = mid_rate to; effective_rate is what a
-- customer gets, mid_rate x (1 - spread).
CREATE OR REPLACE FUNCTION pg_wallet._fx_rate(from_currency text, to_currency text,
	at timestamptz, rate_id bigint DEFAULT NULL)
RETURNS TABLE (chosen_rate_id bigint, mid_rate numeric, spread numeric, effective_rate numeric,
	inverse boolean, valid_from timestamptz, valid_to timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT c.id, c.mid, c.spread, c.mid * (1 - c.spread), NOT c.direct, c.valid_from, c.valid_to
	FROM (SELECT r.id, r.spread, r.valid_from, r.valid_to, r.base_currency = $1 AS direct,
	             CASE WHEN r.base_currency = $1 THEN r.rate ELSE round(1 / r.rate, 16) END AS mid
	      FROM pg_wallet.fx_rates r
	      WHERE ((r.base_currency = $1 AND r.quote_currency = $2)
	          OR (r.base_currency = $2 AND r.quote_currency = $1))
	        AND r.valid_from <= $3 AND (r.valid_to IS NULL OR r.valid_to > $3)
	        AND ($4 IS NULL OR r.id = $4)
	      ORDER BY r.base_currency = $1 DESC, r.valid_from DESC, r.id DESC
	      LIMIT 1) c
$$;
COMMENT ON FUNCTION pg_wallet._fx_rate(text, text, timestamptz, bigint) IS
	'Internal: the FX rate choice (the only one): the rate from -> to valid at a time (direct '
	'pair''s latest, else the reverse pair''s inverted), optionally only a given rate id; no '
	'row when none is valid.';

-- The rate a conversion from -> to would use now, or an explicit rate id.
CREATE OR REPLACE FUNCTION pg_wallet.get_fx_rate(from_currency text, to_currency text,
	rate_id bigint DEFAULT NULL)
RETURNS TABLE (fx_rate_id bigint, fx_rate numeric, mid_rate numeric, spread numeric,
	inverse boolean, valid_from timestamptz, valid_to timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN QUERY
		SELECT c.chosen_rate_id, trim_scale(c.effective_rate), trim_scale(c.mid_rate), c.spread,
			c.inverse, c.valid_from, c.valid_to
		FROM pg_wallet._fx_rate(from_currency, to_currency, now(), get_fx_rate.rate_id) c;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no fx rate for % to %', from_currency, to_currency
			USING ERRCODE = 'WL045', HINT = 'Set one with set_fx_rate().';
	END IF;
END
$$;
COMMENT ON FUNCTION pg_wallet.get_fx_rate(text, text, bigint) IS
	'The rate a conversion from one currency to another uses now (the direct pair''s latest '
	'valid rate, else the inverse of the reverse pair''s): effective rate, mid rate, spread.';

CREATE OR REPLACE FUNCTION pg_wallet.fx_quote(from_currency text, to_currency text,
	ttl_seconds integer DEFAULT 30)
RETURNS TABLE (quote_id bigint, fx_rate_id bigint, fx_rate numeric, expires_at timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r record;
BEGIN
	IF ttl_seconds IS NULL OR ttl_seconds NOT BETWEEN 1 AND 3600 THEN
		RAISE EXCEPTION 'ttl_seconds must be between 1 and 3600'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT * INTO r FROM pg_wallet.get_fx_rate(from_currency, to_currency);
	RETURN QUERY
		INSERT INTO pg_wallet.fx_quotes AS q (rate_id, from_currency, to_currency,
			effective_rate, expires_at)
		VALUES (r.fx_rate_id, from_currency, to_currency, r.fx_rate,
			now() + make_interval(secs => ttl_seconds))
		RETURNING q.id, q.rate_id, trim_scale(q.effective_rate), q.expires_at;
END
$$;
COMMENT ON FUNCTION pg_wallet.fx_quote(text, text, integer) IS
	'Lock the current effective rate for ttl_seconds: convert(..., quote_id => id) uses it once.';

CREATE OR REPLACE FUNCTION pg_wallet.convert(
	from_account text,
	to_account text,
	amount numeric,
	idempotency_key text DEFAULT NULL,
	description text DEFAULT NULL,
	rate_id bigint DEFAULT NULL,
	quote_id bigint DEFAULT NULL,
	metadata jsonb DEFAULT NULL)
RETURNS pg_wallet.conversion_result
AS 'MODULE_PATHNAME', 'wallet_convert'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.convert(text, text, numeric, text, text, bigint, bigint, jsonb) IS
	'Convert an amount from one account to an account in another currency (the owner''s own, '
	'or anyone''s: convert and transfer), in one FX_CONVERSION journal through SYS-FX-<cur> '
	'position accounts. converted = floor(amount x rate x (1 - spread)) in the destination''s '
	'minor units; the CONVERSION fee is charged to the sender in the source currency.';

CREATE OR REPLACE FUNCTION pg_wallet.get_owner_summary(owner_id bigint,
	reference_currency text DEFAULT 'USD')
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	ref_exponent smallint;
	result jsonb;
BEGIN
	SELECT c.exponent INTO ref_exponent FROM pg_wallet.currencies c
	WHERE c.code = reference_currency;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown currency "%"', reference_currency USING ERRCODE = 'WL015';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_wallet.owners o WHERE o.id = owner_id) THEN
		RAISE EXCEPTION 'owner % does not exist', owner_id USING ERRCODE = 'WL018';
	END IF;
	WITH b AS (
		SELECT a.id, a.account_number, a.currency, a.exponent,
			a.balance + coalesce((SELECT sum(d.amount) FROM pg_wallet.account_deltas d
			                      WHERE d.account_id = a.id), 0) AS total,
			a.pending_debit
		FROM pg_wallet.accounts a
		WHERE a.owner_id = get_owner_summary.owner_id AND a.status <> 'CLOSED'),
	valued AS (
		SELECT b.*, CASE WHEN b.currency = reference_currency THEN 1::numeric
			ELSE (SELECT c.mid_rate FROM pg_wallet._fx_rate(b.currency, reference_currency, now()) c)
			END AS mid
		FROM b)
	SELECT jsonb_build_object(
		'account_balances', coalesce(jsonb_agg(jsonb_build_object(
			'account_number', v.account_number,
			'currency', v.currency,
			'balance', pg_wallet.minor_to_numeric(v.total::bigint, v.exponent),
			'available_balance', pg_wallet.minor_to_numeric((v.total - v.pending_debit)::bigint,
			                                                v.exponent))
			ORDER BY v.id), '[]'),
		'total_balance', round(coalesce(sum(v.total / 10::numeric ^ v.exponent * v.mid), 0),
		                       ref_exponent),
		'total_balance_' || lower(reference_currency),
			round(coalesce(sum(v.total / 10::numeric ^ v.exponent * v.mid), 0), ref_exponent),
		'reference_currency', reference_currency,
		'unvalued_currencies', coalesce(jsonb_agg(DISTINCT v.currency)
			FILTER (WHERE v.mid IS NULL), '[]'),
		'total_accounts', count(*))
	INTO result
	FROM valued v;
	RETURN result;
END
$$;
COMMENT ON FUNCTION pg_wallet.get_owner_summary(bigint, text) IS
	'An owner''s open accounts with balances and the total in a reference currency at current '
	'mid rates (rounded half up to the reference currency''s minor unit); currencies without a '
	'rate are listed in unvalued_currencies and left out of the total.';
