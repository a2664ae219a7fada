# Without shared_preload_libraries the extension still loads and the ledger works: the
# settings that need a preloaded library are simply not defined (PostgreSQL refuses to
# define PGC_POSTMASTER settings after start-up, which used to kill the backend at CREATE
# EXTENSION), no worker runs, and what would queue a partner call refuses with WL073. The
# other settings are defined when the library loads, and the pg_wallet prefix is reserved: a
# line left for a preload-only setting is reported and dropped, a misspelt name is an error.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('without_preload');
$node->init;
$node->append_conf('postgresql.conf', "pg_wallet.database = 'postgres'");
$node->start;

my ($rc, $out, $err) = $node->psql('postgres', 'CREATE EXTENSION pg_wallet');
is($rc, 0, 'CREATE EXTENSION works without shared_preload_libraries');
like($err, qr/"pg_wallet\.database".*removing it/,
	'a preload-only setting left in postgresql.conf is reported and dropped');
is($node->safe_psql('postgres',
		'SELECT pg_wallet.workers_available(); SHOW pg_wallet.outbox_batch_size'),
	"f\n100", 'the other settings are defined when the library loads');
($rc, $out, $err) = $node->psql('postgres',
	'SELECT pg_wallet.workers_available(); SET pg_wallet.outbox_batchsize = 5');
like($err, qr/invalid configuration parameter name "pg_wallet\.outbox_batchsize"/,
	'a misspelt pg_wallet setting is an error once the library is loaded');
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
($rc, $out, $err) = $node->psql('postgres', 'SELECT pg_wallet._outbox_wake()');
like($err, qr/WL073|shared_preload_libraries/, 'queuing a partner call is refused');
is($node->safe_psql('postgres', 'SELECT count(*) FROM pg_wallet.verify_ledger()'), '0',
	'the ledger is consistent');

$node->stop;
done_testing();
