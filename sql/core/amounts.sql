-- Amounts and receipt codes (C, src/core/amount.c and src/core/receipt.c).

CREATE OR REPLACE FUNCTION pg_wallet.amount_parse(amount text, currency text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'wallet_amount_parse_text'
LANGUAGE C STABLE STRICT PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.amount_parse(text, text) IS
	'Exact decimal text to minor units of the currency; more decimals than the currency has '
	'(other than trailing zeros), NaN, infinities and overflow are errors (SQLSTATE WL010).';

CREATE OR REPLACE FUNCTION pg_wallet.amount_parse(amount numeric, currency text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'wallet_amount_parse_numeric'
LANGUAGE C STABLE STRICT PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.amount_parse(numeric, text) IS
	'Exact numeric to minor units of the currency; same rules as amount_parse(text, text).';

CREATE OR REPLACE FUNCTION pg_wallet.amount_format(amount_minor bigint, currency text)
RETURNS numeric
AS 'MODULE_PATHNAME', 'wallet_amount_format'
LANGUAGE C STABLE STRICT PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet.amount_format(bigint, text) IS
	'Minor units to an exact numeric with the currency''s exponent as scale (1050, KES -> 10.50).';

CREATE OR REPLACE FUNCTION pg_wallet.receipt_code(journal_id bigint, created_at timestamptz)
RETURNS text
AS 'MODULE_PATHNAME', 'wallet_receipt_code'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet.receipt_code(bigint, timestamptz) IS
	'The receipt code (RCP-<year>-<18 digits>) of a journal, derived from its id.';

CREATE OR REPLACE FUNCTION pg_wallet.journal_id_from_receipt(receipt_code text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'wallet_journal_id_from_receipt'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet.journal_id_from_receipt(text) IS
	'The journal id a receipt code decodes to, or NULL when malformed. Does not check that '
	'the journal exists; get_journal() does.';

CREATE OR REPLACE FUNCTION pg_wallet.minor_to_numeric(amount_minor bigint, exponent smallint)
RETURNS numeric
AS 'MODULE_PATHNAME', 'wallet_minor_to_numeric'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pg_wallet.minor_to_numeric(bigint, smallint) IS
	'Minor units to an exact numeric with the given exponent as scale.';

-- Ids in public references (DEP-REQ-<date>-007, PLN-000042, ...): zero-padded to a width, and
-- never cut: lpad() truncates a longer string, so lpad(1280, 3) would be '128', the reference
-- of id 128 too.
-- (PL/pgSQL: a SQL-language function with a pinned search_path is never inlined, and is
-- parsed and planned again at every call: 34 us per payment reference, measured)
CREATE OR REPLACE FUNCTION pg_wallet._padded(n bigint, width integer)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN CASE WHEN length(n::text) >= width THEN n::text ELSE lpad(n::text, width, '0') END;
END
$$;
COMMENT ON FUNCTION pg_wallet._padded(bigint, integer) IS
	'Internal: n zero-padded to width digits, never cut (lpad would cut a longer number).';

-- A timestamp as the APIs write it (core/format.c).
CREATE OR REPLACE FUNCTION pg_wallet._ts_iso(ts timestamptz)
RETURNS text
AS 'MODULE_PATHNAME', 'wallet_ts_iso'
LANGUAGE C IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet._ts_iso(timestamptz) IS
	'Internal: a timestamp as the specs show it, ISO 8601 UTC to the second '
	'(2025-12-07T11:00:00Z); NULL for an infinite one.';
