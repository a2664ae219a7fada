-- Partners and agents: administration, the cashier's get_partners, and the choice of a
-- partner for a deposit or payout. Secrets are write-only: set here, read only by the outbox
-- claim in the worker (partners/outbox.sql) and by callback verification (partners/callbacks.sql).

CREATE OR REPLACE FUNCTION pg_wallet._parse_webhook_secret(secret text)
RETURNS bytea
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	raw bytea;
BEGIN
	IF secret IS NULL OR octet_length(secret) > 200 OR secret !~ '^whsec_[A-Za-z0-9+/=]+$' THEN
		RAISE EXCEPTION 'a webhook secret must look like whsec_<base64>'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	BEGIN
		raw := decode(substr(secret, 7), 'base64');
	EXCEPTION WHEN OTHERS THEN
		RAISE EXCEPTION 'a webhook secret must look like whsec_<base64>'
			USING ERRCODE = 'invalid_parameter_value';
	END;
	IF octet_length(raw) NOT BETWEEN 16 AND 64 THEN
		RAISE EXCEPTION 'a webhook secret must hold 16 to 64 bytes'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN raw;
END
$$;
COMMENT ON FUNCTION pg_wallet._parse_webhook_secret(text) IS
	'Internal: the bytes of a Standard Webhooks secret "whsec_<base64>" (16 to 64 bytes); '
	'22023 otherwise, without echoing it.';

CREATE OR REPLACE FUNCTION pg_wallet._partner_info(p pg_wallet.partners)
RETURNS pg_wallet.partner_info
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT p.id, p.name, p.country, p.service, p.status, p.adapter, p.base_url,
		ARRAY(SELECT pa.currency FROM pg_wallet.partner_accounts pa
		      WHERE pa.partner_id = p.id ORDER BY pa.currency),
		p.can_deposit, p.can_payout, p.priority, p.created_at
$$;
COMMENT ON FUNCTION pg_wallet._partner_info(pg_wallet.partners) IS
	'Internal: a partners row as partner_info (no secret).';

CREATE OR REPLACE FUNCTION pg_wallet._partner_row(p_id text, p_lock boolean DEFAULT false)
RETURNS pg_wallet.partners
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.partners;
BEGIN
	IF p_lock THEN
		SELECT * INTO p FROM pg_wallet.partners x WHERE x.id = p_id FOR UPDATE;
	ELSE
		SELECT * INTO p FROM pg_wallet.partners x WHERE x.id = p_id;
	END IF;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'partner % does not exist', coalesce(left(p_id, 50), 'NULL')
			USING ERRCODE = 'WL060';
	END IF;
	RETURN p;
END
$$;
COMMENT ON FUNCTION pg_wallet._partner_row(text, boolean) IS
	'Internal: a partner by id (locked when asked), or WL060.';

CREATE OR REPLACE FUNCTION pg_wallet.add_partner_currency(partner_id text, currency text)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.partners := pg_wallet._partner_row(partner_id, true);
	acct pg_wallet.account_info;
	number text;
BEGIN
	SELECT a.account_number INTO number
	FROM pg_wallet.partner_accounts pa JOIN pg_wallet.accounts a ON a.id = pa.account_id
	WHERE pa.partner_id = p.id AND pa.currency = add_partner_currency.currency;
	IF FOUND THEN
		RETURN number;
	END IF;
	acct := pg_wallet.create_account(p.owner_id, currency, 'SETTLEMENT',
		format('SETTLE-%s-%s', p.id, currency), 0, true, 'DEFERRED',
		left(format('%s settlement %s', p.name, currency), 200));
	INSERT INTO pg_wallet.partner_accounts (partner_id, currency, account_id)
	VALUES (p.id, acct.currency, acct.account_id);
	RETURN acct.account_number;
END
$$;
COMMENT ON FUNCTION pg_wallet.add_partner_currency(text, text) IS
	'Admin: open (once) the partner''s settlement account in a currency, '
	'SETTLE-<partner>-<CUR>: purpose SETTLEMENT, can_overdraw, credit mode DEFERRED (never '
	'locked by deposits or payouts). Returns its account number.';

CREATE OR REPLACE FUNCTION pg_wallet.create_partner(
	name text,
	country text,
	service text,
	adapter text,
	base_url text,
	currencies text[],
	callback_url text DEFAULT NULL,
	webhook_secret text DEFAULT NULL,
	credentials jsonb DEFAULT '{}',
	partner_id text DEFAULT NULL,
	can_deposit boolean DEFAULT true,
	can_payout boolean DEFAULT true,
	priority integer DEFAULT 100,
	timeout_ms integer DEFAULT NULL)
RETURNS pg_wallet.partner_info
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	new_id text := coalesce(partner_id, 'PTN-' || nextval('pg_wallet.partner_id_seq'));
	secret bytea := CASE WHEN webhook_secret IS NULL THEN pg_wallet._random_bytes(32)
	                     ELSE pg_wallet._parse_webhook_secret(webhook_secret) END;
	p pg_wallet.partners;
	cur text;
BEGIN
	IF new_id !~ '^PTN-[A-Za-z0-9_-]{1,40}$' THEN
		RAISE EXCEPTION 'partner id must look like PTN-123' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_wallet.partners x WHERE x.id = new_id) THEN
		RAISE EXCEPTION 'partner % already exists', new_id USING ERRCODE = 'unique_violation';
	END IF;
	IF name IS NULL OR length(name) NOT BETWEEN 1 AND 200 THEN
		RAISE EXCEPTION 'partner name must be 1 to 200 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF country IS NULL OR country !~ '^[A-Z]{2}$' THEN
		RAISE EXCEPTION 'country must be an ISO 3166 alpha-2 code such as KE'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF service IS NULL OR service !~ '^[a-z][a-z0-9_]{1,31}$' THEN
		RAISE EXCEPTION 'service must be a lower-case code such as mpesa or bank_transfer'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF adapter IS NULL OR adapter NOT IN ('generic_json', 'mpesa_daraja') THEN
		RAISE EXCEPTION 'adapter must be generic_json or mpesa_daraja'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF base_url IS NULL OR base_url !~ '^https?://[^[:space:]]+$' OR length(base_url) > 500 THEN
		RAISE EXCEPTION 'base_url must be an http or https URL of at most 500 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF callback_url IS NOT NULL
		AND (callback_url !~ '^https?://[^[:space:]]+$' OR length(callback_url) > 500) THEN
		RAISE EXCEPTION 'callback_url must be an http or https URL of at most 500 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF credentials IS NULL OR jsonb_typeof(credentials) <> 'object'
		OR octet_length(credentials::text) > 4096 THEN
		RAISE EXCEPTION 'credentials must be a JSON object of at most 4096 bytes'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF adapter = 'mpesa_daraja' AND NOT credentials ?& ARRAY['shortcode', 'passkey'] THEN
		RAISE EXCEPTION 'an M-Pesa partner needs credentials shortcode and passkey'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF currencies IS NULL OR cardinality(currencies) NOT BETWEEN 1 AND 20 THEN
		RAISE EXCEPTION 'a partner needs 1 to 20 currencies' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO pg_wallet.partners (id, owner_id, name, country, service, adapter, base_url,
		callback_url, can_deposit, can_payout, priority, timeout_ms)
	VALUES (new_id, pg_wallet.create_owner('partner', name, 'partner:' || new_id), name,
		country, service, adapter, rtrim(base_url, '/'), rtrim(callback_url, '/'),
		coalesce(can_deposit, true), coalesce(can_payout, true), coalesce(priority, 100),
		timeout_ms)
	RETURNING * INTO p;
	INSERT INTO pg_wallet.partner_secrets (partner_id, webhook_secret, credentials)
	VALUES (p.id, secret, credentials);
	FOREACH cur IN ARRAY currencies LOOP
		PERFORM pg_wallet.add_partner_currency(p.id, cur);
	END LOOP;
	RETURN pg_wallet._partner_info(p);
END
$$;
COMMENT ON FUNCTION pg_wallet.create_partner(text, text, text, text, text, text[], text, text,
	jsonb, text, boolean, boolean, integer, integer) IS
	'Admin: a partner (id PTN-<n> unless given) with its ledger owner and one settlement '
	'account per currency. adapter generic_json (signed JSON) or mpesa_daraja (credentials '
	'shortcode, passkey, consumer_key and consumer_secret for the OAuth Bearer token, and for '
	'payouts initiator_name, security_credential). '
	'webhook_secret "whsec_<base64>" (generated when NULL; see rotate_partner_secret). '
	'Secrets are stored write-only.';

CREATE OR REPLACE FUNCTION pg_wallet.rotate_partner_secret(partner_id text)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.partners := pg_wallet._partner_row(partner_id, true);
	raw bytea := pg_wallet._random_bytes(32);
BEGIN
	UPDATE pg_wallet.partner_secrets s SET webhook_secret = raw, updated_at = now()
	WHERE s.partner_id = p.id;
	RETURN 'whsec_' || replace(encode(raw, 'base64'), E'\n', '');
END
$$;
COMMENT ON FUNCTION pg_wallet.rotate_partner_secret(text) IS
	'Admin: a new random webhook secret for a partner, returned once as whsec_<base64> to be '
	'given to the partner; the old one stops working at once.';

CREATE OR REPLACE FUNCTION pg_wallet.set_partner_secrets(
	partner_id text,
	webhook_secret text DEFAULT NULL,
	credentials jsonb DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.partners := pg_wallet._partner_row(partner_id, true);
BEGIN
	IF credentials IS NOT NULL AND (jsonb_typeof(credentials) <> 'object'
		OR octet_length(credentials::text) > 4096) THEN
		RAISE EXCEPTION 'credentials must be a JSON object of at most 4096 bytes'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	UPDATE pg_wallet.partner_secrets s
	SET webhook_secret = CASE WHEN set_partner_secrets.webhook_secret IS NULL THEN s.webhook_secret
		ELSE pg_wallet._parse_webhook_secret(set_partner_secrets.webhook_secret) END,
		credentials = coalesce(set_partner_secrets.credentials, s.credentials),
		updated_at = now()
	WHERE s.partner_id = p.id;
END
$$;
COMMENT ON FUNCTION pg_wallet.set_partner_secrets(text, text, jsonb) IS
	'Admin: replace a partner''s webhook secret and/or credentials (NULL keeps the current '
	'one; credentials are replaced as a whole object, M-Pesa consumer_key and consumer_secret '
	'included). Nothing reads them back.';

CREATE OR REPLACE FUNCTION pg_wallet.set_partner_status(partner_id text, status text)
RETURNS pg_wallet.partner_info
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.partners := pg_wallet._partner_row(partner_id, true);
BEGIN
	IF status IS NULL OR status NOT IN ('active', 'inactive', 'suspended') THEN
		RAISE EXCEPTION 'partner status must be active, inactive or suspended'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	UPDATE pg_wallet.partners x SET status = set_partner_status.status, updated_at = now()
	WHERE x.id = p.id
	RETURNING * INTO p;
	RETURN pg_wallet._partner_info(p);
END
$$;
COMMENT ON FUNCTION pg_wallet.set_partner_status(text, text) IS
	'Admin: activate, deactivate or suspend a partner. Only active partners take new '
	'deposits and payouts; callbacks for requests already sent are still accepted.';

CREATE OR REPLACE FUNCTION pg_wallet.list_partners(service text DEFAULT NULL)
RETURNS SETOF pg_wallet.partner_info
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT (pg_wallet._partner_info(p)).* FROM pg_wallet.partners p
	WHERE list_partners.service IS NULL OR p.service = list_partners.service
	ORDER BY p.priority, p.id
$$;
COMMENT ON FUNCTION pg_wallet.list_partners(text) IS
	'Admin: every partner (of a service), any status, in selection order.';

CREATE OR REPLACE FUNCTION pg_wallet.get_partners(service text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	list jsonb;
BEGIN
	IF service IS NULL OR service !~ '^[a-z][a-z0-9_]{1,31}$' THEN
		RAISE EXCEPTION 'service must be a lower-case code such as mpesa or bank_transfer'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT coalesce(jsonb_agg(jsonb_build_object('id', p.id, 'name', p.name,
			'country', p.country, 'service', p.service, 'status', p.status)
			ORDER BY p.priority, p.id), '[]')
	INTO list
	FROM pg_wallet.partners p
	WHERE p.service = get_partners.service AND p.status = 'active';
	RETURN jsonb_build_object('partners', list, 'count', jsonb_array_length(list));
END
$$;
COMMENT ON FUNCTION pg_wallet.get_partners(text) IS
	'Cashier get_partners: the active partners of a service as {"partners": [{"id", "name", '
	'"country", "service", "status"}], "count"}, in selection order.';

CREATE OR REPLACE FUNCTION pg_wallet._select_partner(
	p_partner_id text, p_service text, p_currency text, p_payout boolean)
RETURNS pg_wallet.partners
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.partners;
	what text := CASE WHEN p_payout THEN 'payouts' ELSE 'deposits' END;
BEGIN
	IF p_partner_id IS NOT NULL THEN
		p := pg_wallet._partner_row(p_partner_id);
		IF p.status <> 'active' THEN
			RAISE EXCEPTION 'partner % is %', p.id, p.status USING ERRCODE = 'WL061';
		END IF;
		IF p_service IS NOT NULL AND p.service <> p_service THEN
			RAISE EXCEPTION 'partner % does not offer %', p.id, left(p_service, 32)
				USING ERRCODE = 'WL061';
		END IF;
		IF (p_payout AND NOT p.can_payout) OR (NOT p_payout AND NOT p.can_deposit) THEN
			RAISE EXCEPTION 'partner % does not take %', p.id, what USING ERRCODE = 'WL061';
		END IF;
		IF NOT EXISTS (SELECT 1 FROM pg_wallet.partner_accounts pa
		               WHERE pa.partner_id = p.id AND pa.currency = p_currency) THEN
			RAISE EXCEPTION 'partner % does not work in %', p.id, p_currency
				USING ERRCODE = 'WL061';
		END IF;
		RETURN p;
	END IF;
	SELECT x.* INTO p
	FROM pg_wallet.partners x
	JOIN pg_wallet.partner_accounts pa ON pa.partner_id = x.id AND pa.currency = p_currency
	WHERE x.service = p_service AND x.status = 'active'
	  AND CASE WHEN p_payout THEN x.can_payout ELSE x.can_deposit END
	ORDER BY x.priority, x.id
	LIMIT 1;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no active partner offers % % in %', left(p_service, 32), what,
			p_currency USING ERRCODE = 'WL062';
	END IF;
	RETURN p;
END
$$;
COMMENT ON FUNCTION pg_wallet._select_partner(text, text, text, boolean) IS
	'Internal: the partner given (it must be active and serve the service, direction and '
	'currency: WL061) or the first active one by priority that does (WL062 when none).';

CREATE OR REPLACE FUNCTION pg_wallet._settlement_account(p_partner_id text, p_currency text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT a.account_number FROM pg_wallet.partner_accounts pa
	JOIN pg_wallet.accounts a ON a.id = pa.account_id
	WHERE pa.partner_id = p_partner_id AND pa.currency = p_currency
$$;
COMMENT ON FUNCTION pg_wallet._settlement_account(text, text) IS
	'Internal: a partner''s settlement account number in a currency.';

CREATE OR REPLACE FUNCTION pg_wallet.create_agent(
	name text,
	currencies text[],
	agent_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	new_id text;
	owner bigint;
	cur text;
	accounts jsonb := '{}';
BEGIN
	IF name IS NULL OR length(name) NOT BETWEEN 1 AND 200 THEN
		RAISE EXCEPTION 'agent name must be 1 to 200 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF currencies IS NULL OR cardinality(currencies) NOT BETWEEN 1 AND 20 THEN
		RAISE EXCEPTION 'an agent needs 1 to 20 currencies' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	owner := pg_wallet.create_owner('agent', name);
	new_id := coalesce(agent_id, 'AGT-' || owner);
	IF new_id !~ '^AGT-[A-Za-z0-9_-]{1,40}$' THEN
		RAISE EXCEPTION 'agent id must look like AGT-123' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_wallet.agents a WHERE a.id = new_id) THEN
		RAISE EXCEPTION 'agent % already exists', new_id USING ERRCODE = 'unique_violation';
	END IF;
	INSERT INTO pg_wallet.agents (id, owner_id, name) VALUES (new_id, owner, name);
	FOREACH cur IN ARRAY currencies LOOP
		accounts := accounts || jsonb_build_object(cur,
			(pg_wallet.create_account(owner, cur, 'COMMISSION_ACCOUNT')).account_number);
	END LOOP;
	RETURN jsonb_build_object('agent_id', new_id, 'agent_name', name, 'owner_id', owner,
		'accounts', accounts);
END
$$;
COMMENT ON FUNCTION pg_wallet.create_agent(text, text[], text) IS
	'Admin: an agent (id AGT-<owner id> unless given) with a COMMISSION_ACCOUNT per currency '
	'(ACC-AGENT-<CUR>-<n>), which takes the agent''s share of withdrawal fees.';

CREATE OR REPLACE FUNCTION pg_wallet._agent_account(p_agent_id text, p_currency text,
	OUT agent pg_wallet.agents, OUT account_number text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	SELECT * INTO agent FROM pg_wallet.agents a WHERE a.id = p_agent_id;
	IF NOT FOUND OR agent.status <> 'active' THEN
		RAISE EXCEPTION 'agent % does not exist or is not active', left(p_agent_id, 50)
			USING ERRCODE = 'WL069';
	END IF;
	SELECT a.account_number INTO account_number FROM pg_wallet.accounts a
	WHERE a.owner_id = agent.owner_id AND a.currency = p_currency
	  AND a.purpose = 'COMMISSION_ACCOUNT' AND a.status = 'ACTIVE'
	ORDER BY a.id LIMIT 1;
	IF account_number IS NULL THEN
		RAISE EXCEPTION 'agent % has no commission account in %', agent.id, p_currency
			USING ERRCODE = 'WL069';
	END IF;
END
$$;
COMMENT ON FUNCTION pg_wallet._agent_account(text, text) IS
	'Internal: an active agent and its commission account in a currency, or WL069.';

CREATE OR REPLACE FUNCTION pg_wallet.get_bank_codes()
RETURNS TABLE (code text, name text, country text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT b.code, b.name, b.country FROM pg_wallet.bank_codes b ORDER BY b.code $$;
COMMENT ON FUNCTION pg_wallet.get_bank_codes() IS
	'The banks bank payouts can reach (Sellapay codes: 001 KCB Group Limited, ...).';
