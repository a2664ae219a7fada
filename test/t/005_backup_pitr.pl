# A physical backup (pg_basebackup with WAL archiving) restored to a point in time holds
# exactly the postings committed before that time, and the restored server takes up the work
# left in flight (docs/operations.md, "Backups").
#
# The primary archives its WAL (archive_command copies each segment to a directory). After a
# base backup it keeps posting: batch A, then the target time is noted, then batch B. The
# base backup is restored with recovery_target_time set to the target: every journal of
# batch A is there, none of batch B, the balances are those the primary had at the target,
# verify_ledger() finds nothing and each currency sums to zero; the restored server is
# promoted and posts again.
#
# In flight at the target: a hold whose deadline passes during the restore, and a deposit
# whose outbox message is undelivered. The restored server first starts with
# pg_wallet.workers_enabled = off (paused, the way to inspect it before anything is sent):
# no worker runs, the hold is still reserved, the message still waits. Then it is restarted
# with the workers on: the expiry worker expires the hold and gives the reservation back, and
# the outbox worker takes up the message under its original message_id (the Idempotency-Key
# and webhook-id the partner deduplicates by).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use WalletTest qw(sums_by_currency);

my $primary = PostgreSQL::Test::Cluster->new('pitr_primary');
# has_archiving: archive_mode = on, archive_command copying each segment to a directory
$primary->init(has_archiving => 1, allows_streaming => 1);
$primary->append_conf('postgresql.conf', q{
shared_preload_libraries = 'pg_wallet'
pg_wallet.database = 'wallet'
pg_wallet.workers_enabled = off
pg_wallet.expiry_interval_s = 0
timezone = 'UTC'
});
$primary->start;
$primary->safe_psql('postgres', 'CREATE DATABASE wallet');
$primary->safe_psql('wallet', q{
	CREATE EXTENSION pg_wallet;
	SELECT pg_wallet.create_partner('Sim', 'KE', 'sim', 'generic_json', 'http://127.0.0.1:9/p',
		ARRAY['KES'], NULL, 'whsec_cGdfd2FsbGV0IHBhcnRuZXIgc2ltdWxhdG9yIDMyYiE=',
		partner_id => 'PTN-P');
	SELECT pg_wallet.create_account(pg_wallet.create_owner('user', 'Ann'), 'KES', 'WALLET', 'ANN');
	SELECT pg_wallet.create_account(pg_wallet.create_owner('user', 'Bob'), 'KES', 'WALLET', 'BOB');
	SELECT pg_wallet.create_fee_schedule('TRANSFER', 'FIXED', fixed_fee => 1, currency => 'KES');
	SELECT pg_wallet.credit('ANN', 10000, 'SETTLE-PTN-P-KES', 'fund');
});

$primary->backup('base');
pass('pg_basebackup of the primary');

# batch A, after the base backup: in the archived WAL only
$primary->safe_psql('wallet', q{
	SELECT pg_wallet.transfer('ANN', 'BOB', n, 'before-' || n) FROM generate_series(1, 20) n;
	SELECT pg_wallet.place_hold('ANN', 50, 'BOB', 'hold-in-flight',
		clock_timestamp() + interval '1 second');
	SELECT pg_wallet.deposit_request('BOB', 70, 'sim', phone => '0712000777');
});
my $balances_sql = q{
	SELECT string_agg(format('%s %s %s', account_number, balance, pending_debit), ', '
		ORDER BY account_number)
	FROM pg_wallet.accounts WHERE NOT is_system OR version > 0};
my $at_target = $primary->safe_psql('wallet', $balances_sql);
my $message_id = $primary->safe_psql('wallet', 'SELECT message_id FROM pg_wallet.outbox');
my $target = $primary->safe_psql('wallet', 'SELECT clock_timestamp()');

# batch B, after the target
$primary->safe_psql('wallet', q{
	SELECT pg_wallet.transfer('BOB', 'ANN', n, 'after-' || n) FROM generate_series(1, 5) n;
	SELECT pg_wallet.create_account(pg_wallet.create_owner('user', 'Cy'), 'KES', 'WALLET', 'CY');
});
isnt($primary->safe_psql('wallet', $balances_sql), $at_target, 'batch B moved money');
# archive the segment that holds batch B
my $segment = $primary->safe_psql('wallet', 'SELECT pg_walfile_name(pg_current_wal_lsn())');
$primary->safe_psql('wallet', 'SELECT pg_switch_wal()');
$primary->poll_query_until('postgres',
	"SELECT last_archived_wal >= '$segment' FROM pg_stat_archiver")
  or die "WAL segment $segment was not archived";
$primary->stop;

# restore the base backup up to the target, paused: the workers do not start
my $restored = PostgreSQL::Test::Cluster->new('pitr_restored');
$restored->init_from_backup($primary, 'base', has_restoring => 1, standby => 0);
$restored->append_conf('postgresql.conf', qq{
recovery_target_time = '$target'
recovery_target_action = 'promote'
pg_wallet.workers_enabled = off
});
$restored->start;
$restored->poll_query_until('wallet', 'SELECT NOT pg_is_in_recovery()')
  or die 'the restored server did not finish recovery';
pass('the base backup is restored to the target time and promoted');

is( $restored->safe_psql('wallet', q{
		SELECT count(*) FILTER (WHERE idempotency_key LIKE 'before-%') || ' '
		    || count(*) FILTER (WHERE idempotency_key LIKE 'after-%')
		FROM pg_wallet.journals}),
	'20 0', 'every posting before the target is there, none after it');
is( $restored->safe_psql('wallet',
		q{SELECT count(*) FROM pg_wallet.accounts WHERE account_number = 'CY'}),
	'0', 'nor the account opened after it');
is($restored->safe_psql('wallet', $balances_sql), $at_target,
	'the balances and pending debits are those of the target time');
is($restored->safe_psql('wallet', 'SELECT count(*) FROM pg_wallet.verify_ledger()'), '0',
	'verify_ledger() finds nothing on the restored server');
is(sums_by_currency($restored, 'wallet'), '', 'every currency sums to zero');

# paused: nothing runs, the hold is still reserved, the message still waits
is($restored->safe_psql('wallet', 'SELECT count(*) FROM pg_wallet.worker_status()'), '0',
	'with pg_wallet.workers_enabled = off no worker runs on the restored server');
$restored->poll_query_until('wallet', q{
	SELECT expires_at < now() FROM pg_wallet.holds WHERE idempotency_key = 'hold-in-flight'})
  or die 'the deadline of the hold did not pass';
is( $restored->safe_psql('wallet', q{
		SELECT h.status || ' ' || (h.expires_at < now()) || ' ' || a.pending_debit
		FROM pg_wallet.holds h JOIN pg_wallet.accounts a ON a.id = h.account_id
		WHERE h.idempotency_key = 'hold-in-flight'}),
	'ACTIVE true 5000', 'the hold past its deadline is still reserved');
is( $restored->safe_psql('wallet', q{
		SELECT message_id || ' ' || status || ' ' || attempts FROM pg_wallet.outbox}),
	"$message_id PENDING 0", 'the deposit message waits, undelivered');

# the workers on: the hold expires, the message is taken up under its message_id
$restored->append_conf('postgresql.conf', q{
pg_wallet.workers_enabled = on
pg_wallet.expiry_interval_s = 1
pg_wallet.outbox_backoff_base_ms = 60000
});
$restored->restart;
ok( $restored->poll_query_until('wallet', q{
		SELECT status = 'EXPIRED' FROM pg_wallet.holds WHERE idempotency_key = 'hold-in-flight'}),
	'the expiry worker expires the hold whose deadline passed');
is( $restored->safe_psql('wallet', q{
		SELECT pending_debit FROM pg_wallet.accounts WHERE account_number = 'ANN'}),
	'0', 'and gives its reservation back');
ok( $restored->poll_query_until('wallet', q{
		SELECT attempts > 0 FROM pg_wallet.outbox}),
	'the outbox worker takes up the undelivered message');
is($restored->safe_psql('wallet', 'SELECT message_id FROM pg_wallet.outbox'), $message_id,
	'under the message_id it had before the backup (Idempotency-Key, webhook-id)');

# and the restored ledger moves on
is( $restored->safe_psql('wallet', q{
		SELECT status FROM pg_wallet.transfer('BOB', 'ANN', 3, 'after-restore')}),
	'POSTED', 'a transfer posts on the restored server');
is($restored->safe_psql('wallet', 'SELECT count(*) FROM pg_wallet.verify_ledger()'), '0',
	'verify_ledger() still finds nothing');
is(sums_by_currency($restored, 'wallet'), '', 'every currency still sums to zero');

$restored->stop;
done_testing();
