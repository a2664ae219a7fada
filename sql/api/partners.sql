-- API layer: the partners profile, served by pg_wallet_bridge at /partners (its
-- partners_base_path): where payment partners deliver their callbacks over HTTP. One function
-- per route:
--   pg_wallet.api_<op>(token text, args jsonb) RETURNS jsonb
-- args is the bridge's envelope of a raw-body route: {"request_id", "path": {"id"[, "key"]},
-- "query", "headers": {"webhook-id", "webhook-timestamp", "webhook-signature"}, "body": "<the
-- request body, byte for byte, as a JSON string>"}. The body is passed as text because the
-- signature covers its bytes: parsed and printed again it would no longer verify.
--
-- Who is calling: a partner, with no token (token is always NULL here). A callback is
-- authenticated by what partner_callback and mpesa_callback verify (sql/partners/callbacks.sql):
-- the Standard Webhooks signature under the partner's secret, or, for Daraja which signs
-- nothing, the unguessable token in the callback URL. Everything else (the partner, its
-- adapter, the body's shape and size, the reference, the amount, replays) is theirs too, so a
-- callback over HTTP and one over SQL are the same call with the same answers.

CREATE OR REPLACE FUNCTION pg_wallet._partners_raw_body(args jsonb)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF jsonb_typeof(args -> 'body') IS DISTINCT FROM 'string' THEN
		RAISE EXCEPTION 'malformed callback: the request body must be JSON' USING ERRCODE = 'WL066';
	END IF;
	RETURN args ->> 'body';
END
$$;
COMMENT ON FUNCTION pg_wallet._partners_raw_body(jsonb) IS
	'Internal: the raw request body of a partners-profile envelope (WL066 when the bridge '
	'passed none).';

CREATE OR REPLACE FUNCTION pg_wallet.api_partner_callback(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN pg_wallet.partner_callback(args #>> '{path,id}', pg_wallet._partners_raw_body(args),
		coalesce(args -> 'headers', '{}'));
END
$$;
COMMENT ON FUNCTION pg_wallet.api_partner_callback(text, jsonb) IS
	'Partners POST /:id/callback: a generic_json partner''s signed callback (Standard '
	'Webhooks headers webhook-id, webhook-timestamp, webhook-signature over the raw body), '
	'handed to partner_callback unchanged: 200 {"status", "replayed", ...}; WL065 (401) bad or '
	'missing signature, WL066 (400) malformed, WL063 (404) unknown reference, WL072 (422) '
	'amount or currency mismatch, WL060 (404) no such partner.';

CREATE OR REPLACE FUNCTION pg_wallet.api_mpesa_callback(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	result jsonb;
BEGIN
	result := pg_wallet.mpesa_callback(args #>> '{path,id}', pg_wallet._partners_raw_body(args),
		jsonb_build_object('x-callback-token', coalesce(args #>> '{path,key}', '')));
	RETURN jsonb_build_object('ResultCode', 0, 'ResultDesc', 'Accepted') || result;
END
$$;
COMMENT ON FUNCTION pg_wallet.api_mpesa_callback(text, jsonb) IS
	'Partners POST /:id/mpesa/:key: a Daraja STK push or B2C result callback, the URL''s last '
	'segment the callback token (_mpesa_callback_url) handed to mpesa_callback as '
	'x-callback-token: 200 {"ResultCode": 0, "ResultDesc": "Accepted", "status", "replayed"}; '
	'WL065 (401) wrong token, WL066 (400) malformed, WL063 (404) unknown request, WL072 (422) '
	'amount mismatch, WL060 (404) no such partner.';
