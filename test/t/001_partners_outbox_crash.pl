# Kill -9 during delivery loses nothing, and a delivery retried after an unknown outcome is
# harmless.
#
# A server preloaded with pg_wallet queues deposits whose partner (test/partner_sim.py)
# answers only after 2.5 s, so the outbox worker has them in flight (SENDING). Then:
#   1. the outbox worker is killed with SIGKILL (the postmaster restarts every process);
#   2. the postmaster itself is killed with SIGKILL and the server started again.
# Each time, the restarted worker sends the orphaned rows again under the same
# Idempotency-Key; the partner executes each request once and calls back once. In the end
# every deposit is completed and credited exactly once, every outbox row is DELIVERED, the
# partner saw repeats but executed each key once, and verify_ledger() finds nothing.
use strict;
use warnings;

use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $batch = 12;
my $node = PostgreSQL::Test::Cluster->new('outbox_crash');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_wallet'
pg_wallet.database = 'postgres'
pg_wallet.outbox_backoff_base_ms = 200
pg_wallet.outbox_backoff_max_ms = 1000
pg_wallet.outbox_timeout_ms = 10000
pg_wallet.outbox_max_attempts = 50
pg_wallet.expiry_interval_s = 0
restart_after_crash = on
log_min_messages = log
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_wallet');

# the simulator calls back through psql into this node
my $simdir = PostgreSQL::Test::Utils::tempdir();
# stop the simulator however the test ends (it also exits by itself after 15 idle minutes)
END { system('python3', 'test/partner_sim.py', 'stop', $simdir) if defined $simdir; }
$ENV{PGHOST} = $node->host;
$ENV{PGPORT} = $node->port;
system('python3', 'test/partner_sim.py', 'start', $simdir, '--db', 'postgres') == 0
  or BAIL_OUT('the partner simulator did not start');
my $port = PostgreSQL::Test::Utils::slurp_file("$simdir/port");
chomp $port;

my $secret = 'whsec_cGdfd2FsbGV0IHBhcnRuZXIgc2ltdWxhdG9yIDMyYiE=';
$node->safe_psql('postgres', qq{
	SELECT pg_wallet.create_partner('Slow partner', 'KE', 'slow', 'generic_json',
		'http://127.0.0.1:$port/p/PTN-CRASH', ARRAY['KES'], NULL, '$secret',
		partner_id => 'PTN-CRASH');
	SELECT pg_wallet.create_account(pg_wallet.create_owner('user', 'Crash'), 'KES', 'WALLET',
		'CRASH-KES');
});

# queue a batch of deposits (scenario 12: the partner answers after 2.5 s)
sub queue_batch
{
	my ($first) = @_;
	my $sql = '';
	for my $i ($first .. $first + $batch - 1)
	{
		my $phone = sprintf('0712%04d12', $i);
		$sql .= "SELECT pg_wallet.deposit_request('CRASH-KES', $i, 'slow', phone => '$phone');\n";
	}
	$node->safe_psql('postgres', $sql);
}

# wait until the worker has some of them in flight
sub wait_in_flight
{
	$node->poll_query_until('postgres',
		"SELECT count(*) >= 3 FROM pg_wallet.outbox WHERE status = 'SENDING'")
	  or die 'no delivery in flight';
}

sub worker_pid
{
	my $pid;
	$node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_wallet outbox'")
	  or die 'no outbox worker';
	return $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_wallet outbox'");
}

# 1. kill -9 of the outbox worker mid-delivery
queue_batch(1);
wait_in_flight();
my $pid = worker_pid();
ok(kill('KILL', $pid), 'outbox worker killed with SIGKILL while delivering');
$node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_wallet outbox'"
	  . " AND pid <> $pid")
  or die 'the outbox worker did not come back';
pass('the server restarted its processes and the outbox worker came back');

# 2. kill -9 of the whole server mid-delivery
queue_batch(101);
wait_in_flight();
my $pm_pid = PostgreSQL::Test::Utils::slurp_file($node->data_dir . '/postmaster.pid');
($pm_pid) = $pm_pid =~ /^(\d+)/;
$node->kill9;
# SIGKILL is not instant: wait until the postmaster is gone before starting again
for (my $i = 0; $i < 600 && kill(0, $pm_pid); $i++) { select(undef, undef, undef, 0.05); }
$node->start;
pass('server killed with SIGKILL while delivering, then started again');

# everything is delivered and completed, once
ok( $node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_wallet.deposits WHERE status <> 'completed'", 't'),
	'every deposit completed after the crashes');
# a deposit completes on the partner's callback, which may come before the worker has
# recorded the answer to its request: wait for the outbox too
ok( $node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_wallet.outbox WHERE status <> 'DELIVERED'", 't'),
	'every outbox row delivered');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_wallet.journals WHERE idempotency_key LIKE 'deposit:%'"),
	2 * $batch, 'one journal per deposit');
is($node->safe_psql('postgres', "SELECT balance FROM pg_wallet.get_balance('CRASH-KES')"),
	sprintf('%.2f', (1 + $batch) * $batch / 2 + (101 + 100 + $batch) * $batch / 2),
	'the wallet holds the sum of the deposits, each counted once');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_wallet.events WHERE event_type = 'deposit_completed'"),
	2 * $batch, 'one deposit_completed event per deposit');
is($node->safe_psql('postgres', 'SELECT count(*) FROM pg_wallet.verify_ledger()'),
	'0', 'verify_ledger finds nothing');

# what the partner saw: repeats after the crashes, each key executed once
my (%executed, $repeats);
open(my $fh, '<', "$simdir/requests.jsonl") or die "no request log: $!";
while (my $line = <$fh>)
{
	my $r = decode_json($line);
	if ($r->{repeat}) { $repeats++; }
	elsif ($r->{status} == 200) { $executed{ $r->{key} }++; }
	ok(0, 'unsigned request') unless $r->{sig_ok};
}
close $fh;
is(scalar(keys %executed), 2 * $batch, 'the partner executed every request');
is(scalar(grep { $_ != 1 } values %executed), 0, 'and none twice');
ok($repeats >= 2, 'requests in flight at the crashes were sent again with the same key');
like(PostgreSQL::Test::Utils::slurp_file($node->logfile),
	qr/left in flight by a previous worker will be sent again/,
	'the restarted worker put the orphaned rows back');

# events are announced at commit on pg_wallet_events (the bridge LISTENs)
my $heard = $node->safe_psql('postgres', q{
	LISTEN pg_wallet_events;
	SELECT pg_wallet.emit_event(owner_id, 'deposit_completed', '{"n": 1}') > 0
	FROM pg_wallet.accounts WHERE account_number = 'CRASH-KES';
});
my $announced = 'Asynchronous notification "pg_wallet_events" with payload '
  . '"{"event_id": \d+, "owner_id": \d+, "event_type": "deposit_completed", '
  . '"principal_id": null}"';
$announced =~ s/([{}])/\\$1/g;
like($heard, qr/$announced/,
	'an event is announced by NOTIFY with its id, owner and type (no principal known)');

# with one principal, the owner's events name it (the bridge still routes by owner_id)
$heard = $node->safe_psql('postgres', q{
	INSERT INTO pg_wallet.principals (role, owner_id)
	SELECT 'user', owner_id FROM pg_wallet.accounts WHERE account_number = 'CRASH-KES';
	LISTEN pg_wallet_events;
	SELECT pg_wallet.emit_event(owner_id, 'deposit_completed', '{"n": 2}') > 0
	FROM pg_wallet.accounts WHERE account_number = 'CRASH-KES';
});
$announced = 'Asynchronous notification "pg_wallet_events" with payload '
  . '"{"event_id": \d+, "owner_id": \d+, "event_type": "deposit_completed", '
  . '"principal_id": "[0-9a-f-]+"}"';
$announced =~ s/([{}])/\\$1/g;
like($heard, qr/$announced/, 'and its principal_id when the owner has exactly one principal');

$node->stop;
done_testing();
