# Queued events survive kill -9 of every process of the cluster, and none is written twice.
#
# Payments queue their transaction:completed events in their own transaction (event_queue)
# and the outbox worker moves them into the streams after commit (docs/sql-api.md, "Queued
# events"). Four pgbench clients pay one merchant while the postmaster, the worker and every
# backend are killed with SIGKILL at once, twice. After the restarts the worker drains the
# queue by itself; then every committed payment has exactly one event for its customer and
# one for its merchant, no event belongs to a payment that did not commit, each stream's
# last id is its greatest event id, and the ledger is balanced.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use WalletTest qw(sums_by_currency kill_cluster);

my $node = PostgreSQL::Test::Cluster->new('events_queue_crash');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_wallet'
pg_wallet.database = 'postgres'
pg_wallet.expiry_interval_s = 0
restart_after_crash = on
});
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_wallet;
	SELECT pg_wallet.create_account(owner_id, 'KES', 'AVAILABLE_COLLECTIONS', 'MERCH-KES')
	FROM pg_wallet.create_principal('merchant', 'merchant@example.com', 'MerchPass1');
	CREATE TABLE public.payers (i integer PRIMARY KEY, principal uuid NOT NULL);
	INSERT INTO public.payers
	SELECT g, (SELECT principal_id FROM pg_wallet.create_principal('user',
		'payer' || g || '@example.com', 'PayerPass1')) FROM generate_series(1, 20) g;
	SELECT pg_wallet.create_account(p.owner_id, 'KES', 'WALLET', 'PAYER-' || x.i)
	FROM public.payers x JOIN pg_wallet.principals p ON p.id = x.principal;
	SELECT pg_wallet.credit('PAYER-' || g, 100000, 'SYS-SUSPENSE-KES', 'seed-' || g)
	FROM generate_series(1, 20) g;
});
is($node->safe_psql('postgres', 'SELECT pg_wallet._event_queue_here()'), 't',
	'the outbox worker serves this database: payments queue their events');

my $merchant = $node->safe_psql('postgres',
	q{SELECT id FROM pg_wallet.principals WHERE email = 'merchant@example.com'});
my $script = PostgreSQL::Test::Utils::tempdir() . '/pay.sql';
PostgreSQL::Test::Utils::append_to_file($script, qq{\\set a random(1, 20)
SELECT pg_wallet.payment_create(p.principal, '$merchant', 1, 'KES', 'crash-' || txid_current())
FROM public.payers p WHERE p.i = :a;
});

for my $round (1, 2)
{
	my ($out, $err) = ('', '');
	my $bench = IPC::Run::start(
		[ 'pgbench', '-n', '-c', '4', '-j', '2', '-T', '30', '-f', $script,
		  '-h', $node->host, '-p', $node->port, 'postgres' ],
		'>', \$out, '2>', \$err);
	# let payments commit and the worker move some, then kill everything at once
	sleep(3);
	cmp_ok(kill_cluster($node), '>', 3,
		"round $round: the postmaster, the workers and the backends all killed with SIGKILL");
	$bench->finish;
	$node->start;
}

# the restarted worker drains the queue by itself (nobody else calls _events_sequence)
ok( $node->poll_query_until('postgres',
		'SELECT NOT EXISTS (SELECT 1 FROM pg_wallet.event_queue)'),
	'the restarted worker moved every queued event into its stream');
my $paid = $node->safe_psql('postgres',
	q{SELECT count(*) FROM pg_wallet.payments WHERE status = 'SUCCESS'});
cmp_ok($paid, '>', 0, "payments committed before the kills ($paid)");
is( $node->safe_psql('postgres', q{
		SELECT count(*) FROM pg_wallet.payments p
		WHERE p.status = 'SUCCESS' AND (
			SELECT count(*) FILTER (WHERE e.owner_id = p.customer_owner_id) || ' ' ||
				count(*) FILTER (WHERE e.owner_id = p.merchant_owner_id)
			FROM pg_wallet.events e
			WHERE e.event_type = 'transaction:completed'
				AND e.payload ->> 'transactionId' = p.transaction_ref) <> '1 1'}),
	'0', 'every committed payment has one event for its customer and one for its merchant');
is( $node->safe_psql('postgres', q{
		SELECT count(*) FROM pg_wallet.events e
		WHERE e.event_type = 'transaction:completed' AND NOT EXISTS (
			SELECT 1 FROM pg_wallet.payments p
			WHERE p.transaction_ref = e.payload ->> 'transactionId')}),
	'0', 'no event of a payment that did not commit');
is( $node->safe_psql('postgres', q{
		SELECT count(*) FROM pg_wallet.event_streams s
		WHERE s.last_event_id <> (SELECT max(e.id) FROM pg_wallet.events e
		                          WHERE e.owner_id = s.owner_id)
			OR s.event_count <> (SELECT count(*) FROM pg_wallet.events e
			                     WHERE e.owner_id = s.owner_id)}),
	'0', 'each stream\'s last id and count match its events');
is($node->safe_psql('postgres', 'SELECT count(*) FROM pg_wallet.verify_ledger()'), '0',
	'verify_ledger() finds nothing after the crashes');
is(sums_by_currency($node, 'postgres'), '', 'every currency sums to zero');

$node->stop;
done_testing();
