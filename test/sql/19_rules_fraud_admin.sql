-- Fraud rules for Tribble admins from SQL (issue 12 phase 2; no route: the spec has none):
-- api_tribble_admin_fraud_rule_add, _fraud_rules, _fraud_rule_disable; admins only (WL031),
-- each field checked and named, a USER rule by userId; a DENY rule added this way blocks
-- the user's next transfer (WL047) and moves nothing; disabled, it no longer applies.
SELECT principal_id AS ra_admin FROM pg_wallet.create_principal('admin',
	'rules.admin@example.com', 'Secret123') \gset
SELECT principal_id AS ra_user, owner_id AS ra_owner FROM pg_wallet.register_user(
	'rules.user@example.com', 'Secret123', 'Rule', 'User', '0712999191') \gset
SELECT access_token AS tok_admin FROM pg_wallet.login('rules.admin@example.com', 'Secret123',
	'tribble') \gset
SELECT access_token AS tok_user FROM pg_wallet.login('rules.user@example.com', 'Secret123',
	'tribble') \gset
SELECT (pg_wallet.create_account(:ra_owner, 'KES', 'WALLET', 'RA-U')).account_number;
SELECT (pg_wallet.create_account(pg_wallet.create_owner('user', 'Rules B'), 'KES', 'WALLET',
	'RA-B')).account_number;
SELECT status FROM pg_wallet.credit('RA-U', 100, 'SYS-SUSPENSE-KES', 'ra-fund');
CREATE FUNCTION ra_add(tok text, b jsonb) RETURNS jsonb LANGUAGE sql AS $$
	SELECT pg_wallet.api_tribble_admin_fraud_rule_add(tok, jsonb_build_object('body', b))
		- '_bridge'
$$;
SELECT count(*) AS rules_before FROM pg_wallet.fraud_rules \gset
-- refusals: a user (403), then each field
SELECT err_col(format('SELECT ra_add(%L, %L)', :'tok_user', jsonb_build_object('action',
	'DENY', 'subject', 'USER', 'value', :'ra_user', 'reason', 'test'))) AS as_user;
SELECT err_col(format('SELECT ra_add(%L, %L)', :'tok_admin', '{"action": "DENY",
	"subject": "USER", "value": "x"}')) AS no_reason;
SELECT err_col(format('SELECT ra_add(%L, %L)', :'tok_admin', '{"action": "BAN",
	"subject": "DEVICE", "value": "x", "reason": "r"}')) AS bad_action;
SELECT err_col(format('SELECT ra_add(%L, %L)', :'tok_admin', '{"action": "DENY",
	"subject": "PHONE", "value": "x", "reason": "r"}')) AS bad_subject;
SELECT err_col(format('SELECT ra_add(%L, %L)', :'tok_admin', '{"action": "DENY",
	"subject": "USER", "value": "00000000-0000-0000-0000-000000000000", "reason": "r"}'))
	AS unknown_user;
SELECT err_col(format('SELECT ra_add(%L, %L)', :'tok_admin', '{"action": "DENY",
	"subject": "IP", "value": "10.0.0.300/8", "reason": "r"}')) AS bad_range;
SELECT err_col(format('SELECT ra_add(%L, %L)', :'tok_admin', jsonb_build_object('action',
	'DENY', 'subject', 'DEVICE', 'value', 'd', 'reason', repeat('r', 201)))) AS long_reason;
SELECT count(*) = :rules_before AS nothing_added FROM pg_wallet.fraud_rules;
-- a DENY of the user by userId, and an ALLOW of an IP range
SELECT ra_add(:'tok_admin', jsonb_build_object('action', 'DENY', 'subject', 'USER',
	'value', :'ra_user', 'reason', 'chargebacks')) AS deny \gset
SELECT :'deny'::jsonb - 'ruleId' - 'createdAt' - 'value' AS deny_user,
	:'deny'::jsonb ->> 'value' = :'ra_user' AS by_user_id,
	:'deny'::jsonb ->> 'createdAt' ~ 'Z$' AS iso;
SELECT :'deny'::jsonb ->> 'ruleId' AS deny_id \gset
SELECT EXISTS (SELECT 1 FROM jsonb_array_elements(x -> 'rules') r
		WHERE r = :'deny'::jsonb) AS listed
FROM pg_wallet.api_tribble_admin_fraud_rules(:'tok_admin', '{"query": {"limit": "100"}}') x;
SELECT ra_add(:'tok_admin', '{"action": "ALLOW", "subject": "IP", "value": "192.0.2.0/24",
	"reason": "office"}') - 'ruleId' - 'createdAt' AS allow_ip;
-- the user's transfer is blocked by the rule, and nothing moves
SELECT err($$SELECT pg_wallet.transfer('RA-U', 'RA-B', 10)$$) AS blocked;
SELECT bal('RA-U') AS still;
-- the list: active rules, oldest first, paginated
SELECT x -> 'pagination' ->> 'total' = (SELECT count(*) FROM pg_wallet.fraud_rules
		WHERE is_active)::text AS total_ok,
	x -> 'pagination' -> 'limit' AS lim, jsonb_array_length(x -> 'rules') AS shown
FROM pg_wallet.api_tribble_admin_fraud_rules(:'tok_admin',
	'{"query": {"limit": "1", "offset": "0"}}') x;
SELECT err_col(format('SELECT pg_wallet.api_tribble_admin_fraud_rules(%L, %L)', :'tok_admin',
	'{"query": {"limit": "500"}}')) AS bad_limit;
SELECT err_col(format('SELECT pg_wallet.api_tribble_admin_fraud_rules(%L, %L)', :'tok_user',
	'{}')) AS list_as_user;
-- disabled, the rule no longer applies; twice, or an unknown id, is refused naming ruleId
SELECT r ->> 'isActive' AS active FROM pg_wallet.api_tribble_admin_fraud_rule_disable(
	:'tok_admin', jsonb_build_object('path', jsonb_build_object('id', :'deny_id'))) r;
SELECT status FROM pg_wallet.transfer('RA-U', 'RA-B', 10);
SELECT bal('RA-U') AS after;
SELECT err_col(format('SELECT pg_wallet.api_tribble_admin_fraud_rule_disable(%L, %L)',
	:'tok_admin', jsonb_build_object('path', jsonb_build_object('id', :'deny_id'))))
	AS again;
SELECT err_col(format('SELECT pg_wallet.api_tribble_admin_fraud_rule_disable(%L, %L)',
	:'tok_admin', '{"path": {"id": "x1"}}')) AS not_an_id;
SELECT err_col(format('SELECT pg_wallet.api_tribble_admin_fraud_rule_disable(%L, %L)',
	:'tok_user', jsonb_build_object('path', jsonb_build_object('id', :'deny_id'))))
	AS disable_as_user;
-- the ALLOW range stays for later tests to ignore: disable it too
SELECT pg_wallet.fraud_disable_rule(id) FROM pg_wallet.fraud_rules
WHERE is_active AND ip_range = '192.0.2.0/24';
SELECT ledger_ok();

-- an admin has no KYC tier: the bridge counts it at the highest tier's rate limits (tier 3:
-- 20/s, 5,000/h, 100,000/day), a tier-0 user at tier 0's
SELECT pg_wallet.api_tribble_admin_fraud_rules(:'tok_admin', '{"query": {}}')
	#>> '{_bridge,rate}' AS admin_rate,
	pg_wallet.api_tribble_me(:'tok_user', '{}') #>> '{_bridge,rate}' AS user_rate;
