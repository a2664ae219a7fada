# A settlement run survives kill -9 of every process of the cluster mid-run: no merchant is
# paid twice for the period, none is forgotten (issue 14, sql/payments/settlements.sql).
#
# 100 approved merchants, each holding 100 KES in its collections (1% fee), are settled
# by two pgbench clients calling settlement_run(NULL, 1) over and over, one merchant per
# transaction. Once some are settled, the postmaster and every backend are killed with SIGKILL
# at once. After the restart, settlement_run is called until nothing remains; then every
# merchant has exactly one settlement for the day, with one fee journal and one payout (a
# withdrawal held on its collections account), its collections' available balance is 0, no
# payout or fee exists without its settlement, and the ledger is balanced.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use WalletTest qw(sums_by_currency kill_cluster);

my $merchants = 100;
my $node = PostgreSQL::Test::Cluster->new('settlement_crash');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_wallet'
pg_wallet.workers_enabled = off
restart_after_crash = on
});
$node->start;
$node->safe_psql('postgres', qq{
	CREATE EXTENSION pg_wallet;
	SELECT pg_wallet.create_partner('Bank 008', 'KE', 'bank_transfer', 'generic_json',
		'http://127.0.0.1:9/b', ARRAY['KES'], partner_id => 'PTN-B008');
	SELECT pg_wallet.create_principal('admin', 'admin\@example.com', 'AdminPass1');
	-- a user registers at most 5 merchants: $merchants / 5 users
	CREATE TABLE public.owners AS SELECT g, (SELECT principal_id FROM pg_wallet.register_user(
			'owner' || g || '\@example.com', 'OwnerPass1', 'Own', 'Er',
			'+2547001' || lpad(g::text, 5, '0'))) AS principal_id
		FROM generate_series(1, $merchants / 5) g;
	SELECT pg_wallet.merchant_register(o.principal_id, 'Shop ' || n, 'sole_proprietor',
		'T008-' || lpad(n::text, 4, '0'), 'retail', '001', '12345678' || lpad(n::text, 3, '0'),
		'Owner ' || n)
	FROM public.owners o, generate_series(1, 5) k, LATERAL (SELECT (o.g - 1) * 5 + k AS n) x;
});
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_wallet.merchants}), $merchants,
	"$merchants merchants registered");
$node->safe_psql('postgres', q{
	SELECT pg_wallet.merchant_approve(a.id, m.id::text)
	FROM pg_wallet.merchants m, pg_wallet.principals a WHERE a.email = 'admin@example.com';
	UPDATE pg_wallet.merchants SET settlement_hold_days = 0, settlement_fee_bp = 100;
	-- the collections of each: 100 KES (no payment in the hold period)
	SELECT pg_wallet.credit(a.account_number, 100, 'SYS-SUSPENSE-KES', 'seed-' || m.tax_id)
	FROM pg_wallet.merchants m JOIN pg_wallet.accounts a ON a.owner_id = m.owner_id
		AND a.purpose = 'AVAILABLE_COLLECTIONS';
});
is($node->safe_psql('postgres', q{
		SELECT count(*) FROM pg_wallet.accounts a
		WHERE a.purpose = 'AVAILABLE_COLLECTIONS' AND a.balance = 10000}), $merchants,
	'each merchant holds 100 KES in its collections');

# two runners, one merchant per transaction, slowed a little so that the kill lands mid-run
my $script = PostgreSQL::Test::Utils::tempdir() . '/settle.sql';
PostgreSQL::Test::Utils::append_to_file($script, q{SELECT pg_wallet.settlement_run(NULL, 1);
SELECT pg_sleep(0.05);
});
my ($out, $err) = ('', '');
my $bench = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '2', '-j', '2', '-T', '60', '-f', $script,
	  '-h', $node->host, '-p', $node->port, 'postgres' ],
	'>', \$out, '2>', \$err);
ok( $node->poll_query_until('postgres',
		'SELECT count(*) >= 5 FROM pg_wallet.settlements', 't'),
	'the runners settle merchants');
cmp_ok(kill_cluster($node), '>', 2, 'every process of the cluster killed with SIGKILL mid-run');
$bench->finish;
$node->start;

my $before = $node->safe_psql('postgres', 'SELECT count(*) FROM pg_wallet.settlements');
cmp_ok($before, '>=', 5, "settlements committed before the kill survive ($before)");
cmp_ok($before, '<', $merchants, 'the kill came before the run ended');

# the run started again: until nothing remains
my $remaining = -1;
for (my $i = 0; $i < 50 && $remaining != 0; $i++)
{
	$remaining = $node->safe_psql('postgres',
		q{SELECT pg_wallet.settlement_run(NULL, 40) ->> 'remaining'});
}
is($remaining, '0', 'the run started again settles the rest');

is( $node->safe_psql('postgres', q{
		SELECT count(*) || ' ' || count(DISTINCT merchant_id) || ' '
			|| count(*) FILTER (WHERE status = 'PROCESSING')
		FROM pg_wallet.settlements
		WHERE period = (now() AT TIME ZONE 'UTC')::date}),
	"$merchants $merchants $merchants", 'one settlement per merchant for the day, each paid out');
is( $node->safe_psql('postgres', q{
		SELECT count(*) FROM pg_wallet.withdrawals w
		WHERE NOT EXISTS (SELECT 1 FROM pg_wallet.settlements s WHERE s.withdrawal_id = w.id)}),
	'0', 'no payout without its settlement');
is( $node->safe_psql('postgres', q{
		SELECT count(*) || ' ' || count(DISTINCT j.idempotency_key)
		FROM pg_wallet.journals j WHERE j.journal_type = 'SETTLEMENT_FEE'}),
	"$merchants $merchants", 'one fee journal per settlement');
is( $node->safe_psql('postgres', q{
		SELECT count(*) FROM pg_wallet.journals j
		WHERE j.journal_type = 'SETTLEMENT_FEE' AND NOT EXISTS (
			SELECT 1 FROM pg_wallet.settlements s WHERE s.fee_journal_id = j.id)}),
	'0', 'no fee without its settlement');
is( $node->safe_psql('postgres', q{
		SELECT sum(w.amount_minor) || ' ' || sum(s.fee_minor) || ' '
			|| sum((pg_wallet.get_balance(a.account_number)).available_balance)
		FROM pg_wallet.settlements s JOIN pg_wallet.withdrawals w ON w.id = s.withdrawal_id
		JOIN pg_wallet.accounts a ON a.id = w.account_id}),
	($merchants * 9900) . ' ' . ($merchants * 100) . ' 0.00',
	'99 of each 100 paid out, 1 taken as the fee, nothing left available');
is($node->safe_psql('postgres', 'SELECT count(*) FROM pg_wallet.verify_ledger()'), '0',
	'the ledger verifies');
is(sums_by_currency($node, 'postgres'), '', 'every currency sums to zero');

$node->stop;
done_testing();
