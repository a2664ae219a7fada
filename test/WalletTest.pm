# test/WalletTest.pm — helpers shared by the TAP tests (test/t/*.pl; prove runs with -I test).
package WalletTest;

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;

use Exporter 'import';
our @EXPORT_OK = qw(sums_by_currency kill_cluster scale_cluster);

# sums_by_currency(NODE, DB): the currencies whose balances (with unfolded deltas) do not sum
# to 0, '' when every currency balances.
sub sums_by_currency
{
	my ($node, $db) = @_;
	return $node->safe_psql($db, q{
		SELECT string_agg(currency || ' ' || total, ', ' ORDER BY currency)
		FROM (SELECT a.currency, sum(a.balance) + coalesce(sum(d.amount), 0) AS total
		      FROM pg_wallet.accounts a
		      LEFT JOIN (SELECT account_id, sum(amount) AS amount FROM pg_wallet.account_deltas
		                 GROUP BY account_id) d ON d.account_id = a.id
		      GROUP BY a.currency) s
		WHERE total <> 0});
}

# kill_cluster(NODE): SIGKILL every process of the cluster at once, the postmaster and all its
# children (workers and backends), wait until they are gone, and let the node forget its pid
# so that start starts it again. Returns how many processes were killed.
sub kill_cluster
{
	my ($node) = @_;
	my $pidfile = $node->data_dir . '/postmaster.pid';
	my ($postmaster) = split /\n/, PostgreSQL::Test::Utils::slurp_file($pidfile);
	my @pids = ($postmaster);
	for my $stat (glob '/proc/[0-9]*/stat')
	{
		my $line = eval { PostgreSQL::Test::Utils::slurp_file($stat) } // next;
		my @f = split / /, ($line =~ s/^.*\) //r);
		push @pids, ($stat =~ m{/proc/(\d+)/})[0] if $f[1] == $postmaster;
	}
	kill('KILL', @pids);
	for (my $i = 0; $i < 600 && grep({ kill(0, $_) } @pids); $i++)
	{
		select(undef, undef, undef, 0.05);
	}
	die "processes of the cluster survived SIGKILL" if grep({ kill(0, $_) } @pids);
	$node->kill9;	# (already dead: only forgets the pid)
	return scalar @pids;
}

# scale_cluster(N): N data nodes (pg_wallet preloaded, its workers on database postgres,
# prepared transactions allowed) and a router (pg_wallet_router, its recovery worker every
# second, in_doubt_after 3 s) that knows them as nodes 0 .. N-1 (docs/scale-out.md). Returns
# the router and the nodes.
sub scale_cluster
{
	my ($n) = @_;
	my @nodes;
	for my $k (0 .. $n - 1)
	{
		my $node = PostgreSQL::Test::Cluster->new("node$k");
		$node->init;
		$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_wallet'
pg_wallet.database = 'postgres'
pg_wallet.expiry_interval_s = 0
max_prepared_transactions = 50
restart_after_crash = on
});
		$node->start;
		$node->safe_psql('postgres', 'CREATE EXTENSION pg_wallet');
		push @nodes, $node;
	}
	my $router = PostgreSQL::Test::Cluster->new('router');
	$router->init;
	$router->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_wallet'
pg_wallet.workers_enabled = off
pg_wallet.router_database = 'postgres'
pg_wallet.router_recovery_interval_s = 1
restart_after_crash = on
});
	$router->start;
	my $self = 'host=' . $router->host . ' port=' . $router->port . ' dbname=postgres';
	$router->safe_psql('postgres', qq{
		SET client_min_messages = warning;
		CREATE EXTENSION pg_wallet_router CASCADE;
		SELECT pg_wallet_router.configure('$self', '3 seconds');
	});
	for my $k (0 .. $n - 1)
	{
		my $conn = 'host=' . $nodes[$k]->host . ' port=' . $nodes[$k]->port . ' dbname=postgres';
		$router->safe_psql('postgres', "SELECT pg_wallet_router.add_node($k, '$conn')");
	}
	return ($router, @nodes);
}

1;
