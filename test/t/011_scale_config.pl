# Configuration on every node through the router (issue 18; docs/scale-out.md,
# "Configuration"): a router over three data nodes. Each administration call made on the
# router — set_fx_rate, create_fee_schedule and set_fee_schedule_active, create_partner,
# add_partner_currency, set_partner_status, set_partner_secrets and rotate_partner_secret,
# fraud_add_rule and fraud_disable_rule, set_kyc_tier_limits, set_fraud_settings — is found
# on every node afterwards, with one partner
# id and one webhook secret everywhere, and acts on postings on every node (a fee charged, a
# rule blocking). A call that one node refuses changes no node and raises that node's error.
# A change whose parts were prepared when its router died is settled by recovery from the
# router's log: committed on every node when it was decided COMMITTED, rolled back when it
# was left undecided. Nothing stays prepared; every node's ledger verifies.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use WalletTest qw(scale_cluster);

my ($router, @nodes) = scale_cluster(3);

sub r { return $router->safe_psql('postgres', $_[0]); }
sub on { return $nodes[ $_[0] ]->safe_psql('postgres', $_[1]); }

# the same query on every node, its answers joined by '|'
sub each_node { my ($sql) = @_; return join('|', map { on($_, $sql) } 0 .. 2); }

# the SQLSTATE of a statement on the router that must fail
sub r_fails
{
	my ($sql) = @_;
	my ($ret, $out, $err) = $router->psql('postgres', "\\set VERBOSITY verbose\n$sql");
	return $ret == 0 ? 'no error' : ($err =~ /ERROR:\s+([0-9A-Z]{5}):/ ? $1 : $err);
}

# wait (up to 30 s) until a condition holds
sub wait_until
{
	my ($cond) = @_;
	for (my $i = 0; $i < 300 && !$cond->(); $i++)
	{
		select(undef, undef, undef, 0.1);
	}
}

sub prepared_total
{
	my $t = 0;
	$t += on($_, 'SELECT count(*) FROM pg_prepared_xacts') for 0 .. 2;
	return $t;
}

# --- FX rates ---------------------------------------------------------------------------------
my $rate_id = r(q{SELECT pg_wallet.set_fx_rate('USD', 'KES', 129.5, 0.01, source => 'router')});
is($rate_id % 64, 0, "set_fx_rate answers node 0's rate id");
is(each_node(q{SELECT fx_rate || ' ' || mid_rate FROM pg_wallet.get_fx_rate('USD', 'KES')}),
	join('|', ('128.205 129.5') x 3), 'the rate is on every node');
is(each_node(q{SELECT count(DISTINCT valid_from) FROM pg_wallet.fx_rates WHERE source = 'router'}),
	'1|1|1', '... one row on each node');
is(scalar(keys %{ { map { $_ => 1 } split /\|/,
	each_node(q{SELECT valid_from FROM pg_wallet.fx_rates WHERE source = 'router'}) } }), 1,
	'... valid from the same instant everywhere (the router\'s now())');
is(r(q{SELECT mid_rate FROM pg_wallet.get_fx_rate('USD', 'KES')}), '129.5',
	'get_fx_rate through the router');

# a call one node refuses changes nothing anywhere
on(2, q{UPDATE pg_wallet.currencies SET is_active = false WHERE code = 'EUR'});
is(r_fails(q{SELECT pg_wallet.set_fx_rate('EUR', 'KES', 140)}), 'WL015',
	"a rate node 2 refuses (EUR inactive there): node 2's error");
is(each_node(q{SELECT count(*) FROM pg_wallet.fx_rates WHERE base_currency = 'EUR'}), '0|0|0',
	'... and no node has the rate');
is(r(q{SELECT string_agg(call || ' ' || state, ',' ORDER BY id) FROM pg_wallet_router.config_changes}),
	'set_fx_rate COMMITTED', 'the router logged the change it decided (a refused one: nothing)');
is(prepared_total(), 0, 'nothing left prepared');
on(2, q{UPDATE pg_wallet.currencies SET is_active = true WHERE code = 'EUR'});

# --- fee schedules ----------------------------------------------------------------------------
# a user with two wallets on each node, funded there
for my $k (0 .. 2)
{
	my $o = on($k, "SELECT pg_wallet.create_owner('user', 'user$k')");
	on($k, "SELECT pg_wallet.create_account($o, 'KES', account_number => 'U$k-A')");
	on($k, "SELECT pg_wallet.create_account($o, 'KES', account_number => 'U$k-B')");
	on($k, "SELECT pg_wallet.credit('U$k-A', 1000, 'SYS-SUSPENSE-KES')");
}
sub fees_of_transfers
{
	return join('|', map { r("SELECT fee FROM pg_wallet.transfer('U$_-A', 'U$_-B', 10)") } 0 .. 2);
}
is(fees_of_transfers(), '0.00|0.00|0.00', 'no fee on any node before the schedule');
my $fee_id = r(q{SELECT pg_wallet.create_fee_schedule('TRANSFER', 'FIXED', fixed_fee => 2,
	currency => 'KES', description => 'cluster-wide')});
is($fee_id % 64, 0, "create_fee_schedule answers node 0's schedule id");
is(r(qq{SELECT array_to_string(ARRAY(SELECT i % 64 FROM unnest(node_ids) i), ',')
        FROM pg_wallet_router.config_changes WHERE kind = 'fee_schedule'}), '0,1,2',
	"the router keeps each node's own id of the schedule");
is(each_node(q{SELECT count(*) FROM pg_wallet.fee_schedules WHERE description = 'cluster-wide'
               AND is_active AND valid_from = '-infinity'}), '1|1|1',
	'the schedule is on every node, valid since always as on one node');
is(fees_of_transfers(), '2.00|2.00|2.00', 'a transfer on each node pays the fee');
is(r("SELECT pg_wallet.set_fee_schedule_active($fee_id, false)"), 'f',
	'set_fee_schedule_active through the router');
is(each_node(q{SELECT count(*) FROM pg_wallet.fee_schedules WHERE description = 'cluster-wide'
               AND NOT is_active}), '1|1|1', '... switches it off on every node, by its id there');
is(fees_of_transfers(), '0.00|0.00|0.00', '... and no node charges it any more');
is(r_fails(q{SELECT pg_wallet.set_fee_schedule_active(999999, true)}), '22023',
	'an unknown schedule: the node\'s error (22023)');

# --- partners ---------------------------------------------------------------------------------
my $ptn = r(q{SELECT (pg_wallet.create_partner('Cluster Bank', 'KE', 'bank_transfer', 'generic_json',
	'http://127.0.0.1:9/bank', ARRAY['KES'])).id});
like($ptn, qr/^PTN-\d+$/, "create_partner through the router: node 0's id ($ptn)");
is(($ptn =~ /(\d+)/)[0] % 64, 0, '... drawn on node 0');
is(each_node("SELECT count(*) FROM pg_wallet.list_partners() WHERE id = '$ptn'"), '1|1|1',
	'the partner is on every node under one id');
is(each_node("SELECT count(*) FROM pg_wallet.accounts a JOIN pg_wallet.owners o ON o.id = a.owner_id
              WHERE o.external_ref = 'partner:$ptn' AND a.currency = 'KES'"), '1|1|1',
	'... with its ledger owner and KES account on each');
my $sig_sql = "SELECT pg_wallet.webhook_signature(s.webhook_secret, 'msg_1', 1700000000, '{}')
               FROM pg_wallet.partner_secrets s WHERE s.partner_id = '$ptn'";
my @sigs = split /\|/, each_node($sig_sql);
is(scalar(keys %{ { map { $_ => 1 } @sigs } }), 1,
	'one webhook secret on every node (drawn once, on the router)');

my $secret = r("SELECT pg_wallet.rotate_partner_secret('$ptn')");
like($secret, qr/^whsec_[A-Za-z0-9+\/]{43}=$/, 'rotate_partner_secret answers a new whsec_ secret');
my $expected = on(0, "SELECT pg_wallet.webhook_signature(decode(substr('$secret', 7), 'base64'),
                                                         'msg_1', 1700000000, '{}')");
is(each_node($sig_sql), join('|', ($expected) x 3), '... which every node now holds');
isnt($expected, $sigs[0], '... instead of the old one');

r("SELECT pg_wallet.set_partner_secrets('$ptn', 'whsec_' || encode('0123456789abcdef0123456789abcdef', 'base64'))");
$expected = on(0, "SELECT pg_wallet.webhook_signature('0123456789abcdef0123456789abcdef',
                                                      'msg_1', 1700000000, '{}')");
is(each_node($sig_sql), join('|', ($expected) x 3), 'set_partner_secrets sets it on every node');

is(r("SELECT pg_wallet.add_partner_currency('$ptn', 'USD') IS NOT NULL"), 't',
	'add_partner_currency through the router');
is(each_node("SELECT array_to_string(currencies, ',') FROM pg_wallet.list_partners() WHERE id = '$ptn'"),
	'KES,USD|KES,USD|KES,USD', '... on every node');
is(r("SELECT (pg_wallet.set_partner_status('$ptn', 'suspended')).status"), 'suspended',
	'set_partner_status through the router');
is(each_node("SELECT status FROM pg_wallet.list_partners() WHERE id = '$ptn'"),
	'suspended|suspended|suspended', '... on every node');
is(r("SELECT count(*) FROM pg_wallet.list_partners() WHERE id = '$ptn'"), '1',
	'list_partners through the router');

# an id taken on one node only: that node refuses, no other node gets the partner
on(2, q{SELECT pg_wallet.create_partner('Only Two', 'KE', 'bank_transfer', 'generic_json',
	'http://127.0.0.1:9/two', ARRAY['KES'], partner_id => 'PTN-TWO')});
is(r_fails(q{SELECT pg_wallet.create_partner('Everywhere', 'KE', 'bank_transfer', 'generic_json',
	'http://127.0.0.1:9/x', ARRAY['KES'], partner_id => 'PTN-TWO')}), '23505',
	"a partner id taken on node 2: node 2's error (23505)");
is(each_node(q{SELECT count(*) FROM pg_wallet.partners WHERE id = 'PTN-TWO'}), '0|0|1',
	'... and nodes 0 and 1 did not create it');
is(each_node(q{SELECT count(*) FROM pg_wallet.owners WHERE name = 'Everywhere'}), '0|0|0',
	'... nor its ledger owner');
is(r_fails(q{SELECT pg_wallet.create_partner('Bad', 'Kenya', 'bank_transfer', 'generic_json',
	'http://127.0.0.1:9/x', ARRAY['KES'])}), '22023', 'a bad argument: the node\'s error (22023)');

# --- fraud rules ------------------------------------------------------------------------------
for my $k (0 .. 2)
{
	my $o = on($k, "SELECT pg_wallet.create_owner('merchant', 'shop$k')");
	on($k, "SELECT pg_wallet.create_account($o, 'KES', account_number => 'SHOP-$k')");
}
my $rule = r(q{SELECT pg_wallet.fraud_add_rule('DENY', 'MERCHANT', 'SHOP-1', 'under investigation')});
is($rule % 64, 0, "fraud_add_rule answers node 0's rule id");
is(each_node(q{SELECT count(*) FROM pg_wallet.fraud_rules WHERE account_number = 'SHOP-1' AND is_active}),
	'1|1|1', 'the rule is on every node');
my $before = on(1, q{SELECT balance FROM pg_wallet.get_balance('U1-A')});
is(r_fails(q{SELECT pg_wallet.transfer('U1-A', 'SHOP-1', 5)}), 'WL047',
	'a payment to the denied merchant on node 1 is blocked (WL047)');
is(on(1, q{SELECT balance FROM pg_wallet.get_balance('U1-A')}), $before, '... and moves nothing');
is(r("SELECT pg_wallet.fraud_disable_rule($rule)"), 't', 'fraud_disable_rule through the router');
is(each_node(q{SELECT count(*) FROM pg_wallet.fraud_rules WHERE account_number = 'SHOP-1' AND is_active}),
	'0|0|0', '... disables it on every node, by its id there');
is(r(q{SELECT status FROM pg_wallet.transfer('U1-A', 'SHOP-1', 5)}), 'POSTED',
	'... and the payment posts');

# a USER rule names an owner: made on that owner's node only
my $u2 = on(2, q{SELECT owner_id FROM pg_wallet.get_account('U2-A')});
my $user_rule = r("SELECT pg_wallet.fraud_add_rule('DENY', 'USER', '$u2', 'account takeover')");
is($user_rule % 64, 2, "a USER rule is made on its owner's node (node 2's id)");
is(each_node("SELECT count(*) FROM pg_wallet.fraud_rules WHERE owner_id = $u2 AND is_active"),
	'0|0|1', '... and only there');
is(r_fails(q{SELECT pg_wallet.transfer('U2-A', 'U2-B', 1)}), 'WL047', '... where it blocks the user');
is(r("SELECT pg_wallet.fraud_disable_rule($user_rule)"), 't', '... until disabled through the router');
is(r(q{SELECT status FROM pg_wallet.transfer('U2-A', 'U2-B', 1)}), 'POSTED', '... then the user pays');

# --- KYC tier limits and fraud settings ------------------------------------------------------
r(q{SELECT pg_wallet.set_kyc_tier_limits(2, 'USD', 100, 400, 4000, 7)});
is(each_node(q{SELECT per_transaction_max_minor || ' ' || daily_max_minor || ' ' || monthly_max_minor
               || ' ' || transactions_per_day FROM pg_wallet.kyc_tier_limits
               WHERE tier = 2 AND currency = 'USD'}),
	join('|', ('10000 40000 400000 7') x 3), 'set_kyc_tier_limits: the limits on every node');
is(r_fails(q{SELECT pg_wallet.set_kyc_tier_limits(2, 'USD', 500, 400, 4000, 7)}), '22023',
	'limits that do not grow: refused (22023)');
is(each_node(q{SELECT daily_max_minor FROM pg_wallet.kyc_tier_limits WHERE tier = 2 AND currency = 'USD'}),
	'40000|40000|40000', '... and no node changed');
is(r(q{SELECT pg_wallet.set_fraud_settings('{"max_per_hour": 44, "model_version": "2.1.0"}')
       ->> 'model_version'}), '2.1.0', 'set_fraud_settings through the router');
is(each_node(q{SELECT max_per_hour || ' ' || model_version FROM pg_wallet.fraud_settings}),
	join('|', ('44 2.1.0') x 3), '... on every node');
is(r_fails(q{SELECT pg_wallet.set_fraud_settings('{"max_per_hour": 0}')}), '22023',
	'a setting out of range: refused (22023)');
is(each_node(q{SELECT max_per_hour FROM pg_wallet.fraud_settings}), '44|44|44',
	'... and no node changed');

# --- recovery of a change whose router died ---------------------------------------------------
# The parts of two changes prepared on the nodes as _cfg_apply leaves them between its steps 3
# and 4 (a router killed there; each change's id drawn from the log's sequence, nothing logged
# before the decision): one decided COMMITTED (the router died after its decision), one not.
sub prepare_part
{
	my ($k, $change, $rate) = @_;
	on($k, "BEGIN; SELECT pg_wallet.set_fx_rate('USD', 'UGX', $rate, source => 'change $change');
	        PREPARE TRANSACTION 'pgw_c_${change}_$k'");
}
my $next_change = q{SELECT nextval(pg_get_serial_sequence('pg_wallet_router.config_changes', 'id'))};
my $decided = r($next_change);
my $undecided = r($next_change);
for my $k (0 .. 2)
{
	prepare_part($k, $decided, 3700);
	prepare_part($k, $undecided, 3800);
}
is(prepared_total(), 6, 'two changes prepared on three nodes (recovery leaves them: young)');
r("SELECT pg_wallet_router._cfg_decide($decided, 'COMMITTED', 'set_fx_rate', NULL, NULL)");
wait_until(sub { prepared_total() == 0 });
is(prepared_total(), 0, 'the recovery worker settled every part');
is(each_node("SELECT count(*) FROM pg_wallet.fx_rates WHERE source = 'change $decided'"), '1|1|1',
	'the decided change is committed on every node');
is(each_node("SELECT count(*) FROM pg_wallet.fx_rates WHERE source = 'change $undecided'"), '0|0|0',
	'the undecided one is rolled back on every node (after in_doubt_after)');
is(r("SELECT state FROM pg_wallet_router.config_changes WHERE id = $undecided"), 'ABORTED',
	'... and decided ABORTED in the log');

# its coordinator, back late, can no longer decide it
is(r("SELECT pg_wallet_router._cfg_decide($undecided, 'COMMITTED', 'set_fx_rate', NULL, NULL)"),
	'ABORTED', 'a late decision of the aborted change is refused: the first decision stands');

# --- in the end -------------------------------------------------------------------------------
is(r(q{SELECT count(*) FROM pg_wallet.verify_ledger()}), '0',
	'verify_ledger on every node and the router: no violation');
is(r(q{SELECT count(*) FROM pg_wallet.verify_ledger() WHERE check_name ~ '^router_'}), '0',
	'no change left prepared or undecided');
is(r(q{SELECT has_function_privilege('public', 'pg_wallet.set_fx_rate(text, text, numeric,
	numeric, timestamptz, timestamptz, text)', 'EXECUTE')}), 'f',
	'the router\'s administration functions are not callable by PUBLIC');

done_testing();
