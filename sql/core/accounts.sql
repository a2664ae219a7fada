-- Owners and accounts. Plain SQL: creating and describing accounts moves no money.

CREATE OR REPLACE FUNCTION pg_wallet.create_owner(
	kind text,
	name text,
	external_ref text DEFAULT NULL,
	metadata jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	new_id bigint;
BEGIN
	IF kind IS NULL OR kind NOT IN ('user', 'client', 'merchant', 'partner', 'agent', 'platform')
	THEN
		RAISE EXCEPTION 'owner kind "%" is not valid', kind
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Use user, client, merchant, partner, agent or platform.';
	END IF;
	IF name IS NULL OR length(name) NOT BETWEEN 1 AND 200 THEN
		RAISE EXCEPTION 'owner name must be 1 to 200 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF external_ref IS NOT NULL AND length(external_ref) NOT BETWEEN 1 AND 100 THEN
		RAISE EXCEPTION 'external_ref must be 1 to 100 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF metadata IS NULL OR jsonb_typeof(metadata) <> 'object'
		OR octet_length(metadata::text) > 8192 THEN
		RAISE EXCEPTION 'metadata must be a JSON object of at most 8192 bytes'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_wallet.owners o WHERE o.external_ref = create_owner.external_ref)
	THEN
		RAISE EXCEPTION 'an owner with external_ref "%" already exists', external_ref
			USING ERRCODE = 'unique_violation';
	END IF;
	INSERT INTO pg_wallet.owners (kind, name, external_ref, metadata)
	VALUES (kind, name, external_ref, metadata)
	RETURNING id INTO new_id;
	RETURN new_id;
END
$$;
COMMENT ON FUNCTION pg_wallet.create_owner(text, text, text, jsonb) IS
	'Create an owner (user, client, merchant, partner, agent, platform); returns its id.';

-- The account_info of one account acct.
-- PL/pgSQL, not SQL: see get_balance (sql/core/reads.sql).
CREATE OR REPLACE FUNCTION pg_wallet._account_info(a pg_wallet.accounts)
RETURNS pg_wallet.account_info
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN ROW(a.id, a.account_number, a.owner_id, a.currency, a.purpose, a.name,
		pg_wallet.minor_to_numeric(a.minimum_balance, a.exponent), a.can_overdraw,
		a.credit_mode, a.status, a.status_reason, a.created_at,
		a.updated_at)::pg_wallet.account_info;
END
$$;
COMMENT ON FUNCTION pg_wallet._account_info(pg_wallet.accounts) IS
	'Internal: an accounts row as account_info.';

CREATE OR REPLACE FUNCTION pg_wallet._account_barrier(account_number text)
RETURNS void
AS 'MODULE_PATHNAME', 'wallet_account_barrier'
LANGUAGE C VOLATILE STRICT
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet._account_barrier(text) IS
	'Internal: hold an account''s status barrier exclusively until commit, so no posting that '
	'skips the row lock is in flight while its status changes.';

-- The row of an account number, optionally locked, or WL005.
CREATE OR REPLACE FUNCTION pg_wallet._account_row(p_account_number text, p_lock boolean DEFAULT false)
RETURNS pg_wallet.accounts
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	acct pg_wallet.accounts;
BEGIN
	IF p_lock THEN
		SELECT * INTO acct FROM pg_wallet.accounts WHERE account_number = p_account_number
			FOR UPDATE;
	ELSE
		SELECT * INTO acct FROM pg_wallet.accounts WHERE account_number = p_account_number;
	END IF;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'account % does not exist', coalesce(p_account_number, 'NULL')
			USING ERRCODE = 'WL005';
	END IF;
	RETURN acct;
END
$$;
COMMENT ON FUNCTION pg_wallet._account_row(text, boolean) IS
	'Internal: the accounts row of an account number (locked when asked), or error WL005.';

CREATE OR REPLACE FUNCTION pg_wallet.create_account(
	owner_id bigint,
	currency text,
	purpose text DEFAULT 'WALLET',
	account_number text DEFAULT NULL,
	minimum_balance numeric DEFAULT 0,
	can_overdraw boolean DEFAULT false,
	credit_mode text DEFAULT 'DIRECT',
	name text DEFAULT NULL,
	metadata jsonb DEFAULT '{}')
RETURNS pg_wallet.account_info
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	o pg_wallet.owners;
	new_id bigint;
	number text := account_number;
	acct pg_wallet.accounts;
BEGIN
	SELECT * INTO o FROM pg_wallet.owners WHERE id = owner_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'owner % does not exist', coalesce(owner_id::text, 'NULL')
			USING ERRCODE = 'WL018';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_wallet.currencies c
	               WHERE c.code = currency AND c.is_active) THEN
		RAISE EXCEPTION 'unknown currency "%"', currency
			USING ERRCODE = 'WL015',
			      HINT = 'Use an active ISO 4217 code listed in pg_wallet.currencies.';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_wallet.account_purposes p WHERE p.code = purpose) THEN
		RAISE EXCEPTION 'account purpose "%" is not known', purpose
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'See pg_wallet.account_purposes.';
	END IF;
	IF credit_mode IS NULL OR credit_mode NOT IN ('DIRECT', 'DEFERRED') THEN
		RAISE EXCEPTION 'credit_mode must be DIRECT or DEFERRED'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF number IS NOT NULL AND number !~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' THEN
		RAISE EXCEPTION 'account number "%" is not valid', left(number, 80)
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Use 1 to 64 letters, digits, dots, dashes or underscores.';
	END IF;
	IF name IS NOT NULL AND length(name) NOT BETWEEN 1 AND 200 THEN
		RAISE EXCEPTION 'account name must be 1 to 200 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF metadata IS NULL OR jsonb_typeof(metadata) <> 'object'
		OR octet_length(metadata::text) > 8192 THEN
		RAISE EXCEPTION 'metadata must be a JSON object of at most 8192 bytes'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF number IS NOT NULL
		AND EXISTS (SELECT 1 FROM pg_wallet.accounts a WHERE a.account_number = number) THEN
		RAISE EXCEPTION 'account number % already exists', number
			USING ERRCODE = 'unique_violation';
	END IF;
	new_id := nextval(pg_get_serial_sequence('pg_wallet.accounts', 'id'));
	number := coalesce(number, format('ACC-%s-%s-%s', upper(o.kind), currency, new_id));
	INSERT INTO pg_wallet.accounts (id, account_number, owner_id, currency, exponent, purpose,
		name, minimum_balance, can_overdraw, credit_mode, metadata)
	OVERRIDING SYSTEM VALUE
	VALUES (new_id, number, owner_id, currency,
		(SELECT c.exponent FROM pg_wallet.currencies c WHERE c.code = currency), purpose, name,
		pg_wallet.amount_parse(coalesce(minimum_balance, 0), currency),
		coalesce(can_overdraw, false), credit_mode, metadata)
	RETURNING * INTO acct;
	RETURN pg_wallet._account_info(acct);
END
$$;
COMMENT ON FUNCTION pg_wallet.create_account(bigint, text, text, text, numeric, boolean, text,
	text, jsonb) IS
	'Open an account for an owner in one currency. account_number defaults to '
	'ACC-<KIND>-<CUR>-<id>. minimum_balance is the floor of balance - pending_debit after a '
	'debit (negative = overdraft limit); can_overdraw removes the floor. credit_mode DEFERRED '
	'takes credits without locking the account (for hot merchant/fee accounts).';

CREATE OR REPLACE FUNCTION pg_wallet.get_account(account_number text)
RETURNS pg_wallet.account_info
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	-- (PL/pgSQL: a SQL function with a pinned search_path is planned again at every call)
	RETURN pg_wallet._account_info(pg_wallet._account_row(account_number));
END
$$;
COMMENT ON FUNCTION pg_wallet.get_account(text) IS
	'An account by number, or error WL005.';

-- The owner's default wallet in a currency, the one place that rule is written (every API
-- profile and withdraw_request call it): its WALLET account in that currency that is not
-- CLOSED, the ACTIVE one first, then the oldest. None: WL005 "account not found: no KES
-- wallet", or, with open_missing, a new WALLET opened for it (openers of one owner are
-- serialised on the owner's row, so two first calls at once open one wallet, not two).
-- No currency of its own: a wallet's currency is the caller's to say. Cashier and
-- withdraw_request take it from the request (data.currency); Sellapay, whose spec states
-- every amount in KES, from its profile (_sp_currency); so a currency is written once, where
-- its spec is, and a deployment in another currency changes the profile, not this rule.
CREATE OR REPLACE FUNCTION pg_wallet._owner_wallet(owner_id bigint, currency text,
	open_missing boolean DEFAULT false)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cur text := upper(left(currency, 10));
	number text;
BEGIN
	FOR pass IN 1 .. 2 LOOP
		SELECT a.account_number INTO number FROM pg_wallet.accounts a
		WHERE a.owner_id = _owner_wallet.owner_id AND a.currency = cur
			AND a.purpose = 'WALLET' AND a.status <> 'CLOSED'
		ORDER BY a.status = 'ACTIVE' DESC, a.id
		LIMIT 1;
		IF number IS NOT NULL THEN
			RETURN number;
		ELSIF NOT coalesce(open_missing, false) THEN
			EXIT;
		ELSIF pass = 1 THEN
			-- wait for a concurrent opener, then look again (a new snapshot sees its wallet)
			PERFORM 1 FROM pg_wallet.owners o WHERE o.id = _owner_wallet.owner_id
				FOR NO KEY UPDATE;
		ELSE
			RETURN (pg_wallet.create_account(owner_id, cur, 'WALLET')).account_number;
		END IF;
	END LOOP;
	RAISE EXCEPTION 'account not found: no % wallet', coalesce(cur, 'NULL')
		USING ERRCODE = 'WL005';
END
$$;
COMMENT ON FUNCTION pg_wallet._owner_wallet(bigint, text, boolean) IS
	'Internal: an owner''s default wallet in a currency (not CLOSED, ACTIVE first, oldest '
	'first), or WL005 "account not found: no <CUR> wallet"; open_missing opens one instead.';

CREATE OR REPLACE FUNCTION pg_wallet.list_accounts(
	owner_id bigint,
	page_size integer DEFAULT 100,
	after_account_id bigint DEFAULT 0)
RETURNS SETOF pg_wallet.account_info
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF page_size IS NULL OR page_size NOT BETWEEN 1 AND 1000 THEN
		RAISE EXCEPTION 'page_size must be between 1 and 1000'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN QUERY
		SELECT (pg_wallet._account_info(a)).*
		FROM pg_wallet.accounts a
		WHERE a.owner_id = list_accounts.owner_id AND a.id > coalesce(after_account_id, 0)
		ORDER BY a.id
		LIMIT page_size;
END
$$;
COMMENT ON FUNCTION pg_wallet.list_accounts(bigint, integer, bigint) IS
	'An owner''s accounts in id order, one page at a time (pass the last account_id seen).';

CREATE OR REPLACE FUNCTION pg_wallet.set_account_status(
	account_number text,
	status text,
	reason text DEFAULT NULL)
RETURNS pg_wallet.account_info
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	acct pg_wallet.accounts;
	unfolded bigint;
BEGIN
	IF status IS NULL OR status NOT IN ('ACTIVE', 'INACTIVE', 'LOCKED', 'CLOSED') THEN
		RAISE EXCEPTION 'account status "%" is not valid', status
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Use ACTIVE, INACTIVE, LOCKED or CLOSED.';
	END IF;
	IF reason IS NOT NULL AND length(reason) > 500 THEN
		RAISE EXCEPTION 'reason is longer than 500 characters'
			USING ERRCODE = 'string_data_right_truncation';
	END IF;
	-- wait for postings that touch the account without its row lock (DEFERRED deltas)
	PERFORM pg_wallet._account_barrier(account_number);
	acct := pg_wallet._account_row(account_number, true);
	IF acct.is_system THEN
		RAISE EXCEPTION 'account % is a system account', account_number
			USING ERRCODE = 'WL002', DETAIL = 'The platform''s SYS-* accounts are always ACTIVE.';
	END IF;
	IF acct.status = 'CLOSED' AND status <> 'CLOSED' THEN
		RAISE EXCEPTION 'account % is CLOSED', account_number
			USING ERRCODE = 'WL002', DETAIL = 'A closed account cannot be reopened.';
	END IF;
	IF status = 'CLOSED' AND acct.status <> 'CLOSED' THEN
		SELECT coalesce(sum(d.amount), 0) INTO unfolded
		FROM pg_wallet.account_deltas d WHERE d.account_id = acct.id;
		IF acct.balance + unfolded <> 0 OR acct.pending_debit <> 0
			OR EXISTS (SELECT 1 FROM pg_wallet.holds h
			           WHERE h.counterpart_account_id = acct.id AND h.status = 'ACTIVE') THEN
			RAISE EXCEPTION 'account % cannot be closed: balance is %, pending debit is %',
				account_number,
				pg_wallet.amount_format(acct.balance + unfolded, acct.currency),
				pg_wallet.amount_format(acct.pending_debit, acct.currency)
				USING ERRCODE = 'WL011',
				      HINT = 'Move the balance out and settle or void its holds first.';
		END IF;
	END IF;
	UPDATE pg_wallet.accounts a
	SET status = set_account_status.status, status_reason = reason, updated_at = now()
	WHERE a.id = acct.id
	RETURNING * INTO acct;
	RETURN pg_wallet._account_info(acct);
END
$$;
COMMENT ON FUNCTION pg_wallet.set_account_status(text, text, text) IS
	'Set an account ACTIVE, INACTIVE, LOCKED or CLOSED. Only ACTIVE accounts take postings; '
	'closing needs a zero balance and no active holds; CLOSED is final.';
