# Idle workers sleep (issue 11): with nothing to do, the outbox worker, the expiry worker and
# the launcher wait on their latches instead of polling the database in a loop.
#
# A server preloaded with pg_wallet and pg_stat_statements, pg_wallet.outbox_poll_ms set to an
# hour (so only a commit or a due retry can wake the outbox worker) and the expiry sweep every
# 2 s. Over idle windows of about 10 s and 5 s it counts what each worker did:
#   - the turns of its main loop and its transactions (worker_status(), shared memory);
#   - the calls of the outbox worker's statements (pg_stat_statements: independent of the
#     worker's own counters);
#   - the CPU ticks of its process (/proc/<pid>/stat);
# and fails when a worker turned or queried more than about once a second (the expiry worker:
# more than once per interval) or used more than 5 % of a core. Count bounds, no timing: a
# slow machine only makes the counts smaller. Then a committed deposit request is delivered to
# the partner simulator (only the commit's wake-up can get it there within the hour), and one
# the partner answers with 500 twice is delivered at its third attempt (only the worker's own
# timeout for the due retry can do that); afterwards the workers are idle again.
use strict;
use warnings;

use POSIX ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('worker_idle');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_wallet,pg_stat_statements'
pg_stat_statements.track = all
pg_wallet.database = 'postgres'
pg_wallet.outbox_poll_ms = 3600000
pg_wallet.outbox_backoff_base_ms = 1000
pg_wallet.outbox_backoff_max_ms = 2000
pg_wallet.outbox_max_attempts = 10
pg_wallet.expiry_interval_s = 2
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_wallet; CREATE EXTENSION pg_stat_statements');

my %kind = ('pg_wallet outbox' => 'outbox', 'pg_wallet expiry' => 'expiry',
	'pg_wallet launcher' => 'launcher');
$node->poll_query_until('postgres',
	'SELECT count(*) = 3 FROM pg_wallet.worker_status() WHERE loops IS NOT NULL')
  or die 'the three workers did not start';
# the outbox worker has found the extension and gone to sleep once it has claimed
$node->poll_query_until('postgres',
	"SELECT calls > 0 FROM pg_stat_statements WHERE query = 'SELECT pg_wallet._outbox_next_due_ms()'")
  or die 'the outbox worker never claimed';

my $hz = POSIX::sysconf(POSIX::_SC_CLK_TCK()) || 100;

# CPU ticks (user + system) of a process so far
sub ticks
{
	my ($pid) = @_;
	my $stat = PostgreSQL::Test::Utils::slurp_file("/proc/$pid/stat");
	# the fields after the command name, which is in parentheses: state is the first
	my @f = split(' ', substr($stat, rindex($stat, ')') + 2));
	return $f[11] + $f[12];
}

# What every worker has done so far, the calls of the outbox worker's statements, and the
# server's clock (seconds).
sub snapshot
{
	my %s;
	my $rows = $node->safe_psql('postgres',
		'SELECT worker, pid, loops, transactions FROM pg_wallet.worker_status()');
	for my $line (split /\n/, $rows)
	{
		my ($worker, $pid, $loops, $xacts) = split /\|/, $line;
		$s{ $kind{$worker} } =
		  { pid => $pid, loops => $loops, xacts => $xacts, ticks => ticks($pid) };
	}
	$s{calls} = $node->safe_psql('postgres', q{
		SELECT coalesce(sum(calls), 0) FROM pg_stat_statements
		WHERE query = 'SELECT pg_wallet._outbox_next_due_ms()'
		   OR query LIKE 'SELECT id, attempt, message_id, method, url, headers, body,%'});
	$s{at} = $node->safe_psql('postgres', 'SELECT extract(epoch FROM clock_timestamp())');
	return \%s;
}

# Check one idle window of about $seconds seconds.
sub idle_window
{
	my ($name, $seconds) = @_;
	my $before = snapshot();
	sleep($seconds);
	my $after = snapshot();
	my $elapsed = $after->{at} - $before->{at};
	# about once a second at most, whatever the window: the bug made it 300 times a second
	my $bound = int($elapsed) + 3;

	for my $w (qw(outbox expiry launcher))
	{
		is($after->{$w}{pid}, $before->{$w}{pid}, "$name: the $w worker ran throughout");
		my $loops = $after->{$w}{loops} - $before->{$w}{loops};
		my $xacts = $after->{$w}{xacts} - $before->{$w}{xacts};
		my $ticks = $after->{$w}{ticks} - $before->{$w}{ticks};
		note("$name: $w turned $loops times and ran $xacts transactions, $ticks CPU ticks"
			  . sprintf(' in %.1f s', $elapsed));
		if ($w eq 'expiry')
		{
			# a sweep every 2 s: one turn each, at most 8 transactions (a check, 7 steps)
			ok($loops <= int($elapsed / 2) + 2, "$name: the expiry worker turns once a sweep");
			ok($xacts <= 8 * ($loops + 1), "$name: and runs only its sweep's transactions");
		}
		else
		{
			ok($loops <= $bound, "$name: the idle $w worker sleeps ($loops turns)");
			ok($xacts <= $bound, "$name: the idle $w worker does not query ($xacts transactions)");
		}
		ok($ticks < 0.05 * $elapsed * $hz,
			"$name: the $w worker used less than 5 % of a core ($ticks ticks)");
	}
	my $calls = $after->{calls} - $before->{calls};
	ok($calls <= $bound, "$name: pg_stat_statements saw $calls outbox claims and due checks");
	return;
}

idle_window('idle', 10);

# a commit wakes the worker: a deposit request is delivered (the poll interval is an hour)
my $simdir = PostgreSQL::Test::Utils::tempdir();
END { system('python3', 'test/partner_sim.py', 'stop', $simdir) if defined $simdir; }
$ENV{PGHOST} = $node->host;
$ENV{PGPORT} = $node->port;
system('python3', 'test/partner_sim.py', 'start', $simdir, '--db', 'postgres') == 0
  or BAIL_OUT('the partner simulator did not start');
my $port = PostgreSQL::Test::Utils::slurp_file("$simdir/port");
chomp $port;
$node->safe_psql('postgres', qq{
	SELECT pg_wallet.create_partner('Idle partner', 'KE', 'idle', 'generic_json',
		'http://127.0.0.1:$port/p/PTN-IDLE', ARRAY['KES'], NULL,
		'whsec_cGdfd2FsbGV0IHBhcnRuZXIgc2ltdWxhdG9yIDMyYiE=', partner_id => 'PTN-IDLE');
	SELECT pg_wallet.create_account(pg_wallet.create_owner('user', 'Idle'), 'KES', 'WALLET',
		'IDLE-KES');
});
my $outbox_loops =
  "SELECT loops FROM pg_wallet.worker_status() WHERE worker = 'pg_wallet outbox'";
my $loops_before = $node->safe_psql('postgres', $outbox_loops);
$node->safe_psql('postgres',
	"SELECT pg_wallet.deposit_request('IDLE-KES', 25, 'idle', phone => '0712345600')");
ok( $node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_wallet.outbox WHERE status = 'DELIVERED'"),
	'a committed outbox row wakes the sleeping worker and is delivered');
ok($node->safe_psql('postgres', $outbox_loops) > $loops_before,
	'the worker counted the turns that delivered it');
ok( $node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_wallet.deposits WHERE status <> 'completed'"),
	'the partner called back and the deposit completed');

# a due retry wakes the worker: HTTP 500 twice, then delivered at the third attempt
$node->safe_psql('postgres',
	"SELECT pg_wallet.deposit_request('IDLE-KES', 40, 'idle', phone => '0712345607')");
ok( $node->poll_query_until('postgres',
		"SELECT count(*) = 2 FROM pg_wallet.outbox WHERE status = 'DELIVERED'"),
	'a message answered with 500 is retried when due and delivered');
is( $node->safe_psql('postgres',
		"SELECT attempts, last_http_status FROM pg_wallet.outbox WHERE status = 'DELIVERED'"
		  . ' ORDER BY id DESC LIMIT 1'),
	'3|200', 'at its third attempt, after two timed retries');
ok( $node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_wallet.deposits WHERE status <> 'completed'"),
	'and its deposit completed');
is($node->safe_psql('postgres', "SELECT balance FROM pg_wallet.get_balance('IDLE-KES')"),
	'65.00', 'the wallet holds both deposits, each once');

# nothing is pending any more: the outbox worker sleeps again
is($node->safe_psql('postgres', 'SELECT pg_wallet._outbox_next_due_ms() IS NULL'),
	't', 'nothing due: _outbox_next_due_ms() is NULL, not 0');
idle_window('idle after deliveries', 5);

is( $node->safe_psql('postgres', q{
		SELECT count(*) FROM (
			SELECT a.currency
			FROM pg_wallet.entries e JOIN pg_wallet.accounts a ON a.id = e.account_id
			GROUP BY a.currency
			HAVING sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END) <> 0) x}),
	'0', 'every currency sums to zero');
is($node->safe_psql('postgres', 'SELECT count(*) FROM pg_wallet.verify_ledger()'),
	'0', 'verify_ledger finds nothing');

$node->stop;
done_testing();
