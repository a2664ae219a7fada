# test/WalletTest.pm — helpers shared by the TAP tests (test/t/*.pl; prove runs with -I test).
package WalletTest;

use strict;
use warnings;

use Exporter 'import';
our @EXPORT_OK = qw(sums_by_currency);

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

1;
