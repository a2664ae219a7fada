# A subscription billing run survives kill -9 of every process of the cluster mid-batch: no
# period is charged twice, none is skipped (issue 15, sql/payments/subscriptions.sql).
#
# 20 customers hold 5 daily subscriptions each (100, to 5 plans of one merchant), all due
# today. Two pgbench clients call subscriptions_bill_due(3) over and over, so that batches of
# three run concurrently (FOR UPDATE SKIP LOCKED keeps them apart). Once some are billed, the
# postmaster and every backend are killed with SIGKILL at once. After the restart the run is
# called until nothing is due; then every subscription has exactly one charge for today, paid
# by exactly one payment, its next charge is tomorrow, the merchant received 100 x the plan
# amount, and the ledger is balanced.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use WalletTest qw(sums_by_currency kill_cluster);

my $node = PostgreSQL::Test::Cluster->new('billing_crash');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_wallet'
pg_wallet.workers_enabled = off
restart_after_crash = on
});
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_wallet;
	SELECT pg_wallet.create_account(owner_id, 'KES', 'AVAILABLE_COLLECTIONS', 'MERCH-KES')
	FROM pg_wallet.create_principal('merchant', 'merchant@example.com', 'MerchPass1');
	CREATE TABLE public.customers AS SELECT g, p.principal_id, p.owner_id
	FROM generate_series(1, 20) g,
		LATERAL pg_wallet.register_user('c' || g || '@example.com', 'CustPass1', 'Cus', 'Tomer',
			'+2547002' || lpad(g::text, 5, '0')) p;
	SELECT pg_wallet.create_account(c.owner_id, 'KES', 'WALLET', 'CUST-' || c.g)
	FROM public.customers c;
	SELECT pg_wallet.credit('CUST-' || g, 1000, 'SYS-SUSPENSE-KES') FROM public.customers;
	-- many payments in seconds: a KYC tier that counts them, fraud rules that allow them
	UPDATE pg_wallet.principals SET kyc_tier = 3
	WHERE owner_id IN (SELECT owner_id FROM public.customers);
	INSERT INTO pg_wallet.fraud_rules (action, subject, owner_id, reason)
	SELECT 'ALLOW', 'USER', owner_id, 'billing crash test' FROM public.customers;
	CREATE TABLE public.plans AS SELECT k, pg_wallet.subscription_plan_create(m.id, NULL,
			'Plan ' || k, 2, 'KES', 'daily') ->> 'planId' AS plan_id
	FROM generate_series(1, 5) k, pg_wallet.principals m WHERE m.email = 'merchant@example.com';
	SELECT pg_wallet.subscription_create(c.principal_id, p.plan_id)
	FROM public.customers c, public.plans p;
});
is($node->safe_psql('postgres', q{
		SELECT count(*) FROM pg_wallet.subscriptions
		WHERE next_charge_date = (now() AT TIME ZONE 'UTC')::date}), '100',
	'100 subscriptions due today');

my $script = PostgreSQL::Test::Utils::tempdir() . '/bill.sql';
PostgreSQL::Test::Utils::append_to_file($script, q{SELECT pg_wallet.subscriptions_bill_due(3);
SELECT pg_sleep(0.05);
});
my ($out, $err) = ('', '');
my $bench = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '2', '-j', '2', '-T', '60', '-f', $script,
	  '-h', $node->host, '-p', $node->port, 'postgres' ],
	'>', \$out, '2>', \$err);
ok( $node->poll_query_until('postgres',
		'SELECT count(*) >= 6 FROM pg_wallet.subscription_charges', 't'),
	'the runners bill subscriptions');
cmp_ok(kill_cluster($node), '>', 2, 'every process of the cluster killed with SIGKILL mid-run');
$bench->finish;
$node->start;

my $before = $node->safe_psql('postgres', 'SELECT count(*) FROM pg_wallet.subscription_charges');
cmp_ok($before, '>=', 6, "charges committed before the kill survive ($before)");
cmp_ok($before, '<', 100, 'the kill came before the run ended');

my $charged = -1;
for (my $i = 0; $i < 50 && $charged != 0; $i++)
{
	$charged = $node->safe_psql('postgres',
		q{SELECT (pg_wallet.subscriptions_bill_due(40) ->> 'charged')::integer});
}
is($charged, '0', 'the run started again bills the rest');

is( $node->safe_psql('postgres', q{
		SELECT count(*) || ' ' || count(DISTINCT subscription_id) || ' '
			|| count(*) FILTER (WHERE status = 'SUCCEEDED' AND attempt_count = 1)
		FROM pg_wallet.subscription_charges
		WHERE scheduled_date = (now() AT TIME ZONE 'UTC')::date}),
	'100 100 100', 'one charge per subscription for today, each paid at the first attempt');
is( $node->safe_psql('postgres', q{
		SELECT count(*) || ' ' || count(DISTINCT p.reference)
		FROM pg_wallet.payments p WHERE p.reference LIKE 'sub:%'}),
	'100 100', 'one payment per charge');
is( $node->safe_psql('postgres', q{
		SELECT count(*) FROM pg_wallet.subscription_charges x
		JOIN pg_wallet.payments p ON p.id = x.payment_id WHERE p.status <> 'SUCCESS'}),
	'0', "every charge's payment succeeded");
is( $node->safe_psql('postgres', q{
		SELECT count(*) FROM pg_wallet.subscriptions
		WHERE charge_count = 1 AND status = 'ACTIVE'
			AND next_charge_date = (now() AT TIME ZONE 'UTC')::date + 1}),
	'100', 'every subscription moved on to tomorrow');
is($node->safe_psql('postgres', q{SELECT (pg_wallet.get_balance('MERCH-KES')).balance}),
	'200.00', 'the merchant received 100 x 2 KES');
is($node->safe_psql('postgres', 'SELECT count(*) FROM pg_wallet.verify_ledger()'), '0',
	'the ledger verifies');
is(sums_by_currency($node, 'postgres'), '', 'every currency sums to zero');

$node->stop;
done_testing();
