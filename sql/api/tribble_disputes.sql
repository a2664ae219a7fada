-- API layer, Tribble profile: disputes and chargebacks (tribble-rest-api.md "Disputes &
-- Chargebacks"), served by pg_wallet_bridge under /tribble/api/v1:
--   POST /transactions/:transactionId/dispute  pg_wallet.api_tribble_dispute_open
--   POST /disputes/:disputeId/evidence         pg_wallet.api_tribble_dispute_evidence
--   GET  /disputes/:disputeId                  pg_wallet.api_tribble_dispute
--   PUT  /disputes/:disputeId/resolution       pg_wallet.api_tribble_dispute_resolution
-- Each authenticates a Tribble token first (the resolution for role admin only: 403 WL031);
-- here only the JSON types of the body are checked, every rule is the payments layer's
-- (sql/payments/disputes.sql). Evidence is JSON file references, not a multipart upload
-- (docs/bridge.md, deviations).

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_dispute_open(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	b jsonb := args -> 'body';
BEGIN
	PERFORM pg_wallet._tribble_require(b, ARRAY['reason']);
	RETURN pg_wallet.dispute_open(args #>> '{path,id}', me.principal_id,
			pg_wallet._tribble_opt_string(b, 'reason', 50),
			pg_wallet._tribble_opt_string(b, 'description', 1000), b -> 'evidenceFiles')
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_dispute_open(text, jsonb) IS
	'Tribble POST /transactions/:transactionId/dispute {reason, description, evidenceFiles} '
	'by the payment''s customer (dispute_open). 201 {disputeId, transactionId, reason, amount, '
	'currency, status, deadline, merchantResponseDeadline, createdAt, replayed, message}; 400 '
	'naming a bad field, 400 DISPUTE_EXPIRED after the window, 403 for the merchant, 404 for '
	'anyone else, 409 when already disputed, 422 for a payment that cannot be disputed.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_dispute_evidence(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
	b jsonb := args -> 'body';
BEGIN
	PERFORM pg_wallet._tribble_require(b, '{}');	-- a JSON object
	RETURN pg_wallet.dispute_evidence_add(args #>> '{path,id}', me.principal_id, b -> 'files',
			pg_wallet._tribble_opt_string(b, 'description', 1000))
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_dispute_evidence(text, jsonb) IS
	'Tribble POST /disputes/:disputeId/evidence {files: [fileId | {fileId, url, type, size}], '
	'description} by the customer, the merchant or an admin (dispute_evidence_add). 200 '
	'{disputeId, evidenceCount, totalFileSize, totalEvidence, status, submittedBy, '
	'uploadedAt, message}; 400 naming a bad field; 404 for anyone else; 409 once resolved or, '
	'for the merchant, after its response deadline.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_dispute(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._tribble_me(token);
BEGIN
	RETURN pg_wallet.dispute_get(args #>> '{path,id}', me.principal_id)
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_dispute(text, jsonb) IS
	'Tribble GET /disputes/:disputeId: dispute_get for its customer, its merchant and admins; '
	'404 for anyone else.';

CREATE OR REPLACE FUNCTION pg_wallet.api_tribble_dispute_resolution(token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet._api_caller(token, 'tribble', ARRAY['admin']);
	b jsonb := args -> 'body';
BEGIN
	PERFORM pg_wallet._tribble_require(b, ARRAY['resolution']);
	RETURN pg_wallet.dispute_resolve(args #>> '{path,id}', me.principal_id,
			b ->> 'resolution', pg_wallet._tribble_opt_number(b, 'refundAmount'),
			pg_wallet._tribble_opt_string(b, 'notes', 1000))
		|| pg_wallet._tribble_bridge(me);
END
$$;
COMMENT ON FUNCTION pg_wallet.api_tribble_dispute_resolution(text, jsonb) IS
	'Tribble PUT /disputes/:disputeId/resolution {resolution APPROVED | REJECTED, '
	'refundAmount, notes} (admins only: 403): dispute_resolve. 200 {disputeId, transactionId, '
	'status RESOLVED, resolution, refundId, refundAmount, currency, notes, resolvedAt, '
	'replayed, message}; 400 naming a bad field; 404 unknown; 409 already resolved; 422 when '
	'the refund exceeds what remains refundable.';
