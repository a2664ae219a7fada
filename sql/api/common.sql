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

-- A scale-out router (docs/scale-out.md) calls the API of a node through PL/Proxy, which
-- carries an error's SQLSTATE, message, detail and hint back, but not the column the bridge
-- names in details.field. So the router calls through this function, which runs the API
-- function named, and when it raises, raises the same error with the column appended to the
-- hint as "[pg_wallet column: <name>]"; the router takes it off and raises it as COLUMN.
CREATE OR REPLACE FUNCTION pg_wallet.api_remote_call(name text, token text, args jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	result jsonb;
	e_state text;
	e_msg text;
	e_detail text;
	e_hint text;
	e_column text;
BEGIN
	IF name IS NULL OR name !~ '^api_[a-z0-9_]{1,60}$' OR to_regprocedure(
			format('pg_wallet.%I(text, jsonb)', name)) IS NULL OR name = 'api_remote_call' THEN
		RAISE EXCEPTION 'no API function %', name USING ERRCODE = 'undefined_function';
	END IF;
	BEGIN
		EXECUTE format('SELECT pg_wallet.%I($1, $2)', name) INTO result USING token, args;
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT,
			e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT, e_column = COLUMN_NAME;
		IF coalesce(e_column, '') = '' THEN
			RAISE;
		END IF;
		e_hint := ltrim(coalesce(e_hint, '') || ' [pg_wallet column: ' || e_column || ']');
		IF coalesce(e_detail, '') <> '' THEN
			RAISE EXCEPTION USING ERRCODE = e_state, MESSAGE = e_msg, DETAIL = e_detail,
				HINT = e_hint, COLUMN = e_column;
		END IF;
		RAISE EXCEPTION USING ERRCODE = e_state, MESSAGE = e_msg, HINT = e_hint,
			COLUMN = e_column;
	END;
	RETURN result;
END
$$;
COMMENT ON FUNCTION pg_wallet.api_remote_call(text, text, jsonb) IS
	'For a scale-out router: pg_wallet.<name>(token, args), an API function, whose error, if '
	'it names a column, carries it in its hint as "[pg_wallet column: <name>]" (PL/Proxy '
	'brings back no column). Runs with the caller''s rights: the caller must be allowed that '
	'API function.';
