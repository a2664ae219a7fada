-- verify_ledger(): proves the ledger's invariants and reports every violation. No rows means
-- the ledger is consistent. The sums are SQL; the hashes are recomputed in C (src/core/verify.c)
-- with the same code that wrote them.

CREATE OR REPLACE FUNCTION pg_wallet._verify_hashes()
RETURNS SETOF pg_wallet.ledger_violation
AS 'MODULE_PATHNAME', 'wallet_verify_hashes'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pg_wallet._verify_hashes() IS
	'Internal: journal hashes and account chains recomputed from the entries.';

CREATE OR REPLACE FUNCTION pg_wallet.verify_ledger()
RETURNS SETOF pg_wallet.ledger_violation
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	-- 1. every currency sums to zero over all entries
	(SELECT 'currency_balance', a.currency,
		format('credits minus debits is %s minor units',
		       sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END))
	 FROM pg_wallet.entries e JOIN pg_wallet.accounts a ON a.id = e.account_id
	 GROUP BY a.currency
	 HAVING sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END) <> 0)
	UNION ALL
	-- 2. every journal sums to zero in each currency, and only POSTED journals have entries
	(SELECT 'journal_balance', format('journal %s', e.journal_id),
		format('%s credits minus debits is %s minor units', a.currency,
		       sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END))
	 FROM pg_wallet.entries e JOIN pg_wallet.accounts a ON a.id = e.account_id
	 GROUP BY e.journal_id, a.currency
	 HAVING sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END) <> 0
	 LIMIT 1000)
	UNION ALL
	(SELECT 'journal_entries', format('journal %s', j.id),
		format('a %s journal has %s entries', j.status, count(e.id))
	 FROM pg_wallet.journals j LEFT JOIN pg_wallet.entries e ON e.journal_id = j.id
	 GROUP BY j.id, j.status
	 HAVING (j.status = 'POSTED') <> (count(e.id) >= 2)
	 LIMIT 1000)
	UNION ALL
	(SELECT 'entry_reference', format('entry %s', e.id), 'refers to a missing journal or account'
	 FROM pg_wallet.entries e
	 WHERE NOT EXISTS (SELECT 1 FROM pg_wallet.journals j WHERE j.id = e.journal_id)
	    OR NOT EXISTS (SELECT 1 FROM pg_wallet.accounts a WHERE a.id = e.account_id)
	 LIMIT 1000)
	UNION ALL
	(SELECT 'hold_reference', format('hold %s', h.id), 'refers to a missing account'
	 FROM pg_wallet.holds h
	 WHERE NOT EXISTS (SELECT 1 FROM pg_wallet.accounts a WHERE a.id = h.account_id)
	    OR NOT EXISTS (SELECT 1 FROM pg_wallet.accounts a WHERE a.id = h.counterpart_account_id)
	 LIMIT 1000)
	UNION ALL
	(SELECT 'closed_account', a.account_number, 'a CLOSED account holds money or holds'
	 FROM pg_wallet.accounts a
	 WHERE a.status = 'CLOSED'
	   AND (a.balance + coalesce((SELECT sum(d.amount) FROM pg_wallet.account_deltas d
	                              WHERE d.account_id = a.id), 0) <> 0
	        OR a.pending_debit <> 0)
	 LIMIT 1000)
	UNION ALL
	-- 3. every account's balance (stored + unfolded credits) is the sum of its entries
	(SELECT 'account_balance', a.account_number,
		format('stored balance %s + unfolded %s differs from entries %s',
		       a.balance, coalesce(d.total, 0), coalesce(x.total, 0))
	 FROM pg_wallet.accounts a
	 LEFT JOIN (SELECT e.account_id,
	                   sum(CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END) AS total
	            FROM pg_wallet.entries e GROUP BY e.account_id) x ON x.account_id = a.id
	 LEFT JOIN (SELECT account_id, sum(amount) AS total
	            FROM pg_wallet.account_deltas GROUP BY account_id) d ON d.account_id = a.id
	 WHERE a.balance + coalesce(d.total, 0) <> coalesce(x.total, 0)
	 LIMIT 1000)
	UNION ALL
	-- 4. every unfolded delta is an entry of that account that was not applied
	(SELECT 'account_delta', format('entry %s', d.entry_id),
		'unfolded delta does not match an unapplied entry'
	 FROM pg_wallet.account_deltas d
	 LEFT JOIN pg_wallet.entries e ON e.id = d.entry_id
	 WHERE e.id IS NULL OR e.account_id <> d.account_id OR e.account_version IS NOT NULL
	    OR d.amount <> CASE e.side WHEN 'CR' THEN e.amount ELSE -e.amount END
	 LIMIT 1000)
	UNION ALL
	-- 5. pending_debit is the sum of the account's ACTIVE holds
	(SELECT 'pending_debit', a.account_number,
		format('pending_debit %s differs from active holds %s', a.pending_debit,
		       coalesce(h.total, 0))
	 FROM pg_wallet.accounts a
	 LEFT JOIN (SELECT account_id, sum(amount + fee_minor) AS total FROM pg_wallet.holds
	            WHERE status = 'ACTIVE' GROUP BY account_id) h ON h.account_id = a.id
	 WHERE a.pending_debit <> coalesce(h.total, 0)
	 LIMIT 1000)
	UNION ALL
	-- 5b. a striped account's stripes are its own and allow no more than it has available
	(SELECT 'account_stripes', a.account_number,
		format('%s stripe rows for %s stripes, allowances %s, available above the floor %s',
		       s.n, a.stripes, s.total,
		       a.balance + coalesce((SELECT sum(d.amount) FROM pg_wallet.account_deltas d
		                             WHERE d.account_id = a.id), 0)
		         - a.pending_debit - a.minimum_balance)
	 FROM (SELECT account_id, count(*) AS n, max(stripe) AS top, sum(allowance) AS total
	       FROM pg_wallet.account_stripes GROUP BY account_id) s
	 LEFT JOIN pg_wallet.accounts a ON a.id = s.account_id
	 WHERE a.id IS NULL OR s.n <> a.stripes OR s.top >= a.stripes
	    OR (s.total > 0 AND (a.can_overdraw OR s.total > a.balance - a.pending_debit
	          - a.minimum_balance + coalesce((SELECT sum(d.amount) FROM pg_wallet.account_deltas d
	                                          WHERE d.account_id = a.id), 0)))
	 LIMIT 1000)
	UNION ALL
	-- 6. history was not rewritten: journal hashes and account chains
	SELECT * FROM pg_wallet._verify_hashes()
$$;
COMMENT ON FUNCTION pg_wallet.verify_ledger() IS
	'Check every invariant of the ledger and return one row per violation (none: consistent): '
	'currency and journal sums, account balances against entries, unfolded credits, pending '
	'debits against holds, stripe allowances against available money, journal hashes and '
	'per-account hash chains.';
