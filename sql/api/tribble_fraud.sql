-- API layer, Tribble profile: fraud detection (tribble-rest-api.md, "Fraud Detection").
-- GET /transactions/:transactionId/risk-score reads the score recorded when the payment was
-- posted (src/rules/fraud.c); another user's transaction, an unknown one and an unscored one
-- are the same 404 (WL014), so a caller cannot tell them apart. (The admin analytics
-- endpoint comes with the bridge routes, issue 12 phase 2.)

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
