# A logical backup (pg_dump -Fc, then pg_restore into a new cluster) holds the whole ledger.
#
# A database is populated through the public SQL API with every kind of row: transfers with
# fees, an FX conversion and a quote, holds open, captured and voided, a reversal, a refusal
# recorded under its idempotency key, DEFERRED credits not yet folded, users with sessions,
# KYC documents and TOTP, partners and an agent, deposits completed, failed, cancelled,
# expired and pending, withdrawals completed, failed and processing, events and outbox rows,
# payment methods.
# The workers are off (pg_wallet.workers_enabled), so nothing moves while it is dumped.
#
# Checked: every table and sequence of the extension is registered for pg_dump except the
# ones docs/operations.md names; a restore without session_replication_role = replica fails
# and leaves nothing; an ordinary role cannot set that mode; the documented restore gives,
# table by table, the same rows (md5 over the ordered rows) and every sequence the same
# value; verify_ledger() finds nothing; each currency sums to zero; the old sessions and
# passwords work; and new postings, accounts and events continue the ids without reusing one.
# A plain SQL dump restored with psql in the same mode gives the same rows too.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use WalletTest qw(sums_by_currency);

# the tables and sequences of the extension that pg_dump leaves out (docs/operations.md)
my %not_dumped = ('pg_wallet.rules_generation' => 1);

my $conf = q{
shared_preload_libraries = 'pg_wallet'
pg_wallet.database = 'wallet'
pg_wallet.workers_enabled = off
pg_wallet.expiry_interval_s = 0
timezone = 'UTC'
};
my $src = PostgreSQL::Test::Cluster->new('dump_source');
$src->init;
$src->append_conf('postgresql.conf', $conf);
$src->start;
$src->safe_psql('postgres', 'CREATE DATABASE wallet');
$src->safe_psql('wallet', 'CREATE EXTENSION pg_wallet');

# every table and sequence of the extension is registered, but for the named exceptions
is( $src->safe_psql('wallet', q{
		SELECT string_agg(c.oid::regclass::text, ', ' ORDER BY c.oid::regclass::text)
		FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
		JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'pg_wallet'
		WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_extension'::regclass
		  AND d.deptype = 'e' AND c.relkind IN ('r', 'p', 'S')
		  AND c.oid <> ALL (e.extconfig)}),
	join(', ', sort keys %not_dumped),
	'every table and sequence of the extension is in pg_dump, but for rules_generation');

my $secret = 'whsec_cGdfd2FsbGV0IHBhcnRuZXIgc2ltdWxhdG9yIDMyYiE=';
# a generic partner's callback, signed as the partner signs it
$src->safe_psql('wallet', q{
	CREATE FUNCTION public.signed_callback(partner text, body text, secret text)
	RETURNS jsonb LANGUAGE sql AS $$
		SELECT pg_wallet.partner_callback(partner, body, jsonb_build_object(
			'Webhook-Id', 'cb_' || md5(body), 'Webhook-Timestamp', ts::text,
			'Webhook-Signature', pg_wallet.webhook_signature(decode(substr(secret, 7), 'base64'),
				'cb_' || md5(body), ts, body)))
		FROM (SELECT extract(epoch FROM now())::bigint AS ts) t
	$$;
});

# ledger: owners, accounts, fees, FX, holds, a reversal, a recorded refusal, deltas
$src->safe_psql('wallet', qq{
	SELECT pg_wallet.create_partner('Sim', 'KE', 'sim', 'generic_json', 'http://127.0.0.1:9/p',
		ARRAY['KES', 'USD'], 'https://bridge.example/cb', '$secret', partner_id => 'PTN-B');
	SELECT pg_wallet.create_agent('Agent shop', ARRAY['KES'], 'AGT-B');
	SELECT pg_wallet.create_account(pg_wallet.create_owner('user', 'Ann', 'ann'), 'KES', 'WALLET',
		'ANN-KES');
	SELECT pg_wallet.create_account(o, 'USD', 'WALLET', 'ANN-USD')
	FROM pg_wallet.create_owner('user', 'Ann USD') o;
	SELECT pg_wallet.create_account(pg_wallet.create_owner('user', 'Bob'), 'KES', 'WALLET', 'BOB-KES');
	SELECT pg_wallet.create_account(pg_wallet.create_owner('merchant', 'Shop'), 'KES',
		'AVAILABLE_COLLECTIONS', 'SHOP-KES', credit_mode => 'DEFERRED');
	SELECT pg_wallet.create_fee_schedule('TRANSFER', 'PERCENTAGE', rate => 0.01, currency => 'KES',
		min_fee => 1);
	SELECT pg_wallet.set_fx_rate('USD', 'KES', 129.5, 0.01, source => 'test');
	SELECT pg_wallet.create_fee_schedule('TRANSFER', 'TIERED', currency => 'EUR', tiers =>
		'[{"up_to": 1000, "fixed": 1}, {"up_to": 100000, "rate": 0.01}]');
	SELECT pg_wallet.create_client_service(owner_id, 'Collections', 'COLLECTION', 1, 5000,
		fee_kind => 'PERCENTAGE', fee_value => 2) FROM pg_wallet.accounts
	WHERE account_number = 'SHOP-KES';
	SELECT pg_wallet.credit('ANN-KES', 5000, 'SETTLE-PTN-B-KES', 'fund-ann');
	SELECT pg_wallet.credit('ANN-USD', 300, 'SETTLE-PTN-B-USD', 'fund-ann-usd');
	SELECT pg_wallet.transfer('ANN-KES', 'BOB-KES', 250, 'tr-1');
	SELECT pg_wallet.transfer('BOB-KES', 'SHOP-KES', 40, 'tr-2');
	SELECT pg_wallet.transfer('ANN-KES', 'SHOP-KES', 10, 'tr-3');
	SELECT pg_wallet.convert('ANN-USD', 'ANN-KES', 25, 'fx-1');
	SELECT quote_id FROM pg_wallet.fx_quote('USD', 'KES', 600);
	SELECT pg_wallet.place_hold('ANN-KES', 70, 'SHOP-KES', 'hold-open', now() + interval '1 day');
	SELECT pg_wallet.post_hold((pg_wallet.place_hold('ANN-KES', 30, 'SHOP-KES', 'hold-cap')).hold_id,
		20, 'hold-cap-post');
	SELECT pg_wallet.void_hold((pg_wallet.place_hold('BOB-KES', 5, 'SHOP-KES', 'hold-void')).hold_id);
	SELECT pg_wallet.reverse_journal((SELECT receipt_code FROM pg_wallet.transfer('ANN-KES',
		'BOB-KES', 15, 'tr-rev')), 'rev-1', 'customer asked');
	SELECT status FROM pg_wallet.post_journal('TRANSFER', '[
		{"account": "BOB-KES", "side": "DR", "amount": 999999},
		{"account": "ANN-KES", "side": "CR", "amount": 999999}]', 'refused-1',
		record_refusal => true);
});

# identity: users with sessions, a KYC document, TOTP; a WaaS account number
my $login = $src->safe_psql('wallet', q{
	SELECT pg_wallet.register_user('cat@example.com', 'Secret123', 'Cat', 'Smith', '+254712000001');
	SELECT pg_wallet.create_account(owner_id, 'KES', 'WALLET', 'CAT-KES')
	FROM pg_wallet.principals WHERE email = 'cat@example.com';
	SELECT pg_wallet.register_user('dan@example.com', 'Secret456', 'Dan', 'Jones', '+254712000002');
	SELECT pg_wallet.login('dan@example.com', 'Secret456');
	SELECT pg_wallet.totp_enroll(access_token)
	FROM pg_wallet.login('dan@example.com', 'Secret456');
	SELECT pg_wallet.kyc_submit_document(access_token, 'national_id', 's3://kyc/cat-id.jpg',
		repeat('ab', 32))
	FROM pg_wallet.login('cat@example.com', 'Secret123');
	SELECT nextval('pg_wallet.waas_account_number_seq');
	SELECT pg_wallet.create_api_credential(id, 'backoffice') FROM pg_wallet.principals
	WHERE email = 'dan@example.com';
	SELECT pg_wallet.verification_request(access_token, 'otp_email', 'withdrawal')
	FROM pg_wallet.login('cat@example.com', 'Secret123');
	SELECT pg_wallet.create_principal('admin', 'ada@example.com', 'AdminPass1', 'Ada', 'Admin');
	SELECT pg_wallet.kyc_review(a.access_token, p.id, 'APPROVE', 1)
	FROM pg_wallet.login('ada@example.com', 'AdminPass1') a, pg_wallet.principals p
	WHERE p.email = 'cat@example.com';
	SELECT access_token || ' ' || refresh_token FROM pg_wallet.login('cat@example.com', 'Secret123');
});
my ($cat_token, $cat_refresh) = (split /\n/, $login)[-1] =~ /^(\S+) (\S+)$/;
ok(defined $cat_refresh, 'a user logged in before the backup');

# partners: deposits and withdrawals in every state the SQL API reaches without delivery
$src->safe_psql('wallet', qq{
	SELECT pg_wallet.credit('CAT-KES', 400, 'SETTLE-PTN-B-KES', 'fund-cat');
	SELECT pg_wallet.create_fee_schedule('DEPOSIT', 'FIXED', fixed_fee => 1, currency => 'KES');
	SELECT pg_wallet.create_fee_schedule('WITHDRAWAL', 'FIXED', fixed_fee => 2, currency => 'KES',
		commission_rate => 0.5);
	CREATE TEMP TABLE refs AS
	SELECT n, pg_wallet.deposit_request('ANN-KES', n, 'sim', phone => '0712000' || n,
		expires_in_s => CASE n WHEN 104 THEN 1 ELSE 1800 END) ->> 'request_ref' AS ref
	FROM generate_series(101, 105) n;
	SELECT public.signed_callback('PTN-B', json_build_object('type', 'deposit.completed',
		'reference', ref, 'amount', '101.00', 'currency', 'KES', 'partner_reference', 'P101')::text,
		'$secret') FROM refs WHERE n = 101;
	SELECT public.signed_callback('PTN-B', json_build_object('type', 'deposit.failed',
		'reference', ref, 'error', 'Declined')::text, '$secret') FROM refs WHERE n = 102;
	SELECT pg_wallet.cancel_deposit(ref) FROM refs WHERE n = 103;
	SELECT pg_sleep(1.2);
	SELECT pg_wallet.expire_deposits();
	CREATE TEMP TABLE wrefs AS
	SELECT n, pg_wallet.withdraw_request(p.id, n, 'KES', '07120002' || n,
		pg_wallet._issue_verification_token(p.id, 'withdrawal', 'otp_email'), 'sim',
		CASE n WHEN 11 THEN 'AGT-B' END) -> 'data' ->> 'request_ref' AS ref
	FROM pg_wallet.principals p, generate_series(11, 13) n WHERE p.email = 'cat\@example.com';
	SELECT public.signed_callback('PTN-B', json_build_object('type', 'payout.completed',
		'reference', ref, 'amount', '11.00', 'currency', 'KES')::text, '$secret')
	FROM wrefs WHERE n = 11;
	SELECT public.signed_callback('PTN-B', json_build_object('type', 'payout.failed',
		'reference', ref, 'error', 'No such subscriber')::text, '$secret') FROM wrefs WHERE n = 12;
	SELECT pg_wallet.emit_event(owner_id, 'deposit_completed', '{"note": "by hand"}')
	FROM pg_wallet.accounts WHERE account_number = 'BOB-KES';
});
is( $src->safe_psql('wallet', q{
		SELECT string_agg(status, ',' ORDER BY status) FROM pg_wallet.deposits}),
	'cancelled,completed,expired,failed,pending', 'deposits in five states');
is( $src->safe_psql('wallet', q{
		SELECT string_agg(status, ',' ORDER BY status) FROM pg_wallet.withdrawals}),
	'completed,failed,processing', 'withdrawals in three states');
is( $src->safe_psql('wallet', q{
		SELECT (SELECT count(*) FROM pg_wallet.journals WHERE status = 'REFUSED')
		     || ' ' || (SELECT count(*) FILTER (WHERE status = 'ACTIVE') || '/' || count(*)
		                FROM pg_wallet.holds)
		     || ' ' || (SELECT count(*) > 0 FROM pg_wallet.account_deltas)
		     || ' ' || (SELECT count(*) > 0 FROM pg_wallet.outbox)
		     || ' ' || (SELECT count(*) > 0 FROM pg_wallet.events)
		     || ' ' || (SELECT count(*) > 0 FROM pg_wallet.auth_sessions)
		     || ' ' || (SELECT count(*) FROM pg_wallet.journals WHERE reverses_journal_id IS NOT NULL)}),
	'1 2/6 true true true true 1',
	'a refusal, open and closed holds, deltas, outbox rows, events, sessions, a reversal');
is($src->safe_psql('wallet', 'SELECT count(*) FROM pg_wallet.verify_ledger()'), '0',
	'the source ledger verifies');

# fraud scoring: a rule, a reputation range, a posting from a known device (issue 12)
$src->safe_psql('wallet', q{
	SELECT pg_wallet.fraud_add_rule('ALLOW', 'IP', '192.0.2.0/24', 'office');
	INSERT INTO pg_wallet.fraud_ip_reputation (ip_range, score, label)
	VALUES ('198.51.100.0/24', 40, 'hosting');
	BEGIN;
	SELECT pg_wallet.set_request_context(
		'{"device_id": "cat-phone", "ip": "198.51.100.9", "country": "KE"}');
	SELECT pg_wallet.transfer('CAT-KES', 'BOB-KES', 1);
	COMMIT;
});

# a striped account (issue 20): its stripes hold allowances, and a debit took from one
$src->safe_psql('wallet', q{
	SELECT pg_wallet.set_account_stripes('BOB-KES', 4);
	SELECT pg_wallet.transfer('BOB-KES', 'CAT-KES', 1);
});
is($src->safe_psql('wallet', q{
		SELECT count(*) FROM pg_wallet.account_stripes s JOIN pg_wallet.accounts a
		ON a.id = s.account_id WHERE a.account_number = 'BOB-KES'}), '4',
	'the striped account has its 4 stripes');

# payment methods (issue 13): a card (its token, under the key made on first use) and a
# bank account of Cat's
$src->safe_psql('wallet', q{
	SELECT pg_wallet.payment_method_add_card(p.owner_id, '4532015112830366', 'Cat Smith', 12,
		extract(year FROM now())::integer + 3, '123')
	FROM pg_wallet.principals p WHERE p.email = 'cat@example.com';
	SELECT pg_wallet.payment_method_add_bank(p.owner_id, 'GTBank', '0123455678', 'Cat Smith')
	FROM pg_wallet.principals p WHERE p.email = 'cat@example.com';
});
# a wallet payment to a merchant and a partial refund of it (issue 13)
$src->safe_psql('wallet', q{
	SELECT pg_wallet.create_account(owner_id, 'KES', 'WALLET', 'MER-KES')
	FROM pg_wallet.create_principal('merchant', 'mer@example.com', 'MerchPass1');
	SELECT pg_wallet.payment_refund(x.pay ->> 'transactionId', m.id, 2)
	FROM pg_wallet.principals m,
		LATERAL (SELECT pg_wallet.payment_create(c.id, m.id::text, 5, 'KES', 'pay-1') AS pay
		         FROM pg_wallet.principals c WHERE c.email = 'cat@example.com') x
	WHERE m.email = 'mer@example.com';
});
is($src->safe_psql('wallet', q{
		SELECT p.status || ' ' || p.refunded_minor || ' ' || count(r.id)
		FROM pg_wallet.payments p JOIN pg_wallet.refunds r ON r.payment_id = p.id
		GROUP BY p.id}), 'SUCCESS 200 1', 'a payment and its refund');
# a card payment with Cat's card through a card partner, captured by its signed callback
$src->safe_psql('wallet', qq{
	SELECT pg_wallet.create_partner('Sim Card', 'KE', 'card', 'generic_json',
		'http://127.0.0.1:9/c', ARRAY['KES'], 'https://bridge.example/cb', '$secret',
		partner_id => 'PTN-CARD');
	SELECT pg_wallet.card_payment_create(c.id, m.id::text, 7, 'KES', 'card-' || pm.id,
		'card-pay-1')
	FROM pg_wallet.principals c
	JOIN pg_wallet.payment_methods pm ON pm.owner_id = c.owner_id AND pm.kind = 'card',
		pg_wallet.principals m
	WHERE c.email = 'cat\@example.com' AND m.email = 'mer\@example.com';
	SELECT pg_wallet.partner_callback('PTN-CARD', x.b, jsonb_build_object('webhook-id',
		'cb-card-1', 'webhook-timestamp', x.ts::text, 'webhook-signature',
		pg_wallet.webhook_signature(decode(substr('$secret', 7), 'base64'), 'cb-card-1', x.ts,
			x.b)))
	FROM (SELECT jsonb_build_object('type', 'card.completed', 'reference', p.transaction_ref,
			'amount', pg_wallet.amount_format(cp.total_minor, 'KES')::text)::text AS b,
			extract(epoch FROM now())::bigint AS ts
		FROM pg_wallet.payments p JOIN pg_wallet.card_payments cp ON cp.payment_id = p.id) x;
});
is($src->safe_psql('wallet', q{
		SELECT p.status || ' ' || cp.state FROM pg_wallet.payments p
		JOIN pg_wallet.card_payments cp ON cp.payment_id = p.id}), 'SUCCESS captured',
	'a card payment, captured');
# the signed receipt of the card payment (receipts: its key, made on first use, and the row)
is($src->safe_psql('wallet', q{
		SELECT (pg_wallet.receipt_issue(p.journal_id)).receipt_id ~ '^rcpt-'
		FROM pg_wallet.payments p WHERE p.payment_method = 'card'}), 't', 'a receipt');
# a refund of the card payment back to the card, PENDING with its partner (unreachable here)
$src->safe_psql('wallet', q{
	SELECT pg_wallet.payment_refund(p.transaction_ref, m.id, 3, 'requested_by_customer')
	FROM pg_wallet.payments p, pg_wallet.principals m
	WHERE p.payment_method = 'card' AND m.email = 'mer@example.com'});
is($src->safe_psql('wallet', q{
		SELECT r.status || ' ' || cr.state || ' ' || h.status FROM pg_wallet.refunds r
		JOIN pg_wallet.card_refunds cr ON cr.refund_id = r.id
		JOIN pg_wallet.holds h ON h.id = cr.hold_id}), 'PENDING pending ACTIVE',
	'a card refund, pending with its partner');
# a merchant Dan registered, approved by Ada, and one pending (issue 14): both in the backup
$src->safe_psql('wallet', q{
	SELECT pg_wallet.merchant_approve(a.id, (pg_wallet.merchant_register(d.id, 'Dan''s Shop',
			'sole_proprietor', 'TAX-004-1', 'retail', '044', '1234567890', 'Dan Jones')
		->> 'merchantId'), 'checked')
	FROM pg_wallet.principals a, pg_wallet.principals d
	WHERE a.email = 'ada@example.com' AND d.email = 'dan@example.com';
	SELECT pg_wallet.merchant_register(d.id, 'Dan''s Cafe', 'partnership', 'TAX-004-2',
		'food', '044', '1234567890', 'Dan Jones')
	FROM pg_wallet.principals d WHERE d.email = 'dan@example.com'});
is($src->safe_psql('wallet', q{
		SELECT string_agg(m.kyc_status || ' ' || (SELECT count(*) FROM pg_wallet.merchant_reviews r
			WHERE r.merchant_id = m.id), ', ' ORDER BY m.tax_id) FROM pg_wallet.merchants m}),
	'APPROVED 1, PENDING 0', 'two merchants, one approved');
# Cat disputes the wallet payment with a file; the merchant answers (issue 14): the dispute
# and its evidence are in the backup
$src->safe_psql('wallet', q{
	SELECT pg_wallet.dispute_evidence_add(pg_wallet.dispute_open(p.transaction_ref, c.id,
			'product_not_received', 'never came', '["file-004"]') ->> 'disputeId', m.id,
		'[]', 'shipped on Monday')
	FROM pg_wallet.payments p, pg_wallet.principals c, pg_wallet.principals m
	WHERE p.reference = 'pay-1' AND c.email = 'cat@example.com' AND m.email = 'mer@example.com'});
is($src->safe_psql('wallet', q{
		SELECT d.status || ' ' || count(e.id) FROM pg_wallet.disputes d
		JOIN pg_wallet.dispute_evidence e ON e.dispute_id = d.id GROUP BY d.id}),
	'INVESTIGATING 2', 'a dispute with its evidence');
# an airtime provider and Cat's top-up, held while its partner (unreachable here) works
$src->safe_psql('wallet', q{
	SELECT pg_wallet.create_partner('Sim Airtime', 'KE', 'airtime', 'generic_json',
		'http://127.0.0.1:9/a', ARRAY['KES'], partner_id => 'PTN-AIR');
	SELECT pg_wallet.airtime_provider_set('safaricom', 'Safaricom', 'KE', '254', 9, 'KES', 10,
		1000, 'PTN-AIR');
	SELECT pg_wallet.airtime_topup(c.id, 'safaricom', '0712345600', 10)
	FROM pg_wallet.principals c WHERE c.email = 'cat@example.com'});
is($src->safe_psql('wallet', q{
		SELECT t.status || ' ' || h.status FROM pg_wallet.airtime_topups t
		JOIN pg_wallet.holds h ON h.id = t.hold_id}), 'PROCESSING ACTIVE',
	'an airtime top-up, held');
# a plan of the merchant's with a setup fee, and Cat's subscription to it (its setup charge)
$src->safe_psql('wallet', q{
	SELECT pg_wallet.subscription_create(c.id, pg_wallet.subscription_plan_create(m.id, NULL,
			'Monthly box', 4, 'KES', 'monthly', setup_fee => 1) ->> 'planId')
	FROM pg_wallet.principals c, pg_wallet.principals m
	WHERE c.email = 'cat@example.com' AND m.email = 'mer@example.com'});
is($src->safe_psql('wallet', q{
		SELECT s.status || ' ' || x.kind || ' ' || x.status FROM pg_wallet.subscriptions s
		JOIN pg_wallet.subscription_charges x ON x.subscription_id = s.id}),
	'ACTIVE setup SUCCEEDED', 'a subscription and its setup charge');
# a settlement run: Dan's approved shop has nothing to settle (SKIPPED, recorded)
is($src->safe_psql('wallet', q{SELECT pg_wallet.settlement_run(NULL, 10) ->> 'skipped'}), '1',
	'a settlement run');
# the payment's signed receipt (issue 13): its key is in the backup, so it still verifies
$src->safe_psql('wallet', q{
	SELECT pg_wallet.receipt_issue(p.journal_id) FROM pg_wallet.payments p});

my $before = snapshot($src);
# (the event queue is empty but while a transaction that queued events commits)
my @empty = grep { $before->{$_} =~ /^0 / && $_ ne 'pg_wallet.event_queue' }
	sort keys %$before;
is(join(', ', @empty), '', 'every table has rows to compare');

# the backup
my $dump = PostgreSQL::Test::Utils::tempdir() . '/wallet.dump';
$src->command_ok(['pg_dump', '-Fc', '-d', $src->connstr('wallet'), '-f', $dump],
	'pg_dump -Fc of the wallet database');

# a new cluster, configured like the old one; its own database, empty
my $dst = PostgreSQL::Test::Cluster->new('dump_target');
$dst->init;
$dst->append_conf('postgresql.conf', $conf);
$dst->start;

# a plain pg_restore is refused (the seeds are there twice, the ledger's single writer
# refuses COPY) and, in one transaction, leaves nothing behind
$dst->safe_psql('postgres', 'CREATE DATABASE wallet');
my ($out, $err) = ('', '');
my $ok = IPC::Run::run(['pg_restore', '--exit-on-error', '--single-transaction',
		'-d', $dst->connstr('wallet'), $dump], '>', \$out, '2>', \$err);
ok(!$ok, 'pg_restore without session_replication_role = replica fails');
like($err, qr/duplicate key|reserved to the posting core/, '... on the seed rows or the guard');
is($dst->safe_psql('wallet', q{SELECT count(*) FROM pg_extension WHERE extname = 'pg_wallet'}),
	'0', '... and leaves nothing');

# an ordinary role cannot take the restore mode (and so cannot pass the ledger's guard)
$dst->safe_psql('postgres', 'CREATE ROLE clerk LOGIN');
my ($rc, $so, $se) = $dst->psql('wallet', 'SET session_replication_role = replica',
	extra_params => ['-U', 'clerk']);
like($se, qr/permission denied to set parameter "session_replication_role"/,
	'an ordinary role cannot set session_replication_role');
is( $src->safe_psql('wallet', q{
		SELECT count(*) FROM pg_proc
		WHERE pronamespace = 'pg_wallet'::regnamespace
		  AND (prosrc ~* 'session_replication_role' OR proconfig::text ~* 'session_replication_role')}),
	'0', 'and no function of pg_wallet sets it for anyone');

# the documented restore: as a superuser, in replica mode
{
	local $ENV{PGOPTIONS} = '-c session_replication_role=replica';
	$dst->command_ok(['pg_restore', '--exit-on-error', '--single-transaction',
			'-d', $dst->connstr('wallet'), $dump],
		'pg_restore with session_replication_role = replica');
}

my $after = snapshot($dst);
for my $rel (sort keys %$before)
{
	is($after->{$rel}, $before->{$rel}, "$rel: restored as dumped");
}
is(scalar(keys %$after), scalar(keys %$before), 'the same tables and sequences');

# a plain SQL dump restored with psql, the same way, gives the same rows
my $plain = PostgreSQL::Test::Utils::tempdir() . '/wallet.sql';
$src->command_ok(['pg_dump', '-d', $src->connstr('wallet'), '-f', $plain],
	'pg_dump of the wallet database as SQL');
$dst->safe_psql('postgres', 'CREATE DATABASE wallet_sql');
{
	local $ENV{PGOPTIONS} = '-c session_replication_role=replica';
	$dst->command_ok(['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction',
			'-d', $dst->connstr('wallet_sql'), '-f', $plain],
		'psql -f of the SQL dump with session_replication_role = replica');
}
my $after_sql = snapshot($dst, 'wallet_sql');
is(join(', ', grep { ($after_sql->{$_} // '') ne $before->{$_} } sort keys %$before), '',
	'every table and sequence restored from the SQL dump as dumped');
is($dst->safe_psql('wallet_sql', 'SELECT count(*) FROM pg_wallet.verify_ledger()'), '0',
	'verify_ledger() finds nothing in the ledger restored from the SQL dump');
is($dst->safe_psql('wallet', 'SELECT count(*) FROM pg_wallet.verify_ledger()'), '0',
	'verify_ledger() finds nothing in the restored ledger (hashes, chains, sums, deltas, holds)');
is(sums_by_currency($dst, 'wallet'), '', 'every currency sums to zero after the restore');
is($dst->safe_psql('wallet', q{
		SELECT bool_and(pg_wallet.receipt_verify(r.document, r.signature)) || ' ' || count(*)
		FROM pg_wallet.receipts r}),
	'true 3', 'the restored receipts (two payments, a setup charge) verify under the restored key');
is( $dst->safe_psql('wallet', q{
		SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
		WHERE c.relnamespace = 'pg_wallet'::regnamespace AND NOT t.tgisinternal
		  AND t.tgenabled <> 'O'}),
	'0', 'every trigger of the extension is enabled as before');

# the restored database works: old secrets and sessions, new ids after the old ones
is( $dst->safe_psql('wallet', qq{SELECT email FROM pg_wallet.authenticate('$cat_token')}),
	'cat@example.com', 'an access token issued before the backup is still valid');
is( $dst->safe_psql('wallet', qq{SELECT status FROM pg_wallet.refresh_session('$cat_refresh')}),
	'OK', 'and its refresh token');
is($dst->safe_psql('wallet', q{SELECT status FROM pg_wallet.login('dan@example.com', 'Secret456')}),
	'OK', 'a password set before the backup logs in');
my $max = 'SELECT (SELECT max(id) FROM pg_wallet.journals) || \' \' || '
  . '(SELECT max(id) FROM pg_wallet.entries) || \' \' || (SELECT max(id) FROM pg_wallet.accounts)'
  . ' || \' \' || (SELECT max(id) FROM pg_wallet.owners) || \' \' || '
  . '(SELECT max(id) FROM pg_wallet.holds) || \' \' || (SELECT max(id) FROM pg_wallet.events)';
my @old = split / /, $dst->safe_psql('wallet', $max);
$dst->safe_psql('wallet', q{
	SELECT pg_wallet.transfer('ANN-KES', 'BOB-KES', 33, 'after-1');
	SELECT pg_wallet.convert('ANN-USD', 'ANN-KES', 5, 'after-fx');
	SELECT pg_wallet.create_account(pg_wallet.create_owner('user', 'Eve'), 'KES', 'WALLET', 'EVE-KES');
	SELECT pg_wallet.post_hold((pg_wallet.place_hold('ANN-KES', 9, 'EVE-KES', 'after-hold')).hold_id);
	SELECT pg_wallet.emit_event(owner_id, 'deposit_completed', '{"note": "after"}')
	FROM pg_wallet.accounts WHERE account_number = 'EVE-KES';
	SELECT pg_wallet.fold_deltas();
});
my @new = split / /, $dst->safe_psql('wallet', $max);
my @names = qw(journals entries accounts owners holds events);
for my $i (0 .. $#names)
{
	cmp_ok($new[$i], '>', $old[$i], "new $names[$i] continue after the restored ids");
}
is( $dst->safe_psql('wallet', q{
		SELECT balance FROM pg_wallet.get_balance('BOB-KES')}),
	$src->safe_psql('wallet', q{
		SELECT balance + 33 FROM pg_wallet.get_balance('BOB-KES')}),
	'a restored balance moves on from where it was');
is( $dst->safe_psql('wallet', q{
		SELECT nextval('pg_wallet.waas_account_number_seq')}),
	$src->safe_psql('wallet', q{
		SELECT nextval('pg_wallet.waas_account_number_seq')}),
	'the WaaS account numbers continue as they would have');
is($dst->safe_psql('wallet', 'SELECT count(*) FROM pg_wallet.verify_ledger()'), '0',
	'verify_ledger() finds nothing after posting on the restored ledger');
is(sums_by_currency($dst, 'wallet'), '', 'every currency still sums to zero');

$src->stop;
$dst->stop;
done_testing();

# snapshot NODE [DB]: {relation => "rows md5"} for every table and sequence of the extension that
# is dumped (md5 over the rows' text in C order; a sequence's last_value and is_called)
sub snapshot
{
	my ($node, $db) = @_;
	my $lines = $node->safe_psql($db // 'wallet', q{
		CREATE FUNCTION pg_temp.rows_md5(rel regclass) RETURNS text LANGUAGE plpgsql AS $$
		DECLARE r text;
		BEGIN
			IF (SELECT relkind FROM pg_class WHERE oid = rel) = 'S' THEN
				EXECUTE format('SELECT 1 || '' '' || last_value || '' '' || is_called FROM %s', rel)
				INTO r;
			ELSE
				EXECUTE format('SELECT count(*) || '' '' || coalesce(md5(string_agg(t::text, E''\n''
					ORDER BY t::text COLLATE "C")), '''') FROM %s t', rel) INTO r;
			END IF;
			RETURN r;
		END $$;
		SELECT c.oid::regclass::text || '|' || pg_temp.rows_md5(c.oid)
		FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
		JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'pg_wallet'
		WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_extension'::regclass
		  AND d.deptype = 'e' AND c.relkind IN ('r', 'p', 'S')
		ORDER BY 1});
	my %snap;
	for my $line (split /\n/, $lines)
	{
		my ($rel, $sum) = split /\|/, $line, 2;
		$snap{$rel} = $sum unless $not_dumped{$rel};
	}
	return \%snap;
}
