# Without shared_preload_libraries the extension still loads and the ledger works: the
# settings that need a preloaded library are simply not defined (PostgreSQL refuses to
# define PGC_POSTMASTER settings after start-up, which used to kill the backend at CREATE
# EXTENSION), no worker runs, and what would queue a partner call refuses with WL073.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('without_preload');
$node->init;
$node->start;

is($node->psql('postgres', 'CREATE EXTENSION pg_wallet'), 0,
	'CREATE EXTENSION works without shared_preload_libraries');
$node->safe_psql('postgres', q{
	SELECT pg_wallet.create_account(pg_wallet.create_owner('user', 'u'), 'KES', 'WALLET', 'A');
	SELECT pg_wallet.create_account(pg_wallet.create_owner('partner', 'p'), 'KES', 'SETTLEMENT',
		'S', can_overdraw => true);
	SELECT pg_wallet.credit('A', 10, 'S');
});
is($node->safe_psql('postgres', "SELECT balance FROM pg_wallet.get_balance('A')"), '10.00',
	'the ledger posts');
is($node->safe_psql('postgres', 'SELECT pg_wallet.workers_available()'), 'f',
	'no workers without preloading');
my ($rc, $out, $err) = $node->psql('postgres', 'SELECT pg_wallet._outbox_wake()');
like($err, qr/WL073|shared_preload_libraries/, 'queuing a partner call is refused');
is($node->safe_psql('postgres', 'SELECT count(*) FROM pg_wallet.verify_ledger()'), '0',
	'the ledger is consistent');

$node->stop;
done_testing();
