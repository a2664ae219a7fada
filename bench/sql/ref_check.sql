-- Consistency of the reference ledger (sql/ref_ledger.sql) after a run: prints one line per
-- violation, nothing when consistent.
SELECT 'ref: currency ' || currency || ' sums to ' || sum(balance)
	FROM ref.accounts GROUP BY currency HAVING sum(balance) <> 0;
SELECT 'ref: account ' || a.account_number || ' balance ' || a.balance || ' <> entries ' ||
		coalesce(e.net, 0)
	FROM ref.accounts a
	LEFT JOIN (SELECT account_id, sum(amount) AS net FROM ref.entries GROUP BY account_id) e
		ON e.account_id = a.id
	WHERE a.balance <> coalesce(e.net, 0);
SELECT 'ref: journal ' || journal_id || ' unbalanced or not two entries'
	FROM ref.entries GROUP BY journal_id HAVING sum(amount) <> 0 OR count(*) <> 2;
SELECT 'ref: account ' || account_number || ' below its floor'
	FROM ref.accounts WHERE floor IS NOT NULL AND balance < floor;
