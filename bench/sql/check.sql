-- Ledger consistency checks run by bench/run after the pgbench runs, as superuser, straight on
-- the tables (independent of pg_wallet.verify_ledger(), which bench/run also calls when it
-- exists). Prints one row per violation: check | subject | detail. No rows = consistent.
WITH deltas AS (
	SELECT account_id, sum(amount) AS amount, count(*) AS n
	FROM pg_wallet.account_deltas GROUP BY account_id
), moves AS (
	SELECT account_id, sum(CASE side WHEN 'CR' THEN amount ELSE -amount END) AS net
	FROM pg_wallet.entries GROUP BY account_id
), acct AS (
	SELECT a.*, a.balance + coalesce(d.amount, 0) AS total, coalesce(d.n, 0) AS ndeltas,
		coalesce(m.net, 0) AS net
	FROM pg_wallet.accounts a
	LEFT JOIN deltas d ON d.account_id = a.id
	LEFT JOIN moves m ON m.account_id = a.id
)
-- per currency, balances plus unfolded deltas sum to zero
SELECT 'currency_sum' AS check_name, currency AS subject,
	'sum(balance) + sum(deltas) = ' || sum(total) AS detail
FROM acct GROUP BY currency HAVING sum(total) <> 0
UNION ALL
-- each account's balance (with its deltas) equals the net of its entries
SELECT 'account_vs_entries', account_number,
	format('balance %s + deltas %s <> entries net %s', balance, total - balance, net)
FROM acct WHERE total <> net
UNION ALL
-- no account below its floor unless it may overdraw
SELECT 'below_minimum', account_number,
	format('balance %s - pending %s < minimum %s', total, pending_debit, minimum_balance)
FROM acct WHERE NOT can_overdraw AND total - pending_debit < minimum_balance
UNION ALL
-- only DEFERRED and striped accounts carry unfolded deltas
SELECT 'deltas_on_direct', account_number, ndeltas || ' unfolded deltas'
FROM acct WHERE credit_mode = 'DIRECT' AND stripes = 0 AND ndeltas > 0
UNION ALL
-- a striped account's stripes allow no more than it has above its floor
SELECT 'stripes_over_available', account_number,
	format('allowances %s > balance %s - pending %s - minimum %s', s.allowed, total,
	       pending_debit, minimum_balance)
FROM acct JOIN (SELECT account_id, sum(allowance) AS allowed FROM pg_wallet.account_stripes
                GROUP BY account_id) s ON s.account_id = acct.id
WHERE NOT can_overdraw AND s.allowed > total - pending_debit - minimum_balance
UNION ALL
-- every journal balances per currency
SELECT 'journal_unbalanced', e.journal_id::text, a.currency || ' net ' ||
	sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END)
FROM pg_wallet.entries e JOIN pg_wallet.accounts a ON a.id = e.account_id
GROUP BY e.journal_id, a.currency
HAVING sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END) <> 0
UNION ALL
-- entries and deltas point at existing rows (no foreign keys on these tables); a delta is
-- its entry's signed amount (a credit, or a debit of a DEFERRED account that may overdraw,
-- such as the WaaS settlement account the apiread fixture funds from)
SELECT 'orphan_entry', e.id::text, 'account ' || e.account_id || ' / journal ' || e.journal_id
FROM pg_wallet.entries e
WHERE NOT EXISTS (SELECT 1 FROM pg_wallet.accounts a WHERE a.id = e.account_id)
   OR NOT EXISTS (SELECT 1 FROM pg_wallet.journals j WHERE j.id = e.journal_id)
UNION ALL
SELECT 'orphan_delta', d.entry_id::text, 'account ' || d.account_id
FROM pg_wallet.account_deltas d
WHERE NOT EXISTS (SELECT 1 FROM pg_wallet.entries e
                  WHERE e.id = d.entry_id AND e.account_id = d.account_id
                    AND d.amount = CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END
                    AND e.balance_after IS NULL)
UNION ALL
-- a posted journal has entries
SELECT 'posted_without_entries', j.id::text, j.journal_type
FROM pg_wallet.journals j
WHERE j.status = 'POSTED' AND NOT EXISTS (SELECT 1 FROM pg_wallet.entries e WHERE e.journal_id = j.id);
