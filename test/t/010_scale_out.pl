# Scale-out (issue 18, docs/scale-out.md): a router (pg_wallet_router: PL/Proxy and dblink)
# over three data nodes, each its own PostgreSQL cluster with pg_wallet.
#
# First the routing and the two-phase cross-node transfer, call by call: owners placed by
# hash with ids that name their node, the account directory, same-node and cross-node
# transfers, replays and conflicts under one key, a refusal on either side posting nothing,
# holds routed by id, recovery of prepared halves by the decision log (commit, presumed abort
# of old undecided halves, a late decision refused, a half of an aborted transfer). Then the bank: 4 clients move money between 18 accounts on the 3 nodes
# (mostly across nodes) through the router, each transfer under its own idempotency key,
# retried with the same key after any failure until it is answered; meanwhile every process
# of a random node, then of the router, then of another node is killed with SIGKILL, and the
# cluster started again. In the end: every answered key posted exactly once on the payer's
# node and exactly once on the payee's, nothing left prepared or undecided, each node's
# ledger balanced and verified, the clearing accounts of each pair of nodes netting to zero,
# and the total of the users' money unchanged.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use WalletTest qw(sums_by_currency kill_cluster scale_cluster);

my ($router, @nodes) = scale_cluster(3);

sub r { return $router->safe_psql('postgres', $_[0]); }

# the SQLSTATE of a statement on the router that must fail
sub r_fails
{
	my ($sql) = @_;
	my ($ret, $out, $err) = $router->psql('postgres', "\\set VERBOSITY verbose\n$sql");
	return $ret == 0 ? 'no error' : ($err =~ /ERROR:\s+([0-9A-Z]{5}):/ ? $1 : $err);
}

sub on { return $nodes[ $_[0] ]->safe_psql('postgres', $_[1]); }

sub prepared_total
{
	my $t = 0;
	$t += on($_, 'SELECT count(*) FROM pg_prepared_xacts') for 0 .. 2;
	return $t;
}

# --- routing ----------------------------------------------------------------------------------
my %owner;
for my $name (qw(alice bob carol dave erin frank))
{
	$owner{$name} = r("SELECT pg_wallet.create_owner('user', '$name', 'ref-$name')");
}
my %where = map { $_ => $owner{$_} % 64 } keys %owner;
ok((grep { $_ > 2 } values %where) == 0, 'every owner id names a node (id mod 64)');
is( join(',', map { on($where{$_}, "SELECT count(*) FROM pg_wallet.owners WHERE id = $owner{$_}") }
		  sort keys %owner),
	'1,1,1,1,1,1', 'each owner lives on the node its id names');
is(scalar(keys %{ { map { $_ => 1 } values %where } }) > 1, 1, 'owners spread over nodes');
like(r_fails(q{SELECT pg_wallet.create_owner('user', 'again', 'ref-alice')}), qr/^23505$/,
	'the same external_ref lands on the same node, which refuses it (23505)');

for my $name (sort keys %owner)
{
	r("SELECT pg_wallet.create_account($owner{$name}, 'KES', account_number => '\U$name\E')");
	r("SELECT pg_wallet.credit('\U$name\E', 1000, 'SYS-SUSPENSE-KES')");
}
is(r('SELECT count(*) FROM pg_wallet_router.accounts'), '6', 'the directory has the 6 accounts');
is( r(q{SELECT string_agg(a.account_number, ',' ORDER BY a.account_number)
        FROM pg_wallet_router.accounts a WHERE a.node <> a.owner_id % 64}),
	'', "each account is on its owner's node");
is(r_fails(q{SELECT pg_wallet.create_account(} . $owner{bob} . q{, 'KES', account_number => 'ALICE')}),
	'23505', 'an account number is unique across nodes (23505)');
is(r_fails(q{SELECT pg_wallet.get_balance('NOBODY')}), 'WL005', 'an unknown account: WL005');
is(r(q{SELECT balance FROM pg_wallet.get_balance('ALICE')}), '1000.00', 'balance read routed');

# an account the router did not create (the bridge's API opens wallets on a node): found on
# the nodes at its first use, then kept in the directory
my $direct_owner = on(1, q{SELECT pg_wallet.create_owner('user', 'direct')});
on(1, "SELECT pg_wallet.create_account($direct_owner, 'KES', account_number => 'DIRECT-1')");
on(1, "SELECT pg_wallet.credit('DIRECT-1', 5, 'SYS-SUSPENSE-KES')");
is(r(q{SELECT balance FROM pg_wallet.get_balance('DIRECT-1')}), '5.00',
	'an account made on a node is found through the router');
is(r(q{SELECT node FROM pg_wallet_router.accounts WHERE account_number = 'DIRECT-1'}), '1',
	'... and kept in the directory');
is(r(q{SELECT count(*) FROM pg_wallet_router.accounts WHERE account_number ~ '^SYS-'}), '0',
	'a per-node account (SYS-...) never enters the directory');

# two accounts on one node, two on different nodes
my ($same_a, $same_b, $x_a, $x_b);
for my $p (sort keys %owner)
{
	for my $q (sort keys %owner)
	{
		next if $p eq $q;
		($same_a, $same_b) = ("\U$p", "\U$q") if !$same_a && $where{$p} == $where{$q};
		($x_a, $x_b) = ("\U$p", "\U$q") if !$x_a && $where{$p} != $where{$q};
	}
}
my ($na, $nb) = map { r("SELECT node FROM pg_wallet_router.accounts WHERE account_number = '$_'") }
  ($x_a, $x_b);

SKIP:
{
	skip 'no two owners on one node', 1 unless $same_a;
	r("SELECT pg_wallet.transfer('$same_a', '$same_b', 10, 'same-1')");
	is(r("SELECT balance FROM pg_wallet.get_balance('$same_b')"), '1010.00',
		'a transfer on one node posts there');
}

# --- cross-node transfers ---------------------------------------------------------------------
my $res = r("SELECT status || ' ' || replayed FROM pg_wallet.transfer('$x_a', '$x_b', 25.50, 'x-1')");
is($res, 'POSTED false', 'a cross-node transfer posts');
is( r("SELECT (SELECT balance FROM pg_wallet.get_balance('$x_a')) || ' '
          || (SELECT balance FROM pg_wallet.get_balance('$x_b'))"),
	join(' ', map { sprintf('%.2f', $_) }
		(r("SELECT 1000 - 25.50 - coalesce((SELECT 10 WHERE '$x_a' = '$same_a'), 0)
		         + coalesce((SELECT 10 WHERE '$x_a' = '$same_b'), 0)"),
		 r("SELECT 1000 + 25.50 - coalesce((SELECT 10 WHERE '$x_b' = '$same_a'), 0)
		         + coalesce((SELECT 10 WHERE '$x_b' = '$same_b'), 0)"))),
	'both sides moved');
is(on($na, q{SELECT count(*) FROM pg_wallet.journals WHERE idempotency_key = 'x-1'}), '1',
	"the payer's journal is on the payer's node, under the caller's key");
is(on($nb, q{SELECT count(*) FROM pg_wallet.journals WHERE idempotency_key ~ '^x:pgw_x_'}), '1',
	"the payee's journal is on the payee's node");
is(r("SELECT status || ' ' || replayed FROM pg_wallet.transfer('$x_a', '$x_b', 25.50, 'x-1')"),
	'POSTED true', 'the same key again: replayed');
is(on($na, q{SELECT count(*) FROM pg_wallet.journals WHERE idempotency_key = 'x-1'}), '1',
	'a replay posts nothing');
is(r_fails("SELECT pg_wallet.transfer('$x_a', '$x_b', 26, 'x-1')"), 'WL003',
	'the same key for another request: WL003');
is(r_fails("SELECT pg_wallet.transfer('$x_a', '$x_b', 1000000, 'x-2')"), 'WL001',
	"the payer's node refuses (insufficient funds): its WL001");
is(r_fails("SELECT pg_wallet.transfer('$x_a', '$x_b', 1.005, 'x-3')"), 'WL010',
	"the payer's node refuses an amount: its WL010");
on($nb, "SELECT pg_wallet.set_account_status('$x_b', 'LOCKED', 'test')");
is(r_fails("SELECT pg_wallet.transfer('$x_a', '$x_b', 5, 'x-4')"), 'WL002',
	"the payee's node refuses (account locked): its WL002");
is(on($na, q{SELECT count(*) FROM pg_wallet.journals WHERE idempotency_key = 'x-4'}), '0',
	"... and the payer's half, prepared, was rolled back");
on($nb, "SELECT pg_wallet.set_account_status('$x_b', 'ACTIVE', 'test')");
is(r("SELECT status FROM pg_wallet.transfer('$x_a', '$x_b', 5, 'x-4')"), 'POSTED',
	'the same key after the refusal: a new attempt posts');
is(r(q{SELECT string_agg(state, ',') FROM pg_wallet_router.transfers WHERE idempotency_key = 'x-4'}),
	'COMMITTED', '... the one decision logged (a refused attempt leaves no row)');
is(r_fails(q{SELECT pg_wallet.transfer('} . $x_a . q{', '} . $x_b
		  . q{', 5, 'x-5', client_service_code => 'P2P')}),
	'0A000', 'a cross-node transfer with a client service: refused (0A000), not half done');
is(r_fails("SELECT pg_wallet.place_hold('$x_a', 5, '$x_b')"), '0A000',
	'a hold whose counterpart is on another node: refused');
my $hold = r("SELECT hold_id FROM pg_wallet.place_hold('$x_a', 5, 'SYS-SUSPENSE-KES')");
is($hold % 64, $na, "a hold id names the account's node");
is(r("SELECT status FROM pg_wallet.void_hold($hold)"), 'VOIDED', 'void_hold routed by the id');
is(prepared_total(), '0', 'nothing left prepared');
is(r('SELECT count(*) FROM pg_wallet.verify_ledger()'), '0',
	"verify_ledger() on the router: every node's, and the clearing accounts net to zero");

# --- the bridge's API, routed by its token -------------------------------------------------------
ok(r(q{SELECT count(*) FROM pg_proc WHERE pronamespace = 'pg_wallet'::regnamespace
       AND proname ~ '^api_'}) > 50, 'add_node(0) gave the router the API functions of node 0');
my %user_node;
for my $i (1 .. 6)
{
	my $email = "user$i\@example.com";
	my $body = qq{{"body": {"email": "$email", "password": "SecurePassword123!", "firstName": "U",
		"lastName": "N", "phoneNumber": "+2547000003$i$i"}}};
	my $id = r(qq{SELECT pg_wallet.api_tribble_register(NULL, '$body') ->> 'userId'});
	my $token = r(qq{SELECT pg_wallet.api_tribble_login(NULL,
		'{"body": {"email": "$email", "password": "SecurePassword123!"}}') ->> 'accessToken'});
	is(r(qq{SELECT pg_wallet.api_tribble_me('$token', '{}') ->> 'email'}), $email,
		"user $i: registered, signed in and answered through the router");
	$user_node{$i} = r("SELECT node FROM pg_wallet_router.principals WHERE id = '$id'");
	is(on($user_node{$i}, "SELECT count(*) FROM pg_wallet.principals WHERE id = '$id'"), '1',
		"user $i: the principal is on the node the router learnt ($user_node{$i})");
}
ok(scalar(keys %{ { map { $_ => 1 } values %user_node } }) > 1, 'users spread over nodes');
my $other = r(q{SELECT pg_wallet.api_tribble_login(NULL,
	'{"body": {"email": "user1@example.com", "password": "wrong"}}')::text});
like($other, qr/INVALID_CREDENTIALS|WL020/, 'a wrong password is refused by the node');
my ($ret, $out, $err) = $router->psql('postgres', q{\set VERBOSITY verbose
	SELECT pg_wallet.api_tribble_me('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIwMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDAifQ.c2ln', '{}')});
like($err, qr/ERROR:\s+WL02\d: /, "a token of no node's principal: the node's WL02x");
unlike($err, qr/REMOTE ERROR/, "... raised as the node raised it (no PL/Proxy prefix)");

# --- batches, the platform's accounts --------------------------------------------------------
SKIP:
{
	skip 'no two owners on one node', 1 unless $same_a;
	is( r(qq{SELECT string_agg(status, ',') FROM pg_wallet.post_transfers(
			'[{"from": "$same_a", "to": "$same_b", "amount": "1.00"},
			  {"from": "$same_b", "to": "$same_a", "amount": "2.00"}]')}),
		'POSTED,POSTED', 'a batch on one node is posted there');
}
is(r_fails(qq{SELECT pg_wallet.post_transfers('[{"from": "$x_a", "to": "$x_b", "amount": "1.00"}]')}),
	'0A000', 'a batch across nodes: refused (0A000), nothing posted');
is(r(q{SELECT total FROM pg_wallet_router.platform_report() WHERE account = 'CLR-*-KES'}), '0.00',
	'platform_report: the clearing accounts of all nodes net to zero');
is(r(q{SELECT total FROM pg_wallet_router.platform_report() WHERE account = 'SYS-SUSPENSE-KES'}),
	'-6005.00', "platform_report: the nodes' suspense accounts gave what was credited (6 x 1,000 + 5 KES)");
is(r(q{SELECT count(*) FROM jsonb_object_keys((SELECT by_node FROM pg_wallet_router.platform_report()
       WHERE account = 'SYS-SUSPENSE-KES'))}), '3', '... one balance per node');

# --- recovery by the decision log ---------------------------------------------------------------
# halves left prepared as a coordinator that died at each step leaves them (a transfer's id
# is drawn from the log's sequence; nothing is written to the log before the decision; each
# half's gid carries its node's number)
r('ALTER SYSTEM SET pg_wallet.router_recovery_interval_s = 0');
r('SELECT pg_reload_conf()');
sleep 1;
sub half
{
	my ($k, $gid, $from, $to, $amount, $key) = @_;
	on($k, "BEGIN; SELECT pg_wallet.transfer('$from', '$to', $amount, '$key');
	        PREPARE TRANSACTION '$gid'");
}
sub new_id { return r(q{SELECT nextval(pg_get_serial_sequence('pg_wallet_router.transfers', 'id'))}); }
my $oa = $owner{ lc $x_a };
sub request
{
	my ($key, $amount) = @_;
	return qq{jsonb_build_object('owner_id', $oa, 'key', '$key', 'from', '$x_a', 'to', '$x_b',
		'amount', $amount, 'from_node', $na, 'to_node', $nb)};
}
# died after preparing both halves, before deciding: presumed abort once they are old
my $id = new_id();
half($na, "pgw_x_${id}_$na", $x_a, "CLR-N$nb-KES", 7, 'rec-1');
half($nb, "pgw_x_${id}_$nb", "CLR-N$na-KES", $x_b, 7, "x:pgw_x_${id}_$nb");
is(r('SELECT count(*) FROM pg_wallet_router.recover()'), '0',
	'recovery leaves young undecided halves alone (their coordinator may be at work)');
sleep 4;	# in_doubt_after is 3 s
is(r(q{SELECT string_agg(action, ',' ORDER BY node) FROM pg_wallet_router.recover()}),
	'ROLLBACK PREPARED,ROLLBACK PREPARED', 'old undecided halves: both rolled back');
is(r("SELECT state FROM pg_wallet_router.transfers WHERE id = $id"), 'ABORTED',
	'... after the decision ABORTED was logged');
is(on($na, q{SELECT count(*) FROM pg_wallet.journals WHERE idempotency_key = 'rec-1'}), '0',
	'... and nothing posted');
is(r("SELECT pg_wallet_router._decide($id, 'COMMITTED', " . request('rec-1', 7)
	  . ", ROW(1, 'r', 'POSTED', false, NULL, NULL, now(), 0, 0, NULL)::pg_wallet.journal_result::text)"),
	'ABORTED', 'a coordinator deciding after recovery presumed abort: its decision is refused');

# died after its decision, before COMMIT PREPARED: recovery commits both
$id = new_id();
half($na, "pgw_x_${id}_$na", $x_a, "CLR-N$nb-KES", 8, 'rec-2');
half($nb, "pgw_x_${id}_$nb", "CLR-N$na-KES", $x_b, 8, "x:pgw_x_${id}_$nb");
r("SELECT pg_wallet_router._decide($id, 'COMMITTED', " . request('rec-2', 8)
	  . ", ROW(1, 'r', 'POSTED', false, NULL, NULL, now(), 0, 0, NULL)::pg_wallet.journal_result::text)");
is(r(q{SELECT string_agg(node || ' ' || action, ',' ORDER BY action, node) FROM pg_wallet_router.recover()}),
	(join ',', sort("$na COMMIT PREPARED", "$nb COMMIT PREPARED")),
	'a committed decision: recovery commits both halves, young as they are');
is(on($nb, qq{SELECT count(*) FROM pg_wallet.journals WHERE idempotency_key = 'x:pgw_x_${id}_$nb'}),
	'1', "... the payee's half posted");

# a half whose transfer was decided ABORTED (its other half already rolled back): rolled back
$id = new_id();
r("SELECT pg_wallet_router._decide($id, 'ABORTED', NULL, NULL)");
half($na, "pgw_x_${id}_$na", $x_a, "CLR-N$nb-KES", 9, 'rec-3');
is(r('SELECT action FROM pg_wallet_router.recover()'), 'ROLLBACK PREPARED',
	'a half of a transfer decided ABORTED: rolled back at once');
is(prepared_total(), '0', 'nothing left prepared');
is(r('SELECT count(*) FROM pg_wallet.verify_ledger()'), '0', 'the cluster verifies');
r('ALTER SYSTEM RESET pg_wallet.router_recovery_interval_s');
r('SELECT pg_reload_conf()');

# --- the bank under SIGKILL ---------------------------------------------------------------------
my @accts;
for my $k (0 .. 17)
{
	my $o = r("SELECT pg_wallet.create_owner('user', 'bank $k', 'bank-$k')");
	r("SELECT pg_wallet.create_account($o, 'KES', account_number => 'BANK$k')");
	r("SELECT pg_wallet.credit('BANK$k', 500, 'SYS-SUSPENSE-KES')");
	push @accts, "BANK$k";
}
my $users_sql = q{SELECT sum(b.balance) FROM pg_wallet_router.accounts a
	CROSS JOIN LATERAL pg_wallet.get_balance(a.account_number) b};
my $total_before = r($users_sql);
is( r(q{SELECT count(DISTINCT node) FROM pg_wallet_router.accounts WHERE account_number ~ '^BANK'}),
	'3', 'the bank spreads over the 3 nodes');

my $dir = PostgreSQL::Test::Utils::tempdir();
my $client = "$dir/client.sh";
open my $fh, '>', $client or die;
print $fh <<'SH';
#!/bin/bash
# client.sh ID N HOST PORT ACCOUNT...: N transfers, each retried under its key until answered
id=$1 n=$2 host=$3 port=$4 errf=$(mktemp)
shift 4
accts=("$@")
RANDOM=$id
for ((j = 1; j <= n; j++)); do
	a=${accts[RANDOM % ${#accts[@]}]}
	b=${accts[RANDOM % ${#accts[@]}]}
	[ "$a" = "$b" ] && b=${accts[(RANDOM + 1) % ${#accts[@]}]}
	[ "$a" = "$b" ] && continue
	amount=$((RANDOM % 50 + 1)).$((RANDOM % 90 + 10))
	key=c$id-$j
	for ((try = 1; try <= 600; try++)); do
		out=$(psql -X -q -A -t -v VERBOSITY=verbose -h "$host" -p "$port" -d postgres \
			-c "SELECT status FROM pg_wallet.transfer('$a', '$b', $amount, '$key')" 2>"$errf")
		rc=$?
		err=$(cat "$errf")
		if [ $rc -eq 0 ]; then
			echo "$key $out $a $b $amount $try"
			[ -n "$err" ] && echo "$key (answered with) ${err//$'\n'/ }" >&2
			break
		fi
		case $err in
		*WL001:*) echo "$key REFUSED $a $b $amount $try"; break ;;
		esac
		sleep 0.2
	done
done
SH
close $fh;
chmod 0755, $client;

my @clients;
for my $c (1 .. 4)
{
	my $h = IPC::Run::start([ $client, $c, 40, $router->host, $router->port, @accts ],
		'>', "$dir/out$c", '2>', "$dir/err$c");
	push @clients, $h;
}
my @killed;
my ($v1, $v2) = (int(rand(3)), undef);
$v2 = ($v1 + 1 + int(rand(2))) % 3;
sleep 2;
push @killed, kill_cluster($nodes[$v1]);
sleep 1;
$nodes[$v1]->start;
sleep 2;
push @killed, kill_cluster($router);
sleep 1;
$router->start;
sleep 2;
push @killed, kill_cluster($nodes[$v2]);
sleep 1;
$nodes[$v2]->start;
$_->finish for @clients;
note "killed: node$v1 ($killed[0] processes), router ($killed[1]), node$v2 ($killed[2])";
ok((grep { $_ >= 3 } @killed) == 3, 'every kill took a postmaster and its children');

my @answers;
for my $c (1 .. 4)
{
	open my $in, '<', "$dir/out$c" or die;
	push @answers, map { [ split / / ] } grep { /\S/ } <$in>;
}
is(join(' | ', map { join(' ', @$_) } grep { $_->[1] !~ /^(POSTED|REFUSED)$/ } @answers), '',
	'every answer is POSTED or REFUSED');
for my $c (1 .. 4)
{
	my $said = PostgreSQL::Test::Utils::slurp_file("$dir/err$c");
	note "client $c also said: $said" if $said =~ /\S/;
}
my @posted = grep { $_->[1] eq 'POSTED' } @answers;
my @refused = grep { $_->[1] eq 'REFUSED' } @answers;
my $retried = grep { $_->[5] > 1 } @answers;
note scalar(@answers) . ' answers: ' . scalar(@posted) . ' posted, ' . scalar(@refused)
  . " refused, $retried after a retry";
ok(@answers >= 140, 'the clients got their answers (' . scalar(@answers) . ')');
ok(@posted >= 100, 'most transfers posted (' . scalar(@posted) . ')');
ok($retried > 0, "some answers came only after a retry ($retried)");

# recovery finishes what the kills left (the worker runs every second; in_doubt_after 3 s)
$router->poll_query_until('postgres', q{
	SELECT NOT EXISTS (SELECT 1 FROM pg_wallet_router.verify_clearing()
	                   WHERE check_name = 'router_prepared')})
  or diag 'recovery did not finish: ' . r('SELECT * FROM pg_wallet.verify_ledger()');
my $recovered = () = PostgreSQL::Test::Utils::slurp_file($router->logfile)
  =~ /router recovery: (?:COMMIT|ROLLBACK) PREPARED/g;
note "the recovery worker resolved $recovered prepared halves";
is(prepared_total(), '0', 'nothing left prepared on any node, so no transfer left undecided');

my %payer_node = map { $_ => r("SELECT node FROM pg_wallet_router.accounts WHERE account_number = '$_'") }
  @accts;
my $once = 0;
my @bad;
for my $a (@posted)
{
	my ($key, undef, $from) = @$a;
	my $n = on($payer_node{$from},
		"SELECT count(*) FROM pg_wallet.journals WHERE idempotency_key = '$key' AND status = 'POSTED'");
	if ($n == 1) { $once++ } else { push @bad, "$key: $n" }
}
is($once, scalar(@posted), 'every posted key posted exactly once on its payer\'s node')
  or diag join ', ', @bad[ 0 .. ($#bad < 9 ? $#bad : 9) ];
my $payee_halves = 0;
$payee_halves += on($_, q{SELECT count(*) FROM pg_wallet.journals
                          WHERE idempotency_key ~ '^x:pgw_x_' AND status = 'POSTED'}) for 0 .. 2;
is( $payee_halves,
	r(q{SELECT count(*) FROM pg_wallet_router.transfers WHERE state = 'COMMITTED'}),
	"one payee half posted per committed cross-node transfer, no more");
is(r(q{SELECT count(*) FROM pg_wallet_router.transfers t
       WHERE t.state = 'COMMITTED' AND t.idempotency_key ~ '^c'}),
	scalar(grep { $payer_node{ $_->[2] } != $payer_node{ $_->[3] } } @posted),
	'the log has a COMMITTED row for each posted cross-node key, and no other');
for my $k (0 .. 2)
{
	is(sums_by_currency($nodes[$k], 'postgres'), '', "node $k: every currency sums to zero");
	is(on($k, 'SELECT count(*) FROM pg_wallet.verify_ledger()'), '0', "node $k: the ledger verifies");
}
is(r('SELECT count(*) FROM pg_wallet.verify_ledger()'), '0',
	'the router: clearing accounts net to zero, nothing prepared or undecided');
is(r($users_sql), $total_before, "the users' money is all there (" . $total_before . ' KES)');

$router->stop;
$_->stop for @nodes;
done_testing();
