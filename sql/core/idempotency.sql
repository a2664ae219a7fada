-- The one idempotency claim (C, src/core/idempotency.c), for the layers above the posting
-- core: a deposit, a withdrawal and every later domain look their key up with
-- _idempotency_find and claim it with _idempotency_record, in the transaction that creates
-- the result. Postings and holds claim theirs in C. Internal: EXECUTE is granted to nobody.

CREATE OR REPLACE FUNCTION pg_wallet._idempotency_find(scope bigint, key text, kind text,
	request_hash bytea)
RETURNS bigint
AS 'MODULE_PATHNAME', 'wallet_idempotency_find'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet._idempotency_find(bigint, text, text, bytea) IS
	'Internal: the result id of the earlier request of this kind and hash under (scope, key), '
	'NULL for a new key (or a NULL key); WL003 when the key was used for another kind or a '
	'different request. scope: the owner of the account the request acts for.';

CREATE OR REPLACE FUNCTION pg_wallet._idempotency_record(scope bigint, key text, kind text,
	request_hash bytea, result_id bigint)
RETURNS void
AS 'MODULE_PATHNAME', 'wallet_idempotency_record'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet._idempotency_record(bigint, text, text, bytea, bigint) IS
	'Internal: claim (scope, key) for a result of a kind (a NULL key claims nothing); WL017 '
	'when a concurrent request claimed it first (its retry replays).';
