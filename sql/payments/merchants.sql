-- Merchants (issue 14): registration by a user, the profile, settlement settings, and the
-- admins' KYC review, over payments/merchants_tables.sql. Who acts for a registered merchant:
-- the user who registered it, and any principal of the merchant's owner (_merchant_agent);
-- admins see and review every merchant. Anyone else gets the "merchant not found" of an
-- unknown merchantId (WL085), never a hint that it exists.
--
-- Must never: pay a merchant whose KYC is not APPROVED (payments.sql's _payment_merchant reads
-- it with the merchant, _merchant_principal); show a bank account number unmasked; let a merchant set its own
-- settlement fee.

-- How risky a new merchant looks before any review: high for the industries card schemes
-- and regulators watch (gambling, crypto, forex, adult content, money services), medium for a
-- business that is its owner (a sole proprietor, a partnership), low for an incorporated one.
CREATE OR REPLACE FUNCTION pg_wallet._merchant_risk_level(entity_type text, industry text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF industry IN ('gambling', 'betting', 'crypto', 'cryptocurrency', 'forex', 'adult',
		'money_services', 'remittance') THEN
		RETURN 'high';
	END IF;
	RETURN CASE WHEN entity_type IN ('sole_proprietor', 'partnership') THEN 'medium'
		ELSE 'low' END;
END
$$;
COMMENT ON FUNCTION pg_wallet._merchant_risk_level(text, text) IS
	'Internal: a new merchant''s risk level: high for watched industries, medium for a sole '
	'proprietor or partnership, low otherwise.';

-- The score the admins' queue shows for a risk level.
CREATE OR REPLACE FUNCTION pg_wallet._merchant_risk_score(risk_level text)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN CASE risk_level WHEN 'high' THEN 80 WHEN 'medium' THEN 50 ELSE 20 END;
END
$$;
COMMENT ON FUNCTION pg_wallet._merchant_risk_score(text) IS
	'Internal: the riskScore (0-100) of GET /admin/merchants/pending-kyc for a risk level.';

-- Whether a principal acts for the merchant of an owner: a principal of that owner, or the
-- user who registered it.
CREATE OR REPLACE FUNCTION pg_wallet._merchant_agent(me pg_wallet.principals,
	merchant_owner_id bigint)
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN me.owner_id = merchant_owner_id OR EXISTS (SELECT 1 FROM pg_wallet.merchants m
		WHERE m.owner_id = merchant_owner_id AND m.registered_by = me.id);
END
$$;
COMMENT ON FUNCTION pg_wallet._merchant_agent(pg_wallet.principals, bigint) IS
	'Internal: whether the principal acts for the merchant of that owner (one of its '
	'principals, or the user who registered it).';

-- The merchant principal a merchantId names (role merchant, owner of kind merchant) and, for
-- a registered merchant, its KYC status (NULL for one made by the operator): the one look-up
-- of a merchantId, for payments (_payment_merchant) and for who acts for it
-- (_merchant_principal_for). NULL fields when it names none.
CREATE OR REPLACE FUNCTION pg_wallet._merchant_principal(merchant_id text,
	OUT p pg_wallet.principals, OUT kyc_status text)
AS 'MODULE_PATHNAME', 'wallet_merchant_principal'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet._merchant_principal(text) IS
	'Internal: the merchant principal of a merchantId and a registered merchant''s KYC status '
	'(NULL for one made by the operator); NULL fields when there is none.';

-- The merchant principal a merchantId names, for a caller who acts for it or an admin:
-- registered or made by the operator alike. WL085 otherwise.
CREATE OR REPLACE FUNCTION pg_wallet._merchant_principal_for(principal_id uuid,
	merchant_id text)
RETURNS pg_wallet.principals
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.principals := pg_wallet._principal_row(principal_id);
	m pg_wallet.principals := (pg_wallet._merchant_principal(merchant_id)).p;
BEGIN
	IF m.id IS NULL OR NOT (me.role = 'admin' OR pg_wallet._merchant_agent(me, m.owner_id)) THEN
		RAISE EXCEPTION 'merchant not found' USING ERRCODE = 'WL085', COLUMN = 'merchantId';
	END IF;
	RETURN m;
END
$$;
COMMENT ON FUNCTION pg_wallet._merchant_principal_for(uuid, text) IS
	'Internal: the merchant principal of a merchantId (registered or not) for who acts for it '
	'and admins; WL085 for anyone else.';

-- A registered merchant the caller may see: one it acts for, or any for an admin; WL085
-- otherwise (an unknown merchantId, another's and one made by the operator alike). Locked when
-- asked.
CREATE OR REPLACE FUNCTION pg_wallet._merchant_for(principal_id uuid, merchant_id text,
	p_lock boolean DEFAULT false)
RETURNS pg_wallet.merchants
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	mp pg_wallet.principals := pg_wallet._merchant_principal_for(principal_id, merchant_id);
	m pg_wallet.merchants;
BEGIN
	IF p_lock THEN
		SELECT * INTO m FROM pg_wallet.merchants x WHERE x.id = mp.id FOR UPDATE;
	ELSE
		SELECT * INTO m FROM pg_wallet.merchants x WHERE x.id = mp.id;
	END IF;
	IF m.id IS NULL THEN
		RAISE EXCEPTION 'merchant not found' USING ERRCODE = 'WL085', COLUMN = 'merchantId';
	END IF;
	RETURN m;
END
$$;
COMMENT ON FUNCTION pg_wallet._merchant_for(uuid, text, boolean) IS
	'Internal: a registered merchant the principal acts for (or any, for an admin), locked '
	'when asked; WL085 for an unknown one, another''s and one made by the operator alike.';

-- merchant_register's checks that need no row (22023 / 22001 naming the request's field).
CREATE OR REPLACE FUNCTION pg_wallet._merchant_check_args(business_name text,
	entity_type text, tax_id text, industry text, bank_code text, bank_account_number text,
	bank_account_holder text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF business_name IS NULL OR length(btrim(business_name)) NOT BETWEEN 2 AND 120 THEN
		RAISE EXCEPTION 'businessName must be 2 to 120 characters'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'businessName';
	END IF;
	IF entity_type IS NULL OR entity_type NOT IN ('sole_proprietor', 'partnership',
		'limited_company', 'public_company', 'ngo', 'cooperative') THEN
		RAISE EXCEPTION 'entityType must be sole_proprietor, partnership, limited_company, '
			'public_company, ngo or cooperative'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'entityType';
	END IF;
	IF tax_id IS NULL OR upper(tax_id) !~ '^[A-Z0-9-]{5,20}$' THEN
		RAISE EXCEPTION 'taxId must be 5 to 20 letters, digits or "-"'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'taxId';
	END IF;
	IF industry IS NULL OR lower(industry) !~ '^[a-z][a-z_]{1,39}$' THEN
		RAISE EXCEPTION 'industry must be 2 to 40 letters or "_"'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'industry';
	END IF;
	IF bank_code IS NULL OR bank_code !~ '^[0-9]{3,6}$' THEN
		RAISE EXCEPTION 'bankAccount.bankCode must be 3 to 6 digits'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'bankAccount.bankCode';
	END IF;
	IF bank_account_number IS NULL OR bank_account_number !~ '^[0-9]{6,20}$' THEN
		RAISE EXCEPTION 'bankAccount.accountNumber must be 6 to 20 digits'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'bankAccount.accountNumber';
	END IF;
	IF bank_account_holder IS NULL OR length(btrim(bank_account_holder)) NOT BETWEEN 2 AND 100
	THEN
		RAISE EXCEPTION 'bankAccount.accountHolder must be 2 to 100 characters'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'bankAccount.accountHolder';
	END IF;
END
$$;
COMMENT ON FUNCTION pg_wallet._merchant_check_args(text, text, text, text, text, text, text) IS
	'Internal: merchant_register''s field checks, each naming the request''s field (22023).';

CREATE OR REPLACE FUNCTION pg_wallet.merchant_register(
	principal_id uuid,
	business_name text,
	entity_type text,
	tax_id text,
	industry text,
	bank_code text,
	bank_account_number text,
	bank_account_holder text,
	currency text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.principals;
	cur text;
	o bigint;
	mp pg_wallet.principal_info;
	m pg_wallet.merchants;
BEGIN
	PERFORM pg_wallet._merchant_check_args(business_name, entity_type, tax_id, industry,
		bank_code, bank_account_number, bank_account_holder);
	me := pg_wallet._principal_row(principal_id);
	IF me.role <> 'user' OR me.status <> 'ACTIVE' THEN
		RAISE EXCEPTION 'only an active user may register a merchant' USING ERRCODE = 'WL031';
	END IF;
	-- one registration at a time per user, so the limit holds under concurrent requests
	PERFORM 1 FROM pg_wallet.principals x WHERE x.id = me.id FOR NO KEY UPDATE;
	IF (SELECT count(*) FROM pg_wallet.merchants x WHERE x.registered_by = me.id) >= 5 THEN
		RAISE EXCEPTION 'a user may register at most 5 merchants' USING ERRCODE = 'WL098';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_wallet.merchants x WHERE x.tax_id = upper(merchant_register.tax_id))
	THEN
		RAISE EXCEPTION 'a merchant with this taxId is already registered'
			USING ERRCODE = 'unique_violation', COLUMN = 'taxId';
	END IF;
	-- its collections currency: the one asked for, else the user's default wallet's, else KES
	cur := coalesce(upper(currency), (SELECT a.currency FROM pg_wallet.accounts a
		WHERE a.owner_id = me.owner_id AND a.purpose = 'WALLET' AND a.status <> 'CLOSED'
		ORDER BY a.status = 'ACTIVE' DESC, a.id LIMIT 1), 'KES');
	IF NOT EXISTS (SELECT 1 FROM pg_wallet.currencies c WHERE c.code = cur) THEN
		RAISE EXCEPTION 'currency must be an ISO 4217 code' USING ERRCODE = 'WL009',
			COLUMN = 'currency';
	END IF;
	o := pg_wallet.create_owner('merchant', btrim(business_name));
	mp := pg_wallet.create_principal('merchant', owner_id => o);
	PERFORM pg_wallet.create_account(o, cur, 'AVAILABLE_COLLECTIONS',
		name => left(btrim(business_name) || ' collections', 100));
	INSERT INTO pg_wallet.merchants (id, owner_id, registered_by, business_name, entity_type,
		tax_id, industry, currency, bank_code, bank_account_number, bank_account_holder,
		risk_level)
	VALUES (mp.principal_id, o, me.id, btrim(business_name), entity_type, upper(tax_id),
		lower(industry), cur, bank_code, bank_account_number, btrim(bank_account_holder),
		pg_wallet._merchant_risk_level(entity_type, lower(industry)))
	RETURNING * INTO m;
	RETURN jsonb_build_object('merchantId', m.id, 'businessName', m.business_name,
		'kycStatus', m.kyc_status, 'riskLevel', m.risk_level,
		'message', 'Merchant account created. Please complete KYC verification.',
		'createdAt', pg_wallet._ts_iso(m.submitted_at));
END
$$;
COMMENT ON FUNCTION pg_wallet.merchant_register(uuid, text, text, text, text, text, text, text,
	text) IS
	'Tribble POST /merchants/register: an active user (WL031 otherwise) registers a business '
	'(businessName, entityType, taxId unique (409), industry, bankAccount {bankCode, '
	'accountNumber, accountHolder}; 400 naming a bad field) as a merchant: its own owner '
	'(kind merchant) and principal (the merchantId), a collections account in currency (else '
	'the user''s wallet currency, else KES), KYC PENDING (not paid until an admin approves: '
	'MERCHANT_INACTIVE), a risk level. At most 5 per user (WL098). The user acts for it.';

-- A merchant's payments so far (SUCCESS, in its collections currency) and its disputes, for
-- its profile.
CREATE OR REPLACE FUNCTION pg_wallet._merchant_metrics(m pg_wallet.merchants)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	n bigint;
	volume bigint;
	disputes bigint;
	chargebacks bigint;
BEGIN
	SELECT count(*), coalesce(sum(p.amount_minor), 0) INTO n, volume
	FROM pg_wallet.payments p
	WHERE p.merchant_owner_id = m.owner_id AND p.status = 'SUCCESS' AND p.currency = m.currency;
	SELECT count(*), count(*) FILTER (WHERE d.resolution = 'APPROVED')
	INTO disputes, chargebacks
	FROM pg_wallet.disputes d
	WHERE d.merchant_owner_id = m.owner_id AND d.currency = m.currency;
	RETURN jsonb_build_object('totalTransactions', n,
		'totalVolume', pg_wallet.amount_format(volume, m.currency), 'currency', m.currency,
		'chargebackRate', coalesce(pg_wallet._rate_pct(chargebacks, n), 0),
		'disputeRate', coalesce(pg_wallet._rate_pct(disputes, n), 0));
END
$$;
COMMENT ON FUNCTION pg_wallet._merchant_metrics(pg_wallet.merchants) IS
	'Internal: a merchant''s totalTransactions and totalVolume (its SUCCESS payments in its '
	'currency), chargebackRate and disputeRate (its APPROVED and all its disputes in that '
	'currency, in percent of those payments).';

CREATE OR REPLACE FUNCTION pg_wallet._merchant_settlement_json(m pg_wallet.merchants)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN jsonb_build_object('frequency', m.settlement_frequency,
		'minimumAmount', pg_wallet.amount_format(m.settlement_minimum_minor, m.currency),
		'settlementFeePercent', round(m.settlement_fee_bp / 100.0, 2),
		'holdPeriodDays', m.settlement_hold_days);
END
$$;
COMMENT ON FUNCTION pg_wallet._merchant_settlement_json(pg_wallet.merchants) IS
	'Internal: settlementSettings {frequency, minimumAmount, settlementFeePercent, '
	'holdPeriodDays} of a merchant.';

CREATE OR REPLACE FUNCTION pg_wallet.merchant_get(principal_id uuid, merchant_id text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m pg_wallet.merchants := pg_wallet._merchant_for(principal_id, merchant_id);
BEGIN
	RETURN jsonb_build_object('merchantId', m.id, 'businessName', m.business_name,
		'entityType', m.entity_type, 'taxId', m.tax_id, 'industry', m.industry,
		'kycStatus', m.kyc_status, 'riskLevel', m.risk_level, 'currency', m.currency,
		'bankAccounts', jsonb_build_array(jsonb_build_object('accountId', 'bank-primary',
			'bankCode', m.bank_code, 'accountNumber', '****' || right(m.bank_account_number, 4),
			'accountHolder', m.bank_account_holder, 'isVerified', m.bank_verified)),
		'settlementSettings', pg_wallet._merchant_settlement_json(m),
		'metrics', pg_wallet._merchant_metrics(m),
		'createdAt', pg_wallet._ts_iso(m.submitted_at),
		'reviewedAt', pg_wallet._ts_iso(m.reviewed_at));
END
$$;
COMMENT ON FUNCTION pg_wallet.merchant_get(uuid, text) IS
	'Tribble GET /merchants/:merchantId: the profile of a merchant the caller acts for (an '
	'admin: any; WL085 otherwise): business fields, kycStatus, riskLevel, bankAccounts (the '
	'number masked ****1234), settlementSettings, metrics {totalTransactions, totalVolume, '
	'chargebackRate, disputeRate}.';

CREATE OR REPLACE FUNCTION pg_wallet.merchant_settlement_set(
	principal_id uuid,
	merchant_id text,
	frequency text DEFAULT NULL,
	minimum_amount numeric DEFAULT NULL,
	fee_percent numeric DEFAULT NULL,
	hold_days integer DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.principals := pg_wallet._principal_row(principal_id);
	m pg_wallet.merchants := pg_wallet._merchant_for(principal_id, merchant_id, true);
	fee_bp integer;
BEGIN
	IF frequency IS NOT NULL AND frequency NOT IN ('daily', 'weekly') THEN
		RAISE EXCEPTION 'frequency must be daily or weekly'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'frequency';
	END IF;
	IF minimum_amount IS NOT NULL AND minimum_amount < 0 THEN
		RAISE EXCEPTION 'minimumAmount must be 0 or more'
			USING ERRCODE = 'WL010', COLUMN = 'minimumAmount';
	END IF;
	IF fee_percent IS NOT NULL AND (fee_percent NOT BETWEEN 0 AND 10
		OR fee_percent <> round(fee_percent, 2)) THEN
		RAISE EXCEPTION 'settlementFeePercent must be between 0 and 10 with at most 2 decimals'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'settlementFeePercent';
	END IF;
	IF hold_days IS NOT NULL AND hold_days NOT BETWEEN 0 AND 30 THEN
		RAISE EXCEPTION 'holdPeriodDays must be between 0 and 30'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'holdPeriodDays';
	END IF;
	fee_bp := (fee_percent * 100)::integer;
	IF fee_bp IS DISTINCT FROM m.settlement_fee_bp AND fee_bp IS NOT NULL
		AND me.role <> 'admin' THEN
		RAISE EXCEPTION 'only an admin sets the settlement fee (it is % %%)',
			round(m.settlement_fee_bp / 100.0, 2)
			USING ERRCODE = 'WL099', COLUMN = 'settlementFeePercent';
	END IF;
	UPDATE pg_wallet.merchants x SET
		settlement_frequency = coalesce(merchant_settlement_set.frequency,
			x.settlement_frequency),
		settlement_minimum_minor = CASE WHEN minimum_amount IS NULL THEN x.settlement_minimum_minor
			WHEN minimum_amount = 0 THEN 0
			ELSE pg_wallet.amount_parse(minimum_amount, x.currency) END,
		settlement_fee_bp = coalesce(fee_bp, x.settlement_fee_bp),
		settlement_hold_days = coalesce(hold_days, x.settlement_hold_days),
		updated_at = now()
	WHERE x.id = m.id
	RETURNING * INTO m;
	RETURN jsonb_build_object('merchantId', m.id,
		'settlementSettings', pg_wallet._merchant_settlement_json(m),
		'message', 'Settlement settings updated successfully');
END
$$;
COMMENT ON FUNCTION pg_wallet.merchant_settlement_set(uuid, text, text, numeric, numeric,
	integer) IS
	'Tribble POST /merchants/:merchantId/settlement: the merchant (or an admin) sets frequency '
	'(daily, weekly), minimumAmount (in its currency, >= 0), holdPeriodDays (0-30); the '
	'settlementFeePercent (0-10, 2 decimals) only an admin changes (WL099; the current value '
	'is accepted). Fields left out keep their value; 400 naming a bad one; WL085 for a '
	'merchant the caller does not act for.';

CREATE OR REPLACE FUNCTION pg_wallet.merchants_pending_kyc(principal_id uuid,
	p_limit integer DEFAULT 20, p_offset integer DEFAULT 0)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.principals := pg_wallet._principal_row(principal_id);
	items jsonb;
BEGIN
	IF me.role <> 'admin' THEN
		RAISE EXCEPTION 'only an admin reviews merchants' USING ERRCODE = 'WL031';
	END IF;
	IF p_limit NOT BETWEEN 1 AND 100 OR p_offset NOT BETWEEN 0 AND 999999 THEN
		RAISE EXCEPTION 'limit must be 1 to 100 and offset 0 to 999999'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT coalesce(jsonb_agg(jsonb_build_object('merchantId', m.id,
			'businessName', m.business_name, 'entityType', m.entity_type,
			'riskLevel', m.risk_level, 'riskScore', pg_wallet._merchant_risk_score(m.risk_level),
			'submittedAt', pg_wallet._ts_iso(m.submitted_at),
			'nextReview', pg_wallet._ts_iso(m.submitted_at + interval '48 hours'),
			'documents', coalesce((SELECT jsonb_agg(jsonb_build_object('type', d.document_type,
					'status', d.status) ORDER BY d.id)
				FROM pg_wallet.kyc_documents d WHERE d.principal_id = m.registered_by), '[]'))
			ORDER BY m.submitted_at, m.id), '[]')
	INTO items
	FROM (SELECT * FROM pg_wallet.merchants x WHERE x.kyc_status = 'PENDING'
	      ORDER BY x.submitted_at, x.id LIMIT p_limit OFFSET p_offset) m;
	RETURN jsonb_build_object('merchants', items, 'pagination', jsonb_build_object(
		'total', (SELECT count(*) FROM pg_wallet.merchants x WHERE x.kyc_status = 'PENDING'),
		'limit', p_limit, 'offset', p_offset));
END
$$;
COMMENT ON FUNCTION pg_wallet.merchants_pending_kyc(uuid, integer, integer) IS
	'Tribble GET /admin/merchants/pending-kyc (admins only: WL031): the merchants waiting for '
	'a KYC decision, oldest first, with riskScore, nextReview (48 h after submission) and the '
	'KYC documents of the user who registered each {type, status}; pagination {total, limit '
	'(1-100), offset}.';

-- An admin's decision on a PENDING merchant (WL097 once decided), with its audit row.
CREATE OR REPLACE FUNCTION pg_wallet._merchant_review(principal_id uuid, merchant_id text,
	decision text, reason text, message text)
RETURNS pg_wallet.merchants
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me pg_wallet.principals := pg_wallet._principal_row(principal_id);
	m pg_wallet.merchants;
BEGIN
	IF me.role <> 'admin' THEN
		RAISE EXCEPTION 'only an admin reviews merchants' USING ERRCODE = 'WL031';
	END IF;
	m := pg_wallet._merchant_for(principal_id, merchant_id, true);
	IF m.kyc_status <> 'PENDING' THEN
		RAISE EXCEPTION 'merchant % was already %', m.id, lower(m.kyc_status)
			USING ERRCODE = 'WL097';
	END IF;
	INSERT INTO pg_wallet.merchant_reviews (merchant_id, decision, reviewed_by, reason, message)
	VALUES (m.id, decision, me.id, reason, message);
	UPDATE pg_wallet.merchants x
	SET kyc_status = decision, reviewed_at = now(), updated_at = now(),
		bank_verified = (decision = 'APPROVED')
	WHERE x.id = m.id
	RETURNING * INTO m;
	RETURN m;
END
$$;
COMMENT ON FUNCTION pg_wallet._merchant_review(uuid, text, text, text, text) IS
	'Internal: record an admin''s KYC decision on a PENDING merchant (WL031 for a non-admin, '
	'WL085 unknown, WL097 already decided) and its audit row.';

CREATE OR REPLACE FUNCTION pg_wallet.merchant_approve(principal_id uuid, merchant_id text,
	notes text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m pg_wallet.merchants;
BEGIN
	IF length(notes) NOT BETWEEN 1 AND 500 THEN
		RAISE EXCEPTION 'notes must be 1 to 500 characters'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'notes';
	END IF;
	m := pg_wallet._merchant_review(principal_id, merchant_id, 'APPROVED', NULL, notes);
	RETURN jsonb_build_object('merchantId', m.id, 'kycStatus', m.kyc_status,
		'approvedAt', pg_wallet._ts_iso(m.reviewed_at),
		'message', 'Merchant approved successfully');
END
$$;
COMMENT ON FUNCTION pg_wallet.merchant_approve(uuid, text, text) IS
	'Tribble POST /admin/merchants/:merchantId/approve (admins only: WL031): a PENDING '
	'merchant''s KYC is APPROVED (its bank account verified; it may be paid from now on), '
	'audited with the admin and the notes (1-500); WL097 when already decided.';

CREATE OR REPLACE FUNCTION pg_wallet.merchant_reject(principal_id uuid, merchant_id text,
	reason text, message text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m pg_wallet.merchants;
BEGIN
	IF reason IS NULL OR reason !~ '^[a-z][a-z0-9_]{1,49}$' THEN
		RAISE EXCEPTION 'reason must be a code of 2 to 50 lower-case letters, digits or "_"'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'reason';
	END IF;
	IF length(message) NOT BETWEEN 1 AND 500 THEN
		RAISE EXCEPTION 'message must be 1 to 500 characters'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'message';
	END IF;
	m := pg_wallet._merchant_review(principal_id, merchant_id, 'REJECTED', reason, message);
	RETURN jsonb_build_object('merchantId', m.id, 'kycStatus', m.kyc_status,
		'rejectionReason', reason, 'rejectionMessage', message,
		'rejectedAt', pg_wallet._ts_iso(m.reviewed_at),
		'message', 'Merchant rejected. They can appeal or resubmit.');
END
$$;
COMMENT ON FUNCTION pg_wallet.merchant_reject(uuid, text, text, text) IS
	'Tribble POST /admin/merchants/:merchantId/reject (admins only: WL031): a PENDING '
	'merchant''s KYC is REJECTED with a reason code and a message (1-500), audited; WL097 '
	'when already decided. A rejected merchant is never paid (MERCHANT_INACTIVE).';

-- ---------------------------------------------------------------------------------------
-- Analytics (GET /merchants/:merchantId/analytics)
-- ---------------------------------------------------------------------------------------

-- A success rate in percent, one decimal; NULL when nothing ended.
CREATE OR REPLACE FUNCTION pg_wallet._rate_pct(part bigint, whole bigint)
RETURNS numeric
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN CASE WHEN whole > 0 THEN round(100.0 * part / whole, 1) END;
END
$$;
COMMENT ON FUNCTION pg_wallet._rate_pct(bigint, bigint) IS
	'Internal: part / whole as a percentage with one decimal; NULL when whole is 0.';

-- merchant_analytics for a merchant principal the caller was checked to act for.
CREATE OR REPLACE FUNCTION pg_wallet._merchant_analytics(m pg_wallet.principals,
	start_date date, end_date date, group_by text, currency text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cur text;
	unit text := CASE group_by WHEN 'daily' THEN 'day' WHEN 'weekly' THEN 'week'
		WHEN 'monthly' THEN 'month' END;
	t0 timestamptz := start_date::timestamp AT TIME ZONE 'UTC';
	t1 timestamptz := (end_date + 1)::timestamp AT TIME ZONE 'UTC';
	summary jsonb;
	series jsonb;
	top jsonb;
BEGIN
	IF unit IS NULL THEN
		RAISE EXCEPTION 'groupBy must be daily, weekly or monthly'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'groupBy';
	END IF;
	IF start_date IS NULL OR end_date IS NULL OR end_date < start_date
		OR end_date - start_date > 366 THEN
		RAISE EXCEPTION 'the period must run from startDate to endDate, at most 367 days'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'startDate';
	END IF;
	-- one currency at a time: the one asked for, else the merchant's collections currency
	cur := coalesce(upper(currency), (SELECT x.currency FROM pg_wallet.merchants x
		WHERE x.id = m.id), (SELECT a.currency FROM pg_wallet.accounts a
		WHERE a.owner_id = m.owner_id AND NOT a.is_system AND a.status <> 'CLOSED'
		ORDER BY a.purpose = 'AVAILABLE_COLLECTIONS' DESC, a.id LIMIT 1), 'KES');
	IF cur !~ '^[A-Z]{3}$' THEN
		RAISE EXCEPTION 'currency must be an ISO 4217 code'
			USING ERRCODE = 'invalid_parameter_value', COLUMN = 'currency';
	END IF;
	-- the period's payments, read once through payments_merchant_idx alone (its INCLUDE
	-- columns) and summed in one pass two ways (GROUPING SETS): per bucket (the series, and
	-- the summary from it) and per customer (the top five)
	WITH g AS MATERIALIZED (
		SELECT GROUPING(date_trunc(unit, p.created_at AT TIME ZONE 'UTC')) = 0 AS by_bucket,
			date_trunc(unit, p.created_at AT TIME ZONE 'UTC') AS bucket,
			p.customer_principal_id AS customer, count(*) AS n,
			count(*) FILTER (WHERE p.status = 'SUCCESS') AS ok,
			count(*) FILTER (WHERE p.status = 'FAILED') AS failed,
			coalesce(sum(p.amount_minor) FILTER (WHERE p.status = 'SUCCESS'), 0)::bigint AS volume
		FROM pg_wallet.payments p
		WHERE p.merchant_owner_id = m.owner_id AND p.created_at >= t0 AND p.created_at < t1
			AND p.currency = cur
		GROUP BY GROUPING SETS ((date_trunc(unit, p.created_at AT TIME ZONE 'UTC')),
			(p.customer_principal_id))),
	s AS (
		SELECT jsonb_build_object('totalTransactions', coalesce(sum(g.n), 0),
			'successfulTransactions', coalesce(sum(g.ok), 0),
			'failedTransactions', coalesce(sum(g.failed), 0),
			'totalVolume', pg_wallet.amount_format(coalesce(sum(g.volume), 0)::bigint, cur),
			'averageTransactionAmount', pg_wallet.amount_format(CASE WHEN sum(g.ok) > 0
				THEN round(sum(g.volume) / sum(g.ok))::bigint ELSE 0 END, cur),
			'successRate', pg_wallet._rate_pct(coalesce(sum(g.ok), 0)::bigint,
				coalesce(sum(g.ok + g.failed), 0)::bigint)) AS j
		FROM g WHERE g.by_bucket),
	b AS (
		SELECT coalesce(jsonb_agg(jsonb_build_object('date', to_char(g.bucket, 'YYYY-MM-DD'),
				'transactionCount', g.n, 'totalVolume', pg_wallet.amount_format(g.volume, cur),
				'averageAmount', pg_wallet.amount_format(CASE WHEN g.ok > 0
					THEN round(g.volume::numeric / g.ok)::bigint ELSE 0 END, cur),
				'successRate', pg_wallet._rate_pct(g.ok, g.ok + g.failed)) ORDER BY g.bucket),
			'[]') AS j
		FROM g WHERE g.by_bucket),
	c AS (
		SELECT coalesce(jsonb_agg(jsonb_build_object('customerId', x.customer,
				'transactionCount', x.ok, 'totalSpent', pg_wallet.amount_format(x.volume, cur))
				ORDER BY x.volume DESC, x.customer), '[]') AS j
		FROM (SELECT g.customer, g.ok, g.volume FROM g WHERE NOT g.by_bucket AND g.ok > 0
			ORDER BY g.volume DESC, g.customer LIMIT 5) x)
	SELECT s.j, b.j, c.j INTO summary, series, top FROM s, b, c;
	RETURN jsonb_build_object('merchantId', m.id, 'currency', cur, 'groupBy', group_by,
		'period', jsonb_build_object('startDate', start_date, 'endDate', end_date),
		'summary', summary, 'dailyMetrics', series, 'topCustomers', top);
END
$$;
COMMENT ON FUNCTION pg_wallet._merchant_analytics(pg_wallet.principals, date, date, text,
	text) IS
	'Internal: merchant_analytics of a merchant principal, no caller check.';

CREATE OR REPLACE FUNCTION pg_wallet.merchant_analytics(
	principal_id uuid,
	merchant_id text,
	start_date date,
	end_date date,
	group_by text DEFAULT 'daily',
	currency text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN pg_wallet._merchant_analytics(
		pg_wallet._merchant_principal_for(principal_id, merchant_id), start_date, end_date,
		group_by, currency);
END
$$;
COMMENT ON FUNCTION pg_wallet.merchant_analytics(uuid, text, date, date, text, text) IS
	'Tribble GET /merchants/:merchantId/analytics: a merchant''s payments from start_date to '
	'end_date (whole UTC days, at most 367) in one currency (default its collections one): '
	'summary {totalTransactions, successfulTransactions, failedTransactions, totalVolume and '
	'averageTransactionAmount of the SUCCESS ones, successRate % of the ended ones}, '
	'dailyMetrics per day, week or month (group_by) {date, transactionCount, totalVolume, '
	'averageAmount, successRate}, topCustomers (5, by totalSpent). For who acts for the '
	'merchant and admins (WL085 otherwise). Reads payments_merchant_idx only, once.';

-- ---------------------------------------------------------------------------------------
-- Dashboard (GET /merchants/:merchantId/dashboard)
-- ---------------------------------------------------------------------------------------

-- The dashboard's settlements block: what the runs paid (settlements.sql) and what the next
-- one would pay now (_settlement_amounts: the available collections less the payments of the
-- last hold_days days, less the fee; nothing below the minimum).
CREATE OR REPLACE FUNCTION pg_wallet._merchant_settlement_outlook(m pg_wallet.merchants)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	today date := (now() AT TIME ZONE 'UTC')::date;
	x record := pg_wallet._settlement_amounts(m,
		now() - make_interval(days => m.settlement_hold_days));
BEGIN
	RETURN jsonb_build_object('totalSettled', pg_wallet.amount_format(coalesce((
			SELECT sum(s.net_minor) FROM pg_wallet.settlements s
			WHERE s.merchant_id = m.id AND s.status = 'COMPLETED'), 0)::bigint, m.currency),
		'nextSettlementDate', CASE m.settlement_frequency WHEN 'daily' THEN today + 1
			ELSE today + (8 - extract(isodow FROM today)::integer) END,
		'nextSettlementAmount', pg_wallet.amount_format(CASE
			WHEN x.gross < m.settlement_minimum_minor THEN 0 ELSE x.net END, m.currency),
		'pendingAmount', pg_wallet.amount_format(greatest(x.available, 0), m.currency));
END
$$;
COMMENT ON FUNCTION pg_wallet._merchant_settlement_outlook(pg_wallet.merchants) IS
	'Internal: a merchant''s settlements block: totalSettled (its COMPLETED settlement runs), '
	'nextSettlementDate (tomorrow, or next Monday for weekly), nextSettlementAmount (the '
	'available collections less the hold period''s payments and the fee; 0 below the '
	'minimum), pendingAmount (the available collections).';

CREATE OR REPLACE FUNCTION pg_wallet.merchant_dashboard(principal_id uuid, merchant_id text,
	start_date date DEFAULT NULL, end_date date DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	mp pg_wallet.principals := pg_wallet._merchant_principal_for(principal_id, merchant_id);
	m pg_wallet.merchants;
	d1 date := coalesce(end_date, (now() AT TIME ZONE 'UTC')::date);
	d0 date := coalesce(start_date, date_trunc('month', d1)::date);
	a jsonb;
	cur text;
	refunds bigint;
	refunded bigint;
	disputes bigint;
	chargebacks bigint;
	products jsonb;
BEGIN
	-- a merchant made by the operator has no row: no settlement settings, no settlements block
	SELECT * INTO m FROM pg_wallet.merchants x WHERE x.id = mp.id;
	a := pg_wallet._merchant_analytics(mp, d0, d1, 'monthly', m.currency);
	cur := a ->> 'currency';
	-- the refunds the merchant gave (a chargeback is a refund row too: counted apart)
	SELECT count(*), coalesce(sum(r.amount_minor), 0)::bigint INTO refunds, refunded
	FROM pg_wallet.payments p JOIN pg_wallet.refunds r ON r.payment_id = p.id
	WHERE p.merchant_owner_id = mp.owner_id AND p.currency = cur
		AND r.status = 'COMPLETED'
		AND r.created_at >= d0::timestamp AT TIME ZONE 'UTC'
		AND r.created_at < (d1 + 1)::timestamp AT TIME ZONE 'UTC'
		AND NOT EXISTS (SELECT 1 FROM pg_wallet.disputes d WHERE d.refund_id = r.id);
	-- disputes opened in the period, chargebacks posted in it
	SELECT count(*) FILTER (WHERE d.created_at >= d0::timestamp AT TIME ZONE 'UTC'
			AND d.created_at < (d1 + 1)::timestamp AT TIME ZONE 'UTC'),
		count(*) FILTER (WHERE d.resolution = 'APPROVED'
			AND d.resolved_at >= d0::timestamp AT TIME ZONE 'UTC'
			AND d.resolved_at < (d1 + 1)::timestamp AT TIME ZONE 'UTC')
	INTO disputes, chargebacks
	FROM pg_wallet.disputes d
	WHERE d.merchant_owner_id = mp.owner_id AND d.currency = cur
		AND (d.created_at >= d0::timestamp AT TIME ZONE 'UTC'
			OR d.resolved_at >= d0::timestamp AT TIME ZONE 'UTC');
	-- a product is what the payment's metadata names (productName or product), else its
	-- description
	SELECT coalesce(jsonb_agg(jsonb_build_object('name', x.name, 'transactionCount', x.n,
			'totalAmount', pg_wallet.amount_format(x.total, cur))
			ORDER BY x.total DESC, x.name), '[]')
	INTO products
	FROM (SELECT left(coalesce(p.metadata ->> 'productName', p.metadata ->> 'product',
				p.description, 'Unspecified'), 100) AS name,
			count(*) AS n, sum(p.amount_minor)::bigint AS total
		FROM pg_wallet.payments p
		WHERE p.merchant_owner_id = mp.owner_id AND p.currency = cur
			AND p.status = 'SUCCESS'
			AND p.created_at >= d0::timestamp AT TIME ZONE 'UTC'
			AND p.created_at < (d1 + 1)::timestamp AT TIME ZONE 'UTC'
		GROUP BY 1 ORDER BY 3 DESC, 1 LIMIT 5) x;
	RETURN jsonb_build_object('merchantId', mp.id, 'currency', cur,
		'period', jsonb_build_object('startDate', d0, 'endDate', d1),
		'metrics', ((a -> 'summary') - 'successRate') || jsonb_build_object(
			'chargebackCount', chargebacks,
			'chargebackRate', coalesce(pg_wallet._rate_pct(chargebacks,
				(a #>> '{summary,successfulTransactions}')::bigint), 0),
			'disputeCount', disputes, 'refundCount', refunds,
			'refundAmount', pg_wallet.amount_format(refunded, cur)),
		'settlements', CASE WHEN m.id IS NOT NULL
			THEN pg_wallet._merchant_settlement_outlook(m) END,
		'topProducts', products);
END
$$;
COMMENT ON FUNCTION pg_wallet.merchant_dashboard(uuid, text, date, date) IS
	'Tribble GET /merchants/:merchantId/dashboard: a merchant''s month so far (or '
	'start_date to end_date, UTC days, at most 367): metrics (merchant_analytics'' summary, '
	'refundCount and refundAmount of its COMPLETED refunds but chargebacks, chargebackCount '
	'(disputes APPROVED in the period), chargebackRate (percent of the period''s successful '
	'payments), disputeCount (disputes opened in the period)), settlements (_merchant_settlement_outlook: nothing settled yet, what the next '
	'run would pay), topProducts (5, by amount: metadata productName or product, else the '
	'description); settlements is null for a merchant made by the operator (no settings). For '
	'who acts for it and admins (WL085 otherwise).';
