-- Holds: place, post (fully or partly), void, expire; their effect on available balance.

SELECT pg_wallet.create_owner('partner', 'Payout rail') AS rail \gset
SELECT pg_wallet.create_owner('user', 'Holder') AS u \gset
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:rail, 'KES', 'SETTLEMENT', 'RAIL', can_overdraw => true)
	UNION ALL SELECT pg_wallet.create_account(:u, 'KES', 'WALLET', 'H-1')
	UNION ALL SELECT pg_wallet.create_account(:u, 'USD', 'WALLET', 'H-USD')
	UNION ALL SELECT pg_wallet.create_account(:u, 'KES', 'WALLET', 'H-2')) a;
SELECT status FROM pg_wallet.credit('H-1', 100, 'RAIL');

-- place: available drops, pending_debit rises, the counterpart sees pending_credit
SELECT account_number, counterpart_account_number, amount, posted_amount, status, replayed
FROM pg_wallet.place_hold('H-1', 30, 'RAIL', 'wd-1', now() + interval '1 hour', 'withdrawal');
SELECT bal('H-1'), bal('RAIL');
SELECT hold_id AS h1 FROM pg_wallet.place_hold('H-1', 30, 'RAIL', 'wd-1',
	(SELECT expires_at FROM pg_wallet.holds WHERE idempotency_key = 'wd-1'),
	'withdrawal') \gset
SELECT replayed FROM pg_wallet.place_hold('H-1', 30, 'RAIL', 'wd-1',
	(SELECT expires_at FROM pg_wallet.holds WHERE idempotency_key = 'wd-1'), 'withdrawal');
SELECT err($$SELECT pg_wallet.place_hold('H-1', 31, 'RAIL', 'wd-1')$$);
SELECT bal('H-1');

-- the held funds cannot be spent twice
SELECT err($$SELECT pg_wallet.transfer('H-1', 'H-2', 70.01)$$);
SELECT err($$SELECT pg_wallet.place_hold('H-1', 70.01, 'RAIL')$$);
SELECT hold_id AS h2 FROM pg_wallet.place_hold('H-1', 20, 'RAIL') \gset
SELECT bal('H-1');

-- post fully: one HOLD_CAPTURE journal, reservation released
SELECT status, replayed FROM pg_wallet.post_hold(:h1, NULL, 'wd-1-post');
SELECT status, replayed FROM pg_wallet.post_hold(:h1, NULL, 'wd-1-post');
SELECT err(format($$SELECT pg_wallet.post_hold(%s, NULL, 'other-key')$$, :h1));
SELECT err(format($$SELECT pg_wallet.post_hold(%s)$$, :h1));
SELECT err(format($$SELECT pg_wallet.void_hold(%s)$$, :h1));
SELECT amount, posted_amount, status, receipt_code IS NOT NULL AS has_receipt
FROM pg_wallet.get_hold(:h1);
SELECT bal('H-1'), bal('RAIL');

-- post partly: 12.50 of 20 moves, the rest is released
SELECT err(format($$SELECT pg_wallet.post_hold(%s, 20.01)$$, :h2));
SELECT err(format($$SELECT pg_wallet.post_hold(%s, 0)$$, :h2));
SELECT err(format($$SELECT pg_wallet.post_hold(%s, 1.001)$$, :h2));
SELECT status FROM pg_wallet.post_hold(:h2, 12.50);
SELECT amount, posted_amount, status FROM pg_wallet.get_hold(:h2);
SELECT bal('H-1');

-- void: reservation released, no journal; voiding twice answers the same
SELECT hold_id AS h3 FROM pg_wallet.place_hold('H-1', 10, 'RAIL') \gset
SELECT bal('H-1');
SELECT status, replayed, journal_id FROM pg_wallet.void_hold(:h3, 'partner failed');
SELECT status, replayed FROM pg_wallet.void_hold(:h3);
SELECT err(format($$SELECT pg_wallet.post_hold(%s)$$, :h3));
SELECT bal('H-1');

-- expire: holds past their deadline are released by the sweeper
SELECT hold_id AS h4 FROM pg_wallet.place_hold('H-1', 5, 'RAIL', NULL,
                                               now() + interval '1 second') \gset
SELECT hold_id AS h5 FROM pg_wallet.place_hold('H-1', 6, 'RAIL') \gset
SELECT bal('H-1');
-- pretend the deadline passed (superuser test shortcut; the API refuses a past deadline)
UPDATE pg_wallet.holds SET expires_at = now() - interval '1 second' WHERE id = :h4;
SELECT err(format($$SELECT pg_wallet.post_hold(%s)$$, :h4));
SELECT pg_wallet.expire_holds();
SELECT pg_wallet.expire_holds();
SELECT status FROM pg_wallet.get_hold(:h4);
SELECT status FROM pg_wallet.get_hold(:h5);
SELECT bal('H-1');
SELECT status FROM pg_wallet.void_hold(:h5);

-- refusals
SELECT err($$SELECT pg_wallet.place_hold('H-1', 1, 'H-1')$$);
SELECT err($$SELECT pg_wallet.place_hold('H-1', 1, 'H-USD')$$);
SELECT err($$SELECT pg_wallet.place_hold('NOPE', 1, 'RAIL')$$);
SELECT err($$SELECT pg_wallet.place_hold('H-1', 1, 'NOPE')$$);
SELECT err($$SELECT pg_wallet.place_hold('H-1', 0, 'RAIL')$$);
SELECT err($$SELECT pg_wallet.place_hold('H-1', -1, 'RAIL')$$);
SELECT err($$SELECT pg_wallet.place_hold('H-1', NULL, 'RAIL')$$);
SELECT err($$SELECT pg_wallet.place_hold('H-1', 1, 'RAIL', NULL, now() - interval '1 minute')$$);
SELECT err($$SELECT pg_wallet.post_hold(999999)$$);
SELECT err($$SELECT pg_wallet.void_hold(999999)$$);
SELECT err($$SELECT pg_wallet.get_hold(999999)$$);
SELECT err($$SELECT pg_wallet.post_hold(NULL)$$);
SELECT err($$SELECT pg_wallet.expire_holds(0)$$);
SELECT status FROM pg_wallet.set_account_status('H-2', 'LOCKED');
SELECT err($$SELECT pg_wallet.place_hold('H-1', 1, 'H-2')$$);
SELECT err($$SELECT pg_wallet.place_hold('H-2', 1, 'H-1')$$);
SELECT status FROM pg_wallet.set_account_status('H-2', 'ACTIVE');
-- an agent named by a hold or a posting must exist, share the currency and be ACTIVE,
-- whether or not a commission is due (the same check for both: a hold is placed through
-- the posting path)
SELECT err($$SELECT pg_wallet.place_hold('H-1', 1, 'RAIL', agent_account => 'NOPE')$$);
SELECT err($$SELECT pg_wallet.transfer('H-1', 'H-2', 1, agent_account => 'NOPE')$$);
SELECT err($$SELECT pg_wallet.place_hold('H-1', 1, 'RAIL', agent_account => 'H-USD')$$);
SELECT err($$SELECT pg_wallet.transfer('H-1', 'H-2', 1, agent_account => 'H-USD')$$);
SELECT status FROM pg_wallet.set_account_status('H-2', 'LOCKED');
SELECT err($$SELECT pg_wallet.place_hold('H-1', 1, 'RAIL', agent_account => 'H-2')$$);
SELECT status FROM pg_wallet.set_account_status('H-2', 'ACTIVE');
SELECT pending_debit FROM pg_wallet.accounts WHERE account_number = 'H-1';

SELECT ledger_ok();
