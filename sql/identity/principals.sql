-- Principals: validation, registration, creation by an operator, API credentials.
-- Error texts never contain a password, a token or a secret.

-- ---------------------------------------------------------------------------------------
-- Validation and masking
-- ---------------------------------------------------------------------------------------

-- An email address trimmed and lower-cased, or 22023. NULL stays NULL.
CREATE OR REPLACE FUNCTION pg_wallet._normalize_email(email text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	e text;
	local_part text;
	domain_part text;
BEGIN
	IF octet_length(email) > 320 THEN
		RAISE EXCEPTION 'email address is longer than 254 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	e := lower(btrim(email));
	local_part := substring(e FROM '^(.*)@[^@]*$');
	domain_part := substring(e FROM '@([^@]*)$');
	IF length(e) > 254 OR local_part IS NULL OR length(local_part) NOT BETWEEN 1 AND 64
		OR local_part !~ '^[a-z0-9!#$%&''*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&''*+/=?^_`{|}~-]+)*$'
		OR domain_part !~ '^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$'
	THEN
		RAISE EXCEPTION 'email address is not valid'
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Use an address such as user@example.com.';
	END IF;
	RETURN e;
END
$$;
COMMENT ON FUNCTION pg_wallet._normalize_email(text) IS
	'Internal: an email address trimmed and lower-cased; 22023 when it is not one.';

-- A phone number in E.164 (+<country><number>), or 22023. Kenyan local forms are
-- normalised: 0712345678, 712345678, 254712345678 (and 01xx / 1xx) become +2547... / +2541....
CREATE OR REPLACE FUNCTION pg_wallet._normalize_phone(phone text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s text;
BEGIN
	IF octet_length(phone) > 32 THEN
		RAISE EXCEPTION 'phone number is longer than 32 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	s := regexp_replace(btrim(phone), '[ ().-]', '', 'g');
	s := CASE
		WHEN s ~ '^0[17][0-9]{8}$' THEN '+254' || substr(s, 2)
		WHEN s ~ '^[17][0-9]{8}$' THEN '+254' || s
		WHEN s ~ '^254[17][0-9]{8}$' THEN '+' || s
		WHEN s ~ '^00[1-9][0-9]{7,14}$' THEN '+' || substr(s, 3)
		ELSE s
	END;
	IF s !~ '^\+[1-9][0-9]{7,14}$' OR (s LIKE '+254%' AND s !~ '^\+254[17][0-9]{8}$') THEN
		RAISE EXCEPTION 'phone number is not valid'
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Use E.164 (+254712345678) or a Kenyan number (0712345678).';
	END IF;
	RETURN s;
END
$$;
COMMENT ON FUNCTION pg_wallet._normalize_phone(text) IS
	'Internal: a phone number as E.164 (+254712345678); Kenyan local forms 07xx/01xx, 7xx/1xx '
	'and 2547xx/2541xx are normalised; 22023 otherwise.';

-- A required or optional person name, 1 to 80 characters after trimming.
CREATE OR REPLACE FUNCTION pg_wallet._check_name(value text, what text, required boolean)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF value IS NULL OR btrim(value) = '' THEN
		IF required THEN
			RAISE EXCEPTION '% is required', what USING ERRCODE = 'null_value_not_allowed';
		END IF;
		RETURN NULL;
	END IF;
	IF length(btrim(value)) > 80 OR value ~ '[[:cntrl:]]' THEN
		RAISE EXCEPTION '% must be 1 to 80 characters without control characters', what
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN btrim(value);
END
$$;
COMMENT ON FUNCTION pg_wallet._check_name(text, text, boolean) IS
	'Internal: a trimmed name of 1 to 80 characters, or 22004/22023.';

-- us***@example.com: two characters of the local part (one if it is that short).
CREATE OR REPLACE FUNCTION pg_wallet._mask_email(email text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN left(split_part(email, '@', 1),
	            CASE WHEN length(split_part(email, '@', 1)) > 2 THEN 2 ELSE 1 END)
		|| '***@' || split_part(email, '@', 2);
END
$$;
COMMENT ON FUNCTION pg_wallet._mask_email(text) IS
	'Internal: an email address masked for display (us***@example.com).';

-- +2547****678: the first five and last three characters.
CREATE OR REPLACE FUNCTION pg_wallet._mask_phone(phone text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN left(phone, 5) || '****' || right(phone, 3);
END
$$;
COMMENT ON FUNCTION pg_wallet._mask_phone(text) IS
	'Internal: a phone number masked for display (+2547****678).';

-- ---------------------------------------------------------------------------------------
-- Principals
-- ---------------------------------------------------------------------------------------

-- The API view of a principals row.
-- (PL/pgSQL, as every helper on an API path: a SQL function with a pinned search_path is
-- parsed and planned again at every call)
CREATE OR REPLACE FUNCTION pg_wallet._principal_info(p pg_wallet.principals)
RETURNS pg_wallet.principal_info
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r pg_wallet.principal_info;
BEGIN
	SELECT p.id, p.role, p.status, p.owner_id, p.email, p.username, p.first_name,
		p.last_name, p.phone_number, p.date_of_birth, p.account_type, p.kyc_status,
		p.kyc_tier, p.email_verified_at IS NOT NULL, p.phone_verified_at IS NOT NULL,
		EXISTS (SELECT 1 FROM pg_wallet.totp_secrets t
		        WHERE t.principal_id = p.id AND t.confirmed_at IS NOT NULL),
		p.created_at, p.last_login_at
	INTO r;
	RETURN r;
END
$$;
COMMENT ON FUNCTION pg_wallet._principal_info(pg_wallet.principals) IS
	'Internal: a principals row as principal_info (no secrets).';

-- The row of a principal, optionally locked, or WL035.
CREATE OR REPLACE FUNCTION pg_wallet._principal_row(p_id uuid, p_lock boolean DEFAULT false)
RETURNS pg_wallet.principals
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.principals;
BEGIN
	IF p_lock THEN
		SELECT * INTO p FROM pg_wallet.principals WHERE id = p_id FOR UPDATE;
	ELSE
		SELECT * INTO p FROM pg_wallet.principals WHERE id = p_id;
	END IF;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'principal % does not exist', coalesce(p_id::text, 'NULL')
			USING ERRCODE = 'WL035';
	END IF;
	RETURN p;
END
$$;
COMMENT ON FUNCTION pg_wallet._principal_row(uuid, boolean) IS
	'Internal: the principals row of an id (locked when asked), or error WL035.';

-- Validate and create a principal, its ledger owner and its password hash.
CREATE OR REPLACE FUNCTION pg_wallet._create_principal(
	p_role text, p_email text, p_username text, p_password text, p_first_name text,
	p_last_name text, p_phone text, p_date_of_birth date, p_account_type text,
	p_owner_id bigint)
RETURNS pg_wallet.principals
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	new_id uuid := gen_random_uuid();
	v_email text := pg_wallet._normalize_email(nullif(btrim(p_email), ''));
	v_username text := lower(btrim(nullif(p_username, '')));
	v_phone text := pg_wallet._normalize_phone(nullif(btrim(p_phone), ''));
	v_owner bigint := p_owner_id;
	v_first text := pg_wallet._check_name(p_first_name, 'first_name', false);
	v_last text := pg_wallet._check_name(p_last_name, 'last_name', false);
	p pg_wallet.principals;
BEGIN
	IF p_role IS NULL OR p_role NOT IN ('user', 'merchant', 'client', 'admin', 'service') THEN
		RAISE EXCEPTION 'role must be user, merchant, client, admin or service'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF v_username IS NOT NULL AND v_username !~ '^[a-z0-9][a-z0-9._@-]{2,63}$' THEN
		RAISE EXCEPTION 'username must be 3 to 64 letters, digits, ".", "_", "@" or "-"'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF p_password IS NOT NULL AND v_email IS NULL AND v_username IS NULL THEN
		RAISE EXCEPTION 'a principal with a password needs an email address or a username'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF p_password IS NOT NULL THEN
		PERFORM pg_wallet._password_check_strength(p_password);
	END IF;
	IF p_date_of_birth IS NOT NULL
		AND (p_date_of_birth > current_date OR p_date_of_birth < date '1900-01-01') THEN
		RAISE EXCEPTION 'date of birth must be between 1900-01-01 and today'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF p_account_type IS NOT NULL AND p_account_type NOT IN ('individual', 'business') THEN
		RAISE EXCEPTION 'account type must be individual or business'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_wallet.principals x WHERE x.email = v_email) THEN
		RAISE EXCEPTION 'email address is already registered'
			USING ERRCODE = 'unique_violation';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_wallet.principals x WHERE x.username = v_username) THEN
		RAISE EXCEPTION 'username is already taken' USING ERRCODE = 'unique_violation';
	END IF;
	IF v_owner IS NULL THEN
		v_owner := pg_wallet.create_owner(
			CASE p_role WHEN 'admin' THEN 'platform' WHEN 'service' THEN 'platform'
			            ELSE p_role END,
			left(coalesce(nullif(concat_ws(' ', v_first, v_last), ''), v_username, v_email,
			              p_role), 200),
			'principal:' || new_id);
	ELSIF NOT EXISTS (SELECT 1 FROM pg_wallet.owners o WHERE o.id = v_owner) THEN
		RAISE EXCEPTION 'owner % does not exist', v_owner USING ERRCODE = 'WL018';
	END IF;
	INSERT INTO pg_wallet.principals (id, role, owner_id, email, username, first_name,
		last_name, phone_number, date_of_birth, account_type)
	VALUES (new_id, p_role, v_owner, v_email, v_username, v_first, v_last, v_phone,
		p_date_of_birth, p_account_type)
	RETURNING * INTO p;
	IF p_password IS NOT NULL THEN
		INSERT INTO pg_wallet.principal_passwords (principal_id, hash)
		VALUES (new_id, pg_wallet._password_hash(p_password));
	END IF;
	RETURN p;
END
$$;
COMMENT ON FUNCTION pg_wallet._create_principal(text, text, text, text, text, text, text, date,
	text, bigint) IS
	'Internal: validate and insert a principal with its ledger owner (created unless given) '
	'and its scrypt password hash.';

CREATE OR REPLACE FUNCTION pg_wallet.register_user(
	email text,
	password text,
	first_name text,
	last_name text,
	phone_number text,
	date_of_birth date DEFAULT NULL,
	account_type text DEFAULT 'individual')
RETURNS pg_wallet.principal_info
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF email IS NULL OR btrim(email) = '' THEN
		RAISE EXCEPTION 'email is required' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF password IS NULL THEN
		RAISE EXCEPTION 'password is required' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF phone_number IS NULL OR btrim(phone_number) = '' THEN
		RAISE EXCEPTION 'phone_number is required' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM pg_wallet._check_name(first_name, 'first_name', true);
	PERFORM pg_wallet._check_name(last_name, 'last_name', true);
	RETURN pg_wallet._principal_info(pg_wallet._create_principal('user', email, NULL, password,
		first_name, last_name, phone_number, date_of_birth,
		coalesce(account_type, 'individual'), NULL));
END
$$;
COMMENT ON FUNCTION pg_wallet.register_user(text, text, text, text, text, date, text) IS
	'Tribble POST /auth/register: a user (role user, KYC PENDING tier 0) with a ledger owner. '
	'Email lower-cased and unique (23505), phone E.164 (Kenyan local forms normalised), '
	'password 8+ characters with a letter and a digit (WL030).';

CREATE OR REPLACE FUNCTION pg_wallet.create_principal(
	role text,
	email text DEFAULT NULL,
	password text DEFAULT NULL,
	first_name text DEFAULT NULL,
	last_name text DEFAULT NULL,
	phone_number text DEFAULT NULL,
	username text DEFAULT NULL,
	owner_id bigint DEFAULT NULL,
	date_of_birth date DEFAULT NULL,
	account_type text DEFAULT NULL)
RETURNS pg_wallet.principal_info
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_wallet._principal_info(pg_wallet._create_principal(role, email, username,
		password, first_name, last_name, phone_number, date_of_birth, account_type, owner_id))
$$;
COMMENT ON FUNCTION pg_wallet.create_principal(text, text, text, text, text, text, text, bigint,
	date, text) IS
	'Operator: create a principal of any role (a WaaS client with username and password, a '
	'merchant, an admin, a service). owner_id links it to an existing ledger owner; by '
	'default a new owner is created. Grant to operators only.';

CREATE OR REPLACE FUNCTION pg_wallet.get_principal_by_id(principal_id uuid)
RETURNS pg_wallet.principal_info
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN pg_wallet._principal_info(pg_wallet._principal_row(principal_id));
END
$$;
COMMENT ON FUNCTION pg_wallet.get_principal_by_id(uuid) IS
	'Operator: a principal by id (no secrets), or WL035.';

CREATE OR REPLACE FUNCTION pg_wallet.set_principal_status(
	principal_id uuid,
	status text,
	reason text DEFAULT NULL)
RETURNS pg_wallet.principal_info
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.principals := pg_wallet._principal_row(principal_id, true);
BEGIN
	IF status IS NULL OR status NOT IN ('ACTIVE', 'SUSPENDED', 'CLOSED') THEN
		RAISE EXCEPTION 'principal status must be ACTIVE, SUSPENDED or CLOSED'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF length(reason) > 500 THEN
		RAISE EXCEPTION 'reason is longer than 500 characters'
			USING ERRCODE = 'string_data_right_truncation';
	END IF;
	IF p.status = 'CLOSED' AND status <> 'CLOSED' THEN
		RAISE EXCEPTION 'principal % is closed', p.id
			USING ERRCODE = 'WL021', DETAIL = 'A closed principal cannot be reopened.';
	END IF;
	UPDATE pg_wallet.principals x
	SET status = set_principal_status.status, status_reason = reason,
		locked_until = CASE WHEN set_principal_status.status = 'ACTIVE' THEN NULL
		                    ELSE x.locked_until END,
		failed_logins = CASE WHEN set_principal_status.status = 'ACTIVE' THEN 0
		                     ELSE x.failed_logins END,
		updated_at = now()
	WHERE x.id = p.id
	RETURNING * INTO p;
	IF status <> 'ACTIVE' THEN
		PERFORM pg_wallet.revoke_sessions(p.id, 'principal ' || lower(status));
	END IF;
	RETURN pg_wallet._principal_info(p);
END
$$;
COMMENT ON FUNCTION pg_wallet.set_principal_status(uuid, text, text) IS
	'Operator: ACTIVE (also clears a login lock), SUSPENDED or CLOSED (final). Suspending or '
	'closing revokes every session, so its tokens stop working at once.';

-- ---------------------------------------------------------------------------------------
-- API credentials (Sellapay X-API-KEY / X-API-SECRET)
-- ---------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION pg_wallet.create_api_credential(principal_id uuid, label text DEFAULT NULL)
RETURNS pg_wallet.api_credential_secret
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_wallet.principals := pg_wallet._principal_row(principal_id, true);
	v_key text := pg_wallet._random_token('pk_', 24);
	v_secret text := pg_wallet._random_token('sk_', 32);
	c pg_wallet.api_credentials;
BEGIN
	IF p.status <> 'ACTIVE' THEN
		RAISE EXCEPTION 'principal % is %', p.id, lower(p.status) USING ERRCODE = 'WL021';
	END IF;
	IF length(label) > 100 THEN
		RAISE EXCEPTION 'label is longer than 100 characters'
			USING ERRCODE = 'string_data_right_truncation';
	END IF;
	IF (SELECT count(*) FROM pg_wallet.api_credentials a
	    WHERE a.principal_id = p.id AND a.status = 'ACTIVE') >= 10 THEN
		RAISE EXCEPTION 'principal % already has 10 active API credentials', p.id
			USING ERRCODE = 'program_limit_exceeded',
			      HINT = 'Revoke one with revoke_api_credential().';
	END IF;
	INSERT INTO pg_wallet.api_credentials (principal_id, key_hash, secret_hash, key_prefix, label)
	VALUES (p.id, pg_wallet._secret_hash(v_key), pg_wallet._secret_hash(v_secret),
		left(v_key, 11), label)
	RETURNING * INTO c;
	RETURN (c.id, p.id, v_key, v_secret, c.key_prefix, c.created_at)
		::pg_wallet.api_credential_secret;
END
$$;
COMMENT ON FUNCTION pg_wallet.create_api_credential(uuid, text) IS
	'Operator: a new API key (pk_...) and secret (sk_...) for a principal, returned once and '
	'stored only as SHA-256 hashes. At most 10 active per principal.';

CREATE OR REPLACE FUNCTION pg_wallet.revoke_api_credential(credential_id bigint)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s record;
BEGIN
	UPDATE pg_wallet.api_credentials c SET status = 'REVOKED', revoked_at = now()
	WHERE c.id = credential_id AND c.status = 'ACTIVE';
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	FOR s IN SELECT x.id FROM pg_wallet.auth_sessions x
	         WHERE x.api_credential_id = credential_id AND x.revoked_at IS NULL
	LOOP
		PERFORM pg_wallet._revoke_session(s.id, 'API credential revoked');
	END LOOP;
	RETURN true;
END
$$;
COMMENT ON FUNCTION pg_wallet.revoke_api_credential(bigint) IS
	'Operator: revoke an API credential and every token issued for it; false when it was not '
	'active.';

-- ---------------------------------------------------------------------------------------
-- The KYC tier as the posting core sees it: accounts.kyc_tier, the highest tier of the
-- owner's principals (NULL: no principal, no limits). Kept here, where tiers change, so
-- the core reads data of its own table and never queries identity's.
-- ---------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION pg_wallet._owner_kyc_tier(p_owner_id bigint)
RETURNS smallint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN (SELECT max(p.kyc_tier) FROM pg_wallet.principals p WHERE p.owner_id = p_owner_id);
END
$$;
COMMENT ON FUNCTION pg_wallet._owner_kyc_tier(bigint) IS
	'Internal: the highest KYC tier of an owner''s principals, NULL when it has none.';

CREATE OR REPLACE FUNCTION pg_wallet._accounts_kyc_tier_on_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	NEW.kyc_tier := pg_wallet._owner_kyc_tier(NEW.owner_id);
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION pg_wallet._accounts_kyc_tier_on_insert() IS
	'Internal trigger: a new account takes its owner''s KYC tier.';

CREATE OR REPLACE FUNCTION pg_wallet._principals_kyc_tier_sync()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		UPDATE pg_wallet.accounts a SET kyc_tier = pg_wallet._owner_kyc_tier(OLD.owner_id)
		WHERE a.owner_id = OLD.owner_id
		  AND a.kyc_tier IS DISTINCT FROM pg_wallet._owner_kyc_tier(OLD.owner_id);
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.owner_id IS NOT NULL THEN
		UPDATE pg_wallet.accounts a SET kyc_tier = pg_wallet._owner_kyc_tier(NEW.owner_id)
		WHERE a.owner_id = NEW.owner_id
		  AND a.kyc_tier IS DISTINCT FROM pg_wallet._owner_kyc_tier(NEW.owner_id);
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION pg_wallet._principals_kyc_tier_sync() IS
	'Internal trigger: a principal created, re-tiered, moved to another owner or removed '
	'changes the kyc_tier of its owners'' accounts.';

CREATE OR REPLACE TRIGGER accounts_kyc_tier
	BEFORE INSERT ON pg_wallet.accounts
	FOR EACH ROW EXECUTE FUNCTION pg_wallet._accounts_kyc_tier_on_insert();
CREATE OR REPLACE TRIGGER principals_kyc_tier
	AFTER INSERT OR DELETE OR UPDATE OF kyc_tier, owner_id ON pg_wallet.principals
	FOR EACH ROW EXECUTE FUNCTION pg_wallet._principals_kyc_tier_sync();

-- A principal's own profile: the names and phone number it may change itself. A new phone
-- number is normalised to E.164 and is unverified until verified again.
CREATE OR REPLACE FUNCTION pg_wallet.update_profile(
	token text,
	first_name text DEFAULT NULL,
	last_name text DEFAULT NULL,
	phone_number text DEFAULT NULL)
RETURNS pg_wallet.principal_info
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.auth_principal := pg_wallet.authenticate(token);
	v_first text := pg_wallet._check_name(first_name, 'first_name', false);
	v_last text := pg_wallet._check_name(last_name, 'last_name', false);
	v_phone text := pg_wallet._normalize_phone(nullif(btrim(phone_number), ''));
	old_phone text;
BEGIN
	old_phone := (pg_wallet._principal_row(me.principal_id, true)).phone_number;	-- locked
	UPDATE pg_wallet.principals x
	SET first_name = coalesce(v_first, x.first_name),
		last_name = coalesce(v_last, x.last_name),
		phone_number = coalesce(v_phone, x.phone_number),
		phone_verified_at = CASE WHEN v_phone IS DISTINCT FROM x.phone_number AND v_phone IS NOT NULL
		                         THEN NULL ELSE x.phone_verified_at END,
		updated_at = now()
	WHERE x.id = me.principal_id;
	IF v_phone IS DISTINCT FROM old_phone AND v_phone IS NOT NULL THEN
		-- fraud scoring's Credential Change factor (the rules layer keeps the stamp)
		PERFORM pg_wallet._fraud_note_credential_change(me.owner_id, 'phone');
	END IF;
	RETURN pg_wallet.get_principal_by_id(me.principal_id);
END
$$;
COMMENT ON FUNCTION pg_wallet.update_profile(text, text, text, text) IS
	'Tribble PUT /users/profile: the caller changes its first and last name (1-80 characters) '
	'and phone number (E.164, Kenyan local forms normalised); a NULL keeps the value; a new '
	'phone number is unverified. Returns the principal.';
