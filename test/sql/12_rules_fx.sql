-- FX: rates, quotes, conversion through the FX position accounts, and the owner summary.
-- Each currency sums to zero on its own; rounding residue stays with the platform.

SELECT pg_wallet.create_owner('user', 'Traveller') AS u \gset
SELECT pg_wallet.create_owner('user', 'Friend') AS f \gset
SELECT pg_wallet.create_owner('partner', 'FX bank') AS bank \gset
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:bank, 'USD', 'SETTLEMENT', 'FX-BANK-USD', can_overdraw => true)
	UNION ALL SELECT pg_wallet.create_account(:u, 'USD', 'WALLET', 'FX-USD')
	UNION ALL SELECT pg_wallet.create_account(:u, 'EUR', 'WALLET', 'FX-EUR')
	UNION ALL SELECT pg_wallet.create_account(:u, 'JPY', 'WALLET', 'FX-JPY')
	UNION ALL SELECT pg_wallet.create_account(:u, 'KWD', 'WALLET', 'FX-KWD')
	UNION ALL SELECT pg_wallet.create_account(:u, 'TZS', 'WALLET', 'FX-TZS')
	UNION ALL SELECT pg_wallet.create_account(:f, 'EUR', 'WALLET', 'FX-FRIEND-EUR')) a;
SELECT status FROM pg_wallet.credit('FX-USD', 1000, 'FX-BANK-USD');

-- no rate yet
SELECT err($$SELECT pg_wallet.convert('FX-USD', 'FX-EUR', 100)$$);
SELECT err($$SELECT * FROM pg_wallet.get_fx_rate('USD', 'EUR')$$);

-- rates: USD/EUR 0.925 with no spread; EUR/JPY 160 with a 1% spread; KWD/USD 3.25
SELECT pg_wallet.set_fx_rate('USD', 'EUR', 0.925, source => 'test') AS usd_eur \gset
SELECT pg_wallet.set_fx_rate('EUR', 'JPY', 160, 0.01) AS eur_jpy \gset
SELECT pg_wallet.set_fx_rate('KWD', 'USD', 3.25) AS kwd_usd \gset
SELECT fx_rate, mid_rate, spread, inverse FROM pg_wallet.get_fx_rate('USD', 'EUR');
SELECT fx_rate, mid_rate, inverse FROM pg_wallet.get_fx_rate('EUR', 'USD');
SELECT fx_rate, mid_rate, spread FROM pg_wallet.get_fx_rate('EUR', 'JPY');

-- the cashier spec's example: 100.00 USD at 0.925 is 92.50 EUR
SELECT status, replayed, source_currency, dest_currency, source_amount, converted_amount,
       fx_rate, fx_rate_id = :usd_eur AS rate_id_ok, fee
FROM pg_wallet.convert('FX-USD', 'FX-EUR', 100, 'fx-1', 'Convert USD to EUR');
SELECT bal('FX-USD'), bal('FX-EUR');
SELECT bal('SYS-FX-USD'), bal('SYS-FX-EUR');
-- the journal: each currency sums to zero through the FX positions
SELECT jsonb_path_query_array(j, '$.entries[*].account_number') AS accounts,
       jsonb_path_query_array(j, '$.entries[*].side') AS sides,
       jsonb_path_query_array(j, '$.entries[*].amount') AS amounts,
       j->'journal'->'metadata'->>'fx_rate' AS recorded_rate
FROM pg_wallet.get_journal((SELECT receipt_code FROM pg_wallet.convert('FX-USD', 'FX-EUR', 100,
                                                                       'fx-1', 'Convert USD to EUR'))) j;
-- a retry after the rate moved is still the same request, and gets the original answer
SELECT pg_wallet.set_fx_rate('USD', 'EUR', 0.93) AS usd_eur2 \gset
SELECT replayed, converted_amount, fx_rate FROM pg_wallet.convert('FX-USD', 'FX-EUR', 100, 'fx-1',
                                                                  'Convert USD to EUR');
SELECT err($$SELECT pg_wallet.convert('FX-USD', 'FX-EUR', 101, 'fx-1', 'Convert USD to EUR')$$);
-- new conversions use the latest rate; an explicit old rate id still works while valid
SELECT converted_amount, fx_rate FROM pg_wallet.convert('FX-USD', 'FX-EUR', 10);
SELECT converted_amount, fx_rate FROM pg_wallet.convert('FX-USD', 'FX-EUR', 10,
                                                       rate_id => :usd_eur);

-- rounding down to the destination's minor unit: the residue is the platform's
SELECT err($$SELECT pg_wallet.convert('FX-USD', 'FX-EUR', 0.01)$$);
SELECT converted_amount FROM pg_wallet.convert('FX-USD', 'FX-EUR', 0.03);
SELECT err($$SELECT pg_wallet.convert('FX-USD', 'FX-EUR', 0.001)$$);
-- inverse pair and exponents: EUR -> USD uses 1/0.93; EUR -> JPY (0 decimals) with spread;
-- USD -> KWD (3 decimals) through the inverse of KWD/USD
SELECT converted_amount, fx_rate FROM pg_wallet.convert('FX-EUR', 'FX-USD', 9.30);
SELECT converted_amount, fx_rate FROM pg_wallet.convert('FX-EUR', 'FX-JPY', 1.00);
SELECT converted_amount, fx_rate FROM pg_wallet.convert('FX-USD', 'FX-KWD', 100);
SELECT bal('FX-JPY'), bal('FX-KWD');

-- convert and transfer: to another owner's account in one journal
SELECT converted_amount FROM pg_wallet.convert('FX-USD', 'FX-FRIEND-EUR', 50,
                                               description => 'gift');
SELECT bal('FX-FRIEND-EUR');

-- a locked quote: used once, before it expires, at its rate even if the rate moves
SELECT quote_id AS q, fx_rate FROM pg_wallet.fx_quote('USD', 'EUR', 60) \gset
SELECT :'fx_rate' AS quoted_rate;
SELECT pg_wallet.set_fx_rate('USD', 'EUR', 0.5) IS NOT NULL AS rate_moved;
SELECT converted_amount, fx_rate FROM pg_wallet.convert('FX-USD', 'FX-EUR', 10, quote_id => :q);
SELECT regexp_replace(err(format($$SELECT pg_wallet.convert('FX-USD', 'FX-EUR', 10,
	quote_id => %s)$$, :q)), 'quote [0-9]+', 'quote N');
SELECT regexp_replace(err(format($$SELECT pg_wallet.convert('FX-EUR', 'FX-USD', 10,
	quote_id => %s)$$, :q)), 'quote [0-9]+', 'quote N');
SELECT quote_id AS q2 FROM pg_wallet.fx_quote('USD', 'EUR', 1) \gset
UPDATE pg_wallet.fx_quotes SET expires_at = now() - interval '1 second' WHERE id = :q2;
SELECT regexp_replace(err(format($$SELECT pg_wallet.convert('FX-USD', 'FX-EUR', 10,
	quote_id => %s)$$, :q2)), 'quote [0-9]+', 'quote N');
SELECT err($$SELECT pg_wallet.convert('FX-USD', 'FX-EUR', 10, quote_id => 999999)$$);
SELECT err($$SELECT * FROM pg_wallet.fx_quote('USD', 'EUR', 0)$$);

-- a conversion fee is charged in the source currency, to the sender
SELECT pg_wallet.create_fee_schedule('CONVERSION', 'PERCENTAGE', rate => 0.01,
	currency => 'USD', bearer => 'RECEIVER') AS conv_fee \gset
SELECT fee FROM pg_wallet.calculate_fee('CONVERSION', 100, 'USD');
SELECT bal('FX-USD');
SELECT converted_amount, fee FROM pg_wallet.convert('FX-USD', 'FX-EUR', 100);
SELECT bal('FX-USD');
SELECT pg_wallet.set_fee_schedule_active(:conv_fee, false);
-- and the funds check counts it
SELECT err(format($$SELECT pg_wallet.convert('FX-USD', 'FX-EUR', %s)$$,
	(SELECT balance FROM pg_wallet.get_balance('FX-USD')) + 0.01));

-- refusals
SELECT err($$SELECT pg_wallet.convert('FX-USD', 'FX-USD', 1)$$);
SELECT err($$SELECT pg_wallet.convert('FX-USD', 'NOPE', 1)$$);
SELECT err($$SELECT pg_wallet.convert('FX-USD', 'FX-TZS', 1)$$);
SELECT err($$SELECT pg_wallet.convert('FX-USD', 'FX-EUR', -1)$$);
SELECT err($$SELECT pg_wallet.convert('FX-USD', 'FX-EUR', NULL)$$);
SELECT err($$SELECT pg_wallet.convert('FX-USD', 'FX-EUR', 1, rate_id => 999999)$$);
SELECT err(format($$SELECT pg_wallet.convert('FX-USD', 'FX-EUR', 1, rate_id => %s)$$, :eur_jpy));
SELECT err($$SELECT pg_wallet.set_fx_rate('USD', 'USD', 1)$$);
SELECT err($$SELECT pg_wallet.set_fx_rate('USD', 'XYZ', 1)$$);
SELECT err($$SELECT pg_wallet.set_fx_rate('USD', 'EUR', 0)$$);
SELECT err($$SELECT pg_wallet.set_fx_rate('USD', 'EUR', 1, 1)$$);
SELECT err($$SELECT pg_wallet.set_fx_rate('USD', 'EUR', 1.0000000000001)$$);
SELECT err($$SELECT pg_wallet.set_fx_rate('USD', 'EUR', 1, 0, now(), now() - interval '1 day')$$);

-- the owner summary: every open account and a total in USD at mid rates
SELECT jsonb_path_query_array(s, '$.account_balances[*].currency') AS currencies,
       s->'total_balance_usd' = s->'total_balance' AS spec_key, s->'total_accounts' AS n,
       s->'unvalued_currencies' AS unvalued
FROM pg_wallet.get_owner_summary(:u) s;
SELECT (s->>'total_balance')::numeric = (
	SELECT round(sum(b.balance * CASE b.currency WHEN 'USD' THEN 1
	                 ELSE (SELECT mid_rate FROM pg_wallet.get_fx_rate(b.currency, 'USD')) END), 2)
	FROM pg_wallet.accounts a, pg_wallet.get_balance(a.account_number) b
	WHERE a.owner_id = :u AND a.currency NOT IN ('TZS', 'JPY')) AS total_matches
FROM pg_wallet.get_owner_summary(:u) s;
SELECT s->'total_balance_eur' IS NOT NULL AS eur_total FROM pg_wallet.get_owner_summary(:u, 'EUR') s;
SELECT err($$SELECT pg_wallet.get_owner_summary(1, 'XYZ')$$);
SELECT err($$SELECT pg_wallet.get_owner_summary(999999)$$);

-- one rate choice, _fx_rate, read alike by get_fx_rate, convert (src/rules/fx.c) and
-- get_owner_summary: the direct pair's latest rate valid at the time, else the reverse
-- pair's inverted; a rate that is not valid yet is never chosen, not even by its id
SELECT pg_wallet.create_owner('user', 'Pound holder') AS g \gset
SELECT count(*) FROM (
	SELECT pg_wallet.create_account(:bank, 'GBP', 'SETTLEMENT', 'FX-BANK-GBP', can_overdraw => true)
	UNION ALL SELECT pg_wallet.create_account(:g, 'GBP', 'WALLET', 'FX-GBP')
	UNION ALL SELECT pg_wallet.create_account(:g, 'UGX', 'WALLET', 'FX-UGX')) a;
SELECT status FROM pg_wallet.credit('FX-GBP', 50, 'FX-BANK-GBP');
SELECT pg_wallet.set_fx_rate('GBP', 'UGX', 4700, 0.02) AS gbp_ugx \gset
SELECT pg_wallet.set_fx_rate('GBP', 'UGX', 4800, valid_from => now() + interval '1 hour')
	AS gbp_ugx_later \gset
SELECT chosen_rate_id = :gbp_ugx AS latest_valid, mid_rate, spread,
	trim_scale(effective_rate) AS effective_rate, inverse
FROM pg_wallet._fx_rate('GBP', 'UGX', now());
SELECT chosen_rate_id = :gbp_ugx AS reverse_pair, mid_rate,
	trim_scale(effective_rate) AS effective_rate, inverse
FROM pg_wallet._fx_rate('UGX', 'GBP', now());
SELECT chosen_rate_id = :gbp_ugx_later AS later_rate_later, mid_rate
FROM pg_wallet._fx_rate('GBP', 'UGX', now() + interval '2 hours');
SELECT count(*) AS not_yet_valid_by_id FROM pg_wallet._fx_rate('GBP', 'UGX', now(), :gbp_ugx_later);
SELECT g.fx_rate_id = c.chosen_rate_id AS same_rate, g.fx_rate = c.effective_rate AS same_eff,
	g.mid_rate = c.mid_rate AS same_mid
FROM pg_wallet.get_fx_rate('UGX', 'GBP') g, pg_wallet._fx_rate('UGX', 'GBP', now()) c;
SELECT replace(err(format('SELECT pg_wallet.convert(%L, %L, 1, rate_id => %s)', 'FX-GBP',
	'FX-UGX', :gbp_ugx_later)), :'gbp_ugx_later', '<later>') AS convert_by_later_id;
SELECT converted_amount, fx_rate, fx_rate_id = :gbp_ugx AS same_rate
FROM pg_wallet.convert('FX-GBP', 'FX-UGX', 10, 'fx-gbp-1');
SELECT (s->>'total_balance')::numeric AS total_gbp,
	(s->>'total_balance')::numeric = round(40 + 46060 * (SELECT mid_rate
		FROM pg_wallet._fx_rate('UGX', 'GBP', now())), 2) AS valued_at_the_chosen_rate
FROM pg_wallet.get_owner_summary(:g, 'GBP') s;

SELECT ledger_ok();
