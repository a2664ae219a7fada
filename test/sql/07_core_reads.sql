-- Reads: balance, entries with pagination and time filters, statements, journals by receipt.

SELECT pg_wallet.create_owner('partner', 'Read partner') AS p \gset
SELECT pg_wallet.create_owner('user', 'Reader') AS u \gset
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:p, 'USD', 'SETTLEMENT', 'RD-P', can_overdraw => true)
	UNION ALL SELECT pg_wallet.create_account(:u, 'USD', 'WALLET', 'RD-A')
	UNION ALL SELECT pg_wallet.create_account(:u, 'USD', 'WALLET', 'RD-B')
	UNION ALL SELECT pg_wallet.create_account(:u, 'USD', 'WALLET', 'RD-EMPTY')) a;

-- five movements on RD-A
SELECT receipt_code AS dep FROM pg_wallet.credit('RD-A', 100, 'RD-P', NULL, 'Deposit received')
\gset
SELECT count(*) FROM (
	SELECT pg_wallet.transfer('RD-A', 'RD-B', 10, NULL, 'rent')
	UNION ALL SELECT pg_wallet.transfer('RD-A', 'RD-B', 20, NULL, 'food')
	UNION ALL SELECT pg_wallet.transfer('RD-B', 'RD-A', 5, NULL, 'refund')
	UNION ALL SELECT pg_wallet.debit('RD-A', 50, 'RD-P', NULL, 'Withdrawal')) t;
SELECT hold_id AS h FROM pg_wallet.place_hold('RD-A', 15, 'RD-P') \gset

-- balance: available excludes the hold, pending_credit shows it on the counterpart
SELECT account_number, currency, balance, available_balance, pending_debit, pending_credit,
       last_transaction_at IS NOT NULL AS has_last
FROM pg_wallet.get_balance('RD-A');
SELECT pending_credit FROM pg_wallet.get_balance('RD-P');
SELECT balance, last_transaction_at FROM pg_wallet.get_balance('RD-EMPTY');
SELECT err($$SELECT pg_wallet.get_balance('NOPE')$$);

-- entries: time order, running balance, descriptions, receipt codes
SELECT side, amount, balance_after, description, journal_type,
       receipt_code ~ '^RCP-' AS has_receipt
FROM pg_wallet.list_entries('RD-A');
-- pages of two, following the cursor
SELECT side, amount, balance_after FROM pg_wallet.list_entries('RD-A', page_size => 2);
SELECT side, amount, balance_after FROM pg_wallet.list_entries('RD-A', page_size => 2,
	after_entry_id => (SELECT max(entry_id) FROM pg_wallet.list_entries('RD-A', page_size => 2)));
SELECT count(*) FROM pg_wallet.list_entries('RD-A', page_size => 2,
	after_entry_id => (SELECT max(entry_id) FROM pg_wallet.list_entries('RD-A')));
-- time filters: everything is now; a window in the past is empty
SELECT count(*) FROM pg_wallet.list_entries('RD-A', now(), now() + interval '1 second');
SELECT count(*) FROM pg_wallet.list_entries('RD-A', NULL, now() - interval '1 day');
SELECT err($$SELECT pg_wallet.list_entries('RD-A', now(), now() - interval '1 day')$$);
SELECT err($$SELECT pg_wallet.list_entries('RD-A', page_size => 0)$$);
SELECT err($$SELECT pg_wallet.list_entries('RD-A', page_size => 1001)$$);
SELECT regexp_replace(err(format($$SELECT pg_wallet.list_entries('RD-A', after_entry_id => %s)$$,
	(SELECT max(entry_id) FROM pg_wallet.list_entries('RD-B')))), 'entry [0-9]+', 'entry N');
SELECT err($$SELECT pg_wallet.list_entries('NOPE')$$);

-- statement: opening and closing balance, totals, lines
SELECT s->>'account_number' AS account, s->>'currency' AS currency,
       s->'opening_balance' AS opening, s->'closing_balance' AS closing,
       s->'total_debits' AS debits, s->'total_credits' AS credits,
       s->'transaction_count' AS n, s->'has_more' AS has_more,
       jsonb_path_query_array(s, '$.ledgers[*].type') AS types,
       jsonb_path_query_array(s, '$.ledgers[*].balance_after') AS balances
FROM pg_wallet.get_statement('RD-A', now() - interval '1 hour', now() + interval '1 hour') s;
-- a window after everything: opening = closing = current balance, no lines
SELECT s->'opening_balance' AS opening, s->'closing_balance' AS closing,
       s->'transaction_count' AS n
FROM pg_wallet.get_statement('RD-A', now() + interval '1 hour', now() + interval '2 hours') s;
-- a window before everything: all zero
SELECT s->'opening_balance' AS opening, s->'closing_balance' AS closing
FROM pg_wallet.get_statement('RD-A', now() - interval '2 hours', now() - interval '1 hour') s;
-- capped lines
SELECT jsonb_array_length(s->'ledgers') AS lines, s->'has_more' AS has_more
FROM pg_wallet.get_statement('RD-A', now() - interval '1 hour', now() + interval '1 hour', 2) s;
SELECT err($$SELECT pg_wallet.get_statement('RD-A', now(), now() - interval '1 hour')$$);
SELECT err($$SELECT pg_wallet.get_statement('RD-A', NULL, now())$$);
SELECT err($$SELECT pg_wallet.get_statement('RD-A', now(), now(), 10001)$$);

-- a journal by receipt code
SELECT j->'journal'->>'journal_type' AS type, j->'journal'->>'description' AS description,
       j->'journal'->>'receipt_code' = :'dep' AS same_receipt,
       jsonb_path_query_array(j, '$.entries[*].account_number') AS accounts,
       jsonb_path_query_array(j, '$.entries[*].side') AS sides,
       jsonb_path_query_array(j, '$.entries[*].balance_after') AS balances
FROM pg_wallet.get_journal(:'dep') j;
SELECT err($$SELECT pg_wallet.get_journal('RCP-2025-000000000000000001')$$);
SELECT err($$SELECT pg_wallet.get_journal('garbage')$$);
SELECT err(format($$SELECT pg_wallet.get_journal(%L)$$,
                  regexp_replace(:'dep', '^RCP-[0-9]{4}', 'RCP-1999')));

SELECT status FROM pg_wallet.void_hold(:h);
SELECT ledger_ok();
