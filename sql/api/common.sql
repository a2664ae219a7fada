-- API layer, shared by every profile (waas, sellapay, cashier, tribble): who the caller is
-- and what belongs to it. Owns the rule "this owner / account belongs to the caller", the
-- one place it is written, and its single refusal: an account that does not exist and an
-- account of someone else are the same error, byte for byte, so that no profile tells a
-- caller whether another user's account number exists. Must never: speak a profile's
-- request or reply shapes (that is sql/api/<profile>.sql), or move money.
-- (The owner's default wallet, which withdraw_request also needs, is _owner_wallet in
-- sql/core/accounts.sql, below the partners layer.)

-- A token issued for another API profile (its aud) is refused: a Sellapay or Tribble token
-- is not a WaaS token. authenticate() checks the audience (WL023), then the role (WL031).
CREATE OR REPLACE FUNCTION pg_wallet._api_caller(token text, profile text, roles text[])
RETURNS pg_wallet.auth_principal
AS 'MODULE_PATHNAME', 'wallet_api_caller'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet._api_caller(text, text, text[]) IS
	'Internal: authenticate() for one API profile: the token''s audience must be that '
	'profile (WL023 otherwise, checked before the role: WL031).';

-- Whether an owner belongs to the caller. In WaaS (a token of audience waas) the caller is
-- a tenant acting for the clients it registered: owners of kind client whose metadata
-- carries waas.tenant_owner_id = the caller's owner (never the tenant's own owner); a WaaS
-- admin acts for every owner. In every other profile it is the caller's own owner, and
-- only that one (an admin included).
--
-- The API helpers on every call's path (_owns, _owned_account, the profiles' _<profile>_me)
-- are PL/pgSQL, never SQL-language functions: a SQL function with SET search_path is never
-- inlined, and PostgreSQL 15 parses and plans its body again on every call from PL/pgSQL or
-- another statement, where PL/pgSQL keeps its plans per backend (issue 20).
CREATE OR REPLACE FUNCTION pg_wallet._owns(me pg_wallet.auth_principal, owner_id bigint)
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF me.profile IS DISTINCT FROM 'waas' THEN
		RETURN coalesce(_owns.owner_id = me.owner_id, false);
	END IF;
	RETURN coalesce(me.role = 'admin', false) OR EXISTS (
		SELECT 1 FROM pg_wallet.owners o
		WHERE o.id = _owns.owner_id AND o.kind = 'client'
			AND (o.metadata #>> '{waas,tenant_owner_id}')::bigint = me.owner_id);
END
$$;
COMMENT ON FUNCTION pg_wallet._owns(pg_wallet.auth_principal, bigint) IS
	'Internal: true when the owner belongs to the caller (WaaS: a client of the caller''s '
	'tenant, or any for an admin; other profiles: the caller''s own owner).';

-- One account of the caller by number; WL005 "account not found" when there is none or it
-- is not the caller's: one error for both (the cashier spec's words), so a foreign account
-- number cannot be told from an unknown one. Each profile's status for WL005 (404, or the
-- cashier's error frame) is the bridge's map.
CREATE OR REPLACE FUNCTION pg_wallet._owned_account(me pg_wallet.auth_principal,
	account_number text)
RETURNS pg_wallet.account_info
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	a pg_wallet.account_info;
BEGIN
	IF length(account_number) <= 64 THEN
		a := (SELECT pg_wallet._account_info(x) FROM pg_wallet.accounts x
		      WHERE x.account_number = _owned_account.account_number);
	END IF;
	IF a.account_id IS NULL OR NOT pg_wallet._owns(me, a.owner_id) THEN
		RAISE EXCEPTION 'account not found' USING ERRCODE = 'WL005';
	END IF;
	RETURN a;
END
$$;
COMMENT ON FUNCTION pg_wallet._owned_account(pg_wallet.auth_principal, text) IS
	'Internal: one of the caller''s accounts (see _owns), or WL005 "account not found", the '
	'same whether the number is unknown or another''s.';

-- The bridge's request context (docs/bridge.md, "Request context"): every call the bridge
-- makes is pg_wallet.api_<op>($1, pg_wallet.api_request_context($2, $3)), so the client's
-- address, User-Agent and X-Device-Id are set for fraud scoring (set_request_context, which
-- validates them) before the API function runs, in the same statement and transaction. The
-- bridge only ever passes values set_request_context takes (bounded printable ASCII, the
-- socket's peer address); one it refused would be the request's 400.
CREATE OR REPLACE FUNCTION pg_wallet.api_request_context(args jsonb, context jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF context IS NOT NULL THEN
		PERFORM pg_wallet.set_request_context(context);
	END IF;
	RETURN args;
END
$$;
COMMENT ON FUNCTION pg_wallet.api_request_context(jsonb, jsonb) IS
	'The bridge: set the request context of the current transaction (set_request_context: '
	'{"ip", "user_agent", "device_id"}; NULL leaves it unset) and return args unchanged, to '
	'be passed on to the API function of the same statement.';
